//! The scale of a `quantized_bits` quantizer (QKeras' `alpha`): the choice
//! itself, and the per-output-channel scales `auto_po2` and `auto` fit to a
//! float kernel, as QKeras computes them at inference.
use super::quantizer::Quantizer;
use serde::{Deserialize, Serialize};

/// Scale of a `quantized_bits` quantizer.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Alpha {
    /// `alpha=1` (or None): the fixed-point grid as given.
    One,
    /// `alpha="auto_po2"`: a power-of-two scale per output channel, fitted to the weights.
    AutoPo2,
    /// `alpha="auto"`: a float scale per output channel, fitted to the weights
    /// (recomputed from the saved float kernel, as QKeras does at inference).
    Auto,
    /// A number: every value is `alpha` times the grid value.
    Number(f64),
}

impl Alpha {
    /// `auto` and numbers: a float scale hls4ml applies after the layer (its ApplyAlpha).
    pub fn is_float_scale(&self) -> bool {
        matches!(self, Alpha::Auto | Alpha::Number(_))
    }
}

/// Per-output-channel power-of-two scales for `alpha="auto_po2"`, following
/// QKeras: start from 2^round(log2(2·max|w|/levels)), then five rounds of
/// least-squares refits of the scale, each rounded to a power of two.
/// `kernel` is row-major `[n_in][n_out]`; returns one exponent per output.
pub fn auto_po2_exponents(kernel: &[f32], n_in: usize, n_out: usize, bits: u32, integer: i32) -> Vec<i32> {
    let levels = ((1u64 << (bits - 1)) - 1) as f32 * 2.0;
    let m_i = (integer as f32).exp2();
    let half = levels / 2.0;
    (0..n_out)
        .map(|o| {
            let col: Vec<f32> = (0..n_in).map(|i| kernel[i * n_out + o] / m_i).collect();
            let max_abs = col.iter().fold(0f32, |a, v| a.max(v.abs()));
            let po2 = |s: f32| (s + 1e-7).log2().round_ties_even();
            let mut e = po2(max_abs * 2.0 / levels);
            for _ in 0..5 {
                let scale = e.exp2();
                let z: Vec<f32> = col
                    .iter()
                    .map(|x| {
                        let v = (x.abs() / scale + 0.5).floor();
                        x.signum() * if v < half { v } else { half }
                    })
                    .collect();
                let (xz, zz) = col.iter().zip(&z).fold((0f32, 0f32), |(a, b), (x, q)| (a + x * q, b + q * q));
                if zz > 0.0 {
                    e = po2(xz / zz);
                }
            }
            e as i32 + integer
        })
        .collect()
}

/// QKeras 0.9's `quantized_bits` with alpha "auto" or a number on a kernel
/// (row-major `[n_in][n_out]`), in its float32 order of operations: the
/// quantized kernel and, per output, the scale QKeras keeps (`quantizer.scale`,
/// what hls4ml's ApplyAlpha multiplies by). "auto" (symmetric, as QKeras forces):
/// s = max|w/2^i|·2/levels per output, z = sign·min(floor(|w/2^i|/s + ½), levels/2),
/// scale = s·m, w_q = (2^i·z/m)·scale; a number a: w_q = a·grid(w), scale = a.
pub fn float_alpha_quantize(kernel: &[f32], n_in: usize, n_out: usize, q: &Quantizer) -> (Vec<f32>, Vec<f32>) {
    let Quantizer::QuantizedBits { bits, integer, keep_negative, alpha, .. } = *q else {
        return (kernel.to_vec(), vec![1.0; n_out]);
    };
    match alpha {
        Alpha::Auto => {
            let m = ((bits - keep_negative as u32) as f32).exp2();
            let m_i = (integer as f32).exp2();
            let levels = ((1u64 << (bits - 1)) - 1) as f32 * 2.0;
            let mut out = vec![0f32; kernel.len()];
            let mut scales = Vec::with_capacity(n_out);
            for o in 0..n_out {
                let col: Vec<f32> = (0..n_in).map(|i| kernel[i * n_out + o] / m_i).collect();
                let max_abs = col.iter().fold(0f32, |a, v| a.max(v.abs()));
                let s = (max_abs * 2.0) / levels;
                let scale = s * m;
                for (i, x) in col.iter().enumerate() {
                    let v = (x.abs() / s + 0.5).floor();
                    let sign = if *x > 0.0 {
                        1.0
                    } else if *x < 0.0 {
                        -1.0
                    } else {
                        0.0
                    };
                    let z = sign * if v < levels / 2.0 { v } else { levels / 2.0 };
                    out[i * n_out + o] = if z == 0.0 { 0.0 } else { ((m_i * z) / m) * scale };
                }
                scales.push(scale);
            }
            (out, scales)
        }
        Alpha::Number(a) => {
            let mut k = kernel.to_vec();
            q.quantize_slice(&mut k);
            let a = a as f32;
            (k.into_iter().map(|v| a * v).collect(), vec![a; n_out])
        }
        Alpha::One | Alpha::AutoPo2 => (kernel.to_vec(), vec![1.0; n_out]),
    }
}

/// Quantize with auto_po2 alpha: w = 2^e_c · z, z integer in ±(2^(bits-1)-1).
pub fn auto_po2_quantize(kernel: &[f32], n_out: usize, exponents: &[i32], bits: u32) -> Vec<f32> {
    let zmax = ((1u64 << (bits - 1)) - 1) as f32;
    kernel
        .iter()
        .enumerate()
        .map(|(k, &w)| {
            let scale = (exponents[k % n_out] as f32).exp2();
            (w / scale).round_ties_even().clamp(-zmax, zmax) * scale
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_po2_scales_are_powers_of_two() {
        // Two channels with very different magnitudes get different exponents.
        let kernel = [0.9f32, 0.01, -0.5, 0.02, 0.3, -0.015];
        let e = auto_po2_exponents(&kernel, 3, 2, 4, 0);
        assert!(e[0] > e[1], "{e:?}");
        let q = auto_po2_quantize(&kernel, 2, &e, 4);
        for (k, v) in q.iter().enumerate() {
            let z = v / (e[k % 2] as f32).exp2();
            assert_eq!(z, z.round());
            assert!(z.abs() <= 7.0);
        }
    }
}
