//! The arithmetic kernels of one dense layer: what [`super::FixedLayer`]
//! precomputes (`Kernel`: i32 weights, the bias at the accumulator's binary
//! point, which shortcuts are exact for this layer) and the i32 and AVX2 paths
//! that compute its sums when no value can leave 32 bits.
use super::{FixedLayer, DEFAULT_TYPE};
use crate::model::layer_types::holds_exactly;
use crate::quant::{Caster, Overflow, Rounding};

/// How a layer's sums are computed: a fast i32 path when nothing can overflow it.
#[derive(Clone, Debug)]
pub(super) struct Kernel {
    pub(super) out_cast: Caster,
    /// Set when the whole layer can run in i32 (the usual case).
    pub(super) all_i32: Option<I32Cast>,
    pub(super) bias32: Vec<i32>,
    pub(super) w32: Vec<i32>,
    pub(super) bias_at_acc: Vec<i64>,
    pub(super) product_shift: u32,
    pub(super) fits_i32: bool,
    pub(super) exact: bool,
    /// Every possible sum lies inside the accumulator type.
    pub(super) acc_cannot_wrap: bool,
    /// The result type holds every accumulator value (its cast changes nothing).
    pub(super) result_exact: bool,
}

/// The end of a layer in i32 when every value fits: add the bias, ReLU,
/// round and saturate into the output type (same bits as `Caster`).
#[derive(Clone, Debug)]
pub(super) struct I32Cast {
    pub(super) product_shift: u32,
    shift: u32,
    rounding: Rounding,
    min: i32,
    max: i32,
}

impl I32Cast {
    #[inline(always)]
    fn finish(&self, sums: &mut [i32], bias: &[i32], acc: &mut [i64], out: &mut [i64], relu: bool) {
        let (ps, shift, min, max) = (self.product_shift, self.shift, self.min, self.max);
        let half = 1i32 << (shift - 1);
        let mask = (1i32 << shift) - 1;
        for (s, &b) in sums.iter_mut().zip(bias) {
            *s = (*s << ps) + b;
        }
        // Batch inference passes no accumulator buffer: it only needs outputs.
        for (a, &s) in acc.iter_mut().zip(sums.iter()) {
            *a = s as i64;
        }
        let floor_of = |s: i32| if relu { s.max(0) >> shift } else { s >> shift };
        match self.rounding {
            Rounding::RndConv => {
                for (o, &s) in out.iter_mut().zip(sums.iter()) {
                    let v = if relu { s.max(0) } else { s };
                    let floor = v >> shift;
                    let rem = v & mask;
                    let up = (rem > half) | ((rem == half) & (floor & 1 == 1));
                    *o = (floor + up as i32).clamp(min, max) as i64;
                }
            }
            Rounding::Rnd => {
                for (o, &s) in out.iter_mut().zip(sums.iter()) {
                    let v = if relu { s.max(0) } else { s };
                    *o = ((v + half) >> shift).clamp(min, max) as i64;
                }
            }
            _ => {
                for (o, &s) in out.iter_mut().zip(sums.iter()) {
                    *o = floor_of(s).clamp(min, max) as i64;
                }
            }
        }
    }
}

/// A whole layer in i32, with the AVX2 build of the loops when available.
#[allow(clippy::too_many_arguments)]
pub(super) fn dense_i32(
    x: &[i64],
    w: &[i32],
    sums: &mut [i32],
    cast: &I32Cast,
    bias: &[i32],
    acc: &mut [i64],
    out: &mut [i64],
    relu: bool,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor supports AVX2, checked just above.
            return unsafe { dense_i32_avx2(x, w, sums, cast, bias, acc, out, relu) };
        }
    }
    multiply_accumulate_portable(x, w, sums);
    cast.finish(sums, bias, acc, out, relu)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn dense_i32_avx2(
    x: &[i64],
    w: &[i32],
    sums: &mut [i32],
    cast: &I32Cast,
    bias: &[i32],
    acc: &mut [i64],
    out: &mut [i64],
    relu: bool,
) {
    multiply_accumulate_portable(x, w, sums);
    cast.finish(sums, bias, acc, out, relu)
}

/// sums[o] = Σ_i x[i]·w[i][o] in i32 (the caller checked nothing overflows).
/// Runs the AVX2 build of the loop when the processor has it.
pub(super) fn multiply_accumulate(x: &[i64], w: &[i32], sums: &mut [i32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor supports AVX2, checked just above.
            return unsafe { multiply_accumulate_avx2(x, w, sums) };
        }
    }
    multiply_accumulate_portable(x, w, sums)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn multiply_accumulate_avx2(x: &[i64], w: &[i32], sums: &mut [i32]) {
    multiply_accumulate_portable(x, w, sums)
}

#[inline(always)]
fn multiply_accumulate_portable(x: &[i64], w: &[i32], sums: &mut [i32]) {
    let n_out = sums.len();
    sums.fill(0);
    for (&xi, row) in x.iter().zip(w.chunks_exact(n_out)) {
        if xi == 0 {
            continue; // ReLU outputs are often zero: skip their row.
        }
        let xi = xi as i32;
        for (s, &wv) in sums.iter_mut().zip(row) {
            *s = s.wrapping_add(xi.wrapping_mul(wv));
        }
    }
}

/// `v << s` modulo 2^128 (0 once everything is shifted out).
pub(super) fn shl_wrapping(v: i128, s: u32) -> i128 {
    if s >= 128 {
        0
    } else {
        v.wrapping_shl(s)
    }
}

/// `v << s` for `v >= 0`, saturating at `i128::MAX` (bounds of wide layers).
fn shl_saturating(v: i128, s: u32) -> i128 {
    if v == 0 {
        0
    } else if s >= v.leading_zeros() - 1 {
        i128::MAX
    } else {
        v << s
    }
}

impl Kernel {
    pub(super) fn placeholder() -> Kernel {
        Kernel {
            out_cast: Caster::new(DEFAULT_TYPE, 0),
            all_i32: None,
            bias32: vec![],
            w32: vec![],
            bias_at_acc: vec![],
            product_shift: 0,
            fits_i32: false,
            exact: false,
            acc_cannot_wrap: false,
            result_exact: true,
        }
    }
}

pub(super) fn build_kernel(layer: &FixedLayer) -> Kernel {
    let acc_frac = layer.accum_type.frac();
    let prod_frac = layer.in_type.frac() + layer.weight_type.frac();
    let exact = acc_frac >= prod_frac;
    let product_shift = (acc_frac - prod_frac).max(0) as u32;
    let bias_at_acc: Vec<i64> = layer.biases.iter().map(|&b| layer.accum_type.cast_raw(b, layer.bias_type.frac())).collect();
    // Largest possible |Σ x·w| before shifting, to decide whether i32 holds it.
    // Saturating: 64-bit inputs and weights of a wide layer would overflow even i128 here.
    let max_x = (layer.in_type.max_raw() as i128).max(-(layer.in_type.min_raw() as i128));
    let max_w = layer.weights.iter().map(|w| w.unsigned_abs()).max().unwrap_or(0) as i128;
    let bound = max_x.saturating_mul(max_w).saturating_mul(layer.n_in as i128);
    let fits_i32 = exact && bound < (1i128 << 31) && (shl_saturating(bound, product_shift) < (1i128 << 62));
    let w32 = if fits_i32 { layer.weights.iter().map(|&w| w as i32).collect() } else { Vec::new() };
    let max_bias = bias_at_acc.iter().map(|b| b.unsigned_abs() as i128).max().unwrap_or(0);
    let max_sum = shl_saturating(bound, product_shift).saturating_add(max_bias);
    let acc = &layer.accum_type;
    let result_exact = holds_exactly(&layer.result_type, &layer.accum_type);
    let acc_cannot_wrap =
        exact && max_sum <= acc.max_raw() as i128 && (!acc.signed || -max_sum >= acc.min_raw() as i128) && (acc.signed || max_sum == 0);
    let out_cast = Caster::new(layer.out_type, acc_frac);
    let out = &layer.out_type;
    let shift = acc_frac - out.frac();
    let simple_cast = (1..31).contains(&shift)
        && out.overflow == Overflow::Sat
        && matches!(out.rounding, Rounding::RndConv | Rounding::Rnd | Rounding::Trn)
        && out.width <= 31;
    let all_i32 = (result_exact && fits_i32 && acc_cannot_wrap && max_sum < (1i128 << 30) && simple_cast).then(|| I32Cast {
        product_shift,
        shift: shift as u32,
        rounding: out.rounding,
        min: out.min_raw() as i32,
        max: out.max_raw() as i32,
    });
    let bias32 = if all_i32.is_some() { bias_at_acc.iter().map(|&b| b as i32).collect() } else { vec![] };
    Kernel { out_cast, all_i32, bias32, w32, bias_at_acc, product_shift, fits_i32, exact, acc_cannot_wrap, result_exact }
}
