//! The refit `qforge run` does after every synthesis: it learns from its
//! first runs and never makes the estimator worse.
//!
//! Per quantity two candidate refits are tried on the measured runs of the
//! history:
//! - **scale**: every coefficient of the quantity times one factor s, fitted
//!   by least squares on relative errors (s = Σ(p/m) / Σ(p/m)², p the current
//!   estimate, m the measurement). One number, so it can be cross-validated
//!   from two runs on (leave-one-out);
//! - **full**: the non-negative least-squares refit of every coefficient
//!   ([`super::calibrate_resources`]), once the history holds enough runs for
//!   its k-fold cross-validation.
//!
//! The candidate with the lower held-out error replaces the current
//! coefficients only when that error is below the current calibration's error
//! on the same runs; otherwise the coefficients are kept and the report says
//! why. The error is the MAPE, or the mean absolute error when every run
//! measured 0 (FF of a combinational design).
use super::energy::{calibrate_energy, EnergyOptions, EnergyPoint, EnergySample};
use super::fit;
use super::metrics::{mape_percent, Metrics};
use super::{calibrate_resources, CalibrationSample, Quantity, ResourceOptions};
use crate::error::Result;
use crate::estimate::calibration::Provenance;
use crate::estimate::Calibration;
use crate::events::Reporter;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a quantity's refit was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefitMethod {
    Scale,
    Full,
}

/// Held-out predictions of one candidate refit, and its coefficients.
struct Candidate {
    method: RefitMethod,
    held_out: Vec<f64>,
    coefficients: BTreeMap<String, f64>,
    scale: Option<f64>,
}

/// What the guarded refit did with one quantity.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GuardedQuantity {
    pub quantity: Quantity,
    pub runs: usize,
    /// The current coefficients' error on these runs (MAPE %, or mean absolute error when every run measured 0).
    pub error_before: Option<f64>,
    /// The chosen refit's held-out error, same measure.
    pub error_after_cv: Option<f64>,
    /// Whether the error is a MAPE (%) or a mean absolute error.
    pub error_kind: String,
    pub method: Option<RefitMethod>,
    /// The factor of the scale refit.
    pub scale: Option<f64>,
    /// True when the refit replaced the coefficients.
    pub adopted: bool,
    /// Why it was or was not adopted.
    pub reason: String,
    pub before: Metrics,
    pub coefficients_before: BTreeMap<String, f64>,
    pub coefficients_after: BTreeMap<String, f64>,
}

/// Least-squares scale on relative errors of `predicted` against `measured`
/// (runs measured 0 weigh as absolute errors); None when nothing is predicted.
pub fn relative_scale(measured: &[f64], predicted: &[f64]) -> Option<f64> {
    let (mut num, mut den) = (0.0, 0.0);
    for (m, p) in measured.iter().zip(predicted) {
        let w = if *m != 0.0 { 1.0 / (m * m) } else { 1.0 };
        num += w * p * m;
        den += w * p * p;
    }
    (den > 0.0).then(|| num / den)
}

/// The error measure of a quantity: MAPE (%) when some run measured a
/// non-zero value, else the mean absolute error.
pub fn error_of(measured: &[f64], predicted: &[f64]) -> (Option<f64>, &'static str) {
    if measured.is_empty() {
        return (None, "mape_percent");
    }
    match mape_percent(measured, predicted) {
        Some(m) => (Some(m), "mape_percent"),
        None => (Some(measured.iter().zip(predicted).map(|(m, p)| (p - m).abs()).sum::<f64>() / measured.len() as f64), "mean_absolute"),
    }
}

/// Held-out predictions of the scale refit: leave-one-out up to 5 runs, then 5 folds.
fn scale_candidate(measured: &[f64], predicted: &[f64], coefficients: &BTreeMap<String, f64>, seed: u64) -> Option<Candidate> {
    let n = measured.len();
    if n < 2 {
        return None;
    }
    let k = n.min(5);
    let folds = fit::fold_assignment(n, k, seed);
    let mut held_out = vec![0.0; n];
    for fold in 0..k {
        let (m, p): (Vec<f64>, Vec<f64>) = (0..n).filter(|&i| folds[i] != fold).map(|i| (measured[i], predicted[i])).unzip();
        let s = relative_scale(&m, &p)?;
        for i in (0..n).filter(|&i| folds[i] == fold) {
            held_out[i] = s * predicted[i];
        }
    }
    let s = relative_scale(measured, predicted)?;
    let coefficients = coefficients.iter().map(|(k, v)| (k.clone(), v * s)).collect();
    Some(Candidate { method: RefitMethod::Scale, held_out, coefficients, scale: Some(s) })
}

/// Refit the resource coefficients of `opts.flow` on `samples` with the
/// guard; returns the calibration to use next (the current one where no
/// refit was adopted) and what happened per quantity.
pub fn guarded_refit(
    samples: &[CalibrationSample],
    current: &Calibration,
    opts: &ResourceOptions,
    reporter: &dyn Reporter,
) -> Result<(Calibration, Vec<GuardedQuantity>)> {
    let family = crate::estimate::parts::lookup(&opts.part)?.family.key();
    let mut next = current.clone();
    let mut out = Vec::new();
    let mut adopted_names = Vec::new();
    for &q in &opts.quantities {
        let coefficients = current.quantity_coefficients(opts.flow, family, q.key())?.clone();
        let names = opts.flow.feature_names();
        let vector: Vec<f64> = names.iter().map(|f| coefficients.get(&format!("per_{f}")).copied().unwrap_or(0.0)).collect();
        let runs: Vec<&CalibrationSample> = samples.iter().filter(|s| q.measured(&s.measured).is_some()).collect();
        let measured: Vec<f64> = runs.iter().filter_map(|s| q.measured(&s.measured)).collect();
        let predicted: Vec<f64> = runs.iter().map(|s| fit::dot(&vector, &s.features)).collect();
        let (error_before, kind) = error_of(&measured, &predicted);
        let mut report = GuardedQuantity {
            quantity: q,
            runs: runs.len(),
            error_before,
            error_after_cv: None,
            error_kind: kind.to_string(),
            method: None,
            scale: None,
            adopted: false,
            reason: String::new(),
            before: Metrics::of(&measured, &predicted),
            coefficients_before: coefficients.clone(),
            coefficients_after: coefficients.clone(),
        };
        let mut candidates: Vec<Candidate> = scale_candidate(&measured, &predicted, &coefficients, opts.seed).into_iter().collect();
        // The full refit, when the history holds enough runs for its cross-validation.
        let owned: Vec<CalibrationSample> = runs.iter().map(|s| (*s).clone()).collect();
        let full_opts = ResourceOptions { quantities: vec![q], k: opts.k.min(owned.len().max(2)), ..opts.clone() };
        if let Ok((fitted, full)) = calibrate_resources(&owned, current, &full_opts, reporter) {
            if full.quantities.first().is_some_and(|r| r.fitted) {
                // calibrate_resources reports metrics, not predictions: redo its held-out fold predictions.
                let refit: Vec<usize> =
                    names.iter().enumerate().filter(|(_, f)| coefficients.contains_key(&format!("per_{f}"))).map(|(i, _)| i).collect();
                let rows: Vec<Vec<f64>> = owned.iter().map(|s| s.features.clone()).collect();
                let problem = fit::Problem { rows: &rows, targets: &measured, refit: &refit, current: &vector, quantity: q.key() };
                if let Ok(held_out) = fit::cross_validate(&problem, full_opts.k, opts.seed, None) {
                    let coefficients_after = fitted.quantity_coefficients(opts.flow, family, q.key())?.clone();
                    candidates.push(Candidate { method: RefitMethod::Full, held_out, coefficients: coefficients_after, scale: None });
                }
            }
        }
        let scored: Vec<(f64, Candidate)> =
            candidates.into_iter().filter_map(|c| error_of(&measured, &c.held_out).0.map(|e| (e, c))).collect();
        let best = scored.into_iter().min_by(|a, b| a.0.total_cmp(&b.0));
        let unit = if kind == "mape_percent" { " %" } else { "" };
        match (best, error_before) {
            (None, _) if runs.is_empty() => report.reason = format!("no run measured {}: coefficients kept", q.key()),
            (None, _) if runs.len() < 2 => {
                report.reason = format!("one measured run cannot cross-validate a refit of {}: coefficients kept until the second", q.key())
            }
            (None, _) => {
                report.reason =
                    format!("the current {} estimate is 0 for every run: nothing to scale, too few runs for a full refit", q.key())
            }
            (Some((after, c)), Some(before)) if after + 1e-9 < before => {
                report.error_after_cv = Some(after);
                report.method = Some(c.method);
                report.scale = c.scale;
                report.adopted = true;
                report.reason =
                    format!("{:?} refit adopted: held-out error {after:.2}{unit} < current {before:.2}{unit}", c.method).to_lowercase();
                report.coefficients_after = c.coefficients;
            }
            (Some((after, c)), before) => {
                report.error_after_cv = Some(after);
                report.method = Some(c.method);
                report.scale = c.scale;
                report.reason = format!(
                    "kept: the best refit ({:?}) has held-out error {after:.2}{unit}, not below the current {:.2}{unit}",
                    c.method,
                    before.unwrap_or(f64::NAN)
                )
                .to_lowercase();
            }
        }
        if report.adopted {
            *next.quantity_coefficients_mut(opts.flow, family, q.key())? = report.coefficients_after.clone();
            adopted_names.extend(report.coefficients_after.keys().map(|k| format!("{}.{k}", q.key())));
        }
        out.push(report);
    }
    if !adopted_names.is_empty() {
        let section = format!("{}.{family}", opts.flow.calibration_section());
        let what: Vec<String> = out
            .iter()
            .filter(|r| r.adopted)
            .map(|r| format!("{} ({:?})", r.quantity.key(), r.method.unwrap_or(RefitMethod::Scale)).to_lowercase())
            .collect();
        let date = super::utc_date_today();
        next.origin = format!(
            "refitted by qforge run on {} measured runs of {} on {} ([{section}]: {}; adopted only where the held-out error fell), {date}\n{}",
            samples.len(),
            opts.tool,
            opts.part,
            what.join(", "),
            current.origin.trim_start()
        );
        next.provenance.push(Provenance {
            section,
            fitted: adopted_names,
            tool: opts.tool.clone(),
            part: opts.part.clone(),
            date,
            k_folds: opts.k,
            seed: opts.seed,
            runs: samples.iter().map(|s| s.name.clone()).collect(),
        });
    }
    Ok((next, out))
}

/// What the guarded energy refit did.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GuardedEnergy {
    pub variants: usize,
    /// MAPE (%) of variant totals: current coefficients, and the chosen refit's held-out predictions.
    pub error_before: Option<f64>,
    pub error_after_cv: Option<f64>,
    pub method: Option<RefitMethod>,
    pub scale: Option<f64>,
    pub adopted: bool,
    pub reason: String,
    pub before: Metrics,
    pub after_cv: Option<Metrics>,
    /// Per variant: measured, current estimate, held-out estimate of the chosen refit.
    pub points: Vec<EnergyPoint>,
    pub coefficients_before: BTreeMap<String, Vec<f64>>,
    pub coefficients_after: BTreeMap<String, Vec<f64>>,
}

/// Refit QTools' `fpm_mul`/`fpm_add` of `opts.flow` on measured energies with
/// the guard (one scale for both polynomials from two variants on; the full
/// five-term fit once there are enough variants for its cross-validation).
pub fn guarded_energy_refit(samples: &[EnergySample], current: &Calibration, opts: &EnergyOptions) -> Result<(Calibration, GuardedEnergy)> {
    let c = current.energy_for(opts.flow).clone();
    let measured: Vec<f64> = samples.iter().map(|s| s.layers.iter().map(|l| l.measured_pj).sum()).collect();
    let predicted: Vec<f64> = samples.iter().map(|s| s.layers.iter().map(|l| l.estimated_pj(&c)).sum()).collect();
    let coefficients_before = BTreeMap::from([("fpm_mul".to_string(), c.fpm_mul.clone()), ("fpm_add".to_string(), c.fpm_add.clone())]);
    let (error_before, _) = error_of(&measured, &predicted);
    let mut report = GuardedEnergy {
        variants: samples.len(),
        error_before,
        error_after_cv: None,
        method: None,
        scale: None,
        adopted: false,
        reason: String::new(),
        before: Metrics::of(&measured, &predicted),
        after_cv: None,
        points: Vec::new(),
        coefficients_before: coefficients_before.clone(),
        coefficients_after: coefficients_before,
    };
    // (error, method, held-out totals, new calibration, scale)
    type Candidate = (f64, RefitMethod, Vec<f64>, Calibration, Option<f64>);
    let mut candidates: Vec<Candidate> = Vec::new();
    if let Some(scale) = scale_candidate(&measured, &predicted, &BTreeMap::new(), opts.seed) {
        let s = scale.scale.unwrap_or(1.0);
        let mut next = current.clone();
        let e = next.energy_for_mut(opts.flow);
        e.fpm_mul.iter_mut().chain(e.fpm_add.iter_mut()).for_each(|v| *v *= s);
        if let (Some(err), _) = error_of(&measured, &scale.held_out) {
            candidates.push((err, RefitMethod::Scale, scale.held_out, next, Some(s)));
        }
    }
    let full_opts = EnergyOptions { k: opts.k.min(samples.len()).max(2), ..opts.clone() };
    if let Ok((next, full)) = calibrate_energy(samples, current, &full_opts) {
        let held_out: Vec<f64> = full.points.iter().map(|p| p.after_cv_pj).collect();
        if let (Some(err), _) = error_of(&measured, &held_out) {
            candidates.push((err, RefitMethod::Full, held_out, next, None));
        }
    }
    let best = candidates.into_iter().min_by(|a, b| a.0.total_cmp(&b.0));
    let held_out = match best {
        None if samples.len() < 2 => {
            report.reason = "one measured variant cannot cross-validate an energy refit: coefficients kept until the second".into();
            predicted.clone()
        }
        None => {
            report.reason = "no energy refit could be made (the estimate is 0 for every variant)".into();
            predicted.clone()
        }
        Some((after, method, held_out, next, scale)) => {
            report.error_after_cv = Some(after);
            report.method = Some(method);
            report.scale = scale;
            report.after_cv = Some(Metrics::of(&measured, &held_out));
            let before = error_before.unwrap_or(f64::INFINITY);
            if after + 1e-9 < before {
                report.adopted = true;
                report.reason = format!("{method:?} refit adopted: held-out MAPE {after:.2} % < current {before:.2} %").to_lowercase();
                let e = next.energy_for(opts.flow);
                report.coefficients_after =
                    BTreeMap::from([("fpm_mul".to_string(), e.fpm_mul.clone()), ("fpm_add".to_string(), e.fpm_add.clone())]);
                let mut adopted = next;
                if method == RefitMethod::Scale {
                    let section = match opts.flow {
                        crate::estimate::Flow::Hls => "energy",
                        crate::estimate::Flow::Rtl => "energy_rtl",
                    };
                    let date = super::utc_date_today();
                    adopted.origin = format!(
                        "[{section}] fpm_mul and fpm_add scaled by {:.4} by qforge run on {} variants measured with {} on {}, leave-one-out CV, {date}\n{}",
                        scale.unwrap_or(1.0),
                        samples.len(),
                        opts.tool,
                        opts.part,
                        current.origin.trim_start()
                    );
                    adopted.provenance.push(Provenance {
                        section: section.into(),
                        fitted: vec!["fpm_mul".into(), "fpm_add".into()],
                        tool: opts.tool.clone(),
                        part: opts.part.clone(),
                        date,
                        k_folds: samples.len().min(5),
                        seed: opts.seed,
                        runs: samples.iter().map(|s| s.name.clone()).collect(),
                    });
                }
                report.points = points(samples, &measured, &predicted, &held_out);
                return Ok((adopted, report));
            }
            report.reason =
                format!("kept: the best energy refit ({method:?}) has held-out MAPE {after:.2} %, not below the current {before:.2} %")
                    .to_lowercase();
            held_out
        }
    };
    report.points = points(samples, &measured, &predicted, &held_out);
    Ok((current.clone(), report))
}

fn points(samples: &[EnergySample], measured: &[f64], before: &[f64], after: &[f64]) -> Vec<EnergyPoint> {
    samples
        .iter()
        .enumerate()
        .map(|(i, s)| EnergyPoint { name: s.name.clone(), measured_pj: measured[i], before_pj: before[i], after_cv_pj: after[i] })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relative_scale_fits_proportional_errors_exactly() {
        assert_eq!(relative_scale(&[100.0, 200.0], &[50.0, 100.0]), Some(2.0));
        assert_eq!(relative_scale(&[0.0], &[0.0]), None);
        let (e, kind) = error_of(&[0.0, 0.0], &[3.0, 1.0]);
        assert_eq!((e, kind), (Some(2.0), "mean_absolute"));
    }
}
