//! Shared by the rtl_* tests: small jet models trained through the library.
#![allow(dead_code)]
pub mod random_net;
use qforge::data::loaders::DataSource;
use qforge::events::Silent;
use qforge::model::{FixedNetwork, ModelSpec, TrainedModel};
use qforge::train::session::{prepare_data, train_and_evaluate};
use std::path::Path;

pub const SPLIT_SEED: u64 = 42;

/// A jet spec: `layers` as (units, kernel, bias, activation quantizer or "softmax").
pub fn spec_text(name: &str, layers: &[(usize, &str, &str, &str)]) -> String {
    let mut s = format!("name = \"{name}\"\ninputs = 16\ninput_type = \"ap_fixed<16,6>\"\nclasses = [\"g\", \"q\", \"t\", \"w\", \"z\"]\n");
    for (units, k, b, a) in layers {
        s += &format!("\n[[layers]]\ntype = \"dense\"\nunits = {units}\nkernel_quantizer = \"{k}\"\nbias_quantizer = \"{b}\"\n");
        match *a {
            "softmax" | "linear" => s += &format!("\n[[layers]]\ntype = \"activation\"\nactivation = \"{a}\"\n"),
            q => s += &format!("\n[[layers]]\ntype = \"activation\"\nactivation = \"relu\"\nquantizer = \"{q}\"\n"),
        }
    }
    s + "\n[training]\nlearning_rate = 0.003\nbatch_size = 1024\nepochs = 2\nseed = 42\n"
}

pub const Q6: &str = "quantized_bits(6,0,alpha=1)";

pub fn q6_jet() -> String {
    spec_text(
        "jet_q6",
        &[(64, Q6, Q6, "quantized_relu(6)"), (32, Q6, Q6, "quantized_relu(6)"), (32, Q6, Q6, "quantized_relu(6)"), (5, Q6, Q6, "softmax")],
    )
}

/// Heterogeneous: quantized_bits(8,2), (4,0), quantized_po2(4), relu(4,2), relu(8,3).
pub fn hetero(units: &[usize]) -> String {
    let q8 = "quantized_bits(8,2,alpha=1)";
    let q4 = "quantized_bits(4,0,alpha=1)";
    let kinds = [(q8, q8, "quantized_relu(8,3)"), (q4, q4, "quantized_relu(4,2)"), ("quantized_po2(4)", q4, "quantized_relu(8,3)")];
    let mut layers: Vec<(usize, &str, &str, &str)> = units
        .iter()
        .enumerate()
        .map(|(i, &u)| {
            let (k, b, a) = kinds[i % 3];
            (u, k, b, a)
        })
        .collect();
    layers.push((5, q8, q4, "softmax"));
    spec_text("jet_hetero", &layers)
}

/// Train `spec` for 2 epochs on 60 000 synthetic jets (12 000 test samples); save to `dir/model.json`.
pub fn train(spec: &str, dir: &Path) -> (TrainedModel, Vec<i64>) {
    let spec_path = dir.join("spec.toml");
    std::fs::write(&spec_path, spec).unwrap();
    let spec = ModelSpec::from_toml(spec, &spec_path).unwrap();
    let source = DataSource::Synthetic { samples: 60_000, seed: 1 };
    let data = prepare_data(&source, &spec, SPLIT_SEED).unwrap();
    let (model, _, _) = train_and_evaluate(&spec, &data, Some(2), &Silent).unwrap();
    model.save(&dir.join("model.json")).unwrap();
    let net = FixedNetwork::from_model(&model).unwrap();
    let test = &data.splits.test;
    let raw: Vec<i64> = (0..test.len()).flat_map(|i| net.quantize_inputs(test.row(i))).collect();
    (model, raw)
}

/// Train a tiny two-layer model (6-bit inputs, `hidden` units, `bits`-bit
/// quantizers, linear output: Yosys takes seconds), write its Verilog with
/// `qforge rtl` and synthesise it whole with `qforge synth --tool yosys --flatten --db db`
/// (the calibration tests compare whole-design counts, as the jet study did).
pub fn synthesise_tiny(qforge: &str, dir: &Path, db: &Path, hidden: usize, bits: u32) {
    use std::process::Command;
    let kernel = format!("quantized_bits({bits},0,alpha=1)");
    let relu = format!("quantized_relu({bits})");
    let spec = spec_text(&format!("small_{hidden}_{bits}"), &[(hidden, &kernel, &kernel, &relu), (5, &kernel, &kernel, "linear")])
        .replace("ap_fixed<16,6>", "ap_fixed<6,3>");
    std::fs::create_dir_all(dir).unwrap();
    train(&spec, dir);
    let rtl = dir.join("rtl");
    let model = dir.join("model.json");
    let out = Command::new(qforge).args(["rtl", "--model", model.to_str().unwrap(), "--out", rtl.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(rtl.join("model.json").is_file(), "the design folder keeps its model");
    let out = Command::new(qforge)
        .args(["synth", rtl.to_str().unwrap(), "--tool", "yosys", "--flatten", "--db", db.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
