//! The firmware's softmax, computed with lookup tables as the HLS C++ and the
//! RTL do, so that every output bit can be compared.
//!
//! For inputs x (raw, `in_type`): d_j = max(x) - x_j is cut to `diff_type`
//! (truncation, saturation) and indexes an exp(-d) table; the exact sum of the
//! table values, cut to `sum_index_type`, indexes a 1/sum table; each output is
//! exp_j · (1/sum) rounded into `out_type`. Tables are computed here once and
//! written verbatim into the firmware.
use crate::quant::{Caster, FixedType, Overflow, Rounding};
use serde::{Deserialize, Serialize};

/// Address bits of both tables (1024 entries, one BRAM18 each at 18 bits).
pub const TABLE_BITS: u32 = 10;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SoftmaxTables {
    pub n: usize,
    pub in_type: FixedType,
    pub diff_type: FixedType,
    pub exp_type: FixedType,
    pub sum_type: FixedType,
    pub sum_index_type: FixedType,
    pub inv_type: FixedType,
    pub out_type: FixedType,
    pub exp_table: Vec<i64>,
    pub inv_table: Vec<i64>,
}

/// ceil(log2(n)) for n >= 1.
pub fn ceil_log2(n: usize) -> u32 {
    usize::BITS - (n.max(1) - 1).leading_zeros()
}

impl SoftmaxTables {
    pub fn new(n: usize, in_type: FixedType) -> Self {
        let sat_trn = |t: FixedType| t.with_modes(Rounding::Trn, Overflow::Sat);
        // exp(-d) for d in [0, 8) in steps of 1/128: beyond, e^-8 is negligible next to 1.
        let diff_type = sat_trn(FixedType::unsigned(TABLE_BITS, 3));
        let exp_type = FixedType::unsigned(18, 1).with_modes(Rounding::Rnd, Overflow::Sat);
        let grow = ceil_log2(n);
        let sum_type = FixedType::unsigned(18 + grow, 1 + grow as i32);
        // The sum lies in [1, n]: index it with ceil(log2(n+1)) integer bits.
        let sum_index_type = sat_trn(FixedType::unsigned(TABLE_BITS, ceil_log2(n + 1) as i32));
        let inv_type = FixedType::unsigned(18, 1).with_modes(Rounding::Rnd, Overflow::Sat);
        let out_type = FixedType::unsigned(16, 0).with_modes(Rounding::Rnd, Overflow::Sat);
        let size = 1usize << TABLE_BITS;
        let exp_table = (0..size).map(|k| exp_type.from_f64((-diff_type.to_f64(k as i64)).exp())).collect();
        // Each entry is 1/sum at the middle of the interval its index covers.
        let inv_table = (0..size)
            .map(|k| {
                let mid = sum_index_type.to_f64(k as i64) + sum_index_type.lsb() / 2.0;
                inv_type.from_f64(1.0 / mid.max(1.0))
            })
            .collect();
        SoftmaxTables { n, in_type, diff_type, exp_type, sum_type, sum_index_type, inv_type, out_type, exp_table, inv_table }
    }

    /// Softmax of `x` (raw, `in_type`) into `out` (raw, `out_type`).
    pub fn apply(&self, x: &[i64], out: &mut [i64]) {
        let diff = Caster::new(self.diff_type, self.in_type.frac());
        let x_max = x.iter().copied().max().unwrap_or(0);
        let mut exps = [0i64; 64];
        let exps = &mut exps[..x.len().min(64)];
        let mut sum = 0i64;
        for (e, &xj) in exps.iter_mut().zip(x) {
            let idx = diff.cast(x_max - xj) as usize;
            *e = self.exp_table[idx];
            sum += *e;
        }
        let inv_idx = self.sum_index_type.cast_raw(sum, self.exp_type.frac()) as usize;
        let inv = self.inv_table[inv_idx];
        let out_cast = Caster::new(self.out_type, self.exp_type.frac() + self.inv_type.frac());
        for (o, e) in out.iter_mut().zip(exps.iter()) {
            *o = out_cast.cast(e * inv);
        }
    }
}

/// The casts of [`SoftmaxTables::apply`], built once instead of per sample.
#[derive(Clone, Debug)]
pub struct SoftmaxCasters {
    diff: Caster,
    sum_index: Caster,
    out: Caster,
}

impl SoftmaxTables {
    pub fn casters(&self) -> SoftmaxCasters {
        SoftmaxCasters {
            diff: Caster::new(self.diff_type, self.in_type.frac()),
            sum_index: Caster::new(self.sum_index_type, self.exp_type.frac()),
            out: Caster::new(self.out_type, self.exp_type.frac() + self.inv_type.frac()),
        }
    }

    /// [`apply`](Self::apply) with the casts prepared by [`casters`](Self::casters):
    /// the same steps, the same bits (checked by a test below).
    pub fn apply_with(&self, c: &SoftmaxCasters, x: &[i64], out: &mut [i64]) {
        let x_max = x.iter().copied().max().unwrap_or(0);
        let mut exps = [0i64; 64];
        let exps = &mut exps[..x.len().min(64)];
        let mut sum = 0i64;
        for (e, &xj) in exps.iter_mut().zip(x) {
            *e = self.exp_table[c.diff.cast(x_max - xj) as usize];
            sum += *e;
        }
        let inv = self.inv_table[c.sum_index.cast(sum) as usize];
        for (o, e) in out.iter_mut().zip(exps.iter()) {
            *o = c.out.cast(e * inv);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_to_float_softmax() {
        let in_type = FixedType::signed(18, 7);
        let t = SoftmaxTables::new(5, in_type);
        let xs = [1.5f64, -0.25, 0.0, 3.0, -4.0];
        let raw: Vec<i64> = xs.iter().map(|&v| in_type.from_f64(v)).collect();
        let mut out = vec![0; 5];
        t.apply(&raw, &mut out);
        let denom: f64 = xs.iter().map(|v| v.exp()).sum();
        for (o, x) in out.iter().zip(xs) {
            let got = t.out_type.to_f64(*o);
            let want = x.exp() / denom;
            assert!((got - want).abs() < 0.02, "{got} vs {want}");
        }
    }

    #[test]
    fn prepared_casters_give_the_bits_of_apply() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for trial in 0..200 {
            let in_type = FixedType::new(rng.gen_range(4..24), rng.gen_range(-2..10), rng.gen_bool(0.8));
            let n = rng.gen_range(1..12);
            let t = SoftmaxTables::new(n, in_type);
            let c = t.casters();
            for _ in 0..50 {
                // Mostly in range, sometimes far apart (saturating differences).
                let x: Vec<i64> = (0..n).map(|_| rng.gen_range(in_type.min_raw()..=in_type.max_raw())).collect();
                let (mut a, mut b) = (vec![0; n], vec![0; n]);
                t.apply(&x, &mut a);
                t.apply_with(&c, &x, &mut b);
                assert_eq!(a, b, "trial {trial}: {in_type}, x = {x:?}");
            }
        }
    }

    #[test]
    fn table_shapes() {
        let t = SoftmaxTables::new(5, FixedType::signed(16, 6));
        assert_eq!(t.exp_table.len(), 1024);
        assert_eq!(t.exp_table[0], 1 << 17); // exp(0) = 1.0
        assert_eq!(t.sum_index_type.integer, 3);
        assert_eq!(ceil_log2(1), 0);
        assert_eq!(ceil_log2(16), 4);
        assert_eq!(ceil_log2(17), 5);
    }
}
