//! The search: forgiving-factor score, budget pruning, bad spaces, seeded
//! determinism, resume after an interrupted search, and the CLI contract.
use qforge::estimate::Calibration;
use qforge::events::Silent;
use qforge::search::results::{TrialRecord, TrialStatus, TRIALS_FILE};
use qforge::search::score::ForgivingFactor;
use qforge::search::space::SearchSpace;
use qforge::search::{run_search, SearchOptions};
use std::path::{Path, PathBuf};
use std::process::Command;

fn jet_model() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/jet_tagger.toml").display().to_string()
}

/// A small space over the jet model: fast trials (3000 samples, 2 epochs).
fn space_text(tuner: &str, extra: &str) -> String {
    format!(
        r#"model = "{model}"
[reference]
kernel = "quantized_bits(16,6)"
bias = "quantized_bits(16,6)"
activation = "quantized_relu(16,6)"
[search]
goal = "energy"
tuner = "{tuner}"
max_trials = 6
epochs = 2
seed = 7
samples = 3000
[search.tpe]
startup_trials = 3
[search.hyperband]
max_epochs = 3
eta = 3
[candidates]
kernel = ["quantized_bits(4,0,alpha=1)", "quantized_bits(16,6)", "quantized_po2(4,1)"]
bias = ["quantized_bits(8,3)"]
activation = ["quantized_relu(4,2)", "quantized_relu(8,4)"]
[blocks]
hidden = ["dense_2", "dense_3"]
{extra}
"#,
        model = jet_model()
    )
}

fn write_space(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("space.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn opts(out: &Path) -> SearchOptions {
    SearchOptions { out: out.to_path_buf(), ..Default::default() }
}

/// What must be identical between runs (not wall times).
fn key(t: &TrialRecord) -> (usize, Vec<usize>, usize, Option<f64>, f64, Option<f64>) {
    (t.id, t.choice.clone(), t.epochs, t.accuracy, t.cost, t.score)
}

#[test]
fn forgiving_factor_worked_example() {
    let ff = ForgivingFactor::default(); // delta_p = delta_n = 8 %, rate 2, stress 1
                                         // 4x cheaper: delta = 0.08 * log2(4) = 0.16, score = 0.75 * 1.16.
    assert!((ff.delta(1000.0, 250.0) - 0.16).abs() < 1e-12);
    assert!((ff.score(0.75, 1000.0, 250.0) - 0.87).abs() < 1e-12);
    // 2x dearer: delta = 0.08 * log2(1/2) = -0.08.
    assert!((ff.score(0.75, 1000.0, 2000.0) - 0.69).abs() < 1e-12);
    // Same cost: no change. Asymmetric deltas and stress: reference x stress.
    assert_eq!(ff.score(0.8, 500.0, 500.0), 0.8);
    let ff = ForgivingFactor { delta_p: 10.0, delta_n: 2.0, rate: 4.0, stress: 2.0 };
    // ref 1000 x 2 = 2000 vs 125: ratio 16 = 4^2 -> delta 0.10 * 2.
    assert!((ff.delta(1000.0, 125.0) - 0.2).abs() < 1e-12);
    // ref 2000 vs 8000: ratio 1/4 -> delta_n 0.02 * -1.
    assert!((ff.delta(1000.0, 8000.0) + 0.02).abs() < 1e-12);
}

#[test]
fn budget_prunes_a_known_too_big_candidate_before_training() {
    let dir = tempfile::tempdir().unwrap();
    // A 16-bit kernel in the first layer puts its 1024 products (16-bit inputs) in DSPs: over 100.
    // With 4-bit activations everywhere, every other product has a <= 4-bit operand: LUTs.
    let extra = "[layers.dense_1]\nactivation = [\"quantized_relu(4,2)\"]\n[layers.dense_2]\nactivation = [\"quantized_relu(4,2)\"]\n[budget]\npart = \"xcvu9p-flga2104-2L-e\"\ndsp = 100\n";
    let space = write_space(dir.path(), &space_text("random", extra));
    let space = SearchSpace::from_file(&space).unwrap();
    let mut o = opts(&dir.path().join("out"));
    o.max_trials = Some(10);
    let outcome = run_search(&space, &o, &Calibration::default(), &Silent).unwrap();
    let mut pruned = 0;
    for t in &outcome.trials {
        let wide = t.layers[0].kernel.starts_with("quantized_bits(16");
        if wide {
            assert_eq!(t.status, TrialStatus::Pruned, "trial {} with 16-bit kernels: {:?}", t.id, t.layers);
            assert!(t.accuracy.is_none() && t.model.is_none() && t.dsp > 100.0);
            assert!(t.reason.as_deref().unwrap().contains("DSP"));
            pruned += 1;
        } else {
            assert_eq!(t.status, TrialStatus::Trained);
            assert!(t.dsp <= 100.0);
        }
    }
    assert!(pruned > 0, "the seed should propose at least one 16-bit kernel");
}

#[test]
fn bad_spaces_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cal = Calibration::default();
    // A budget no candidate can meet.
    let p = write_space(dir.path(), &space_text("random", "[budget]\npart = \"xcvu9p-flga2104-2L-e\"\nlut = 10\n"));
    let space = SearchSpace::from_file(&p).unwrap();
    let e = run_search(&space, &opts(&dir.path().join("o1")), &cal, &Silent).unwrap_err().to_string();
    assert!(e.contains("no candidate can meet the budget") && e.contains("LUT"), "{e}");
    assert!(!dir.path().join("o1").join(TRIALS_FILE).exists(), "nothing trained");
    // An unknown part.
    let p = write_space(dir.path(), &space_text("random", "[budget]\npart = \"xcfoo123-x\"\ndsp = 5\n"));
    let e = SearchSpace::from_file(&p).unwrap_err().to_string();
    assert!(e.contains("space.toml") && e.contains("unknown part"), "{e}");
    // No candidates for a layer.
    let text = space_text("random", "[layers.dense_1]\nkernel = []\n");
    let e = SearchSpace::from_file(&write_space(dir.path(), &text)).unwrap_err().to_string();
    assert!(e.contains("no candidates for layer `dense_1` kernel") && e.contains("layers.dense_1.kernel"), "{e}");
    // A wrong quantizer kind.
    let text = space_text("random", "[layers.dense_2]\nactivation = [\"quantized_bits(4,0)\"]\n");
    let e = SearchSpace::from_file(&write_space(dir.path(), &text)).unwrap_err().to_string();
    assert!(e.contains("quantized_relu"), "{e}");
}

#[test]
fn seeded_search_gives_the_same_trials_twice() {
    for tuner in ["tpe", "hyperband"] {
        let dir = tempfile::tempdir().unwrap();
        let space = SearchSpace::from_file(&write_space(dir.path(), &space_text(tuner, ""))).unwrap();
        let a = run_search(&space, &opts(&dir.path().join("a")), &Calibration::default(), &Silent).unwrap();
        let b = run_search(&space, &opts(&dir.path().join("b")), &Calibration::default(), &Silent).unwrap();
        assert_eq!(a.trials.len(), 6);
        assert_eq!(a.trials.iter().map(key).collect::<Vec<_>>(), b.trials.iter().map(key).collect::<Vec<_>>(), "{tuner}");
        assert_eq!(a.best, b.best);
        // Blocks: dense_2 and dense_3 always share their quantizers.
        for t in &a.trials {
            assert_eq!((&t.layers[1].kernel, &t.layers[1].activation), (&t.layers[2].kernel, &t.layers[2].activation));
        }
        if tuner == "hyperband" {
            // s_max = 1 for R = 3, eta = 3: 3 configs at 1 epoch, the best retrained at 3.
            assert_eq!(a.trials.iter().map(|t| t.epochs).collect::<Vec<_>>()[..4], [1, 1, 1, 3]);
            let best_first = a.trials[..3].iter().max_by(|x, y| x.score.unwrap().total_cmp(&y.score.unwrap())).unwrap();
            assert_eq!(a.trials[3].choice, best_first.choice);
        }
    }
}

#[test]
fn resume_after_an_interrupted_search_equals_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let space = SearchSpace::from_file(&write_space(dir.path(), &space_text("tpe", ""))).unwrap();
    let cal = Calibration::default();
    let full = run_search(&space, &opts(&dir.path().join("full")), &cal, &Silent).unwrap();
    // Interrupted after 4 trials, with the 5th cut off mid-write.
    let out = dir.path().join("cut");
    let mut o = opts(&out);
    o.max_trials = Some(4);
    run_search(&space, &o, &cal, &Silent).unwrap();
    let log = out.join(TRIALS_FILE);
    let mut text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().count(), 4);
    text.push_str("{\"id\":4,\"choice\":[1,");
    std::fs::write(&log, text).unwrap();
    // Without --resume an existing log is refused.
    let e = run_search(&space, &opts(&out), &cal, &Silent).unwrap_err().to_string();
    assert!(e.contains("--resume"), "{e}");
    let mut o = opts(&out);
    o.resume = true;
    let resumed = run_search(&space, &o, &cal, &Silent).unwrap();
    assert_eq!(resumed.resumed_trials, 4);
    assert_eq!(full.trials.iter().map(key).collect::<Vec<_>>(), resumed.trials.iter().map(key).collect::<Vec<_>>());
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 6);
    assert!(out.join("best/model.json").exists() && out.join("search.svg").exists() && out.join("summary.json").exists());
    let svg = std::fs::read_to_string(out.join("search.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("Pareto front") && svg.trim_end().ends_with("</svg>"));
}

#[test]
fn cli_search_prints_one_json_object_and_writes_pareto_models() {
    let dir = tempfile::tempdir().unwrap();
    let space = write_space(dir.path(), &space_text("random", ""));
    let out = dir.path().join("out");
    let run = Command::new(env!("CARGO_BIN_EXE_qforge"))
        .args(["search", "--space"])
        .arg(&space)
        .arg("--out")
        .arg(&out)
        .args(["--json", "--pareto", "--max-trials", "4"])
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let v: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(v["trials"], 4);
    let front = v["pareto"].as_array().unwrap();
    assert!(!front.is_empty());
    for t in front {
        let id = t["id"].as_u64().unwrap();
        assert!(out.join(format!("pareto/trial_{id}/model.json")).exists());
    }
    // Bad input: exit code 2 and the file named.
    let bad = write_space(dir.path(), &space_text("random", "[budget]\npart = \"nope\"\n"));
    let run = Command::new(env!("CARGO_BIN_EXE_qforge"))
        .args(["search", "--space"])
        .arg(&bad)
        .arg("--out")
        .arg(dir.path().join("o2"))
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("unknown part"));
}

#[test]
fn cli_estimate_json_has_layers_and_totals() {
    let run = Command::new(env!("CARGO_BIN_EXE_qforge")).args(["estimate", "--spec", &jet_model(), "--json"]).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let v: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(v["layers"].as_array().unwrap().len(), 4);
    assert_eq!(v["totals"]["multiplications"], 4256);
    let run = Command::new(env!("CARGO_BIN_EXE_qforge")).args(["estimate", "--spec", &jet_model(), "--part", "xcbogus"]).output().unwrap();
    assert_eq!(run.status.code(), Some(2));
}
