//! `ap_fixed` assignment in Verilog: drop fractional bits with the target's
//! rounding mode, then fit the integer range with its overflow mode, bit for
//! bit as `FixedType::cast_raw` does. Every rounding mode (AP_TRN,
//! AP_TRN_ZERO, AP_RND, AP_RND_ZERO, AP_RND_MIN_INF, AP_RND_INF, AP_RND_CONV)
//! and overflow mode (AP_WRAP, AP_SAT, AP_SAT_ZERO, AP_SAT_SYM) is written;
//! logic that value intervals prove unreachable is left out.
//!
//! Input: a signal of the module being built. Output: a signal holding the raw
//! value of the target type (internally signed, one bit wider when unsigned).
use super::delay::Op;
use super::netlist::{literal, signed_bits, ModuleBuilder, SigId};
use crate::quant::{FixedType, Overflow, Rounding};

/// Cast `v` (raw, `from_frac` fractional bits) to `t` at logic `level`.
pub fn cast(m: &mut ModuleBuilder, v: SigId, from_frac: i32, t: &FixedType, base: &str, level: u32) -> SigId {
    let shift = from_frac - t.frac();
    let rounded = if shift > 0 { round(m, v, shift as u32, t.rounding, base, level) } else { scale_up(m, v, (-shift) as u32, base, level) };
    overflow(m, rounded, t, base, level)
}

fn scale_up(m: &mut ModuleBuilder, v: SigId, shift: u32, base: &str, level: u32) -> SigId {
    if shift == 0 {
        return v;
    }
    let s = m.sig(v);
    let (lo, hi) = (s.lo << shift, s.hi << shift);
    m.assign(&format!("{base}_up"), (lo, hi), None, level, Op::Wire, &[v], |n| format!("{} <<< {shift}", n[0]))
}

/// `v` divided by 2^`shift` (> 0) with `mode`'s treatment of the dropped bits.
pub fn round_off(m: &mut ModuleBuilder, v: SigId, shift: u32, mode: Rounding, base: &str, level: u32) -> SigId {
    round(m, v, shift, mode, base, level)
}

/// Divide by 2^shift with `mode`'s treatment of the dropped bits.
fn round(m: &mut ModuleBuilder, v: SigId, shift: u32, mode: Rounding, base: &str, level: u32) -> SigId {
    let s = m.sig(v).clone();
    // The dropped bits must exist as bits of `v`, and one sign bit above them.
    let v = if s.width < shift + 1 { m.resize(v, shift + 1) } else { v };
    let (lo, hi) = (s.lo >> shift, s.hi >> shift);
    let floor = m.assign(&format!("{base}_fl"), (lo, hi), None, level, Op::Wire, &[v], |n| format!("{} >>> {shift}", n[0]));
    if mode == Rounding::Trn {
        return floor;
    }
    let width = m.sig(v).width;
    let half = |n: &str| format!("{n}[{}]", shift - 1);
    let rest = |n: &str| if shift >= 2 { format!("(|{n}[{}:0])", shift - 2) } else { "1'b0".to_string() };
    let neg = |n: &str| format!("{n}[{}]", width - 1);
    let inc = m.assign(&format!("{base}_inc"), (0, 1), None, level, Op::Lut, &[v, floor], |n| {
        let (x, f) = (&n[0], &n[1]);
        let bit = match mode {
            Rounding::Trn => unreachable!(),
            Rounding::TrnZero => format!("{} & ({} | {})", neg(x), half(x), rest(x)),
            Rounding::Rnd => half(x),
            Rounding::RndZero => format!("{} & ({} | {})", half(x), rest(x), neg(x)),
            Rounding::RndMinInf => format!("{} & {}", half(x), rest(x)),
            Rounding::RndInf => format!("{} & ({} | ~{})", half(x), rest(x), neg(x)),
            Rounding::RndConv => format!("{} & ({} | {f}[0])", half(x), rest(x)),
        };
        format!("$signed({{1'b0, {bit}}})")
    });
    let rnd_bits = signed_bits(lo, hi + 1);
    let rnd =
        m.assign(&format!("{base}_rnd"), (lo, hi + 1), None, level, Op::Add(rnd_bits), &[floor, inc], |n| format!("{} + {}", n[0], n[1]));
    let width = m.sig(rnd).width;
    m.cost.cast_bits += 1;
    m.cost.add_adder(width, width);
    rnd
}

/// Fit `v` into `t`'s range with its overflow mode.
fn overflow(m: &mut ModuleBuilder, v: SigId, t: &FixedType, base: &str, level: u32) -> SigId {
    let s = m.sig(v).clone();
    let (min, max) = (t.min_raw() as i128, t.max_raw() as i128);
    let sym = t.overflow == Overflow::SatSym && t.signed;
    let in_range = s.lo >= min && s.hi <= max && !(sym && s.lo == min);
    let name = format!("{base}_q");
    if in_range {
        return m.assign(&name, (s.lo, s.hi), None, level, Op::Wire, &[v], |n| n[0].clone());
    }
    let w = t.width;
    let cmp_width = s.width.max(signed_bits(min, max)) + 1;
    let above = s.hi > max;
    let lit = |x: i128| literal(x, cmp_width);
    match t.overflow {
        Overflow::Wrap => {
            // Keep the low W bits (sign-extended first when `v` is narrower).
            let v = if s.width < w { m.resize(v, w) } else { v };
            m.assign(&name, (min, max), None, level, Op::Wire, &[v], |n| {
                if t.signed {
                    format!("$signed({}[{}:0])", n[0], w - 1)
                } else {
                    format!("$signed({{1'b0, {}[{}:0]}})", n[0], w - 1)
                }
            })
        }
        Overflow::Sat | Overflow::SatSym | Overflow::SatZero => {
            // AP_SAT_SYM (signed) also moves the most negative code up by one.
            let low = if sym { min + 1 } else { min };
            let zero = t.overflow == Overflow::SatZero;
            let (hi_val, lo_val) = if zero { (0, 0) } else { (max, low) };
            let below = s.lo < low;
            let clamp = |x: i128| x.clamp(low, max);
            let (mut out_lo, mut out_hi) = (clamp(s.lo), clamp(s.hi));
            if zero {
                (out_lo, out_hi) = (out_lo.min(0), out_hi.max(0));
            }
            m.cost.cast_bits += w as u64;
            m.assign(&name, (out_lo, out_hi), None, level, Op::Compare(cmp_width), &[v], |n| {
                let x = &n[0];
                let mut e = x.clone();
                if below {
                    e = format!("({x} < {}) ? {} : {e}", lit(low), lit(lo_val));
                }
                if above {
                    e = format!("({x} > {}) ? {} : ({e})", lit(max), lit(hi_val));
                }
                e
            })
        }
    }
}

/// `max(v, 0)` at `level`.
pub fn relu(m: &mut ModuleBuilder, v: SigId, base: &str, level: u32) -> SigId {
    let s = m.sig(v).clone();
    if s.lo >= 0 {
        return v;
    }
    let w = s.width;
    m.cost.relu_bits += w as u64;
    m.assign(&format!("{base}_relu"), (0, s.hi.max(0)), None, level, Op::Lut, &[v], |n| {
        format!("{}[{}] ? {} : {}", n[0], w - 1, literal(0, w), n[0])
    })
}
