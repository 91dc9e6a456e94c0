//! The generator's structural cost: what each module of the design is made
//! of (adders and their widths, carry-chain bits, cast/ReLU/selection logic,
//! registers, ROMs, multipliers) and its latency. The builder records it
//! while it writes the Verilog, so the figures are those of the design that
//! is built, not a re-derivation; `design_cost` runs that builder and keeps
//! only the cost (no files written).
//!
//! Input: a `FixedNetwork` and `RtlOptions`. Output: [`DesignCost`], read by
//! the flow-aware estimate (`estimate`) and written into the design manifest.
use super::RtlOptions;
use crate::error::Result;
use crate::model::FixedNetwork;
use serde::{Deserialize, Serialize};

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
    /// Shared sub-expressions (adders whose result feeds more than one output).
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
    /// Register stages from `in_valid` to `out_valid`.
    pub latency_cycles: u32,
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
            layers,
        }
    }
}

/// The structural cost of the design `opts` would write for `net`: the
/// builder runs in memory, nothing is written.
pub fn design_cost(net: &FixedNetwork, opts: &RtlOptions) -> Result<DesignCost> {
    Ok(super::verilog::build_design(net, opts)?.cost)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Activation, RawLayer};
    use crate::quant::FixedType;

    fn net(weights: Vec<i64>, n_in: usize, n_out: usize, activation: Activation) -> FixedNetwork {
        let t = FixedType::signed(6, 1);
        let layer = RawLayer {
            name: "dense".into(),
            n_in,
            n_out,
            weight_type: t,
            bias_type: t,
            accum_type: None,
            out_type: (activation == Activation::Relu).then(|| FixedType::unsigned(6, 0)),
            activation,
            weights,
            biases: vec![0; n_out],
        };
        FixedNetwork::from_raw_layers(FixedType::signed(8, 3), vec![layer]).unwrap()
    }

    /// Adders and subtractors written into a module's Verilog text.
    fn written_adders(text: &str) -> u64 {
        text.lines().filter(|l| l.contains(" = ") && (l.contains(" + ") || l.contains(" - ") || l.contains("= -"))).count() as u64
    }

    #[test]
    fn counts_the_adders_the_verilog_contains() {
        // 3 = 4 - 1 and 5 = 4 + 1: four digits in one tree, three adders.
        let n = net(vec![3, 5], 2, 1, Activation::Linear);
        let cost = design_cost(&n, &RtlOptions::default()).unwrap();
        assert_eq!(cost.layers[0].adders, 3);
        assert_eq!(cost.layers[0].module, "layer1_dense");
        assert_eq!((cost.layers[0].n_in, cost.layers[0].n_out), (2, 1));
        assert_eq!(cost.register_bits, 0);
        assert_eq!(cost.latency_cycles, 0);

        let weights: Vec<i64> = (0..48).map(|k| ((k * 7) % 31) as i64 - 15).collect();
        let n = net(weights, 8, 6, Activation::Relu);
        let design = super::super::verilog::build_design(&n, &RtlOptions::default()).unwrap();
        let text = &design.files.iter().find(|(f, _)| f == "layer1_dense.v").unwrap().1;
        assert_eq!(design.cost.layers[0].adders, written_adders(text));
        assert!(design.cost.layers[0].relu_bits > 0);
        assert!(design.cost.layers[0].carry_bits <= design.cost.layers[0].adder_bits);
        let by_width: u64 = design.cost.layers[0].adder_widths.iter().map(|a| a.count).sum();
        assert_eq!(by_width, design.cost.layers[0].adders);
        assert_eq!(design_cost(&n, &RtlOptions::default()).unwrap(), design.cost);
    }

    #[test]
    fn pipelining_adds_registers_and_latency() {
        let weights: Vec<i64> = (0..48).map(|k| ((k * 11) % 29) as i64 - 14).collect();
        let n = net(weights, 8, 6, Activation::Relu);
        let flat = design_cost(&n, &RtlOptions::default()).unwrap();
        let piped = design_cost(&n, &RtlOptions { pipeline_every: 1, ..Default::default() }).unwrap();
        assert!(piped.latency_cycles > 0);
        assert!(piped.register_bits > flat.register_bits);
        assert_eq!(piped.register_bits, piped.layers.iter().map(|l| l.register_bits).sum::<u64>());
        assert_eq!(piped.layers.last().unwrap().out_stage, piped.latency_cycles);
    }
}
