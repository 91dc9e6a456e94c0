//! Model import: a trained (Q)Keras model as users have it — architecture JSON
//! with a weights H5, a full-model H5, or a Keras 3 `.keras` archive — and an
//! optional hls4ml config, turned into the `model.json` every later stage
//! reads. Sits between `data`/`model` and `train` in the flow: it reads files
//! and builds a [`TrainedModel`]; it never trains, prints or spawns.
pub mod apply;
pub mod assemble;
pub mod h5;
pub mod hls4ml_config;
pub mod image;
pub mod keras_config;
pub mod quantizers;

use crate::error::{Error, Result};
use crate::model::network::{MODEL_FORMAT, MODEL_VERSION};
use crate::model::{Scaler, TrainedModel};
use assemble::LayerMapping;
use h5::KerasH5;
use hls4ml_config::{Hls4mlConfig, HLS4ML_DEFAULT_PRECISION};
use serde::Serialize;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What to import.
#[derive(Clone, Debug, Default)]
pub struct ImportRequest {
    /// Architecture JSON, full-model `.h5`, or `.keras` archive.
    pub model: PathBuf,
    /// Weights H5 for an architecture JSON (else the config's `KerasH5`).
    pub weights: Option<PathBuf>,
    /// hls4ml config (YAML or JSON).
    pub config: Option<PathBuf>,
    /// Input scaler file (JSON `{"mean": [...], "std": [...]}`); identity otherwise.
    pub scaler: Option<PathBuf>,
}

/// The file layout the model came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceFormat {
    /// `model.to_json()` + `save_weights(...)`.
    JsonAndWeights,
    /// `model.save("m.h5")`.
    FullH5,
    /// Keras 3 `.keras` zip archive.
    KerasArchive,
}

/// What import did, for `--json` and `import.json`.
#[derive(Clone, Debug, Serialize)]
pub struct ImportReport {
    pub model: PathBuf,
    pub weights: Option<PathBuf>,
    pub config: Option<PathBuf>,
    pub format: SourceFormat,
    pub keras_layers: Vec<LayerMapping>,
    pub notes: Vec<String>,
    /// hls4ml settings as the config states them (part, clock, reuse, strategy;
    /// the model-level reuse and strategy also go into model.json's `spec.hls`).
    pub hls4ml: Option<Hls4mlConfig>,
    pub seconds: f64,
}

pub struct Imported {
    pub model: TrainedModel,
    pub report: ImportReport,
}

const HDF5_MAGIC: &[u8] = b"\x89HDF\r\n\x1a\n";
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

/// Import a model (see [`ImportRequest`]); every fault names the file it is in.
pub fn import(req: &ImportRequest) -> Result<Imported> {
    let start = Instant::now();
    let config = req.config.as_deref().map(Hls4mlConfig::load).transpose()?;
    let bytes = crate::error::read_bytes(&req.model)?;
    let (format, arch_text, arch_path, weights_h5) = if bytes.starts_with(ZIP_MAGIC) {
        let (arch, weights) = read_archive(&req.model, &bytes)?;
        (SourceFormat::KerasArchive, arch, req.model.clone(), weights)
    } else if bytes.starts_with(HDF5_MAGIC) {
        let h5 = KerasH5::from_bytes(&req.model, bytes)?;
        let arch = h5.model_config()?.ok_or_else(|| {
            Error::input(&req.model, "an HDF5 file without a `model_config` attribute holds weights only: give the architecture JSON (model.to_json()) as MODEL and this file as --weights")
        })?;
        let weights = match &req.weights {
            Some(w) => KerasH5::open(w)?,
            None => h5,
        };
        (SourceFormat::FullH5, arch, req.model.clone(), weights)
    } else {
        let text =
            String::from_utf8(bytes).map_err(|_| Error::input(&req.model, "neither a Keras JSON, an HDF5 file nor a .keras archive"))?;
        let weights_path = req.weights.clone().or_else(|| config.as_ref().and_then(|c| c.keras_h5.clone())).ok_or_else(|| {
            Error::input(&req.model, "an architecture JSON needs its weights: pass --weights WEIGHTS.h5 (or KerasH5 in the hls4ml config)")
        })?;
        (SourceFormat::JsonAndWeights, text, req.model.clone(), KerasH5::open(&weights_path)?)
    };
    let keras = keras_config::parse_model_config(&arch_text).map_err(|m| Error::input(&arch_path, m))?;
    let weights = weights_h5.weights()?;
    let weights_path = match format {
        SourceFormat::JsonAndWeights => req.weights.clone().or_else(|| config.as_ref().and_then(|c| c.keras_h5.clone())),
        _ => req.weights.clone(),
    };
    let blame = weights_path.clone().unwrap_or_else(|| req.model.clone());
    let mut assembled = assemble::assemble(&keras, &weights).map_err(|m| {
        // Missing or misshapen weights are the weights file's fault; the rest the architecture's.
        if m.contains("weights file") {
            Error::input(&blame, m)
        } else {
            Error::input(&arch_path, m)
        }
    })?;
    if let Some(c) = &config {
        apply::apply_config(c, &keras, &mut assembled)?;
        assembled.spec.hls = crate::model::HlsSettings { reuse_factor: c.model.reuse_factor, strategy: c.model.strategy.clone() };
    } else if assembled.spec.blocks.iter().any(|b| b.kernel_quantizer.is_float())
        || assembled
            .spec
            .features
            .iter()
            .any(|f| matches!(f, crate::model::features::FeatureLayer::Conv(c) if c.kernel_quantizer.is_float()))
    {
        // A float model has no types of its own: take those hls4ml gives it
        // (`config_from_keras_model`'s Model default), or its exact accumulators
        // over float-wide weights would not fit any fixed-point type.
        let default = Hls4mlConfig::model_default(&req.model);
        apply::apply_config(&default, &keras, &mut assembled)?;
        assembled.notes.push(format!(
            "a float (unquantized) model without an hls4ml config takes hls4ml's default types: every weight, bias, accumulator and result {HLS4ML_DEFAULT_PRECISION}, inferred as hls4ml 1.3 infers them (types mode hls4ml); give --config to choose others"
        ));
    }
    let mut scaler = assembled.scaler.clone();
    if let Some(path) = &req.scaler {
        scaler = compose(&load_scaler(path, assembled.spec.inputs)?, &scaler);
    }
    let conv_layers = std::mem::take(&mut assembled.conv_layers);
    let model = TrainedModel {
        format: MODEL_FORMAT.into(),
        version: MODEL_VERSION,
        feature_names: (0..assembled.spec.inputs).map(|i| format!("x{i}")).collect(),
        spec: assembled.spec,
        scaler,
        layers: assembled.layers,
        conv_layers,
        metrics: serde_json::json!({ "imported_from": req.model }),
    };
    let report = ImportReport {
        model: req.model.clone(),
        weights: weights_path,
        config: req.config.clone(),
        format,
        keras_layers: assembled.mapping,
        notes: assembled.notes,
        hls4ml: config,
        seconds: start.elapsed().as_secs_f64(),
    };
    Ok(Imported { model, report })
}

/// Write `dir/model.json` and `dir/import.json`, each atomically.
pub fn write(imported: &Imported, dir: &Path) -> Result<PathBuf> {
    let path = dir.join("model.json");
    imported.model.save(&path)?;
    let report = serde_json::to_vec_pretty(&imported.report).expect("report serializes");
    crate::error::write_atomic(&dir.join("import.json"), &report)?;
    Ok(path)
}

/// `config.json` and `model.weights.h5` of a Keras 3 archive.
fn read_archive(path: &Path, bytes: &[u8]) -> Result<(String, KerasH5)> {
    let fail = |m: String| Error::input(path, m);
    let mut zip =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| fail(format!("not a readable .keras (zip) archive: {e}")))?;
    let mut member = |name: &str| -> Result<Vec<u8>> {
        let mut f = zip.by_name(name).map_err(|e| fail(format!("the archive has no `{name}`: {e}")))?;
        let mut out = Vec::new();
        f.read_to_end(&mut out).map_err(|e| fail(format!("`{name}` in the archive is corrupt: {e}")))?;
        Ok(out)
    };
    let config = String::from_utf8(member("config.json")?).map_err(|_| fail("config.json in the archive is not UTF-8".into()))?;
    let weights = member("model.weights.h5")?;
    let h5 = KerasH5::from_bytes(&path.join("model.weights.h5"), weights)?;
    Ok((config, h5))
}

#[derive(serde::Deserialize)]
struct ScalerFile {
    mean: Vec<f32>,
    std: Vec<f32>,
}

fn load_scaler(path: &Path, n: usize) -> Result<Scaler> {
    let text = crate::error::read_to_string(path)?;
    let s: ScalerFile = serde_json::from_str(&text).map_err(|e| {
        Error::input_at(path, Some(e.line()), None, format!("not a scaler file ({{\"mean\": [...], \"std\": [...]}}): {e}"))
    })?;
    if s.mean.len() != n || s.std.len() != n {
        return Err(Error::input(path, format!("{} means and {} stds for a model with {n} inputs", s.mean.len(), s.std.len())));
    }
    if let Some(i) = s.std.iter().position(|v| !(v.is_finite() && *v != 0.0)) {
        return Err(Error::input_at(path, None, Some(&format!("std[{i}]")), format!("{} is not a usable scale", s.std[i])));
    }
    Ok(Scaler { mean: s.mean, std: s.std })
}

/// `inner` after `outer`: ((x - m1)/s1 - m2)/s2 = (x - (m1 + m2·s1)) / (s1·s2).
fn compose(outer: &Scaler, inner: &Scaler) -> Scaler {
    let mean = outer.mean.iter().zip(&outer.std).zip(&inner.mean).map(|((m1, s1), m2)| m1 + m2 * s1).collect();
    let std = outer.std.iter().zip(&inner.std).map(|(s1, s2)| s1 * s2).collect();
    Scaler { mean, std }
}
