//! hls4ml 1.3's softmax variants (`nnet_activation.h`: `softmax_stable`,
//! `softmax_latency`, `softmax_legacy`, `softmax_argmax`), step by step as its
//! C simulation computes them, with its lookup tables built the same way
//! (single-precision `exp` and `1/x` of the value each index stands for, cast
//! into the table type). Types are those hls4ml's Vivado backend writes into
//! the softmax config (`core_templates.py`): `accum_t` is the model default,
//! `inv_inp_t` is `exp_table_t`, and `stable` indexes its exp table with the
//! max-normalised input in `ap_ufixed<W-1,I-1>` (for a signed input).
use super::spec::{SoftmaxConfig, SoftmaxImplementation};
use crate::quant::{FixedType, Overflow, Rounding};
use serde::Serialize;

/// hls4ml's default `exp_table_t` / `inv_table_t`.
pub const HLS4ML_TABLE_TYPE: FixedType = FixedType::signed(18, 8).with_modes(Rounding::Rnd, Overflow::Sat);
/// hls4ml's default `table_size`.
pub const HLS4ML_TABLE_SIZE: usize = 1024;
/// `nnet::activ_config::table_t`, the legacy softmax's table type.
pub const HLS4ML_LEGACY_TABLE_TYPE: FixedType = FixedType::signed(18, 8);

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Hls4mlSoftmax {
    pub implementation: SoftmaxImplementation,
    pub n: usize,
    pub in_type: FixedType,
    pub exp_table_t: FixedType,
    pub inv_table_t: FixedType,
    pub accum_t: FixedType,
    pub inv_inp_t: FixedType,
    /// `stable` only: the type of max(x) - x_j.
    pub inp_norm_t: FixedType,
    pub out_type: FixedType,
    pub exp_table_size: usize,
    pub inv_table_size: usize,
    /// Raw entries in `exp_table_t` (`table_t` for legacy).
    pub exp_table: Vec<i64>,
    pub inv_table: Vec<i64>,
}

/// Value of the type whose top `log2(size)` bits are `i` (the rest zero), as `float`.
fn real_val_from_idx(t: &FixedType, size: usize, i: usize) -> f32 {
    let n = size.trailing_zeros();
    let bits = (i as u64) << (t.width - n);
    // Sign-extend the width-bit pattern (a 64-bit one already is).
    let raw = if t.signed && t.width < 64 && bits >> (t.width - 1) & 1 == 1 { bits as i64 - (1i64 << t.width) } else { bits as i64 };
    t.to_f64(raw) as f32
}

/// The top `log2(size)` bits of a raw value (its bit pattern, sign included).
fn idx_from_raw(t: &FixedType, size: usize, raw: i64) -> usize {
    let n = size.trailing_zeros();
    let pattern = (raw as u64) & (u64::MAX >> (64 - t.width));
    (pattern >> (t.width - n)) as usize
}

impl Hls4mlSoftmax {
    /// The softmax of `n` inputs of `in_type`; `default` is the model's default precision.
    pub fn new(cfg: &SoftmaxConfig, n: usize, in_type: FixedType, default: FixedType) -> Result<Hls4mlSoftmax, String> {
        let table_size = cfg.table_size.unwrap_or(HLS4ML_TABLE_SIZE);
        let exp_table_t = cfg.exp_table_t.unwrap_or(HLS4ML_TABLE_TYPE);
        let inv_table_t = cfg.inv_table_t.unwrap_or(HLS4ML_TABLE_TYPE);
        let s = in_type.signed as u32;
        let inp_norm_t = FixedType::unsigned(in_type.width.saturating_sub(s).max(1), in_type.integer - s as i32);
        let exp_table_size = match cfg.implementation {
            SoftmaxImplementation::Stable if in_type.signed => table_size.min(1usize << inp_norm_t.width.min(30)),
            _ => table_size,
        };
        let mut sm = Hls4mlSoftmax {
            implementation: cfg.implementation,
            n,
            in_type,
            exp_table_t,
            inv_table_t,
            accum_t: default,
            inv_inp_t: exp_table_t,
            inp_norm_t,
            out_type: cfg.result.unwrap_or(default),
            exp_table_size,
            inv_table_size: table_size,
            exp_table: vec![],
            inv_table: vec![],
        };
        let bits = |size: usize| size.trailing_zeros();
        let index_types = match cfg.implementation {
            SoftmaxImplementation::Stable => vec![(inp_norm_t, exp_table_size), (exp_table_t, table_size)],
            SoftmaxImplementation::Latency => vec![(in_type, exp_table_size), (exp_table_t, table_size)],
            _ => vec![],
        };
        if let Some((t, size)) = index_types.iter().find(|(t, size)| bits(*size) > t.width) {
            return Err(format!("softmax table of {size} entries is indexed by {t}, which has fewer bits"));
        }
        sm.build_tables();
        Ok(sm)
    }

    fn build_tables(&mut self) {
        let (es, is) = (self.exp_table_size, self.inv_table_size);
        match self.implementation {
            SoftmaxImplementation::Stable | SoftmaxImplementation::Latency => {
                let (index_t, negate) =
                    if self.implementation == SoftmaxImplementation::Stable { (self.inp_norm_t, true) } else { (self.in_type, false) };
                self.exp_table = (0..es)
                    .map(|i| {
                        let x = real_val_from_idx(&index_t, es, i);
                        self.exp_table_t.from_f64((if negate { -x } else { x }).exp() as f64)
                    })
                    .collect();
                self.inv_table =
                    (0..is).map(|i| self.inv_table_t.from_f64((1.0f32 / real_val_from_idx(&self.inv_inp_t, is, i)) as f64)).collect();
            }
            SoftmaxImplementation::Legacy => {
                let t = HLS4ML_LEGACY_TABLE_TYPE;
                self.exp_table = (0..es)
                    .map(|i| {
                        let x = (2.0 * 8.0 * (i as f64 - es as f32 as f64 / 2.0) / es as f32 as f64) as f32;
                        t.from_f64(x.exp() as f64)
                    })
                    .collect();
                self.inv_table = (0..is)
                    .map(|i| {
                        let x = (64.0 * i as f64 / is as f32 as f64) as f32;
                        if x > 0.0 {
                            t.from_f64(1.0 / x as f64)
                        } else {
                            0
                        }
                    })
                    .collect();
            }
            SoftmaxImplementation::Argmax | SoftmaxImplementation::Qforge => {}
        }
    }

    /// Softmax of `x` (raw, `in_type`) into `out` (raw, `out_type`).
    pub fn apply(&self, x: &[i64], out: &mut [i64]) {
        match self.implementation {
            SoftmaxImplementation::Stable | SoftmaxImplementation::Latency => self.apply_tables(x, out),
            SoftmaxImplementation::Legacy => self.apply_legacy(x, out),
            SoftmaxImplementation::Argmax | SoftmaxImplementation::Qforge => {
                out.fill(0);
                let mut best = 0;
                for (i, &v) in x.iter().enumerate() {
                    if v > x[best] {
                        best = i;
                    }
                }
                out[best] = self.out_type.cast_raw(1, 0);
            }
        }
    }

    fn apply_tables(&self, x: &[i64], out: &mut [i64]) {
        let acc = &self.accum_t;
        let from_exp = self.exp_table_t.frac();
        let exps: Vec<i64> = if self.implementation == SoftmaxImplementation::Stable {
            let x_max = x.iter().copied().max().unwrap_or(0);
            x.iter()
                .map(|&xj| {
                    let d = self.inp_norm_t.cast_raw_wide(x_max as i128 - xj as i128, self.in_type.frac());
                    acc.cast_raw(self.exp_table[idx_from_raw(&self.inp_norm_t, self.exp_table_size, d)], from_exp)
                })
                .collect()
        } else {
            x.iter().map(|&xj| acc.cast_raw(self.exp_table[idx_from_raw(&self.in_type, self.exp_table_size, xj)], from_exp)).collect()
        };
        let sum = reduce_add(acc, &exps);
        let exp_sum = self.inv_inp_t.cast_raw(sum, acc.frac());
        let inv = self.inv_table[idx_from_raw(&self.inv_inp_t, self.inv_table_size, exp_sum)];
        let prod_frac = acc.frac() + self.inv_table_t.frac();
        for (o, &e) in out.iter_mut().zip(&exps) {
            *o = self.out_type.cast_raw(e * inv, prod_frac);
        }
    }

    fn apply_legacy(&self, x: &[i64], out: &mut [i64]) {
        let t = HLS4ML_LEGACY_TABLE_TYPE;
        let (es, is) = (self.exp_table_size as i128, self.inv_table_size as i128);
        let frac = self.in_type.frac();
        for (i, o) in out.iter_mut().enumerate() {
            let mut sum = 0i64;
            for (j, &xj) in x.iter().enumerate() {
                let e = if i == j {
                    t.cast_raw(1, 0)
                } else {
                    // (x_j - x_i) * size / 16 as an int: C's truncation toward zero.
                    let scaled = (xj as i128 - x[i] as i128) * es;
                    let round = if frac >= 0 { scaled / 16 / (1i128 << frac) } else { scaled / 16 * (1i128 << -frac) };
                    let index = (round + 8 * es / 16).clamp(0, es - 1);
                    self.exp_table[index as usize]
                };
                sum = t.cast_raw(sum + e, t.frac());
            }
            let index = ((sum as i128 * is / 64) >> t.frac().max(0)).clamp(0, is - 1);
            // Positive sums: the shift is the truncation toward zero C does.
            *o = self.out_type.cast_raw(self.inv_table[index as usize], t.frac());
        }
    }
}

/// hls4ml's `reduce` with `Op_add<T>`: a balanced tree whose every sum is cast to `T`.
fn reduce_add(t: &FixedType, x: &[i64]) -> i64 {
    match x.len() {
        0 => 0,
        1 => x[0],
        2 => t.cast_raw(x[0] + x[1], t.frac()),
        n => {
            let left = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            t.cast_raw(reduce_add(t, &x[..left]) + reduce_add(t, &x[left..]), t.frac())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_slices_the_top_bits_sign_included() {
        let t = FixedType::signed(16, 6);
        assert_eq!(idx_from_raw(&t, 1024, -1), 1023);
        assert_eq!(idx_from_raw(&t, 1024, 64), 1);
        assert_eq!(real_val_from_idx(&t, 1024, 1), 1.0 / 16.0);
        assert_eq!(real_val_from_idx(&t, 1024, 1023), -1.0 / 16.0);
    }

    #[test]
    fn reduce_casts_every_partial_sum() {
        // A saturating 4-bit type: ((7 + 7) sat 7) + (-8 + 1): the tree gives 0, the plain sum 7.
        let t = FixedType::signed(4, 4).with_modes(Rounding::Trn, Overflow::Sat);
        assert_eq!(reduce_add(&t, &[7, 7, -8, 1]), 0);
        assert_eq!(reduce_add(&t, &[1, 2, 3]), 6);
    }

    #[test]
    fn stable_types_and_tables_follow_hls4ml_defaults() {
        let cfg = SoftmaxConfig { implementation: SoftmaxImplementation::Stable, ..Default::default() };
        let sm = Hls4mlSoftmax::new(&cfg, 5, FixedType::signed(16, 9), FixedType::signed(16, 6)).unwrap();
        assert_eq!(sm.inp_norm_t, FixedType::unsigned(15, 8));
        assert_eq!(sm.exp_table_size, 1024);
        // exp(-0) = 1 at 10 fractional bits; the inverse of the smallest sums saturates.
        assert_eq!(sm.exp_table[0], 1024);
        assert_eq!(sm.inv_table[0], HLS4ML_TABLE_TYPE.max_raw());
        let mut out = vec![0; 5];
        // x = (4, 0, 0, 0, 0) at 7 fractional bits: the sum 1 + 4e^-4 = 1.07 indexes the
        // 1/x table by its top 10 of 18 bits (steps of 1/4), which reads 1/1: outputs are
        // exp(0) = 1 and exp(-4) = 0.0183 (19/1024) themselves.
        sm.apply(&[512, 0, 0, 0, 0], &mut out);
        assert_eq!(out, vec![1024, 19, 19, 19, 19]);
        // x = (1, 0, ...): sum 2.47 reads 1/2.25 = 0.444 (455/1024); 0.3679 · 0.444 = 0.1635.
        sm.apply(&[128, 0, 0, 0, 0], &mut out);
        assert_eq!(out, vec![455, 167, 167, 167, 167]);
    }
}
