//! The 16-bit batch path (`packed.rs`) against an independent i128 reference
//! written from the layer semantics: random networks with types that fit i16
//! and types that do not, every rounding and overflow mode, wrapping
//! accumulators, negative and out-of-range inputs, softmax heads.
use super::*;
use crate::quant::{Overflow, Rounding};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Logits and outputs of one sample, straight from the definitions: exact
/// sums, `cast_raw` for every cast, the softmax tables' `apply`.
fn reference(net: &FixedNetwork, x: &[i64]) -> (Vec<i64>, Vec<i64>) {
    let mut cur = x.to_vec();
    for l in &net.layers {
        let acc_frac = l.accum_type.frac();
        let prod_frac = l.in_type.frac() + l.weight_type.frac();
        assert!(acc_frac >= prod_frac, "the reference needs exact products");
        let relu = l.activation == Activation::Relu;
        cur = (0..l.n_out)
            .map(|o| {
                let products: i128 = (0..l.n_in).map(|i| cur[i] as i128 * l.weights[i * l.n_out + o] as i128).sum();
                let bias = l.accum_type.cast_raw(l.biases[o], l.bias_type.frac()) as i128;
                let acc = l.accum_type.cast_raw(((products << (acc_frac - prod_frac)) + bias) as i64, acc_frac);
                l.out_type.cast_raw(if relu { acc.max(0) } else { acc }, acc_frac)
            })
            .collect();
    }
    let mut out = vec![0; cur.len()];
    match &net.softmax {
        Some(t) => t.apply(&cur, &mut out),
        None => out.copy_from_slice(&cur),
    }
    (cur, out)
}

#[allow(clippy::too_many_arguments)] // one argument per field a test sets
fn layer(
    name: &str,
    in_type: FixedType,
    weight_type: FixedType,
    accum_type: FixedType,
    out_type: FixedType,
    activation: Activation,
    weights: Vec<i64>,
    biases: Vec<i64>,
) -> FixedLayer {
    let (n_in, n_out) = (weights.len() / biases.len(), biases.len());
    let mut l = FixedLayer {
        name: name.into(),
        n_in,
        n_out,
        in_type,
        weight_type,
        bias_type: weight_type,
        accum_type,
        result_type: accum_type,
        out_type,
        activation,
        weights,
        biases,
        activation_fn: ActivationFn::Cast,
        alpha: None,
        kernel: Kernel::placeholder(),
    };
    l.kernel = build_kernel(&l);
    l
}

/// A raw value of `t`, often an extreme or zero.
fn raw_in(rng: &mut ChaCha8Rng, t: &FixedType) -> i64 {
    match rng.gen_range(0..10) {
        0 => t.min_raw(),
        1 => t.max_raw(),
        2 | 3 => 0,
        _ => rng.gen_range(t.min_raw()..=t.max_raw()),
    }
}

fn random_type(rng: &mut ChaCha8Rng) -> FixedType {
    FixedType::new(rng.gen_range(2..17), rng.gen_range(-2..8), rng.gen_bool(0.6))
        .with_modes(Rounding::ALL[rng.gen_range(0..7)], Overflow::ALL[rng.gen_range(0..4)])
}

/// A random network; some fit the 16-bit path, some do not.
fn random_network(rng: &mut ChaCha8Rng) -> FixedNetwork {
    let input_type = match rng.gen_range(0..6) {
        0 => FixedType::signed(16, 6),
        1 => FixedType::unsigned(16, 4), // 65 535 does not fit i16
        2 => FixedType::signed(rng.gen_range(17..22), 8),
        3 => FixedType::unsigned(rng.gen_range(2..16), rng.gen_range(0..4)),
        _ => FixedType::signed(rng.gen_range(2..17), rng.gen_range(-1..7)),
    };
    let n_layers = rng.gen_range(1..4);
    let mut width = rng.gen_range(1..24);
    let mut in_type = input_type;
    let mut layers = Vec::new();
    for k in 0..n_layers {
        let last = k + 1 == n_layers;
        let n_out = if rng.gen_bool(0.2) { rng.gen_range(60..140) } else { rng.gen_range(1..40) };
        let weight_type =
            if rng.gen_bool(0.1) { FixedType::signed(16, 4) } else { FixedType::signed(rng.gen_range(2..10), rng.gen_range(-1..3)) };
        let weights: Vec<i64> = (0..width * n_out).map(|_| raw_in(rng, &weight_type)).collect();
        let biases: Vec<i64> = (0..n_out).map(|_| raw_in(rng, &weight_type)).collect();
        let mut accum_type = infer_accum_type(&in_type, &weight_type, &weight_type, width, true);
        if rng.gen_bool(0.1) {
            // Narrower than hls4ml's: the accumulator wraps, the 16-bit path must not be taken.
            accum_type = FixedType::new(accum_type.width - 4, accum_type.integer - 4, accum_type.signed);
        }
        let activation = match (last, rng.gen_range(0..3)) {
            (true, 0) => Activation::Softmax,
            (_, 1) => Activation::Linear,
            _ => Activation::Relu,
        };
        let out_type = if rng.gen_bool(0.2) || activation == Activation::Softmax { accum_type } else { random_type(rng) };
        layers.push(layer(&format!("d{k}"), in_type, weight_type, accum_type, out_type, activation, weights, biases));
        in_type = out_type;
        width = n_out;
    }
    FixedNetwork::from_layers(input_type, layers)
}

#[test]
fn packed_path_gives_the_reference_bits() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let avx2 = std::is_x86_feature_detected!("avx2");
    let (mut packed_count, mut general_count) = (0, 0);
    let mut rounding_covered = std::collections::BTreeSet::new();
    for trial in 0..400 {
        let net = random_network(&mut rng);
        let n_in = net.n_inputs();
        let n = 40;
        let inputs: Vec<i64> = (0..n * n_in)
            .map(|_| match rng.gen_range(0..100) {
                0 => net.input_type.max_raw() + 1, // outside the input type: the general path
                1 => net.input_type.min_raw() - 3,
                _ => raw_in(&mut rng, &net.input_type),
            })
            .collect();
        let got = net.predict_raw(&inputs);
        let ctx = |s: usize| {
            format!(
                "trial {trial}, sample {s}: {:#?}",
                net.layers
                    .iter()
                    .map(|l| (l.n_in, l.n_out, l.in_type, l.weight_type, l.accum_type, l.out_type, l.activation))
                    .collect::<Vec<_>>()
            )
        };
        for s in 0..n {
            let x = &inputs[s * n_in..(s + 1) * n_in];
            let (logits, outputs) = reference(&net, x);
            let k = net.n_outputs();
            assert_eq!(got.logits[s * k..(s + 1) * k], logits[..], "logits, {}", ctx(s));
            assert_eq!(got.outputs[s * k..(s + 1) * k], outputs[..], "outputs, {}", ctx(s));
            if let Some(p) = &net.packed {
                // Both builds, whichever predict_raw picked.
                for build in [false, avx2] {
                    let (mut l, mut o) = (vec![0; k], vec![0; k]);
                    let mut scratch = p.scratch();
                    if p.run_one_with(x, &mut l, &mut o, &mut scratch, build) {
                        assert_eq!((l, o), (logits.clone(), outputs.clone()), "avx2 build {build}, {}", ctx(s));
                    } else {
                        assert!(x.iter().any(|&v| v < net.input_type.min_raw() || v > net.input_type.max_raw()));
                    }
                }
            }
        }
        match &net.packed {
            Some(_) => {
                packed_count += 1;
                for l in &net.layers {
                    if l.accum_type.frac() > l.out_type.frac() {
                        rounding_covered.insert(format!("{:?}", l.out_type.rounding));
                    }
                }
            }
            None => general_count += 1,
        }
    }
    assert!(packed_count > 60 && general_count > 60, "packed {packed_count}, general {general_count}");
    assert_eq!(rounding_covered.len(), 7, "rounding modes through the packed path: {rounding_covered:?}");
}

#[test]
fn jet_tagger_types_take_the_packed_path() {
    // 16 → 64 → 32 → 32 → 5 with hls4ml's types for the Q6 model.
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let w = FixedType::signed(6, 1);
    let relu = FixedType::unsigned(6, 0).with_modes(Rounding::Trn, Overflow::Sat);
    let input_type = FixedType::signed(16, 6);
    let mut layers = Vec::new();
    let mut in_type = input_type;
    for (k, (n_in, n_out)) in [(16, 64), (64, 32), (32, 32), (32, 5)].into_iter().enumerate() {
        let weights = (0..n_in * n_out).map(|_| raw_in(&mut rng, &w)).collect();
        let biases = (0..n_out).map(|_| raw_in(&mut rng, &w)).collect();
        let accum_type = infer_accum_type(&in_type, &w, &w, n_in, true);
        let (out_type, activation) = if k == 3 { (accum_type, Activation::Softmax) } else { (relu, Activation::Relu) };
        layers.push(layer(&format!("d{k}"), in_type, w, accum_type, out_type, activation, weights, biases));
        in_type = out_type;
    }
    let net = FixedNetwork::from_layers(input_type, layers);
    assert!(net.has_packed_path());
    let inputs: Vec<i64> = (0..2000 * 16).map(|_| raw_in(&mut rng, &input_type)).collect();
    let got = net.predict_raw(&inputs);
    for s in 0..2000 {
        let (logits, outputs) = reference(&net, &inputs[s * 16..(s + 1) * 16]);
        assert_eq!((&got.logits[s * 5..(s + 1) * 5], &got.outputs[s * 5..(s + 1) * 5]), (&logits[..], &outputs[..]), "sample {s}");
    }
}
