//! One convolution (Conv1D/Conv2D, channels last) as one Verilog module
//! (`layerN_conv`, wires `lN_*`), fully unrolled: per output position the
//! patch's in-image input wires times the kernel is a dense block (`Mvm`:
//! CSD shift-add trees, or with `cmvm` sub-expressions shared across the
//! filters of the position), padded cells add nothing (zeros), products with
//! more fractional bits than the accumulator rounded one by one into it
//! (`products`, hls4ml's narrower `accum_t`), the sum wraps to the accumulator
//! (a saturating one that may saturate: `saturate`'s chain, in
//! `FixedConv::forward`'s order over the patch), then the result cast, the ReLU and the output cast:
//! exactly `FixedConv::forward`.
//!
//! Input: a `FixedConv` and the intervals of its input wires. Output: the
//! module text and the output intervals (channels last), as `layer` gives.
use super::adder_tree::TreeStats;
use super::cast::{cast, relu};
use super::csd::csd_digits;
use super::layer::{BuiltLayer, LayerSummary, Mvm, PortSpec};
use super::netlist::{ModuleBuilder, Schedule, SigId};
use super::products::round_products;
use super::saturate::{saturating_sums, SatSums};
use crate::error::{Error, Result};
use crate::model::conv::{tap, FixedConv};
use crate::quant::Overflow;

/// Build convolution `index` (1-based module number) whose inputs arrive after `start_level`.
pub fn build_conv(
    conv: &FixedConv,
    index: usize,
    inputs: &[PortSpec],
    start_level: u32,
    schedule: Schedule,
    cmvm: bool,
) -> Result<BuiltLayer> {
    let fault = |m: String| Err(Error::Config(format!("layer `{}`: {m}", conv.name)));
    if inputs.len() != conv.input.len() {
        return fault(format!("{} input wires for an input map of {} values", inputs.len(), conv.input.len()));
    }
    let acc = checked_biases(conv, inputs)?;
    let module = format!("layer{index}_conv");
    let mut m = ModuleBuilder::new(&module, &format!("l{index}_"), schedule);
    let xs: Vec<_> = inputs.iter().enumerate().map(|(i, p)| m.input(&format!("x{i}"), p.lo, p.hi, p.stage, p.arrival)).collect();
    let (cin, nf, (kh, kw)) = (conv.input.channels, conv.filters, conv.window.size);
    let out_shape = conv.output_shape();
    let placement = conv.placement();
    let mut sums = Vec::with_capacity(out_shape.len());
    let (mut depth, mut adders, mut adder_bits, mut nonzero, mut digits) = (0, 0, 0, 0, 0);
    for oy in 0..out_shape.height {
        for ox in 0..out_shape.width {
            // The patch's in-image cells: their wires and their rows of the kernel.
            let mut patch = Vec::new();
            let mut weights = Vec::new();
            for ky in 0..kh {
                for kx in 0..kw {
                    let Some((y, x)) = tap(&placement, &conv.window, conv.input, (oy, ox), (ky, kx)) else { continue };
                    for c in 0..cin {
                        patch.push(xs[conv.input.index(y, x, c)]);
                        let row = ((ky * kw + kx) * cin + c) * nf;
                        weights.extend_from_slice(&conv.weights[row..row + nf]);
                    }
                }
            }
            let name = format!("p{}_", oy * out_shape.width + ox);
            let (s, stats, nz, dg) = patch_sums(&mut m, conv, &acc, &patch, &weights, &name, start_level, cmvm);
            depth = depth.max(stats.depth);
            (adders, adder_bits, nonzero, digits) = (adders + stats.adders, adder_bits + stats.adder_bits, nonzero + nz, digits + dg);
            sums.extend(s);
        }
    }
    let act_level = start_level + depth + 1;
    let out_stage = schedule.stage_after(act_level);
    let mut outputs = Vec::with_capacity(sums.len());
    for (o, &sum) in sums.iter().enumerate() {
        let y = activate(&mut m, conv, sum, o, act_level);
        let s = m.sig(y).clone();
        m.output(&format!("y{o}"), y, out_stage);
        outputs.push(PortSpec { lo: s.lo, hi: s.hi, stage: out_stage, arrival: 0 });
    }
    let summary = LayerSummary {
        module: module.clone(),
        instance: format!("l{index}"),
        n_in: conv.input.len(),
        n_out: out_shape.len(),
        nonzero_weights: nonzero,
        csd_digits: digits,
        adders,
        adder_bits,
        tree_depth: depth,
        first_level: start_level + 1,
        last_level: act_level,
        register_bits: m.cost.register_bits,
        critical_ps: m.critical_ps,
    };
    let mut cost = std::mem::take(&mut m.cost);
    (cost.n_in, cost.n_out) = (conv.input.len(), out_shape.len());
    cost.logic_depth = act_level - start_level;
    cost.out_stage = out_stage;
    Ok(BuiltLayer { verilog: m.finish(), outputs, summary, cost })
}

/// How a convolution's products reach its accumulator: the biases at the
/// accumulator's precision, the left shift of exact products into it, the
/// low bits each product drops (hls4ml's `accum_t` narrower than the products:
/// each product cast into it, `products`), and whether it is a saturating
/// accumulator whose partial sums may overflow (a cast after every addition,
/// which a tree only reproduces when no partial sum can leave its range:
/// `saturate`'s chain).
pub(crate) struct AccumPlan {
    pub biases: Vec<i128>,
    pub product_shift: u32,
    pub drop: u32,
    pub saturating: bool,
}

/// The accumulator plan of `conv`. `inputs`: the input intervals.
pub(crate) fn checked_biases(conv: &FixedConv, inputs: &[PortSpec]) -> Result<AccumPlan> {
    let t = &conv.types;
    let prod_frac = t.input.frac() + t.weight.frac();
    let product_shift = (t.accum.frac() - prod_frac).max(0) as u32;
    let drop = (prod_frac - t.accum.frac()).max(0) as u32;
    let (cin, nf, (kh, kw)) = (conv.input.channels, conv.filters, conv.window.size);
    let biases: Vec<i128> = (0..nf).map(|f| conv.biases.get(f).map_or(0, |&b| t.accum.cast_raw(b, t.bias.frac())) as i128).collect();
    let worst: i128 = {
        let mag = inputs.iter().map(|p| p.lo.abs().max(p.hi.abs())).max().unwrap_or(0);
        let n = (kh * kw * cin) as i128;
        let wmax: i128 = (0..nf)
            .map(|f| {
                let products = (0..kh * kw * cin).map(|i| (conv.weights[i * nf + f] as i128).abs()).sum::<i128>() * mag;
                // A rounded product may each round up by one.
                if drop > 0 {
                    (products >> drop) + n
                } else {
                    products << product_shift
                }
            })
            .max()
            .unwrap_or(0);
        wmax + biases.iter().map(|b| b.abs()).max().unwrap_or(0)
    };
    // AP_SAT_SYM also moves the most negative code.
    let min = t.accum.min_raw() as i128 + (t.accum.overflow == Overflow::SatSym && t.accum.signed) as i128;
    let saturating = t.accum.overflow != Overflow::Wrap && (-worst < min || worst > t.accum.max_raw() as i128);
    Ok(AccumPlan { biases, product_shift, drop, saturating })
}

/// One output position: the patch wires times its kernel rows (`weights`,
/// `[patch][filters]`) plus the biases, each sum wrapping at the accumulator;
/// products dropping bits are rounded one by one first; a saturating
/// accumulator that may overflow is `saturate`'s chain. Returns the sums, the
/// tree statistics, the non-zero weights and CSD digits.
#[allow(clippy::too_many_arguments)]
pub(crate) fn patch_sums(
    m: &mut ModuleBuilder,
    conv: &FixedConv,
    acc: &AccumPlan,
    patch: &[SigId],
    weights: &[i64],
    name: &str,
    start_level: u32,
    cmvm: bool,
) -> (Vec<SigId>, TreeStats, usize, usize) {
    let (nf, t) = (conv.filters, &conv.types);
    let nonzero = weights.iter().filter(|&&w| w != 0).count();
    let digits = weights.iter().map(|&w| csd_digits(w).len()).sum();
    if acc.saturating {
        let sat = SatSums { weights, n_out: nf, prod_frac: t.input.frac() + t.weight.frac(), accum: t.accum, name };
        let (sums, stats) = saturating_sums(m, &sat, patch, &acc.biases, start_level);
        return (sums, stats, nonzero, digits);
    }
    let (matrix, extra, product_stats) = if acc.drop > 0 {
        let r = round_products(m, name, patch, weights, nf, acc.drop, t.accum.rounding, start_level);
        (r.high, r.extra, r.stats)
    } else {
        (weights.to_vec(), vec![Vec::new(); nf], TreeStats::default())
    };
    let mvm = Mvm { weights: &matrix, n_out: nf, cap: t.accum.width, name };
    let (sums, mut stats, _, _) = mvm.sums(m, patch, acc.product_shift, (&acc.biases, &extra), start_level, cmvm);
    stats.adders += product_stats.adders;
    stats.adder_bits += product_stats.adder_bits;
    (sums, stats, nonzero, digits)
}

/// Output `o`'s sum (raw, at the accumulator's precision) through the
/// accumulator wrap, the result cast, the ReLU and the output cast, as `FixedConv::forward`.
pub(crate) fn activate(m: &mut ModuleBuilder, conv: &FixedConv, sum: SigId, o: usize, level: u32) -> SigId {
    let t = &conv.types;
    let acc = cast(m, sum, t.accum.frac(), &t.accum, &format!("acc{o}_a"), level);
    let r = cast(m, acc, t.accum.frac(), &t.result, &format!("r{o}"), level);
    let pre = if conv.relu { relu(m, r, &format!("y{o}"), level) } else { r };
    cast(m, pre, t.result.frac(), &t.out, &format!("y{o}"), level)
}
