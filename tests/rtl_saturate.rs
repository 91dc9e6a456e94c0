//! `qforge rtl` of dense layers whose saturating accumulators (AP_SAT,
//! AP_SAT_SYM, AP_SAT_ZERO) overflow midway: the Verilog saturates after every
//! add in hls4ml's order (bias first, each product cast into accum_t), so in
//! Verilator it is the Rust model bit for bit on inputs near the input type's
//! range, where the partial sums saturate (and saturating once at the end
//! would differ); its structural cost counts the adders and saturation logic
//! its Verilog holds.
mod support;

use qforge::model::features::FeatureLayer;
use qforge::model::fixed::{FixedNetwork, RawLayer};
use qforge::model::fixed_features::FixedFeature;
use qforge::model::Activation;
use qforge::model::TrainedModel;
use qforge::quant::{FixedType, Overflow, Rounding};
use qforge::rtl::{self, build_design, RtlOptions, SimOptions};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Two dense layers with narrow saturating accumulators of `overflow` and
/// `rounding`, `drop` fractional bits fewer than the products (negative: more).
fn network(seed: u64, overflow: Overflow, rounding: Rounding, drop: i32) -> FixedNetwork {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let input = FixedType::signed(8, 3);
    let weight = FixedType::signed(6, 1);
    let mut layers = Vec::new();
    let mut in_type = input;
    for (k, (n_in, n_out)) in [(12, 6), (6, 4)].into_iter().enumerate() {
        let prod_frac = in_type.frac() + weight.frac();
        // Products reach ±2^(integer bits of input + weight); the accumulator holds ±8.
        let acc_frac = prod_frac - drop;
        let accum = FixedType::signed((acc_frac + 4) as u32, 4).with_modes(rounding, overflow);
        let out = FixedType::signed(8, 4).with_modes(Rounding::Rnd, Overflow::Sat);
        let weights = (0..n_in * n_out).map(|_| if rng.gen_bool(0.15) { 0 } else { rng.gen_range(-32..=31) }).collect();
        let biases = (0..n_out).map(|_| rng.gen_range(-60..=60)).collect();
        layers.push(RawLayer {
            name: format!("fc{}", k + 1),
            n_in,
            n_out,
            weight_type: weight,
            bias_type: FixedType::signed(8, 3),
            accum_type: Some(accum),
            out_type: Some(out),
            activation: if k == 0 { Activation::Relu } else { Activation::Linear },
            weights,
            biases,
        });
        in_type = out;
    }
    FixedNetwork::from_raw_layers(input, layers).unwrap()
}

/// Inputs near the ends of the input type (where the partial sums saturate) and over all of it.
fn inputs(net: &FixedNetwork, samples: usize, seed: u64) -> Vec<i64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (lo, hi) = (net.input_type.min_raw(), net.input_type.max_raw());
    (0..samples * net.n_inputs())
        .map(|k| match (k / net.n_inputs()) % 3 {
            0 => rng.gen_range(lo..=lo + 16),
            1 => rng.gen_range(hi - 16..=hi),
            _ => rng.gen_range(lo..=hi),
        })
        .collect()
}

/// Samples whose first-layer accumulators differ from an exact sum saturated once at the end.
fn differs_from_one_saturation(net: &FixedNetwork, raw: &[i64]) -> usize {
    let l = &net.layers[0];
    let prod_frac = l.in_type.frac() + l.weight_type.frac();
    let t = l.accum_type;
    raw.chunks(l.n_in)
        .filter(|x| {
            let mut acc = vec![0; l.n_out];
            l.forward(x, &mut acc, &mut vec![0; l.n_out]);
            (0..l.n_out).any(|o| {
                // Each product rounded into accum_t's fraction bits, nothing saturated before the end.
                let fine = FixedType::signed(64, 64 - t.frac()).with_modes(t.rounding, Overflow::Wrap);
                let products =
                    x.iter().enumerate().map(|(i, &xi)| fine.cast_raw_wide(xi as i128 * l.weights[i * l.n_out + o] as i128, prod_frac));
                let sum = t.cast_raw(l.biases[o], l.bias_type.frac()) as i128 + products.map(|p| p as i128).sum::<i128>();
                t.cast_raw_wide(sum, t.frac()) != acc[o]
            })
        })
        .count()
}

/// (adders, cast bits) written in a dense module's Verilog: each saturating
/// select counts its target type's width (accumulator wires `lN_acc*` or, in a
/// convolution, `lN_pP_acc*`; outputs `lN_y*`), each rounding increment one bit.
fn written(text: &str, accum: &FixedType, out: &FixedType) -> (u64, u64) {
    let (mut adders, mut cast_bits) = (0, 0);
    for line in text.lines().map(str::trim) {
        let Some((decl, rhs)) = line.strip_prefix("wire signed ").and_then(|r| r.split_once(" = ")) else { continue };
        let name = decl.rsplit(' ').next().unwrap();
        if rhs.contains(" + ") || rhs.contains(" - ") || (rhs.starts_with('-') && !rhs[1..].starts_with(|c: char| c.is_ascii_digit())) {
            adders += 1;
        }
        if name.ends_with("_rnd") {
            cast_bits += 1;
        }
        if name.ends_with("_q") && rhs.starts_with('(') && rhs.contains(") ? ") {
            let local = name.split_once('_').unwrap().1;
            cast_bits += if local.contains("acc") {
                accum.width
            } else if local.starts_with('y') {
                out.width
            } else {
                panic!("{name}")
            } as u64;
        }
    }
    (adders, cast_bits)
}

fn check(seed: u64, overflow: Overflow, rounding: Rounding, drop: i32) {
    let net = network(seed, overflow, rounding, drop);
    let raw = inputs(&net, 2400, seed + 100);
    let samples = raw.len() / net.n_inputs();
    let differ = differs_from_one_saturation(&net, &raw);
    println!("{overflow:?} {rounding:?} drop {drop}: {differ}/{samples} samples saturate differently once at the end");
    assert!(differ * 10 > samples, "the inputs must make the order of the saturations matter: {differ}");
    let dir = tempfile::tempdir().unwrap();
    for (every, cmvm, ns) in [(0, false, None), (2, false, None), (0, true, None), (0, false, Some(3.0))] {
        let opts = RtlOptions { pipeline_every: every, cmvm, pipeline_ns: ns, ..Default::default() };
        let design = build_design(&net, &opts).unwrap();
        for (k, layer) in net.layers.iter().enumerate() {
            let text = &design.files.iter().find(|(f, _)| *f == format!("layer{}_dense.v", k + 1)).unwrap().1;
            let cost = &design.cost.layers[k];
            assert_eq!((cost.adders, cost.cast_bits), written(text, &layer.accum_type, &layer.out_type), "{} every {every}", cost.module);
        }
        let out = dir.path().join(format!("rtl_{every}_{cmvm}_{}", ns.is_some()));
        rtl::write_design(&design, &out).unwrap();
        let r = rtl::simulate(&out, &design.manifest, &net, &raw, &SimOptions::default()).unwrap();
        println!(
            "  every {every} cmvm {cmvm} ns {ns:?}: {} samples, {} mismatches, latency {}, layer-1 adders {} cast bits {}",
            r.samples, r.mismatches, r.latency_cycles, design.cost.layers[0].adders, design.cost.layers[0].cast_bits
        );
        assert_eq!((r.samples, r.mismatches), (samples, 0), "{:?}", r.first_mismatches);
        assert_eq!(r.latency_cycles, design.manifest.latency_cycles);
    }
}

/// AP_SAT, products rounded (AP_RND) into an accumulator 3 fractional bits short.
#[test]
fn ap_sat_with_rounded_products_is_the_rust_model() {
    check(1, Overflow::Sat, Rounding::Rnd, 3);
}

/// AP_SAT_SYM, products exact in accum_t.
#[test]
fn ap_sat_sym_is_the_rust_model() {
    check(2, Overflow::SatSym, Rounding::Trn, 0);
}

/// AP_SAT_ZERO (an overflow gives 0), products truncated, and an accumulator
/// finer than the products (shifted up).
#[test]
fn ap_sat_zero_is_the_rust_model() {
    check(3, Overflow::SatZero, Rounding::RndConv, -1);
}

/// A convolution (fixture qcnn1d imported in qforge mode, its first Conv1D's
/// accumulator stated narrower, AP_SAT, until it changes the outputs): the parallel RTL's
/// per-position chains are the Rust model on inputs near the input range,
/// combinational and every 3 levels; its counted adders and cast bits are the Verilog's.
#[test]
fn a_saturating_conv_accumulator_is_the_rust_model() {
    let dir = tempfile::tempdir().unwrap();
    let f = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hls4ml_cnn/qcnn1d");
    let arg = |n: &str| f.join(n).display().to_string();
    let (code, _, err) = support::run_in(dir.path(), &["import", &arg("keras.json"), "--weights", &arg("weights.h5"), "--out", "imp"]);
    assert_eq!(code, 0, "{err}");
    let mut model = TrainedModel::load(&dir.path().join("imp/model.json")).unwrap();
    let wide = FixedNetwork::from_model(&model).unwrap();
    let FixedFeature::Conv(conv) = &wide.features.as_ref().unwrap().layers[0] else { panic!("qcnn1d starts with a convolution") };
    let acc = conv.types.accum;
    let k = model.spec.features.iter().position(|l| matches!(l, FeatureLayer::Conv(_))).unwrap();
    let raw = inputs(&wide, 2000, 7);
    let samples = raw.len() / wide.n_inputs();
    // The widest saturating accumulator that changes the conv's outputs on a tenth of the samples.
    let mut found = None;
    for cut in 3..acc.integer {
        let narrow = FixedType::signed(acc.width - cut as u32, acc.integer - cut).with_modes(Rounding::Trn, Overflow::Sat);
        let FeatureLayer::Conv(c) = &mut model.spec.features[k] else { unreachable!() };
        c.types.accum = Some(narrow);
        let net = FixedNetwork::from_model(&model).unwrap();
        let FixedFeature::Conv(sat) = &net.features.as_ref().unwrap().layers[0] else { unreachable!() };
        assert_eq!(sat.types.accum, narrow);
        let clipped = raw.chunks(net.n_inputs()).filter(|x| sat.forward(x) != conv.forward(x)).count();
        println!(
            "qcnn1d conv accumulator {acc} -> {narrow} (output {}): {clipped}/{samples} samples give other conv outputs",
            sat.types.out
        );
        if clipped * 10 > samples {
            found = Some((net.clone(), narrow, sat.types.out));
            break;
        }
    }
    let (net, narrow, out_type) = found.expect("a saturating accumulator that changes the outputs");
    let path = dir.path().join("sat/model.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    model.save(&path).unwrap();
    for every in [0, 3] {
        let opts = RtlOptions { pipeline_every: every, ..Default::default() };
        let design = rtl::generate(&model, &path, &opts).unwrap();
        let cost = design.cost.layers.iter().find(|l| l.module.ends_with("_conv")).unwrap();
        let text = &design.files.iter().find(|(f, _)| *f == format!("{}.v", cost.module)).unwrap().1;
        assert!(text.contains("acc0_s0_q"), "the chain is built");
        assert_eq!((cost.adders, cost.cast_bits), written(text, &narrow, &out_type), "{}", cost.module);
        let out = dir.path().join(format!("rtl{every}"));
        rtl::write_design(&design, &out).unwrap();
        let r = rtl::simulate(&out, &design.manifest, &net, &raw, &SimOptions::default()).unwrap();
        println!(
            "  every {every}: {} samples, {} mismatches, latency {}, conv adders {} cast bits {}",
            r.samples, r.mismatches, r.latency_cycles, cost.adders, cost.cast_bits
        );
        assert_eq!((r.samples, r.mismatches), (samples, 0), "{:?}", r.first_mismatches);
    }
}
