use qforge::model::{FixedNetwork, TrainedModel};
use std::time::Instant;
fn main() {
    let model = TrainedModel::load(std::path::Path::new("/tmp/q60/model.json")).unwrap();
    let fixed = FixedNetwork::from_model(&model).unwrap();
    let n: usize = std::env::var("N").ok().and_then(|v| v.parse().ok()).unwrap_or(20000);
    let mut x = qforge::data::synthetic::generate(n, 9).x;
    model.scaler.apply(&mut x);
    let raw = fixed.quantize_inputs(&x);
    let t = Instant::now();
    let out = fixed.predict_raw(&raw);
    println!("{} samples/s {}", n as f64 / t.elapsed().as_secs_f64(), out.outputs[7]);
}
