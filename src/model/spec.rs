//! The model description a user writes (TOML): inputs, layers and the QKeras
//! quantizers of each layer's kernel, bias and activation, plus training
//! settings. Parsing validates everything and names the file, line and field of
//! any fault. Output: a [`ModelSpec`] of dense blocks, with batch normalization
//! marked for folding into the dense layer before it.
//!
//! Imported models (hls4ml compatibility) add, all optional in model.json so
//! every older file loads and means the same:
//! - [`ModelSpec::types`]: [`TypesMode::Qforge`] (default) derives open types
//!   qforge's way (exact accumulators, its table softmax); [`TypesMode::Hls4ml`]
//!   derives them as hls4ml 1.3's `infer_precision` does, including its
//!   fallback to the default precision for power-of-two weights.
//! - [`DenseBlock::types`]: the types an hls4ml config's `Precision` states for
//!   the dense layer (weight, bias, accum, result) and for its activation layer
//!   (`activation_result`); an absent type is derived by the mode above.
//! - [`ModelSpec::softmax`]: the softmax design (qforge's table design, or
//!   hls4ml's stable/latency/legacy/argmax) with hls4ml's table parameters.
//! - [`ModelSpec::hls`]: the config's model-level ReuseFactor and Strategy.
//!
//! Convolutional models (issue 18) add [`ModelSpec::input_shape`]
//! (`inputs = [8, 8, 1]`) and [`ModelSpec::features`], the image layers before
//! the dense head; their parsing and shape inference live in `features`.
//! Both are absent from a dense model's model.json.
use super::features::{self, FeatureLayer, RawSize, Tensor};
use crate::error::{Error, Result};
use crate::quant::parse::parse_quantizer;
use crate::quant::{FixedType, Overflow, Quantizer, Rounding};
use serde::{Deserialize, Serialize};
use std::path::Path;
use toml::Spanned;

/// What follows a dense layer's sum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    Linear,
    Relu,
    Softmax,
}

/// One dense layer with what is folded into it and the activation after it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DenseBlock {
    pub name: String,
    pub units: usize,
    pub kernel_quantizer: Quantizer,
    pub bias_quantizer: Quantizer,
    /// A batch normalization after the dense layer, folded into it for export.
    pub batchnorm: bool,
    pub activation: Activation,
    /// Quantizer of the activation output (`Float` = keep the accumulator type).
    pub activation_quantizer: Quantizer,
    /// Types stated from outside (an hls4ml config); absent ones are derived.
    #[serde(default, skip_serializing_if = "LayerTypes::is_empty")]
    pub types: LayerTypes,
}

/// How the types a model leaves open are derived.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TypesMode {
    /// qforge's own: accumulators that never lose a bit, its table softmax.
    #[default]
    Qforge,
    /// hls4ml 1.3's `infer_precision`: what hls4ml's C simulation computes.
    Hls4ml,
}

/// A layer's types as an hls4ml config's `Precision` states them
/// (`None` = derived by the [`TypesMode`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LayerTypes {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<FixedType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bias: Option<FixedType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accum: Option<FixedType>,
    /// The dense layer's own result, before its activation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<FixedType>,
    /// The result of the activation layer after the dense (relu/linear);
    /// without it the activation quantizer's type is used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activation_result: Option<FixedType>,
    /// hls4ml's `param_t` of a leaky ReLU's slope (its LeakyReLU layer's
    /// `Precision.param`); without it hls4ml mode infers it from the slope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activation_param: Option<FixedType>,
}

impl LayerTypes {
    pub fn is_empty(&self) -> bool {
        *self == LayerTypes::default()
    }
    /// Every stated type with its field name (for validation and reports).
    pub fn stated(&self) -> impl Iterator<Item = (&'static str, FixedType)> {
        [
            ("weight", self.weight),
            ("bias", self.bias),
            ("accum", self.accum),
            ("result", self.result),
            ("activation_result", self.activation_result),
            ("activation_param", self.activation_param),
        ]
        .into_iter()
        .filter_map(|(n, t)| t.map(|t| (n, t)))
    }
}

/// Which softmax the firmware computes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SoftmaxImplementation {
    /// qforge's table design (`model::softmax`): its own types and tables.
    #[default]
    Qforge,
    /// hls4ml's `softmax_stable` (its default): max-normalised inputs.
    Stable,
    /// hls4ml's `softmax_latency`.
    Latency,
    /// hls4ml's `softmax_legacy`.
    Legacy,
    /// hls4ml's `softmax_argmax`: one-hot of the largest input.
    Argmax,
}

impl SoftmaxImplementation {
    /// The name hls4ml's `Implementation` option and `nnet::softmax_implementation` use.
    pub fn hls4ml_name(self) -> Option<&'static str> {
        match self {
            SoftmaxImplementation::Qforge => None,
            SoftmaxImplementation::Stable => Some("stable"),
            SoftmaxImplementation::Latency => Some("latency"),
            SoftmaxImplementation::Legacy => Some("legacy"),
            SoftmaxImplementation::Argmax => Some("argmax"),
        }
    }
}

/// The softmax layer's configuration, as hls4ml's softmax layer takes it.
/// Absent types take hls4ml's defaults (tables `ap_fixed<18,8,AP_RND,AP_SAT>`,
/// 1024 entries, result `ap_fixed<16,6>`); the qforge design ignores them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SoftmaxConfig {
    pub implementation: SoftmaxImplementation,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_size: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp_table_t: Option<FixedType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inv_table_t: Option<FixedType>,
    /// The softmax layer's result type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<FixedType>,
}

impl SoftmaxConfig {
    pub fn is_default(&self) -> bool {
        *self == SoftmaxConfig::default()
    }
}

/// Training settings (all optional in the file).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainingSpec {
    pub learning_rate: f32,
    pub batch_size: usize,
    pub epochs: usize,
    pub patience: usize,
    pub l1: f32,
    pub l2: f32,
    pub seed: u64,
}

impl Default for TrainingSpec {
    fn default() -> Self {
        TrainingSpec { learning_rate: 0.003, batch_size: 1024, epochs: 30, patience: 3, l1: 1e-4, l2: 0.0, seed: 42 }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    pub name: String,
    /// The flat input count: `H·W·C` for an image model, so the data plumbing stays flat.
    pub inputs: usize,
    /// An image model's input shape, channels last: `[h, w, c]` (2D) or `[steps, c]` (1D); empty for a flat input.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub input_shape: Vec<usize>,
    /// The feature layers before the dense head, in order (empty for a dense model).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<FeatureLayer>,
    pub input_type: FixedType,
    pub classes: Vec<String>,
    pub blocks: Vec<DenseBlock>,
    pub training: TrainingSpec,
    /// How open types are derived (absent in older files: qforge's way).
    #[serde(default, skip_serializing_if = "is_qforge_mode")]
    pub types: TypesMode,
    /// The softmax of the last layer, when it ends in one.
    #[serde(default, skip_serializing_if = "SoftmaxConfig::is_default")]
    pub softmax: SoftmaxConfig,
    /// The hls4ml config's model-level ReuseFactor and Strategy (`qforge hls` defaults).
    #[serde(default, skip_serializing_if = "HlsSettings::is_empty")]
    pub hls: HlsSettings,
}

/// Firmware settings an hls4ml config states for the whole model: what
/// `qforge hls` uses when its `--reuse`/`--strategy` are not given.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HlsSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reuse_factor: Option<u32>,
    /// `latency` or `resource`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
}

impl HlsSettings {
    pub fn is_empty(&self) -> bool {
        *self == HlsSettings::default()
    }
}

fn is_qforge_mode(m: &TypesMode) -> bool {
    *m == TypesMode::Qforge
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    name: Option<String>,
    inputs: Spanned<RawSize>,
    input_type: Option<Spanned<String>>,
    classes: Option<Vec<String>>,
    layers: Vec<RawLayer>,
    #[serde(default)]
    training: TrainingSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLayer {
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    pub name: Option<String>,
    pub units: Option<Spanned<i64>>,
    pub kernel_quantizer: Option<Spanned<String>>,
    pub bias_quantizer: Option<Spanned<String>>,
    pub activation: Option<Spanned<String>>,
    pub quantizer: Option<Spanned<String>>,
    // Feature layers (see `features::parse_layer`).
    pub filters: Option<Spanned<i64>>,
    pub kernel_size: Option<Spanned<RawSize>>,
    pub strides: Option<Spanned<RawSize>>,
    pub pool_size: Option<Spanned<RawSize>>,
    pub padding: Option<Spanned<String>>,
    pub use_bias: Option<Spanned<bool>>,
}

impl ModelSpec {
    pub fn from_file(path: &Path) -> Result<ModelSpec> {
        let text = crate::error::read_to_string(path)?;
        Self::from_toml(&text, path)
    }

    pub fn from_toml(text: &str, path: &Path) -> Result<ModelSpec> {
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let raw: RawSpec = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(s.start));
            Error::input_at(path, line, None, e.message().to_string())
        })?;
        let fail =
            |span: std::ops::Range<usize>, field: &str, msg: String| Error::input_at(path, Some(line_of(span.start)), Some(field), msg);
        let max_units = super::validate::MAX_UNITS as i64;
        let inputs_fault = |m: String| fail(raw.inputs.span(), "inputs", m);
        let (inputs, input_shape) = match raw.inputs.get_ref() {
            RawSize::One(n) => (*n, Vec::new()),
            RawSize::Many(dims) => {
                if !(2..=3).contains(&dims.len()) || dims.iter().any(|&d| d < 1) {
                    return Err(inputs_fault(format!(
                        "input shape {dims:?}: give [height, width, channels] (2D), [steps, channels] (1D) or a number, every side at least 1"
                    )));
                }
                let n = dims.iter().try_fold(1i64, |a, &d| a.checked_mul(d)).unwrap_or(i64::MAX);
                (n, dims.iter().map(|&d| d as usize).collect())
            }
        };
        if !(1..=max_units).contains(&inputs) {
            return Err(inputs_fault(format!("the number of inputs (all sides multiplied) must be between 1 and {max_units}")));
        }
        let mut tensor = Tensor::input(&input_shape, inputs as usize).map_err(&inputs_fault)?;
        let mut features: Vec<FeatureLayer> = Vec::new();
        // The last layer parsed was a convolution (so a batchnorm or activation folds into it).
        let mut after_conv = false;
        let input_type = match &raw.input_type {
            None => FixedType::signed(16, 6),
            Some(s) => parse_fixed_type(s.get_ref()).map_err(|m| fail(s.span(), "input_type", m))?,
        };
        let quantizer = |s: &Option<Spanned<String>>, field: &str| -> Result<Quantizer> {
            match s {
                None => Ok(Quantizer::Float),
                Some(s) => parse_quantizer(s.get_ref()).map_err(|m| fail(s.span(), field, m)),
            }
        };
        let mut blocks: Vec<DenseBlock> = Vec::new();
        for (i, layer) in raw.layers.iter().enumerate() {
            let field = |f: &str| format!("layers[{i}].{f}");
            let kind = layer.kind.get_ref().as_str();
            if features::FEATURE_KINDS.contains(&kind) {
                if !blocks.is_empty() {
                    return Err(fail(
                        layer.kind.span(),
                        &field("type"),
                        format!("{kind} after a dense layer: feature layers come before the dense head"),
                    ));
                }
                let f = features::parse_layer(layer, format!("{kind}_{}", features.len() + 1))
                    .map_err(|a| fail(a.span, &field(a.field), a.message))?;
                tensor = features::step(tensor, &f).map_err(|(f_name, m)| {
                    let span = match f_name {
                        "kernel_size" => layer.kernel_size.as_ref().map(|s| s.span()),
                        "strides" => layer.strides.as_ref().map(|s| s.span()),
                        "pool_size" => layer.pool_size.as_ref().map(|s| s.span()),
                        "filters" => layer.filters.as_ref().map(|s| s.span()),
                        _ => None,
                    };
                    fail(span.unwrap_or(layer.kind.span()), &field(f_name), m)
                })?;
                after_conv = matches!(f, FeatureLayer::Conv(_));
                features.push(f);
                continue;
            }
            if after_conv && matches!(kind, "batchnorm" | "batch_normalization" | "activation") {
                let Some(FeatureLayer::Conv(conv)) = features.last_mut() else { unreachable!("after_conv follows a conv") };
                if kind == "activation" {
                    let a = layer
                        .activation
                        .as_ref()
                        .ok_or_else(|| fail(layer.kind.span(), &field("activation"), "an activation layer needs `activation`".into()))?;
                    if conv.activation != Activation::Linear || !conv.activation_quantizer.is_float() {
                        return Err(fail(layer.kind.span(), &field("type"), format!("`{}` already has an activation", conv.name)));
                    }
                    conv.activation =
                        features::parse_feature_activation(a.get_ref()).map_err(|m| fail(a.span(), &field("activation"), m))?;
                    conv.activation_quantizer = quantizer(&layer.quantizer, &field("quantizer"))?;
                } else {
                    if conv.batchnorm || conv.activation != Activation::Linear {
                        return Err(fail(
                            layer.kind.span(),
                            &field("type"),
                            "batchnorm must directly follow a convolution without activation (it is folded into it)".into(),
                        ));
                    }
                    conv.batchnorm = true;
                }
                continue;
            }
            if kind == "dense" && blocks.is_empty() {
                // The feature layers must end flat before the head.
                if let Tensor::Map { .. } = tensor {
                    let f = features::infer(&input_shape, inputs as usize, &features).err();
                    let m = f.map(|f| f.message).unwrap_or_default();
                    return Err(fail(layer.kind.span(), &field("type"), m));
                }
            }
            after_conv = false;
            match kind {
                "dense" => {
                    let units = layer
                        .units
                        .as_ref()
                        .ok_or_else(|| fail(layer.kind.span(), &field("units"), "a dense layer needs `units`".into()))?;
                    if !(1..=max_units).contains(units.get_ref()) {
                        return Err(fail(units.span(), &field("units"), format!("units must be between 1 and {max_units}")));
                    }
                    let mut block = DenseBlock {
                        name: layer.name.clone().unwrap_or_else(|| format!("dense_{}", blocks.len() + 1)),
                        units: *units.get_ref() as usize,
                        kernel_quantizer: quantizer(&layer.kernel_quantizer, &field("kernel_quantizer"))?,
                        bias_quantizer: quantizer(&layer.bias_quantizer, &field("bias_quantizer"))?,
                        batchnorm: false,
                        activation: Activation::Linear,
                        activation_quantizer: Quantizer::Float,
                        types: LayerTypes::default(),
                    };
                    if let Some(a) = &layer.activation {
                        block.activation = parse_activation(a.get_ref()).map_err(|m| fail(a.span(), &field("activation"), m))?;
                        block.activation_quantizer = quantizer(&layer.quantizer, &field("quantizer"))?;
                    }
                    blocks.push(block);
                }
                "batchnorm" | "batch_normalization" => {
                    let prev = blocks.last_mut().filter(|b| !b.batchnorm && b.activation == Activation::Linear);
                    let prev = prev.ok_or_else(|| {
                        fail(
                            layer.kind.span(),
                            &field("type"),
                            "batchnorm must directly follow a dense layer (it is folded into it)".into(),
                        )
                    })?;
                    prev.batchnorm = true;
                }
                "activation" => {
                    let a = layer
                        .activation
                        .as_ref()
                        .ok_or_else(|| fail(layer.kind.span(), &field("activation"), "an activation layer needs `activation`".into()))?;
                    let act = parse_activation(a.get_ref()).map_err(|m| fail(a.span(), &field("activation"), m))?;
                    let q = quantizer(&layer.quantizer, &field("quantizer"))?;
                    let prev = blocks.last_mut().filter(|b| b.activation == Activation::Linear && b.activation_quantizer.is_float());
                    let prev = prev.ok_or_else(|| {
                        fail(layer.kind.span(), &field("type"), "an activation must follow a dense (or batchnorm) layer".into())
                    })?;
                    prev.activation = act;
                    prev.activation_quantizer = q;
                }
                other => {
                    return Err(fail(
                        layer.kind.span(),
                        &field("type"),
                        format!("unknown layer type `{other}`: use dense, batchnorm, activation or {}", features::FEATURE_KINDS.join(", ")),
                    ))
                }
            }
        }
        if blocks.is_empty() {
            return Err(Error::input_at(path, None, Some("layers"), "the model has no dense layer"));
        }
        for (i, b) in blocks.iter().enumerate() {
            if b.activation == Activation::Softmax && i + 1 != blocks.len() {
                return Err(Error::input_at(
                    path,
                    None,
                    Some("layers"),
                    format!("softmax is only supported after the last dense layer, not after `{}`", b.name),
                ));
            }
        }
        let n_out = blocks.last().map(|b| b.units).unwrap_or(0);
        let classes = raw.classes.unwrap_or_else(|| (0..n_out).map(|c| c.to_string()).collect());
        if classes.len() != n_out {
            return Err(Error::input_at(path, None, Some("classes"), format!("{} class names for {} outputs", classes.len(), n_out)));
        }
        let t = &raw.training;
        if !(t.learning_rate > 0.0) || t.batch_size == 0 || t.epochs == 0 || t.l1 < 0.0 || t.l2 < 0.0 {
            return Err(Error::input_at(
                path,
                None,
                Some("training"),
                "learning_rate, batch_size and epochs must be positive, l1/l2 non-negative",
            ));
        }
        let spec = ModelSpec {
            name: raw.name.unwrap_or_else(|| "model".into()),
            inputs: inputs as usize,
            input_shape,
            features,
            input_type,
            classes,
            blocks,
            training: raw.training,
            types: TypesMode::Qforge,
            softmax: SoftmaxConfig::default(),
            hls: HlsSettings::default(),
        };
        // The checks above carry line numbers; this one covers every value, as model.json's load does.
        super::validate::validate_spec(&spec).map_err(|f| Error::input_at(path, None, Some(&f.field), f.message))?;
        Ok(spec)
    }

    pub fn n_outputs(&self) -> usize {
        self.blocks.last().map(|b| b.units).unwrap_or(0)
    }

    /// Whether the model has image layers before its dense head.
    pub fn has_features(&self) -> bool {
        !self.features.is_empty()
    }

    /// Every feature layer's output shape and the dense head's flat input
    /// count (for a valid spec; a dense model's head takes `inputs`).
    pub fn feature_shapes(&self) -> std::result::Result<features::Shapes, features::ShapeFault> {
        features::infer(&self.input_shape, self.inputs, &self.features)
    }

    /// The dense head's input count: the flattened feature output, or `inputs`.
    pub fn head_inputs(&self) -> usize {
        self.feature_shapes().map(|s| s.head_inputs).unwrap_or(self.inputs)
    }

    /// Inputs of each dense block: the head's inputs, then the previous block's units.
    pub fn block_inputs(&self) -> Vec<usize> {
        std::iter::once(self.head_inputs()).chain(self.blocks.iter().map(|b| b.units)).take(self.blocks.len()).collect()
    }

    /// Each feature layer's input (the model input, then the previous layer's output).
    pub fn feature_inputs(&self) -> Vec<Tensor> {
        match (self.feature_shapes(), Tensor::input(&self.input_shape, self.inputs)) {
            (Ok(shapes), Ok(input)) => std::iter::once(input).chain(shapes.outputs).take(self.features.len()).collect(),
            _ => vec![],
        }
    }

    /// Each convolution's patch length `kh·kw·in_channels` and filter count:
    /// the shape of its kernel as a dense layer (`n_in`, `n_out`).
    pub fn conv_kernel_shapes(&self) -> Vec<(usize, usize)> {
        self.features
            .iter()
            .zip(self.feature_inputs())
            .filter_map(|(layer, input)| match (layer, input) {
                (features::FeatureLayer::Conv(c), Tensor::Map { shape, .. }) => {
                    Some((c.kernel_size.0 * c.kernel_size.1 * shape.channels, c.filters))
                }
                _ => None,
            })
            .collect()
    }

    /// Multiply-accumulates per inference: the convolutions' and the dense layers'.
    pub fn macs(&self) -> usize {
        let conv = match (self.feature_shapes(), Tensor::input(&self.input_shape, self.inputs)) {
            (Ok(shapes), Ok(input)) => features::conv_macs(&self.features, &shapes, input),
            _ => 0,
        };
        conv + self.block_inputs().iter().zip(&self.blocks).map(|(n, b)| n * b.units).sum::<usize>()
    }
}

fn parse_activation(s: &str) -> std::result::Result<Activation, String> {
    match s {
        "relu" => Ok(Activation::Relu),
        "linear" => Ok(Activation::Linear),
        "softmax" => Ok(Activation::Softmax),
        other => Err(format!("unknown activation `{other}`: use relu, linear or softmax")),
    }
}

/// Parse `ap_fixed<W,I>`, `ap_ufixed<W,I,AP_RND,AP_SAT>`, or hls4ml's `fixed<16,6>`.
pub fn parse_fixed_type(s: &str) -> std::result::Result<FixedType, String> {
    let s = s.trim().replace(' ', "");
    let (signed, rest) = if let Some(r) = s.strip_prefix("ap_fixed<").or_else(|| s.strip_prefix("fixed<")) {
        (true, r)
    } else if let Some(r) = s.strip_prefix("ap_ufixed<").or_else(|| s.strip_prefix("ufixed<")) {
        (false, r)
    } else {
        return Err(format!("`{s}` is not a fixed-point type: write e.g. ap_fixed<16,6>"));
    };
    let inner = rest.strip_suffix('>').ok_or_else(|| format!("`{s}`: missing `>`"))?;
    let parts: Vec<&str> = inner.split(',').collect();
    if parts.len() < 2 || parts.len() > 4 {
        return Err(format!("`{s}`: expected <width,integer[,rounding[,overflow]]>"));
    }
    let width: u32 = parts[0].parse().map_err(|_| format!("`{s}`: width `{}` is not a number", parts[0]))?;
    let integer: i32 = parts[1].parse().map_err(|_| format!("`{s}`: integer bits `{}` is not a number", parts[1]))?;
    // Raw values are i64: an unsigned type has one bit less.
    let max = crate::quant::fixed::MAX_WIDTH - !signed as u32;
    if width == 0 || width > max {
        return Err(format!("`{s}`: width must be between 1 and {max}"));
    }
    let rounding = match parts.get(2) {
        None => Rounding::Trn,
        Some(r) => *Rounding::ALL.iter().find(|m| m.cpp_name() == *r).ok_or_else(|| format!("`{s}`: unknown rounding mode `{r}`"))?,
    };
    let overflow = match parts.get(3) {
        None => Overflow::Wrap,
        Some(o) => *Overflow::ALL.iter().find(|m| m.cpp_name() == *o).ok_or_else(|| format!("`{s}`: unknown overflow mode `{o}`"))?,
    };
    Ok(FixedType::new(width, integer, signed).with_modes(rounding, overflow))
}

#[cfg(test)]
#[path = "spec_tests.rs"]
mod tests;
