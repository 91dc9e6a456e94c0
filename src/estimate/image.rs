//! Estimates of the image layers in front of a dense head (Conv1D/Conv2D,
//! window and global pooling, Flatten): one [`LayerEstimate`] per layer, in
//! the model's order, which `estimate` puts before the dense layers' so that
//! every total sums over both.
//!
//! Energy is QKeras qtools' (`qenergy.py`, operation counts of
//! `qtools_util.get_operation_count`, terms per class of `settings.py`):
//! - conv: `out_h·out_w·filters·kh·kw·c_in` operations, each one
//!   multiplication (the dense layer's multiplier rules) and one addition at
//!   the accumulator's width; reads of the input map and of kernel and bias;
//!   a ReLU is its own QActivation layer and writes its outputs;
//! - MaxPooling2D: only `op_cost` counts, and qtools gives it none: 0;
//!   MaxPooling1D, GlobalMaxPooling1D/2D and Flatten count their input read
//!   (0 in the default `fixed` memory mode unless the layer is the first);
//! - AveragePooling2D/GlobalAveragePooling2D: `channels·cells` additions
//!   (qtools does not multiply by the output positions) at the width of its
//!   accumulator, input bits + ceil(log2 cells), plus the input read;
//! - AveragePooling1D/GlobalAveragePooling1D are not in qtools' layer map: 0.
//!
//! Resources (HLS flow, io_parallel as `hls-templates` write `conv_2d_cl`):
//! a convolution is the dense layer on one patch, its multipliers, adders
//! and outputs counted for every output position, then shared by the reuse
//! factor; the weights are the same at every position (stored once). A max
//! pool is `cells − 1` comparators per output at the input width, an average
//! `cells − 1` adders at the accumulator width and a division by the cell
//! count (a shift for a power of two, else a LUT product by the constant).
//! With `same` padding every window is counted full (an upper bound).
use super::calibration::{EnergyCoefficients, FamilyCoefficients};
use super::energy::{self, EnergyOptions, LayerEnergy, MultiplierKind};
use super::resources::{self, LayerFeatures, Resources};
use super::{BitsOptions, LayerEstimate, LayerInput, Strategy, Target};
use crate::model::conv::{FixedConv, Shape3};
use crate::model::features::FeatureLayer;
use crate::model::fixed_features::{FeatureStack, FixedFeature};
use crate::model::pool::PoolOp;
use crate::model::softmax::ceil_log2;
use crate::model::Activation;
use crate::quant::{FixedType, Quantizer};

/// What the pricing of the image layers needs besides the layers themselves.
pub struct ImageContext<'a> {
    pub energy: &'a EnergyCoefficients,
    pub family: &'a FamilyCoefficients,
    pub target: &'a Target,
    pub energy_opts: &'a EnergyOptions,
    pub bits: &'a BitsOptions,
    /// Trained constants are known (zero weights free, effective widths).
    pub weights_known: bool,
}

/// The estimates of every image layer of `stack` (built from `layers`, the
/// spec's `features`), and the type QTools gives the stack's output (what the
/// next layer's energy is priced with; see [`qtools_out_type`]).
pub fn estimate_images(layers: &[FeatureLayer], stack: &FeatureStack, cx: &ImageContext) -> (Vec<LayerEstimate>, FixedType) {
    let mut ty = stack_input_type(stack);
    let mut energy_ty = ty;
    let mut shape = None;
    let mut out = Vec::with_capacity(stack.layers.len());
    for (i, (spec_layer, built)) in layers.iter().zip(&stack.layers).enumerate() {
        let input = match built {
            FixedFeature::Conv(c) => c.input,
            FixedFeature::Pool(p) => p.input,
            FixedFeature::GlobalPool(g) => g.input,
            FixedFeature::Flatten { .. } => shape.unwrap_or(Shape3::new(1, 1, stack.input_len)),
        };
        let est = match (spec_layer, built) {
            (FeatureLayer::Conv(spec), FixedFeature::Conv(c)) => {
                let q = (&spec.kernel_quantizer, &spec.bias_quantizer, &spec.activation_quantizer);
                conv_estimate(c, q, spec.has_bias(), energy_ty, i == 0, cx)
            }
            _ => passive_estimate(spec_layer, built, input, (ty, energy_ty), i == 0, cx),
        };
        shape = Some(output_shape(built, input));
        energy_ty = qtools_out_type(spec_layer, built, input, energy_ty);
        ty = built.out_type(ty);
        out.push(est);
    }
    (out, energy_ty)
}

/// The output type QTools gives a layer whose input it types `in_type`: an
/// average pooling's is its accumulator, `ceil(log2 cells)` bits wider (hls4ml
/// keeps a wider accumulator, then casts: see the pool's `accum_type`); a
/// convolution's is its activation's; max pooling and flatten pass theirs on.
fn qtools_out_type(spec: &FeatureLayer, built: &FixedFeature, input: Shape3, in_type: FixedType) -> FixedType {
    let cells = match spec {
        FeatureLayer::Pool(p) if p.op == PoolOp::Average => p.pool_size.0 * p.pool_size.1,
        FeatureLayer::GlobalPool(g) if g.op == PoolOp::Average => input.height * input.width,
        _ => return if let FixedFeature::Conv(c) = built { c.types.out } else { in_type },
    };
    let grow = ceil_log2(cells.max(1));
    FixedType { width: in_type.width + grow, integer: in_type.integer + grow as i32, ..in_type }
}

fn stack_input_type(stack: &FeatureStack) -> FixedType {
    match stack.layers.first() {
        Some(FixedFeature::Conv(c)) => c.types.input,
        Some(FixedFeature::Pool(p)) => p.types.input,
        Some(FixedFeature::GlobalPool(g)) => g.types.input,
        _ => stack.out_type,
    }
}

fn output_shape(f: &FixedFeature, input: Shape3) -> Shape3 {
    match f {
        FixedFeature::Conv(c) => c.output_shape(),
        FixedFeature::Pool(p) => p.output_shape(),
        FixedFeature::GlobalPool(g) => g.output_shape(),
        FixedFeature::Flatten { .. } => input,
    }
}

/// The operations of one image layer that has a module in the RTL design
/// (every layer but Flatten), for the RTL flow's energy refit.
pub enum ImageOps {
    /// A convolution: its patch layer and its multiply-accumulates (positions · n_in · filters).
    Conv { patch: Box<LayerInput>, macs: f64 },
    /// A pooling: `count` two-operand operations (comparators for max, adders
    /// for average) of `bits` bits: `cells − 1` per output, full windows.
    Pool { name: String, bits: u32, count: f64 },
}

/// [`ImageOps`] of each image layer of a trained model's `stack`, in module
/// order (Flatten, which is wiring, has none).
pub fn image_ops(layers: &[FeatureLayer], stack: &FeatureStack) -> Vec<ImageOps> {
    let mut out = Vec::new();
    for (spec_layer, built) in layers.iter().zip(&stack.layers) {
        match (spec_layer, built) {
            (FeatureLayer::Conv(spec), FixedFeature::Conv(c)) => {
                let patch = patch_layer(c, &spec.kernel_quantizer, &spec.bias_quantizer, &spec.activation_quantizer, true);
                let positions = (c.output_shape().height * c.output_shape().width) as f64;
                let macs = positions * (patch.n_in * patch.n_out) as f64;
                out.push(ImageOps::Conv { patch: Box::new(patch), macs });
            }
            (_, FixedFeature::Pool(p)) => {
                let cells = p.window.size.0 * p.window.size.1;
                let bits = if p.op == PoolOp::Max { p.types.input.width + 1 } else { p.types.accum.width };
                out.push(ImageOps::Pool { name: p.name.clone(), bits, count: (p.output_shape().len() * (cells - 1)) as f64 });
            }
            (_, FixedFeature::GlobalPool(g)) => {
                let cells = g.input.height * g.input.width;
                let bits = if g.op == PoolOp::Max { g.types.input.width + 1 } else { g.types.accum.width };
                out.push(ImageOps::Pool { name: g.name.clone(), bits, count: (g.input.channels * (cells - 1)) as f64 });
            }
            _ => {}
        }
    }
    out
}

/// The convolution as the dense layer it is on one patch (`n_in = kh·kw·c_in`).
fn patch_layer(c: &FixedConv, kernel: &Quantizer, bias: &Quantizer, act: &Quantizer, weights_known: bool) -> LayerInput {
    LayerInput {
        name: c.name.clone(),
        n_in: c.window.size.0 * c.window.size.1 * c.input.channels,
        n_out: c.filters,
        in_type: c.types.input,
        kernel_quantizer: kernel.clone(),
        bias_quantizer: bias.clone(),
        activation_quantizer: act.clone(),
        weight_type: c.types.weight,
        bias_type: c.types.bias,
        accum_type: c.types.accum,
        out_type: c.types.out,
        activation: if c.relu { Activation::Relu } else { Activation::Linear },
        weights: weights_known.then(|| c.weights.clone()),
        biases: weights_known.then(|| c.biases.clone()),
    }
}

fn size_bits(q: &Quantizer, ref_bits: u32) -> u64 {
    if q.is_float() {
        ref_bits as u64
    } else {
        q.bit_width() as u64
    }
}

/// `energy_in`: the input type QTools prices the energy with (the firmware's
/// `c.types.input` except after an average pooling).
fn conv_estimate(
    c: &FixedConv,
    (kernel, bias, act): (&Quantizer, &Quantizer, &Quantizer),
    has_bias: bool,
    energy_in: FixedType,
    is_first: bool,
    cx: &ImageContext,
) -> LayerEstimate {
    let patch = patch_layer(c, kernel, bias, act, cx.weights_known);
    let out_shape = c.output_shape();
    let positions = (out_shape.height * out_shape.width) as u64;
    let (n_in, n_out) = (patch.n_in as u64, patch.n_out as u64);
    let mults = positions * n_in * n_out;
    let ec = cx.energy;
    let o = cx.energy_opts;
    let bx = patch.in_type.width as f64;
    let inputs =
        energy::memory_read_energy(ec, is_first, o.activations_on_memory, o.rd_wr_on_io, c.input.len() as f64 * energy_in.width as f64);
    let kernel_bits = (n_in * n_out) as f64 * patch.weight_type.width as f64;
    let bias_bits = if has_bias { n_out as f64 * patch.bias_type.width as f64 } else { 0.0 };
    let mut parameters = energy::memory_read_energy(ec, false, o.weights_on_memory, o.rd_wr_on_io, kernel_bits);
    if has_bias {
        parameters += energy::memory_read_energy(ec, false, o.weights_on_memory, o.rd_wr_on_io, bias_bits);
    }
    let (multiplier, gate_factor, gate_bits, mul_pj) = energy::multiplier(ec, kernel, patch.weight_type.width, energy_in.width);
    let add_bits = energy::qtools_accumulator_bits(kernel, patch.weight_type.width, &energy_in, patch.n_in, has_bias);
    let add_pj = super::calibration::poly(&ec.fpm_add, add_bits.unwrap_or(patch.accum_type.width) as f64).max(0.0);
    let op_cost = mults as f64 * (mul_pj + add_pj);
    let out_elems = out_shape.len() as f64;
    let outputs = if c.relu {
        let bits = energy::activation_output_bits(act, &patch.out_type);
        energy::memory_write_energy(ec, false, o.activations_on_memory, o.rd_wr_on_io, out_elems * bits as f64)
    } else {
        0.0
    };
    let energy = LayerEnergy {
        multiplier,
        gate_bits,
        gate_factor,
        mul_pj,
        add_pj,
        inputs,
        parameters,
        op_cost,
        outputs,
        total: inputs + parameters + op_cost + outputs,
    };
    let bops = mults as f64 * patch.weight_type.width as f64 * bx;
    let (ebops, zeros) = match &patch.weights {
        Some(w) => (
            positions as f64 * w.iter().map(|&r| resources::effective_bits(r) as f64 * bx).sum::<f64>(),
            positions * w.iter().filter(|&&r| r == 0).count() as u64,
        ),
        None => (bops, 0),
    };
    let par = n_in * n_out * size_bits(kernel, cx.bits.ref_bits) + if has_bias { n_out * size_bits(bias, cx.bits.ref_bits) } else { 0 };
    let act_bits = if c.relu { size_bits(act, cx.bits.ref_bits) * out_shape.len() as u64 } else { 0 };
    let features = conv_features(&patch, positions as f64, cx.target, cx.family);
    let resources = Resources::from_features(&features, cx.family);
    LayerEstimate {
        name: c.name.clone(),
        n_in: c.input.len(),
        n_out: out_shape.len(),
        in_type: patch.in_type.cpp(),
        weight_type: patch.weight_type.cpp(),
        accum_type: patch.accum_type.cpp(),
        out_type: patch.out_type.cpp(),
        multiplications: mults,
        bops,
        ebops,
        zero_weights: zeros,
        weight_bits: kernel_bits as u64 + bias_bits as u64,
        size_parameter_bits: par,
        size_activation_bits: act_bits,
        energy,
        features,
        resources,
    }
}

/// The dense features of one patch, counted at every output position, then
/// shared by the reuse factor (the weights are one copy for all positions).
fn conv_features(patch: &LayerInput, positions: f64, target: &Target, c: &FamilyCoefficients) -> LayerFeatures {
    let one = Target { reuse_factor: 1, strategy: Strategy::Latency, ..target.clone() };
    let p = resources::layer_features(patch, &one, c);
    let reuse = target.reuse_factor.max(1) as f64;
    let mut f = LayerFeatures {
        mult_lut: (p.mult_lut * positions / reuse).ceil(),
        lut_product_bit: p.lut_product_bit * positions / reuse,
        shift: p.shift * positions,
        dsp_mult: (p.dsp_mult * positions / reuse).ceil(),
        zero_mult: p.zero_mult * positions,
        adder: p.adder * positions,
        adder_bit: p.adder_bit * positions,
        relu_bit: p.relu_bit * positions,
        output_bit: p.output_bit * positions,
        extra_reuse: reuse - 1.0,
        ..p
    };
    if target.strategy == Strategy::Resource {
        // As the dense layer's resource strategy: the kernel in arrays of R words.
        let weight_bits = (patch.n_in * patch.n_out) as f64 * patch.weight_type.width as f64;
        if reuse >= 4.0 {
            f.weight_block = (weight_bits / reuse / 36.0).ceil() * (reuse / 512.0).ceil();
        } else {
            f.weight_storage_bit = weight_bits;
        }
    }
    f.dsp_layer = (f.dsp_mult > 0.0) as u8 as f64;
    f
}

/// Pooling and flatten: no weights, no multiplications by weights.
fn passive_estimate(
    spec: &FeatureLayer,
    built: &FixedFeature,
    input: Shape3,
    (in_type, energy_in): (FixedType, FixedType),
    is_first: bool,
    cx: &ImageContext,
) -> LayerEstimate {
    let out_shape = output_shape(built, input);
    let out_type = built.out_type(in_type);
    let (op, cells, rank, global) = match spec {
        FeatureLayer::Pool(p) => (Some(p.op), p.pool_size.0 * p.pool_size.1, p.rank, false),
        FeatureLayer::GlobalPool(g) => (Some(g.op), input.height * input.width, g.rank, true),
        _ => (None, 0, 0, false),
    };
    let accum = match built {
        FixedFeature::Pool(p) => p.types.accum,
        FixedFeature::GlobalPool(g) => g.types.accum,
        _ => in_type,
    };
    let ec = cx.energy;
    let o = cx.energy_opts;
    let input_read =
        || energy::memory_read_energy(ec, is_first, o.activations_on_memory, o.rd_wr_on_io, input.len() as f64 * energy_in.width as f64);
    // settings.py: MaxPooling2D counts only op_cost (none); AveragePooling1D is not in qtools' map.
    let (inputs, op_cost, add_pj) = match (op, rank, global) {
        (Some(PoolOp::Max), 2, false) => (0.0, 0.0, 0.0),
        (Some(PoolOp::Average), 1, _) => (0.0, 0.0, 0.0),
        (Some(PoolOp::Average), _, _) => {
            let acc_bits = energy_in.width as f64 + ceil_log2(cells.max(1)) as f64;
            let add = super::calibration::poly(&ec.fpm_add, acc_bits).max(0.0);
            (input_read(), (out_shape.channels * cells) as f64 * add, add)
        }
        _ => (input_read(), 0.0, 0.0),
    };
    let energy = LayerEnergy {
        multiplier: MultiplierKind::None,
        gate_bits: 0.0,
        gate_factor: 0.0,
        mul_pj: 0.0,
        add_pj,
        inputs,
        parameters: 0.0,
        op_cost,
        outputs: 0.0,
        total: inputs + op_cost,
    };
    let features = pool_features(op, cells, out_shape.len(), in_type, accum, out_type, cx.target, cx.family);
    let resources = Resources::from_features(&features, cx.family);
    LayerEstimate {
        name: spec.name().to_string(),
        n_in: input.len(),
        n_out: out_shape.len(),
        in_type: in_type.cpp(),
        weight_type: String::new(),
        accum_type: accum.cpp(),
        out_type: out_type.cpp(),
        multiplications: 0,
        bops: 0.0,
        ebops: 0.0,
        zero_weights: 0,
        weight_bits: 0,
        size_parameter_bits: 0,
        size_activation_bits: 0,
        energy,
        features,
        resources,
    }
}

#[allow(clippy::too_many_arguments)]
fn pool_features(
    op: Option<PoolOp>,
    cells: usize,
    outputs: usize,
    in_type: FixedType,
    accum: FixedType,
    out_type: FixedType,
    target: &Target,
    c: &FamilyCoefficients,
) -> LayerFeatures {
    let Some(op) = op else {
        return LayerFeatures::default(); // flatten: wiring
    };
    let n = outputs as f64;
    let adders = cells.saturating_sub(1) as f64 * n;
    let mut f = LayerFeatures { layer: 1.0, adder: adders, output_bit: n * out_type.width as f64, ..Default::default() };
    match op {
        PoolOp::Max => f.adder_bit = adders * in_type.width as f64,
        PoolOp::Average => {
            f.adder_bit = adders * accum.width as f64;
            if cells.is_power_of_two() {
                f.shift = n;
            } else {
                let (bw, bx) = (ceil_log2(cells) + 1, accum.width);
                if resources::goes_to_luts(bw, bx, c) {
                    f.mult_lut = n;
                    f.lut_product_bit = n * (bw * bx) as f64;
                } else {
                    f.dsp_mult = n * resources::dsps_for(bw, bx, c) as f64;
                }
            }
        }
    }
    let reuse = target.reuse_factor.max(1) as f64;
    f.mult_lut = (f.mult_lut / reuse).ceil();
    f.lut_product_bit /= reuse;
    f.dsp_mult = (f.dsp_mult / reuse).ceil();
    f.adder_level = ceil_log2(cells.max(1)) as f64 * 5.0 / target.clock_ns.max(0.1);
    f.dsp_layer = (f.dsp_mult > 0.0) as u8 as f64;
    f.extra_reuse = reuse - 1.0;
    f
}
