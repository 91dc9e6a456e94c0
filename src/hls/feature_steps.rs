//! The image layers of a convolutional model as steps of the HLS top
//! function: each convolution (`nnet::conv_2d_cl`, its weights and biases as
//! raw-bit headers, then its ReLU or cast as an activation step), each window
//! or global pooling (`nnet::pooling2d_cl`; a global pooling is a window over
//! the whole map); a flatten is no step (channels-last order is already the
//! dense layer's input order). Types are the fixed-point network's.
use super::cpp_text::{array_header, raw_cpp};
use super::project::{ActivationCtx, Pending, SizeDef, Typedef};
use crate::error::Result;
use crate::model::conv::{Placement, Shape3};
use crate::model::fixed_features::{FeatureStack, FixedFeature};
use crate::model::pool::PoolOp;
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
}

impl WindowCtx {
    fn new(input: Shape3, size: (usize, usize), stride: (usize, usize), p: Placement) -> WindowCtx {
        WindowCtx {
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
}

#[derive(Serialize)]
pub(super) struct PoolCtx {
    index: usize,
    name: String,
    op: &'static str,
    reuse: usize,
    window: WindowCtx,
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
pub(super) fn feature_steps(stack: &FeatureStack, reuse: usize, index: &mut usize) -> Result<FeatureParts> {
    let mut parts = FeatureParts::default();
    for layer in &stack.layers {
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
                parts.convs.push(ConvCtx { index: k, name: c.name.clone(), filters: c.filters, reuse, window });
                parts.pending.push(Pending {
                    kind: "conv_2d_cl",
                    index: k,
                    comment: format!("{}: conv {kh}x{kw}, {} filters, {} -> {out}", c.name, c.filters, c.input),
                    out_cpp: t.result.cpp(),
                    n_macro: n_macro.clone(),
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
                    });
                }
            }
            FixedFeature::Pool(p) => {
                let window = WindowCtx::new(p.input, p.window.size, p.window.stride, p.placement());
                pool_step(&mut parts, index, reuse, &p.name, p.op, window, p.types.accum, p.types.result, p.output_shape());
            }
            FixedFeature::GlobalPool(g) => {
                let whole = (g.input.height, g.input.width);
                let placement = Placement { out_height: 1, out_width: 1, pad_top: 0, pad_left: 0 };
                let window = WindowCtx::new(g.input, whole, (1, 1), placement);
                pool_step(&mut parts, index, reuse, &g.name, g.op, window, g.types.accum, g.types.result, g.output_shape());
            }
            FixedFeature::Flatten { .. } => {}
        }
    }
    Ok(parts)
}

#[allow(clippy::too_many_arguments)]
fn pool_step(
    parts: &mut FeatureParts,
    index: &mut usize,
    reuse: usize,
    name: &str,
    op: PoolOp,
    window: WindowCtx,
    accum: FixedType,
    result: FixedType,
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
    parts.pools.push(PoolCtx { index: k, name: name.into(), op: op_name, reuse, window });
    parts.pending.push(Pending { kind: "pooling2d_cl", index: k, comment, out_cpp: result.cpp(), n_macro });
}
