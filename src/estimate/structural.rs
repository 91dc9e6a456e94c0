//! The structural estimate of qforge's own Verilog (the RTL/Yosys flow):
//! resources and latency from what the RTL generator would build for the
//! candidate, before any file is written.
//!
//! Input: a [`FixedNetwork`] (a trained model's, or for a spec before
//! training the network at its initial weights, [`network_for_spec`]) and the
//! generator's options. The generator's builder reports per module what it
//! is made of (a [`DesignCost`], from the generator's costing handed in
//! through `FlowOptions`: adders after CSD with their carry
//! bits, casts, ReLU and selection logic, pipeline registers, the softmax's
//! ROMs and multipliers, the latency); this module only maps those counts to
//! LUT, FF, DSP, BRAM18 and cycles, each Σ coefficient × feature with the
//! coefficients of `[rtl.<family>]` in the calibration file, so a refit from
//! Yosys runs can tune them. There is no second structural model here.
//!
//! Which flow an estimate is for is [`Flow`]: `hls` prices an hls4ml design
//! (`resources`), `rtl` this one.
use super::calibration::{Calibration, FamilyCoefficients};
use super::design_cost::{DesignCost, LayerCost};
use super::resources::{dsps_for, Resources};
use super::Target;
use crate::error::Result;
use crate::model::{FixedNetwork, ModelSpec, Scaler};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The design an estimate is for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    /// hls4ml's HLS C++ through Vivado/Vitis HLS (the resource model of `estimate::resources`).
    #[default]
    Hls,
    /// qforge's own Verilog through Yosys (this module's structural model).
    Rtl,
}

impl Flow {
    pub fn name(self) -> &'static str {
        match self {
            Flow::Hls => "hls",
            Flow::Rtl => "rtl",
        }
    }

    /// The calibration file's section of this flow's resource coefficients.
    pub fn calibration_section(self) -> &'static str {
        match self {
            Flow::Hls => "resources",
            Flow::Rtl => "rtl",
        }
    }

    /// The names of the features this flow's resource model is linear in.
    pub fn feature_names(self) -> &'static [&'static str] {
        match self {
            Flow::Hls => super::FEATURE_NAMES,
            Flow::Rtl => RTL_FEATURE_NAMES,
        }
    }
}

impl std::fmt::Display for Flow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Names of the structural features, in the order of [`StructuralFeatures::values`];
/// the calibration keys the coefficient of feature `f` as `per_f`.
pub const RTL_FEATURE_NAMES: &[&str] = &[
    "carry_bit",
    "adder_bit",
    "adder",
    "cast_bit",
    "relu_bit",
    "select_bit",
    "register_bit",
    "rom_bit",
    "rom",
    "dsp_tile",
    "latency_cycle",
];

/// What one module of the generated design is made of, as the coefficients see it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StructuralFeatures {
    /// Adder output bits that need carry logic (a LUT and a carry-chain bit each).
    pub carry_bit: f64,
    /// All adder output bits (those without carry logic are wires).
    pub adder_bit: f64,
    pub adder: f64,
    /// Output bits of rounding and saturation logic.
    pub cast_bit: f64,
    pub relu_bit: f64,
    /// Output bits of comparators and selection muxes (max, argmax).
    pub select_bit: f64,
    /// Flip-flops of the pipeline.
    pub register_bit: f64,
    /// Bits of the constant tables (the softmax's exp and 1/sum ROMs).
    pub rom_bit: f64,
    pub rom: f64,
    /// DSP slices the variable products need (tiles of the part's DSP multiplier).
    pub dsp_tile: f64,
    /// Register stages from input to output (the design's, counted once).
    pub latency_cycle: f64,
}

impl StructuralFeatures {
    pub fn values(&self) -> [f64; 11] {
        [
            self.carry_bit,
            self.adder_bit,
            self.adder,
            self.cast_bit,
            self.relu_bit,
            self.select_bit,
            self.register_bit,
            self.rom_bit,
            self.rom,
            self.dsp_tile,
            self.latency_cycle,
        ]
    }

    /// The features of one module as the generator counted it.
    pub fn of_module(cost: &LayerCost, dsp: &FamilyCoefficients) -> StructuralFeatures {
        StructuralFeatures {
            carry_bit: cost.carry_bits as f64,
            adder_bit: cost.adder_bits as f64,
            adder: cost.adders as f64,
            cast_bit: cost.cast_bits as f64,
            relu_bit: cost.relu_bits as f64,
            select_bit: cost.select_bits as f64,
            register_bit: cost.register_bits as f64,
            rom_bit: cost.rom_bits() as f64,
            rom: cost.roms.len() as f64,
            dsp_tile: cost.multipliers.iter().map(|m| dsps_for(m.a_bits, m.b_bits, dsp) as f64).sum(),
            latency_cycle: 0.0,
        }
    }

    fn dot(&self, coefficients: &BTreeMap<String, f64>) -> f64 {
        RTL_FEATURE_NAMES.iter().zip(self.values()).map(|(n, v)| coefficients.get(&format!("per_{n}")).copied().unwrap_or(0.0) * v).sum()
    }
}

/// One module's features and what they cost.
#[derive(Clone, Debug, Serialize)]
pub struct ModuleEstimate {
    pub module: String,
    pub features: StructuralFeatures,
    pub resources: Resources,
}

/// The structural estimate of a whole design.
#[derive(Clone, Debug, Serialize)]
pub struct StructuralEstimate {
    /// The generator's options it was built with.
    pub pipeline_every: u32,
    /// Layers, output stage, top; the design's latency is counted in the last entry.
    pub modules: Vec<ModuleEstimate>,
    pub totals: Resources,
    /// The generator's latency in cycles (exact, not a fit).
    pub design_latency_cycles: u32,
    /// What the generator counted, for the record.
    pub cost: DesignCost,
}

impl StructuralEstimate {
    /// Σ of each feature over modules, in [`RTL_FEATURE_NAMES`] order.
    pub fn feature_totals(&self) -> Vec<f64> {
        let mut sums = [0.0; 11];
        for m in &self.modules {
            for (s, v) in sums.iter_mut().zip(m.features.values()) {
                *s += v;
            }
        }
        sums.to_vec()
    }
}

/// Price on `target` the design the generator counted in `cost` (built with `pipeline_every`).
pub fn structural_estimate(cost: DesignCost, pipeline_every: u32, cal: &Calibration, target: &Target) -> Result<StructuralEstimate> {
    let key = target.part.family.key();
    let coefficients = cal.rtl_family(key)?;
    let dsp_shape = cal.family(key)?;
    let mut modules: Vec<ModuleEstimate> = cost
        .layers
        .iter()
        .map(|l| ModuleEstimate {
            module: l.module.clone(),
            features: StructuralFeatures::of_module(l, dsp_shape),
            resources: Resources::default(),
        })
        .collect();
    if let Some(last) = modules.last_mut() {
        last.features.latency_cycle = cost.latency_cycles as f64;
    }
    let mut totals = Resources::default();
    for m in &mut modules {
        let f = &m.features;
        m.resources = Resources {
            lut: f.dot(&coefficients.lut),
            ff: f.dot(&coefficients.ff),
            dsp: f.dot(&coefficients.dsp),
            bram18: f.dot(&coefficients.bram18),
            latency_cycles: f.dot(&coefficients.latency),
        };
        totals.add(&m.resources);
    }
    Ok(StructuralEstimate { pipeline_every, modules, totals, design_latency_cycles: cost.latency_cycles, cost })
}

/// The seed of the initial weights a spec is estimated with.
pub const SPEC_WEIGHTS_SEED: u64 = 1;

/// The network of `spec` at the weights training starts from (LeCun-uniform
/// kernels, seed [`SPEC_WEIGHTS_SEED`], zero biases), quantized as the spec
/// says: the design a candidate would get before training changes its
/// weights. Trained weights have more zeros and fewer CSD digits, so this
/// estimate tends to be above the trained design's.
pub fn network_for_spec(spec: &ModelSpec) -> Result<FixedNetwork> {
    let net = crate::train::qat::QatNetwork::init(spec, SPEC_WEIGHTS_SEED);
    let names = (0..spec.inputs).map(|i| format!("x{i}")).collect();
    let model = crate::train::to_model(spec, &net, Scaler::identity(spec.inputs), names, serde_json::Value::Null);
    FixedNetwork::from_model(&model)
}
