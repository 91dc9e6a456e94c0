//! Automatic heterogeneous quantization search, as AutoQKeras does it and
//! beyond. Input: a search space file ([`space`]) naming a model spec, the
//! candidate quantizers per layer and parameter type, a reference model, the
//! tuner and an optional hardware budget. For every trial the tuner proposes a
//! choice; its cost is estimated before training ([`crate::estimate`]) and an
//! over-budget candidate is pruned untrained; otherwise it is trained with QAT
//! for the trial's epochs and scored with AutoQKeras' forgiving factor
//! ([`score`]) against the reference's cost. Output, in the output folder:
//! `trials.jsonl` (every trial, fsynced as it finishes; `resume` continues it),
//! `trials/<id>/model.json`, `best/model.json`, `pareto/trial_<id>/model.json`,
//! `reference.json`, `search.svg` and `summary.json`.
//!
//! From an imported model ([`space::SearchSpace::for_model`]) the reference
//! is that model evaluated as it is (accuracy on the test split, cost of its
//! own quantizers; `epochs` 0), the data keep its scaler, and with
//! `transfer_weights` every trial starts from its float weights.
pub mod filters;
pub mod pareto;
pub mod plot;
pub mod results;
pub mod score;
pub mod space;
pub mod tuners;

use crate::data::loaders::DataSource;
use crate::error::{Error, Result};
use crate::estimate::{self, BitsOptions, Calibration, EnergyOptions, Estimate, FlowOptions, Target};
use crate::events::{Event, Reporter, Silent};
use crate::model::{Activation, ModelSpec, TrainedModel};
use crate::train::session::{evaluate_model, prepare_data_scaled, train_and_evaluate, train_and_evaluate_from, Evaluation, PreparedData};
use results::{LayerChoice, TrialLog, TrialRecord, TrialStatus};
use score::Goal;
use serde::{Deserialize, Serialize};
use space::{Budget, SearchSpace, TunerKind};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Run-time settings that override the space file.
#[derive(Clone, Debug, Default)]
pub struct SearchOptions {
    pub out: PathBuf,
    pub resume: bool,
    pub max_trials: Option<usize>,
    pub tuner: Option<TunerKind>,
    pub seed: Option<u64>,
    pub epochs: Option<usize>,
    pub samples: Option<usize>,
    pub goal: Option<Goal>,
    pub pareto: Option<bool>,
    /// Data file instead of the synthetic generator.
    pub data: Option<DataSource>,
    /// Each trial starts from the imported model's float weights (AutoQKeras'
    /// `transfer_weights`) instead of the seed's random initialisation.
    pub transfer_weights: bool,
    /// The design the budget and the cost are priced for (`qforge run`: its RTL flow).
    pub flow: FlowOptions,
}

/// The reference model's numbers (trained once per search, kept in `reference.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReferenceRecord {
    pub layers: Vec<LayerChoice>,
    pub epochs: usize,
    pub accuracy: f64,
    pub float_accuracy: f64,
    pub energy_pj: f64,
    pub size_bits: u64,
    pub weight_bits: u64,
    pub ebops: f64,
    pub lut: f64,
    pub ff: f64,
    pub dsp: f64,
    pub bram18: f64,
    pub latency_cycles: u64,
    pub cost: f64,
    pub wall_seconds: f64,
    /// Why the resources are the spec's estimate rather than the trained model's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_note: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SearchOutcome {
    pub out: PathBuf,
    pub goal: Goal,
    pub tuner: TunerKind,
    pub seed: u64,
    pub trials: Vec<TrialRecord>,
    /// Trials reused from an earlier run of the same search (`resume`).
    pub resumed_trials: usize,
    pub reference: ReferenceRecord,
    /// Trial id with the best forgiving-factor score.
    pub best: Option<usize>,
    /// Trial ids on the Pareto front of (accuracy, cost), cheapest first.
    pub pareto: Vec<usize>,
    pub wall_seconds: f64,
}

/// The settings a search ends up with after the command line's overrides.
fn effective(space: &SearchSpace, opts: &SearchOptions) -> space::SearchSettings {
    let mut s = space.settings.clone();
    if let Some(v) = opts.max_trials {
        s.max_trials = v;
    }
    if let Some(v) = opts.tuner {
        s.tuner = v;
    }
    if let Some(v) = opts.seed {
        s.seed = v;
    }
    if let Some(v) = opts.epochs {
        s.epochs = v;
        s.hyperband.max_epochs = v;
    }
    if let Some(v) = opts.samples {
        s.samples = v;
    }
    if let Some(v) = opts.goal {
        s.goal = v;
    }
    if let Some(v) = opts.pareto {
        s.pareto = v;
    }
    s
}

/// The quantizers (and counts) of every conv and dense layer, convolutions first.
pub fn layer_choices(spec: &ModelSpec) -> Vec<LayerChoice> {
    let activation = |a: Activation, q: &crate::quant::Quantizer| match a {
        Activation::Relu => q.spelling(),
        Activation::Softmax => "softmax".into(),
        Activation::Linear => "linear".into(),
    };
    let convs = spec.features.iter().filter_map(|f| match f {
        crate::model::features::FeatureLayer::Conv(c) => Some(LayerChoice {
            layer: c.name.clone(),
            kernel: c.kernel_quantizer.spelling(),
            bias: if c.has_bias() { c.bias_quantizer.spelling() } else { "none".into() },
            activation: activation(c.activation, &c.activation_quantizer),
            units: Some(c.filters),
        }),
        _ => None,
    });
    convs
        .chain(spec.blocks.iter().map(|b| LayerChoice {
            layer: b.name.clone(),
            kernel: b.kernel_quantizer.spelling(),
            bias: b.bias_quantizer.spelling(),
            activation: activation(b.activation, &b.activation_quantizer),
            units: Some(b.units),
        }))
        .collect()
}

fn target_of(budget: Option<&Budget>) -> Result<Target> {
    match budget {
        Some(b) => Target::new(&b.part, b.clock_ns, b.reuse_factor, b.strategy),
        None => Ok(Target::paper()),
    }
}

/// Why an estimate breaks the budget, or `None` when it fits.
pub fn over_budget(est: &Estimate, budget: &Budget) -> Option<String> {
    let t = &est.totals;
    let mut faults = Vec::new();
    for (name, used, limit) in
        [("LUT", t.lut, budget.lut), ("FF", t.ff, budget.ff), ("DSP", t.dsp, budget.dsp), ("BRAM18", t.bram18, budget.bram18)]
    {
        if let Some(limit) = limit {
            if used > limit {
                faults.push(format!("{name} {used:.0} > {limit:.0}"));
            }
        }
    }
    if let Some(limit) = budget.latency_cycles {
        if t.latency_cycles > limit {
            faults.push(format!("latency {} cycles > {limit}", t.latency_cycles));
        }
    }
    (!faults.is_empty()).then(|| faults.join(", "))
}

/// Estimate a spec (types only: before training).
pub fn estimate_spec(spec: &ModelSpec, cal: &Calibration, target: &Target, flow: &FlowOptions) -> Result<Estimate> {
    estimate::estimate_spec(spec, flow, cal, target, &EnergyOptions::default(), &BitsOptions::default())
}

fn estimate_model(model: &TrainedModel, cal: &Calibration, target: &Target, flow: &FlowOptions) -> Result<Estimate> {
    estimate::estimate_model(model, flow, cal, target, &EnergyOptions::default(), &BitsOptions::default())
}

fn goal_cost(goal: Goal, est: &Estimate) -> f64 {
    match goal {
        Goal::Energy => est.totals.energy_pj,
        Goal::Bits => est.totals.size_bits as f64,
    }
}

/// The configuration taking, in every dimension, the candidate with the fewest
/// bits (powers of two count as one bit): if even it breaks the budget, no
/// candidate can meet it.
fn cheapest_choice(space: &SearchSpace) -> Vec<usize> {
    space
        .dimensions
        .iter()
        .map(|d| {
            let bits = |q: &crate::quant::Quantizer| match q {
                crate::quant::Quantizer::QuantizedPo2 { .. } => 1,
                q => q.bit_width(),
            };
            if d.param == space::Param::Filters {
                return (0..d.scales.len()).min_by(|&a, &b| d.scales[a].total_cmp(&d.scales[b])).unwrap_or(0);
            }
            (0..d.candidates.len()).min_by_key(|&i| (bits(&d.candidates[i]), i)).unwrap_or(0)
        })
        .collect()
}

/// Run (or resume) a search. Trials already in `<out>/trials.jsonl` are replayed
/// through the tuner and reused, not retrained.
pub fn run_search(space: &SearchSpace, opts: &SearchOptions, cal: &Calibration, reporter: &dyn Reporter) -> Result<SearchOutcome> {
    let started = Instant::now();
    let settings = effective(space, opts);
    let target = target_of(space.budget.as_ref())?;
    // A budget nothing can meet is a user error, found before any training.
    if let Some(budget) = &space.budget {
        let cheapest = space.build_spec(&cheapest_choice(space));
        if let Some(why) = over_budget(&estimate_spec(&cheapest, cal, &target, &opts.flow)?, budget) {
            return Err(Error::input_at(
                &space.path,
                None,
                Some("budget"),
                format!("no candidate can meet the budget on {}: even the cheapest choice needs {why}", budget.part),
            ));
        }
    }
    let (mut log, logged) = TrialLog::open(&opts.out, opts.resume)?;
    let source = opts.data.clone().unwrap_or(DataSource::Synthetic { samples: settings.samples, seed: settings.data_seed });
    reporter.event(Event::Log(format!("search: preparing {}", source.describe())));
    // An imported model keeps its own input scaling: its reference is evaluated,
    // and its weights transferred, on the inputs it was trained for.
    let scaler = space.reference_model.as_ref().map(|m| &m.scaler);
    let data = prepare_data_scaled(&source, &space.base, settings.split_seed, scaler)?;
    let init = match (&space.reference_model, opts.transfer_weights) {
        (Some(m), true) => Some(m.layers.as_slice()),
        (None, true) => {
            return Err(Error::Config("transfer_weights needs an imported model to take the weights from (qforge search --model)".into()))
        }
        (_, false) => None,
    };
    if init.is_some() && settings.tune_filters != filters::TuneFilters::None {
        return Err(Error::Config(
            "transfer_weights cannot go with tune_filters: a scaled layer has no weights of its shape to start from".into(),
        ));
    }
    let ref_epochs = match settings.tuner {
        TunerKind::Hyperband => settings.hyperband.max_epochs,
        _ => settings.epochs,
    };
    let reference = reference_record(space, &data, ref_epochs, settings.goal, cal, &target, &opts.flow, &opts.out, reporter)?;
    let ff = settings.forgiving_factor();
    let mut tuner = tuners::make_tuner(settings.tuner, &settings, space.cardinalities());
    let mut history: Vec<TrialRecord> = Vec::new();
    let mut resumed = 0usize;
    reporter.event(Event::Begin { label: "search".into(), total: settings.max_trials as u64 });
    while history.len() < settings.max_trials {
        let Some(proposal) = tuner.propose(&history) else {
            break;
        };
        let id = history.len();
        let record = match logged.get(id) {
            Some(r) if r.same_proposal(&proposal.choice, proposal.epochs) => {
                resumed += 1;
                r.clone()
            }
            Some(r) => {
                return Err(Error::Config(format!(
                    "{}: trial {id} was {:?} for {} epochs but this search proposes {:?} for {}: the space, seed or tuner changed; use another --out",
                    opts.out.join(results::TRIALS_FILE).display(),
                    r.choice,
                    r.epochs,
                    proposal.choice,
                    proposal.epochs
                )))
            }
            None => {
                let r = run_trial(space, &proposal, id, (&data, init), &settings, &ff, &reference, cal, &target, &opts.flow, &opts.out)?;
                log.append(&r)?;
                r
            }
        };
        let msg = match (record.status, record.accuracy) {
            (TrialStatus::Trained, Some(a)) => {
                format!("trial {id}: {:.2}%, cost {:.4}, score {:.4}", 100.0 * a, record.cost, record.score.unwrap_or(f64::NAN))
            }
            _ => format!("trial {id}: {:?} ({})", record.status, record.reason.clone().unwrap_or_default()),
        };
        history.push(record);
        reporter.event(Event::Progress { done: history.len() as u64, message: msg.clone() });
        reporter.event(Event::Log(msg));
    }
    reporter.event(Event::End { message: format!("search: {} trials ({} resumed)", history.len(), resumed) });
    let outcome = finish(space, &settings, history, resumed, reference, &opts.out, started)?;
    Ok(outcome)
}

#[allow(clippy::too_many_arguments)]
fn reference_record(
    space: &SearchSpace,
    data: &PreparedData,
    epochs: usize,
    goal: Goal,
    cal: &Calibration,
    target: &Target,
    flow: &FlowOptions,
    out: &Path,
    reporter: &dyn Reporter,
) -> Result<ReferenceRecord> {
    let path = out.join("reference.json");
    if let Some(model) = &space.reference_model {
        let r = imported_reference(model, data, goal, cal, target, flow)?;
        model.save(&out.join("reference").join("model.json"))?;
        crate::error::write_atomic(&path, &serde_json::to_vec_pretty(&r).expect("serializes"))?;
        return Ok(r);
    }
    if path.exists() {
        let text = crate::error::read_to_string(&path)?;
        if let Ok(r) = serde_json::from_str::<ReferenceRecord>(&text) {
            if r.epochs == epochs && r.layers == layer_choices(&space.reference) {
                // The goal may differ from the earlier run: recompute the cost.
                let est = estimate_spec(&space.reference, cal, target, flow)?;
                return Ok(ReferenceRecord { cost: goal_cost(goal, &est), ..r });
            }
        }
    }
    reporter.event(Event::Log(format!("search: training the reference model ({epochs} epochs)")));
    let t0 = Instant::now();
    let (model, _, eval) = train_and_evaluate(&space.reference, data, Some(epochs), &Silent)?;
    let r = reference_numbers(&model, epochs, &eval, goal, cal, target, flow, t0)?;
    model.save(&out.join("reference").join("model.json"))?;
    crate::error::write_atomic(&path, &serde_json::to_vec_pretty(&r).expect("serializes"))?;
    Ok(r)
}

/// An imported model as the reference: evaluated on the test split as it is
/// (its own quantizers and trained weights), not retrained (`epochs` 0).
fn imported_reference(
    model: &TrainedModel,
    data: &PreparedData,
    goal: Goal,
    cal: &Calibration,
    target: &Target,
    flow: &FlowOptions,
) -> Result<ReferenceRecord> {
    let t0 = Instant::now();
    let eval = evaluate_model(model, &data.splits.test)?;
    reference_numbers(model, 0, &eval, goal, cal, target, flow, t0)
}

#[allow(clippy::too_many_arguments)]
fn reference_numbers(
    model: &TrainedModel,
    epochs: usize,
    eval: &Evaluation,
    goal: Goal,
    cal: &Calibration,
    target: &Target,
    flow: &FlowOptions,
    t0: Instant,
) -> Result<ReferenceRecord> {
    let est_spec = estimate_spec(&model.spec, cal, target, flow)?;
    let (est, resource_note) = match estimate_model(model, cal, target, flow) {
        Ok(e) => (e, None),
        Err(e) => (est_spec.clone(), Some(spec_fallback_note(&e))),
    };
    Ok(ReferenceRecord {
        layers: layer_choices(&model.spec),
        epochs,
        accuracy: eval.fixed_accuracy,
        float_accuracy: eval.float_accuracy,
        energy_pj: est_spec.totals.energy_pj,
        size_bits: est_spec.totals.size_bits,
        weight_bits: est.totals.weight_bits,
        ebops: est.totals.ebops,
        lut: est.totals.lut,
        ff: est.totals.ff,
        dsp: est.totals.dsp,
        bram18: est.totals.bram18,
        latency_cycles: est.totals.latency_cycles,
        cost: goal_cost(goal, &est_spec),
        wall_seconds: t0.elapsed().as_secs_f64(),
        resource_note,
    })
}

/// Said in the records when the trained model's estimate is refused, so the
/// spec's numbers are never passed off as the trained design's.
fn spec_fallback_note(e: &crate::error::Error) -> String {
    format!("resources and EBOPs are the spec's estimate: the trained model's was refused ({e})")
}

#[allow(clippy::too_many_arguments)]
fn run_trial(
    space: &SearchSpace,
    proposal: &tuners::Proposal,
    id: usize,
    (data, init): (&PreparedData, Option<&[crate::model::LayerParams]>),
    settings: &space::SearchSettings,
    ff: &score::ForgivingFactor,
    reference: &ReferenceRecord,
    cal: &Calibration,
    target: &Target,
    flow: &FlowOptions,
    out: &Path,
) -> Result<TrialRecord> {
    let t0 = Instant::now();
    let spec = space.build_spec(&proposal.choice);
    let mut record = TrialRecord {
        id,
        choice: proposal.choice.clone(),
        epochs: proposal.epochs,
        layers: layer_choices(&spec),
        status: TrialStatus::Invalid,
        reason: None,
        accuracy: None,
        float_accuracy: None,
        cost: f64::NAN,
        energy_pj: f64::NAN,
        size_bits: 0,
        weight_bits: 0,
        ebops: 0.0,
        lut: 0.0,
        ff: 0.0,
        dsp: 0.0,
        bram18: 0.0,
        latency_cycles: 0,
        score: None,
        wall_seconds: 0.0,
        model: None,
        resource_note: None,
    };
    let fill = |r: &mut TrialRecord, e: &Estimate| {
        r.weight_bits = e.totals.weight_bits;
        r.ebops = e.totals.ebops;
        r.lut = e.totals.lut;
        r.ff = e.totals.ff;
        r.dsp = e.totals.dsp;
        r.bram18 = e.totals.bram18;
        r.latency_cycles = e.totals.latency_cycles;
    };
    let est = match estimate_spec(&spec, cal, target, flow) {
        Ok(e) => e,
        Err(e) => {
            record.reason = Some(e.to_string());
            record.wall_seconds = t0.elapsed().as_secs_f64();
            return Ok(record);
        }
    };
    record.energy_pj = est.totals.energy_pj;
    record.size_bits = est.totals.size_bits;
    record.cost = goal_cost(settings.goal, &est);
    fill(&mut record, &est);
    if let Some(why) = space.budget.as_ref().and_then(|b| over_budget(&est, b)) {
        record.status = TrialStatus::Pruned;
        record.reason = Some(format!("over budget before training: {why}"));
        record.wall_seconds = t0.elapsed().as_secs_f64();
        return Ok(record);
    }
    let (model, _, eval) = train_and_evaluate_from(&spec, init, data, Some(proposal.epochs), &Silent)?;
    // With the trained constants known, zero weights are free: refine resources and EBOPs.
    match estimate_model(&model, cal, target, flow) {
        Ok(e) => fill(&mut record, &e),
        Err(e) => record.resource_note = Some(spec_fallback_note(&e)),
    }
    let rel = format!("trials/{id}/model.json");
    model.save(&out.join(&rel))?;
    record.status = TrialStatus::Trained;
    record.accuracy = Some(eval.fixed_accuracy);
    record.float_accuracy = Some(eval.float_accuracy);
    record.score = Some(ff.score(eval.fixed_accuracy, reference.cost, record.cost));
    record.model = Some(rel);
    record.wall_seconds = t0.elapsed().as_secs_f64();
    Ok(record)
}

fn copy_model(out: &Path, rel: &str, to: &Path) -> Result<()> {
    let from = out.join(rel);
    let bytes = crate::error::read_bytes(&from)?;
    crate::error::write_atomic(to, &bytes)
}

fn finish(
    space: &SearchSpace,
    settings: &space::SearchSettings,
    trials: Vec<TrialRecord>,
    resumed: usize,
    reference: ReferenceRecord,
    out: &Path,
    started: Instant,
) -> Result<SearchOutcome> {
    let trained: Vec<&TrialRecord> = trials.iter().filter(|t| t.status == TrialStatus::Trained && t.accuracy.is_some()).collect();
    let best = trained
        .iter()
        .max_by(|a, b| a.score.unwrap_or(f64::NEG_INFINITY).total_cmp(&b.score.unwrap_or(f64::NEG_INFINITY)).then(b.id.cmp(&a.id)))
        .map(|t| t.id);
    let points: Vec<(f64, f64)> = trained.iter().map(|t| (t.accuracy.unwrap_or(0.0), t.cost)).collect();
    let front_idx = pareto::pareto_front(&points);
    let pareto: Vec<usize> = front_idx.iter().map(|&i| trained[i].id).collect();
    if let Some(b) = best {
        if let Some(rel) = &trials[b].model {
            copy_model(out, rel, &out.join("best").join("model.json"))?;
        }
    }
    if settings.pareto {
        for &id in &pareto {
            if let Some(rel) = &trials[id].model {
                copy_model(out, rel, &out.join("pareto").join(format!("trial_{id}")).join("model.json"))?;
            }
        }
    }
    let plot_points: Vec<plot::PlotPoint> =
        trained.iter().map(|t| plot::PlotPoint { id: t.id, accuracy: t.accuracy.unwrap_or(0.0), cost: t.cost }).collect();
    let best_pos = best.and_then(|b| trained.iter().position(|t| t.id == b));
    let title = format!("{}: {} trials, {:?} tuner", space.base.name, trials.len(), settings.tuner);
    let cost_label = match settings.goal {
        Goal::Energy => "estimated energy per inference (pJ, QTools)",
        Goal::Bits => "model size (bits, AutoQKeras)",
    };
    let svg = plot::render(&plot::Plot {
        title: &title,
        cost_label,
        points: &plot_points,
        front: &front_idx,
        best: best_pos,
        reference: Some((reference.accuracy, reference.cost)),
    });
    crate::error::write_atomic(&out.join("search.svg"), svg.as_bytes())?;
    let outcome = SearchOutcome {
        out: out.to_path_buf(),
        goal: settings.goal,
        tuner: settings.tuner,
        seed: settings.seed,
        trials,
        resumed_trials: resumed,
        reference,
        best,
        pareto,
        wall_seconds: started.elapsed().as_secs_f64(),
    };
    crate::error::write_atomic(&out.join("summary.json"), &serde_json::to_vec_pretty(&summary_json(&outcome)).expect("serializes"))?;
    Ok(outcome)
}

/// The summary written to `summary.json` and printed by `qforge search --json`.
pub fn summary_json(o: &SearchOutcome) -> serde_json::Value {
    let pick = |id: usize| &o.trials[id];
    let best = o.best.map(pick);
    serde_json::json!({
        "out": o.out,
        "goal": o.goal,
        "tuner": o.tuner,
        "seed": o.seed,
        "trials": o.trials.len(),
        "trained": o.trials.iter().filter(|t| t.status == TrialStatus::Trained).count(),
        "pruned": o.trials.iter().filter(|t| t.status == TrialStatus::Pruned).count(),
        "invalid": o.trials.iter().filter(|t| t.status == TrialStatus::Invalid).count(),
        "resumed_trials": o.resumed_trials,
        "wall_seconds": o.wall_seconds,
        "reference": o.reference,
        "best": best,
        "best_model": best.map(|_| "best/model.json"),
        "cost_ratio_reference_over_best": best.map(|b| o.reference.cost / b.cost),
        "energy_ratio_reference_over_best": best.map(|b| o.reference.energy_pj / b.energy_pj),
        "accuracy_drop_pp": best.and_then(|b| b.accuracy).map(|a| 100.0 * (o.reference.accuracy - a)),
        "pareto": o.pareto.iter().map(|&id| pick(id)).collect::<Vec<_>>(),
        "trials_file": results::TRIALS_FILE,
        "plot": "search.svg",
    })
}
