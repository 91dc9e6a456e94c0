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
use crate::estimate::FlowOptions;
use crate::model::FixedNetwork;

pub use crate::estimate::design_cost::{AdderWidth, DesignCost, LayerCost, MultiplierCost, RomCost};

/// The structural cost of the design `opts` would write for `net`: the
/// builder runs in memory, nothing is written (the stream design's with `opts.stream`).
pub fn design_cost(net: &FixedNetwork, opts: &RtlOptions) -> Result<DesignCost> {
    let design = if opts.stream { super::stream_top::build_stream_design(net, opts)? } else { super::verilog::build_design(net, opts)? };
    Ok(design.cost)
}

/// [`design_cost`] for the design the RTL flow of `flow` describes: the
/// [`crate::estimate::DesignCoster`] the estimate is given.
pub fn cost_for(net: &FixedNetwork, flow: &FlowOptions) -> Result<DesignCost> {
    design_cost(
        net,
        &RtlOptions {
            pipeline_every: flow.pipeline_every,
            pipeline_ns: flow.pipeline_ns,
            cmvm: flow.cmvm,
            stream: flow.io_stream,
            ..RtlOptions::default()
        },
    )
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
    fn a_pair_two_outputs_share_is_built_once() {
        // Output 0 has weights (3, 5), output 1 (6, 10): the same digits one bit up.
        // 3 = 4 - 1 and 5 = 4 + 1 pair as (x0<<2 - x0) and (x1<<2 + x1), then their sum:
        // output 1's tree is output 0's shifted, so three adders serve both outputs.
        let n = net(vec![3, 6, 5, 10], 2, 2, Activation::Linear);
        let design = super::super::verilog::build_design(&n, &RtlOptions::default()).unwrap();
        let text = &design.files.iter().find(|(f, _)| f == "layer1_dense.v").unwrap().1;
        assert_eq!(design.cost.layers[0].adders, 3);
        assert_eq!(written_adders(text), 3);
        // Without the shared factor of two nothing is shared: 3 + 5 is not 5 + 3 one bit up.
        let n = net(vec![3, 5, 5, 3], 2, 2, Activation::Linear);
        assert_eq!(design_cost(&n, &RtlOptions::default()).unwrap().layers[0].adders, 6);
    }

    /// Adders written into a module's text whose wire reaches more than one
    /// output port `yN`, read back from the Verilog alone (wires, registers, assigns).
    fn written_shared_adders(text: &str) -> u64 {
        use std::collections::{HashMap, HashSet};
        let ident = |s: &str| -> Vec<String> {
            s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '\''))
                .filter(|t| t.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'))
                .map(str::to_string)
                .collect()
        };
        let mut deps: HashMap<String, Vec<String>> = HashMap::new();
        let mut adders = Vec::new();
        for line in text.lines().map(str::trim) {
            let (lhs, rhs) = if let Some(rest) = line.strip_prefix("assign ") {
                rest.split_once(" = ").unwrap()
            } else if line.starts_with("wire ") && line.contains(" = ") {
                let (decl, rhs) = line.split_once(" = ").unwrap();
                (decl.rsplit(' ').next().unwrap(), rhs)
            } else if let Some((lhs, rhs)) = line.split_once(" <= ") {
                (lhs, rhs)
            } else {
                continue;
            };
            if line.starts_with("wire ") && (rhs.contains(" + ") || rhs.contains(" - ") || rhs.starts_with('-')) {
                adders.push(lhs.to_string());
            }
            deps.insert(lhs.to_string(), ident(rhs.trim_end_matches(';')));
        }
        let mut reached: HashMap<String, HashSet<String>> = HashMap::new();
        for port in deps.keys().filter(|k| k.starts_with('y') && k[1..].parse::<u32>().is_ok()) {
            let mut stack = vec![port.clone()];
            let mut seen = HashSet::new();
            while let Some(n) = stack.pop() {
                if seen.insert(n.clone()) {
                    stack.extend(deps.get(&n).into_iter().flatten().cloned());
                }
            }
            for n in seen {
                reached.entry(n).or_default().insert(port.clone());
            }
        }
        adders.iter().filter(|a| reached.get(*a).is_some_and(|p| p.len() > 1)).count() as u64
    }

    #[test]
    fn shared_terms_count_adders_that_reach_several_outputs() {
        // (3, 5) and (6, 10): all three adders of output 0's tree serve output 1.
        let n = net(vec![3, 6, 5, 10], 2, 2, Activation::Linear);
        assert_eq!(design_cost(&n, &RtlOptions::default()).unwrap().layers[0].shared_terms, 3);
        // (3, 5) and (5, 3): six adders, none shared.
        let n = net(vec![3, 5, 5, 3], 2, 2, Activation::Linear);
        assert_eq!(design_cost(&n, &RtlOptions::default()).unwrap().layers[0].shared_terms, 0);
        // One output alone shares nothing, however many adders it has.
        let n = net(vec![3, 5, 7], 3, 1, Activation::Relu);
        let cost = design_cost(&n, &RtlOptions::default()).unwrap();
        assert!(cost.layers[0].adders >= 4);
        assert_eq!(cost.layers[0].shared_terms, 0);
        // Larger layers, both generators, pipelined or not: the count is the one
        // read back from the written Verilog, and --cmvm shares more.
        let weights: Vec<i64> = (0..96).map(|k| ((k * 13) % 27) as i64 - 13).collect();
        let n = net(weights, 12, 8, Activation::Relu);
        let mut by_mode = Vec::new();
        for cmvm in [false, true] {
            for pipeline_every in [0, 2] {
                let opts = RtlOptions { cmvm, pipeline_every, ..Default::default() };
                let design = super::super::verilog::build_design(&n, &opts).unwrap();
                let text = &design.files.iter().find(|(f, _)| f == "layer1_dense.v").unwrap().1;
                let layer = &design.cost.layers[0];
                assert_eq!(layer.shared_terms, written_shared_adders(text), "cmvm {cmvm}, every {pipeline_every}");
                assert!(layer.shared_terms <= layer.adders);
                by_mode.push(layer.shared_terms);
            }
        }
        assert!(by_mode[2] > by_mode[0], "cmvm shares more adders: {by_mode:?}");
        assert_eq!((by_mode[0], by_mode[2]), (by_mode[1], by_mode[3]), "registers do not change what is shared");
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
