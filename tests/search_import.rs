//! `qforge search --model`: a search over an imported model (the fixture
//! q_bits, imported from its Keras files with its hls4ml config), on the
//! user's data file, with the imported model itself as the reference; trials
//! from the imported weights (`--transfer-weights`); `--data` for a search
//! over a space file; and data files that do not fit the model, refused by
//! search, train, eval, predict and run with the file and the fault named.
mod support;

use ndarray::Array2;
use ndarray_npy::WriteNpyExt;
use qforge::estimate::{Calibration, FlowOptions, Target};
use qforge::events::Silent;
use qforge::model::{FixedNetwork, TrainedModel};
use qforge::search::space::SearchSpace;
use qforge::search::{estimate_spec, layer_choices, run_search, SearchOptions};
use std::path::{Path, PathBuf};
use support::{features, run_in};

const ROWS: usize = 1500;

/// Labels: the imported model's own fixed-point predictions, so the model
/// as it is scores 100 % and anything retrained scores less.
fn own_labels(model: &TrainedModel, x: &[f32]) -> Vec<u8> {
    let net = FixedNetwork::from_model(model).unwrap();
    let out = net.predict_raw(&net.quantize_inputs(x));
    (0..x.len() / model.spec.inputs).map(|i| out.predicted_class(i) as u8).collect()
}

fn write_csv(path: &Path, header: &[String], x: &[f32], y: &[u8]) {
    let cols = header.len();
    let mut text = format!("{},class\n", header.join(","));
    for (row, label) in x.chunks(cols).zip(y) {
        let cells: Vec<String> = row.iter().map(|v| format!("{v}")).collect();
        text.push_str(&format!("{},{label}\n", cells.join(",")));
    }
    std::fs::write(path, text).unwrap();
}

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

/// The imported model and a labelled CSV of its own predictions (`dir/x.csv`, columns f0..f7).
fn setup(dir: &Path) -> (PathBuf, TrainedModel, PathBuf) {
    let model_path = support::import_fixture(dir, "q_bits", true);
    let model = TrainedModel::load(&model_path).unwrap();
    let x = features(ROWS, 8, 1);
    let y = own_labels(&model, &x);
    let csv = dir.join("x.csv");
    write_csv(&csv, &names("f", 8), &x, &y);
    (model_path, model, csv)
}

/// Each trial's choice and accuracy, from `out/trials.jsonl`.
fn trial_accuracies(out: &Path) -> Vec<(Vec<u64>, f64)> {
    let text = std::fs::read_to_string(out.join("trials.jsonl")).unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|t| {
            let choice = t["choice"].as_array().unwrap().iter().map(|c| c.as_u64().unwrap()).collect();
            (choice, t["accuracy"].as_f64().unwrap())
        })
        .collect()
}

#[test]
fn the_reference_is_the_imported_model_as_it_is() {
    let tmp = tempfile::tempdir().unwrap();
    let (model_path, model, csv) = setup(tmp.path());
    let space = SearchSpace::for_model(&model_path, None).unwrap();
    let out = tmp.path().join("s");
    let opts = SearchOptions {
        out: out.clone(),
        max_trials: Some(2),
        epochs: Some(1),
        data: Some(qforge::data::loaders::DataSource::from_paths(Some(&csv), None, 0, 0).unwrap()),
        ..Default::default()
    };
    let cal = Calibration::default();
    let o = run_search(&space, &opts, &cal, &Silent).unwrap();
    // Labels are its own predictions: evaluated as it is, it is right on every test row.
    assert_eq!(o.reference.accuracy, 1.0, "{:?}", o.reference);
    assert_eq!(o.reference.epochs, 0, "not retrained");
    assert_eq!(o.reference.layers, layer_choices(&model.spec));
    let est = estimate_spec(&model.spec, &cal, &Target::paper(), &FlowOptions::default()).unwrap();
    assert_eq!(o.reference.energy_pj, est.totals.energy_pj);
    assert_eq!(o.reference.cost, est.totals.energy_pj, "the default space's goal is energy");
    let saved = TrainedModel::load(&out.join("reference/model.json")).unwrap();
    assert_eq!(saved.layers, model.layers);
    // Trials: the imported architecture, the default candidates, the file's columns and the model's scaler.
    let default_kernel = qforge::quant::parse::parse_quantizer("quantized_bits(6,0,1,alpha=1)").unwrap();
    assert!(space.dimensions[0].candidates.len() == 5 && space.dimensions[0].candidates.contains(&default_kernel));
    for t in &o.trials {
        let m = TrainedModel::load(&out.join(t.model.as_ref().unwrap())).unwrap();
        assert_eq!(m.spec.blocks.iter().map(|b| (b.name.as_str(), b.units)).collect::<Vec<_>>(), [("fc1", 16), ("fc2", 8), ("fc3", 5)]);
        assert_eq!(m.feature_names, names("f", 8));
        assert_eq!(m.scaler, model.scaler);
        let k = qforge::quant::parse::parse_quantizer(&t.layers[0].kernel).unwrap();
        assert!(space.dimensions[0].candidates.contains(&k), "{}", t.layers[0].kernel);
        // The hls4ml config's weight type of a searched kernel gives way to the chosen quantizer's.
        assert_eq!(m.spec.blocks[0].types.weight, None);
    }
}

#[test]
fn transferred_weights_start_where_the_imported_model_is() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, _, _) = setup(tmp.path());
    let run = |out: &str, transfer: bool| {
        let mut args =
            vec!["search", "--model", "imp/model.json", "--data", "x.csv", "--out", out, "--tuner", "random", "--max-trials", "4"];
        args.extend(["--epochs", "1", "--json"]);
        if transfer {
            args.push("--transfer-weights");
        }
        let (code, summary, err) = run_in(tmp.path(), &args);
        assert_eq!(code, 0, "{err}");
        assert_eq!(summary["reference"]["accuracy"], 1.0);
        trial_accuracies(&tmp.path().join(out))
    };
    let fresh = run("fresh", false);
    let transfer = run("transfer", true);
    // The random tuner proposes the same configurations either way.
    assert_eq!(fresh.iter().map(|t| &t.0).collect::<Vec<_>>(), transfer.iter().map(|t| &t.0).collect::<Vec<_>>());
    let mean = |v: &[(Vec<u64>, f64)]| v.iter().map(|t| t.1).sum::<f64>() / v.len() as f64;
    eprintln!("mean trial accuracy: random init {:.3}, transferred {:.3}", mean(&fresh), mean(&transfer));
    assert!(mean(&transfer) > mean(&fresh) + 0.2, "fresh {fresh:?} transfer {transfer:?}");
    // Without --model there is nothing to transfer.
    let (code, _, err) = run_in(tmp.path(), &["search", "--space", "s.toml", "--transfer-weights"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn a_space_file_with_model_gives_the_candidates_and_npy_data_work() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, model, _) = setup(tmp.path());
    let x = features(ROWS, 8, 2);
    let y = own_labels(&model, &x);
    Array2::from_shape_vec((ROWS, 8), x).unwrap().write_npy(std::fs::File::create(tmp.path().join("x.npy")).unwrap()).unwrap();
    let mut hot = Array2::<f32>::zeros((ROWS, 5));
    for (i, &c) in y.iter().enumerate() {
        hot[[i, c as usize]] = 1.0;
    }
    hot.write_npy(std::fs::File::create(tmp.path().join("y.npy")).unwrap()).unwrap();
    // `model` and [reference] are ignored with --model (this model file does not exist).
    let space = r#"model = "no_such_model.toml"
[reference]
kernel = "quantized_bits(16,6)"
bias = "quantized_bits(16,6)"
activation = "quantized_relu(16,6)"
[search]
tuner = "random"
max_trials = 2
epochs = 1
[candidates]
kernel = ["quantized_bits(3,0,1,alpha=1)"]
activation = ["quantized_relu(5,2)"]
"#;
    std::fs::write(tmp.path().join("space.toml"), space).unwrap();
    let args = ["search", "--model", "imp/model.json", "--space", "space.toml", "--data", "x.npy", "--labels", "y.npy", "--json"];
    let (code, summary, err) = run_in(tmp.path(), &args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(summary["reference"]["accuracy"], 1.0);
    let best = &summary["best"]["layers"];
    assert_eq!(best[0]["kernel"], "quantized_bits(3,0,symmetric=1,alpha=1)");
    assert_eq!(best[1]["activation"], "quantized_relu(5,2)");
    // Not searched: the imported model's own bias quantizer stays.
    assert_eq!(best[0]["bias"], model.spec.blocks[0].bias_quantizer.spelling());
}

#[test]
fn search_over_a_space_file_trains_on_the_data_file() {
    let tmp = tempfile::tempdir().unwrap();
    let x = features(ROWS, 16, 3);
    let y: Vec<u8> = x.chunks(16).map(|r| if r[0] + r[1] > 0.0 { 1 } else { 3 }).collect();
    write_csv(&tmp.path().join("jets.csv"), &names("c", 16), &x, &y);
    let space = format!(
        "model = \"{}\"\n[reference]\nkernel = \"quantized_bits(8,3)\"\nbias = \"quantized_bits(8,3)\"\nactivation = \"quantized_relu(8,3)\"\n[search]\ntuner = \"random\"\nmax_trials = 1\nepochs = 1\n[candidates]\nkernel = [\"quantized_bits(4,0,1,alpha=1)\"]\n",
        support::example("jet_tagger.toml").display()
    );
    std::fs::write(tmp.path().join("space.toml"), space).unwrap();
    let (code, summary, err) = run_in(tmp.path(), &["search", "--space", "space.toml", "--data", "jets.csv", "--out", "s", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(summary["reference"]["epochs"], 1, "a space file's reference is trained");
    let m = TrainedModel::load(&tmp.path().join("s/best/model.json")).unwrap();
    assert_eq!(m.feature_names, names("c", 16), "trained on the file's columns");
}

/// Run qforge in `dir`; it must exit 2 with every `needles` in its error.
fn refused(dir: &Path, args: &[&str], needles: &[&str]) {
    let (code, _, err) = run_in(dir, args);
    assert_eq!(code, 2, "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: `{n}` not in: {err}");
    }
}

#[test]
fn data_that_does_not_fit_the_model_is_refused_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let (_, model, _) = setup(d);
    let x7 = features(300, 7, 4);
    write_csv(&d.join("seven.csv"), &names("f", 7), &x7, &vec![0u8; 300]);
    let x8 = features(300, 8, 5);
    let mut y = own_labels(&model, &x8);
    y[17] = 7;
    write_csv(&d.join("label7.csv"), &names("f", 8), &x8, &y);
    Array2::from_shape_vec((300, 8), x8.clone()).unwrap().write_npy(std::fs::File::create(d.join("x.npy")).unwrap()).unwrap();
    let mut three = Array2::<f32>::zeros((300, 3));
    three.column_mut(0).fill(1.0);
    three.write_npy(std::fs::File::create(d.join("onehot3.npy")).unwrap()).unwrap();
    ndarray::Array1::<i64>::zeros(290).write_npy(std::fs::File::create(d.join("y290.npy")).unwrap()).unwrap();

    let features_fault = ["seven.csv", "7 features per row but the model has 8 inputs"];
    let label_fault = ["label7.csv", "label 7", "outside the model's 5 classes"];
    let width_fault = ["onehot3.npy", "one-hot labels with 3 classes but the model has 5 outputs"];
    let rows_fault = ["y290.npy", "290 labels for 300 feature rows"];
    let m = "imp/model.json";
    for (data, labels, fault) in [
        ("seven.csv", None, &features_fault[..]),
        ("label7.csv", None, &label_fault[..]),
        ("x.npy", Some("onehot3.npy"), &width_fault[..]),
        ("x.npy", Some("y290.npy"), &rows_fault[..]),
    ] {
        let mut data_args = vec!["--data", data];
        if let Some(l) = labels {
            data_args.extend(["--labels", l]);
        }
        let with = |cmd: &[&'static str]| -> Vec<&str> { cmd.iter().copied().chain(data_args.iter().copied()).collect() };
        refused(d, &with(&["search", "--model", m, "--out", "s"]), fault);
        refused(d, &with(&["eval", "--model", m]), fault);
        refused(d, &with(&["predict", "--model", m, "--output", "p.csv"]), fault);
        refused(d, &with(&["predict", "--model", m, "--all", "--output", "p.csv"]), fault);
    }
    // train: a 16-input spec on 8-feature data.
    refused(
        d,
        &["train", "--spec", &support::example("jet_tagger.toml").display().to_string(), "--data", "x.csv", "--out", "t"],
        &["x.csv", "8 features per row but the model has 16 inputs"],
    );
}
