//! The fixed-point network: integer arithmetic with ap_fixed semantics, layer by
//! layer, exactly what the generated HLS C++ and RTL compute. Types follow
//! hls4ml: weights/biases from their quantizers, accumulators sized by hls4ml's
//! precision inference (lossless), activations from their quantizers; in
//! hls4ml types mode (`layer_types`) they are what hls4ml 1.3 derives, and the
//! softmax is hls4ml's (`hls4ml_softmax`).
use super::activation_fn::{activation_fn, float_alpha};
pub use super::activation_fn::{alpha_result_type, minimal_constant_type, ActivationFn, AlphaStage};
use super::fixed_features::FeatureStack;
use super::hls4ml_softmax::Hls4mlSoftmax;
use super::layer_types::block_types;
pub use super::layer_types::{infer_accum_type, DEFAULT_TYPE};
use super::network::TrainedModel;
use super::packed::PackedNetwork;
use super::softmax::SoftmaxTables;
use super::spec::{Activation, SoftmaxImplementation, TypesMode};
use crate::error::{Error, Result};
use crate::quant::fixed::MAX_WIDTH;
use crate::quant::Overflow;
use crate::quant::{Alpha, FixedType, Quantizer};
use kernel::{build_kernel, dense_i32, multiply_accumulate, shl_wrapping, Kernel};
use rayon::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct FixedLayer {
    pub name: String,
    pub n_in: usize,
    pub n_out: usize,
    pub in_type: FixedType,
    pub weight_type: FixedType,
    pub bias_type: FixedType,
    pub accum_type: FixedType,
    /// The dense layer's result before its activation (in qforge mode the
    /// accumulator type; hls4ml may cast the accumulator into another).
    pub result_type: FixedType,
    /// Type after the activation (the result type when it is not quantized).
    pub out_type: FixedType,
    pub activation: Activation,
    /// Raw weights, row-major `[n_in][n_out]`, in `weight_type`.
    pub weights: Vec<i64>,
    /// Raw biases in `bias_type`.
    pub biases: Vec<i64>,
    /// What the activation computes beyond a ReLU or a cast (leaky ReLU, relu_po2).
    #[serde(skip_serializing_if = "ActivationFn::is_cast")]
    pub activation_fn: ActivationFn,
    /// hls4ml's ApplyAlpha after the dense result (kernels with alpha "auto" or a number).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpha: Option<AlphaStage>,
    #[serde(skip)]
    kernel: Kernel,
}

impl FixedLayer {
    /// Compute one sample: `x` raw in `in_type`, writes accumulators (raw, `accum_type`)
    /// and outputs (raw, `out_type`).
    pub fn forward(&self, x: &[i64], acc: &mut [i64], out: &mut [i64]) {
        let mut sums = vec![0i32; self.n_out];
        self.forward_with(x, acc, out, &mut sums);
    }

    /// [`forward`](Self::forward) with caller-owned scratch (`sums.len() >= n_out`).
    fn forward_with(&self, x: &[i64], acc: &mut [i64], out: &mut [i64], sums: &mut [i32]) {
        let k = &self.kernel;
        let acc_frac = self.accum_type.frac();
        if !self.casts_only() {
            return self.forward_general(x, acc, out);
        }
        if let Some(cast) = &k.all_i32 {
            dense_i32(x, &k.w32, &mut sums[..self.n_out], cast, &k.bias32, acc, out, self.activation == Activation::Relu);
            return;
        }
        // A saturating accumulator that may overflow saturates on every add (the reference path).
        if !k.fits_i32 || (!k.acc_cannot_wrap && self.accum_type.overflow != Overflow::Wrap) {
            return self.forward_general(x, acc, out);
        }
        let sums = &mut sums[..self.n_out];
        multiply_accumulate(x, &k.w32, sums);
        for ((a, &s), &b) in acc.iter_mut().zip(sums.iter()).zip(&k.bias_at_acc) {
            let sum = ((s as i64) << k.product_shift) + b;
            // hls4ml sizes accumulators so they never wrap; a narrower one does.
            *a = if k.acc_cannot_wrap { sum } else { self.accum_type.cast_raw(sum, acc_frac) };
        }
        k.out_cast.cast_slice(acc, out, self.activation == Activation::Relu);
    }

    /// Whether the layer ends in casts only (no leaky ReLU, po2 or ApplyAlpha
    /// stage, an exact result cast): the condition of every fast path.
    fn casts_only(&self) -> bool {
        self.kernel.result_exact && self.activation_fn.is_cast() && self.alpha.is_none()
    }

    /// Whether [`forward_with`](Self::forward_with) takes the i32 path, which
    /// writes no accumulators (so it may be given none).
    fn skips_accumulators(&self) -> bool {
        self.casts_only() && self.kernel.all_i32.is_some()
    }

    /// The reference: exact products and sums in i128, every cast through the
    /// type's own rules (`cast_raw_wide`), no shortcut. As hls4ml's
    /// nnet_dense_latency.h: `acc = (accum_t)bias`, then `acc += (accum_t)(x·w)`
    /// input by input. A wrapping accumulator's sum cannot depend on the order,
    /// so it is taken exactly and wrapped once; a saturating one goes through
    /// accum_t on every add, as the C++ does.
    fn forward_general(&self, x: &[i64], acc: &mut [i64], out: &mut [i64]) {
        let k = &self.kernel;
        let t = &self.accum_type;
        let acc_frac = t.frac();
        let prod_frac = self.in_type.frac() + self.weight_type.frac();
        let per_add = t.overflow != Overflow::Wrap;
        for (o, a) in acc.iter_mut().enumerate() {
            let products = x.iter().enumerate().map(|(i, &xi)| xi as i128 * self.weights[i * self.n_out + o] as i128);
            *a = if per_add {
                products.fold(k.bias_at_acc[o], |a, p| t.cast_raw_wide(a as i128 + t.cast_raw_wide(p, prod_frac) as i128, acc_frac))
            } else {
                // Wrapping i128 arithmetic is exact modulo 2^128, which the ≤ 64-bit wrap only needs.
                let sum = products.fold(k.bias_at_acc[o] as i128, |sum, p| {
                    sum.wrapping_add(if k.exact { shl_wrapping(p, k.product_shift) } else { t.cast_raw_wide(p, prod_frac) as i128 })
                });
                t.cast_raw_wide(sum, acc_frac)
            };
        }
        let relu = self.activation == Activation::Relu;
        let res_frac = self.result_type.frac();
        for (i, (o, &a)) in out.iter_mut().zip(acc.iter()).enumerate() {
            let r = self.result_type.cast_raw(a, acc_frac);
            let (r, frac) = match &self.alpha {
                Some(alpha) => (alpha.apply(i, r, res_frac), alpha.result_type.frac()),
                None => (r, res_frac),
            };
            *o = self.activation_fn.apply(if relu { r.max(0) } else { r }, frac, &self.out_type);
        }
    }

    /// Whether the 16-bit path may run this layer (its result cast changes nothing).
    pub(crate) fn result_is_exact(&self) -> bool {
        self.kernel.result_exact
    }
}

struct Scratch {
    cur: Vec<i64>,
    next: Vec<i64>,
    acc: Vec<i64>,
    sums: Vec<i32>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FixedNetwork {
    pub input_type: FixedType,
    pub layers: Vec<FixedLayer>,
    /// qforge's table softmax, when the last layer ends in softmax.
    pub softmax: Option<SoftmaxTables>,
    /// hls4ml's softmax instead (hls4ml types mode or a stated implementation).
    pub hls4ml_softmax: Option<Hls4mlSoftmax>,
    /// The image layers before the dense head (a convolutional model).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub features: Option<FeatureStack>,
    /// The 16-bit batch path, when every layer's values fit it.
    #[serde(skip)]
    packed: Option<PackedNetwork>,
}

/// One dense layer for [`FixedNetwork::from_raw_layers`]: `accum_type`
/// `None` takes hls4ml's inferred accumulator, `out_type` `None` keeps it.
#[derive(Clone, Debug)]
pub struct RawLayer {
    pub name: String,
    pub n_in: usize,
    pub n_out: usize,
    pub weight_type: FixedType,
    pub bias_type: FixedType,
    pub accum_type: Option<FixedType>,
    pub out_type: Option<FixedType>,
    pub activation: Activation,
    pub weights: Vec<i64>,
    pub biases: Vec<i64>,
}

/// Per-sample results of a batch: raw outputs of the last dense layer
/// (`logits`) and of the network (`outputs`, after softmax if any).
#[derive(Clone, Debug, Default)]
pub struct FixedOutputs {
    pub n_out: usize,
    pub logits: Vec<i64>,
    pub outputs: Vec<i64>,
}

impl FixedOutputs {
    pub fn predicted_class(&self, sample: usize) -> usize {
        argmax(&self.outputs[sample * self.n_out..(sample + 1) * self.n_out])
    }
}

/// Index of the first maximum (the firmware's argmax).
pub fn argmax(v: &[i64]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

impl FixedNetwork {
    pub fn from_model(model: &TrainedModel) -> Result<FixedNetwork> {
        let spec = &model.spec;
        // Loaded models are validated (model::validate); one built in code may still be empty.
        if spec.blocks.is_empty() || model.layers.len() != spec.blocks.len() {
            return Err(Error::Config(format!(
                "model `{}` has {} layers for {} dense blocks",
                spec.name,
                model.layers.len(),
                spec.blocks.len()
            )));
        }
        let features = if spec.features.is_empty() { None } else { Some(FeatureStack::from_model(model, spec.input_type)?) };
        let mut in_type = features.as_ref().map_or(spec.input_type, |f| f.out_type);
        let mut layers = Vec::new();
        for (params, block) in model.layers.iter().zip(&spec.blocks) {
            let fail = |m: String| Error::Config(format!("layer `{}`: {m}", block.name));
            if matches!(block.bias_quantizer, Quantizer::QuantizedBits { alpha: Alpha::AutoPo2, .. }) {
                return Err(fail("alpha=\"auto_po2\" is supported for kernels only, not biases".into()));
            }
            let types = block_types(block, params, in_type, spec.types);
            let (weight_type, bias_type) = (types.weight, types.bias);
            let (kernel_values, alpha, biases) = float_alpha(block, params, spec.types, &types).map_err(fail)?;
            let weights: Vec<i64> = kernel_values.iter().map(|&w| weight_type.from_f64(w as f64)).collect();
            // A stated weight type casts the weights into it, as hls4ml does; a quantizer's own type holds them.
            if block.types.weight.is_none() && !block.kernel_quantizer.is_float() {
                for (raw, &v) in weights.iter().zip(&kernel_values) {
                    if weight_type.to_f64(*raw) != v as f64 {
                        return Err(fail(format!("weight {v} is not representable in {weight_type}: re-quantize the model")));
                    }
                }
            }
            let (accum_type, result_type) = (types.accum, types.result);
            // After an ApplyAlpha, a linear layer's output is its result (hls4ml adds no cast).
            let out_type = match &alpha {
                Some(a) if block.activation_quantizer.is_float() && block.activation != Activation::Relu => a.result_type,
                _ => types.out,
            };
            // Raw values are i64 (products and sums i128): any type up to 64 bits is computed.
            if let Some(t) =
                [in_type, weight_type, bias_type, accum_type, result_type, out_type].iter().find(|t| t.max_raw() < 0 || t.width > MAX_WIDTH)
            {
                return Err(fail(format!("type {t} is wider than the {MAX_WIDTH} bits (63 unsigned) the model computes")));
            }
            let mut layer = FixedLayer {
                name: block.name.clone(),
                n_in: params.n_in,
                n_out: params.n_out,
                in_type,
                weight_type,
                bias_type,
                accum_type,
                result_type,
                out_type,
                activation: block.activation,
                weights,
                biases,
                activation_fn: activation_fn(block, spec.types, out_type).map_err(fail)?,
                alpha,
                kernel: Kernel::placeholder(),
            };
            layer.kernel = build_kernel(&layer);
            in_type = out_type;
            layers.push(layer);
        }
        let mut net = FixedNetwork::from_layers(spec.input_type, layers);
        if features.is_some() {
            net.features = features;
            net.packed = None; // the 16-bit path computes dense layers only
        }
        let last = net.layers.last().expect("spec has layers");
        let mut implementation = spec.softmax.implementation;
        if spec.types == TypesMode::Hls4ml && implementation == SoftmaxImplementation::Qforge {
            implementation = SoftmaxImplementation::Stable; // hls4ml's default
        }
        if last.activation == Activation::Softmax && implementation != SoftmaxImplementation::Qforge {
            let cfg = super::spec::SoftmaxConfig { implementation, ..spec.softmax };
            let sm =
                Hls4mlSoftmax::new(&cfg, last.n_out, last.out_type, DEFAULT_TYPE).map_err(|m| Error::Config(format!("softmax: {m}")))?;
            net.softmax = None;
            net.hls4ml_softmax = Some(sm);
            net.packed = None; // the 16-bit path computes qforge's softmax only
        }
        Ok(net)
    }

    /// A network of dense layers given by raw weights (row-major
    /// `[n_in][n_out]` in `weight_type`) and biases, each accumulator as
    /// hls4ml infers it unless given; for weights that come from elsewhere
    /// than a trained model (another tool's matrices, generated test networks).
    pub fn from_raw_layers(input_type: FixedType, layers: Vec<RawLayer>) -> Result<FixedNetwork> {
        let mut in_type = input_type;
        let mut built = Vec::new();
        for l in layers {
            if l.weights.len() != l.n_in * l.n_out || l.biases.len() != l.n_out {
                let (nw, nb) = (l.weights.len(), l.biases.len());
                return Err(Error::Config(format!("layer `{}`: {nw} weights and {nb} biases for {}x{}", l.name, l.n_in, l.n_out)));
            }
            let has_bias = l.biases.iter().any(|&b| b != 0);
            let accum_type = l.accum_type.unwrap_or_else(|| infer_accum_type(&in_type, &l.weight_type, &l.bias_type, l.n_in, has_bias));
            let out_type = l.out_type.unwrap_or(accum_type);
            let mut layer = FixedLayer {
                name: l.name,
                n_in: l.n_in,
                n_out: l.n_out,
                in_type,
                weight_type: l.weight_type,
                bias_type: l.bias_type,
                accum_type,
                result_type: accum_type,
                out_type,
                activation: l.activation,
                weights: l.weights,
                biases: l.biases,
                activation_fn: ActivationFn::Cast,
                alpha: None,
                kernel: Kernel::placeholder(),
            };
            layer.kernel = build_kernel(&layer);
            in_type = out_type;
            built.push(layer);
        }
        if built.is_empty() {
            return Err(Error::Config("a network needs at least one layer".into()));
        }
        Ok(FixedNetwork::from_layers(input_type, built))
    }

    /// The network of these layers, with the softmax tables when the last
    /// layer ends in softmax and the 16-bit path when it fits.
    fn from_layers(input_type: FixedType, layers: Vec<FixedLayer>) -> FixedNetwork {
        let last = layers.last().expect("spec has layers");
        let softmax = (last.activation == Activation::Softmax).then(|| SoftmaxTables::new(last.n_out, last.out_type));
        // The 16-bit path computes ReLUs and casts only.
        let packed = if layers.iter().all(|l| l.activation_fn.is_cast() && l.alpha.is_none()) {
            PackedNetwork::new(input_type, &layers, softmax.as_ref())
        } else {
            None
        };
        FixedNetwork { input_type, layers, softmax, hls4ml_softmax: None, features: None, packed }
    }

    /// Whether [`predict_raw`](Self::predict_raw) runs the 16-bit path (for benches and reports).
    pub fn has_packed_path(&self) -> bool {
        self.packed.is_some()
    }

    pub fn n_inputs(&self) -> usize {
        self.features.as_ref().map_or(self.layers[0].n_in, |f| f.input_len)
    }
    pub fn n_outputs(&self) -> usize {
        self.layers.last().map(|l| l.n_out).unwrap_or(0)
    }
    /// Type of the network's outputs.
    pub fn output_type(&self) -> FixedType {
        match (&self.softmax, &self.hls4ml_softmax) {
            (Some(s), _) => s.out_type,
            (None, Some(s)) => s.out_type,
            (None, None) => self.layers.last().expect("layers").out_type,
        }
    }

    /// Standardised float inputs → raw inputs in the input type.
    pub fn quantize_inputs(&self, x: &[f32]) -> Vec<i64> {
        x.iter().map(|&v| self.input_type.from_f64(v as f64)).collect()
    }

    fn scratch(&self) -> Scratch {
        let widest = self.layers.iter().map(|l| l.n_out.max(l.n_in)).max().unwrap_or(0);
        Scratch { cur: vec![0; widest], next: vec![0; widest], acc: vec![0; widest], sums: vec![0; widest] }
    }

    /// Run one sample with reusable buffers; `general` forces the i128 path
    /// (inputs outside the input type, and the tests' reference).
    fn run_one(&self, x: &[i64], logits: &mut [i64], out: &mut [i64], s: &mut Scratch, general: bool) {
        let features;
        let x = match &self.features {
            Some(stack) => {
                features = stack.forward(x);
                &features[..]
            }
            None => x,
        };
        s.cur[..x.len()].copy_from_slice(x);
        let mut width = x.len();
        for layer in &self.layers {
            // A layer that falls back to the reference path needs its accumulators.
            let acc = if layer.skips_accumulators() && !general { &mut s.acc[..0] } else { &mut s.acc[..layer.n_out] };
            if general {
                layer.forward_general(&s.cur[..width], acc, &mut s.next[..layer.n_out]);
            } else {
                layer.forward_with(&s.cur[..width], acc, &mut s.next[..layer.n_out], &mut s.sums);
            }
            std::mem::swap(&mut s.cur, &mut s.next);
            width = layer.n_out;
        }
        logits.copy_from_slice(&s.cur[..width]);
        match (&self.softmax, &self.hls4ml_softmax) {
            (Some(t), _) => t.apply(&s.cur[..width], out),
            (None, Some(t)) => t.apply(&s.cur[..width], out),
            (None, None) => out.copy_from_slice(&s.cur[..width]),
        }
    }

    /// Run a batch of raw inputs (row-major, `n_inputs` per sample), in parallel.
    pub fn predict_raw(&self, inputs: &[i64]) -> FixedOutputs {
        let (n_in, n_out) = (self.n_inputs(), self.n_outputs());
        let n = inputs.len() / n_in;
        let mut logits = vec![0i64; n * n_out];
        let mut outputs = vec![0i64; n * n_out];
        const CHUNK: usize = 512;
        inputs.par_chunks(CHUNK * n_in).zip(logits.par_chunks_mut(CHUNK * n_out)).zip(outputs.par_chunks_mut(CHUNK * n_out)).for_each(
            |((xs, ls), os)| {
                let mut scratch = self.scratch();
                match &self.packed {
                    Some(packed) => packed.run_chunk(xs, ls, os, &mut |x, l, o| self.run_one(x, l, o, &mut scratch, true)),
                    None => {
                        for ((x, l), o) in xs.chunks(n_in).zip(ls.chunks_mut(n_out)).zip(os.chunks_mut(n_out)) {
                            // Inputs outside the input type would break the i32 paths' bounds
                            // (image layers cast theirs into the head's input type).
                            let general = self.features.is_none()
                                && x.iter().any(|&v| v < self.input_type.min_raw() || v > self.input_type.max_raw());
                            self.run_one(x, l, o, &mut scratch, general);
                        }
                    }
                }
            },
        );
        FixedOutputs { n_out, logits, outputs }
    }
}

#[path = "fixed_kernel.rs"]
mod kernel;

#[cfg(test)]
#[path = "fixed_unit_tests.rs"]
mod unit_tests;

#[cfg(test)]
#[path = "fixed_tests.rs"]
mod packed_vs_reference;
