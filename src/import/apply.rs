//! An hls4ml config applied to an assembled model: every type it states goes
//! into model.json exactly (types mode hls4ml), read as hls4ml 1.3 reads its
//! config — a role a layer leaves out is the Model default precision, `auto`
//! is left for `infer_precision` (qforge's hls4ml mode derives it). The
//! config's layer names must be the model's.
use super::assemble::Assembled;
use super::hls4ml_config::{parse_hls4ml_type, Hls4mlConfig};
use super::keras_config::KerasModel;
use crate::error::{Error, Result};
use crate::model::features::{ConvLayer, FeatureLayer};
use crate::model::spec::{LayerTypes, SoftmaxImplementation};
use crate::model::{Activation, ModelSpec, SoftmaxConfig, TypesMode};
use crate::quant::{FixedType, Quantizer};

/// Check the config against the model and take the types it states.
pub fn apply_config(config: &Hls4mlConfig, keras: &KerasModel, assembled: &mut Assembled) -> Result<()> {
    // hls4ml names the activation it splits off a Dense `<dense>_<activation>` and adds `<dense>_linear`.
    let known = |name: &str| {
        keras.layers.iter().any(|l| {
            l.name == name
                || (matches!(l.class.as_str(), "Dense" | "QDense" | "Conv1D" | "Conv2D" | "QConv1D" | "QConv2D")
                    && name.strip_prefix(l.name.as_str()).is_some_and(|rest| rest.starts_with('_')))
        })
    };
    for name in config.layers.keys() {
        if !known(name) {
            let names: Vec<&str> = keras.layers.iter().map(|l| l.name.as_str()).collect();
            return Err(Error::input_at(
                &config.path,
                None,
                Some(&format!("LayerName.{name}")),
                format!("the model has no layer `{name}` (its layers: {})", names.join(", ")),
            ));
        }
    }
    let default = config.default_type()?;
    if !assembled.input_type_from_model {
        let input_name = keras.layers.first().filter(|l| l.class == "InputLayer").map(|l| l.name.as_str());
        let stated = match input_name {
            Some(n) => config.layer_type(n, "result")?,
            None => None,
        };
        if let Some(t) = stated.or(default) {
            assembled.spec.input_type = t;
        }
    }
    assembled.spec.types = TypesMode::Hls4ml;
    let stated = |layer: &str, role: &str| stated_type(config, default, layer, role);
    let mapping = assembled.mapping.clone();
    for (l, m) in keras.layers.iter().zip(&mapping) {
        if matches!(l.class.as_str(), "Dense" | "QDense") {
            let block = assembled.spec.blocks.iter_mut().find(|b| b.name == l.name).expect("every Dense became a block");
            // po2 weights are exponents to hls4ml, binary ones XNOR codes (0 for -1): its weight type is not a value type.
            if !matches!(block.kernel_quantizer, Quantizer::QuantizedPo2 { .. } | Quantizer::Binary { .. }) {
                block.types.weight = stated(&l.name, "weight")?;
            }
            block.types.bias = stated(&l.name, "bias")?;
            block.types.accum = stated(&l.name, "accum")?;
            block.types.result = stated(&l.name, "result")?;
            // The activation hls4ml splits off this Dense.
            if let Some(act) = l.config.get("activation").and_then(|v| v.as_str()).filter(|a| *a != "linear") {
                apply_activation(config, default, &format!("{}_{act}", l.name), &mut assembled.spec, &l.name)?;
            }
        } else if matches!(l.class.as_str(), "Conv1D" | "Conv2D" | "QConv1D" | "QConv2D") {
            let conv = conv_mut(&mut assembled.spec, &l.name).expect("every convolution became a feature layer");
            if !matches!(conv.kernel_quantizer, Quantizer::QuantizedPo2 { .. } | Quantizer::Binary { .. }) {
                conv.types.weight = stated(&l.name, "weight")?;
            }
            conv.types.bias = stated(&l.name, "bias")?;
            conv.types.accum = stated(&l.name, "accum")?;
            conv.types.result = stated(&l.name, "result")?;
            if let Some(act) = l.config.get("activation").and_then(|v| v.as_str()).filter(|a| *a != "linear") {
                apply_activation(config, default, &format!("{}_{act}", l.name), &mut assembled.spec, &l.name)?;
            }
        } else if let Some(target) = m.became.strip_prefix("folded into ").filter(|_| l.class.contains("BatchNormalization")) {
            // hls4ml 1.3 fuses a batch normalization only into a layer without quantizers (FuseBatchNormalization).
            if let Some(conv) = conv_mut(&mut assembled.spec, target) {
                if !conv.kernel_quantizer.is_float() || !conv.bias_quantizer.is_float() {
                    return Err(Error::input_at(
                        &config.path,
                        None,
                        Some(&format!("LayerName.{}", l.name)),
                        format!("batch normalization `{}` after the quantized convolution `{target}`: hls4ml 1.3 keeps it as its own layer, which qforge does not have; import without --config (qforge folds it)", l.name),
                    ));
                }
            }
        } else if let Some(kind) = m.became.split(' ').next().filter(|k| k.contains("pooling")) {
            // hls4ml reads a pooling layer's accum_t and result_t as any layer's: stated, else the
            // Model default (config_from_keras_model states only `result: auto`, so a window
            // average sums in the default precision); `auto` is inferred, except that hls4ml 1.3
            // infers nothing for a global pooling, which then gets the default too.
            let global = kind.starts_with("global");
            let (accum, result) = (stated(&l.name, "accum")?, stated(&l.name, "result")?);
            let types = pool_types_mut(&mut assembled.spec, &l.name).expect("every pooling became a feature layer");
            types.accum = if global { accum.or(default) } else { accum };
            types.result = if global { result.or(default) } else { result };
        } else if m.became.split(' ').next() == Some("flatten") {
            // hls4ml's Reshape keeps its input's type; a stated one would not be used.
            if let Some(t) = config.layers.get(&l.name).and_then(|s| s.precision.get("result")).filter(|t| t.as_str() != "auto") {
                return Err(Error::input_at(
                    &config.path,
                    None,
                    Some(&format!("LayerName.{}.Precision.result", l.name)),
                    format!("a stated result type ({t}) for the {} layer `{}` is not supported yet: leave it `auto`", l.class, l.name),
                ));
            }
        } else if let Some(block_name) = m.became.strip_prefix("activation of ") {
            let block_name = block_name.to_string();
            apply_activation(config, default, &l.name, &mut assembled.spec, &block_name)?;
        }
    }
    Ok(())
}

/// The activation layer `layer` after dense block `block_name`: its result, or the softmax's settings.
fn apply_activation(config: &Hls4mlConfig, default: Option<FixedType>, layer: &str, spec: &mut ModelSpec, block_name: &str) -> Result<()> {
    if let Some(conv) = conv_mut(spec, block_name) {
        conv.types.activation_result = stated_type(config, default, layer, "result")?;
        return Ok(());
    }
    let block = spec.blocks.iter_mut().find(|b| b.name == block_name).expect("the activation's block exists");
    if block.activation != Activation::Softmax {
        match block.activation_quantizer {
            // hls4ml's LeakyReLU layer casts the slope into its `param_t`.
            Quantizer::LeakyRelu { .. } => block.types.activation_param = stated_type(config, default, layer, "param")?,
            Quantizer::ReluPo2 { .. } => {
                return Err(Error::input_at(
                    &config.path,
                    None,
                    Some(&format!("LayerName.{layer}")),
                    format!("layer `{layer}` is a quantized_relu_po2, which hls4ml 1.3.0 does not convert (\"Unsupported QKeras activation\"), so there are no hls4ml types to match: import without --config (qforge's own types)"),
                ))
            }
            _ => {}
        }
        block.types.activation_result = stated_type(config, default, layer, "result")?;
        return Ok(());
    }
    let s = config.layers.get(layer);
    let field = |f: &str| format!("LayerName.{layer}.{f}");
    let implementation = match s.and_then(|s| s.implementation.as_deref()).unwrap_or("stable") {
        "stable" => SoftmaxImplementation::Stable,
        "latency" => SoftmaxImplementation::Latency,
        "legacy" => SoftmaxImplementation::Legacy,
        _ => SoftmaxImplementation::Argmax,
    };
    let table = |role: &str| -> Result<Option<FixedType>> {
        match s.and_then(|s| s.precision.get(role)) {
            None => Ok(None),
            Some(t) => parse_hls4ml_type(t).map_err(|m| Error::input_at(&config.path, None, Some(&field(role)), m)),
        }
    };
    spec.softmax = SoftmaxConfig {
        implementation,
        table_size: s.and_then(|s| s.table_size).map(|n| n as usize),
        exp_table_t: table("exp_table")?,
        inv_table_t: table("inv_table")?,
        result: stated_type(config, default, layer, "result")?,
    };
    Ok(())
}

/// A layer's type for `role` as hls4ml reads the config: stated, else the
/// Model default; `None` for `auto` (inferred).
fn stated_type(config: &Hls4mlConfig, default: Option<FixedType>, layer: &str, role: &str) -> Result<Option<FixedType>> {
    let precision = config.layers.get(layer).map(|s| &s.precision);
    if precision.is_some_and(|p| p.contains_key(role)) {
        return config.layer_type(layer, role);
    }
    // `Precision: <type>` on a layer states every role of it.
    match precision.and_then(|p| p.get("default")) {
        Some(_) => config.layer_type(layer, "default"),
        None => Ok(default),
    }
}

fn pool_types_mut<'a>(spec: &'a mut ModelSpec, name: &str) -> Option<&'a mut LayerTypes> {
    spec.features.iter_mut().find_map(|f| match f {
        FeatureLayer::Pool(p) if p.name == name => Some(&mut p.types),
        FeatureLayer::GlobalPool(g) if g.name == name => Some(&mut g.types),
        _ => None,
    })
}

fn conv_mut<'a>(spec: &'a mut ModelSpec, name: &str) -> Option<&'a mut ConvLayer> {
    spec.features.iter_mut().find_map(|f| match f {
        FeatureLayer::Conv(c) if c.name == name => Some(c),
        _ => None,
    })
}
