//! What a design qforge's Verilog generator builds is made of (adders and
//! their widths, carry-chain bits, cast/ReLU/selection logic, registers, ROMs,
//! multipliers) and its latency: the data the RTL flow's estimate prices. The
//! generator (`rtl::cost`) fills it while it writes the Verilog; it lives here,
//! upstream of `rtl`, so the estimate reads it without importing the generator
//! (the data flows one way): a [`DesignCoster`] (the generator's
//! `rtl::cost::cost_for`) is handed in through [`super::FlowOptions`].
use super::FlowOptions;
use crate::error::Result;
use crate::model::FixedNetwork;
use serde::{Deserialize, Serialize};

/// The generator's costing: the structural cost of the design it would write
/// for a network with these options (nothing written).
pub type DesignCoster = fn(&FixedNetwork, &FlowOptions) -> Result<DesignCost>;

/// Adders of one width.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdderWidth {
    pub width: u32,
    pub count: u64,
}

/// A constant table (`case` ROM).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RomCost {
    pub name: String,
    pub entries: u64,
    pub width: u32,
}

/// A variable × variable product.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultiplierCost {
    pub a_bits: u32,
    pub b_bits: u32,
}

/// What one module (a dense layer, the output stage or the top) is built of.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LayerCost {
    /// Verilog module name (`layer1_dense`, `output_stage`, the top's name).
    pub module: String,
    pub n_in: usize,
    pub n_out: usize,
    /// Two-operand adders and subtractors (constant-multiplication trees,
    /// shared sub-expressions, rounding increments, the softmax sum).
    pub adders: u64,
    /// Sum of the adders' output widths.
    pub adder_bits: u64,
    /// Output bits of adders that need carry logic (low bits that pass
    /// straight through from a shifted operand are not counted).
    pub carry_bits: u64,
    /// Adders grouped by output width, narrowest first.
    pub adder_widths: Vec<AdderWidth>,
    /// Shared sub-expressions: adders of the dense layer's sums whose result
    /// reaches more than one of its outputs (0 in the output stage and top).
    pub shared_terms: u64,
    /// Output bits of cast logic (rounding selects, saturation muxes).
    pub cast_bits: u64,
    /// Output bits of ReLU muxes.
    pub relu_bits: u64,
    /// Output bits of comparators and selection muxes (max, argmax).
    pub select_bits: u64,
    /// Flip-flops the pipeline adds inside this module.
    pub register_bits: u64,
    pub roms: Vec<RomCost>,
    pub multipliers: Vec<MultiplierCost>,
    /// Longest chain of logic levels (adders, selects) through the module.
    pub logic_depth: u32,
    /// Register stages from the design's input to this module's outputs.
    pub out_stage: u32,
}

/// What the whole design is built of: one entry per module, in data order
/// (layers, output stage, top), and the latency.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DesignCost {
    pub layers: Vec<LayerCost>,
    /// Register stages from `in_valid` to `out_valid` (a stream design:
    /// cycles from an image's last pixel).
    pub latency_cycles: u32,
    /// A stream design's cycles from one image's first pixel to the next's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_interval_cycles: Option<u64>,
    pub adders: u64,
    pub adder_bits: u64,
    pub carry_bits: u64,
    pub register_bits: u64,
    pub rom_bits: u64,
    pub multipliers: u64,
}

impl LayerCost {
    pub fn new(module: &str, n_in: usize, n_out: usize) -> Self {
        LayerCost { module: module.to_string(), n_in, n_out, ..Default::default() }
    }

    /// One adder of `width` output bits of which `carry` need carry logic.
    pub fn add_adder(&mut self, width: u32, carry: u32) {
        self.adders += 1;
        self.adder_bits += width as u64;
        self.carry_bits += carry.min(width) as u64;
        match self.adder_widths.binary_search_by_key(&width, |a| a.width) {
            Ok(i) => self.adder_widths[i].count += 1,
            Err(i) => self.adder_widths.insert(i, AdderWidth { width, count: 1 }),
        }
    }

    pub fn rom_bits(&self) -> u64 {
        self.roms.iter().map(|r| r.entries * r.width as u64).sum()
    }
}

impl DesignCost {
    /// Totals over `layers`.
    pub fn from_layers(layers: Vec<LayerCost>, latency_cycles: u32) -> Self {
        let sum = |f: fn(&LayerCost) -> u64| layers.iter().map(f).sum::<u64>();
        DesignCost {
            latency_cycles,
            adders: sum(|l| l.adders),
            adder_bits: sum(|l| l.adder_bits),
            carry_bits: sum(|l| l.carry_bits),
            register_bits: sum(|l| l.register_bits),
            rom_bits: sum(|l| l.rom_bits()),
            multipliers: sum(|l| l.multipliers.len() as u64),
            frame_interval_cycles: None,
            layers,
        }
    }
}
