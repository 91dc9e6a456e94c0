//! Driver for Vivado HLS (2020.1 and older): `vivado_hls -f build_prj.tcl
//! "reset=0 csim=0 synth=1 ..."` in the project folder, as hls4ml runs it.
//! Also holds what Vivado HLS and Vitis HLS share: where their reports are.
use super::locate::{self, Located, Search};
use super::scripts::{BuildOptions, ScriptParams};
use super::{ExpectedReport, Invocation, ToolEnv, ToolKind};
use crate::error::Result;
use std::path::Path;
use std::time::Duration;

pub const SEARCH: Search<'static> = Search {
    tool: ToolKind::VivadoHls,
    executable: "vivado_hls",
    override_var: "QFORGE_VIVADO_HLS",
    install_vars: &["XILINX_VIVADO_HLS", "XILINX_VIVADO"],
};

/// Find `vivado_hls` and read `vivado_hls -version`.
pub fn locate(env: &ToolEnv) -> Result<Located> {
    let program = locate::find(&SEARCH, env)?;
    Ok(locate::probe_version(ToolKind::VivadoHls, &program, &["-version"], env))
}

/// The reports C synthesis (and export evaluation) write, as both HLS tools document them:
/// `<prj>/solution1/syn/report/<top>_csynth.xml`, `csynth.xml`, and
/// `<prj>/solution1/impl/report/verilog/<top>_export.xml` when `evaluate` is set.
pub fn hls_reports(project_dir: &Path, params: &ScriptParams, options: &BuildOptions) -> Vec<ExpectedReport> {
    let solution = project_dir.join(&params.project_name).join("solution1");
    let syn = solution.join("syn").join("report");
    let mut reports = Vec::new();
    if options.synth {
        reports.push(ExpectedReport::required(syn.join(format!("{}_csynth.xml", params.top))));
        reports.push(ExpectedReport::optional(syn.join("csynth.xml")));
        reports.push(ExpectedReport::optional(syn.join(format!("{}_csynth.rpt", params.top))));
    }
    if options.evaluate {
        let export = solution.join("impl").join("report").join("verilog");
        reports.push(ExpectedReport::required(export.join(format!("{}_export.xml", params.top))));
    }
    reports
}

/// Prepare `vivado_hls -f build_prj.tcl "<options>"` in `project_dir`, logging to `<run_dir>/<step>.log`.
pub fn prepare(
    located: &Located,
    project_dir: &Path,
    params: &ScriptParams,
    options: &BuildOptions,
    run_dir: &Path,
    timeout: Duration,
    env: &ToolEnv,
) -> Result<Invocation> {
    let step = if options.synth { "csynth" } else { "hls" };
    Ok(Invocation {
        tool: ToolKind::VivadoHls,
        step: step.to_string(),
        program: located.program.clone(),
        args: vec!["-f".to_string(), "build_prj.tcl".to_string(), options.to_arg_string()],
        env: env.overrides().clone(),
        cwd: project_dir.to_path_buf(),
        timeout_secs: timeout.as_secs().max(1),
        grace_secs: super::synth::GRACE_SECS,
        log_path: run_dir.join(format!("{step}.log")),
        expected_reports: hls_reports(project_dir, params, options),
    })
}
