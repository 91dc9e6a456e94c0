//! Rendering the project scripts: hls4ml's defaults, write-only-when-changed,
//! the `--templates` override, and Tcl that tclsh can parse.
use qforge::error::Error;
use qforge::hls::{load_script_params, render_project_scripts, HlsBackend, ScriptParams, TEMPLATE_NAMES};
use std::path::Path;
use std::process::Command;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// tclsh's own judgement: `info complete` on the whole file.
fn tcl_complete(path: &Path) -> bool {
    let check = "set f [open [lindex $argv 0]]; puts [info complete [read $f]]";
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("check.tcl");
    std::fs::write(&script, check).unwrap();
    let out = Command::new("tclsh").arg(&script).arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "1"
}

#[test]
fn defaults_are_hls4ml_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let written = render_project_scripts(&ScriptParams::default(), dir.path(), None).unwrap();
    let names: Vec<String> = written.iter().map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string()).collect();
    assert_eq!(
        names,
        ["build_prj.tcl", "build_opt.tcl", "project.tcl", "vivado_synth.tcl", "constraints/clock.xdc", "qforge_scripts.json"]
    );
    let project = read(&dir.path().join("project.tcl"));
    for line in [
        "set project_name \"myproject\"",
        "set prj_dir \"myproject_prj\"",
        "set part \"xcvu13p-flga2577-2-e\"",
        "set clock_period 5",
        "set clock_uncertainty 12.5%",
        "set io_type \"io_parallel\"",
    ] {
        assert!(project.contains(line), "{line} missing from\n{project}");
    }
    let build = read(&dir.path().join("build_prj.tcl"));
    assert!(build.contains("vivado_hls -f build_prj.tcl"));
    assert!(build.contains("add_files firmware/myproject.cpp -cflags \"-std=c++0x\""));
    assert!(build.contains("add_files -tb myproject_test.cpp -cflags \"-std=c++0x\""));
    assert!(build.contains("set_clock_uncertainty $clock_uncertainty default"));
    assert!(!build.contains("config_schedule"), "Vitis-only settings stay out of the Vivado HLS script");
    assert_eq!(
        read(&dir.path().join("constraints/clock.xdc")).lines().last().unwrap(),
        "create_clock -period 5 -name default [get_ports ap_clk]"
    );
    let synth = read(&dir.path().join("vivado_synth.tcl"));
    assert!(synth.contains("report_utilization -file vivado_synth.rpt"));
    assert!(synth.contains("report_power -file ${project_name}_power_routed.rpt"));
    for name in ["build_prj.tcl", "build_opt.tcl", "project.tcl", "vivado_synth.tcl"] {
        assert!(tcl_complete(&dir.path().join(name)), "{name} is not complete Tcl");
    }
    assert_eq!(load_script_params(dir.path()).unwrap(), ScriptParams::default());
}

#[test]
fn vitis_takes_27_percent_and_its_own_settings() {
    let dir = tempfile::tempdir().unwrap();
    let params = ScriptParams { backend: HlsBackend::VitisHls, clock_period_ns: 2.5, ..ScriptParams::default() };
    render_project_scripts(&params, dir.path(), None).unwrap();
    let project = read(&dir.path().join("project.tcl"));
    assert!(project.contains("set clock_uncertainty 27%") && project.contains("set clock_period 2.5"), "{project}");
    let build = read(&dir.path().join("build_prj.tcl"));
    assert!(build.contains("vitis-run --mode hls --tcl build_prj.tcl"));
    assert!(build.contains("config_schedule -enable_dsp_full_reg=false"));
    assert!(build.contains("export_design -flow impl -rtl verilog"));
    assert!(tcl_complete(&dir.path().join("build_prj.tcl")));
}

#[test]
fn unchanged_files_are_not_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let params = ScriptParams::default();
    let written = render_project_scripts(&params, dir.path(), None).unwrap();
    let mtimes: Vec<_> = written.iter().map(|p| p.metadata().unwrap().modified().unwrap()).collect();
    std::thread::sleep(std::time::Duration::from_millis(50));
    render_project_scripts(&params, dir.path(), None).unwrap();
    let again: Vec<_> = written.iter().map(|p| p.metadata().unwrap().modified().unwrap()).collect();
    assert_eq!(mtimes, again);
    let faster = ScriptParams { clock_period_ns: 3.0, ..params };
    render_project_scripts(&faster, dir.path(), None).unwrap();
    assert_ne!(dir.path().join("project.tcl").metadata().unwrap().modified().unwrap(), mtimes[2]);
    assert_eq!(dir.path().join("vivado_synth.tcl").metadata().unwrap().modified().unwrap(), mtimes[3]);
}

#[test]
fn an_override_folder_replaces_templates_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let overrides = tempfile::tempdir().unwrap();
    std::fs::write(overrides.path().join("clock.xdc"), "create_clock -period {{ clock_period }} -name fast [get_ports clk]\n").unwrap();
    render_project_scripts(&ScriptParams::default(), dir.path(), Some(overrides.path())).unwrap();
    assert_eq!(read(&dir.path().join("constraints/clock.xdc")), "create_clock -period 5 -name fast [get_ports clk]\n");
    assert!(read(&dir.path().join("build_prj.tcl")).contains("csynth_design"), "the others stay embedded");
    // Every overridable name (scripts and, since `qforge hls`, the C++ templates) has an embedded text.
    assert!(TEMPLATE_NAMES.iter().all(|name| qforge::hls::template_source(name).is_some()));
    assert!(TEMPLATE_NAMES.contains(&"clock.xdc") && TEMPLATE_NAMES.contains(&"nnet_dense.h"));
}

#[test]
fn a_broken_override_template_names_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let overrides = tempfile::tempdir().unwrap();
    std::fs::write(overrides.path().join("project.tcl"), "set part {{ part \n").unwrap();
    let err = render_project_scripts(&ScriptParams::default(), dir.path(), Some(overrides.path())).unwrap_err();
    assert!(matches!(err, Error::Input { .. }), "{err:?}");
    assert!(err.to_string().contains("project.tcl"), "{err}");
    std::fs::write(overrides.path().join("project.tcl"), "set part {{ no_such_value }}\n").unwrap();
    let err = render_project_scripts(&ScriptParams::default(), dir.path(), Some(overrides.path())).unwrap_err();
    assert!(err.to_string().contains("project.tcl"), "{err}");
}

#[test]
fn parameters_tcl_would_misread_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bad_top = ScriptParams { top: "my-project".into(), ..ScriptParams::default() };
    assert!(matches!(render_project_scripts(&bad_top, dir.path(), None), Err(Error::Config(_))));
    let bad_file = ScriptParams { firmware_files: vec!["firmware/[exec rm].cpp".into()], ..ScriptParams::default() };
    assert!(matches!(render_project_scripts(&bad_file, dir.path(), None), Err(Error::Config(_))));
    let bad_clock = ScriptParams { clock_period_ns: 0.0, ..ScriptParams::default() };
    assert!(render_project_scripts(&bad_clock, dir.path(), None).is_err());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing is written for bad parameters");
    let missing = tempfile::tempdir().unwrap().path().join("none");
    assert!(render_project_scripts(&ScriptParams::default(), dir.path(), Some(&missing)).is_err());
}
