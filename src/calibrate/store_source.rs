//! The run history as a calibration source (`qforge calibrate --db FILE`):
//! every finished synthesis run of the chosen tool on a part of the chosen
//! device, whose stored estimate carries the summed features (what `qforge
//! synth` and `qforge run` record) and whose reports state what was measured.
//!
//! Input: the SQLite history (`src/store`). Output: [`CalibrationSample`]s, one
//! per run, with the features of the chosen flow's cost model; runs without
//! them or without a measured number are skipped with a log line naming them.
//! [`StoreEnergy`] reads the measured energy of the same runs: the switching
//! stage's per-layer energies, or a Vivado power report's dynamic power
//! (`qforge ingest`), beside the operation counts the stored estimate kept.
use super::energy::{EnergyLayer, EnergySample};
use super::{CalibrationSample, CalibrationSource, Measured};
use crate::error::{Error, Result};
use crate::estimate::{parts, Flow};
use crate::events::{Event, Reporter};
use crate::store::{RunFilter, RunKind, RunRecord, RunStatus, Store};
use std::path::{Path, PathBuf};

pub struct StoreRuns {
    pub db: PathBuf,
    /// The tool whose runs are read (`yosys`, `vivado`, ...).
    pub tool: String,
    /// Runs on the same device as this part are read.
    pub part: String,
    /// Models left out by name (e.g. degenerate ones), each skipped with a log line.
    pub exclude_models: Vec<String>,
    /// Whose features are read: estimates stored without a flow are HLS-flow ones.
    pub flow: Flow,
    /// Price each run's design folder again with the current generator and
    /// cost model instead of reading the features stored at synthesis time
    /// (after a generator change, the measurements still hold).
    pub reprice: bool,
}

/// The design folder of a stored run: its run folder or the nearest folder
/// above it that holds the model (`qforge synth` runs in `DESIGN/runs/TOOL`).
fn design_folder(run: &RunRecord) -> Option<PathBuf> {
    let dir = run.run_dir.as_deref()?;
    dir.ancestors().take(4).find(|d| d.join("model.json").is_file()).map(Path::to_path_buf)
}

/// The flow a stored estimate was made for (`hls` when it does not say).
pub fn estimate_flow(estimate: &serde_json::Value) -> &str {
    estimate.get("flow").and_then(|f| f.as_str()).unwrap_or("hls")
}

impl StoreRuns {
    /// The sample of one stored run, or why it cannot be one.
    fn sample_of(&self, run: &RunRecord, device: &str) -> std::result::Result<CalibrationSample, String> {
        if let Some(name) = run.model_name.as_ref().filter(|n| self.exclude_models.contains(n)) {
            return Err(format!("model {name} is excluded"));
        }
        let run_device = run.part.as_deref().and_then(|p| parts::lookup(p).ok()).map(|p| p.device);
        if run_device != Some(device) {
            return Err(format!("part {} is not a {device}", run.part.as_deref().unwrap_or("unknown")));
        }
        let repriced;
        let estimates = match self.reprice {
            false => &run.estimates,
            true => {
                let folder = design_folder(run).ok_or("--reprice: its design folder (model.json) is gone")?;
                let part = run.part.as_deref().unwrap_or(&self.part);
                repriced = crate::store::price_project(&folder, part, run.clock_ns).estimates;
                &repriced
            }
        };
        let features = estimates
            .iter()
            .rev()
            .filter(|e| estimate_flow(e) == self.flow.name())
            .find_map(|e| e.get("features").and_then(|f| f.as_object()).cloned())
            .ok_or_else(|| format!("no stored {}-flow estimate with features (synthesise a folder that holds model.json)", self.flow))?;
        let values: Vec<f64> = self.flow.feature_names().iter().map(|n| features.get(*n).and_then(|v| v.as_f64()).unwrap_or(0.0)).collect();
        let mut measured = Measured::default();
        for m in run.measurements.iter().filter(|m| m.tool == self.tool) {
            measured.lut = measured.lut.or(m.lut.map(|v| v as f64));
            measured.ff = measured.ff.or(m.ff.map(|v| v as f64));
            measured.dsp = measured.dsp.or(m.dsp.map(|v| v as f64));
            measured.bram_18k = measured.bram_18k.or(m.bram_18k.map(|v| v as f64)).or(m.bram_tile.map(|t| 2.0 * t));
            measured.latency_cycles = measured.latency_cycles.or(m.latency_worst_cycles.map(|v| v as f64));
        }
        if measured.lut.is_none() && measured.ff.is_none() {
            return Err(format!("no {} report with LUT or FF numbers", self.tool));
        }
        let name = format!("run {} ({})", run.id.0, run.model_name.as_deref().unwrap_or("unnamed model"));
        Ok(CalibrationSample { name, features: values, measured })
    }
}

impl CalibrationSource for StoreRuns {
    fn describe(&self) -> String {
        format!("{} runs on {} in {}", self.tool, self.part, self.db.display())
    }

    fn samples(&self, reporter: &dyn Reporter) -> Result<Vec<CalibrationSample>> {
        if !self.db.is_file() {
            return Err(Error::input(&self.db, "no run history here: run `qforge synth ... --db FILE` or `qforge run` first"));
        }
        let device = parts::lookup(&self.part).map_err(|e| Error::Config(format!("--part {}: {e}", self.part)))?.device;
        let store = Store::open(&self.db)?;
        let filter =
            RunFilter { tool: Some(self.tool.clone()), kind: Some(RunKind::Synth), status: Some(RunStatus::Ok), ..RunFilter::default() };
        let mut samples = Vec::new();
        // Oldest first, one sample per model: a model synthesised again counts once (its newest run).
        let mut seen = std::collections::HashSet::new();
        for run in store.query(&filter)? {
            match self.sample_of(&run, device) {
                Ok(sample) => {
                    let key = run.model_hash.clone().unwrap_or_else(|| format!("run-{}", run.id.0));
                    if seen.insert(key) {
                        samples.push(sample);
                    }
                }
                Err(why) => reporter.event(Event::Log(format!("calibrate: skipping run {}: {why}", run.id.0))),
            }
        }
        samples.reverse();
        if samples.is_empty() {
            return Err(Error::input(
                &self.db,
                format!("no finished {} runs on {} with stored features and measurements", self.tool, self.part),
            ));
        }
        Ok(samples)
    }
}

/// The measured energy of every finished synthesis run in the history on a
/// part of `part`'s device whose stored estimate kept its per-layer operation
/// counts (`energy_layers`, what `qforge run` stores): one [`EnergySample`]
/// per model (its newest run). A switching measurement gives one row per
/// dense layer (instance `lN`); else a Vivado power report gives the whole
/// design's dynamic energy per inference (dynamic power × clock period, one
/// inference per clock) as one row over all layers' operations.
pub struct StoreEnergy {
    pub db: PathBuf,
    pub part: String,
}

impl StoreEnergy {
    fn sample_of(&self, store: &Store, run: &RunRecord, device: &str) -> Result<std::result::Result<EnergySample, String>> {
        let run_device = run.part.as_deref().and_then(|p| parts::lookup(p).ok()).map(|p| p.device);
        if run_device != Some(device) {
            return Ok(Err(format!("part {} is not a {device}", run.part.as_deref().unwrap_or("unknown"))));
        }
        let Some(layers) = run.estimates.iter().rev().find_map(|e| e.get("energy_layers").cloned()) else {
            return Ok(Err("no stored estimate with per-layer operation counts".into()));
        };
        let Ok(mut layers) = serde_json::from_value::<Vec<EnergyLayer>>(layers) else {
            return Ok(Err("the stored per-layer operation counts do not parse".into()));
        };
        let name = format!("run {} ({})", run.id.0, run.model_name.as_deref().unwrap_or("unnamed model"));
        if let Some(sw) = store.switching(run.id)?.into_iter().rfind(|s| s.mismatches == 0) {
            for (k, layer) in layers.iter_mut().enumerate() {
                let instance = format!("l{}", k + 1);
                let Some(m) = sw.layers.iter().find(|l| l.instance == instance) else {
                    return Ok(Err(format!("the switching measurement has no layer `{instance}`")));
                };
                layer.measured_pj = m.energy_pj;
            }
            return Ok(Ok(EnergySample { name, layers }));
        }
        let power = run.measurements.iter().find_map(|m| {
            let watts = m.dynamic_power_w?;
            let clock = m.clock_target_ns.or(run.clock_ns)?;
            Some(watts * clock * 1e3) // W × ns = nJ; × 1e3 = pJ
        });
        match power {
            Some(pj) => {
                let mut total =
                    EnergyLayer { name: Some("design".into()), multiplications: Vec::new(), additions: Vec::new(), measured_pj: pj };
                for l in layers {
                    total.multiplications.extend(l.multiplications);
                    total.additions.extend(l.additions);
                }
                Ok(Ok(EnergySample { name, layers: vec![total] }))
            }
            None => Ok(Err("no switching measurement and no power report".into())),
        }
    }

    /// Every measured run's energy sample, oldest first.
    pub fn samples(&self, reporter: &dyn Reporter) -> Result<Vec<EnergySample>> {
        if !self.db.is_file() {
            return Err(Error::input(
                &self.db,
                "no run history here: run `qforge run` (or `qforge synth ... --db FILE` and `qforge ingest`) first",
            ));
        }
        let device = parts::lookup(&self.part).map_err(|e| Error::Config(format!("--part {}: {e}", self.part)))?.device;
        let store = Store::open(&self.db)?;
        let filter = RunFilter { status: Some(RunStatus::Ok), ..RunFilter::default() };
        let mut samples = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for run in store.query(&filter)? {
            match self.sample_of(&store, &run, device)? {
                Ok(sample) => {
                    let key = run.model_hash.clone().unwrap_or_else(|| format!("run-{}", run.id.0));
                    if seen.insert(key) {
                        samples.push(sample);
                    }
                }
                Err(why) => reporter.event(Event::Log(format!("energy: skipping run {}: {why}", run.id.0))),
            }
        }
        samples.reverse();
        if samples.is_empty() {
            return Err(Error::input(
                &self.db,
                format!("no finished run on {} with measured energy (switching or power) and stored operation counts", self.part),
            ));
        }
        Ok(samples)
    }
}
