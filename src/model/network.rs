//! A trained model as `model.json` holds it: the spec, the input scaling, and
//! per layer the float weights (batch normalization folded in) and the quantized
//! weights the firmware will hold. Written by `train`, read by every later stage.
use super::spec::{DenseBlock, ModelSpec};
pub use crate::data::Scaler;
use crate::error::{Error, Result};
use crate::quant::alpha::{auto_po2_exponents, auto_po2_quantize, float_alpha_quantize};
use crate::quant::{Alpha, Quantizer};
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const MODEL_FORMAT: &str = "qforge-model";
pub const MODEL_VERSION: u32 = 1;

/// One dense layer's parameters. Kernels are row-major `[n_in][n_out]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerParams {
    pub name: String,
    pub n_in: usize,
    pub n_out: usize,
    pub kernel: Vec<f32>,
    pub bias: Vec<f32>,
    /// The kernel after its quantizer: the values the firmware holds.
    pub kernel_q: Vec<f32>,
    pub bias_q: Vec<f32>,
    /// Per-output power-of-two scale exponents (alpha="auto_po2" kernels only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub po2_exponents: Option<Vec<i32>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainedModel {
    pub format: String,
    pub version: u32,
    pub spec: ModelSpec,
    pub feature_names: Vec<String>,
    pub scaler: Scaler,
    pub layers: Vec<LayerParams>,
    /// The convolutions of `spec.features`, in order, each as a dense layer on
    /// its patches: kernel `[kh·kw·in_channels][filters]` (Keras order), batch
    /// normalization folded in. Absent from a dense model's file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conv_layers: Vec<LayerParams>,
    /// Metrics measured at training time (accuracy, AUC, ...), for the record.
    #[serde(default)]
    pub metrics: serde_json::Value,
}

/// Quantize a float kernel and bias with a block's quantizers, as the firmware holds them.
pub fn quantize_params(block: &DenseBlock, kernel: &[f32], bias: &[f32], n_in: usize) -> (Vec<f32>, Vec<f32>, Option<Vec<i32>>) {
    let n_out = block.units;
    let (kernel_q, exps) = match block.kernel_quantizer {
        Quantizer::QuantizedBits { bits, integer, alpha: Alpha::AutoPo2, .. } => {
            let e = auto_po2_exponents(kernel, n_in, n_out, bits, integer);
            (auto_po2_quantize(kernel, n_out, &e, bits), Some(e))
        }
        ref q @ Quantizer::QuantizedBits { alpha: Alpha::Auto | Alpha::Number(_), .. } => {
            (float_alpha_quantize(kernel, n_in, n_out, q).0, None)
        }
        ref q => {
            let mut k = kernel.to_vec();
            q.quantize_slice(&mut k);
            (k, None)
        }
    };
    let mut bias_q = bias.to_vec();
    block.bias_quantizer.quantize_slice(&mut bias_q);
    (kernel_q, bias_q, exps)
}

impl TrainedModel {
    pub fn load(path: &Path) -> Result<TrainedModel> {
        let text = crate::error::read_to_string(path)?;
        let model: TrainedModel = serde_json::from_str(&text)
            .map_err(|e| Error::input_at(path, Some(e.line()), None, format!("not a qforge model.json: {e}")))?;
        model.check(path)?;
        Ok(model)
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).expect("model serializes");
        crate::error::write_atomic(path, &json)
    }

    /// The format, then every value ([`super::validate::validate_model`]); errors name the file and field.
    fn check(&self, path: &Path) -> Result<()> {
        if self.format != MODEL_FORMAT || self.version != MODEL_VERSION {
            return Err(Error::input_at(
                path,
                None,
                Some("format"),
                format!("expected {MODEL_FORMAT} version {MODEL_VERSION}, found {} {}", self.format, self.version),
            ));
        }
        super::validate::validate_model(self).map_err(|f| Error::input_at(path, None, Some(&f.field), f.message))
    }

    /// Re-quantize every layer from its float weights (after a spec change).
    pub fn requantize(&mut self) {
        for (layer, block) in self.layers.iter_mut().zip(&self.spec.blocks) {
            let (kq, bq, e) = quantize_params(block, &layer.kernel, &layer.bias, layer.n_in);
            layer.kernel_q = kq;
            layer.bias_q = bq;
            layer.po2_exponents = e;
        }
        let convs = self.spec.features.iter().filter_map(|f| match f {
            super::features::FeatureLayer::Conv(c) => Some(c.as_block()),
            _ => None,
        });
        for (layer, block) in self.conv_layers.iter_mut().zip(convs) {
            let (kq, bq, e) = quantize_params(&block, &layer.kernel, &layer.bias, layer.n_in);
            layer.kernel_q = kq;
            layer.bias_q = bq;
            layer.po2_exponents = e;
        }
    }
}
