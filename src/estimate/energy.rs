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
    /// Binary (1-bit signed) weight: a mux, gate_factor 0.3, gate_bits = b_in, energy fpm_add.
    Mux,
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
/// its gate factor, gate bits and the energy of one multiplication.
pub fn multiplier(c: &EnergyCoefficients, weight: &Quantizer, weight_bits: u32, input_bits: u32) -> (MultiplierKind, f64, f64, f64) {
    let b_in = input_bits as f64;
    match *weight {
        Quantizer::QuantizedPo2 { bits, .. } => {
            // Shifter without inference_value_counts: gate_factor 1, b = sqrt(2^bits · b_in).
            let b = ((1u64 << bits) as f64 * b_in).sqrt();
            let gate_bits = b * b.log10();
            (MultiplierKind::Shifter, 1.0, gate_bits, poly(&c.fpm_add, gate_bits).max(0.0))
        }
        Quantizer::QuantizedBits { bits: 1, keep_negative: true, .. } | Quantizer::Binary { .. } | Quantizer::Ternary { .. } => {
            let g = c.mux_gate_factor;
            (MultiplierKind::Mux, g, b_in, g * poly(&c.fpm_add, b_in).max(0.0))
        }
        _ => {
            // Unquantized weights are hls4ml's ap_fixed<16,6> in the firmware: count them as such.
            let gate_bits = (b_in * weight_bits as f64).sqrt();
            (MultiplierKind::Fixed, 1.0, gate_bits, poly(&c.fpm_mul, gate_bits).max(0.0))
        }
    }
}

/// Energy of one dense layer (and its activation layer), qenergy.py `energy_estimate`.
pub fn layer_energy(c: &EnergyCoefficients, opts: &EnergyOptions, layer: &LayerInput, is_first: bool, is_last: bool) -> LayerEnergy {
    let (n_in, n_out) = (layer.n_in as f64, layer.n_out as f64);
    let inputs = memory_read_energy(c, is_first, opts.activations_on_memory, opts.rd_wr_on_io, n_in * layer.in_type.width as f64);
    let parameters = memory_read_energy(c, false, opts.weights_on_memory, opts.rd_wr_on_io, n_in * n_out * layer.weight_type.width as f64)
        + memory_read_energy(c, false, opts.weights_on_memory, opts.rd_wr_on_io, n_out * layer.bias_type.width as f64);
    let (multiplier, gate_factor, gate_bits, mul_pj) = multiplier(c, &layer.kernel_quantizer, layer.weight_type.width, layer.in_type.width);
    let add_pj = poly(&c.fpm_add, layer.accum_type.width as f64).max(0.0);
    let op_cost = n_in * n_out * (mul_pj + add_pj);
    // The activation after the dense layer is its own QActivation layer in QKeras:
    // it counts only its outputs (settings.py include_energy).
    let has_activation_layer = layer.activation != Activation::Linear;
    let outputs = if has_activation_layer {
        memory_write_energy(c, is_last, opts.activations_on_memory, opts.rd_wr_on_io, n_out * layer.out_type.width as f64)
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
        // QTools: gate factor 0.3 on an addition of the input width, whatever the weight.
        let want = c.mux_gate_factor * poly(&c.fpm_add, 16.0);
        for q in [Quantizer::Binary { use_01: false }, Quantizer::Binary { use_01: true }, Quantizer::Ternary { threshold: 0.33 }] {
            let (kind, g, bits, pj) = multiplier(&c, &q, q.fixed_type(false).unwrap().width, 16);
            assert_eq!((kind, g, bits, pj), (MultiplierKind::Mux, c.mux_gate_factor, 16.0, want), "{q:?}");
        }
        let (kind, ..) = multiplier(&c, &Quantizer::bits(2, 1), 2, 16);
        assert_eq!(kind, MultiplierKind::Fixed);
    }
}
