//! What the estimator reads of a network: its dense layers as
//! [`LayerInput`]s (types, and constant weights once trained), from a spec's
//! types alone or from a trained model, and the image layers' fixed-point
//! stack of a spec before training.
use crate::error::{Error, Result};
use crate::model::fixed::{infer_accum_type, DEFAULT_TYPE};
use crate::model::{Activation, FixedNetwork, ModelSpec, TrainedModel};
use crate::quant::{FixedType, Quantizer};

/// One dense layer as the estimator sees it: types, and weights when known.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerInput {
    pub name: String,
    pub n_in: usize,
    pub n_out: usize,
    pub in_type: FixedType,
    pub kernel_quantizer: Quantizer,
    pub bias_quantizer: Quantizer,
    pub activation_quantizer: Quantizer,
    pub weight_type: FixedType,
    pub bias_type: FixedType,
    pub accum_type: FixedType,
    pub out_type: FixedType,
    pub activation: Activation,
    /// Raw constant weights, row-major `[n_in][n_out]` (None before training).
    pub weights: Option<Vec<i64>>,
    pub biases: Option<Vec<i64>>,
}

/// Layers of a spec from its types alone (hls4ml's type rules, as `FixedNetwork` applies them).
pub fn layers_from_spec(spec: &ModelSpec) -> Result<Vec<LayerInput>> {
    // The dense head of an image model takes the feature stack's output type.
    let in_type = image_stack_for_spec(spec)?.map_or(spec.input_type, |stack| stack.out_type);
    layers_with_input(spec, in_type)
}

/// The dense layers of a spec whose head takes `in_type`.
pub(super) fn layers_with_input(spec: &ModelSpec, mut in_type: FixedType) -> Result<Vec<LayerInput>> {
    let mut layers = Vec::new();
    for (block, n_in) in spec.blocks.iter().zip(spec.block_inputs()) {
        let weight_type = block.kernel_quantizer.fixed_type(false).unwrap_or(DEFAULT_TYPE);
        let bias_type = block.bias_quantizer.fixed_type(false).unwrap_or(DEFAULT_TYPE);
        let accum_type = infer_accum_type(&in_type, &weight_type, &bias_type, n_in, true);
        if accum_type.width > 48 {
            return Err(Error::Config(format!(
                "layer `{}`: accumulator {accum_type} is wider than 48 bits: use narrower types",
                block.name
            )));
        }
        let out_type = block.activation_quantizer.fixed_type(true).unwrap_or(accum_type);
        layers.push(LayerInput {
            name: block.name.clone(),
            n_in,
            n_out: block.units,
            in_type,
            kernel_quantizer: block.kernel_quantizer.clone(),
            bias_quantizer: block.bias_quantizer.clone(),
            activation_quantizer: block.activation_quantizer.clone(),
            weight_type,
            bias_type,
            accum_type,
            out_type,
            activation: block.activation,
            weights: None,
            biases: None,
        });
        in_type = out_type;
    }
    Ok(layers)
}

/// Layers of a trained model with its constant weights and exact types.
pub fn layers_from_model(model: &TrainedModel) -> Result<Vec<LayerInput>> {
    Ok(layers_from_net(&FixedNetwork::from_model(model)?, model))
}

/// The dense layers of `model` as its fixed-point network `net` holds them.
pub(super) fn layers_from_net(net: &FixedNetwork, model: &TrainedModel) -> Vec<LayerInput> {
    net.layers
        .iter()
        .zip(&model.spec.blocks)
        .map(|(l, block)| LayerInput {
            name: l.name.clone(),
            n_in: l.n_in,
            n_out: l.n_out,
            in_type: l.in_type,
            kernel_quantizer: block.kernel_quantizer.clone(),
            bias_quantizer: block.bias_quantizer.clone(),
            activation_quantizer: block.activation_quantizer.clone(),
            weight_type: l.weight_type,
            bias_type: l.bias_type,
            accum_type: l.accum_type,
            out_type: l.out_type,
            activation: l.activation,
            weights: Some(l.weights.clone()),
            biases: Some(l.biases.clone()),
        })
        .collect()
}

/// The feature stack of an image spec before training: the types it derives
/// (from the initial weights, which the spec estimate does not use).
pub(super) fn image_stack_for_spec(spec: &ModelSpec) -> Result<Option<crate::model::fixed_features::FeatureStack>> {
    if spec.features.is_empty() {
        return Ok(None);
    }
    // Only the image layers: the dense head's types come from `layers_from_spec`.
    let net = crate::train::qat::QatNetwork::init(spec, super::structural::SPEC_WEIGHTS_SEED);
    let names = (0..spec.inputs).map(|i| format!("x{i}")).collect();
    let model = crate::train::to_model(spec, &net, crate::model::Scaler::identity(spec.inputs), names, serde_json::Value::Null);
    Ok(Some(crate::model::fixed_features::FeatureStack::from_model(&model, spec.input_type)?))
}
