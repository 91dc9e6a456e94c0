//! Non-negative linear least squares with linfa, and k-fold cross-validation.
//!
//! Input: a design matrix (one row per run, one column per feature), the
//! measured quantity, the features to refit and the current coefficients.
//! Output: new coefficients (one per column) and held-out predictions.
//!
//! The cost model has no intercept (`quantity = Σ coefficient × feature`; the
//! `layer` feature plays the constant's part), so the regression is fitted
//! without one. Features not refitted keep their coefficient: their share is
//! subtracted from the target first. Why the steps below:
//! - a feature that is 0 in every training run says nothing about its
//!   coefficient: it keeps its current value (the model must still price it);
//! - a feature that is a linear combination of other refitted features (a
//!   constant feature next to another constant one, two counts that move
//!   together) cannot be told apart from them: it is dropped from the fit with
//!   coefficient 0, its share absorbed by the others (otherwise the QR solve
//!   meets a singular matrix);
//! - coefficients are physical costs (LUTs per adder bit, pJ per operation):
//!   a negative one would let the search buy "negative cost" by adding logic.
//!   Rather than shrinking every coefficient (ridge, which biases all of them
//!   and needs its strength tuned), the most negative coefficient is clamped to
//!   0 and the rest refitted, until none is negative (an active-set method in
//!   the manner of Lawson–Hanson NNLS). The remaining coefficients stay
//!   unbiased least-squares fits;
//! - fewer runs than coefficients to fit is an error that names the count needed.
use crate::error::{Error, Result};
use linfa::traits::Fit as _;
use linfa::Dataset;
use linfa_linear::LinearRegression;
use ndarray::{Array1, Array2};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Serialize;

/// Why a refittable feature did not get a fitted coefficient.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dropped {
    /// 0 in every training run: current coefficient kept.
    NeverPresent,
    /// A linear combination of other features in these runs: coefficient 0.
    Collinear,
    /// The least-squares coefficient was negative: clamped to 0.
    ClampedNegative,
}

/// The result of one fit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FitResult {
    /// One per column of the design matrix.
    pub coefficients: Vec<f64>,
    /// Columns that got a least-squares coefficient.
    pub fitted: Vec<usize>,
    pub dropped: Vec<(usize, Dropped)>,
}

/// One linear problem: rows of features, targets, which columns to refit, and
/// the current coefficients (kept for the other columns).
#[derive(Clone, Copy, Debug)]
pub struct Problem<'a> {
    pub rows: &'a [Vec<f64>],
    pub targets: &'a [f64],
    pub refit: &'a [usize],
    pub current: &'a [f64],
    /// What the targets are, for messages ("LUT").
    pub quantity: &'a str,
}

impl Problem<'_> {
    fn subset(&self, rows: &[usize]) -> (Vec<Vec<f64>>, Vec<f64>) {
        (rows.iter().map(|&i| self.rows[i].clone()).collect(), rows.iter().map(|&i| self.targets[i]).collect())
    }

    /// Refitted columns that are non-zero in at least one of `rows`.
    pub fn present_columns(&self, rows: &[usize]) -> Vec<usize> {
        self.refit.iter().copied().filter(|&c| rows.iter().any(|&r| self.rows[r][c] != 0.0)).collect()
    }
}

pub fn dot(coefficients: &[f64], row: &[f64]) -> f64 {
    coefficients.iter().zip(row).map(|(c, x)| c * x).sum()
}

/// Fit the problem on all of its rows.
pub fn fit(p: &Problem) -> Result<FitResult> {
    let all: Vec<usize> = (0..p.rows.len()).collect();
    let present = p.present_columns(&all);
    if p.rows.len() < present.len() {
        return Err(Error::Config(format!(
            "calibrating {} needs at least {} runs ({} coefficients vary across the runs), got {}",
            p.quantity,
            present.len(),
            present.len(),
            p.rows.len()
        )));
    }
    fit_rows(p, &all)
}

fn fit_rows(p: &Problem, rows: &[usize]) -> Result<FitResult> {
    let (x, y) = p.subset(rows);
    let n_cols = p.current.len();
    let mut coefficients = p.current.to_vec();
    let mut dropped = Vec::new();
    let mut candidates = Vec::new();
    for &c in p.refit {
        if x.iter().all(|row| row[c] == 0.0) {
            dropped.push((c, Dropped::NeverPresent));
        } else {
            coefficients[c] = 0.0;
            candidates.push(c);
        }
    }
    // Target left for the refitted columns: measured − share of the kept ones.
    let residual: Vec<f64> = x.iter().zip(&y).map(|(row, t)| t - dot(&coefficients, row)).collect();
    let (mut active, collinear) = independent_columns(&x, &candidates);
    dropped.extend(collinear.into_iter().map(|c| (c, Dropped::Collinear)));
    loop {
        if active.is_empty() {
            break;
        }
        let solved = least_squares(&x, &residual, &active, p.quantity)?;
        let (worst, value) = solved.iter().copied().enumerate().fold((0, 0.0), |acc, (i, v)| if v < acc.1 { (i, v) } else { acc });
        if value < 0.0 {
            dropped.push((active.remove(worst), Dropped::ClampedNegative));
            continue;
        }
        for (&c, v) in active.iter().zip(solved) {
            coefficients[c] = v;
        }
        break;
    }
    debug_assert_eq!(coefficients.len(), n_cols);
    dropped.sort_by_key(|d| d.0);
    Ok(FitResult { coefficients, fitted: active, dropped })
}

/// Columns of `candidates` (in order) that are linearly independent of the
/// ones before them (modified Gram–Schmidt on unit-norm columns), and the rest.
fn independent_columns(x: &[Vec<f64>], candidates: &[usize]) -> (Vec<usize>, Vec<usize>) {
    const TOLERANCE: f64 = 1e-9;
    let mut basis: Vec<Vec<f64>> = Vec::new();
    let (mut keep, mut reject) = (Vec::new(), Vec::new());
    for &c in candidates {
        let mut v: Vec<f64> = x.iter().map(|row| row[c]).collect();
        let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        v.iter_mut().for_each(|a| *a /= norm);
        for b in &basis {
            let proj: f64 = v.iter().zip(b).map(|(a, b)| a * b).sum();
            v.iter_mut().zip(b).for_each(|(a, b)| *a -= proj * b);
        }
        let rest = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        if rest > TOLERANCE.sqrt() {
            v.iter_mut().for_each(|a| *a /= rest);
            basis.push(v);
            keep.push(c);
        } else {
            reject.push(c);
        }
    }
    (keep, reject)
}

/// linfa's ordinary least squares (no intercept) on the `columns` of `x`,
/// each scaled to unit norm for a well-conditioned QR solve.
fn least_squares(x: &[Vec<f64>], y: &[f64], columns: &[usize], quantity: &str) -> Result<Vec<f64>> {
    let norms: Vec<f64> = columns.iter().map(|&c| x.iter().map(|r| r[c] * r[c]).sum::<f64>().sqrt()).collect();
    let records = Array2::from_shape_fn((x.len(), columns.len()), |(i, j)| x[i][columns[j]] / norms[j]);
    let dataset = Dataset::new(records, Array1::from(y.to_vec()));
    let model = LinearRegression::new()
        .with_intercept(false)
        .fit(&dataset)
        .map_err(|e| Error::Config(format!("least-squares fit of {quantity} failed: {e}")))?;
    Ok(model.params().iter().zip(&norms).map(|(p, n)| p / n).collect())
}

/// Fold of each row: a seeded shuffle dealt round-robin into `k` folds.
pub fn fold_assignment(n: usize, k: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    let mut fold = vec![0; n];
    for (position, &row) in order.iter().enumerate() {
        fold[row] = position % k;
    }
    fold
}

/// Smallest number of runs whose k-fold training sets all hold `p` runs.
pub fn runs_needed(p: usize, k: usize) -> usize {
    (p.max(1)..).find(|&n| n - n.div_ceil(k) >= p).unwrap_or(p)
}

/// Held-out prediction of every row: fit on the other folds, predict the row.
/// `groups[i]` is the group of row i; rows of one group share a fold (energy:
/// all layers of one variant are held out together).
pub fn cross_validate(p: &Problem, k: usize, seed: u64, groups: Option<&[usize]>) -> Result<Vec<f64>> {
    let n = p.rows.len();
    let n_groups = groups.map_or(n, |g| g.iter().max().map_or(0, |m| m + 1));
    if k < 2 {
        return Err(Error::Config(format!("k-fold cross-validation needs k ≥ 2, got {k}")));
    }
    if n_groups < k {
        return Err(Error::Config(format!("{k}-fold cross-validation of {} needs at least {k} runs, got {n_groups}", p.quantity)));
    }
    let group_fold = fold_assignment(n_groups, k, seed);
    let fold_of = |row: usize| group_fold[groups.map_or(row, |g| g[row])];
    let all: Vec<usize> = (0..n).collect();
    let needed_features = p.present_columns(&all).len();
    let mut predictions = vec![0.0; n];
    for fold in 0..k {
        let train: Vec<usize> = all.iter().copied().filter(|&r| fold_of(r) != fold).collect();
        let present = p.present_columns(&train).len();
        if train.len() < present {
            return Err(Error::Config(format!(
                "{k}-fold cross-validation of {}: a training fold has {} runs for {} coefficients; \
                 use at least {} runs (or a smaller k, or fewer --features)",
                p.quantity,
                train.len(),
                present,
                runs_needed(needed_features, k)
            )));
        }
        let fitted = fit_rows(p, &train)?;
        for r in all.iter().copied().filter(|&r| fold_of(r) == fold) {
            predictions[r] = dot(&fitted.coefficients, &p.rows[r]);
        }
    }
    Ok(predictions)
}
