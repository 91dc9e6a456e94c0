//! qforge's fixed-point network in hls4ml types mode against hls4ml 1.3.0's
//! own C simulation: outputs and every traced layer, bit for bit, with the
//! types hls4ml chose. The fixtures (tests/fixtures/hls4ml/, see its
//! README.md) were made by scripts/hls4ml_fixtures.py with hls4ml 1.3.0.
//! In qforge's own mode the documented differences must show.
mod support;
use qforge::model::spec::parse_fixed_type;
use qforge::model::trace::Stage;
use qforge::model::{FixedNetwork, SoftmaxConfig, TrainedModel, TypesMode};
use std::path::PathBuf;
use support::Csim;

fn fixture(name: &str) -> (TrainedModel, Csim) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hls4ml").join(name);
    let model = TrainedModel::load(&dir.join("qforge_model.json")).unwrap();
    let text = std::fs::read_to_string(dir.join("csim.json")).unwrap();
    (model, serde_json::from_str(&text).unwrap())
}

/// Samples whose network outputs differ from hls4ml's (compared as real values).
fn output_mismatches(net: &FixedNetwork, csim: &Csim) -> usize {
    let x: Vec<f32> = csim.inputs.iter().flatten().map(|&v| v as f32).collect();
    let out = net.predict_raw(&net.quantize_inputs(&x));
    let ours = net.output_type();
    let theirs = parse_fixed_type(&csim.output_type).unwrap();
    csim.outputs_raw
        .iter()
        .zip(out.outputs.chunks(out.n_out))
        .filter(|(want, got)| want.iter().zip(got.iter()).any(|(&w, &g)| theirs.to_f64(w) != ours.to_f64(g)))
        .count()
}

/// Per hls4ml layer: (name, whether our type is hls4ml's, samples that differ in value).
fn layer_mismatches(net: &FixedNetwork, csim: &Csim) -> Vec<(String, bool, usize)> {
    let mut counts: Vec<(String, bool, usize)> = Vec::new();
    for (s, x) in csim.inputs.iter().enumerate() {
        let raw: Vec<i64> = x.iter().map(|&v| net.input_type.from_f64(v)).collect();
        let trace = net.trace(&raw);
        assert_eq!(trace.len(), csim.layers.len(), "layers traced: {:?}", trace.iter().map(|t| t.stage).collect::<Vec<_>>());
        for (i, (ours, theirs)) in trace.iter().zip(&csim.layers).enumerate() {
            let stage = match theirs.class.as_str() {
                "Dense" => Stage::Dense,
                "Softmax" => Stage::Softmax,
                _ => Stage::Activation,
            };
            assert_eq!(ours.stage, stage, "layer {} ({})", theirs.name, theirs.class);
            let ty = parse_fixed_type(&theirs.ty).unwrap();
            let differs = theirs.raw[s].iter().zip(&ours.raw).any(|(&w, &g)| ty.to_f64(w) != ours.ty.to_f64(g));
            if s == 0 {
                counts.push((theirs.name.clone(), ours.ty == ty, 0));
            }
            counts[i].2 += differs as usize;
        }
    }
    counts
}

fn check_bit_exact(name: &str) {
    let (model, csim) = fixture(name);
    assert_eq!(model.spec.types, TypesMode::Hls4ml);
    let net = FixedNetwork::from_model(&model).unwrap();
    for (layer, same_type, mismatches) in layer_mismatches(&net, &csim) {
        assert!(same_type, "{name}: layer {layer} has another type than hls4ml's");
        assert_eq!(mismatches, 0, "{name}: layer {layer} differs from hls4ml on {mismatches} of {} samples", csim.inputs.len());
    }
    assert_eq!(output_mismatches(&net, &csim), 0, "{name}: outputs differ");
}

#[test]
fn quantized_bits_and_relu_with_stable_softmax() {
    check_bit_exact("q_bits");
}

#[test]
fn relu_widths_with_latency_softmax() {
    check_bit_exact("q_relu_widths");
}

#[test]
fn po2_kernels_fall_back_to_the_default_accumulator_with_argmax() {
    check_bit_exact("q_po2");
}

#[test]
fn float_keras_model_takes_the_default_precision() {
    check_bit_exact("float");
}

#[test]
fn legacy_softmax() {
    check_bit_exact("q_legacy");
}

/// The same models in qforge's own mode: its exact accumulators and table
/// softmax. Prints the mismatch counts (point 7 of issue 14) and checks the
/// two documented differences show: po2 accumulators and the softmax.
#[test]
fn qforge_mode_differs_where_documented() {
    let mut rows = Vec::new();
    for name in ["q_bits", "q_relu_widths", "q_po2", "float", "q_legacy"] {
        let (mut model, csim) = fixture(name);
        model.spec.types = TypesMode::Qforge;
        model.spec.softmax = SoftmaxConfig::default();
        for b in &mut model.spec.blocks {
            b.types = Default::default();
        }
        // The float fixture's exact qforge accumulators are 57 bits, which the model computes (i128 sums).
        let net = FixedNetwork::from_model(&model).unwrap_or_else(|e| panic!("{name}: qforge mode cannot build it: {e}"));
        let layers = layer_mismatches(&net, &csim);
        let last_dense = layers.iter().rev().find(|(n, _, _)| csim.layers.iter().any(|l| &l.name == n && l.class == "Dense")).unwrap().2;
        let outputs = output_mismatches(&net, &csim);
        println!(
            "{name}: qforge mode vs hls4ml csim, {} samples: outputs differ on {outputs}, last dense layer on {last_dense}",
            csim.inputs.len()
        );
        rows.push((name, outputs, last_dense));
    }
    let get = |n: &str| rows.iter().find(|r| r.0 == n).unwrap();
    // Every softmax output differs (other design), po2's last layer too (exact accumulator).
    assert!(get("q_bits").1 > 0 && get("q_po2").2 > 0, "{rows:?}");
}

/// The precision profile of one fixture model on its inputs: hls4ml's types
/// per layer, saturations where the inputs are wide, the softmax tables' error.
#[test]
fn precision_profile_of_the_q_bits_model() {
    let (model, csim) = fixture("q_bits");
    let net = FixedNetwork::from_model(&model).unwrap();
    let x: Vec<f32> = csim.inputs.iter().flatten().map(|&v| v as f32).collect();
    let rows = qforge::model::profile::precision_profile(&model, &net, &x);
    println!("{}", serde_json::to_string_pretty(&rows).unwrap());
    assert_eq!(rows.len(), csim.layers.len());
    for (row, layer) in rows.iter().zip(&csim.layers) {
        assert_eq!(parse_fixed_type(&row.ty).unwrap(), parse_fixed_type(&layer.ty).unwrap(), "{}", layer.name);
        assert_eq!(row.values, csim.inputs.len() * layer.raw[0].len());
    }
    // quantized_relu(6) tops out below 1: wide inputs saturate it.
    assert!(rows[1].saturated > 0 && rows[1].wrapped == 0, "{rows:?}");
    // The 16,6 accumulators truncate products: the dense layers differ from exact float sums.
    assert!(rows[0].max_abs_error > 0.0 && rows[0].max_abs_error < 0.1, "{rows:?}");
}
