//! The QKeras quantizers of issue 14 that import took last: a leaky
//! `quantized_relu` (fixture q_leaky) and `quantized_relu_po2` (q_relu_po2),
//! made by scripts/hls4ml_fixtures.py with QKeras 0.9.0 and hls4ml 1.3.0
//! (tests/fixtures/hls4ml/README.md). In hls4ml mode (`--config`) the imported
//! model is hls4ml's C simulation bit for bit, every traced layer and the
//! outputs, in the Rust model and in the HLS C++ `qforge hls` writes; in
//! qforge mode (no config) its quantized activations are QKeras' own values
//! and its float network QKeras' outputs. hls4ml 1.3.0 refuses
//! quantized_relu_po2, so that fixture has no C simulation and import with a
//! config refuses it too, and so does `qforge hls`.
mod hls_support;
mod support;

use qforge::events::Silent;
use qforge::hls::{run_csim, write_project, CsimOptions, HlsConfig, WriteOptions};
use qforge::model::spec::parse_fixed_type;
use qforge::model::trace::Stage;
use qforge::model::{FixedNetwork, TrainedModel, TypesMode};
use qforge::train::qat::QatNetwork;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use support::{import_fixture, run_in, Csim};

fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hls4ml").join(name)
}

/// QKeras' own outputs (qkeras.json): per Dense/QActivation layer and the model's.
#[derive(Deserialize)]
struct Qkeras {
    inputs: Vec<Vec<f64>>,
    layers: Vec<QkerasLayer>,
    outputs: Vec<Vec<f64>>,
}

#[derive(Deserialize)]
struct QkerasLayer {
    name: String,
    values: Vec<Vec<f64>>,
}

fn qkeras(name: &str) -> Qkeras {
    serde_json::from_str(&std::fs::read_to_string(fixture_dir(name).join("qkeras.json")).unwrap()).unwrap()
}

fn csim(name: &str) -> Csim {
    serde_json::from_str(&std::fs::read_to_string(fixture_dir(name).join("csim.json")).unwrap()).unwrap()
}

/// Per hls4ml layer: (name, same type, samples that differ); and the samples whose outputs differ.
fn vs_hls4ml(net: &FixedNetwork, csim: &Csim) -> (Vec<(String, bool, usize)>, usize) {
    let mut counts: Vec<(String, bool, usize)> = Vec::new();
    let mut outputs = 0;
    let theirs_out = parse_fixed_type(&csim.output_type).unwrap();
    for (s, x) in csim.inputs.iter().enumerate() {
        let raw: Vec<i64> = x.iter().map(|&v| net.input_type.from_f64(v)).collect();
        let trace = net.trace(&raw);
        assert_eq!(trace.len(), csim.layers.len(), "layers traced: {:?}", trace.iter().map(|t| t.stage).collect::<Vec<_>>());
        for (i, (ours, theirs)) in trace.iter().zip(&csim.layers).enumerate() {
            let ty = parse_fixed_type(&theirs.ty).unwrap();
            let differs = theirs.raw[s].iter().zip(&ours.raw).any(|(&w, &g)| ty.to_f64(w) != ours.ty.to_f64(g));
            if s == 0 {
                counts.push((theirs.name.clone(), ours.ty == ty, 0));
            }
            counts[i].2 += differs as usize;
        }
        let last = trace.last().unwrap();
        outputs += csim.outputs_raw[s].iter().zip(&last.raw).any(|(&w, &g)| theirs_out.to_f64(w) != last.ty.to_f64(g)) as usize;
    }
    (counts, outputs)
}

/// qforge mode against QKeras: per QActivation layer the samples whose
/// quantized values differ (exactly), and the largest difference of the
/// float network's outputs from QKeras' `predict`.
fn vs_qkeras(model: &TrainedModel, q: &Qkeras) -> (Vec<(String, usize)>, f64) {
    let net = FixedNetwork::from_model(model).unwrap();
    let mut rows = Vec::new();
    for (b, block) in model.spec.blocks.iter().enumerate() {
        let Some(layer) = q.layers.iter().find(|l| l.name != block.name && is_activation_of(model, l, b)) else { continue };
        let mut bad = 0;
        for (s, x) in q.inputs.iter().enumerate() {
            let raw: Vec<i64> = x.iter().map(|&v| net.input_type.from_f64(v)).collect();
            let t = net.trace(&raw).into_iter().find(|t| t.block == b && t.stage == Stage::Activation).expect("activation traced");
            bad += layer.values[s].iter().zip(&t.raw).any(|(&want, &g)| t.ty.to_f64(g) != want) as usize;
        }
        rows.push((layer.name.clone(), bad));
    }
    let x: Vec<f32> = q.inputs.iter().flatten().map(|&v| v as f32).collect();
    let x = ndarray::Array2::from_shape_vec((q.inputs.len(), q.inputs[0].len()), x).unwrap();
    let got = QatNetwork::from_params(&model.spec, &model.layers).predict(x.view());
    let worst = got.iter().zip(q.outputs.iter().flatten()).map(|(&a, &b)| (a as f64 - b).abs()).fold(0.0, f64::max);
    (rows, worst)
}

/// The fixtures name their QActivations relu<k> after fc<k>.
fn is_activation_of(model: &TrainedModel, layer: &QkerasLayer, block: usize) -> bool {
    let k = model.spec.blocks[block].name.trim_start_matches("fc");
    layer.name == format!("relu{k}")
}

#[test]
fn leaky_relu_in_hls4ml_mode_is_hls4ml_csim_bit_for_bit() {
    let tmp = tempfile::tempdir().unwrap();
    let model = TrainedModel::load(&import_fixture(tmp.path(), "q_leaky", true)).unwrap();
    assert_eq!(model.spec.types, TypesMode::Hls4ml);
    assert_eq!(model.spec.blocks[0].activation_quantizer.spelling(), "quantized_relu(6,2,negative_slope=0.25)");
    let c = csim("q_leaky");
    let net = FixedNetwork::from_model(&model).unwrap();
    let (layers, outputs) = vs_hls4ml(&net, &c);
    println!("q_leaky, hls4ml mode vs hls4ml csim ({} samples): layers {layers:?}, outputs differ on {outputs}", c.inputs.len());
    for (name, same_type, bad) in &layers {
        assert!(same_type, "layer {name}: another type than hls4ml's");
        assert_eq!(*bad, 0, "layer {name} differs from hls4ml on {bad} samples");
    }
    assert_eq!(outputs, 0);
    predict_all(tmp.path(), &c.inputs);
}

/// `qforge predict --all` takes the imported model (`dir/imp/model.json`) on these inputs.
fn predict_all(dir: &Path, inputs: &[Vec<f64>]) {
    use ndarray_npy::WriteNpyExt;
    let x = ndarray::Array2::from_shape_vec((inputs.len(), inputs[0].len()), inputs.iter().flatten().map(|&v| v as f32).collect()).unwrap();
    x.write_npy(std::fs::File::create(dir.join("x.npy")).unwrap()).unwrap();
    let (code, _, err) = run_in(dir, &["predict", "--model", "imp/model.json", "--all", "--data", "x.npy", "--output", "p.csv", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read_to_string(dir.join("p.csv")).unwrap().lines().count(), inputs.len() + 1);
}

/// `name` imported with its hls4ml config, its HLS C++ (`qforge hls`) run in
/// g++ on the csim inputs (`qforge csim`): (the folder, (samples and values
/// differing from the Rust model), samples differing from hls4ml's C simulation).
fn hls_cpp_vs_hls4ml(name: &str) -> (tempfile::TempDir, (usize, usize), usize) {
    let tmp = tempfile::tempdir().unwrap();
    let c = csim(name);
    let dir = tmp.path().join("hls4ml");
    std::fs::create_dir_all(&dir).unwrap();
    let model_path = import_fixture(&dir, name, true);
    let model = TrainedModel::load(&model_path).unwrap();
    let net = FixedNetwork::from_model(&model).unwrap();
    let raw: Vec<i64> = c.inputs.iter().flatten().map(|&v| net.input_type.from_f64(v)).collect();
    let project = tmp.path().join("prj");
    let opts = WriteOptions { force: false, templates: None, test_inputs: Some(raw.clone()) };
    write_project(&model, &HlsConfig::default(), &project, &opts).unwrap();
    let result = run_csim(&project, &net, &raw, &CsimOptions::new(hls_support::ap_types()), &Silent).unwrap();
    println!(
        "{name} (hls4ml mode): g++ C simulation of qforge's HLS C++ vs the Rust model, {} samples: {} differ",
        c.inputs.len(),
        result.mismatches
    );
    let text = std::fs::read_to_string(&result.results).unwrap();
    let n_out = net.n_outputs();
    let got = qforge::model::predict_io::parse_raw_rows(&result.results, &text, n_out + 1).unwrap();
    assert_eq!(got.len(), c.inputs.len() * (n_out + 1));
    let differing = c.outputs_raw.iter().zip(got.chunks(n_out + 1)).filter(|(want, row)| want[..] != row[..n_out]).count();
    println!("{name}: qforge's HLS C++ vs hls4ml's C simulation: {differing} of {} samples differ", c.inputs.len());
    (tmp, (result.mismatches, result.mismatched_values), differing)
}

#[test]
fn leaky_relu_hls_cpp_is_hls4ml_csim_bit_for_bit() {
    let (_tmp, mismatches, differing) = hls_cpp_vs_hls4ml("q_leaky");
    assert_eq!(mismatches, (0, 0), "C simulation differs from the Rust model");
    assert_eq!(differing, 0);
}

#[test]
fn leaky_relu_in_qforge_mode_is_qkeras() {
    let tmp = tempfile::tempdir().unwrap();
    let model = TrainedModel::load(&import_fixture(tmp.path(), "q_leaky", false)).unwrap();
    assert_eq!(model.spec.types, TypesMode::Qforge);
    let q = qkeras("q_leaky");
    let (rows, worst) = vs_qkeras(&model, &q);
    println!("q_leaky, qforge mode vs QKeras ({} samples): activations differ {rows:?}; float outputs within {worst:e}", q.inputs.len());
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|(_, bad)| *bad == 0), "{rows:?}");
    assert!(worst < 1e-5, "{worst}");
    // hls4ml saturates negative outputs at -2^integer, QKeras clips them at -slope·2^integer: the modes differ there.
    let c = csim("q_leaky");
    let (layers, _) = vs_hls4ml(&FixedNetwork::from_model(&model).unwrap(), &c);
    let relu1 = layers.iter().find(|l| l.0 == "relu1").unwrap();
    println!("q_leaky, qforge mode vs hls4ml csim: relu1 differs on {} samples", relu1.2);
    assert!(relu1.2 > 0);
}

#[test]
fn relu_po2_in_qforge_mode_is_qkeras() {
    let tmp = tempfile::tempdir().unwrap();
    let model = TrainedModel::load(&import_fixture(tmp.path(), "q_relu_po2", false)).unwrap();
    let spellings: Vec<String> = model.spec.blocks.iter().map(|b| b.activation_quantizer.spelling()).collect();
    assert_eq!(
        spellings[..3],
        ["quantized_relu_po2(4)", "quantized_relu_po2(5,max_value=6)", "quantized_relu_po2(4,max_value=2,negative_slope=0.25)"]
    );
    let q = qkeras("q_relu_po2");
    let (rows, worst) = vs_qkeras(&model, &q);
    println!("q_relu_po2, qforge mode vs QKeras ({} samples): activations differ {rows:?}; float outputs within {worst:e}", q.inputs.len());
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|(_, bad)| *bad == 0), "{rows:?}");
    assert!(worst < 1e-5, "{worst}");
    predict_all(tmp.path(), &q.inputs);
}

#[test]
fn relu_po2_is_refused_with_a_config_and_by_hls() {
    let f = fixture_dir("q_relu_po2");
    assert!(std::fs::read_to_string(f.join("hls4ml_refusal.txt")).unwrap().contains("Unsupported QKeras activation: quantized_relu_po2"));
    let tmp = tempfile::tempdir().unwrap();
    let cfg = "HLSConfig:\n  Model:\n    Precision:\n      default: ap_fixed<16,6>\n  LayerName:\n    relu1:\n      Precision:\n        result: auto\n";
    std::fs::write(tmp.path().join("cfg.yml"), cfg).unwrap();
    let arg = |n: &str| f.join(n).display().to_string();
    let (code, _, err) =
        run_in(tmp.path(), &["import", &arg("keras.json"), "--weights", &arg("weights.h5"), "--config", "cfg.yml", "--out", "x"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cfg.yml") && err.contains("quantized_relu_po2") && err.contains("without --config"), "{err}");
    import_fixture(tmp.path(), "q_relu_po2", false);
    let (code, _, err) = run_in(tmp.path(), &["hls", "--model", "imp/model.json", "--out", "prj", "--tb-samples", "0"]);
    assert_ne!(code, 0);
    assert!(err.contains("fc1") && err.contains("quantized_relu_po2"), "{err}");
    // (The RTL builds relu_po2 and q_leaky's leaky ReLU now: tests/rtl_hls4ml.rs.)
}

/// quantized_bits with alpha "auto" (fc1) and 0.75 (fc2), fixture q_alpha: hls4ml
/// factorises the scale out (QKerasFactorizeAlpha) into an ApplyAlpha layer
/// after each dense layer (scale_t ap_fixed<16,6>, the bias moved into it, the
/// result type inferred); qforge's hls4ml mode computes the same layers.
#[test]
fn float_alpha_in_hls4ml_mode_is_hls4ml_csim_bit_for_bit() {
    let tmp = tempfile::tempdir().unwrap();
    let model = TrainedModel::load(&import_fixture(tmp.path(), "q_alpha", true)).unwrap();
    let spellings: Vec<String> = model.spec.blocks.iter().map(|b| b.kernel_quantizer.spelling()).collect();
    assert_eq!(spellings, ["quantized_bits(6,0,symmetric=1,alpha='auto')", "quantized_bits(6,0,alpha=0.75)"]);
    let c = csim("q_alpha");
    let net = FixedNetwork::from_model(&model).unwrap();
    let (layers, outputs) = vs_hls4ml(&net, &c);
    println!("q_alpha, hls4ml mode vs hls4ml csim ({} samples): layers {layers:?}, outputs differ on {outputs}", c.inputs.len());
    let names: Vec<&str> = layers.iter().map(|l| l.0.as_str()).collect();
    assert_eq!(names, ["fc1", "fc1_alpha", "relu1", "fc2", "fc2_alpha", "softmax"]);
    for (name, same_type, bad) in &layers {
        assert!(same_type, "layer {name}: another type than hls4ml's");
        assert_eq!(*bad, 0, "layer {name} differs from hls4ml on {bad} samples");
    }
    assert_eq!(outputs, 0);
    predict_all(tmp.path(), &c.inputs);
}

/// q_alpha's HLS C++: each ApplyAlpha is an `nnet::normalize` step after its
/// dense layer, as hls4ml writes it; in g++ with the real ap_types every output
/// is the Rust model's and hls4ml's C simulation's.
#[test]
fn float_alpha_hls_cpp_is_hls4ml_csim_bit_for_bit() {
    let (prj, mismatches, differing) = hls_cpp_vs_hls4ml("q_alpha");
    let cpp = std::fs::read_to_string(prj.path().join("prj/firmware/myproject.cpp")).unwrap();
    assert_eq!(cpp.matches("nnet::normalize<").count(), 2, "{cpp}");
    assert_eq!((mismatches, differing), ((0, 0), 0));
    // io_stream has no ApplyAlpha step: refused naming the layer, nothing written.
    let model = TrainedModel::load(&prj.path().join("hls4ml/imp/model.json")).unwrap();
    let config = HlsConfig { io_type: "io_stream".into(), ..HlsConfig::default() };
    let out = prj.path().join("stream");
    let e = write_project(&model, &config, &out, &WriteOptions::default()).unwrap_err().to_string();
    assert!(e.contains("fc1") && e.contains("ApplyAlpha") && e.contains("io_parallel"), "{e}");
    assert!(!out.exists());
}

/// Without a config: the float network is QKeras' (the per-channel scales
/// recomputed from the saved float kernel), the fixed-point model is refused
/// with the way out (qforge's own types have no exact form of a float scale).
#[test]
fn float_alpha_in_qforge_mode_is_qkeras_in_float_and_refused_in_fixed_point() {
    let tmp = tempfile::tempdir().unwrap();
    let model = TrainedModel::load(&import_fixture(tmp.path(), "q_alpha", false)).unwrap();
    let q = qkeras("q_alpha");
    let x: Vec<f32> = q.inputs.iter().flatten().map(|&v| v as f32).collect();
    let x = ndarray::Array2::from_shape_vec((q.inputs.len(), q.inputs[0].len()), x).unwrap();
    let got = QatNetwork::from_params(&model.spec, &model.layers).predict(x.view());
    let worst = got.iter().zip(q.outputs.iter().flatten()).map(|(&a, &b)| (a as f64 - b).abs()).fold(0.0, f64::max);
    println!("q_alpha, qforge mode: float outputs within {worst:e} of QKeras ({} samples)", q.inputs.len());
    assert!(worst < 1e-5, "{worst}");
    let e = FixedNetwork::from_model(&model).unwrap_err().to_string();
    assert!(e.contains("fc1") && e.contains("hls4ml config"), "{e}");
}

/// qforge mode's leaky ReLU: the batch path equals the per-sample trace (it
/// read stale accumulators before: 289/300 samples wrong), and qforge's HLS
/// C++ in g++ gives the Rust model's bits.
#[test]
fn leaky_relu_in_qforge_mode_hls_cpp_is_the_rust_model() {
    let tmp = tempfile::tempdir().unwrap();
    let c = csim("q_leaky");
    let dir = tmp.path().join("q");
    std::fs::create_dir_all(&dir).unwrap();
    let model = TrainedModel::load(&import_fixture(&dir, "q_leaky", false)).unwrap();
    let net = FixedNetwork::from_model(&model).unwrap();
    let raw: Vec<i64> = c.inputs.iter().flatten().map(|&v| net.input_type.from_f64(v)).collect();
    let batch = net.predict_raw(&raw);
    let n = net.n_inputs();
    for (k, x) in raw.chunks(n).enumerate() {
        let last = net.trace(x).pop().unwrap();
        assert_eq!(last.raw[..], batch.outputs[k * net.n_outputs()..(k + 1) * net.n_outputs()], "sample {k}");
    }
    let project = tmp.path().join("prj");
    let opts = WriteOptions { force: false, templates: None, test_inputs: Some(raw.clone()) };
    write_project(&model, &HlsConfig::default(), &project, &opts).unwrap();
    let result = run_csim(&project, &net, &raw, &CsimOptions::new(hls_support::ap_types()), &Silent).unwrap();
    println!("q_leaky (qforge mode): g++ C simulation vs the Rust model, {} samples: {} differ", raw.len() / n, result.mismatches);
    assert_eq!((result.mismatches, result.mismatched_values), (0, 0), "{:?}", result.first_mismatches);
}
