//! Quantization-aware training: mini-batch Adam on softmax cross-entropy through
//! the QKeras quantizers (straight-through estimator), L1/L2 regularisation,
//! early stopping on validation loss with the best weights restored. Input: a
//! [`ModelSpec`] and standardised [`Dataset`]s; output: a [`TrainedModel`].
//! A fixed seed gives identical weights.
pub mod conv_qat;
pub mod metrics;
pub mod qat;
pub mod session;

use crate::data::Dataset;
use crate::events::{Event, Reporter};
use crate::model::network::{MODEL_FORMAT, MODEL_VERSION};
use crate::model::{ModelSpec, Scaler, TrainedModel};
use ndarray::{Array1, Array2, ArrayView2};
use qat::{Grads, QatNetwork};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::time::Instant;

/// Adam with Keras' defaults (β1 0.9, β2 0.999, ε 1e-7).
struct Adam {
    lr: f32,
    t: i32,
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
}

impl Adam {
    fn new(lr: f32) -> Self {
        Adam { lr, t: 0, m: vec![], v: vec![] }
    }
    /// Update every parameter slice with its gradient slice, in a fixed order.
    fn step(&mut self, params: Vec<&mut [f32]>, grads: Vec<&[f32]>) {
        if self.m.is_empty() {
            self.m = grads.iter().map(|g| vec![0.0; g.len()]).collect();
            self.v = self.m.clone();
        }
        self.t += 1;
        let (b1, b2, eps) = (0.9f32, 0.999f32, 1e-7f32);
        let lr_t = self.lr * (1.0 - b2.powi(self.t)).sqrt() / (1.0 - b1.powi(self.t));
        for (k, (p, g)) in params.into_iter().zip(grads).enumerate() {
            for ((pi, &gi), (mi, vi)) in p.iter_mut().zip(g).zip(self.m[k].iter_mut().zip(self.v[k].iter_mut())) {
                *mi = b1 * *mi + (1.0 - b1) * gi;
                *vi = b2 * *vi + (1.0 - b2) * gi * gi;
                *pi -= lr_t * *mi / (vi.sqrt() + eps);
            }
        }
    }
}

/// One epoch's numbers.
#[derive(Clone, Debug, Serialize)]
pub struct EpochLog {
    pub epoch: usize,
    pub train_loss: f32,
    pub val_loss: f32,
    pub val_accuracy: f64,
    pub samples_per_second: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct TrainReport {
    pub epochs: Vec<EpochLog>,
    pub best_epoch: usize,
    pub stopped_early: bool,
    pub seconds: f64,
}

fn view(d: &Dataset) -> ArrayView2<'_, f32> {
    ArrayView2::from_shape((d.len(), d.n_features), &d.x).expect("dataset shape")
}

fn apply_grads(net: &mut QatNetwork, adam: &mut Adam, grads: &[Grads]) {
    let mut params: Vec<&mut [f32]> = Vec::new();
    let mut gs: Vec<&[f32]> = Vec::new();
    for (layer, g) in net.layers.iter_mut().zip(grads) {
        params.push(layer.w.as_slice_mut().expect("contiguous"));
        gs.push(g.w.as_slice().expect("contiguous"));
        params.push(layer.b.as_slice_mut().expect("contiguous"));
        gs.push(g.b.as_slice().expect("contiguous"));
        if let (Some(bn), Some(dg), Some(db)) = (layer.bn.as_mut(), g.gamma.as_ref(), g.beta.as_ref()) {
            params.push(bn.gamma.as_slice_mut().expect("contiguous"));
            gs.push(dg.as_slice().expect("contiguous"));
            params.push(bn.beta.as_slice_mut().expect("contiguous"));
            gs.push(db.as_slice().expect("contiguous"));
        }
    }
    if let Some(features) = net.features.as_mut() {
        for (p, g) in features.params_and_grads() {
            params.push(p);
            gs.push(g);
        }
    }
    adam.step(params, gs);
}

/// Mean cross-entropy and accuracy of `net` on `data`.
pub fn evaluate(net: &mut QatNetwork, data: &Dataset) -> (f32, f64, Array2<f32>) {
    let probs = net.predict(view(data));
    let mut loss = 0.0f64;
    for (row, &y) in probs.rows().into_iter().zip(&data.y) {
        loss -= (row[y as usize].max(1e-12) as f64).ln();
    }
    let acc = metrics::accuracy(probs.as_slice().expect("contiguous"), probs.ncols(), &data.y);
    ((loss / data.len().max(1) as f64) as f32, acc, probs)
}

/// A layer's weights, biases and batch-norm state (gamma, beta, mean, var).
type LayerSnapshot = (Array2<f32>, Array1<f32>, Option<[Array1<f32>; 4]>);

/// The dense layers' state and the image layers' (weights only).
type Snapshot = (Vec<LayerSnapshot>, Option<conv_qat::FeatureNet>);

fn snapshot(net: &QatNetwork) -> Snapshot {
    (dense_snapshot(net), net.features.clone())
}

fn restore(net: &mut QatNetwork, (dense, features): Snapshot) {
    restore_dense(net, dense);
    net.features = features;
}

fn dense_snapshot(net: &QatNetwork) -> Vec<LayerSnapshot> {
    net.layers
        .iter()
        .map(|l| (l.w.clone(), l.b.clone(), l.bn.as_ref().map(|bn| [bn.gamma.clone(), bn.beta.clone(), bn.mean.clone(), bn.var.clone()])))
        .collect()
}

fn restore_dense(net: &mut QatNetwork, snap: Vec<LayerSnapshot>) {
    for (layer, (w, b, bn)) in net.layers.iter_mut().zip(snap) {
        layer.w = w;
        layer.b = b;
        if let (Some(dst), Some([g, be, m, v])) = (layer.bn.as_mut(), bn) {
            dst.gamma = g;
            dst.beta = be;
            dst.mean = m;
            dst.var = v;
        }
    }
}

/// Train `spec` on standardised `train`/`val` data; `epochs` overrides the spec's.
pub fn train(
    spec: &ModelSpec,
    train: &Dataset,
    val: &Dataset,
    epochs: Option<usize>,
    reporter: &dyn Reporter,
) -> (QatNetwork, TrainReport) {
    train_from(spec, QatNetwork::init(spec, spec.training.seed), train, val, epochs, reporter)
}

/// [`train`] from the network `net` (its weights are the starting point).
pub fn train_from(
    spec: &ModelSpec,
    mut net: QatNetwork,
    train: &Dataset,
    val: &Dataset,
    epochs: Option<usize>,
    reporter: &dyn Reporter,
) -> (QatNetwork, TrainReport) {
    let cfg = &spec.training;
    let epochs = epochs.unwrap_or(cfg.epochs);
    let mut adam = Adam::new(cfg.learning_rate);
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x5eed);
    let mut order: Vec<usize> = (0..train.len()).collect();
    let started = Instant::now();
    let mut logs = Vec::new();
    let mut best = (f32::INFINITY, 0usize, snapshot(&net));
    let mut stopped_early = false;
    let batches = train.len().div_ceil(cfg.batch_size) as u64;
    for epoch in 1..=epochs {
        reporter.event(Event::Begin { label: format!("epoch {epoch}/{epochs}"), total: batches });
        let t0 = Instant::now();
        order.shuffle(&mut rng);
        let mut loss_sum = 0.0f64;
        let mut batch_x = Vec::with_capacity(cfg.batch_size * train.n_features);
        let mut batch_y = Vec::with_capacity(cfg.batch_size);
        for (b, chunk) in order.chunks(cfg.batch_size).enumerate() {
            batch_x.clear();
            batch_y.clear();
            for &i in chunk {
                batch_x.extend_from_slice(train.row(i));
                batch_y.push(train.y[i]);
            }
            let xb = ArrayView2::from_shape((chunk.len(), train.n_features), &batch_x).expect("batch shape");
            let (loss, grads) = net.loss_and_grads(xb, &batch_y, cfg.l1, cfg.l2);
            apply_grads(&mut net, &mut adam, &grads);
            loss_sum += loss as f64 * chunk.len() as f64;
            if b % 16 == 0 {
                reporter.event(Event::Progress { done: b as u64 + 1, message: format!("loss {loss:.4}") });
            }
        }
        let train_secs = t0.elapsed().as_secs_f64();
        let (val_loss, val_acc, _) = evaluate(&mut net, val);
        let log = EpochLog {
            epoch,
            train_loss: (loss_sum / train.len().max(1) as f64) as f32,
            val_loss,
            val_accuracy: val_acc,
            samples_per_second: train.len() as f64 / train_secs,
        };
        reporter.event(Event::End {
            message: format!(
                "epoch {epoch}: loss {:.4}, val loss {:.4}, val acc {:.2}%, {:.0} samples/s",
                log.train_loss,
                val_loss,
                100.0 * val_acc,
                log.samples_per_second
            ),
        });
        logs.push(log);
        if val_loss < best.0 {
            best = (val_loss, epoch, snapshot(&net));
        } else if epoch - best.1 >= cfg.patience.max(1) {
            stopped_early = epoch < epochs;
            break;
        }
    }
    let best_epoch = best.1;
    restore(&mut net, best.2);
    let report = TrainReport { epochs: logs, best_epoch, stopped_early, seconds: started.elapsed().as_secs_f64() };
    (net, report)
}

/// Package a trained network as a model.json.
pub fn to_model(
    spec: &ModelSpec,
    net: &QatNetwork,
    scaler: Scaler,
    feature_names: Vec<String>,
    metrics: serde_json::Value,
) -> TrainedModel {
    TrainedModel {
        format: MODEL_FORMAT.into(),
        version: MODEL_VERSION,
        spec: spec.clone(),
        feature_names,
        scaler,
        layers: net.layers.iter().map(|l| l.params()).collect(),
        conv_layers: net.features.as_ref().map(|f| f.conv_params()).unwrap_or_default(),
        metrics,
    }
}
