//! `qforge estimate`: energy, bits, BOPs/EBOPs, resources and latency of a model.
use super::{print_json, CliReporter};
use crate::error::Error;
use crate::estimate::{self, BitsOptions, Calibration, EnergyOptions, Flow, FlowOptions, MemoryMode, Strategy, Target};
use crate::model::{ModelSpec, TrainedModel};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct EstimateArgs {
    /// Trained model (model.json): constant weights known, zero weights free.
    #[arg(long, conflicts_with = "spec", required_unless_present = "spec")]
    pub model: Option<PathBuf>,
    /// Model description (TOML): types only, every weight taken as non-zero and full width.
    #[arg(long)]
    pub spec: Option<PathBuf>,
    /// FPGA part (any package/speed of a known device).
    #[arg(long, default_value = estimate::parts::PAPER_PART)]
    pub part: String,
    /// Clock period in ns.
    #[arg(long, default_value_t = 5.0)]
    pub clock: f64,
    #[arg(long, default_value_t = 1)]
    pub reuse_factor: u32,
    #[arg(long, value_enum, default_value = "latency")]
    pub strategy: Strategy,
    /// Which design to price: `hls` (hls4ml's HLS C++) or `rtl` (qforge's own
    /// Verilog through Yosys: the structural estimate of what `qforge rtl` writes).
    #[arg(long, value_enum, default_value = "hls")]
    pub flow: Flow,
    /// With --flow rtl: registers every N logic levels, as `qforge rtl --pipeline-every` (0: combinational).
    #[arg(long, default_value_t = 0)]
    pub pipeline_every: u32,
    /// With --flow rtl: registers placed by delay at this clock period (ns), as `qforge rtl --pipeline-ns`.
    #[arg(long, value_name = "NS", conflicts_with = "pipeline_every")]
    pub pipeline_ns: Option<f64>,
    /// With --flow rtl: price the design `qforge rtl --cmvm` writes (shared sub-expressions).
    #[arg(long)]
    pub cmvm: bool,
    /// With --flow rtl: price the parallel design or the stream design
    /// (`qforge rtl --io stream`: one pixel per clock, line buffers).
    #[arg(long, default_value = "parallel", value_parser = ["parallel", "stream"])]
    pub io: String,
    /// Calibration file (TOML); default: $QFORGE_CALIBRATION, else qforge-out/calibration.toml if present, else built-in.
    #[arg(long)]
    pub calibration: Option<PathBuf>,
    /// Where weights live for the energy model (QTools `weights_on_memory`).
    #[arg(long, value_enum, default_value = "fixed")]
    pub weights_memory: MemoryMode,
    /// Where activations live (QTools `activations_on_memory`).
    #[arg(long, value_enum, default_value = "fixed")]
    pub activations_memory: MemoryMode,
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: EstimateArgs) -> anyhow::Result<ExitCode> {
    let _reporter = CliReporter::new(args.json);
    let cal = Calibration::discover(args.calibration.as_deref())?;
    let target = Target::new(&args.part, args.clock, args.reuse_factor, args.strategy)?;
    let energy =
        EnergyOptions { weights_on_memory: args.weights_memory, activations_on_memory: args.activations_memory, rd_wr_on_io: false };
    if args.io == "stream" && args.flow != Flow::Rtl {
        return Err(Error::Config("--io stream prices qforge's stream Verilog: use it with --flow rtl".into()).into());
    }
    let flow = FlowOptions {
        flow: args.flow,
        pipeline_every: args.pipeline_every,
        cmvm: args.cmvm,
        pipeline_ns: args.pipeline_ns,
        io_stream: args.io == "stream",
        design_cost: Some(crate::rtl::cost::cost_for),
    };
    let est = match (&args.model, &args.spec) {
        (Some(m), _) => {
            let model = TrainedModel::load(m)?;
            estimate::estimate_model(&model, &flow, &cal, &target, &energy, &BitsOptions::default())?
        }
        (None, Some(s)) => {
            let spec = ModelSpec::from_file(s)?;
            estimate::estimate_spec(&spec, &flow, &cal, &target, &energy, &BitsOptions::default())?
        }
        (None, None) => unreachable!("clap requires --model or --spec"),
    };
    if args.json {
        print_json(&serde_json::to_value(&est)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let t = &est.totals;
    outln!(
        "{:<12} {:>6} {:>10} {:>10} {:>9} {:>8} {:>8} {:>6} {:>7}",
        "layer",
        "mults",
        "energy pJ",
        "EBOPs",
        "w bits",
        "LUT",
        "FF",
        "DSP",
        "cycles"
    );
    for l in &est.layers {
        outln!(
            "{:<12} {:>6} {:>10.2} {:>10.0} {:>9} {:>8.0} {:>8.0} {:>6.0} {:>7.2}",
            l.name,
            l.multiplications,
            l.energy.total,
            l.ebops,
            l.weight_bits,
            l.resources.lut,
            l.resources.ff,
            l.resources.dsp,
            l.resources.latency_cycles
        );
    }
    if let Some(s) = &est.structural {
        let names: Vec<&str> = s.modules.iter().skip(est.layers.len()).map(|m| m.module.as_str()).collect();
        let rest = s.modules.iter().skip(est.layers.len()).fold(estimate::Resources::default(), |mut r, m| {
            r.add(&m.resources);
            r
        });
        outln!("{:<12} {:>6} {:>10} {:>10} {:>9} {:>8.0} {:>8.0} {:>6.0} {:>7}", "other", "", "", "", "", rest.lut, rest.ff, rest.dsp, "");
        outln!("(rtl flow: `other` is {}; latency {} cycles from the generator)", names.join(", "), s.design_latency_cycles);
        if let Some(p) = s.cost.frame_interval_cycles {
            outln!("(io stream: latency counted from an image's last pixel; an image every {p} cycles)");
        }
    }
    outln!(
        "{:<12} {:>6} {:>10.2} {:>10.0} {:>9} {:>8.0} {:>8.0} {:>6.0} {:>7}",
        "total",
        t.multiplications,
        t.energy_pj,
        t.ebops,
        t.weight_bits,
        t.lut,
        t.ff,
        t.dsp,
        t.latency_cycles
    );
    outln!(
        "{}: LUT {:.2}%  FF {:.2}%  DSP {:.2}%  BRAM18 {:.0} ({:.2}%)  latency {} cycles = {:.1} ns, II {}  BOPs {:.0}  size {} bits",
        target.part.name,
        t.utilisation.lut_percent,
        t.utilisation.ff_percent,
        t.utilisation.dsp_percent,
        t.bram18,
        t.utilisation.bram18_percent,
        t.latency_cycles,
        t.latency_ns,
        t.ii_cycles,
        t.bops,
        t.size_bits
    );
    Ok(ExitCode::SUCCESS)
}
