//! The fixed-point types of one dense block: stated ones (an hls4ml config's
//! `Precision`, in [`LayerTypes`]) win; open ones are derived by the model's
//! [`TypesMode`]. qforge mode sizes the accumulator so it never loses a bit and
//! keeps it as the layer's result. hls4ml mode follows hls4ml 1.3's
//! `infer_precision` (`_infer_common_precision`): the accumulator formula
//! always counts the bias, the result takes the same inferred type, and when
//! the weights are not fixed point (`quantized_po2` exponents, `binary` XNOR codes) both fall back
//! to the model's default precision; an activation layer without a quantizer
//! (a Keras `relu`) gets the default precision too.
use super::network::LayerParams;
use super::softmax::ceil_log2;
use super::spec::{Activation, DenseBlock, TypesMode};
use crate::quant::{Alpha, FixedType, Quantizer};

/// hls4ml's default precision for anything without a quantizer.
pub const DEFAULT_TYPE: FixedType = FixedType::signed(16, 6);

/// Types of a dense block, in the order the data meets them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockTypes {
    pub weight: FixedType,
    pub bias: FixedType,
    pub accum: FixedType,
    /// The dense layer's result, before its activation.
    pub result: FixedType,
    /// After the activation (the result itself when there is none).
    pub out: FixedType,
}

/// hls4ml's accumulator type for a dense layer (infer_precision.py).
pub fn infer_accum_type(input: &FixedType, weight: &FixedType, bias: &FixedType, n_in: usize, has_bias: bool) -> FixedType {
    let log_ops = ceil_log2(n_in) as i32;
    let mut width = weight.width as i32 + input.width as i32 + log_ops;
    let mut integer = weight.integer + input.integer + log_ops;
    let mut signed = weight.signed || input.signed;
    let frac = width - integer;
    if has_bias {
        integer = (integer + (bias.signed && !signed) as i32).max(bias.integer + (signed && !bias.signed) as i32) + 1;
        width = integer + frac.max(bias.width as i32 - bias.integer);
        signed = signed || bias.signed;
    }
    FixedType::new(width as u32, integer, signed)
}

fn quantizer_type(q: &Quantizer, as_activation: bool) -> FixedType {
    q.fixed_type(as_activation).unwrap_or(DEFAULT_TYPE)
}

/// The weight type a block's quantizer gives (before any stated type).
fn quantizer_weight_type(block: &DenseBlock, params: &LayerParams) -> FixedType {
    match (&block.kernel_quantizer, &params.po2_exponents) {
        (Quantizer::QuantizedBits { bits, alpha: Alpha::AutoPo2, .. }, Some(exps)) => {
            let lo = *exps.iter().min().unwrap_or(&0);
            let hi = *exps.iter().max().unwrap_or(&0);
            // w = z · 2^e with |z| < 2^(bits-1): sign + (bits-1) + spread of exponents.
            let integer = hi + *bits as i32;
            FixedType::signed((integer - lo) as u32, integer)
        }
        (q, _) => quantizer_type(q, false),
    }
}

/// Derive a block's types from its input type, quantizers, stated types and the mode.
pub fn block_types(block: &DenseBlock, params: &LayerParams, in_type: FixedType, mode: TypesMode) -> BlockTypes {
    let hls4ml = mode == TypesMode::Hls4ml;
    let stated = &block.types;
    let weight = stated.weight.unwrap_or_else(|| quantizer_weight_type(block, params));
    let bias = stated.bias.unwrap_or_else(|| quantizer_type(&block.bias_quantizer, false));
    // hls4ml infers only from fixed-point and integer weights; po2 weights are
    // exponents to it, binary ones 1-bit XNOR codes (ternary ones are ap_int<2>).
    let exponent_weights =
        stated.weight.is_none() && matches!(block.kernel_quantizer, Quantizer::QuantizedPo2 { .. } | Quantizer::Binary { .. });
    let has_bias = hls4ml || params.bias_q.iter().any(|&b| bias.from_f64(b as f64) != 0);
    let inferred =
        if hls4ml && exponent_weights { DEFAULT_TYPE } else { infer_accum_type(&in_type, &weight, &bias, params.n_in, has_bias) };
    let accum = stated.accum.unwrap_or(inferred);
    let result = stated.result.unwrap_or(if hls4ml { inferred } else { accum });
    let has_activation_layer = block.activation == Activation::Relu || !block.activation_quantizer.is_float();
    let out = match (&block.activation_quantizer, stated.activation_result) {
        (_, Some(t)) if has_activation_layer => t,
        (Quantizer::Float, _) if hls4ml && block.activation == Activation::Relu => DEFAULT_TYPE,
        (Quantizer::Float, _) => result,
        (q, _) => quantizer_type(q, true),
    };
    BlockTypes { weight, bias, accum, result, out }
}

/// Whether every value of `from` is a value of `to` (a cast that changes nothing).
pub fn holds_exactly(to: &FixedType, from: &FixedType) -> bool {
    let u = from.union(to);
    u.width == to.width && u.integer == to.integer && u.signed == to.signed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::spec::LayerTypes;

    fn block(kernel: Quantizer, activation: Activation, activation_quantizer: Quantizer) -> (DenseBlock, LayerParams) {
        let b = DenseBlock {
            name: "d".into(),
            units: 2,
            kernel_quantizer: kernel,
            bias_quantizer: Quantizer::bits(6, 0),
            batchnorm: false,
            activation,
            activation_quantizer,
            types: LayerTypes::default(),
        };
        let p = LayerParams {
            name: "d".into(),
            n_in: 8,
            n_out: 2,
            kernel: vec![0.0; 16],
            bias: vec![0.0; 2],
            kernel_q: vec![0.0; 16],
            bias_q: vec![0.0; 2],
            po2_exponents: None,
        };
        (b, p)
    }

    #[test]
    fn hls4ml_mode_counts_the_bias_and_falls_back_for_po2() {
        let input = FixedType::signed(16, 6);
        let (b, p) = block(Quantizer::bits(6, 0), Activation::Relu, Quantizer::relu(6, 0));
        // hls4ml 1.3.0 gives fc1 of the q_bits fixture result ap_fixed<26,11> (zero biases included).
        let t = block_types(&b, &p, input, TypesMode::Hls4ml);
        assert_eq!((t.accum, t.result), (FixedType::signed(26, 11), FixedType::signed(26, 11)));
        // qforge drops the bias bit when every bias is zero.
        assert_eq!(block_types(&b, &p, input, TypesMode::Qforge).accum, FixedType::signed(25, 10));
        let (b, p) = block(Quantizer::QuantizedPo2 { bits: 4, max_value: None }, Activation::Relu, Quantizer::Float);
        let t = block_types(&b, &p, input, TypesMode::Hls4ml);
        assert_eq!((t.accum, t.result, t.out), (DEFAULT_TYPE, DEFAULT_TYPE, DEFAULT_TYPE));
        let q = block_types(&b, &p, input, TypesMode::Qforge);
        assert!(q.accum.width > 16 && q.out == q.accum);
    }

    #[test]
    fn binary_weights_fall_back_in_hls4ml_mode_ternary_ones_are_ap_int2() {
        let input = FixedType::signed(16, 6);
        // hls4ml: binary is an XnorPrecisionType, not Integer/Fixed, so infer_precision gives the default.
        let (b, p) = block(Quantizer::Binary { use_01: false }, Activation::Relu, Quantizer::relu(6, 0));
        let t = block_types(&b, &p, input, TypesMode::Hls4ml);
        assert_eq!((t.weight, t.accum, t.result), (FixedType::signed(2, 2), DEFAULT_TYPE, DEFAULT_TYPE));
        // qforge: ±1 in ap_fixed<2,2>, 8 inputs: 2 + 16 + 3 bits, 2 + 6 + 3 integer, no bias.
        assert_eq!(block_types(&b, &p, input, TypesMode::Qforge).accum, FixedType::signed(21, 11));
        // Ternary is ap_int<2> (IntegerPrecisionType): the formula with width 2, integer 2, plus the bias.
        let (b, p) = block(Quantizer::Ternary { threshold: 0.33 }, Activation::Relu, Quantizer::relu(6, 0));
        let t = block_types(&b, &p, input, TypesMode::Hls4ml);
        assert_eq!(t.weight.cpp(), "ap_fixed<2,2>");
        // 21 bits, 11 integer; bias ap_fixed<6,1>: integer max(11, 1) + 1 = 12, fraction max(10, 5).
        assert_eq!((t.accum, t.result), (FixedType::signed(22, 12), FixedType::signed(22, 12)));
    }

    #[test]
    fn stated_types_win() {
        let (mut b, p) = block(Quantizer::bits(6, 0), Activation::Relu, Quantizer::relu(6, 0));
        b.types.accum = Some(DEFAULT_TYPE);
        b.types.activation_result = Some(FixedType::unsigned(7, 1));
        let t = block_types(&b, &p, FixedType::signed(16, 6), TypesMode::Hls4ml);
        assert_eq!((t.accum, t.result, t.out), (DEFAULT_TYPE, FixedType::signed(26, 11), FixedType::unsigned(7, 1)));
        assert!(holds_exactly(&t.result, &t.accum) && !holds_exactly(&t.accum, &t.result));
    }
}
