//! The CNN specs the HLS and RTL tests both build: a 2D model with every
//! image layer kind and a Conv1D model, and the training the HLS tests share.
use qforge::model::spec::TypesMode;
use qforge::model::TrainedModel;
use std::path::Path;

/// Train `spec` in `d` on 10 000 synthetic images (2 000 in the test split)
/// into `m/model.json`, and save its copy in hls4ml types mode as
/// `h4/model.json`: (types mode, model path) of both, for the HLS tests.
pub fn train_in_both_modes(d: &Path, name: &str, spec: &str) -> [(&'static str, &'static str); 2] {
    std::fs::write(d.join("s.toml"), spec).unwrap();
    let (code, trained, stderr) = super::run_in(d, &["train", "--spec", "s.toml", "--samples", "10000", "--out", "m", "--json"]);
    assert_eq!(code, 0, "{name}: train\n{stderr}");
    let classes = trained["evaluation"]["per_class_auc"].as_array().unwrap().len() as f64;
    let fixed = trained["evaluation"]["fixed_accuracy"].as_f64().unwrap();
    assert!(fixed > 1.5 / classes, "{name}: fixed-point accuracy {fixed} is near chance: the test would prove little");
    let mut model = TrainedModel::load(&d.join("m/model.json")).unwrap();
    model.spec.types = TypesMode::Hls4ml;
    std::fs::create_dir_all(d.join("h4")).unwrap();
    model.save(&d.join("h4/model.json")).unwrap();
    [("qforge", "m/model.json"), ("hls4ml", "h4/model.json")]
}
pub const RICH_2D: &str = r#"name = "rich_cnn"
inputs = [9, 9, 2]
classes = ["a", "b", "c", "d", "e"]
[[layers]]
type = "conv2d"
filters = 4
kernel_size = 3
strides = [2, 1]
padding = "same"
kernel_quantizer = "quantized_bits(6,0,alpha=1)"
bias_quantizer = "quantized_bits(6,0,alpha=1)"
activation = "relu"
quantizer = "quantized_relu(6,2)"
[[layers]]
type = "max_pooling2d"
pool_size = 2
padding = "same"
[[layers]]
type = "conv2d"
filters = 3
kernel_size = 2
use_bias = false
kernel_quantizer = "quantized_bits(5,1,alpha=1)"
bias_quantizer = "quantized_bits(8,3,alpha=1)"
[[layers]]
type = "batchnorm"
[[layers]]
type = "activation"
activation = "linear"
quantizer = "quantized_bits(8,3)"
[[layers]]
type = "average_pooling2d"
pool_size = 2
strides = 1
padding = "same"
[[layers]]
type = "global_average_pooling2d"
[[layers]]
type = "dense"
units = 5
kernel_quantizer = "quantized_bits(6,0,alpha=1)"
bias_quantizer = "quantized_bits(6,0,alpha=1)"
[[layers]]
type = "activation"
activation = "softmax"
[training]
epochs = 2
batch_size = 64
learning_rate = 0.003
"#;

pub const CONV_1D: &str = r#"name = "cnn_1d"
inputs = [16, 3]
classes = ["a", "b", "c"]
[[layers]]
type = "conv1d"
filters = 4
kernel_size = 3
strides = 2
padding = "same"
kernel_quantizer = "quantized_bits(6,0,alpha=1)"
bias_quantizer = "quantized_bits(6,0,alpha=1)"
activation = "relu"
quantizer = "quantized_relu(5,1)"
[[layers]]
type = "average_pooling1d"
pool_size = 2
[[layers]]
type = "max_pooling1d"
pool_size = 2
strides = 1
[[layers]]
type = "flatten"
[[layers]]
type = "dense"
units = 3
kernel_quantizer = "quantized_bits(6,0,alpha=1)"
bias_quantizer = "quantized_bits(6,0,alpha=1)"
[[layers]]
type = "activation"
activation = "softmax"
[training]
epochs = 2
batch_size = 64
"#;

/// Run qforge in `d` and require exit 0; its JSON.
pub fn ok(d: &Path, args: &[&str]) -> serde_json::Value {
    let (code, json, stderr) = super::run_in(d, args);
    assert_eq!(code, 0, "{args:?}\n{stderr}");
    json
}

/// Train `spec` on 10 000 synthetic images (2 000 in the test split) into
/// `m/model.json` of a new folder, and require better than chance.
pub fn trained(spec: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("s.toml"), spec).unwrap();
    let t = ok(d, &["train", "--spec", "s.toml", "--samples", "10000", "--out", "m", "--json"]);
    let classes = t["evaluation"]["per_class_auc"].as_array().unwrap().len() as f64;
    assert!(t["evaluation"]["fixed_accuracy"].as_f64().unwrap() > 1.5 / classes, "near-chance model proves little");
    dir
}
