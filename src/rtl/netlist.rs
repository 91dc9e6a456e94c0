//! A small netlist builder for one Verilog module: every signal is a signed
//! wire whose exact value interval is known, so each wire gets the fewest bits
//! that hold it. Signals carry the pipeline stage they are valid in; an
//! operand from an earlier stage is delayed through registers automatically,
//! so trees of different depth line up without hand-placed registers.
//!
//! Input: ops from the layer writers (`adder_tree`, `cast`, `softmax`).
//! Output: the module's Verilog text (`verilog` assembles modules into files).
use super::cost::LayerCost;
use super::delay::{DelayModel, Op, ULTRASCALE_PLUS};
use std::collections::HashMap;
use std::fmt::Write as _;

pub type SigId = usize;

/// A signed wire (or register) holding a value in `[lo, hi]`.
#[derive(Clone, Debug)]
pub struct Sig {
    pub name: String,
    pub width: u32,
    pub lo: i128,
    pub hi: i128,
    /// Registers between the network's inputs and this signal.
    pub stage: u32,
    /// Picoseconds after its stage's clock edge at which the value is
    /// settled (the delay schedule; 0 under `every`).
    pub arrival: u32,
    /// A constant is valid at every stage and never registered.
    pub constant: bool,
    /// The signals it is computed from (a register: the signal it delays).
    pub from: Vec<SigId>,
}

/// Fewest bits of a two's-complement number holding every value in `[lo, hi]`.
pub fn signed_bits(lo: i128, hi: i128) -> u32 {
    let mut n = 1;
    while lo < -(1i128 << (n - 1)) || hi > (1i128 << (n - 1)) - 1 {
        n += 1;
    }
    n
}

/// A sized signed Verilog literal (two's complement wraps at `width`).
pub fn literal(value: i128, width: u32) -> String {
    if value < 0 {
        format!("-{width}'sd{}", value.unsigned_abs())
    } else {
        format!("{width}'sd{value}")
    }
}

/// When registers go in: after every `every` levels of logic (0: none), or,
/// when `period_ps` is set, where the next operation would end past the
/// clock period under `model` (`--pipeline-ns`).
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    pub every: u32,
    pub period_ps: u32,
    pub model: DelayModel,
}

impl Schedule {
    pub fn every(every: u32) -> Self {
        Schedule { every, period_ps: 0, model: ULTRASCALE_PLUS }
    }
    pub fn by_delay(period_ps: u32) -> Self {
        Schedule { every: 0, period_ps, model: ULTRASCALE_PLUS }
    }
    pub fn is_delay(&self) -> bool {
        self.period_ps > 0
    }
    /// Logic time a stage may hold (the period less the register's own).
    pub fn budget(&self) -> u32 {
        self.model.budget(self.period_ps)
    }
    /// The stage (registers passed) of logic at `level` (1-based).
    pub fn stage_of(&self, level: u32) -> u32 {
        if self.every == 0 || level == 0 {
            0
        } else {
            (level - 1) / self.every
        }
    }
    /// The stage of a result leaving logic whose last level is `level`.
    pub fn stage_after(&self, level: u32) -> u32 {
        level.checked_div(self.every).unwrap_or(0)
    }
}

pub struct ModuleBuilder {
    pub name: String,
    /// Name prefix of every wire and register (`l1_`), kept after flattening.
    pub prefix: String,
    pub schedule: Schedule,
    pub sigs: Vec<Sig>,
    ports: Vec<String>,
    body: String,
    regs: String,
    delays: HashMap<(SigId, u32), SigId>,
    /// Adder-tree nodes already built, by what they compute (`adder_tree`).
    pub shared_nodes: HashMap<String, SigId>,
    /// Every sum-of-terms adder built (`adder_tree::add_pair`), for [`Self::shared_adders`].
    pub adder_nodes: Vec<SigId>,
    /// What the module is built of, recorded as the ops are written.
    pub cost: LayerCost,
    /// The latest arrival of any signal in its stage (ps; the delay schedule).
    pub critical_ps: u32,
}

impl ModuleBuilder {
    pub fn new(name: &str, prefix: &str, schedule: Schedule) -> Self {
        ModuleBuilder {
            name: name.to_string(),
            prefix: prefix.to_string(),
            schedule,
            sigs: Vec::new(),
            ports: vec!["input wire clk".to_string()],
            body: String::new(),
            regs: String::new(),
            delays: HashMap::new(),
            shared_nodes: HashMap::new(),
            adder_nodes: Vec::new(),
            cost: LayerCost::new(name, 0, 0),
            critical_ps: 0,
        }
    }

    pub fn sig(&self, id: SigId) -> &Sig {
        &self.sigs[id]
    }

    fn push(&mut self, name: String, lo: i128, hi: i128, width: u32, stage: u32) -> SigId {
        self.sigs.push(Sig { name, width, lo, hi, stage, arrival: 0, constant: false, from: Vec::new() });
        self.sigs.len() - 1
    }

    /// A signed input port carrying values in `[lo, hi]` at `stage`, settled `arrival` ps into it.
    pub fn input(&mut self, name: &str, lo: i128, hi: i128, stage: u32, arrival: u32) -> SigId {
        let width = signed_bits(lo, hi);
        self.ports.push(format!("input wire signed [{}:0] {name}", width - 1));
        let id = self.push(name.to_string(), lo, hi, width, stage);
        self.sigs[id].arrival = arrival;
        id
    }

    /// A raw input port of `width` bits (signed or not) as an internal signed signal.
    pub fn raw_input(&mut self, name: &str, width: u32, signed: bool, lo: i128, hi: i128) -> SigId {
        self.ports.push(format!("input wire [{}:0] {name}", width - 1));
        let expr = if signed { format!("$signed({name})") } else { format!("$signed({{1'b0, {name}}})") };
        let w = signed_bits(lo, hi);
        let internal = format!("{}{name}", self.prefix);
        let _ = writeln!(self.body, "  wire signed [{}:0] {internal} = {expr};", w - 1);
        self.push(internal, lo, hi, w, 0)
    }

    /// A plain 1-bit input port (handshake).
    pub fn bit_input(&mut self, name: &str) {
        self.ports.push(format!("input wire {name}"));
    }

    /// Drive a signed output port from `id` delayed to `stage`.
    pub fn output(&mut self, name: &str, id: SigId, stage: u32) {
        let src = self.at(id, stage);
        let s = &self.sigs[src];
        self.ports.push(format!("output wire signed [{}:0] {name}", s.width - 1));
        let _ = writeln!(self.body, "  assign {name} = {};", s.name);
    }

    /// Drive a raw output port: the low `width` bits of `id` at `stage`.
    pub fn raw_output(&mut self, name: &str, id: SigId, width: u32, stage: u32) {
        let src = self.at(id, stage);
        let s = self.sigs[src].clone();
        self.ports.push(format!("output wire [{}:0] {name}", width - 1));
        if s.width >= width {
            let _ = writeln!(self.body, "  assign {name} = {}[{}:0];", s.name, width - 1);
        } else {
            let ext = self.resize(src, width);
            let _ = writeln!(self.body, "  assign {name} = {};", self.sigs[ext].name);
        }
    }

    /// Free text inside the module (instances, valid chain).
    pub fn raw_body(&mut self, text: &str) {
        self.body.push_str(text);
    }
    pub fn raw_port(&mut self, decl: &str) {
        self.ports.push(decl.to_string());
    }
    /// Register a signal that another module drives (an instance output).
    pub fn external(&mut self, name: &str, lo: i128, hi: i128, stage: u32) -> SigId {
        let width = signed_bits(lo, hi);
        let _ = writeln!(self.body, "  wire signed [{}:0] {name};", width - 1);
        self.push(name.to_string(), lo, hi, width, stage)
    }

    /// `id` as it is at `stage`, through a chain of registers (shared by all users).
    pub fn at(&mut self, id: SigId, stage: u32) -> SigId {
        let have = self.sigs[id].stage;
        if self.sigs[id].constant {
            return id;
        }
        assert!(stage >= have, "signal {} used before it exists", self.sigs[id].name);
        if stage == have {
            return id;
        }
        if let Some(&d) = self.delays.get(&(id, stage)) {
            return d;
        }
        let prev = self.at(id, stage - 1);
        let p = self.sigs[prev].clone();
        let base = &self.sigs[id].name;
        let name = format!("{base}_r{}", stage - have);
        let _ = writeln!(self.body, "  reg signed [{}:0] {name};", p.width - 1);
        let _ = writeln!(self.regs, "    {name} <= {};", p.name);
        self.cost.register_bits += p.width as u64;
        let d = self.push(name, p.lo, p.hi, p.width, stage);
        self.sigs[d].from = vec![prev];
        self.delays.insert((id, stage), d);
        d
    }

    /// The stage an operation `op` on `operands` at logic `level` goes in,
    /// and when its result settles. By delay: the latest operand's stage, unless
    /// the operation would end past the budget there; then the next stage, its
    /// operands registered.
    fn place(&self, level: u32, op: Op, operands: &[SigId]) -> (u32, u32) {
        if !self.schedule.is_delay() {
            return (self.schedule.stage_of(level), 0);
        }
        let budget = self.schedule.budget();
        let delay = self.schedule.model.delay(op, budget);
        let live = || operands.iter().map(|&o| &self.sigs[o]).filter(|s| !s.constant);
        let stage = live().map(|s| s.stage).max().unwrap_or(0);
        let start = live().filter(|s| s.stage == stage).map(|s| s.arrival).max().unwrap_or(0);
        if start > 0 && start + delay > budget {
            (stage + 1, delay)
        } else {
            (stage, start + delay)
        }
    }

    /// A new wire `prefix+base` = `expr(operand names)`, holding values in
    /// `[lo, hi]`, computed at logic `level` (the `every` schedule) by an
    /// operation `op` (the delay schedule); operands are delayed to its stage.
    /// `cap` limits the width (the value wraps, as a wrapping accumulator does).
    #[allow(clippy::too_many_arguments)]
    pub fn assign(
        &mut self,
        base: &str,
        (lo, hi): (i128, i128),
        cap: Option<u32>,
        level: u32,
        op: Op,
        operands: &[SigId],
        expr: impl FnOnce(&[String]) -> String,
    ) -> SigId {
        let (stage, arrival) = self.place(level, op, operands);
        let delayed: Vec<SigId> = operands.iter().map(|&o| self.at(o, stage)).collect();
        let names: Vec<String> = delayed.iter().map(|&d| self.sigs[d].name.clone()).collect();
        let mut width = signed_bits(lo, hi);
        let (mut lo, mut hi) = (lo, hi);
        if let Some(cap) = cap.filter(|&c| width > c) {
            width = cap;
            lo = -(1i128 << (cap - 1));
            hi = (1i128 << (cap - 1)) - 1;
        }
        let name = format!("{}{base}", self.prefix);
        let _ = writeln!(self.body, "  wire signed [{}:0] {name} = {};", width - 1, expr(&names));
        let id = self.push(name, lo, hi, width, stage);
        self.sigs[id].constant = operands.iter().all(|&o| self.sigs[o].constant);
        self.sigs[id].from = delayed;
        self.sigs[id].arrival = if self.sigs[id].constant { 0 } else { arrival };
        self.critical_ps = self.critical_ps.max(self.sigs[id].arrival);
        id
    }

    /// `id` sign-extended (or narrowed, when its values fit) to `width` bits.
    pub fn resize(&mut self, id: SigId, width: u32) -> SigId {
        let s = self.sigs[id].clone();
        let name = format!("{}_w{width}", s.name);
        if let Some(existing) = self.sigs.iter().position(|x| x.name == name) {
            return existing;
        }
        let _ = writeln!(self.body, "  wire signed [{}:0] {name} = {};", width - 1, s.name);
        let (lo, hi) = if signed_bits(s.lo, s.hi) <= width { (s.lo, s.hi) } else { (-(1i128 << (width - 1)), (1i128 << (width - 1)) - 1) };
        let r = self.push(name, lo, hi, width, s.stage);
        (self.sigs[r].arrival, self.sigs[r].constant) = (s.arrival, s.constant);
        self.sigs[r].from = vec![id];
        r
    }

    /// Adders of [`Self::adder_nodes`] whose value reaches more than one of
    /// `outputs` (through other logic and registers): the shared
    /// sub-expressions. A signal is built after what it is computed from, so
    /// one pass from the last signal back visits every user before its operands.
    pub fn shared_adders(&self, outputs: &[SigId]) -> u64 {
        const NONE: usize = usize::MAX;
        const MANY: usize = usize::MAX - 1;
        // Per signal: NONE, the one output it reaches, or MANY.
        let mut reach = vec![NONE; self.sigs.len()];
        let merge = |have: usize, add: usize| match (have, add) {
            (NONE, a) | (a, NONE) => a,
            (a, b) if a == b => a,
            _ => MANY,
        };
        for (o, &id) in outputs.iter().enumerate() {
            reach[id] = merge(reach[id], o);
        }
        for id in (0..self.sigs.len()).rev() {
            if reach[id] == NONE {
                continue;
            }
            for &src in &self.sigs[id].from {
                debug_assert!(src < id, "operands are built first");
                reach[src] = merge(reach[src], reach[id]);
            }
        }
        self.adder_nodes.iter().filter(|&&id| reach[id] == MANY).count() as u64
    }

    /// The module's Verilog text.
    pub fn finish(&self) -> String {
        let mut v = String::new();
        let _ = writeln!(v, "module {} (", self.name);
        let _ = writeln!(v, "{}", self.ports.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join(",\n"));
        let _ = writeln!(v, ");");
        v.push_str(&self.body);
        if !self.regs.is_empty() {
            let _ = writeln!(v, "  always @(posedge clk) begin");
            v.push_str(&self.regs);
            let _ = writeln!(v, "  end");
        }
        let _ = writeln!(v, "endmodule");
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_hold_their_intervals() {
        assert_eq!(signed_bits(0, 0), 1);
        assert_eq!(signed_bits(-1, 0), 1);
        assert_eq!(signed_bits(0, 1), 2);
        assert_eq!(signed_bits(-128, 127), 8);
        assert_eq!(signed_bits(-129, 0), 9);
        assert_eq!(signed_bits(0, 63), 7);
    }

    #[test]
    fn stages_follow_the_schedule() {
        let s = Schedule::every(3);
        assert_eq!((s.stage_of(1), s.stage_of(3), s.stage_of(4)), (0, 0, 1));
        assert_eq!((s.stage_after(3), s.stage_after(5)), (1, 1));
        let none = Schedule::every(0);
        assert_eq!((none.stage_of(9), none.stage_after(9)), (0, 0));
    }
}
