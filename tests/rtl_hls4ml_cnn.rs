//! `qforge rtl` of image models in hls4ml types mode against hls4ml 1.3.0's
//! own C simulation (tests/fixtures/hls4ml_cnn/: cnn2d, qcnn1d, qcnn_global,
//! imported with their hls4ml configs). cnn2d and qcnn_global have conv
//! accumulators `ap_fixed<16,6>` narrower than the products (each product
//! truncated into it) and cnn2d an average pooling summing `ap_fixed<37,17>`
//! into `ap_fixed<16,6>`. Simulated in Verilator on the fixtures' 200 csim
//! inputs: the logits must be the Rust model's and hls4ml's last layer, the
//! softmax outputs hls4ml's, bit for bit; and every port the Rust model's on
//! 2 000 more inputs spread over the input type.
mod support;
use qforge::model::{FixedNetwork, TrainedModel, TypesMode};
use qforge::rtl::{self, RtlOptions, SimOptions};
use std::path::{Path, PathBuf};
use support::rtl_csim::against_csim;
use support::{run_in, Csim};

fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hls4ml_cnn").join(name)
}

/// Import fixture `name` with its hls4ml config into `dir/imp/model.json`.
fn import(dir: &Path, name: &str) -> PathBuf {
    let f = fixture_dir(name);
    let arg = |n: &str| f.join(n).display().to_string();
    let (w, c) = (arg("weights.h5"), arg("hls4ml_config.yml"));
    let args = ["import", &arg("keras.json"), "--weights", &w, "--config", &c, "--out", "imp"];
    let (code, _, err) = run_in(dir, &args);
    assert_eq!(code, 0, "{name}: {err}");
    dir.join("imp/model.json")
}

fn check(name: &str, pipelines: &[u32]) {
    let dir = tempfile::tempdir().unwrap();
    let model_path = import(dir.path(), name);
    let model = TrainedModel::load(&model_path).unwrap();
    assert_eq!(model.spec.types, TypesMode::Hls4ml);
    assert!(!model.spec.features.is_empty(), "{name}: an image model");
    let net = FixedNetwork::from_model(&model).unwrap();
    let c: Csim = serde_json::from_str(&std::fs::read_to_string(fixture_dir(name).join("csim.json")).unwrap()).unwrap();
    let raw: Vec<i64> = c.inputs.iter().flatten().map(|&v| net.input_type.from_f64(v)).collect();
    let (lo, hi) = (net.input_type.min_raw(), net.input_type.max_raw());
    let wide: Vec<i64> =
        support::features(2000, net.n_inputs(), 5).iter().map(|&v| lo + ((v as f64 + 2.0) / 4.0 * (hi - lo) as f64) as i64).collect();
    for &every in pipelines {
        let opts = RtlOptions { pipeline_every: every, ..Default::default() };
        let design = rtl::generate(&model, &model_path, &opts).unwrap();
        assert!(design.files.iter().any(|(f, _)| f.ends_with("_conv.v")), "{name}: conv modules");
        let out = dir.path().join(format!("rtl{every}"));
        rtl::write_design(&design, &out).unwrap();
        let r = rtl::simulate(&out, &design.manifest, &net, &raw, &SimOptions::default()).unwrap();
        assert_eq!(r.latency_cycles, design.manifest.latency_cycles, "{name}");
        assert_eq!(r.samples, c.inputs.len());
        let (ours, layer, outputs) = against_csim(&r.work_dir.join("outputs.txt"), &design.manifest, &net, &c, &raw);
        let w = rtl::simulate(&out, &design.manifest, &net, &wide, &SimOptions::default()).unwrap();
        println!(
            "{name} every {every}: {} csim inputs: rtl-sim mismatches {}, logits vs model {ours}, vs hls4ml's last layer {layer}, outputs vs hls4ml {outputs}; {} spread inputs: {} mismatches; latency {}",
            r.samples, r.mismatches, w.samples, w.mismatches, r.latency_cycles
        );
        assert_eq!((r.mismatches, ours, layer, outputs), (0, 0, 0, 0), "{name}, every {every}: {:?}", r.first_mismatches);
        assert_eq!(w.mismatches, 0, "{name}, every {every}: {:?}", w.first_mismatches);
    }
}

#[test]
fn cnn2d_rtl_is_hls4ml_bit_for_bit() {
    check("cnn2d", &[0]);
}

#[test]
fn qcnn1d_rtl_is_hls4ml_bit_for_bit() {
    check("qcnn1d", &[0, 2]);
}

#[test]
fn qcnn_global_rtl_is_hls4ml_bit_for_bit() {
    check("qcnn_global", &[0, 2]);
}
