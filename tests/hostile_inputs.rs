//! Hostile input files: a `model.json`, a model spec TOML and a pipeline TOML,
//! each mutated at random (proptest), go through the loaders and then the
//! library entry points the commands call (`qforge rtl`, `estimate`, `eval`,
//! `hls`): every case ends in `Ok` or in an input error naming the file, never
//! in a panic. The counts of cases run are printed (`--nocapture`) and stated in
//! docs/hardening.md. The two faults the issue reported come first, through the CLI.
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use qforge::data::loaders::DataSource;
use qforge::error::Error;
use qforge::estimate::{self, BitsOptions, Calibration, EnergyOptions, Target};
use qforge::model::network::{LayerParams, MODEL_FORMAT, MODEL_VERSION};
use qforge::model::{FixedNetwork, ModelSpec, Scaler, TrainedModel};
use qforge::pipeline::config::PipelineConfig;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const SPEC: &str = r#"
name = "small"
inputs = 16
input_type = "ap_fixed<12,4>"
classes = ["g", "q", "t", "w", "z"]
[[layers]]
type = "dense"
units = 6
kernel_quantizer = "quantized_bits(4,0,alpha=\"auto_po2\")"
bias_quantizer = "quantized_bits(4,0)"
[[layers]]
type = "activation"
activation = "relu"
quantizer = "quantized_relu(4)"
[[layers]]
type = "dense"
units = 5
kernel_quantizer = "quantized_bits(4,0)"
bias_quantizer = "quantized_bits(4,0)"
[[layers]]
type = "activation"
activation = "softmax"
"#;

/// A valid model (16 → 6 → 5, deterministic weights) as `model.json` holds it.
fn base_model() -> TrainedModel {
    let spec = ModelSpec::from_toml(SPEC, Path::new("small.toml")).unwrap();
    let mut layers = Vec::new();
    for (block, n_in) in spec.blocks.iter().zip(spec.block_inputs()) {
        let n_out = block.units;
        let kernel: Vec<f32> = (0..n_in * n_out).map(|i| ((i * 37 % 19) as f32 - 9.0) / 12.0).collect();
        let bias: Vec<f32> = (0..n_out).map(|i| (i as f32 - 2.0) / 8.0).collect();
        layers.push(LayerParams {
            name: block.name.clone(),
            n_in,
            n_out,
            kernel_q: kernel.clone(),
            bias_q: bias.clone(),
            kernel,
            bias,
            po2_exponents: None,
        });
    }
    let mut model = TrainedModel {
        format: MODEL_FORMAT.into(),
        version: MODEL_VERSION,
        feature_names: (0..16).map(|i| format!("f{i}")).collect(),
        scaler: Scaler::identity(16),
        spec,
        layers,
        conv_layers: vec![],
        metrics: Value::Null,
    };
    model.requantize();
    model
}

fn write_model(dir: &Path, value: &Value) -> std::path::PathBuf {
    let path = dir.join("model.json");
    std::fs::write(&path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
    path
}

fn qforge(args: &[&std::ffi::OsStr]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_qforge")).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_model_without_layers_is_refused_by_rtl_and_estimate() {
    let dir = tempfile::tempdir().unwrap();
    let mut value = serde_json::to_value(base_model()).unwrap();
    value["spec"]["blocks"] = Value::Array(vec![]);
    value["layers"] = Value::Array(vec![]);
    let path = write_model(dir.path(), &value);
    let out = dir.path().join("rtl");
    for args in [
        vec!["rtl".as_ref(), "--model".as_ref(), path.as_os_str(), "--out".as_ref(), out.as_os_str()],
        vec!["estimate".as_ref(), "--model".as_ref(), path.as_os_str()],
    ] {
        let (code, stderr) = qforge(&args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains("model.json") && stderr.contains("spec.blocks") && !stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn an_input_type_of_width_zero_is_an_error_not_an_accuracy() {
    let dir = tempfile::tempdir().unwrap();
    for width in [0, 40] {
        let mut value = serde_json::to_value(base_model()).unwrap();
        value["spec"]["input_type"]["width"] = width.into();
        let path = write_model(dir.path(), &value);
        let (code, stderr) = qforge(&["eval".as_ref(), "--model".as_ref(), path.as_os_str(), "--samples".as_ref(), "500".as_ref()]);
        assert_eq!(code, 2, "width {width}: {stderr}");
        assert!(stderr.contains("model.json") && stderr.contains("spec.input_type") && stderr.contains("width"), "{stderr}");
    }
}

/// Every node of a JSON tree, as paths of keys and indices.
fn paths(value: &Value, at: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(at.clone());
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                at.push(Step::Key(k.clone()));
                paths(v, at, out);
                at.pop();
            }
        }
        Value::Array(items) => {
            // A few elements per array: the long weight arrays would drown the rest.
            for (i, v) in items.iter().enumerate().take(3) {
                at.push(Step::Index(i));
                paths(v, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

fn node<'a>(value: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    path.iter().try_fold(value, |v, step| match step {
        Step::Key(k) => v.get_mut(k.as_str()),
        Step::Index(i) => v.get_mut(*i),
    })
}

/// Replacement values: the edges where arithmetic breaks.
fn hostile_value(kind: u8) -> Value {
    match kind % 16 {
        0 => 0.into(),
        1 => (-1).into(),
        2 => 1.into(),
        3 => 33.into(),
        4 => 64.into(),
        5 => (1u64 << 31).into(),
        6 => u64::MAX.into(),
        7 => i64::MIN.into(),
        8 => serde_json::json!(1e300),
        9 => serde_json::json!(-0.5),
        10 => "".into(),
        11 => "softmax".into(),
        12 => Value::Array(vec![]),
        13 => serde_json::json!({}),
        14 => Value::Null,
        _ => true.into(),
    }
}

/// Apply one mutation: replace a node, delete it from its parent, or shorten/grow an array.
fn mutate(value: &mut Value, all: &[Vec<Step>], pick: usize, kind: u8) {
    let path = &all[pick % all.len()];
    match kind / 16 % 4 {
        0 | 1 => {
            if let Some(v) = node(value, path) {
                *v = hostile_value(kind);
            }
        }
        2 => {
            if let Some((last, parent)) = path.split_last() {
                match (node(value, parent), last) {
                    (Some(Value::Object(map)), Step::Key(k)) => {
                        map.remove(k);
                    }
                    (Some(Value::Array(items)), Step::Index(i)) if *i < items.len() => {
                        items.remove(*i);
                    }
                    _ => {}
                }
            }
        }
        _ => {
            if let Some(Value::Array(items)) = node(value, path) {
                match items.first().cloned() {
                    Some(first) if kind % 2 == 0 => items.push(first),
                    _ => items.truncate(items.len() / 2),
                }
            }
        }
    }
}

/// What the commands do with a loaded model; any `Err` is fine, a panic is not.
fn exercise_model(model: &TrainedModel, path: &Path, data: &DataSource, out: &Path) {
    let _ = qforge::rtl::generate(model, path, &qforge::rtl::RtlOptions::default());
    if let Ok(layers) = estimate::layers_from_model(model) {
        let _ = estimate::estimate(&layers, &Calibration::default(), &Target::paper(), &EnergyOptions::default(), &BitsOptions::default());
    }
    if let Ok(net) = FixedNetwork::from_model(model) {
        let _ = qforge::hls::HlsConfig::default().check(&net);
        let raw: Vec<i64> = (0..net.n_inputs() as i64 * 3).map(|i| i * 7 - 40).collect();
        let _ = net.predict_raw(&raw);
    }
    if let Ok(test) = qforge::train::session::test_split_for(model, data, 1) {
        let _ = qforge::train::session::evaluate_model(model, &test);
    }
    let _ = qforge::hls::write_project(
        model,
        &qforge::hls::HlsConfig::default(),
        out,
        &qforge::hls::WriteOptions { force: true, ..Default::default() },
    );
}

#[test]
fn mutated_model_json_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let base = serde_json::to_value(base_model()).unwrap();
    let mut all = Vec::new();
    paths(&base, &mut Vec::new(), &mut all);
    let data = DataSource::Synthetic { samples: 300, seed: 3 };
    let cases = 1500;
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let (loaded, refused) = (std::cell::Cell::new(0usize), std::cell::Cell::new(0usize));
    runner
        .run(&proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4), |mutations| {
            let mut value = base.clone();
            for (pick, kind) in &mutations {
                mutate(&mut value, &all, *pick, *kind);
            }
            let path = write_model(dir.path(), &value);
            match TrainedModel::load(&path) {
                Ok(model) => {
                    loaded.set(loaded.get() + 1);
                    exercise_model(&model, &path, &data, &dir.path().join("prj"));
                }
                Err(Error::Input { path: p, .. }) => {
                    prop_assert_eq!(p, path);
                    refused.set(refused.get() + 1);
                }
                Err(other) => prop_assert!(false, "a bad model.json must be an input error naming it: {other}"),
            }
            Ok(())
        })
        .unwrap();
    eprintln!(
        "model.json: {cases} mutated files, no panic: {} loaded and exercised, {} refused with the file named",
        loaded.get(),
        refused.get()
    );
    assert!(refused.get() > 0 && loaded.get() > 0, "the mutations reach both outcomes");
}

/// Line-level mutations of a TOML text: replace a value, delete or repeat a line.
fn mutate_toml(text: &str, edits: &[(usize, u8)]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    const VALUES: [&str; 12] = [
        "0",
        "-1",
        "4294967297",
        "1e309",
        "\"\"",
        "\"quantized_bits(0,0)\"",
        "\"ap_fixed<0,0>\"",
        "\"ap_fixed<64,70>\"",
        "[]",
        "{}",
        "true",
        "\"tpe\"",
    ];
    for &(at, kind) in edits {
        if lines.is_empty() {
            break;
        }
        let i = at % lines.len();
        match kind % 4 {
            0 | 1 => {
                if let Some((key, _)) = lines[i].split_once('=') {
                    lines[i] = format!("{key}= {}", VALUES[kind as usize / 4 % VALUES.len()]);
                }
            }
            2 => {
                lines.remove(i);
            }
            _ => {
                let line = lines[i].clone();
                lines.insert(i, line);
            }
        }
    }
    lines.join("\n") + "\n"
}

/// Run `cases` mutations of the TOML file `example` through `load`, which
/// returns whether the text loaded; a refusal must be an input error naming the file.
fn fuzz_toml(what: &str, example: &str, cases: u32, load: impl Fn(&str, &Path) -> qforge::error::Result<()>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("file.toml");
    let base = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(example)).unwrap();
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let (loaded, refused) = (std::cell::Cell::new(0usize), std::cell::Cell::new(0usize));
    runner
        .run(&proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4), |edits| {
            match load(&mutate_toml(&base, &edits), &path) {
                Ok(()) => loaded.set(loaded.get() + 1),
                Err(Error::Input { path: p, .. }) => {
                    prop_assert_eq!(&p, &path);
                    refused.set(refused.get() + 1);
                }
                Err(other) => prop_assert!(false, "a bad {what} must be an input error naming it: {other}"),
            }
            Ok(())
        })
        .unwrap();
    eprintln!("{what}: {cases} mutated files, no panic: {} loaded and used, {} refused with the file named", loaded.get(), refused.get());
    assert!(refused.get() > 0 && loaded.get() > 0, "the mutations reach both outcomes");
}

#[test]
fn mutated_model_spec_toml_never_panics() {
    fuzz_toml("spec TOML", "jet_tagger.toml", 3000, |text, path| {
        let spec = ModelSpec::from_toml(text, path)?;
        if let Ok(layers) = estimate::layers_from_spec(&spec) {
            let _ =
                estimate::estimate(&layers, &Calibration::default(), &Target::paper(), &EnergyOptions::default(), &BitsOptions::default());
        }
        Ok(())
    });
}

#[test]
fn mutated_pipeline_toml_never_panics() {
    fuzz_toml("pipeline TOML", "pipeline.toml", 3000, |text, path| {
        let config = PipelineConfig::from_toml(text, path)?;
        let _ = (config.spec_path(), config.space_path());
        Ok(())
    });
}
