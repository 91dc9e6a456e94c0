//! The output folder's one layout, the content-keyed stage cache, each job's
//! own wall time and the RTL design's latency in the budget gate, through the
//! real binary with real Yosys on tiny models (6-bit inputs, 3-bit weights:
//! Yosys takes seconds) and the real history database.
mod rtl_support;
mod support;

use qforge::store::{RunFilter, RunKind, RunStatus, Store};
use rtl_support::{spec_text, synthesise_tiny};
use std::path::{Path, PathBuf};
use support::{qforge_bin, run_in, run_with};

/// A PATH on which no synthesis tool is found: jobs fail at once, for real.
const NO_TOOLS: [(&str, &str); 1] = [("PATH", "/nonexistent")];

fn tiny_spec() -> String {
    let q3 = "quantized_bits(3,0,alpha=1)";
    spec_text("tiny_layout", &[(6, q3, q3, "quantized_relu(3)"), (5, q3, q3, "linear")]).replace("ap_fixed<16,6>", "ap_fixed<6,3>")
}

const SPACE: &str = r#"
model = "tiny.toml"
[reference]
kernel = "quantized_bits(8,3)"
bias = "quantized_bits(8,3)"
activation = "quantized_relu(8,3)"
[search]
goal = "energy"
tuner = "random"
max_trials = 2
epochs = 1
seed = 3
samples = 4000
[candidates]
kernel = ["quantized_bits(2,0,1,alpha=1)", "quantized_bits(3,0,1,alpha=1)"]
bias = ["quantized_bits(3,0,1,alpha=1)"]
activation = ["quantized_relu(2,1)", "quantized_relu(3,1)"]
"#;

/// `[search]` and `[synth]` vary; the rest is one tiny pipeline named `name`
/// (registers every 2 logic levels: a latency of some cycles).
fn pipeline(name: &str, search: &str, synth: &str) -> String {
    format!(
        "name = \"{name}\"\n[model]\nspec = \"tiny.toml\"\n[data]\nsamples = 6000\n[train]\nepochs = 1\n\
         [target]\npart = \"xcvu13p-flga2577-2-e\"\nclock_ns = 4.0\n[generate]\npipeline_every = 2\n[search]\n{search}\n[synth]\ntimeout_secs = 900\n{synth}\n\
         [executor]\nworkers = 2\npoll_interval_secs = 0.5\n[executor.retry]\nmax_retries = 0\n"
    )
}

fn project(pipeline_text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tiny.toml"), tiny_spec()).unwrap();
    std::fs::write(dir.path().join("space.toml"), SPACE).unwrap();
    std::fs::write(dir.path().join("pipe.toml"), pipeline_text).unwrap();
    dir
}

fn skipped(summary: &serde_json::Value) -> Vec<String> {
    summary["skipped"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect()
}

fn files_named(root: &Path, name: &str) -> Vec<PathBuf> {
    walkdir::WalkDir::new(root).into_iter().filter_map(|e| e.ok()).filter(|e| e.file_name() == name).map(|e| e.into_path()).collect()
}

#[test]
fn every_command_finds_the_runs_history_and_each_job_keeps_its_own_time_and_latency() {
    let dir = project(&pipeline("layout", "space = \"space.toml\"", "candidates = 2\ncandidate_timeouts = { baseline = 1 }"));
    let d = dir.path();
    // No --out: the default output folder, as a user types it.
    let (code, summary, stderr) = run_in(d, &["run", "pipe.toml", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let out = d.join("qforge-out");
    let run_dir = out.join("runs").join("layout");
    for f in ["summary.json", "summary.md", "calibration_samples.jsonl"] {
        assert!(run_dir.join(f).is_file(), "{f} is not in the run's folder {}", run_dir.display());
    }
    assert_eq!(files_named(&out, "history.sqlite"), vec![out.join("history.sqlite")], "one history, at the root; no job leaves its own");

    // `qforge history` with no flag reads the run's history.
    let (code, listed, stderr) = run_in(d, &["history", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(listed["runs"].as_array().unwrap().len(), 2, "{listed:#}");

    // Each run's wall time is its own jobs' (per layer: the sum of its parts' last tries), not the stage's.
    let store = Store::open(&out.join("history.sqlite")).unwrap();
    let runs = store.query(&RunFilter { kind: Some(RunKind::Synth), ..RunFilter::default() }).unwrap();
    for run in &runs {
        let mut last_try: std::collections::BTreeMap<String, f64> = std::collections::BTreeMap::new();
        for j in store.jobs(run.id).unwrap() {
            last_try.insert(j.label.clone(), j.wall_seconds.expect("the job's wall time"));
        }
        assert!(last_try.len() > 1, "per layer: one job per module: {last_try:?}");
        let job_wall: f64 = last_try.values().sum();
        let run_wall = run.wall_seconds.unwrap();
        assert!((run_wall - job_wall).abs() < 0.01, "run {} ({:?}): {run_wall} s stored, its job took {job_wall} s", run.id, run.status);
    }
    let failed = runs.iter().find(|r| r.status == RunStatus::Failed).expect("the 1 s baseline fails");
    let ok = runs.iter().find(|r| r.status == RunStatus::Ok).expect("the other candidate is measured");
    assert!(failed.wall_seconds.unwrap() < ok.wall_seconds.unwrap(), "{:?} vs {:?}", failed.wall_seconds, ok.wall_seconds);

    // The design's latency in cycles is stored with the run: the generator's, as its manifest says.
    let cand = summary["candidates"].as_array().unwrap().iter().find(|c| c["run_id"] == ok.id.0).unwrap().clone();
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(Path::new(cand["rtl_dir"].as_str().unwrap()).join("qforge_rtl.json")).unwrap())
            .unwrap();
    let cycles = manifest["latency_cycles"].as_u64().unwrap();
    assert!(cycles >= 1, "{manifest}");
    assert_eq!(ok.design_latency_cycles, Some(cycles as i64));
    assert_eq!(ok.design_latency_source.as_deref(), Some("generator"));

    // `qforge check` judges it, in cycles and in ns at the target clock (4 ns).
    let id = ok.id.0.to_string();
    let ns = cycles as f64 * 4.0;
    std::fs::write(d.join("fits.toml"), format!("[budget]\nlatency_cycles = {cycles}\nlatency_ns = {ns}\n")).unwrap();
    let (code, verdicts, stderr) = run_in(d, &["check", "--budget", "fits.toml", "--json", &id]);
    assert_eq!(code, 0, "{verdicts:#} {stderr}");
    assert_eq!(verdicts["passed"], 2, "{verdicts:#}");
    assert_eq!(verdicts["verdicts"][1]["value"], format!("{ns}"), "{verdicts:#}");
    std::fs::write(d.join("tight.toml"), format!("[budget]\nlatency_cycles = {}\nlatency_ns = {}\n", cycles - 1, ns - 1.0)).unwrap();
    let (code, verdicts, stderr) = run_in(d, &["check", "--budget", "tight.toml", "--json", &id]);
    assert_eq!(code, 1, "{verdicts:#} {stderr}");
    let outcomes: Vec<&str> = verdicts["verdicts"].as_array().unwrap().iter().map(|v| v["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["exceeded", "exceeded"], "{verdicts:#}");
    assert!(verdicts["verdicts"][0]["message"].as_str().unwrap().contains("generator"), "{verdicts:#}");
}

#[test]
fn failed_jobs_are_retried_and_the_cache_follows_the_verilog_and_the_history() {
    let dir = project(&pipeline("retry", "enabled = false", "candidates = 1"));
    let d = dir.path();
    let bin = Path::new(qforge_bin());
    let db = d.join("qforge-out").join("history.sqlite");

    // No Yosys on PATH: the job fails.
    let (code, first, stderr) = run_with(bin, d, &["run", "pipe.toml", "--json"], &NO_TOOLS);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(first["candidates"][0]["status"], "failed", "{first:#}");
    // --no-retry keeps the failure.
    let (code, kept, stderr) = run_in(d, &["run", "pipe.toml", "--json", "--no-retry"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(skipped(&kept).contains(&"synth".to_string()), "{:?}", skipped(&kept));
    assert_eq!(kept["candidates"][0]["status"], "failed");
    // A plain re-run tries the failed job again, in the same run of the history.
    let (code, retried, stderr) = run_in(d, &["run", "pipe.toml", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let again = skipped(&retried);
    assert!(
        again.contains(&"train".to_string()) && again.contains(&"generate".to_string()) && !again.contains(&"synth".to_string()),
        "{again:?}"
    );
    assert_eq!(retried["candidates"][0]["status"], "ok", "{retried:#}");
    let runs = Store::open(&db).unwrap().query(&RunFilter::default()).unwrap();
    assert_eq!(runs.len(), 1, "the retry continues the failed run");
    assert_eq!(runs[0].status, RunStatus::Ok);
    // Nothing changed: everything is cached.
    let (code, cached, stderr) = run_in(d, &["run", "pipe.toml", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(skipped(&cached), ["train", "generate", "synth", "switching", "calibrate"]);

    // The history grew (another measured design): the refit runs again, nothing else.
    let samples_before = cached["calibration"]["history_samples"].as_u64().unwrap();
    synthesise_tiny(qforge_bin(), &d.join("other"), &db, 4, 3);
    let (code, grown, stderr) = run_in(d, &["run", "pipe.toml", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(skipped(&grown), ["train", "generate", "synth", "switching"]);
    assert_eq!(grown["calibration"]["history_samples"].as_u64().unwrap(), samples_before + 1, "{grown:#}");

    // A refit that grown history allowed may be adopted; the next run then
    // regenerates with the new calibration. Run until nothing changes (the
    // guard adopts only a lower held-out error, so this settles).
    let mut settled = grown;
    for _ in 0..3 {
        if skipped(&settled).iter().any(|s| s == "calibrate") {
            break;
        }
        let (code, next, stderr) = run_in(d, &["run", "pipe.toml", "--json"]);
        assert_eq!(code, 0, "{stderr}");
        settled = next;
    }
    assert_eq!(skipped(&settled), ["train", "generate", "synth", "switching", "calibrate"], "the refit settles: {settled:#}");

    // The generated Verilog changed: synthesis does not reuse the old result.
    let rtl = PathBuf::from(settled["candidates"][0]["rtl_dir"].as_str().unwrap());
    let verilog = std::fs::read_dir(&rtl).unwrap().map(|e| e.unwrap().path()).find(|p| p.extension().is_some_and(|e| e == "v")).unwrap();
    let mut text = std::fs::read_to_string(&verilog).unwrap();
    text.push_str("// edited by hand\n");
    std::fs::write(&verilog, text).unwrap();
    let (code, edited, stderr) = run_with(bin, d, &["run", "pipe.toml", "--json"], &NO_TOOLS);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(skipped(&edited), ["train", "generate"], "{stderr}");
}

#[test]
fn a_rebuilt_qforge_does_not_reuse_an_older_builds_stages() {
    let dir = project(&pipeline("build", "enabled = false", "candidates = 1"));
    let d = dir.path();
    let exe = d.join("qforge");
    std::fs::copy(qforge_bin(), &exe).unwrap();
    let (code, _, stderr) = run_with(&exe, d, &["run", "pipe.toml", "--json", "--no-retry"], &NO_TOOLS);
    assert_eq!(code, 0, "{stderr}");
    let (code, same, stderr) = run_with(&exe, d, &["run", "pipe.toml", "--json", "--no-retry"], &NO_TOOLS);
    assert_eq!(code, 0, "{stderr}");
    assert!(skipped(&same).contains(&"train".to_string()), "the same build reuses its stages: {:?}", skipped(&same));
    // Another build of the same version: a different executable.
    use std::io::Write;
    std::fs::OpenOptions::new().append(true).open(&exe).unwrap().write_all(b"another build").unwrap();
    let (code, rebuilt, stderr) = run_with(&exe, d, &["run", "pipe.toml", "--json", "--no-retry"], &NO_TOOLS);
    assert_eq!(code, 0, "{stderr}");
    assert!(skipped(&rebuilt).is_empty(), "{:?}", skipped(&rebuilt));
    let train_dirs =
        |s: &serde_json::Value| s["stages"].as_array().unwrap().iter().find(|st| st["stage"] == "train").unwrap()["dir"].clone();
    assert_ne!(train_dirs(&rebuilt), train_dirs(&same));
}
