//! Driver for Vivado logic synthesis: `vivado -mode batch -source
//! vivado_synth.tcl [-tclargs power=1 saif=FILE]` in the project folder, on
//! the RTL that C synthesis wrote. Reports: `vivado_synth.rpt`
//! (report_utilization) and, with the power step, `<top>_power_routed.rpt`.
use super::locate::{self, Located, Search};
use super::scripts::ScriptParams;
use super::{ExpectedReport, Invocation, ToolEnv, ToolKind};
use crate::error::Result;
use std::path::Path;
use std::time::Duration;

pub const SEARCH: Search<'static> =
    Search { tool: ToolKind::Vivado, executable: "vivado", override_var: "QFORGE_VIVADO", install_vars: &["XILINX_VIVADO"] };

/// Find `vivado` and read `vivado -version`.
pub fn locate(env: &ToolEnv) -> Result<Located> {
    let program = locate::find(&SEARCH, env)?;
    Ok(locate::probe_version(ToolKind::Vivado, &program, &["-version"], env))
}

/// What to ask of `vivado_synth.tcl`.
#[derive(Debug, Clone, Default)]
pub struct VivadoOptions {
    /// Place, route and `report_power` after synthesis.
    pub power: bool,
    /// Switching activity for `read_saif` (else the estimate is vectorless).
    pub saif: Option<std::path::PathBuf>,
}

/// The reports `vivado_synth.tcl` writes in the project folder.
pub fn reports(project_dir: &Path, params: &ScriptParams, options: &VivadoOptions) -> Vec<ExpectedReport> {
    let mut reports = vec![
        ExpectedReport::required(project_dir.join("vivado_synth.rpt")),
        ExpectedReport::optional(project_dir.join("vivado_synth_timing.rpt")),
    ];
    if options.power {
        reports.push(ExpectedReport::optional(project_dir.join("vivado_impl.rpt")));
        reports.push(ExpectedReport::optional(project_dir.join("vivado_impl_timing.rpt")));
        reports.push(ExpectedReport::required(project_dir.join(format!("{}_power_routed.rpt", params.top))));
    }
    reports
}

/// Prepare the Vivado batch run in `project_dir`.
pub fn prepare(
    located: &Located,
    project_dir: &Path,
    params: &ScriptParams,
    options: &VivadoOptions,
    run_dir: &Path,
    timeout: Duration,
    env: &ToolEnv,
) -> Result<Invocation> {
    // qforge keeps the log itself; Vivado's own vivado.log/.jou would land in the project.
    let mut args: Vec<String> = ["-mode", "batch", "-source", "vivado_synth.tcl", "-nojournal", "-nolog"].map(String::from).to_vec();
    if options.power {
        args.push("-tclargs".into());
        args.push("power=1".into());
        if let Some(saif) = &options.saif {
            args.push(format!("saif={}", saif.display()));
        }
    }
    Ok(Invocation {
        tool: ToolKind::Vivado,
        step: "vsynth".to_string(),
        program: located.program.clone(),
        args,
        env: env.overrides().clone(),
        cwd: project_dir.to_path_buf(),
        timeout_secs: timeout.as_secs().max(1),
        grace_secs: super::synth::GRACE_SECS,
        log_path: run_dir.join("vsynth.log"),
        expected_reports: reports(project_dir, params, options),
    })
}
