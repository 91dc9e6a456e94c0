//! The image layers under quantization-aware training: convolutions as dense
//! layers on their patches (im2col, so the kernel is Keras'
//! `[kh][kw][in][filters]` and quantizers, batch normalization, the
//! straight-through estimator and L1/L2 are the dense layer's, [`QatLayer`]),
//! max and average pooling (window and global; padded cells ignored, as
//! Keras), and flatten. Forward and backward over a batch of flat,
//! channels-last images.
use super::qat::{activate, BatchNorm, Grads, QatLayer};
use crate::model::conv::{tap, Shape3};
use crate::model::features::{ConvLayer, FeatureLayer, Tensor};
use crate::model::pool::PoolOp;
use crate::model::{LayerParams, ModelSpec};
use ndarray::{Array1, Array2, ArrayView2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A convolution: its kernel as a dense layer and where its patches come from.
#[derive(Clone)]
pub struct ConvQat {
    pub layer: QatLayer,
    pub use_bias: bool,
    input: Shape3,
    /// Per output position, per kernel cell: the input position (`y·W + x`), None in the padding.
    taps: Vec<Vec<Option<usize>>>,
    grads: Option<Grads>,
}

/// A pooling: per output position the input positions it reduces.
#[derive(Clone)]
pub struct PoolQat {
    op: PoolOp,
    channels: usize,
    in_len: usize,
    cells: Vec<Vec<usize>>,
}

#[derive(Clone)]
pub enum FeatureQat {
    Conv(Box<ConvQat>),
    Pool(PoolQat),
    Flatten,
}

/// What a layer's forward pass keeps for its backward pass.
enum Saved {
    Conv {
        patches: Array2<f32>,
        weights_q: Array2<f32>,
        mask: Option<Array2<f32>>,
    },
    /// For each output value, the input index its gradient goes to (max) or the
    /// inputs it averages (average).
    Pool {
        routes: Vec<u32>,
    },
    Flatten,
}

/// The image layers of a model, in order.
pub struct FeatureNet {
    pub layers: Vec<FeatureQat>,
    tape: Vec<Saved>,
}

impl Clone for FeatureNet {
    /// The weights and structure; not the tape of the last batch.
    fn clone(&self) -> Self {
        FeatureNet { layers: self.layers.clone(), tape: vec![] }
    }
}

/// Each layer's input map (a flat input is a 1×1 map).
fn layer_inputs(spec: &ModelSpec) -> Vec<Shape3> {
    spec.feature_inputs()
        .into_iter()
        .map(|t| match t {
            Tensor::Map { shape, .. } => shape,
            Tensor::Flat(n) => Shape3::new(1, 1, n),
        })
        .collect()
}

impl ConvQat {
    fn new(c: &ConvLayer, input: Shape3, w: Array2<f32>, b: Array1<f32>, trained: bool) -> ConvQat {
        let window = c.window();
        let p = window.place(&c.name, input).expect("a validated spec places every window");
        let mut taps = Vec::with_capacity(p.out_height * p.out_width);
        for oy in 0..p.out_height {
            for ox in 0..p.out_width {
                let mut cells = Vec::with_capacity(c.kernel_size.0 * c.kernel_size.1);
                for ky in 0..c.kernel_size.0 {
                    for kx in 0..c.kernel_size.1 {
                        cells.push(tap(&p, &window, input, (oy, ox), (ky, kx)).map(|(y, x)| y * input.width + x));
                    }
                }
                taps.push(cells);
            }
        }
        let block = c.as_block();
        let bn = (c.batchnorm && !trained).then(|| BatchNorm {
            gamma: Array1::ones(c.filters),
            beta: Array1::zeros(c.filters),
            mean: Array1::zeros(c.filters),
            var: Array1::ones(c.filters),
        });
        let block = if trained { crate::model::DenseBlock { batchnorm: false, ..block } } else { block };
        ConvQat { layer: QatLayer { block, w, b, bn }, use_bias: c.use_bias, input, taps, grads: None }
    }

    /// im2col: one row per (image, output position), `kh·kw·in_channels` columns.
    fn patches(&self, x: ArrayView2<f32>) -> Array2<f32> {
        let cin = self.input.channels;
        let k = self.layer.w.nrows();
        let mut out = Array2::zeros((x.nrows() * self.taps.len(), k));
        for (b, image) in x.rows().into_iter().enumerate() {
            for (p, cells) in self.taps.iter().enumerate() {
                let mut row = out.row_mut(b * self.taps.len() + p);
                for (j, cell) in cells.iter().enumerate() {
                    if let Some(pos) = cell {
                        for c in 0..cin {
                            row[j * cin + c] = image[pos * cin + c];
                        }
                    }
                }
            }
        }
        out
    }

    /// The gradient of the input images from the gradient of the patches (col2im).
    fn scatter(&self, dpatches: &Array2<f32>, batch: usize) -> Array2<f32> {
        let cin = self.input.channels;
        let mut dx = Array2::zeros((batch, self.input.len()));
        for b in 0..batch {
            let mut image = dx.row_mut(b);
            for (p, cells) in self.taps.iter().enumerate() {
                let row = dpatches.row(b * self.taps.len() + p);
                for (j, cell) in cells.iter().enumerate() {
                    if let Some(pos) = cell {
                        for c in 0..cin {
                            image[pos * cin + c] += row[j * cin + c];
                        }
                    }
                }
            }
        }
        dx
    }
}

impl PoolQat {
    fn window(op: PoolOp, input: Shape3, window: crate::model::conv::Window, name: &str) -> PoolQat {
        let p = window.place(name, input).expect("a validated spec places every window");
        let mut cells = Vec::with_capacity(p.out_height * p.out_width);
        for oy in 0..p.out_height {
            for ox in 0..p.out_width {
                let mut c = Vec::new();
                for ky in 0..window.size.0 {
                    for kx in 0..window.size.1 {
                        if let Some((y, x)) = tap(&p, &window, input, (oy, ox), (ky, kx)) {
                            c.push(y * input.width + x);
                        }
                    }
                }
                cells.push(c);
            }
        }
        PoolQat { op, channels: input.channels, in_len: input.len(), cells }
    }

    fn global(op: PoolOp, input: Shape3) -> PoolQat {
        PoolQat { op, channels: input.channels, in_len: input.len(), cells: vec![(0..input.height * input.width).collect()] }
    }

    fn forward(&self, x: ArrayView2<f32>) -> (Array2<f32>, Vec<u32>) {
        let ch = self.channels;
        let mut out = Array2::zeros((x.nrows(), self.cells.len() * ch));
        let mut routes = Vec::new();
        for (b, image) in x.rows().into_iter().enumerate() {
            for (p, cells) in self.cells.iter().enumerate() {
                for c in 0..ch {
                    let v = match self.op {
                        PoolOp::Max => {
                            let best = cells.iter().map(|&s| s * ch + c).fold(None, |best: Option<usize>, i| match best {
                                Some(j) if image[j] >= image[i] => Some(j),
                                _ => Some(i),
                            });
                            let i = best.expect("a window holds a cell");
                            routes.push(i as u32);
                            image[i]
                        }
                        PoolOp::Average => cells.iter().map(|&s| image[s * ch + c]).sum::<f32>() / cells.len() as f32,
                    };
                    out[[b, p * ch + c]] = v;
                }
            }
        }
        (out, routes)
    }

    fn backward(&self, dy: &Array2<f32>, routes: &[u32]) -> Array2<f32> {
        let ch = self.channels;
        let mut dx = Array2::zeros((dy.nrows(), self.in_len));
        let per_image = self.cells.len() * ch;
        for b in 0..dy.nrows() {
            for (p, cells) in self.cells.iter().enumerate() {
                for c in 0..ch {
                    let g = dy[[b, p * ch + c]];
                    match self.op {
                        PoolOp::Max => dx[[b, routes[b * per_image + p * ch + c] as usize]] += g,
                        PoolOp::Average => {
                            let share = g / cells.len() as f32;
                            for &s in cells {
                                dx[[b, s * ch + c]] += share;
                            }
                        }
                    }
                }
            }
        }
        dx
    }
}

impl FeatureNet {
    /// Glorot-uniform kernels (Keras' default for convolutions), zero biases,
    /// from their own stream of `seed` (a dense model's weights stay as they were).
    pub fn init(spec: &ModelSpec, seed: u64) -> Option<FeatureNet> {
        if spec.features.is_empty() {
            return None;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xc0117);
        let layers = spec
            .features
            .iter()
            .zip(layer_inputs(spec))
            .map(|(layer, input)| match layer {
                FeatureLayer::Conv(c) => {
                    let cells = c.kernel_size.0 * c.kernel_size.1;
                    let (fan_in, fan_out) = (cells * input.channels, cells * c.filters);
                    let limit = (6.0 / (fan_in + fan_out) as f32).sqrt();
                    let w = Array2::from_shape_fn((fan_in, c.filters), |_| rng.gen_range(-limit..limit));
                    FeatureQat::Conv(Box::new(ConvQat::new(c, input, w, Array1::zeros(c.filters), false)))
                }
                other => pool_layer(other, input),
            })
            .collect();
        Some(FeatureNet { layers, tape: vec![] })
    }

    /// Rebuild from saved (folded) convolution parameters.
    pub fn from_params(spec: &ModelSpec, params: &[LayerParams]) -> Option<FeatureNet> {
        if spec.features.is_empty() {
            return None;
        }
        let mut params = params.iter();
        let layers = spec
            .features
            .iter()
            .zip(layer_inputs(spec))
            .map(|(layer, input)| match layer {
                FeatureLayer::Conv(c) => {
                    let p = params.next().expect("validated: one parameter set per convolution");
                    let w = Array2::from_shape_vec((p.n_in, p.n_out), p.kernel.clone()).expect("validated shape");
                    FeatureQat::Conv(Box::new(ConvQat::new(c, input, w, Array1::from(p.bias.clone()), true)))
                }
                other => pool_layer(other, input),
            })
            .collect();
        Some(FeatureNet { layers, tape: vec![] })
    }

    /// Images (`batch × H·W·C`) to the dense head's inputs; with `record`, keeps the tape.
    pub fn forward(&mut self, x: ArrayView2<f32>, training: bool, record: bool) -> Array2<f32> {
        self.tape.clear();
        let mut a = x.to_owned();
        for layer in self.layers.iter_mut() {
            let batch = a.nrows();
            let (next, saved) = match layer {
                FeatureQat::Conv(conv) => {
                    let patches = conv.patches(a.view());
                    if training {
                        conv.layer.update_batch_stats(&patches);
                    }
                    let (wq, bq) = conv.layer.quantized();
                    let mut z = patches.dot(&wq);
                    z += &bq.view().insert_axis(ndarray::Axis(0));
                    let mask = activate(&conv.layer.block, &mut z);
                    let cols = z.len() / batch;
                    let out = z.into_shape((batch, cols)).expect("row-major: one row per image");
                    (out, Saved::Conv { patches, weights_q: wq, mask })
                }
                FeatureQat::Pool(pool) => {
                    let (out, routes) = pool.forward(a.view());
                    (out, Saved::Pool { routes })
                }
                FeatureQat::Flatten => (a, Saved::Flatten),
            };
            if record {
                self.tape.push(saved);
            }
            a = next;
        }
        a
    }

    /// Backward from the gradient of the head's inputs: keeps each
    /// convolution's gradients for [`Self::params_and_grads`]; returns the
    /// regularisation's share of the loss.
    pub fn backward(&mut self, mut dy: Array2<f32>, l1: f32, l2: f32) -> f32 {
        let mut reg = 0.0;
        let tape = std::mem::take(&mut self.tape);
        for (layer, saved) in self.layers.iter_mut().zip(tape).rev() {
            let batch = dy.nrows();
            dy = match (layer, saved) {
                (FeatureQat::Conv(conv), Saved::Conv { patches, weights_q, mask }) => {
                    let rows = patches.nrows();
                    let mut dz = dy.into_shape((rows, conv.layer.w.ncols())).expect("one row per position");
                    if let Some(m) = mask {
                        dz *= &m;
                    }
                    let (mut g, r) = conv.layer.param_grads(&patches, &dz, l1, l2);
                    if !conv.use_bias {
                        g.b.fill(0.0);
                    }
                    reg += r;
                    conv.grads = Some(g);
                    conv.scatter(&dz.dot(&weights_q.t()), batch)
                }
                (FeatureQat::Pool(pool), Saved::Pool { routes }) => pool.backward(&dy, &routes),
                (_, _) => dy,
            };
        }
        reg
    }

    /// Every trainable slice and its gradient, in a fixed order (for Adam).
    pub fn params_and_grads(&mut self) -> Vec<(&mut [f32], &[f32])> {
        let mut out = Vec::new();
        for layer in self.layers.iter_mut() {
            if let FeatureQat::Conv(conv) = layer {
                let ConvQat { layer, grads: Some(g), .. } = conv.as_mut() else { continue };
                out.push((layer.w.as_slice_mut().expect("contiguous"), g.w.as_slice().expect("contiguous")));
                out.push((layer.b.as_slice_mut().expect("contiguous"), g.b.as_slice().expect("contiguous")));
                if let (Some(bn), Some(dg), Some(db)) = (layer.bn.as_mut(), g.gamma.as_ref(), g.beta.as_ref()) {
                    out.push((bn.gamma.as_slice_mut().expect("contiguous"), dg.as_slice().expect("contiguous")));
                    out.push((bn.beta.as_slice_mut().expect("contiguous"), db.as_slice().expect("contiguous")));
                }
            }
        }
        out
    }

    /// The convolutions' folded parameters, for model.json.
    pub fn conv_params(&self) -> Vec<LayerParams> {
        self.layers
            .iter()
            .filter_map(|l| match l {
                FeatureQat::Conv(c) => Some(c.layer.params()),
                _ => None,
            })
            .collect()
    }
}

fn pool_layer(layer: &FeatureLayer, input: Shape3) -> FeatureQat {
    match layer {
        FeatureLayer::Pool(p) => FeatureQat::Pool(PoolQat::window(p.op, input, p.window(), &p.name)),
        FeatureLayer::GlobalPool(g) => FeatureQat::Pool(PoolQat::global(g.op, input)),
        FeatureLayer::Flatten { .. } => FeatureQat::Flatten,
        FeatureLayer::Conv(_) => unreachable!("convolutions are built by the caller"),
    }
}
