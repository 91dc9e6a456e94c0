//! The shared runner on small shell commands (no EDA tool needed), line
//! classification, version parsing and replay scripts.
use qforge::events::{Event, Reporter, Silent};
use qforge::tools::invocation::shell_quote;
use qforge::tools::locate::parse_version;
use qforge::tools::runner::{classify_line, LineKind};
use qforge::tools::{run, ExpectedReport, Invocation, Outcome, ToolKind};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

fn shell(dir: &Path, script: &str) -> Invocation {
    Invocation {
        tool: ToolKind::Vivado,
        step: "test".into(),
        program: "/bin/sh".into(),
        args: vec!["-c".into(), script.into()],
        env: BTreeMap::from([("QFORGE_TEST_VALUE".to_string(), "forty two".to_string())]),
        cwd: dir.to_path_buf(),
        timeout_secs: 30,
        grace_secs: 1,
        log_path: dir.join("logs/test.log"),
        expected_reports: vec![ExpectedReport::required(dir.join("out.rpt"))],
    }
}

#[derive(Default)]
struct Collect(Mutex<Vec<Event>>);
impl Reporter for Collect {
    fn event(&self, event: Event) {
        self.0.lock().unwrap().push(event);
    }
}

#[test]
fn runs_in_its_folder_with_its_env_and_merges_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let folder_before = std::env::current_dir().unwrap();
    let inv = shell(dir.path(), "pwd; echo \"value=$QFORGE_TEST_VALUE\"; echo to-stderr >&2; echo 'Command: synth_design -top x'");
    let events = Collect::default();
    let result = run(&inv, &events).unwrap();
    assert_eq!(result.outcome, Outcome::Success);
    assert_eq!(result.exit_code, Some(0));
    let log = std::fs::read_to_string(&result.log_path).unwrap();
    let cwd = dir.path().canonicalize().unwrap();
    assert!(log.contains(&cwd.display().to_string()), "{log}");
    assert!(log.contains("value=forty two") && log.contains("to-stderr"), "{log}");
    assert_eq!(result.steps, ["synth_design"]);
    let progress =
        events.0.lock().unwrap().iter().any(|e| matches!(e, Event::Progress { message, .. } if message.contains("synth_design")));
    assert!(progress, "the step reaches the reporter");
    // The tool ran in `dir` (its log says so) while this process stayed where it was.
    assert_ne!(folder_before.canonicalize().unwrap(), cwd);
    assert_eq!(std::env::current_dir().unwrap(), folder_before, "the test process's folder is untouched");
}

#[test]
fn first_error_line_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let inv = shell(dir.path(), "echo 'WARNING: meh'; echo 'ERROR: [Synth 8-439] module foo not found'; echo 'ERROR: second'; exit 1");
    let result = run(&inv, &Silent).unwrap();
    assert_eq!(
        result.outcome,
        Outcome::ToolError { exit_code: Some(1), first_error_line: Some("ERROR: [Synth 8-439] module foo not found".into()) }
    );
}

#[test]
fn a_signal_is_killed_and_a_timeout_is_a_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let result = run(&shell(dir.path(), "kill -ABRT $$"), &Silent).unwrap();
    assert_eq!(result.outcome, Outcome::Killed { signal: 6 });

    let mut slow = shell(dir.path(), "echo started; sleep 30 & wait");
    slow.timeout_secs = 1;
    let started = std::time::Instant::now();
    let result = run(&slow, &Silent).unwrap();
    assert_eq!(result.outcome, Outcome::Timeout { after_secs: 1 });
    assert!(started.elapsed().as_secs() < 5, "the background sleep in the group must die too");
    assert!(std::fs::read_to_string(&result.log_path).unwrap().contains("started"));
}

#[test]
fn a_program_that_cannot_start_is_a_tool_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut inv = shell(dir.path(), "true");
    inv.program = dir.path().join("no-such-tool");
    let message = run(&inv, &Silent).unwrap_err().to_string();
    assert!(message.contains("could not start") && message.contains("no-such-tool"), "{message}");
}

#[test]
fn lines_are_classified() {
    let license = "ERROR: [Common 17-345] A valid license was not found for feature 'Synthesis' and/or device 'xcvu13p'";
    assert_eq!(classify_line(ToolKind::Vivado, license), LineKind::License);
    assert_eq!(
        classify_line(ToolKind::VivadoHls, "FLEXlm error: -15,570. System Error: 115 \"\" (license server down)"),
        LineKind::License
    );
    assert_eq!(classify_line(ToolKind::VivadoHls, "ERROR: [HLS 214-124] use of undeclared identifier"), LineKind::Error);
    assert_eq!(classify_line(ToolKind::Bambu, "Error: front-end compiler returned an error"), LineKind::Error);
    assert_eq!(classify_line(ToolKind::Yosys, "b.v:1: ERROR: syntax error, unexpected ';'"), LineKind::Error);
    assert_eq!(classify_line(ToolKind::Bambu, "firmware/myproject.cpp:3:5: error: use of undeclared identifier 'x'"), LineKind::Error);
    assert_eq!(classify_line(ToolKind::Vivado, "INFO: [Synth 8-6155] done synthesizing module 'error_handler'"), LineKind::Other);
    assert_eq!(classify_line(ToolKind::Vivado, "CRITICAL WARNING: [Constraints 18-5210] No constraints"), LineKind::Warning);
    assert_eq!(classify_line(ToolKind::VitisHls, "***** C/RTL SYNTHESIS *****"), LineKind::Step("C/RTL SYNTHESIS".into()));
    assert_eq!(classify_line(ToolKind::VitisHls, "***** C/RTL SYNTHESIS COMPLETED IN 0h0m5s *****"), LineKind::Other);
    assert_eq!(
        classify_line(ToolKind::VivadoHls, "INFO: [HLS 200-10] Analyzing design file 'firmware/myproject.cpp' ..."),
        LineKind::Step("Analyzing design file 'firmware/myproject.cpp'".into())
    );
    assert_eq!(classify_line(ToolKind::Vivado, "Starting Routing Task"), LineKind::Step("Routing".into()));
    assert_eq!(classify_line(ToolKind::Yosys, "4. Executing SYNTH_XILINX pass."), LineKind::Step("SYNTH_XILINX pass".into()));
    assert_eq!(classify_line(ToolKind::Yosys, "4.2. Executing PROC pass."), LineKind::Other);
}

#[test]
fn versions_are_read_from_banners() {
    assert_eq!(parse_version("Vivado(TM) HLS v2019.2 (64-bit)").as_deref(), Some("2019.2"));
    assert_eq!(parse_version("vivado v2024.1 (64-bit)").as_deref(), Some("2024.1"));
    assert_eq!(parse_version("****** Vitis HLS - High-Level Synthesis from C, C++ and OpenCL v2023.1 (64-bit)").as_deref(), Some("2023.1"));
    assert_eq!(parse_version("Yosys 0.23 (git sha1 7ce5011c24b)").as_deref(), Some("0.23"));
    assert_eq!(parse_version(" Version: PandA 2023.1 - Revision 04336c437a53bc96ae90b74052c455629946ec8b-main").as_deref(), Some("2023.1"));
    assert_eq!(parse_version("SW Build 2708876 on Wed Nov  6 21:39:14 MST 2019"), None);
}

#[test]
fn replay_script_quotes_and_reruns() {
    let dir = tempfile::tempdir().unwrap();
    let inv = shell(dir.path(), "echo 'it works' > out.rpt");
    let script = inv.replay_script();
    assert!(script.contains("'QFORGE_TEST_VALUE=forty two'"), "{script}");
    assert_eq!(shell_quote("plain/path.tcl"), "plain/path.tcl");
    assert_eq!(shell_quote("it's"), "'it'\\''s'");
    let (replay, json) = inv.write_record(dir.path()).unwrap();
    let back: Invocation = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    assert_eq!(back, inv);
    std::fs::create_dir_all(dir.path().join("logs")).unwrap();
    let status = std::process::Command::new(&replay).status().unwrap();
    assert!(status.success());
    assert_eq!(std::fs::read_to_string(dir.path().join("out.rpt")).unwrap(), "it works\n");
}

#[test]
fn wildcard_reports_match() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bambu_results_0.xml"), "x").unwrap();
    std::fs::write(dir.path().join("bambu_results_1.xml"), "x").unwrap();
    std::fs::write(dir.path().join("other.xml"), "x").unwrap();
    let found = ExpectedReport::required(dir.path().join("bambu_results_*.xml")).matches();
    assert_eq!(found.len(), 2);
}
