//! The shared-sub-expression generator (`qforge rtl --cmvm`) against the
//! fixed-point model, bit for bit, in Verilator: random networks (random
//! weights, sizes, widths, activations, every overflow and rounding mode of
//! every layer's cast) combinational and pipelined; a ReLU into an unsigned
//! type in every rounding mode with both generators; wrapping linear layers
//! whose sums keep no bits above the output's MSB; a trained heterogeneous jet
//! model pipelined every 3 levels over its 12 000 test samples, with the
//! measured latency equal to the register stages built. Its structural cost
//! counts the adders its Verilog holds, and on the same model it needs fewer
//! adders than the per-output trees.
mod rtl_support;
use qforge::model::{Activation, FixedNetwork, RawLayer};
use qforge::quant::{FixedType, Overflow};
use qforge::rtl::{self, RtlOptions, SimOptions, Simulator};
use rand::{Rng, SeedableRng};
use rtl_support::*;
use std::path::Path;

use rtl_support::random_net::{random_inputs, random_network, ROUNDINGS};

fn build_and_simulate(net: &FixedNetwork, dir: &Path, every: u32, raw: &[i64]) -> (rtl::RtlManifest, rtl::SimResult) {
    let opts = RtlOptions { pipeline_every: every, cmvm: true, ..Default::default() };
    let design = rtl::build_design(net, &opts).unwrap();
    assert!(design.manifest.cmvm);
    rtl::write_design(&design, dir).unwrap();
    let sim = SimOptions { simulator: Simulator::Verilator, ..Default::default() };
    let r = rtl::simulate(dir, &design.manifest, net, raw, &sim).unwrap();
    (design.manifest, r)
}

#[test]
fn random_networks_are_bit_exact_combinational_and_pipelined() {
    let dir = tempfile::tempdir().unwrap();
    for (seed, every) in [(1u64, 0u32), (2, 1), (3, 2), (4, 3)] {
        let net = random_network(seed);
        let raw = random_inputs(&net, 10_000, seed + 100);
        let (manifest, r) = build_and_simulate(&net, &dir.path().join(format!("net{seed}")), every, &raw);
        assert_eq!(r.samples, 10_000);
        assert_eq!(r.mismatches, 0, "seed {seed}, every {every}: {:?}", r.first_mismatches);
        assert_eq!(r.latency_cycles, manifest.latency_cycles, "seed {seed}: measured latency = register stages built");
        assert_eq!(manifest.latency_cycles > 0, every > 0, "seed {seed}: registers only when pipelined");
        assert_eq!(manifest.latency_cycles, manifest.levels.checked_div(every).unwrap_or(0), "seed {seed}");
    }
}

#[test]
fn trained_heterogeneous_jet_model_pipelined_every_3_is_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    let (model, raw) = train(&hetero(&[64, 32, 32]), dir.path());
    assert!(raw.len() / 16 >= 10_000);
    let net = FixedNetwork::from_model(&model).unwrap();
    let (manifest, r) = build_and_simulate(&net, &dir.path().join("rtl"), 3, &raw);
    assert!(r.samples >= 10_000);
    assert_eq!(r.mismatches, 0, "{:?}", r.first_mismatches);
    assert!(manifest.latency_cycles > 3);
    assert_eq!(r.latency_cycles, manifest.latency_cycles);
    assert_eq!(manifest.latency_cycles, manifest.levels / 3);

    // Fewer adders than one tree per output on the same model, and the cost
    // counts what the Verilog holds.
    let plain = rtl::design_cost(&net, &RtlOptions::default()).unwrap();
    let shared = rtl::build_design(&net, &RtlOptions { cmvm: true, ..Default::default() }).unwrap();
    assert!(shared.cost.adders < plain.adders, "{} shared vs {} plain", shared.cost.adders, plain.adders);
    assert!(shared.cost.carry_bits < plain.carry_bits);
    for (layer, (file, text)) in shared.cost.layers.iter().zip(&shared.files).take(net.layers.len()) {
        assert_eq!(file, &format!("{}.v", layer.module));
        assert_eq!(layer.adders, written_adders(text), "{file}");
    }
}

/// A chain of ReLU layers, each into an unsigned type with another rounding
/// mode (overflow modes cycling), per-output trees and shared sub-expressions.
/// Verilator 5.006's bit-op-tree rewrite read the AP_RND increment
/// `$signed({1'b0, relu[k]})` as -1 here (1 326 of 2 000 samples wrong on a
/// random network) until the simulation turned it off.
#[test]
fn relu_into_unsigned_types_rounds_in_every_mode() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(77);
    let n = 4;
    let layers: Vec<RawLayer> = ROUNDINGS
        .iter()
        .enumerate()
        .map(|(k, &rounding)| {
            let overflow = Overflow::ALL[k % Overflow::ALL.len()];
            RawLayer {
                name: format!("relu{k}"),
                n_in: n,
                n_out: n,
                weight_type: FixedType::signed(5, 1),
                bias_type: FixedType::signed(5, 2),
                accum_type: None,
                out_type: Some(FixedType::unsigned(7, 3).with_modes(rounding, overflow)),
                activation: Activation::Relu,
                // Mostly positive weights keep values alive through the chain.
                weights: (0..n * n).map(|_| rng.gen_range(-6..16)).collect(),
                biases: (0..n).map(|_| rng.gen_range(-8..16)).collect(),
            }
        })
        .collect();
    let net = FixedNetwork::from_raw_layers(FixedType::signed(10, 4), layers).unwrap();
    let raw = random_inputs(&net, 4_000, 5);
    for cmvm in [false, true] {
        let design = rtl::build_design(&net, &RtlOptions { cmvm, ..Default::default() }).unwrap();
        let out = dir.path().join(format!("cmvm{cmvm}"));
        rtl::write_design(&design, &out).unwrap();
        let sim = SimOptions { simulator: Simulator::Verilator, ..Default::default() };
        let r = rtl::simulate(&out, &design.manifest, &net, &raw, &sim).unwrap();
        assert_eq!(r.samples, 4_000);
        assert_eq!(r.mismatches, 0, "cmvm {cmvm}: {:?}", r.first_mismatches);
        // The network's values are not all zero: the roundings are exercised.
        let fixed = net.predict_raw(&raw);
        let live = fixed.logits.iter().filter(|&&v| v != 0).count();
        assert!(live > raw.len() / 8, "{live} of {} outputs non-zero", raw.len());
    }
}

/// Adders and subtractors written into a module's Verilog text.
fn written_adders(text: &str) -> u64 {
    text.lines().filter(|l| l.contains(" = ") && (l.contains(" + ") || l.contains(" - ") || l.contains("= -"))).count() as u64
}

/// A chain of linear layers whose outputs wrap (AP_WRAP) into narrower signed
/// types, one rounding mode each: where the rounding reads only the dropped
/// low bits (AP_TRN, AP_RND, AP_RND_CONV, AP_RND_MIN_INF) the sums keep no
/// bits above the output's MSB, so fewer adder bits than the same layer
/// saturating (AP_SAT needs the whole sum); the roundings that read the sign
/// keep the accumulator's width. Both generators, pipelined or not, stay
/// bit-exact.
#[test]
fn wrapping_linear_outputs_drop_the_bits_above_their_msb() {
    use qforge::quant::Rounding;
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(91);
    let n = 5;
    let params: Vec<(Vec<i64>, Vec<i64>)> = ROUNDINGS
        .iter()
        .map(|_| ((0..n * n).map(|_| rng.gen_range(-32..32)).collect(), (0..n).map(|_| rng.gen_range(-32..32)).collect()))
        .collect();
    let chain = |overflow: Overflow| {
        let layers = ROUNDINGS
            .iter()
            .zip(&params)
            .enumerate()
            .map(|(k, (&rounding, (w, b)))| RawLayer {
                name: format!("lin{k}"),
                n_in: n,
                n_out: n,
                weight_type: FixedType::signed(6, 2),
                bias_type: FixedType::signed(6, 2),
                accum_type: None,
                out_type: Some(FixedType::signed(7, 2).with_modes(rounding, overflow)),
                activation: Activation::Linear,
                weights: w.clone(),
                biases: b.clone(),
            })
            .collect();
        FixedNetwork::from_raw_layers(FixedType::signed(10, 4), layers).unwrap()
    };
    let (net, saturating) = (chain(Overflow::Wrap), chain(Overflow::Sat));
    let raw = random_inputs(&net, 10_000, 9);
    for (cmvm, every) in [(false, 0), (true, 0), (true, 2)] {
        let opts = RtlOptions { cmvm, pipeline_every: every, ..Default::default() };
        let design = rtl::build_design(&net, &opts).unwrap();
        let full = rtl::design_cost(&saturating, &opts).unwrap();
        for (k, &r) in ROUNDINGS.iter().enumerate() {
            let (got, whole) = (design.cost.layers[k].adder_bits, full.layers[k].adder_bits);
            if matches!(r, Rounding::Trn | Rounding::Rnd | Rounding::RndConv | Rounding::RndMinInf) {
                assert!(got < whole, "cmvm {cmvm}, layer {k} ({r:?}): {got} adder bits, {whole} when saturating");
            } else {
                assert_eq!(got, whole, "cmvm {cmvm}, layer {k} ({r:?}) reads the sign: the whole sum");
            }
        }
        let out = dir.path().join(format!("cmvm{cmvm}_every{every}"));
        rtl::write_design(&design, &out).unwrap();
        let sim = SimOptions { simulator: Simulator::Verilator, ..Default::default() };
        let r = rtl::simulate(&out, &design.manifest, &net, &raw, &sim).unwrap();
        assert_eq!(r.samples, 10_000);
        assert_eq!(r.mismatches, 0, "cmvm {cmvm}, every {every}: {:?}", r.first_mismatches);
        assert_eq!(r.latency_cycles, design.manifest.latency_cycles);
    }
    // The outputs are not constant: the dropped bits would have mattered.
    let fixed = net.predict_raw(&raw);
    let distinct: std::collections::BTreeSet<_> = fixed.logits.iter().collect();
    assert!(distinct.len() > 64, "{} distinct outputs", distinct.len());
}
