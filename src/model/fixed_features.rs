//! The bit-exact image layers in front of a fixed-point network's dense head:
//! the model's feature layers (`spec.features`) built from model.json, each
//! type derived as a dense block's is (a convolution is a dense layer on its
//! patches, `n_in = kh·kw·in_channels`, which is also hls4ml's
//! `_infer_conv_precision`), chained layer to layer. Owns [`FeatureStack`];
//! the arithmetic is `conv` and `pool`.
use super::conv::{ConvTypes, FixedConv, Shape3};
use super::features::{FeatureLayer, Tensor};
use super::layer_types::block_types;
use super::network::{LayerParams, TrainedModel};
use super::pool::{FixedGlobalPool, FixedPool, PoolTypes};
use super::spec::Activation;
use crate::error::{Error, Result};
use crate::quant::{Alpha, FixedType, Quantizer};
use serde::Serialize;

/// One image layer, ready to compute.
#[derive(Clone, Debug, Serialize)]
pub enum FixedFeature {
    Conv(FixedConv),
    Pool(FixedPool),
    GlobalPool(FixedGlobalPool),
    /// No arithmetic: channels-last order is already Keras' flat order.
    Flatten {
        name: String,
    },
}

impl FixedFeature {
    pub fn name(&self) -> &str {
        match self {
            FixedFeature::Conv(c) => &c.name,
            FixedFeature::Pool(p) => &p.name,
            FixedFeature::GlobalPool(g) => &g.name,
            FixedFeature::Flatten { name } => name,
        }
    }

    /// The type of the layer's outputs.
    pub fn out_type(&self, input: FixedType) -> FixedType {
        match self {
            FixedFeature::Conv(c) => c.types.out,
            FixedFeature::Pool(p) => p.types.result,
            FixedFeature::GlobalPool(g) => g.types.result,
            FixedFeature::Flatten { .. } => input,
        }
    }

    pub fn forward(&self, x: &[i64]) -> Vec<i64> {
        match self {
            FixedFeature::Conv(c) => c.forward(x),
            FixedFeature::Pool(p) => p.forward(x),
            FixedFeature::GlobalPool(g) => g.forward(x),
            FixedFeature::Flatten { .. } => x.to_vec(),
        }
    }
}

/// The feature layers of a model in order, from the image input to the flat
/// vector the first dense layer takes.
#[derive(Clone, Debug, Serialize)]
pub struct FeatureStack {
    pub layers: Vec<FixedFeature>,
    pub input_len: usize,
    pub output_len: usize,
    /// Type of the values handed to the dense head.
    pub out_type: FixedType,
}

impl FeatureStack {
    /// Build the model's feature layers, the first taking `input_type`.
    pub fn from_model(model: &TrainedModel, input_type: FixedType) -> Result<FeatureStack> {
        let spec = &model.spec;
        let fail = |name: &str, m: String| Error::Config(format!("layer `{name}`: {m}"));
        let inputs = spec.feature_inputs();
        if inputs.len() != spec.features.len() {
            return Err(Error::Config(format!("model `{}`: its feature layers do not fit its input shape", spec.name)));
        }
        let mut convs = model.conv_layers.iter();
        let mut ty = input_type;
        let mut layers = Vec::with_capacity(spec.features.len());
        for (layer, input) in spec.features.iter().zip(inputs) {
            let shape = match input {
                Tensor::Map { shape, .. } => shape,
                Tensor::Flat(n) => Shape3::new(1, 1, n),
            };
            let built = match layer {
                FeatureLayer::Conv(c) => {
                    let params = convs.next().ok_or_else(|| fail(&c.name, "no trained weights in conv_layers".into()))?;
                    FixedFeature::Conv(build_conv(c, params, shape, ty, spec.types).map_err(|m| fail(&c.name, m))?)
                }
                FeatureLayer::Pool(p) => {
                    let types = PoolTypes::for_mode(ty, p.op, p.pool_size.0 * p.pool_size.1, spec.types).with_stated(&p.types);
                    FixedFeature::Pool(FixedPool::new(&p.name, p.op, shape, p.window(), types)?)
                }
                FeatureLayer::GlobalPool(g) => {
                    let types = PoolTypes::global(ty, g.op, shape.height * shape.width, spec.types).with_stated(&g.types);
                    FixedFeature::GlobalPool(FixedGlobalPool::new(&g.name, g.op, shape, types)?)
                }
                FeatureLayer::Flatten { name } => FixedFeature::Flatten { name: name.clone() },
            };
            ty = built.out_type(ty);
            layers.push(built);
        }
        let output_len = spec.head_inputs();
        Ok(FeatureStack { layers, input_len: spec.inputs, output_len, out_type: ty })
    }

    /// One image (raw, in the input type, channels last) to the dense head's raw inputs.
    pub fn forward(&self, x: &[i64]) -> Vec<i64> {
        let mut cur = x.to_vec();
        for layer in &self.layers {
            cur = layer.forward(&cur);
        }
        cur
    }

    /// Every layer's raw outputs for one image, in order.
    pub fn trace(&self, x: &[i64]) -> Vec<Vec<i64>> {
        let mut out: Vec<Vec<i64>> = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let next = layer.forward(out.last().map_or(x, |v| v.as_slice()));
            out.push(next);
        }
        out
    }
}

/// A convolution with its types derived as the dense block it is on its patches.
fn build_conv(
    c: &super::features::ConvLayer,
    params: &LayerParams,
    input: Shape3,
    in_type: FixedType,
    mode: super::spec::TypesMode,
) -> std::result::Result<FixedConv, String> {
    let block = c.as_block();
    if matches!(block.kernel_quantizer, Quantizer::QuantizedBits { alpha: Alpha::AutoPo2 | Alpha::Auto | Alpha::Number(_), .. }) {
        return Err("alpha other than 1 is not supported for convolution kernels yet".into());
    }
    if matches!(block.activation_quantizer, Quantizer::LeakyRelu { .. } | Quantizer::ReluPo2 { .. }) {
        return Err(format!("{} after a convolution is not supported yet: use quantized_relu", block.activation_quantizer.spelling()));
    }
    let types = block_types(&block, params, in_type, mode);
    let weights = to_raw(&params.kernel_q, &types.weight, !block.kernel_quantizer.is_float(), "weight")?;
    let biases = if c.has_bias() { to_raw(&params.bias_q, &types.bias, !block.bias_quantizer.is_float(), "bias")? } else { vec![] };
    if types.accum.width > 48 || types.result.width > 48 {
        return Err(format!("accumulator {} or result {} is wider than 48 bits: use narrower types", types.accum, types.result));
    }
    let conv_types =
        ConvTypes { input: in_type, weight: types.weight, bias: types.bias, accum: types.accum, result: types.result, out: types.out };
    FixedConv::new(&c.name, input, c.window(), c.filters, conv_types, c.activation == Activation::Relu, weights, biases)
        .map_err(|e| e.to_string())
}

/// Quantized float values as raw codes of `ty`; with `exact`, a value the
/// type cannot hold is an error (the model must be re-quantized), as for dense.
fn to_raw(values: &[f32], ty: &FixedType, exact: bool, what: &str) -> std::result::Result<Vec<i64>, String> {
    let raw: Vec<i64> = values.iter().map(|&v| ty.from_f64(v as f64)).collect();
    if exact {
        if let Some(v) = raw.iter().zip(values).find(|(r, &v)| ty.to_f64(**r) != v as f64).map(|(_, v)| v) {
            return Err(format!("{what} {v} is not representable in {ty}: re-quantize the model"));
        }
    }
    Ok(raw)
}
