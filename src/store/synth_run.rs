//! A `qforge synth` job as a run of the history, like every other run: the
//! model and target when the project folder says them, the estimator's
//! numbers and features for them (which `qforge calibrate --db` refits), the
//! tool and version, the parsed reports, wall time, status and where the
//! logs are.
use super::{NewRun, RunId, RunKind, RunStatus, Store};
use crate::reports::ParsedReport;
use crate::tools::SynthRun;
use std::path::Path;

/// What the project folder says about the design (model.json, script params).
fn describe(project: &Path, job: &SynthRun) -> NewRun {
    let model = crate::model::TrainedModel::load(&project.join("model.json")).ok();
    let params = crate::hls::load_script_params(project).ok();
    let quantizers = model.as_ref().map(|m| {
        serde_json::Value::Object(
            m.spec
                .blocks
                .iter()
                .map(|b| {
                    (
                        b.name.clone(),
                        serde_json::json!({
                            "kernel": b.kernel_quantizer.spelling(),
                            "bias": b.bias_quantizer.spelling(),
                            "activation": b.activation_quantizer.spelling(),
                        }),
                    )
                })
                .collect(),
        )
    });
    let model_hash = std::fs::read(project.join("model.json")).ok().map(|b| crate::store::sha256_hex(&b));
    let first = job.steps.first();
    NewRun {
        kind: Some(RunKind::Synth),
        model_name: model.as_ref().map(|m| m.spec.name.clone()),
        model_hash,
        quantizers,
        part: params.as_ref().map(|p| p.part.clone()),
        clock_ns: params.as_ref().map(|p| p.clock_period_ns),
        reuse: None,
        strategy: None,
        tool: Some(job.tool.to_string()),
        tool_version: first.and_then(|s| s.tool_version.clone()),
        run_dir: Some(job.run_dir.clone()),
        log_path: first.map(|s| s.result.log_path.clone()),
    }
}

/// The estimator's numbers (and summed features, which calibration refits)
/// for the project's model on its part and clock: the HLS flow's, and for a
/// folder of qforge's Verilog (it has the RTL manifest) also the RTL flow's,
/// priced at the manifest's pipelining. Without a part, nothing is priced.
fn estimates_of(project: &Path, run: &NewRun) -> PricedProject {
    match run.part.as_deref() {
        Some(part) => price_project(project, part, run.clock_ns),
        None => PricedProject { estimates: Vec::new(), unpriced: vec!["the project names no part".into()] },
    }
}

/// The estimates of a project folder, and why any flow has none (a model the
/// estimator refuses, a part it does not know): a run stored without an
/// estimate says so rather than dropping it silently.
#[derive(Debug, Default)]
pub struct PricedProject {
    pub estimates: Vec<serde_json::Value>,
    pub unpriced: Vec<String>,
}

/// The estimates [`record_synth_run`] stores for the project folder `project`
/// on `part`, priced by the current generator and cost model: what
/// `qforge calibrate --reprice` refits on after the generator changed.
pub fn price_project(project: &Path, part: &str, clock_ns: Option<f64>) -> PricedProject {
    use crate::estimate::{self, BitsOptions, Calibration, EnergyOptions, FlowOptions, Strategy, Target};
    let mut priced = PricedProject::default();
    let model_path = project.join("model.json");
    let model = match crate::model::TrainedModel::load(&model_path) {
        Ok(m) => m,
        Err(e) => {
            priced.unpriced.push(format!("no estimate: {e}"));
            return priced;
        }
    };
    let setup = Target::new(part, clock_ns.unwrap_or(5.0), 1, Strategy::Latency).and_then(|t| Ok((t, Calibration::discover(None)?)));
    let (target, calibration) = match setup {
        Ok(s) => s,
        Err(e) => {
            priced.unpriced.push(format!("no estimate: {e}"));
            return priced;
        }
    };
    let (energy, bits) = (EnergyOptions::default(), BitsOptions::default());
    match estimate::estimate_model(&model, &FlowOptions::hls(), &calibration, &target, &energy, &bits) {
        Ok(hls) => priced.estimates.push(hls.store_record()),
        Err(e) => priced.unpriced.push(format!("no HLS-flow estimate: {e}")),
    }
    if let Ok(manifest) = crate::rtl::load_manifest(project) {
        let flow = FlowOptions::rtl(manifest.pipeline_every, crate::rtl::cost::cost_for)
            .with_cmvm(manifest.cmvm)
            .with_pipeline_ns(manifest.pipeline_ns);
        match estimate::estimate_model(&model, &flow, &calibration, &target, &energy, &bits) {
            Ok(rtl) => priced.estimates.push(rtl.store_record()),
            Err(e) => priced.unpriced.push(format!("no RTL-flow estimate: {e}")),
        }
    }
    priced
}

/// A synthesis run as stored: its id, and why a flow's estimate is missing.
#[derive(Debug)]
pub struct RecordedSynth {
    pub id: RunId,
    pub unpriced: Vec<String>,
}

/// Store the synthesis job of the project folder `project` and its parsed reports.
pub fn record_synth_run(db: &Path, project: &Path, job: &SynthRun, reports: &[ParsedReport]) -> crate::error::Result<RecordedSynth> {
    let mut store = Store::open(db)?;
    let run = describe(project, job);
    let priced = estimates_of(project, &run);
    let id = store.begin_run(&run)?;
    for estimate in &priced.estimates {
        store.add_estimate(id, estimate)?;
    }
    for r in reports {
        store.add_measurement(id, r)?;
    }
    let (status, error) = match &job.failure {
        None => (RunStatus::Ok, None),
        Some(e) => (RunStatus::Failed, Some(e.as_str())),
    };
    store.finish_run(id, status, error)?;
    Ok(RecordedSynth { id, unpriced: priced.unpriced })
}
