//! One convolution (Conv1D/Conv2D, channels last) as one Verilog module
//! (`layerN_conv`, wires `lN_*`), fully unrolled: per output position the
//! patch's in-image input wires times the kernel is a dense block (`Mvm`:
//! CSD shift-add trees, or with `cmvm` sub-expressions shared across the
//! filters of the position), padded cells add nothing (zeros), the sum wraps
//! to the accumulator (a saturating one that may saturate: `saturate`'s
//! chain, in `FixedConv::forward`'s order over the patch), then the result cast, the ReLU and the output cast:
//! exactly `FixedConv::forward`.
//!
//! Input: a `FixedConv` and the intervals of its input wires. Output: the
//! module text and the output intervals (channels last), as `layer` gives.
use super::cast::{cast, relu};
use super::layer::{BuiltLayer, LayerSummary, Mvm, PortSpec};
use super::netlist::{ModuleBuilder, Schedule, SigId};
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
    let t = &conv.types;
    let fault = |m: String| Err(Error::Config(format!("layer `{}`: {m}", conv.name)));
    if inputs.len() != conv.input.len() {
        return fault(format!("{} input wires for an input map of {} values", inputs.len(), conv.input.len()));
    }
    let (biases, product_shift, saturating) = checked_biases(conv, inputs)?;
    let prod_frac = t.input.frac() + t.weight.frac();
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
            let (s, stats, nz, dg) = if saturating {
                let sat = SatSums { weights: &weights, n_out: nf, prod_frac, accum: t.accum, name: &name };
                let (s, stats) = saturating_sums(&mut m, &sat, &patch, &biases, start_level);
                let nz = weights.iter().filter(|&&w| w != 0).count();
                (s, stats, nz, weights.iter().map(|&w| super::csd::csd_digits(w).len()).sum())
            } else {
                let mvm = Mvm { weights: &weights, n_out: nf, cap: t.accum.width, name: &name };
                mvm.sums(&mut m, &patch, product_shift, (&biases, &[]), start_level, cmvm)
            };
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

/// The biases at the accumulator's precision, the shift of the products into
/// it and whether it is a saturating one whose partial sums may overflow (a
/// cast after every addition, which a tree only reproduces when no partial
/// sum can leave its range: `saturate`'s chain), or why the RTL cannot
/// reproduce the accumulator: one with fewer fractional bits than the
/// products. `inputs`: the input intervals.
pub(crate) fn checked_biases(conv: &FixedConv, inputs: &[PortSpec]) -> Result<(Vec<i128>, u32, bool)> {
    let t = &conv.types;
    let fault = |m: String| Err(Error::Config(format!("layer `{}`: {m}", conv.name)));
    let prod_frac = t.input.frac() + t.weight.frac();
    if t.accum.frac() < prod_frac {
        return fault(format!(
            "accumulator {} has fewer fractional bits than the products ({prod_frac}); the RTL writer needs a lossless accumulator",
            t.accum
        ));
    }
    let product_shift = (t.accum.frac() - prod_frac) as u32;
    let (cin, nf, (kh, kw)) = (conv.input.channels, conv.filters, conv.window.size);
    let biases: Vec<i128> = (0..nf).map(|f| conv.biases.get(f).map_or(0, |&b| t.accum.cast_raw(b, t.bias.frac())) as i128).collect();
    let worst: i128 = {
        let mag = inputs.iter().map(|p| p.lo.abs().max(p.hi.abs())).max().unwrap_or(0);
        let wmax: i128 = (0..nf)
            .map(|f| ((0..kh * kw * cin).map(|i| (conv.weights[i * nf + f] as i128).abs()).sum::<i128>() * mag) << product_shift)
            .max()
            .unwrap_or(0);
        wmax + biases.iter().map(|b| b.abs()).max().unwrap_or(0)
    };
    // AP_SAT_SYM also moves the most negative code.
    let min = t.accum.min_raw() as i128 + (t.accum.overflow == Overflow::SatSym && t.accum.signed) as i128;
    let saturating = t.accum.overflow != Overflow::Wrap && (-worst < min || worst > t.accum.max_raw() as i128);
    Ok((biases, product_shift, saturating))
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
