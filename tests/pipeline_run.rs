//! `qforge run` end to end with real Yosys on a tiny model (16→8→5 at 4 bits):
//! train, a 2-trial search, Verilog, two synthesis jobs on 2 local workers (one
//! given a 1 s limit so it fails while the other succeeds), the history
//! database, calibration samples, the summary; then a re-run that skips every
//! stage; and a bad pipeline file.
mod support;

use qforge::reports::{ParsedReport, ReportKind};
use qforge::store::{RunFilter, RunKind, RunStatus, Store};
use std::path::Path;
use std::process::Command;

const SPEC: &str = r#"
name = "tiny_q4"
inputs = 16
input_type = "ap_fixed<16,6>"
classes = ["g", "q", "t", "w", "z"]
[[layers]]
type = "dense"
units = 8
kernel_quantizer = "quantized_bits(4,0,alpha=1)"
bias_quantizer = "quantized_bits(4,0,alpha=1)"
[[layers]]
type = "activation"
activation = "relu"
quantizer = "quantized_relu(4)"
[[layers]]
type = "dense"
units = 5
kernel_quantizer = "quantized_bits(4,0,alpha=1)"
bias_quantizer = "quantized_bits(4,0,alpha=1)"
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
kernel = ["quantized_bits(3,0,1,alpha=1)", "quantized_bits(4,0,1,alpha=1)"]
bias = ["quantized_bits(4,0,1,alpha=1)"]
activation = ["quantized_relu(3,1)", "quantized_relu(4,2)"]
"#;

const PIPELINE: &str = r#"
name = "tiny"
[model]
spec = "tiny.toml"
[data]
samples = 6000
[train]
epochs = 1
[search]
space = "space.toml"
[synth]
candidates = 2
timeout_secs = 900
# The baseline's synthesis is stopped after 1 s: it must fail alone.
candidate_timeouts = { baseline = 1 }
[executor]
workers = 2
poll_interval_secs = 0.5
[executor.retry]
max_retries = 0
"#;

fn have_yosys() -> bool {
    Command::new("yosys").arg("-V").output().map(|o| o.status.success()).unwrap_or(false)
}

fn run(args: &[&str], cwd: &Path) -> (i32, serde_json::Value, String) {
    support::run_in(cwd, args)
}

fn done_markers(out: &Path) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::fs::read_dir(out.join("stages"))
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path().join("done.json");
            (p.display().to_string(), std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn pipeline_runs_end_to_end_isolates_a_failure_and_resumes_from_cache() {
    assert!(have_yosys(), "this end-to-end test needs Yosys on PATH (scripts/setup.sh installs it)");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("tiny.toml"), SPEC).unwrap();
    std::fs::write(d.join("space.toml"), SPACE).unwrap();
    std::fs::write(d.join("pipe.toml"), PIPELINE).unwrap();

    let (code, summary, stderr) = run(&["run", "pipe.toml", "--out", "out", "--json"], d);
    assert_eq!(code, 0, "{stderr}");
    let out = d.join("out");
    let run_dir = out.join("runs").join("tiny");
    for f in ["summary.md", "summary.html", "summary.json", "calibration_samples.jsonl", "est_vs_meas_lut.svg", "accuracy_vs_cost.svg"] {
        assert!(run_dir.join(f).is_file(), "{f} missing");
    }
    let cands = summary["candidates"].as_array().unwrap();
    assert_eq!(cands.len(), 2, "{summary:#}");
    let baseline = cands.iter().find(|c| c["name"] == "baseline").unwrap();
    let other = cands.iter().find(|c| c["name"] != "baseline").unwrap();
    assert_eq!(baseline["status"], "failed", "{baseline:#}");
    assert!(baseline["measured"].is_null());
    assert!(baseline["estimated"]["lut"].as_u64().unwrap() > 0);
    assert_eq!(other["status"], "ok", "{other:#}");
    let est = other["estimated"]["lut"].as_u64().unwrap();
    let meas = other["measured"]["lut"].as_u64().unwrap();
    assert!(est > 0 && meas > 0, "{other:#}");
    assert!(summary["skipped"].as_array().unwrap().is_empty());

    // The history: one synth run per candidate, with estimate and (for the good one) measurement.
    let store = Store::open(&out.join("history.sqlite")).unwrap();
    let runs = store.query(&RunFilter { kind: Some(RunKind::Synth), ..RunFilter::default() }).unwrap();
    assert_eq!(runs.len(), 2);
    let ok: Vec<_> = runs.iter().filter(|r| r.status == RunStatus::Ok).collect();
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].measurements[0].lut, Some(meas as i64));
    assert_eq!(ok[0].tool.as_deref(), Some("yosys"));
    // The measured LUTs are the tool's own number: read here from the Yosys report in the run's folder.
    let synth_dir = ok[0].run_dir.as_ref().expect("a synth run keeps its folder");
    let from_report = qforge::reports::parse_path(&synth_dir.join("yosys/stat.json"))
        .unwrap()
        .into_iter()
        .find_map(|r| match r {
            ParsedReport::Synth(s) if s.tool == ReportKind::Yosys => s.used.lut,
            _ => None,
        })
        .expect("the run folder holds a Yosys report with LUTs");
    // Per layer by default: the summed report, its parts kept beside it.
    let summed = qforge::reports::parse_path(&synth_dir.join("yosys/stat.json")).unwrap();
    let ParsedReport::Synth(summed) = &summed[0] else { panic!("a synthesis report") };
    assert_eq!(summed.extra.get("hierarchical_parts"), Some(&4.0), "two layers, the output stage and the top: {summed:?}");
    assert!(synth_dir.join("yosys/parts/layer1_dense/stat.json").is_file());
    assert!(synth_dir.join("yosys/netlist.json").is_file(), "the stitched netlist for the switching stage");
    assert_eq!(from_report, meas, "summary and history carry the report's LUTs");
    let markdown = std::fs::read_to_string(run_dir.join("summary.md")).unwrap();
    assert!(markdown.contains(&meas.to_string()), "summary.md shows the measured LUTs {meas}:\n{markdown}");
    assert!(runs.iter().all(|r| !r.estimates.is_empty()));
    let failed = runs.iter().find(|r| r.status == RunStatus::Failed).unwrap();
    let why = failed.error.as_deref().unwrap();
    assert!(why.contains("per-layer synthesis of module `"), "the failed part is named: {why}");

    // Calibration samples: one line per measured candidate, features named.
    let samples = std::fs::read_to_string(run_dir.join("calibration_samples.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = samples.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["measured"]["lut"].as_u64(), Some(meas));
    assert_eq!(lines[0]["feature_names"].as_array().unwrap().len(), lines[0]["features"].as_array().unwrap().len());

    // A re-run that keeps the failed job: every stage comes from the cache, markers untouched, no new runs.
    let before = done_markers(&out);
    let (code, again, stderr) = run(&["run", "pipe.toml", "--out", "out", "--json", "--no-retry"], d);
    assert_eq!(code, 0, "{stderr}");
    let skipped: Vec<&str> = again["skipped"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    for stage in ["train", "search", "generate", "synth", "calibrate"] {
        assert!(skipped.contains(&stage), "{stage} not skipped: {skipped:?}");
    }
    assert_eq!(done_markers(&out), before);
    assert_eq!(again["candidates"][0]["estimated"], summary["candidates"][0]["estimated"]);
    let runs = Store::open(&out.join("history.sqlite")).unwrap().query(&RunFilter::default()).unwrap();
    assert_eq!(runs.len(), 2, "a cached synth stage adds no runs");
}

#[test]
fn a_bad_pipeline_file_names_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.toml");
    std::fs::write(&p, "name = \"x\"\n[model]\nspec = \"m.toml\"\n[synth]\ncandidates = 2\nworkerz = 3\n").unwrap();
    let (code, _, stderr) = run(&["run", p.to_str().unwrap(), "--out", "out"], dir.path());
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("bad.toml") && stderr.contains("workerz") && stderr.contains('6'), "{stderr}");
    assert!(!dir.path().join("out").join("stages").exists(), "nothing runs on a bad file");
}
