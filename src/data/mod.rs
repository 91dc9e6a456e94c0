//! Data: the labelled jets a model trains and is evaluated on. Owns loading
//! (OpenML CSV/ARFF exports of `hls4ml_lhc_jets_hlf`, NumPy arrays as the hls4ml
//! tutorial saves them), the embedded synthetic generator, reproducible splits
//! and the standardisation fitted on the training split. Output: [`Dataset`]s
//! for `train` and evaluation. `images` holds the image data of the CNN path
//! (the UCI 8×8 digits, synthetic images).
pub mod images;
pub mod loaders;
pub mod synthetic;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The 16 high-level features of the hls4ml LHC jet dataset, in OpenML order.
pub const JET_FEATURES: [&str; 16] = [
    "j_zlogz",
    "j_c1_b0_mmdt",
    "j_c1_b1_mmdt",
    "j_c1_b2_mmdt",
    "j_c2_b1_mmdt",
    "j_c2_b2_mmdt",
    "j_d2_b1_mmdt",
    "j_d2_b2_mmdt",
    "j_d2_a1_b1_mmdt",
    "j_d2_a1_b2_mmdt",
    "j_m2_b1_mmdt",
    "j_m2_b2_mmdt",
    "j_n2_b1_mmdt",
    "j_n2_b2_mmdt",
    "j_mass_mmdt",
    "j_multiplicity",
];

/// The five jet classes: gluon, light quark, top, W, Z.
pub const JET_CLASSES: [&str; 5] = ["g", "q", "t", "w", "z"];

/// Labelled samples, row-major features.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    pub n_features: usize,
    pub x: Vec<f32>,
    pub y: Vec<u8>,
    pub feature_names: Vec<String>,
    pub class_names: Vec<String>,
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.y.len()
    }
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }
    pub fn row(&self, i: usize) -> &[f32] {
        &self.x[i * self.n_features..(i + 1) * self.n_features]
    }
    /// The samples at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let mut x = Vec::with_capacity(indices.len() * self.n_features);
        for &i in indices {
            x.extend_from_slice(self.row(i));
        }
        Dataset {
            n_features: self.n_features,
            x,
            y: indices.iter().map(|&i| self.y[i]).collect(),
            feature_names: self.feature_names.clone(),
            class_names: self.class_names.clone(),
        }
    }
    /// The first `n` samples (or all).
    pub fn head(&self, n: usize) -> Dataset {
        self.subset(&(0..n.min(self.len())).collect::<Vec<_>>())
    }
    /// Standardise features in place.
    pub fn standardize(&mut self, scaler: &Scaler) {
        scaler.apply(&mut self.x);
    }
}

/// Standardisation fitted on the training split: x' = (x - mean) / std.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

impl Scaler {
    pub fn identity(n: usize) -> Self {
        Scaler { mean: vec![0.0; n], std: vec![1.0; n] }
    }
    /// Standardise rows of `x` (row-major, `mean.len()` columns) in place.
    pub fn apply(&self, x: &mut [f32]) {
        let n = self.mean.len();
        for row in x.chunks_mut(n) {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                *v = (*v - m) / s;
            }
        }
    }
}

/// Train, validation and test splits.
#[derive(Clone, Debug)]
pub struct Splits {
    pub train: Dataset,
    pub val: Dataset,
    pub test: Dataset,
}

/// Shuffle with `seed`, keep `test_fraction` for test and `val_fraction` of the
/// rest for validation (the paper: 20 % test, 25 % of train for validation).
pub fn split(data: &Dataset, seed: u64, test_fraction: f64, val_fraction: f64) -> Splits {
    let mut idx: Vec<usize> = (0..data.len()).collect();
    idx.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let n_test = (data.len() as f64 * test_fraction).round() as usize;
    let (test, rest) = idx.split_at(n_test);
    let n_val = (rest.len() as f64 * val_fraction).round() as usize;
    let (val, train) = rest.split_at(n_val);
    Splits { train: data.subset(train), val: data.subset(val), test: data.subset(test) }
}

/// Fit a standardisation on `data` (features with zero spread keep std 1).
pub fn fit_scaler(data: &Dataset) -> Scaler {
    let n = data.n_features;
    let count = data.len().max(1) as f64;
    let mut mean = vec![0f64; n];
    let mut sq = vec![0f64; n];
    for i in 0..data.len() {
        for (j, &v) in data.row(i).iter().enumerate() {
            mean[j] += v as f64;
            sq[j] += (v as f64) * (v as f64);
        }
    }
    let mean: Vec<f64> = mean.iter().map(|m| m / count).collect();
    let std: Vec<f32> = sq
        .iter()
        .zip(&mean)
        .map(|(s, m)| {
            let var = (s / count - m * m).max(0.0);
            if var > 1e-12 {
                var.sqrt() as f32
            } else {
                1.0
            }
        })
        .collect();
    Scaler { mean: mean.iter().map(|&m| m as f32).collect(), std }
}

/// One mean and standard deviation over every value (each pixel of an image
/// model scaled alike, so a shifted pattern stays the same pattern), repeated
/// per feature so the scaler has the model's shape.
pub fn fit_global_scaler(data: &Dataset) -> Scaler {
    let n = data.x.len().max(1) as f64;
    let mean = data.x.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = data.x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    let std = if var > 0.0 { var.sqrt() as f32 } else { 1.0 };
    Scaler { mean: vec![mean as f32; data.n_features], std: vec![std; data.n_features] }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_scaler_scales_every_pixel_alike() {
        let data = Dataset { n_features: 2, x: vec![0.0, 2.0, 4.0, 6.0], y: vec![0, 1], ..Default::default() };
        let s = fit_global_scaler(&data);
        // mean 3, population variance (9+1+1+9)/4 = 5
        assert_eq!(s.mean, vec![3.0, 3.0]);
        assert!((s.std[0] - 5f32.sqrt()).abs() < 1e-6 && s.std[0] == s.std[1]);
    }

    #[test]
    fn split_is_reproducible_and_disjoint() {
        let data = synthetic::generate(1000, 7);
        let a = split(&data, 42, 0.2, 0.25);
        let b = split(&data, 42, 0.2, 0.25);
        assert_eq!(a.train, b.train);
        assert_eq!((a.train.len(), a.val.len(), a.test.len()), (600, 200, 200));
        let c = split(&data, 43, 0.2, 0.25);
        assert_ne!(a.train.y, c.train.y);
    }

    #[test]
    fn scaler_standardizes() {
        let mut data = synthetic::generate(2000, 1);
        let s = fit_scaler(&data);
        data.standardize(&s);
        let s2 = fit_scaler(&data);
        for (m, sd) in s2.mean.iter().zip(&s2.std) {
            assert!(m.abs() < 1e-3 && (sd - 1.0).abs() < 1e-3, "{m} {sd}");
        }
    }
}
