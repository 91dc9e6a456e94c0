//! hls4ml 1.3's softmax variants in the output stage, bit for bit with
//! `model::hls4ml_softmax::Hls4mlSoftmax` (hence with hls4ml's C simulation):
//! - `stable`: max, `max - x` cut to `inp_norm_t`, its top bits address the
//!   exp ROM, each exp cast to `accum_t`, hls4ml's `reduce` tree (every partial
//!   sum cast to `accum_t`), the sum cast to `inv_inp_t` and its top bits (sign
//!   included) addressing the 1/x ROM, the products cast to the output type;
//! - `latency`: the same with the exp ROM addressed by the top bits of x;
//! - `legacy`: per output i, exp ROM reads at `(x_j - x_i)·size/16` (C's
//!   truncation toward zero) `+ size/2`, clamped; the sum in `table_t`; the
//!   1/x ROM at `sum·size/64`, clamped, cast to the output type;
//! - `argmax`: one-hot of the first maximum.
//!
//! Every table read is a ROM of its own in the netlist (a `case` function
//! called once per read), so each read is counted in the cost.
//!
//! Input: the logits' signals in the output-stage module. Output: the softmax
//! outputs (raw, output type), the level after them, and the class when the
//! outputs give it directly (argmax).
use super::adder_tree::{sum_tree, Term, TreeStats};
use super::cast::{cast, round_off};
use super::cost::{MultiplierCost, RomCost};
use super::delay::Op;
use super::netlist::{literal, signed_bits, ModuleBuilder, SigId};
use super::softmax::{argmax_tree, rom_function};
use crate::model::hls4ml_softmax::{Hls4mlSoftmax, HLS4ML_LEGACY_TABLE_TYPE};
use crate::model::spec::SoftmaxImplementation;
use crate::quant::{FixedType, Overflow, Rounding};

pub struct Hls4mlOutputs {
    pub outs: Vec<SigId>,
    /// The level of the last output.
    pub level: u32,
    /// The first maximum's index, when it is the outputs' argmax (argmax softmax).
    pub class: Option<SigId>,
}

/// A table written once as a function, read through [`Rom::read`].
struct Rom {
    name: &'static str,
    addr_bits: u32,
    data_bits: u32,
    signed: bool,
    lo: i128,
    hi: i128,
    entries: u64,
}

impl Rom {
    fn new(m: &mut ModuleBuilder, name: &'static str, table: &[i64]) -> Rom {
        let lo = table.iter().copied().min().unwrap_or(0) as i128;
        let hi = table.iter().copied().max().unwrap_or(0) as i128;
        let signed = lo < 0;
        // Non-negative tables store no sign bit.
        let data_bits = if signed { signed_bits(lo, hi) } else { (signed_bits(0, hi) - 1).max(1) };
        let addr_bits = table.len().trailing_zeros();
        m.raw_body(&rom_function(name, addr_bits, data_bits, table));
        Rom { name, addr_bits, data_bits, signed, lo, hi, entries: table.len() as u64 }
    }

    /// One read of the table at `addr` (non-negative, below its size).
    fn read(&self, m: &mut ModuleBuilder, addr: SigId, base: &str, level: u32) -> SigId {
        let addr = if m.sig(addr).width < self.addr_bits { m.resize(addr, self.addr_bits) } else { addr };
        m.cost.roms.push(RomCost { name: self.name.to_string(), entries: self.entries, width: self.data_bits });
        let (name, bits, signed) = (self.name, self.addr_bits, self.signed);
        m.assign(base, (self.lo, self.hi), None, level, Op::Rom, &[addr], |n| {
            if signed {
                format!("$signed({name}({}[{}:0]))", n[0], bits - 1)
            } else {
                format!("$signed({{1'b0, {name}({}[{}:0])}})", n[0], bits - 1)
            }
        })
    }
}

/// The top `n` bits of `v`'s bit pattern in type `t` (sign bit included), as
/// a non-negative index: hls4ml's table index of a value of `t`.
fn top_bits(m: &mut ModuleBuilder, v: SigId, t: &FixedType, n: u32, base: &str, level: u32) -> SigId {
    let w = t.width;
    let v = if m.sig(v).width < w { m.resize(v, w) } else { v };
    m.assign(&format!("{base}_ix"), (0, (1i128 << n) - 1), None, level, Op::Wire, &[v], |x| {
        format!("$signed({{1'b0, {}[{}:{}]}})", x[0], w - 1, w - n)
    })
}

/// `a - b` at `level`.
fn sub(m: &mut ModuleBuilder, a: SigId, b: SigId, base: &str, level: u32) -> SigId {
    let (sa, sb) = (m.sig(a).clone(), m.sig(b).clone());
    let (lo, hi) = (sa.lo - sb.hi, sa.hi - sb.lo);
    let w = signed_bits(lo, hi);
    m.cost.add_adder(w, w);
    m.assign(base, (lo, hi), None, level, Op::Add(w), &[a, b], |n| format!("{} - {}", n[0], n[1]))
}

/// `v · 2^-shift`: C's integer division (toward zero) for `shift > 0`, a left shift otherwise.
fn scale_trunc(m: &mut ModuleBuilder, v: SigId, shift: i32, base: &str, level: u32) -> SigId {
    if shift > 0 {
        return round_off(m, v, shift as u32, Rounding::TrnZero, base, level);
    }
    if shift == 0 {
        return v;
    }
    let s = -shift as u32;
    let (lo, hi) = (m.sig(v).lo << s, m.sig(v).hi << s);
    m.assign(&format!("{base}_up"), (lo, hi), None, level, Op::Wire, &[v], |n| format!("{} <<< {s}", n[0]))
}

/// hls4ml's `reduce<T, N, Op_add<T>>`: halves split at the largest power of
/// two below N, every sum cast to `t`. Returns the sum and its level.
fn reduce_add(m: &mut ModuleBuilder, t: &FixedType, xs: &[(SigId, u32)], base: &str) -> (SigId, u32) {
    if xs.len() == 1 {
        return xs[0];
    }
    let left = if xs.len() == 2 { 1 } else { 1usize << (usize::BITS - 1 - (xs.len() - 1).leading_zeros()) };
    let (a, la) = reduce_add(m, t, &xs[..left], &format!("{base}l"));
    let (b, lb) = reduce_add(m, t, &xs[left..], &format!("{base}r"));
    let level = la.max(lb) + 1;
    let (sa, sb) = (m.sig(a).clone(), m.sig(b).clone());
    let (lo, hi) = (sa.lo + sb.lo, sa.hi + sb.hi);
    let w = signed_bits(lo, hi);
    m.cost.add_adder(w, w);
    let s = m.assign(base, (lo, hi), None, level, Op::Add(w), &[a, b], |n| format!("{} + {}", n[0], n[1]));
    (cast(m, s, t.frac(), t, base, level), level)
}

/// The softmax of `xs` (raw, `sm.in_type`) from logic level `level` on.
pub fn build(m: &mut ModuleBuilder, xs: &[SigId], sm: &Hls4mlSoftmax, level: u32) -> Hls4mlOutputs {
    match sm.implementation {
        SoftmaxImplementation::Stable | SoftmaxImplementation::Latency => tables(m, xs, sm, level),
        SoftmaxImplementation::Legacy => legacy(m, xs, sm, level),
        SoftmaxImplementation::Argmax | SoftmaxImplementation::Qforge => argmax(m, xs, sm, level),
    }
}

fn tables(m: &mut ModuleBuilder, xs: &[SigId], sm: &Hls4mlSoftmax, mut level: u32) -> Hls4mlOutputs {
    let exp_bits = sm.exp_table_size.trailing_zeros();
    let mut index = Vec::new();
    if sm.implementation == SoftmaxImplementation::Stable {
        let (x_max, _, l) = argmax_tree(m, xs, "max", level, false);
        level = l + 1;
        for (j, &x) in xs.iter().enumerate() {
            let d = sub(m, x_max, x, &format!("d{j}"), level);
            let d = cast(m, d, sm.in_type.frac(), &sm.inp_norm_t, &format!("d{j}"), level);
            index.push(top_bits(m, d, &sm.inp_norm_t, exp_bits, &format!("d{j}"), level));
        }
    } else {
        level += 1;
        for (j, &x) in xs.iter().enumerate() {
            index.push(top_bits(m, x, &sm.in_type, exp_bits, &format!("x{j}"), level));
        }
    }
    level += 1;
    let exp_rom = Rom::new(m, "exp_rom", &sm.exp_table);
    let acc = sm.accum_t;
    let exps: Vec<(SigId, u32)> = index
        .iter()
        .enumerate()
        .map(|(j, &ix)| {
            let e = exp_rom.read(m, ix, &format!("e{j}"), level);
            (cast(m, e, sm.exp_table_t.frac(), &acc, &format!("e{j}"), level), level)
        })
        .collect();
    let (sum, l) = reduce_add(m, &acc, &exps, "sum");
    level = l + 1;
    let exp_sum = cast(m, sum, acc.frac(), &sm.inv_inp_t, "isum", level);
    let ix = top_bits(m, exp_sum, &sm.inv_inp_t, sm.inv_table_size.trailing_zeros(), "isum", level);
    level += 1;
    let inv_rom = Rom::new(m, "inv_rom", &sm.inv_table);
    let inv = inv_rom.read(m, ix, "inv", level);
    level += 1;
    let prod_frac = acc.frac() + sm.inv_table_t.frac();
    let outs = exps
        .iter()
        .enumerate()
        .map(|(j, &(e, _))| {
            let (se, si) = (m.sig(e).clone(), m.sig(inv).clone());
            m.cost.multipliers.push(MultiplierCost { a_bits: se.width, b_bits: si.width });
            let corners = [se.lo * si.lo, se.lo * si.hi, se.hi * si.lo, se.hi * si.hi];
            let range = (*corners.iter().min().expect("four"), *corners.iter().max().expect("four"));
            let p = m.assign(&format!("p{j}"), range, None, level, Op::Mul, &[e, inv], |n| format!("{} * {}", n[0], n[1]));
            cast(m, p, prod_frac, &sm.out_type, &format!("p{j}"), level)
        })
        .collect();
    Hls4mlOutputs { outs, level, class: None }
}

fn legacy(m: &mut ModuleBuilder, xs: &[SigId], sm: &Hls4mlSoftmax, mut level: u32) -> Hls4mlOutputs {
    let t = HLS4ML_LEGACY_TABLE_TYPE;
    // Its sums wrap: adding exactly and wrapping once is hls4ml's cast after every addition.
    debug_assert_eq!((t.rounding, t.overflow), (Rounding::Trn, Overflow::Wrap));
    let (es, is) = (sm.exp_table_size, sm.inv_table_size);
    let (exp_bits, inv_bits) = (es.trailing_zeros() as i32, is.trailing_zeros() as i32);
    let frac = sm.in_type.frac();
    let exp_index_t = FixedType::unsigned(exp_bits as u32, exp_bits).with_modes(Rounding::Trn, Overflow::Sat);
    let inv_index_t = FixedType::unsigned(inv_bits as u32, inv_bits).with_modes(Rounding::Trn, Overflow::Sat);
    let exp_rom = Rom::new(m, "exp_rom", &sm.exp_table);
    let inv_rom = Rom::new(m, "inv_rom", &sm.inv_table);
    let one = t.cast_raw(1, 0) as i128;
    let start = level + 1;
    let mut sums = Vec::new();
    for i in 0..xs.len() {
        level = start;
        let mut terms = vec![Term::constant(one, level + 2)];
        for (j, &xj) in xs.iter().enumerate().filter(|&(j, _)| j != i) {
            let base = format!("d{i}_{j}");
            let d = sub(m, xj, xs[i], &base, level);
            // (x_j - x_i)·size/16 as C's int: the division by 16·2^frac truncates toward zero.
            let q = if frac >= 0 {
                scale_trunc(m, d, 4 + frac - exp_bits, &base, level)
            } else {
                let q = scale_trunc(m, d, 4 - exp_bits, &base, level);
                scale_trunc(m, q, frac, &format!("{base}s"), level)
            };
            let (sq, half) = (m.sig(q).clone(), 1i128 << (exp_bits - 1));
            let w = signed_bits(sq.lo + half, sq.hi + half);
            m.cost.add_adder(w, w);
            let at = m.assign(&format!("{base}_at"), (sq.lo + half, sq.hi + half), None, level + 1, Op::Add(w), &[q], |n| {
                format!("{} + {}", n[0], literal(half, w))
            });
            let ix = cast(m, at, 0, &exp_index_t, &format!("{base}_ix"), level + 1);
            let e = exp_rom.read(m, ix, &format!("e{i}_{j}"), level + 2);
            terms.push(Term::shifted(m, e, 0, false, level + 2));
        }
        let mut stats = TreeStats::default();
        let (sum, l) = sum_tree(m, &format!("sum{i}"), terms, 63, &mut stats);
        let sum = cast(m, sum, t.frac(), &t, &format!("sum{i}"), l);
        sums.push((sum, l));
    }
    let l = sums.iter().map(|&(_, l)| l).max().unwrap_or(start) + 1;
    let outs = sums
        .iter()
        .enumerate()
        .map(|(i, &(sum, _))| {
            // floor(sum·size/64 / 2^frac) clamped to the table: negative sums read entry 0, as in C.
            let ix = cast(m, sum, t.frac() + 6 - inv_bits, &inv_index_t, &format!("s{i}_ix"), l);
            let inv = inv_rom.read(m, ix, &format!("inv{i}"), l + 1);
            cast(m, inv, t.frac(), &sm.out_type, &format!("o{i}"), l + 1)
        })
        .collect();
    Hls4mlOutputs { outs, level: l + 1, class: None }
}

fn argmax(m: &mut ModuleBuilder, xs: &[SigId], sm: &Hls4mlSoftmax, level: u32) -> Hls4mlOutputs {
    let (_, best, l) = argmax_tree(m, xs, "amax", level, true);
    let best = best.expect("index");
    let one = sm.out_type.cast_raw(1, 0) as i128;
    let (iw, ow) = (m.sig(best).width, signed_bits(one.min(0), one.max(0)));
    let outs = (0..xs.len())
        .map(|j| {
            m.cost.select_bits += ow as u64;
            m.assign(&format!("oh{j}"), (one.min(0), one.max(0)), None, l + 1, Op::Lut, &[best], |n| {
                format!("({} == {}) ? {} : {}", n[0], literal(j as i128, iw), literal(one, ow), literal(0, ow))
            })
        })
        .collect();
    // A positive one-hot's first maximum is the one; a zero "one" leaves all outputs 0 (class 0).
    Hls4mlOutputs { outs, level: l + 1, class: (one > 0).then_some(best) }
}
