//! Keras layers (in chain order) with their weights → qforge's dense blocks and
//! layer parameters. A Dense with an activation inside is split as hls4ml
//! splits it; a BatchNormalization right after a linear Dense is folded into
//! it, one after an activation into the inputs of the (float) Dense after it,
//! one before any Dense becomes the input scaler; Dropout is dropped and
//! Flatten/Reshape of 1-D data change nothing. Anything else is refused with
//! the layer's name, its class and what is supported.
use super::h5::{LayerWeights, Tensor};
use super::keras_config::{KerasLayer, KerasModel};
use super::quantizers::{activation_step, weight_quantizer, ActivationStep};
use crate::model::network::quantize_params;
use crate::model::{Activation, DenseBlock, LayerParams, ModelSpec, Scaler, TrainingSpec};
use crate::quant::{FixedType, Quantizer};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

pub const SUPPORTED_LAYERS: &str =
    "InputLayer, Dense, QDense, Activation, QActivation, BatchNormalization, QBatchNormalization, Dropout, Flatten, Reshape (of 1-D data), and on images Conv1D, Conv2D, QConv1D, QConv2D, MaxPooling1D/2D, AveragePooling1D/2D, GlobalAveragePooling1D/2D, GlobalMaxPooling1D/2D";

/// What became of one Keras layer.
#[derive(Clone, Debug, Serialize)]
pub struct LayerMapping {
    pub keras_name: String,
    pub keras_class: String,
    /// e.g. `dense block fc1`, `folded into fc1`, `input scaler`, `ignored (inference)`.
    pub became: String,
}

/// The imported network before the hls4ml config is applied.
#[derive(Clone, Debug)]
pub struct Assembled {
    pub spec: ModelSpec,
    pub layers: Vec<LayerParams>,
    pub scaler: Scaler,
    pub mapping: Vec<LayerMapping>,
    /// Where qforge's semantics differ from Keras's on this model, said once each.
    pub notes: Vec<String>,
    /// Whether a layer set the input type (a QActivation first); otherwise the config or the default does.
    pub input_type_from_model: bool,
    /// The convolutions of `spec.features`, in order.
    pub conv_layers: Vec<LayerParams>,
}

/// An error about one layer: its name and class, then the fault.
pub(super) fn layer_error(l: &KerasLayer, msg: impl std::fmt::Display) -> String {
    format!("layer `{}` ({}): {msg}", l.name, l.class)
}

struct Open {
    block: DenseBlock,
    kernel: Vec<f32>,
    bias: Vec<f32>,
    n_in: usize,
    /// A batch normalization may still fold into it (nothing but the sum so far).
    foldable: bool,
}

/// Keras's snake_case of a class name (`QBatchNormalization` → `q_batch_normalization`).
fn snake_case(class: &str) -> String {
    let chars: Vec<char> = class.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
        let prev = i.checked_sub(1).map(|p| chars[p]);
        if c.is_uppercase() && i > 0 && (next_lower || prev.is_some_and(|p| p.is_lowercase())) {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// Each layer's weights: by layer name, or in the Keras 3 weights layout by
/// object path (`dense`, `dense_1`, `q_dense`: class name and count).
fn weights_by_layer<'a>(model: &KerasModel, weights: &'a BTreeMap<String, LayerWeights>) -> BTreeMap<String, &'a LayerWeights> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for l in &model.layers {
        let base = snake_case(&l.class);
        let k = seen.entry(base.clone()).or_insert(0);
        let object = if *k == 0 { base } else { format!("{base}_{k}") };
        *k += 1;
        if let Some(w) = weights.get(&l.name).or_else(|| weights.get(&object)) {
            out.insert(l.name.clone(), w);
        }
    }
    out
}

pub fn assemble(model: &KerasModel, all_weights: &BTreeMap<String, LayerWeights>) -> Result<Assembled, String> {
    let weights = weights_by_layer(model, all_weights);
    let mut shape = model.input_shape.clone();
    let n_inputs: usize = shape.iter().product();
    let mut scaler = Scaler::identity(n_inputs);
    let mut input_type = FixedType::signed(16, 6);
    let mut input_type_from_model = false;
    let mut blocks: Vec<Open> = Vec::new();
    let mut mapping: Vec<LayerMapping> = Vec::new();
    let mut notes = Vec::new();
    // A batch normalization after an activation, waiting for the Dense it folds into.
    let mut pending: Option<PendingNorm> = None;
    // A shaped input starts with image layers (src/import/image.rs); the dense head follows them.
    let image = if shape.len() > 1 { Some(super::image::assemble_image(model, &weights)?) } else { None };
    let mut start = 0;
    if let Some(img) = &image {
        start = img.next;
        shape = vec![img.head_inputs];
        mapping.clone_from(&img.mapping);
        notes.extend(img.notes.iter().cloned());
        if let Some(t) = img.input_type {
            input_type = t;
            input_type_from_model = true;
        }
    }
    for l in &model.layers[start..] {
        let c = &l.config;
        let became: String = match l.class.as_str() {
            "InputLayer" => "input".into(),
            "Dropout" | "AlphaDropout" | "GaussianDropout" | "GaussianNoise" | "SpatialDropout1D" => {
                "ignored (identity at inference)".into()
            }
            "Flatten" => {
                shape = vec![shape.iter().product()];
                "ignored (1-D data)".into()
            }
            "Reshape" => {
                shape = reshape(&shape, c).map_err(|m| layer_error(l, m))?;
                "ignored (row-major reshape)".into()
            }
            "Dense" | "QDense" => {
                let n_in = match shape.as_slice() {
                    [n] => *n,
                    other => {
                        return Err(layer_error(l, format!("its input has shape {other:?}: a Dense must see 1-D data (add a Flatten)")))
                    }
                };
                let mut open = dense(l, n_in, weights.get(&l.name).copied())?;
                if let Some(p) = pending.take() {
                    if !open.block.kernel_quantizer.is_float() || !open.block.bias_quantizer.is_float() {
                        return Err(layer_error(l, format!("batch normalization `{}` before it can only be folded into a Dense without quantizers (Keras quantizes the kernel before the normalized inputs meet it)", p.name)));
                    }
                    fold_inputs(&mut open, &p.scale, &p.shift);
                    mapping[p.index].became = format!("folded into the inputs of {}", open.block.name);
                    notes.push(format!(
                        "`{}` (after an activation) is folded into the inputs of `{}`; hls4ml keeps it as a layer with its own result type",
                        p.name, open.block.name
                    ));
                }
                let units = open.block.units;
                let name = open.block.name.clone();
                let inline = activation_step(c.get("activation").unwrap_or(&Value::Null)).map_err(|m| layer_error(l, m))?;
                blocks.push(open);
                shape = vec![units];
                let last = blocks.last_mut().expect("just pushed");
                apply_activation(last, &inline).map_err(|m| layer_error(l, m))?;
                if inline == ActivationStep::Linear {
                    format!("dense block {name}")
                } else {
                    format!("dense block {name} (its activation split off, as hls4ml does)")
                }
            }
            "BatchNormalization" | "QBatchNormalization" => {
                if l.class == "QBatchNormalization" {
                    for k in ["beta_quantizer", "gamma_quantizer", "mean_quantizer", "variance_quantizer"] {
                        if c.get(k).is_some_and(|v| !v.is_null()) {
                            return Err(layer_error(
                                l,
                                format!(
                                    "{k} is set: qforge folds batch normalization in float, so QBatchNormalization must have no quantizers"
                                ),
                            ));
                        }
                    }
                }
                let n = *shape.last().unwrap_or(&0);
                if shape.len() != 1 {
                    return Err(layer_error(l, format!("input shape {shape:?}: only batch normalization of 1-D data is supported")));
                }
                let (scale, shift) = batchnorm_scale_shift(l, n, weights.get(&l.name).copied(), 1)?;
                match blocks.last_mut() {
                    Some(open) if open.foldable => {
                        if !open.block.kernel_quantizer.is_float() || !open.block.bias_quantizer.is_float() {
                            notes.push(format!(
                                "`{}` is folded into `{}` before its quantizers (as qforge trains); Keras quantizes the kernel first and scales after, so outputs may differ slightly",
                                l.name, open.block.name
                            ));
                        }
                        fold_into(open, &scale, &shift);
                        open.foldable = false;
                        format!("folded into {}", open.block.name)
                    }
                    Some(_) if pending.is_some() => {
                        return Err(layer_error(l, "two batch normalizations after an activation are not supported"))
                    }
                    Some(_) => {
                        pending = Some(PendingNorm { name: l.name.clone(), index: mapping.len(), scale, shift });
                        "folded into the inputs of the next Dense".into()
                    }
                    None if input_type_from_model => {
                        return Err(layer_error(
                            l,
                            "a batch normalization after the input quantizer is not supported: put it before the QActivation",
                        ))
                    }
                    None => {
                        // x' = (x - m)·s + t = (x - (m - t/s)) / (1/s)
                        for i in 0..n {
                            let s = scale[i];
                            if s == 0.0 || !s.is_finite() {
                                return Err(layer_error(l, format!("scale of channel {i} is {s}: cannot be an input scaler")));
                            }
                            scaler.mean[i] = -shift[i] / s;
                            scaler.std[i] = 1.0 / s;
                        }
                        "input scaler (x - mean) / std".into()
                    }
                }
            }
            "Activation" | "QActivation" | "ReLU" | "Softmax" => {
                if let Some(p) = &pending {
                    return Err(layer_error(l, format!("an activation after batch normalization `{}` is not supported: qforge folds that normalization into the next Dense", p.name)));
                }
                let step = match l.class.as_str() {
                    "ReLU" => relu_layer(l)?,
                    "Softmax" => ActivationStep::Softmax,
                    _ => activation_step(c.get("activation").unwrap_or(&Value::Null)).map_err(|m| layer_error(l, m))?,
                };
                match blocks.last_mut() {
                    Some(open) => {
                        apply_activation(open, &step).map_err(|m| layer_error(l, m))?;
                        format!("activation of {}", open.block.name)
                    }
                    None => match step {
                        ActivationStep::Linear => "ignored (linear)".into(),
                        ActivationStep::Quantize(q @ (Quantizer::LeakyRelu { .. } | Quantizer::ReluPo2 { .. })) => {
                            return Err(layer_error(
                                l,
                                format!(
                                    "{} before the first Dense is not supported (an input quantizer only sets the input type)",
                                    q.spelling()
                                ),
                            ))
                        }
                        ActivationStep::Quantize(q) => {
                            input_type = q.fixed_type(true).expect("a quantizer has a type");
                            input_type_from_model = true;
                            format!("input type {}", input_type.cpp())
                        }
                        _ => {
                            return Err(layer_error(
                                l,
                                "an activation before the first Dense is not supported (only a quantizer, which sets the input type)",
                            ))
                        }
                    },
                }
            }
            other => return Err(layer_error(l, format!("layer class `{other}` is not supported: qforge imports {SUPPORTED_LAYERS}"))),
        };
        mapping.push(LayerMapping { keras_name: l.name.clone(), keras_class: l.class.clone(), became });
    }
    if let Some(p) = pending {
        return Err(format!(
            "batch normalization `{}` after an activation must be followed by a Dense (into whose inputs it is folded)",
            p.name
        ));
    }
    if blocks.is_empty() {
        return Err("the model has no Dense layer".into());
    }
    if shape.len() != 1 {
        return Err(format!("the model's output has shape {shape:?}: only 1-D outputs are supported"));
    }
    if let Some(b) = blocks.iter().rev().skip(1).find(|b| b.block.activation == Activation::Softmax) {
        return Err(format!("softmax is only supported after the last Dense, not after `{}`", b.block.name));
    }
    let n_out = blocks.last().map(|b| b.block.units).unwrap_or(0);
    let mut layers = Vec::new();
    let mut spec_blocks = Vec::new();
    for open in blocks {
        let (kernel_q, bias_q, po2_exponents) = quantize_params(&open.block, &open.kernel, &open.bias, open.n_in);
        layers.push(LayerParams {
            name: open.block.name.clone(),
            n_in: open.n_in,
            n_out: open.block.units,
            kernel: open.kernel,
            bias: open.bias,
            kernel_q,
            bias_q,
            po2_exponents,
        });
        spec_blocks.push(open.block);
    }
    let spec = ModelSpec {
        name: model.name.clone(),
        inputs: n_inputs,
        input_shape: if image.is_some() { model.input_shape.clone() } else { Vec::new() },
        features: image.as_ref().map(|i| i.features.clone()).unwrap_or_default(),
        input_type,
        classes: (0..n_out).map(|c| c.to_string()).collect(),
        blocks: spec_blocks,
        training: TrainingSpec::default(),
        types: Default::default(),
        softmax: Default::default(),
        hls: Default::default(),
    };
    let conv_layers = image.map(|i| i.conv_params).unwrap_or_default();
    Ok(Assembled { spec, layers, scaler, mapping, notes, input_type_from_model, conv_layers })
}

fn reshape(shape: &[usize], c: &Value) -> Result<Vec<usize>, String> {
    let total: usize = shape.iter().product();
    let target = c.get("target_shape").and_then(Value::as_array).ok_or("no `target_shape`")?;
    let dims: Vec<i64> =
        target.iter().map(|d| d.as_i64().ok_or(format!("target_shape {target:?} is not a list of integers"))).collect::<Result<_, _>>()?;
    let known: i64 = dims.iter().filter(|&&d| d != -1).product();
    let out: Vec<usize> = dims
        .iter()
        .map(|&d| if d == -1 && known > 0 { total as i64 / known } else { d })
        .map(|d| usize::try_from(d).map_err(|_| format!("target_shape {dims:?} is invalid")))
        .collect::<Result<_, _>>()?;
    if out.iter().product::<usize>() != total {
        return Err(format!("target_shape {dims:?} does not hold the {total} values of its input"));
    }
    if out.iter().filter(|&&d| d != 1).count() > 1 {
        return Err(format!("target_shape {dims:?} is not 1-D: only reshapes of 1-D data are supported"));
    }
    Ok(vec![total])
}

/// A layer's weight by role: by name (`fc1/kernel:0` → `kernel`) or, in Keras 3 files, by position.
fn weight<'a>(w: &'a LayerWeights, role: &str, position: usize) -> Option<&'a Tensor> {
    let by_name = w.iter().find(|(n, _)| {
        let last = n.rsplit('/').next().unwrap_or(n);
        last.split(':').next() == Some(role)
    });
    match by_name {
        Some((_, t)) => Some(t),
        None if w.iter().all(|(n, _)| n.parse::<usize>().is_ok()) => w.get(position).map(|(_, t)| t),
        None => None,
    }
}

pub(super) fn need<'a>(
    l: &KerasLayer,
    w: Option<&'a LayerWeights>,
    role: &str,
    position: usize,
    shape: &[usize],
) -> Result<&'a Tensor, String> {
    let t = w
        .and_then(|w| weight(w, role, position))
        .ok_or_else(|| layer_error(l, format!("its `{role}` weights are missing from the weights file")))?;
    if t.shape != shape {
        return Err(layer_error(l, format!("`{role}` has shape {:?} in the weights file, the architecture needs {shape:?}", t.shape)));
    }
    if let Some(v) = t.data.iter().find(|v| !v.is_finite()) {
        return Err(layer_error(l, format!("`{role}` holds {v}")));
    }
    Ok(t)
}

fn dense(l: &KerasLayer, n_in: usize, w: Option<&LayerWeights>) -> Result<Open, String> {
    let c = &l.config;
    let units = c.get("units").and_then(Value::as_u64).filter(|&u| u > 0).ok_or_else(|| layer_error(l, "no positive `units`"))? as usize;
    let use_bias = c.get("use_bias").and_then(Value::as_bool).unwrap_or(true);
    let kernel_quantizer = weight_quantizer(c.get("kernel_quantizer")).map_err(|m| layer_error(l, format!("kernel_quantizer: {m}")))?;
    let bias_quantizer = weight_quantizer(c.get("bias_quantizer")).map_err(|m| layer_error(l, format!("bias_quantizer: {m}")))?;
    let kernel = need(l, w, "kernel", 0, &[n_in, units])?.data.clone();
    let bias = if use_bias { need(l, w, "bias", 1, &[units])?.data.clone() } else { vec![0.0; units] };
    let block = DenseBlock {
        name: l.name.clone(),
        units,
        kernel_quantizer,
        bias_quantizer,
        batchnorm: false,
        activation: Activation::Linear,
        activation_quantizer: Quantizer::Float,
        types: Default::default(),
    };
    Ok(Open { block, kernel, bias, n_in, foldable: true })
}

/// A Keras `ReLU` layer: a plain ReLU only (hls4ml and qforge take no clip, slope or threshold).
pub(super) fn relu_layer(l: &KerasLayer) -> Result<ActivationStep, String> {
    let c = &l.config;
    let nonzero = |k: &str| c.get(k).and_then(Value::as_f64).is_some_and(|v| v != 0.0);
    if c.get("max_value").is_some_and(|v| !v.is_null()) || nonzero("negative_slope") || nonzero("threshold") {
        return Err(layer_error(l, "ReLU with max_value, negative_slope or threshold is not supported"));
    }
    Ok(ActivationStep::Relu(Quantizer::Float))
}

fn apply_activation(open: &mut Open, step: &ActivationStep) -> Result<(), String> {
    let b = &mut open.block;
    let plain = b.activation == Activation::Linear && b.activation_quantizer.is_float();
    match step {
        ActivationStep::Linear => return Ok(()),
        ActivationStep::Relu(q) if plain => {
            b.activation = Activation::Relu;
            b.activation_quantizer = q.clone();
        }
        // Dense(activation="relu") then quantized_relu: the ReLU is already there.
        ActivationStep::Relu(q) if b.activation == Activation::Relu && b.activation_quantizer.is_float() => {
            b.activation_quantizer = q.clone()
        }
        ActivationStep::Softmax if plain => b.activation = Activation::Softmax,
        // A leaky ReLU or relu_po2 is the whole activation: it cannot follow a Dense's own relu.
        ActivationStep::Quantize(q @ (Quantizer::LeakyRelu { .. } | Quantizer::ReluPo2 { .. })) if plain => {
            b.activation_quantizer = q.clone()
        }
        ActivationStep::Quantize(q @ (Quantizer::LeakyRelu { .. } | Quantizer::ReluPo2 { .. })) => {
            return Err(format!(
                "{} after `{}` ({:?} with {}) is not supported: it must be the Dense's only activation",
                q.spelling(),
                b.name,
                b.activation,
                b.activation_quantizer.spelling()
            ))
        }
        ActivationStep::Quantize(q) if b.activation_quantizer.is_float() && b.activation != Activation::Softmax => {
            b.activation_quantizer = q.clone()
        }
        _ => {
            return Err(format!(
                "a second activation after `{}` ({:?} with {}) is not supported",
                b.name,
                b.activation,
                b.activation_quantizer.spelling()
            ))
        }
    }
    open.foldable = false;
    Ok(())
}

/// Per-channel scale γ/√(σ²+ε) and shift β − μ·scale of an inference-time batch normalization.
pub(super) fn batchnorm_scale_shift(
    l: &KerasLayer,
    n: usize,
    w: Option<&LayerWeights>,
    last_axis: i64,
) -> Result<(Vec<f32>, Vec<f32>), String> {
    let c = &l.config;
    let axis_ok = match c.get("axis") {
        None | Some(Value::Null) => true,
        Some(Value::Array(a)) => a.len() == 1 && a[0].as_i64().is_some_and(|x| x == -1 || x == last_axis),
        Some(v) => v.as_i64().is_some_and(|x| x == -1 || x == last_axis),
    };
    if !axis_ok {
        return Err(layer_error(l, format!("axis {} is not supported: normalize the last axis", c["axis"])));
    }
    let scale_on = c.get("scale").and_then(Value::as_bool).unwrap_or(true);
    let center_on = c.get("center").and_then(Value::as_bool).unwrap_or(true);
    let eps = c.get("epsilon").and_then(Value::as_f64).unwrap_or(1e-3) as f32;
    let mut pos = 0;
    let mut take = |on: bool, role: &str| -> Result<Option<Vec<f32>>, String> {
        if !on {
            return Ok(None);
        }
        let t = need(l, w, role, pos, &[n])?;
        pos += 1;
        Ok(Some(t.data.clone()))
    };
    let gamma = take(scale_on, "gamma")?.unwrap_or_else(|| vec![1.0; n]);
    let beta = take(center_on, "beta")?.unwrap_or_else(|| vec![0.0; n]);
    let mean = take(true, "moving_mean")?.expect("required");
    let var = take(true, "moving_variance")?.expect("required");
    if let Some(v) = var.iter().find(|v| **v < 0.0) {
        return Err(layer_error(l, format!("moving_variance holds {v} < 0")));
    }
    let scale: Vec<f32> = gamma.iter().zip(&var).map(|(g, v)| g / (v + eps).sqrt()).collect();
    let shift: Vec<f32> = beta.iter().zip(&mean).zip(&scale).map(|((b, m), s)| b - m * s).collect();
    Ok((scale, shift))
}

/// A batch normalization that follows an activation: folded into the next Dense.
struct PendingNorm {
    name: String,
    /// Its entry in the layer mapping.
    index: usize,
    scale: Vec<f32>,
    shift: Vec<f32>,
}

/// W·(x·s + t) + b = (W·diag(s))·x + (W·t + b): a normalization of a Dense's inputs folded into it.
fn fold_inputs(open: &mut Open, scale: &[f32], shift: &[f32]) {
    let n_out = open.block.units;
    for (j, b) in open.bias.iter_mut().enumerate() {
        *b = (f64::from(*b) + (0..open.n_in).map(|i| f64::from(open.kernel[i * n_out + j]) * f64::from(shift[i])).sum::<f64>()) as f32;
    }
    for (k, w) in open.kernel.iter_mut().enumerate() {
        *w *= scale[k / n_out];
    }
}

fn fold_into(open: &mut Open, scale: &[f32], shift: &[f32]) {
    let n_out = open.block.units;
    for (k, w) in open.kernel.iter_mut().enumerate() {
        *w *= scale[k % n_out];
    }
    for ((b, s), t) in open.bias.iter_mut().zip(scale).zip(shift) {
        *b = *b * s + t;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn snake_case_as_keras() {
        assert_eq!(super::snake_case("QBatchNormalization"), "q_batch_normalization");
        assert_eq!(super::snake_case("QDense"), "q_dense");
        assert_eq!(super::snake_case("InputLayer"), "input_layer");
        assert_eq!(super::snake_case("Dense"), "dense");
    }
}
