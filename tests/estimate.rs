//! Estimator against hand computations: QTools energy, BOPs/EBOPs, weight bits,
//! AutoQKeras bits, and the resource features and totals of a tiny layer.
use qforge::estimate::{self, BitsOptions, Calibration, EnergyOptions, LayerInput, MemoryMode, Strategy, Target};
use qforge::model::fixed::infer_accum_type;
use qforge::model::{Activation, ModelSpec};
use qforge::quant::parse::parse_quantizer;
use qforge::quant::FixedType;
use std::path::Path;

fn tiny_layer() -> LayerInput {
    let kq = parse_quantizer("quantized_bits(4,0)").unwrap();
    let wt = kq.fixed_type(false).unwrap();
    assert_eq!(wt, FixedType::signed(4, 1));
    let in_type = FixedType::signed(8, 3);
    let accum_type = infer_accum_type(&in_type, &wt, &wt, 2, true);
    assert_eq!(accum_type, FixedType::signed(14, 6), "hls4ml accumulator: 4+8+1 bits, one more for the bias");
    LayerInput {
        name: "d".into(),
        n_in: 2,
        n_out: 2,
        in_type,
        kernel_quantizer: kq.clone(),
        bias_quantizer: kq,
        activation_quantizer: qforge::quant::Quantizer::Float,
        weight_type: wt,
        bias_type: wt,
        accum_type,
        out_type: accum_type,
        activation: Activation::Linear,
        // row-major [n_in][n_out]: w00 = 0, w01 = 3, w10 = 2, w11 = -5
        weights: Some(vec![0, 3, 2, -5]),
        biases: Some(vec![1, 0]),
    }
}

#[test]
fn energy_and_bit_counts_of_a_tiny_layer_match_a_hand_computation() {
    let cal = Calibration::default();
    let est = estimate::estimate(&[tiny_layer()], &cal, &Target::paper(), &EnergyOptions::default(), &BitsOptions::default()).unwrap();
    let l = &est.layers[0];
    // Input layer reads its 2 x 8 = 16 input bits from SRAM (qenergy.py): ceil(16/64) = 1 word
    // at sram_rd(log2 16 = 4) = 9.02427321e-4*64 - 2.68847858e-2*16 + 2.08900804e-1*4.
    let sram = 9.02427321e-4 * 64.0 - 2.68847858e-2 * 16.0 + 2.08900804e-1 * 4.0;
    assert!((l.energy.inputs - sram).abs() < 1e-12, "{}", l.energy.inputs);
    assert!((l.energy.inputs - 0.463202).abs() < 1e-6);
    // Weights hard-wired ("fixed"): no parameter energy.
    assert_eq!(l.energy.parameters, 0.0);
    // 4 MACs x (mul(sqrt(8*4)) + add(14)); mul(b) = 0.002994791667 b^2 + 0.001041666667 b.
    let gate = (32.0f64).sqrt();
    let mul = 0.002994791667 * 32.0 + 0.001041666667 * gate;
    let add = 0.003125 * 14.0;
    assert!((l.energy.gate_bits - gate).abs() < 1e-12);
    assert!((l.energy.op_cost - 4.0 * (mul + add)).abs() < 1e-12, "{}", l.energy.op_cost);
    assert!((est.totals.energy_pj - (sram + 4.0 * (mul + add))).abs() < 1e-12);
    assert!((est.totals.energy_pj - 1.045106).abs() < 1e-5, "{}", est.totals.energy_pj);
    // BOPs: 4 x 4 bits x 8 bits; EBOPs: bits of the odd parts 0, 3 -> 2, 2 -> 1, -5 -> 3, times 8.
    assert_eq!(est.totals.bops, 128.0);
    assert_eq!(est.totals.ebops, 48.0);
    assert_eq!(l.zero_weights, 1);
    // Weight bits: 4 kernels x 4 + 2 biases x 4.
    assert_eq!(est.totals.weight_bits, 24);
    // AutoQKeras bits: inputs 2 x 8 (input_bits) + parameters 24, linear activation 0.
    assert_eq!(est.totals.size_bits, 16 + 24);
}

#[test]
fn memory_modes_add_parameter_energy() {
    let cal = Calibration::default();
    let opts = EnergyOptions { weights_on_memory: MemoryMode::Dram, activations_on_memory: MemoryMode::Fixed, rd_wr_on_io: false };
    let est = estimate::estimate(&[tiny_layer()], &cal, &Target::paper(), &opts, &BitsOptions::default()).unwrap();
    // DRAM read: 20.3125 pJ per bit, kernel 16 bits and bias 8 bits.
    assert!((est.layers[0].energy.parameters - 20.3125 * 24.0).abs() < 1e-9);
}

#[test]
fn resource_features_and_linear_totals() {
    let cal = Calibration::default();
    let est = estimate::estimate(&[tiny_layer()], &cal, &Target::paper(), &EnergyOptions::default(), &BitsOptions::default()).unwrap();
    let f = &est.layers[0].features;
    // w01 = 3: 3 bits with sign x 8 -> LUT (one operand <= 4); w11 = -5: 4 bits -> LUT; w10 = 2: a shift; w00 free.
    assert_eq!((f.mult_lut, f.lut_product_bit, f.shift, f.dsp_mult, f.zero_mult), (2.0, 56.0, 1.0, 0.0, 1.0));
    // Output 0: w10 + bias 1 -> 1 adder; output 1: w01 + w11, bias 0 -> 1 adder; 14-bit accumulators.
    assert_eq!((f.adder, f.adder_bit, f.output_bit), (2.0, 28.0, 28.0));
    // LUT = 2.0*2 + 0.55*56 + 1.0*28 + 20 (per layer), from calibration/default.toml.
    assert_eq!(est.totals.lut, (2.0f64 * 2.0 + 0.55 * 56.0 + 28.0 + 20.0).round());
    assert_eq!(est.totals.dsp, 0.0);
    // Totals are Σ coefficient x Σ feature: check against feature_totals.
    let family = cal.family("ultrascale_plus").unwrap();
    let from_totals: f64 = est.feature_totals().iter().map(|(n, v)| family.ff.get(&format!("per_{n}")).copied().unwrap_or(0.0) * v).sum();
    assert_eq!(est.totals.ff, from_totals.round());
}

#[test]
fn wide_products_take_dsps_and_reuse_shares_them() {
    let cal = Calibration::default();
    let spec = ModelSpec::from_toml(
        "inputs = 4\ninput_type = \"ap_fixed<16,6>\"\n[[layers]]\ntype = \"dense\"\nunits = 3\nkernel_quantizer = \"quantized_bits(16,6)\"\nbias_quantizer = \"quantized_bits(16,6)\"\n",
        Path::new("w.toml"),
    )
    .unwrap();
    let layers = estimate::layers_from_spec(&spec).unwrap();
    let est = estimate::estimate(&layers, &cal, &Target::paper(), &EnergyOptions::default(), &BitsOptions::default()).unwrap();
    assert_eq!(est.totals.dsp, 12.0, "16x16 fits one DSP48E2 per product");
    let t4 = Target::new("xcvu9p-flga2104-2L-e", 5.0, 4, Strategy::Latency).unwrap();
    let est4 = estimate::estimate(&layers, &cal, &t4, &EnergyOptions::default(), &BitsOptions::default()).unwrap();
    assert_eq!(est4.totals.dsp, 3.0);
    assert_eq!(est4.totals.ii_cycles, 4);
    // 7-series: a 26-bit operand no longer fits the 25x18 multiplier in one tile.
    let fam = cal.family("series7").unwrap();
    assert_eq!(estimate::resources::dsps_for(26, 18, fam), 2);
    assert_eq!(estimate::resources::dsps_for(26, 18, cal.family("ultrascale_plus").unwrap()), 1);
}

#[test]
fn jet_reference_bits_match_autoqkeras_counting() {
    let spec = ModelSpec::from_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/jet_tagger.toml")).unwrap();
    let est = estimate::estimate(
        &estimate::layers_from_spec(&spec).unwrap(),
        &Calibration::default(),
        &Target::paper(),
        &EnergyOptions::default(),
        &BitsOptions::default(),
    )
    .unwrap();
    // Inputs 16 x 8; parameters 6 bits x (4256 kernels + 133 biases); ReLUs 6 x 128; softmax 8 x 5.
    assert_eq!(est.totals.size_parameter_bits, 6 * (4256 + 133));
    assert_eq!(est.totals.size_activation_bits, 16 * 8 + 6 * 128 + 8 * 5);
    assert_eq!(est.totals.multiplications, 4256);
    assert!(est.totals.utilisation.dsp_percent > 0.0 && est.totals.latency_ns == est.totals.latency_cycles as f64 * 5.0);
}

#[test]
fn unknown_part_is_an_error() {
    let e = Target::new("xc9zz999-foo", 5.0, 1, Strategy::Latency).unwrap_err().to_string();
    assert!(e.contains("unknown part") && e.contains("xcvu13p"), "{e}");
}
