//! Error measures of an estimator against measurements: mean absolute
//! percentage error, coefficient of determination R² and Spearman's rank
//! correlation. Input: paired slices (measured, predicted); output: plain
//! numbers, `None` where a measure is undefined (no samples, zero variance).
use serde::{Deserialize, Serialize};

/// The three measures of one quantity over one set of samples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub samples: usize,
    /// Mean of |predicted − measured| / |measured| over samples with measured ≠ 0, in percent.
    pub mape_percent: Option<f64>,
    pub r2: Option<f64>,
    pub spearman: Option<f64>,
}

impl Metrics {
    pub fn of(measured: &[f64], predicted: &[f64]) -> Metrics {
        Metrics {
            samples: measured.len(),
            mape_percent: mape_percent(measured, predicted),
            r2: r_squared(measured, predicted),
            spearman: spearman(measured, predicted),
        }
    }
}

/// Mean absolute percentage error (percent). Samples measured as exactly 0
/// have no relative error and are left out; `None` when none is left.
pub fn mape_percent(measured: &[f64], predicted: &[f64]) -> Option<f64> {
    let terms: Vec<f64> = measured.iter().zip(predicted).filter(|(m, _)| **m != 0.0).map(|(m, p)| ((p - m) / m).abs()).collect();
    (!terms.is_empty()).then(|| 100.0 * terms.iter().sum::<f64>() / terms.len() as f64)
}

/// R² = 1 − SS_res / SS_tot (can be negative: worse than predicting the mean).
/// `None` with fewer than two samples or when every measurement is the same.
pub fn r_squared(measured: &[f64], predicted: &[f64]) -> Option<f64> {
    if measured.len() < 2 {
        return None;
    }
    let mean = measured.iter().sum::<f64>() / measured.len() as f64;
    let ss_tot: f64 = measured.iter().map(|m| (m - mean).powi(2)).sum();
    let ss_res: f64 = measured.iter().zip(predicted).map(|(m, p)| (m - p).powi(2)).sum();
    (ss_tot > 0.0).then(|| 1.0 - ss_res / ss_tot)
}

/// Ranks 1..n, ties given the mean of the ranks they span.
pub fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // Positions start..end hold ranks start+1..=end; their mean:
        let rank = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

/// Spearman's ρ: Pearson correlation of the ranks (ties averaged).
/// `None` with fewer than two samples or when either side is constant.
pub fn spearman(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() < 2 || a.len() != b.len() {
        return None;
    }
    pearson(&ranks(a), &ranks(b))
}

pub fn pearson(a: &[f64], b: &[f64]) -> Option<f64> {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    (va > 0.0 && vb > 0.0).then(|| cov / (va * vb).sqrt())
}
