//! The delay model of `qforge rtl --pipeline-ns T`: how long each kind of
//! operation the generator writes takes on UltraScale+ (the `xcup` family
//! Yosys maps to), so the netlist builder can give every signal an arrival
//! time and cut a register stage where the next operation would end past the
//! clock period. A model, stated here and in docs/rtl-results.md, not a
//! timing analysis: the numbers are round figures of the UltraScale+ data
//! sheet's order (LUT ~0.1 ns, a carry block of 4 bits ~0.05 ns, a net
//! between slices ~0.3 ns), not measured by us.
//!
//! Input: the kind of an operation (and its carry bits). Output: picoseconds.

/// What an operation is, as far as its delay goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Wiring only (a shift, a slice, a sign extension, a constant): no delay.
    Wire,
    /// One LUT level (a ReLU mux, a rounding bit, a selection).
    Lut,
    /// An adder or subtractor with this many carry bits.
    Add(u32),
    /// A comparison of this many bits (a carry chain) and the mux it drives
    /// (a saturating cast, an argmax step).
    Compare(u32),
    /// A table read (the softmax exp and 1/sum ROMs): a stage of its own.
    Rom,
    /// A multiplication (the softmax products): a stage of its own.
    Mul,
}

/// Picoseconds per element of the path.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DelayModel {
    /// The net into a logic level (routing between slices).
    pub route_ps: u32,
    /// One LUT.
    pub lut_ps: u32,
    /// One 4-bit block of the carry chain (CARRY4, half a CARRY8).
    pub carry4_ps: u32,
    /// Clock-to-out of the launching register plus setup of the capturing one.
    pub register_ps: u32,
}

/// The model the generator uses (UltraScale+, speed grade -2).
pub const ULTRASCALE_PLUS: DelayModel = DelayModel { route_ps: 300, lut_ps: 100, carry4_ps: 50, register_ps: 150 };

impl DelayModel {
    /// Delay of `op` alone, from its operands' arrival to its result's.
    /// A table read or a multiplication takes the whole `budget` (a stage).
    pub fn delay(&self, op: Op, budget: u32) -> u32 {
        let level = self.route_ps + self.lut_ps;
        match op {
            Op::Wire => 0,
            Op::Lut => level,
            Op::Add(bits) => level + self.carry4_ps * bits.max(1).div_ceil(4),
            Op::Compare(bits) => 2 * level + self.carry4_ps * bits.max(1).div_ceil(4),
            Op::Rom | Op::Mul => budget,
        }
    }

    /// The time a stage's logic may take at clock period `period_ps`.
    pub fn budget(&self, period_ps: u32) -> u32 {
        period_ps.saturating_sub(self.register_ps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wider_adders_take_longer_and_wires_nothing() {
        let m = ULTRASCALE_PLUS;
        assert_eq!(m.delay(Op::Wire, 4850), 0);
        assert!(m.delay(Op::Add(17), 4850) > m.delay(Op::Add(16), 4850));
        assert_eq!(m.delay(Op::Add(16), 4850), m.delay(Op::Add(13), 4850));
        assert!(m.delay(Op::Compare(8), 4850) > m.delay(Op::Add(8), 4850));
        assert_eq!(m.delay(Op::Rom, 4850), 4850);
        assert_eq!(m.budget(5000), 4850);
    }
}
