//! QKeras quantizers as Keras configs serialize them (`{"class_name":
//! "quantized_bits", "config": {...}}`, or a spelling string such as
//! `"quantized_relu(6,2)"`) mapped onto qforge's [`Quantizer`]s. Parameters that
//! change what the quantizer computes at inference and that qforge cannot hold
//! are refused with the reason; training-only ones (stochastic rounding,
//! `qnoise_factor`, the sampling of `stochastic_binary`/`stochastic_ternary`)
//! are accepted, since inference is deterministic.
use crate::quant::parse::{binary_alpha, parse_quantizer, relu_po2_options, relu_upper_bound_check};
use crate::quant::quantizer::TERNARY_DEFAULT_THRESHOLD;
use crate::quant::{Alpha, Quantizer};
use serde_json::Value;

/// What a QActivation (or a Keras activation) does after a layer's sum.
#[derive(Clone, Debug, PartialEq)]
pub enum ActivationStep {
    Linear,
    Relu(Quantizer),
    Softmax,
    /// A quantizer with no nonlinearity (`quantized_bits` as an activation).
    Quantize(Quantizer),
}

/// The quantizers qforge takes, for error messages.
pub const SUPPORTED_QUANTIZERS: &str = "quantized_bits (alpha 1/None, \"auto_po2\", and for kernels \"auto\" or a number), quantized_relu (also leaky: a power-of-two negative_slope; no use_sigmoid, relu_upper_bound at or above its largest output or with is_quantized_clip), quantized_relu_po2 as an activation (no quadratic_approximation, log2_rounding \"rnd\"), quantized_po2, and for kernels and biases binary, ternary, stochastic_binary, stochastic_ternary (alpha 1/None)";

/// A kernel or bias quantizer (`None` or JSON null: unquantized float).
pub fn weight_quantizer(value: Option<&Value>) -> Result<Quantizer, String> {
    match value {
        None | Some(Value::Null) => Ok(Quantizer::Float),
        Some(Value::String(s)) => parse_quantizer(s),
        Some(v) => {
            let (class, config) = class_and_config(v)?;
            match class {
                "quantized_bits" => quantized_bits(config),
                "quantized_po2" => quantized_po2(config),
                "binary" | "stochastic_binary" | "ternary" | "stochastic_ternary" => binary_or_ternary(class, config),
                other => Err(unsupported(other)),
            }
        }
    }
}

/// The `activation` of a QActivation or of a Dense/Activation layer.
pub fn activation_step(value: &Value) -> Result<ActivationStep, String> {
    match value {
        Value::Null => Ok(ActivationStep::Linear),
        Value::String(s) => match s.trim() {
            "linear" | "None" => Ok(ActivationStep::Linear),
            "relu" => Ok(ActivationStep::Relu(Quantizer::Float)),
            "softmax" => Ok(ActivationStep::Softmax),
            spelled if spelled.contains('(') => from_quantizer(parse_quantizer(spelled)?),
            other => Err(format!(
                "activation `{other}` is not supported: use linear, relu, softmax or a QKeras quantizer ({SUPPORTED_QUANTIZERS})"
            )),
        },
        v => {
            let (class, config) = class_and_config(v)?;
            match class {
                "quantized_relu" => from_quantizer(quantized_relu(config)?),
                "quantized_relu_po2" => Ok(ActivationStep::Quantize(quantized_relu_po2(config)?)),
                "quantized_bits" => Ok(ActivationStep::Quantize(quantized_bits(config)?)),
                "binary" | "stochastic_binary" | "ternary" | "stochastic_ternary" => Err(not_an_activation(class)),
                other => Err(unsupported(other)),
            }
        }
    }
}

fn from_quantizer(q: Quantizer) -> Result<ActivationStep, String> {
    Ok(match q {
        Quantizer::QuantizedRelu { .. } => ActivationStep::Relu(q),
        // A leaky ReLU and relu_po2 are their quantizer alone (negative inputs are not zero).
        Quantizer::LeakyRelu { .. } | Quantizer::ReluPo2 { .. } => ActivationStep::Quantize(q),
        Quantizer::Float => ActivationStep::Linear,
        Quantizer::QuantizedPo2 { .. } => {
            return Err("quantized_po2 as an activation is not supported: use quantized_bits or quantized_relu".into())
        }
        Quantizer::Binary { .. } | Quantizer::Ternary { .. } => return Err(not_an_activation(&q.spelling())),
        q => ActivationStep::Quantize(q),
    })
}

fn not_an_activation(class: &str) -> String {
    format!("`{class}` as an activation is not supported (qforge takes binary and ternary for kernels and biases): use quantized_bits or quantized_relu")
}

fn unsupported(class: &str) -> String {
    format!("quantizer `{class}` is not supported: qforge takes {SUPPORTED_QUANTIZERS}")
}

/// `{"class_name": ..., "config": {...}}` (Keras 2 and Keras 3 serialization alike).
fn class_and_config(v: &Value) -> Result<(&str, &serde_json::Map<String, Value>), String> {
    let class = v.get("class_name").and_then(Value::as_str).ok_or_else(|| format!("a quantizer without `class_name`: {v}"))?;
    static EMPTY: std::sync::OnceLock<serde_json::Map<String, Value>> = std::sync::OnceLock::new();
    let config = v.get("config").and_then(Value::as_object).unwrap_or_else(|| EMPTY.get_or_init(Default::default));
    Ok((class, config))
}

fn get<'a>(config: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a Value> {
    config.get(key).filter(|v| !v.is_null())
}

fn int(config: &serde_json::Map<String, Value>, class: &str, key: &str, default: i64) -> Result<i64, String> {
    match get(config, key) {
        None => Ok(default),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            .ok_or_else(|| format!("{class}: {key}={v} is not an integer")),
    }
}

fn boolean(config: &serde_json::Map<String, Value>, class: &str, key: &str, default: bool) -> Result<bool, String> {
    match get(config, key) {
        None => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => v.as_f64().map(|f| f != 0.0).ok_or_else(|| format!("{class}: {key}={v} is not a boolean")),
    }
}

fn bits_of(config: &serde_json::Map<String, Value>, class: &str) -> Result<u32, String> {
    let bits = int(config, class, "bits", 8)?;
    u32::try_from(bits).map_err(|_| format!("{class}: bits={bits} must not be negative"))
}

fn quantized_bits(config: &serde_json::Map<String, Value>) -> Result<Quantizer, String> {
    let class = "quantized_bits";
    let alpha = match get(config, "alpha") {
        None => Alpha::One,
        Some(Value::String(s)) if s == "auto_po2" => Alpha::AutoPo2,
        Some(Value::String(s)) if s == "auto" => Alpha::Auto,
        Some(v) if v.as_f64() == Some(1.0) => Alpha::One,
        Some(v) => match v.as_f64() {
            Some(a) => Alpha::Number(a),
            None => return Err(format!("{class}: alpha={v} is not supported: use 1, \"auto_po2\", \"auto\" or a number")),
        },
    };
    let q = Quantizer::QuantizedBits {
        bits: bits_of(config, class)?,
        integer: int(config, class, "integer", 0)? as i32,
        symmetric: boolean(config, class, "symmetric", false)?,
        keep_negative: boolean(config, class, "keep_negative", true)?,
        alpha,
    };
    q.validate().map_err(|e| format!("{class}: {e}"))?;
    Ok(q)
}

/// `binary`, `ternary` and their stochastic variants, as they evaluate at inference.
fn binary_or_ternary(class: &str, config: &serde_json::Map<String, Value>) -> Result<Quantizer, String> {
    let alpha = get(config, "alpha").map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
    binary_alpha(class, alpha.as_deref())?;
    let q = if class.ends_with("binary") {
        Quantizer::Binary { use_01: boolean(config, class, "use_01", false)? }
    } else {
        let threshold = match get(config, "threshold") {
            None => TERNARY_DEFAULT_THRESHOLD,
            Some(v) => v.as_f64().ok_or_else(|| format!("{class}: threshold={v} is not a number (\"auto\" needs alpha \"auto\")"))?,
        };
        Quantizer::Ternary { threshold }
    };
    q.validate().map_err(|e| format!("{class}: {e}"))?;
    Ok(q)
}

fn quantized_relu(config: &serde_json::Map<String, Value>) -> Result<Quantizer, String> {
    let class = "quantized_relu";
    if boolean(config, class, "use_sigmoid", false)? {
        return Err(format!("{class}: use_sigmoid is not supported"));
    }
    let slope = match get(config, "negative_slope") {
        None => 0.0,
        Some(v) => v.as_f64().ok_or_else(|| format!("{class}: negative_slope={v} is not a number"))?,
    };
    let (bits, integer) = (bits_of(config, class)?, int(config, class, "integer", 0)? as i32);
    let q = if slope == 0.0 {
        Quantizer::QuantizedRelu { bits, integer }
    } else {
        Quantizer::LeakyRelu { bits, integer, negative_slope: slope }
    };
    q.validate().map_err(|e| format!("{class}: {e}"))?;
    if let Some(v) = get(config, "relu_upper_bound") {
        let bound = v.as_f64().ok_or_else(|| format!("{class}: relu_upper_bound={v} is not a number"))?;
        relu_upper_bound_check(&q, bound, boolean(config, class, "is_quantized_clip", true)?).map_err(|e| format!("{class}: {e}"))?;
    }
    Ok(q)
}

fn quantized_relu_po2(config: &serde_json::Map<String, Value>) -> Result<Quantizer, String> {
    let class = "quantized_relu_po2";
    let rounding = get(config, "log2_rounding").map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
    relu_po2_options(boolean(config, class, "quadratic_approximation", false)?, rounding.as_deref())?;
    let number = |key: &str| match get(config, key) {
        None => Ok(None),
        Some(v) => v.as_f64().map(Some).ok_or_else(|| format!("{class}: {key}={v} is not a number")),
    };
    let q = Quantizer::ReluPo2 {
        bits: bits_of(config, class)?,
        max_value: number("max_value")?,
        negative_slope: number("negative_slope")?.unwrap_or(0.0),
    };
    q.validate().map_err(|e| format!("{class}: {e}"))?;
    Ok(q)
}

fn quantized_po2(config: &serde_json::Map<String, Value>) -> Result<Quantizer, String> {
    let class = "quantized_po2";
    if boolean(config, class, "quadratic_approximation", false)? {
        return Err(format!("{class}: quadratic_approximation is not supported"));
    }
    let max_value = match get(config, "max_value") {
        None => None,
        Some(v) => Some(v.as_f64().ok_or_else(|| format!("{class}: max_value={v} is not a number"))?),
    };
    let q = Quantizer::QuantizedPo2 { bits: bits_of(config, class)?, max_value };
    q.validate().map_err(|e| format!("{class}: {e}"))?;
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn qkeras_configs_map_to_quantizers() {
        let q = json!({"class_name": "quantized_bits", "config": {"bits": 6, "integer": 0, "symmetric": 0, "alpha": 1, "keep_negative": true, "use_stochastic_rounding": false, "qnoise_factor": 1.0}});
        assert_eq!(weight_quantizer(Some(&q)).unwrap(), Quantizer::bits(6, 0));
        let q = json!({"class_name": "quantized_bits", "config": {"bits": 8, "integer": 1, "alpha": "auto_po2"}});
        assert!(matches!(weight_quantizer(Some(&q)).unwrap(), Quantizer::QuantizedBits { alpha: Alpha::AutoPo2, bits: 8, integer: 1, .. }));
        let q = json!({"class_name": "quantized_po2", "config": {"bits": 4, "max_value": 1}});
        assert_eq!(weight_quantizer(Some(&q)).unwrap(), Quantizer::QuantizedPo2 { bits: 4, max_value: Some(1.0) });
        assert_eq!(weight_quantizer(None).unwrap(), Quantizer::Float);
        let r =
            json!({"class_name": "quantized_relu", "config": {"bits": 6, "integer": 2, "negative_slope": 0.0, "relu_upper_bound": null}});
        assert_eq!(activation_step(&r).unwrap(), ActivationStep::Relu(Quantizer::relu(6, 2)));
        // relu_upper_bound changes nothing at inference with is_quantized_clip (default True), or at/above 2^2 - 2^-4.
        for (bound, clip) in [(1.0, json!(true)), (1.0, Value::Null), (3.9375, json!(false)), (6.0, json!(false)), (0.0, json!(false))] {
            let r = json!({"class_name": "quantized_relu", "config": {"bits": 6, "integer": 2, "relu_upper_bound": bound, "is_quantized_clip": clip}});
            assert_eq!(activation_step(&r).unwrap(), ActivationStep::Relu(Quantizer::relu(6, 2)), "{bound} {clip}");
        }
        assert_eq!(activation_step(&json!("quantized_bits(8,3)")).unwrap(), ActivationStep::Quantize(Quantizer::bits(8, 3)));
        assert_eq!(activation_step(&json!("softmax")).unwrap(), ActivationStep::Softmax);
        // A leaky quantized_relu and quantized_relu_po2 are the whole activation.
        let leaky = json!({"class_name": "quantized_relu", "config": {"bits": 6, "integer": 2, "negative_slope": 0.25}});
        let q = Quantizer::LeakyRelu { bits: 6, integer: 2, negative_slope: 0.25 };
        assert_eq!(activation_step(&leaky).unwrap(), ActivationStep::Quantize(q.clone()));
        assert_eq!(activation_step(&json!("quantized_relu(6,2,negative_slope=0.25)")).unwrap(), ActivationStep::Quantize(q));
        let po2 = json!({"class_name": "quantized_relu_po2", "config": {"bits": 5, "max_value": 6, "negative_slope": 0.0, "use_stochastic_rounding": false, "quadratic_approximation": false, "log2_rounding": "rnd", "qnoise_factor": 1.0}});
        let q = Quantizer::ReluPo2 { bits: 5, max_value: Some(6.0), negative_slope: 0.0 };
        assert_eq!(activation_step(&po2).unwrap(), ActivationStep::Quantize(q.clone()));
        assert_eq!(activation_step(&json!("quantized_relu_po2(5,6)")).unwrap(), ActivationStep::Quantize(q));
    }

    #[test]
    fn binary_and_ternary_configs_as_qkeras_saves_them() {
        let b = json!({"class_name": "binary", "config": {"use_01": false, "alpha": null, "use_stochastic_rounding": false}});
        assert_eq!(weight_quantizer(Some(&b)).unwrap(), Quantizer::Binary { use_01: false });
        let b01 = json!({"class_name": "binary", "config": {"use_01": true, "alpha": 1, "use_stochastic_rounding": true}});
        assert_eq!(weight_quantizer(Some(&b01)).unwrap(), Quantizer::Binary { use_01: true });
        let sb = json!({"class_name": "stochastic_binary", "config": {"alpha": null, "temperature": 6.0, "use_real_sigmoid": true}});
        assert_eq!(weight_quantizer(Some(&sb)).unwrap(), Quantizer::Binary { use_01: false });
        let t = json!({"class_name": "ternary", "config": {"alpha": 1, "threshold": null, "use_stochastic_rounding": false, "number_of_unrolls": 5}});
        assert_eq!(weight_quantizer(Some(&t)).unwrap(), Quantizer::Ternary { threshold: 0.33 });
        let st = json!({"class_name": "stochastic_ternary", "config": {"alpha": null, "threshold": 0.5, "temperature": 8.0, "use_real_sigmoid": true, "number_of_unrolls": 5}});
        assert_eq!(weight_quantizer(Some(&st)).unwrap(), Quantizer::Ternary { threshold: 0.5 });
        assert_eq!(weight_quantizer(Some(&json!("stochastic_ternary"))).unwrap(), Quantizer::Ternary { threshold: 0.33 });
    }

    #[test]
    fn refusals_say_why() {
        let leaky = json!({"class_name": "quantized_relu", "config": {"bits": 6, "negative_slope": 0.3}});
        assert!(activation_step(&leaky).unwrap_err().contains("power of two"));
        let quadratic = json!({"class_name": "quantized_relu_po2", "config": {"bits": 4, "quadratic_approximation": true}});
        assert!(activation_step(&quadratic).unwrap_err().contains("quadratic_approximation"));
        let floor = json!({"class_name": "quantized_relu_po2", "config": {"bits": 4, "log2_rounding": "floor"}});
        assert!(activation_step(&floor).unwrap_err().contains("log2_rounding"));
        let po2_kernel = json!({"class_name": "quantized_relu_po2", "config": {"bits": 4}});
        assert!(weight_quantizer(Some(&po2_kernel)).unwrap_err().contains("quantized_relu_po2"));
        let clipped = json!({"class_name": "quantized_relu", "config": {"bits": 6, "integer": 2, "relu_upper_bound": 3.0, "is_quantized_clip": false}});
        let e = activation_step(&clipped).unwrap_err();
        assert!(e.contains("relu_upper_bound=3") && e.contains("3.9375"), "{e}");
        let t = json!({"class_name": "ternary", "config": {"alpha": "auto", "threshold": null}});
        let e = weight_quantizer(Some(&t)).unwrap_err();
        assert!(e.contains("ternary") && e.contains("alpha=auto") && e.contains("use alpha=1"), "{e}");
        let b = json!({"class_name": "binary", "config": {"alpha": 0.5}});
        assert!(weight_quantizer(Some(&b)).unwrap_err().contains("alpha=0.5"));
        let e = activation_step(&json!({"class_name": "binary", "config": {}})).unwrap_err();
        assert!(e.contains("as an activation") && e.contains("quantized_relu"), "{e}");
        assert!(activation_step(&json!("ternary(threshold=0.5)")).unwrap_err().contains("as an activation"));
        let u = json!({"class_name": "quantized_ulaw", "config": {}});
        let e = weight_quantizer(Some(&u)).unwrap_err();
        assert!(e.contains("`quantized_ulaw`") && e.contains("binary, ternary"), "{e}");
        let auto = json!({"class_name": "quantized_bits", "config": {"bits": 4, "alpha": "auto", "symmetric": true}});
        assert!(matches!(weight_quantizer(Some(&auto)).unwrap(), Quantizer::QuantizedBits { alpha: Alpha::Auto, .. }));
        let number = json!({"class_name": "quantized_bits", "config": {"bits": 4, "alpha": 0.75}});
        assert!(matches!(weight_quantizer(Some(&number)).unwrap(), Quantizer::QuantizedBits { alpha: Alpha::Number(a), .. } if a == 0.75));
        let bad = json!({"class_name": "quantized_bits", "config": {"bits": 4, "alpha": "best"}});
        assert!(weight_quantizer(Some(&bad)).unwrap_err().contains("alpha"));
        assert!(activation_step(&json!("tanh")).unwrap_err().contains("tanh"));
        let wide = json!({"class_name": "quantized_bits", "config": {"bits": 4, "integer": 6}});
        assert!(weight_quantizer(Some(&wide)).unwrap_err().contains("integer bits"));
    }
}
