//! A dense layer's steps beyond a ReLU between its result cast and its
//! output, in `FixedLayer::forward_general`'s order: hls4ml's ApplyAlpha (the
//! result times a constant scale plus the moved bias, exact, cast into its
//! result type), then the activation function: a cast, or the leaky ReLU
//! (`x > 0 ? x : slope·x`, each cast into the output type; in qforge mode
//! QKeras' clip of negative outputs), or QKeras' relu_po2 (a select over the
//! steps `ActivationFn::po2_steps` finds). Constant products are CSD shift-add
//! trees, as the dense layers' are.
//!
//! Input: a layer's result signal and its `AlphaStage` / `ActivationFn`.
//! Output: signals of the module being built and the level they end at.
use super::adder_tree::{sum_tree, Term, TreeStats};
use super::cast::cast;
use super::csd::csd_digits;
use super::delay::Op;
use super::netlist::{literal, signed_bits, ModuleBuilder, SigId};
use crate::model::fixed::AlphaStage;
use crate::model::ActivationFn;
use crate::quant::FixedType;

/// Wide enough that no product or sum here wraps (values stay within i64 products).
const NO_WRAP: u32 = 126;

/// `v · c · 2^shift + constant`, exact, after `level`; returns the signal and its level.
fn const_mul_add(m: &mut ModuleBuilder, v: SigId, c: i64, shift: u32, constant: i128, base: &str, level: u32) -> (SigId, u32) {
    let mut terms: Vec<Term> = csd_digits(c).iter().map(|d| Term::shifted(m, v, d.shift + shift, d.negative, level)).collect();
    if constant != 0 {
        terms.push(Term::constant(constant, level));
    }
    let mut stats = TreeStats::default();
    sum_tree(m, base, terms, NO_WRAP, &mut stats)
}

/// ApplyAlpha on output `o`: `r` (raw, `frac` fractional bits) → (signal in the stage's result type, its fraction bits, level).
pub fn apply_alpha(m: &mut ModuleBuilder, r: SigId, frac: i32, st: &AlphaStage, o: usize, base: &str, level: u32) -> (SigId, i32, u32) {
    let prod_frac = frac + st.scale_type.frac();
    let bias_frac = st.bias_type.frac();
    let f = prod_frac.max(bias_frac);
    let bias = (st.biases[o] as i128) << (f - bias_frac);
    let (s, l) = const_mul_add(m, r, st.scales[o], (f - prod_frac) as u32, bias, base, level);
    (cast(m, s, f, &st.result_type, base, l), st.result_type.frac(), l)
}

/// The activation function from `r` (raw, `frac` fractional bits) into `out`
/// after `level`; returns the output signal and its level.
pub fn activation_out(
    m: &mut ModuleBuilder,
    r: SigId,
    frac: i32,
    f: &ActivationFn,
    out: &FixedType,
    base: &str,
    level: u32,
) -> (SigId, u32) {
    match *f {
        ActivationFn::Cast => (cast(m, r, frac, out, base, level), level),
        ActivationFn::Leaky { slope_raw, slope_frac, lowest } => {
            let pos = cast(m, r, frac, out, &format!("{base}p"), level);
            let (prod, l) = const_mul_add(m, r, slope_raw, 0, 0, &format!("{base}s"), level);
            let mut neg = cast(m, prod, frac + slope_frac, out, &format!("{base}n"), l);
            if let Some(low) = lowest.map(|v| v as i128) {
                let s = m.sig(neg).clone();
                if s.lo < low {
                    let w = signed_bits(s.lo.min(low), s.hi.max(low)) + 1;
                    m.cost.select_bits += w as u64;
                    neg = m.assign(&format!("{base}c"), (low, s.hi.max(low)), None, l, Op::Compare(w), &[neg], |n| {
                        format!("({} < {}) ? {} : {}", n[0], literal(low, w), literal(low, w), n[0])
                    });
                }
            }
            let (sp, sn, sr) = (m.sig(pos).clone(), m.sig(neg).clone(), m.sig(r).clone());
            let range = (sp.lo.min(sn.lo), sp.hi.max(sn.hi));
            m.cost.select_bits += signed_bits(range.0, range.1) as u64;
            let y = m.assign(&format!("{base}_leaky"), range, None, l + 1, Op::Compare(sr.width), &[r, pos, neg], |n| {
                format!("({} > {}) ? {} : {}", n[0], literal(0, sr.width), n[1], n[2])
            });
            (y, l + 1)
        }
        ActivationFn::Po2 { .. } => {
            let s = m.sig(r).clone();
            let steps = f.po2_steps(s.lo as i64, s.hi as i64, frac, out);
            (po2_select(m, r, &steps, base, level), level + 1)
        }
    }
}

/// QKeras' relu_po2 as a priority select over the input's steps (from the
/// top, `r >= start ? output : ...`), one comparison of the input per step boundary.
fn po2_select(m: &mut ModuleBuilder, r: SigId, steps: &[(i64, i64)], base: &str, level: u32) -> SigId {
    let s = m.sig(r).clone();
    let lo = steps.iter().map(|&(_, y)| y as i128).min().expect("a step");
    let hi = steps.iter().map(|&(_, y)| y as i128).max().expect("a step");
    let w = signed_bits(lo, hi);
    let name = format!("{base}_po2");
    if steps.len() == 1 {
        return m.assign(&name, (lo, hi), None, level + 1, Op::Wire, &[], |_| literal(lo, w));
    }
    m.cost.select_bits += (steps.len() as u64 - 1) * (s.width.max(w) as u64);
    m.assign(&name, (lo, hi), None, level + 1, Op::Compare(s.width), &[r], |n| {
        let mut e = literal(steps[0].1 as i128, w);
        for &(start, y) in &steps[1..] {
            e = format!("({} >= {}) ? {} : ({e})", n[0], literal(start as i128, s.width), literal(y as i128, w));
        }
        e
    })
}
