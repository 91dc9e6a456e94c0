//! The one place where a model's values are checked, whatever file it came
//! from: the TOML spec ([`ModelSpec::from_toml`]) and `model.json`
//! ([`TrainedModel::load`]) both call [`validate_spec`], and `model.json` adds
//! [`validate_model`] for the trained parameters. Every later stage (fixed-point
//! network, estimate, HLS, RTL, eval) may then assume a valid model instead of
//! panicking on one. A check names the field as the file spells it
//! (`blocks[2].units`); the caller adds the file. New optional fields (layer
//! types, softmax settings, other layer kinds) add their checks here: values
//! are checked, unknown fields are left to serde.
use super::features::FeatureLayer;
use super::network::TrainedModel;
use super::spec::{Activation, ModelSpec};
use crate::quant::{FixedType, Quantizer};

/// What is wrong and where: `field` is a path into the file (`blocks[0].units`).
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    pub field: String,
    pub message: String,
}

fn fault(field: impl Into<String>, message: impl Into<String>) -> Fault {
    Fault { field: field.into(), message: message.into() }
}

/// Widest stated type (input, weights, results): the products of two of them
/// must fit the fixed-point model's i64 arithmetic.
pub const MAX_TYPE_WIDTH: u32 = 32;
/// Widest stated accumulator or result (the fixed-point model's i64 raw values;
/// `FixedNetwork` refuses an unsigned one of 64 bits).
pub const MAX_ACCUM_WIDTH: u32 = crate::quant::fixed::MAX_WIDTH;
/// Largest integer-bit (or fractional-bit) count a type may state; ap_fixed
/// allows I outside 0..W, but shifts beyond this are not arithmetic any tool does.
pub const MAX_BINARY_POINT: i32 = 64;
/// Most units a dense layer (or inputs a model) may have: far beyond a trigger
/// network, and small enough that weight arrays cannot overflow a size.
pub const MAX_UNITS: usize = 1 << 16;

/// Check a fixed-point type of at most `max_width` bits.
pub fn check_fixed_type(t: &FixedType, max_width: u32) -> Result<(), String> {
    if t.width == 0 || t.width > max_width {
        return Err(format!("width {} of {} must be between 1 and {max_width}", t.width, t.cpp()));
    }
    if t.integer.abs() > MAX_BINARY_POINT || t.frac().abs() > MAX_BINARY_POINT {
        return Err(format!("integer bits {} of {} put the binary point beyond ±{MAX_BINARY_POINT} bits", t.integer, t.cpp()));
    }
    Ok(())
}

/// Every value of a spec: sizes, quantizers, types, the softmax position, class names, training settings.
pub fn validate_spec(spec: &ModelSpec) -> Result<(), Fault> {
    if spec.inputs == 0 || spec.inputs > MAX_UNITS {
        return Err(fault("inputs", format!("{} inputs: must be between 1 and {MAX_UNITS}", spec.inputs)));
    }
    check_fixed_type(&spec.input_type, MAX_TYPE_WIDTH).map_err(|m| fault("input_type", m))?;
    check_features(spec)?;
    if spec.blocks.is_empty() {
        return Err(fault("blocks", "the model has no dense layer"));
    }
    if spec.hls.reuse_factor == Some(0) {
        return Err(fault("hls.reuse_factor", "must be at least 1"));
    }
    if let Some(s) = spec.hls.strategy.as_deref().filter(|s| !matches!(*s, "latency" | "resource")) {
        return Err(fault("hls.strategy", format!("`{s}`: use latency or resource")));
    }
    let last = spec.blocks.len() - 1;
    for (i, block) in spec.blocks.iter().enumerate() {
        let field = |f: &str| format!("blocks[{i}].{f}");
        if block.units == 0 || block.units > MAX_UNITS {
            return Err(fault(field("units"), format!("{} units: must be between 1 and {MAX_UNITS}", block.units)));
        }
        if block.name.trim().is_empty() {
            return Err(fault(field("name"), "a layer needs a name"));
        }
        for (name, q) in [
            ("kernel_quantizer", &block.kernel_quantizer),
            ("bias_quantizer", &block.bias_quantizer),
            ("activation_quantizer", &block.activation_quantizer),
        ] {
            check_quantizer(q).map_err(|m| fault(field(name), m))?;
        }
        for (name, q) in [("kernel_quantizer", &block.kernel_quantizer), ("bias_quantizer", &block.bias_quantizer)] {
            if matches!(q, Quantizer::LeakyRelu { .. } | Quantizer::ReluPo2 { .. }) {
                return Err(fault(
                    field(name),
                    format!("{} is an activation quantizer: use quantized_bits or quantized_po2", q.spelling()),
                ));
            }
        }
        let leaky_or_po2 = matches!(block.activation_quantizer, Quantizer::LeakyRelu { .. } | Quantizer::ReluPo2 { .. });
        if leaky_or_po2 && block.activation != Activation::Linear {
            return Err(fault(
                field("activation"),
                format!(
                    "{} is the whole activation (negative inputs are not zeroed): set activation = \"linear\"",
                    block.activation_quantizer.spelling()
                ),
            ));
        }
        if block.activation_quantizer.is_binary_or_ternary() {
            return Err(fault(
                field("activation_quantizer"),
                format!(
                    "{} is supported for kernels and biases only: use quantized_relu or quantized_bits",
                    block.activation_quantizer.spelling()
                ),
            ));
        }
        if block.activation == Activation::Softmax && i != last {
            return Err(fault(field("activation"), "softmax is only supported after the last dense layer"));
        }
    }
    if spec.classes.len() != spec.n_outputs() {
        return Err(fault("classes", format!("{} class names for {} outputs", spec.classes.len(), spec.n_outputs())));
    }
    check_stated_types(spec)?;
    let t = &spec.training;
    if !(t.learning_rate > 0.0 && t.learning_rate.is_finite()) || t.batch_size == 0 || t.epochs == 0 {
        return Err(fault("training", "learning_rate, batch_size and epochs must be positive"));
    }
    if !(t.l1 >= 0.0 && t.l1.is_finite() && t.l2 >= 0.0 && t.l2.is_finite()) {
        return Err(fault("training", "l1 and l2 must be finite and not negative"));
    }
    Ok(())
}

/// The input shape and the feature layers of an image model: the shape's
/// product is `inputs`, every layer's values are sane and its shape fits.
fn check_features(spec: &ModelSpec) -> Result<(), Fault> {
    if !spec.input_shape.is_empty() {
        let n = spec.input_shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        if n != Some(spec.inputs) {
            return Err(fault("inputs", format!("{} inputs but the input shape {:?} holds {n:?}", spec.inputs, spec.input_shape)));
        }
    }
    for (i, layer) in spec.features.iter().enumerate() {
        let field = |f: &str| format!("features[{i}].{f}");
        if layer.name().trim().is_empty() {
            return Err(fault(field("name"), "a layer needs a name"));
        }
        let rank = match layer {
            FeatureLayer::Conv(c) => c.rank,
            FeatureLayer::Pool(p) => p.rank,
            FeatureLayer::GlobalPool(g) => g.rank,
            FeatureLayer::Flatten { .. } => 1,
        };
        if !(1..=2).contains(&rank) {
            return Err(fault(field("rank"), format!("rank {rank}: must be 1 or 2")));
        }
        if let FeatureLayer::Conv(c) = layer {
            if c.filters > MAX_UNITS {
                return Err(fault(field("filters"), format!("{} filters: must be between 1 and {MAX_UNITS}", c.filters)));
            }
            if c.rank == 1 && (c.kernel_size.0 != 1 || c.strides.0 != 1) {
                return Err(fault(field("kernel_size"), "a 1D convolution has height 1 kernels and strides"));
            }
            for (name, q) in [
                ("kernel_quantizer", &c.kernel_quantizer),
                ("bias_quantizer", &c.bias_quantizer),
                ("activation_quantizer", &c.activation_quantizer),
            ] {
                check_quantizer(q).map_err(|m| fault(field(name), m))?;
            }
            if c.activation_quantizer.is_binary_or_ternary() {
                return Err(fault(field("activation_quantizer"), "binary and ternary quantizers are for kernels and biases only"));
            }
            if c.activation == Activation::Softmax {
                return Err(fault(field("activation"), "softmax is only supported after the last dense layer"));
            }
        }
        if let FeatureLayer::Pool(p) = layer {
            if p.rank == 1 && (p.pool_size.0 != 1 || p.strides.0 != 1) {
                return Err(fault(field("pool_size"), "a 1D pooling has height 1 windows and strides"));
            }
        }
    }
    spec.feature_shapes().map_err(|f| match f.layer {
        Some(i) => fault(format!("features[{i}].{}", f.field), f.message),
        None if f.field == "inputs" => fault("inputs", f.message),
        None => fault("features", f.message),
    })?;
    Ok(())
}

/// The stated types and the softmax configuration (an imported model.json may carry any).
fn check_stated_types(spec: &ModelSpec) -> Result<(), Fault> {
    for (i, b) in spec.blocks.iter().enumerate() {
        for (name, t) in b.types.stated() {
            check_fixed_type(&t, MAX_TYPE_WIDTH.max(MAX_ACCUM_WIDTH)).map_err(|m| fault(format!("blocks[{i}].types.{name}"), m))?;
        }
    }
    for (i, f) in spec.features.iter().enumerate() {
        let types = match f {
            FeatureLayer::Conv(c) => &c.types,
            FeatureLayer::Pool(p) => &p.types,
            FeatureLayer::GlobalPool(g) => &g.types,
            FeatureLayer::Flatten { .. } => continue,
        };
        for (name, t) in types.stated() {
            if !matches!(f, FeatureLayer::Conv(_)) && !matches!(name, "accum" | "result") {
                return Err(fault(format!("features[{i}].types.{name}"), "a pooling layer has only accum and result types"));
            }
            check_fixed_type(&t, MAX_TYPE_WIDTH.max(MAX_ACCUM_WIDTH)).map_err(|m| fault(format!("features[{i}].types.{name}"), m))?;
        }
    }
    let sm = &spec.softmax;
    if !sm.is_default() && spec.blocks.last().map(|b| b.activation) != Some(Activation::Softmax) {
        return Err(fault("softmax", "a softmax configuration but the last layer has no softmax"));
    }
    if let Some(n) = sm.table_size {
        if !n.is_power_of_two() || !(2..=1 << 16).contains(&n) {
            return Err(fault("softmax.table_size", format!("{n}: must be a power of two between 2 and 65536")));
        }
    }
    for (name, t) in [("exp_table_t", sm.exp_table_t), ("inv_table_t", sm.inv_table_t), ("result", sm.result)] {
        if let Some(t) = t {
            check_fixed_type(&t, MAX_TYPE_WIDTH).map_err(|m| fault(format!("softmax.{name}"), m))?;
        }
    }
    Ok(())
}

fn check_quantizer(q: &Quantizer) -> Result<(), String> {
    q.validate()?;
    if let Quantizer::QuantizedPo2 { max_value: Some(v), .. } = q {
        if !v.is_finite() {
            return Err("quantized_po2 max_value must be finite".into());
        }
    }
    Ok(())
}

/// The trained parameters of a `model.json` against its (valid) spec.
pub fn validate_model(model: &TrainedModel) -> Result<(), Fault> {
    validate_spec(&model.spec).map_err(|f| fault(format!("spec.{}", f.field), f.message))?;
    let spec = &model.spec;
    if model.layers.len() != spec.blocks.len() {
        return Err(fault("layers", format!("{} layers for {} dense blocks in the spec", model.layers.len(), spec.blocks.len())));
    }
    if !model.feature_names.is_empty() && model.feature_names.len() != spec.inputs {
        return Err(fault("feature_names", format!("{} names for {} inputs", model.feature_names.len(), spec.inputs)));
    }
    let scaler = &model.scaler;
    if scaler.mean.len() != spec.inputs || scaler.std.len() != spec.inputs {
        return Err(fault("scaler", format!("scaler has {} entries for {} inputs", scaler.mean.len(), spec.inputs)));
    }
    if scaler.mean.iter().any(|m| !m.is_finite()) {
        return Err(fault("scaler.mean", "contains NaN or infinity"));
    }
    if scaler.std.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
        return Err(fault("scaler.std", "every standard deviation must be positive and finite"));
    }
    for (i, (l, n_in)) in model.layers.iter().zip(spec.block_inputs()).enumerate() {
        check_params(&format!("layers[{i}]"), l, (n_in, spec.blocks[i].units), &spec.blocks[i].kernel_quantizer)?;
    }
    let convs: Vec<_> = spec.features.iter().filter_map(|f| if let FeatureLayer::Conv(c) = f { Some(c) } else { None }).collect();
    if model.conv_layers.len() != convs.len() {
        return Err(fault("conv_layers", format!("{} layers for {} convolutions in the spec", model.conv_layers.len(), convs.len())));
    }
    for (i, ((l, shape), c)) in model.conv_layers.iter().zip(spec.conv_kernel_shapes()).zip(convs).enumerate() {
        let f = format!("conv_layers[{i}]");
        if l.name != c.name {
            return Err(fault(format!("{f}.name"), format!("`{}` but the spec's convolution {i} is `{}`", l.name, c.name)));
        }
        check_params(&f, l, shape, &c.kernel_quantizer)?;
        if !c.has_bias() && l.bias_q.iter().any(|&b| b != 0.0) {
            return Err(fault(format!("{f}.bias_q"), "non-zero biases but the spec says use_bias = false"));
        }
    }
    Ok(())
}

/// One layer's parameters (dense, or a convolution as a dense layer on its
/// patches) against the shape `(n_in, n_out)` its spec gives.
fn check_params(
    f: &str,
    l: &super::network::LayerParams,
    (n_in, n_out): (usize, usize),
    kernel_quantizer: &Quantizer,
) -> Result<(), Fault> {
    if l.n_in != n_in || l.n_out != n_out {
        return Err(fault(f, format!("shape {}x{} but the spec says {n_in}x{n_out}", l.n_in, l.n_out)));
    }
    for (name, v, n) in [
        ("kernel", &l.kernel, n_in * n_out),
        ("kernel_q", &l.kernel_q, n_in * n_out),
        ("bias", &l.bias, n_out),
        ("bias_q", &l.bias_q, n_out),
    ] {
        if v.len() != n {
            return Err(fault(format!("{f}.{name}"), format!("{} values, expected {n}", v.len())));
        }
        if v.iter().any(|x| !x.is_finite()) {
            return Err(fault(format!("{f}.{name}"), "contains NaN or infinity"));
        }
    }
    if let Some(e) = &l.po2_exponents {
        if e.len() != n_out {
            return Err(fault(format!("{f}.po2_exponents"), format!("{} exponents for {n_out} outputs", e.len())));
        }
        if let (Some(lo), Some(hi), Quantizer::QuantizedBits { bits, .. }) = (e.iter().min(), e.iter().max(), kernel_quantizer) {
            // The weights' common type spans every exponent: hi - lo + bits wide.
            let width = i64::from(*hi) - i64::from(*lo) + i64::from(*bits);
            if lo.abs() > MAX_BINARY_POINT || hi.abs() > MAX_BINARY_POINT || width > i64::from(MAX_TYPE_WIDTH) {
                return Err(fault(
                    format!("{f}.po2_exponents"),
                    format!("exponents {lo}..{hi} make the weights {width} bits wide (at most {MAX_TYPE_WIDTH})"),
                ));
            }
        }
    }
    Ok(())
}
