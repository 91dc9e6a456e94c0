//! Unit tests of the fixed-point network: hls4ml's accumulator sizing, the
//! i32 fast paths against the general path, and hand-computed layers.
use super::*;

mod tests {
    use super::*;

    #[test]
    fn accumulators_match_hls4ml_for_the_jet_model() {
        // hls4ml 1.3.0 derives <27,12>, <19,8>, <18,7>, <18,7> for the Q6 jet tagger.
        let w = FixedType::signed(6, 1);
        let relu = FixedType::unsigned(6, 0);
        assert_eq!(infer_accum_type(&FixedType::signed(16, 6), &w, &w, 16, true), FixedType::signed(27, 12));
        assert_eq!(infer_accum_type(&relu, &w, &w, 64, true), FixedType::signed(19, 8));
        assert_eq!(infer_accum_type(&relu, &w, &w, 32, true), FixedType::signed(18, 7));
        // No bias: no extra integer bit.
        assert_eq!(infer_accum_type(&relu, &w, &w, 32, false), FixedType::signed(17, 6));
    }
}

mod fast_paths {
    use super::*;
    use crate::quant::{Overflow, Rounding};
    use rand::{Rng, SeedableRng};

    /// Every fast path gives the bits of the general i128 path.
    #[test]
    fn i32_paths_equal_the_general_path() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut fast = 0;
        for trial in 0..300 {
            let in_type =
                if trial % 2 == 0 { FixedType::signed(16, 6) } else { FixedType::unsigned(rng.gen_range(3..9), rng.gen_range(0..3)) };
            let weight_type = FixedType::signed(rng.gen_range(2..10), rng.gen_range(0..3));
            let out_type = FixedType::new(rng.gen_range(3..12), rng.gen_range(0..4), rng.gen_bool(0.5))
                .with_modes(Rounding::ALL[rng.gen_range(0..7)], Overflow::ALL[rng.gen_range(0..4)]);
            let (n_in, n_out) = (rng.gen_range(1..40), rng.gen_range(1..20));
            let weights: Vec<i64> = (0..n_in * n_out).map(|_| rng.gen_range(weight_type.min_raw()..=weight_type.max_raw())).collect();
            let biases: Vec<i64> = (0..n_out).map(|_| rng.gen_range(weight_type.min_raw()..=weight_type.max_raw())).collect();
            let accum_type = infer_accum_type(&in_type, &weight_type, &weight_type, n_in, true);
            let activation = if rng.gen_bool(0.5) { Activation::Relu } else { Activation::Linear };
            let mut layer = FixedLayer {
                name: "t".into(),
                n_in,
                n_out,
                in_type,
                weight_type,
                bias_type: weight_type,
                accum_type,
                result_type: accum_type,
                out_type,
                activation,
                weights,
                biases,
                activation_fn: ActivationFn::Cast,
                alpha: None,
                kernel: Kernel::placeholder(),
            };
            layer.kernel = build_kernel(&layer);
            fast += layer.kernel.all_i32.is_some() as usize;
            let mut general = layer.clone();
            general.kernel.all_i32 = None;
            general.kernel.fits_i32 = false;
            for _ in 0..20 {
                let x: Vec<i64> =
                    (0..n_in).map(|_| if rng.gen_bool(0.3) { 0 } else { rng.gen_range(in_type.min_raw()..=in_type.max_raw()) }).collect();
                let (mut a1, mut o1, mut a2, mut o2) = (vec![0; n_out], vec![0; n_out], vec![0; n_out], vec![0; n_out]);
                layer.forward(&x, &mut a1, &mut o1);
                general.forward(&x, &mut a2, &mut o2);
                assert_eq!((a1, o1), (a2, o2), "trial {trial}: {in_type} x {weight_type} -> {accum_type} -> {out_type}");
            }
        }
        assert!(fast > 30, "only {fast} layers took the i32 path");
    }
}

mod hand_computed {
    use super::*;
    use crate::model::network::{LayerParams, Scaler, MODEL_FORMAT, MODEL_VERSION};
    use crate::model::spec::{DenseBlock, ModelSpec, TrainingSpec};

    /// 2 inputs → 2 outputs, quantized_bits(4,1) weights (step 1/4), quantized_relu(4,1).
    fn tiny() -> TrainedModel {
        let block = DenseBlock {
            name: "d".into(),
            units: 2,
            kernel_quantizer: Quantizer::bits(4, 1),
            bias_quantizer: Quantizer::bits(4, 1),
            batchnorm: false,
            activation: Activation::Relu,
            activation_quantizer: Quantizer::relu(4, 1),
            types: Default::default(),
        };
        let spec = ModelSpec {
            name: "tiny".into(),
            inputs: 2,
            input_shape: Vec::new(),
            features: Vec::new(),
            input_type: FixedType::signed(8, 3),
            classes: vec!["a".into(), "b".into()],
            blocks: vec![block],
            training: TrainingSpec::default(),
            types: Default::default(),
            softmax: Default::default(),
            hls: Default::default(),
        };
        // kernel [in][out] = [[0.5, -0.25], [1.25, 0.75]], bias [0.25, -0.5]
        let k = vec![0.5, -0.25, 1.25, 0.75];
        let b = vec![0.25, -0.5];
        TrainedModel {
            format: MODEL_FORMAT.into(),
            version: MODEL_VERSION,
            spec,
            feature_names: vec!["x0".into(), "x1".into()],
            scaler: Scaler::identity(2),
            layers: vec![LayerParams {
                name: "d".into(),
                n_in: 2,
                n_out: 2,
                kernel: k.clone(),
                bias: b.clone(),
                kernel_q: k,
                bias_q: b,
                po2_exponents: None,
            }],
            conv_layers: vec![],
            metrics: serde_json::Value::Null,
        }
    }

    #[test]
    fn dense_relu_by_hand() {
        let net = FixedNetwork::from_model(&tiny()).unwrap();
        let l = &net.layers[0];
        // Input ap_fixed<8,3> (5 fractional bits), weights ap_fixed<4,2> (2 fractional bits).
        assert_eq!(l.weight_type, FixedType::signed(4, 2));
        // Accumulator: 4+8+1 = 13 bits, 2+3+1 = 6 integer; the bias adds one integer bit.
        assert_eq!(l.accum_type, FixedType::signed(14, 7));
        assert_eq!(l.out_type.cpp(), "ap_ufixed<4,1,AP_RND_CONV,AP_SAT>");
        // x = (1.40625, -0.5): raw 45 and -16 at 5 fractional bits.
        let x = net.quantize_inputs(&[1.40625, -0.5]);
        assert_eq!(x, vec![45, -16]);
        let out = net.predict_raw(&x);
        // out0 = 1.40625*0.5 + (-0.5)*1.25 + 0.25 = 0.328125 → ReLU output with 3
        //        fractional bits: 2.625 LSB rounds to 3 (0.375).
        // out1 = 1.40625*(-0.25) + (-0.5)*0.75 - 0.5 = -1.2265625 → ReLU → 0.
        assert_eq!(out.logits, vec![3, 0]);
        // Raw accumulators at 7 fractional bits: 0.328125·128 = 42 and -157.
        let mut acc = vec![0; 2];
        let mut o = vec![0; 2];
        l.forward(&x, &mut acc, &mut o);
        assert_eq!(acc, vec![42, -157]);
        // Saturation: 7·0.5 + 3·1.25 + 0.25 = 7.5 clips to the ReLU's maximum 15/8.
        let big = net.predict_raw(&net.quantize_inputs(&[7.0, 3.0]));
        assert_eq!(big.logits[0], 15);
    }
}
