//! A saturating accumulator (AP_SAT, AP_SAT_ZERO, AP_SAT_SYM) whose partial
//! sums may leave its range, built as hls4ml's nnet_dense_latency.h computes
//! it and `FixedLayer::forward_general` models it: `acc = (accum_t)bias`,
//! then input by input `acc = (accum_t)(acc + (accum_t)(x·w))`. Saturation is
//! not associative, so the sum is a chain of add-then-saturate steps, except
//! for the leading products whose partial sums provably stay in range (their
//! casts change nothing): those are one tree balanced by arrival. A zero
//! weight adds nothing to an in-range value and is left out.
//!
//! Input: a dense layer, its input wires, its biases at the accumulator's
//! binary point. Output: per output the accumulator's signal.
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

/// The accumulators of every output after `start_level`, and what they cost
/// (`depth`: levels from `start_level` to the last accumulator).
pub fn saturating_sums(m: &mut ModuleBuilder, layer: &FixedLayer, xs: &[SigId], biases: &[i128], start_level: u32) -> (Vec<SigId>, TreeStats) {
    let t = &layer.accum_type;
    let acc_frac = t.frac();
    let prod_frac = layer.in_type.frac() + layer.weight_type.frac();
    let product_shift = (acc_frac - prod_frac).max(0) as u32;
    let from_frac = prod_frac.max(acc_frac);
    let mut stats = TreeStats::default();
    let mut sums = Vec::with_capacity(layer.n_out);
    let mut last = start_level;
    for (o, &bias) in biases.iter().enumerate() {
        // Each product exact, then cast into accum_t (rounded and saturated as the type says).
        let mut products = Vec::new();
        for (i, &x) in xs.iter().enumerate() {
            let w = layer.weights[i * layer.n_out + o];
            if w == 0 {
                continue;
            }
            let digits = csd_digits(w).iter().map(|d| Term::shifted(m, x, d.shift + product_shift, d.negative, start_level)).collect();
            let base = format!("acc{o}_p{i}");
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
        let (mut acc, mut level) = sum_by_arrival(m, &format!("acc{o}"), products, NO_WRAP, start_level, &mut stats);
        // Then add and saturate, one product at a time.
        for (k, p) in rest.into_iter().enumerate() {
            let base = format!("acc{o}_s{k}");
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
