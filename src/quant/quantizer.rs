//! QKeras quantizers: `quantized_bits`, `quantized_relu` (also leaky),
//! `quantized_relu_po2`, `quantized_po2`, `binary`, `ternary` and unquantized floats, with QKeras' forward semantics
//! (at inference) and hls4ml's type mapping.
pub use super::alpha::Alpha;
use super::fixed::{FixedType, Overflow, Rounding};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "class", rename_all = "snake_case")]
pub enum Quantizer {
    /// No quantization (float). Not synthesizable as is.
    Float,
    /// `quantized_bits(bits, integer, symmetric, keep_negative, alpha)`.
    QuantizedBits { bits: u32, integer: i32, symmetric: bool, keep_negative: bool, alpha: Alpha },
    /// `quantized_relu(bits, integer)`.
    QuantizedRelu { bits: u32, integer: i32 },
    /// `quantized_relu(bits, integer, negative_slope)` with `0 < negative_slope <= 1`:
    /// a leaky ReLU on the signed grid 2^(integer+1-bits) (QKeras keeps one bit for the sign),
    /// positive values clipped at 2^integer minus a step, negative ones
    /// `round(slope·x)` clipped at `-slope·2^integer`.
    LeakyRelu { bits: u32, integer: i32, negative_slope: f64 },
    /// `quantized_relu_po2(bits, max_value, negative_slope)`: 2^round(log2(relu(x))),
    /// the exponent clipped to QKeras' range (never 0: 0 becomes the smallest power);
    /// with a power-of-two `negative_slope`, negative x give -2^round(log2(slope·|x|)).
    ReluPo2 { bits: u32, max_value: Option<f64>, negative_slope: f64 },
    /// `quantized_po2(bits, max_value)`.
    QuantizedPo2 { bits: u32, max_value: Option<f64> },
    /// `binary(use_01, alpha=1)`: sign(x) with sign(0) = +1, so ±1, or {0, 1}
    /// with `use_01`. `stochastic_binary` evaluates the same at inference.
    Binary { use_01: bool },
    /// `ternary(alpha=1, threshold)`: sign(x) where |x| >= threshold, else 0,
    /// so {-1, 0, +1} (QKeras' default threshold 0.33). `stochastic_ternary`
    /// evaluates the same at inference.
    Ternary { threshold: f64 },
}

/// QKeras' threshold of `ternary` when none is given.
pub const TERNARY_DEFAULT_THRESHOLD: f64 = 0.33;

impl Quantizer {
    pub fn bits(bits: u32, integer: i32) -> Self {
        Quantizer::QuantizedBits { bits, integer, symmetric: false, keep_negative: true, alpha: Alpha::One }
    }
    pub fn relu(bits: u32, integer: i32) -> Self {
        Quantizer::QuantizedRelu { bits, integer }
    }

    pub fn is_float(&self) -> bool {
        matches!(self, Quantizer::Float)
    }

    /// Number of bits a value quantized this way occupies (32 for float).
    pub fn bit_width(&self) -> u32 {
        match self {
            Quantizer::Float => 32,
            Quantizer::QuantizedBits { bits, .. }
            | Quantizer::QuantizedRelu { bits, .. }
            | Quantizer::QuantizedPo2 { bits, .. }
            | Quantizer::LeakyRelu { bits, .. }
            | Quantizer::ReluPo2 { bits, .. } => *bits,
            Quantizer::Binary { .. } => 1,
            Quantizer::Ternary { .. } => 2,
        }
    }

    /// Binary and ternary quantizers: weights only (a multiplexer in hardware).
    pub fn is_binary_or_ternary(&self) -> bool {
        matches!(self, Quantizer::Binary { .. } | Quantizer::Ternary { .. })
    }

    /// Check the parameters; the message says what to change.
    pub fn validate(&self) -> Result<(), String> {
        let check_bits = |bits: u32| {
            if bits == 0 || bits > 32 {
                Err(format!("bits must be between 1 and 32, got {bits}"))
            } else {
                Ok(())
            }
        };
        match self {
            Quantizer::Float => Ok(()),
            Quantizer::QuantizedBits { bits, integer, keep_negative, alpha, symmetric } => {
                check_bits(*bits)?;
                let magnitude_bits = *bits as i32 - *keep_negative as i32;
                if *integer < 0 || *integer > magnitude_bits {
                    return Err(format!(
                        "integer bits ({integer}) must be between 0 and bits{} ({magnitude_bits}): use more bits or fewer integer bits",
                        if *keep_negative { " - 1 for the sign" } else { "" }
                    ));
                }
                if *alpha == Alpha::AutoPo2 && !*symmetric && *bits < 2 {
                    return Err("alpha=\"auto_po2\" needs at least 2 bits".into());
                }
                if *alpha == Alpha::Auto && (*bits < 2 || !*keep_negative) {
                    return Err("alpha=\"auto\" needs at least 2 bits and keep_negative".into());
                }
                if matches!(alpha, Alpha::Number(a) if !(a.is_finite() && *a > 0.0)) {
                    return Err("a numeric alpha must be a positive finite number".into());
                }
                Ok(())
            }
            Quantizer::QuantizedRelu { bits, integer } => {
                check_bits(*bits)?;
                if *integer < 0 || *integer > *bits as i32 {
                    return Err(format!("integer bits ({integer}) must be between 0 and bits ({bits})"));
                }
                Ok(())
            }
            Quantizer::LeakyRelu { bits, integer, negative_slope } => {
                check_bits(*bits)?;
                if *bits < 2 || *integer < 0 || *integer > *bits as i32 - 1 {
                    return Err(format!(
                        "a leaky quantized_relu needs bits >= 2 and integer bits ({integer}) between 0 and bits - 1 for the sign ({})",
                        *bits as i32 - 1
                    ));
                }
                // QKeras asserts a power of two; below 2^-(bits-1) its lowest output falls off the grid.
                let lowest = -((*bits - 1) as f64);
                if !(*negative_slope > 0.0
                    && *negative_slope <= 1.0
                    && negative_slope.log2().fract() == 0.0
                    && negative_slope.log2() >= lowest)
                {
                    return Err(format!(
                        "negative_slope of a quantized_relu must be a power of two between 2^{lowest} and 1, got {negative_slope}"
                    ));
                }
                Ok(())
            }
            Quantizer::ReluPo2 { bits, max_value, negative_slope } => {
                check_bits(*bits)?;
                if *bits > 6 {
                    return Err(format!("quantized_relu_po2 with {bits} bits spans exponents beyond 2^±32: use at most 6 bits"));
                }
                if matches!(max_value, Some(v) if !(*v > 0.0)) {
                    return Err("quantized_relu_po2 max_value must be positive".into());
                }
                if *negative_slope != 0.0 && !(*negative_slope > 0.0 && negative_slope.log2().fract() == 0.0) {
                    return Err(format!(
                        "quantized_relu_po2 negative_slope must be 0 or a power of two (as QKeras asserts), got {negative_slope}"
                    ));
                }
                Ok(())
            }
            Quantizer::QuantizedPo2 { bits, max_value } => {
                check_bits(*bits)?;
                if *bits < 2 {
                    return Err("quantized_po2 needs at least 2 bits (sign and exponent)".into());
                }
                if *bits > 6 {
                    return Err(format!("quantized_po2 with {bits} bits spans exponents beyond 2^±31: use at most 6 bits"));
                }
                if matches!(max_value, Some(v) if !(*v > 0.0)) {
                    return Err("quantized_po2 max_value must be positive".into());
                }
                Ok(())
            }
            Quantizer::Binary { .. } => Ok(()),
            Quantizer::Ternary { threshold } => {
                if !(threshold.is_finite() && *threshold >= 0.0) {
                    return Err(format!("ternary threshold must be a finite number >= 0, got {threshold}"));
                }
                Ok(())
            }
        }
    }

    /// Exponent range of a po2 quantizer, as QKeras computes it.
    pub fn po2_exponents(bits: u32, max_value: Option<f64>) -> (i32, i32) {
        let need_sign = match max_value {
            Some(v) => (v > 1.0) as i32,
            None => 1,
        };
        let effect = bits as i32 - 1 - need_sign;
        let (min_exp, mut max_exp) = (-(1i32 << effect), (1i32 << effect) - 1);
        if let Some(v) = max_value {
            max_exp = max_exp.min(v.log2().floor() as i32);
        }
        (min_exp, max_exp)
    }

    /// Exponent range of `quantized_relu_po2` as QKeras computes it (no sign bit
    /// for the value: all `bits` but the exponent's sign), and the largest
    /// exponent a `max_value` lets through (QKeras rounds log2(max_value)).
    pub fn relu_po2_exponents(bits: u32, max_value: Option<f64>) -> (i32, i32) {
        let (min_exp, mut max_exp) = Self::relu_po2_clip_range(bits, max_value);
        if let Some(v) = max_value {
            max_exp = max_exp.min(((v as f32).log2().round_ties_even() as i32).max(min_exp));
        }
        (min_exp, max_exp)
    }

    /// QKeras' `_min_exp`, `_max_exp` of `quantized_relu_po2`.
    pub fn relu_po2_clip_range(bits: u32, max_value: Option<f64>) -> (i32, i32) {
        let need_sign = match max_value {
            Some(v) => (v > 1.0) as i32,
            None => 1,
        };
        let effect = bits as i32 - need_sign;
        (-(1i32 << effect), (1i32 << effect) - 1)
    }

    /// QKeras forward pass on one value (for `alpha=1`/po2/relu; auto_po2 scales
    /// are per channel: see [`auto_po2_scales`]).
    pub fn quantize(&self, x: f32) -> f32 {
        match *self {
            Quantizer::Float => x,
            Quantizer::QuantizedBits { bits, integer, symmetric, keep_negative, .. } => {
                let unsigned_bits = bits as i32 - keep_negative as i32;
                if unsigned_bits > 0 {
                    let m = (unsigned_bits as f32).exp2();
                    let m_i = (integer as f32).exp2();
                    let p = x * m / m_i;
                    let lo = if keep_negative { -m + symmetric as i32 as f32 } else { 0.0 };
                    m_i * p.round_ties_even().clamp(lo, m - 1.0) / m
                } else {
                    // One bit: binary.
                    let s = if x < 0.0 { -1.0 } else { 1.0 };
                    if keep_negative {
                        s
                    } else {
                        (s + 1.0) / 2.0
                    }
                }
            }
            Quantizer::QuantizedRelu { bits, integer } => {
                let m = (bits as f32).exp2();
                let m_i = (integer as f32).exp2();
                let p = x * m / m_i;
                m_i * (p.round_ties_even() / m).clamp(0.0, 1.0 - 1.0 / m)
            }
            Quantizer::LeakyRelu { bits, integer, negative_slope } => {
                // QKeras 0.9, in its float32 order of operations.
                let m = ((bits - 1) as f32).exp2();
                let m_i = (integer as f32).exp2();
                let s = negative_slope as f32;
                let p = x * m / m_i;
                let pos = m_i * (p.round_ties_even() / m).clamp(0.0, 1.0 - 1.0 / m);
                let neg_factor = (1.0 / (negative_slope * m as f64)) as f32;
                let neg = m_i * s * ((p * s).round_ties_even() * neg_factor).clamp(-1.0, 0.0);
                pos + neg
            }
            Quantizer::ReluPo2 { bits, max_value, negative_slope } => {
                let (min_exp, max_exp) = Self::relu_po2_clip_range(bits, max_value);
                let po2 = |a: f32| {
                    const EPS: f32 = 1e-7; // tf.keras.backend.epsilon()
                    let mut a = if a < EPS { EPS } else { a };
                    if let Some(v) = max_value {
                        a = a.min(v as f32);
                    }
                    let e = (a.ln() / std::f32::consts::LN_2).round_ties_even().clamp(min_exp as f32, max_exp as f32);
                    e.exp2()
                };
                if x >= 0.0 || negative_slope == 0.0 {
                    po2(x.max(0.0))
                } else {
                    -po2(-x * negative_slope as f32)
                }
            }
            Quantizer::QuantizedPo2 { bits, max_value } => {
                let (min_exp, max_exp) = Self::po2_exponents(bits, max_value);
                let sign = if x < 0.0 { -1.0 } else { 1.0 };
                let mut a = x.abs();
                if let Some(v) = max_value {
                    a = a.min(v as f32);
                }
                let e = if a < 1e-7 { min_exp as f32 } else { a.log2().round_ties_even().clamp(min_exp as f32, max_exp as f32) };
                sign * e.exp2()
            }
            Quantizer::Binary { use_01 } => {
                // tf.sign, then 0 -> +1.
                let s = if x < 0.0 { -1.0 } else { 1.0 };
                if use_01 {
                    (s + 1.0) / 2.0
                } else {
                    s
                }
            }
            Quantizer::Ternary { threshold } => {
                // cast(|x| >= thres) * tf.sign(x), the threshold a float32 as in TensorFlow.
                if x.abs() >= threshold as f32 {
                    if x > 0.0 {
                        1.0
                    } else if x < 0.0 {
                        -1.0
                    } else {
                        0.0
                    }
                } else {
                    0.0
                }
            }
        }
    }

    /// [`quantize`](Self::quantize) over a slice, with a fast path for the
    /// fixed-point grids (same results: round half to even, then clip).
    pub fn quantize_slice(&self, xs: &mut [f32]) {
        let grid = match *self {
            Quantizer::QuantizedBits { bits, integer, symmetric, keep_negative, .. } if bits - keep_negative as u32 > 0 => {
                let m = ((bits - keep_negative as u32) as f32).exp2();
                let lo = if keep_negative { -m + symmetric as i32 as f32 } else { 0.0 };
                Some((m / (integer as f32).exp2(), lo, m - 1.0))
            }
            Quantizer::QuantizedRelu { bits, integer } => {
                let m = (bits as f32).exp2();
                Some((m / (integer as f32).exp2(), 0.0, m - 1.0))
            }
            _ => None,
        };
        match grid {
            // Adding and subtracting 1.5·2^23 rounds half to even for |p| < 2^22.
            Some((scale, lo, hi)) if hi < (1 << 21) as f32 => {
                const MAGIC: f32 = 12_582_912.0;
                let inv = 1.0 / scale;
                for x in xs.iter_mut() {
                    let p = (*x * scale).clamp(lo - 1.0, hi + 1.0);
                    let r = (p + MAGIC) - MAGIC;
                    *x = r.clamp(lo, hi) * inv;
                }
            }
            _ => xs.iter_mut().for_each(|x| *x = self.quantize(*x)),
        }
    }

    /// The hls4ml type of values produced by this quantizer (`None` for float).
    /// Weights (`quantized_bits`, `quantized_po2`) keep ap_fixed's default modes,
    /// activations get `AP_RND_CONV, AP_SAT` as hls4ml's config does.
    pub fn fixed_type(&self, as_activation: bool) -> Option<FixedType> {
        match *self {
            Quantizer::Float => None,
            Quantizer::QuantizedBits { bits, integer, keep_negative, .. } => {
                let t = if keep_negative { FixedType::signed(bits, integer + 1) } else { FixedType::unsigned(bits, integer) };
                Some(if as_activation { t.with_modes(Rounding::RndConv, Overflow::Sat) } else { t })
            }
            Quantizer::QuantizedRelu { bits, integer } => {
                Some(FixedType::unsigned(bits, integer).with_modes(Rounding::RndConv, Overflow::Sat))
            }
            // hls4ml's _get_precision_from_quantizer: signed, integer + 1 (the sign).
            Quantizer::LeakyRelu { bits, integer, .. } => {
                Some(FixedType::signed(bits, integer + 1).with_modes(Rounding::RndConv, Overflow::Sat))
            }
            // Every power of two in range (hls4ml 1.3 does not convert this activation).
            Quantizer::ReluPo2 { bits, max_value, negative_slope } => {
                let (min_exp, max_exp) = Self::relu_po2_exponents(bits, max_value);
                let t = if negative_slope == 0.0 {
                    FixedType::unsigned((max_exp - min_exp + 1) as u32, max_exp + 1)
                } else {
                    FixedType::signed((max_exp - min_exp + 2) as u32, max_exp + 2)
                };
                Some(t.with_modes(Rounding::Trn, Overflow::Sat))
            }
            Quantizer::QuantizedPo2 { bits, max_value } => {
                // hls4ml keeps po2 weights as exponents; we hold the same values in
                // a fixed-point type wide enough for every power of two in range.
                let (min_exp, max_exp) = Self::po2_exponents(bits, max_value);
                Some(FixedType::signed((max_exp - min_exp + 2) as u32, max_exp + 2))
            }
            // hls4ml holds binary weights as 1-bit XNOR codes (0 means -1) and ternary
            // ones as ap_int<2>; qforge holds the values themselves: ±1 and {-1,0,1}
            // in ap_int<2>, {0,1} in ap_uint<1>.
            Quantizer::Binary { use_01: true } => Some(FixedType::unsigned(1, 1)),
            Quantizer::Binary { use_01: false } | Quantizer::Ternary { .. } => Some(FixedType::signed(2, 2)),
        }
    }

    /// QKeras-style spelling, e.g. `quantized_bits(6,0,alpha=1)`.
    pub fn spelling(&self) -> String {
        match self {
            Quantizer::Float => "float".into(),
            Quantizer::QuantizedBits { bits, integer, symmetric, keep_negative, alpha } => {
                let mut s = format!("quantized_bits({bits},{integer}");
                if *symmetric {
                    s.push_str(",symmetric=1");
                }
                if !*keep_negative {
                    s.push_str(",keep_negative=0");
                }
                match alpha {
                    Alpha::One => s.push_str(",alpha=1)"),
                    Alpha::AutoPo2 => s.push_str(",alpha='auto_po2')"),
                    Alpha::Auto => s.push_str(",alpha='auto')"),
                    Alpha::Number(a) => s.push_str(&format!(",alpha={a})")),
                }
                s
            }
            Quantizer::QuantizedRelu { bits, integer } => format!("quantized_relu({bits},{integer})"),
            Quantizer::LeakyRelu { bits, integer, negative_slope } => {
                format!("quantized_relu({bits},{integer},negative_slope={negative_slope})")
            }
            Quantizer::ReluPo2 { bits, max_value, negative_slope } => {
                let mut s = format!("quantized_relu_po2({bits}");
                if let Some(v) = max_value {
                    s.push_str(&format!(",max_value={v}"));
                }
                if *negative_slope != 0.0 {
                    s.push_str(&format!(",negative_slope={negative_slope}"));
                }
                s + ")"
            }
            Quantizer::QuantizedPo2 { bits, max_value: None } => format!("quantized_po2({bits})"),
            Quantizer::QuantizedPo2 { bits, max_value: Some(v) } => format!("quantized_po2({bits},{v})"),
            Quantizer::Binary { use_01: false } => "binary".into(),
            Quantizer::Binary { use_01: true } => "binary(use_01=1)".into(),
            Quantizer::Ternary { threshold } if *threshold == TERNARY_DEFAULT_THRESHOLD => "ternary".into(),
            Quantizer::Ternary { threshold } => format!("ternary(threshold={threshold})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantized_bits_6_0_grid_and_clip() {
        let q = Quantizer::bits(6, 0);
        // Step 1/32, range [-1, 31/32].
        assert_eq!(q.quantize(0.1), 3.0 / 32.0); // 3.2 -> 3
        assert_eq!(q.quantize(2.0), 31.0 / 32.0);
        assert_eq!(q.quantize(-2.0), -1.0);
        // Ties go to even: 0.5/32 -> 0, 1.5/32 -> 2/32.
        assert_eq!(q.quantize(0.5 / 32.0), 0.0);
        assert_eq!(q.quantize(1.5 / 32.0), 2.0 / 32.0);
        assert_eq!(q.quantize(-1.5 / 32.0), -2.0 / 32.0);
        assert_eq!(q.fixed_type(false).unwrap().cpp(), "ap_fixed<6,1>");
    }

    #[test]
    fn quantized_bits_symmetric_and_unsigned() {
        let q = Quantizer::QuantizedBits { bits: 4, integer: 1, symmetric: true, keep_negative: true, alpha: Alpha::One };
        // m = 8, m_i = 2: step 0.25, range [-7/4, 7/4] (symmetric drops -2).
        assert_eq!(q.quantize(-5.0), -1.75);
        assert_eq!(q.quantize(5.0), 1.75);
        let u = Quantizer::QuantizedBits { bits: 4, integer: 0, symmetric: false, keep_negative: false, alpha: Alpha::One };
        assert_eq!(u.quantize(-0.3), 0.0);
        assert_eq!(u.quantize(0.99), 15.0 / 16.0);
    }

    #[test]
    fn quantized_relu_grid() {
        let q = Quantizer::relu(6, 0);
        assert_eq!(q.quantize(-1.0), 0.0);
        assert_eq!(q.quantize(0.5), 0.5);
        assert_eq!(q.quantize(1.0), 63.0 / 64.0);
        assert_eq!(q.quantize(2.5 / 64.0), 2.0 / 64.0); // tie to even
        assert_eq!(q.fixed_type(true).unwrap().cpp(), "ap_ufixed<6,0,AP_RND_CONV,AP_SAT>");
        let q3 = Quantizer::relu(8, 2);
        assert_eq!(q3.quantize(10.0), 4.0 - 1.0 / 64.0);
    }

    #[test]
    fn quantized_po2_range() {
        let q = Quantizer::QuantizedPo2 { bits: 4, max_value: None };
        assert_eq!(Quantizer::po2_exponents(4, None), (-4, 3));
        assert_eq!(q.quantize(0.3), 0.25);
        assert_eq!(q.quantize(-100.0), -8.0);
        assert_eq!(q.quantize(0.0), 1.0 / 16.0);
        assert_eq!(q.quantize(0.001), 1.0 / 16.0);
        let t = q.fixed_type(false).unwrap();
        for e in -4..=3 {
            let v = (e as f64).exp2();
            assert_eq!(t.to_f64(t.from_f64(v)), v);
            assert_eq!(t.to_f64(t.from_f64(-v)), -v);
        }
        assert_eq!(Quantizer::po2_exponents(4, Some(1.0)), (-8, 0));
    }

    #[test]
    fn binary_value_sets() {
        // QKeras binary: k = tf.sign(x); k += 1 - |k| (0 and -0 become +1); use_01: (k + 1) / 2.
        let b = Quantizer::Binary { use_01: false };
        let xs = [-0.7f32, -1e-9, -0.0, 0.0, 1e-9, 0.4, 3.0];
        assert_eq!(xs.map(|x| b.quantize(x)), [-1.0, -1.0, 1.0, 1.0, 1.0, 1.0, 1.0]);
        let b01 = Quantizer::Binary { use_01: true };
        assert_eq!(xs.map(|x| b01.quantize(x)), [0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0]);
        // The types hold every value of the set exactly.
        for (q, values) in [(b.clone(), vec![-1.0, 1.0]), (b01.clone(), vec![0.0, 1.0])] {
            let t = q.fixed_type(false).unwrap();
            for v in values {
                assert_eq!(t.to_f64(t.from_f64(v)), v, "{q:?} {v}");
            }
            assert_eq!(q.bit_width(), 1);
        }
        assert_eq!(b.fixed_type(false).unwrap().cpp(), "ap_fixed<2,2>");
        assert_eq!(b01.fixed_type(false).unwrap().cpp(), "ap_ufixed<1,1>");
    }

    #[test]
    fn ternary_value_sets() {
        // QKeras ternary (alpha None or 1): cast(|x| >= threshold) * sign(x), threshold 0.33 by default.
        let t = Quantizer::Ternary { threshold: TERNARY_DEFAULT_THRESHOLD };
        let xs = [-0.5f32, -0.33, -0.2, 0.0, 0.3299, 0.33, 0.9, 7.0];
        assert_eq!(xs.map(|x| t.quantize(x)), [-1.0, -1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
        let t5 = Quantizer::Ternary { threshold: 0.5 };
        assert_eq!([0.49f32, 0.5, -0.6, -0.49].map(|x| t5.quantize(x)), [0.0, 1.0, -1.0, 0.0]);
        // Threshold 0: only an exact zero stays zero.
        let t0 = Quantizer::Ternary { threshold: 0.0 };
        assert_eq!([0.0f32, 1e-30, -1e-30].map(|x| t0.quantize(x)), [0.0, 1.0, -1.0]);
        let ty = t.fixed_type(false).unwrap();
        assert_eq!(ty.cpp(), "ap_fixed<2,2>");
        for v in [-1.0, 0.0, 1.0] {
            assert_eq!(ty.to_f64(ty.from_f64(v)), v);
        }
        assert!(Quantizer::Ternary { threshold: -0.1 }.validate().is_err());
        assert!(Quantizer::Ternary { threshold: f64::NAN }.validate().is_err());
        let mut slice = xs;
        t.quantize_slice(&mut slice);
        assert_eq!(slice, xs.map(|x| t.quantize(x)));
    }

    #[test]
    fn leaky_relu_as_qkeras_computes_it() {
        // quantized_relu(6, 2, negative_slope=0.25): step 2^-3 (one bit for the sign), up to 4 - 1/8.
        let q = Quantizer::LeakyRelu { bits: 6, integer: 2, negative_slope: 0.25 };
        let xs = [1.0f32, 0.06, 0.0625, 0.1875, 9.0, -1.0, -0.25, -0.75, -2.25, -16.0, -3.9];
        // Negative: round(x/4 / step) * step, clipped at -0.25 * 4 = -1 (half to even: -0.75/4 = -1.5 steps -> -2).
        let want = [1.0f32, 0.0, 0.0, 0.25, 3.875, -0.25, -0.0, -0.25, -0.5, -1.0, -1.0];
        for (x, w) in xs.iter().zip(want) {
            assert_eq!(q.quantize(*x), w, "{x}");
        }
        let t = q.fixed_type(true).unwrap();
        assert_eq!(t.cpp(), "ap_fixed<6,3,AP_RND_CONV,AP_SAT>");
        assert_eq!(q.spelling(), "quantized_relu(6,2,negative_slope=0.25)");
        assert!(Quantizer::LeakyRelu { bits: 6, integer: 2, negative_slope: 0.3 }.validate().unwrap_err().contains("power of two"));
        assert!(Quantizer::LeakyRelu { bits: 4, integer: 1, negative_slope: 1.0 / 16.0 }.validate().is_err());
        assert!(Quantizer::LeakyRelu { bits: 4, integer: 4, negative_slope: 0.5 }.validate().is_err());
    }

    #[test]
    fn relu_po2_as_qkeras_computes_it() {
        // 4 bits, no max_value: exponents -8..7, never zero.
        let q = Quantizer::ReluPo2 { bits: 4, max_value: None, negative_slope: 0.0 };
        let xs = [1.0f32, 1.4, 1.5, 3.0, -2.0, 0.0, 1000.0, 0.001];
        let want = [1.0f32, 1.0, 2.0, 4.0, 2f32.powi(-8), 2f32.powi(-8), 128.0, 2f32.powi(-8)];
        for (x, w) in xs.iter().zip(want) {
            assert_eq!(q.quantize(*x), w, "{x}");
        }
        assert_eq!(q.fixed_type(true).unwrap().cpp(), "ap_ufixed<16,8,AP_TRN,AP_SAT>");
        // max_value 6: log2(6) = 2.58 rounds to 3, so 6 and above give 8; 5 bits, exponent sign: -16..15.
        let q = Quantizer::ReluPo2 { bits: 5, max_value: Some(6.0), negative_slope: 0.0 };
        assert_eq!([5.0f32, 6.0, 100.0].map(|x| q.quantize(x)), [4.0, 8.0, 8.0]);
        assert_eq!(Quantizer::relu_po2_exponents(5, Some(6.0)), (-16, 3));
        // Leaky, slope 1/4, max_value 2 (above 1: an exponent sign bit, -8..7), negative x: -2^round(log2(|x|/4)).
        let q = Quantizer::ReluPo2 { bits: 4, max_value: Some(2.0), negative_slope: 0.25 };
        assert_eq!([-4.0f32, -100.0, 3.0].map(|x| q.quantize(x)), [-1.0, -2.0, 2.0]);
        assert!(Quantizer::ReluPo2 { bits: 4, max_value: None, negative_slope: 0.3 }.validate().is_err());
        assert_eq!(q.spelling(), "quantized_relu_po2(4,max_value=2,negative_slope=0.25)");
    }

    #[test]
    fn fast_slice_path_equals_scalar() {
        let qs = [Quantizer::bits(6, 0), Quantizer::relu(6, 0), Quantizer::relu(8, 2), Quantizer::bits(12, 3), Quantizer::bits(20, 4)];
        let xs: Vec<f32> = (-4000..4000).map(|i| i as f32 / 997.0).chain([0.5 / 32.0, 1.5 / 32.0, -2.5 / 32.0, 1e9, -1e9]).collect();
        for q in qs {
            let mut fast = xs.clone();
            q.quantize_slice(&mut fast);
            for (x, f) in xs.iter().zip(&fast) {
                assert_eq!(q.quantize(*x), *f, "{q:?} at {x}");
            }
        }
    }

    #[test]
    fn validation_messages() {
        assert!(Quantizer::bits(0, 0).validate().unwrap_err().contains("between 1 and 32"));
        assert!(Quantizer::bits(33, 0).validate().is_err());
        assert!(Quantizer::bits(4, 5).validate().unwrap_err().contains("integer bits"));
        assert!(Quantizer::relu(4, 5).validate().is_err());
        assert!(Quantizer::bits(6, 0).validate().is_ok());
    }
}
