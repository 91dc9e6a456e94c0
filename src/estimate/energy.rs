//! QTools-style inference energy (pJ), reproducing QKeras' qtools:
//! `qenergy/qenergy.py` (per-layer inputs/parameters/outputs/op_cost and the
//! memory-read/write formulas), `quantized_operators/multiplier_impl.py` (which
//! hardware a multiplication becomes and its gate bits) and `settings.py`
//! (which terms count per layer type). Coefficients come from the calibration
//! file (default: process "horowitz", 45 nm). Input: the per-layer types of
//! [`super::LayerInput`]; output: [`LayerEnergy`] per layer.
use super::calibration::{poly, EnergyCoefficients};
use super::LayerInput;
use crate::model::Activation;
use crate::quant::Quantizer;
use serde::{Deserialize, Serialize};

/// Where weights or activations live (qtools' `weights_on_memory` / `activations_on_memory`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MemoryMode {
    /// Hard-wired in the fabric (the FPGA case of the paper): no memory energy.
    #[default]
    Fixed,
    Sram,
    Dram,
}

/// How QTools implements one multiplication (multiplier_impl.py).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MultiplierKind {
    /// Fixed-point multiplier: gate_factor 1, gate_bits = sqrt(b_in · b_w), energy fpm_mul.
    Fixed,
    /// Power-of-two weight: a shifter, gate_bits = b·log10(b) with b = sqrt(2^bits_po2 · b_in), energy fpm_add.
    Shifter,
    /// Binary (±1) or ternary weight: a mux, gate_factor 0.3 (ternary 0.6), gate_bits = b_in, energy fpm_add.
    Mux,
    /// Binary weight with use_01 (0 or 1): an and gate, gate_factor 0.1, gate_bits = b_in, energy fpm_add.
    And,
    /// No multiplication by a weight (pooling, flatten).
    None,
}

/// Energy of one layer (dense or image) and of the activation layer after it, as qtools reports them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerEnergy {
    pub multiplier: MultiplierKind,
    pub gate_bits: f64,
    pub gate_factor: f64,
    /// Energy of one multiplication and of one accumulation (pJ).
    pub mul_pj: f64,
    pub add_pj: f64,
    pub inputs: f64,
    pub parameters: f64,
    pub op_cost: f64,
    /// Written outputs of the activation layer (QActivation counts only "outputs").
    pub outputs: f64,
    /// Σ of the terms qtools includes by default: dense inputs + parameters + op_cost, activation outputs.
    pub total: f64,
}

/// Energy settings besides the coefficients (qtools' `energy_estimate` arguments).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnergyOptions {
    pub weights_on_memory: MemoryMode,
    pub activations_on_memory: MemoryMode,
    /// Inputs come from DRAM and outputs go there (`rd_wr_on_io`).
    pub rd_wr_on_io: bool,
}

impl Default for EnergyOptions {
    fn default() -> Self {
        EnergyOptions { weights_on_memory: MemoryMode::Fixed, activations_on_memory: MemoryMode::Fixed, rd_wr_on_io: false }
    }
}

/// qenergy.py `memory_read_energy`: bring `total_bits` in from memory.
pub fn memory_read_energy(c: &EnergyCoefficients, is_input_layer: bool, mode: MemoryMode, rd_wr_on_io: bool, total_bits: f64) -> f64 {
    memory_energy(c, is_input_layer, mode, rd_wr_on_io, total_bits)
}

/// qenergy.py `memory_write_energy`: write `total_bits` out to memory.
pub fn memory_write_energy(c: &EnergyCoefficients, is_output_layer: bool, mode: MemoryMode, rd_wr_on_io: bool, total_bits: f64) -> f64 {
    memory_energy(c, is_output_layer, mode, rd_wr_on_io, total_bits)
}

/// Both directions cost the same in QTools' model; a layer at the network's
/// edge (`at_io`) talks to DRAM or SRAM whatever the memory mode.
fn memory_energy(c: &EnergyCoefficients, at_io: bool, mut mode: MemoryMode, rd_wr_on_io: bool, total_bits: f64) -> f64 {
    if at_io {
        mode = if rd_wr_on_io { MemoryMode::Dram } else { MemoryMode::Sram };
    }
    let bits_log2 = total_bits.max(c.min_sram_size).log2();
    let sram = (total_bits * c.sram_mul_factor).ceil() * poly(&c.sram_rd, bits_log2).max(0.0);
    match mode {
        MemoryMode::Fixed => 0.0,
        MemoryMode::Sram => sram,
        MemoryMode::Dram => poly(&c.dram_rd, total_bits).max(0.0) + if rd_wr_on_io { sram } else { 0.0 },
    }
}

/// The multiplier qtools picks for `weight` times an input of `input_bits`, with
/// its gate factor, gate bits and the energy of one multiplication
/// (multiplier_factory.py's table for a fixed-point input).
pub fn multiplier(c: &EnergyCoefficients, weight: &Quantizer, weight_bits: u32, input_bits: u32) -> (MultiplierKind, f64, f64, f64) {
    let b_in = input_bits as f64;
    match *weight {
        Quantizer::QuantizedPo2 { bits, .. } => {
            // Shifter without inference_value_counts (AutoQKeras' default,
            // trained_model=False): gate_factor 1, b = sqrt(2^bits · b_in).
            let b = ((1u64 << bits) as f64 * b_in).sqrt();
            let gate_bits = b * b.log10();
            (MultiplierKind::Shifter, 1.0, gate_bits, poly(&c.fpm_add, gate_bits).max(0.0))
        }
        Quantizer::Binary { use_01: true } => {
            (MultiplierKind::And, AND_GATE_FACTOR, b_in, AND_GATE_FACTOR * poly(&c.fpm_add, b_in).max(0.0))
        }
        Quantizer::Binary { use_01: false } | Quantizer::Ternary { .. } => {
            let g = if matches!(weight, Quantizer::Ternary { .. }) { 2.0 * c.mux_gate_factor } else { c.mux_gate_factor };
            (MultiplierKind::Mux, g, b_in, g * poly(&c.fpm_add, b_in).max(0.0))
        }
        _ => {
            // Unquantized weights are hls4ml's ap_fixed<16,6> in the firmware: count them as such.
            let gate_bits = (b_in * weight_bits as f64).sqrt();
            (MultiplierKind::Fixed, 1.0, gate_bits, poly(&c.fpm_mul, gate_bits).max(0.0))
        }
    }
}

/// The bits QTools writes per output of an activation layer: an unquantized
/// Keras activation (the softmax, a float relu) is typed by `keras_quantizer`,
/// which AutoQKeras sets to its `reference_internal` default "fp32".
pub fn activation_output_bits(activation: &Quantizer, out_type: &crate::quant::FixedType) -> u32 {
    if activation.is_float() {
        32
    } else {
        out_type.width
    }
}

/// multiplier_impl.py's AndGate gate factor (binary(0,1) weights).
const AND_GATE_FACTOR: f64 = 0.1;

/// The width qtools prices each accumulation at (accumulator_impl.py): the
/// multiplier's output bits plus ceil(log2(fan-in + 1 bias)). Its own rule,
/// not hls4ml's accumulator (which adds a sign bit for an unsigned input and
/// counts the fan-in without the bias), so the two differ by a bit or two.
/// None for an unquantized kernel, which qforge prices at its accumulator type.
pub fn qtools_accumulator_bits(
    weight: &Quantizer,
    weight_bits: u32,
    input: &crate::quant::FixedType,
    fan_in: usize,
    use_bias: bool,
) -> Option<u32> {
    let add_ops = fan_in + usize::from(use_bias);
    let log_add_ops = (add_ops.max(1) as f64).log2().ceil() as u32;
    let unsigned_input = u32::from(!input.signed);
    let product_bits = match *weight {
        _ if weight.is_float() => return None,
        Quantizer::QuantizedPo2 { bits, max_value } => {
            // Shifter: the input shifted across the po2 exponent range (get_exp), a
            // sign bit more for an unsigned input (quantized_po2 is signed).
            let non_sign_bits = bits.saturating_sub(1).max(1);
            let min_exp = 1u32 << (non_sign_bits - 1);
            let max_exp_orig = (1i64 << (non_sign_bits - 1)) - 1;
            let max_exp = match max_value {
                Some(v) if v <= 0.0 => 0,
                Some(v) => (v.log2().ceil() as i64).min(max_exp_orig),
                None => max_exp_orig,
            }
            .max(0) as u32;
            input.width + max_exp + min_exp + unsigned_input
        }
        // Mux: the input, a sign bit more for an unsigned input and a signed weight.
        Quantizer::Binary { use_01: false } | Quantizer::Ternary { .. } => input.width + unsigned_input,
        // And gate: max(input bits, 1).
        Quantizer::Binary { use_01: true } => input.width,
        _ => input.width + weight_bits,
    };
    Some(product_bits + log_add_ops)
}

/// Energy of one dense layer (and its activation layer), qenergy.py `energy_estimate`.
pub fn layer_energy(c: &EnergyCoefficients, opts: &EnergyOptions, layer: &LayerInput, is_first: bool, is_last: bool) -> LayerEnergy {
    let (n_in, n_out) = (layer.n_in as f64, layer.n_out as f64);
    let inputs = memory_read_energy(c, is_first, opts.activations_on_memory, opts.rd_wr_on_io, n_in * layer.in_type.width as f64);
    let parameters = memory_read_energy(c, false, opts.weights_on_memory, opts.rd_wr_on_io, n_in * n_out * layer.weight_type.width as f64)
        + memory_read_energy(c, false, opts.weights_on_memory, opts.rd_wr_on_io, n_out * layer.bias_type.width as f64);
    let (multiplier, gate_factor, gate_bits, mul_pj) = multiplier(c, &layer.kernel_quantizer, layer.weight_type.width, layer.in_type.width);
    // qforge's dense layers always carry a bias.
    let add_bits = qtools_accumulator_bits(&layer.kernel_quantizer, layer.weight_type.width, &layer.in_type, layer.n_in, true);
    let add_pj = poly(&c.fpm_add, add_bits.unwrap_or(layer.accum_type.width) as f64).max(0.0);
    let op_cost = n_in * n_out * (mul_pj + add_pj);
    // The activation after the dense layer is its own QActivation layer in QKeras:
    // it counts only its outputs (settings.py include_energy).
    let has_activation_layer = layer.activation != Activation::Linear;
    let outputs = if has_activation_layer {
        let bits = activation_output_bits(&layer.activation_quantizer, &layer.out_type);
        memory_write_energy(c, is_last, opts.activations_on_memory, opts.rd_wr_on_io, n_out * bits as f64)
    } else {
        0.0
    };
    LayerEnergy {
        multiplier,
        gate_bits,
        gate_factor,
        mul_pj,
        add_pj,
        inputs,
        parameters,
        op_cost,
        outputs,
        total: inputs + parameters + op_cost + outputs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::calibration::Calibration;

    #[test]
    fn binary_and_ternary_weights_are_muxes() {
        let c = Calibration::default().energy;
        // QTools: an addition of the input width times the gate factor: 0.3 for
        // a ±1 weight (mux), 0.6 for ternary (mux), 0.1 for 0/1 (and gate).
        let add = poly(&c.fpm_add, 16.0);
        for (q, kind, g) in [
            (Quantizer::Binary { use_01: false }, MultiplierKind::Mux, c.mux_gate_factor),
            (Quantizer::Ternary { threshold: 0.33 }, MultiplierKind::Mux, 2.0 * c.mux_gate_factor),
            (Quantizer::Binary { use_01: true }, MultiplierKind::And, AND_GATE_FACTOR),
        ] {
            let got = multiplier(&c, &q, q.fixed_type(false).unwrap().width, 16);
            assert_eq!(got, (kind, g, 16.0, g * add), "{q:?}");
        }
        let (kind, ..) = multiplier(&c, &Quantizer::bits(2, 1), 2, 16);
        assert_eq!(kind, MultiplierKind::Fixed);
    }
}
