//! The switching stage: every candidate Yosys synthesised is simulated at
//! gate level on the run's own test data ([`crate::switching::measure`], bit
//! for bit against the fixed-point model), and its measured switching energy
//! per layer is stored with its run in the history (`switching` table), where
//! the calibrate stage's energy refit reads it back
//! ([`crate::calibrate::store_source::StoreEnergy`]).
use super::cache::{StageDir, StageKey};
use super::config::PipelineConfig;
use super::stages::{Candidate, SynthResult};
use crate::calibrate::energy::EnergyLayer;
use crate::data::loaders::DataSource;
use crate::error::{Error, Result};
use crate::estimate::{Calibration, Flow};
use crate::events::{Event, Reporter};
use crate::model::{FixedNetwork, TrainedModel};
use crate::store::{LayerEnergy, RunId, Store, SwitchingRecord};
use crate::switching::{measure, SwitchingOptions};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Test samples simulated per candidate (enough for a stable toggle rate, seconds of simulation).
pub const SWITCHING_SAMPLES: usize = 256;

/// One candidate's switching measurement.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SwitchingResult {
    pub name: String,
    /// `ok`, `skipped` (synthesis failed) or `failed` (with the reason).
    pub status: String,
    pub reason: Option<String>,
    pub netlist: Option<PathBuf>,
    pub samples: usize,
    /// Simulated samples whose outputs differ from the fixed-point model (none
    /// when the simulation did not run to the end).
    pub mismatches: Option<usize>,
    /// The estimator's switching energy of the dense layers, pJ per inference (`[energy_rtl]`).
    pub estimated_pj: f64,
    /// The measured switching energy of the dense layers (instances `lN`), pJ per inference.
    pub measured_pj: Option<f64>,
    /// Every instance's measured energy (`lN`, `out`, `other`).
    pub layers: Vec<LayerEnergy>,
}

/// The dense layers' estimated energy under `cal`'s RTL-flow coefficients (what the refit compares).
pub fn estimated_energy(layers: &[EnergyLayer], cal: &Calibration) -> f64 {
    layers.iter().map(|l| l.estimated_pj(cal.energy_for(Flow::Rtl))).sum()
}

/// Where the synthesis job left the mapped netlist (`qforge synth --netlist` beside `stat.json`).
pub fn netlist_of(synth: &SynthResult) -> Option<PathBuf> {
    Some(synth.report.as_ref()?.parent()?.join(crate::tools::yosys::NETLIST_FILE))
}

pub fn switching_key(cfg: &PipelineConfig, candidates: &[Candidate], synth: &[SynthResult], cal: &Calibration) -> Result<StageDir> {
    let mut key = StageKey::new("switching")
        .value(&cfg.data)
        .value(&SWITCHING_SAMPLES)
        .value(&cal.switching)
        .value(&synth)
        .data(&cfg.data_source()?)?;
    for (c, s) in candidates.iter().zip(synth) {
        key = key.text(&c.name).value(&c.energy_layers);
        if let Some(netlist) = netlist_of(s).filter(|p| p.is_file()) {
            key = key.file(&netlist)?;
        }
    }
    Ok(key.finish())
}

/// Simulate each synthesised candidate and store its measurement with its run.
pub fn switching_stage(
    cfg: &PipelineConfig,
    candidates: &[Candidate],
    synth: &[SynthResult],
    cal: &Calibration,
    db: &Path,
    reporter: &dyn Reporter,
) -> Result<Vec<SwitchingResult>> {
    let mut store = Store::open(db)?;
    let source = cfg.data_source()?;
    reporter.event(Event::Begin { label: "switching".into(), total: candidates.len() as u64 });
    let mut out = Vec::new();
    for (i, (c, s)) in candidates.iter().zip(synth).enumerate() {
        let mut result = SwitchingResult {
            name: c.name.clone(),
            status: "skipped".into(),
            reason: None,
            netlist: netlist_of(s),
            samples: 0,
            mismatches: None,
            estimated_pj: estimated_energy(&c.energy_layers, cal),
            measured_pj: None,
            layers: Vec::new(),
        };
        match (s.status.as_str(), s.run_id, &result.netlist) {
            ("ok", Some(run), Some(netlist)) => match simulate(cfg, c, netlist, &source, cal) {
                // A wrong netlist's energy would mislead the refit: counted and shown, not stored.
                Ok((record, first)) if record.mismatches > 0 => {
                    let why = format!(
                        "{} of {} samples differ between the gate-level simulation and the fixed-point model: {}",
                        record.mismatches,
                        record.samples,
                        first.join("; ")
                    );
                    reporter.event(Event::Log(format!("switching: {}: {why}", c.name)));
                    result.status = "failed".into();
                    result.samples = record.samples as usize;
                    result.mismatches = Some(record.mismatches as usize);
                    result.reason = Some(why);
                }
                Ok((record, _)) => {
                    store.add_switching(RunId(run), &record)?;
                    result.status = "ok".into();
                    result.samples = record.samples as usize;
                    result.mismatches = Some(0);
                    result.measured_pj =
                        Some(record.layers.iter().filter(|l| l.instance.starts_with('l')).map(|l| l.energy_pj).sum::<f64>());
                    result.layers = record.layers;
                }
                // A netlist that disagrees with the model is a finding, not a crash: the summary shows it.
                Err(e) => {
                    reporter.event(Event::Log(format!("switching: {}: {e}", c.name)));
                    result.status = "failed".into();
                    result.reason = Some(e.to_string());
                }
            },
            _ => result.reason = Some(format!("synthesis {}", s.status)),
        }
        out.push(result);
        reporter.event(Event::Progress { done: i as u64 + 1, message: c.name.clone() });
    }
    reporter.event(Event::End { message: format!("simulated {} netlists", out.iter().filter(|r| r.status == "ok").count()) });
    Ok(out)
}

/// The measurement, and the first mismatching samples described.
fn simulate(
    cfg: &PipelineConfig,
    c: &Candidate,
    netlist: &Path,
    source: &DataSource,
    cal: &Calibration,
) -> Result<(SwitchingRecord, Vec<String>)> {
    if !netlist.is_file() {
        return Err(Error::input(netlist, "the synthesis job wrote no mapped netlist"));
    }
    let model = TrainedModel::load(&c.model)?;
    let net = FixedNetwork::from_model(&model)?;
    let manifest = crate::rtl::load_manifest(&c.rtl_dir)?;
    let test = crate::train::session::test_split_for(&model, source, cfg.data.split_seed)?;
    let n = test.len().min(SWITCHING_SAMPLES);
    let raw: Vec<i64> = (0..n).flat_map(|i| net.quantize_inputs(test.row(i))).collect();
    let opts = SwitchingOptions { count_mismatches: true, ..SwitchingOptions::default() };
    let report = measure(netlist, &manifest, &net, &raw, &cal.switching, &opts)?;
    let layers = report
        .layers
        .iter()
        .map(|l| LayerEnergy {
            instance: l.name.clone(),
            energy_pj: l.energy_pj_per_inference,
            toggles_per_inference: l.toggles_per_inference,
        })
        .collect();
    let record = SwitchingRecord {
        netlist: netlist.to_path_buf(),
        samples: report.samples as u64,
        mismatches: report.mismatches as u64,
        energy_pj: report.energy_pj_per_inference,
        layers,
        weights_origin: cal.switching.origin.lines().next().unwrap_or_default().to_string(),
    };
    Ok((record, report.first_mismatches))
}
