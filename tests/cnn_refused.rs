//! Issue 18, until each stage takes them: every command that reads a model
//! and cannot compute image layers yet refuses one with exit code 2 and the
//! one message, and writes nothing. One case per CLI command family. (train,
//! eval and predict take them: tests/cnn_train.rs; hls and csim:
//! tests/cnn_hls.rs; rtl, rtl-sim, switching and synth: tests/cnn_rtl.rs; run:
//! tests/pipeline_cnn.rs.)
mod support;

use qforge::model::{LayerParams, ModelSpec, Scaler, TrainedModel};
use std::path::{Path, PathBuf};

const SPEC: &str = r#"name = "tiny_cnn"
inputs = [8, 8, 1]
[[layers]]
type = "conv2d"
filters = 2
kernel_size = 3
activation = "relu"
[[layers]]
type = "max_pooling2d"
[[layers]]
type = "flatten"
[[layers]]
type = "dense"
units = 3
activation = "softmax"
"#;

/// The spec (tiny_cnn.toml) and a valid model.json of it.
fn files(dir: &Path) -> (PathBuf, PathBuf) {
    let spec_path = dir.join("tiny_cnn.toml");
    std::fs::write(&spec_path, SPEC).unwrap();
    let spec = ModelSpec::from_file(&spec_path).unwrap();
    let n_in = spec.block_inputs()[0];
    assert_eq!(n_in, 18);
    let layer = LayerParams {
        name: spec.blocks[0].name.clone(),
        n_in,
        n_out: 3,
        kernel: vec![0.25; n_in * 3],
        bias: vec![0.0; 3],
        kernel_q: vec![0.25; n_in * 3],
        bias_q: vec![0.0; 3],
        po2_exponents: None,
    };
    let model = TrainedModel {
        format: qforge::model::network::MODEL_FORMAT.into(),
        version: qforge::model::network::MODEL_VERSION,
        spec,
        feature_names: vec![],
        scaler: Scaler::identity(64),
        layers: vec![layer],
        conv_layers: vec![LayerParams {
            name: "conv2d_1".into(),
            n_in: 9,
            n_out: 2,
            kernel: vec![0.5; 18],
            bias: vec![0.0; 2],
            kernel_q: vec![0.5; 18],
            bias_q: vec![0.0; 2],
            po2_exponents: None,
        }],
        metrics: serde_json::Value::Null,
    };
    let model_path = dir.join("model.json");
    model.save(&model_path).unwrap();
    // The file loads: the refusal below is the stage's, not a load fault.
    assert!(TrainedModel::load(&model_path).unwrap().spec.has_features());
    (spec_path, model_path)
}

#[test]
fn rtl_no_longer_refuses_conv_models() {
    // rtl, rtl-sim, switching and synth take image models now (tests/cnn_rtl.rs
    // writes and simulates them); this float model gets the RTL's own fault.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_, model) = files(d);
    let out = d.join("out");
    let (code, _, stderr) = support::run_in(d, &["rtl", "--model", model.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        !stderr.contains("convolutional layers are not supported") && stderr.contains("is float, which has no fixed-point RTL"),
        "{stderr}"
    );
    assert!(!out.exists());
}

#[test]
fn search_refuses_conv_models_and_estimate_takes_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (spec, model) = files(d);
    // estimate takes image models now, in both flows (tests/cnn_estimate.rs,
    // tests/cnn_rtl_estimate.rs).
    // (This fixture is unquantized: from its spec alone the estimator sizes
    // accumulators too wide for it, a fault it reports as for a dense model; the
    // trained model's types fit the 64-bit fixed-point model and are estimated.)
    let (m, s) = (model.to_str().unwrap(), spec.to_str().unwrap());
    let (_, _, stderr) = support::run_in(d, &["estimate", "--spec", s]);
    assert!(stderr.contains("wider than 48 bits") && !stderr.contains("not supported by"), "{stderr}");
    for flow in ["hls", "rtl"] {
        let (code, _, stderr) = support::run_in(d, &["estimate", "--model", m, "--flow", flow]);
        assert_eq!(code, 0, "{flow}: {stderr}");
    }
    let (code, _, stderr) = support::run_in(d, &["estimate", "--spec", s, "--flow", "rtl"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("wider than 48 bits") && !stderr.contains("does not take image layers"), "{stderr}");
    // search takes conv models now (tests/cnn_search.rs).
}

#[test]
fn the_import_writer_takes_conv_models() {
    let dir = tempfile::tempdir().unwrap();
    let (_, model) = files(dir.path());
    let imported = qforge::import::Imported {
        model: TrainedModel::load(&model).unwrap(),
        report: qforge::import::ImportReport {
            model: model.clone(),
            weights: None,
            config: None,
            format: qforge::import::SourceFormat::KerasArchive,
            keras_layers: vec![],
            notes: vec![],
            hls4ml: None,
            seconds: 0.0,
        },
    };
    let out = dir.path().join("imported");
    qforge::import::write(&imported, &out).unwrap_or_else(|e| panic!("{e}"));
    let written = TrainedModel::load(&out.join("model.json")).unwrap();
    assert_eq!(written.spec.features.len(), imported.model.spec.features.len());
    assert!(!written.spec.features.is_empty());
}
