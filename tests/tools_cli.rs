//! `qforge synth` end to end: exit codes, `--json` on stdout, errors on stderr,
//! and bad input that leaves everything as it was.
mod tools_support;

use qforge::hls::HlsBackend;
use std::path::Path;
use std::process::{Command, Output};
use tools_support::*;

fn qforge(bin: &Path, record: &Path, mode: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_qforge"));
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    cmd.env("PATH", path)
        .env("QFORGE_FIXTURES", fixtures())
        .env("QFORGE_DOUBLE_RECORD", record)
        .env("QFORGE_DOUBLE_MODE", mode)
        .env("CI", "1");
    cmd
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn one_json_object(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {}", text(&output.stdout)))
}

#[test]
fn synth_json_lists_the_reports() {
    let (project, _) = tiny_project(HlsBackend::VitisHls);
    let bin = doubles_bin(&["vitis_hls", "vivado"]);
    let record = project.path().join("record.txt");
    let output = qforge(bin.path(), &record, "ok")
        .args(["synth", "--tool", "vitis_hls", "--vsynth", "--json"])
        .arg(project.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "stderr: {}", text(&output.stderr));
    let json = one_json_object(&output);
    assert_eq!(json["outcome"]["kind"], "success");
    let reports: Vec<String> = json["reports"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_string()).collect();
    assert!(reports.iter().any(|r| r.ends_with("myproject_prj/solution1/syn/report/myproject_csynth.xml")), "{reports:?}");
    assert!(reports.iter().any(|r| r.ends_with("vivado_synth.rpt")), "{reports:?}");
    assert_eq!(json["steps"][0]["version"], "2024.1");
    assert_eq!(json["steps"][1]["tool"], "vivado");
    // The reports the doubles wrote are parsed: the real fixtures' numbers come back.
    let parsed = json["parsed"].as_array().unwrap();
    let hls = parsed.iter().find(|r| r["tool"] == "vitis_hls").expect("csynth parsed");
    assert_eq!(hls["lut"], 17966);
    assert_eq!(hls["dsp"], 467);
    let vivado = parsed.iter().find(|r| r["tool"] == "vivado").expect("vivado_synth.rpt parsed");
    assert_eq!(vivado["lut"], 8565);
    assert!(json["parse_errors"].as_array().unwrap().is_empty());
}

#[test]
fn synth_human_output_and_success() {
    let (project, _) = tiny_project(HlsBackend::VivadoHls);
    let bin = doubles_bin(&["vivado_hls"]);
    let record = project.path().join("record.txt");
    let output = qforge(bin.path(), &record, "ok").args(["synth", "--tool", "vivado_hls"]).arg(project.path()).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "stderr: {}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("vivado_hls csynth (2019.2): success"), "{stdout}");
    assert!(stdout.contains("myproject_csynth.xml"), "{stdout}");
}

#[test]
fn a_missing_tool_exits_3_and_names_the_fix() {
    let (project, _) = tiny_project(HlsBackend::VitisHls);
    let empty = tempfile::tempdir().unwrap();
    let record = project.path().join("record.txt");
    let output = qforge(empty.path(), &record, "ok")
        .env("PATH", empty.path())
        .args(["synth", "--tool", "vitis_hls", "--json"])
        .arg(project.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("QFORGE_VITIS_HLS") && stderr.contains("install Vitis HLS"), "{stderr}");
    assert!(one_json_object(&output)["error"].as_str().unwrap().contains("vitis_hls"));
    assert!(!project.path().join("runs").exists());
}

#[test]
fn a_non_empty_run_folder_without_force_exits_2_and_touches_nothing() {
    let (project, _) = tiny_project(HlsBackend::VivadoHls);
    let bin = doubles_bin(&["vivado_hls"]);
    let record = project.path().join("record.txt");
    let run_dir = project.path().join("runs/vivado_hls");
    std::fs::create_dir_all(&run_dir).unwrap();
    std::fs::write(run_dir.join("old.log"), "from before").unwrap();
    let listing =
        |dir: &Path| -> Vec<String> { walkdir::WalkDir::new(dir).into_iter().map(|e| e.unwrap().path().display().to_string()).collect() };
    let before = listing(project.path());
    let output = qforge(bin.path(), &record, "ok").args(["synth", "--tool", "vivado_hls"]).arg(project.path()).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "stderr: {}", text(&output.stderr));
    assert!(text(&output.stderr).contains("--force"));
    assert_eq!(listing(project.path()), before);
    assert_eq!(std::fs::read_to_string(run_dir.join("old.log")).unwrap(), "from before");
}

#[test]
fn exit_0_without_a_report_exits_3_naming_the_path() {
    let (project, _) = tiny_project(HlsBackend::VivadoHls);
    let bin = doubles_bin(&["vivado_hls"]);
    let record = project.path().join("record.txt");
    let output =
        qforge(bin.path(), &record, "noreport").args(["synth", "--tool", "vivado_hls", "--json"]).arg(project.path()).output().unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert!(text(&output.stderr).contains("myproject_prj/solution1/syn/report/myproject_csynth.xml"), "{}", text(&output.stderr));
    let json = one_json_object(&output);
    assert!(json["failure"].as_str().unwrap().contains("wrote no report"));
}

#[test]
fn a_timeout_exits_3() {
    let (project, _) = tiny_project(HlsBackend::VivadoHls);
    let bin = doubles_bin(&["vivado_hls"]);
    let record = project.path().join("record.txt");
    let started = std::time::Instant::now();
    let output = qforge(bin.path(), &record, "sleep")
        .args(["synth", "--tool", "vivado_hls", "--timeout", "1", "--grace", "1"])
        .arg(project.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert!(started.elapsed().as_secs() < 8);
    assert!(text(&output.stderr).contains("timed out"), "{}", text(&output.stderr));
}

#[test]
fn a_missing_project_exits_2() {
    let output = Command::new(env!("CARGO_BIN_EXE_qforge")).args(["synth", "--tool", "yosys", "/nonexistent/prj"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}
