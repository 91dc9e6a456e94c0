//! Products rounded one by one into an accumulator with fewer fractional bits
//! than they have, as hls4ml's dense layer does (`accum_t` of
//! `ap_fixed<16,6>`: each `x·w` is cast into it, then added there). With
//! AP_WRAP the sum of the rounded products wraps at the accumulator width in
//! any order, so a tree reproduces it; AP_SAT would not (the caller refuses it).
//!
//! Truncation (AP_TRN) splits: the CSD digits of a weight at or above the
//! dropped bits give exact multiples of the accumulator's LSB and join the
//! layer's matrix (`high`); only the digits below are summed into a product of
//! their own and truncated. Other rounding modes round the whole product.
//!
//! Input: the input wires and the raw weights. Output: the remaining matrix
//! and, per output, the rounded product terms to add to its sum.
use super::adder_tree::{sum_tree, Term, TreeStats};
use super::cast::round_off;
use super::csd::csd_digits;
use super::netlist::{ModuleBuilder, SigId};
use crate::quant::Rounding;
use std::collections::HashMap;

/// The part of the weights exact at the accumulator's point, and the rest as terms.
pub struct RoundedProducts {
    /// Raw weights `[n_in][n_out]` at the accumulator's fractional bits.
    pub high: Vec<i64>,
    /// Per output: rounded products to add (already at the accumulator's point).
    pub extra: Vec<Vec<Term>>,
    /// Adders of the product trees.
    pub stats: TreeStats,
}

/// Products wider than this never occur (weights and inputs fit i64).
const PRODUCT_CAP: u32 = 126;

/// Split `weights` (`[xs.len()][n_out]`) for products that lose `drop` bits
/// with `rounding`; `name` prefixes the product wires (a conv's output position).
#[allow(clippy::too_many_arguments)]
pub fn round_products(
    m: &mut ModuleBuilder,
    name: &str,
    xs: &[SigId],
    weights: &[i64],
    n_out: usize,
    drop: u32,
    rounding: Rounding,
    start_level: u32,
) -> RoundedProducts {
    let mut high = vec![0i64; weights.len()];
    let mut extra = vec![Vec::new(); n_out];
    let mut stats = TreeStats::default();
    // One rounded product per (input, low part): outputs with the same one share it.
    let mut built: HashMap<(usize, i64), (SigId, u32)> = HashMap::new();
    for (i, &x) in xs.iter().enumerate() {
        for o in 0..n_out {
            let w = weights[i * n_out + o];
            if w == 0 {
                continue;
            }
            let digits = csd_digits(w);
            let split = rounding == Rounding::Trn;
            let (hi_digits, lo_digits): (Vec<_>, Vec<_>) = digits.into_iter().partition(|d| split && d.shift >= drop);
            high[i * n_out + o] = hi_digits.iter().map(|d| (if d.negative { -1i64 } else { 1 }) << (d.shift - drop)).sum();
            if lo_digits.is_empty() {
                continue;
            }
            let low: i64 = lo_digits.iter().map(|d| (if d.negative { -1i64 } else { 1 }) << d.shift).sum();
            let (sig, level) = *built.entry((i, low)).or_insert_with(|| {
                let terms = lo_digits.iter().map(|d| Term::shifted(m, x, d.shift, d.negative, start_level)).collect();
                let base = format!("{name}pr{i}_{}{}", if low < 0 { "m" } else { "" }, low.unsigned_abs());
                let (product, level) = sum_tree(m, &base, terms, PRODUCT_CAP, &mut stats);
                // Truncation is wiring; a rounding adder takes a level of its own.
                let level = if rounding == Rounding::Trn { level } else { level + 1 };
                (round_off(m, product, drop, rounding, &base, level), level)
            });
            extra[o].push(Term::shifted(m, sig, 0, false, level));
        }
    }
    RoundedProducts { high, extra, stats }
}
