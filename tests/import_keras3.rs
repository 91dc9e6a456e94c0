//! `qforge import` on `.keras` archives that Keras 3 itself wrote
//! (scripts/make-keras3-fixtures.py, Keras 3.15.1; see
//! tests/fixtures/import/keras3/MANIFEST.md): the imported float network
//! gives Keras's predictions on the stored inputs, and damaged or edited
//! copies of the archives are refused with exit 2, naming the file.
mod support;

use ndarray::Array2;
use ndarray_npy::ReadNpyExt;
use qforge::model::TrainedModel;
use qforge::train::qat::QatNetwork;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use support::run_in;

const MODELS: [&str; 2] = ["seq_bn", "func_chain"];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import/keras3").join(name)
}

fn npy(name: &str) -> Array2<f32> {
    Array2::<f32>::read_npy(std::fs::File::open(fixture(name)).unwrap()).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The imported network's float outputs, evaluated as tests/import_models.rs does.
fn float_outputs(model: &TrainedModel, inputs: &Array2<f32>) -> Array2<f32> {
    let mut x = inputs.clone();
    model.scaler.apply(x.as_slice_mut().unwrap());
    QatNetwork::from_params(&model.spec, &model.layers).predict(x.view())
}

#[test]
fn keras3_archives_import_to_keras_predictions() {
    let dir = tempfile::tempdir().unwrap();
    for name in MODELS {
        let out = dir.path().join(name);
        let (code, json, stderr) = run_in(dir.path(), &["import", s(&fixture(&format!("{name}.keras"))), "--out", s(&out), "--json"]);
        assert_eq!(code, 0, "{name}: {stderr}");
        let report: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("import.json")).unwrap()).unwrap();
        assert_eq!(report["format"], "keras_archive", "{name}");
        let model = TrainedModel::load(&out.join("model.json")).unwrap();
        let (inputs, expected) = (npy(&format!("{name}.x.npy")), npy(&format!("{name}.y.npy")));
        assert_eq!(inputs.dim(), (200, 16), "{name}");
        let got = float_outputs(&model, &inputs);
        assert_eq!(got.dim(), expected.dim(), "{name}");
        let worst = got.iter().zip(expected.iter()).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        println!(
            "{name}: {} layers in {} s, largest difference from Keras {worst:e}",
            json["layers"].as_array().map_or(0, Vec::len),
            report["seconds"]
        );
        assert!(worst < 1e-5, "{name}: largest difference from Keras {worst}");
    }
}

#[test]
fn a_batch_normalization_after_relu_folds_into_the_next_dense() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run_in(dir.path(), &["import", s(&fixture("seq_bn.keras")), "--out", "out"]);
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path().join("out/import.json")).unwrap()).unwrap();
    let bn = report["keras_layers"].as_array().unwrap().iter().find(|l| l["keras_name"] == "bn1").unwrap();
    assert_eq!(bn["became"], "folded into the inputs of fc2", "{report}");
    let model = TrainedModel::load(&dir.path().join("out/model.json")).unwrap();
    assert_eq!(model.spec.blocks.len(), 2);
    assert_eq!(model.spec.blocks[0].activation, qforge::model::Activation::Relu);
    assert!(model.scaler.std.iter().all(|&v| v == 1.0), "the normalization is not the input scaler");
}

/// A float model imported without a config takes hls4ml's default types, so
/// every later command can price and run it: its fixed-point predictions are
/// those of `ap_fixed<16,6>` arithmetic, close to Keras's classes.
#[test]
fn a_float_import_takes_hls4ml_default_types_and_runs_downstream() {
    let dir = tempfile::tempdir().unwrap();
    for name in MODELS {
        let out = dir.path().join(name);
        let (code, _, stderr) = run_in(dir.path(), &["import", s(&fixture(&format!("{name}.keras"))), "--out", s(&out)]);
        assert_eq!(code, 0, "{name}: {stderr}");
        let model = TrainedModel::load(&out.join("model.json")).unwrap();
        assert_eq!(model.spec.types, qforge::model::TypesMode::Hls4ml, "{name}");
        let fixed16_6 = qforge::quant::FixedType::new(16, 6, true);
        assert_eq!(model.spec.input_type, fixed16_6, "{name}");
        assert!(model.spec.blocks.iter().all(|b| b.types.weight == Some(fixed16_6) && b.types.accum == Some(fixed16_6)), "{name}");
        let report = std::fs::read_to_string(out.join("import.json")).unwrap();
        assert!(report.contains("hls4ml's default types"), "{name}: {report}");
        let model_json = out.join("model.json");
        let (code, _, stderr) = run_in(dir.path(), &["estimate", "--model", s(&model_json), "--json"]);
        assert_eq!(code, 0, "{name}: estimate: {stderr}");
        let csv = out.join("pred.csv");
        let x = fixture(&format!("{name}.x.npy"));
        let (code, _, stderr) = run_in(dir.path(), &["predict", "--model", s(&model_json), "--all", "--data", s(&x), "--output", s(&csv)]);
        assert_eq!(code, 0, "{name}: predict: {stderr}");
        let expected = npy(&format!("{name}.y.npy"));
        let text = std::fs::read_to_string(&csv).unwrap();
        let predicted: Vec<usize> = text.lines().skip(1).map(|l| l.split(',').nth(2).unwrap().parse().unwrap()).collect();
        assert_eq!(predicted.len(), expected.nrows(), "{name}");
        let keras_class = |r: usize| (0..expected.ncols()).max_by(|&a, &b| expected[[r, a]].total_cmp(&expected[[r, b]])).unwrap();
        let agree = (0..expected.nrows()).filter(|&r| predicted[r] == keras_class(r)).count();
        println!("{name}: ap_fixed<16,6> classes agree with Keras on {agree}/{}", expected.nrows());
        assert!(agree * 100 >= expected.nrows() * 90, "{name}: only {agree}/{} classes agree with Keras", expected.nrows());
    }
}

/// The archive's members, in order.
fn members(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes).unwrap();
            (f.name().unwrap().to_string(), bytes)
        })
        .collect()
}

fn write_zip(path: &Path, members: &[(String, Vec<u8>)]) {
    let mut w = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in members {
        w.start_file(name.as_str(), opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap();
}

/// Run `qforge import PATH --out out`; check exit 2, that nothing was written, return stderr.
fn refused(path: &Path) -> String {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run_in(dir.path(), &["import", s(path), "--out", "out"]);
    assert_eq!(code, 2, "{}: {stderr}", path.display());
    assert!(!dir.path().join("out").exists(), "{} wrote something", path.display());
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn damaged_archives_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let real = std::fs::read(fixture("seq_bn.keras")).unwrap();
    let truncated = dir.path().join("truncated.keras");
    std::fs::write(&truncated, &real[..real.len() * 2 / 3]).unwrap();
    let e = refused(&truncated);
    assert!(e.contains("truncated.keras") && e.contains("zip"), "{e}");

    let all = members(&fixture("seq_bn.keras"));
    assert!(
        all.iter().any(|(n, _)| n == "config.json") && all.iter().any(|(n, _)| n == "model.weights.h5"),
        "{:?}",
        all.iter().map(|m| &m.0).collect::<Vec<_>>()
    );
    let without = |drop: &str, file: &str| {
        let path = dir.path().join(file);
        write_zip(&path, &all.iter().filter(|(n, _)| n != drop).cloned().collect::<Vec<_>>());
        path
    };
    let e = refused(&without("config.json", "no-config.keras"));
    assert!(e.contains("no-config.keras") && e.contains("config.json"), "{e}");
    let e = refused(&without("model.weights.h5", "no-weights.keras"));
    assert!(e.contains("no-weights.keras") && e.contains("model.weights.h5"), "{e}");

    // The weights member cut short: named as the file inside the archive.
    let cut: Vec<_> = all
        .iter()
        .map(|(n, b)| if n == "model.weights.h5" { (n.clone(), b[..b.len() / 2].to_vec()) } else { (n.clone(), b.clone()) })
        .collect();
    let path = dir.path().join("cut-weights.keras");
    write_zip(&path, &cut);
    let e = refused(&path);
    assert!(e.contains("cut-weights.keras/model.weights.h5"), "{e}");
}

/// seq_bn.keras with its config.json edited by `edit`.
fn edited(dir: &Path, file: &str, edit: impl Fn(&mut serde_json::Value)) -> PathBuf {
    let mut all = members(&fixture("seq_bn.keras"));
    let config = all.iter_mut().find(|(n, _)| n == "config.json").unwrap();
    let mut v: serde_json::Value = serde_json::from_slice(&config.1).unwrap();
    edit(&mut v);
    config.1 = serde_json::to_vec(&v).unwrap();
    let path = dir.join(file);
    write_zip(&path, &all);
    path
}

#[test]
fn a_batch_normalization_that_cannot_fold_forward_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    // The model cut after bn1: nothing to fold it into.
    let path = edited(dir.path(), "bn-last.keras", |v| v["config"]["layers"].as_array_mut().unwrap().truncate(3));
    let e = refused(&path);
    assert!(e.contains("bn-last.keras") && e.contains("`bn1`") && e.contains("followed by a Dense"), "{e}");
    // fc2 with a kernel quantizer (as a QDense carries it; the class stays Dense so that
    // the weights keep their object path `dense_1`): Keras quantizes the kernel before it
    // meets the normalized inputs, so the normalization cannot be folded into it.
    let path = edited(dir.path(), "bn-quantized.keras", |v| {
        let fc2 = &mut v["config"]["layers"][3];
        assert_eq!(fc2["config"]["name"], "fc2");
        fc2["config"]["kernel_quantizer"] = "quantized_bits(8,0)".into();
    });
    let e = refused(&path);
    assert!(e.contains("bn-quantized.keras") && e.contains("`fc2` (Dense)") && e.contains("`bn1`"), "{e}");
    // An activation right after bn1.
    let path = edited(dir.path(), "bn-relu.keras", |v| {
        let layers = v["config"]["layers"].as_array_mut().unwrap();
        let mut relu = layers[4].clone();
        relu["config"]["name"] = "relu2".into();
        relu["config"]["activation"] = "relu".into();
        layers.insert(3, relu);
    });
    let e = refused(&path);
    assert!(e.contains("bn-relu.keras") && e.contains("`relu2` (Activation)") && e.contains("`bn1`"), "{e}");
}
