//! The pipeline closes the loop: its calibration stage refits the estimator
//! from every measured run in the history, writes `<out>/calibration.toml`,
//! and the next run estimates and searches with it while the synthesis of
//! unchanged designs stays cached. Real Yosys runs of tiny models.
mod rtl_support;

mod support;

use qforge::store::{RunFilter, Store};
use rtl_support::{spec_text, synthesise_tiny};
use std::path::Path;

const QFORGE: &str = env!("CARGO_BIN_EXE_qforge");

/// A tiny 16→6→5 model at 3 bits on 6-bit inputs (Yosys takes seconds).
fn spec() -> String {
    let q3 = "quantized_bits(3,0,alpha=1)";
    spec_text("tiny_loop", &[(6, q3, q3, "quantized_relu(3)"), (5, q3, q3, "linear")]).replace("ap_fixed<16,6>", "ap_fixed<6,3>")
}

const PIPELINE: &str = r#"
name = "loop"
[model]
spec = "tiny.toml"
[data]
samples = 6000
[train]
epochs = 1
[target]
part = "xcvu13p-flga2577-2-e"
[search]
enabled = false
[synth]
candidates = 1
# As the history's runs (synthesise_tiny): whole designs, one kind of count.
flatten = true
timeout_secs = 900
[executor]
workers = 1
poll_interval_secs = 0.5
"#;

fn run(args: &[&str], cwd: &Path) -> (i32, serde_json::Value, String) {
    support::run_in(cwd, args)
}

#[test]
fn the_next_run_uses_the_calibration_this_run_refitted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("tiny.toml"), spec()).unwrap();
    std::fs::write(d.join("pipe.toml"), PIPELINE).unwrap();
    let out = d.join("out");
    let db = out.join("history.sqlite");
    std::fs::create_dir_all(&out).unwrap();

    // One measured run (this run's baseline) cannot cross-validate a refit: the stage says so and writes nothing.
    let (code, first, stderr) = run(&["run", "pipe.toml", "--out", "out", "--json"], d);
    assert_eq!(code, 0, "{stderr}");
    let cal = &first["calibration"];
    assert!(cal["calibration_file"].is_null(), "{cal}");
    assert_eq!(cal["history_samples"], 1, "{cal}");
    for q in cal["resources"].as_array().unwrap() {
        assert_eq!(q["adopted"], false, "{q}");
        assert!(q["reason"].as_str().unwrap().contains("one measured run"), "{q}");
    }
    assert!(!out.join("calibration.toml").exists());

    // Nights of history later: enough measured runs for a refit.
    for hidden in 2..=14 {
        synthesise_tiny(QFORGE, &d.join(format!("m{hidden}")), &db, hidden, 2 + hidden as u32 % 2);
    }
    std::fs::remove_dir_all(out.join("stages")).unwrap(); // a new night: nothing cached
                                                          // A stale calibration (UltraScale+ LUT per carry bit priced 3.5x): the refit must find and adopt a better one.
    let default = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/calibration/default.toml")).unwrap();
    let stale = default.replacen("per_carry_bit = 0.9085 ", "per_carry_bit = 3.0 ", 1);
    assert_ne!(stale, default);
    std::fs::write(out.join("calibration.toml"), stale).unwrap();
    let (code, second, stderr) = run(&["run", "pipe.toml", "--out", "out", "--json"], d);
    assert_eq!(code, 0, "{stderr}");
    let cal = &second["calibration"];
    // 13 tiny runs and both nights' baselines (each model.json records its own training speed, so they differ).
    assert_eq!(cal["history_samples"], 15, "{cal}");
    let errors = cal["errors"].as_array().unwrap();
    assert!(errors.iter().any(|e| e[0] == "lut" && e[1].as_f64().is_some() && e[2].as_f64().is_some()), "{cal}");
    // The guard: a quantity's refit is adopted exactly when its held-out error beats the current one.
    let lut = cal["resources"].as_array().unwrap().iter().find(|q| q["quantity"] == "lut").expect("lut refit").clone();
    let (before, after) = (lut["error_before"].as_f64().unwrap(), lut["error_after_cv"].as_f64().unwrap());
    assert_eq!(lut["adopted"].as_bool().unwrap(), after < before, "{lut}");
    assert!(lut["adopted"].as_bool().unwrap(), "the stale LUT prices are refitted on 15 real Yosys runs: {lut}");
    let file = cal["calibration_file"].as_str().expect("refitted");
    assert!(Path::new(file).is_file());
    let md = std::fs::read_to_string(out.join("runs/loop/summary.md")).unwrap();
    assert!(md.contains("## Calibration") && md.contains("Refitted"), "{md}");
    let runs_before = Store::open(&db).unwrap().query(&RunFilter::default()).unwrap().len();

    // The next run: estimates come from the refit, the same design is not synthesised again.
    let (code, third, stderr) = run(&["run", "pipe.toml", "--out", "out", "--json"], d);
    assert_eq!(code, 0, "{stderr}");
    let skipped: Vec<&str> = third["skipped"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert!(skipped.contains(&"train") && skipped.contains(&"synth"), "{skipped:?}");
    assert!(!skipped.contains(&"generate"), "a new calibration re-estimates: {skipped:?}");
    assert_ne!(
        third["candidates"][0]["estimated"]["lut"], second["candidates"][0]["estimated"]["lut"],
        "the estimate changed with the refitted coefficients"
    );
    assert_eq!(Store::open(&db).unwrap().query(&RunFilter::default()).unwrap().len(), runs_before, "no new synthesis run");
}
