//! Each tool driver against its test double: arguments checked by the double,
//! the generated Tcl sourced by tclsh with the vendor commands recorded, real
//! reports written where the tool writes them; and every way a run can fail.
mod tools_support;

use qforge::error::Error;
use qforge::events::Silent;
use qforge::hls::HlsBackend;
use qforge::tools::{synth, Outcome, SynthOptions, ToolEnv, ToolKind};
use std::time::{Duration, Instant};
use tools_support::*;

/// Fail with the logs when the job failed.
fn assert_ok(job: &qforge::tools::SynthRun) {
    if let Some(failure) = &job.failure {
        let logs: Vec<String> = job.steps.iter().map(|s| std::fs::read_to_string(&s.result.log_path).unwrap_or_default()).collect();
        panic!("{failure}\n--- logs ---\n{}", logs.join("\n---\n"));
    }
}

fn options(tool: ToolKind, env: ToolEnv) -> SynthOptions {
    let mut opts = SynthOptions::new(tool);
    opts.env = env;
    opts.timeout = Duration::from_secs(60);
    opts.grace = Duration::from_secs(2);
    opts
}

#[test]
fn vivado_hls_runs_csynth_and_finds_the_csynth_report() {
    let (project, _) = tiny_project(HlsBackend::VivadoHls);
    let bin = doubles_bin(&["vivado_hls"]);
    let record = project.path().join("record.txt");
    let job = synth(project.path(), &options(ToolKind::VivadoHls, double_env(bin.path(), &record, "ok")), &Silent).unwrap();

    assert_ok(&job);
    assert_eq!(job.outcome(), Outcome::Success);
    let step = &job.steps[0];
    assert_eq!(step.tool_version.as_deref(), Some("2019.2"));
    assert_eq!(step.invocation.args[..2], ["-f", "build_prj.tcl"]);
    assert!(step.invocation.args[2].contains("csim=0 synth=1 cosim=0"), "{:?}", step.invocation.args);
    let report = job.project_dir.join("myproject_prj/solution1/syn/report/myproject_csynth.xml");
    assert!(job.reports.contains(&report), "{:?}", job.reports);
    let fixture = std::fs::read(fixtures().join("vivado_hls/hls4ml_tutorial_2019_2_myproject_csynth.xml")).unwrap();
    assert_eq!(std::fs::read(&report).unwrap(), fixture);

    let commands = record_commands(&record);
    let order =
        ["open_project", "set_top", "add_files", "open_solution", "set_part", "create_clock", "set_clock_uncertainty", "csynth_design"];
    let positions: Vec<usize> = order.iter().map(|c| position(&commands, c)).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "out of order: {commands:?}");
    assert!(!commands.contains(&"csim_design".to_string()), "csim=0 must skip csim_design");
    let lines = record_lines(&record);
    assert!(lines.contains(&"set_part xcvu13p-flga2577-2-e".to_string()), "{lines:?}");
    assert!(lines.contains(&"create_clock -period 5 -name default".to_string()), "{lines:?}");
    assert!(lines.contains(&"set_clock_uncertainty 12.5% default".to_string()), "{lines:?}");

    // The log, the step seen in it, and the records of the run.
    assert!(step.result.steps.iter().any(|s| s == "C/RTL SYNTHESIS"), "{:?}", step.result.steps);
    let log = std::fs::read_to_string(&step.result.log_path).unwrap();
    assert!(log.contains("***** C/RTL SYNTHESIS *****"));
    assert!(job.run_dir.join("csynth.replay.sh").is_file());
    assert!(job.run_dir.join("csynth.invocation.json").is_file());
    assert!(job.run_dir.starts_with(&job.project_dir), "default run folder is inside the project");
}

#[test]
fn vitis_hls_then_vivado_with_vsynth() {
    let (project, _) = tiny_project(HlsBackend::VitisHls);
    let bin = doubles_bin(&["vitis_hls", "vivado"]);
    let record = project.path().join("record.txt");
    let mut opts = options(ToolKind::VitisHls, double_env(bin.path(), &record, "ok"));
    opts.vsynth = true;
    let job = synth(project.path(), &opts, &Silent).unwrap();

    assert_ok(&job);
    assert_eq!(job.steps.len(), 2);
    assert_eq!(job.steps[0].invocation.args, ["-f", "build_prj.tcl"]);
    assert_eq!(job.steps[0].tool_version.as_deref(), Some("2024.1"));
    assert_eq!(job.steps[1].invocation.tool, ToolKind::Vivado);
    assert_eq!(job.steps[1].tool_version.as_deref(), Some("2024.1"));
    let build_opt = std::fs::read_to_string(project.path().join("build_opt.tcl")).unwrap();
    assert!(build_opt.contains("csim       0") && build_opt.contains("synth      1"), "{build_opt}");

    let lines = record_lines(&record);
    assert!(lines.contains(&"set_clock_uncertainty 27% default".to_string()), "{lines:?}");
    let commands = record_commands(&record);
    assert!(position(&commands, "config_compile") < position(&commands, "csynth_design"));
    // Vivado ran after C synthesis, on its RTL, with the clock constraint.
    let order = ["csynth_design", "read_verilog", "read_xdc", "synth_design", "report_utilization", "report_timing_summary"];
    let positions: Vec<usize> = order.iter().map(|c| position(&commands, c)).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "out of order: {commands:?}");
    assert!(lines.contains(&"synth_design -top myproject -part xcvu13p-flga2577-2-e -mode out_of_context".to_string()), "{lines:?}");
    assert!(!commands.contains(&"place_design".to_string()), "no power step unless asked");
    assert!(job.reports.contains(&job.project_dir.join("vivado_synth.rpt")));
    assert!(job.reports.contains(&job.project_dir.join("myproject_prj/solution1/syn/report/myproject_csynth.xml")));
}

#[test]
fn vitis_run_is_used_when_vitis_hls_is_absent() {
    let (project, _) = tiny_project(HlsBackend::VitisHls);
    let bin = doubles_bin(&["vitis-run"]);
    let record = project.path().join("record.txt");
    let job = synth(project.path(), &options(ToolKind::VitisHls, double_env(bin.path(), &record, "ok")), &Silent).unwrap();
    assert_ok(&job);
    assert_eq!(job.steps[0].invocation.args, ["--mode", "hls", "--tcl", "build_prj.tcl"]);
    assert_eq!(job.steps[0].tool_version.as_deref(), Some("2024.2"));
    assert!(record_commands(&record).contains(&"csynth_design".to_string()));
}

#[test]
fn vivado_power_step_places_routes_and_reads_the_saif() {
    let (project, _) = tiny_project(HlsBackend::VivadoHls);
    fake_hls_rtl(project.path());
    std::fs::write(project.path().join("activity.saif"), "(SAIFILE)\n").unwrap();
    let bin = doubles_bin(&["vivado"]);
    let record = project.path().join("record.txt");
    let mut opts = options(ToolKind::Vivado, double_env(bin.path(), &record, "ok"));
    opts.power = true;
    opts.saif = Some(project.path().join("activity.saif"));
    let job = synth(project.path(), &opts, &Silent).unwrap();

    assert_ok(&job);
    let args = &job.steps[0].invocation.args;
    assert_eq!(args[..4], ["-mode", "batch", "-source", "vivado_synth.tcl"]);
    assert!(args.contains(&"power=1".to_string()));
    let commands = record_commands(&record);
    let order = ["synth_design", "opt_design", "place_design", "route_design", "read_saif", "report_power"];
    let positions: Vec<usize> = order.iter().map(|c| position(&commands, c)).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "out of order: {commands:?}");
    assert!(job.reports.contains(&job.project_dir.join("myproject_power_routed.rpt")), "{:?}", job.reports);
    assert!(job.steps[0].result.steps.iter().any(|s| s == "route_design"), "{:?}", job.steps[0].result.steps);
}

#[test]
fn vivado_power_without_saif_is_vectorless() {
    let (project, _) = tiny_project(HlsBackend::VivadoHls);
    fake_hls_rtl(project.path());
    let bin = doubles_bin(&["vivado"]);
    let record = project.path().join("record.txt");
    let mut opts = options(ToolKind::Vivado, double_env(bin.path(), &record, "ok"));
    opts.power = true;
    let job = synth(project.path(), &opts, &Silent).unwrap();
    assert_ok(&job);
    let commands = record_commands(&record);
    assert!(commands.contains(&"report_power".to_string()) && !commands.contains(&"read_saif".to_string()));
    let log = std::fs::read_to_string(&job.steps[0].result.log_path).unwrap();
    assert!(log.contains("vectorless"));
}

#[test]
fn bambu_gets_top_device_clock_and_evaluation_and_its_results_are_found() {
    let (project, _) = tiny_project(HlsBackend::VivadoHls);
    let bin = doubles_bin(&["bambu"]);
    let record = project.path().join("record.txt");
    let job = synth(project.path(), &options(ToolKind::Bambu, double_env(bin.path(), &record, "ok")), &Silent).unwrap();

    assert_ok(&job);
    let step = &job.steps[0];
    assert_eq!(step.tool_version.as_deref(), Some("2023.1"));
    let args = &step.invocation.args;
    assert!(args[0].ends_with("firmware/myproject.cpp"), "{args:?}");
    for expected in ["--top-fname=myproject", "--device-name=xcu55c-2Lfsvh2892-VVD", "--clock-period=5", "--std=c++14"] {
        assert!(args.contains(&expected.to_string()), "{expected} missing from {args:?}");
    }
    assert!(args.iter().any(|a| a.starts_with("--evaluation")));
    assert_eq!(step.invocation.cwd, job.run_dir, "Bambu works in the run folder");
    assert!(job.reports.contains(&job.run_dir.join("bambu_results_0.xml")), "{:?}", job.reports);
    assert!(job.reports.contains(&job.run_dir.join("HLS_output/Synthesis/vivado_flow_0/post_synth_util.rpt")));
}

#[test]
fn tcl_syntax_error_in_an_override_template_fails_the_run() {
    let (project, params) = tiny_project(HlsBackend::VivadoHls);
    let overrides = tempfile::tempdir().unwrap();
    let broken = qforge::hls::template_source("build_prj.tcl").unwrap().replace("if {$opt(synth)} {", "if {$opt(synth)} [");
    std::fs::write(overrides.path().join("build_prj.tcl"), broken).unwrap();
    qforge::hls::render_project_scripts(&params, project.path(), Some(overrides.path())).unwrap();
    let bin = doubles_bin(&["vivado_hls"]);
    let record = project.path().join("record.txt");
    let job = synth(project.path(), &options(ToolKind::VivadoHls, double_env(bin.path(), &record, "ok")), &Silent).unwrap();

    let failure = job.failure.clone().expect("a Tcl syntax error must fail the run");
    assert!(failure.contains("vivado_hls") && failure.contains("csynth.log"), "{failure}");
    match job.outcome() {
        Outcome::ToolError { first_error_line: Some(line), exit_code: Some(1) } => {
            assert!(line.starts_with("ERROR:"), "{line}")
        }
        other => panic!("expected a tool error, got {other:?}"),
    }
    assert!(!record_commands(&record).contains(&"csynth_design".to_string()));
    assert!(job.clone().into_result().is_err());
}

#[test]
fn a_hung_tool_is_stopped_at_the_timeout() {
    let (project, _) = tiny_project(HlsBackend::VivadoHls);
    let bin = doubles_bin(&["vivado_hls"]);
    let record = project.path().join("record.txt");
    let mut opts = options(ToolKind::VivadoHls, double_env(bin.path(), &record, "sleep"));
    opts.timeout = Duration::from_secs(1);
    opts.grace = Duration::from_secs(2);
    let job = synth(project.path(), &opts, &Silent).unwrap();
    // The double sleeps 600 s: a finished run with outcome Timeout was stopped.
    assert_eq!(job.outcome(), Outcome::Timeout { after_secs: 1 });
    assert!(job.failure.unwrap().contains("timed out"));
}

#[test]
fn a_tool_ignoring_sigterm_is_killed_after_the_grace_period() {
    let (project, _) = tiny_project(HlsBackend::VivadoHls);
    let bin = doubles_bin(&["vivado_hls"]);
    let record = project.path().join("record.txt");
    let mut opts = options(ToolKind::VivadoHls, double_env(bin.path(), &record, "stubborn"));
    opts.timeout = Duration::from_secs(1);
    opts.grace = Duration::from_secs(1);
    let started = Instant::now();
    let job = synth(project.path(), &opts, &Silent).unwrap();
    // A lower bound only (load cannot make it pass wrongly): TERM was ignored, so
    // the runner waited out the grace period before KILL. Wall times: `cargo bench --bench executor`.
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_secs(2), "killed before the grace period ended: {elapsed:?}");
    assert_eq!(job.outcome(), Outcome::Timeout { after_secs: 1 });
}

#[test]
fn a_crashing_tool_is_reported_as_killed() {
    let (project, _) = tiny_project(HlsBackend::VivadoHls);
    let bin = doubles_bin(&["vivado_hls"]);
    let record = project.path().join("record.txt");
    let job = synth(project.path(), &options(ToolKind::VivadoHls, double_env(bin.path(), &record, "segv")), &Silent).unwrap();
    assert_eq!(job.outcome(), Outcome::Killed { signal: 11 });
    assert!(job.failure.unwrap().contains("SIGSEGV"));
}

#[test]
fn a_wrapper_exit_status_139_is_a_crash_with_its_log_line() {
    let (project, _) = tiny_project(HlsBackend::VivadoHls);
    let bin = doubles_bin(&["vivado_hls"]);
    let record = project.path().join("record.txt");
    let job = synth(project.path(), &options(ToolKind::VivadoHls, double_env(bin.path(), &record, "exit139")), &Silent).unwrap();
    assert_eq!(job.outcome(), Outcome::Killed { signal: 11 });
    assert_eq!(job.steps[0].result.exit_code, Some(139));
    let log = std::fs::read_to_string(&job.steps[0].result.log_path).unwrap();
    assert!(log.contains("Segmentation fault"));
}

#[test]
fn a_license_failure_is_recognised() {
    let (project, _) = tiny_project(HlsBackend::VivadoHls);
    let bin = doubles_bin(&["vivado_hls"]);
    let record = project.path().join("record.txt");
    let job = synth(project.path(), &options(ToolKind::VivadoHls, double_env(bin.path(), &record, "license")), &Silent).unwrap();
    match job.outcome() {
        Outcome::LicenseFailure { line } => assert!(line.contains("[Common 17-345]"), "{line}"),
        other => panic!("expected a license failure, got {other:?}"),
    }
    assert!(job.failure.unwrap().contains("license"));
}

#[test]
fn exit_0_without_a_report_is_an_error_naming_the_expected_path() {
    let (project, _) = tiny_project(HlsBackend::VivadoHls);
    let bin = doubles_bin(&["vivado_hls"]);
    let record = project.path().join("record.txt");
    let job = synth(project.path(), &options(ToolKind::VivadoHls, double_env(bin.path(), &record, "noreport")), &Silent).unwrap();
    assert_eq!(job.outcome(), Outcome::Success);
    assert!(job.reports.is_empty());
    let failure = job.failure.clone().expect("no report must fail");
    assert!(
        failure.contains("wrote no report") && failure.contains("myproject_prj/solution1/syn/report/myproject_csynth.xml"),
        "{failure}"
    );
    match job.into_result() {
        Err(Error::Tool(message)) => assert!(message.contains("myproject_csynth.xml")),
        other => panic!("expected Error::Tool, got {other:?}"),
    }
}

#[test]
fn a_report_left_by_an_earlier_run_does_not_count() {
    let (project, _) = tiny_project(HlsBackend::VivadoHls);
    let bin = doubles_bin(&["vivado_hls"]);
    let record = project.path().join("record.txt");
    let first = synth(project.path(), &options(ToolKind::VivadoHls, double_env(bin.path(), &record, "ok")), &Silent).unwrap();
    assert_ok(&first);
    std::thread::sleep(Duration::from_millis(1100));
    let mut opts = options(ToolKind::VivadoHls, double_env(bin.path(), &record, "noreport"));
    opts.force = true;
    let second = synth(project.path(), &opts, &Silent).unwrap();
    assert!(second.failure.unwrap().contains("wrote no report"));
}

#[test]
fn a_failed_run_that_left_a_report_returns_it_flagged() {
    let (project, _) = tiny_project(HlsBackend::VivadoHls);
    let bin = doubles_bin(&["vivado_hls"]);
    let record = project.path().join("record.txt");
    let job = synth(project.path(), &options(ToolKind::VivadoHls, double_env(bin.path(), &record, "fail_after_report")), &Silent).unwrap();
    assert!(matches!(job.outcome(), Outcome::ToolError { exit_code: Some(1), .. }));
    assert!(job.steps[0].flagged);
    assert!(!job.reports.is_empty());
    assert!(job.failure.unwrap().contains("flagged"));
}

#[test]
fn a_missing_tool_names_the_fix_and_touches_nothing() {
    let (project, _) = tiny_project(HlsBackend::VitisHls);
    let empty_bin = tempfile::tempdir().unwrap();
    let env = ToolEnv::empty().with("PATH", empty_bin.path().display().to_string());
    let before: Vec<_> = std::fs::read_dir(project.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    let err = synth(project.path(), &options(ToolKind::VitisHls, env), &Silent).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::Tool(_)), "{err:?}");
    assert!(message.contains("vitis_hls") && message.contains("QFORGE_VITIS_HLS") && message.contains("install"), "{message}");
    let after: Vec<_> = std::fs::read_dir(project.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(before.len(), after.len(), "a missing tool must leave the project as it was");
}

#[test]
fn a_bad_override_variable_is_named() {
    let (project, _) = tiny_project(HlsBackend::VivadoHls);
    let env = ToolEnv::empty().with("QFORGE_VIVADO_HLS", "/nonexistent/vivado_hls");
    let message = synth(project.path(), &options(ToolKind::VivadoHls, env), &Silent).unwrap_err().to_string();
    assert!(message.contains("QFORGE_VIVADO_HLS=/nonexistent/vivado_hls"), "{message}");
}

#[test]
fn a_non_empty_run_folder_needs_force() {
    let (project, _) = tiny_project(HlsBackend::VivadoHls);
    let bin = doubles_bin(&["vivado_hls"]);
    let record = project.path().join("record.txt");
    let run_dir = tempfile::tempdir().unwrap();
    std::fs::write(run_dir.path().join("keep.txt"), "earlier run").unwrap();
    let mut opts = options(ToolKind::VivadoHls, double_env(bin.path(), &record, "ok"));
    opts.run_dir = Some(run_dir.path().to_path_buf());
    let err = synth(project.path(), &opts, &Silent).unwrap_err();
    assert!(matches!(err, Error::Config(_)) && err.to_string().contains("--force"), "{err}");
    assert!(run_dir.path().join("keep.txt").exists());
    assert!(!record.exists(), "nothing may run");
    assert!(!project.path().join("myproject_prj").exists());

    opts.force = true;
    let job = synth(project.path(), &opts, &Silent).unwrap();
    assert_ok(&job);
    assert!(!run_dir.path().join("keep.txt").exists());
}

#[test]
fn force_never_empties_the_project_itself() {
    let (project, _) = tiny_project(HlsBackend::VivadoHls);
    let bin = doubles_bin(&["vivado_hls"]);
    let record = project.path().join("record.txt");
    let mut opts = options(ToolKind::VivadoHls, double_env(bin.path(), &record, "ok"));
    opts.run_dir = Some(project.path().to_path_buf());
    opts.force = true;
    let err = synth(project.path(), &opts, &Silent).unwrap_err();
    assert!(err.to_string().contains("holds the project"), "{err}");
    assert!(project.path().join("build_prj.tcl").exists());
}

#[test]
fn a_vivado_license_failure_is_recognised() {
    let (project, _) = tiny_project(HlsBackend::VivadoHls);
    fake_hls_rtl(project.path());
    let bin = doubles_bin(&["vivado"]);
    let record = project.path().join("record.txt");
    let job = synth(project.path(), &options(ToolKind::Vivado, double_env(bin.path(), &record, "license")), &Silent).unwrap();
    assert!(matches!(job.outcome(), Outcome::LicenseFailure { ref line } if line.contains("Synthesis")));
    assert!(job.reports.is_empty());
}

#[test]
fn bambu_failures_name_the_error_or_the_missing_results() {
    let (project, _) = tiny_project(HlsBackend::VivadoHls);
    let bin = doubles_bin(&["bambu"]);
    let record = project.path().join("record.txt");
    let job = synth(project.path(), &options(ToolKind::Bambu, double_env(bin.path(), &record, "tool_error")), &Silent).unwrap();
    assert_eq!(
        job.outcome(),
        Outcome::ToolError { exit_code: Some(1), first_error_line: Some("Error: front-end compiler returned an error".into()) }
    );

    let mut opts = options(ToolKind::Bambu, double_env(bin.path(), &record, "noreport"));
    opts.force = true;
    let job = synth(project.path(), &opts, &Silent).unwrap();
    let failure = job.failure.unwrap();
    assert!(failure.contains("wrote no report") && failure.contains("bambu_results_*.xml"), "{failure}");
}

#[test]
fn bambu_takes_the_device_given_and_simulates_the_testbench() {
    let (project, _) = tiny_project(HlsBackend::VivadoHls);
    let bin = doubles_bin(&["bambu"]);
    let record = project.path().join("record.txt");
    let mut opts = options(ToolKind::Bambu, double_env(bin.path(), &record, "ok"));
    opts.bambu.device = Some("xc7z020-1clg484-VVD".into());
    opts.bambu.simulate = true;
    let job = synth(project.path(), &opts, &Silent).unwrap();
    assert_ok(&job);
    let args = &job.steps[0].invocation.args;
    assert!(args.contains(&"--device-name=xc7z020-1clg484-VVD".to_string()), "{args:?}");
    assert!(args.contains(&"--simulate".to_string()) && args.contains(&"--evaluation".to_string()), "{args:?}");
    assert!(args.iter().any(|a| a.starts_with("--generate-tb=") && a.ends_with("myproject_test.cpp")), "{args:?}");
}

#[test]
fn scripts_missing_from_the_project_are_named() {
    let project = tempfile::tempdir().unwrap();
    let bin = doubles_bin(&["vivado_hls"]);
    let record = project.path().join("record.txt");
    let err = synth(project.path(), &options(ToolKind::VivadoHls, double_env(bin.path(), &record, "ok")), &Silent).unwrap_err();
    assert!(matches!(err, Error::Input { .. }) && err.to_string().contains("build_prj.tcl"), "{err}");
    assert!(!project.path().join("runs").exists());
}
