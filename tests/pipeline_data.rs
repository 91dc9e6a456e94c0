//! The pipeline on the user's data (`[data] path`, `columns`, `label_column`)
//! and an imported model (`[model] import`): the train and search stages read
//! the file, the cache keys change with its bytes, and a file that does not
//! fit the model stops `qforge run` with exit 2 naming the file. No synthesis:
//! the stages are called one by one, and the refused runs stop before it.
mod support;

use qforge::estimate::Calibration;
use qforge::events::Silent;
use qforge::model::{FixedNetwork, TrainedModel};
use qforge::pipeline::config::PipelineConfig;
use qforge::pipeline::stages::{search_key, search_stage, train_key, train_stage};
use std::path::Path;
use support::run_in;

/// A CSV with `header` columns (the label column last, named `label`) of
/// deterministic values; `label` gives each row's class from its values.
fn write_csv(path: &Path, header: &[&str], rows: usize, seed: u64, label: impl Fn(&[f32]) -> u8) {
    let cols = header.len() - 1;
    let mut text = format!("{}\n", header.join(","));
    for row in support::features(rows, cols, seed).chunks(cols) {
        let cells: Vec<String> = row.iter().map(|v| format!("{v}")).collect();
        text.push_str(&format!("{},{}\n", cells.join(","), label(row)));
    }
    std::fs::write(path, text).unwrap();
}

fn model_labels(model: &TrainedModel) -> impl Fn(&[f32]) -> u8 + '_ {
    let net = FixedNetwork::from_model(model).unwrap();
    move |row: &[f32]| net.predict_raw(&net.quantize_inputs(row)).predicted_class(0) as u8
}

const IMPORT_PIPELINE: &str = r#"
name = "imported"
[model]
import = "imp/model.json"
[data]
path = "x.csv"
label_column = "label"
[search]
tuner = "random"
max_trials = 2
epochs = 1
transfer_weights = true
"#;

#[test]
fn an_imported_model_on_the_users_file_through_train_and_search() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // qforge's own types: the pipeline prices and builds qforge's Verilog, which
    // needs lossless accumulators (the hls4ml config's ap_fixed<16,6> is not).
    let model = TrainedModel::load(&support::import_fixture(d, "q_bits", false)).unwrap();
    let header = ["f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "label"];
    write_csv(&d.join("x.csv"), &header, 1200, 1, model_labels(&model));
    std::fs::write(d.join("pipeline.toml"), IMPORT_PIPELINE).unwrap();
    let cfg = PipelineConfig::from_file(&d.join("pipeline.toml")).unwrap();
    let cal = Calibration::default();
    let (train_before, search_before) = (train_key(&cfg).unwrap().hash, search_key(&cfg, &cal).unwrap().unwrap().hash);

    // The baseline is the imported model as it is: right on every row of its own labels.
    std::fs::create_dir_all(d.join("train")).unwrap();
    let t = train_stage(&cfg, &d.join("train"), &Silent).unwrap();
    assert_eq!(t.fixed_accuracy, 1.0, "{t:?}");
    assert_eq!(TrainedModel::load(&t.model).unwrap().layers, model.layers);

    std::fs::create_dir_all(d.join("search")).unwrap();
    let s = search_stage(&cfg, &d.join("search"), &cal, &Silent).unwrap();
    assert_eq!(s.reference_accuracy, 1.0);
    assert_eq!(s.trials.len(), 2);
    for trial in &s.trials {
        let m = TrainedModel::load(trial.model.as_ref().unwrap()).unwrap();
        assert_eq!(m.feature_names, &header[..8], "trained on the file's columns");
        assert!(trial.accuracy > 0.4, "transferred weights: {trial:?}");
    }

    // One label changed (same size, same name): both stages must run again.
    let text = std::fs::read_to_string(d.join("x.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let last = lines[5].pop().unwrap();
    lines[5].push(if last == '0' { '1' } else { '0' });
    std::fs::write(d.join("x.csv"), lines.join("\n") + "\n").unwrap();
    assert_ne!(train_key(&cfg).unwrap().hash, train_before);
    assert_ne!(search_key(&cfg, &cal).unwrap().unwrap().hash, search_before);
}

#[test]
fn columns_pick_the_features_by_name_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let spec = std::fs::read_to_string(support::example("jet_tagger.toml")).unwrap();
    std::fs::write(d.join("jet.toml"), spec).unwrap();
    // 18 feature columns; the model takes 16 of them, in another order.
    let header: Vec<String> = (0..18).map(|i| format!("c{i}")).chain(["y".to_string()]).collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    write_csv(&d.join("wide.csv"), &header, 600, 2, |r| if r[3] > 0.0 { 2 } else { 4 });
    let columns: Vec<String> = (2..18).rev().map(|i| format!("\"c{i}\"")).collect();
    let pipeline = format!(
        "[model]\nspec = \"jet.toml\"\n[data]\npath = \"wide.csv\"\nlabel_column = \"y\"\ncolumns = [{}]\n[train]\nepochs = 1\n[search]\nenabled = false\n",
        columns.join(", ")
    );
    std::fs::write(d.join("pipeline.toml"), &pipeline).unwrap();
    let cfg = PipelineConfig::from_file(&d.join("pipeline.toml")).unwrap();
    std::fs::create_dir_all(d.join("train")).unwrap();
    let t = train_stage(&cfg, &d.join("train"), &Silent).unwrap();
    let m = TrainedModel::load(&t.model).unwrap();
    let expected: Vec<String> = (2..18).rev().map(|i| format!("c{i}")).collect();
    assert_eq!(m.feature_names, expected);

    // An unknown column, a missing label column, all 18 columns for 16 inputs: exit 2 naming the file.
    for (edit, needles) in [
        (pipeline.replace("\"c17\"", "\"nope\""), vec!["wide.csv", "no feature column `nope`"]),
        (pipeline.replace("label_column = \"y\"", "label_column = \"kind\""), vec!["wide.csv", "no label column `kind`"]),
        (
            pipeline.replace(&format!("columns = [{}]\n", columns.join(", ")), ""),
            vec!["wide.csv", "18 features per row but the model has 16 inputs"],
        ),
    ] {
        std::fs::write(d.join("bad.toml"), edit).unwrap();
        let (code, _, err) = run_in(d, &["run", "bad.toml", "--out", "out"]);
        assert_eq!(code, 2, "{err}");
        for n in needles {
            assert!(err.contains(n), "`{n}` not in: {err}");
        }
    }
    // Columns of a NumPy file, or labels without a file: the pipeline file is at fault.
    std::fs::write(d.join("bad.toml"), "[model]\nspec = \"jet.toml\"\n[data]\nlabels = \"y.npy\"\n").unwrap();
    let (code, _, err) = run_in(d, &["run", "bad.toml", "--out", "out"]);
    assert!(code == 2 && err.contains("bad.toml") && err.contains("data.labels"), "{code} {err}");
}
