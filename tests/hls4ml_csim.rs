//! The generated HLS C++ of models in hls4ml types mode, compiled with g++
//! against the real Xilinx ap_types headers and run on the fixtures' inputs,
//! gives hls4ml 1.3.0's own C-simulated outputs bit for bit (every softmax
//! variant, po2 accumulators, a float model) and the Rust model's.
mod hls_support;

use qforge::events::Silent;
use qforge::hls::{run_csim, write_project, CsimOptions, HlsConfig, WriteOptions};
use qforge::model::spec::parse_fixed_type;
use qforge::model::{FixedNetwork, TrainedModel};
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Deserialize)]
struct Csim {
    inputs: Vec<Vec<f64>>,
    output_type: String,
    outputs_raw: Vec<Vec<i64>>,
}

fn csim_matches_hls4ml(name: &str) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hls4ml").join(name);
    let model = TrainedModel::load(&dir.join("qforge_model.json")).unwrap();
    let fixture: Csim = serde_json::from_str(&std::fs::read_to_string(dir.join("csim.json")).unwrap()).unwrap();
    let net = FixedNetwork::from_model(&model).unwrap();
    assert_eq!(net.output_type(), parse_fixed_type(&fixture.output_type).unwrap());
    let raw: Vec<i64> = fixture.inputs.iter().flatten().map(|&v| net.input_type.from_f64(v)).collect();
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("prj");
    write_project(&model, &HlsConfig::default(), &project, &WriteOptions { force: false, templates: None, test_inputs: Some(raw.clone()) })
        .unwrap();
    let result = run_csim(&project, &net, &raw, &CsimOptions::new(hls_support::ap_types()), &Silent).unwrap();
    assert_eq!((result.mismatches, result.mismatched_values), (0, 0), "{name}: C simulation differs from the Rust model");
    // And directly against hls4ml: the raw outputs the testbench printed.
    let text = std::fs::read_to_string(&result.results).unwrap();
    let n_out = net.n_outputs();
    let got = qforge::model::predict_io::parse_raw_rows(&result.results, &text, n_out + 1).unwrap();
    let differing = fixture.outputs_raw.iter().zip(got.chunks(n_out + 1)).filter(|(want, row)| want[..] != row[..n_out]).count();
    assert_eq!(differing, 0, "{name}: {differing} of {} samples differ from hls4ml's C simulation", fixture.inputs.len());
}

#[test]
fn stable_softmax_model() {
    csim_matches_hls4ml("q_bits");
}

#[test]
fn latency_softmax_model() {
    csim_matches_hls4ml("q_relu_widths");
}

#[test]
fn po2_model_with_argmax() {
    csim_matches_hls4ml("q_po2");
}

#[test]
fn float_model() {
    csim_matches_hls4ml("float");
}

#[test]
fn legacy_softmax_model() {
    csim_matches_hls4ml("q_legacy");
}
