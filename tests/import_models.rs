//! `qforge import` on real Keras files written by scripts/make-import-fixtures.py
//! (TensorFlow 2.15, QKeras 0.9, hls4ml 1.3; see tests/fixtures/import/MANIFEST.md):
//! every format gives the same model, and the imported network reproduces the
//! Keras float outputs stored beside each model.
mod support;

use ndarray::Array2;
use qforge::import::{import, write, ImportRequest};
use qforge::model::TrainedModel;
use qforge::train::qat::QatNetwork;
use std::path::{Path, PathBuf};
use support::run_in;

const MODELS: [&str; 3] = ["float_mlp", "qkeras_mlp", "functional_po2"];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import").join(name)
}

fn request(model: &str, weights: Option<&str>) -> ImportRequest {
    ImportRequest { model: fixture(model), weights: weights.map(fixture), ..Default::default() }
}

/// Inputs and Keras outputs stored with the fixture.
fn keras_io(name: &str) -> (Array2<f32>, Array2<f32>) {
    let text = std::fs::read_to_string(fixture(&format!("{name}.io.json"))).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let rows = |k: &str| -> Array2<f32> {
        let rows: Vec<Vec<f32>> = serde_json::from_value(v[k].clone()).unwrap();
        let (n, m) = (rows.len(), rows[0].len());
        Array2::from_shape_vec((n, m), rows.into_iter().flatten().collect()).unwrap()
    };
    (rows("inputs"), rows("outputs"))
}

/// The imported network's float outputs (QKeras forward: quantized weights and activations).
fn float_outputs(model: &TrainedModel, inputs: &Array2<f32>) -> Array2<f32> {
    let mut x = inputs.clone();
    model.scaler.apply(x.as_slice_mut().unwrap());
    QatNetwork::from_params(&model.spec, &model.layers).predict(x.view())
}

fn without_provenance(mut m: TrainedModel) -> TrainedModel {
    m.metrics = serde_json::Value::Null;
    m
}

#[test]
fn every_format_gives_the_same_model() {
    for name in MODELS {
        let legacy = import(&request(&format!("{name}.json"), Some(&format!("{name}-weights.h5")))).unwrap();
        let v3_layout = import(&request(&format!("{name}.json"), Some(&format!("{name}.weights.h5")))).unwrap();
        let full = import(&request(&format!("{name}.full.h5"), None)).unwrap();
        assert_eq!(
            without_provenance(legacy.model.clone()),
            without_provenance(v3_layout.model),
            "{name}: legacy vs Keras 3 weights layout"
        );
        assert_eq!(without_provenance(legacy.model), without_provenance(full.model), "{name}: JSON + weights vs full H5");
    }
}

#[test]
fn imported_networks_reproduce_keras_outputs() {
    for name in MODELS {
        let imported = import(&request(&format!("{name}.full.h5"), None)).unwrap();
        let (inputs, expected) = keras_io(name);
        let got = float_outputs(&imported.model, &inputs);
        assert_eq!(got.dim(), expected.dim(), "{name}");
        let worst = got.iter().zip(expected.iter()).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(worst < 1e-4, "{name}: largest difference from Keras {worst}");
    }
}

#[test]
fn layers_map_as_hls4ml_splits_and_folds_them() {
    let m = import(&request("functional_po2.full.h5", None)).unwrap();
    let became: Vec<(&str, &str)> = m.report.keras_layers.iter().map(|l| (l.keras_name.as_str(), l.became.as_str())).collect();
    assert!(became.contains(&("bn_in", "input scaler (x - mean) / std")), "{became:?}");
    assert!(became.contains(&("bn2", "folded into fc2")), "{became:?}");
    assert_eq!(m.model.spec.blocks.len(), 3);
    assert_eq!(m.model.spec.blocks[0].kernel_quantizer.spelling(), "quantized_po2(4,1)");
    assert!(m.model.scaler.std.iter().any(|s| (s - 1.0).abs() > 1e-3), "the first batch normalization became the scaler");
    let q = import(&request("qkeras_mlp.json", Some("qkeras_mlp-weights.h5"))).unwrap();
    assert_eq!(q.model.spec.input_type.cpp(), "ap_fixed<8,4,AP_RND_CONV,AP_SAT>");
    assert_eq!(q.model.spec.blocks[2].kernel_quantizer.spelling(), "quantized_bits(8,1,symmetric=1,alpha='auto_po2')");
    assert!(q.model.layers[2].po2_exponents.is_some());
    let f = import(&request("float_mlp.json", Some("float_mlp-weights.h5"))).unwrap();
    assert_eq!(f.model.spec.blocks[0].activation, qforge::model::Activation::Relu, "Dense(activation=relu) is split");
    assert_eq!(f.model.spec.blocks[2].activation, qforge::model::Activation::Softmax);
}

#[test]
fn the_written_model_json_loads_and_later_commands_take_it() {
    let dir = tempfile::tempdir().unwrap();
    let (code, json, stderr) = run_in(
        dir.path(),
        &[
            "import",
            fixture("qkeras_mlp.json").to_str().unwrap(),
            "--weights",
            fixture("qkeras_mlp-weights.h5").to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let path = dir.path().join("qforge-out/import/model.json");
    assert_eq!(json["model_json"].as_str().unwrap(), "qforge-out/import/model.json");
    assert_eq!(json["layers"].as_array().unwrap().len(), 3);
    assert!(dir.path().join("qforge-out/import/import.json").exists());
    let model = TrainedModel::load(&path).unwrap();
    assert_eq!(model.spec.inputs, 10);
    let (code, est, stderr) = run_in(dir.path(), &["estimate", "--model", "qforge-out/import/model.json", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(est.is_object());
    // Written twice in a row from the same file: the same bytes.
    let first = std::fs::read(&path).unwrap();
    let again = import(&request("qkeras_mlp.json", Some("qkeras_mlp-weights.h5"))).unwrap();
    let out2 = dir.path().join("again");
    write(&again, &out2).unwrap();
    assert_eq!(std::fs::read(out2.join("model.json")).unwrap().len(), first.len());
}
