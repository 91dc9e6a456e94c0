//! Resources and latency of the generated firmware on a target part: per layer
//! a feature vector ([`LayerFeatures`]) counted from the layer's types and, when
//! known, its constant weights; then every estimate is Σ coefficient × feature
//! with the coefficients of the part's family from the calibration file.
//!
//! Which multiplications cost what (the rules, not fitted):
//! - a constant zero weight costs nothing (the HLS compiler drops the product);
//! - a power-of-two weight (odd part 1) is a shift: wiring only;
//! - otherwise the product of a b_w-bit constant (effective width: sign plus the
//!   magnitude bits of its odd part) and a b_x-bit input goes to LUTs when both
//!   widths are at most `lut_mult_max_bits` (10) or one is at most
//!   `lut_mult_small_operand_bits` (4), else to DSP slices, as many as tiles of
//!   the DSP multiplier (27x18 on DSP48E2, 25x18 on DSP48E1) cover b_w x b_x.
//!   The 10-bit rule is the behaviour hls4ml documents for Vivado HLS
//!   (Duarte et al. 2018, JINST 13 P07027: products narrower than ~10 bits are
//!   built from LUTs instead of DSPs).
//!
//! Adders: each output sums its non-zero products and bias with (terms − 1)
//! adders as wide as the accumulator (carry chains: about one LUT per bit).
//! Reuse factor R shares each multiplier R times (counts ÷ R) and sets II = R.
use super::calibration::FamilyCoefficients;
use super::{LayerInput, Strategy, Target};
use crate::model::softmax::ceil_log2;
use crate::model::Activation;
use crate::quant::Quantizer;
use serde::Serialize;
use std::collections::BTreeMap;

/// Names of the features, in the order of [`LayerFeatures::values`]; the
/// calibration file keys the coefficient of feature `f` as `per_f`.
pub const FEATURE_NAMES: &[&str] = &[
    "mult_lut",
    "lut_product_bit",
    "shift",
    "dsp_mult",
    "adder",
    "adder_bit",
    "relu_bit",
    "output_bit",
    "layer",
    "softmax",
    "softmax_table",
    "weight_storage_bit",
    "weight_block",
    "adder_level",
    "dsp_layer",
    "extra_reuse",
];

/// What one layer is made of, counted before any coefficient is applied.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LayerFeatures {
    /// Multiplications built from LUTs (after sharing by the reuse factor).
    pub mult_lut: f64,
    /// Σ b_w·b_x over the LUT multiplications.
    pub lut_product_bit: f64,
    /// Multiplications by a power of two (shifts).
    pub shift: f64,
    /// DSP slices for the wide multiplications.
    pub dsp_mult: f64,
    /// Multiplications by a constant zero (free; for the record, no coefficient expected).
    pub zero_mult: f64,
    pub adder: f64,
    /// Σ accumulator width over the adders.
    pub adder_bit: f64,
    /// Output bits of a ReLU (comparators and muxes).
    pub relu_bit: f64,
    /// Registered output bits of the layer.
    pub output_bit: f64,
    pub layer: f64,
    pub softmax: f64,
    /// Lookup tables of the softmax (exp and 1/sum: 1024×18 each, one BRAM18 each).
    pub softmax_table: f64,
    /// Weight bits held in registers (resource strategy with a small reuse factor).
    pub weight_storage_bit: f64,
    /// BRAM18 blocks for weights (resource strategy).
    pub weight_block: f64,
    /// Adder-tree depth in levels, scaled to a 5 ns clock (deeper per cycle at longer clocks).
    pub adder_level: f64,
    /// 1 when the layer uses DSPs (one more pipeline stage).
    pub dsp_layer: f64,
    /// Reuse factor − 1.
    pub extra_reuse: f64,
}

impl LayerFeatures {
    pub fn values(&self) -> [f64; 16] {
        [
            self.mult_lut,
            self.lut_product_bit,
            self.shift,
            self.dsp_mult,
            self.adder,
            self.adder_bit,
            self.relu_bit,
            self.output_bit,
            self.layer,
            self.softmax,
            self.softmax_table,
            self.weight_storage_bit,
            self.weight_block,
            self.adder_level,
            self.dsp_layer,
            self.extra_reuse,
        ]
    }

    /// Σ coefficient × feature: the one place coefficients meet features.
    pub fn dot(&self, coefficients: &BTreeMap<String, f64>) -> f64 {
        FEATURE_NAMES.iter().zip(self.values()).map(|(name, v)| coefficients.get(&format!("per_{name}")).copied().unwrap_or(0.0) * v).sum()
    }
}

/// Resources of one layer or of the whole network.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Resources {
    pub lut: f64,
    pub ff: f64,
    pub dsp: f64,
    pub bram18: f64,
    pub latency_cycles: f64,
}

impl Resources {
    pub fn from_features(f: &LayerFeatures, c: &FamilyCoefficients) -> Resources {
        Resources { lut: f.dot(&c.lut), ff: f.dot(&c.ff), dsp: f.dot(&c.dsp), bram18: f.dot(&c.bram18), latency_cycles: f.dot(&c.latency) }
    }
    pub fn add(&mut self, o: &Resources) {
        self.lut += o.lut;
        self.ff += o.ff;
        self.dsp += o.dsp;
        self.bram18 += o.bram18;
        self.latency_cycles += o.latency_cycles;
    }
}

/// Magnitude bits of the odd part of a raw constant: 0 for zero, 1 for ±2^k.
pub fn effective_bits(raw: i64) -> u32 {
    if raw == 0 {
        return 0;
    }
    let m = raw.unsigned_abs();
    let odd = m >> m.trailing_zeros();
    u64::BITS - odd.leading_zeros()
}

/// DSP slices to multiply a `bw`-bit by a `bx`-bit operand, in the better orientation.
pub fn dsps_for(bw: u32, bx: u32, c: &FamilyCoefficients) -> u32 {
    let tiles = |a: u32, b: u32| a.div_ceil(c.dsp_a_bits) * b.div_ceil(c.dsp_b_bits);
    tiles(bw, bx).min(tiles(bx, bw))
}

/// Does a `bw` × `bx` product go to LUTs?
pub fn goes_to_luts(bw: u32, bx: u32, c: &FamilyCoefficients) -> bool {
    (bw <= c.lut_mult_max_bits && bx <= c.lut_mult_max_bits) || bw.min(bx) <= c.lut_mult_small_operand_bits
}

/// Count the features of one layer. Without known weights every weight is taken
/// as non-zero and full width (power of two for po2 quantizers): an upper bound
/// usable before training.
pub fn layer_features(layer: &LayerInput, target: &Target, c: &FamilyCoefficients) -> LayerFeatures {
    let mut f = LayerFeatures { layer: 1.0, ..Default::default() };
    let bx = layer.in_type.width;
    let acc_bits = layer.accum_type.width as f64;
    let full_width = layer.weight_type.width;
    let po2 = matches!(layer.kernel_quantizer, Quantizer::QuantizedPo2 { .. });
    let mut max_terms = 0usize;
    let (mut mult_lut, mut lut_bits, mut shift, mut dsp, mut zero) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for o in 0..layer.n_out {
        let mut terms = 0usize;
        for i in 0..layer.n_in {
            // Effective width of the constant: sign plus odd-part magnitude bits.
            let bw = match &layer.weights {
                Some(w) => effective_bits(w[i * layer.n_out + o]),
                None if po2 => 1,
                None => full_width.saturating_sub(1).max(1),
            };
            match bw {
                0 => {
                    zero += 1.0;
                    continue;
                }
                1 => shift += 1.0,
                _ => {
                    let bw = bw + 1;
                    if goes_to_luts(bw, bx, c) {
                        mult_lut += 1.0;
                        lut_bits += (bw * bx) as f64;
                    } else {
                        dsp += dsps_for(bw, bx, c) as f64;
                    }
                }
            }
            terms += 1;
        }
        let has_bias = match &layer.biases {
            Some(b) => b[o] != 0,
            None => true,
        };
        terms += has_bias as usize;
        max_terms = max_terms.max(terms);
        let adders = terms.saturating_sub(1) as f64;
        f.adder += adders;
        f.adder_bit += adders * acc_bits;
    }
    let reuse = target.reuse_factor.max(1) as f64;
    f.mult_lut = (mult_lut / reuse).ceil();
    f.lut_product_bit = lut_bits / reuse;
    f.shift = shift;
    f.dsp_mult = (dsp / reuse).ceil();
    f.zero_mult = zero;
    let out_bits = (layer.n_out as u32 * layer.out_type.width) as f64;
    f.output_bit = out_bits;
    if layer.activation == Activation::Relu {
        f.relu_bit = out_bits;
    }
    if layer.activation == Activation::Softmax {
        f.softmax = 1.0;
        f.softmax_table = 2.0;
    }
    if target.strategy == Strategy::Resource {
        // hls4ml's resource strategy keeps the weights in arrays of R words,
        // (n_in·n_out / R) weights wide; Vivado puts deep ones in BRAM18 (512×36).
        let weight_bits = (layer.n_in * layer.n_out) as f64 * layer.weight_type.width as f64;
        if reuse >= 4.0 {
            let width = weight_bits / reuse;
            f.weight_block = (width / 36.0).ceil() * (reuse / 512.0).ceil();
        } else {
            f.weight_storage_bit = weight_bits;
        }
    }
    f.adder_level = ceil_log2(max_terms.max(1)) as f64 * 5.0 / target.clock_ns.max(0.1);
    f.dsp_layer = (f.dsp_mult > 0.0) as u8 as f64;
    f.extra_reuse = reuse - 1.0;
    f
}
