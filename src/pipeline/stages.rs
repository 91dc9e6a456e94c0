//! The pipeline's stages, each a function from its inputs to a serializable
//! result cached in `<output folder>/stages/<stage>-<hash>/` ([`super::cache`]):
//! train (the baseline model) → search (quantizer search) → generate (Verilog
//! and estimates for the chosen candidates) → synthesize (one job per
//! candidate on the executor; parse its report; store run, estimate and
//! measurement in the history: [`super::synth`]) → calibrate (estimated-vs-measured samples).
use super::cache::{StageDir, StageKey};
use super::config::PipelineConfig;
use crate::data::loaders::DataSource;
use crate::error::{Error, Result};
use crate::estimate::{self, BitsOptions, Calibration, EnergyOptions, Strategy, Target};
use crate::events::{Event, Reporter};
use crate::model::{ModelSpec, TrainedModel};
use crate::search::space::SearchSpace;
use crate::search::{run_search, SearchOptions};
use crate::train::session::{evaluate_model, prepare_data, test_split_for, train_and_evaluate};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

pub use super::refit::{calibrate_key, calibrate_stage, CalibrateOutcome};
pub use super::synth::{synth_job, synth_key, synth_stage};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainResult {
    pub model: PathBuf,
    pub model_name: String,
    pub fixed_accuracy: f64,
    pub float_accuracy: f64,
}

/// One trained search trial, as the summary plots it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrialPoint {
    pub id: usize,
    pub accuracy: f64,
    pub cost: f64,
    pub model: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchResult {
    pub out: PathBuf,
    pub trials: Vec<TrialPoint>,
    pub best: Option<usize>,
    pub pareto: Vec<usize>,
    pub reference_accuracy: f64,
    pub reference_cost: f64,
    pub goal: String,
}

/// Estimated numbers of a candidate (the store's estimate keys).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Numbers {
    pub lut: Option<u64>,
    pub ff: Option<u64>,
    pub dsp: Option<u64>,
    pub bram_18k: Option<u64>,
    pub latency_cycles: Option<u64>,
}

impl Candidate {
    /// The estimate as the history keeps it: numbers and the summed features
    /// (which `qforge calibrate --db` refits).
    pub fn store_estimate(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(&self.estimate).expect("numbers serialise");
        let features: serde_json::Map<String, serde_json::Value> =
            self.features.iter().map(|(n, v)| (n.clone(), serde_json::json!(v))).collect();
        value["features"] = serde_json::Value::Object(features);
        // The pipeline synthesises qforge's Verilog: its estimate and features are the RTL flow's.
        value["flow"] = serde_json::json!(crate::estimate::Flow::Rtl.name());
        // The operation counts the energy refit prices ([`crate::calibrate::store_source::StoreEnergy`]).
        value["energy_layers"] = serde_json::to_value(&self.energy_layers).expect("layers serialise");
        value
    }
}

/// A model chosen for synthesis, with its estimate and its Verilog.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Candidate {
    /// `baseline`, `trial_<id>`.
    pub name: String,
    /// Why it was chosen: `baseline`, `best`, `pareto`.
    pub source: String,
    pub model: PathBuf,
    pub model_name: String,
    pub model_hash: String,
    pub accuracy: Option<f64>,
    /// The search's cost (energy or bits), when it came from the search.
    pub cost: Option<f64>,
    pub quantizers: serde_json::Value,
    pub estimate: Numbers,
    /// `estimate.feature_totals()`: the calibration regressors.
    pub features: Vec<(String, f64)>,
    pub rtl_dir: PathBuf,
    /// Register stages of the generated design (its latency in cycles).
    pub design_latency_cycles: u64,
    /// Per module of the design (conv, pooling, dense layers) its operations,
    /// which the energy estimate and refit price.
    #[serde(default)]
    pub energy_layers: Vec<crate::calibrate::energy::EnergyLayer>,
}

/// How one candidate's synthesis ended.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SynthResult {
    pub name: String,
    /// `ok` or `failed`.
    pub status: String,
    /// The job's final state (`completed`, `failed`, `timeout`, ...).
    pub job_state: String,
    pub reason: Option<String>,
    pub elapsed_secs: Option<f64>,
    pub measured: Option<Numbers>,
    pub tool_version: Option<String>,
    pub report: Option<PathBuf>,
    pub log: PathBuf,
    pub run_id: Option<i64>,
    /// Where the job ran: `local` or `slurm`.
    #[serde(default)]
    pub executor: Option<String>,
    /// The executor's id of the job's last try (`123_4` on Slurm).
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub node: Option<String>,
}

/// Where a stage's result came from.
#[derive(Debug, Clone, Serialize)]
pub struct StageRecord {
    pub stage: String,
    pub hash: String,
    pub dir: PathBuf,
    pub skipped: bool,
    pub seconds: f64,
}

/// Runs stages through the cache, in one run folder, and keeps a
/// [`StageRecord`] of each: a new stage is one more call to [`StageRunner::run`].
pub struct StageRunner<'a> {
    out: &'a Path,
    reporter: &'a dyn Reporter,
    records: Vec<StageRecord>,
}

impl<'a> StageRunner<'a> {
    pub fn new(out: &'a Path, reporter: &'a dyn Reporter) -> Self {
        StageRunner { out, reporter, records: Vec::new() }
    }

    /// Run `body` in the stage's folder unless its `done.json` holds a result.
    pub fn run<T, F>(&mut self, key: StageDir, body: F) -> Result<T>
    where
        T: Serialize + serde::de::DeserializeOwned,
        F: FnOnce(&Path) -> Result<T>,
    {
        self.run_reusing(key, |_| true, body)
    }

    /// [`StageRunner::run`], but a stored result that `reuse` rejects (one
    /// with failed jobs to retry) runs the stage again in the same folder.
    pub fn run_reusing<T, F>(&mut self, key: StageDir, reuse: impl FnOnce(&T) -> bool, body: F) -> Result<T>
    where
        T: Serialize + serde::de::DeserializeOwned,
        F: FnOnce(&Path) -> Result<T>,
    {
        let stage = key.under(self.out);
        let started = Instant::now();
        let record = |skipped, seconds| StageRecord {
            stage: stage.stage.clone(),
            hash: stage.hash.clone(),
            dir: stage.dir.clone(),
            skipped,
            seconds,
        };
        match stage.cached::<T>()? {
            Some(result) if reuse(&result) => {
                self.reporter.event(Event::Log(format!("{}: done in an earlier run ({}), skipped", stage.stage, stage.dir.display())));
                self.records.push(record(true, 0.0));
                return Ok(result);
            }
            Some(_) => self.reporter.event(Event::Log(format!(
                "{}: an earlier run left work to retry, running again in {}",
                stage.stage,
                stage.dir.display()
            ))),
            None => self.reporter.event(Event::Log(format!("{}: running in {}", stage.stage, stage.dir.display()))),
        }
        stage.create()?;
        let result = body(&stage.dir)?;
        let seconds = started.elapsed().as_secs_f64();
        stage.mark_done(&result, seconds)?;
        self.records.push(record(false, seconds));
        Ok(result)
    }

    /// What each stage run so far did.
    pub fn into_records(self) -> Vec<StageRecord> {
        self.records
    }
}

pub fn train_key(cfg: &PipelineConfig) -> Result<StageDir> {
    let key = StageKey::new("train").value(&cfg.model).value(&cfg.data).value(&cfg.train).file(&cfg.spec_path())?;
    Ok(key.data(&cfg.data_source()?)?.finish())
}

/// Train the baseline model of the spec on `[data]`; writes `model.json`.
/// An imported model (`[model] import`) is the baseline as it is: evaluated
/// on the test split of `[data]`, not retrained.
pub fn train_stage(cfg: &PipelineConfig, dir: &Path, reporter: &dyn Reporter) -> Result<TrainResult> {
    let source = cfg.data_source()?;
    let path = dir.join("model.json");
    if let Some(import) = cfg.import_path() {
        let model = TrainedModel::load(&import)?;
        let test = test_split_for(&model, &source, cfg.data.split_seed)?;
        let eval = evaluate_model(&model, &test)?;
        model.save(&path)?;
        return Ok(TrainResult {
            model: path,
            model_name: model.spec.name.clone(),
            fixed_accuracy: eval.fixed_accuracy,
            float_accuracy: eval.float_accuracy,
        });
    }
    let spec = ModelSpec::from_file(&cfg.spec_path())?;
    let data = prepare_data(&source, &spec, cfg.data.split_seed)?;
    let (model, _report, eval) = train_and_evaluate(&spec, &data, cfg.train.epochs, reporter)?;
    model.save(&path)?;
    Ok(TrainResult { model: path, model_name: spec.name.clone(), fixed_accuracy: eval.fixed_accuracy, float_accuracy: eval.float_accuracy })
}

/// The search depends on the calibration: its budget pruning and energy goal use the estimator.
pub fn search_key(cfg: &PipelineConfig, cal: &Calibration) -> Result<Option<StageDir>> {
    if !cfg.search.enabled {
        return Ok(None);
    }
    let space = search_space(cfg)?;
    let mut key = StageKey::new("search").value(&cfg.search).value(&cfg.data).value(&space.base).value(cal);
    if let Some(p) = cfg.space_path() {
        key = key.file(&p)?;
    }
    if let Some(p) = cfg.import_path() {
        key = key.file(&p)?;
    }
    let data = cfg.data_source_or(DataSource::Synthetic { samples: 0, seed: 0 })?;
    Ok(Some(key.data(&data)?.finish()))
}

/// The search space: the space file over its model spec, or over the imported model.
fn search_space(cfg: &PipelineConfig) -> Result<SearchSpace> {
    match (cfg.import_path(), cfg.space_path()) {
        (Some(model), space) => SearchSpace::for_model(&model, space.as_deref()),
        (None, Some(space)) => SearchSpace::from_file(&space),
        (None, None) => Err(Error::input_at(&cfg.path, None, Some("search.space"), "missing")),
    }
}

/// The quantizer search (it resumes its own trials when killed).
pub fn search_stage(cfg: &PipelineConfig, dir: &Path, cal: &Calibration, reporter: &dyn Reporter) -> Result<SearchResult> {
    let space = search_space(cfg)?;
    // A data file replaces the space's synthetic jets (the space's samples/seed then do not apply).
    let data = cfg.data.path.is_some().then(|| cfg.data_source()).transpose()?;
    let tuner = cfg.search.tuner;
    let opts = SearchOptions {
        out: dir.to_path_buf(),
        resume: true,
        max_trials: cfg.search.max_trials,
        tuner,
        seed: cfg.search.seed,
        epochs: cfg.search.epochs,
        samples: cfg.search.samples,
        goal: None,
        pareto: Some(true),
        data,
        transfer_weights: cfg.search.transfer_weights,
        // The pipeline synthesises qforge's own Verilog: price that design.
        flow: crate::estimate::FlowOptions::rtl(cfg.generate.pipeline_every, crate::rtl::cost::cost_for)
            .with_cmvm(cfg.generate.cmvm)
            .with_pipeline_ns(cfg.generate.pipeline_ns)
            .with_io_stream(cfg.generate.io == "stream"),
    };
    let o = run_search(&space, &opts, cal, reporter)?;
    let trials = o
        .trials
        .iter()
        .filter_map(|t| Some(TrialPoint { id: t.id, accuracy: t.accuracy?, cost: t.cost, model: t.model.as_ref().map(|m| dir.join(m)) }))
        .collect();
    Ok(SearchResult {
        out: dir.to_path_buf(),
        trials,
        best: o.best,
        pareto: o.pareto.clone(),
        reference_accuracy: o.reference.accuracy,
        reference_cost: o.reference.cost,
        goal: format!("{:?}", o.goal).to_lowercase(),
    })
}

/// A model chosen for generation and synthesis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChosenModel {
    /// `baseline`, `trial_<id>`.
    pub name: String,
    /// Why it was chosen: `baseline`, `best`, `pareto`.
    pub source: String,
    pub model: PathBuf,
    pub accuracy: Option<f64>,
    /// The search's cost (energy or bits), when it came from the search.
    pub cost: Option<f64>,
}

/// The models to synthesize: the baseline, the search's best, then the
/// Pareto front from the most accurate down; at most `synth.candidates`.
pub fn choose_candidates(cfg: &PipelineConfig, train: &TrainResult, search: Option<&SearchResult>) -> Vec<ChosenModel> {
    let mut chosen: Vec<ChosenModel> = Vec::new();
    if cfg.synth.include_baseline {
        let baseline = ChosenModel {
            name: "baseline".into(),
            source: "baseline".into(),
            model: train.model.clone(),
            accuracy: Some(train.fixed_accuracy),
            cost: None,
        };
        chosen.push(baseline);
    }
    if let Some(s) = search {
        let by_id = |id: usize| s.trials.iter().find(|t| t.id == id);
        let mut order: Vec<(usize, &str)> = s.best.map(|b| (b, "best")).into_iter().collect();
        let mut front: Vec<&TrialPoint> = s.pareto.iter().filter_map(|&id| by_id(id)).collect();
        front.sort_by(|a, b| b.accuracy.total_cmp(&a.accuracy));
        order.extend(front.iter().map(|t| (t.id, "pareto")));
        for (id, why) in order {
            let Some(t) = by_id(id) else { continue };
            let Some(model) = &t.model else { continue };
            let name = format!("trial_{id}");
            if chosen.iter().any(|c| c.name == name) {
                continue;
            }
            chosen.push(ChosenModel { name, source: why.into(), model: model.clone(), accuracy: Some(t.accuracy), cost: Some(t.cost) });
        }
    }
    chosen.truncate(cfg.synth.candidates);
    chosen
}

/// Generation stores each candidate's estimate, so it depends on the calibration too.
pub fn generate_key(cfg: &PipelineConfig, chosen: &[ChosenModel], cal: &Calibration) -> Result<StageDir> {
    let mut key = StageKey::new("generate").value(&cfg.generate).value(&cfg.target).value(cal);
    for c in chosen {
        key = key.text(&c.name).file(&c.model)?;
    }
    Ok(key.finish())
}

/// Estimate each candidate and write its Verilog to `<dir>/<name>/rtl`.
pub fn generate_stage(
    cfg: &PipelineConfig,
    chosen: &[ChosenModel],
    cal: &Calibration,
    dir: &Path,
    reporter: &dyn Reporter,
) -> Result<Vec<Candidate>> {
    let target = Target::new(&cfg.target.part, cfg.target.clock_ns, 1, Strategy::Latency)
        .map_err(|e| Error::input_at(&cfg.path, None, Some("target.part"), e.to_string()))?;
    reporter.event(Event::Begin { label: "generate".into(), total: chosen.len() as u64 });
    let mut out = Vec::new();
    for (i, ChosenModel { name, source, model: model_path, accuracy, cost }) in chosen.iter().enumerate() {
        let bytes = crate::error::read_bytes(model_path)?;
        let model = TrainedModel::load(model_path)?;
        let layers = estimate::layers_from_model(&model)?;
        // Priced as the design this stage writes (qforge's Verilog at its pipelining), not as an HLS design.
        let flow = estimate::FlowOptions::rtl(cfg.generate.pipeline_every, crate::rtl::cost::cost_for)
            .with_cmvm(cfg.generate.cmvm)
            .with_pipeline_ns(cfg.generate.pipeline_ns)
            .with_io_stream(cfg.generate.io == "stream");
        let est = estimate::estimate_model(&model, &flow, cal, &target, &EnergyOptions::default(), &BitsOptions::default())?;
        // Conv layers first (a CNN's), then the dense ones.
        let convs = model.spec.features.iter().filter_map(|f| match f {
            crate::model::features::FeatureLayer::Conv(c) => Some(c.as_block()),
            _ => None,
        });
        let quantizers: serde_json::Map<String, serde_json::Value> = convs
            .map(|b| (b.name.clone(), b.kernel_quantizer.clone(), b.bias_quantizer.clone(), b.activation_quantizer.clone()))
            .chain(
                layers
                    .iter()
                    .map(|l| (l.name.clone(), l.kernel_quantizer.clone(), l.bias_quantizer.clone(), l.activation_quantizer.clone())),
            )
            .map(|(name, kernel, bias, activation)| {
                (
                    name,
                    serde_json::json!({
                        "kernel": kernel.spelling(),
                        "bias": bias.spelling(),
                        "activation": activation.spelling(),
                    }),
                )
            })
            .collect();
        let rtl_dir = dir.join(name).join("rtl");
        let opts = crate::rtl::RtlOptions {
            pipeline_every: cfg.generate.pipeline_every,
            pipeline_ns: cfg.generate.pipeline_ns,
            cmvm: cfg.generate.cmvm,
            stream: cfg.generate.io == "stream",
            ..Default::default()
        };
        let design = crate::rtl::generate(&model, model_path, &opts)?;
        crate::rtl::write_design(&design, &rtl_dir)?;
        if cfg.generate.hls {
            // The HLS project for the Xilinx tools (`qforge synth <dir> --tool vivado_hls`); the open flow does not build it.
            let hls = crate::hls::HlsConfig {
                part: cfg.target.part.clone(),
                clock_period_ns: cfg.target.clock_ns,
                ..crate::hls::HlsConfig::default()
            };
            let options = crate::hls::WriteOptions { force: true, templates: None, test_inputs: None };
            crate::hls::write_project(&model, &hls, &dir.join(name).join("hls"), &options)?;
        }
        let t = &est.totals;
        out.push(Candidate {
            name: name.clone(),
            source: source.clone(),
            model: model_path.clone(),
            model_name: model.spec.name.clone(),
            model_hash: crate::store::sha256_hex(&bytes)[..16].to_string(),
            accuracy: *accuracy,
            cost: *cost,
            quantizers: serde_json::Value::Object(quantizers),
            estimate: Numbers {
                lut: Some(t.lut.max(0.0) as u64),
                ff: Some(t.ff.max(0.0) as u64),
                dsp: Some(t.dsp.max(0.0) as u64),
                bram_18k: Some(t.bram18.max(0.0) as u64),
                latency_cycles: Some(t.latency_cycles),
            },
            features: est.feature_totals().into_iter().map(|(n, v)| (n.to_string(), v)).collect(),
            rtl_dir,
            design_latency_cycles: design.manifest.latency_cycles as u64,
            energy_layers: crate::calibrate::energy::EnergyLayer::for_model(&model)?,
        });
        reporter.event(Event::Progress { done: i as u64 + 1, message: name.clone() });
    }
    reporter.event(Event::End { message: format!("generated Verilog for {} candidates", out.len()) });
    Ok(out)
}
