//! The search space file (TOML): which model to search over, the reference
//! (baseline) quantizers the score compares against, the candidate quantizers
//! per layer and parameter type (kernel, bias, activation), optional blocks of
//! layers that share one choice, the tuner settings and a hardware budget.
//! Output: a [`SearchSpace`] whose [`Dimension`]s the tuners pick from, and
//! [`SearchSpace::build_spec`] turning a choice into a [`ModelSpec`]. The
//! searched layers are the convolutions (in order) and then the dense layers;
//! with `tune_filters` ([`super::filters`]) their filter/unit counts too.
//! [`SearchSpace::for_model`] searches an imported model.json instead: its
//! architecture, the model itself as the reference (the space's `model` and
//! `[reference]` are then ignored), the candidates from the space file or
//! [`DEFAULT_MODEL_SPACE`].
use super::filters::{self, Pattern, TuneFilters};
use super::score::{ForgivingFactor, Goal};
use crate::error::{Error, Result};
use crate::estimate::Strategy;
use crate::model::features::FeatureLayer;
use crate::model::{Activation, ModelSpec, TrainedModel};
use crate::quant::parse::parse_quantizer;
use crate::quant::Quantizer;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Which tuner proposes trials.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TunerKind {
    Random,
    Hyperband,
    Tpe,
}

/// A parameter type of a layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Param {
    Kernel,
    Bias,
    Activation,
    /// The filter (conv) or unit (dense) count, scaled (`tune_filters`).
    Filters,
}

impl Param {
    pub fn name(self) -> &'static str {
        match self {
            Param::Kernel => "kernel",
            Param::Bias => "bias",
            Param::Activation => "activation",
            Param::Filters => "filters",
        }
    }
}

/// A searched layer: a convolution (its index in `ModelSpec::features`) or a
/// dense layer (its index in `ModelSpec::blocks`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum LayerRef {
    Conv(usize),
    Dense(usize),
}

impl LayerRef {
    pub fn name(self, spec: &ModelSpec) -> &str {
        match self {
            LayerRef::Conv(i) => spec.features[i].name(),
            LayerRef::Dense(i) => &spec.blocks[i].name,
        }
    }
}

/// The searchable layers of a spec, convolutions first, with whether each has a
/// bias and a ReLU (the parameters that can be searched besides the kernel).
fn searchable(spec: &ModelSpec) -> Vec<(LayerRef, bool, bool)> {
    let convs = spec.features.iter().enumerate().filter_map(|(i, f)| match f {
        FeatureLayer::Conv(c) => Some((LayerRef::Conv(i), c.has_bias(), c.activation == Activation::Relu)),
        _ => None,
    });
    convs.chain(spec.blocks.iter().enumerate().map(|(i, b)| (LayerRef::Dense(i), true, b.activation == Activation::Relu))).collect()
}

/// One choice the tuner makes: a parameter type of a group of layers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Dimension {
    /// Layers that take this choice together (one layer, or a block).
    pub layers: Vec<LayerRef>,
    pub param: Param,
    /// The quantizers to pick from (empty for [`Param::Filters`]).
    pub candidates: Vec<Quantizer>,
    /// [`Param::Filters`]: the scales of the layers' counts to pick from.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scales: Vec<f64>,
}

impl Dimension {
    pub fn label(&self, spec: &ModelSpec) -> String {
        let names: Vec<&str> = self.layers.iter().map(|l| l.name(spec)).collect();
        format!("{}.{}", names.join("+"), self.param.name())
    }

    /// How many values the tuner picks from.
    pub fn len(&self) -> usize {
        match self.param {
            Param::Filters => self.scales.len(),
            _ => self.candidates.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HyperbandSettings {
    /// Most epochs a configuration is trained for (R).
    pub max_epochs: usize,
    /// Keep the best 1/eta at each rung, train them eta times longer.
    pub eta: usize,
}

impl Default for HyperbandSettings {
    fn default() -> Self {
        HyperbandSettings { max_epochs: 9, eta: 3 }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TpeSettings {
    /// Random trials before the model takes over.
    pub startup_trials: usize,
    /// Fraction of trials counted as good.
    pub gamma: f64,
    /// Samples drawn from the good model per proposal.
    pub candidates: usize,
}

impl Default for TpeSettings {
    fn default() -> Self {
        TpeSettings { startup_trials: 10, gamma: 0.25, candidates: 24 }
    }
}

/// `[search]`: goal, forgiving factor, tuner and budgets of time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchSettings {
    pub goal: Goal,
    pub delta_p: f64,
    pub delta_n: f64,
    pub rate: f64,
    pub stress: f64,
    pub tuner: TunerKind,
    pub max_trials: usize,
    /// Epochs per trial (random and TPE; Hyperband uses its own rungs).
    pub epochs: usize,
    pub seed: u64,
    /// Synthetic samples generated for the search (smaller than training's 200k for speed).
    pub samples: usize,
    pub data_seed: u64,
    pub split_seed: u64,
    /// Return the Pareto front of (accuracy, cost) rather than one best model.
    pub pareto: bool,
    pub hyperband: HyperbandSettings,
    pub tpe: TpeSettings,
    /// AutoQKeras' `tune_filters`: also scale conv filters and hidden dense units.
    pub tune_filters: TuneFilters,
    /// Layers whose counts are not scaled (AutoQKeras' `tune_filters_exceptions`, `re.search` on the name).
    pub tune_filters_exceptions: Option<String>,
    /// The scales to pick from (AutoQKeras' `filter_range`).
    pub filter_range: Vec<f64>,
}

impl Default for SearchSettings {
    fn default() -> Self {
        // AutoQKeras defaults: goal bits, delta_p = delta_n = 8 %, rate 2, stress 1.
        SearchSettings {
            goal: Goal::Bits,
            delta_p: 8.0,
            delta_n: 8.0,
            rate: 2.0,
            stress: 1.0,
            tuner: TunerKind::Random,
            max_trials: 20,
            epochs: 10,
            seed: 1,
            samples: 60_000,
            data_seed: 1,
            split_seed: 42,
            pareto: false,
            hyperband: HyperbandSettings::default(),
            tpe: TpeSettings::default(),
            tune_filters: TuneFilters::None,
            tune_filters_exceptions: None,
            filter_range: filters::default_filter_range(),
        }
    }
}

impl SearchSettings {
    pub fn forgiving_factor(&self) -> ForgivingFactor {
        ForgivingFactor { delta_p: self.delta_p, delta_n: self.delta_n, rate: self.rate, stress: self.stress }
    }
}

/// `[budget]`: hard limits on the estimated firmware; over-budget candidates are not trained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    pub part: String,
    #[serde(default = "default_clock")]
    pub clock_ns: f64,
    #[serde(default = "one")]
    pub reuse_factor: u32,
    #[serde(default = "latency")]
    pub strategy: Strategy,
    pub lut: Option<f64>,
    pub ff: Option<f64>,
    pub dsp: Option<f64>,
    pub bram18: Option<f64>,
    pub latency_cycles: Option<u64>,
}

fn default_clock() -> f64 {
    5.0
}
fn one() -> u32 {
    1
}
fn latency() -> Strategy {
    Strategy::Latency
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCandidates {
    kernel: Option<Vec<String>>,
    bias: Option<Vec<String>>,
    activation: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReference {
    kernel: String,
    bias: String,
    activation: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpace {
    model: Option<PathBuf>,
    reference: Option<RawReference>,
    #[serde(default)]
    search: SearchSettings,
    #[serde(default)]
    candidates: RawCandidates,
    #[serde(default)]
    layers: BTreeMap<String, RawCandidates>,
    #[serde(default)]
    blocks: BTreeMap<String, Vec<String>>,
    budget: Option<Budget>,
}

/// The candidate set of a search from an imported model when no space file is
/// given (`qforge search --model` alone): AutoQKeras' default candidates that
/// qforge supports, as examples/jet_space.toml has them.
pub const DEFAULT_MODEL_SPACE: &str = include_str!("../../examples/model_space.toml");

#[derive(Clone, Debug)]
pub struct SearchSpace {
    pub path: PathBuf,
    /// The model whose quantizers are searched (its architecture and training settings).
    pub base: ModelSpec,
    /// The baseline the score compares against: `base` with the reference quantizers
    /// (from an imported model: its spec as it is).
    pub reference: ModelSpec,
    /// A search from an imported model: the model itself, the reference
    /// evaluated as it is (not retrained) and the weights trials may start from.
    pub reference_model: Option<TrainedModel>,
    pub settings: SearchSettings,
    pub dimensions: Vec<Dimension>,
    pub budget: Option<Budget>,
}

impl SearchSpace {
    pub fn from_file(path: &Path) -> Result<SearchSpace> {
        let text = crate::error::read_to_string(path)?;
        SearchSpace::from_toml(&text, path)
    }

    pub fn from_toml(text: &str, path: &Path) -> Result<SearchSpace> {
        Self::parse(text, path, None)
    }

    /// A search over an imported model (`model_path`, a model.json): its
    /// architecture, its quantizers as the reference, its weights to start
    /// from. `space` gives the candidates (its `model` and `[reference]` are
    /// then ignored); without it, [`DEFAULT_MODEL_SPACE`].
    pub fn for_model(model_path: &Path, space: Option<&Path>) -> Result<SearchSpace> {
        let model = TrainedModel::load(model_path)?;
        match space {
            Some(p) => Self::parse(&crate::error::read_to_string(p)?, p, Some((model, model_path))),
            None => Self::parse(DEFAULT_MODEL_SPACE, Path::new("examples/model_space.toml"), Some((model, model_path))),
        }
    }

    fn parse(text: &str, path: &Path, imported: Option<(TrainedModel, &Path)>) -> Result<SearchSpace> {
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let raw: RawSpace =
            toml::from_str(text).map_err(|e| Error::input_at(path, e.span().map(|s| line_of(s.start)), None, e.message().to_string()))?;
        let bad = |field: &str, msg: String| Error::input_at(path, None, Some(field), msg);
        let (model_path, base, reference_model) = match imported {
            Some((model, p)) => (p.to_path_buf(), model.spec.clone(), Some(model)),
            None => {
                let rel = raw.model.as_ref().ok_or_else(|| {
                    bad("model", "no `model`: name the model spec (TOML) to search, or pass an imported model.json with --model".into())
                })?;
                let model_path = path.parent().unwrap_or(Path::new(".")).join(rel);
                let base = ModelSpec::from_file(&model_path)?;
                (model_path, base, None)
            }
        };
        let parse_list = |list: &[String], field: &str, param: Param| -> Result<Vec<Quantizer>> {
            list.iter()
                .map(|s| {
                    let q = parse_quantizer(s).map_err(|m| bad(field, m))?;
                    check_kind(&q, param).map_err(|m| bad(field, format!("`{s}`: {m}")))?;
                    Ok(q)
                })
                .collect()
        };
        let one = |s: &str, field: &str, param: Param| -> Result<Quantizer> { Ok(parse_list(&[s.to_string()], field, param)?.remove(0)) };
        let mut reference = base.clone();
        match (&raw.reference, &reference_model) {
            (_, Some(_)) => {} // the imported model is the reference, as it is
            (None, None) => return Err(bad("reference", "no [reference]: give its kernel, bias and activation quantizers".into())),
            (Some(r), None) => {
                let ref_k = one(&r.kernel, "reference.kernel", Param::Kernel)?;
                let ref_b = one(&r.bias, "reference.bias", Param::Bias)?;
                let ref_a = one(&r.activation, "reference.activation", Param::Activation)?;
                for b in &mut reference.blocks {
                    b.kernel_quantizer = ref_k.clone();
                    b.bias_quantizer = ref_b.clone();
                    if b.activation == Activation::Relu {
                        b.activation_quantizer = ref_a.clone();
                    }
                }
                for f in &mut reference.features {
                    if let FeatureLayer::Conv(c) = f {
                        c.kernel_quantizer = ref_k.clone();
                        c.bias_quantizer = ref_b.clone();
                        if c.activation == Activation::Relu {
                            c.activation_quantizer = ref_a.clone();
                        }
                    }
                }
                reference.name = format!("{}_reference", base.name);
            }
        }
        let layers = searchable(&base);
        let position = |name: &str| layers.iter().position(|(l, _, _)| l.name(&base) == name);
        for name in raw.layers.keys() {
            if position(name).is_none() {
                return Err(bad(&format!("layers.{name}"), format!("no conv or dense layer `{name}` in {}", model_path.display())));
            }
        }
        // Candidate lists per layer and parameter: the layer's own, else the defaults.
        let mut lists: Vec<[Option<Vec<Quantizer>>; 3]> = Vec::new();
        for &(layer, has_bias, has_relu) in &layers {
            let name = layer.name(&base).to_string();
            let own = raw.layers.get(&name);
            let mut per = [None, None, None];
            for (k, param) in [Param::Kernel, Param::Bias, Param::Activation].into_iter().enumerate() {
                let pick = |c: &RawCandidates| match param {
                    Param::Kernel => c.kernel.clone(),
                    Param::Bias => c.bias.clone(),
                    Param::Activation | Param::Filters => c.activation.clone(),
                };
                let (list, field) = match own.and_then(pick) {
                    Some(l) => (Some(l), format!("layers.{name}.{}", param.name())),
                    None => (pick(&raw.candidates), format!("candidates.{}", param.name())),
                };
                if (param == Param::Activation && !has_relu) || (param == Param::Bias && !has_bias) {
                    continue; // softmax/linear outputs and absent biases are not searched
                }
                match list {
                    None => {}
                    Some(l) if l.is_empty() => {
                        return Err(bad(&field, format!("no candidates for layer `{name}` {}: list at least one quantizer", param.name())))
                    }
                    Some(l) => per[k] = Some(parse_list(&l, &field, param)?),
                }
            }
            if per.iter().all(Option::is_none) {
                return Err(bad(
                    &format!("layers.{name}"),
                    format!("no candidates for layer `{name}`: give kernel/bias/activation candidates in [candidates] or [layers.{name}]"),
                ));
            }
            lists.push(per);
        }
        // Blocks: layers that share one choice.
        let mut group_of: Vec<Option<String>> = vec![None; layers.len()];
        for (group, members) in &raw.blocks {
            if members.is_empty() {
                return Err(bad(&format!("blocks.{group}"), "a block needs at least one layer".into()));
            }
            for m in members {
                let i = position(m).ok_or_else(|| bad(&format!("blocks.{group}"), format!("no conv or dense layer `{m}`")))?;
                if let Some(other) = &group_of[i] {
                    return Err(bad(&format!("blocks.{group}"), format!("layer `{m}` is already in block `{other}`")));
                }
                group_of[i] = Some(group.clone());
            }
        }
        let mut dimensions = Vec::new();
        let mut done = vec![false; layers.len()];
        for i in 0..layers.len() {
            if done[i] {
                continue;
            }
            let members: Vec<usize> = match &group_of[i] {
                Some(g) => (0..layers.len()).filter(|&j| group_of[j].as_deref() == Some(g.as_str())).collect(),
                None => vec![i],
            };
            for &m in &members {
                done[m] = true;
            }
            for (k, param) in [Param::Kernel, Param::Bias, Param::Activation].into_iter().enumerate() {
                // A block's members that have this parameter share the first one's candidates.
                let having: Vec<usize> = members.iter().copied().filter(|&m| lists[m][k].is_some()).collect();
                if let Some(&first) = having.first() {
                    let candidates = lists[first][k].clone().expect("checked");
                    let layers = having.iter().map(|&m| layers[m].0).collect();
                    dimensions.push(Dimension { layers, param, candidates, scales: vec![] });
                }
            }
        }
        let settings = raw.search;
        check_settings(&settings).map_err(|m| bad("search", m))?;
        dimensions.extend(filter_dimensions(&base, &settings).map_err(|(field, m)| bad(field, m))?);
        if let Some(b) = &raw.budget {
            crate::estimate::Target::new(&b.part, b.clock_ns, b.reuse_factor, b.strategy).map_err(|e| bad("budget.part", e.to_string()))?;
        }
        Ok(SearchSpace { path: path.to_path_buf(), base, reference, reference_model, settings, dimensions, budget: raw.budget })
    }

    /// The model spec of a choice (one candidate index per dimension). A type
    /// an hls4ml config stated for a searched parameter (weight, bias,
    /// activation result) gives way to the chosen quantizer's.
    pub fn build_spec(&self, choice: &[usize]) -> ModelSpec {
        let mut spec = self.base.clone();
        for (dim, &c) in self.dimensions.iter().zip(choice) {
            for &l in &dim.layers {
                match (l, dim.param) {
                    (LayerRef::Dense(i), Param::Filters) => {
                        spec.blocks[i].units = filters::scaled(self.base.blocks[i].units, dim.scales[c])
                    }
                    (LayerRef::Dense(i), param) => {
                        let (q, block) = (dim.candidates[c].clone(), &mut spec.blocks[i]);
                        match param {
                            Param::Kernel => (block.kernel_quantizer, block.types.weight) = (q, None),
                            Param::Bias => (block.bias_quantizer, block.types.bias) = (q, None),
                            Param::Activation => (block.activation_quantizer, block.types.activation_result) = (q, None),
                            Param::Filters => unreachable!("matched above"),
                        }
                    }
                    (LayerRef::Conv(i), param) => {
                        let FeatureLayer::Conv(conv) = &mut spec.features[i] else { unreachable!("a LayerRef::Conv names a conv") };
                        match param {
                            Param::Kernel => conv.kernel_quantizer = dim.candidates[c].clone(),
                            Param::Bias => conv.bias_quantizer = dim.candidates[c].clone(),
                            Param::Activation => conv.activation_quantizer = dim.candidates[c].clone(),
                            Param::Filters => conv.filters = filters::scaled(conv.filters, dim.scales[c]),
                        }
                    }
                }
            }
        }
        spec
    }

    /// Number of distinct configurations.
    pub fn size(&self) -> f64 {
        self.dimensions.iter().map(|d| d.len() as f64).product()
    }

    /// Candidate counts per dimension (what the tuners sample over).
    pub fn cardinalities(&self) -> Vec<usize> {
        self.dimensions.iter().map(Dimension::len).collect()
    }
}

/// The `tune_filters` dimensions: one per tuned layer (`layer`) or one for all
/// (`block`). Tuned: every conv and every dense layer but the output one,
/// less those the exceptions pattern finds.
fn filter_dimensions(base: &ModelSpec, s: &SearchSettings) -> std::result::Result<Vec<Dimension>, (&'static str, String)> {
    if s.tune_filters == TuneFilters::None {
        return Ok(vec![]);
    }
    filters::check_range(&s.filter_range).map_err(|m| ("search.filter_range", m))?;
    let except = s.tune_filters_exceptions.as_deref().map(Pattern::new).transpose().map_err(|m| ("search.tune_filters_exceptions", m))?;
    let last = LayerRef::Dense(base.blocks.len().saturating_sub(1));
    let tuned: Vec<LayerRef> = searchable(base)
        .into_iter()
        .map(|(l, _, _)| l)
        .filter(|&l| l != last && !except.as_ref().is_some_and(|p| p.search(l.name(base))))
        .collect();
    if tuned.is_empty() {
        return Err(("search.tune_filters", "no conv or hidden dense layer is left to tune (the output layer is never scaled)".into()));
    }
    let dim = |layers: Vec<LayerRef>| Dimension { layers, param: Param::Filters, candidates: vec![], scales: s.filter_range.clone() };
    Ok(match s.tune_filters {
        TuneFilters::Layer => tuned.into_iter().map(|l| dim(vec![l])).collect(),
        _ => vec![dim(tuned)],
    })
}

fn check_kind(q: &Quantizer, param: Param) -> std::result::Result<(), String> {
    match (param, q) {
        (_, Quantizer::Float) => Err("the search needs quantized candidates (float is not synthesizable as is)".into()),
        (Param::Activation, Quantizer::QuantizedRelu { .. }) => Ok(()),
        (Param::Activation, _) => Err("activation candidates must be quantized_relu(...)".into()),
        (_, Quantizer::QuantizedRelu { .. } | Quantizer::LeakyRelu { .. } | Quantizer::ReluPo2 { .. }) => {
            Err("kernel and bias candidates must be quantized_bits(...) or quantized_po2(...)".into())
        }
        _ => Ok(()),
    }
}

fn check_settings(s: &SearchSettings) -> std::result::Result<(), String> {
    if s.max_trials == 0 || s.epochs == 0 {
        return Err("max_trials and epochs must be at least 1".into());
    }
    if !(s.rate > 1.0) || s.delta_p < 0.0 || s.delta_n < 0.0 || !(s.stress > 0.0) {
        return Err("rate must be above 1, delta_p and delta_n non-negative, stress positive".into());
    }
    if s.hyperband.eta < 2 || s.hyperband.max_epochs == 0 {
        return Err("hyperband needs eta >= 2 and max_epochs >= 1".into());
    }
    if !(s.tpe.gamma > 0.0 && s.tpe.gamma < 1.0) || s.tpe.candidates == 0 {
        return Err("tpe needs 0 < gamma < 1 and candidates >= 1".into());
    }
    if s.samples < 100 {
        return Err("samples must be at least 100".into());
    }
    Ok(())
}
