//! Estimates of convolutional models (issue 18 item 6): QTools energy of the
//! image layers against numbers worked by hand from qtools' formulas, the
//! HLS-flow resources of a conv counted per output position, and the CLI:
//! `qforge estimate` takes an image model, `--flow rtl` refuses it (exit 2).
mod support;

use qforge::estimate::{self, BitsOptions, Calibration, EnergyOptions, FlowOptions, Target};
use qforge::model::ModelSpec;
use std::path::Path;

fn digits_spec() -> ModelSpec {
    ModelSpec::from_file(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/digits_cnn.toml").as_path()).unwrap()
}

fn width(cpp: &str) -> f64 {
    // "ap_fixed<W,I>" / "ap_ufixed<W,I>"
    cpp.split('<').nth(1).unwrap().split(',').next().unwrap().trim().parse().unwrap()
}

#[test]
fn qtools_energy_of_the_digits_cnn_by_hand() {
    let spec = digits_spec();
    let cal = Calibration::default();
    let est =
        estimate::estimate_spec(&spec, &FlowOptions::hls(), &cal, &Target::paper(), &EnergyOptions::default(), &BitsOptions::default())
            .unwrap();
    let names: Vec<&str> = est.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names.len(), 4, "{names:?}");
    let conv = &est.layers[0];
    // 8x8x1 valid 3x3 -> 6x6x8: 36 positions x 9 taps x 8 filters.
    assert_eq!(conv.multiplications, 2592);
    assert_eq!(conv.n_out, 288);
    // Input ap_fixed<16,6>, kernel 6 bits: gate bits sqrt(16*6); Horowitz fpm_mul, fpm_add.
    let gate = (16.0f64 * 6.0).sqrt();
    let mul = 0.002994791667 * gate * gate + 0.001041666667 * gate;
    let add = 0.003125 * width(&conv.accum_type);
    assert!((conv.energy.op_cost - 2592.0 * (mul + add)).abs() < 1e-6, "{:?}", conv.energy);
    // First layer: the 64x16-bit input from SRAM: ceil(1024/64) x sram_rd(log2 1024), with
    // sram_rd the cubic of qtools' config_public.py (the default calibration's).
    let sram = 16.0 * (9.02427321e-04 * 1000.0 - 2.68847858e-02 * 100.0 + 2.08900804e-01 * 10.0);
    assert!((conv.energy.inputs - sram).abs() < 1e-9, "{:?}", conv.energy);
    // Weights hard-wired (fixed memory) and the ReLU output not at the network's edge: free.
    assert_eq!((conv.energy.parameters, conv.energy.outputs), (0.0, 0.0));
    // MaxPooling2D: qtools counts only its op_cost, which is none; flatten reads from fixed memory.
    assert_eq!(est.layers[1].energy.total, 0.0);
    assert_eq!(est.layers[2].energy.total, 0.0);
    // The dense head is no longer the first layer: no input read.
    let dense = &est.layers[3];
    assert_eq!(dense.n_in, 72);
    assert_eq!(dense.energy.inputs, 0.0);
    let sum: f64 = est.layers.iter().map(|l| l.energy.total).sum();
    assert!((est.totals.energy_pj - sum).abs() < 1e-9);
    assert_eq!(est.totals.multiplications, 2592 + 720);
}

#[test]
fn average_pooling_counts_channels_times_cells_as_qtools() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/digits_cnn.toml"))
        .unwrap()
        .replace("type = \"max_pooling2d\"", "type = \"average_pooling2d\"");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("avg.toml");
    std::fs::write(&p, text).unwrap();
    let spec = ModelSpec::from_file(&p).unwrap();
    let est = estimate::estimate_spec(
        &spec,
        &FlowOptions::hls(),
        &Calibration::default(),
        &Target::paper(),
        &EnergyOptions::default(),
        &BitsOptions::default(),
    )
    .unwrap();
    let pool = &est.layers[1];
    // quantized_relu(6) input: 6 bits; accumulator 6 + ceil(log2 4) = 8 bits; 8 channels x 4 cells additions.
    assert_eq!(width(&pool.in_type), 6.0);
    assert!((pool.energy.op_cost - 8.0 * 4.0 * 0.003125 * 8.0).abs() < 1e-12, "{:?}", pool.energy);
}

#[test]
fn conv_resources_count_every_output_position() {
    let spec = digits_spec();
    let cal = Calibration::default();
    let est1 =
        estimate::estimate_spec(&spec, &FlowOptions::hls(), &cal, &Target::paper(), &EnergyOptions::default(), &BitsOptions::default())
            .unwrap();
    let f = &est1.layers[0].features;
    // 6-bit weights times 16-bit inputs: LUT products (one operand <= 4 magnitude bits + sign... or DSP);
    // either way 2592 products in all, none zero before training.
    let products = f.mult_lut + f.shift + f.zero_mult + f.dsp_mult;
    assert!(products >= 2592.0, "{f:?}");
    // Each of the 288 outputs sums 9 products and its bias: 9 adders.
    assert_eq!(f.adder, 288.0 * 9.0);
    assert!(est1.totals.lut > 0.0 && est1.layers[0].resources.lut > est1.layers[3].resources.lut / 10.0);
    // Reuse 4 shares the multipliers four ways.
    let t4 = Target::new("xcvu9p-flga2104-2L-e", 5.0, 4, estimate::Strategy::Latency).unwrap();
    let est4 = estimate::estimate_spec(&spec, &FlowOptions::hls(), &cal, &t4, &EnergyOptions::default(), &BitsOptions::default()).unwrap();
    let f4 = &est4.layers[0].features;
    assert_eq!(f4.mult_lut, (f.mult_lut / 4.0).ceil());
    assert_eq!(f4.dsp_mult, (f.dsp_mult / 4.0).ceil());
}

#[test]
fn the_cli_estimates_an_image_model_in_both_flows() {
    let dir = tempfile::tempdir().unwrap();
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/digits_cnn.toml");
    let s = spec.to_str().unwrap();
    let (code, v, stderr) = support::run_in(dir.path(), &["estimate", "--spec", s, "--json"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(v["layers"][0]["name"], "conv2d_1", "{v}");
    assert_eq!(v["layers"][0]["multiplications"], 2592);
    // The RTL flow prices the conv module too (its counts: tests/cnn_rtl_estimate.rs).
    let (code, r, stderr) = support::run_in(dir.path(), &["estimate", "--spec", s, "--flow", "rtl", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(r["layers"][0]["name"], "conv2d_1", "{r}");
    assert!(r["layers"][0]["resources"]["lut"].as_f64().unwrap() > 1000.0, "{r}");
}
