//! Calibration of the cost estimator from measured runs (`qforge calibrate`).
//!
//! Input: [`CalibrationSample`]s from a [`CalibrationSource`]: a JSON / JSON-lines
//! file of samples ([`SamplesFile`]), or a folder of runs, each a `model.json`
//! with the reports a tool wrote and an optional `run.json` ([`RunsFolder`]);
//! or the run history ([`StoreRuns`], `--db`). For energy, [`energy`] reads
//! measured per-layer energies.
//! Work: per quantity (LUT, FF, DSP, BRAM18, latency) a non-negative
//! least-squares fit with linfa of the estimator's coefficients on the summed
//! features ([`fit`]), k-fold cross-validated ([`metrics`]: MAPE, R², Spearman)
//! against the current calibration.
//! Output: a new [`Calibration`] (only the fitted family's coefficients change,
//! with a [`Provenance`] record and a new origin line) and a
//! [`CalibrationReport`]; the CLI writes the file (default
//! `qforge-out/calibration.toml`, which the estimator and the search then
//! discover) and prints the report.
pub mod energy;
pub mod energy_plot;
pub mod fit;
pub mod guarded;
pub mod metrics;
pub mod probe_rtl;
pub mod store_source;

pub use store_source::StoreRuns;

use crate::error::{Error, Result};
use crate::estimate::calibration::Provenance;
use crate::estimate::{self, BitsOptions, Calibration, EnergyOptions, Flow, Strategy, Target, FEATURE_NAMES};
use crate::events::{Event, Reporter};
use crate::model::TrainedModel;
use crate::reports::{ParsedReport, SynthReport};
use metrics::Metrics;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a run measured (a quantity the report does not state is `None`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measured {
    #[serde(default)]
    pub lut: Option<f64>,
    #[serde(default)]
    pub ff: Option<f64>,
    #[serde(default)]
    pub dsp: Option<f64>,
    #[serde(default)]
    pub bram_18k: Option<f64>,
    #[serde(default)]
    pub latency_cycles: Option<f64>,
}

impl Measured {
    /// What a synthesis report states (block RAM as [`SynthReport::bram18_equivalent`] counts it).
    pub fn from_report(r: &SynthReport) -> Measured {
        Measured {
            lut: r.used.lut.map(|v| v as f64),
            ff: r.used.ff.map(|v| v as f64),
            dsp: r.used.dsp.map(|v| v as f64),
            bram_18k: r.bram18_equivalent().map(|(v, _)| v as f64),
            latency_cycles: r.latency_worst_cycles.or(r.latency_cycles).map(|v| v as f64),
        }
    }
}

/// One measured run: the estimator's features summed over layers
/// ([`estimate::Estimate::feature_totals`], in [`FEATURE_NAMES`] order) and what
/// the tool reported.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CalibrationSample {
    /// The run's id or name (kept in the provenance).
    pub name: String,
    pub features: Vec<f64>,
    pub measured: Measured,
}

/// The quantities the estimator predicts, each a section of the calibration file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantity {
    Lut,
    Ff,
    Dsp,
    Bram18,
    Latency,
}

impl Quantity {
    pub const ALL: [Quantity; 5] = [Quantity::Lut, Quantity::Ff, Quantity::Dsp, Quantity::Bram18, Quantity::Latency];

    /// The section name in `[resources.<family>.<key>]`.
    pub fn key(self) -> &'static str {
        match self {
            Quantity::Lut => "lut",
            Quantity::Ff => "ff",
            Quantity::Dsp => "dsp",
            Quantity::Bram18 => "bram18",
            Quantity::Latency => "latency",
        }
    }

    pub fn measured(self, m: &Measured) -> Option<f64> {
        match self {
            Quantity::Lut => m.lut,
            Quantity::Ff => m.ff,
            Quantity::Dsp => m.dsp,
            Quantity::Bram18 => m.bram_18k,
            Quantity::Latency => m.latency_cycles,
        }
    }
}

/// Where calibration samples come from (a samples file, a folder of runs, the run store).
pub trait CalibrationSource {
    /// One line saying what was read ("12 runs in runs/").
    fn describe(&self) -> String;
    fn samples(&self, reporter: &dyn Reporter) -> Result<Vec<CalibrationSample>>;
}

/// A JSON array of samples, or JSON lines (one sample object per line):
/// `{"name": "...", "features": [16 numbers] or {"adder_bit": 120, ...},
///   "measured": {"lut": 812, "ff": 96, ...}}`.
pub struct SamplesFile(pub PathBuf);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSample {
    name: String,
    features: RawFeatures,
    measured: Measured,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawFeatures {
    List(Vec<f64>),
    Named(BTreeMap<String, f64>),
}

impl RawSample {
    fn into_sample(self) -> std::result::Result<CalibrationSample, String> {
        let features = match self.features {
            RawFeatures::List(v) if v.len() == FEATURE_NAMES.len() => v,
            RawFeatures::List(v) => {
                return Err(format!("{} features, expected {} ({})", v.len(), FEATURE_NAMES.len(), FEATURE_NAMES.join(", ")))
            }
            RawFeatures::Named(map) => {
                if let Some(bad) = map.keys().find(|k| !FEATURE_NAMES.contains(&k.as_str())) {
                    return Err(format!("unknown feature `{bad}` (known: {})", FEATURE_NAMES.join(", ")));
                }
                FEATURE_NAMES.iter().map(|f| map.get(*f).copied().unwrap_or(0.0)).collect()
            }
        };
        if let Some(i) = features.iter().position(|v| !v.is_finite() || *v < 0.0) {
            return Err(format!("feature `{}` is {}: features are non-negative counts", FEATURE_NAMES[i], features[i]));
        }
        Ok(CalibrationSample { name: self.name, features, measured: self.measured })
    }
}

/// Parse a JSON array or JSON lines of `T`, with errors naming the file and line.
pub(crate) fn read_json_records<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<(usize, T)>> {
    let text = crate::error::read_to_string(path)?;
    if text.trim_start().starts_with('[') {
        let records: Vec<T> = serde_json::from_str(&text).map_err(|e| Error::input_at(path, Some(e.line()), None, e.to_string()))?;
        return Ok(records.into_iter().map(|r| (0, r)).collect());
    }
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let record = serde_json::from_str(line).map_err(|e| Error::input_at(path, Some(i + 1), None, e.to_string()))?;
        out.push((i + 1, record));
    }
    Ok(out)
}

impl CalibrationSource for SamplesFile {
    fn describe(&self) -> String {
        format!("samples file {}", self.0.display())
    }

    fn samples(&self, _reporter: &dyn Reporter) -> Result<Vec<CalibrationSample>> {
        let mut out = Vec::new();
        for (line, raw) in read_json_records::<RawSample>(&self.0)? {
            let name = raw.name.clone();
            let sample = raw
                .into_sample()
                .map_err(|m| Error::input_at(&self.0, (line > 0).then_some(line), Some("features"), format!("sample `{name}`: {m}")))?;
            out.push(sample);
        }
        if out.is_empty() {
            return Err(Error::input(&self.0, "no calibration samples in the file"));
        }
        Ok(out)
    }
}

/// What a run folder's optional `run.json` says about the build.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunInfo {
    #[serde(default)]
    pub part: Option<String>,
    #[serde(default = "default_clock")]
    pub clock_ns: f64,
    #[serde(default = "default_reuse")]
    pub reuse_factor: u32,
    #[serde(default = "default_strategy")]
    pub strategy: Strategy,
    /// The tool that wrote the reports (`yosys`, `vivado`, ...).
    #[serde(default)]
    pub tool: Option<String>,
    /// How the run was built (`probe_rtl`, `qforge rtl`, `hls4ml`...), for the record.
    #[serde(default)]
    pub flow: Option<String>,
}

fn default_clock() -> f64 {
    5.0
}
fn default_reuse() -> u32 {
    1
}
fn default_strategy() -> Strategy {
    Strategy::Latency
}

impl Default for RunInfo {
    fn default() -> Self {
        RunInfo { part: None, clock_ns: 5.0, reuse_factor: 1, strategy: Strategy::Latency, tool: None, flow: None }
    }
}

/// A folder of run folders, each holding `model.json`, the reports the tool
/// wrote (Yosys `stat.json`, `csynth.xml`, `vivado_synth.rpt`, ...) and
/// optionally `run.json` ([`RunInfo`]; defaults: the given part, 5 ns, reuse 1,
/// latency strategy). Runs for another part's family or without a report of
/// the chosen tool are skipped with a log line.
pub struct RunsFolder {
    pub dir: PathBuf,
    pub tool: crate::tools::ToolKind,
    pub part: String,
}

impl RunsFolder {
    fn run_dirs(&self) -> Result<Vec<PathBuf>> {
        let entries = std::fs::read_dir(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        let mut dirs: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.join("model.json").is_file()).collect();
        dirs.sort();
        Ok(dirs)
    }

    /// The sample of one run folder, or `None` (with the reason) when it does not apply.
    pub fn sample_of(&self, run: &Path) -> Result<std::result::Result<CalibrationSample, String>> {
        let info_path = run.join("run.json");
        let info: RunInfo = if info_path.is_file() {
            serde_json::from_str(&crate::error::read_to_string(&info_path)?)
                .map_err(|e| Error::input_at(&info_path, Some(e.line()), None, e.to_string()))?
        } else {
            RunInfo::default()
        };
        if let Some(t) = info.tool.as_deref().filter(|t| *t != self.tool.name()) {
            return Ok(Err(format!("built with {t}, not {}", self.tool)));
        }
        let wanted = estimate::parts::lookup(&self.part)?;
        let part = info.part.clone().unwrap_or_else(|| self.part.clone());
        let target =
            Target::new(&part, info.clock_ns, info.reuse_factor, info.strategy).map_err(|e| Error::input(&info_path, e.to_string()))?;
        if target.part.family != wanted.family {
            return Ok(Err(format!("part {part} is not in the family of {}", self.part)));
        }
        if crate::reports::find_reports(run)?.is_empty() {
            return Ok(Err("no reports (unfinished run?)".into()));
        }
        let reports = crate::reports::parse_path(run)?;
        let report = reports.iter().find_map(|r| match r {
            ParsedReport::Synth(s) if s.tool.is_resources_of(self.tool) && s.has_numbers() => Some(s),
            _ => None,
        });
        let Some(report) = report else {
            return Ok(Err(format!("no {} report with numbers", self.tool)));
        };
        let model = TrainedModel::load(&run.join("model.json"))?;
        let (cal, energy, bits) = (Calibration::default(), EnergyOptions::default(), BitsOptions::default());
        // An image model's HLS estimate prices its conv and pooling rows too.
        let est = if model.spec.has_features() {
            estimate::estimate_model(&model, &estimate::FlowOptions::hls(), &cal, &target, &energy, &bits)?
        } else {
            estimate::estimate(&estimate::layers_from_model(&model)?, &cal, &target, &energy, &bits)?
        };
        let name = run.file_name().map_or_else(|| run.display().to_string(), |n| n.to_string_lossy().into_owned());
        Ok(Ok(CalibrationSample {
            name,
            features: est.feature_totals().into_iter().map(|(_, v)| v).collect(),
            measured: Measured::from_report(report),
        }))
    }
}

impl CalibrationSource for RunsFolder {
    fn describe(&self) -> String {
        format!("{} runs in {}", self.tool, self.dir.display())
    }

    fn samples(&self, reporter: &dyn Reporter) -> Result<Vec<CalibrationSample>> {
        let dirs = self.run_dirs()?;
        if dirs.is_empty() {
            return Err(Error::input(&self.dir, "no run folders (sub-folders with a model.json) here"));
        }
        let mut out = Vec::new();
        for dir in dirs {
            match self.sample_of(&dir)? {
                Ok(s) => out.push(s),
                Err(why) => reporter.event(Event::Log(format!("skipping run {}: {why}", dir.display()))),
            }
        }
        if out.is_empty() {
            return Err(Error::input(&self.dir, format!("no run here has a {} report for the family of {}", self.tool, self.part)));
        }
        Ok(out)
    }
}

/// How to calibrate the resource model.
#[derive(Clone, Debug)]
pub struct ResourceOptions {
    pub tool: String,
    pub part: String,
    pub k: usize,
    pub seed: u64,
    /// Quantities to fit; those no sample measured are reported and skipped.
    pub quantities: Vec<Quantity>,
    /// Refit only these features (others keep their coefficients); `None`:
    /// every feature the calibration file prices for the quantity.
    pub features: Option<Vec<String>>,
    /// Whose cost model is refitted: the samples' features are this flow's
    /// ([`Flow::feature_names`] order).
    pub flow: Flow,
}

/// Before/after of one quantity.
#[derive(Clone, Debug, Serialize)]
pub struct QuantityReport {
    pub quantity: Quantity,
    pub fitted: bool,
    /// Why not, or what was special.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub samples: usize,
    /// The current calibration on every sample.
    pub before: Metrics,
    /// Held-out predictions of the k-fold cross-validation.
    pub after_cv: Option<Metrics>,
    /// The final fit (all samples) on the samples it was fitted on.
    pub after_in_sample: Option<Metrics>,
    pub coefficients_before: BTreeMap<String, f64>,
    pub coefficients_after: BTreeMap<String, f64>,
    /// Features whose coefficient was not fitted, and why.
    pub dropped: BTreeMap<String, fit::Dropped>,
}

/// What `qforge calibrate` did.
#[derive(Clone, Debug, Serialize)]
pub struct CalibrationReport {
    pub tool: String,
    pub part: String,
    pub family: String,
    pub k_folds: usize,
    pub seed: u64,
    pub samples: usize,
    pub runs: Vec<String>,
    pub quantities: Vec<QuantityReport>,
}

/// Refit the coefficients of `opts.part`'s family from `samples`; return the
/// new calibration (everything else unchanged) and the before/after report.
pub fn calibrate_resources(
    samples: &[CalibrationSample],
    current: &Calibration,
    opts: &ResourceOptions,
    reporter: &dyn Reporter,
) -> Result<(Calibration, CalibrationReport)> {
    let names = opts.flow.feature_names();
    if let Some(bad) = samples.iter().find(|s| s.features.len() != names.len()) {
        return Err(Error::Config(format!(
            "sample `{}` has {} features, expected {} ({} flow)",
            bad.name,
            bad.features.len(),
            names.len(),
            opts.flow
        )));
    }
    if let Some(fs) = &opts.features {
        if let Some(bad) = fs.iter().find(|f| !names.contains(&f.as_str())) {
            return Err(Error::Config(format!("unknown feature `{bad}` (known: {})", names.join(", "))));
        }
    }
    let part = estimate::parts::lookup(&opts.part)?;
    let family = part.family.key();
    let section_name = format!("{}.{family}", opts.flow.calibration_section());
    let mut new = current.clone();
    let mut reports = Vec::new();
    let mut fitted_names = Vec::new();
    for &q in &opts.quantities {
        reporter.event(Event::Log(format!("fitting {} on {} samples", q.key(), samples.len())));
        let map = new.quantity_coefficients_mut(opts.flow, family, q.key())?;
        let report = calibrate_quantity(samples, q, map, opts)?;
        if report.fitted {
            fitted_names.extend(report.coefficients_after.keys().map(|k| format!("{}.{k}", q.key())));
            *map = report.coefficients_after.clone();
        }
        reports.push(report);
    }
    let runs: Vec<String> = samples.iter().map(|s| s.name.clone()).collect();
    let date = utc_date_today();
    if !fitted_names.is_empty() {
        let fitted_quantities: Vec<&str> = reports.iter().filter(|r| r.fitted).map(|r| r.quantity.key()).collect();
        new.origin = format!(
            "fitted by qforge calibrate on {} runs of {} on {} ([{section_name}]: {}), {}-fold CV seed {}, {date}\n{}",
            samples.len(),
            opts.tool,
            opts.part,
            fitted_quantities.join(", "),
            opts.k,
            opts.seed,
            current.origin.trim_start()
        );
        new.provenance.push(Provenance {
            section: section_name.clone(),
            fitted: fitted_names,
            tool: opts.tool.clone(),
            part: opts.part.clone(),
            date,
            k_folds: opts.k,
            seed: opts.seed,
            runs: runs.clone(),
        });
    }
    let report = CalibrationReport {
        tool: opts.tool.clone(),
        part: opts.part.clone(),
        family: family.to_string(),
        k_folds: opts.k,
        seed: opts.seed,
        samples: samples.len(),
        runs,
        quantities: reports,
    };
    Ok((new, report))
}

fn calibrate_quantity(
    samples: &[CalibrationSample],
    q: Quantity,
    map: &BTreeMap<String, f64>,
    opts: &ResourceOptions,
) -> Result<QuantityReport> {
    let names = opts.flow.feature_names();
    let measured: Vec<(usize, f64)> = samples.iter().enumerate().filter_map(|(i, s)| q.measured(&s.measured).map(|m| (i, m))).collect();
    let current: Vec<f64> = names.iter().map(|f| map.get(&format!("per_{f}")).copied().unwrap_or(0.0)).collect();
    let rows: Vec<Vec<f64>> = measured.iter().map(|(i, _)| samples[*i].features.clone()).collect();
    let targets: Vec<f64> = measured.iter().map(|(_, m)| *m).collect();
    let before_pred: Vec<f64> = rows.iter().map(|r| fit::dot(&current, r)).collect();
    let mut report = QuantityReport {
        quantity: q,
        fitted: false,
        note: None,
        samples: rows.len(),
        before: Metrics::of(&targets, &before_pred),
        after_cv: None,
        after_in_sample: None,
        coefficients_before: map.clone(),
        coefficients_after: map.clone(),
        dropped: BTreeMap::new(),
    };
    if rows.is_empty() {
        report.note = Some(format!("no sample measured {}: coefficients kept", q.key()));
        return Ok(report);
    }
    // The model's terms for this quantity: the coefficients the file names.
    let refit: Vec<usize> = names
        .iter()
        .enumerate()
        .filter(|(_, f)| map.contains_key(&format!("per_{f}")))
        .filter(|(_, f)| opts.features.as_ref().map_or(true, |fs| fs.iter().any(|x| x == *f)))
        .map(|(i, _)| i)
        .collect();
    let problem = fit::Problem { rows: &rows, targets: &targets, refit: &refit, current: &current, quantity: q.key() };
    if problem.present_columns(&(0..rows.len()).collect::<Vec<_>>()).is_empty() {
        report.note = Some(format!("no feature priced for {} is present in the runs: coefficients kept", q.key()));
        return Ok(report);
    }
    let full = fit::fit(&problem)?;
    let cv = fit::cross_validate(&problem, opts.k, opts.seed, None)?;
    let in_sample: Vec<f64> = rows.iter().map(|r| fit::dot(&full.coefficients, r)).collect();
    report.after_cv = Some(Metrics::of(&targets, &cv));
    report.after_in_sample = Some(Metrics::of(&targets, &in_sample));
    report.fitted = true;
    for &c in &refit {
        report.coefficients_after.insert(format!("per_{}", names[c]), full.coefficients[c]);
    }
    report.dropped = full.dropped.iter().map(|(c, why)| (names[*c].to_string(), why.clone())).collect();
    Ok(report)
}

/// Today's UTC date as YYYY-MM-DD (civil-from-days, H. Hinnant's algorithm).
pub fn utc_date_today() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    civil_date(secs / 86_400)
}

/// Days since 1970-01-01 → YYYY-MM-DD.
pub fn civil_date(days: u64) -> String {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + (month <= 2) as i64;
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(19_782), "2024-02-29");
        assert_eq!(civil_date(20_000), "2024-10-04");
    }
}
