//! One image layer (conv or window pooling) as a streaming Verilog module
//! (`layerN_sconv`, `layerN_spool`): it takes one input pixel (all channels)
//! per `in_valid`, keeps the last `(kh-1)·W + kw` pixels in a shift register
//! (the line buffer: kh-1 rows and a window), and when a pixel completes a
//! window it computes that output pixel with the per-pixel arithmetic of the
//! parallel modules (`conv::checked_biases`/`patch_sums`/`activate` for a conv,
//! `pool::max_tree`/`DivByConst` for pooling) on the window's taps; cells in
//! the padding are replaced by zero (conv, average) or hls4ml's pad value
//! (max), which is what the parallel module's dropped cells amount to.
//!
//! Timing: step `s` of a frame is its `s`-th pixel; output `(oy, ox)` is
//! computed at the step that shifts in raster cell `ly·W + lx` of its last
//! window cell (`ly = oy·sh + kh-1-pad_top`, `lx = ox·sw + kw-1-pad_left`,
//! `lx` may pass the row's end: the next row's pixels are then masked off).
//! Windows that reach past the last pixel (bottom/right padding) are
//! finished by flush steps, one per clock, after the frame's last pixel: no
//! new frame may start before they end ([`Scan::busy`]).
//!
//! Input: a `FixedConv`/`FixedPool` and the intervals of one pixel's
//! channels. Output: the module and [`Scan`], the timing `stream_top` chains.
use super::adder_tree::{sum_tree, TreeStats};
use super::cast::cast;
use super::conv::{activate, checked_biases, patch_sums};
use super::delay::Op;
use super::layer::{BuiltLayer, LayerSummary, PortSpec};
use super::netlist::{literal, ModuleBuilder, Schedule, SigId};
use super::pool::{average_terms, max_tree, DivByConst};
use crate::error::{Error, Result};
use crate::model::conv::{FixedConv, Placement, Shape3, Window};
use crate::model::pool::{max_pad, FixedPool, PoolOp};
use std::fmt::Write as _;

/// Where a window's outputs fall in the input stream.
#[derive(Clone, Copy, Debug)]
pub struct Scan {
    pub input: Shape3,
    pub window: Window,
    pub place: Placement,
}

impl Scan {
    pub fn new(input: Shape3, window: Window, place: Placement) -> Scan {
        Scan { input, window, place }
    }
    fn pixels(&self) -> usize {
        self.input.height * self.input.width
    }
    /// The step whose pixel completes output `(oy, ox)`'s window.
    pub fn slot(&self, oy: usize, ox: usize) -> usize {
        let (w, (kh, kw), (sh, sw)) = (self.input.width, self.window.size, self.window.stride);
        (oy * sh + kh - 1 - self.place.pad_top) * w + ox * sw + kw - 1 - self.place.pad_left
    }
    /// The frame's last step: its last pixel or its last output's flush step.
    pub fn last_step(&self) -> usize {
        self.slot(self.place.out_height - 1, self.place.out_width - 1).max(self.pixels() - 1)
    }
    /// Line-buffer depth in pixels.
    pub fn depth(&self) -> usize {
        (self.window.size.0 - 1) * self.input.width + self.window.size.1
    }
    /// Whether window row `ky` (column `kx`) lies inside the image for output row `oy` (column `ox`).
    fn row_in(&self, oy: usize, ky: usize) -> bool {
        (oy * self.window.stride.0 + ky).checked_sub(self.place.pad_top).is_some_and(|y| y < self.input.height)
    }
    fn col_in(&self, ox: usize, kx: usize) -> bool {
        (ox * self.window.stride.1 + kx).checked_sub(self.place.pad_left).is_some_and(|x| x < self.input.width)
    }
    /// Output cycles (`latency` cycles after the step's following cycle) for
    /// input pixels arriving at `arrivals`, and the first cycle a next frame
    /// may arrive at.
    pub fn busy(&self, arrivals: &[u64], latency: u32) -> (Vec<u64>, u64) {
        let last = *arrivals.last().expect("a frame has pixels");
        let step = |s: usize| if s < arrivals.len() { arrivals[s] } else { last + (s + 1 - arrivals.len()) as u64 };
        let mut out = Vec::with_capacity(self.place.out_height * self.place.out_width);
        for oy in 0..self.place.out_height {
            for ox in 0..self.place.out_width {
                out.push(step(self.slot(oy, ox)) + 1 + latency as u64);
            }
        }
        (out, step(self.last_step()) + 1)
    }
}

fn bits_for(max: usize) -> u32 {
    (usize::BITS - max.leading_zeros()).max(1)
}

/// The module's ports, its line buffer and its control: the step counter,
/// the next output's slot, the output position and the registered masks of
/// the window's rows and columns (`{p}rm[ky]`, `{p}cm[kx]`) for the output
/// the line buffer holds while `{p}fire` is high. Returns the tap signals,
/// `[ky][kx][c]`, as stage-0 signals of `m`, and the line buffer's register bits.
fn line_buffer(m: &mut ModuleBuilder, scan: &Scan, inputs: &[PortSpec]) -> (Vec<SigId>, u64) {
    let p = m.prefix.clone();
    m.bit_input("rst");
    m.bit_input("in_valid");
    let xs: Vec<SigId> = inputs.iter().enumerate().map(|(c, q)| m.input(&format!("x{c}"), q.lo, q.hi, 0, 0)).collect();
    let (h, w) = (scan.input.height, scan.input.width);
    let ((kh, kw), (sh, sw)) = (scan.window.size, scan.window.stride);
    let (oh, ow, pt, pl) = (scan.place.out_height, scan.place.out_width, scan.place.pad_top, scan.place.pad_left);
    let depth = scan.depth();
    let last = scan.last_step();
    let sb = bits_for(last + sh * w + sw + 1);
    let (ob, xb, yb) = (bits_for(oh.max(ow)), bits_for(ow * sw + kw), bits_for(oh * sh + kh));
    let ts0 = scan.slot(0, 0);
    let mut v = String::new();
    for i in 0..depth {
        for (c, &x) in xs.iter().enumerate() {
            let _ = writeln!(v, "  reg signed [{}:0] {p}sr{i}_{c};", m.sig(x).width - 1);
        }
    }
    let _ = writeln!(v, "  reg [{}:0] {p}s, {p}ts, {p}rts;", sb - 1);
    let _ = writeln!(v, "  reg [{}:0] {p}ox, {p}oy;", ob - 1);
    let _ = writeln!(v, "  reg [{}:0] {p}xb;\n  reg [{}:0] {p}yb;", xb - 1, yb - 1);
    let _ = writeln!(v, "  reg {p}fire;\n  reg [{}:0] {p}rm;\n  reg [{}:0] {p}cm;", kh - 1, kw - 1);
    // Flush steps run on their own after the last pixel.
    let flush = if last >= h * w { format!(" | ({p}s >= {})", h * w) } else { String::new() };
    let _ = writeln!(v, "  wire {p}adv = in_valid{flush};\n  wire {p}hit = {p}adv & ({p}s == {p}ts);");
    let rows: Vec<String> = (0..kh).rev().map(|ky| format!("({p}yb + {ky} >= {pt}) && ({p}yb + {ky} < {})", h + pt)).collect();
    let cols: Vec<String> = (0..kw).rev().map(|kx| format!("({p}xb + {kx} >= {pl}) && ({p}xb + {kx} < {})", w + pl)).collect();
    let _ = writeln!(v, "  wire [{}:0] {p}rmw = {{{}}};", kh - 1, rows.join(", "));
    let _ = writeln!(v, "  wire [{}:0] {p}cmw = {{{}}};", kw - 1, cols.join(", "));
    let _ = writeln!(v, "  always @(posedge clk) begin");
    let _ = writeln!(v, "    if ({p}adv) begin");
    for (c, &x) in xs.iter().enumerate() {
        let _ = writeln!(v, "      {p}sr0_{c} <= {};", m.sig(x).name);
        for i in 1..depth {
            let _ = writeln!(v, "      {p}sr{i}_{c} <= {p}sr{}_{c};", i - 1);
        }
    }
    let _ = writeln!(v, "    end");
    let _ = writeln!(v, "    {p}fire <= rst ? 1'b0 : {p}hit;");
    let _ = writeln!(v, "    if ({p}hit) begin {p}rm <= {p}rmw; {p}cm <= {p}cmw; end");
    let _ =
        writeln!(v, "    if (rst) begin {p}s <= 0; {p}ts <= {ts0}; {p}rts <= {ts0}; {p}ox <= 0; {p}oy <= 0; {p}xb <= 0; {p}yb <= 0; end");
    let _ = writeln!(v, "    else if ({p}adv) begin\n      {p}s <= ({p}s == {last}) ? 0 : {p}s + 1;");
    let _ = writeln!(v, "      if ({p}hit) begin");
    let _ = writeln!(v, "        if ({p}ox == {}) begin\n          {p}ox <= 0; {p}xb <= 0;", ow - 1);
    let _ = writeln!(v, "          if ({p}oy == {}) begin {p}oy <= 0; {p}yb <= 0; {p}ts <= {ts0}; {p}rts <= {ts0}; end", oh - 1);
    let _ = writeln!(
        v,
        "          else begin {p}oy <= {p}oy + 1; {p}yb <= {p}yb + {sh}; {p}ts <= {p}rts + {d}; {p}rts <= {p}rts + {d}; end",
        d = sh * w
    );
    let _ = writeln!(v, "        end else begin {p}ox <= {p}ox + 1; {p}xb <= {p}xb + {sw}; {p}ts <= {p}ts + {sw}; end");
    let _ = writeln!(v, "      end\n    end\n  end");
    m.raw_body(&v);
    let ctrl_bits = 3 * sb + 2 * ob + xb + yb + 1 + (kh + kw) as u32;
    let line_bits = (depth * xs.iter().map(|&x| m.sig(x).width as usize).sum::<usize>()) as u64;
    m.cost.register_bits += line_bits + ctrl_bits as u64;
    let mut taps = Vec::with_capacity(kh * kw * xs.len());
    for ky in 0..kh {
        for kx in 0..kw {
            let off = (kh - 1 - ky) * w + (kw - 1 - kx);
            for (c, &x) in xs.iter().enumerate() {
                let (lo, hi) = (m.sig(x).lo, m.sig(x).hi);
                let t = m.external(&format!("{p}t{ky}_{kx}_{c}"), lo, hi, 0);
                m.raw_body(&format!("  assign {p}t{ky}_{kx}_{c} = {p}sr{off}_{c};\n"));
                taps.push(t);
            }
        }
    }
    (taps, line_bits)
}

/// The taps with cells in the padding replaced by `pad` (per tap: the
/// padding's value, or None where every output's cell is inside the image).
/// Returns the gated cells and the level they are ready at.
fn gate(m: &mut ModuleBuilder, scan: &Scan, taps: &[SigId], pad: impl Fn(SigId) -> i128) -> (Vec<SigId>, u32) {
    let p = m.prefix.clone();
    let ((kh, kw), ch) = (scan.window.size, scan.input.channels);
    let (oh, ow) = (scan.place.out_height, scan.place.out_width);
    let row_masked: Vec<bool> = (0..kh).map(|ky| (0..oh).any(|oy| !scan.row_in(oy, ky))).collect();
    let col_masked: Vec<bool> = (0..kw).map(|kx| (0..ow).any(|ox| !scan.col_in(ox, kx))).collect();
    if !row_masked.iter().chain(&col_masked).any(|&b| b) {
        return (taps.to_vec(), 0);
    }
    let mask = |m: &mut ModuleBuilder, what: &str, k: usize| {
        let id = m.external(&format!("{p}{what}{k}"), 0, 1, 0);
        m.raw_body(&format!("  assign {p}{what}{k} = {{1'b0, {p}{what}[{k}]}};\n"));
        id
    };
    let rms: Vec<Option<SigId>> = (0..kh).map(|ky| row_masked[ky].then(|| mask(m, "rm", ky))).collect();
    let cms: Vec<Option<SigId>> = (0..kw).map(|kx| col_masked[kx].then(|| mask(m, "cm", kx))).collect();
    let mut cells = Vec::with_capacity(taps.len());
    for (i, &t) in taps.iter().enumerate() {
        let (ky, kx) = (i / ch / kw, i / ch % kw);
        let masks: Vec<SigId> = [rms[ky], cms[kx]].into_iter().flatten().collect();
        if masks.is_empty() {
            cells.push(t);
            continue;
        }
        let v = pad(t);
        let s = m.sig(t).clone();
        let (lo, hi) = (s.lo.min(v), s.hi.max(v));
        let w = super::netlist::signed_bits(lo, hi);
        let mut operands = vec![t];
        operands.extend(&masks);
        let g = m.assign(&format!("g{i}"), (lo, hi), None, 1, Op::Lut, &operands, |n| {
            let cond: Vec<String> = n[1..].iter().map(|x| format!("{x}[0]")).collect();
            format!("({}) ? {} : {}", cond.join(" & "), n[0], literal(v, w))
        });
        cells.push(g);
    }
    (cells, 1)
}

/// `fire` delayed by `stage` registers as `out_valid`.
fn out_valid(m: &mut ModuleBuilder, stage: u32) {
    let p = m.prefix.clone();
    m.raw_port("output wire out_valid");
    let text = match stage {
        0 => format!("  assign out_valid = {p}fire;\n"),
        1 => format!("  reg {p}vq;\n  always @(posedge clk) {p}vq <= rst ? 1'b0 : {p}fire;\n  assign out_valid = {p}vq;\n"),
        n => format!(
            "  reg [{n}:1] {p}vq;\n  always @(posedge clk) {p}vq <= rst ? {n}'d0 : {{{p}vq[{}:1], {p}fire}};\n  assign out_valid = {p}vq[{n}];\n",
            n - 1
        ),
    };
    m.raw_body(&text);
    m.cost.register_bits += stage as u64;
}

/// A built streaming layer: its module and where its outputs fall.
pub struct StreamLayer {
    pub built: BuiltLayer,
    pub scan: Scan,
    /// Register stages of its datapath (after the cycle the window is complete).
    pub latency: u32,
    pub line_buffer_bits: u64,
}

fn summary(m: &ModuleBuilder, module: &str, index: usize, n_in: usize, n_out: usize, (first, last): (u32, u32)) -> LayerSummary {
    LayerSummary {
        module: module.to_string(),
        instance: format!("l{index}"),
        n_in,
        n_out,
        nonzero_weights: 0,
        csd_digits: 0,
        adders: m.cost.adders,
        adder_bits: m.cost.adder_bits,
        tree_depth: last.saturating_sub(first),
        first_level: first,
        last_level: last,
        register_bits: m.cost.register_bits,
        critical_ps: m.critical_ps,
    }
}

fn finish(
    mut m: ModuleBuilder,
    mut summary: LayerSummary,
    outputs: Vec<PortSpec>,
    (scan, line_buffer_bits): (Scan, u64),
    latency: u32,
    last: u32,
) -> StreamLayer {
    summary.register_bits = m.cost.register_bits;
    let mut cost = std::mem::take(&mut m.cost);
    (cost.n_in, cost.n_out) = (summary.n_in, summary.n_out);
    cost.logic_depth = last;
    cost.out_stage = latency;
    StreamLayer { built: BuiltLayer { verilog: m.finish(), outputs, summary, cost }, scan, latency, line_buffer_bits }
}

/// Streaming convolution `index`: `inputs` are one pixel's channels.
pub fn build_conv(conv: &FixedConv, index: usize, inputs: &[PortSpec], schedule: Schedule, cmvm: bool) -> Result<StreamLayer> {
    if inputs.len() != conv.input.channels {
        return Err(Error::Config(format!("layer `{}`: {} input wires for {} channels", conv.name, inputs.len(), conv.input.channels)));
    }
    let acc = checked_biases(conv, inputs)?;
    if acc.saturating {
        return Err(Error::Config(format!(
            "layer `{}`: accumulator {} saturates and its partial sums may overflow: the streaming RTL needs AP_WRAP there (io parallel builds it)",
            conv.name, conv.types.accum
        )));
    }
    let module = format!("layer{index}_sconv");
    let mut m = ModuleBuilder::new(&module, &format!("l{index}_"), schedule);
    let scan = Scan::new(conv.input, conv.window, conv.placement());
    let (taps, line_bits) = line_buffer(&mut m, &scan, inputs);
    let (cells, start) = gate(&mut m, &scan, &taps, |_| 0);
    let (sums, stats, nonzero, digits) = patch_sums(&mut m, conv, &acc, &cells, &conv.weights, "p_", start, cmvm);
    let act_level = start + stats.depth + 1;
    let stage = schedule.stage_after(act_level);
    let mut outputs = Vec::with_capacity(sums.len());
    for (o, &sum) in sums.iter().enumerate() {
        let y = activate(&mut m, conv, sum, o, act_level);
        let s = m.sig(y).clone();
        m.output(&format!("y{o}"), y, stage);
        outputs.push(PortSpec { lo: s.lo, hi: s.hi, stage: 0, arrival: 0 });
    }
    out_valid(&mut m, stage);
    let mut sum = summary(&m, &module, index, conv.input.channels, conv.filters, (start + 1, act_level));
    (sum.nonzero_weights, sum.csd_digits, sum.tree_depth) = (nonzero, digits, stats.depth);
    Ok(finish(m, sum, outputs, (scan, line_bits), stage, act_level))
}

/// Streaming window pooling `index`: `inputs` are one pixel's channels.
pub fn build_pool(p: &FixedPool, index: usize, inputs: &[PortSpec], schedule: Schedule) -> Result<StreamLayer> {
    let t = &p.types;
    let fault = |msg: String| Err(Error::Config(format!("layer `{}`: {msg}", p.name)));
    if inputs.len() != p.input.channels {
        return fault(format!("{} input wires for {} channels", inputs.len(), p.input.channels));
    }
    let (in_frac, acc_frac) = (t.input.frac(), t.accum.frac());
    let module = format!("layer{index}_spool");
    let mut m = ModuleBuilder::new(&module, &format!("l{index}_"), schedule);
    let scan = Scan::new(p.input, p.window, p.placement());
    let (taps, line_bits) = line_buffer(&mut m, &scan, inputs);
    let pad = max_pad(&t.input) as i128;
    let (cells, start) = gate(&mut m, &scan, &taps, |_| if p.op == PoolOp::Max { pad } else { 0 });
    let ((kh, kw), ch) = (p.window.size, p.input.channels);
    // The in-image cell counts the outputs divide by (average), and which one holds now.
    let mut counts: Vec<i128> = Vec::new();
    let (oh, ow) = (scan.place.out_height, scan.place.out_width);
    for oy in 0..oh {
        for ox in 0..ow {
            let rows = (0..kh).filter(|&ky| scan.row_in(oy, ky)).count();
            let cols = (0..kw).filter(|&kx| scan.col_in(ox, kx)).count();
            let n = (rows * cols) as i128;
            if !counts.contains(&n) {
                counts.push(n);
            }
        }
    }
    let count = (p.op == PoolOp::Average && counts.len() > 1).then(|| {
        let pre = m.prefix.clone();
        let id = m.external(&format!("{pre}n"), 0, (kh * kw) as i128, 0);
        let rc: Vec<String> = (0..kh).map(|k| format!("{pre}rm[{k}]")).collect();
        let cc: Vec<String> = (0..kw).map(|k| format!("{pre}cm[{k}]")).collect();
        let w = m.sig(id).width;
        m.raw_body(&format!(
            "  wire [{w1}:0] {pre}rc = {};\n  wire [{w1}:0] {pre}cc = {};\n  assign {pre}n = {pre}rc * {pre}cc;\n",
            rc.join(" + "),
            cc.join(" + "),
            w1 = w - 1
        ));
        id
    });
    let mut stats = TreeStats::default();
    let mut rounded = std::collections::HashMap::new();
    let mut values = Vec::with_capacity(ch);
    for c in 0..ch {
        let window: Vec<SigId> = (0..kh * kw).map(|k| cells[k * ch + c]).collect();
        let base = format!("w{c}");
        let (v, level) = match p.op {
            PoolOp::Max => {
                let (v, level) = max_tree(&mut m, &base, &window, None, start);
                (cast(&mut m, v, in_frac, &t.accum, &format!("{base}_m"), level), level)
            }
            PoolOp::Average => {
                let terms = average_terms(&mut m, t, &window, &mut rounded, &base, start)
                    .map_err(|e| Error::Config(format!("layer `{}`: {e}", p.name)))?;
                let (sum, level) = sum_tree(&mut m, &format!("{base}_sum"), terms, t.accum.width, &mut stats);
                let acc = cast(&mut m, sum, acc_frac, &t.accum, &format!("{base}_a"), level);
                let (alo, ahi) = (m.sig(acc).lo, m.sig(acc).hi);
                let quotients: Vec<(i128, SigId, u32)> = counts
                    .iter()
                    .map(|&n| {
                        let (q, l) = DivByConst::for_range(n, alo, ahi).build(&mut m, acc, &format!("{base}_n{n}"), level);
                        (n, q, l)
                    })
                    .collect();
                match count {
                    None => (quotients[0].1, quotients[0].2),
                    Some(n_sig) => {
                        let level = quotients.iter().map(|q| q.2).max().unwrap_or(level) + 1;
                        let lo = quotients.iter().map(|q| m.sig(q.1).lo).min().unwrap_or(0);
                        let hi = quotients.iter().map(|q| m.sig(q.1).hi).max().unwrap_or(0);
                        let mut operands = vec![n_sig];
                        operands.extend(quotients.iter().map(|q| q.1));
                        let ns: Vec<i128> = quotients.iter().map(|q| q.0).collect();
                        let sel = m.assign(&format!("{base}_q"), (lo, hi), None, level, Op::Lut, &operands, |x| {
                            let mut e = x[ns.len()].clone();
                            for k in (0..ns.len() - 1).rev() {
                                e = format!("({} == {}) ? {} : {e}", x[0], ns[k], x[k + 1]);
                            }
                            e
                        });
                        m.cost.select_bits += (ns.len() as u64 - 1) * m.sig(sel).width as u64;
                        (sel, level)
                    }
                }
            }
        };
        values.push((v, level));
    }
    let last = values.iter().map(|&(_, l)| l).max().unwrap_or(start) + 1;
    let stage = schedule.stage_after(last);
    let mut outputs = Vec::with_capacity(ch);
    for (c, &(v, _)) in values.iter().enumerate() {
        let y = cast(&mut m, v, acc_frac, &t.result, &format!("y{c}"), last);
        let s = m.sig(y).clone();
        m.output(&format!("y{c}"), y, stage);
        outputs.push(PortSpec { lo: s.lo, hi: s.hi, stage: 0, arrival: 0 });
    }
    out_valid(&mut m, stage);
    let sum = summary(&m, &module, index, ch, ch, (start + 1, last));
    Ok(finish(m, sum, outputs, (scan, line_bits), stage, last))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::conv::Padding;

    #[test]
    fn outputs_fall_at_their_last_window_cell_and_padding_is_flushed() {
        // 3x3 `same` on 4x4: pad 1 each side; output (0,0)'s last cell is
        // pixel (1,1) = step 5, output (3,3)'s is (4,4) = step 4·4+4 = 20,
        // past the 16 pixels: 5 flush steps after the last pixel.
        let input = Shape3 { height: 4, width: 4, channels: 1 };
        let window = Window::new((3, 3), (1, 1), Padding::Same);
        let scan = Scan::new(input, window, window.place("c", input).unwrap());
        assert_eq!((scan.slot(0, 0), scan.slot(0, 3), scan.slot(1, 0), scan.slot(3, 3)), (5, 8, 9, 20));
        assert_eq!((scan.last_step(), scan.depth()), (20, 11));
        assert!(!scan.row_in(0, 0) && scan.row_in(0, 1) && !scan.col_in(3, 2) && scan.col_in(3, 1));
        // Pixels one per clock from cycle 0: output k appears the cycle after its step (+ latency 2).
        let (outs, free) = scan.busy(&(0..16).collect::<Vec<u64>>(), 2);
        assert_eq!((outs[0], outs[15], free), (5 + 1 + 2, 20 + 1 + 2, 21));
        // Stride 2 `valid` 2x2 on 5x5: the last pixel row and column are read by no window.
        let input = Shape3 { height: 5, width: 5, channels: 2 };
        let window = Window::new((2, 2), (2, 2), Padding::Valid);
        let scan = Scan::new(input, window, window.place("p", input).unwrap());
        assert_eq!((scan.slot(0, 0), scan.slot(1, 1), scan.last_step()), (6, 18, 24));
    }
}
