//! Issue 18: convolutional models train (conv QAT), evaluate and predict.
//! The backward pass is checked against finite differences; the fixed-point
//! network with lossless types is checked against the float network it was
//! trained as; the binary trains the digits example and a synthetic-image
//! model end to end, reproducibly.
mod support;

use ndarray::Array2;
use qforge::model::{FixedNetwork, ModelSpec, TrainedModel};
use qforge::train::qat::QatNetwork;
use std::path::Path;

fn spec(text: &str) -> ModelSpec {
    ModelSpec::from_toml(text, Path::new("cnn.toml")).unwrap_or_else(|e| panic!("{e}"))
}

const FLOAT_CNN: &str = r#"name = "grad_cnn"
inputs = [5, 5, 2]
classes = ["a", "b", "c"]
[[layers]]
type = "conv2d"
filters = 3
kernel_size = 3
padding = "same"
activation = "relu"
[[layers]]
type = "average_pooling2d"
pool_size = 2
padding = "same"
[[layers]]
type = "conv2d"
filters = 2
kernel_size = 2
use_bias = false
[[layers]]
type = "max_pooling2d"
pool_size = 2
[[layers]]
type = "flatten"
[[layers]]
type = "dense"
units = 3
activation = "softmax"
"#;

fn seeded(n: usize, seed: u64) -> Vec<f32> {
    // A small LCG: the test's own numbers, independent of any crate's stream.
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 33) as f32 / (1u64 << 31) as f32) * 2.0 - 1.0
        })
        .collect()
}

#[test]
fn conv_and_pool_gradients_match_finite_differences() {
    for text in [
        FLOAT_CNN.to_string(),
        FLOAT_CNN.replace("type = \"max_pooling2d\"\npool_size = 2\n[[layers]]\ntype = \"flatten\"", "type = \"global_max_pooling2d\""),
    ] {
        let spec = spec(&text);
        let mut net = QatNetwork::init(&spec, 3);
        let (batch, n_in) = (4, spec.inputs);
        let x = Array2::from_shape_vec((batch, n_in), seeded(batch * n_in, 11)).unwrap();
        let y = [0u8, 1, 2, 1];
        let (l1, l2) = (0.0, 0.01);
        let _ = net.loss_and_grads(x.view(), &y, l1, l2);
        let analytic: Vec<Vec<f32>> = net.features.as_mut().unwrap().params_and_grads().iter().map(|(_, g)| g.to_vec()).collect();
        // Conv 1 kernel and bias, conv 2 kernel and its bias (kept at zero: use_bias = false).
        assert_eq!(analytic.iter().map(Vec::len).collect::<Vec<_>>(), vec![18 * 3, 3, 12 * 2, 2]);
        assert!(analytic[3].iter().all(|&g| g == 0.0), "a layer without bias got a bias gradient");
        // Small enough that no ReLU or max pooling switches within ±eps here (at 1e-2 two do).
        let eps = 3e-3f32;
        let mut checked = 0;
        for (k, grads) in analytic.iter().enumerate().take(3) {
            for (i, &g) in grads.iter().enumerate() {
                let mut loss_at = |delta: f32| {
                    net.features.as_mut().unwrap().params_and_grads()[k].0[i] += delta;
                    let (loss, _) = net.loss_and_grads(x.view(), &y, l1, l2);
                    net.features.as_mut().unwrap().params_and_grads()[k].0[i] -= delta;
                    loss
                };
                let numeric = (loss_at(eps) - loss_at(-eps)) / (2.0 * eps);
                assert!((numeric - g).abs() <= 2e-3 + 0.05 * g.abs(), "param {k}[{i}]: analytic {g}, numeric {numeric}");
                checked += 1;
            }
        }
        assert_eq!(checked, 18 * 3 + 3 + 24);
    }
}

/// A model whose fixed-point types lose nothing after the input cast: the
/// fixed network's logits are the float network's on the same quantized inputs.
#[test]
fn fixed_point_cnn_computes_what_the_float_network_trained() {
    let text = r#"name = "exact_cnn"
inputs = [6, 6, 2]
input_type = "ap_fixed<10,4>"
classes = ["a", "b", "c", "d"]
[[layers]]
type = "conv2d"
filters = 4
kernel_size = [3, 2]
strides = [1, 2]
padding = "same"
kernel_quantizer = "quantized_bits(5,1,alpha=1)"
bias_quantizer = "quantized_bits(5,1,alpha=1)"
activation = "relu"
quantizer = "quantized_relu(6,2)"
[[layers]]
type = "average_pooling2d"
pool_size = 2
[[layers]]
type = "conv1d"
filters = 3
kernel_size = 1
kernel_quantizer = "quantized_bits(4,1,alpha=1)"
bias_quantizer = "quantized_bits(4,1,alpha=1)"
[[layers]]
type = "flatten"
[[layers]]
type = "dense"
units = 4
kernel_quantizer = "quantized_bits(6,0,alpha=1)"
bias_quantizer = "quantized_bits(6,0,alpha=1)"
"#;
    // conv1d on a 2D map is refused by shape inference: use a 1x1 conv2d instead.
    let text = text.replace("type = \"conv1d\"", "type = \"conv2d\"");
    let spec = spec(&text);
    let mut net = QatNetwork::init(&spec, 5);
    let model = qforge::train::to_model(&spec, &net, qforge::model::Scaler::identity(spec.inputs), vec![], serde_json::Value::Null);
    let fixed = FixedNetwork::from_model(&model).unwrap();
    assert!(fixed.features.is_some() && !fixed.has_packed_path());
    assert_eq!((fixed.n_inputs(), fixed.n_outputs()), (72, 4));
    let n = 200;
    let x_float = seeded(n * spec.inputs, 17).iter().map(|v| v * 6.0).collect::<Vec<_>>();
    let raw = fixed.quantize_inputs(&x_float);
    let x_q: Vec<f32> = raw.iter().map(|&r| spec.input_type.to_f64(r) as f32).collect();
    let float = net.forward(Array2::from_shape_vec((n, spec.inputs), x_q).unwrap().view(), false, None);
    let out = fixed.predict_raw(&raw);
    let head_type = fixed.layers[0].out_type;
    let mut worst = 0f64;
    for (got, want) in out.logits.iter().zip(float.iter()) {
        worst = worst.max((head_type.to_f64(*got) - *want as f64).abs());
    }
    // Every sum is exact in f32 (short weights, 10-bit inputs, few terms).
    assert_eq!(worst, 0.0, "largest |fixed - float| logit difference");
    // The per-sample trace and the batch path agree.
    for s in 0..5 {
        let trace = fixed.trace(&raw[s * 72..(s + 1) * 72]);
        assert_eq!(trace.last().unwrap().raw, out.logits[s * 4..(s + 1) * 4].to_vec());
    }
}

fn synthetic_spec(dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(support::example("digits_cnn.toml")).unwrap();
    let text = text.replace("epochs = 60", "epochs = 6");
    let path = dir.join("cnn.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_binary_trains_evaluates_and_predicts_a_cnn_reproducibly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let spec = synthetic_spec(d);
    let s = spec.to_str().unwrap();
    let (code, json, stderr) = support::run_in(d, &["train", "--spec", s, "--samples", "1500", "--out", "a", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(json["data"].as_str().unwrap().contains("synthetic [8, 8, 1] images"), "{json}");
    let eval = &json["evaluation"];
    let (float_acc, fixed_acc) = (eval["float_accuracy"].as_f64().unwrap(), eval["fixed_accuracy"].as_f64().unwrap());
    assert_eq!(eval["samples"], 300);
    // Ten classes: chance is 10 %.
    assert!(float_acc > 0.8 && (float_acc - fixed_acc).abs() <= 0.02, "float {float_acc}, fixed {fixed_acc}");
    let model = TrainedModel::load(&d.join("a/model.json")).unwrap();
    assert_eq!((model.conv_layers.len(), model.conv_layers[0].n_in, model.conv_layers[0].n_out), (1, 9, 8));
    // Every pixel is scaled alike.
    assert!(model.scaler.mean.windows(2).all(|w| w[0] == w[1]) && model.scaler.std.windows(2).all(|w| w[0] == w[1]));
    // Same seed, same bits.
    let (code, _, stderr) = support::run_in(d, &["train", "--spec", s, "--samples", "1500", "--out", "b"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("epoch 1:") && stderr.contains("samples/s"), "{stderr}");
    let again = TrainedModel::load(&d.join("b/model.json")).unwrap();
    // (The metrics hold timings; the weights must be the same bits.)
    assert!(
        again.conv_layers == model.conv_layers && again.layers == model.layers && again.scaler == model.scaler,
        "same seed, other weights"
    );

    let m = d.join("a/model.json");
    let m = m.to_str().unwrap();
    let (code, ev, stderr) = support::run_in(d, &["eval", "--model", m, "--samples", "1500", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(ev["evaluation"]["fixed_accuracy"], eval["fixed_accuracy"]);
    assert!(ev["precision_profile"].as_array().is_some_and(|rows| !rows.is_empty()), "{ev}");
    let (code, p, stderr) =
        support::run_in(d, &["predict", "--model", m, "--samples", "1500", "--output", "p.csv", "--inputs-raw", "x.txt", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!((p["samples"].as_u64(), p["fixed_accuracy"].as_f64()), (Some(300), Some(fixed_acc)));
    let csv = std::fs::read_to_string(d.join("p.csv")).unwrap();
    assert_eq!(csv.lines().count(), 301);
    let first_raw = std::fs::read_to_string(d.join("x.txt")).unwrap();
    assert_eq!(first_raw.lines().next().unwrap().split_whitespace().count(), 64);
}

#[test]
fn the_digits_example_learns_the_real_digits() {
    let dir = tempfile::tempdir().unwrap();
    let spec = support::example("digits_cnn.toml");
    let (code, json, stderr) = support::run_in(dir.path(), &["train", "--spec", spec.to_str().unwrap(), "--data", "digits", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let eval = &json["evaluation"];
    assert_eq!(eval["samples"], 359);
    let fixed = eval["fixed_accuracy"].as_f64().unwrap();
    assert!(fixed >= 0.95, "digits CNN fixed-point accuracy {fixed}: {json}");
}

#[test]
fn image_data_that_does_not_fit_the_model_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = std::fs::read_to_string(support::example("digits_cnn.toml")).unwrap().replace("inputs = [8, 8, 1]", "inputs = [7, 7, 1]");
    std::fs::write(d.join("c.toml"), text).unwrap();
    // A folder named `digits` where the user stands does not change what `--data digits` means.
    std::fs::create_dir(d.join("digits")).unwrap();
    let (code, _, stderr) = support::run_in(d, &["train", "--spec", "c.toml", "--data", "digits"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("digits.csv.gz") && stderr.contains("64 features per row but the model has 49 inputs"), "{stderr}");
}
