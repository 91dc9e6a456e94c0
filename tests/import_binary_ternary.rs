//! Binary and ternary kernels, and their stochastic variants, end to end:
//! imported from a QKeras model (tests/fixtures/import/ternary.json and its
//! weights, written by scripts/make-import-fixtures.py with TensorFlow 2.15 and
//! QKeras 0.9; the other kernel quantizers are put into a copy of its JSON), the
//! kernel holds QKeras' inference values of the stored float weights, the
//! fixed-point network reproduces the float network of those weights bit for
//! bit, an hls4ml config's XNOR weight type does not replace binary values,
//! and a model trained with them runs bit-exactly as Verilog in Verilator.
mod rtl_support;

use ndarray::Array2;
use qforge::import::{import, ImportRequest};
use qforge::model::{FixedNetwork, TrainedModel};
use qforge::quant::Quantizer;
use qforge::rtl::{self, RtlOptions, SimOptions, Simulator};
use qforge::train::qat::QatNetwork;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import").join(name)
}

/// The fixture's architecture with another kernel (and bias) quantizer, written into `dir`.
fn variant(dir: &Path, name: &str, kernel: Value, bias: Value) -> PathBuf {
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(fixture("ternary.json")).unwrap()).unwrap();
    let layer = &mut v["config"]["layers"][1]["config"];
    assert_eq!(layer["name"], "fc_ternary");
    layer["kernel_quantizer"] = kernel;
    layer["bias_quantizer"] = bias;
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, v.to_string()).unwrap();
    path
}

fn import_with(model: PathBuf) -> TrainedModel {
    import(&ImportRequest { model, weights: Some(fixture("ternary-weights.h5")), ..Default::default() }).unwrap().model
}

/// QKeras at inference, written out apart from qforge's quantizers:
/// binary k = sign(x), 0 -> +1 (use_01: (k+1)/2); ternary sign(x)·(|x| >= t).
fn qkeras_binary(x: f32, use_01: bool) -> f32 {
    let k = if x < 0.0 { -1.0 } else { 1.0 };
    if use_01 {
        (k + 1.0) / 2.0
    } else {
        k
    }
}

fn qkeras_ternary(x: f32, t: f32) -> f32 {
    if x.abs() >= t {
        x.signum()
    } else {
        0.0
    }
}

/// 500 inputs on the 1/16 grid in ±7.9375: exact in the input type.
fn grid_inputs(n_in: usize) -> Array2<f32> {
    let mut state = 0x2545_f491_u64;
    Array2::from_shape_fn((500, n_in), |_| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((state >> 33) % 255) as f32 / 16.0 - 7.9375
    })
}

/// The fixed-point outputs against the float network of the quantized weights: equal, value for value.
fn fixed_equals_float(model: &TrainedModel) {
    let x = grid_inputs(model.spec.inputs);
    let float = QatNetwork::from_params(&model.spec, &model.layers).predict(x.view());
    let net = FixedNetwork::from_model(model).unwrap();
    let raw: Vec<i64> = x.rows().into_iter().flat_map(|r| net.quantize_inputs(r.as_slice().unwrap())).collect();
    for (r, v) in raw.iter().zip(x.iter()) {
        assert_eq!(model.spec.input_type.to_f64(*r), *v as f64, "inputs are exact");
    }
    let out = net.predict_raw(&raw);
    let t = net.output_type();
    let got: Vec<f64> = out.outputs.iter().map(|&o| t.to_f64(o)).collect();
    let want: Vec<f64> = float.iter().map(|&v| v as f64).collect();
    assert_eq!(got, want, "{}: fixed point ({t}) vs float", model.spec.blocks[0].kernel_quantizer.spelling());
}

#[test]
fn the_qkeras_ternary_model_imports_with_qkeras_values() {
    let m = import_with(fixture("ternary.json"));
    let block = &m.spec.blocks[0];
    assert_eq!(block.kernel_quantizer, Quantizer::Ternary { threshold: 0.33 });
    let layer = &m.layers[0];
    assert_eq!((layer.n_in, layer.n_out), (4, 3));
    let want: Vec<f32> = layer.kernel.iter().map(|&w| qkeras_ternary(w, 0.33)).collect();
    assert_eq!(layer.kernel_q, want, "float kernel {:?}", layer.kernel);
    // The stored HeNormal weights give all three values.
    for v in [-1.0, 0.0, 1.0] {
        assert!(layer.kernel_q.contains(&v), "{v} missing in {:?} (from {:?})", layer.kernel_q, layer.kernel);
    }
    fixed_equals_float(&m);
}

#[test]
fn binary_stochastic_and_thresholded_kernels_import_and_compute_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let bias = json!({"class_name": "quantized_bits", "config": {"bits": 8, "integer": 2, "alpha": 1}});
    let cases = [
        ("binary", json!({"class_name": "binary", "config": {"use_01": false, "alpha": null, "use_stochastic_rounding": false}})),
        ("binary01", json!({"class_name": "binary", "config": {"use_01": true, "alpha": 1, "use_stochastic_rounding": false}})),
        ("sbinary", json!({"class_name": "stochastic_binary", "config": {"alpha": null, "temperature": 6.0, "use_real_sigmoid": true}})),
        (
            "sternary",
            json!({"class_name": "stochastic_ternary", "config": {"alpha": null, "threshold": 0.5, "temperature": 8.0, "use_real_sigmoid": true, "number_of_unrolls": 5}}),
        ),
        ("ternary_str", json!("ternary(alpha=1, threshold=0.25)")),
    ];
    for (name, kernel) in cases {
        let m = import_with(variant(dir.path(), name, kernel, bias.clone()));
        let layer = &m.layers[0];
        let want: Vec<f32> = match m.spec.blocks[0].kernel_quantizer {
            Quantizer::Binary { use_01 } => {
                assert_eq!(use_01, name == "binary01", "{name}");
                layer.kernel.iter().map(|&w| qkeras_binary(w, use_01)).collect()
            }
            Quantizer::Ternary { threshold } => {
                assert_eq!(threshold, if name == "sternary" { 0.5 } else { 0.25 }, "{name}");
                layer.kernel.iter().map(|&w| qkeras_ternary(w, threshold as f32)).collect()
            }
            ref q => panic!("{name}: imported as {q:?}"),
        };
        assert_eq!(layer.kernel_q, want, "{name}: from {:?}", layer.kernel);
        fixed_equals_float(&m);
    }
}

#[test]
fn with_an_hls4ml_config_binary_weights_keep_their_values_and_the_default_accumulator() {
    // The config as hls4ml 1.3 writes it: binary weights get its XNOR type (uint<1>), ternary ones int<2>.
    let dir = tempfile::tempdir().unwrap();
    let config = |weight: &str| {
        let text = format!(
            "Model:\n  Precision:\n    default: ap_fixed<16,6>\n  ReuseFactor: 1\n  Strategy: Latency\nLayerName:\n  fc_ternary:\n    Precision:\n      result: auto\n      weight: {weight}\n      bias: auto\n      accum: auto\n"
        );
        let path = dir.path().join(format!("{}.yml", weight.replace(['<', '>'], "_")));
        std::fs::write(&path, text).unwrap();
        path
    };
    let binary = json!({"class_name": "binary", "config": {"use_01": false, "alpha": null}});
    let bias = json!({"class_name": "quantized_bits", "config": {"bits": 8, "integer": 2, "alpha": 1}});
    for (kernel, weight, want_weight, want_accum) in
        [(binary, "uint<1>", "ap_fixed<2,2>", "ap_fixed<16,6>"), (json!("ternary"), "int<2>", "ap_fixed<2,2>", "ap_fixed<21,11>")]
    {
        let model = variant(dir.path(), "hls4ml_variant", kernel, bias.clone());
        let request =
            ImportRequest { model, weights: Some(fixture("ternary-weights.h5")), config: Some(config(weight)), ..Default::default() };
        let m = import(&request).unwrap().model;
        let net = FixedNetwork::from_model(&m).unwrap();
        let layer = &net.layers[0];
        assert_eq!((layer.weight_type.cpp(), layer.accum_type.cpp()), (want_weight.to_string(), want_accum.to_string()), "{weight}");
        assert!(layer.weights.iter().all(|w| [-1, 0, 1].contains(w)), "{weight}: {:?}", layer.weights);
    }
}

#[test]
fn trained_binary_and_ternary_model_is_bit_exact_in_verilator() {
    let dir = tempfile::tempdir().unwrap();
    let q4 = "quantized_bits(4,0,alpha=1)";
    let spec = rtl_support::spec_text(
        "jet_binary_ternary",
        &[
            (16, "ternary", q4, "quantized_relu(4,2)"),
            (8, "binary", q4, "quantized_relu(4,2)"),
            (5, "ternary(threshold=0.5)", q4, "linear"),
        ],
    );
    let (model, raw) = rtl_support::train(&spec, dir.path());
    for (layer, q) in model.layers.iter().zip(&model.spec.blocks) {
        let mut want = layer.kernel.clone();
        q.kernel_quantizer.quantize_slice(&mut want);
        assert_eq!(layer.kernel_q, want);
        assert!(layer.kernel_q.iter().all(|w| [-1.0, 0.0, 1.0].contains(w)), "{}", q.name);
    }
    let design = rtl::generate(&model, &dir.path().join("model.json"), &RtlOptions::default()).unwrap();
    let out = dir.path().join("rtl");
    rtl::write_design(&design, &out).unwrap();
    let net = FixedNetwork::from_model(&model).unwrap();
    let n = 2000 * model.spec.inputs;
    let result =
        rtl::simulate(&out, &design.manifest, &net, &raw[..n], &SimOptions { simulator: Simulator::Verilator, ..Default::default() })
            .unwrap();
    assert_eq!(result.samples, 2000);
    assert_eq!(result.mismatches, 0, "{:?}", result.first_mismatches);
}
