//! `qforge import keras.json --weights weights.h5 --config hls4ml_config.yml`
//! on every hls4ml 1.3.0 fixture (tests/fixtures/hls4ml/, made by
//! scripts/hls4ml_fixtures.py) gives a model whose fixed-point outputs, through
//! `qforge predict --all`, are hls4ml's C simulation bit for bit: every sample,
//! the last dense layer (the logits) and the outputs. Without the config's
//! types (qforge's own mode) they are not.
mod support;
use ndarray::Array2;
use ndarray_npy::WriteNpyExt;
use qforge::model::spec::parse_fixed_type;
use qforge::model::trace::Stage;
use qforge::model::{FixedNetwork, TrainedModel};
use std::path::{Path, PathBuf};
use support::{run_in, Csim};

fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hls4ml").join(name)
}

/// Import the fixture (with or without its config), predict every csim input;
/// (output mismatches, last-dense mismatches, samples, import seconds).
fn import_and_predict(name: &str, with_config: bool) -> (usize, usize, usize, f64) {
    let src = fixture_dir(name);
    let csim: Csim = serde_json::from_str(&std::fs::read_to_string(src.join("csim.json")).unwrap()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let n_in = csim.inputs[0].len();
    let x = Array2::from_shape_vec((csim.inputs.len(), n_in), csim.inputs.iter().flatten().map(|&v| v as f32).collect()).unwrap();
    x.write_npy(std::fs::File::create(dir.join("x.npy")).unwrap()).unwrap();
    let s = |p: PathBuf| p.to_str().unwrap().to_string();
    let mut args = vec!["import".to_string(), s(src.join("keras.json")), "--weights".into(), s(src.join("weights.h5"))];
    if with_config {
        args.extend(["--config".into(), s(src.join("hls4ml_config.yml"))]);
    }
    args.extend(["--out".into(), "imp".into(), "--json".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, report, err) = run_in(dir, &args);
    assert_eq!(code, 0, "{name}: import failed: {err}");
    let seconds = report["import"]["seconds"].as_f64().unwrap_or(f64::NAN);
    let (code, _, err) = run_in(dir, &["predict", "--model", "imp/model.json", "--all", "--data", "x.npy", "--output", "p.csv", "--json"]);
    assert_eq!(code, 0, "{name}: predict failed: {err}");
    let model = TrainedModel::load(&dir.join("imp/model.json")).unwrap();
    let net = FixedNetwork::from_model(&model).unwrap();
    let last_dense = csim.layers.iter().rev().find(|l| l.class == "Dense").unwrap();
    let trace = net.trace(&vec![0; n_in]);
    let our_dense_type = trace.iter().rev().find(|t| t.stage == Stage::Dense).unwrap().ty;
    let (theirs_out, theirs_dense) = (parse_fixed_type(&csim.output_type).unwrap(), parse_fixed_type(&last_dense.ty).unwrap());
    let csv = std::fs::read_to_string(dir.join("p.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let n_out = csim.outputs_raw[0].len();
    let col = |name: String| header.iter().position(|h| *h == name).unwrap();
    let (mut out_bad, mut dense_bad, mut rows) = (0, 0, 0);
    for (i, line) in lines.enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f[0], i.to_string(), "rows in file order");
        assert_eq!(f[1], "", "no labels given: empty label column");
        let differs = (0..n_out).any(|j| f[col(format!("out_{j}"))].parse::<f64>().unwrap() != theirs_out.to_f64(csim.outputs_raw[i][j]));
        out_bad += differs as usize;
        let dense_differs = (0..n_out)
            .any(|j| our_dense_type.to_f64(f[col(format!("logit_raw_{j}"))].parse().unwrap()) != theirs_dense.to_f64(last_dense.raw[i][j]));
        dense_bad += dense_differs as usize;
        rows += 1;
    }
    assert_eq!(rows, csim.inputs.len(), "{name}: every row predicted");
    (out_bad, dense_bad, rows, seconds)
}

fn check(name: &str) {
    let (outputs, last_dense, samples, seconds) = import_and_predict(name, true);
    println!(
        "{name}: imported in {seconds:.4} s; vs hls4ml csim on {samples} samples: outputs differ on {outputs}, last dense on {last_dense}"
    );
    assert_eq!((outputs, last_dense), (0, 0), "{name}: the imported model is not hls4ml's C simulation");
}

#[test]
fn q_bits_imports_bit_exact() {
    check("q_bits");
}

#[test]
fn q_relu_widths_imports_bit_exact() {
    check("q_relu_widths");
}

#[test]
fn q_po2_imports_bit_exact() {
    check("q_po2");
}

#[test]
fn float_imports_bit_exact() {
    check("float");
}

#[test]
fn q_legacy_imports_bit_exact() {
    check("q_legacy");
}

/// Without `--config` import keeps qforge's own types: the outputs differ
/// (its table softmax), so the config is what makes the match.
#[test]
fn without_the_config_outputs_differ() {
    let (outputs, _, samples, _) = import_and_predict("q_bits", false);
    println!("q_bits without config: outputs differ on {outputs} of {samples}");
    assert!(outputs > 0);
}

/// The config's model-level ReuseFactor and Strategy go into model.json
/// (`spec.hls`), and `qforge hls` builds with them unless told otherwise.
#[test]
fn reuse_factor_and_strategy_reach_model_json_and_the_hls_writer() {
    let tmp = tempfile::tempdir().unwrap();
    let f = fixture_dir("q_bits");
    let config = std::fs::read_to_string(f.join("hls4ml_config.yml")).unwrap();
    assert!(config.contains("    ReuseFactor: 1\n    Strategy: Latency\n"));
    let config = config.replace("    ReuseFactor: 1\n    Strategy: Latency\n", "    ReuseFactor: 4\n    Strategy: Resource\n");
    std::fs::write(tmp.path().join("cfg.yml"), config).unwrap();
    let arg = |n: &str| f.join(n).display().to_string();
    let (code, _, err) = run_in(
        tmp.path(),
        &["import", &arg("keras.json"), "--weights", &arg("weights.h5"), "--config", "cfg.yml", "--out", "imp", "--json"],
    );
    assert_eq!(code, 0, "{err}");
    let model = TrainedModel::load(&tmp.path().join("imp/model.json")).unwrap();
    assert_eq!((model.spec.hls.reuse_factor, model.spec.hls.strategy.as_deref()), (Some(4), Some("resource")));
    let hls = |out: &str, extra: &[&str]| {
        let args = [&["hls", "--model", "imp/model.json", "--out", out, "--tb-samples", "0", "--json"][..], extra].concat();
        let (code, json, err) = run_in(tmp.path(), &args);
        assert_eq!(code, 0, "{err}");
        (json["config"]["reuse_factor"].clone(), json["config"]["strategy"].clone())
    };
    assert_eq!(hls("prj", &[]), (serde_json::json!(4), serde_json::json!("resource")));
    assert_eq!(hls("prj2", &["--reuse", "2", "--strategy", "latency"]), (serde_json::json!(2), serde_json::json!("latency")));
}
