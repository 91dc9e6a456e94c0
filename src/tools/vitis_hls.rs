//! Driver for Vitis HLS: `vitis_hls -f build_prj.tcl` (up to 2023.2) or
//! `vitis-run --mode hls --tcl build_prj.tcl` (2023.1 and later, the only
//! entry point from 2025.1), in the project folder. Vitis takes its steps from
//! `build_opt.tcl`, which `prepare` rewrites, as hls4ml's Vitis backend does.
use super::locate::{self, Located, Search};
use super::scripts::{BuildOptions, ScriptParams};
use super::{Invocation, ToolEnv, ToolKind};
use crate::error::Result;
use std::path::Path;
use std::time::Duration;

pub const SEARCH_VITIS_HLS: Search<'static> =
    Search { tool: ToolKind::VitisHls, executable: "vitis_hls", override_var: "QFORGE_VITIS_HLS", install_vars: &["XILINX_HLS"] };

pub const SEARCH_VITIS_RUN: Search<'static> = Search {
    tool: ToolKind::VitisHls,
    executable: "vitis-run",
    override_var: "QFORGE_VITIS_HLS",
    install_vars: &["XILINX_VITIS", "XILINX_HLS"],
};

/// Whether a found program is `vitis-run` (which takes `--mode hls --tcl`).
fn is_vitis_run(program: &Path) -> bool {
    program.file_name().is_some_and(|n| n.to_string_lossy().starts_with("vitis-run"))
}

/// Find `vitis_hls`, else `vitis-run`, and read its version.
pub fn locate(env: &ToolEnv) -> Result<Located> {
    let program = match locate::find(&SEARCH_VITIS_HLS, env) {
        Ok(program) => program,
        // Either names the same fix; report the first search's error.
        Err(first) => locate::find(&SEARCH_VITIS_RUN, env).map_err(|_| first)?,
    };
    let args: &[&str] = if is_vitis_run(&program) { &["--version"] } else { &["-version"] };
    Ok(locate::probe_version(ToolKind::VitisHls, &program, args, env))
}

/// Write `build_opt.tcl` with `options` and prepare the run in `project_dir`.
#[allow(clippy::too_many_arguments)]
pub fn prepare(
    located: &Located,
    project_dir: &Path,
    params: &ScriptParams,
    options: &BuildOptions,
    templates: Option<&Path>,
    run_dir: &Path,
    timeout: Duration,
    env: &ToolEnv,
) -> Result<Invocation> {
    super::scripts::write_build_options(params, options, project_dir, templates)?;
    let args: Vec<String> = if is_vitis_run(&located.program) {
        vec!["--mode".into(), "hls".into(), "--tcl".into(), "build_prj.tcl".into()]
    } else {
        vec!["-f".into(), "build_prj.tcl".into()]
    };
    let step = if options.synth { "csynth" } else { "hls" };
    Ok(Invocation {
        tool: ToolKind::VitisHls,
        step: step.to_string(),
        program: located.program.clone(),
        args,
        env: env.overrides().clone(),
        cwd: project_dir.to_path_buf(),
        timeout_secs: timeout.as_secs().max(1),
        grace_secs: super::synth::GRACE_SECS,
        log_path: run_dir.join(format!("{step}.log")),
        expected_reports: super::vivado_hls::hls_reports(project_dir, params, options),
    })
}
