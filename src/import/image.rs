//! The image layers at the front of an imported model: Conv1D/Conv2D and their
//! QKeras forms (an activation inside split off as hls4ml splits it, a
//! BatchNormalization right after folded into them), window and global
//! pooling, and the Flatten or global pooling that ends them, into qforge's
//! feature layers and their convolution parameters. Owns only that mapping;
//! the dense head after it is `assemble`'s.
use super::assemble::{batchnorm_scale_shift, layer_error, need, relu_layer, LayerMapping};
use super::h5::LayerWeights;
use super::keras_config::{KerasLayer, KerasModel};
use super::quantizers::{activation_step, weight_quantizer, ActivationStep};
use crate::model::conv::Padding;
use crate::model::features::{step, ConvLayer, FeatureLayer, GlobalPoolLayer, PoolLayer, Tensor};
use crate::model::network::quantize_params;
use crate::model::pool::PoolOp;
use crate::model::{Activation, LayerParams};
use crate::quant::{FixedType, Quantizer};
use serde_json::Value;
use std::collections::BTreeMap;

pub const IMAGE_LAYERS: &str =
    "Conv1D, Conv2D, QConv1D, QConv2D, MaxPooling1D/2D, AveragePooling1D/2D, GlobalAveragePooling1D/2D, GlobalMaxPooling1D/2D, Flatten";

/// The feature layers and what follows them.
pub struct ImageStack {
    pub features: Vec<FeatureLayer>,
    pub conv_params: Vec<LayerParams>,
    pub mapping: Vec<LayerMapping>,
    pub notes: Vec<String>,
    /// Set by a QActivation before the first image layer.
    pub input_type: Option<FixedType>,
    /// The Keras layer the dense head starts at.
    pub next: usize,
    pub head_inputs: usize,
}

struct OpenConv {
    layer: ConvLayer,
    kernel: Vec<f32>,
    bias: Vec<f32>,
    n_in: usize,
    /// Nothing after the sum yet: a batch normalization may fold in.
    foldable: bool,
}

/// Map the image layers of `model` (whose input is a 2-D or 3-D shape) up to
/// and including the Flatten or global pooling that ends them.
pub fn assemble_image(model: &KerasModel, weights: &BTreeMap<String, &LayerWeights>) -> Result<ImageStack, String> {
    let mut cur = Tensor::input(&model.input_shape, model.input_shape.iter().product()).map_err(|m| format!("the model input: {m}"))?;
    let mut out = ImageStack {
        features: vec![],
        conv_params: vec![],
        mapping: vec![],
        notes: vec![],
        input_type: None,
        next: model.layers.len(),
        head_inputs: 0,
    };
    let mut open: Option<OpenConv> = None;
    for (i, l) in model.layers.iter().enumerate() {
        let c = &l.config;
        let feature: Option<FeatureLayer> = match l.class.as_str() {
            "InputLayer" => {
                out.mapping.push(mapping(l, "input"));
                continue;
            }
            "Dropout" | "SpatialDropout1D" | "SpatialDropout2D" | "GaussianDropout" | "GaussianNoise" => {
                out.mapping.push(mapping(l, "ignored (identity at inference)"));
                continue;
            }
            "Conv1D" | "Conv2D" | "QConv1D" | "QConv2D" => {
                let layer_rank = if l.class.ends_with("1D") { 1 } else { 2 };
                let shape = match cur {
                    Tensor::Map { shape, .. } => shape,
                    Tensor::Flat(_) => unreachable!("the stack ends at the first flat tensor"),
                };
                let conv = conv(l, layer_rank, shape.channels, weights.get(&l.name).copied())?;
                if let Some(prev) = open.take() {
                    finish(prev, &mut out);
                }
                let f = FeatureLayer::Conv(conv.layer.clone());
                open = Some(conv);
                Some(f)
            }
            "MaxPooling1D" | "MaxPooling2D" | "AveragePooling1D" | "AveragePooling2D" => {
                check_channels_last(l)?;
                let layer_rank = if l.class.ends_with("1D") { 1 } else { 2 };
                let op = if l.class.starts_with("Max") { PoolOp::Max } else { PoolOp::Average };
                let pool_size = pair(l, "pool_size", layer_rank)?.ok_or_else(|| layer_error(l, "no `pool_size`"))?;
                let strides = pair(l, "strides", layer_rank)?.unwrap_or(pool_size);
                let padding = padding(l)?;
                Some(FeatureLayer::Pool(PoolLayer {
                    name: l.name.clone(),
                    rank: layer_rank,
                    op,
                    pool_size,
                    strides,
                    padding,
                    types: Default::default(),
                }))
            }
            "GlobalAveragePooling1D" | "GlobalAveragePooling2D" | "GlobalMaxPooling1D" | "GlobalMaxPooling2D" => {
                check_channels_last(l)?;
                if c.get("keepdims").and_then(Value::as_bool) == Some(true) {
                    return Err(layer_error(l, "keepdims=True is not supported (the global pooling must end the image layers)"));
                }
                let layer_rank = if l.class.ends_with("1D") { 1 } else { 2 };
                let op = if l.class.starts_with("GlobalMax") { PoolOp::Max } else { PoolOp::Average };
                Some(FeatureLayer::GlobalPool(GlobalPoolLayer { name: l.name.clone(), rank: layer_rank, op, types: Default::default() }))
            }
            "Flatten" => {
                check_channels_last(l)?;
                Some(FeatureLayer::Flatten { name: l.name.clone() })
            }
            "BatchNormalization" | "QBatchNormalization" => {
                let Some(conv) = open.as_mut().filter(|o| o.foldable && out.features.last().is_some_and(|f| f.name() == o.layer.name))
                else {
                    return Err(layer_error(
                        l,
                        "a batch normalization of an image is only supported right after a convolution (folded into it)",
                    ));
                };
                fold_batchnorm(l, conv, weights.get(&l.name).copied(), model.input_shape.len() as i64, &mut out.notes)?;
                out.mapping.push(mapping(l, &format!("folded into {}", conv.layer.name)));
                continue;
            }
            "Activation" | "QActivation" | "ReLU" => {
                let step = if l.class == "ReLU" {
                    relu_layer(l)?
                } else {
                    activation_step(c.get("activation").unwrap_or(&Value::Null)).map_err(|m| layer_error(l, m))?
                };
                let last_is_conv = matches!(out.features.last(), Some(FeatureLayer::Conv(_)));
                match open.as_mut().filter(|_| last_is_conv) {
                    Some(conv) => {
                        apply_activation(&mut conv.layer, &step).map_err(|m| layer_error(l, m))?;
                        conv.foldable = false;
                        if let Some(FeatureLayer::Conv(f)) = out.features.last_mut() {
                            *f = conv.layer.clone();
                        }
                        out.mapping.push(mapping(l, &format!("activation of {}", conv.layer.name)));
                    }
                    None if out.features.is_empty() && out.input_type.is_none() => {
                        match step {
                            ActivationStep::Quantize(q @ Quantizer::QuantizedBits { .. })
                            | ActivationStep::Relu(q @ Quantizer::QuantizedRelu { .. }) => {
                                let t = q.fixed_type(true).expect("a quantizer has a type");
                                out.mapping.push(mapping(l, &format!("input type {}", t.cpp())));
                                out.input_type = Some(t);
                            }
                            ActivationStep::Linear => out.mapping.push(mapping(l, "ignored (linear)")),
                            _ => return Err(layer_error(
                                l,
                                "an activation before the first image layer is not supported (only a quantizer, which sets the input type)",
                            )),
                        }
                    }
                    None => {
                        return Err(layer_error(
                            l,
                            "an activation is only supported right after a convolution (or its batch normalization), not after pooling",
                        ))
                    }
                }
                continue;
            }
            "Dense" | "QDense" => {
                return Err(layer_error(l, format!("its input is the map {}: a Dense must see 1-D data (add a Flatten)", cur.describe())))
            }
            "Reshape" => return Err(layer_error(l, "a Reshape of an image is not supported: use Flatten")),
            other => {
                return Err(layer_error(l, format!("layer class `{other}` is not supported on images: qforge imports {IMAGE_LAYERS}")))
            }
        };
        let feature = feature.expect("every other class continued");
        let next = step(cur, &feature).map_err(|(field, m)| layer_error(l, format!("{field}: {m}")))?;
        if let Some(o) = open.as_mut().filter(|o| o.layer.name != feature.name()) {
            o.foldable = false;
        }
        if !matches!(feature, FeatureLayer::Conv(_)) {
            if let Some(prev) = open.take() {
                finish(prev, &mut out);
            }
        }
        out.mapping.push(mapping(l, &format!("{} layer {}", feature.kind(), feature.name())));
        out.features.push(feature);
        cur = next;
        if let Tensor::Flat(n) = cur {
            out.head_inputs = n;
            out.next = i + 1;
            return Ok(out);
        }
    }
    Err(format!("the image layers end in the map {} without a Flatten or global pooling, and no Dense follows", cur.describe()))
}

fn mapping(l: &KerasLayer, became: &str) -> LayerMapping {
    LayerMapping { keras_name: l.name.clone(), keras_class: l.class.clone(), became: became.into() }
}

/// A closed convolution: its quantized parameters, and its final spec (folded batch normalization, activation).
fn finish(conv: OpenConv, out: &mut ImageStack) {
    let block = conv.layer.as_block();
    let (kernel_q, bias_q, po2_exponents) = quantize_params(&block, &conv.kernel, &conv.bias, conv.n_in);
    if let Some(FeatureLayer::Conv(f)) = out.features.iter_mut().find(|f| f.name() == conv.layer.name) {
        *f = conv.layer.clone();
    }
    out.conv_params.push(LayerParams {
        name: conv.layer.name.clone(),
        n_in: conv.n_in,
        n_out: conv.layer.filters,
        kernel: conv.kernel,
        bias: conv.bias,
        kernel_q,
        bias_q,
        po2_exponents,
    });
}

fn check_channels_last(l: &KerasLayer) -> Result<(), String> {
    match l.config.get("data_format").and_then(Value::as_str) {
        None | Some("channels_last") => Ok(()),
        Some(other) => Err(layer_error(l, format!("data_format `{other}` is not supported: qforge takes channels_last images"))),
    }
}

/// `kernel_size`, `strides` or `pool_size` as `(height, width)`; 1-D layers have height 1.
fn pair(l: &KerasLayer, key: &str, rank: u8) -> Result<Option<(usize, usize)>, String> {
    let v = match l.config.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => v,
    };
    let nums: Vec<usize> = match v {
        Value::Array(a) => a.iter().map(|x| x.as_u64().map(|n| n as usize)).collect::<Option<_>>(),
        x => x.as_u64().map(|n| vec![n as usize; rank as usize]),
    }
    .ok_or_else(|| layer_error(l, format!("`{key}` {v} is not a list of sizes")))?;
    match (rank, nums.as_slice()) {
        (1, [w]) => Ok(Some((1, *w))),
        (2, [h, w]) => Ok(Some((*h, *w))),
        _ => Err(layer_error(l, format!("`{key}` {v} does not fit a {rank}-D layer"))),
    }
}

fn padding(l: &KerasLayer) -> Result<Padding, String> {
    match l.config.get("padding").and_then(Value::as_str).unwrap_or("valid") {
        "valid" => Ok(Padding::Valid),
        "same" => Ok(Padding::Same),
        other => Err(layer_error(l, format!("padding `{other}` is not supported: use valid or same"))),
    }
}

fn conv(l: &KerasLayer, rank: u8, channels: usize, w: Option<&LayerWeights>) -> Result<OpenConv, String> {
    let c = &l.config;
    check_channels_last(l)?;
    if let Some(d) = c.get("dilation_rate") {
        let ones = match d {
            Value::Array(a) => a.iter().all(|x| x.as_u64() == Some(1)),
            x => x.as_u64() == Some(1),
        };
        if !ones {
            return Err(layer_error(l, format!("dilation_rate {d} is not supported: only 1")));
        }
    }
    if c.get("groups").and_then(Value::as_u64).is_some_and(|g| g != 1) {
        return Err(layer_error(l, format!("groups {} is not supported: only 1", c["groups"])));
    }
    let filters =
        c.get("filters").and_then(Value::as_u64).filter(|&f| f > 0).ok_or_else(|| layer_error(l, "no positive `filters`"))? as usize;
    let kernel_size = pair(l, "kernel_size", rank)?.ok_or_else(|| layer_error(l, "no `kernel_size`"))?;
    let strides = pair(l, "strides", rank)?.unwrap_or((1, 1));
    let use_bias = c.get("use_bias").and_then(Value::as_bool).unwrap_or(true);
    let kernel_quantizer = weight_quantizer(c.get("kernel_quantizer")).map_err(|m| layer_error(l, format!("kernel_quantizer: {m}")))?;
    let bias_quantizer = weight_quantizer(c.get("bias_quantizer")).map_err(|m| layer_error(l, format!("bias_quantizer: {m}")))?;
    let n_in = kernel_size.0 * kernel_size.1 * channels;
    let kshape: Vec<usize> =
        if rank == 1 { vec![kernel_size.1, channels, filters] } else { vec![kernel_size.0, kernel_size.1, channels, filters] };
    // Keras' kernel [kh][kw][in][filters], row-major, is the dense kernel [n_in][filters] on a patch.
    let kernel = need(l, w, "kernel", 0, &kshape)?.data.clone();
    let bias = if use_bias { need(l, w, "bias", 1, &[filters])?.data.clone() } else { vec![0.0; filters] };
    let mut layer = ConvLayer {
        name: l.name.clone(),
        rank,
        filters,
        kernel_size,
        strides,
        padding: padding(l)?,
        use_bias,
        kernel_quantizer,
        bias_quantizer,
        batchnorm: false,
        activation: Activation::Linear,
        activation_quantizer: Quantizer::Float,
        types: Default::default(),
    };
    let inline = activation_step(c.get("activation").unwrap_or(&Value::Null)).map_err(|m| layer_error(l, m))?;
    apply_activation(&mut layer, &inline).map_err(|m| layer_error(l, m))?;
    let foldable = inline == ActivationStep::Linear;
    Ok(OpenConv { layer, kernel, bias, n_in, foldable })
}

fn apply_activation(conv: &mut ConvLayer, step: &ActivationStep) -> Result<(), String> {
    let plain = conv.activation == Activation::Linear && conv.activation_quantizer.is_float();
    match step {
        ActivationStep::Linear => {}
        ActivationStep::Relu(q) if plain => {
            conv.activation = Activation::Relu;
            conv.activation_quantizer = q.clone();
        }
        ActivationStep::Relu(q) if conv.activation == Activation::Relu && conv.activation_quantizer.is_float() => {
            conv.activation_quantizer = q.clone()
        }
        ActivationStep::Quantize(q @ Quantizer::QuantizedBits { .. }) if conv.activation_quantizer.is_float() => {
            conv.activation_quantizer = q.clone()
        }
        ActivationStep::Softmax => return Err("softmax after a convolution is not supported (it only ends the dense head)".into()),
        ActivationStep::Quantize(q) if !plain || matches!(q, Quantizer::LeakyRelu { .. } | Quantizer::ReluPo2 { .. }) => {
            return Err(format!("{} after convolution `{}` is not supported: use relu or quantized_relu", q.spelling(), conv.name))
        }
        _ => {
            return Err(format!(
                "a second activation after convolution `{}` ({:?} with {}) is not supported",
                conv.name,
                conv.activation,
                conv.activation_quantizer.spelling()
            ))
        }
    }
    Ok(())
}

/// y = conv(x)·s + t per filter, folded as hls4ml's FuseBatchNormalization folds it.
fn fold_batchnorm(
    l: &KerasLayer,
    conv: &mut OpenConv,
    w: Option<&LayerWeights>,
    last_axis: i64,
    notes: &mut Vec<String>,
) -> Result<(), String> {
    let n_out = conv.layer.filters;
    let (scale, shift) = batchnorm_scale_shift(l, n_out, w, last_axis)?;
    if !conv.layer.kernel_quantizer.is_float() || !conv.layer.bias_quantizer.is_float() {
        notes.push(format!(
            "`{}` is folded into `{}` before its quantizers (as qforge trains); Keras quantizes the kernel first and scales after, and hls4ml 1.3 keeps it as its own layer, so outputs may differ",
            l.name, conv.layer.name
        ));
    }
    for (k, v) in conv.kernel.iter_mut().enumerate() {
        *v *= scale[k % n_out];
    }
    for ((b, s), t) in conv.bias.iter_mut().zip(&scale).zip(&shift) {
        *b = *b * s + t;
    }
    // The folded shift is a bias even where the convolution had none (hls4ml fuses it the same way).
    conv.layer.use_bias = true;
    conv.foldable = false;
    Ok(())
}
