//! `qforge csim`: C-simulate an HLS project with g++ and the ap_types headers
//! and compare every output bit with the Rust fixed-point model.
use super::common::DataArgs;
use super::{print_json, CliReporter};
use crate::error::Error;
use crate::hls::{csim::CsimOptions, find_ap_types, load_meta, run_csim};
use crate::model::{FixedNetwork, TrainedModel};
use crate::train::session::test_split_for;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct CsimArgs {
    /// Project folder written by `qforge hls`.
    #[arg(long)]
    pub project: PathBuf,
    /// Model to compare with (default: the project's model.json).
    #[arg(long)]
    pub model: Option<PathBuf>,
    #[command(flatten)]
    pub data: DataArgs,
    /// Simulate only the first N test samples.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Raw inputs (`qforge predict --inputs-raw` format) instead of the test split.
    #[arg(long)]
    pub inputs_raw: Option<PathBuf>,
    /// Also compare with this `qforge predict` CSV of the same inputs.
    #[arg(long)]
    pub predictions: Option<PathBuf>,
    /// Folder holding the Xilinx ap_types headers (ap_fixed.h).
    #[arg(long, env = "QFORGE_AP_TYPES")]
    pub ap_types: Option<PathBuf>,
    /// Print one JSON object on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: CsimArgs) -> anyhow::Result<ExitCode> {
    let meta = load_meta(&args.project)?;
    let model_path = args.model.clone().unwrap_or_else(|| args.project.join(&meta.model_file));
    let model = TrainedModel::load(&model_path)?;
    let net = FixedNetwork::from_model(&model)?;
    let ap_types = find_ap_types(args.ap_types.as_deref())?;
    let mut raw = match &args.inputs_raw {
        Some(path) => crate::model::predict_io::parse_raw_rows(path, &crate::error::read_to_string(path)?, net.n_inputs())?,
        None => {
            let source = args.data.source()?;
            let test = test_split_for(&model, &source, args.data.split_seed)?;
            net.quantize_inputs(&test.x)
        }
    };
    if let Some(n) = args.limit {
        raw.truncate(n * net.n_inputs());
    }
    let reporter = CliReporter::new(args.json);
    let options = CsimOptions { predictions_csv: args.predictions.clone(), ..CsimOptions::new(ap_types) };
    let result = run_csim(&args.project, &net, &raw, &options, &reporter)?;
    if args.json {
        print_json(&serde_json::to_value(&result)?)?;
    } else {
        outln!("C simulation of {} on {} samples", result.project.display(), result.samples);
        outln!("mismatches        {} samples ({} values)", result.mismatches, result.mismatched_values);
        for m in &result.first_mismatches {
            outln!("  sample {}: expected {:?}, got {:?}", m.sample, m.expected, m.got);
        }
        if let Some(m) = result.predictions_mismatches {
            outln!("vs predict CSV    {m} samples differ");
        }
        outln!("compile time      {:.2} s", result.compile_secs);
        outln!(
            "csim wall time    {:.3} s (loop {:.3} s wall, {:.3} s CPU: {:.0} samples/s wall, {:.0} samples/s CPU)",
            result.run_secs,
            result.loop_secs,
            result.loop_cpu_secs,
            result.samples_per_sec,
            result.samples_per_cpu_sec
        );
    }
    if let Some(m) = result.predictions_mismatches.filter(|&m| m > 0) {
        return Err(
            Error::Mismatch(format!("{m} of {} samples of the C simulation differ from the predictions CSV", result.samples)).into()
        );
    }
    if result.mismatches > 0 {
        return Err(Error::Mismatch(format!(
            "{} of {} samples of the C simulation differ from the Rust fixed-point model (first: sample {})",
            result.mismatches, result.samples, result.first_mismatches[0].sample
        ))
        .into());
    }
    Ok(ExitCode::SUCCESS)
}
