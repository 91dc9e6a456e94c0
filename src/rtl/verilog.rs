//! Assembles the Verilog-2005 design: one module per image layer
//! (`layerN_conv`, `layerN_pool`: `features`) and dense layer
//! (`layerN_dense`, instance `lN`), the output stage (`output_stage`, instance
//! `out`) and the top module with flat raw-bit ports, a valid chain and the
//! registers the schedule asks for. Writes one `.v` file per module, the file
//! list, the manifest `rtl-sim` reads, and the project parameters `qforge
//! synth --tool yosys` reads (top name).
//!
//! Input: a `FixedNetwork`. Output: [`RtlDesign`] (text in memory) and files.
use super::cost::DesignCost;
use super::layer::{build_layer, LayerSummary, PortSpec};
use super::netlist::{ModuleBuilder, Schedule, SigId};
use super::softmax::{build_output, BuiltOutput, Softmax};
use super::RtlOptions;
use crate::error::{Error, Result};
use crate::model::softmax::ceil_log2;
use crate::model::FixedNetwork;
use crate::quant::FixedType;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// The manifest file `qforge rtl` writes beside the Verilog.
pub const MANIFEST_FILE: &str = "qforge_rtl.json";

/// A group of raw-bit ports `{prefix}{j}`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PortGroup {
    pub prefix: String,
    pub count: usize,
    pub width: u32,
    pub signed: bool,
}

impl PortGroup {
    pub(crate) fn of(prefix: &str, count: usize, t: &FixedType) -> Self {
        PortGroup { prefix: prefix.to_string(), count, width: t.width, signed: t.signed }
    }
}

/// What `rtl-sim` and readers need to know about a generated design.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RtlManifest {
    pub top: String,
    pub files: Vec<String>,
    pub pipeline_every: u32,
    /// Registers placed by delay at this clock period (`--pipeline-ns`); absent
    /// (none) in folders written before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_ns: Option<f64>,
    /// Dense layers share sub-expressions (`--cmvm`); absent (false) in folders written before it.
    #[serde(default)]
    pub cmvm: bool,
    /// Register stages from `in_valid` to `out_valid` (what the schedule built).
    pub latency_cycles: u32,
    /// Logic levels (adder-tree levels, activations, softmax steps).
    pub levels: u32,
    pub inputs: PortGroup,
    pub logits: PortGroup,
    pub probs: Option<PortGroup>,
    pub class_bits: u32,
    /// The output stage: qforge's softmax tables, hls4ml's softmax (named) or
    /// the argmax of the logits.
    pub output_stage: String,
    pub layers: Vec<LayerSummary>,
    pub register_bits: u64,
    /// By delay: the latest any signal settles in its stage (ps, under the
    /// model of `rtl::delay`); absent (0) in folders written before it.
    #[serde(default)]
    pub critical_ps: u32,
    /// The structural cost (`rtl::cost`); absent in folders written before it.
    #[serde(default)]
    pub cost: DesignCost,
    /// A streaming design (`--io stream`): `in_*` carry one pixel, and
    /// `latency_cycles` counts from the last pixel; absent for io_parallel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<super::stream_top::StreamInfo>,
}

impl RtlManifest {
    /// The modules per-layer synthesis runs on their own, as (module, file):
    /// every module but the top (its file is named after it), then the top.
    pub fn modules(&self) -> Vec<(String, String)> {
        let top_file = format!("{}.v", self.top);
        let mut parts: Vec<(String, String)> =
            self.files.iter().filter(|f| **f != top_file).map(|f| (f.strip_suffix(".v").unwrap_or(f).to_string(), f.clone())).collect();
        parts.push((self.top.clone(), top_file));
        parts
    }
}

/// The generated design, in memory.
pub struct RtlDesign {
    /// (file name, Verilog text)
    pub files: Vec<(String, String)>,
    pub manifest: RtlManifest,
    /// The model the design computes, written beside it as `model.json` so
    /// the folder says what it is (the run history records its name,
    /// quantizers and estimate when the folder is synthesised).
    pub model_json: Option<Vec<u8>>,
    pub cost: DesignCost,
}

pub fn build_design(net: &FixedNetwork, opts: &RtlOptions) -> Result<RtlDesign> {
    let (top, pipeline_every) = (opts.top.as_str(), opts.pipeline_every);
    let schedule = schedule_of(opts)?;
    let mut costs = Vec::new();
    let mut files = Vec::new();
    let mut summaries = Vec::new();
    let t_in = net.input_type;
    let mut ports: Vec<PortSpec> =
        (0..net.n_inputs()).map(|_| PortSpec { lo: t_in.min_raw() as i128, hi: t_in.max_raw() as i128, stage: 0, arrival: 0 }).collect();
    let mut level = 0;
    let mut register_bits = 0;
    let mut layer_outputs = Vec::new();
    // Image layers first (a convolutional model), then the dense layers, numbered on.
    let image = match &net.features {
        Some(stack) => super::features::build_stack(stack, &mut ports, &mut level, schedule, opts.cmvm)?,
        None => Vec::new(),
    };
    let first_dense = image.len() + 1;
    let mut image = image.into_iter();
    for k in 0.. {
        let built = match image.next() {
            Some(b) => b,
            None if k >= first_dense - 1 + net.layers.len() => break,
            None => build_layer(&net.layers[k + 1 - first_dense], k + 1, &ports, level, schedule, opts.cmvm)?,
        };
        level = built.summary.last_level;
        register_bits += built.summary.register_bits;
        costs.push(built.cost);
        files.push((format!("{}.v", built.summary.module), header(&built.verilog)));
        summaries.push(built.summary);
        layer_outputs.push(built.outputs.clone());
        ports = built.outputs;
    }
    let logit_ports = ports.clone();
    let softmax = softmax_of(net);
    let output = build_output(&logit_ports, softmax, level, schedule);
    register_bits += output.cost.register_bits;
    files.push(("output_stage.v".to_string(), header(&output.verilog)));
    let latency = output.out_stage;

    // The top module: flat raw ports, instances, output registers, valid chain.
    let mut m = ModuleBuilder::new(top, "top_", schedule);
    m.bit_input("rst");
    m.bit_input("in_valid");
    let mut body = String::new();
    let mut current: Vec<usize> = (0..net.n_inputs())
        .map(|i| m.raw_input(&format!("in_{i}"), t_in.width, t_in.signed, t_in.min_raw() as i128, t_in.max_raw() as i128))
        .collect();
    for (k, summary) in summaries.iter().enumerate() {
        let inst = &summary.instance;
        let mut conns = vec![".clk(clk)".to_string()];
        for (i, &x) in current.iter().enumerate() {
            conns.push(format!(".x{i}({})", m.sig(x).name));
        }
        let mut next = Vec::new();
        for (o, p) in layer_outputs[k].iter().enumerate() {
            let id = m.external(&format!("{inst}_y{o}"), p.lo, p.hi, p.stage);
            conns.push(format!(".y{o}({})", m.sig(id).name));
            next.push(id);
        }
        let _ = writeln!(body, "  {} {inst} (\n    {}\n  );", summary.module, conns.join(",\n    "));
        m.raw_body(&std::mem::take(&mut body));
        current = next;
    }
    let (prob_group, class_bits) = wire_output_stage(&mut m, &current, &output, net, softmax, latency);
    m.raw_port("output wire out_valid");
    let valid = valid_chain("in_valid", latency);
    m.raw_body(&valid);
    m.cost.register_bits += latency as u64;
    register_bits += m.cost.register_bits;
    files.push((format!("{top}.v"), header(&m.finish())));
    costs.push(output.cost);
    let mut top_cost = std::mem::take(&mut m.cost);
    (top_cost.n_in, top_cost.n_out, top_cost.out_stage) = (net.n_inputs(), net.n_outputs(), latency);
    costs.push(top_cost);
    let cost = DesignCost::from_layers(costs, latency);

    let critical_ps = summaries.iter().map(|l| l.critical_ps).max().unwrap_or(0).max(output.critical_ps);
    let manifest = RtlManifest {
        top: top.to_string(),
        files: files.iter().map(|(n, _)| n.clone()).collect(),
        pipeline_every,
        pipeline_ns: opts.pipeline_ns,
        cmvm: opts.cmvm,
        latency_cycles: latency,
        levels: output.last_level,
        inputs: PortGroup::of("in_", net.n_inputs(), &t_in),
        logits: PortGroup::of("logit_", net.n_outputs(), &net.layers.last().expect("layers").out_type),
        probs: prob_group,
        class_bits,
        output_stage: output_stage_name(softmax),
        layers: summaries,
        register_bits,
        critical_ps,
        cost: cost.clone(),
        stream: None,
    };
    Ok(RtlDesign { files, manifest, model_json: None, cost })
}

/// Instantiate the output stage after the logits `current` and drive the top's
/// logit, probability and class outputs at `latency` (the parallel and the stream top).
pub(super) fn wire_output_stage(
    m: &mut ModuleBuilder,
    current: &[SigId],
    output: &BuiltOutput,
    net: &FixedNetwork,
    softmax: Option<Softmax<'_>>,
    latency: u32,
) -> (Option<PortGroup>, u32) {
    let mut conns = vec![".clk(clk)".to_string()];
    for (i, &x) in current.iter().enumerate() {
        conns.push(format!(".x{i}({})", m.sig(x).name));
    }
    let probs: Vec<SigId> = output
        .probs
        .iter()
        .enumerate()
        .map(|(j, p)| {
            let id = m.external(&format!("out_prob{j}"), p.lo, p.hi, p.stage);
            conns.push(format!(".prob{j}({})", m.sig(id).name));
            id
        })
        .collect();
    let class = m.external("out_class", output.class.lo, output.class.hi, output.class.stage);
    conns.push(format!(".class_idx({})", m.sig(class).name));
    m.raw_body(&format!("  output_stage out (\n    {}\n  );\n", conns.join(",\n    ")));
    let out_t = net.layers.last().expect("layers").out_type;
    for (j, &x) in current.iter().enumerate() {
        m.raw_output(&format!("logit_{j}"), x, out_t.width, latency);
    }
    let prob_group = softmax.map(|_| {
        let t = net.output_type();
        for (j, &p) in probs.iter().enumerate() {
            m.raw_output(&format!("prob_{j}"), p, t.width, latency);
        }
        PortGroup::of("prob_", probs.len(), &t)
    });
    let class_bits = ceil_log2(net.n_outputs()).max(1);
    m.raw_output("class_idx", class, class_bits, latency);
    (prob_group, class_bits)
}

/// The softmax the output stage builds: qforge's tables or hls4ml's variant.
pub(super) fn softmax_of(net: &FixedNetwork) -> Option<Softmax<'_>> {
    match (&net.softmax, &net.hls4ml_softmax) {
        (Some(t), _) => Some(Softmax::Qforge(t)),
        (None, Some(sm)) => Some(Softmax::Hls4ml(sm)),
        (None, None) => None,
    }
}

/// What the manifest says the output stage computes.
pub(super) fn output_stage_name(softmax: Option<Softmax<'_>>) -> String {
    match softmax {
        Some(Softmax::Qforge(_)) => "softmax tables + argmax of the softmax outputs".to_string(),
        Some(Softmax::Hls4ml(sm)) => {
            format!("hls4ml's {} softmax + argmax of its outputs", sm.implementation.hls4ml_name().unwrap_or("stable"))
        }
        None => "argmax of the logits".to_string(),
    }
}

/// The schedule `opts` asks for: every N levels, or by delay at `pipeline_ns`.
fn schedule_of(opts: &RtlOptions) -> Result<Schedule> {
    match opts.pipeline_ns {
        None => Ok(Schedule::every(opts.pipeline_every)),
        Some(_) if opts.pipeline_every > 0 => Err(Error::Config(format!(
            "pipeline every {} levels and by delay at {} ns are two schedules: give one of --pipeline-every and --pipeline-ns",
            opts.pipeline_every,
            opts.pipeline_ns.unwrap_or(0.0)
        ))),
        Some(ns) if !ns.is_finite() || !(0.5..=1000.0).contains(&ns) => {
            Err(Error::Config(format!("pipeline_ns = {ns}: a clock period in ns from 0.5 to 1000 is needed")))
        }
        Some(ns) => Ok(Schedule::by_delay((ns * 1000.0).round() as u32)),
    }
}

pub(crate) fn header(text: &str) -> String {
    format!("// Written by qforge (`qforge rtl`): Verilog-2005, bit-exact with the fixed-point model.\n`default_nettype none\n{text}`default_nettype wire\n")
}

/// `out_valid` as `from` delayed by `latency` registers (cleared by `rst`).
pub(crate) fn valid_chain(from: &str, latency: u32) -> String {
    match latency {
        0 => format!("  assign out_valid = {from};\n"),
        1 => format!("  reg valid_q;\n  always @(posedge clk) valid_q <= rst ? 1'b0 : {from};\n  assign out_valid = valid_q;\n"),
        n => format!(
            "  reg [{n}:1] valid_q;\n  always @(posedge clk) valid_q <= rst ? {n}'d0 : {{valid_q[{}:1], {from}}};\n  assign out_valid = valid_q[{n}];\n",
            n - 1
        ),
    }
}
