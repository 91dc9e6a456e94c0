//! The network under quantization-aware training: float master weights, the
//! forward pass through each QKeras quantizer, and the backward pass with the
//! straight-through estimator (the quantizer's gradient is taken as 1; ReLU
//! keeps its own gradient, as QKeras' quantized_relu does). Batch normalization
//! is trained folded: the quantizer sees w·γ/σ and (b-μ)·γ/σ+β with running μ, σ.
use super::conv_qat::FeatureNet;
use crate::model::network::quantize_params;
use crate::model::{Activation, DenseBlock, LayerParams, ModelSpec};
use crate::quant::Quantizer;
use ndarray::{s, Array1, Array2, ArrayView2, Axis, Zip};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const BN_EPS: f32 = 1e-3;
const BN_MOMENTUM: f32 = 0.99;

#[derive(Clone)]
pub struct BatchNorm {
    pub gamma: Array1<f32>,
    pub beta: Array1<f32>,
    pub mean: Array1<f32>,
    pub var: Array1<f32>,
}

#[derive(Clone)]
pub struct QatLayer {
    pub block: DenseBlock,
    pub w: Array2<f32>,
    pub b: Array1<f32>,
    pub bn: Option<BatchNorm>,
}

/// What the forward pass keeps for the backward pass.
pub struct Tape {
    inputs: Vec<Array2<f32>>,
    weights_q: Vec<Array2<f32>>,
    masks: Vec<Option<Array2<f32>>>,
}

/// Gradients of one layer's trainable parameters.
#[derive(Clone)]
pub struct Grads {
    pub w: Array2<f32>,
    pub b: Array1<f32>,
    pub gamma: Option<Array1<f32>>,
    pub beta: Option<Array1<f32>>,
}

impl QatLayer {
    /// Effective (folded) float kernel and bias.
    pub fn folded(&self) -> (Array2<f32>, Array1<f32>) {
        match &self.bn {
            None => (self.w.clone(), self.b.clone()),
            Some(bn) => {
                let scale = &bn.gamma / &bn.var.mapv(|v| (v + BN_EPS).sqrt());
                let w = &self.w * &scale.view().insert_axis(Axis(0));
                let b = (&self.b - &bn.mean) * &scale + &bn.beta;
                (w, b)
            }
        }
    }

    /// Folded weights after their quantizers: what the firmware will hold.
    pub fn quantized(&self) -> (Array2<f32>, Array1<f32>) {
        let (w, b) = self.folded();
        let n_in = w.nrows();
        let (wq, bq, _) = quantize_params(&self.block, w.as_slice().expect("contiguous"), b.as_slice().expect("contiguous"), n_in);
        (Array2::from_shape_vec(w.raw_dim(), wq).expect("shape"), Array1::from(bq))
    }

    /// Keras' running statistics of the unfolded sums `a·w + b` (training only).
    pub fn update_batch_stats(&mut self, a: &Array2<f32>) {
        if let Some(bn) = self.bn.as_mut() {
            let z = a.dot(&self.w) + &self.b;
            let mean = z.mean_axis(Axis(0)).expect("batch");
            let var = z.var_axis(Axis(0), 0.0);
            bn.mean = &bn.mean * BN_MOMENTUM + &mean * (1.0 - BN_MOMENTUM);
            bn.var = &bn.var * BN_MOMENTUM + &var * (1.0 - BN_MOMENTUM);
        }
    }

    /// Gradients of this layer's parameters from its input and the gradient
    /// `dz` of its (pre-activation) sums, with L1/L2 on the kernel; and the
    /// regularisation's share of the loss.
    pub fn param_grads(&self, input: &Array2<f32>, dz: &Array2<f32>, l1: f32, l2: f32) -> (Grads, f32) {
        let dw_eff = input.t().dot(dz);
        let db_eff = dz.sum_axis(Axis(0));
        let mut g = match &self.bn {
            None => Grads { w: dw_eff, b: db_eff, gamma: None, beta: None },
            Some(bn) => {
                let inv_sigma = bn.var.mapv(|v| 1.0 / (v + BN_EPS).sqrt());
                let scale = &bn.gamma * &inv_sigma;
                let dgamma = (&dw_eff * &self.w).sum_axis(Axis(0)) * &inv_sigma + &db_eff * &(&self.b - &bn.mean) * &inv_sigma;
                Grads { w: &dw_eff * &scale.view().insert_axis(Axis(0)), b: &db_eff * &scale, gamma: Some(dgamma), beta: Some(db_eff) }
            }
        };
        let mut reg = 0.0;
        if l1 > 0.0 || l2 > 0.0 {
            Zip::from(&mut g.w).and(&self.w).for_each(|g, &w| *g += l1 * w.signum() + 2.0 * l2 * w);
            reg = l1 * self.w.iter().map(|w| w.abs()).sum::<f32>() + l2 * self.w.iter().map(|w| w * w).sum::<f32>();
        }
        (g, reg)
    }

    pub fn params(&self) -> LayerParams {
        let (w, b) = self.folded();
        let (wq, bq) = self.quantized();
        let n_in = w.nrows();
        let (_, _, exps) = quantize_params(&self.block, w.as_slice().unwrap(), b.as_slice().unwrap(), n_in);
        LayerParams {
            name: self.block.name.clone(),
            n_in,
            n_out: w.ncols(),
            kernel: w.iter().copied().collect(),
            bias: b.to_vec(),
            kernel_q: wq.iter().copied().collect(),
            bias_q: bq.to_vec(),
            po2_exponents: exps,
        }
    }
}

pub struct QatNetwork {
    pub layers: Vec<QatLayer>,
    /// The image layers before the dense head (a convolutional model).
    pub features: Option<FeatureNet>,
}

fn quantize_activation(q: &Quantizer, a: &mut Array2<f32>) {
    if !q.is_float() {
        q.quantize_slice(a.as_slice_mut().expect("contiguous"));
    }
}

/// A ReLU or linear activation through its quantizer, in place; the
/// straight-through mask of a ReLU (1 where the quantized ReLU can still
/// move: 0 < z < its largest output, as QKeras' quantized_relu with
/// relu_upper_bound there).
pub(crate) fn activate(block: &DenseBlock, z: &mut Array2<f32>) -> Option<Array2<f32>> {
    let q = &block.activation_quantizer;
    match block.activation {
        Activation::Relu => {
            let upper = activation_upper_bound(q);
            let mask = z.mapv(|v| if v > 0.0 && v < upper { 1.0 } else { 0.0 });
            z.mapv_inplace(|v| v.max(0.0));
            quantize_activation(q, z);
            Some(mask)
        }
        Activation::Linear | Activation::Softmax => {
            quantize_activation(q, z);
            None
        }
    }
}

impl QatNetwork {
    /// LeCun-uniform kernels (as the paper's model), zero biases, from `seed`.
    pub fn init(spec: &ModelSpec, seed: u64) -> QatNetwork {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let layers = spec
            .blocks
            .iter()
            .zip(spec.block_inputs())
            .map(|(block, n_in)| {
                let limit = (3.0 / n_in as f32).sqrt();
                let w = Array2::from_shape_fn((n_in, block.units), |_| rng.gen_range(-limit..limit));
                let bn = block.batchnorm.then(|| BatchNorm {
                    gamma: Array1::ones(block.units),
                    beta: Array1::zeros(block.units),
                    mean: Array1::zeros(block.units),
                    var: Array1::ones(block.units),
                });
                QatLayer { block: block.clone(), w, b: Array1::zeros(block.units), bn }
            })
            .collect();
        QatNetwork { layers, features: FeatureNet::init(spec, seed) }
    }

    /// Rebuild a trained model, image layers included (folded: batch norm becomes identity).
    pub fn from_model(model: &crate::model::TrainedModel) -> QatNetwork {
        let mut net = QatNetwork::from_params(&model.spec, &model.layers);
        net.features = FeatureNet::from_params(&model.spec, &model.conv_layers);
        net
    }

    /// Rebuild the dense layers from saved parameters (folded: batch norm becomes identity).
    pub fn from_params(spec: &ModelSpec, params: &[LayerParams]) -> QatNetwork {
        let layers = spec
            .blocks
            .iter()
            .zip(params)
            .map(|(block, p)| QatLayer {
                block: DenseBlock { batchnorm: false, ..block.clone() },
                w: Array2::from_shape_vec((p.n_in, p.n_out), p.kernel.clone()).expect("shape"),
                b: Array1::from(p.bias.clone()),
                bn: None,
            })
            .collect();
        QatNetwork { layers, features: None }
    }

    /// Forward pass; returns class probabilities (softmax in float, as QKeras
    /// trains) or the last layer's outputs. With `tape`, records for backward.
    pub fn forward(&mut self, x: ArrayView2<f32>, training: bool, mut tape: Option<&mut Tape>) -> Array2<f32> {
        let mut a = match self.features.as_mut() {
            Some(features) => features.forward(x, training, tape.is_some()),
            None => x.to_owned(),
        };
        let n_layers = self.layers.len();
        for (li, layer) in self.layers.iter_mut().enumerate() {
            if training {
                layer.update_batch_stats(&a);
            }
            let (wq, bq) = layer.quantized();
            let mut z = a.dot(&wq);
            z += &bq.view().insert_axis(Axis(0));
            let mask = if layer.block.activation == Activation::Softmax {
                debug_assert_eq!(li + 1, n_layers);
                softmax_rows(&mut z);
                None
            } else {
                activate(&layer.block, &mut z)
            };
            if let Some(t) = tape.as_deref_mut() {
                t.inputs.push(a);
                t.weights_q.push(wq);
                t.masks.push(mask);
            }
            a = z;
        }
        a
    }

    /// Softmax cross-entropy loss and gradients for a batch with labels `y`.
    pub fn loss_and_grads(&mut self, x: ArrayView2<f32>, y: &[u8], l1: f32, l2: f32) -> (f32, Vec<Grads>) {
        let mut tape = Tape { inputs: vec![], weights_q: vec![], masks: vec![] };
        let probs = self.forward(x, true, Some(&mut tape));
        let n = y.len() as f32;
        let mut loss = 0.0;
        let mut dz = probs;
        for (mut row, &c) in dz.rows_mut().into_iter().zip(y) {
            loss -= row[c as usize].max(1e-12).ln();
            row[c as usize] -= 1.0;
        }
        dz /= n;
        loss /= n;
        let mut grads: Vec<Grads> = Vec::with_capacity(self.layers.len());
        for li in (0..self.layers.len()).rev() {
            let (g, reg) = self.layers[li].param_grads(&tape.inputs[li], &dz, l1, l2);
            loss += reg;
            if li > 0 || self.features.is_some() {
                let mut da = dz.dot(&tape.weights_q[li].t());
                if li > 0 {
                    if let Some(mask) = &tape.masks[li - 1] {
                        da *= mask;
                    }
                }
                dz = da;
            }
            grads.push(g);
        }
        if let Some(features) = self.features.as_mut() {
            loss += features.backward(dz, l1, l2);
        }
        grads.reverse();
        (loss, grads)
    }

    /// Probabilities for many samples, in batches.
    pub fn predict(&mut self, x: ArrayView2<f32>) -> Array2<f32> {
        let n_out = self.layers.last().map(|l| l.w.ncols()).unwrap_or(0);
        let mut out = Array2::zeros((x.nrows(), n_out));
        let step = 4096;
        let mut start = 0;
        while start < x.nrows() {
            let end = (start + step).min(x.nrows());
            let p = self.forward(x.slice(s![start..end, ..]), false, None);
            out.slice_mut(s![start..end, ..]).assign(&p);
            start = end;
        }
        out
    }
}

/// Largest value a ReLU quantizer outputs (infinity when unquantized).
fn activation_upper_bound(q: &Quantizer) -> f32 {
    match q {
        Quantizer::QuantizedRelu { bits, integer } => (*integer as f32).exp2() * (1.0 - (-(*bits as f32)).exp2()),
        Quantizer::LeakyRelu { .. } | Quantizer::ReluPo2 { .. } => q.quantize(f32::MAX),
        Quantizer::QuantizedBits { .. } => q.quantize(f32::MAX),
        _ => f32::INFINITY,
    }
}

pub fn softmax_rows(z: &mut Array2<f32>) {
    for mut row in z.rows_mut() {
        let m = row.fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        row.mapv_inplace(|v| (v - m).exp());
        let s = row.sum();
        row /= s;
    }
}
