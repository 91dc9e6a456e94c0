//! A cycle-based, zero-delay simulator of a mapped Xilinx netlist: the
//! combinational cells are put in topological order once; each cycle the
//! inputs are set, the cells evaluated in that order (async set/reset
//! applied), outputs read, toggles counted, then every register clocked at
//! once. One clock domain: every register must be clocked by the `clk` port
//! (through its input and global buffers), on the rising edge.
use super::cells::{self, Comb, Ff, Srl, FIRST_NET_SLOT, SLOT_ONE, SLOT_SINK, SLOT_X, SLOT_ZERO, V0, V1, VX};
use super::netlist::{Bit, Cell, Netlist, Param};
use crate::error::{Error, Result};
use std::collections::HashSet;

/// The compiled netlist and its state.
pub struct Simulator {
    /// Value of every slot (see [`cells`]).
    pub values: Vec<u8>,
    comb: Vec<Comb>,
    ffs: Vec<Ff>,
    srls: Vec<Srl>,
    async_ffs: Vec<usize>,
    /// (slot, cell index in the netlist) of every output bit whose toggles count.
    pub tracked: Vec<(u32, u32)>,
    prev: Vec<u8>,
    /// Cells whose outputs are left unknown (DSP, block RAM).
    pub opaque_cells: Vec<u32>,
}

pub fn slot(b: Bit) -> u32 {
    match b {
        Bit::Zero => SLOT_ZERO,
        Bit::One => SLOT_ONE,
        Bit::X => SLOT_X,
        Bit::Net(id) => id + FIRST_NET_SLOT,
    }
}

struct Builder<'a> {
    netlist: &'a Netlist,
    comb: Vec<Comb>,
    comb_cell: Vec<u32>,
    ffs: Vec<Ff>,
    srls: Vec<Srl>,
    /// (clock pin slot, cell) of every register.
    clocked: Vec<(u32, u32)>,
    ff_init: Vec<(u32, u8)>,
    tracked: Vec<(u32, u32)>,
    opaque: Vec<u32>,
}

impl Builder<'_> {
    fn fault(&self, cell: &Cell, msg: String) -> Error {
        Error::input_at(&self.netlist.path, None, Some(&format!("cells.{}", cell.name)), format!("{} cell: {msg}", cell.kind))
    }

    /// One-bit input pin (X when unconnected).
    fn pin(&self, cell: &Cell, name: &str) -> u32 {
        cell.port(name).and_then(|b| b.first().copied()).map(slot).unwrap_or(SLOT_X)
    }

    /// A bus pin of `width` bits (X / sink beyond what is connected).
    fn bus(&self, cell: &Cell, name: &str, width: usize, output: bool) -> Vec<u32> {
        let bits = cell.port(name).unwrap_or(&[]);
        (0..width).map(|i| bits.get(i).copied().map(slot).unwrap_or(if output { SLOT_SINK } else { SLOT_X })).collect()
    }

    fn out(&self, cell: &Cell, name: &str) -> u32 {
        match cell.port(name).and_then(|b| b.first().copied()) {
            Some(Bit::Net(id)) => id + FIRST_NET_SLOT,
            _ => SLOT_SINK,
        }
    }

    fn flag(&self, cell: &Cell, name: &str) -> Result<bool> {
        match cell.params.get(name) {
            None => Ok(false),
            Some(p) => p.as_u64().map(|v| v & 1 == 1).ok_or_else(|| self.fault(cell, format!("parameter {name} is not a known bit"))),
        }
    }

    /// A table parameter (LUT/SRL INIT): (known bits, unknown-bit mask); missing high bits are 0.
    fn table(&self, cell: &Cell, name: &str, len: u32) -> Result<(u64, u64)> {
        match cell.params.get(name) {
            None => Ok((0, 0)),
            Some(Param::Bits(bits)) => {
                let (mut t, mut x) = (0u64, 0u64);
                for (i, b) in bits.iter().enumerate().take(len as usize) {
                    match b {
                        Some(true) => t |= 1 << i,
                        Some(false) => {}
                        None => x |= 1 << i,
                    }
                }
                Ok((t, x))
            }
            Some(Param::Text(t)) => Err(self.fault(cell, format!("parameter {name} = `{t}` is not a bit string"))),
        }
    }

    fn add_comb(&mut self, index: u32, c: Comb) {
        for o in c.outputs() {
            if o >= FIRST_NET_SLOT {
                self.tracked.push((o, index));
            }
        }
        self.comb.push(c);
        self.comb_cell.push(index);
    }

    fn add(&mut self, index: u32, cell: &Cell) -> Result<()> {
        let kind = cell.kind.as_str();
        if let Some(k) = kind.strip_prefix("LUT").and_then(|k| k.parse::<u32>().ok()).filter(|k| (1..=6).contains(k)) {
            let inputs = (0..k).map(|i| self.pin(cell, &format!("I{i}"))).collect();
            let (init, xinit) = self.table(cell, "INIT", 1 << k)?;
            let out = self.out(cell, "O");
            self.add_comb(index, Comb::Lut { inputs, init, xinit, out });
            return Ok(());
        }
        match kind {
            "MUXF5" | "MUXF6" | "MUXF7" | "MUXF8" | "MUXF9" => {
                let c = Comb::Mux { i0: self.pin(cell, "I0"), i1: self.pin(cell, "I1"), s: self.pin(cell, "S"), out: self.out(cell, "O") };
                self.add_comb(index, c);
            }
            "INV" => {
                let c = Comb::Inv { i: self.pin(cell, "I"), out: self.out(cell, "O") };
                self.add_comb(index, c);
            }
            "BUF" | "BUFG" | "IBUF" | "OBUF" => {
                let c = Comb::Buf { i: self.pin(cell, "I"), out: self.out(cell, "O") };
                self.add_comb(index, c);
            }
            "CARRY4" => {
                let c = Comb::Carry {
                    ci: self.pin(cell, "CI"),
                    cyinit: Some(self.pin(cell, "CYINIT")),
                    ci_top: None,
                    di: self.bus(cell, "DI", 4, false),
                    s: self.bus(cell, "S", 4, false),
                    o: self.bus(cell, "O", 4, true),
                    co: self.bus(cell, "CO", 4, true),
                };
                self.add_comb(index, c);
            }
            "CARRY8" => {
                let dual = match cell.params.get("CARRY_TYPE") {
                    None => false,
                    Some(Param::Text(t)) if t == "SINGLE_CY8" => false,
                    Some(Param::Text(t)) if t == "DUAL_CY4" => true,
                    Some(other) => return Err(self.fault(cell, format!("CARRY_TYPE {other:?} is neither SINGLE_CY8 nor DUAL_CY4"))),
                };
                let c = Comb::Carry {
                    ci: self.pin(cell, "CI"),
                    cyinit: None,
                    ci_top: dual.then(|| self.pin(cell, "CI_TOP")),
                    di: self.bus(cell, "DI", 8, false),
                    s: self.bus(cell, "S", 8, false),
                    o: self.bus(cell, "O", 8, true),
                    co: self.bus(cell, "CO", 8, true),
                };
                self.add_comb(index, c);
            }
            "FDRE" | "FDSE" | "FDCE" | "FDPE" => {
                let (sr_pin, sr_value, asynchronous) = match kind {
                    "FDRE" => ("R", V0, false),
                    "FDSE" => ("S", V1, false),
                    "FDCE" => ("CLR", V0, true),
                    _ => ("PRE", V1, true),
                };
                if self.flag(cell, "IS_C_INVERTED")? {
                    return Err(self.fault(cell, "falling-edge registers (IS_C_INVERTED = 1) are not supported".into()));
                }
                let q = self.out(cell, "Q");
                let ff = Ff {
                    d: self.pin(cell, "D"),
                    ce: self.pin(cell, "CE"),
                    sr: self.pin(cell, sr_pin),
                    sr_inverted: self.flag(cell, &format!("IS_{sr_pin}_INVERTED"))?,
                    d_inverted: self.flag(cell, "IS_D_INVERTED")?,
                    sr_value,
                    asynchronous,
                    q,
                };
                // cells_sim.v: INIT defaults to 0 (FDRE/FDCE) or 1 (FDSE/FDPE); "x" stays unknown.
                let init = match cell.params.get("INIT") {
                    None => sr_value,
                    Some(p) => p.as_u64().map(|v| (v & 1) as u8).unwrap_or(VX),
                };
                self.clocked.push((self.pin(cell, "C"), index));
                self.ff_init.push((q, init));
                if q >= FIRST_NET_SLOT {
                    self.tracked.push((q, index));
                }
                self.ffs.push(ff);
            }
            "SRL16E" | "SRLC32E" => {
                let len = if kind == "SRL16E" { 16 } else { 32 };
                if self.flag(cell, "IS_CLK_INVERTED")? {
                    return Err(self.fault(cell, "falling-edge shift registers (IS_CLK_INVERTED = 1) are not supported".into()));
                }
                let (bits, xmask) = self.table(cell, "INIT", len)?;
                let addr =
                    if len == 16 { (0..4).map(|i| self.pin(cell, &format!("A{i}"))).collect() } else { self.bus(cell, "A", 5, false) };
                let srl = Srl { len, bits: bits as u32, xmask: xmask as u32, d: self.pin(cell, "D"), ce: self.pin(cell, "CE") };
                let q_last = (len == 32).then(|| self.out(cell, "Q31"));
                self.clocked.push((self.pin(cell, "CLK"), index));
                let c = Comb::SrlRead { srl: self.srls.len(), addr, q: self.out(cell, "Q"), q_last };
                self.srls.push(srl);
                self.add_comb(index, c);
            }
            k if cells::is_opaque(k) => self.opaque.push(index),
            k => return Err(self.fault(cell, format!("cell type `{k}` is not supported by the switching simulator"))),
        }
        Ok(())
    }
}

impl Simulator {
    /// Compile `netlist`; registers must be clocked by port `clock_port`.
    pub fn build(netlist: &Netlist, clock_port: &str) -> Result<Simulator> {
        let mut b = Builder {
            netlist,
            comb: Vec::new(),
            comb_cell: Vec::new(),
            ffs: Vec::new(),
            srls: Vec::new(),
            clocked: Vec::new(),
            ff_init: Vec::new(),
            tracked: Vec::new(),
            opaque: Vec::new(),
        };
        for (i, cell) in netlist.cells.iter().enumerate() {
            b.add(i as u32, cell)?;
        }
        let n_slots = (netlist.n_bits + FIRST_NET_SLOT) as usize;
        let path = &netlist.path;
        // One driver per net.
        const NONE: u32 = u32::MAX;
        let mut driver = vec![NONE; n_slots];
        let mut driven_by_register = vec![false; n_slots];
        for &(q, _) in &b.ff_init {
            if q >= FIRST_NET_SLOT {
                driven_by_register[q as usize] = true;
            }
        }
        for (i, c) in b.comb.iter().enumerate() {
            for o in c.outputs().into_iter().filter(|&o| o >= FIRST_NET_SLOT) {
                if driver[o as usize] != NONE || driven_by_register[o as usize] {
                    let cell = &netlist.cells[b.comb_cell[i] as usize];
                    return Err(Error::input_at(
                        path,
                        None,
                        Some(&format!("cells.{}", cell.name)),
                        format!("net bit {} has more than one driver", o - FIRST_NET_SLOT),
                    ));
                }
                driver[o as usize] = i as u32;
            }
        }
        // The clock: the port and what buffers pass it on.
        let clk = netlist
            .port(clock_port)
            .filter(|p| p.input && p.bits.len() == 1)
            .ok_or_else(|| Error::input(path, format!("the top module `{}` has no one-bit input port `{clock_port}`", netlist.top)))?;
        let mut clock_slots: HashSet<u32> = HashSet::from([slot(clk.bits[0])]);
        loop {
            let before = clock_slots.len();
            for c in &b.comb {
                if let Comb::Buf { i, out } = c {
                    if clock_slots.contains(i) {
                        clock_slots.insert(*out);
                    }
                }
            }
            if clock_slots.len() == before {
                break;
            }
        }
        for &(c, cell) in &b.clocked {
            if !clock_slots.contains(&c) {
                let cell = &netlist.cells[cell as usize];
                return Err(Error::input_at(
                    path,
                    None,
                    Some(&format!("cells.{}", cell.name)),
                    format!("register not clocked by port `{clock_port}`: only one clock domain is simulated"),
                ));
            }
        }
        // Topological order of the combinational cells (Kahn).
        let n = b.comb.len();
        let mut fanout: Vec<Vec<u32>> = vec![Vec::new(); n];
        let mut indegree = vec![0u32; n];
        for (i, c) in b.comb.iter().enumerate() {
            for input in c.inputs() {
                let d = driver[input as usize];
                if d != NONE {
                    fanout[d as usize].push(i as u32);
                    indegree[i] += 1;
                }
            }
        }
        let mut order: Vec<u32> = (0..n as u32).filter(|&i| indegree[i as usize] == 0).collect();
        let mut head = 0;
        while head < order.len() {
            let i = order[head] as usize;
            head += 1;
            for &j in &fanout[i] {
                indegree[j as usize] -= 1;
                if indegree[j as usize] == 0 {
                    order.push(j);
                }
            }
        }
        if order.len() < n {
            let stuck = (0..n).find(|&i| indegree[i] > 0).expect("a cell left");
            let cell = &netlist.cells[b.comb_cell[stuck] as usize];
            return Err(Error::input_at(
                path,
                None,
                Some(&format!("cells.{}", cell.name)),
                "combinational loop through this cell: cannot levelize",
            ));
        }
        let mut slots: Vec<Option<Comb>> = b.comb.into_iter().map(Some).collect();
        let comb: Vec<Comb> = order.iter().map(|&i| slots[i as usize].take().expect("each once")).collect();
        let mut values = vec![VX; n_slots];
        values[SLOT_ZERO as usize] = V0;
        values[SLOT_ONE as usize] = V1;
        for &(q, init) in &b.ff_init {
            values[q as usize] = init;
        }
        values[SLOT_SINK as usize] = VX;
        let async_ffs = b.ffs.iter().enumerate().filter(|(_, f)| f.asynchronous).map(|(i, _)| i).collect();
        let prev = vec![VX; b.tracked.len()];
        Ok(Simulator { values, comb, ffs: b.ffs, srls: b.srls, async_ffs, tracked: b.tracked, prev, opaque_cells: b.opaque })
    }

    pub fn n_registers(&self) -> usize {
        self.ffs.len() + self.srls.len()
    }

    /// Evaluate every combinational cell (and asynchronous set/reset) for the current inputs.
    pub fn settle(&mut self) {
        for _ in 0..4 {
            for c in &self.comb {
                c.eval(&mut self.values, &self.srls);
            }
            let mut changed = false;
            for &i in &self.async_ffs {
                let f = &self.ffs[i];
                if f.sr_active(&self.values) == V1 && self.values[f.q as usize] != f.sr_value {
                    self.values[f.q as usize] = f.sr_value;
                    changed = true;
                }
            }
            if !changed {
                return;
            }
        }
    }

    /// A rising clock edge: every register takes its next value at once.
    pub fn clock(&mut self) {
        let next_q: Vec<u8> = self.ffs.iter().map(|f| f.next(&self.values)).collect();
        let next_srl: Vec<(u32, u32)> = self.srls.iter().map(|s| s.next(&self.values)).collect();
        for (f, q) in self.ffs.iter().zip(next_q) {
            if f.q >= FIRST_NET_SLOT {
                self.values[f.q as usize] = q;
            }
        }
        for (s, (bits, xmask)) in self.srls.iter_mut().zip(next_srl) {
            s.bits = bits;
            s.xmask = xmask;
        }
    }

    /// Drive an input port's bits with `value` (least significant bit first).
    pub fn set_port(&mut self, bits: &[Bit], value: u64) {
        for (i, b) in bits.iter().enumerate() {
            if let Bit::Net(_) = b {
                self.values[slot(*b) as usize] = ((value >> i.min(63)) & 1) as u8;
            }
        }
    }

    /// A port's value, or `None` when a bit is unknown.
    pub fn read_port(&self, bits: &[Bit]) -> Option<u64> {
        bits.iter().enumerate().try_fold(0u64, |acc, (i, b)| match self.values[slot(*b) as usize] {
            V0 => Some(acc),
            V1 => Some(acc | (1u64 << i.min(63))),
            _ => None,
        })
    }

    /// Count 0→1 and 1→0 changes of every tracked output bit since the last
    /// call (into `per_cell[cell]`), then remember the current values.
    pub fn count_toggles(&mut self, per_cell: &mut [u64]) -> u64 {
        let mut total = 0;
        for (k, &(s, cell)) in self.tracked.iter().enumerate() {
            let now = self.values[s as usize];
            let before = self.prev[k];
            if now != before && now != VX && before != VX {
                per_cell[cell as usize] += 1;
                total += 1;
            }
            self.prev[k] = now;
        }
        total
    }
}
