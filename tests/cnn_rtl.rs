//! Issue 18: Verilog for convolutional models (io_parallel, fully
//! unrolled). `qforge rtl` writes a module per conv/pooling layer and
//! `qforge rtl-sim` (Verilator) reproduces the Rust fixed-point network bit
//! for bit on 2 000 synthetic test images: a 2D model with every layer kind
//! (strides, same and valid padding, no bias, max pooling over padding,
//! average and global average pooling) pipelined in qforge types mode, and in
//! hls4ml types mode combinational and pipelined, and a Conv1D model with `--cmvm`. A
//! conv weight changed by one LSB in the model makes the same Verilog
//! mismatch, so the comparison is not vacuous.
mod support;

use qforge::model::TrainedModel;
use std::path::Path;

use support::cnn_specs::{ok, trained, CONV_1D, RICH_2D};

/// Write the design with `extra` options and simulate it on the 2 000 test images.
fn rtl_sim(d: &Path, model: &str, out: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["rtl", "--model", model, "--out", out, "--json"];
    args.extend_from_slice(extra);
    let written = ok(d, &args);
    let files: Vec<String> = written["manifest"]["files"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().to_string()).collect();
    assert!(files.iter().any(|f| f.ends_with("_conv.v")) && files.iter().any(|f| f.ends_with("_pool.v")), "{files:?}");
    ok(d, &["rtl-sim", "--model", model, "--rtl", out, "--samples", "10000", "--json"])
}

fn exact(name: &str, sim: &serde_json::Value) {
    assert_eq!((sim["samples"].as_u64(), sim["mismatches"].as_u64()), (Some(2000), Some(0)), "{name}: {sim}");
}

#[test]
fn a_2d_cnn_with_every_layer_kind_simulates_bit_exact() {
    let dir = trained(RICH_2D);
    let d = dir.path();
    let piped = rtl_sim(d, "m/model.json", "rtl_q", &["--pipeline-every", "2"]);
    exact("rich qforge pipelined", &piped);
    assert!(piped["latency_cycles"].as_u64().unwrap() > 0, "{piped}");
    // The same weights in hls4ml types mode (narrower inferred accumulators,
    // the average pooling's result back in its input type, global pooling in
    // ap_fixed<16,6>, hls4ml's stable softmax in the output stage).
    let mut h = TrainedModel::load(&d.join("m/model.json")).unwrap();
    h.spec.types = qforge::model::TypesMode::Hls4ml;
    std::fs::create_dir_all(d.join("h")).unwrap();
    h.save(&d.join("h/model.json")).unwrap();
    let comb = rtl_sim(d, "h/model.json", "rtl_h", &[]);
    exact("rich hls4ml combinational", &comb);
    assert_eq!(comb["latency_cycles"].as_u64(), Some(0), "{comb}");
    let piped = rtl_sim(d, "h/model.json", "rtl_h2", &["--pipeline-every", "2"]);
    exact("rich hls4ml pipelined", &piped);
    assert!(piped["latency_cycles"].as_u64().unwrap() > 0, "{piped}");
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(d.join("rtl_h/qforge_rtl.json")).unwrap()).unwrap();
    assert!(manifest["output_stage"].as_str().unwrap().starts_with("hls4ml's stable softmax"), "{}", manifest["output_stage"]);
    let (code, _, stderr) = support::run_in(d, &["rtl", "--model", "m/model.json", "--out", "rtl_ns", "--pipeline-ns", "5"]);
    assert!(code == 2 && stderr.contains("--pipeline-ns does not take image layers"), "exit {code}: {stderr}");

    // One LSB of the first conv weight changed in the model: the Verilog no longer matches it.
    let mut model = TrainedModel::load(&d.join("m/model.json")).unwrap();
    let w = &mut model.conv_layers[0].kernel_q;
    let k = w.iter().position(|&v| v != 0.0).unwrap();
    w[k] += if w[k] > 0.0 { -1.0 / 32.0 } else { 1.0 / 32.0 };
    std::fs::create_dir_all(d.join("bad")).unwrap();
    model.save(&d.join("bad/model.json")).unwrap();
    let (code, _, stderr) = support::run_in(d, &["rtl-sim", "--model", "bad/model.json", "--rtl", "rtl_q", "--samples", "10000"]);
    assert!(code != 0 && stderr.contains("bit-exactness failure"), "a changed weight went unnoticed (exit {code}): {stderr}");
}

#[test]
fn a_1d_cnn_with_shared_subexpressions_simulates_bit_exact() {
    let dir = trained(CONV_1D);
    let d = dir.path();
    exact("1d cmvm", &rtl_sim(d, "m/model.json", "rtl_c", &["--cmvm"]));
}
