//! `qforge import` of (Q)Keras CNNs (issue 18 item 1 with issue 14) against
//! the fixtures of scripts/hls4ml_cnn_fixtures.py (tests/fixtures/hls4ml_cnn/,
//! QKeras 0.9.0, TensorFlow 2.15, hls4ml 1.3.0, 200 images each): with the
//! hls4ml config, the Rust model, `qforge predict --all` and the g++ C
//! simulation of `qforge hls`'s C++ against hls4ml's own C simulation, every
//! traced layer and the outputs; without it (qforge mode), the float network
//! against Keras' outputs and the fixed-point logits against QKeras'.
mod hls_support;
mod support;

use ndarray::Array2;
use ndarray_npy::WriteNpyExt;
use qforge::events::Silent;
use qforge::hls::{run_csim, write_project, CsimOptions, HlsConfig, WriteOptions};
use qforge::model::features::FeatureLayer;
use qforge::model::spec::parse_fixed_type;
use qforge::model::trace::Stage;
use qforge::model::{Activation, FixedNetwork, TrainedModel, TypesMode};
use qforge::train::qat::QatNetwork;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use support::{run_in, Csim};

fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hls4ml_cnn").join(name)
}

fn csim(name: &str) -> Csim {
    serde_json::from_str(&std::fs::read_to_string(fixture_dir(name).join("csim.json")).unwrap()).unwrap()
}

#[derive(Deserialize)]
struct Keras {
    inputs: Vec<Vec<f64>>,
    /// The logits (the Dense layer `fc1`).
    layers: Vec<KerasLayer>,
    outputs: Vec<Vec<f64>>,
}

#[derive(Deserialize)]
struct KerasLayer {
    name: String,
    values: Vec<Vec<f64>>,
}

fn keras(name: &str) -> Keras {
    serde_json::from_str(&std::fs::read_to_string(fixture_dir(name).join("qkeras.json")).unwrap()).unwrap()
}

/// `qforge import` of MODEL (`keras.json` + weights, or another file of the fixture) into `dir/imp`.
fn import(dir: &Path, name: &str, model_file: &str, with_config: bool) -> TrainedModel {
    let f = fixture_dir(name);
    let arg = |n: &str| f.join(n).display().to_string();
    let mut args = vec!["import".to_string(), arg(model_file)];
    if model_file == "keras.json" {
        args.extend(["--weights".into(), arg("weights.h5")]);
    }
    if with_config {
        args.extend(["--config".into(), arg("hls4ml_config.yml")]);
    }
    args.extend(["--out".into(), "imp".into(), "--json".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, json, err) = run_in(dir, &args);
    assert_eq!(code, 0, "{name}: import failed: {err}");
    println!("{name} ({model_file}): import took {:.4} s", json["import"]["seconds"].as_f64().unwrap_or(f64::NAN));
    TrainedModel::load(&dir.join("imp/model.json")).unwrap()
}

/// Per compared hls4ml layer: (name, same type, samples that differ); and the samples whose outputs differ.
/// A convolution with an activation is compared at hls4ml's activation layer after it (qforge's
/// conv layer ends in its activation); hls4ml's pre-activation conv result is not compared.
fn vs_hls4ml(model: &TrainedModel, c: &Csim) -> (Vec<(String, bool, usize)>, usize) {
    let net = FixedNetwork::from_model(model).unwrap();
    let stack = net.features.as_ref().expect("an image model");
    // (our feature index, hls4ml layer index)
    let mut pairs = Vec::new();
    for (i, f) in model.spec.features.iter().enumerate() {
        let Some(at) = c.layers.iter().position(|l| l.name == f.name()) else {
            assert!(matches!(f, FeatureLayer::Flatten { .. }), "hls4ml traced no layer `{}`", f.name());
            continue;
        };
        let activated = matches!(f, FeatureLayer::Conv(cv) if cv.activation == Activation::Relu || !cv.activation_quantizer.is_float());
        let at = if activated { at + 1 } else { at };
        if activated {
            assert_eq!(c.layers[at].class, "Activation", "the layer after `{}`", f.name());
        }
        pairs.push((i, at));
    }
    let head_start = c.layers.iter().position(|l| l.class == "Dense").unwrap();
    let mut counts: Vec<(String, bool, usize)> = Vec::new();
    let mut outputs = 0;
    let theirs_out = parse_fixed_type(&c.output_type).unwrap();
    let mut types = vec![stack.layers[0].out_type(net.input_type)];
    for l in &stack.layers[1..] {
        let last = *types.last().unwrap();
        types.push(l.out_type(last));
    }
    for (s, x) in c.inputs.iter().enumerate() {
        let raw: Vec<i64> = x.iter().map(|&v| net.input_type.from_f64(v)).collect();
        let feats = stack.trace(&raw);
        let mut ours: Vec<(usize, qforge::quant::FixedType, Vec<i64>)> =
            pairs.iter().map(|&(i, at)| (at, types[i], feats[i].clone())).collect();
        let head = net.trace(&raw);
        assert_eq!(head.len(), c.layers.len() - head_start, "head layers traced: {:?}", head.iter().map(|t| t.stage).collect::<Vec<_>>());
        ours.extend(head.iter().enumerate().map(|(k, t)| (head_start + k, t.ty, t.raw.clone())));
        for (k, (at, ty, got)) in ours.iter().enumerate() {
            let theirs = &c.layers[*at];
            let their_ty = parse_fixed_type(&theirs.ty).unwrap();
            assert_eq!(theirs.raw[s].len(), got.len(), "layer {}: values", theirs.name);
            let differs = theirs.raw[s].iter().zip(got).any(|(&w, &g)| their_ty.to_f64(w) != ty.to_f64(g));
            if s == 0 {
                counts.push((theirs.name.clone(), *ty == their_ty, 0));
            }
            counts[k].2 += differs as usize;
        }
        let last = head.last().unwrap();
        assert_eq!(last.stage, Stage::Softmax);
        outputs += c.outputs_raw[s].iter().zip(&last.raw).any(|(&w, &g)| theirs_out.to_f64(w) != last.ty.to_f64(g)) as usize;
    }
    (counts, outputs)
}

/// `qforge predict --all` on the csim inputs: the samples whose `out_j` differ from hls4ml's outputs.
fn predict_all_vs_hls4ml(dir: &Path, c: &Csim) -> usize {
    let x = Array2::from_shape_vec((c.inputs.len(), c.inputs[0].len()), c.inputs.iter().flatten().map(|&v| v as f32).collect()).unwrap();
    x.write_npy(std::fs::File::create(dir.join("x.npy")).unwrap()).unwrap();
    let (code, _, err) = run_in(dir, &["predict", "--model", "imp/model.json", "--all", "--data", "x.npy", "--output", "p.csv", "--json"]);
    assert_eq!(code, 0, "{err}");
    let csv = std::fs::read_to_string(dir.join("p.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let theirs = parse_fixed_type(&c.output_type).unwrap();
    let n_out = c.outputs_raw[0].len();
    let mut bad = 0;
    let mut rows = 0;
    for (i, line) in lines.enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        let differs = (0..n_out).any(|j| {
            let k = header.iter().position(|h| *h == format!("out_{j}")).unwrap();
            f[k].parse::<f64>().unwrap() != theirs.to_f64(c.outputs_raw[i][j])
        });
        bad += differs as usize;
        rows += 1;
    }
    assert_eq!(rows, c.inputs.len());
    bad
}

/// g++ C simulation of `qforge hls`'s C++ of the model: (mismatches against the Rust
/// model, samples whose outputs differ from hls4ml's C simulation).
fn hls_csim_vs_hls4ml(dir: &Path, model: &TrainedModel, c: &Csim) -> (usize, usize) {
    let net = FixedNetwork::from_model(model).unwrap();
    let raw: Vec<i64> = c.inputs.iter().flatten().map(|&v| net.input_type.from_f64(v)).collect();
    let project = dir.join("prj");
    let opts = WriteOptions { force: false, templates: None, test_inputs: Some(raw.clone()) };
    write_project(model, &HlsConfig::default(), &project, &opts).unwrap();
    let result = run_csim(&project, &net, &raw, &CsimOptions::new(hls_support::ap_types()), &Silent).unwrap();
    let text = std::fs::read_to_string(&result.results).unwrap();
    let n_out = net.n_outputs();
    let got = qforge::model::predict_io::parse_raw_rows(&result.results, &text, n_out + 1).unwrap();
    let differing = c.outputs_raw.iter().zip(got.chunks(n_out + 1)).filter(|(want, row)| want[..] != row[..n_out]).count();
    (result.mismatches, differing)
}

fn hls4ml_mode(name: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let model = import(tmp.path(), name, "keras.json", true);
    assert_eq!(model.spec.types, TypesMode::Hls4ml);
    let c = csim(name);
    let (layers, outputs) = vs_hls4ml(&model, &c);
    println!("{name}, hls4ml mode vs hls4ml csim ({} images): layers {layers:?}, outputs differ on {outputs}", c.inputs.len());
    let predicted = predict_all_vs_hls4ml(tmp.path(), &c);
    let (csim_vs_rust, csim_vs_hls4ml) = hls_csim_vs_hls4ml(tmp.path(), &model, &c);
    println!(
        "{name}: predict --all differs from hls4ml csim on {predicted}; qforge's HLS C++ in g++: {csim_vs_rust} mismatches vs the Rust model, {csim_vs_hls4ml} vs hls4ml csim"
    );
    for (lname, same_type, bad) in &layers {
        assert!(same_type, "{name}: layer {lname} has another type than hls4ml's");
        assert_eq!(*bad, 0, "{name}: layer {lname} differs from hls4ml on {bad} images");
    }
    assert_eq!((outputs, predicted, csim_vs_rust, csim_vs_hls4ml), (0, 0, 0, 0));
}

/// qforge mode: the float network against Keras' outputs; the fixed-point logits against QKeras' (exact
/// up to float32 rounding, qforge's accumulators being lossless).
fn qforge_mode(name: &str) -> (f64, f64) {
    let tmp = tempfile::tempdir().unwrap();
    let model = import(tmp.path(), name, "keras.json", false);
    let k = keras(name);
    let x = Array2::from_shape_vec((k.inputs.len(), k.inputs[0].len()), k.inputs.iter().flatten().map(|&v| v as f32).collect()).unwrap();
    let got = QatNetwork::from_model(&model).predict(x.view());
    let float_worst = got.iter().zip(k.outputs.iter().flatten()).map(|(&a, &b)| (a as f64 - b).abs()).fold(0.0, f64::max);
    let net = FixedNetwork::from_model(&model).unwrap();
    let logits = k.layers.iter().find(|l| l.name == "fc1").unwrap();
    let mut fixed_worst = 0.0f64;
    for (s, xs) in k.inputs.iter().enumerate() {
        let raw: Vec<i64> = xs.iter().map(|&v| net.input_type.from_f64(v)).collect();
        assert!(raw.iter().zip(xs).all(|(&r, &v)| net.input_type.to_f64(r) == v), "inputs on the input type's grid");
        let t = net.trace(&raw).into_iter().find(|t| t.stage == Stage::Dense).unwrap();
        for (&g, &want) in t.raw.iter().zip(&logits.values[s]) {
            fixed_worst = fixed_worst.max((t.ty.to_f64(g) - want).abs());
        }
    }
    println!("{name}, qforge mode: float outputs within {float_worst:e} of Keras, fixed-point logits within {fixed_worst:e} of QKeras");
    (float_worst, fixed_worst)
}

/// cnn2d in hls4ml mode: pool2 averages its ap_fixed<37,17> inputs in the Model default
/// ap_fixed<16,6> (the config states no accum for it), and hls4ml infers fc1's result
/// ap_fixed<57,27>, which the Rust model computes in i128 sums.
#[test]
fn cnn2d_in_hls4ml_mode_is_hls4ml_csim_bit_for_bit() {
    let tmp = tempfile::tempdir().unwrap();
    let model = import(tmp.path(), "cnn2d", "keras.json", true);
    let net = FixedNetwork::from_model(&model).unwrap();
    assert_eq!(net.layers[0].result_type.cpp(), "ap_fixed<57,27>");
    let stack = net.features.as_ref().unwrap();
    let pool2 = stack.layers.iter().find(|l| l.name() == "pool2").unwrap();
    assert!(matches!(pool2, qforge::model::fixed_features::FixedFeature::Pool(p) if p.types.accum.cpp() == "ap_fixed<16,6>"));
    hls4ml_mode("cnn2d");
}

#[test]
fn qcnn1d_in_hls4ml_mode_is_hls4ml_csim_bit_for_bit() {
    hls4ml_mode("qcnn1d");
}

#[test]
fn qcnn_global_in_hls4ml_mode_is_hls4ml_csim_bit_for_bit() {
    hls4ml_mode("qcnn_global");
}

#[test]
fn quantized_cnns_in_qforge_mode_are_qkeras() {
    for name in ["qcnn1d", "qcnn_global"] {
        let (float_worst, fixed_worst) = qforge_mode(name);
        assert!(float_worst < 1e-5, "{name}: float outputs {float_worst}");
        // float32 sums of a few dozen grid products: QKeras' own rounding, far below the grid step.
        assert!(fixed_worst < 1e-5, "{name}: fixed-point logits {fixed_worst}");
    }
}

/// A float CNN takes hls4ml's default types without a config; its float network is Keras'.
#[test]
fn float_cnn2d_without_config_is_keras() {
    let (float_worst, _) = qforge_float_only("cnn2d");
    assert!(float_worst < 1e-5, "{float_worst}");
}

fn qforge_float_only(name: &str) -> (f64, ()) {
    let tmp = tempfile::tempdir().unwrap();
    let model = import(tmp.path(), name, "keras.json", false);
    assert_eq!(model.spec.types, TypesMode::Hls4ml);
    let k = keras(name);
    let x = Array2::from_shape_vec((k.inputs.len(), k.inputs[0].len()), k.inputs.iter().flatten().map(|&v| v as f32).collect()).unwrap();
    let got = QatNetwork::from_model(&model).predict(x.view());
    let worst = got.iter().zip(k.outputs.iter().flatten()).map(|(&a, &b)| (a as f64 - b).abs()).fold(0.0, f64::max);
    println!("{name}, no config: float outputs within {worst:e} of Keras");
    (worst, ())
}

/// The full-model H5 and the .keras archive of cnn2d import to the same model.json as JSON + weights.
#[test]
fn cnn2d_from_every_format_is_the_same_model() {
    let tmp = tempfile::tempdir().unwrap();
    let want = serde_json::to_value(import(tmp.path(), "cnn2d", "keras.json", true)).unwrap();
    for file in ["model.h5", "model.keras"] {
        let d = tmp.path().join(file);
        std::fs::create_dir_all(&d).unwrap();
        let got = serde_json::to_value(import(&d, "cnn2d", file, true)).unwrap();
        assert_eq!(got["spec"], want["spec"], "{file}");
        assert_eq!(got["conv_layers"], want["conv_layers"], "{file}");
        assert_eq!(got["layers"], want["layers"], "{file}");
    }
}
