//! Per-layer (hierarchical) synthesis of a `qforge rtl` design: one Yosys
//! job per module (each dense layer and the output stage on its own Verilog,
//! without I/O buffers; the top's own glue with the others read as black
//! boxes), their `stat -json` summed into the design's report
//! (`RUN/stat.json`, marked hierarchical, the parts kept under
//! `RUN/parts/<module>/`) and their mapped netlists stitched with the top's
//! into one flat netlist (`RUN/netlist.json`) for gate-level simulation.
//!
//! `qforge synth DIR --tool yosys` runs the parts one after another
//! ([`synth_hierarchical`]); the synthesis stage submits one executor job per
//! part (`qforge synth DIR --part MODULE`) and then [`combine`]s them.
use crate::error::{Error, Result};
use crate::events::Reporter;
use crate::rtl::RtlManifest;
use crate::tools::{self, yosys, StepRun, SynthOptions, SynthRun, ToolEnv};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where a part's run goes inside the design's run folder.
pub fn part_dir(run_dir: &Path, module: &str) -> PathBuf {
    run_dir.join("parts").join(module)
}

/// The options that synthesise `module` of the design in `rtl_dir` on its
/// own (`base` gives the family, timeout, netlist, environment); the top
/// reads the other modules as black boxes, an inner module gets no buffers.
/// File names stay relative: `tools::synth` reads them in the project.
pub fn part_options(base: &SynthOptions, manifest: &RtlManifest, rtl_dir: &Path, module: &str) -> Result<SynthOptions> {
    let modules = manifest.modules();
    let Some((_, file)) = modules.iter().find(|(m, _)| m == module) else {
        let names: Vec<&str> = modules.iter().map(|(m, _)| m.as_str()).collect();
        return Err(Error::input(
            rtl_dir.join(crate::rtl::MANIFEST_FILE),
            format!("the design has no module `{module}`: its modules are {}", names.join(", ")),
        ));
    };
    let mut opts = base.clone();
    opts.verilog = vec![PathBuf::from(file)];
    opts.top = Some(module.to_string());
    let is_top = module == manifest.top;
    opts.yosys_inner = !is_top;
    opts.yosys_lib =
        if is_top { modules.iter().filter(|(m, _)| *m != manifest.top).map(|(_, f)| PathBuf::from(f)).collect() } else { Vec::new() };
    Ok(opts)
}

/// Sum the parts' reports into `run_dir/stat.json` and, with `netlist`,
/// stitch their netlists into `run_dir/netlist.json`. Returns the summed
/// report's path and the stitch step (when it ran). A failed stitch is an
/// error naming its log.
pub fn combine(
    manifest: &RtlManifest,
    run_dir: &Path,
    netlist: bool,
    timeout: Duration,
    env: &ToolEnv,
    reporter: &dyn Reporter,
) -> Result<(PathBuf, Option<StepRun>)> {
    let modules = manifest.modules();
    let stats: Vec<(String, PathBuf)> = modules.iter().map(|(m, _)| (m.clone(), part_dir(run_dir, m).join("stat.json"))).collect();
    let stat = run_dir.join("stat.json");
    crate::reports::sum_stats(&manifest.top, &stats, &stat)?;
    if !netlist {
        return Ok((stat, None));
    }
    let located = yosys::locate(env)?;
    let nl = |m: &str| part_dir(run_dir, m).join(yosys::NETLIST_FILE);
    let inner: Vec<(String, PathBuf)> = modules.iter().filter(|(m, _)| *m != manifest.top).map(|(m, _)| (m.clone(), nl(m))).collect();
    let out = run_dir.join(yosys::NETLIST_FILE);
    let inv = yosys::stitch(&located, &manifest.top, &nl(&manifest.top), &inner, &out, timeout, env)?;
    let result = tools::run(&inv, reporter)?;
    if !result.outcome.is_success() || !out.is_file() {
        return Err(Error::Tool(format!(
            "joining the per-layer netlists failed: yosys {}; see the log {}",
            result.outcome.describe(),
            result.log_path.display()
        )));
    }
    // The joined hierarchy (as large as all the parts) is kept only when the stitch failed.
    let _ = std::fs::remove_file(run_dir.join(yosys::STITCHED_FILE));
    let step = StepRun { invocation: inv, tool_version: located.version.clone(), result, reports: Vec::new(), flagged: false };
    Ok((stat, Some(step)))
}

/// `qforge synth DIR --tool yosys` on a `qforge rtl` folder: every part in
/// turn, stopping at the first that fails (the failure names the module),
/// then [`combine`]. The returned run lists every step and, when all
/// succeeded, the summed report.
pub fn synth_hierarchical(rtl_dir: &Path, opts: &SynthOptions, reporter: &dyn Reporter) -> Result<SynthRun> {
    let manifest = crate::rtl::load_manifest(rtl_dir)?;
    let rtl_dir = rtl_dir.canonicalize().map_err(|e| Error::io(rtl_dir, e))?;
    let run_dir = opts.run_dir.clone().unwrap_or_else(|| rtl_dir.join("runs").join("yosys"));
    tools::synth::prepare_run_dir(&run_dir, &rtl_dir, opts.force)?;
    let run_dir = run_dir.canonicalize().map_err(|e| Error::io(&run_dir, e))?;
    let mut job = SynthRun {
        tool: opts.tool,
        project_dir: rtl_dir.clone(),
        run_dir: run_dir.clone(),
        steps: Vec::new(),
        reports: Vec::new(),
        failure: None,
    };
    for (module, _) in manifest.modules() {
        let mut part = part_options(opts, &manifest, &rtl_dir, &module)?;
        part.run_dir = Some(part_dir(&run_dir, &module));
        let done = tools::synth(&rtl_dir, &part, reporter)?;
        job.steps.extend(done.steps);
        if let Some(failure) = done.failure {
            job.failure = Some(format!("per-layer synthesis of module `{module}` failed: {failure}"));
            return Ok(job);
        }
    }
    match combine(&manifest, &run_dir, opts.yosys_netlist, opts.timeout, &opts.env, reporter) {
        Ok((stat, step)) => {
            job.steps.extend(step);
            job.reports.push(stat);
        }
        Err(e) => job.failure = Some(e.to_string()),
    }
    Ok(job)
}
