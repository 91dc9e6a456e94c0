//! The precision profile hls4ml users build by hand: per layer (in the
//! granularity of hls4ml's trace: dense result, activation, softmax) the
//! types used, how many values on the given data overflowed their type
//! (saturated or wrapped, by the type's overflow mode), and the largest
//! difference from the float model. The float model is what QKeras/Keras
//! evaluates: the quantized weights and activation quantizers in f32, exact
//! sums, no fixed-point types; so the error shown is what the fixed-point
//! types (inputs, accumulators, results, softmax tables) add.
use super::fixed::FixedNetwork;
use super::network::TrainedModel;
use super::spec::Activation;
use super::trace::Stage;
use crate::quant::{FixedType, Overflow};
use serde::Serialize;

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LayerProfile {
    pub layer: String,
    pub stage: Stage,
    /// The type of the values this row describes.
    #[serde(rename = "type")]
    pub ty: String,
    /// Dense rows: weight, bias and accumulator types.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bias: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accum: Option<String>,
    /// Values computed (samples × outputs).
    pub values: usize,
    /// Values beyond their type's range clamped by a saturating mode.
    pub saturated: usize,
    /// Values beyond their type's range wrapped around.
    pub wrapped: usize,
    /// Largest |fixed − float| of this layer's values.
    pub max_abs_error: f64,
}

fn outside(t: &FixedType, v: f64) -> bool {
    v < t.to_f64(t.min_raw()) || v > t.to_f64(t.max_raw())
}

fn count(row: &mut LayerProfile, t: &FixedType) {
    if t.overflow == Overflow::Wrap {
        row.wrapped += 1;
    } else {
        row.saturated += 1;
    }
}

/// The float model's value of every layer for one sample (`x` standardised).
fn float_trace(model: &TrainedModel, x: &[f32]) -> Vec<Vec<f32>> {
    let mut out = Vec::new();
    let mut cur = x.to_vec();
    for (block, l) in model.spec.blocks.iter().zip(&model.layers) {
        let mut z: Vec<f32> = l.bias_q.clone();
        for (i, &xi) in cur.iter().enumerate() {
            for (o, zo) in z.iter_mut().enumerate() {
                *zo += xi * l.kernel_q[i * l.n_out + o];
            }
        }
        out.push(z.clone());
        if block.activation == Activation::Relu {
            z.iter_mut().for_each(|v| *v = v.max(0.0));
        }
        if !block.activation_quantizer.is_float() {
            block.activation_quantizer.quantize_slice(&mut z);
        }
        out.push(z.clone());
        cur = z;
    }
    let max = cur.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = cur.iter().map(|v| (v - max).exp()).collect();
    let sum: f32 = e.iter().sum();
    out.push(e.iter().map(|v| v / sum).collect());
    out
}

/// The profile of `net` (built from `model`) on standardised inputs `x` (row-major).
pub fn precision_profile(model: &TrainedModel, net: &FixedNetwork, x: &[f32]) -> Vec<LayerProfile> {
    let n_in = net.n_inputs();
    let mut rows: Vec<LayerProfile> = Vec::new();
    for sample in x.chunks_exact(n_in) {
        let raw = net.quantize_inputs(sample);
        let trace = net.trace(&raw);
        // A convolutional model is profiled from its dense head on: the float
        // reference starts at the fixed-point image layers' output.
        let (head_raw, head_type) = match &net.features {
            Some(stack) => (stack.forward(&raw), stack.out_type),
            None => (raw, net.input_type),
        };
        let mut layer_input: Vec<f64> = head_raw.iter().map(|&r| head_type.to_f64(r)).collect();
        let head: Vec<f32> = layer_input.iter().map(|&v| v as f32).collect();
        let float = float_trace(model, if net.features.is_some() { &head } else { sample });
        let mut last_output = layer_input.clone();
        for (k, t) in trace.iter().enumerate() {
            let layer = &net.layers[t.block];
            if t.stage == Stage::Dense && t.block > 0 {
                layer_input = last_output.clone(); // the previous block's final values
            }
            if rows.len() <= k {
                let dense = t.stage == Stage::Dense;
                let cpp = |ty: FixedType| dense.then(|| ty.cpp());
                rows.push(LayerProfile {
                    layer: layer.name.clone(),
                    stage: t.stage,
                    ty: t.ty.cpp(),
                    weight: cpp(layer.weight_type),
                    bias: cpp(layer.bias_type),
                    accum: cpp(layer.accum_type),
                    values: 0,
                    saturated: 0,
                    wrapped: 0,
                    max_abs_error: 0.0,
                });
            }
            let float_values = match t.stage {
                // An alpha layer's dense result is unscaled: its float counterpart is the ApplyAlpha's.
                Stage::Dense | Stage::Alpha => &float[2 * t.block],
                Stage::Activation => &float[2 * t.block + 1],
                Stage::Softmax => &float[float.len() - 1],
            };
            let row = &mut rows[k];
            let fixed: Vec<f64> = t.raw.iter().map(|&r| t.ty.to_f64(r)).collect();
            for (o, (&f, &g)) in fixed.iter().zip(float_values).enumerate() {
                row.values += 1;
                row.max_abs_error = row.max_abs_error.max((f - g as f64).abs());
                match t.stage {
                    Stage::Dense => {
                        // The exact sum of this layer's fixed-point inputs and parameters.
                        let exact = layer.bias_type.to_f64(layer.biases[o])
                            + layer_input
                                .iter()
                                .enumerate()
                                .map(|(i, &xi)| xi * layer.weight_type.to_f64(layer.weights[i * layer.n_out + o]))
                                .sum::<f64>();
                        if outside(&layer.accum_type, exact) {
                            count(row, &layer.accum_type);
                        } else if outside(&layer.result_type, exact) {
                            count(row, &layer.result_type);
                        }
                    }
                    Stage::Activation => {
                        let dense = trace[k - 1].ty.to_f64(trace[k - 1].raw[o]);
                        let v = if layer.activation == Activation::Relu { dense.max(0.0) } else { dense };
                        if outside(&layer.out_type, v) {
                            count(row, &layer.out_type);
                        }
                    }
                    Stage::Alpha | Stage::Softmax => {}
                }
            }
            if t.stage != Stage::Softmax {
                last_output = fixed;
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::network::{LayerParams, Scaler, MODEL_FORMAT, MODEL_VERSION};
    use crate::model::spec::{DenseBlock, ModelSpec, TrainingSpec};
    use crate::quant::Quantizer;

    /// 1 input → 1 output, weight 1.5, quantized_relu(3,1) (max 1.75).
    fn one_weight() -> TrainedModel {
        let block = DenseBlock {
            name: "d".into(),
            units: 1,
            kernel_quantizer: Quantizer::bits(4, 1),
            bias_quantizer: Quantizer::bits(4, 1),
            batchnorm: false,
            activation: Activation::Relu,
            activation_quantizer: Quantizer::relu(3, 1),
            types: Default::default(),
        };
        let spec = ModelSpec {
            name: "p".into(),
            inputs: 1,
            input_shape: Vec::new(),
            features: Vec::new(),
            input_type: FixedType::signed(8, 3),
            classes: vec!["a".into()],
            blocks: vec![block],
            training: TrainingSpec::default(),
            types: Default::default(),
            softmax: Default::default(),
            hls: Default::default(),
        };
        let l = LayerParams {
            name: "d".into(),
            n_in: 1,
            n_out: 1,
            kernel: vec![1.5],
            bias: vec![0.0],
            kernel_q: vec![1.5],
            bias_q: vec![0.0],
            po2_exponents: None,
        };
        TrainedModel {
            format: MODEL_FORMAT.into(),
            version: MODEL_VERSION,
            spec,
            feature_names: vec!["x".into()],
            scaler: Scaler::identity(1),
            layers: vec![l],
            conv_layers: vec![],
            metrics: serde_json::Value::Null,
        }
    }

    #[test]
    fn counts_saturation_and_the_rounding_error() {
        let model = one_weight();
        let net = FixedNetwork::from_model(&model).unwrap();
        // 0.1 → input ap_fixed<8,3> 0.09375 (error 0.0094 · 1.5 at the dense layer);
        // 2.0 → 3.0 saturates the ReLU at 1.75.
        let rows = precision_profile(&model, &net, &[0.1, 2.0]);
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].stage, rows[0].values, rows[0].saturated, rows[0].wrapped), (Stage::Dense, 2, 0, 0));
        assert!((rows[0].max_abs_error - 0.009375).abs() < 1e-6, "{rows:?}");
        assert_eq!((rows[1].stage, rows[1].saturated, rows[1].ty.as_str()), (Stage::Activation, 1, "ap_ufixed<3,1,AP_RND_CONV,AP_SAT>"));
        // The float model's quantized_relu saturates at 1.75 as well: no error from it.
        assert!(rows[1].max_abs_error < 0.2, "{rows:?}");
    }
}
