//! The image layers of a convolutional model as steps of the HLS top
//! function: each convolution (`nnet::conv_2d_cl`, its weights and biases as
//! raw-bit headers, then its ReLU or cast as an activation step), each window
//! or global pooling (`nnet::pooling2d_cl`; a global pooling is a window over
//! the whole map); a flatten is no step (channels-last order is already the
//! dense layer's input order). Types are the fixed-point network's.
//!
//! For io_stream the same steps carry their streams' shapes (values per
//! transaction, transactions), a global pooling is its own streaming step,
//! a flatten of a map of more than one pixel packs it into one transaction,
//! and each conv states its kernel as a dense layer (`mult_config`).
use super::config::HlsConfig;
use super::cpp_text::{array_header, raw_cpp};
use super::project::{ActivationCtx, Pending, SizeDef, Typedef};
use crate::error::Result;
use crate::model::conv::{Placement, Shape3};
use crate::model::fixed_features::{FeatureStack, FixedFeature};
use crate::model::pool::PoolOp;
use crate::model::{FixedNetwork, TrainedModel};
use crate::quant::FixedType;
use serde::Serialize;
use std::path::PathBuf;

/// A window's geometry as `parameters.h` states it.
#[derive(Serialize)]
pub(super) struct WindowCtx {
    in_height: usize,
    in_width: usize,
    channels: usize,
    out_height: usize,
    out_width: usize,
    height: usize,
    width: usize,
    stride_height: usize,
    stride_width: usize,
    pad_top: usize,
    pad_left: usize,
    /// The map with its padding, as the io_stream line buffer scans it.
    padded_height: usize,
    padded_width: usize,
}

impl WindowCtx {
    fn new(input: Shape3, size: (usize, usize), stride: (usize, usize), p: Placement) -> WindowCtx {
        // Every input pixel is read, and the last window fits (Keras' padding).
        let padded = |n: usize, pad: usize, out: usize, k: usize, s: usize| (pad + n).max((out - 1) * s + k);
        WindowCtx {
            padded_height: padded(input.height, p.pad_top, p.out_height, size.0, stride.0),
            padded_width: padded(input.width, p.pad_left, p.out_width, size.1, stride.1),
            in_height: input.height,
            in_width: input.width,
            channels: input.channels,
            out_height: p.out_height,
            out_width: p.out_width,
            height: size.0,
            width: size.1,
            stride_height: stride.0,
            stride_width: stride.1,
            pad_top: p.pad_top,
            pad_left: p.pad_left,
        }
    }
}

#[derive(Serialize)]
pub(super) struct ConvCtx {
    index: usize,
    name: String,
    filters: usize,
    reuse: usize,
    window: WindowCtx,
    mult: MultCtx,
}

/// A conv kernel as the dense layer the io_stream conv calls per output pixel.
#[derive(Serialize)]
pub(super) struct MultCtx {
    n_in: usize,
    n_out: usize,
    reuse: usize,
    strategy: &'static str,
    multiplier_limit: usize,
}

#[derive(Serialize)]
pub(super) struct PoolCtx {
    index: usize,
    name: String,
    op: &'static str,
    reuse: usize,
    window: WindowCtx,
    global: bool,
}

/// What the image layers add to the project.
#[derive(Default)]
pub(super) struct FeatureParts {
    pub(super) sizes: Vec<SizeDef>,
    pub(super) typedefs: Vec<Typedef>,
    pub(super) files: Vec<(PathBuf, Vec<u8>)>,
    pub(super) activations: Vec<ActivationCtx>,
    pub(super) pending: Vec<Pending>,
    pub(super) convs: Vec<ConvCtx>,
    pub(super) pools: Vec<PoolCtx>,
}

/// The steps of `stack`, numbered on from `index`.
pub(super) fn feature_steps(
    stack: &FeatureStack,
    model: &TrainedModel,
    net: &FixedNetwork,
    config: &HlsConfig,
    index: &mut usize,
) -> Result<FeatureParts> {
    let (reuse, stream) = (config.reuse_factor, config.io_type == "io_stream");
    let mut parts = FeatureParts::default();
    // The map each layer takes: the image, then the previous layer's output.
    let mut map = image_shape(model).unwrap_or(Shape3::new(1, 1, net.n_inputs()));
    for layer in &stack.layers {
        let input = map;
        map = match layer {
            FixedFeature::Conv(c) => c.output_shape(),
            FixedFeature::Pool(p) => p.output_shape(),
            FixedFeature::GlobalPool(g) => g.output_shape(),
            FixedFeature::Flatten { .. } => Shape3::new(1, 1, input.len()),
        };
        match layer {
            FixedFeature::Conv(c) => {
                *index += 1;
                let k = *index;
                let out = c.output_shape();
                let n_macro = format!("N_LAYER_{k}");
                parts.sizes.push(SizeDef { name: n_macro.clone(), value: out.len() });
                let t = &c.types;
                for (what, ty) in [("weight", t.weight), ("bias", t.bias), ("accum", t.accum)] {
                    parts.typedefs.push(Typedef {
                        name: format!("layer{k}_{what}_t"),
                        cpp: ty.cpp(),
                        comment: format!("{} {what}", c.name),
                    });
                }
                for (what, ty) in [("weight", t.weight), ("bias", t.bias)] {
                    parts.typedefs.push(Typedef { name: format!("layer{k}_{what}_raw_t"), cpp: raw_cpp(&ty), comment: "raw bits".into() });
                }
                // A layer without bias adds zeros: the same sums.
                let biases = if c.biases.is_empty() { vec![0; c.filters] } else { c.biases.clone() };
                let (kh, kw) = c.window.size;
                let w_text = array_header(
                    &format!("W{k}_H_"),
                    &format!(
                        "w{k}.h: kernel of {} ([{kh}][{kw}][{}][{}], Keras order), {}",
                        c.name,
                        c.input.channels,
                        c.filters,
                        t.weight.cpp()
                    ),
                    &format!("layer{k}_weight_raw_t"),
                    &format!("w{k}"),
                    &c.weights,
                );
                let b_text = array_header(
                    &format!("B{k}_H_"),
                    &format!("b{k}.h: biases of {} ({}), {}", c.name, c.filters, t.bias.cpp()),
                    &format!("layer{k}_bias_raw_t"),
                    &format!("b{k}"),
                    &biases,
                );
                parts.files.push((PathBuf::from(format!("firmware/weights/w{k}.h")), w_text.into_bytes()));
                parts.files.push((PathBuf::from(format!("firmware/weights/b{k}.h")), b_text.into_bytes()));
                let window = WindowCtx::new(c.input, c.window.size, c.window.stride, c.placement());
                let n_in = kh * kw * c.input.channels;
                let mult = MultCtx {
                    n_in,
                    n_out: c.filters,
                    reuse,
                    strategy: config.strategy.name(),
                    multiplier_limit: (n_in * c.filters).div_ceil(reuse),
                };
                parts.convs.push(ConvCtx { index: k, name: c.name.clone(), filters: c.filters, reuse, window, mult });
                parts.pending.push(Pending {
                    kind: "conv_2d_cl",
                    index: k,
                    comment: format!("{}: conv {kh}x{kw}, {} filters, {} -> {out}", c.name, c.filters, c.input),
                    out_cpp: t.result.cpp(),
                    n_macro: n_macro.clone(),
                    chan: c.filters,
                    depth: out.height * out.width,
                });
                let kind = if c.relu { Some("relu") } else { (t.out != t.result).then_some("linear") };
                if let Some(kind) = kind {
                    *index += 1;
                    parts.activations.push(ActivationCtx { index: *index, kind, n: out.len(), leaky: None });
                    parts.pending.push(Pending {
                        kind,
                        index: *index,
                        comment: format!("{}: {kind} into {}", c.name, t.out.cpp()),
                        out_cpp: t.out.cpp(),
                        n_macro,
                        chan: c.filters,
                        depth: out.height * out.width,
                    });
                }
            }
            FixedFeature::Pool(p) => {
                let window = WindowCtx::new(p.input, p.window.size, p.window.stride, p.placement());
                pool_step(&mut parts, index, (reuse, false), (&p.name, p.op), window, (p.types.accum, p.types.result), p.output_shape());
            }
            FixedFeature::GlobalPool(g) => {
                let whole = (g.input.height, g.input.width);
                let placement = Placement { out_height: 1, out_width: 1, pad_top: 0, pad_left: 0 };
                let window = WindowCtx::new(g.input, whole, (1, 1), placement);
                let kind = (reuse, stream);
                pool_step(&mut parts, index, kind, (&g.name, g.op), window, (g.types.accum, g.types.result), g.output_shape());
            }
            FixedFeature::Flatten { name } if stream && input.height * input.width > 1 => {
                // The previous step's output, packed into one transaction.
                let out_cpp = parts.pending.last().map(|p| p.out_cpp.clone()).unwrap_or_else(|| net.input_type.cpp());
                *index += 1;
                let n_macro = format!("N_LAYER_{}", *index);
                parts.sizes.push(SizeDef { name: n_macro.clone(), value: input.len() });
                parts.pending.push(Pending {
                    kind: "flatten",
                    index: *index,
                    comment: format!("{name}: flatten {input} into one transaction"),
                    out_cpp,
                    n_macro,
                    chan: input.len(),
                    depth: 1,
                });
            }
            FixedFeature::Flatten { .. } => {}
        }
    }
    Ok(parts)
}

/// A pooling step; `(reuse, global_stream)`: a global pooling in io_stream is its own kernel.
fn pool_step(
    parts: &mut FeatureParts,
    index: &mut usize,
    (reuse, global_stream): (usize, bool),
    (name, op): (&str, PoolOp),
    window: WindowCtx,
    (accum, result): (FixedType, FixedType),
    out: Shape3,
) {
    *index += 1;
    let k = *index;
    let n_macro = format!("N_LAYER_{k}");
    parts.sizes.push(SizeDef { name: n_macro.clone(), value: out.len() });
    parts.typedefs.push(Typedef { name: format!("layer{k}_accum_t"), cpp: accum.cpp(), comment: format!("{name} accum") });
    let op_name = match op {
        PoolOp::Max => "pool_max",
        PoolOp::Average => "pool_average",
    };
    let comment =
        format!("{name}: {} pooling {}x{} -> {out}", if op == PoolOp::Max { "max" } else { "average" }, window.height, window.width);
    parts.pools.push(PoolCtx { index: k, name: name.into(), op: op_name, reuse, window, global: global_stream });
    let kind = if global_stream { "global_pooling2d_cl" } else { "pooling2d_cl" };
    let (chan, depth) = (out.channels, out.height * out.width);
    parts.pending.push(Pending { kind, index: k, comment, out_cpp: result.cpp(), n_macro, chan, depth });
}

/// The input stream's values per transaction and transactions: one pixel of
/// an image, or the whole flat input in one.
pub(super) fn input_transactions(model: &TrainedModel, net: &FixedNetwork) -> (usize, usize) {
    match image_shape(model) {
        Some(shape) => (shape.channels, shape.height * shape.width),
        None => (net.n_inputs(), 1),
    }
}

/// The input image of a model whose spec gives a shape (`[h, w, c]`, or `[steps, c]` as height 1).
fn image_shape(model: &TrainedModel) -> Option<Shape3> {
    match model.spec.input_shape.as_slice() {
        [h, w, c] => Some(Shape3::new(*h, *w, *c)),
        [w, c] => Some(Shape3::new(1, *w, *c)),
        _ => None,
    }
}
