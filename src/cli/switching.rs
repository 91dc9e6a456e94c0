//! `qforge switching`: gate-level simulation of the Yosys-mapped netlist,
//! checked bit for bit against the fixed-point model, with per-layer toggles
//! and switching energy; optionally appends an energy sample for `qforge
//! calibrate --target energy`.
use super::common::DataArgs;
use super::print_json;
use crate::estimate::Calibration;
use crate::model::predict_io::parse_raw_rows;
use crate::model::{FixedNetwork, TrainedModel};
use crate::switching::{self, OpCount, SwitchingOptions};
use crate::train::session::test_split_for;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct SwitchingArgs {
    /// Trained model (model.json) the design was written from.
    #[arg(long)]
    pub model: PathBuf,
    /// Design folder written by `qforge rtl` (and synthesised with `qforge synth DIR --tool yosys --netlist`).
    #[arg(long)]
    pub rtl: PathBuf,
    /// Mapped netlist (Yosys JSON); default RTL/runs/yosys/netlist.json.
    #[arg(long)]
    pub netlist: Option<PathBuf>,
    /// Raw input bits (one sample per line); default: the test split, quantized as `qforge rtl-sim` does.
    #[arg(long)]
    pub inputs_raw: Option<PathBuf>,
    #[command(flatten)]
    pub data: DataArgs,
    /// Simulate the first N samples.
    #[arg(long, default_value_t = 1000)]
    pub limit: usize,
    /// Calibration file with the `[switching]` per-toggle energies; default: $QFORGE_CALIBRATION, else qforge-out/calibration.toml if present, else built-in.
    #[arg(long)]
    pub calibration: Option<PathBuf>,
    /// Append this variant's energy sample (JSON line) to FILE for `qforge calibrate --target energy`.
    #[arg(long)]
    pub energy_samples: Option<PathBuf>,
    /// Name of the variant in the energy sample; default: the model's folder name.
    #[arg(long)]
    pub name: Option<String>,
    /// Operation counts in the energy sample: as the estimator counts them, or non-zero weights only.
    #[arg(long, value_enum, default_value_t = OpCount::All)]
    pub ops: OpCount,
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: SwitchingArgs) -> anyhow::Result<ExitCode> {
    let model = TrainedModel::load(&args.model)?;
    let net = FixedNetwork::from_model(&model)?;
    let manifest = crate::rtl::load_manifest(&args.rtl)?;
    let netlist = args.netlist.clone().unwrap_or_else(|| switching::default_netlist_path(&args.rtl));
    let cal = Calibration::discover(args.calibration.as_deref())?;
    let mut raw = match &args.inputs_raw {
        Some(path) => parse_raw_rows(path, &crate::error::read_to_string(path)?, net.n_inputs())?,
        None => {
            let test = test_split_for(&model, &args.data.source()?, args.data.split_seed)?;
            (0..test.len()).flat_map(|i| net.quantize_inputs(test.row(i))).collect()
        }
    };
    raw.truncate(args.limit * net.n_inputs());
    eprintln!("simulating {} samples through {} ...", raw.len() / net.n_inputs(), netlist.display());
    let report = switching::measure(&netlist, &manifest, &net, &raw, &cal.switching, &SwitchingOptions::default())?;
    let name = args.name.clone().unwrap_or_else(|| {
        let dir = args.model.canonicalize().ok().and_then(|p| p.parent().map(|d| d.to_path_buf()));
        let dir_name = |d: &std::path::Path| d.file_name().map(|n| n.to_string_lossy().into_owned());
        // `vNN/model/model.json` is named `vNN`.
        match dir {
            Some(d) if dir_name(&d).as_deref() == Some("model") => d.parent().and_then(dir_name),
            Some(d) => dir_name(&d),
            None => None,
        }
        .unwrap_or_else(|| "model".into())
    });
    let sample = switching::energy_sample(&name, &model, &report, args.ops)?;
    if let Some(path) = &args.energy_samples {
        switching::append_energy_sample(path, &sample)?;
    }
    if args.json {
        print_json(&serde_json::json!({ "report": report, "energy_sample": sample, "energy_samples_file": args.energy_samples }))?;
    } else {
        outln!(
            "{}: {} cells ({} registers, {} DSP/BRAM not simulated), {} samples in {} cycles, 0 mismatches ({}), latency {} cycles",
            report.netlist.display(),
            report.cells,
            report.registers,
            report.opaque_cells,
            report.samples,
            report.cycles,
            report.compared.join(", "),
            report.latency_cycles
        );
        for n in &report.not_compared {
            outln!("  not compared: {n}");
        }
        outln!(
            "  {:.0} toggles per inference (rate {:.4} per output bit per cycle), switching energy {:.1} pJ per inference",
            report.toggles_per_inference,
            report.toggle_rate,
            report.energy_pj_per_inference
        );
        for l in &report.layers {
            let by: Vec<String> = l.toggles_by_class.iter().map(|(c, t)| format!("{c} {:.0}", *t as f64 / report.samples as f64)).collect();
            outln!(
                "  {:6} {:9.0} toggles/inf {:9.1} pJ/inf   [{}]",
                l.name,
                l.toggles_per_inference,
                l.energy_pj_per_inference,
                by.join(", ")
            );
        }
        outln!(
            "  speed: parse {:.2} s, build {:.2} s, simulate {:.2} s wall / {:.2} s CPU ({:.0} cycles per CPU second)",
            report.parse_secs,
            report.build_secs,
            report.sim_secs,
            report.sim_cpu_secs,
            report.cycles_per_sec
        );
        if let Some(path) = &args.energy_samples {
            outln!("  appended energy sample `{}` to {}", sample.name, path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
