//! Pooling (Max/Average, 1D/2D, global) as one Verilog module per layer
//! (`layerN_pool`, wires `lN_*`), exactly `model::pool`: max is a balanced
//! tree of comparators over the window's in-image cells and, when the window
//! overhangs the image, hls4ml's pad value; average is an adder tree into the
//! accumulator, then the division by the number of in-image cells truncated
//! toward zero, as a constant multiplication ([`DivByConst`]), then the cast
//! into the result type.
//!
//! Input: a `FixedPool` / `FixedGlobalPool` and its input intervals. Output:
//! the module text and output intervals, as `layer` gives.
use super::adder_tree::{sum_tree, Term, TreeStats};
use super::cast::{cast, round_off};
use super::csd::csd_digits;
use super::delay::Op;
use super::layer::{BuiltLayer, LayerSummary, PortSpec};
use super::netlist::{literal, signed_bits, ModuleBuilder, Schedule, SigId};
use crate::error::{Error, Result};
use crate::model::conv::tap;
use crate::model::pool::{max_pad, FixedGlobalPool, FixedPool, PoolOp, PoolTypes};
use crate::quant::{Overflow, Rounding};

/// Build window pooling `index` (1-based module number) after `start_level`.
pub fn build_pool(p: &FixedPool, index: usize, inputs: &[PortSpec], start_level: u32, schedule: Schedule) -> Result<BuiltLayer> {
    let out = p.output_shape();
    let placement = p.placement();
    let (kh, kw) = p.window.size;
    let mut windows = Vec::with_capacity(out.len());
    for oy in 0..out.height {
        for ox in 0..out.width {
            for c in 0..p.input.channels {
                let cells: Vec<usize> = (0..kh * kw)
                    .filter_map(|k| tap(&placement, &p.window, p.input, (oy, ox), (k / kw, k % kw)))
                    .map(|(y, x)| p.input.index(y, x, c))
                    .collect();
                let padded = kh * kw - cells.len();
                windows.push((cells, padded));
            }
        }
    }
    build(&p.name, p.op, &p.types, &windows, index, inputs, start_level, schedule)
}

/// Build global pooling `index`: one window per channel over the whole map.
pub fn build_global(g: &FixedGlobalPool, index: usize, inputs: &[PortSpec], start_level: u32, schedule: Schedule) -> Result<BuiltLayer> {
    let ch = g.input.channels;
    let windows: Vec<(Vec<usize>, usize)> = (0..ch).map(|c| ((c..g.input.len()).step_by(ch).collect(), 0)).collect();
    build(&g.name, g.op, &g.types, &windows, index, inputs, start_level, schedule)
}

/// `windows`: per output, the input indices inside the image and how many cells were padding.
#[allow(clippy::too_many_arguments)]
fn build(
    name: &str,
    op: PoolOp,
    t: &PoolTypes,
    windows: &[(Vec<usize>, usize)],
    index: usize,
    inputs: &[PortSpec],
    start_level: u32,
    schedule: Schedule,
) -> Result<BuiltLayer> {
    let (in_frac, acc_frac) = (t.input.frac(), t.accum.frac());
    let module = format!("layer{index}_pool");
    let mut m = ModuleBuilder::new(&module, &format!("l{index}_"), schedule);
    let xs: Vec<_> = inputs.iter().enumerate().map(|(i, p)| m.input(&format!("x{i}"), p.lo, p.hi, p.stage, p.arrival)).collect();
    let mut stats = TreeStats::default();
    let mut dividers: std::collections::HashMap<(i128, i128, i128), DivByConst> = std::collections::HashMap::new();
    let mut rounded = std::collections::HashMap::new();
    // Per output: the accumulator's value (raw, acc_frac) and its level.
    let mut accs = Vec::with_capacity(windows.len());
    for (o, (cells, padded)) in windows.iter().enumerate() {
        let cells: Vec<SigId> = cells.iter().map(|&i| xs[i]).collect();
        let base = format!("w{o}");
        let (v, level) = match op {
            PoolOp::Max => {
                let pad = (*padded > 0).then(|| max_pad(&t.input) as i128);
                let (v, level) = max_tree(&mut m, &base, &cells, pad, start_level);
                (cast(&mut m, v, in_frac, &t.accum, &format!("{base}_m"), level), level)
            }
            PoolOp::Average => {
                let terms = average_terms(&mut m, t, &cells, &mut rounded, &base, start_level)
                    .map_err(|e| Error::Config(format!("layer `{}`: {e}", name)))?;
                let (sum, level) = sum_tree(&mut m, &format!("{base}_sum"), terms, t.accum.width, &mut stats);
                // The partial casts only wrap (the inputs are already rounded): the sum wraps once.
                let acc = cast(&mut m, sum, acc_frac, &t.accum, &format!("{base}_a"), level);
                let (n, lo, hi) = (cells.len() as i128, m.sig(acc).lo, m.sig(acc).hi);
                let div = *dividers.entry((n, lo, hi)).or_insert_with(|| DivByConst::for_range(n, lo, hi));
                div.build(&mut m, acc, &base, level)
            }
        };
        accs.push((v, level));
    }
    // Every result is cast at one level, after the deepest window.
    let last = accs.iter().map(|&(_, l)| l).max().unwrap_or(start_level) + 1;
    let out_stage = schedule.stage_after(last);
    let mut outputs = Vec::with_capacity(accs.len());
    for (o, &(v, _)) in accs.iter().enumerate() {
        let y = cast(&mut m, v, acc_frac, &t.result, &format!("y{o}"), last);
        let s = m.sig(y).clone();
        m.output(&format!("y{o}"), y, out_stage);
        outputs.push(PortSpec { lo: s.lo, hi: s.hi, stage: out_stage, arrival: 0 });
    }
    let summary = LayerSummary {
        module: module.clone(),
        instance: format!("l{index}"),
        n_in: inputs.len(),
        n_out: windows.len(),
        nonzero_weights: 0,
        csd_digits: 0,
        adders: m.cost.adders,
        adder_bits: m.cost.adder_bits,
        tree_depth: last - start_level - 1,
        first_level: start_level + 1,
        last_level: last,
        register_bits: m.cost.register_bits,
        critical_ps: m.critical_ps,
    };
    let mut cost = std::mem::take(&mut m.cost);
    (cost.n_in, cost.n_out) = (inputs.len(), windows.len());
    cost.logic_depth = last - start_level;
    cost.out_stage = out_stage;
    Ok(BuiltLayer { verilog: m.finish(), outputs, summary, cost })
}

/// The terms of an average's window sum at the accumulator's point. hls4ml's
/// `y += x` casts every partial sum into `accum_t`; when the input has more
/// fractional bits, the partial sum is an exact multiple of the accumulator's
/// LSB, so for AP_TRN, AP_RND and AP_RND_MIN_INF (which commute with adding
/// such a multiple) that is each input rounded on its own, then added (other
/// modes are refused). With AP_WRAP the sum wraps once; a saturating
/// accumulator whose sum may overflow is refused. `rounded` keeps each input's
/// rounded wire for the windows that share it.
pub(crate) fn average_terms(
    m: &mut ModuleBuilder,
    t: &PoolTypes,
    cells: &[SigId],
    rounded: &mut std::collections::HashMap<SigId, (SigId, u32)>,
    base: &str,
    start: u32,
) -> std::result::Result<Vec<Term>, String> {
    let (in_frac, acc_frac) = (t.input.frac(), t.accum.frac());
    let terms: Vec<Term> = if acc_frac >= in_frac {
        let shift = (acc_frac - in_frac) as u32;
        cells.iter().map(|&x| Term::shifted(m, x, shift, false, start)).collect()
    } else {
        let mode = t.accum.rounding;
        if !matches!(mode, Rounding::Trn | Rounding::Rnd | Rounding::RndMinInf) {
            return Err(format!(
                "average pooling into accumulator {} rounds its input {} with a mode that depends on the partial sum: no RTL form yet",
                t.accum, t.input
            ));
        }
        let drop = (in_frac - acc_frac) as u32;
        // Truncation is wiring; a rounding adder takes a level of its own.
        let level = if mode == Rounding::Trn { start } else { start + 1 };
        cells
            .iter()
            .enumerate()
            .map(|(k, &x)| {
                let (r, l) = *rounded.entry(x).or_insert_with(|| (round_off(m, x, drop, mode, &format!("{base}_r{k}"), level), level));
                Term::shifted(m, r, 0, false, l)
            })
            .collect()
    };
    let (lo, hi) = (terms.iter().map(|t| t.lo.min(0)).sum::<i128>(), terms.iter().map(|t| t.hi.max(0)).sum::<i128>());
    if t.accum.overflow != Overflow::Wrap && (lo < t.accum.min_raw() as i128 || hi > t.accum.max_raw() as i128) {
        return Err(format!("the window sum may overflow the saturating accumulator {}: no RTL form yet", t.accum));
    }
    Ok(terms)
}

/// The largest of `cells` (and `pad`, a constant), one comparator level per tree level.
pub(crate) fn max_tree(m: &mut ModuleBuilder, base: &str, cells: &[SigId], pad: Option<i128>, start: u32) -> (SigId, u32) {
    let lo_all = cells.iter().map(|&c| m.sig(c).lo).max().unwrap_or(i128::MIN);
    let mut nodes: Vec<SigId> = cells.to_vec();
    // A pad value no cell can be below is no candidate; otherwise it is a constant wire.
    if let Some(v) = pad.filter(|&v| v > lo_all || cells.is_empty()) {
        let w = signed_bits(v, v);
        nodes.push(m.assign(&format!("{base}_pad"), (v, v), None, start, Op::Wire, &[], |_| literal(v, w)));
    }
    let mut level = start;
    let mut depth = 0;
    while nodes.len() > 1 {
        level += 1;
        depth += 1;
        let mut next = Vec::with_capacity(nodes.len() / 2 + 1);
        for (k, pair) in nodes.chunks(2).enumerate() {
            let &[a, b] = pair else {
                next.push(pair[0]);
                continue;
            };
            let (sa, sb) = (m.sig(a).clone(), m.sig(b).clone());
            let range = (sa.lo.max(sb.lo), sa.hi.max(sb.hi));
            let id = m.assign(&format!("{base}_m{depth}_{k}"), range, None, level, Op::Compare(sa.width.max(sb.width)), &[a, b], |n| {
                format!("({a} > {b}) ? {a} : {b}", a = n[0], b = n[1])
            });
            m.cost.select_bits += 1 + sa.width.max(sb.width) as u64;
            next.push(id);
        }
        nodes = next;
    }
    (nodes[0], if depth == 0 { start + 1 } else { level })
}

/// Integer division by a constant `n`, truncated toward zero, for values in
/// `[lo, hi]`: `q = sign · ((|y| · mul) >> shift)` with `mul = ceil(2^shift / n)`.
/// For `|y| < 2^bits` and `shift = bits + ceil(log2 n)` this is exact
/// (`mul·n = 2^shift + e`, `0 ≤ e < n`, so the error `|y|·e / (n·2^shift)`
/// stays below `1/n`, under the gap to the next multiple of `1/n`); a
/// smaller shift is taken when an exhaustive check over the range proves it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DivByConst {
    pub n: i128,
    pub mul: i128,
    pub shift: u32,
    /// Largest |y| the range holds.
    pub max_mag: i128,
}

/// Ranges up to this many magnitudes are checked value by value.
const EXHAUSTIVE: i128 = 1 << 20;

impl DivByConst {
    pub fn for_range(n: i128, lo: i128, hi: i128) -> DivByConst {
        assert!(n >= 1, "a window holds a cell");
        let max_mag = lo.abs().max(hi.abs());
        let bits = 128 - max_mag.leading_zeros();
        let log_n = 128 - (n - 1).leading_zeros();
        let theorem = bits + log_n;
        let mul_for = |s: u32| ((1i128 << s) + n - 1) / n;
        let shift = if max_mag < EXHAUSTIVE {
            (log_n..theorem).find(|&s| DivByConst { n, mul: mul_for(s), shift: s, max_mag }.exact()).unwrap_or(theorem)
        } else {
            theorem
        };
        DivByConst { n, mul: mul_for(shift), shift, max_mag }
    }

    /// The quotient of `|y|` the circuit computes.
    pub fn apply_mag(&self, mag: i128) -> i128 {
        (mag * self.mul) >> self.shift
    }

    /// Every magnitude in range gives `|y| / n`.
    pub fn exact(&self) -> bool {
        (0..=self.max_mag).all(|v| self.apply_mag(v) == v / self.n)
    }

    /// `y / n` of signal `y` (available at `level`); returns the quotient and its level.
    pub fn build(&self, m: &mut ModuleBuilder, y: SigId, base: &str, level: u32) -> (SigId, u32) {
        if self.n == 1 {
            return (y, level);
        }
        let s = m.sig(y).clone();
        let signed = s.lo < 0;
        let mut level = level;
        let mag = if signed {
            level += 1;
            let w = s.width;
            let abs = m.assign(&format!("{base}_abs"), (0, self.max_mag), None, level, Op::Add(w + 1), &[y], |n| {
                format!("{0}[{1}] ? -{0} : {0}", n[0], w - 1)
            });
            // The negation is as wide as the wire it is written into.
            let built = m.sig(abs).width;
            m.cost.add_adder(built, built);
            abs
        } else {
            y
        };
        let terms: Vec<Term> = csd_digits(self.mul as i64).iter().map(|d| Term::shifted(m, mag, d.shift, d.negative, level)).collect();
        let cap = signed_bits(0, self.max_mag * self.mul) + 1;
        let mut stats = TreeStats::default();
        let (prod, plevel) = sum_tree(m, &format!("{base}_mul"), terms, cap, &mut stats);
        let q_hi = self.apply_mag(self.max_mag);
        let shift = self.shift;
        let q = m.assign(&format!("{base}_q"), (0, q_hi), None, plevel, Op::Wire, &[prod], |n| format!("{} >>> {shift}", n[0]));
        if !signed {
            return (q, plevel);
        }
        let w = s.width;
        let out = m.assign(&format!("{base}_div"), (-q_hi, q_hi), None, plevel + 1, Op::Add(m.sig(q).width + 1), &[y, q], |n| {
            format!("{}[{}] ? -{} : {}", n[0], w - 1, n[1], n[1])
        });
        let built = m.sig(out).width;
        m.cost.add_adder(built, built);
        (out, plevel + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_by_a_constant_truncates_toward_zero_over_the_whole_range() {
        // Every window size up to 5x5 and the global pools of small maps, over
        // the magnitudes of a 17-bit accumulator, checked value by value.
        for n in (1..=25).chain([36, 49, 64, 81, 100]) {
            let d = DivByConst::for_range(n, -(1 << 16), (1 << 16) - 1);
            assert!(d.exact(), "n = {n}: {d:?}");
            for y in [-(1i128 << 16), -7, -1, 0, 1, 5, (1 << 16) - 1] {
                let q = if y < 0 { -d.apply_mag(-y) } else { d.apply_mag(y) };
                assert_eq!(q, y / n, "{y} / {n}");
            }
        }
        // Beyond the exhaustive range the shift is the proven one.
        let d = DivByConst::for_range(3, 0, 1 << 30);
        assert_eq!(d.shift, 31 + 2);
        for y in [(1i128 << 30), (1 << 30) - 1, 3 * 12345677, 3 * 12345677 - 1] {
            assert_eq!(d.apply_mag(y), y / 3);
        }
    }
}
