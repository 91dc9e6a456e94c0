//! The calibrate stage: it records this run's estimated-vs-measured pairs,
//! then refits the resource coefficients ([`guarded_refit`]) and the energy
//! coefficients ([`guarded_energy_refit`], `[energy_rtl]`: the pipeline builds
//! qforge's own Verilog) on every measured run of the history, each adopted
//! only when its held-out error beats the current calibration's, and writes
//! the output folder's `calibration.toml` when something was adopted.
use super::cache::{StageDir, StageKey};
use super::config::PipelineConfig;
use super::stages::{Candidate, SynthResult};
use super::switching::SwitchingResult;
use crate::calibrate::energy::EnergyOptions;
use crate::calibrate::guarded::{guarded_energy_refit, guarded_refit, GuardedEnergy, GuardedQuantity};
use crate::calibrate::store_source::StoreEnergy;
use crate::calibrate::{CalibrationSource, Quantity, ResourceOptions, StoreRuns};
use crate::error::Result;
use crate::estimate::{Calibration, Flow};
use crate::events::Reporter;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What the calibration stage did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CalibrateOutcome {
    /// This run's estimated-vs-measured pairs (`calibration_samples.jsonl`).
    pub samples_file: PathBuf,
    pub samples: usize,
    /// Runs of the whole history the resource refit used (every night adds some).
    pub history_samples: usize,
    /// The refitted calibration (the output folder's `calibration.toml`), which the next
    /// run's search and estimates use; `None` when no refit was adopted.
    pub calibration_file: Option<PathBuf>,
    /// Per quantity: (name, error of the current calibration, held-out error of the refit).
    pub errors: Vec<(String, Option<f64>, Option<f64>)>,
    /// The guard's decision per resource quantity (empty while the history is too small).
    #[serde(default)]
    pub resources: Vec<GuardedQuantity>,
    /// Models of the history with measured switching energy the energy refit used.
    #[serde(default)]
    pub energy_variants: usize,
    /// The guard's decision on the energy coefficients.
    #[serde(default)]
    pub energy: Option<GuardedEnergy>,
    pub note: Option<String>,
    /// Why the energy refit was not tried.
    #[serde(default)]
    pub energy_note: Option<String>,
}

impl CalibrateOutcome {
    /// Whether any refit replaced coefficients.
    pub fn adopted(&self) -> bool {
        self.resources.iter().any(|q| q.adopted) || self.energy.as_ref().is_some_and(|e| e.adopted)
    }
}

/// What the refit reads: this run's candidates and results, the current
/// calibration, and every measured run of the target's device in the history
/// (so a history that grew, by another night's runs, refits again).
pub fn calibrate_key(
    cfg: &PipelineConfig,
    candidates: &[Candidate],
    synth: &[SynthResult],
    switching: &[SwitchingResult],
    current: &Calibration,
    db: &Path,
) -> StageDir {
    let silent = crate::events::Silent;
    let history = history_runs(cfg, db).samples(&silent).map_err(|e| e.to_string());
    let energy = history_energy(cfg, db).samples(&silent).map_err(|e| e.to_string());
    StageKey::new("calibrate")
        .value(&cfg.calibrate)
        .value(&cfg.target)
        .value(&candidates)
        .value(&synth)
        .value(&switching)
        .value(current)
        .value(&history)
        .value(&energy)
        .finish()
}

/// The history's measured Yosys runs of the target's device, which the refit uses.
fn history_runs(cfg: &PipelineConfig, db: &Path) -> StoreRuns {
    StoreRuns {
        db: db.to_path_buf(),
        tool: "yosys".into(),
        part: cfg.target.part.clone(),
        exclude_models: Vec::new(),
        flow: Flow::Rtl,
        reprice: false,
    }
}

fn history_energy(cfg: &PipelineConfig, db: &Path) -> StoreEnergy {
    StoreEnergy { db: db.to_path_buf(), part: cfg.target.part.clone() }
}

/// This run's pairs as JSON lines: one object per synthesized candidate with
/// `name`, `model_hash`, `part`, `tool`, `feature_names`, `features`
/// (`Estimate::feature_totals` order), `estimated` and `measured`.
fn write_samples(cfg: &PipelineConfig, candidates: &[Candidate], synth: &[SynthResult], path: &Path) -> Result<usize> {
    let mut text = String::new();
    let mut n = 0;
    for (c, s) in candidates.iter().zip(synth) {
        let Some(measured) = &s.measured else {
            continue;
        };
        let line = serde_json::json!({
            "name": c.name,
            "model_name": c.model_name,
            "model_hash": c.model_hash,
            "part": cfg.target.part,
            "clock_ns": cfg.target.clock_ns,
            "tool": "yosys",
            "tool_version": s.tool_version,
            "feature_names": c.features.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            "features": c.features.iter().map(|(_, v)| v).collect::<Vec<_>>(),
            "estimated": c.estimate,
            "measured": measured,
        });
        text.push_str(&line.to_string());
        text.push('\n');
        n += 1;
    }
    crate::error::write_atomic(path, text.as_bytes())?;
    Ok(n)
}

/// The calibration stage: records this run's pairs in
/// `<run folder>/calibration_samples.jsonl`, refits resources and energy on
/// the whole history with the guard, and writes the output folder's
/// `calibration.toml` for the next run when a refit was adopted.
pub fn calibrate_stage(
    cfg: &PipelineConfig,
    candidates: &[Candidate],
    synth: &[SynthResult],
    current: &Calibration,
    paths: &super::RunPaths,
    reporter: &dyn Reporter,
) -> Result<CalibrateOutcome> {
    let path = paths.run_dir.join("calibration_samples.jsonl");
    let samples = write_samples(cfg, candidates, synth, &path)?;
    let mut outcome = CalibrateOutcome {
        samples_file: path,
        samples,
        history_samples: 0,
        calibration_file: None,
        errors: Vec::new(),
        resources: Vec::new(),
        energy_variants: 0,
        energy: None,
        note: None,
        energy_note: None,
    };
    let mut next = current.clone();
    match history_runs(cfg, &paths.db).samples(reporter) {
        Err(e) => outcome.note = Some(format!("no resource refit: {e}")),
        Ok(runs) => {
            outcome.history_samples = runs.len();
            let opts = ResourceOptions {
                tool: "yosys".into(),
                part: cfg.target.part.clone(),
                k: (runs.len() / 2).clamp(2, 5),
                seed: 1,
                quantities: vec![Quantity::Lut, Quantity::Ff],
                features: None,
                flow: Flow::Rtl,
            };
            let (refit, report) = guarded_refit(&runs, &next, &opts, reporter)?;
            outcome.errors = report.iter().map(|q| (q.quantity.key().to_string(), q.error_before, q.error_after_cv)).collect();
            next = refit;
            outcome.resources = report;
        }
    }
    match history_energy(cfg, &paths.db).samples(reporter) {
        Err(e) => outcome.energy_note = Some(format!("no energy refit: {e}")),
        Ok(variants) => {
            outcome.energy_variants = variants.len();
            let opts = EnergyOptions {
                k: variants.len().clamp(2, 5),
                seed: 1,
                tool: "qforge switching".into(),
                part: cfg.target.part.clone(),
                source: paths.db.clone(),
                flow: Flow::Rtl,
            };
            let (refit, report) = guarded_energy_refit(&variants, &next, &opts)?;
            next = refit;
            outcome.energy = Some(report);
        }
    }
    if outcome.adopted() {
        next.save(&paths.calibration)?;
        outcome.calibration_file = Some(paths.calibration.clone());
    }
    Ok(outcome)
}
