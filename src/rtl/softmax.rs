//! The output stage (module `output_stage`, wires `out_*`): qforge's table
//! softmax of `SoftmaxTables::apply`, bit for bit (max, differences cut to the
//! table index, exp ROM, exact sum, 1/sum ROM, products cast to the output
//! type), or one of hls4ml's (`hls4ml_softmax`), then the predicted class as the index of the first largest output (the
//! firmware's argmax, computed on the softmax outputs when there is a softmax,
//! else on the logits).
//!
//! Input: the last layer's outputs (ports) and the network's softmax. Output: the
//! module text; its ports are the probabilities and the class.
use super::adder_tree::{sum_tree, Term, TreeStats};
use super::cast::cast;
use super::cost::{LayerCost, MultiplierCost, RomCost};
use super::delay::Op;
use super::layer::PortSpec;
use super::netlist::{signed_bits, ModuleBuilder, Schedule, SigId};
use crate::model::hls4ml_softmax::Hls4mlSoftmax;
use crate::model::softmax::{ceil_log2, SoftmaxTables};
use std::fmt::Write as _;

pub struct BuiltOutput {
    pub verilog: String,
    /// Softmax outputs (when there is a softmax) then the class index.
    pub probs: Vec<PortSpec>,
    pub class: PortSpec,
    pub last_level: u32,
    /// Registers from the network's inputs to these outputs.
    pub out_stage: u32,
    /// By delay: the latest a signal settles in its stage (ps).
    pub critical_ps: u32,
    pub cost: LayerCost,
}

/// The softmax an output stage builds.
#[derive(Clone, Copy)]
pub enum Softmax<'a> {
    Qforge(&'a SoftmaxTables),
    Hls4ml(&'a Hls4mlSoftmax),
}

/// The first maximum of `vals` by a tree of comparisons; returns (value, index) signals.
pub(super) fn argmax_tree(
    m: &mut ModuleBuilder,
    vals: &[SigId],
    base: &str,
    mut level: u32,
    want_index: bool,
) -> (SigId, Option<SigId>, u32) {
    let idx_bits = ceil_log2(vals.len()).max(1);
    let mut items: Vec<(SigId, Option<SigId>)> = vals
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let idx = want_index.then(|| {
                m.assign(&format!("{base}_i0_{i}"), (0, i as i128), None, level.max(1), Op::Wire, &[], |_| {
                    format!("{}'sd{i}", idx_bits + 1)
                })
            });
            (v, idx)
        })
        .collect();
    let mut depth = 0;
    while items.len() > 1 {
        level += 1;
        depth += 1;
        let mut next = Vec::new();
        let mut it = items.into_iter();
        let mut k = 0;
        while let Some(a) = it.next() {
            let Some(b) = it.next() else {
                next.push(a);
                break;
            };
            // The right one wins only when strictly larger: ties keep the first index.
            let (sa, sb) = (m.sig(a.0).clone(), m.sig(b.0).clone());
            m.cost.select_bits += 1 + sa.width.max(sb.width) as u64;
            let cmp = Op::Add(sa.width.max(sb.width) + 1);
            let take_b = m.assign(&format!("{base}_c{depth}_{k}"), (0, 1), None, level, cmp, &[a.0, b.0], |n| {
                format!("$signed({{1'b0, {} > {}}})", n[1], n[0])
            });
            let v = m.assign(
                &format!("{base}_v{depth}_{k}"),
                (sa.lo.min(sb.lo), sa.hi.max(sb.hi)),
                None,
                level,
                Op::Lut,
                &[take_b, a.0, b.0],
                |n| format!("{}[0] ? {} : {}", n[0], n[2], n[1]),
            );
            let idx = match (a.1, b.1) {
                (Some(ia), Some(ib)) => {
                    let hi = m.sig(ia).hi.max(m.sig(ib).hi);
                    m.cost.select_bits += m.sig(ia).width.max(m.sig(ib).width) as u64;
                    Some(m.assign(&format!("{base}_x{depth}_{k}"), (0, hi), None, level, Op::Lut, &[take_b, ia, ib], |n| {
                        format!("{}[0] ? {} : {}", n[0], n[2], n[1])
                    }))
                }
                _ => None,
            };
            next.push((v, idx));
            k += 1;
        }
        items = next;
    }
    let (v, idx) = items.pop().expect("one value");
    let _ = depth;
    (v, idx, level)
}

/// A ROM as a Verilog function (a `case`, which Yosys maps to LUTs or a ROM);
/// entries are stored as their low `data_bits` bits (two's complement).
pub(super) fn rom_function(name: &str, addr_bits: u32, data_bits: u32, table: &[i64]) -> String {
    let mask = if data_bits >= 64 { u64::MAX } else { (1u64 << data_bits) - 1 };
    let mut f = String::new();
    let _ = writeln!(f, "  function [{}:0] {name};", data_bits - 1);
    let _ = writeln!(f, "    input [{}:0] a;", addr_bits - 1);
    let _ = writeln!(f, "    case (a)");
    for (i, v) in table.iter().enumerate() {
        let _ = writeln!(f, "      {addr_bits}'d{i}: {name} = {data_bits}'d{};", *v as u64 & mask);
    }
    let _ = writeln!(f, "      default: {name} = {data_bits}'d0;");
    let _ = writeln!(f, "    endcase");
    let _ = writeln!(f, "  endfunction");
    f
}

/// Build the output stage after logic level `start_level`.
pub fn build_output(logits: &[PortSpec], softmax: Option<Softmax>, start_level: u32, schedule: Schedule) -> BuiltOutput {
    let mut m = ModuleBuilder::new("output_stage", "out_", schedule);
    let xs: Vec<SigId> = logits.iter().enumerate().map(|(i, p)| m.input(&format!("x{i}"), p.lo, p.hi, p.stage, p.arrival)).collect();
    let mut level = start_level;
    let mut probs = Vec::new();
    let mut known_class = None;
    let scores = match softmax {
        None => xs.clone(),
        Some(Softmax::Hls4ml(sm)) => {
            let built = super::hls4ml_softmax::build(&mut m, &xs, sm, level);
            level = built.level;
            known_class = built.class;
            built.outs
        }
        Some(Softmax::Qforge(t)) => {
            let f_in = t.in_type.frac();
            let (x_max, _, l) = argmax_tree(&mut m, &xs, "max", level, false);
            level = l + 1;
            let addr_bits = t.diff_type.width;
            let exp_bits = t.exp_type.width;
            let mut exps = Vec::new();
            for (j, &x) in xs.iter().enumerate() {
                let (sm, sx) = (m.sig(x_max).clone(), m.sig(x).clone());
                let dw = signed_bits(0, (sm.hi - sx.lo).max(0));
                let d = m.assign(&format!("d{j}"), (0, (sm.hi - sx.lo).max(0)), None, level, Op::Add(dw), &[x_max, x], |n| {
                    format!("{} - {}", n[0], n[1])
                });
                let width = m.sig(d).width;
                m.cost.add_adder(width, width);
                let idx = cast(&mut m, d, f_in, &t.diff_type, &format!("d{j}"), level);
                let idx = if m.sig(idx).width < addr_bits { m.resize(idx, addr_bits) } else { idx };
                let hi = t.exp_table.iter().copied().max().unwrap_or(0) as i128;
                let lo = t.exp_table.iter().copied().min().unwrap_or(0) as i128;
                let e = m.assign(&format!("e{j}"), (lo, hi), None, level, Op::Rom, &[idx], |n| {
                    format!("$signed({{1'b0, exp_rom({}[{}:0])}})", n[0], addr_bits - 1)
                });
                exps.push(e);
            }
            let terms = exps.iter().map(|&e| Term::shifted(&m, e, 0, false, level)).collect();
            let mut stats = TreeStats::default();
            let (sum, l) = sum_tree(&mut m, "sum", terms, 63, &mut stats);
            level = l + 1;
            let inv_addr = t.sum_index_type.width;
            let inv_idx = cast(&mut m, sum, t.exp_type.frac(), &t.sum_index_type, "inv", level);
            let inv_idx = if m.sig(inv_idx).width < inv_addr { m.resize(inv_idx, inv_addr) } else { inv_idx };
            let (ilo, ihi) = (*t.inv_table.iter().min().unwrap_or(&0) as i128, *t.inv_table.iter().max().unwrap_or(&0) as i128);
            let inv = m.assign("inv", (ilo, ihi), None, level, Op::Rom, &[inv_idx], |n| {
                format!("$signed({{1'b0, inv_rom({}[{}:0])}})", n[0], inv_addr - 1)
            });
            level += 1;
            let prod_frac = t.exp_type.frac() + t.inv_type.frac();
            let mut outs = Vec::new();
            for (j, &e) in exps.iter().enumerate() {
                let (se, si) = (m.sig(e).clone(), m.sig(inv).clone());
                m.cost.multipliers.push(MultiplierCost { a_bits: se.width, b_bits: si.width });
                let p = m.assign(&format!("p{j}"), (se.lo * si.lo, se.hi * si.hi), None, level, Op::Mul, &[e, inv], |n| {
                    format!("{} * {}", n[0], n[1])
                });
                outs.push(cast(&mut m, p, prod_frac, &t.out_type, &format!("p{j}"), level));
            }
            let mut roms = rom_function("exp_rom", addr_bits, exp_bits, &t.exp_table);
            roms.push_str(&rom_function("inv_rom", inv_addr, t.inv_type.width, &t.inv_table));
            m.raw_body(&roms);
            m.cost.roms.push(RomCost { name: "exp_rom".into(), entries: t.exp_table.len() as u64, width: exp_bits });
            m.cost.roms.push(RomCost { name: "inv_rom".into(), entries: t.inv_table.len() as u64, width: t.inv_type.width });
            outs
        }
    };
    let (class, l) = match known_class {
        Some(c) => (c, level),
        None => {
            let (_, class, l) = argmax_tree(&mut m, &scores, "arg", level, true);
            (class.expect("index"), l)
        }
    };
    let last_level = l.max(level).max(start_level + 1);
    // By delay: the stage the last result settles in (the outputs line up there).
    let out_stage = if schedule.is_delay() {
        scores.iter().chain([&class]).map(|&s| m.sig(s).stage).max().unwrap_or(0)
    } else {
        schedule.stage_after(last_level)
    };
    if softmax.is_some() {
        for (j, &p) in scores.iter().enumerate() {
            let s = m.sig(p).clone();
            m.output(&format!("prob{j}"), p, out_stage);
            probs.push(PortSpec { lo: s.lo, hi: s.hi, stage: out_stage, arrival: 0 });
        }
    }
    let sc = m.sig(class).clone();
    m.output("class_idx", class, out_stage);
    let mut cost = std::mem::take(&mut m.cost);
    (cost.n_in, cost.n_out) = (logits.len(), scores.len());
    cost.logic_depth = last_level - start_level;
    cost.out_stage = out_stage;
    BuiltOutput {
        verilog: m.finish(),
        probs,
        class: PortSpec { lo: sc.lo, hi: sc.hi, stage: out_stage, arrival: 0 },
        last_level,
        out_stage,
        critical_ps: m.critical_ps,
        cost,
    }
}
