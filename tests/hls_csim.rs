//! Bit-exactness of the generated HLS C++: each project is compiled with g++
//! against the real Xilinx ap_types headers, run on 12 000 test samples, and
//! every output bit (and the argmax class) compared with the Rust fixed-point
//! model. Plus the proof that the comparison can fail: a corrupted weight is caught.
mod hls_support;

use hls_support::*;
use std::path::Path;

/// Generate a project and C-simulate it; returns the csim JSON after checking 0 mismatches.
fn generate_and_simulate(model: &Path, args: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("prj");
    let out = hls(model, &project, args);
    assert_eq!(out.status.code(), Some(0), "qforge hls failed: {}", text(&out.stderr));
    let run = csim(&project);
    let json = one_json_object(&run);
    assert_eq!(run.status.code(), Some(0), "csim failed: {json}\nstderr: {}", text(&run.stderr));
    assert!(json["samples"].as_u64().unwrap() >= 10_000, "{json}");
    assert_eq!(json["mismatches"], 0, "{json}");
    assert_eq!(json["mismatched_values"], 0, "{json}");
    eprintln!(
        "csim {args:?}: {} samples, 0 mismatches, compile {:.1} s, run {:.2} s, loop {:.0} samples/s ({:.0} per CPU s)",
        json["samples"],
        json["compile_secs"].as_f64().unwrap(),
        json["run_secs"].as_f64().unwrap(),
        json["samples_per_sec"].as_f64().unwrap(),
        json["samples_per_cpu_sec"].as_f64().unwrap()
    );
    json
}

#[test]
fn q6_jet_model_latency_reuse_1_matches_qforge_predict_bit_for_bit() {
    let model = trained("q6", &jet_spec());
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("prj");
    let args = ["--part", "xcvu9p-flga2104-2L-e", "--clock", "5", "--reuse", "1", "--strategy", "latency", "--io", "parallel"];
    let out = hls(&model, &project, &args);
    assert_eq!(out.status.code(), Some(0), "qforge hls failed: {}", text(&out.stderr));
    // The inputs and outputs `qforge predict` writes, fed to the C simulation.
    let (csv, inputs) = (dir.path().join("predictions.csv"), dir.path().join("inputs_raw.txt"));
    let predict = qforge()
        .args(["predict", "--limit", "10000", "--samples", SAMPLES, "--model"])
        .arg(&model)
        .arg("--output")
        .arg(&csv)
        .arg("--inputs-raw")
        .arg(&inputs)
        .output()
        .unwrap();
    assert_eq!(predict.status.code(), Some(0), "{}", text(&predict.stderr));
    let run = qforge()
        .args(["csim", "--json", "--project"])
        .arg(&project)
        .arg("--inputs-raw")
        .arg(&inputs)
        .arg("--predictions")
        .arg(&csv)
        .arg("--ap-types")
        .arg(ap_types())
        .output()
        .unwrap();
    let json = one_json_object(&run);
    assert_eq!(run.status.code(), Some(0), "{json}\n{}", text(&run.stderr));
    assert_eq!(json["samples"], 10_000);
    assert_eq!(json["mismatches"], 0, "{json}");
    assert_eq!(json["predictions_mismatches"], 0, "{json}");
    eprintln!(
        "csim Q6 latency: 10000 samples, 0 mismatches vs predict, compile {:.1} s, run {:.2} s, loop {:.0} samples/s ({:.0} per CPU s)",
        json["compile_secs"].as_f64().unwrap(),
        json["run_secs"].as_f64().unwrap(),
        json["samples_per_sec"].as_f64().unwrap(),
        json["samples_per_cpu_sec"].as_f64().unwrap()
    );
}

#[test]
fn q6_jet_model_resource_reuse_4_is_bit_exact() {
    let model = trained("q6", &jet_spec());
    generate_and_simulate(&model, &["--part", "xcvu9p-flga2104-2L-e", "--reuse", "4", "--strategy", "resource"]);
}

#[test]
fn heterogeneous_model_latency_reuse_4_is_bit_exact() {
    let model = trained("hetero", HETERO_SPEC);
    generate_and_simulate(&model, &["--part", "xcvu9p-flga2104-2L-e", "--reuse", "4", "--strategy", "latency"]);
}

#[test]
fn binary_and_ternary_kernels_are_bit_exact() {
    let spec = LINEAR_SPEC
        .replace(r#"kernel_quantizer = "quantized_bits(6,0,alpha=1)""#, r#"kernel_quantizer = "ternary""#)
        .replace(r#"kernel_quantizer = "quantized_bits(5,1)""#, r#"kernel_quantizer = "binary""#);
    assert_eq!((spec.matches(r#""ternary""#).count(), spec.matches(r#""binary""#).count()), (2, 1));
    let model = trained("binary_ternary", &spec);
    let m = qforge::model::TrainedModel::load(&model).unwrap();
    assert!(m.layers.iter().all(|l| l.kernel_q.iter().all(|w| [-1.0, 0.0, 1.0].contains(w))));
    generate_and_simulate(&model, &["--part", "xcku115-flvb2104-2-e"]);
}

#[test]
fn linear_output_model_is_bit_exact() {
    let model = trained("linear", LINEAR_SPEC);
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("prj");
    assert_eq!(hls(&model, &project, &["--part", "xcku115-flvb2104-2-e"]).status.code(), Some(0));
    let top = std::fs::read_to_string(project.join("firmware/myproject.cpp")).unwrap();
    assert!(!top.contains("softmax"), "no softmax in a linear-output model:\n{top}");
    assert!(top.contains("nnet::linear<"), "the quantized linear layer is a cast:\n{top}");
    let run = csim(&project);
    let json = one_json_object(&run);
    assert_eq!(run.status.code(), Some(0), "{json}");
    assert!(json["samples"].as_u64().unwrap() >= 10_000);
    assert_eq!(json["mismatches"], 0, "{json}");
}

#[test]
fn a_corrupted_weight_is_detected() {
    let model = trained("q6", &jet_spec());
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("prj");
    assert_eq!(hls(&model, &project, &[]).status.code(), Some(0));
    // Flip the first weight of the first layer (input 0 → output 0) to another value.
    let path = project.join("firmware/weights/w2.h");
    let header = std::fs::read_to_string(&path).unwrap();
    let start = header.find("= {\n    ").unwrap() + "= {\n    ".len();
    let end = start + header[start..].find(',').unwrap();
    let value: i64 = header[start..end].parse().unwrap();
    let corrupted = if value == 15 { 14 } else { 15 };
    std::fs::write(&path, format!("{}{corrupted}{}", &header[..start], &header[end..])).unwrap();

    let run = csim(&project);
    let json = one_json_object(&run);
    assert_eq!(run.status.code(), Some(1), "a corrupted weight must fail the check: {json}");
    let mismatches = json["mismatches"].as_u64().unwrap();
    assert!(mismatches > 0, "{json}");
    assert!(!json["first_mismatches"].as_array().unwrap().is_empty());
    let stderr = text(&run.stderr);
    assert!(stderr.contains("bit-exactness failure") && stderr.contains("differ"), "{stderr}");
}
