//! Xilinx primitive semantics in three-valued logic (0, 1, X), as Yosys'
//! `techlibs/xilinx/cells_sim.v` defines them: LUT1–LUT6, MUXF7/8/9, INV,
//! buffers, CARRY4/CARRY8 (combinational), FDRE/FDSE/FDCE/FDPE and
//! SRL16E/SRLC32E (clocked). DSP and block-RAM primitives are opaque: their
//! outputs stay X (see [`is_opaque`]).
//!
//! Values live in one array indexed by slot: 0 = constant 0, 1 = constant 1,
//! 2 = constant X, 3 = a sink for unconnected outputs, then one slot per bit id.
pub const V0: u8 = 0;
pub const V1: u8 = 1;
pub const VX: u8 = 2;

pub const SLOT_ZERO: u32 = 0;
pub const SLOT_ONE: u32 = 1;
pub const SLOT_X: u32 = 2;
pub const SLOT_SINK: u32 = 3;
pub const FIRST_NET_SLOT: u32 = 4;

/// Cell types whose outputs the simulator leaves unknown (X).
pub fn is_opaque(kind: &str) -> bool {
    kind.starts_with("DSP48") || kind.starts_with("RAMB") || kind.starts_with("FIFO") || kind == "URAM288" || kind == "URAM288_BASE"
}

#[inline]
pub fn not(a: u8) -> u8 {
    if a == VX {
        VX
    } else {
        a ^ 1
    }
}

#[inline]
pub fn xor(a: u8, b: u8) -> u8 {
    if a == VX || b == VX {
        VX
    } else {
        a ^ b
    }
}

#[inline]
pub fn or(a: u8, b: u8) -> u8 {
    if a == V1 || b == V1 {
        V1
    } else if a == V0 && b == V0 {
        V0
    } else {
        VX
    }
}

/// The value both branches agree on, else X.
#[inline]
pub fn merge(a: u8, b: u8) -> u8 {
    if a == b {
        a
    } else {
        VX
    }
}

/// `s ? b : a`
#[inline]
pub fn mux(s: u8, a: u8, b: u8) -> u8 {
    match s {
        V0 => a,
        V1 => b,
        _ => merge(a, b),
    }
}

/// Bit `index` of a table with known bits `table` and unknown bits `xmask`,
/// where `index` may have unknown bits (`index_x`): the value if every
/// candidate entry agrees, else X.
pub fn table_lookup(table: u64, xmask: u64, index: u32, index_x: u32) -> u8 {
    let entry = |i: u32| if (xmask >> i) & 1 == 1 { VX } else { ((table >> i) & 1) as u8 };
    if index_x == 0 {
        return entry(index);
    }
    let mut result = None;
    // Enumerate the sub-masks of index_x.
    let mut sub = index_x;
    loop {
        let v = entry((index & !index_x) | sub);
        match result {
            None => result = Some(v),
            Some(r) if r != v => return VX,
            _ => {}
        }
        if v == VX {
            return VX;
        }
        if sub == 0 {
            break;
        }
        sub = (sub - 1) & index_x;
    }
    result.unwrap_or(VX)
}

/// A combinational cell, its pins as slots.
#[derive(Clone, Debug)]
pub enum Comb {
    /// O = INIT[{I(k-1)..I0}]
    Lut {
        inputs: Vec<u32>,
        init: u64,
        xinit: u64,
        out: u32,
    },
    /// O = S ? I1 : I0
    Mux {
        i0: u32,
        i1: u32,
        s: u32,
        out: u32,
    },
    Inv {
        i: u32,
        out: u32,
    },
    Buf {
        i: u32,
        out: u32,
    },
    /// CARRY4 (`ci_top` None, `cyinit` Some) or CARRY8 (`cyinit` None; `ci_top` Some when DUAL_CY4).
    Carry {
        ci: u32,
        cyinit: Option<u32>,
        ci_top: Option<u32>,
        di: Vec<u32>,
        s: Vec<u32>,
        o: Vec<u32>,
        co: Vec<u32>,
    },
    /// The read port of shift register `srl`: Q = r[A], Q31 = r[len-1].
    SrlRead {
        srl: usize,
        addr: Vec<u32>,
        q: u32,
        q_last: Option<u32>,
    },
}

impl Comb {
    pub fn inputs(&self) -> Vec<u32> {
        match self {
            Comb::Lut { inputs, .. } => inputs.clone(),
            Comb::Mux { i0, i1, s, .. } => vec![*i0, *i1, *s],
            Comb::Inv { i, .. } | Comb::Buf { i, .. } => vec![*i],
            Comb::Carry { ci, cyinit, ci_top, di, s, .. } => {
                let mut v = vec![*ci];
                v.extend(cyinit.iter().chain(ci_top.iter()).chain(di.iter()).chain(s.iter()));
                v
            }
            Comb::SrlRead { addr, .. } => addr.clone(),
        }
    }

    pub fn outputs(&self) -> Vec<u32> {
        match self {
            Comb::Lut { out, .. } | Comb::Mux { out, .. } | Comb::Inv { out, .. } | Comb::Buf { out, .. } => vec![*out],
            Comb::Carry { o, co, .. } => o.iter().chain(co.iter()).copied().collect(),
            Comb::SrlRead { q, q_last, .. } => std::iter::once(*q).chain(q_last.iter().copied()).collect(),
        }
    }

    #[inline]
    pub fn eval(&self, v: &mut [u8], srls: &[Srl]) {
        match self {
            Comb::Lut { inputs, init, xinit, out } => {
                let (mut index, mut index_x) = (0u32, 0u32);
                for (k, &slot) in inputs.iter().enumerate() {
                    match v[slot as usize] {
                        V0 => {}
                        V1 => index |= 1 << k,
                        _ => index_x |= 1 << k,
                    }
                }
                v[*out as usize] = table_lookup(*init, *xinit, index, index_x);
            }
            Comb::Mux { i0, i1, s, out } => v[*out as usize] = mux(v[*s as usize], v[*i0 as usize], v[*i1 as usize]),
            Comb::Inv { i, out } => v[*out as usize] = not(v[*i as usize]),
            Comb::Buf { i, out } => v[*out as usize] = v[*i as usize],
            Comb::Carry { ci, cyinit, ci_top, di, s, o, co } => {
                let mut c = match cyinit {
                    Some(init) => or(v[*ci as usize], v[*init as usize]),
                    None => v[*ci as usize],
                };
                for i in 0..s.len() {
                    if i == 4 {
                        if let Some(top) = ci_top {
                            c = v[*top as usize];
                        }
                    }
                    let si = v[s[i] as usize];
                    v[o[i] as usize] = xor(si, c);
                    c = mux(si, v[di[i] as usize], c);
                    v[co[i] as usize] = c;
                }
            }
            Comb::SrlRead { srl, addr, q, q_last } => {
                let r = &srls[*srl];
                let (mut index, mut index_x) = (0u32, 0u32);
                for (k, &slot) in addr.iter().enumerate() {
                    match v[slot as usize] {
                        V0 => {}
                        V1 => index |= 1 << k,
                        _ => index_x |= 1 << k,
                    }
                }
                v[*q as usize] = table_lookup(r.bits as u64, r.xmask as u64, index, index_x);
                if let Some(last) = q_last {
                    v[*last as usize] = table_lookup(r.bits as u64, r.xmask as u64, r.len - 1, 0);
                }
            }
        }
    }
}

/// A D flip-flop with clock enable and a set or reset (FDRE/FDSE synchronous,
/// FDCE/FDPE asynchronous), `IS_*_INVERTED` applied.
#[derive(Clone, Debug)]
pub struct Ff {
    pub d: u32,
    pub ce: u32,
    /// R, S, CLR or PRE.
    pub sr: u32,
    pub sr_inverted: bool,
    pub d_inverted: bool,
    /// The value the set/reset pin forces (0 for R/CLR, 1 for S/PRE).
    pub sr_value: u8,
    pub asynchronous: bool,
    pub q: u32,
}

impl Ff {
    /// Is the set/reset pin active (0, 1 or X)?
    #[inline]
    pub fn sr_active(&self, v: &[u8]) -> u8 {
        let a = v[self.sr as usize];
        if self.sr_inverted {
            not(a)
        } else {
            a
        }
    }

    /// Q after a rising clock edge.
    #[inline]
    pub fn next(&self, v: &[u8]) -> u8 {
        let d = v[self.d as usize];
        let d = if self.d_inverted { not(d) } else { d };
        let held = v[self.q as usize];
        let loaded = mux(v[self.ce as usize], held, d);
        mux(self.sr_active(v), loaded, self.sr_value)
    }
}

/// A shift register (SRL16E: 16 bits, SRLC32E: 32 bits): on a rising edge
/// with CE, r <= {r[len-2:0], D}.
#[derive(Clone, Debug)]
pub struct Srl {
    pub len: u32,
    pub bits: u32,
    /// Unknown bits of the register.
    pub xmask: u32,
    pub d: u32,
    pub ce: u32,
}

impl Srl {
    /// The register after a rising clock edge, as (bits, xmask).
    pub fn next(&self, v: &[u8]) -> (u32, u32) {
        let mask = if self.len >= 32 { u32::MAX } else { (1u32 << self.len) - 1 };
        let d = v[self.d as usize];
        let shifted_bits = ((self.bits << 1) | (d == V1) as u32) & mask;
        let shifted_x = ((self.xmask << 1) | (d == VX) as u32) & mask;
        match v[self.ce as usize] {
            V0 => (self.bits, self.xmask),
            V1 => (shifted_bits, shifted_x),
            _ => {
                let differ = (self.bits ^ shifted_bits) | self.xmask | shifted_x;
                (self.bits & !differ, differ & mask)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize) -> Vec<u8> {
        let mut v = vec![VX; n];
        v[0] = V0;
        v[1] = V1;
        v
    }

    #[test]
    fn lut_indexes_init_by_inputs_and_resolves_x_when_it_can() {
        // LUT2 INIT 4'b0110 = XOR.
        let lut = Comb::Lut { inputs: vec![4, 5], init: 0b0110, xinit: 0, out: 6 };
        let mut v = values(7);
        for (a, b, want) in [(0, 0, 0), (1, 0, 1), (0, 1, 1), (1, 1, 0)] {
            v[4] = a;
            v[5] = b;
            lut.eval(&mut v, &[]);
            assert_eq!(v[6], want, "{a} ^ {b}");
        }
        // AND (INIT 4'b1000) with one input 0 is 0 whatever the other; XOR with an X is X.
        let and = Comb::Lut { inputs: vec![4, 5], init: 0b1000, xinit: 0, out: 6 };
        v[4] = V0;
        v[5] = VX;
        and.eval(&mut v, &[]);
        assert_eq!(v[6], V0);
        lut.eval(&mut v, &[]);
        assert_eq!(v[6], VX);
    }

    #[test]
    fn carry4_adds() {
        // a + b on a CARRY4: S = a ^ b (propagate), DI = a (generate when S = 0), CI = 0, CYINIT = 0.
        let (a0, b0) = (4u32, 8u32);
        let o: Vec<u32> = (12..16).collect();
        let co: Vec<u32> = (16..20).collect();
        let s: Vec<u32> = (20..24).collect();
        let carry = Comb::Carry {
            ci: SLOT_ZERO,
            cyinit: Some(SLOT_ZERO),
            ci_top: None,
            di: (a0..a0 + 4).collect(),
            s: s.clone(),
            o: o.clone(),
            co: co.clone(),
        };
        let mut v = values(24);
        for a in 0..16u32 {
            for b in 0..16u32 {
                for i in 0..4 {
                    v[(a0 + i) as usize] = ((a >> i) & 1) as u8;
                    v[(b0 + i) as usize] = ((b >> i) & 1) as u8;
                    v[s[i as usize] as usize] = (((a ^ b) >> i) & 1) as u8;
                }
                carry.eval(&mut v, &[]);
                let sum: u32 = (0..4).map(|i| (v[o[i] as usize] as u32) << i).sum::<u32>() | ((v[co[3] as usize] as u32) << 4);
                assert_eq!(sum, a + b, "{a} + {b}");
            }
        }
        // CYINIT = 1 adds one (a - b as a + !b + 1 in hardware).
        let inc = Comb::Carry {
            ci: SLOT_ZERO,
            cyinit: Some(SLOT_ONE),
            ci_top: None,
            di: vec![SLOT_ZERO; 4],
            s: s.clone(),
            o: o.clone(),
            co: co.clone(),
        };
        for i in 0..4 {
            v[s[i] as usize] = [1, 0, 1, 0][i]; // 5
        }
        inc.eval(&mut v, &[]);
        assert_eq!((0..4).map(|i| (v[o[i] as usize] as u32) << i).sum::<u32>(), 6);
    }

    #[test]
    fn fdre_resets_and_honours_ce() {
        let ff = Ff { d: 4, ce: 5, sr: 6, sr_inverted: false, d_inverted: false, sr_value: V0, asynchronous: false, q: 7 };
        let mut v = values(8);
        v[7] = V1;
        v[4] = V1;
        v[5] = V0;
        v[6] = V0;
        assert_eq!(ff.next(&v), V1, "CE low holds");
        v[7] = V0;
        assert_eq!(ff.next(&v), V0, "CE low holds 0 too");
        v[5] = V1;
        assert_eq!(ff.next(&v), V1, "CE high loads D");
        v[6] = V1;
        assert_eq!(ff.next(&v), V0, "R wins over CE");
        let fdse = Ff { sr_value: V1, sr_inverted: true, ..ff };
        v[6] = V0;
        v[4] = V0;
        assert_eq!(fdse.next(&v), V1, "inverted S active low sets");
        v[6] = VX;
        v[7] = V1;
        v[4] = V1;
        assert_eq!(fdse.next(&v), V1, "unknown S, but both outcomes 1");
    }

    #[test]
    fn srl16e_delays_by_address_plus_one() {
        let mut srl = Srl { len: 16, bits: 0, xmask: 0, d: 4, ce: SLOT_ONE };
        let read = Comb::SrlRead { srl: 0, addr: vec![5, 6, 7, 8], q: 9, q_last: None };
        let mut v = values(10);
        // A = 2: Q is D delayed by three clocks.
        for (k, &slot) in [5usize, 6, 7, 8].iter().enumerate() {
            v[slot] = ((2 >> k) & 1) as u8;
        }
        let input = [1u8, 0, 1, 1, 0, 0, 1, 0, 1, 1];
        let mut seen = Vec::new();
        for &d in &input {
            v[4] = d;
            read.eval(&mut v, std::slice::from_ref(&srl));
            seen.push(v[9]);
            let (b, x) = srl.next(&v);
            srl.bits = b;
            srl.xmask = x;
        }
        assert_eq!(&seen[3..], &input[..input.len() - 3]);
        assert_eq!(&seen[..3], &[0, 0, 0], "INIT 0");
    }
}
