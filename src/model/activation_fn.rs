//! What a dense block computes between its result and its output beyond a
//! ReLU or a cast: hls4ml's ApplyAlpha (kernels with alpha "auto" or a number),
//! a leaky ReLU (hls4ml's LeakyReLU, or QKeras' own clip in qforge mode) and
//! QKeras' `quantized_relu_po2`, in exact integer arithmetic.
use super::layer_types::{BlockTypes, DEFAULT_TYPE};
use super::network::LayerParams;
use super::spec::{DenseBlock, TypesMode};
use crate::quant::alpha::float_alpha_quantize;
use crate::quant::{Alpha, FixedType, Quantizer};
use serde::Serialize;

/// hls4ml 1.3's ApplyAlpha (its `normalize`): per output, the dense result
/// times the scale in `scale_type`, the exact product plus the bias (moved out of
/// the dense layer) in `bias_type`, cast into `result_type`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlphaStage {
    pub scale_type: FixedType,
    pub bias_type: FixedType,
    pub result_type: FixedType,
    pub scales: Vec<i64>,
    pub biases: Vec<i64>,
}

impl AlphaStage {
    /// Output `o` of a dense result `r` (raw with `frac` fractional bits), raw in `result_type`.
    pub fn apply(&self, o: usize, r: i64, frac: i32) -> i64 {
        let prod_frac = frac + self.scale_type.frac();
        let bias_frac = self.bias_type.frac();
        let f = prod_frac.max(bias_frac);
        let sum = ((r as i128 * self.scales[o] as i128) << (f - prod_frac)) + ((self.biases[o] as i128) << (f - bias_frac));
        self.result_type.cast_raw_wide(sum, f)
    }
}

/// hls4ml's `_infer_bn_precision` result of an ApplyAlpha: input × scale, plus the bias.
pub fn alpha_result_type(input: &FixedType, scale: &FixedType, bias: &FixedType) -> FixedType {
    let signed = scale.signed || input.signed;
    let width = input.width as i32 + scale.width as i32;
    let integer = input.integer + scale.integer;
    let out_signed = signed || bias.signed;
    let out_integer = (integer + (bias.signed && !signed) as i32).max(bias.integer + (signed && !bias.signed) as i32) + 1;
    let out_width = out_integer + (width - integer).max(bias.frac());
    FixedType::new(out_width as u32, out_integer, out_signed)
}

/// An activation between a layer's result and its output type that is not a
/// ReLU or a cast (those are `activation` and `out_type` alone).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ActivationFn {
    Cast,
    /// `x > 0 ? x : slope·x`, the product exact, then cast into the output type
    /// (hls4ml's `leaky_relu` with `slope` raw in a type of `slope_frac`
    /// fractional bits); `lowest`: QKeras' clip of negative outputs at
    /// -slope·2^integer (qforge mode), raw in the output type.
    Leaky {
        slope_raw: i64,
        slope_frac: i32,
        lowest: Option<i64>,
    },
    /// QKeras' `quantized_relu_po2`: 2^round(log2(max(x, 0))) (or -2^round(log2(slope·|x|))
    /// for negative x with `slope_log2`), exponents clipped to `[min_exp, max_exp]`,
    /// `eps_exp` for values below Keras' epsilon, `cap`: QKeras' max_value clip
    /// (the value as the exact f64 of its f32 and the exponent it rounds to).
    Po2 {
        min_exp: i32,
        max_exp: i32,
        eps_exp: i32,
        slope_log2: Option<i32>,
        cap: Option<(f64, i32)>,
    },
}

impl ActivationFn {
    pub fn is_cast(&self) -> bool {
        matches!(self, ActivationFn::Cast)
    }

    /// `r` raw with `frac` fractional bits → raw in `out`.
    pub fn apply(&self, r: i64, frac: i32, out: &FixedType) -> i64 {
        match *self {
            ActivationFn::Cast => out.cast_raw(r, frac),
            ActivationFn::Leaky { slope_raw, slope_frac, lowest } => {
                if r > 0 {
                    out.cast_raw(r, frac)
                } else {
                    let v = out.cast_raw_wide(r as i128 * slope_raw as i128, frac + slope_frac);
                    lowest.map_or(v, |l| v.max(l))
                }
            }
            ActivationFn::Po2 { min_exp, max_exp, eps_exp, slope_log2, cap } => {
                let (negative, magnitude, extra) = match slope_log2 {
                    Some(k) if r < 0 => (true, -r, k),
                    _ => (false, r.max(0), 0),
                };
                let e = po2_exponent(magnitude, frac - extra, eps_exp, cap).clamp(min_exp, max_exp);
                let raw = 1i64 << (e + out.frac()).max(0);
                if negative {
                    -raw
                } else {
                    raw
                }
            }
        }
    }
}

impl ActivationFn {
    /// `Po2` as a step function of its input over `[lo, hi]` (raw with `frac`
    /// fractional bits): (first input of each step, its raw output in `out`),
    /// ascending, adjacent steps differing. The output changes only where the
    /// input's magnitude crosses a power of two, a rounding point 2^(n+½),
    /// Keras' epsilon or the cap, so each candidate is evaluated by `apply`
    /// itself. Empty for other functions.
    pub fn po2_steps(&self, lo: i64, hi: i64, frac: i32, out: &FixedType) -> Vec<(i64, i64)> {
        let ActivationFn::Po2 { slope_log2, cap, .. } = *self else { return Vec::new() };
        let limits = [Some(PO2_EPS), cap.map(|c| c.0)];
        let mut starts = vec![lo, 0, 1];
        starts.extend(magnitude_breaks(hi.max(0), frac, &limits));
        if let Some(k) = slope_log2 {
            // Negative inputs: magnitude -r ≥ b exactly when r ≤ -b, so a step starts at 1 - b.
            starts.extend(magnitude_breaks(-lo.min(0), frac - k, &limits).into_iter().map(|b| 1 - b));
        }
        starts.retain(|s| (lo..=hi).contains(s));
        starts.sort_unstable();
        starts.dedup();
        let mut steps: Vec<(i64, i64)> = Vec::new();
        for s in starts {
            let y = self.apply(s, frac, out);
            if steps.last().map(|&(_, prev)| prev) != Some(y) {
                steps.push((s, y));
            }
        }
        steps
    }
}

/// Keras' epsilon as `po2_exponent` compares it.
const PO2_EPS: f64 = 1e-7f32 as f64;

/// `v·2^-frac` as `po2_exponent` computes it (exact: v < 2^53).
fn po2_value(v: i64, frac: i32) -> f64 {
    v as f64 * (-frac as f64).exp2()
}

/// Magnitudes in `[1, vmax]` at which `po2_exponent` may change: 2^n,
/// ⌈2^(n+½)⌉, and the first magnitude at or above each of `limits`.
fn magnitude_breaks(vmax: i64, frac: i32, limits: &[Option<f64>]) -> Vec<i64> {
    let mut breaks = Vec::new();
    for n in 0..63 {
        let p = 1i64 << n;
        if p > vmax {
            break;
        }
        breaks.push(p);
        let t = isqrt_ceil(1i128 << (2 * n + 1));
        if t <= vmax as i128 {
            breaks.push(t as i64);
        }
    }
    for limit in limits.iter().flatten() {
        if vmax >= 1 && po2_value(vmax, frac) >= *limit {
            let (mut a, mut z) = (1, vmax);
            while a < z {
                let mid = a + (z - a) / 2;
                if po2_value(mid, frac) >= *limit {
                    z = mid;
                } else {
                    a = mid + 1;
                }
            }
            breaks.push(a);
        }
    }
    breaks
}

/// The smallest s with s² ≥ x (x ≥ 0, below 2^126).
fn isqrt_ceil(x: i128) -> i128 {
    let mut s = (x as f64).sqrt() as i128;
    while s * s < x {
        s += 1;
    }
    while s > 0 && (s - 1) * (s - 1) >= x {
        s -= 1;
    }
    s
}

/// round(log2(v·2^-frac)) for v > 0, exactly (the half-way points 2^(n+½) are
/// irrational): n = floor(log2), one more when v² ≥ 2^(2n+1). Values below
/// Keras' epsilon give `eps_exp`, values at or above the cap its exponent.
fn po2_exponent(v: i64, frac: i32, eps_exp: i32, cap: Option<(f64, i32)>) -> i32 {
    let value = po2_value(v, frac);
    if value < PO2_EPS {
        return eps_exp;
    }
    if let Some((limit, e)) = cap {
        if value >= limit {
            return e;
        }
    }
    let n = 63 - v.leading_zeros() as i32; // 2^n <= v < 2^(n+1)
    let up = (v as i128) * (v as i128) >= 1i128 << (2 * n + 1);
    n + up as i32 - frac
}

/// The activation function of a block's quantizer: a leaky ReLU's slope in
/// hls4ml's `param_t` (hls4ml mode: the stated type, `auto` as its
/// `infer_precision`, else the default; the value cast as its C++ literal is,
/// truncating) or exactly (qforge mode, with QKeras' clip of negative outputs), relu_po2's exponents.
pub(super) fn activation_fn(block: &super::spec::DenseBlock, mode: TypesMode, out: FixedType) -> std::result::Result<ActivationFn, String> {
    Ok(match block.activation_quantizer {
        Quantizer::LeakyRelu { bits, integer, negative_slope } => {
            // A power of two (validated): exact in qforge mode.
            let k = negative_slope.log2() as i32;
            if mode == TypesMode::Hls4ml {
                let param = block.types.activation_param.unwrap_or_else(|| minimal_constant_type(negative_slope));
                let slope_raw = param.from_f64(negative_slope);
                ActivationFn::Leaky { slope_raw, slope_frac: param.frac(), lowest: None }
            } else {
                let lowest = -(1i64 << ((bits as i32 - 1) + k).max(0));
                debug_assert_eq!(out.frac(), bits as i32 - 1 - integer);
                ActivationFn::Leaky { slope_raw: 1, slope_frac: -k, lowest: Some(lowest) }
            }
        }
        Quantizer::ReluPo2 { bits, max_value, negative_slope } => {
            if mode == TypesMode::Hls4ml {
                return Err(
                    "quantized_relu_po2 has no hls4ml form (hls4ml 1.3.0 refuses it as an activation): import without --config".into()
                );
            }
            let (min_exp, max_exp) = Quantizer::relu_po2_clip_range(bits, max_value);
            let eps_exp = ((1e-7f32).ln() / std::f32::consts::LN_2).round_ties_even() as i32;
            let cap = max_value.map(|v| ((v as f32) as f64, (v as f32).log2().round_ties_even() as i32));
            let slope_log2 = (negative_slope != 0.0).then(|| negative_slope.log2() as i32);
            if out.frac() < -min_exp {
                return Err(format!("output type {out} cannot hold 2^{min_exp}"));
            }
            ActivationFn::Po2 { min_exp, max_exp, eps_exp, slope_log2, cap }
        }
        _ => ActivationFn::Cast,
    })
}

/// hls4ml 1.3's `_get_precision_from_constant` (max_width 8): the narrowest
/// fixed type that holds `value` exactly (signed when negative), at most 8 bits
/// plus the sign.
pub fn minimal_constant_type(value: f64) -> FixedType {
    if value == 0.0 {
        return FixedType::unsigned(1, 1);
    }
    // _minimal_f: bisection between -32 and 32 for the fewest fractional bits.
    let (mut lo, mut hi) = (-32i32, 32i32);
    while lo < hi - 1 {
        let mid = (lo + hi).div_euclid(2);
        let scaled = value * (mid as f64).exp2();
        if scaled != scaled.trunc() {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let f = hi;
    let integer = (value + (-f as f64).exp2()).max(-value).log2().ceil() as i32;
    let signed = value < 0.0;
    let width = (signed as i32 + integer + f).min(signed as i32 + 8);
    FixedType::new(width as u32, signed as i32 + integer, signed)
}

/// The kernel values, the ApplyAlpha stage (if any) and the dense layer's raw biases.
pub(super) type AlphaSplit = (Vec<f32>, Option<AlphaStage>, Vec<i64>);

/// alpha "auto"/a number on a kernel, as hls4ml's QKerasFactorizeAlpha
/// handles it (hls4ml mode only): the dense layer holds the quantized kernel
/// divided by QKeras' scale, re-quantized with alpha 1 (the grid), and zero
/// biases; the ApplyAlpha after it holds the scales (in the default type, as
/// hls4ml writes them: decimals with as many places as fractional bits, then
/// truncated) and the biases. Returns the kernel values, the stage and the
/// dense layer's raw biases.
pub(super) fn float_alpha(
    block: &DenseBlock,
    params: &LayerParams,
    mode: TypesMode,
    types: &BlockTypes,
) -> std::result::Result<AlphaSplit, String> {
    let biases: Vec<i64> = params.bias_q.iter().map(|&b| types.bias.from_f64(b as f64)).collect();
    if matches!(block.bias_quantizer, Quantizer::QuantizedBits { alpha, .. } if alpha.is_float_scale()) {
        return Err("a bias quantizer with alpha \"auto\" or a number is not supported: use alpha=1".into());
    }
    let Quantizer::QuantizedBits { bits, integer, symmetric, keep_negative, alpha } = block.kernel_quantizer else {
        return Ok((params.kernel_q.clone(), None, biases));
    };
    if !alpha.is_float_scale() {
        return Ok((params.kernel_q.clone(), None, biases));
    }
    if mode != TypesMode::Hls4ml {
        return Err(format!(
            "{} has a float scale per output, which qforge's own types do not hold exactly: import with an hls4ml config (hls4ml's ApplyAlpha types)",
            block.kernel_quantizer.spelling()
        ));
    }
    let grid = Quantizer::QuantizedBits { bits, integer, symmetric, keep_negative, alpha: Alpha::One };
    let (_, scales) = float_alpha_quantize(&params.kernel, params.n_in, params.n_out, &block.kernel_quantizer);
    let values: Vec<f32> = params.kernel_q.iter().enumerate().map(|(k, &w)| grid.quantize((1.0 / scales[k % params.n_out]) * w)).collect();
    let scale_type = DEFAULT_TYPE; // hls4ml sets the ApplyAlpha's precision `auto`: the default
    let places = scale_type.frac().max(0) as usize;
    let scales = scales.iter().map(|&v| scale_type.from_f64(format!("{:.*}", places, v as f64).parse().expect("a number"))).collect();
    let result_type = alpha_result_type(&types.result, &scale_type, &types.bias);
    if result_type.width > 48 {
        return Err(format!("the ApplyAlpha result {result_type} is wider than 48 bits: use narrower types"));
    }
    let stage = AlphaStage { scale_type, bias_type: types.bias, result_type, scales, biases };
    Ok((values, Some(stage), vec![0; params.n_out]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The steps reproduce `apply` on every input of a range, for relu_po2 with
    /// and without a cap and a negative slope, at two input scalings.
    #[test]
    fn po2_steps_are_apply_everywhere() {
        let out = FixedType::signed(24, 10);
        for (bits, max_value, slope_log2) in [(4, None, None), (5, Some(6.0), None), (4, Some(2.0), Some(-2))] {
            let (min_exp, max_exp) = Quantizer::relu_po2_clip_range(bits, max_value);
            let cap = max_value.map(|v: f64| ((v as f32) as f64, (v as f32).log2().round_ties_even() as i32));
            let f = ActivationFn::Po2 { min_exp, max_exp, eps_exp: -23, slope_log2, cap };
            for frac in [4, 13] {
                let (lo, hi) = (-20_000, 20_000);
                let steps = f.po2_steps(lo, hi, frac, &out);
                assert!(steps.len() > 2 && steps[0].0 == lo, "{steps:?}");
                for r in lo..=hi {
                    let k = steps.partition_point(|&(s, _)| s <= r) - 1;
                    assert_eq!(steps[k].1, f.apply(r, frac, &out), "bits {bits} frac {frac} r {r}");
                }
            }
        }
    }
}
