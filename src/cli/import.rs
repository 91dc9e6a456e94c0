//! `qforge import`: a (Q)Keras model and optional hls4ml config → `model.json`.
use super::print_json;
use crate::import::{import, write, ImportRequest};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The model: architecture JSON (`model.to_json()`), full-model `.h5` (`model.save`), or Keras 3 `.keras` archive.
    pub model: PathBuf,
    /// Weights H5 (`model.save_weights`) for an architecture JSON.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// hls4ml config: the YAML `hls4ml convert -c` reads, or the `config_from_keras_model` dict as YAML/JSON.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Input scaler, JSON `{"mean": [...], "std": [...]}` (default: identity, the inputs the model was trained on).
    #[arg(long)]
    pub scaler: Option<PathBuf>,
    /// Folder for model.json and import.json.
    #[arg(long, default_value = "qforge-out/import")]
    pub out: PathBuf,
    /// Print one JSON object on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let req = ImportRequest { model: args.model, weights: args.weights, config: args.config, scaler: args.scaler };
    let imported = import(&req)?;
    let path = write(&imported, &args.out)?;
    let spec = &imported.model.spec;
    let layers: Vec<serde_json::Value> = spec
        .blocks
        .iter()
        .zip(&imported.model.layers)
        .map(|(b, l)| {
            serde_json::json!({
                "name": b.name, "n_in": l.n_in, "n_out": l.n_out,
                "kernel_quantizer": b.kernel_quantizer.spelling(), "bias_quantizer": b.bias_quantizer.spelling(),
                "activation": b.activation, "activation_quantizer": b.activation_quantizer.spelling(),
            })
        })
        .collect();
    if args.json {
        print_json(&serde_json::json!({
            "model_json": path,
            "input_type": spec.input_type.cpp(),
            "layers": layers,
            "import": imported.report,
        }))?;
    } else {
        outln!(
            "imported {} ({:?}, {:.3} s): {} inputs ({}), {} dense layers",
            spec.name,
            imported.report.format,
            imported.report.seconds,
            spec.inputs,
            spec.input_type.cpp(),
            spec.blocks.len()
        );
        for m in &imported.report.keras_layers {
            outln!("  {:<20} {:<20} {}", m.keras_name, m.keras_class, m.became);
        }
        for n in &imported.report.notes {
            outln!("note: {n}");
        }
        outln!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
