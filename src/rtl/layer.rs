//! One dense layer as one Verilog module (`layerN_dense`, wires `lN_*`):
//! per output a shift-add tree over the CSD digits of its non-zero weights
//! and the bias, wrapped to the accumulator (a saturating one that may
//! saturate: `saturate`'s chain, in hls4ml's order), then the result cast, ApplyAlpha,
//! ReLU and the activation into the output type (`activation`), exactly
//! `FixedLayer::forward`.
//!
//! Input: a `FixedLayer` and the value intervals of its inputs. Output: the
//! module text and the output intervals for the next layer.
use super::activation::{activation_out, apply_alpha};
use super::adder_tree::{add_pair, sum_by_arrival, sum_tree, Source, Term, TreeStats};
use super::cast::{cast, relu};
use super::cmvm::CmvmGraph;
use super::cost::LayerCost;
use super::csd::csd_digits;
use super::netlist::{ModuleBuilder, Schedule, SigId};
use super::products::round_products;
use super::saturate::{saturating_sums, SatSums};
use crate::error::Result;
use crate::model::layer_types::holds_exactly;
use crate::model::{Activation, FixedLayer};
use crate::quant::{Overflow, Rounding};
use serde::{Deserialize, Serialize};

/// An interval-typed port between modules.
#[derive(Clone, Debug)]
pub struct PortSpec {
    pub lo: i128,
    pub hi: i128,
    pub stage: u32,
    /// Picoseconds into `stage` at which it settles (the delay schedule).
    pub arrival: u32,
}

/// What a layer's module costs and where it ends.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LayerSummary {
    pub module: String,
    pub instance: String,
    pub n_in: usize,
    pub n_out: usize,
    pub nonzero_weights: usize,
    pub csd_digits: usize,
    pub adders: u64,
    pub adder_bits: u64,
    pub tree_depth: u32,
    /// Logic levels this layer spans (tree + activation).
    pub first_level: u32,
    pub last_level: u32,
    pub register_bits: u64,
    /// By delay: the latest a signal settles in its stage (ps, under the model).
    #[serde(default)]
    pub critical_ps: u32,
}

pub struct BuiltLayer {
    pub verilog: String,
    pub outputs: Vec<PortSpec>,
    pub summary: LayerSummary,
    pub cost: LayerCost,
}

/// Build layer `index` (1-based) whose inputs arrive after logic level `start_level`.
/// With `cmvm`, the sums share sub-expressions across outputs (`cmvm`) and
/// each output's tree is balanced by arrival; otherwise one balanced tree per
/// output over its CSD digits.
pub fn build_layer(
    layer: &FixedLayer,
    index: usize,
    inputs: &[PortSpec],
    start_level: u32,
    schedule: Schedule,
    cmvm: bool,
) -> Result<BuiltLayer> {
    let acc = &layer.accum_type;
    let acc_frac = acc.frac();
    let prod_frac = layer.in_type.frac() + layer.weight_type.frac();
    // Products with more fractional bits than the accumulator are rounded one by one (`products`).
    let product_shift = (acc_frac - prod_frac).max(0) as u32;
    let drop = (prod_frac - acc_frac).max(0) as u32;
    let module = format!("layer{index}_dense");
    let prefix = format!("l{index}_");
    let mut m = ModuleBuilder::new(&module, &prefix, schedule);
    let xs: Vec<_> = inputs.iter().enumerate().map(|(i, p)| m.input(&format!("x{i}"), p.lo, p.hi, p.stage, p.arrival)).collect();
    let biases: Vec<i128> = layer.biases.iter().map(|&b| acc.cast_raw(b, layer.bias_type.frac()) as i128).collect();
    let (sums, stats) = if may_saturate(layer, inputs, &biases, product_shift, drop) {
        saturating_sums(&mut m, &SatSums::dense(layer), &xs, &biases, start_level)
    } else {
        let (matrix, extra, product_stats) = if drop > 0 {
            let r = round_products(&mut m, "", &xs, &layer.weights, layer.n_out, drop, acc.rounding, start_level);
            (r.high, r.extra, r.stats)
        } else {
            (layer.weights.clone(), vec![Vec::new(); layer.n_out], TreeStats::default())
        };
        let mvm = Mvm { weights: &matrix, n_out: layer.n_out, cap: sum_bits(layer), name: "" };
        let (sums, mut stats, _, _) = mvm.sums(&mut m, &xs, product_shift, (&biases, &extra), start_level, cmvm);
        stats.adders += product_stats.adders;
        stats.adder_bits += product_stats.adder_bits;
        (sums, stats)
    };
    let nonzero = layer.weights.iter().filter(|&&w| w != 0).count();
    let digits = layer.weights.iter().map(|&w| csd_digits(w).len()).sum();
    m.cost.shared_terms = m.shared_adders(&sums);
    // The activation takes the level after the deepest tree (at least one level).
    let act_level = start_level + stats.depth + 1;
    let res_frac = layer.result_type.frac();
    let result_exact = holds_exactly(&layer.result_type, acc);
    let mut ys = Vec::new();
    for (o, &sum) in sums.iter().enumerate() {
        // The accumulator wraps (the tree already wrapped at its width).
        let a = cast(&mut m, sum, acc_frac, acc, &format!("acc{o}_a"), act_level);
        // hls4ml casts the accumulator into the layer's result type, then activates.
        let (mut r, mut r_frac) = if result_exact {
            (a, acc_frac)
        } else {
            (cast(&mut m, a, acc_frac, &layer.result_type, &format!("r{o}"), act_level), res_frac)
        };
        let mut level = act_level;
        if let Some(st) = &layer.alpha {
            (r, r_frac, level) = apply_alpha(&mut m, r, r_frac, st, o, &format!("al{o}"), level);
        }
        let pre = match layer.activation {
            Activation::Relu => relu(&mut m, r, &format!("y{o}"), level),
            Activation::Linear | Activation::Softmax => r,
        };
        ys.push(activation_out(&mut m, pre, r_frac, &layer.activation_fn, &layer.out_type, &format!("y{o}"), level));
    }
    // ApplyAlpha and a leaky ReLU add levels of their own.
    let last_level = ys.iter().map(|&(_, l)| l).max().unwrap_or(act_level);
    let mut out_stage = schedule.stage_after(last_level);
    let mut outputs = Vec::new();
    for (o, &(y, _)) in ys.iter().enumerate() {
        let s = m.sig(y).clone();
        if schedule.is_delay() {
            // Each output leaves in the stage it settles in, and the next
            // layer's timing goes on from there: registers only where a stage ends.
            m.output(&format!("y{o}"), y, s.stage);
            outputs.push(PortSpec { lo: s.lo, hi: s.hi, stage: s.stage, arrival: s.arrival });
        } else {
            m.output(&format!("y{o}"), y, out_stage);
            outputs.push(PortSpec { lo: s.lo, hi: s.hi, stage: out_stage, arrival: 0 });
        }
    }
    if schedule.is_delay() {
        out_stage = outputs.iter().map(|p| p.stage).max().unwrap_or(0);
    }
    let summary = LayerSummary {
        module: module.clone(),
        instance: format!("l{index}"),
        n_in: layer.n_in,
        n_out: layer.n_out,
        nonzero_weights: nonzero,
        csd_digits: digits,
        adders: stats.adders,
        adder_bits: stats.adder_bits,
        tree_depth: stats.depth,
        first_level: start_level + 1,
        last_level,
        register_bits: m.cost.register_bits,
        critical_ps: m.critical_ps,
    };
    let mut cost = std::mem::take(&mut m.cost);
    (cost.n_in, cost.n_out) = (layer.n_in, layer.n_out);
    cost.logic_depth = last_level - start_level;
    cost.out_stage = out_stage;
    Ok(BuiltLayer { verilog: m.finish(), outputs, summary, cost })
}

/// How many low bits of each sum the layer's output depends on: the
/// accumulator's width, or fewer when the output cast wraps (AP_WRAP) with a
/// rounding that reads only the dropped low bits and no ReLU reads the sign:
/// the output is then the sum modulo 2^(its MSB + 1), and adders, shifts and
/// the low-bit rounding are exact modulo that, so bits above it are dropped.
pub(crate) fn sum_bits(layer: &FixedLayer) -> u32 {
    let acc = layer.accum_type.width;
    let t = &layer.out_type;
    let sign_free = matches!(t.rounding, Rounding::Trn | Rounding::Rnd | Rounding::RndConv | Rounding::RndMinInf);
    // A result cast between the accumulator and the output (hls4ml types) may saturate: keep every bit.
    let result_exact = holds_exactly(&layer.result_type, &layer.accum_type);
    let plain = layer.activation_fn.is_cast() && layer.alpha.is_none();
    if layer.activation == Activation::Relu || t.overflow != Overflow::Wrap || !sign_free || !result_exact || !plain {
        return acc;
    }
    // The output's MSB, counted in accumulator LSBs.
    let bits = t.width as i64 + (layer.accum_type.frac() - t.frac()) as i64;
    if bits < 2 {
        return acc; // an output of constant bits: not worth a special case
    }
    acc.min(bits as u32)
}

/// A constant matrix (`weights[i * n_out + o]`) times the input wires plus
/// the biases, each sum wrapping at `cap` bits: a dense layer, or one output
/// position of a convolution over its patch. `name` prefixes its wires.
pub(crate) struct Mvm<'a> {
    pub weights: &'a [i64],
    pub n_out: usize,
    pub cap: u32,
    pub name: &'a str,
}

impl Mvm<'_> {
    /// The sums (one signal per output), what they cost, the non-zero weights and CSD digits.
    pub fn sums(
        &self,
        m: &mut ModuleBuilder,
        xs: &[SigId],
        product_shift: u32,
        (biases, extra): (&[i128], &[Vec<Term>]),
        start_level: u32,
        cmvm: bool,
    ) -> (Vec<SigId>, TreeStats, usize, usize) {
        if cmvm {
            self.shared_sums(m, xs, product_shift, biases, extra, start_level)
        } else {
            self.plain_sums(m, xs, product_shift, biases, extra, start_level)
        }
    }
    /// One balanced tree per output over the CSD digits of its weights and the bias.
    fn plain_sums(
        &self,
        m: &mut ModuleBuilder,
        xs: &[SigId],
        product_shift: u32,
        biases: &[i128],
        extra: &[Vec<Term>],
        start_level: u32,
    ) -> (Vec<SigId>, TreeStats, usize, usize) {
        let cap = self.cap;
        let mut stats = TreeStats::default();
        let (mut nonzero, mut digits) = (0, 0);
        let mut sums = Vec::with_capacity(self.n_out);
        for (o, &bias) in biases.iter().enumerate() {
            let mut terms = Vec::new();
            for (i, &x) in xs.iter().enumerate() {
                let w = self.weights[i * self.n_out + o];
                if w == 0 {
                    continue; // zero weights cost nothing
                }
                nonzero += 1;
                for d in csd_digits(w) {
                    digits += 1;
                    terms.push(Term::shifted(m, x, d.shift + product_shift, d.negative, start_level));
                }
            }
            if bias != 0 {
                terms.push(Term::constant(bias, start_level));
            }
            terms.extend(extra.get(o).into_iter().flatten().cloned());
            let mut tree = TreeStats::default();
            let (sum, level) = sum_tree(m, &format!("{}acc{o}", self.name), terms, cap, &mut tree);
            stats.adders += tree.adders;
            stats.adder_bits += tree.adder_bits;
            // Levels from the layer's start (rounded products start later); a lone term's wire shares the activation's level.
            stats.depth = stats.depth.max(tree.depth).max(level.saturating_sub(start_level + (tree.depth == 0) as u32));
            sums.push(sum);
        }
        (sums, stats, nonzero, digits)
    }

    /// The shared adders of the layer's [`CmvmGraph`] (wires `sK`), then per
    /// output a tree balanced by arrival over its remaining terms and the bias.
    fn shared_sums(
        &self,
        m: &mut ModuleBuilder,
        xs: &[SigId],
        product_shift: u32,
        biases: &[i128],
        extra: &[Vec<Term>],
        start_level: u32,
    ) -> (Vec<SigId>, TreeStats, usize, usize) {
        let (cap, n_in) = (self.cap, xs.len());
        let intervals: Vec<(i128, i128)> = xs.iter().map(|&x| (m.sig(x).lo, m.sig(x).hi)).collect();
        let graph = CmvmGraph::solve(self.weights, n_in, self.n_out, &intervals, 0);
        let mut stats = TreeStats::default();
        // Every node as (signal, level at which it is available).
        // (signal, level at which it is available, shift: the node is signal << shift).
        let mut nodes: Vec<(SigId, u32, u32)> = xs.iter().map(|&x| (x, start_level, 0)).collect();
        for (k, add) in graph.adders.iter().enumerate() {
            let level = start_level + graph.levels[n_in + k];
            let (sa, la, ha) = nodes[add.a.node];
            let (sb, lb, hb) = nodes[add.b.node];
            let a = Term::shifted(m, sa, add.a.shift + ha, add.a.negative, la);
            let b = Term::shifted(m, sb, add.b.shift + hb, add.b.negative, lb);
            let t = add_pair(m, &format!("{}s{k}", self.name), a, b, cap, level, &mut stats);
            debug_assert!(!t.negative && t.level == level);
            let Source::Shifted { sig, shift } = t.source else { unreachable!("an adder is a signal") };
            nodes.push((sig, level, shift));
        }
        let mut sums = Vec::with_capacity(self.n_out);
        for (o, terms) in graph.outputs.iter().enumerate() {
            let mut tree: Vec<Term> = terms
                .iter()
                .map(|op| {
                    let (sig, level, shift) = nodes[op.node];
                    Term::shifted(m, sig, op.shift + shift + product_shift, op.negative, level)
                })
                .collect();
            if biases[o] != 0 {
                tree.push(Term::constant(biases[o], start_level));
            }
            tree.extend(extra.get(o).into_iter().flatten().cloned());
            let (sum, _) = sum_by_arrival(m, &format!("{}acc{o}", self.name), tree, cap, start_level, &mut stats);
            sums.push(sum);
        }
        let nonzero = self.weights.iter().filter(|&&w| w != 0).count();
        (sums, stats, nonzero, graph.digits)
    }
}

/// Whether a saturating accumulator may saturate: a tree reproduces the cast
/// after every addition only when no partial sum can leave the range;
/// otherwise the layer's sums are `saturate`'s chains.
fn may_saturate(layer: &FixedLayer, inputs: &[PortSpec], biases: &[i128], product_shift: u32, drop: u32) -> bool {
    let acc = &layer.accum_type;
    if acc.overflow == Overflow::Wrap {
        return false;
    }
    let mag = inputs.iter().map(|p| p.lo.abs().max(p.hi.abs())).max().unwrap_or(0);
    let worst = (0..layer.n_out)
        .map(|o| {
            let products: i128 = (0..layer.n_in).map(|i| (layer.weights[i * layer.n_out + o] as i128).abs() * mag).sum();
            // Rounded products may each round up by one.
            let at_acc = if drop > 0 { (products >> drop) + layer.n_in as i128 } else { products << product_shift };
            at_acc + biases[o].abs()
        })
        .max()
        .unwrap_or(0);
    // AP_SAT_SYM also moves the most negative code.
    let min = acc.min_raw() as i128 + (acc.overflow == Overflow::SatSym && acc.signed) as i128;
    -worst < min || worst > acc.max_raw() as i128
}
