//! `qforge synth PROJECT --tool TOOL`: run a synthesis tool on a project folder
//! and list the reports it wrote. A spinner on stderr shows the tool's current
//! step; `--json` prints one JSON object on stdout.
use crate::events::{Event, Reporter};
use crate::tools::{self, SynthOptions, ToolEnv, ToolKind};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Args, Debug)]
pub struct SynthArgs {
    /// The project folder (with build_prj.tcl etc. for the Xilinx tools).
    pub project: PathBuf,
    /// The tool to run.
    #[arg(long, value_parser = ["vivado_hls", "vitis_hls", "vivado", "bambu", "yosys"])]
    pub tool: String,
    /// After C synthesis, run Vivado logic synthesis on the RTL.
    #[arg(long)]
    pub vsynth: bool,
    /// With Vivado: also place, route and report power (SAIF from --saif, else vectorless).
    #[arg(long)]
    pub power: bool,
    /// Switching activity file for the power estimate.
    #[arg(long)]
    pub saif: Option<PathBuf>,
    /// Seconds each tool run may take before it is stopped.
    #[arg(long, default_value_t = 86_400)]
    pub timeout: u64,
    /// Seconds between SIGTERM and SIGKILL when a tool is stopped.
    #[arg(long, default_value_t = tools::synth::GRACE_SECS)]
    pub grace: u64,
    /// Where logs, replay.sh and invocation.json go [default: PROJECT/runs/TOOL].
    #[arg(long)]
    pub run_dir: Option<PathBuf>,
    /// Empty a non-empty run folder first.
    #[arg(long)]
    pub force: bool,
    /// Folder of templates overriding the embedded ones by file name.
    #[arg(long)]
    pub templates: Option<PathBuf>,
    /// The top function, if not the project's.
    #[arg(long)]
    pub top: Option<String>,
    /// Bambu's device name (e.g. xcu55c-2Lfsvh2892-VVD) [default: from the part].
    #[arg(long)]
    pub device: Option<String>,
    /// Bambu: also simulate the testbench (adds the cycle count).
    #[arg(long)]
    pub simulate: bool,
    /// Yosys: synth_xilinx family (xcup, xcu, xc7, ...).
    #[arg(long, default_value = "xcup")]
    pub family: String,
    /// Yosys: Verilog files to read [default: the HLS RTL or PROJECT/rtl/*.v].
    #[arg(long = "verilog")]
    pub verilog: Vec<PathBuf>,
    /// Yosys: also write the mapped netlist as JSON (RUN_DIR/netlist.json),
    /// which `qforge netlist-sim` simulates for switching activity.
    #[arg(long)]
    pub netlist: bool,
    /// Yosys on a `qforge rtl` folder: synthesise the whole design as one
    /// job, instead of each layer module on its own (the default) with the
    /// reports summed and the netlists stitched.
    #[arg(long, conflicts_with = "part")]
    pub flatten: bool,
    /// Yosys: stock `synth_xilinx`, whose `alumacc` merges chained adders
    /// into multi-operand `$macc` cells built from LUTs [default: each adder
    /// its own carry chain; docs/rtl-results.md].
    #[arg(long)]
    pub merge_adders: bool,
    /// Yosys on a `qforge rtl` folder: synthesise only this module (a layer,
    /// `output_stage`, or the top with the others as black boxes): one part
    /// of a per-layer run, as `qforge run`'s jobs do.
    #[arg(long, value_name = "MODULE")]
    pub part: Option<String>,
    #[command(flatten)]
    pub db: super::history::DbArgs,
    /// Record nothing in the history (`qforge run`'s jobs: the pipeline
    /// stores their runs itself).
    #[arg(long)]
    pub no_history: bool,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: SynthArgs) -> anyhow::Result<ExitCode> {
    let tool: ToolKind = args.tool.parse()?;
    let mut options = SynthOptions::new(tool);
    options.vsynth = args.vsynth;
    options.power = args.power;
    options.saif = args.saif;
    options.timeout = Duration::from_secs(args.timeout);
    options.grace = Duration::from_secs(args.grace);
    options.run_dir = args.run_dir;
    options.force = args.force;
    options.templates = args.templates;
    options.env = ToolEnv::from_process();
    options.top = args.top;
    options.bambu.device = args.device;
    options.bambu.simulate = args.simulate;
    options.yosys_family = args.family;
    options.verilog = args.verilog;
    options.yosys_netlist = args.netlist;
    options.yosys_merge_adders = args.merge_adders;

    let reporter = Spinner::new();
    // A `qforge rtl` folder goes per layer unless --flatten (or files were named).
    let per_layer = tool == ToolKind::Yosys && options.verilog.is_empty() && args.project.join(crate::rtl::MANIFEST_FILE).is_file();
    if args.part.is_some() && !per_layer {
        anyhow::bail!(
            "--part synthesises one module of a `qforge rtl` folder with --tool yosys: {} has no {}",
            args.project.display(),
            crate::rtl::MANIFEST_FILE
        );
    }
    let synthesised = match (&args.part, per_layer && !args.flatten) {
        (Some(module), _) => crate::rtl::load_manifest(&args.project)
            .and_then(|m| crate::pipeline::hier::part_options(&options, &m, &args.project, module))
            .and_then(|part| tools::synth(&args.project, &part, &reporter)),
        (None, true) => crate::pipeline::hier::synth_hierarchical(&args.project, &options, &reporter),
        (None, false) => tools::synth(&args.project, &options, &reporter),
    };
    let job = match synthesised {
        Ok(job) => job,
        Err(err) if args.json => {
            super::print_json(&serde_json::json!({ "tool": tool, "error": err.to_string(), "reports": [] }))?;
            return Err(err.into());
        }
        Err(err) => return Err(err.into()),
    };
    reporter.finish();
    // The tool's own reports, parsed: the numbers it measured.
    let parsed = crate::reports::scan_paths(&job.reports);
    for err in &parsed.errors {
        eprintln!("warning: {err}");
    }
    // Into the run history like every run; a history fault is reported, not fatal.
    let history = if args.no_history {
        None
    } else {
        let recorded = crate::store::record_synth_run(&args.db.db, &args.project, &job, &parsed.reports);
        match &recorded {
            Ok(r) => r.unpriced.iter().for_each(|why| eprintln!("note: run {} stored without an estimate: {why}", r.id.0)),
            Err(e) => eprintln!("warning: the run was not recorded in the history: {e}"),
        }
        Some(recorded.map(|r| (r.id.0, r.unpriced)))
    };
    if args.json {
        super::print_json(&serde_json::json!({
            "history_run": history.as_ref().and_then(|h| h.as_ref().ok()).map(|r| r.0),
            "history_unpriced": history.as_ref().and_then(|h| h.as_ref().ok()).map(|r| &r.1),
            "history_error": history.as_ref().and_then(|h| h.as_ref().err()).map(|e| e.to_string()),
            "tool": job.tool,
            "project": job.project_dir,
            "run_dir": job.run_dir,
            "outcome": job.outcome(),
            "failure": job.failure,
            "reports": job.reports,
            "parsed": parsed.reports.iter().map(|r| r.to_json()).collect::<Vec<_>>(),
            "parse_errors": parsed.errors.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
            "steps": job.steps.iter().map(|s| serde_json::json!({
                "tool": s.invocation.tool,
                "step": s.invocation.step,
                "program": s.invocation.program,
                "version": s.tool_version,
                "outcome": s.result.outcome,
                "exit_code": s.result.exit_code,
                "elapsed_secs": s.result.elapsed_secs,
                "log": s.result.log_path,
                "first_error_line": s.result.first_error_line,
                "reports": s.reports,
                "flagged": s.flagged,
            })).collect::<Vec<_>>(),
        }))?;
    } else {
        for step in &job.steps {
            outln!(
                "{} {} ({}): {} in {:.1} s, log {}",
                step.invocation.tool,
                step.invocation.step,
                step.tool_version.as_deref().unwrap_or("version unknown"),
                step.result.outcome.describe(),
                step.result.elapsed_secs,
                step.result.log_path.display()
            );
            for report in &step.reports {
                outln!("  report{} {}", if step.flagged { " (flagged: the run failed)" } else { "" }, report.display());
            }
        }
        for r in &parsed.reports {
            outln!("  parsed {}", r.to_json());
        }
    }
    match job.into_result() {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(err) => Err(err.into()),
    }
}

/// The spinner: the tool's current step on one line of stderr, hidden when
/// stderr is not a terminal or `CI` is set; error lines still go to stderr.
struct Spinner {
    bar: Mutex<Option<ProgressBar>>,
    visible: bool,
}

impl Spinner {
    fn new() -> Self {
        Spinner { bar: Mutex::new(None), visible: std::io::stderr().is_terminal() && std::env::var_os("CI").is_none() }
    }
    fn finish(&self) {
        if let Some(bar) = self.bar.lock().unwrap().take() {
            bar.finish_and_clear();
        }
    }
}

impl Reporter for Spinner {
    fn event(&self, event: Event) {
        let mut slot = self.bar.lock().unwrap();
        match event {
            Event::Begin { label, .. } => {
                let target = if self.visible { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
                let bar = ProgressBar::with_draw_target(None, target);
                bar.set_style(ProgressStyle::with_template("{spinner} {prefix} {elapsed} {wide_msg}").unwrap());
                bar.set_prefix(label);
                bar.enable_steady_tick(Duration::from_millis(120));
                *slot = Some(bar);
            }
            Event::Progress { message, .. } => {
                if let Some(bar) = slot.as_ref() {
                    bar.set_message(message);
                }
            }
            Event::End { message } => {
                if let Some(bar) = slot.take() {
                    bar.finish_and_clear();
                }
                eprintln!("{message}");
            }
            Event::Log(line) => match slot.as_ref() {
                Some(bar) => bar.println(line),
                None => eprintln!("{line}"),
            },
        }
    }
}
