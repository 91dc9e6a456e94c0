//! `qforge calibrate` end to end through the binary: one JSON object with
//! --json, the calibration file written with provenance and then used by
//! `qforge estimate` (discovered in qforge-out/ or via $QFORGE_CALIBRATION),
//! the energy target, and bad input.
use qforge::estimate::{Calibration, FEATURE_NAMES};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn qforge(dir: &Path, args: &[&str], env: Option<(&str, &Path)>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_qforge"));
    cmd.args(args).current_dir(dir).env_remove("QFORGE_CALIBRATION");
    if let Some((k, v)) = env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn one_json_object(out: &Output) -> Value {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}): {text}"));
    assert!(value.is_object());
    value
}

fn spec() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/jet_tagger.toml")
}

/// 24 samples of a LUT model twice as expensive per adder bit as the default.
fn write_samples(path: &Path) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let mut text = String::new();
    for i in 0..24 {
        let mults: f64 = rng.gen_range(100.0..2000.0);
        let f = json!({
            "mult_lut": mults,
            "lut_product_bit": mults * rng.gen_range(8.0..30.0),
            "adder": mults,
            "adder_bit": mults * rng.gen_range(12.0..18.0),
            "relu_bit": rng.gen_range(100.0..700.0),
            "output_bit": rng.gen_range(100.0..700.0),
            "layer": 4.0,
        });
        let lut = 1.5 * f["mult_lut"].as_f64().unwrap()
            + 0.8 * f["lut_product_bit"].as_f64().unwrap()
            + 2.0 * f["adder_bit"].as_f64().unwrap()
            + 1.2 * f["relu_bit"].as_f64().unwrap()
            + 4.0 * 30.0;
        text.push_str(&json!({"name": format!("run{i}"), "features": f, "measured": {"lut": lut.round()}}).to_string());
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn calibrate_writes_a_file_that_estimate_then_uses() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = tempfile::tempdir().unwrap();
    write_samples(&dir.path().join("samples.jsonl"));
    let spec = spec();
    let spec = spec.to_str().unwrap();
    let before = one_json_object(&qforge(dir.path(), &["estimate", "--spec", spec, "--json"], None));

    let out = qforge(
        dir.path(),
        &["calibrate", "--samples-file", "samples.jsonl", "--tool", "yosys", "--part", "xcvu9p-flga2104-2L-e", "--k", "4", "--json"],
        None,
    );
    let report = one_json_object(&out);
    assert_eq!(report["calibration_file"], "qforge-out/calibration.toml");
    assert_eq!(report["base_calibration"], "embedded default");
    let lut = report["report"]["quantities"].as_array().unwrap().iter().find(|q| q["quantity"] == "lut").unwrap().clone();
    assert_eq!(lut["fitted"], true);
    assert!(lut["after_cv"]["mape_percent"].as_f64().unwrap() < 0.5, "{lut}");
    assert!(lut["before"]["mape_percent"].as_f64().unwrap() > 10.0, "{lut}");
    assert!((lut["coefficients_after"]["per_adder_bit"].as_f64().unwrap() - 2.0).abs() < 0.05, "{lut}");
    for q in ["ff", "dsp", "bram18", "latency"] {
        let r = report["report"]["quantities"].as_array().unwrap().iter().find(|x| x["quantity"] == q).unwrap();
        assert_eq!(r["fitted"], false, "{q} was not measured");
    }

    // The file round-trips with its provenance.
    let path = dir.path().join("qforge-out/calibration.toml");
    let cal = Calibration::load(&path).unwrap();
    assert_eq!(cal.provenance.len(), 1);
    let p = &cal.provenance[0];
    assert_eq!((p.section.as_str(), p.tool.as_str(), p.k_folds, p.runs.len()), ("resources.ultrascale_plus", "yosys", 4, 24));
    assert_eq!(p.runs[0], "run0");
    assert!(p.fitted.contains(&"lut.per_adder_bit".to_string()));
    let resaved = dir.path().join("again.toml");
    cal.save(&resaved).unwrap();
    assert_eq!(Calibration::load(&resaved).unwrap(), cal);

    // `estimate` in that folder discovers qforge-out/calibration.toml: more LUTs (2 per adder bit).
    let after = one_json_object(&qforge(dir.path(), &["estimate", "--spec", spec, "--json"], None));
    assert!(
        after["calibration_origin"].as_str().unwrap().starts_with("fitted by qforge calibrate on 24 runs of yosys"),
        "{}",
        after["calibration_origin"]
    );
    assert!(
        after["totals"]["lut"].as_f64().unwrap() > before["totals"]["lut"].as_f64().unwrap() * 1.3,
        "{} vs {}",
        after["totals"]["lut"],
        before["totals"]["lut"]
    );
    assert_eq!(after["totals"]["ff"], before["totals"]["ff"], "FF coefficients unchanged");

    // Elsewhere: the embedded default, unless $QFORGE_CALIBRATION names the file.
    let elsewhere = one_json_object(&qforge(fresh.path(), &["estimate", "--spec", spec, "--json"], None));
    assert_eq!(elsewhere["totals"]["lut"], before["totals"]["lut"]);
    let via_env = one_json_object(&qforge(fresh.path(), &["estimate", "--spec", spec, "--json"], Some(("QFORGE_CALIBRATION", &path))));
    assert_eq!(via_env["totals"]["lut"], after["totals"]["lut"]);
    // An explicit --calibration wins over both.
    let default_file = Path::new(env!("CARGO_MANIFEST_DIR")).join("calibration/default.toml");
    let explicit = one_json_object(&qforge(
        dir.path(),
        &["estimate", "--spec", spec, "--calibration", default_file.to_str().unwrap(), "--json"],
        Some(("QFORGE_CALIBRATION", &path)),
    ));
    assert_eq!(explicit["totals"]["lut"], before["totals"]["lut"]);
    // A missing file named by the variable is an error naming it.
    let missing = fresh.path().join("nope.toml");
    let out = qforge(fresh.path(), &["estimate", "--spec", spec, "--json"], Some(("QFORGE_CALIBRATION", &missing)));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nope.toml") && err.contains("QFORGE_CALIBRATION"), "{err}");

    // A second calibration starts from the discovered file and keeps its history.
    let again = one_json_object(&qforge(dir.path(), &["calibrate", "--samples-file", "samples.jsonl", "--k", "3", "--json"], None));
    assert_eq!(again["base_calibration"], "qforge-out/calibration.toml");
    assert_eq!(Calibration::load(&path).unwrap().provenance.len(), 2);
}

#[test]
fn energy_calibration_refits_the_qtools_polynomials() {
    // 24 variants of two layers; energies from known polynomials.
    let (mul, add) = ([0.004, 0.01, 0.02], [0.006, 0.05]);
    let poly = |c: &[f64], x: f64| c.iter().fold(0.0, |a, k| a * x + k);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    let mut variants = Vec::new();
    for v in 0..24 {
        let layers: Vec<Value> = [(16, 32), (32, 5)]
            .iter()
            .map(|&(n_in, n_out)| {
                let (bi, bw): (u32, u32) = (rng.gen_range(2..=16), rng.gen_range(2..=8));
                let bits = bi + bw + 5;
                let n = (n_in * n_out) as f64;
                let g = ((bi * bw) as f64).sqrt();
                let e = n * poly(&mul, g) + n * poly(&add, bits as f64);
                json!({"multiplications": [{"input_bits": bi, "weight_bits": bw, "count": n}], "additions": [{"bits": bits, "count": n}], "measured_pj": e})
            })
            .collect();
        variants.push(json!({"name": format!("variant{v}"), "layers": layers}));
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("energy.json"), Value::Array(variants).to_string()).unwrap();
    let out = qforge(
        dir.path(),
        &["calibrate", "--target", "energy", "--samples-file", "energy.json", "--tool", "power-meter", "--out", "cal.toml", "--json"],
        None,
    );
    let report = one_json_object(&out);
    let r = &report["report"];
    assert_eq!(r["variants"], 24);
    assert!(r["after_cv"]["mape_percent"].as_f64().unwrap() < 1e-6, "{r}");
    assert!((r["after_cv"]["spearman"].as_f64().unwrap() - 1.0).abs() < 1e-12);
    assert!(r["before"]["mape_percent"].as_f64().unwrap() > 50.0, "the horowitz defaults are far from these energies: {r}");
    let cal = Calibration::load(&dir.path().join("cal.toml")).unwrap();
    // a2 and a1 are identified; the two constant terms count the same operations, so only their sum is.
    assert!((cal.energy.fpm_mul[0] - 0.004).abs() < 1e-9 && (cal.energy.fpm_mul[1] - 0.01).abs() < 1e-9, "{:?}", cal.energy.fpm_mul);
    assert!((cal.energy.fpm_add[0] - 0.006).abs() < 1e-9);
    assert!((cal.energy.fpm_mul[2] + cal.energy.fpm_add[1] - 0.07).abs() < 1e-9);
    assert_eq!(cal.provenance[0].section, "energy");
    assert_eq!(cal.resources, Calibration::default().resources, "resource sections unchanged");
    // Every variant is a point of the scatter plot written beside the file.
    assert_eq!(r["points"].as_array().unwrap().len(), 24);
    let svg = std::fs::read_to_string(dir.path().join("energy_calibration.svg")).unwrap();
    assert_eq!(svg.matches("<title>").count(), 48, "before and after for each variant");
}

#[test]
fn bad_samples_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let features = vec![1.0; FEATURE_NAMES.len() - 1];
    std::fs::write(dir.path().join("s.jsonl"), format!("{}\n", json!({"name": "a", "features": features, "measured": {"lut": 3}})))
        .unwrap();
    let out = qforge(dir.path(), &["calibrate", "--samples-file", "s.jsonl", "--json"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("s.jsonl:1") && err.contains("15 features, expected 16"), "{err}");
    assert!(out.stdout.is_empty());
    std::fs::write(dir.path().join("t.jsonl"), "{\"name\": \"a\", \"features\": {\"wires\": 3}, \"measured\": {}}\n").unwrap();
    let err = String::from_utf8_lossy(&qforge(dir.path(), &["calibrate", "--samples-file", "t.jsonl"], None).stderr).to_string();
    assert!(err.contains("unknown feature `wires`"), "{err}");
    let err = String::from_utf8_lossy(&qforge(dir.path(), &["calibrate", "--runs", "nowhere"], None).stderr).to_string();
    assert!(err.contains("nowhere"), "{err}");
}
