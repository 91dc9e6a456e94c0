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
/// priced at the manifest's pipelining. Empty when the folder has no model or
/// the part is not in the estimator's table.
fn estimates_of(project: &Path, run: &NewRun) -> Vec<serde_json::Value> {
    run.part.as_deref().map(|part| price_project(project, part, run.clock_ns)).unwrap_or_default()
}

/// The estimates [`record_synth_run`] stores for the project folder `project`
/// on `part`, priced by the current generator and cost model: what
/// `qforge calibrate --reprice` refits on after the generator changed.
pub fn price_project(project: &Path, part: &str, clock_ns: Option<f64>) -> Vec<serde_json::Value> {
    use crate::estimate::{self, BitsOptions, Calibration, EnergyOptions, FlowOptions, Strategy, Target};
    let priced = || -> Option<Vec<serde_json::Value>> {
        let model = crate::model::TrainedModel::load(&project.join("model.json")).ok()?;
        let target = Target::new(part, clock_ns.unwrap_or(5.0), 1, Strategy::Latency).ok()?;
        let calibration = Calibration::discover(None).ok()?;
        let (energy, bits) = (EnergyOptions::default(), BitsOptions::default());
        let hls = estimate::estimate_model(&model, &FlowOptions::hls(), &calibration, &target, &energy, &bits).ok()?;
        let mut out = vec![hls.store_record()];
        if let Ok(manifest) = crate::rtl::load_manifest(project) {
            let flow = FlowOptions::rtl(manifest.pipeline_every, crate::rtl::cost::cost_for)
                .with_cmvm(manifest.cmvm)
                .with_pipeline_ns(manifest.pipeline_ns);
            if let Ok(rtl) = estimate::estimate_model(&model, &flow, &calibration, &target, &energy, &bits) {
                out.push(rtl.store_record());
            }
        }
        Some(out)
    };
    priced().unwrap_or_default()
}

/// Store the synthesis job of the project folder `project` and its parsed reports.
pub fn record_synth_run(db: &Path, project: &Path, job: &SynthRun, reports: &[ParsedReport]) -> crate::error::Result<RunId> {
    let mut store = Store::open(db)?;
    let run = describe(project, job);
    let id = store.begin_run(&run)?;
    for estimate in estimates_of(project, &run) {
        store.add_estimate(id, &estimate)?;
    }
    for r in reports {
        store.add_measurement(id, r)?;
    }
    let (status, error) = match &job.failure {
        None => (RunStatus::Ok, None),
        Some(e) => (RunStatus::Failed, Some(e.as_str())),
    };
    store.finish_run(id, status, error)?;
    Ok(id)
}
