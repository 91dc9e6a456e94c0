//! `qforge calibrate`: refit the estimator's coefficients from measured runs
//! (resources: a folder of runs or a samples file; energy: measured per-layer
//! energies), print before/after errors, write the new calibration file
//! (default `qforge-out/calibration.toml`, which `estimate` and `search` then
//! discover). `qforge calibrate probe` makes Yosys-measured runs of small
//! trained models with the calibration probe (src/calibrate/probe_rtl.rs).
use super::{print_json, CliReporter};
use crate::calibrate::energy::{calibrate_energy, read_energy_samples, EnergyOptions};
use crate::calibrate::metrics::Metrics;
use crate::calibrate::store_source::StoreEnergy;
use crate::calibrate::{self, probe_rtl, CalibrationSource, Quantity, ResourceOptions, RunsFolder, SamplesFile, StoreRuns};
use crate::estimate::calibration::{CalibrationSource as Found, DEFAULT_CALIBRATION_PATH};
use crate::estimate::{self, Calibration, Flow};
use crate::events::{Event, Reporter};
use crate::tools::ToolKind;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CalibrationTarget {
    /// LUT, FF, DSP, BRAM18 and latency coefficients of one device family.
    Resources,
    /// QTools' per-operation energy polynomials (fpm_mul, fpm_add).
    Energy,
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CalibrateArgs {
    #[command(subcommand)]
    pub command: Option<CalibrateCommand>,
    #[arg(long, value_enum, default_value = "resources")]
    pub target: CalibrationTarget,
    /// Folder of run folders (model.json + the tool's reports + optional run.json).
    #[arg(long, conflicts_with_all = ["samples_file", "db"])]
    pub runs: Option<PathBuf>,
    /// The run history (SQLite): every finished run of --tool on a part of
    /// --part's device that stored its features (`qforge synth --db`, `qforge run`).
    #[arg(long, conflicts_with = "samples_file")]
    pub db: Option<PathBuf>,
    /// With --db: leave out the runs of these models (comma-separated names).
    #[arg(long, value_delimiter = ',', requires = "db")]
    pub exclude_model: Vec<String>,
    /// With --db: price every run's design folder again with this qforge's
    /// generator and cost model instead of the features stored when it was
    /// synthesised (the measurements still hold after a generator change).
    #[arg(long, requires = "db")]
    pub reprice: bool,
    /// JSON or JSON-lines file of samples (resources: features + measured; energy: per-layer energies).
    #[arg(long)]
    pub samples_file: Option<PathBuf>,
    /// The tool whose reports are fitted (for energy: what measured the energies).
    #[arg(long, default_value = "yosys")]
    pub tool: String,
    #[arg(long, default_value = estimate::parts::PAPER_PART)]
    pub part: String,
    /// Folds of the cross-validation.
    #[arg(long, default_value_t = 5)]
    pub k: usize,
    /// Seed of the fold shuffle.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Quantities to fit (default: all the runs measured).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub quantities: Option<Vec<Quantity>>,
    /// Refit only these features' coefficients (comma-separated names); the others keep theirs.
    #[arg(long, value_delimiter = ',')]
    pub features: Option<Vec<String>>,
    /// Whose cost model is refitted: `hls` ([resources.*], [energy]) or `rtl`
    /// ([rtl.*], [energy_rtl]). Default: `rtl` when reading the history
    /// (`qforge run` measures qforge's own Verilog), else `hls`.
    #[arg(long, value_enum)]
    pub flow: Option<Flow>,
    /// Starting calibration (default: discovered as for `qforge estimate`).
    #[arg(long)]
    pub calibration: Option<PathBuf>,
    /// Where to write the new calibration.
    #[arg(long, default_value = DEFAULT_CALIBRATION_PATH)]
    pub out: PathBuf,
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum CalibrateCommand {
    /// Train small quantized models and measure them with Yosys through the calibration probe.
    Probe(ProbeArgs),
}

#[derive(Args, Debug)]
pub struct ProbeArgs {
    /// Folder to create the run folders in (run_000, run_001, ...).
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 20)]
    pub count: usize,
    /// First model index (to add runs to a folder).
    #[arg(long, default_value_t = 0)]
    pub start: usize,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    #[arg(long, default_value = estimate::parts::PAPER_PART)]
    pub part: String,
    /// Hidden layer sizes to draw from (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "4,6,8")]
    pub hidden: Vec<usize>,
    /// Training samples (synthetic) and epochs per model.
    #[arg(long, default_value_t = 20_000)]
    pub samples: usize,
    #[arg(long, default_value_t = 2)]
    pub epochs: usize,
    /// Yosys timeout per model, seconds.
    #[arg(long, default_value_t = 1800)]
    pub timeout: u64,
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: CalibrateArgs) -> anyhow::Result<ExitCode> {
    if let Some(CalibrateCommand::Probe(p)) = args.command {
        return run_probe(p);
    }
    let reporter = CliReporter::new(args.json);
    let (current, found) = Calibration::discover_with_source(args.calibration.as_deref())?;
    let base = match &found {
        Found::Embedded => "embedded default".to_string(),
        Found::Explicit(p) | Found::Environment(p) | Found::OutputFolder(p) => p.display().to_string(),
    };
    reporter.event(Event::Log(format!("starting from calibration {base}")));
    match args.target {
        CalibrationTarget::Resources => run_resources(&args, &current, &base, &reporter),
        CalibrationTarget::Energy => run_energy(&args, &current, &base, &reporter),
    }
}

fn run_resources(args: &CalibrateArgs, current: &Calibration, base: &str, reporter: &CliReporter) -> anyhow::Result<ExitCode> {
    let source: Box<dyn CalibrationSource> = match (&args.runs, &args.samples_file, &args.db) {
        (Some(dir), _, _) => Box::new(RunsFolder { dir: dir.clone(), tool: args.tool.parse::<ToolKind>()?, part: args.part.clone() }),
        (None, Some(file), _) => Box::new(SamplesFile(file.clone())),
        (None, None, Some(db)) => Box::new(StoreRuns {
            db: db.clone(),
            tool: args.tool.parse::<ToolKind>()?.to_string(),
            part: args.part.clone(),
            exclude_models: args.exclude_model.clone(),
            flow: args.flow.unwrap_or(Flow::Rtl),
            reprice: args.reprice,
        }),
        (None, None, None) => return Err(crate::error::Error::Config("give --db HISTORY, --runs DIR or --samples-file FILE".into()).into()),
    };
    let samples = source.samples(reporter)?;
    let opts = ResourceOptions {
        tool: args.tool.clone(),
        part: args.part.clone(),
        k: args.k,
        seed: args.seed,
        quantities: args.quantities.clone().unwrap_or_else(|| Quantity::ALL.to_vec()),
        features: args.features.clone(),
        flow: args.flow.unwrap_or(if args.db.is_some() { Flow::Rtl } else { Flow::Hls }),
    };
    if opts.flow == Flow::Rtl && args.runs.is_some() {
        return Err(crate::error::Error::Config(
            "--runs folders are priced with the HLS model: use --flow hls, or --db for the RTL flow's runs".into(),
        )
        .into());
    }
    let (new, report) = calibrate::calibrate_resources(&samples, current, &opts, reporter)?;
    let fitted = report.quantities.iter().any(|q| q.fitted);
    if fitted {
        new.save(&args.out)?;
    }
    if args.json {
        print_json(&json!({
            "target": "resources",
            "source": source.describe(),
            "base_calibration": base,
            "calibration_file": fitted.then(|| args.out.display().to_string()),
            "report": report,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "{}: {} samples, {} on {} (family {}), {}-fold CV (seed {})",
        source.describe(),
        report.samples,
        report.tool,
        report.part,
        report.family,
        report.k_folds,
        report.seed
    );
    outln!("{:<8} {:>4}  {:>22}  {:>22}", "", "n", "before: MAPE% R² ρ", "after (held out)");
    for q in &report.quantities {
        let after = q.after_cv.as_ref().map_or("-".to_string(), metric_cell);
        outln!(
            "{:<8} {:>4}  {:>22}  {:>22}{}",
            q.quantity.key(),
            q.samples,
            metric_cell(&q.before),
            after,
            q.note.as_ref().map_or(String::new(), |n| format!("  ({n})"))
        );
    }
    for q in report.quantities.iter().filter(|q| q.fitted) {
        let coeffs: Vec<String> = q.coefficients_after.iter().map(|(k, v)| format!("{k}={v:.4}")).collect();
        outln!("{}: {}", q.quantity.key(), coeffs.join(" "));
    }
    match fitted {
        true => outln!("wrote {}", args.out.display()),
        false => outln!("nothing fitted; no file written"),
    }
    Ok(ExitCode::SUCCESS)
}

fn metric_cell(m: &Metrics) -> String {
    let f = |v: Option<f64>, d: usize| v.map_or("-".to_string(), |v| format!("{v:.d$}"));
    format!("{} {} {}", f(m.mape_percent, 1), f(m.r2, 3), f(m.spearman, 3))
}

fn run_energy(args: &CalibrateArgs, current: &Calibration, base: &str, reporter: &CliReporter) -> anyhow::Result<ExitCode> {
    let Some(file) = &args.samples_file else {
        return run_energy_from_history(args, current, base, reporter);
    };
    let samples = read_energy_samples(file)?;
    let flow = args.flow.unwrap_or(Flow::Hls);
    let opts = EnergyOptions { k: args.k, seed: args.seed, tool: args.tool.clone(), part: args.part.clone(), source: file.clone(), flow };
    let (new, report) = calibrate_energy(&samples, current, &opts)?;
    new.save(&args.out)?;
    // The picture of the fit, beside the new calibration file.
    let plot = args.out.with_file_name("energy_calibration.svg");
    let title = format!("{} variants: energy estimate vs measured switching energy", report.variants);
    crate::error::write_atomic(&plot, crate::calibrate::energy_plot::scatter_svg(&report.points, &title).as_bytes())?;
    if args.json {
        print_json(&json!({
            "target": "energy",
            "source": file.display().to_string(),
            "base_calibration": base,
            "calibration_file": args.out.display().to_string(),
            "plot": plot.display().to_string(),
            "report": report,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!("{}: {} variants, {} layers, {}-fold CV (seed {})", file.display(), report.variants, report.layers, report.k_folds, report.seed);
    outln!("energy before (MAPE% R² ρ): {}", metric_cell(&report.before));
    outln!("energy after, held out:     {}", metric_cell(&report.after_cv));
    let e = new.energy_for(flow);
    outln!("fpm_mul = {:?}  fpm_add = {:?}", e.fpm_mul, e.fpm_add);
    outln!("wrote {} and {}", args.out.display(), plot.display());
    Ok(ExitCode::SUCCESS)
}

/// `--target energy` without a samples file: the measured runs of the history,
/// refitted with the guard (a refit is written only when its held-out error is lower).
fn run_energy_from_history(args: &CalibrateArgs, current: &Calibration, base: &str, reporter: &CliReporter) -> anyhow::Result<ExitCode> {
    let db = args.db.clone().unwrap_or_else(|| PathBuf::from(crate::store::DEFAULT_DB));
    let samples = StoreEnergy { db: db.clone(), part: args.part.clone() }.samples(reporter)?;
    let flow = args.flow.unwrap_or(Flow::Rtl);
    let opts =
        EnergyOptions { k: args.k, seed: args.seed, tool: "qforge switching".into(), part: args.part.clone(), source: db.clone(), flow };
    let (new, report) = calibrate::guarded::guarded_energy_refit(&samples, current, &opts)?;
    if report.adopted {
        new.save(&args.out)?;
    }
    let plot = args.out.with_file_name("energy_calibration.svg");
    let title = format!("{} measured runs: energy estimate vs measured energy", report.variants);
    crate::error::write_atomic(&plot, crate::calibrate::energy_plot::scatter_svg(&report.points, &title).as_bytes())?;
    if args.json {
        print_json(&json!({
            "target": "energy",
            "source": db.display().to_string(),
            "base_calibration": base,
            "calibration_file": report.adopted.then(|| args.out.display().to_string()),
            "plot": plot.display().to_string(),
            "report": report,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!("{}: {} measured runs ({} flow)", db.display(), report.variants, flow);
    outln!("energy before (MAPE% R² ρ): {}", metric_cell(&report.before));
    if let Some(after) = &report.after_cv {
        outln!("energy after, held out:     {}", metric_cell(after));
    }
    outln!("{}", report.reason);
    match report.adopted {
        true => outln!("wrote {} and {}", args.out.display(), plot.display()),
        false => outln!("calibration unchanged; wrote {}", plot.display()),
    }
    Ok(ExitCode::SUCCESS)
}

fn run_probe(args: ProbeArgs) -> anyhow::Result<ExitCode> {
    let reporter = CliReporter::new(args.json);
    let mut runs = Vec::new();
    reporter.event(Event::Begin { label: "probe runs".into(), total: args.count as u64 });
    for index in args.start..args.start + args.count {
        let spec = probe_rtl::probe_spec(index, args.seed, &args.hidden)?;
        let dir = args.out.join(format!("run_{index:03}"));
        let started = std::time::Instant::now();
        let report =
            probe_rtl::make_probe_run(&dir, &spec, &args.part, args.samples, args.epochs, Duration::from_secs(args.timeout), &reporter)?;
        let secs = started.elapsed().as_secs_f64();
        reporter.event(Event::Progress {
            done: (index - args.start + 1) as u64,
            message: format!("{}: LUT {:?} FF {:?} in {secs:.0} s", dir.display(), report.used.lut, report.used.ff),
        });
        runs.push(json!({ "run": dir.display().to_string(), "lut": report.used.lut, "ff": report.used.ff, "carry": report.used.carry, "seconds": secs }));
        if !args.json {
            outln!(
                "{} LUT {} FF {} CARRY {} ({secs:.0} s)",
                dir.display(),
                report.used.lut.unwrap_or(0),
                report.used.ff.unwrap_or(0),
                report.used.carry.unwrap_or(0)
            );
        }
    }
    reporter.event(Event::End { message: format!("{} runs", runs.len()) });
    if args.json {
        print_json(&json!({ "runs": runs }))?;
    }
    Ok(ExitCode::SUCCESS)
}
