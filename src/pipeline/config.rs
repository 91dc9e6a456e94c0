//! The pipeline file (`qforge run pipeline.toml`): which model, how much
//! training and search, what to generate, how many candidates to synthesize
//! with which tool and time limit, and where the jobs run (`[executor]`, read
//! by [`super::executor::ExecutorConfig`]). Paths are relative to the file.
//! Every section has defaults; an unknown key is an error naming the file,
//! the line and the field.
//!
//! ```toml
//! name = "jet"
//! [model]
//! spec = "jet_tagger.toml" # or import = "model.json" (qforge import): the baseline as it is
//! [data]
//! samples = 40000          # synthetic jets; or the user's file:
//! # path = "jets.csv"      # .csv/.arff, or .npy with labels = "y.npy", or "digits" (the UCI 8×8 digits)
//! # columns = ["j_zlogz", "j_mass_mmdt"]   # a table's feature columns, in order
//! # label_column = "class"
//! [train]
//! epochs = 3
//! [search]
//! space = "jet_space.toml"
//! max_trials = 6
//! [generate]
//! rtl = true
//! [synth]
//! candidates = 3
//! timeout_secs = 900
//! [executor]
//! kind = "local"
//! workers = 2
//! ```
use super::executor::ExecutorConfig;
use crate::data::loaders::DataSource;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The embedded default pipeline and the files it names (`qforge run` with no file).
pub const DEFAULT_PIPELINE: &str = include_str!("../../examples/pipeline.toml");
pub const DEFAULT_MODEL_SPEC: &str = include_str!("../../examples/jet_tagger.toml");
pub const DEFAULT_SPACE: &str = include_str!("../../examples/jet_space.toml");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// The file this came from (paths are relative to its folder).
    #[serde(skip)]
    pub path: PathBuf,
    #[serde(default = "default_name")]
    pub name: String,
    pub model: ModelSection,
    #[serde(default)]
    pub data: DataSection,
    #[serde(default)]
    pub train: TrainSection,
    #[serde(default)]
    pub search: SearchSection,
    #[serde(default)]
    pub target: TargetSection,
    #[serde(default)]
    pub generate: GenerateSection,
    #[serde(default)]
    pub synth: SynthSection,
    #[serde(default)]
    pub calibrate: CalibrateSection,
    #[serde(default)]
    pub executor: ExecutorConfig,
}

fn default_name() -> String {
    "pipeline".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// Model description (TOML), relative to the pipeline file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<PathBuf>,
    /// Instead of `spec`: an imported model.json (`qforge import`); the
    /// baseline is that model as it is (not retrained) and the search starts from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import: Option<PathBuf>,
}

/// The data every stage trains, searches and evaluates on: the synthetic
/// jets (`samples` from `seed`), or the user's file (`path`: .csv/.arff, or
/// .npy with `labels`; `columns` and `label_column` pick a table's columns by
/// name). With `path`, `samples` and `seed` are ignored (every row is used);
/// the split is always the usual one from `split_seed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataSection {
    pub samples: usize,
    pub seed: u64,
    pub split_seed: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_column: Option<String>,
}

impl Default for DataSection {
    fn default() -> Self {
        DataSection { samples: 200_000, seed: 1, split_seed: 42, path: None, labels: None, columns: None, label_column: None }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainSection {
    /// Override of the spec's epochs.
    pub epochs: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchSection {
    pub enabled: bool,
    /// Search space (TOML), relative to the pipeline file.
    pub space: Option<PathBuf>,
    pub max_trials: Option<usize>,
    pub epochs: Option<usize>,
    pub samples: Option<usize>,
    pub seed: Option<u64>,
    /// `tpe`, `random` or `hyperband` (as `qforge search --tuner`); checked on load.
    pub tuner: Option<crate::search::space::TunerKind>,
    /// With `[model] import`: trials start from the imported weights (`qforge search --transfer-weights`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub transfer_weights: bool,
}

impl Default for SearchSection {
    fn default() -> Self {
        SearchSection {
            enabled: true,
            space: None,
            max_trials: None,
            epochs: None,
            samples: None,
            seed: None,
            tuner: None,
            transfer_weights: false,
        }
    }
}

/// The FPGA the estimates are for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TargetSection {
    pub part: String,
    pub clock_ns: f64,
}

impl Default for TargetSection {
    fn default() -> Self {
        TargetSection { part: "xcvu9p-flga2104-2L-e".into(), clock_ns: 5.0 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GenerateSection {
    /// Verilog from the quantized model (`qforge rtl`).
    pub rtl: bool,
    /// An hls4ml-shaped HLS project as well (`qforge hls`); not synthesized by the open flow.
    pub hls: bool,
    /// Registers after every N logic levels; 0 = combinational (the generator's default).
    pub pipeline_every: u32,
    /// Dense layers share sub-expressions across their outputs (`qforge rtl --cmvm`).
    pub cmvm: bool,
    /// Registers placed by delay at this clock period in ns (`qforge rtl
    /// --pipeline-ns`) instead of every N levels; needs `pipeline_every = 0`.
    pub pipeline_ns: Option<f64>,
    /// `parallel` (default) or `stream` (`qforge rtl --io stream`: image
    /// models only, one pixel per clock). Not written when parallel, so the
    /// stage keys of existing pipelines stay what they were.
    #[serde(skip_serializing_if = "is_parallel")]
    pub io: String,
}

fn is_parallel(io: &String) -> bool {
    io == "parallel"
}

impl Default for GenerateSection {
    fn default() -> Self {
        GenerateSection { rtl: true, hls: false, pipeline_every: 0, cmvm: false, pipeline_ns: None, io: "parallel".into() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SynthSection {
    /// `yosys` (the open RTL flow).
    pub tool: String,
    /// Yosys `synth_xilinx -family`.
    pub family: String,
    /// At most this many candidates are synthesized: the baseline, the search's best, then its Pareto front.
    pub candidates: usize,
    pub include_baseline: bool,
    /// Time limit of each synthesis job.
    pub timeout_secs: u64,
    /// Per-candidate time limits overriding `timeout_secs` (a big design may need longer).
    pub candidate_timeouts: BTreeMap<String, u64>,
    /// One whole-design Yosys job per candidate; `false` (the default):
    /// one job per layer module plus the top's glue, the reports summed
    /// (`pipeline::hier`).
    pub flatten: bool,
    /// Stock `synth_xilinx` (`qforge synth --merge-adders`): chained adders
    /// merged into `$macc` cells; `false` (the default) keeps each adder a
    /// carry chain.
    pub merge_adders: bool,
}

impl Default for SynthSection {
    fn default() -> Self {
        SynthSection {
            tool: "yosys".into(),
            family: "xcup".into(),
            candidates: 3,
            include_baseline: true,
            timeout_secs: 900,
            candidate_timeouts: BTreeMap::new(),
            flatten: false,
            merge_adders: false,
        }
    }
}

impl SynthSection {
    pub fn timeout_for(&self, candidate: &str) -> u64 {
        self.candidate_timeouts.get(candidate).copied().unwrap_or(self.timeout_secs)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CalibrateSection {
    /// Record estimated-vs-measured pairs (`calibration_samples.jsonl`).
    pub enabled: bool,
}

impl Default for CalibrateSection {
    fn default() -> Self {
        CalibrateSection { enabled: true }
    }
}

impl PipelineConfig {
    pub fn from_file(path: &Path) -> Result<PipelineConfig> {
        PipelineConfig::from_toml(&crate::error::read_to_string(path)?, path)
    }

    /// Parse the text of `path`. Errors name the file, the line and the field.
    pub fn from_toml(text: &str, path: &Path) -> Result<PipelineConfig> {
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let mut config: PipelineConfig = toml::from_str(text).map_err(|e: toml::de::Error| {
            let message = e.message().to_string();
            let field =
                unknown_field(&message).or_else(|| missing_field(&message)).or_else(|| e.span().and_then(|span| key_at(text, span.start)));
            Error::input_at(path, e.span().map(|s| line_of(s.start)), field.as_deref(), message)
        })?;
        config.path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        // The executor section's own checks (Slurm settings).
        ExecutorConfig::from_pipeline_toml(text, path)?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        let bad = |field: &str, msg: &str| Err(Error::input_at(&self.path, None, Some(field), msg));
        if self.synth.tool != "yosys" {
            return bad("synth.tool", "only `yosys` (the open RTL flow) runs in the pipeline");
        }
        if !self.generate.rtl {
            return bad("generate.rtl", "the yosys flow synthesizes the generated Verilog: rtl must be true");
        }
        if !matches!(self.generate.io.as_str(), "parallel" | "stream") {
            return bad("generate.io", "unknown io type (known: parallel, stream)");
        }
        if let Some(ns) = self.generate.pipeline_ns {
            if self.generate.pipeline_every > 0 {
                return bad(
                    "generate.pipeline_ns",
                    "registers by delay (pipeline_ns) and every N levels (pipeline_every) are two schedules: set pipeline_every = 0 to use pipeline_ns",
                );
            }
            if !ns.is_finite() || !(0.5..=1000.0).contains(&ns) {
                return bad("generate.pipeline_ns", "a clock period in ns from 0.5 to 1000 is needed");
            }
        }
        if self.synth.candidates == 0 {
            return bad("synth.candidates", "must be at least 1");
        }
        if self.synth.timeout_secs == 0 {
            return bad("synth.timeout_secs", "must be at least 1");
        }
        if self.data.samples < 100 {
            return bad("data.samples", "must be at least 100");
        }
        match (&self.model.spec, &self.model.import) {
            (None, None) => return bad("model", "give `spec` (a model TOML) or `import` (an imported model.json)"),
            (Some(_), Some(_)) => return bad("model.import", "give either `spec` or `import`, not both"),
            _ => {}
        }
        if self.data.path.is_none() {
            for (field, set) in [
                ("data.labels", self.data.labels.is_some()),
                ("data.columns", self.data.columns.is_some()),
                ("data.label_column", self.data.label_column.is_some()),
            ] {
                if set {
                    return bad(field, "needs `data.path` (the data file)");
                }
            }
        }
        if self.search.transfer_weights && self.model.import.is_none() {
            return bad("search.transfer_weights", "needs `model.import` (the model whose weights the trials start from)");
        }
        if self.search.enabled && self.search.space.is_none() && self.model.import.is_none() {
            return bad("search.space", "a search needs a space file (or set search.enabled = false)");
        }
        Ok(())
    }

    /// A path of the file, resolved against the file's folder.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.path.parent().unwrap_or(Path::new(".")).join(p)
        }
    }

    /// The model file: the spec TOML, or the imported model.json.
    pub fn spec_path(&self) -> PathBuf {
        self.resolve(self.model.spec.as_ref().or(self.model.import.as_ref()).expect("validated: spec or import"))
    }

    /// The imported model.json, when `[model] import` names one.
    pub fn import_path(&self) -> Option<PathBuf> {
        self.model.import.as_ref().map(|p| self.resolve(p))
    }

    /// Where every stage's data come from (`[data]`); `synthetic` is the
    /// generator's source when no file is named.
    pub fn data_source_or(&self, synthetic: DataSource) -> Result<DataSource> {
        let Some(path) = &self.data.path else {
            return Ok(synthetic);
        };
        // `path = "digits"`: the UCI digits fetched at setup, as `--data digits`
        // (unless the pipeline's folder holds a file of that name).
        if path == Path::new("digits") && !self.resolve(path).exists() {
            if self.data.labels.is_some() || self.data.columns.is_some() || self.data.label_column.is_some() {
                return Err(Error::input_at(
                    &self.path,
                    None,
                    Some("data.path"),
                    "the digits take no `labels`, `columns` or `label_column`",
                ));
            }
            return Ok(DataSource::Digits { path: crate::data::images::digits_path() });
        }
        let path = self.resolve(path);
        let labels = self.data.labels.as_ref().map(|l| self.resolve(l));
        let source = DataSource::from_paths(Some(&path), labels.as_deref(), 0, 0)
            .map_err(|e| Error::input_at(&self.path, None, Some("data.path"), e.to_string()))?;
        match source {
            DataSource::Table { path, .. } => {
                Ok(DataSource::Table { path, columns: self.data.columns.clone(), label_column: self.data.label_column.clone() })
            }
            _ if self.data.columns.is_some() || self.data.label_column.is_some() => Err(Error::input_at(
                &self.path,
                None,
                Some("data.columns"),
                "`columns` and `label_column` pick the columns of a .csv or .arff table, not of .npy arrays",
            )),
            other => Ok(other),
        }
    }

    /// The data of the train, switching and evaluation stages.
    pub fn data_source(&self) -> Result<DataSource> {
        self.data_source_or(DataSource::Synthetic { samples: self.data.samples, seed: self.data.seed })
    }

    pub fn space_path(&self) -> Option<PathBuf> {
        self.search.space.as_ref().map(|p| self.resolve(p))
    }

    /// Write the embedded default pipeline and the files it names into
    /// `dir` and read it from there, so `qforge run` works from any folder.
    pub fn embedded_default(dir: &Path) -> Result<PipelineConfig> {
        let write = |name: &str, text: &str| -> Result<PathBuf> {
            let p = dir.join(name);
            crate::error::write_atomic(&p, text.as_bytes())?;
            Ok(p)
        };
        write("jet_tagger.toml", DEFAULT_MODEL_SPEC)?;
        write("jet_space.toml", DEFAULT_SPACE)?;
        let path = write("pipeline.toml", DEFAULT_PIPELINE)?;
        PipelineConfig::from_toml(DEFAULT_PIPELINE, &path)
    }
}

/// `unknown field `x`, expected ...` → `x`.
fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(rest[..rest.find('`')?].to_string())
}

/// The `section.key` whose value starts at or around `offset` (a bad value's
/// error names its field, not only its line).
fn key_at(text: &str, offset: usize) -> Option<String> {
    let before = &text[..offset.min(text.len())];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next()?;
    let key = line.split_once('=')?.0.trim().trim_matches('"');
    let section = before[..line_start].lines().rev().map(str::trim).find(|l| l.starts_with('['));
    match section.map(|s| s.trim_matches(|c| c == '[' || c == ']').trim()) {
        Some(section) => Some(format!("{section}.{key}")),
        None => Some(key.to_string()),
    }
}

fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest[..rest.find('`')?].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_default_parses() {
        let c = PipelineConfig::from_toml(DEFAULT_PIPELINE, Path::new("/x/pipeline.toml")).unwrap();
        assert_eq!(c.spec_path(), Path::new("/x/jet_tagger.toml"));
        assert!(c.search.enabled && c.synth.candidates >= 1);
        // The generator the shipped [rtl.ultrascale_plus] prices were fitted on (calibration/default.toml).
        assert!(c.generate.cmvm && c.generate.pipeline_every == 0 && c.generate.pipeline_ns == Some(5.0), "{:?}", c.generate);
    }

    #[test]
    fn unknown_keys_name_file_line_and_field() {
        let text = "name = \"x\"\n[model]\nspec = \"m.toml\"\n[synth]\ncandidatez = 2\n";
        let err = PipelineConfig::from_toml(text, Path::new("p.toml")).unwrap_err();
        match &err {
            Error::Input { path, line, field, .. } => {
                assert_eq!(path, Path::new("p.toml"));
                assert_eq!(*line, Some(5));
                assert_eq!(field.as_deref(), Some("candidatez"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn generate_io_takes_parallel_and_stream_and_refuses_others() {
        let text = |io: &str| format!("name = \"x\"\n[model]\nspec = \"m.toml\"\n[search]\nenabled = false\n[generate]\nio = \"{io}\"\n");
        assert_eq!(PipelineConfig::from_toml(&text("parallel"), Path::new("p.toml")).unwrap().generate.io, "parallel");
        assert_eq!(PipelineConfig::from_toml(DEFAULT_PIPELINE, Path::new("p.toml")).unwrap().generate.io, "parallel");
        let err = PipelineConfig::from_toml(&text("strem"), Path::new("p.toml")).unwrap_err();
        assert!(matches!(&err, Error::Input { field: Some(f), .. } if f == "generate.io"), "{err}");
        // Stream designs run through the pipeline (estimate, synthesis, switching).
        assert_eq!(PipelineConfig::from_toml(&text("stream"), Path::new("p.toml")).unwrap().generate.io, "stream");
    }

    #[test]
    fn an_unknown_tuner_is_refused_on_load() {
        let text = "name = \"x\"\n[model]\nspec = \"m.toml\"\n[search]\nspace = \"s.toml\"\ntuner = \"bayesian\"\n";
        let err = PipelineConfig::from_toml(text, Path::new("p.toml")).unwrap_err();
        match &err {
            Error::Input { path, line, field, message } => {
                assert_eq!(path, Path::new("p.toml"));
                assert_eq!(*line, Some(6));
                assert_eq!(field.as_deref(), Some("search.tuner"));
                assert!(message.contains("bayesian") && message.contains("tpe"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let ok = text.replace("bayesian", "hyperband");
        let c = PipelineConfig::from_toml(&ok, Path::new("p.toml")).unwrap();
        assert_eq!(c.search.tuner, Some(crate::search::space::TunerKind::Hyperband));
    }
}
