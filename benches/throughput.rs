//! Throughput of the two hot paths on the paper's jet tagger (examples/jet_tagger.toml):
//! QAT training (samples/s per epoch) and bit-exact fixed-point inference
//! (samples/s). Prints numbers; run with `cargo bench --bench throughput`.
use qforge::data::{fit_scaler, split, synthetic};
use qforge::events::Silent;
use qforge::model::{FixedNetwork, ModelSpec};
use qforge::train::{to_model, train};
use std::path::Path;
use std::time::Instant;

/// CPU time of the whole process (all threads), in seconds: unlike wall time it
/// does not grow when other work shares the cores.
fn process_cpu_seconds() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let spec = ModelSpec::from_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/jet_tagger.toml")).unwrap();
    let data = synthetic::generate(250_000, 1);
    let mut s = split(&data, 42, 0.2, 0.0);
    let scaler = fit_scaler(&s.train);
    s.train.standardize(&scaler);
    s.test.standardize(&scaler);
    let val = s.test.head(10_000);
    // 200 000 training samples, batch 1024, as the peers were measured; epochs 2-4 (the first warms up).
    let mut spec_fixed = spec.clone();
    spec_fixed.training.patience = 100;
    let (net, report) = train(&spec_fixed, &s.train, &val, Some(4), &Silent);
    let rates: Vec<f64> = report.epochs.iter().skip(1).map(|e| e.samples_per_second).collect();
    println!(
        "qat_training: {} samples/epoch, batch {}, median {:.0} samples/s over epochs 2-4 (all epochs: {:?})",
        s.train.len(),
        spec.training.batch_size,
        median(rates.clone()),
        report.epochs.iter().map(|e| e.samples_per_second.round()).collect::<Vec<_>>()
    );
    let model = to_model(&spec, &net, scaler, data.feature_names.clone(), serde_json::Value::Null);
    let fixed = FixedNetwork::from_model(&model).unwrap();
    let n = 1_000_000;
    let big = synthetic::generate(n, 9);
    let mut x = big.x;
    model.scaler.apply(&mut x);
    let raw = fixed.quantize_inputs(&x);
    let mut rates = Vec::new();
    let mut cpu_rates = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let cpu = process_cpu_seconds();
        let out = fixed.predict_raw(&raw);
        let secs = t.elapsed().as_secs_f64();
        cpu_rates.push(n as f64 / (process_cpu_seconds() - cpu));
        assert_eq!(out.outputs.len(), n * 5);
        rates.push(n as f64 / secs);
    }
    let threads = rayon::current_num_threads() as f64;
    println!(
        "fixed_point_inference_cpu: median {:.0} samples per CPU-second, i.e. {:.0} samples/s on {threads} idle cores",
        median(cpu_rates.clone()),
        median(cpu_rates) * threads
    );
    println!(
        "fixed_point_inference: {n} samples, {} threads, median {:.0} samples/s ({:.2} ns per multiply-accumulate per thread)",
        rayon::current_num_threads(),
        median(rates.clone()),
        1e9 * rayon::current_num_threads() as f64 / (median(rates) * spec.macs() as f64)
    );
}
