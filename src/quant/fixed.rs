//! Bit-exact `ap_fixed<W,I,Q,O>` / `ap_ufixed<W,I,Q,O>` arithmetic on raw integers.
//!
//! A value is a raw two's-complement integer `raw` with `frac = W - I` fractional
//! bits: value = raw · 2^-frac. Casting between types applies the target's
//! quantization (rounding) mode to dropped fractional bits, then its overflow
//! mode to the integer range, exactly as the Xilinx headers do; tests compare
//! against the real `ap_fixed.h` compiled with g++.
use serde::{Deserialize, Serialize};
use std::fmt;

/// `ap_fixed` quantization modes (what happens to fractional bits that are dropped).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Rounding {
    /// Truncate toward minus infinity (the ap_fixed default).
    #[default]
    #[serde(rename = "AP_TRN")]
    Trn,
    /// Truncate toward zero.
    #[serde(rename = "AP_TRN_ZERO")]
    TrnZero,
    /// Round to nearest, ties toward plus infinity.
    #[serde(rename = "AP_RND")]
    Rnd,
    /// Round to nearest, ties toward zero.
    #[serde(rename = "AP_RND_ZERO")]
    RndZero,
    /// Round to nearest, ties toward minus infinity.
    #[serde(rename = "AP_RND_MIN_INF")]
    RndMinInf,
    /// Round to nearest, ties away from zero.
    #[serde(rename = "AP_RND_INF")]
    RndInf,
    /// Round to nearest, ties to even (convergent; what QKeras' `tf.round` does).
    #[serde(rename = "AP_RND_CONV")]
    RndConv,
}

/// `ap_fixed` overflow modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Overflow {
    /// Keep the low W bits (the ap_fixed default).
    #[default]
    #[serde(rename = "AP_WRAP")]
    Wrap,
    /// Clamp to the type's range.
    #[serde(rename = "AP_SAT")]
    Sat,
    /// Overflowing values become zero.
    #[serde(rename = "AP_SAT_ZERO")]
    SatZero,
    /// Clamp to a range symmetric around zero (signed types lose their minimum).
    #[serde(rename = "AP_SAT_SYM")]
    SatSym,
}

impl Rounding {
    pub fn cpp_name(self) -> &'static str {
        match self {
            Rounding::Trn => "AP_TRN",
            Rounding::TrnZero => "AP_TRN_ZERO",
            Rounding::Rnd => "AP_RND",
            Rounding::RndZero => "AP_RND_ZERO",
            Rounding::RndMinInf => "AP_RND_MIN_INF",
            Rounding::RndInf => "AP_RND_INF",
            Rounding::RndConv => "AP_RND_CONV",
        }
    }
    pub const ALL: [Rounding; 7] =
        [Rounding::Trn, Rounding::TrnZero, Rounding::Rnd, Rounding::RndZero, Rounding::RndMinInf, Rounding::RndInf, Rounding::RndConv];
}

impl Overflow {
    pub fn cpp_name(self) -> &'static str {
        match self {
            Overflow::Wrap => "AP_WRAP",
            Overflow::Sat => "AP_SAT",
            Overflow::SatZero => "AP_SAT_ZERO",
            Overflow::SatSym => "AP_SAT_SYM",
        }
    }
    pub const ALL: [Overflow; 4] = [Overflow::Wrap, Overflow::Sat, Overflow::SatZero, Overflow::SatSym];
}

/// A fixed-point type: `width` bits, `integer` of them left of the binary point
/// (may be negative or exceed `width`, as ap_fixed allows), signed or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FixedType {
    pub width: u32,
    pub integer: i32,
    pub signed: bool,
    #[serde(default)]
    pub rounding: Rounding,
    #[serde(default)]
    pub overflow: Overflow,
}

/// Largest width a type may have: raw values are i64, so `ap_fixed` up to 64
/// bits and `ap_ufixed` up to 63 (hls4ml's inference gives dense results of
/// 57 bits for a float CNN); dense sums run in i128.
pub const MAX_WIDTH: u32 = 64;
/// Widest type the convolution and pooling arithmetic takes: their raw
/// values and aligned sums stay in i64.
pub const MAX_I64_ARITH_WIDTH: u32 = 62;

impl FixedType {
    pub const fn new(width: u32, integer: i32, signed: bool) -> Self {
        FixedType { width, integer, signed, rounding: Rounding::Trn, overflow: Overflow::Wrap }
    }
    pub const fn signed(width: u32, integer: i32) -> Self {
        Self::new(width, integer, true)
    }
    pub const fn unsigned(width: u32, integer: i32) -> Self {
        Self::new(width, integer, false)
    }
    pub const fn with_modes(mut self, rounding: Rounding, overflow: Overflow) -> Self {
        self.rounding = rounding;
        self.overflow = overflow;
        self
    }

    /// Number of fractional bits (W - I); negative when the LSB weighs more than 1.
    pub fn frac(&self) -> i32 {
        self.width as i32 - self.integer
    }

    pub fn min_raw(&self) -> i64 {
        if self.signed {
            (-(1i128 << (self.width - 1))) as i64
        } else {
            0
        }
    }

    /// (An `ap_ufixed` of 64 bits is refused where types are read: its top code is not an i64.)
    pub fn max_raw(&self) -> i64 {
        ((1i128 << (self.width - self.signed as u32)) - 1) as i64
    }

    /// The real value of a raw integer of this type.
    pub fn to_f64(&self, raw: i64) -> f64 {
        raw as f64 * (-self.frac() as f64).exp2()
    }

    /// The smallest step of this type (value of one LSB).
    pub fn lsb(&self) -> f64 {
        (-self.frac() as f64).exp2()
    }

    /// Convert a raw value with `from_frac` fractional bits into this type,
    /// applying this type's rounding and overflow modes (ap_fixed assignment).
    pub fn cast_raw(&self, raw: i64, from_frac: i32) -> i64 {
        let shift = from_frac - self.frac();
        // Fast path in i64 for the common case (every layer cast of a network).
        if (-30..63).contains(&shift) && raw.unsigned_abs() < (1u64 << 32) {
            let v = if shift > 0 { round_shift_i64(raw, shift as u32, self.rounding) } else { raw << -shift };
            let (min, max) = (self.min_raw(), self.max_raw());
            if v >= min && v <= max && !(self.overflow == Overflow::SatSym && self.signed && v == min) {
                return v;
            }
            return self.apply_overflow(v as i128);
        }
        self.cast_raw_wide(raw as i128, from_frac)
    }

    /// [`cast_raw`](Self::cast_raw) of a raw value beyond i64 (the exact sums
    /// and products of wide layers).
    pub fn cast_raw_wide(&self, raw: i128, from_frac: i32) -> i64 {
        let shift = from_frac - self.frac();
        if shift >= 0 {
            return self.apply_overflow(round_shift(raw, shift as u32, self.rounding));
        }
        let left = (-shift) as u32;
        let shifted = raw.wrapping_shl(left.min(127));
        if left < 127 && shifted >> left == raw {
            return self.apply_overflow(shifted);
        }
        // Beyond i128: the low bits wrap (all zero once shifted past the width);
        // a saturating mode only needs the sign.
        match self.overflow {
            Overflow::Wrap if left >= 128 => 0,
            Overflow::Wrap => wrap(shifted, self.width, self.signed),
            _ => self.apply_overflow(if raw < 0 { i128::MIN } else { i128::MAX }),
        }
    }

    fn apply_overflow(&self, value: i128) -> i64 {
        let (min, max) = (self.min_raw() as i128, self.max_raw() as i128);
        if value >= min && value <= max {
            // ap_fixed's AP_SAT_SYM also forbids the most negative code.
            if self.overflow == Overflow::SatSym && self.signed && value == min {
                return (min + 1) as i64;
            }
            return value as i64;
        }
        match self.overflow {
            Overflow::Wrap => wrap(value, self.width, self.signed),
            Overflow::Sat => value.clamp(min, max) as i64,
            Overflow::SatZero => 0,
            Overflow::SatSym => {
                if self.signed {
                    value.clamp(-max, max) as i64
                } else {
                    value.clamp(min, max) as i64
                }
            }
        }
    }

    /// Convert a real number into this type (as assigning a `double` to an ap_fixed:
    /// the exact binary value of the double is rounded with this type's mode).
    pub fn from_f64(&self, x: f64) -> i64 {
        if x.is_nan() {
            return 0;
        }
        // Scaling by powers of two is exact in f64, and so is converting a value
        // below 2^122 to i128: keep 32 extra fractional bits for the rounding.
        const EXTRA: i32 = 32;
        let fine = x * ((self.frac() + EXTRA) as f64).exp2();
        if fine.abs() >= 2f64.powi(122) {
            // Far outside any type here: saturate (wrapping it is meaningless).
            let v: i128 = if fine > 0.0 { i128::MAX >> 8 } else { -(i128::MAX >> 8) };
            return self.apply_overflow(v);
        }
        // One more bit, set when bits were dropped, keeps ties and exact values apart.
        let whole = fine.trunc();
        let sticky = if fine != whole { fine.signum() as i128 } else { 0 };
        self.apply_overflow(round_shift(((whole as i128) << 1) + sticky, EXTRA as u32 + 1, self.rounding))
    }

    /// The C++ spelling: `ap_fixed<W,I>`, `ap_ufixed<W,I,AP_RND_CONV,AP_SAT>`.
    pub fn cpp(&self) -> String {
        let base = if self.signed { "ap_fixed" } else { "ap_ufixed" };
        if self.overflow != Overflow::Wrap {
            format!("{base}<{},{},{},{}>", self.width, self.integer, self.rounding.cpp_name(), self.overflow.cpp_name())
        } else if self.rounding != Rounding::Trn {
            format!("{base}<{},{},{}>", self.width, self.integer, self.rounding.cpp_name())
        } else {
            format!("{base}<{},{}>", self.width, self.integer)
        }
    }

    /// Smallest type that holds every value of `self` and `other` exactly.
    pub fn union(&self, other: &FixedType) -> FixedType {
        let signed = self.signed || other.signed;
        let int_of = |t: &FixedType| t.integer + (signed && !t.signed) as i32;
        let integer = int_of(self).max(int_of(other));
        let frac = self.frac().max(other.frac());
        FixedType::new((integer + frac) as u32, integer, signed)
    }
}

impl fmt::Display for FixedType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.cpp())
    }
}

/// Keep the low `width` bits of `value`, sign-extending when `signed`.
fn wrap(value: i128, width: u32, signed: bool) -> i64 {
    let mask: i128 = (1i128 << width) - 1;
    let low = value & mask;
    if signed && (low >> (width - 1)) & 1 == 1 {
        (low - (1i128 << width)) as i64
    } else {
        low as i64
    }
}

/// A precomputed cast from one fixed frac into a type, for hot loops: the
/// common in-range case is a shift, a rounding decision and a compare.
#[derive(Clone, Copy, Debug)]
pub struct Caster {
    to: FixedType,
    from_frac: i32,
    shift: u32,
    min: i64,
    max: i64,
}

impl Caster {
    pub fn new(to: FixedType, from_frac: i32) -> Caster {
        let shift = (from_frac - to.frac()).max(0) as u32;
        // AP_SAT_SYM forbids the most negative code: leave it to the slow path.
        let sym = to.overflow == Overflow::SatSym && to.signed;
        Caster { to, from_frac, shift, min: to.min_raw() + sym as i64, max: to.max_raw() }
    }

    /// Same result as `to.cast_raw(raw, from_frac)`.
    #[inline(always)]
    pub fn cast(&self, raw: i64) -> i64 {
        if self.shift > 0 && self.shift < 63 && raw.unsigned_abs() < (1u64 << 62) {
            let v = round_shift_i64(raw, self.shift, self.to.rounding);
            if v >= self.min && v <= self.max {
                return v;
            }
            if self.to.overflow == Overflow::Sat {
                return v.clamp(self.min, self.max);
            }
        }
        self.to.cast_raw(raw, self.from_frac)
    }
}

impl Caster {
    /// Cast a whole slice (optionally through a ReLU first). The rounding and
    /// overflow modes are matched once, outside the loop, for the common cases.
    pub fn cast_slice(&self, input: &[i64], out: &mut [i64], relu: bool) {
        let simple = self.shift > 0 && self.shift < 32 && self.to.overflow == Overflow::Sat;
        let bound = 1i64 << 40;
        if simple && input.iter().all(|v| v.abs() < bound) {
            let (shift, min, max) = (self.shift, self.min, self.max);
            let half = 1i64 << (shift - 1);
            let mask = (1i64 << shift) - 1;
            match self.to.rounding {
                Rounding::RndConv => {
                    for (o, &a) in out.iter_mut().zip(input) {
                        let a = if relu { a.max(0) } else { a };
                        let floor = a >> shift;
                        let rem = a & mask;
                        let up = (rem > half) | ((rem == half) & (floor & 1 == 1));
                        *o = (floor + up as i64).clamp(min, max);
                    }
                    return;
                }
                Rounding::Trn => {
                    for (o, &a) in out.iter_mut().zip(input) {
                        let a = if relu { a.max(0) } else { a };
                        *o = (a >> shift).clamp(min, max);
                    }
                    return;
                }
                Rounding::Rnd => {
                    for (o, &a) in out.iter_mut().zip(input) {
                        let a = if relu { a.max(0) } else { a };
                        *o = ((a + half) >> shift).clamp(min, max);
                    }
                    return;
                }
                _ => {}
            }
        }
        for (o, &a) in out.iter_mut().zip(input) {
            *o = self.cast(if relu { a.max(0) } else { a });
        }
    }
}

/// [`round_shift`] for i64 and 0 < shift < 63 (no i128 arithmetic).
#[inline(always)]
fn round_shift_i64(value: i64, shift: u32, rounding: Rounding) -> i64 {
    let floor = value >> shift;
    let rem = value & ((1i64 << shift) - 1);
    if rem == 0 {
        return floor;
    }
    let half = 1i64 << (shift - 1);
    let negative = value < 0;
    let up = match rounding {
        Rounding::Trn => false,
        Rounding::TrnZero => negative,
        _ if rem != half => rem > half,
        Rounding::Rnd => true,
        Rounding::RndZero => negative,
        Rounding::RndMinInf => false,
        Rounding::RndInf => !negative,
        Rounding::RndConv => floor & 1 == 1,
    };
    floor + up as i64
}

/// Divide by 2^shift with the given rounding of the dropped bits.
fn round_shift(value: i128, shift: u32, rounding: Rounding) -> i128 {
    // Every i128 is below half of 2^128: only the sign is left.
    if shift >= 128 {
        return match rounding {
            Rounding::TrnZero | Rounding::RndZero | Rounding::RndConv | Rounding::Rnd | Rounding::RndInf | Rounding::RndMinInf => 0,
            Rounding::Trn => {
                if value < 0 {
                    -1
                } else {
                    0
                }
            }
        };
    }
    let floor = value >> shift;
    let rem = value - (floor << shift); // 0 <= rem < 2^shift
    if rem == 0 {
        return floor;
    }
    let half = 1i128 << (shift - 1);
    let negative = value < 0;
    match rounding {
        Rounding::Trn => floor,
        Rounding::TrnZero => {
            if negative {
                floor + 1
            } else {
                floor
            }
        }
        _ if rem > half => floor + 1,
        _ if rem < half => floor,
        // Exactly half-way.
        Rounding::Rnd => floor + 1,
        Rounding::RndZero => {
            if negative {
                floor + 1
            } else {
                floor
            }
        }
        Rounding::RndMinInf => floor,
        Rounding::RndInf => {
            if negative {
                floor
            } else {
                floor + 1
            }
        }
        Rounding::RndConv => {
            if floor & 1 == 0 {
                floor
            } else {
                floor + 1
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_modes_at_ties() {
        // 2.5 and -2.5 in a type with 1 fractional bit, cast to 0 fractional bits.
        let t = |r| FixedType::signed(8, 8).with_modes(r, Overflow::Wrap);
        let cases = [
            (Rounding::Trn, 2, -3),
            (Rounding::TrnZero, 2, -2),
            (Rounding::Rnd, 3, -2),
            (Rounding::RndZero, 2, -2),
            (Rounding::RndMinInf, 2, -3),
            (Rounding::RndInf, 3, -3),
            (Rounding::RndConv, 2, -2),
        ];
        for (mode, pos, neg) in cases {
            assert_eq!(t(mode).cast_raw(5, 1), pos, "{mode:?} of 2.5");
            assert_eq!(t(mode).cast_raw(-5, 1), neg, "{mode:?} of -2.5");
        }
        // 3.5 with convergent rounding goes to 4 (even).
        assert_eq!(t(Rounding::RndConv).cast_raw(7, 1), 4);
    }

    #[test]
    fn caster_equals_cast_raw() {
        for r in Rounding::ALL {
            for o in Overflow::ALL {
                for (w, i, signed) in [(6, 0, false), (6, 1, true), (18, 7, true), (4, 4, true)] {
                    let t = FixedType::new(w, i, signed).with_modes(r, o);
                    for from_frac in [t.frac(), t.frac() + 1, t.frac() + 5, t.frac() - 2] {
                        let c = Caster::new(t, from_frac);
                        let raws: Vec<i64> = (-3000..3000).collect();
                        let mut plain = vec![0; raws.len()];
                        let mut relu = vec![0; raws.len()];
                        c.cast_slice(&raws, &mut plain, false);
                        c.cast_slice(&raws, &mut relu, true);
                        for (k, &raw) in raws.iter().enumerate() {
                            let want = t.cast_raw(raw, from_frac);
                            assert_eq!(c.cast(raw), want, "{t} from frac {from_frac} raw {raw}");
                            assert_eq!(plain[k], want, "slice: {t} from frac {from_frac} raw {raw}");
                            assert_eq!(relu[k], t.cast_raw(raw.max(0), from_frac), "relu slice: {t} raw {raw}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn overflow_modes() {
        let t = |o| FixedType::signed(4, 4).with_modes(Rounding::Trn, o);
        assert_eq!(t(Overflow::Wrap).cast_raw(9, 0), -7);
        assert_eq!(t(Overflow::Sat).cast_raw(9, 0), 7);
        assert_eq!(t(Overflow::Sat).cast_raw(-20, 0), -8);
        assert_eq!(t(Overflow::SatZero).cast_raw(-20, 0), 0);
        assert_eq!(t(Overflow::SatSym).cast_raw(-20, 0), -7);
        assert_eq!(t(Overflow::SatSym).cast_raw(-8, 0), -7);
        let u = FixedType::unsigned(6, 0).with_modes(Rounding::RndConv, Overflow::Sat);
        assert_eq!(u.cast_raw(-3, 6), 0);
        assert_eq!(u.cast_raw(200, 6), 63);
    }

    #[test]
    fn from_f64_matches_definition() {
        let t = FixedType::signed(6, 1).with_modes(Rounding::RndConv, Overflow::Sat);
        assert_eq!(t.from_f64(0.5), 16);
        assert_eq!(t.from_f64(1.0 / 64.0), 0); // 0.5 LSB ties to even 0
        assert_eq!(t.from_f64(3.0 / 64.0), 2); // 1.5 LSB ties to even 2
        assert_eq!(t.from_f64(5.0), 31);
        assert_eq!(t.from_f64(-5.0), -32);
        let plain = FixedType::signed(16, 6);
        assert_eq!(plain.from_f64(-0.0001), -1); // AP_TRN floors
        assert_eq!(plain.to_f64(plain.from_f64(1.25)), 1.25);
        // A hair above a tie rounds up, even when the hair is below 2^-32 LSB.
        let r = FixedType::signed(8, 8).with_modes(Rounding::RndConv, Overflow::Wrap);
        assert_eq!(r.from_f64(2.5), 2);
        assert_eq!(r.from_f64(2.5 + 1e-12), 3);
        assert_eq!(r.from_f64(-2.5 - 1e-12), -3);
    }

    #[test]
    fn cpp_spelling() {
        assert_eq!(FixedType::signed(27, 12).cpp(), "ap_fixed<27,12>");
        assert_eq!(FixedType::unsigned(6, 0).with_modes(Rounding::RndConv, Overflow::Sat).cpp(), "ap_ufixed<6,0,AP_RND_CONV,AP_SAT>");
    }
}
