//! Driver for PandA Bambu on the C++ firmware with fixed-point types, as its
//! documentation describes: `bambu firmware/<top>.cpp --top-fname=<top>
//! --device-name=<device> --clock-period=<ns> -O3 --std=c++14 -I firmware
//! --evaluation=...`. It runs in the run folder (Bambu writes `HLS_output/`,
//! `panda-temp/` and the Verilog into its working folder) and writes
//! `bambu_results_<n>.xml` there, plus the Vivado flow's reports under
//! `HLS_output/Synthesis/vivado_flow_0/` for Xilinx devices.
use super::locate::{self, Located, Search};
use super::scripts::ScriptParams;
use super::{ExpectedReport, Invocation, ToolEnv, ToolKind};
use crate::error::{Error, Result};
use std::path::Path;
use std::time::Duration;

pub const SEARCH: Search<'static> =
    Search { tool: ToolKind::Bambu, executable: "bambu", override_var: "QFORGE_BAMBU", install_vars: &["PANDA_HOME"] };

/// The device Bambu uses when the Xilinx part has no Bambu device of its own:
/// an UltraScale+ part like the VU13P hls4ml targets.
pub const DEFAULT_DEVICE: &str = "xcu55c-2Lfsvh2892-VVD";

/// Bambu's name for a Xilinx part, when it has one.
pub fn device_for_part(part: &str) -> Option<&'static str> {
    const KNOWN: &[(&str, &str)] = &[
        ("xcu55c", "xcu55c-2Lfsvh2892-VVD"),
        ("xcu280", "xcu280-2Lfsvh2892-VVD"),
        ("xc7z020", "xc7z020-1clg484-VVD"),
        ("xc7vx690t", "xc7vx690t-3ffg1930-VVD"),
        ("xc7vx330t", "xc7vx330t-1ffg1157-VVD"),
        ("xc7a100t", "xc7a100t-1csg324-VVD"),
        ("xcku060", "xcku060-3ffva1156-VVD"),
    ];
    KNOWN.iter().find(|(prefix, _)| part.starts_with(prefix)).map(|(_, device)| *device)
}

/// Find `bambu` and read `bambu --version`.
pub fn locate(env: &ToolEnv) -> Result<Located> {
    let program = locate::find(&SEARCH, env)?;
    Ok(locate::probe_version(ToolKind::Bambu, &program, &["--version"], env))
}

/// What to ask of Bambu.
#[derive(Debug, Clone, Default)]
pub struct BambuOptions {
    /// Bambu's device name; `None` maps the project's part (or takes [`DEFAULT_DEVICE`]).
    pub device: Option<String>,
    /// Also simulate the C++ testbench (`--simulate --generate-tb=...`), which adds the cycle count.
    pub simulate: bool,
}

/// The reports Bambu writes in its working folder.
pub fn reports(work_dir: &Path) -> Vec<ExpectedReport> {
    let flow = work_dir.join("HLS_output").join("Synthesis").join("vivado_flow_0");
    vec![
        ExpectedReport::required(work_dir.join("bambu_results_*.xml")),
        ExpectedReport::optional(flow.join("*.rpt")),
        ExpectedReport::optional(flow.join("*_report.xml")),
    ]
}

/// Prepare the Bambu run in `run_dir` on the project's firmware.
pub fn prepare(
    located: &Located,
    project_dir: &Path,
    params: &ScriptParams,
    options: &BambuOptions,
    run_dir: &Path,
    timeout: Duration,
    env: &ToolEnv,
) -> Result<Invocation> {
    let mut args: Vec<String> = Vec::new();
    for file in &params.firmware_files {
        let path = project_dir.join(file);
        if !path.is_file() {
            return Err(Error::input(&path, "firmware source not found (listed in the project's firmware_files)"));
        }
        args.push(path.display().to_string());
    }
    let device = options.device.clone().unwrap_or_else(|| device_for_part(&params.part).unwrap_or(DEFAULT_DEVICE).to_string());
    args.push(format!("--top-fname={}", params.top));
    args.push(format!("--device-name={device}"));
    args.push(format!("--clock-period={}", params.clock_period_ns));
    args.push("-O3".into());
    args.push("--std=c++14".into());
    args.push(format!("-I{}", project_dir.join("firmware").display()));
    if options.simulate {
        let Some(tb) = &params.testbench else {
            return Err(Error::Config("bambu --simulate needs the project's testbench (ScriptParams.testbench)".into()));
        };
        args.push("--simulate".into());
        args.push(format!("--generate-tb={}", project_dir.join(tb).display()));
        // All objectives, the cycle count from simulation included.
        args.push("--evaluation".into());
    } else {
        args.push("--evaluation=AREA,FREQUENCY,CLOCK_SLACK,REGISTERS,DSPS,BRAMS".into());
    }
    Ok(Invocation {
        tool: ToolKind::Bambu,
        step: "bambu".to_string(),
        program: located.program.clone(),
        args,
        env: env.overrides().clone(),
        cwd: run_dir.to_path_buf(),
        timeout_secs: timeout.as_secs().max(1),
        grace_secs: super::synth::GRACE_SECS,
        log_path: run_dir.join("bambu.log"),
        expected_reports: reports(run_dir),
    })
}
