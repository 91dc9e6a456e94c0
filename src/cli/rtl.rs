//! `qforge rtl` (write the Verilog for a model) and `qforge rtl-sim` (simulate
//! it with Verilator or Icarus and compare every output bit with the
//! fixed-point model).
use super::common::DataArgs;
use super::print_json;
use crate::error::Error;
use crate::model::predict_io::parse_raw_rows;
use crate::model::{FixedNetwork, TrainedModel};
use crate::rtl::{self, RtlOptions, SimOptions, Simulator};
use crate::train::session::test_split_for;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct RtlArgs {
    /// Trained model (model.json); every kernel and bias must be quantized.
    #[arg(long)]
    pub model: PathBuf,
    /// Folder for the Verilog, the manifest and the file list.
    #[arg(long, default_value = "qforge-out/rtl")]
    pub out: PathBuf,
    /// Registers after every N logic levels (adder-tree levels, activations); 0 = combinational.
    #[arg(long, default_value_t = 0)]
    pub pipeline_every: u32,
    /// Registers placed by delay instead: where the next operation would end
    /// past this clock period (ns) under the generator's delay model.
    #[arg(long, value_name = "NS", conflicts_with = "pipeline_every")]
    pub pipeline_ns: Option<f64>,
    /// Share sub-expressions across each dense layer's outputs (constant
    /// matrix-vector multiplication with common sub-expressions, as da4ml's cmvm).
    #[arg(long)]
    pub cmvm: bool,
    /// I/O type: parallel (the whole input at once) or stream (image models:
    /// one pixel per clock, line buffers; latency counted from the last pixel).
    #[arg(long, default_value = "parallel", value_parser = ["parallel", "stream"])]
    pub io: String,
    /// Name of the top module.
    #[arg(long, default_value = rtl::DEFAULT_TOP)]
    pub top: String,
    #[arg(long)]
    pub json: bool,
}

pub fn run_rtl(args: RtlArgs) -> anyhow::Result<ExitCode> {
    let model = TrainedModel::load(&args.model)?;
    let opts = RtlOptions {
        pipeline_every: args.pipeline_every,
        pipeline_ns: args.pipeline_ns,
        top: args.top.clone(),
        cmvm: args.cmvm,
        stream: args.io == "stream",
    };
    let design = rtl::generate(&model, &args.model, &opts)?;
    let written = rtl::write_design(&design, &args.out)?;
    let m = &design.manifest;
    if args.json {
        print_json(&serde_json::json!({
            "out": args.out,
            "files": written,
            "manifest": m,
        }))?;
    } else {
        let stages = match &m.stream {
            Some(_) => format!("{} cycles from the last pixel to out_valid", m.latency_cycles),
            None => format!("{} register stages (latency {} cycles)", m.latency_cycles, m.latency_cycles),
        };
        outln!(
            "wrote {} ({} modules, top `{}`): {} logic levels, {stages}, {} register bits",
            args.out.display(),
            m.files.len(),
            m.top,
            m.levels,
            m.register_bits
        );
        for l in &m.layers {
            outln!(
                "  {} ({}): {}x{}, {} non-zero weights, {} CSD digits, {} adders ({} bits), tree depth {}",
                l.module,
                l.instance,
                l.n_in,
                l.n_out,
                l.nonzero_weights,
                l.csd_digits,
                l.adders,
                l.adder_bits,
                l.tree_depth
            );
        }
        outln!("  output stage: {}", m.output_stage);
        if let Some(s) = &m.stream {
            outln!(
                "  io stream: one pixel per clock, {} pixels an image, an image every {} cycles or more",
                s.pixels,
                s.frame_interval_cycles
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args, Debug)]
pub struct RtlSimArgs {
    /// Trained model (model.json) the design was written from.
    #[arg(long)]
    pub model: PathBuf,
    /// Design folder written by `qforge rtl`.
    #[arg(long)]
    pub rtl: PathBuf,
    /// Raw input bits (one sample per line, as `qforge predict --inputs-raw` writes); default: the test split.
    #[arg(long)]
    pub inputs_raw: Option<PathBuf>,
    #[command(flatten)]
    pub data: DataArgs,
    /// Simulate only the first N samples.
    #[arg(long)]
    pub limit: Option<usize>,
    #[arg(long, default_value = "verilator", value_parser = ["verilator", "iverilog"])]
    pub simulator: String,
    /// Stream designs: stall the pixel stream at random, this percent of the
    /// cycles (0-90), and let the design's `in_ready` pace the frames.
    #[arg(long)]
    pub stall: Option<u32>,
    #[arg(long)]
    pub json: bool,
}

pub fn run_rtl_sim(args: RtlSimArgs) -> anyhow::Result<ExitCode> {
    let model = TrainedModel::load(&args.model)?;
    let net = FixedNetwork::from_model(&model)?;
    let manifest = rtl::load_manifest(&args.rtl)?;
    let mut raw = match &args.inputs_raw {
        Some(path) => parse_raw_rows(path, &crate::error::read_to_string(path)?, net.n_inputs())?,
        None => {
            let test = test_split_for(&model, &args.data.source()?, args.data.split_seed)?;
            (0..test.len()).flat_map(|i| net.quantize_inputs(test.row(i))).collect()
        }
    };
    if let Some(n) = args.limit {
        raw.truncate(n * net.n_inputs());
    }
    let opts = SimOptions { simulator: args.simulator.parse::<Simulator>()?, stall_percent: args.stall, ..SimOptions::default() };
    eprintln!("simulating {} samples with {} ...", raw.len() / net.n_inputs(), args.simulator);
    let result = rtl::simulate(&args.rtl, &manifest, &net, &raw, &opts)?;
    if args.json {
        print_json(&serde_json::to_value(&result)?)?;
    } else {
        outln!(
            "{} ({}): {} samples, {} mismatches; latency {} cycles (design: {}); build {:.1} s{}, run {:.3} s ({:.0} samples/s)",
            args.simulator,
            result.simulator_version.as_deref().unwrap_or("version unknown"),
            result.samples,
            result.mismatches,
            result.latency_cycles,
            result.expected_latency_cycles,
            result.build_secs,
            if result.build_cached { " (cached)" } else { "" },
            result.run_secs,
            result.samples_per_sec
        );
        for m in &result.first_mismatches {
            outln!("  {m}");
        }
    }
    if result.mismatches > 0 {
        return Err(Error::Mismatch(format!(
            "{} of {} samples differ between the RTL simulation and the fixed-point model",
            result.mismatches, result.samples
        ))
        .into());
    }
    // With stalls the wait after the last pixel may be shorter, never longer.
    let late = if args.stall.is_some() {
        result.latency_cycles > result.expected_latency_cycles
    } else {
        result.latency_cycles != result.expected_latency_cycles
    };
    if late {
        return Err(Error::Mismatch(format!(
            "measured latency {} cycles, but the design has {} register stages",
            result.latency_cycles, result.expected_latency_cycles
        ))
        .into());
    }
    Ok(ExitCode::SUCCESS)
}
