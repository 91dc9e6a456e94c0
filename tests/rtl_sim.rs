//! The generated Verilog against the fixed-point model, bit for bit, in
//! Verilator over 12 000 test samples of trained jet models; the measured
//! latency against the register stages the generator built; a corrupted
//! constant must be caught.
mod rtl_support;
use qforge::model::FixedNetwork;
use qforge::rtl::{self, RtlOptions, SimOptions, Simulator};
use rtl_support::*;
use std::path::Path;

fn generate_and_simulate(dir: &Path, every: u32, raw: &[i64], sim: Simulator) -> (rtl::RtlManifest, rtl::SimResult) {
    let model = qforge::model::TrainedModel::load(&dir.join("model.json")).unwrap();
    let out = dir.join(format!("rtl_every{every}"));
    let design = rtl::generate(&model, &dir.join("model.json"), &RtlOptions { pipeline_every: every, ..Default::default() }).unwrap();
    rtl::write_design(&design, &out).unwrap();
    let net = FixedNetwork::from_model(&model).unwrap();
    let opts = SimOptions { simulator: sim, ..Default::default() };
    let result = rtl::simulate(&out, &design.manifest, &net, raw, &opts).unwrap();
    (design.manifest, result)
}

#[test]
fn q6_jet_model_is_bit_exact_over_12000_samples() {
    let dir = tempfile::tempdir().unwrap();
    let (_, raw) = train(&q6_jet(), dir.path());
    assert!(raw.len() / 16 >= 10_000);
    let (manifest, r) = generate_and_simulate(dir.path(), 0, &raw, Simulator::Verilator);
    assert!(r.samples >= 10_000);
    assert_eq!(r.mismatches, 0, "{:?}", r.first_mismatches);
    assert_eq!(manifest.latency_cycles, 0);
    assert_eq!(r.latency_cycles, 0);
    assert!(manifest.probs.is_some(), "the softmax is in the RTL");
}

#[test]
fn heterogeneous_jet_model_pipelined_every_3_is_bit_exact_with_measured_latency() {
    let dir = tempfile::tempdir().unwrap();
    let (_, raw) = train(&hetero(&[64, 32, 32]), dir.path());
    let (manifest, r) = generate_and_simulate(dir.path(), 3, &raw, Simulator::Verilator);
    assert!(r.samples >= 10_000);
    assert_eq!(r.mismatches, 0, "{:?}", r.first_mismatches);
    assert!(manifest.latency_cycles > 3, "{}", manifest.latency_cycles);
    assert_eq!(r.latency_cycles, manifest.latency_cycles, "measured latency = register stages built");
    assert_eq!(manifest.latency_cycles, manifest.levels / 3);
}

#[test]
fn pipelined_every_level_small_heterogeneous_model_is_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    let (_, raw) = train(&hetero(&[16, 8]), dir.path());
    let (manifest, r) = generate_and_simulate(dir.path(), 1, &raw, Simulator::Verilator);
    assert!(r.samples >= 10_000);
    assert_eq!(r.mismatches, 0, "{:?}", r.first_mismatches);
    assert_eq!(manifest.latency_cycles, manifest.levels, "one register after every level");
    assert_eq!(r.latency_cycles, manifest.latency_cycles);
}

#[test]
fn a_corrupted_constant_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec_text(
        "tiny",
        &[(8, "quantized_bits(4,0,alpha=1)", "quantized_bits(4,0,alpha=1)", "quantized_relu(4,0)"), (5, Q6, Q6, "linear")],
    );
    let (model, raw) = train(&spec, dir.path());
    let out = dir.path().join("rtl");
    let design = rtl::generate(&model, &dir.path().join("model.json"), &RtlOptions::default()).unwrap();
    rtl::write_design(&design, &out).unwrap();
    // Flip one shift amount of a CSD term in the first layer.
    let path = out.join("layer1_dense.v");
    let text = std::fs::read_to_string(&path).unwrap();
    let at = text.find(" <<< ").expect("a shifted term");
    let digit = text[at + 5..].chars().next().unwrap();
    let new_digit = if digit == '1' { '2' } else { '1' };
    let corrupted = format!("{}{new_digit}{}", &text[..at + 5], &text[at + 6..]);
    std::fs::write(&path, corrupted).unwrap();
    let net = FixedNetwork::from_model(&model).unwrap();
    let r = rtl::simulate(&out, &design.manifest, &net, &raw[..2000 * 16], &SimOptions::default()).unwrap();
    assert!(r.mismatches > 0, "a wrong constant must show up as mismatches");
    assert!(!r.first_mismatches.is_empty());
}
