//! `qforge synth`: run one tool (and, for the HLS tools, optionally Vivado
//! after it) on a project folder, keep each run's log, `replay.sh` and
//! `invocation.json` in the run folder, and find the reports the tools wrote.
//! [`collect_reports`] is where the `reports` parser plugs in.
use super::bambu::{self, BambuOptions};
use super::scripts::{BuildOptions, HlsBackend, ScriptParams};
use super::vivado::{self, VivadoOptions};
use super::yosys::{self, YosysJob};
use super::{runner, Invocation, Located, Outcome, RunResult, ToolEnv, ToolKind};
use crate::error::{Error, Result};
use crate::events::{Event, Reporter};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Seconds between SIGTERM and SIGKILL after a timeout.
pub const GRACE_SECS: u64 = 10;

/// What `qforge synth` was asked to do.
#[derive(Debug, Clone)]
pub struct SynthOptions {
    pub tool: ToolKind,
    /// After an HLS tool: Vivado logic synthesis of its RTL.
    pub vsynth: bool,
    /// With Vivado: place, route and estimate power.
    pub power: bool,
    pub saif: Option<PathBuf>,
    /// Per tool run.
    pub timeout: Duration,
    pub grace: Duration,
    /// Where logs and records go; `<project>/runs/<tool>` when `None`.
    pub run_dir: Option<PathBuf>,
    /// Empty a non-empty run folder instead of refusing.
    pub force: bool,
    /// Template overrides (for the `build_opt.tcl` that Vitis runs rewrite).
    pub templates: Option<PathBuf>,
    /// The environment tools are searched in and run with.
    pub env: ToolEnv,
    /// Replaces the top function of the project's parameters.
    pub top: Option<String>,
    pub bambu: BambuOptions,
    /// Yosys: `synth_xilinx -family`.
    pub yosys_family: String,
    /// Yosys: the Verilog to read; empty takes the HLS tool's RTL or `<project>/rtl/*.v`.
    pub verilog: Vec<PathBuf>,
    /// Yosys: also write the mapped netlist (`netlist.json`).
    pub yosys_netlist: bool,
    /// Yosys: modules read as black boxes (relative to the project).
    pub yosys_lib: Vec<PathBuf>,
    /// Yosys: the top is an inner module (no I/O or clock buffers).
    pub yosys_inner: bool,
    /// Yosys: stock `synth_xilinx`, whose `alumacc` merges chained adders
    /// into `$macc` cells ([`YosysJob::merge_adders`]).
    pub yosys_merge_adders: bool,
}

impl SynthOptions {
    pub fn new(tool: ToolKind) -> Self {
        SynthOptions {
            tool,
            vsynth: false,
            power: false,
            saif: None,
            timeout: Duration::from_secs(24 * 3600),
            grace: Duration::from_secs(GRACE_SECS),
            run_dir: None,
            force: false,
            templates: None,
            env: ToolEnv::from_process(),
            top: None,
            bambu: BambuOptions::default(),
            yosys_family: "xcup".to_string(),
            verilog: Vec::new(),
            yosys_netlist: false,
            yosys_lib: Vec::new(),
            yosys_inner: false,
            yosys_merge_adders: false,
        }
    }
}

/// One tool run of a synth job.
#[derive(Debug, Clone, Serialize)]
pub struct StepRun {
    pub invocation: Invocation,
    pub tool_version: Option<String>,
    pub result: RunResult,
    /// The reports this run wrote.
    pub reports: Vec<PathBuf>,
    /// The run failed yet left reports: they are returned, and flagged.
    pub flagged: bool,
}

/// A whole `qforge synth` job.
#[derive(Debug, Clone, Serialize)]
pub struct SynthRun {
    pub tool: ToolKind,
    pub project_dir: PathBuf,
    pub run_dir: PathBuf,
    pub steps: Vec<StepRun>,
    /// Every report found, in step order: what the report parser reads.
    pub reports: Vec<PathBuf>,
    /// Why the job failed (naming the tool, the fix or the expected report, and the log), if it did.
    pub failure: Option<String>,
}

impl SynthRun {
    /// The first step's outcome that was not a success, else success.
    pub fn outcome(&self) -> Outcome {
        self.steps.iter().map(|s| s.result.outcome.clone()).find(|o| !o.is_success()).unwrap_or(Outcome::Success)
    }

    /// The job as a `Result`: its failure becomes an [`Error::Tool`].
    pub fn into_result(self) -> Result<SynthRun> {
        match &self.failure {
            Some(message) => Err(Error::Tool(message.clone())),
            None => Ok(self),
        }
    }
}

/// The reports an invocation's run left behind: the expected reports that
/// exist and were written since `since` (older files are a previous run's).
/// This is the list the `reports` parser is called on (`reports::parse_path`).
pub fn collect_reports(inv: &Invocation, since: Option<SystemTime>) -> Vec<PathBuf> {
    let fresh = |path: &PathBuf| match (since, path.metadata().and_then(|m| m.modified())) {
        (Some(since), Ok(modified)) => modified + Duration::from_secs(1) >= since,
        (Some(_), Err(_)) => false,
        (None, _) => true,
    };
    inv.expected_reports.iter().flat_map(|r| r.matches()).filter(fresh).collect()
}

/// The required reports with no fresh file.
fn missing_reports(inv: &Invocation, since: SystemTime) -> Vec<PathBuf> {
    let found = collect_reports(inv, Some(since));
    inv.expected_reports
        .iter()
        .filter(|r| r.required)
        .filter(|r| !r.matches().iter().any(|m| found.contains(m)))
        .map(|r| r.path.clone())
        .collect()
}

/// Run the job. `Err` only when nothing could be run (bad input, a missing
/// tool, an unusable run folder); a tool's failure is in [`SynthRun::failure`].
pub fn synth(project_dir: &Path, opts: &SynthOptions, reporter: &dyn Reporter) -> Result<SynthRun> {
    if !project_dir.is_dir() {
        return Err(Error::input(project_dir, "the project folder does not exist"));
    }
    let project_dir = project_dir.canonicalize().map_err(|e| Error::io(project_dir, e))?;
    let mut params = super::scripts::load_script_params(&project_dir)?;
    if let Some(top) = &opts.top {
        params.top = top.clone();
    }
    if opts.vsynth && !matches!(opts.tool, ToolKind::VivadoHls | ToolKind::VitisHls) {
        return Err(Error::Config(format!("--vsynth follows an HLS tool (vivado_hls, vitis_hls), not {}", opts.tool)));
    }
    // Find every tool first: a missing tool leaves nothing behind.
    let located = locate(opts.tool, &opts.env)?;
    let vivado_located = if opts.vsynth { Some(vivado::locate(&opts.env)?) } else { None };
    check_scripts(&project_dir, opts)?;
    let run_dir = opts.run_dir.clone().unwrap_or_else(|| project_dir.join("runs").join(opts.tool.name()));
    prepare_run_dir(&run_dir, &project_dir, opts.force)?;
    let run_dir = run_dir.canonicalize().map_err(|e| Error::io(&run_dir, e))?;

    let vivado_options = VivadoOptions { power: opts.power, saif: opts.saif.clone() };
    let first = match opts.tool {
        ToolKind::VivadoHls => {
            params.backend = HlsBackend::VivadoHls;
            super::vivado_hls::prepare(&located, &project_dir, &params, &BuildOptions::synth_only(), &run_dir, opts.timeout, &opts.env)?
        }
        ToolKind::VitisHls => {
            params.backend = HlsBackend::VitisHls;
            let templates = opts.templates.as_deref();
            super::vitis_hls::prepare(
                &located,
                &project_dir,
                &params,
                &BuildOptions::synth_only(),
                templates,
                &run_dir,
                opts.timeout,
                &opts.env,
            )?
        }
        ToolKind::Vivado => vivado::prepare(&located, &project_dir, &params, &vivado_options, &run_dir, opts.timeout, &opts.env)?,
        ToolKind::Bambu => bambu::prepare(&located, &project_dir, &params, &opts.bambu, &run_dir, opts.timeout, &opts.env)?,
        ToolKind::Yosys => {
            let mut job = YosysJob::new(yosys_sources(&project_dir, &params, opts)?, &params.top, &opts.yosys_family, opts.yosys_netlist);
            job.lib_files = opts.yosys_lib.iter().map(|p| if p.is_absolute() { p.clone() } else { project_dir.join(p) }).collect();
            job.inner = opts.yosys_inner;
            job.merge_adders = opts.yosys_merge_adders;
            yosys::prepare(&located, &job, &project_dir, &run_dir, opts.timeout, &opts.env)?
        }
    };
    let mut job = SynthRun {
        tool: opts.tool,
        project_dir: project_dir.clone(),
        run_dir: run_dir.clone(),
        steps: Vec::new(),
        reports: Vec::new(),
        failure: None,
    };
    let ok = run_step(&mut job, first, &located, opts, reporter)?;
    if let (true, Some(vivado_located)) = (ok, vivado_located) {
        let inv = vivado::prepare(&vivado_located, &project_dir, &params, &vivado_options, &run_dir, opts.timeout, &opts.env)?;
        run_step(&mut job, inv, &vivado_located, opts, reporter)?;
    }
    Ok(job)
}

/// Run one invocation, record it in `job`; returns whether the job may go on.
fn run_step(job: &mut SynthRun, mut inv: Invocation, located: &Located, opts: &SynthOptions, reporter: &dyn Reporter) -> Result<bool> {
    inv.grace_secs = opts.grace.as_secs();
    inv.write_record(&job.run_dir)?;
    let version = located.version.as_deref().unwrap_or("version unknown");
    reporter.event(Event::Begin { label: format!("{} {}", inv.tool, inv.step), total: 0 });
    let since = SystemTime::now();
    let result = runner::run(&inv, reporter)?;
    // The one place the report parser plugs in: each path goes to
    // `crate::reports::parse_path` once the reports stage has landed.
    let reports = collect_reports(&inv, Some(since));
    let log = inv.log_path.display().to_string();
    let failure = if result.outcome.is_success() {
        let missing = missing_reports(&inv, since);
        (!missing.is_empty()).then(|| {
            let names: Vec<String> = missing.iter().map(|p| p.display().to_string()).collect();
            format!("{} ({version}) exited 0 but wrote no report: expected {}; see the log {log}", inv.tool, names.join(", "))
        })
    } else {
        let hint = match &result.outcome {
            Outcome::LicenseFailure { .. } => {
                format!("; check the license (XILINXD_LICENSE_FILE / LM_LICENSE_FILE) for {}", inv.tool)
            }
            Outcome::Timeout { .. } => "; raise --timeout if the design is large".to_string(),
            _ => String::new(),
        };
        let kept = if reports.is_empty() { String::new() } else { format!(" (its {} report(s) are kept, flagged)", reports.len()) };
        Some(format!("{} ({version}) {}{kept}{hint}; see the log {log}", inv.tool, result.outcome.describe()))
    };
    // The failure itself is the caller's to show (the CLI prints it as the error).
    reporter
        .event(Event::End { message: format!("{} {}: {} in {:.1} s", inv.tool, inv.step, result.outcome.describe(), result.elapsed_secs) });
    let flagged = !result.outcome.is_success() && !reports.is_empty();
    job.reports.extend(reports.iter().cloned());
    job.steps.push(StepRun { invocation: inv, tool_version: located.version.clone(), result, reports, flagged });
    let ok = failure.is_none();
    if failure.is_some() {
        job.failure = failure;
    }
    Ok(ok)
}

/// Find the tool for `kind`.
pub fn locate(kind: ToolKind, env: &ToolEnv) -> Result<Located> {
    match kind {
        ToolKind::VivadoHls => super::vivado_hls::locate(env),
        ToolKind::VitisHls => super::vitis_hls::locate(env),
        ToolKind::Vivado => vivado::locate(env),
        ToolKind::Bambu => bambu::locate(env),
        ToolKind::Yosys => yosys::locate(env),
    }
}

/// The scripts the tool runs must be in the project already (the HLS stage renders them).
fn check_scripts(project_dir: &Path, opts: &SynthOptions) -> Result<()> {
    let mut needed: Vec<&str> = match opts.tool {
        ToolKind::VivadoHls | ToolKind::VitisHls => vec!["build_prj.tcl", "project.tcl"],
        ToolKind::Vivado => vec!["vivado_synth.tcl", "project.tcl"],
        ToolKind::Bambu | ToolKind::Yosys => vec![],
    };
    if opts.vsynth {
        needed.push("vivado_synth.tcl");
    }
    for name in needed {
        let path = project_dir.join(name);
        if !path.is_file() {
            return Err(Error::input(path, "missing: render the project's scripts first (qforge's HLS stage writes them)"));
        }
    }
    Ok(())
}

/// Refuse a non-empty run folder unless `force`, which empties it. Never
/// empties the project folder itself or a folder holding it.
pub fn prepare_run_dir(run_dir: &Path, project_dir: &Path, force: bool) -> Result<()> {
    let non_empty = std::fs::read_dir(run_dir).map(|mut entries| entries.next().is_some()).unwrap_or(false);
    if non_empty {
        if !force {
            return Err(Error::Config(format!(
                "run folder {} is not empty: pass --force to replace its contents, or choose another --run-dir",
                run_dir.display()
            )));
        }
        let canonical = run_dir.canonicalize().map_err(|e| Error::io(run_dir, e))?;
        if project_dir.starts_with(&canonical) {
            return Err(Error::Config(format!(
                "run folder {} holds the project itself: --force will not empty it; choose another --run-dir",
                run_dir.display()
            )));
        }
        for entry in std::fs::read_dir(&canonical).map_err(|e| Error::io(&canonical, e))? {
            let path = entry.map_err(|e| Error::io(&canonical, e))?.path();
            let removed = if path.is_dir() && !path.is_symlink() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
            removed.map_err(|e| Error::io(&path, e))?;
        }
    }
    std::fs::create_dir_all(run_dir).map_err(|e| Error::io(run_dir, e))
}

/// The Verilog Yosys reads: the given files, else the HLS tool's RTL, else
/// `<project>/rtl/*.v`, else `<project>/*.v` (a folder written by `qforge rtl`).
fn yosys_sources(project_dir: &Path, params: &ScriptParams, opts: &SynthOptions) -> Result<Vec<PathBuf>> {
    if !opts.verilog.is_empty() {
        return Ok(opts.verilog.iter().map(|p| if p.is_absolute() { p.clone() } else { project_dir.join(p) }).collect());
    }
    let candidates = [
        project_dir.join(&params.project_name).join("solution1").join("syn").join("verilog"),
        project_dir.join("rtl"),
        project_dir.to_path_buf(),
    ];
    for dir in &candidates {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "v" || x == "sv"))
            .collect();
        if !files.is_empty() {
            files.sort();
            return Ok(files);
        }
    }
    Err(Error::input(
        project_dir,
        format!("no Verilog for yosys in {}, {} or the folder itself", candidates[0].display(), candidates[1].display()),
    ))
}
