//! Global pooling in a stream design (`layerN_sgpool`): a running
//! accumulator per channel, updated on each `in_valid` pixel (the first
//! pixel of a frame loads it), so no flatten buffer holds the map. Max keeps
//! the largest raw input; average keeps the exact sum of the inputs aligned
//! to the accumulator's fraction (wide enough never to wrap), and after the
//! frame's last pixel the parallel global pool's tail runs on it: the cast
//! into the accumulator type (which wraps or saturates as the model's sum
//! does), the division by the pixel count, the cast into the result.
//! `done` rises the cycle after the last pixel, as the flatten buffer's does,
//! and starts the dense head.
//!
//! Input: a `FixedGlobalPool` and one pixel's channel intervals. Output: a
//! `BuiltLayer` whose outputs are at the stages its tail's pipeline gives.
use super::cast::cast;
use super::layer::{BuiltLayer, LayerSummary, PortSpec};
use super::netlist::{signed_bits, ModuleBuilder, Schedule, SigId};
use super::pool::DivByConst;
use crate::error::{Error, Result};
use crate::model::pool::{FixedGlobalPool, PoolOp};
use crate::quant::Overflow;
use std::fmt::Write as _;

/// Streamed global pooling `index` (1-based module number).
pub fn build_global_stream(g: &FixedGlobalPool, index: usize, inputs: &[PortSpec], schedule: Schedule) -> Result<BuiltLayer> {
    let t = &g.types;
    let fault = |msg: String| Err(Error::Config(format!("layer `{}`: {msg}", g.name)));
    let ch = g.input.channels;
    if inputs.len() != ch {
        return fault(format!("{} input wires for {ch} channels", inputs.len()));
    }
    let (in_frac, acc_frac) = (t.input.frac(), t.accum.frac());
    if g.op == PoolOp::Average && acc_frac < in_frac {
        return fault(format!(
            "average pooling into accumulator {} drops fractional bits of its input {}: no RTL form yet",
            t.accum, t.input
        ));
    }
    let pixels = g.input.height * g.input.width;
    let module = format!("layer{index}_sgpool");
    let mut m = ModuleBuilder::new(&module, &format!("l{index}_"), schedule);
    let p = m.prefix.clone();
    m.bit_input("rst");
    m.bit_input("in_valid");
    let xs: Vec<SigId> = inputs.iter().enumerate().map(|(c, q)| m.input(&format!("x{c}"), q.lo, q.hi, 0, 0)).collect();
    let pb = (usize::BITS - (pixels.max(2) - 1).leading_zeros()).max(1);
    let last_pixel = pixels - 1;
    let shift = (acc_frac - in_frac).max(0) as u32;
    let mut v = String::new();
    let mut upd = String::new();
    // Per channel: the register's range, as the parallel tree's sum (or max) has it.
    let mut ranges = Vec::with_capacity(ch);
    let mut acc_bits = 0u64;
    for (c, &x) in xs.iter().enumerate() {
        let (lo, hi, wx) = (m.sig(x).lo, m.sig(x).hi, m.sig(x).width);
        let n = pixels as i128;
        match g.op {
            PoolOp::Max => {
                let _ = writeln!(v, "  reg signed [{}:0] {p}acc{c};", wx - 1);
                let _ = writeln!(upd, "      {p}acc{c} <= ({p}pos == 0 || x{c} > {p}acc{c}) ? x{c} : {p}acc{c};");
                m.cost.select_bits += 1 + wx as u64;
                ranges.push((lo, hi));
                acc_bits += wx as u64;
            }
            PoolOp::Average => {
                let (slo, shi) = (n * (lo << shift).min(0), n * (hi << shift).max(0));
                let fits = slo >= t.accum.min_raw() as i128 && shi <= t.accum.max_raw() as i128;
                if t.accum.overflow != Overflow::Wrap && !fits {
                    return fault(format!("the sum may overflow the saturating accumulator {}: no RTL form yet", t.accum));
                }
                let w = signed_bits(slo, shi);
                let _ = writeln!(v, "  wire signed [{}:0] {p}sx{c} = x{c} <<< {shift};\n  reg signed [{}:0] {p}acc{c};", w - 1, w - 1);
                let _ = writeln!(upd, "      {p}acc{c} <= ({p}pos == 0) ? {p}sx{c} : {p}acc{c} + {p}sx{c};");
                m.cost.add_adder(w, w - shift.min(w));
                ranges.push((slo, shi));
                acc_bits += w as u64;
            }
        }
    }
    let _ = writeln!(v, "  reg [{}:0] {p}pos;\n  reg {p}dn;\n  assign done = {p}dn;", pb - 1);
    let _ = writeln!(v, "  always @(posedge clk) begin\n    if (in_valid) begin\n{upd}    end");
    let _ = writeln!(v, "    {p}dn <= rst ? 1'b0 : (in_valid && {p}pos == {last_pixel});");
    let _ = writeln!(v, "    if (rst) {p}pos <= 0;\n    else if (in_valid) {p}pos <= ({p}pos == {last_pixel}) ? 0 : {p}pos + 1;\n  end");
    m.raw_body(&v);
    m.cost.register_bits += acc_bits + pb as u64 + 1;

    // The parallel global pool's tail on the accumulated values (level 0 = the registers).
    let mut values = Vec::with_capacity(ch);
    for (c, &(lo, hi)) in ranges.iter().enumerate() {
        let a = m.external(&format!("{p}a{c}"), lo, hi, 0);
        m.raw_body(&format!("  assign {p}a{c} = {p}acc{c};\n"));
        let base = format!("w{c}");
        values.push(match g.op {
            PoolOp::Max => (cast(&mut m, a, in_frac, &t.accum, &format!("{base}_m"), 0), 0),
            PoolOp::Average => {
                let acc = cast(&mut m, a, acc_frac, &t.accum, &format!("{base}_a"), 0);
                let (alo, ahi) = (m.sig(acc).lo, m.sig(acc).hi);
                DivByConst::for_range(pixels as i128, alo, ahi).build(&mut m, acc, &base, 0)
            }
        });
    }
    let last = values.iter().map(|&(_, l)| l).max().unwrap_or(0) + 1;
    let out_stage = schedule.stage_after(last);
    let mut outputs = Vec::with_capacity(ch);
    for (c, &(v, _)) in values.iter().enumerate() {
        let y = cast(&mut m, v, acc_frac, &t.result, &format!("y{c}"), last);
        let s = m.sig(y).clone();
        m.output(&format!("y{c}"), y, out_stage);
        outputs.push(PortSpec { lo: s.lo, hi: s.hi, stage: out_stage, arrival: 0 });
    }
    m.raw_port("output wire done");
    let summary = LayerSummary {
        module: module.clone(),
        instance: format!("l{index}"),
        n_in: ch,
        n_out: ch,
        nonzero_weights: 0,
        csd_digits: 0,
        adders: m.cost.adders,
        adder_bits: m.cost.adder_bits,
        tree_depth: last - 1,
        first_level: 1,
        last_level: last,
        register_bits: m.cost.register_bits,
        critical_ps: m.critical_ps,
    };
    let mut cost = std::mem::take(&mut m.cost);
    (cost.n_in, cost.n_out) = (ch, ch);
    cost.logic_depth = last;
    cost.out_stage = out_stage;
    Ok(BuiltLayer { verilog: m.finish(), outputs, summary, cost })
}
