//! The streaming design (`qforge rtl --io stream`): one input pixel (all
//! channels) per clock with `in_valid`; the leading convolutions and window
//! poolings are streaming modules (`stream`), chained by their valid
//! signals; their last map fills a flatten buffer (`stream_buffer`) or, when
//! a global pooling follows, its running accumulators (`stream_global`), and
//! the rest (the dense head, the output stage) is the parallel design's
//! modules behind it, started by the buffer's `done`. `in_ready` holds the
//! next image back until the frame interval has passed.
//!
//! The cycle timing is fixed by the layers' scans, so it is computed here
//! ([`StreamInfo`]): the latency from the last pixel's `in_valid` to
//! `out_valid`, and the frame interval (first pixel to first pixel) a next
//! image must keep so that no layer's flush steps meet its pixels.
//!
//! Input: a `FixedNetwork` with image layers. Output: an [`RtlDesign`].
use super::cost::{DesignCost, LayerCost};
use super::layer::{build_layer, PortSpec};
use super::netlist::{signed_bits, ModuleBuilder, Schedule};
use super::pool::build_global;
use super::softmax::build_output;
use super::stream::{self, StreamLayer};
use super::stream_global::build_global_stream;
use super::verilog::{header, PortGroup, RtlDesign, RtlManifest};
use super::RtlOptions;
use crate::error::{Error, Result};
use crate::model::fixed_features::FixedFeature;
use crate::model::FixedNetwork;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// What the stream testbench and readers need beyond the parallel manifest.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct StreamInfo {
    /// Pixels per image (the `in_*` ports carry one pixel's channels).
    pub pixels: usize,
    /// Cycles from one image's first pixel to the next's, at least: the
    /// pixels plus the slowest layer's flush steps and datapath.
    pub frame_interval_cycles: u64,
    /// Per streaming layer: the line buffer's depth in pixels.
    pub line_buffer_pixels: Vec<usize>,
    /// Register bits of the line buffers and the flatten buffer (none when a
    /// global pooling accumulates the stream).
    pub buffer_register_bits: u64,
}

/// The streaming layers' timing for one frame whose pixels arrive at cycles
/// 0, 1, …: (cycle the buffer's `done` rises, frame interval).
fn timing(layers: &[StreamLayer], pixels: usize) -> (u64, u64) {
    let mut arrivals: Vec<u64> = (0..pixels as u64).collect();
    let mut interval = pixels as u64;
    for l in layers {
        let (outs, free) = l.scan.busy(&arrivals, l.latency);
        interval = interval.max(free - arrivals[0]);
        arrivals = outs;
    }
    let done = arrivals.last().expect("a map has pixels") + 1;
    (done, interval.max(done - arrivals[0]))
}

/// The flatten buffer: every pixel of the last streamed map, in raster
/// order (channels last, the flat order), and `done` the cycle after the last.
fn buffer_module(inputs: &[PortSpec], pixels: usize) -> (String, Vec<PortSpec>, u64) {
    let ch = inputs.len();
    let pb = (usize::BITS - pixels.leading_zeros()).max(1);
    let mut ports = vec!["input wire clk".to_string(), "input wire rst".into(), "input wire in_valid".into()];
    let widths: Vec<u32> = inputs.iter().map(|p| signed_bits(p.lo, p.hi)).collect();
    for (c, w) in widths.iter().enumerate() {
        ports.push(format!("input wire signed [{}:0] x{c}", w - 1));
    }
    let mut body = String::new();
    let mut regs = String::new();
    let mut outputs = Vec::with_capacity(pixels * ch);
    let mut bits = 0u64;
    for k in 0..pixels {
        for (c, w) in widths.iter().enumerate() {
            let i = k * ch + c;
            ports.push(format!("output wire signed [{}:0] y{i}", w - 1));
            let _ = writeln!(body, "  reg signed [{}:0] b{i};\n  assign y{i} = b{i};", w - 1);
            let _ = writeln!(regs, "    if (in_valid && pos == {k}) b{i} <= x{c};");
            outputs.push(PortSpec { lo: inputs[c].lo, hi: inputs[c].hi, stage: 0, arrival: 0 });
            bits += *w as u64;
        }
    }
    ports.push("output reg done".into());
    let last = pixels - 1;
    let text = format!(
        "module stream_buffer (\n  {}\n);\n  reg [{}:0] pos;\n{body}  always @(posedge clk) begin\n{regs}    done <= rst ? 1'b0 : (in_valid && pos == {last});\n    if (rst) pos <= 0;\n    else if (in_valid) pos <= (pos == {last}) ? 0 : pos + 1;\n  end\nendmodule\n",
        ports.join(",\n  "),
        pb - 1
    );
    (text, outputs, bits + pb as u64 + 1)
}

/// `in_ready` and `top_take` (a pixel is taken when `in_valid & in_ready`):
/// after a frame's last pixel is taken, `in_ready` stays low for
/// `interval - pixels` cycles. With stalls, a frame's later events come no
/// later than if its pixels had arrived back to back ending at its last one,
/// and the next frame's no earlier, so the one-per-clock interval keeps every
/// layer's flush and the head's buffer clear of the next frame. Returns the
/// register bits.
fn ready_logic(m: &mut ModuleBuilder, pixels: usize, interval: u64) -> u64 {
    let gap = interval - pixels as u64;
    if gap == 0 {
        m.raw_body("  assign in_ready = 1'b1;\n  wire top_take = in_valid;\n");
        return 0;
    }
    let pb = (usize::BITS - (pixels - 1).leading_zeros()).max(1);
    let gb = 64 - gap.leading_zeros();
    let last = pixels - 1;
    m.raw_body(&format!(
        "  reg [{p1}:0] top_pix;\n  reg [{g1}:0] top_cool;\n  assign in_ready = (top_cool == 0);\n  wire top_take = in_valid & in_ready;\n  always @(posedge clk) begin\n    if (rst) begin top_pix <= 0; top_cool <= 0; end\n    else begin\n      if (top_take) top_pix <= (top_pix == {last}) ? 0 : top_pix + 1;\n      if (top_take && top_pix == {last}) top_cool <= {gap};\n      else if (top_cool != 0) top_cool <= top_cool - 1;\n    end\n  end\n",
        p1 = pb - 1,
        g1 = gb - 1
    ));
    (pb + gb) as u64
}

pub fn build_stream_design(net: &FixedNetwork, opts: &RtlOptions) -> Result<RtlDesign> {
    let Some(stack) = &net.features else {
        return Err(Error::Config("--io stream streams image pixels: this model has no image layers (use --io parallel)".into()));
    };
    if opts.pipeline_ns.is_some() {
        return Err(Error::Config("--io stream places registers every N levels only: use --pipeline-every, not --pipeline-ns".into()));
    }
    let schedule = Schedule::every(opts.pipeline_every);
    let input = match stack.layers.first() {
        Some(FixedFeature::Conv(c)) => c.input,
        Some(FixedFeature::Pool(p)) => p.input,
        Some(FixedFeature::GlobalPool(g)) => g.input,
        _ => return Err(Error::Config("--io stream needs an image layer first".into())),
    };
    let t_in = net.input_type;
    let range = PortSpec { lo: t_in.min_raw() as i128, hi: t_in.max_raw() as i128, stage: 0, arrival: 0 };
    let mut pixel = vec![range; input.channels];
    let mut pixels = input.height * input.width;
    // The streamed prefix: convolutions and window poolings.
    let mut streamed = Vec::new();
    let mut rest = Vec::new();
    for layer in &stack.layers {
        let index = streamed.len() + 1;
        match layer {
            FixedFeature::Conv(c) if rest.is_empty() => streamed.push(stream::build_conv(c, index, &pixel, schedule, opts.cmvm)?),
            FixedFeature::Pool(p) if rest.is_empty() => streamed.push(stream::build_pool(p, index, &pixel, schedule)?),
            other => {
                rest.push(other.clone());
                continue;
            }
        }
        let last = streamed.last().expect("just built");
        pixel.clone_from(&last.built.outputs);
        pixels = last.scan.place.out_height * last.scan.place.out_width;
    }
    let (done_cycle, frame_interval) = timing(&streamed, input.height * input.width);
    // A global pooling right behind the streamed layers accumulates the
    // stream itself: no flatten buffer.
    let global = match rest.first() {
        Some(FixedFeature::GlobalPool(g)) => Some(build_global_stream(g, streamed.len() + 1, &pixel, schedule)?),
        _ => None,
    };
    let (buffer_text, mut ports, buffer_bits) = match &global {
        Some(g) => (String::new(), g.outputs.clone(), 0),
        None => buffer_module(&pixel, pixels),
    };

    // Behind the buffer: the parallel modules, numbered on.
    let mut files = Vec::new();
    let mut costs = Vec::new();
    let mut summaries = Vec::new();
    let mut line_buffers = Vec::new();
    let mut buffer_register_bits = buffer_bits;
    for s in &streamed {
        line_buffers.push(s.scan.depth());
        buffer_register_bits += s.line_buffer_bits;
    }
    // Global pooling (all that may follow the streamed layers) and flatten (wiring).
    let mut head = Vec::new();
    let mut level = global.as_ref().map_or(0, |g| g.summary.last_level);
    let skip = global.is_some() as usize;
    let first_head = streamed.len() + skip + 1;
    for layer in rest.iter().skip(skip) {
        let index = first_head + head.len();
        let b = match layer {
            FixedFeature::GlobalPool(g) => build_global(g, index, &ports, level, schedule)?,
            FixedFeature::Flatten { .. } => continue,
            other => return Err(Error::Config(format!("layer `{}`: no streaming form after a global pooling or flatten", other.name()))),
        };
        level = b.summary.last_level;
        ports.clone_from(&b.outputs);
        head.push(b);
    }
    for layer in &net.layers {
        let index = first_head + head.len();
        let b = build_layer(layer, index, &ports, level, schedule, opts.cmvm)?;
        level = b.summary.last_level;
        ports.clone_from(&b.outputs);
        head.push(b);
    }
    let softmax = super::verilog::softmax_of(net);
    let output = build_output(&ports, softmax, level, schedule);
    let head_latency = output.out_stage;

    for s in &streamed {
        files.push((format!("{}.v", s.built.summary.module), header(&s.built.verilog)));
        summaries.push(s.built.summary.clone());
        costs.push(s.built.cost.clone());
    }
    if let Some(g) = &global {
        files.push((format!("{}.v", g.summary.module), header(&g.verilog)));
        summaries.push(g.summary.clone());
        costs.push(g.cost.clone());
    } else {
        files.push(("stream_buffer.v".to_string(), header(&buffer_text)));
        let mut buffer_cost = LayerCost::new("stream_buffer", pixels * pixel.len(), pixels * pixel.len());
        buffer_cost.register_bits = buffer_bits;
        costs.push(buffer_cost);
    }
    for b in &head {
        files.push((format!("{}.v", b.summary.module), header(&b.verilog)));
        summaries.push(b.summary.clone());
        costs.push(b.cost.clone());
    }
    files.push(("output_stage.v".to_string(), header(&output.verilog)));

    // The top: pixel ports, the stream chain, the buffer, the head.
    let top = opts.top.as_str();
    let mut m = ModuleBuilder::new(top, "top_", schedule);
    m.bit_input("rst");
    m.bit_input("in_valid");
    let mut current: Vec<usize> = (0..input.channels)
        .map(|i| m.raw_input(&format!("in_{i}"), t_in.width, t_in.signed, t_in.min_raw() as i128, t_in.max_raw() as i128))
        .collect();
    let mut valid = "top_take".to_string();
    m.raw_port("output wire in_ready");
    let in_bits = ready_logic(&mut m, input.height * input.width, frame_interval);
    m.cost.register_bits += in_bits;
    let mut body = String::new();
    let mut connect = |m: &mut ModuleBuilder, module: &str, inst: &str, ins: &[usize], outs: &[PortSpec], extra: &[String]| {
        let mut conns = vec![".clk(clk)".to_string()];
        conns.extend(extra.iter().cloned());
        for (i, &x) in ins.iter().enumerate() {
            conns.push(format!(".x{i}({})", m.sig(x).name));
        }
        let mut next = Vec::new();
        for (o, p) in outs.iter().enumerate() {
            let id = m.external(&format!("{inst}_y{o}"), p.lo, p.hi, p.stage);
            conns.push(format!(".y{o}({})", m.sig(id).name));
            next.push(id);
        }
        let _ = writeln!(body, "  {module} {inst} (\n    {}\n  );", conns.join(",\n    "));
        m.raw_body(&std::mem::take(&mut body));
        next
    };
    for s in &streamed {
        let inst = &s.built.summary.instance;
        m.raw_body(&format!("  wire {inst}_valid;\n"));
        let extra = [".rst(rst)".to_string(), format!(".in_valid({valid})"), format!(".out_valid({inst}_valid)")];
        current = connect(&mut m, &s.built.summary.module, inst, &current, &s.built.outputs, &extra);
        valid = format!("{inst}_valid");
    }
    m.raw_body("  wire buf_done;\n");
    let extra = [".rst(rst)".to_string(), format!(".in_valid({valid})"), ".done(buf_done)".to_string()];
    current = match &global {
        Some(g) => connect(&mut m, &g.summary.module, &g.summary.instance, &current, &g.outputs, &extra),
        None => {
            let buffer_ports: Vec<PortSpec> = (0..pixels).flat_map(|_| pixel.iter().cloned()).collect();
            connect(&mut m, "stream_buffer", "buf0", &current, &buffer_ports, &extra)
        }
    };
    for b in &head {
        current = connect(&mut m, &b.summary.module, &b.summary.instance, &current, &b.outputs, &[]);
    }
    let (prob_group, class_bits) = super::verilog::wire_output_stage(&mut m, &current, &output, net, softmax, head_latency);
    m.raw_port("output wire out_valid");
    m.raw_body(&super::verilog::valid_chain("buf_done", head_latency));
    m.cost.register_bits += head_latency as u64;
    files.push((format!("{top}.v"), header(&m.finish())));
    costs.push(output.cost);
    let mut top_cost = std::mem::take(&mut m.cost);
    (top_cost.n_in, top_cost.n_out, top_cost.out_stage) = (input.channels, net.n_outputs(), head_latency);
    costs.push(top_cost);

    let last_pixel = (input.height * input.width - 1) as u64;
    // Counted from the last pixel: a network whose last rows or columns feed
    // no output has its result before that pixel (this wrapped around before).
    let Some(latency) = (done_cycle + head_latency as u64).checked_sub(last_pixel) else {
        return Err(Error::Config(format!(
            "--io stream: the result is ready {} cycles before the image's last pixel (its last rows or columns feed no output), and out_valid is timed from the last pixel: no stream design for this network yet (use padding = \"same\" or --io parallel)",
            last_pixel - done_cycle - head_latency as u64
        )));
    };
    let latency = latency as u32;
    let cost = DesignCost { frame_interval_cycles: Some(frame_interval), ..DesignCost::from_layers(costs, latency) };
    let register_bits = cost.register_bits;
    let critical_ps = summaries.iter().map(|l| l.critical_ps).max().unwrap_or(0).max(output.critical_ps);
    let stream = StreamInfo {
        pixels: input.height * input.width,
        frame_interval_cycles: frame_interval,
        line_buffer_pixels: line_buffers,
        buffer_register_bits,
    };
    let manifest = RtlManifest {
        top: top.to_string(),
        files: files.iter().map(|(n, _)| n.clone()).collect(),
        pipeline_every: opts.pipeline_every,
        pipeline_ns: None,
        cmvm: opts.cmvm,
        latency_cycles: latency,
        levels: output.last_level,
        inputs: PortGroup::of("in_", input.channels, &t_in),
        logits: PortGroup::of("logit_", net.n_outputs(), &net.layers.last().expect("layers").out_type),
        probs: prob_group,
        class_bits,
        output_stage: super::verilog::output_stage_name(softmax),
        layers: summaries,
        register_bits,
        critical_ps,
        cost: cost.clone(),
        stream: Some(stream),
    };
    Ok(RtlDesign { files, manifest, model_json: None, cost })
}
