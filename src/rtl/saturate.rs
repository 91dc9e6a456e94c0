//! A saturating accumulator (AP_SAT, AP_SAT_ZERO, AP_SAT_SYM) whose partial
//! sums may leave its range, built as hls4ml's nnet_dense_latency.h computes
//! it and `FixedLayer::forward_general` models it: `acc = (accum_t)bias`,
//! then input by input `acc = (accum_t)(acc + (accum_t)(x·w))`. Saturation is
//! not associative, so the sum is a chain of add-then-saturate steps, except
//! for the leading products whose partial sums provably stay in range (their
//! casts change nothing): those are one tree balanced by arrival. A zero
//! weight adds nothing to an in-range value and is left out.
//!
//! Input: a dense layer's weights (or one convolution position's patch), its
//! input wires, its biases at the accumulator's binary point. Output: per
//! output the accumulator's signal.
use super::adder_tree::{sum_by_arrival, Term, TreeStats};
use super::cast::cast;
use super::csd::csd_digits;
use super::netlist::{ModuleBuilder, SigId};
use crate::model::FixedLayer;
use crate::quant::{FixedType, Overflow};

/// Wide enough that no exact product or pair sum here wraps.
const NO_WRAP: u32 = 126;

/// Whether a cast into `t` leaves every value of `[lo, hi]` (at `t`'s binary point) unchanged.
fn holds(t: &FixedType, lo: i128, hi: i128) -> bool {
    let sym = t.overflow == Overflow::SatSym && t.signed;
    let min = t.min_raw() as i128 + sym as i128;
    lo >= min && hi <= t.max_raw() as i128
}

/// What is summed: `weights[i * n_out + o]` times input `i` for output `o`,
/// products with `prod_frac` fractional bits, into `accum`; wires named `name…`.
pub struct SatSums<'a> {
    pub weights: &'a [i64],
    pub n_out: usize,
    pub prod_frac: i32,
    pub accum: FixedType,
    pub name: &'a str,
}

impl<'a> SatSums<'a> {
    /// A dense layer's sums.
    pub fn dense(layer: &'a FixedLayer) -> Self {
        let prod_frac = layer.in_type.frac() + layer.weight_type.frac();
        SatSums { weights: &layer.weights, n_out: layer.n_out, prod_frac, accum: layer.accum_type, name: "" }
    }
}

/// The accumulators of every output after `start_level`, and what they cost
/// (`depth`: levels from `start_level` to the last accumulator).
pub fn saturating_sums(m: &mut ModuleBuilder, sat: &SatSums, xs: &[SigId], biases: &[i128], start_level: u32) -> (Vec<SigId>, TreeStats) {
    let t = &sat.accum;
    let acc_frac = t.frac();
    let prod_frac = sat.prod_frac;
    let product_shift = (acc_frac - prod_frac).max(0) as u32;
    let from_frac = prod_frac.max(acc_frac);
    let name = sat.name;
    let mut stats = TreeStats::default();
    let mut sums = Vec::with_capacity(sat.n_out);
    let mut last = start_level;
    for (o, &bias) in biases.iter().enumerate() {
        // Each product exact, then cast into accum_t (rounded and saturated as the type says).
        let mut products = Vec::new();
        for (i, &x) in xs.iter().enumerate() {
            let w = sat.weights[i * sat.n_out + o];
            if w == 0 {
                continue;
            }
            let digits = csd_digits(w).iter().map(|d| Term::shifted(m, x, d.shift + product_shift, d.negative, start_level)).collect();
            let base = format!("{name}acc{o}_p{i}");
            let (p, level) = sum_by_arrival(m, &base, digits, NO_WRAP, start_level, &mut stats);
            let s = m.sig(p).clone();
            let (p, level) = if from_frac == acc_frac && holds(t, s.lo, s.hi) {
                (p, level)
            } else {
                (cast(m, p, from_frac, t, &base, level + 1), level + 1)
            };
            products.push(Term::shifted(m, p, 0, false, level));
        }
        // The prefix whose partial sums cannot leave the range is one tree.
        let (mut lo, mut hi) = (bias, bias);
        let mut split = products.len();
        for (k, p) in products.iter().enumerate() {
            (lo, hi) = (lo + p.lo, hi + p.hi);
            if !holds(t, lo, hi) {
                split = k;
                break;
            }
        }
        let rest = products.split_off(split);
        if bias != 0 {
            products.push(Term::constant(bias, start_level));
        }
        let (mut acc, mut level) = sum_by_arrival(m, &format!("{name}acc{o}"), products, NO_WRAP, start_level, &mut stats);
        // Then add and saturate, one product at a time.
        for (k, p) in rest.into_iter().enumerate() {
            let base = format!("{name}acc{o}_s{k}");
            let a = Term::shifted(m, acc, 0, false, level);
            let (s, l) = sum_by_arrival(m, &base, vec![a, p], NO_WRAP, start_level, &mut stats);
            (acc, level) = (cast(m, s, acc_frac, t, &base, l + 1), l + 1);
        }
        last = last.max(level);
        sums.push(acc);
    }
    stats.depth = last - start_level;
    (sums, stats)
}
