//! Random dense fixed-point networks and inputs for the generator tests
//! (rtl_cmvm, rtl_delay).
use qforge::model::{Activation, FixedNetwork, RawLayer};
use qforge::quant::{FixedType, Overflow, Rounding};
use rand::{Rng, SeedableRng};

pub const ROUNDINGS: [Rounding; 7] =
    [Rounding::Trn, Rounding::TrnZero, Rounding::Rnd, Rounding::RndZero, Rounding::RndMinInf, Rounding::RndInf, Rounding::RndConv];

/// A random network: 2–3 dense layers of random sizes, weight widths 2–8 bits
/// (a quarter of the weights zero), ReLU or linear, output types with random modes.
pub fn random_network(seed: u64) -> FixedNetwork {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let n_inputs = rng.gen_range(4..=10);
    let depth = rng.gen_range(2..=3);
    let mut n_in = n_inputs;
    let mut layers = Vec::new();
    for k in 0..depth {
        let n_out = if k + 1 == depth { rng.gen_range(2..=5) } else { rng.gen_range(4..=12) };
        let bits = rng.gen_range(2..=8u32);
        let weight_type = FixedType::signed(bits, rng.gen_range(-1..=2));
        let bias_type = FixedType::signed(bits, 2);
        let m = 1i64 << (bits - 1);
        let weights: Vec<i64> = (0..n_in * n_out).map(|_| if rng.gen_bool(0.25) { 0 } else { rng.gen_range(-m..m) }).collect();
        let biases: Vec<i64> = (0..n_out).map(|_| rng.gen_range(-m..m)).collect();
        let relu = k + 1 < depth && rng.gen_bool(0.8);
        let rounding = ROUNDINGS[rng.gen_range(0..ROUNDINGS.len())];
        let modes = (rounding, Overflow::ALL[rng.gen_range(0..Overflow::ALL.len())]);
        let out_type = if relu {
            FixedType::unsigned(rng.gen_range(4..=9), rng.gen_range(1..=4)).with_modes(modes.0, modes.1)
        } else {
            FixedType::signed(rng.gen_range(6..=12), rng.gen_range(2..=6)).with_modes(modes.0, modes.1)
        };
        layers.push(RawLayer {
            name: format!("dense{k}"),
            n_in,
            n_out,
            weight_type,
            bias_type,
            accum_type: None,
            out_type: Some(out_type),
            activation: if relu { Activation::Relu } else { Activation::Linear },
            weights,
            biases,
        });
        n_in = n_out;
    }
    FixedNetwork::from_raw_layers(FixedType::signed(10, 4), layers).unwrap()
}

/// Raw inputs over the whole input range, extremes included.
pub fn random_inputs(net: &FixedNetwork, samples: usize, seed: u64) -> Vec<i64> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let t = net.input_type;
    (0..samples * net.n_inputs())
        .map(|k| match k % 97 {
            0 => t.min_raw(),
            1 => t.max_raw(),
            _ => rng.gen_range(t.min_raw()..=t.max_raw()),
        })
        .collect()
}
