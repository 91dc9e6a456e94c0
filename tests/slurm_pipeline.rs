//! `qforge run` with the Slurm executor, end to end, the real binary against
//! the real one-node cluster (scripts/slurm-cluster.sh): a tiny jet pipeline
//! (16→2→5, 2-bit kernels, 6-bit inputs: each Yosys job takes 15 s of CPU)
//! whose synthesis jobs run through sbatch and land in the store with their
//! Slurm ids; a re-run served from the cache and the ledger; qforge SIGKILLed
//! after submitting and re-run (re-attaches, submits nothing twice, stores
//! once); Ctrl-C with `--on-interrupt cancel` (scancel), with `keep` (a
//! re-run re-attaches), and `ask` without a terminal (keeps, and says so).
//!
//! The interrupt and kill tests submit with `extra_sbatch = ["--hold"]`, so
//! the jobs are certainly still queued when qforge is stopped; the test
//! releases them (`scontrol release`) before the re-run.
mod slurm_support;

use qforge::pipeline::executor::{JobLedger, JobState, JsonLedger, LedgerEntry};
use qforge::store::{JobRow, RunFilter, RunKind, RunRecord, RunStatus, Store};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const QFORGE: &str = env!("CARGO_BIN_EXE_qforge");

const SPEC: &str = r#"
name = "jet_tiny_q2"
inputs = 16
input_type = "ap_fixed<6,2>"
classes = ["g", "q", "t", "w", "z"]
[[layers]]
type = "dense"
units = 2
kernel_quantizer = "quantized_bits(2,0,alpha=1)"
bias_quantizer = "quantized_bits(2,0,alpha=1)"
[[layers]]
type = "activation"
activation = "relu"
quantizer = "quantized_relu(2)"
[[layers]]
type = "dense"
units = 5
kernel_quantizer = "quantized_bits(2,0,alpha=1)"
bias_quantizer = "quantized_bits(2,0,alpha=1)"
[[layers]]
type = "activation"
activation = "softmax"
[training]
learning_rate = 0.003
batch_size = 256
epochs = 1
patience = 3
l1 = 0.0
l2 = 0.0
seed = 42
"#;

const SPACE: &str = r#"
model = "tiny.toml"
[reference]
kernel = "quantized_bits(16,6)"
bias = "quantized_bits(16,6)"
activation = "quantized_relu(16,6)"
[search]
goal = "energy"
tuner = "random"
max_trials = 2
epochs = 1
seed = 1
samples = 6000
[candidates]
kernel = ["quantized_bits(2,0,1,alpha=1)", "quantized_bits(3,0,1,alpha=1)"]
bias = ["quantized_bits(4,0,1,alpha=1)"]
activation = ["quantized_relu(2,1)", "quantized_relu(3,1)"]
"#;

/// The pipeline file: `candidates` synthesis jobs, on Slurm when `slurm_in_file`
/// (else `--executor slurm` must say so), held at submission when `hold`.
fn pipeline(candidates: usize, slurm_in_file: bool, hold: bool) -> String {
    let search = if candidates > 1 { "space = \"space.toml\"" } else { "enabled = false" };
    let kind = if slurm_in_file { "slurm" } else { "local" };
    let extra = if hold { "[\"--hold\"]" } else { "[]" };
    format!(
        r#"
name = "jet_tiny"
[model]
spec = "tiny.toml"
[data]
samples = 6000
[train]
epochs = 1
[search]
{search}
[synth]
candidates = {candidates}
timeout_secs = 600
# One whole-design job per candidate: these tests count Slurm jobs and arrays
# per candidate (per-layer jobs are planned in tests/synth_hier.rs).
flatten = true
# The loop's refit (from the second measured run on) would change the next
# run's calibration and so its search: these tests rerun the same inputs.
[calibrate]
enabled = false
[executor]
kind = "{kind}"
poll_interval_secs = 0.5
[executor.slurm]
partition = "debug"
time_limit = "15"
extra_sbatch = {extra}
[executor.retry]
max_retries = 0
"#
    )
}

/// A folder with the pipeline, the model spec and the search space.
fn project(candidates: usize, slurm_in_file: bool, hold: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tiny.toml"), SPEC).unwrap();
    std::fs::write(dir.path().join("space.toml"), SPACE).unwrap();
    std::fs::write(dir.path().join("pipe.toml"), pipeline(candidates, slurm_in_file, hold)).unwrap();
    dir
}

fn slurm_conf() -> PathBuf {
    slurm_support::cluster();
    slurm_support::state_dir().join("slurm.conf")
}

fn qforge(dir: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(QFORGE);
    cmd.args(["run", "pipe.toml", "--out", "out"])
        .args(extra)
        .current_dir(dir)
        .env("CI", "1")
        .env("SLURM_CONF", slurm_conf())
        .env_remove("QFORGE_DB")
        .stdin(Stdio::null());
    cmd
}

/// Run to the end: exit code, `out/runs/jet_tiny/summary.json` (when written), stderr.
fn run(dir: &Path, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let out = qforge(dir, extra).output().unwrap();
    let (code, stderr) = (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).to_string());
    let summary = std::fs::read_to_string(dir.join("out/runs/jet_tiny/summary.json"))
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or(serde_json::Value::Null);
    (code, summary, stderr)
}

/// The synthesis stage's folder (holding `jobs.json` and `slurm/`).
fn synth_dir(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir.join("out/stages"))
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("synth-"))
}

fn ledger(dir: &Path) -> Vec<LedgerEntry> {
    synth_dir(dir).map(|d| JsonLedger::in_run_dir(&d).entries().unwrap_or_default()).unwrap_or_default()
}

/// Array scripts written: one per `sbatch` submission.
fn submissions(dir: &Path) -> usize {
    let slurm = synth_dir(dir).unwrap().join("slurm");
    std::fs::read_dir(slurm).unwrap().filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "sbatch")).count()
}

/// Every job id `squeue` lists (array tasks one by one), with its state.
fn squeue() -> Vec<(String, String)> {
    let out = Command::new("squeue").args(["-h", "-r", "-o", "%i %T"]).env("SLURM_CONF", slurm_conf()).output().unwrap();
    assert!(out.status.success(), "squeue: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.split_once(' ').map(|(a, b)| (a.to_string(), b.to_string()))).collect()
}

fn queued(ids: &[String]) -> Vec<String> {
    squeue().into_iter().filter(|(id, _)| ids.contains(id)).map(|(id, _)| id).collect()
}

/// A qforge started in the background, its stderr going to a file.
struct Background {
    child: Child,
    stderr: PathBuf,
}

impl Background {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on the pid of a child this test started and has not reaped.
        assert_eq!(unsafe { libc::kill(self.child.id() as i32, sig) }, 0);
    }

    /// Exit code (-1: killed by a signal) and stderr.
    fn finish(mut self) -> (i32, String) {
        let status = self.child.wait().unwrap();
        (status.code().unwrap_or(-1), self.log())
    }
}

/// Start qforge and wait until it supervises `n` jobs (submitted or
/// re-attached, as its log says) that its ledger and squeue list; returns it
/// and the jobs' Slurm ids.
fn start_and_wait_for_submission(dir: &Path, extra: &[&str], n: usize) -> (Background, Vec<String>) {
    let stderr = dir.join(format!("stderr-{}.log", std::fs::read_dir(dir).unwrap().count()));
    let file = std::fs::File::create(&stderr).unwrap();
    let child = qforge(dir, extra).stdout(Stdio::null()).stderr(file).spawn().unwrap();
    let mut bg = Background { child, stderr };
    let started = Instant::now();
    loop {
        let log = bg.log();
        let supervised = log.matches("submitted as slurm").count() + log.matches("re-attached to slurm").count();
        let ids: Vec<String> = ledger(dir).iter().map(|e| e.handle.external_id.clone()).collect();
        if supervised == n && ids.len() == n && queued(&ids).len() == n {
            return (bg, ids);
        }
        if let Some(status) = bg.child.try_wait().unwrap() {
            panic!("qforge ended ({status}) before its jobs were queued: {}", bg.log());
        }
        assert!(started.elapsed() < Duration::from_secs(300), "no {n} jobs queued after 300 s; ledger: {ids:?}; log: {log}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn release(ids: &[String]) {
    let mut arrays: Vec<&str> = ids.iter().map(|id| id.split('_').next().unwrap()).collect();
    arrays.dedup();
    for array in arrays {
        let out = Command::new("scontrol").args(["release", array]).env("SLURM_CONF", slurm_conf()).output().unwrap();
        assert!(out.status.success(), "scontrol release {array}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

fn synth_runs(dir: &Path) -> Vec<(RunRecord, Vec<JobRow>)> {
    let store = Store::open(&dir.join("out/history.sqlite")).unwrap();
    let runs = store.query(&RunFilter { kind: Some(RunKind::Synth), ..RunFilter::default() }).unwrap();
    runs.into_iter()
        .map(|r| {
            let jobs = store.jobs(r.id).unwrap();
            (r, jobs)
        })
        .collect()
}

#[test]
fn the_pipeline_synthesizes_on_slurm_stores_slurm_ids_and_a_rerun_submits_nothing() {
    let project = project(2, true, false);
    let d = project.path();
    let started = Instant::now();
    let (code, summary, stderr) = run(d, &[]);
    let wall = started.elapsed().as_secs_f64();
    assert_eq!(code, 0, "{stderr}");
    eprintln!("end-to-end pipeline with 2 Yosys jobs on Slurm: {wall:.1} s");
    let cands = summary["candidates"].as_array().unwrap();
    assert_eq!(cands.len(), 2, "{summary:#}");
    for c in cands {
        assert_eq!(c["status"], "ok", "{c:#}");
        assert_eq!(c["executor"], "slurm", "{c:#}");
        assert!(c["job_id"].as_str().unwrap().contains('_'), "{c:#}");
    }

    let runs = synth_runs(d);
    assert_eq!(runs.len(), 2);
    let mut slurm_ids = Vec::new();
    for (run, jobs) in &runs {
        assert_eq!(run.status, RunStatus::Ok, "{run:?}");
        assert_eq!(run.tool.as_deref(), Some("yosys"));
        assert_eq!(run.measurements.len(), 1, "{run:?}");
        assert!(run.measurements[0].lut.unwrap() > 0, "{run:?}");
        assert_eq!(jobs.len(), 1, "{jobs:?}");
        let job = &jobs[0];
        assert_eq!(job.executor, "slurm");
        assert_eq!((job.state.as_str(), job.job_state.as_str()), ("COMPLETED", "completed"));
        assert!(job.external_id.split_once('_').is_some_and(|(a, t)| a.parse::<u64>().is_ok() && t.parse::<u32>().is_ok()), "{job:?}");
        assert!(job.node.as_deref().is_some_and(|n| !n.is_empty()), "{job:?}");
        assert!(job.wall_seconds.is_some_and(|w| w >= 1.0), "{job:?}");
        assert_eq!(job.exit_code, Some(0));
        assert!(job.finished);
        slurm_ids.push(job.external_id.clone());
    }
    assert_eq!(submissions(d), 1, "one array for both jobs");

    // The same inputs again: every stage from the cache, nothing submitted.
    let ledger_before = ledger(d);
    let (code, again, stderr) = run(d, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(again["skipped"].as_array().unwrap().iter().any(|s| s == "synth"), "{again:#}");
    assert_eq!(ledger(d), ledger_before);
    assert_eq!(submissions(d), 1);

    // Without the stage marker the stage runs, and the ledger serves both jobs:
    // still no submission, no second measurement.
    let synth = synth_dir(d).unwrap();
    std::fs::remove_file(synth.join("done.json")).unwrap();
    let (code, third, stderr) = run(d, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!third["skipped"].as_array().unwrap().iter().any(|s| s == "synth"), "{third:#}");
    assert_eq!(submissions(d), 1, "{stderr}");
    assert_eq!(ledger(d).len(), 2);
    let runs = synth_runs(d);
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|(r, j)| r.status == RunStatus::Ok && r.measurements.len() == 1 && j.len() == 1));
    let mut ids: Vec<String> = runs.iter().map(|(_, j)| j[0].external_id.clone()).collect();
    ids.sort();
    slurm_ids.sort();
    assert_eq!(ids, slurm_ids);
}

#[test]
fn a_killed_qforge_reattaches_to_its_slurm_jobs_on_rerun() {
    let project = project(2, false, true);
    let d = project.path();
    let (bg, ids) = start_and_wait_for_submission(d, &["--executor", "slurm"], 2);
    bg.signal(libc::SIGKILL);
    let (code, _) = bg.finish();
    assert_eq!(code, -1, "killed by a signal");
    // The jobs outlive qforge: still queued (held), recorded in ledger and store.
    assert_eq!(queued(&ids).len(), 2, "{:?}", squeue());
    let stored: Vec<String> = synth_runs(d).iter().flat_map(|(_, j)| j.iter().map(|j| j.external_id.clone())).collect();
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|s| ids.contains(s)), "{stored:?} vs {ids:?}");

    release(&ids);
    let (code, summary, stderr) = run(d, &["--executor", "slurm"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stderr.matches("re-attached to slurm").count(), 2, "{stderr}");
    assert_eq!(submissions(d), 1, "nothing submitted twice");
    let entries = ledger(d);
    assert_eq!(entries.len(), 2, "{entries:?}");
    for e in &entries {
        assert_eq!((e.handle.attempt, e.state), (1, JobState::Completed), "{e:?}");
        assert!(ids.contains(&e.handle.external_id));
    }
    let runs = synth_runs(d);
    assert_eq!(runs.len(), 2, "the killed run's rows were continued, not duplicated");
    for (run, jobs) in &runs {
        assert_eq!(run.status, RunStatus::Ok, "{run:?}");
        assert_eq!(run.measurements.len(), 1);
        assert!(run.measurements[0].lut.unwrap() > 0);
        assert_eq!(jobs.len(), 1, "{jobs:?}");
        assert!(ids.contains(&jobs[0].external_id));
        assert_eq!(jobs[0].state, "COMPLETED");
    }
    for c in summary["candidates"].as_array().unwrap() {
        assert!(ids.iter().any(|id| c["job_id"] == id.as_str()), "{c:#}");
    }
    assert!(queued(&ids).is_empty());
}

#[test]
fn ctrl_c_keeps_the_jobs_without_a_terminal_and_cancels_them_when_told() {
    let project = project(2, true, true);
    let d = project.path();
    // `ask` (the default) with stdin not a terminal: keep, and say so.
    let (bg, ids) = start_and_wait_for_submission(d, &[], 2);
    bg.signal(libc::SIGINT);
    let (code, stderr) = bg.finish();
    assert_eq!(code, 130, "{stderr}");
    assert!(stderr.contains("not a terminal") && stderr.contains("keeping 2 queued/running Slurm jobs"), "{stderr}");
    assert_eq!(queued(&ids).len(), 2, "kept jobs stay queued: {:?}", squeue());
    for (run, _) in synth_runs(d) {
        assert_eq!(run.status, RunStatus::Failed);
        assert!(run.error.as_deref().unwrap().contains("re-attaches"), "{run:?}");
    }

    // Again with `cancel`: re-attaches to the same (still held) jobs, then scancels them.
    let (bg, again) = start_and_wait_for_submission(d, &["--on-interrupt", "cancel"], 2);
    assert_eq!(again, ids, "the re-run re-attached instead of submitting");
    bg.signal(libc::SIGINT);
    let (code, stderr) = bg.finish();
    assert_eq!(code, 130, "{stderr}");
    assert!(stderr.contains("cancelling 2 queued/running Slurm jobs"), "{stderr}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !queued(&ids).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(queued(&ids).is_empty(), "scancel'd jobs left the queue: {:?}", squeue());
    assert_eq!(submissions(d), 1);
    assert!(ledger(d).iter().all(|e| e.state == JobState::Cancelled), "{:?}", ledger(d));
    let runs = synth_runs(d);
    assert_eq!(runs.len(), 2);
    for (run, jobs) in runs {
        assert_eq!(run.status, RunStatus::Failed);
        assert!(run.error.as_deref().unwrap().contains("cancelled"), "{run:?}");
        assert_eq!((jobs[0].state.as_str(), jobs[0].job_state.as_str()), ("CANCELLED", "cancelled"), "{jobs:?}");
    }
}

#[test]
fn ctrl_c_with_keep_leaves_the_job_queued_and_a_rerun_reattaches() {
    let project = project(1, true, true);
    let d = project.path();
    let (bg, ids) = start_and_wait_for_submission(d, &["--on-interrupt", "keep"], 1);
    bg.signal(libc::SIGINT);
    let (code, stderr) = bg.finish();
    assert_eq!(code, 130, "{stderr}");
    assert!(stderr.contains("--on-interrupt keep: keeping 1 queued/running Slurm jobs"), "{stderr}");
    assert_eq!(queued(&ids), ids, "{:?}", squeue());

    release(&ids);
    let (code, summary, stderr) = run(d, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("re-attached to slurm"), "{stderr}");
    assert_eq!(summary["candidates"][0]["job_id"], ids[0].as_str());
    assert_eq!(submissions(d), 1);
    let runs = synth_runs(d);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].0.status, RunStatus::Ok);
    assert_eq!(runs[0].1.len(), 1);
    assert_eq!(runs[0].1[0].external_id, ids[0]);
}

/// The pid of the only child of `pid` (the program `script` runs).
fn only_child(pid: u32) -> Option<i32> {
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).ok()?;
    children.split_whitespace().next()?.parse().ok()
}

#[test]
fn ctrl_c_on_a_terminal_asks_and_cancels_on_yes() {
    let project = project(1, true, true);
    let d = project.path();
    // `script` gives qforge a pseudo-terminal; what this test writes to
    // script's stdin is typed on that terminal, and the terminal's output
    // (qforge's stderr) goes to the file.
    let output = d.join("terminal.log");
    let mut script = Command::new("script")
        .args(["-qfec", &format!("exec {QFORGE} run pipe.toml --out out"), "/dev/null"])
        .current_dir(d)
        .env("CI", "1")
        .env("SLURM_CONF", slurm_conf())
        .env_remove("QFORGE_DB")
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create(&output).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let screen = || std::fs::read_to_string(&output).unwrap_or_default();
    let started = Instant::now();
    let ids = loop {
        let ids: Vec<String> = ledger(d).iter().map(|e| e.handle.external_id.clone()).collect();
        if screen().contains("submitted as slurm") && ids.len() == 1 && queued(&ids).len() == 1 {
            break ids;
        }
        assert!(script.try_wait().unwrap().is_none(), "qforge ended early: {}", screen());
        assert!(started.elapsed() < Duration::from_secs(300), "not submitted after 300 s: {}", screen());
        std::thread::sleep(Duration::from_millis(200));
    };
    let qforge_pid = only_child(script.id()).expect("script runs qforge");
    // SAFETY: kill(2) on the qforge process this test started through script.
    assert_eq!(unsafe { libc::kill(qforge_pid, libc::SIGINT) }, 0);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !screen().contains("[y/N]") {
        assert!(Instant::now() < deadline, "no question on the terminal: {}", screen());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(screen().contains("cancel 1 queued/running Slurm jobs of this run? [y/N]"), "{}", screen());
    use std::io::Write;
    script.stdin.as_mut().unwrap().write_all(b"y\n").unwrap();
    let status = script.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{}", screen());
    let deadline = Instant::now() + Duration::from_secs(20);
    while !queued(&ids).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(queued(&ids).is_empty(), "the answer `y` cancels: {:?}", squeue());
    assert_eq!(ledger(d)[0].state, JobState::Cancelled);
}
