//! Dense layers of `FixedNetwork` against hls4ml's `dense_latency` compiled
//! with the real Xilinx ap_fixed.h: `acc = (accum_t)bias; acc += (accum_t)(x*w)`
//! input by input; `res = (res_T)acc`. Covers types up to 64 bits (i128 sums)
//! and saturating accumulators, which saturate on every add, so the order of
//! the adds matters (a hand-worked case shows it).
mod hls_support;

use hls_support::from_bits;
use qforge::model::fixed::{FixedNetwork, RawLayer};
use qforge::model::Activation;
use qforge::quant::{FixedType, Overflow, Rounding};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt::Write as _;
use std::process::Command;

struct Case {
    input: FixedType,
    weight: FixedType,
    bias: FixedType,
    accum: FixedType,
    out: FixedType,
    n_in: usize,
    n_out: usize,
    weights: Vec<i64>,
    biases: Vec<i64>,
    /// Samples, `n_in` raw inputs each.
    inputs: Vec<i64>,
}

/// A type of `width` bits with `frac` fractional bits, integer bits kept in 0..=width (ap_fixed.h asserts otherwise).
fn typ(width: u32, frac: i32, signed: bool) -> FixedType {
    let integer = (width as i32 - frac).clamp(0, width as i32);
    FixedType::new(width, integer, signed)
}

fn raw_in(rng: &mut ChaCha8Rng, t: &FixedType) -> i64 {
    rng.gen_range(t.min_raw()..=t.max_raw())
}

/// A random layer: `wide` gives 20-40 bit inputs and 40-64 bit accumulators, else an
/// accumulator a few bits narrower than the sums, so a saturating one overflows midway.
fn random_case(rng: &mut ChaCha8Rng, wide: bool) -> Case {
    let modes = |rng: &mut ChaCha8Rng, t: FixedType| {
        let r = [Rounding::Trn, Rounding::Rnd, Rounding::RndConv, Rounding::TrnZero][rng.gen_range(0..4)];
        let o = [Overflow::Wrap, Overflow::Sat, Overflow::SatSym, Overflow::SatZero][rng.gen_range(0..4)];
        t.with_modes(r, o)
    };
    let (in_w, w_w) =
        if wide { (rng.gen_range(20..=40u32), rng.gen_range(8..=24u32)) } else { (rng.gen_range(4..=10), rng.gen_range(3..=8)) };
    let input = typ(in_w, rng.gen_range(0..=in_w as i32), rng.gen_bool(0.7));
    let weight = typ(w_w, rng.gen_range(0..=w_w as i32), true);
    let bias = typ(rng.gen_range(4..=16), rng.gen_range(0..=10), true);
    let prod_frac = input.frac() + weight.frac();
    // Sometimes fewer fractional bits than the products: each product is rounded into accum_t.
    let acc_frac = (prod_frac - rng.gen_range(-2..=4)).max(0);
    let sum_bits = (in_w + w_w + 3) as i32;
    let acc_w = if wide { rng.gen_range(40..=64u32) } else { (sum_bits - rng.gen_range(1..=4)).max(2) as u32 };
    let accum = modes(rng, typ(acc_w, acc_frac.min(acc_w as i32), true));
    let out_w = rng.gen_range(4..=acc_w.min(64));
    let out_frac = (accum.frac() - rng.gen_range(0..=8)).max(0);
    let out = modes(rng, typ(out_w, out_frac, true));
    let (n_in, n_out) = (rng.gen_range(1..=12), rng.gen_range(1..=4));
    let weights = (0..n_in * n_out).map(|_| raw_in(rng, &weight)).collect();
    let biases = (0..n_out).map(|_| raw_in(rng, &bias)).collect();
    // Inputs often at the extremes, so sums run into the accumulator's range.
    let inputs = (0..30 * n_in)
        .map(|_| match rng.gen_range(0..4) {
            0 => input.max_raw(),
            1 => input.min_raw(),
            _ => raw_in(rng, &input),
        })
        .collect();
    Case { input, weight, bias, accum, out, n_in, n_out, weights, biases, inputs }
}

/// Worked by hand: ap_fixed<4,4,AP_TRN,AP_SAT> holds -8..7. Products 7, 7, -7 after a zero bias:
/// saturating on every add gives 7, 7 (14 saturates), 0; saturating once at the end would give 7.
fn hand_case() -> Case {
    let t = FixedType::signed(4, 4);
    Case {
        input: t,
        weight: FixedType::signed(2, 2),
        bias: t,
        accum: t.with_modes(Rounding::Trn, Overflow::Sat),
        out: FixedType::signed(8, 8),
        n_in: 3,
        n_out: 1,
        weights: vec![1, 1, -1],
        biases: vec![0],
        inputs: vec![7, 7, 7],
    }
}

fn network(c: &Case) -> FixedNetwork {
    let layer = RawLayer {
        name: "d".into(),
        n_in: c.n_in,
        n_out: c.n_out,
        weight_type: c.weight,
        bias_type: c.bias,
        accum_type: Some(c.accum),
        out_type: Some(c.out),
        activation: Activation::Linear,
        weights: c.weights.clone(),
        biases: c.biases.clone(),
    };
    FixedNetwork::from_raw_layers(c.input, vec![layer]).unwrap()
}

fn list(v: &[i64]) -> String {
    v.iter().map(|x| format!("(long long){x}LL")).collect::<Vec<_>>().join(",")
}

/// hls4ml 1.3's nnet_dense_latency.h loops, written out for one case.
fn cpp_case(cpp: &mut String, k: usize, c: &Case) {
    let _ = writeln!(
        cpp,
        "  {{ typedef {} X; typedef {} W; typedef {} B; typedef {} A; typedef {} R;",
        c.input.cpp(),
        c.weight.cpp(),
        c.bias.cpp(),
        c.accum.cpp(),
        c.out.cpp()
    );
    let _ = writeln!(
        cpp,
        "    const long long w[] = {{{}}}; const long long b[] = {{{}}}; const long long x[] = {{{}}};",
        list(&c.weights),
        list(&c.biases),
        list(&c.inputs)
    );
    let (n_in, n_out) = (c.n_in, c.n_out);
    let _ = writeln!(
        cpp,
        "    for (unsigned s = 0; s < {}; s++) {{ A acc[{n_out}]; for (unsigned o = 0; o < {n_out}; o++) acc[o] = (A)from_raw<B>(b[o]);\n      \
         for (unsigned i = 0; i < {n_in}; i++) for (unsigned o = 0; o < {n_out}; o++) acc[o] += (A)(from_raw<X>(x[s * {n_in} + i]) * from_raw<W>(w[i * {n_out} + o]));\n      \
         for (unsigned o = 0; o < {n_out}; o++) {{ R r = (R)acc[o]; printf(\"{k} %u %u %llu\\n\", s, o, bits(r)); }} }} }}",
        c.inputs.len() / n_in
    );
}

#[test]
fn dense_layers_up_to_64_bits_and_saturating_accumulators_match_ap_fixed() {
    let mut rng = ChaCha8Rng::seed_from_u64(1403);
    let mut cases = vec![hand_case()];
    cases.extend((0..40).map(|k| random_case(&mut rng, k % 2 == 0)));
    // 64-bit accumulators (wrapping and saturating) with 64-bit results: sums beyond i64.
    for overflow in [Overflow::Wrap, Overflow::Sat] {
        let mut c = random_case(&mut rng, true);
        c.accum = typ(64, c.input.frac() + c.weight.frac(), true).with_modes(Rounding::Trn, overflow);
        c.out = typ(64, c.accum.frac() - 3, true).with_modes(Rounding::Rnd, Overflow::Sat);
        cases.push(c);
    }

    // The hand-worked case, in Rust.
    assert_eq!(network(&cases[0]).predict_raw(&cases[0].inputs).outputs, vec![0]);

    let mut cpp = String::from("#include \"ap_fixed.h\"\n#include <cstdio>\n");
    cpp.push_str("template<class T> unsigned long long bits(const T& v) { return v.range(T::width - 1, 0).to_uint64(); }\n");
    cpp.push_str("template<class T> T from_raw(long long r) { T v; v.range(T::width - 1, 0) = (unsigned long long)r; return v; }\n");
    cpp.push_str("int main() {\n");
    for (k, c) in cases.iter().enumerate() {
        cpp_case(&mut cpp, k, c);
    }
    cpp.push_str("  return 0;\n}\n");
    let dir = tempfile::tempdir().unwrap();
    let (src, exe) = (dir.path().join("dense.cpp"), dir.path().join("dense"));
    std::fs::write(&src, &cpp).unwrap();
    let out = Command::new("g++")
        .args(["-O1", "-std=c++14", "-I"])
        .arg(hls_support::ap_types())
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("g++ runs");
    assert!(out.status.success(), "g++ failed: {}", String::from_utf8_lossy(&out.stderr));
    let run = Command::new(&exe).output().unwrap();
    assert!(run.status.success(), "{:?}", run.status);
    let text = String::from_utf8(run.stdout).unwrap();

    let got: Vec<Vec<i64>> = cases.iter().map(|c| network(c).predict_raw(&c.inputs).outputs).collect();
    let (mut checked, mut saturated_midway) = (0, 0);
    for line in text.lines() {
        let f: Vec<u64> = line.split(' ').map(|v| v.parse().unwrap()).collect();
        let (k, s, o) = (f[0] as usize, f[1] as usize, f[2] as usize);
        let c = &cases[k];
        let want = from_bits(f[3], &c.out);
        let ours = got[k][s * c.n_out + o];
        assert_eq!(ours, want, "case {k} ({} x {} + {} -> {} -> {}), sample {s}, output {o}", c.input, c.weight, c.bias, c.accum, c.out);
        // Count outputs where saturating once at the end would have given another value.
        if c.accum.overflow != Overflow::Wrap && c.accum.frac() >= c.input.frac() + c.weight.frac() {
            let shift = c.accum.frac() - c.input.frac() - c.weight.frac();
            let exact: i128 = c.accum.cast_raw(c.biases[o], c.bias.frac()) as i128
                + (0..c.n_in).map(|i| ((c.inputs[s * c.n_in + i] as i128) * (c.weights[i * c.n_out + o] as i128)) << shift).sum::<i128>();
            let once = c.out.cast_raw(c.accum.cast_raw_wide(exact, c.accum.frac()), c.accum.frac());
            saturated_midway += (once != want) as usize;
        }
        checked += 1;
    }
    let expected: usize = cases.iter().map(|c| c.inputs.len() / c.n_in * c.n_out).sum();
    assert_eq!(checked, expected);
    println!("{checked} outputs of {} layers equal to ap_fixed.h; {saturated_midway} differ from saturating once at the end", cases.len());
    assert!(saturated_midway > 10, "the cases must exercise the order of saturating adds: {saturated_midway}");
    let widest = cases.iter().map(|c| c.accum.width).max().unwrap();
    assert_eq!(widest, 64);
}
