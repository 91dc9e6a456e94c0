//! `qforge train`, `qforge eval`, `qforge predict`.
use super::common::{DataArgs, OutArgs};
use super::{print_json, CliReporter};
use crate::model::{FixedNetwork, ModelSpec, TrainedModel};
use crate::train::session::{evaluate_model, prepare_data, test_split_for, train_and_evaluate, Evaluation};
use clap::Args;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Model description (TOML), e.g. examples/jet_tagger.toml.
    #[arg(long, default_value = "examples/jet_tagger.toml")]
    pub spec: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub out: OutArgs,
    /// Override the number of epochs in the spec.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Override the training seed in the spec.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Print one JSON object on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Trained model (model.json written by `qforge train`).
    #[arg(long)]
    pub model: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// Trained model (model.json).
    #[arg(long)]
    pub model: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// CSV of per-sample fixed-point outputs (raw integer bits and decoded values).
    #[arg(long, default_value = "qforge-out/predictions.csv")]
    pub output: PathBuf,
    /// Also write the raw input bits, one sample per line (for C and RTL simulation).
    #[arg(long)]
    pub inputs_raw: Option<PathBuf>,
    /// Use only the first N test samples.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Predict every row of `--data` in file order (no split); `--labels` optional for .npy.
    #[arg(long, requires = "data")]
    pub all: bool,
    #[arg(long)]
    pub json: bool,
}

fn eval_text(e: &Evaluation) -> String {
    let mut s = format!(
        "test samples      {}\nfloat accuracy    {:.2}%\nfixed accuracy    {:.2}%\ndisagreement      {:.3}%\nROC AUC per class",
        e.samples,
        100.0 * e.float_accuracy,
        100.0 * e.fixed_accuracy,
        100.0 * e.disagreement
    );
    for (c, auc) in &e.per_class_auc {
        let _ = write!(s, "  {c}: {}", auc.map_or("n/a".into(), |a| format!("{a:.4}")));
    }
    s
}

pub fn run_train(args: TrainArgs) -> anyhow::Result<ExitCode> {
    let mut spec = ModelSpec::from_file(&args.spec)?;
    if let Some(seed) = args.seed {
        spec.training.seed = seed;
    }
    let source = args.data.source()?.for_model(&spec.input_shape, spec.n_outputs());
    let data = prepare_data(&source, &spec, args.data.split_seed)?;
    let reporter = CliReporter::new(args.json);
    eprintln!(
        "training {} on {} ({} train / {} validation / {} test)",
        spec.name,
        source.describe(),
        data.splits.train.len(),
        data.splits.val.len(),
        data.splits.test.len()
    );
    let (model, report, eval) = train_and_evaluate(&spec, &data, args.epochs, &reporter)?;
    let path = args.out.out.join("model.json");
    model.save(&path)?;
    if args.json {
        print_json(&serde_json::json!({
            "model": path,
            "spec": args.spec,
            "data": source.describe(),
            "evaluation": eval,
            "training": report,
        }))?;
    } else {
        outln!(
            "{}\nbest epoch {} of {}, {:.1} s\nwrote {}",
            eval_text(&eval),
            report.best_epoch,
            report.epochs.len(),
            report.seconds,
            path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_eval(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let model = TrainedModel::load(&args.model)?;
    let source = args.data.source()?.for_model(&model.spec.input_shape, model.spec.n_outputs());
    let test = test_split_for(&model, &source, args.data.split_seed)?;
    let eval = evaluate_model(&model, &test)?;
    let net = FixedNetwork::from_model(&model)?;
    let profile = crate::model::profile::precision_profile(&model, &net, &test.x);
    if args.json {
        print_json(&serde_json::json!({
            "model": args.model,
            "data": source.describe(),
            "evaluation": eval,
            "types": model.spec.types,
            "precision_profile": profile,
        }))?;
    } else {
        outln!("{}", eval_text(&eval));
    }
    Ok(ExitCode::SUCCESS)
}

/// Every row of the user's file, in order, standardised; whether it has labels.
fn all_rows(model: &TrainedModel, args: &DataArgs) -> anyhow::Result<(crate::data::Dataset, bool)> {
    let path = args.data.as_deref().expect("clap requires --data with --all");
    let is_npy = path.extension().and_then(|e| e.to_str()) == Some("npy");
    let (mut data, labelled) = if is_npy && args.labels.is_none() {
        let data = crate::data::loaders::load_npy_unlabelled(path)?;
        if data.n_features != model.spec.inputs {
            return Err(crate::error::Error::input(
                path,
                format!("{} features per row but the model `{}` has {} inputs", data.n_features, model.spec.name, model.spec.inputs),
            )
            .into());
        }
        (data, false)
    } else {
        (args.source()?.load_for(model.spec.inputs, model.spec.n_outputs())?, true)
    };
    data.standardize(&model.scaler);
    Ok((data, labelled))
}

pub fn run_predict(args: PredictArgs) -> anyhow::Result<ExitCode> {
    let model = TrainedModel::load(&args.model)?;
    let (mut test, labelled) = if args.all {
        all_rows(&model, &args.data)?
    } else {
        let source = args.data.source()?;
        (test_split_for(&model, &source, args.data.split_seed)?, true)
    };
    if let Some(n) = args.limit {
        test = test.head(n);
    }
    let net = FixedNetwork::from_model(&model)?;
    let written = crate::model::predict_io::write_predictions(&net, &test, labelled, &args.output, args.inputs_raw.as_deref())?;
    if args.json {
        print_json(&serde_json::json!({
            "predictions": args.output,
            "inputs_raw": args.inputs_raw,
            "samples": written.samples,
            "fixed_accuracy": written.accuracy,
            "output_type": net.output_type().cpp(),
        }))?;
    } else {
        match written.accuracy {
            Some(a) => outln!("wrote {} samples to {} (fixed accuracy {:.2}%)", written.samples, args.output.display(), 100.0 * a),
            None => outln!("wrote {} samples to {} (no labels)", written.samples, args.output.display()),
        }
    }
    Ok(ExitCode::SUCCESS)
}
