//! Parse QKeras quantizer spellings, e.g. `quantized_bits(6,0,alpha=1)`,
//! `quantized_relu(6)`, `quantized_po2(4, max_value=1)`, `binary`, `ternary(threshold=0.5)`,
//! `float`, as users write them in Python, positional or keyword arguments alike.
use super::alpha::Alpha;
use super::quantizer::{Quantizer, TERNARY_DEFAULT_THRESHOLD};

/// Parse one quantizer; the error says what is wrong and what is accepted.
pub fn parse_quantizer(text: &str) -> Result<Quantizer, String> {
    let text = text.trim();
    if matches!(text, "float" | "none" | "None" | "" | "linear") {
        return Ok(Quantizer::Float);
    }
    // QKeras takes a bare class name as the quantizer with its defaults.
    if matches!(text, "binary" | "stochastic_binary" | "ternary" | "stochastic_ternary") {
        return parse_quantizer(&format!("{text}()"));
    }
    let open = text.find('(').ok_or_else(|| format!("`{text}` is not a quantizer: expected e.g. quantized_bits(6,0,alpha=1)"))?;
    if !text.ends_with(')') {
        return Err(format!("`{text}`: missing closing parenthesis"));
    }
    let name = text[..open].trim();
    let args = split_args(&text[open + 1..text.len() - 1]);
    let quantizer = match name {
        "quantized_bits" => {
            let a = Args::bind(&args, &["bits", "integer", "symmetric", "keep_negative", "alpha"], name)?;
            let alpha = match a.get("alpha") {
                None | Some("1") | Some("1.0") | Some("None") => Alpha::One,
                Some(s) if unquote(s) == "auto_po2" => Alpha::AutoPo2,
                Some(s) if unquote(s) == "auto" => Alpha::Auto,
                Some(other) => match other.parse::<f64>() {
                    Ok(a) => Alpha::Number(a),
                    Err(_) => return Err(format!("{name}: alpha={other} is not supported: use 1, \"auto_po2\", \"auto\" or a number")),
                },
            };
            Quantizer::QuantizedBits {
                bits: a.uint("bits", 8)?,
                integer: a.int("integer", 0)?,
                // QKeras makes every "auto*" alpha symmetric.
                symmetric: a.boolean("symmetric", false)? || matches!(alpha, Alpha::Auto | Alpha::AutoPo2),
                keep_negative: a.boolean("keep_negative", true)?,
                alpha,
            }
        }
        "quantized_relu" => {
            let params = [
                "bits",
                "integer",
                "use_sigmoid",
                "negative_slope",
                "use_stochastic_rounding",
                "relu_upper_bound",
                "is_quantized_clip",
                "qnoise_factor",
            ];
            let a = Args::bind(&args, &params, name)?;
            if a.get("use_sigmoid").is_some_and(|v| v != "0" && v != "False") {
                return Err(format!("{name}: use_sigmoid is not supported"));
            }
            let slope = match a.get("negative_slope") {
                None => 0.0,
                Some(v) => v.parse::<f64>().map_err(|_| format!("{name}: negative_slope `{v}` is not a number"))?,
            };
            let (bits, integer) = (a.uint("bits", 8)?, a.int("integer", 0)?);
            let q = if slope == 0.0 {
                Quantizer::QuantizedRelu { bits, integer }
            } else {
                Quantizer::LeakyRelu { bits, integer, negative_slope: slope }
            };
            q.validate().map_err(|e| format!("{text}: {e}"))?;
            if let Some(v) = a.get("relu_upper_bound").filter(|v| *v != "None") {
                let bound = v.parse::<f64>().map_err(|_| format!("{name}: relu_upper_bound `{v}` is not a number"))?;
                relu_upper_bound_check(&q, bound, a.boolean("is_quantized_clip", true)?).map_err(|e| format!("{name}: {e}"))?;
            }
            q
        }
        "quantized_relu_po2" => {
            let params = [
                "bits",
                "max_value",
                "negative_slope",
                "use_stochastic_rounding",
                "quadratic_approximation",
                "log2_rounding",
                "qnoise_factor",
            ];
            let a = Args::bind(&args, &params, name)?;
            relu_po2_options(a.boolean("quadratic_approximation", false)?, a.get("log2_rounding").map(unquote))?;
            let max_value = match a.get("max_value") {
                None | Some("None") => None,
                Some(v) => Some(v.parse::<f64>().map_err(|_| format!("{name}: max_value `{v}` is not a number"))?),
            };
            let negative_slope = match a.get("negative_slope") {
                None => 0.0,
                Some(v) => v.parse::<f64>().map_err(|_| format!("{name}: negative_slope `{v}` is not a number"))?,
            };
            Quantizer::ReluPo2 { bits: a.uint("bits", 8)?, max_value, negative_slope }
        }
        "quantized_po2" => {
            let a = Args::bind(&args, &["bits", "max_value"], name)?;
            let max_value = match a.get("max_value") {
                None | Some("None") => None,
                Some(v) => Some(v.parse::<f64>().map_err(|_| format!("{name}: max_value `{v}` is not a number"))?),
            };
            Quantizer::QuantizedPo2 { bits: a.uint("bits", 8)?, max_value }
        }
        "binary" | "stochastic_binary" => {
            let params: &[&'static str] = if name == "binary" {
                &["use_01", "alpha", "use_stochastic_rounding"]
            } else {
                &["alpha", "temperature", "use_real_sigmoid"]
            };
            let a = Args::bind(&args, params, name)?;
            binary_alpha(name, a.get("alpha"))?;
            Quantizer::Binary { use_01: a.boolean("use_01", false)? }
        }
        "ternary" | "stochastic_ternary" => {
            let params: &[&'static str] = if name == "ternary" {
                &["alpha", "threshold", "use_stochastic_rounding", "number_of_unrolls"]
            } else {
                &["alpha", "threshold", "temperature", "use_real_sigmoid", "number_of_unrolls"]
            };
            let a = Args::bind(&args, params, name)?;
            binary_alpha(name, a.get("alpha"))?;
            let threshold = match a.get("threshold") {
                None | Some("None") => TERNARY_DEFAULT_THRESHOLD,
                Some(v) => v.parse::<f64>().map_err(|_| format!("{name}: threshold `{v}` is not a number"))?,
            };
            Quantizer::Ternary { threshold }
        }
        other => {
            return Err(format!(
            "unknown quantizer `{other}`: use quantized_bits, quantized_relu, quantized_relu_po2, quantized_po2, binary, ternary or float"
        ))
        }
    };
    quantizer.validate().map_err(|e| format!("{text}: {e}"))?;
    Ok(quantizer)
}

/// `relu_upper_bound` of a `quantized_relu`: QKeras clips the quantized output
/// at it only with `is_quantized_clip=False` (by default True the bound shapes
/// the gradient alone), and a bound of 0 clips nothing. A clip below the
/// largest output would need a saturation qforge's types do not have.
pub fn relu_upper_bound_check(q: &Quantizer, bound: f64, is_quantized_clip: bool) -> Result<(), String> {
    let largest = q.quantize(f32::MAX) as f64;
    if !is_quantized_clip && bound != 0.0 && bound < largest {
        return Err(format!(
            "relu_upper_bound={bound} with is_quantized_clip=False clips below the largest output {largest}, which qforge cannot hold: use relu_upper_bound >= {largest}, is_quantized_clip=True, or fewer integer bits"
        ));
    }
    Ok(())
}

/// `quantized_relu_po2` options that change its values at inference and that qforge does not compute.
pub fn relu_po2_options(quadratic_approximation: bool, log2_rounding: Option<&str>) -> Result<(), String> {
    if quadratic_approximation {
        return Err("quantized_relu_po2: quadratic_approximation is not supported".into());
    }
    match log2_rounding {
        None | Some("rnd") => Ok(()),
        Some(other) => Err(format!("quantized_relu_po2: log2_rounding=\"{other}\" is not supported: use \"rnd\" (the default)")),
    }
}

/// The alpha of a binary or ternary quantizer: only 1 (or None) keeps its values ±1.
pub fn binary_alpha(name: &str, alpha: Option<&str>) -> Result<(), String> {
    match alpha.map(unquote) {
        None | Some("None") => Ok(()),
        Some(v) if v.parse::<f64>() == Ok(1.0) => Ok(()),
        Some(v) => Err(format!(
            "{name}: alpha={v} is not supported (qforge holds binary and ternary weights as ±1 and 0, without a scale): use alpha=1 or leave it out"
        )),
    }
}

fn unquote(s: &str) -> &str {
    s.trim_matches(|c| c == '"' || c == '\'')
}

fn split_args(inner: &str) -> Vec<String> {
    inner.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
}

/// Arguments bound to parameter names, Python-style.
struct Args<'a> {
    name: &'a str,
    values: Vec<(&'static str, String)>,
}

impl<'a> Args<'a> {
    fn bind(args: &[String], params: &[&'static str], name: &'a str) -> Result<Self, String> {
        let mut values: Vec<(&'static str, String)> = Vec::new();
        let mut seen_keyword = false;
        for (i, arg) in args.iter().enumerate() {
            if let Some((k, v)) = arg.split_once('=') {
                seen_keyword = true;
                let k = k.trim();
                let param = params
                    .iter()
                    .find(|p| **p == k)
                    .ok_or_else(|| format!("{name}: unknown argument `{k}` (accepted: {})", params.join(", ")))?;
                values.push((param, v.trim().to_string()));
            } else {
                if seen_keyword {
                    return Err(format!("{name}: positional argument `{arg}` after a keyword argument"));
                }
                let param = params.get(i).ok_or_else(|| format!("{name}: too many arguments"))?;
                values.push((param, arg.clone()));
            }
        }
        Ok(Args { name, values })
    }
    fn get(&self, key: &str) -> Option<&str> {
        self.values.iter().rev().find(|(k, _)| *k == key).map(|(_, v)| v.as_str())
    }
    fn int(&self, key: &str, default: i32) -> Result<i32, String> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v.parse::<i32>().map_err(|_| format!("{}: {key}=`{v}` is not an integer", self.name)),
        }
    }
    fn uint(&self, key: &str, default: u32) -> Result<u32, String> {
        let v = self.int(key, default as i32)?;
        u32::try_from(v).map_err(|_| format!("{}: {key} must not be negative, got {v}", self.name))
    }
    fn boolean(&self, key: &str, default: bool) -> Result<bool, String> {
        match self.get(key) {
            None => Ok(default),
            Some("1" | "True" | "true") => Ok(true),
            Some("0" | "False" | "false") => Ok(false),
            Some(v) => Err(format!("{}: {key}=`{v}` must be 0/1 or True/False", self.name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_qkeras_spellings() {
        assert_eq!(parse_quantizer("quantized_bits(6,0,alpha=1)").unwrap(), Quantizer::bits(6, 0));
        assert_eq!(parse_quantizer("quantized_bits(6, 0, 0, 1, 1)").unwrap(), Quantizer::bits(6, 0));
        assert_eq!(parse_quantizer("quantized_relu(6)").unwrap(), Quantizer::relu(6, 0));
        assert_eq!(
            parse_quantizer("quantized_bits(4,0,1,alpha='auto_po2')").unwrap(),
            Quantizer::QuantizedBits { bits: 4, integer: 0, symmetric: true, keep_negative: true, alpha: Alpha::AutoPo2 }
        );
        assert_eq!(parse_quantizer("quantized_po2(4,1)").unwrap(), Quantizer::QuantizedPo2 { bits: 4, max_value: Some(1.0) });
        assert_eq!(parse_quantizer("float").unwrap(), Quantizer::Float);
        let q = Quantizer::QuantizedBits { bits: 5, integer: 2, symmetric: true, keep_negative: false, alpha: Alpha::One };
        assert_eq!(parse_quantizer(&q.spelling()).unwrap(), q);
    }

    #[test]
    fn rejects_bad_quantizers() {
        assert!(parse_quantizer("quantized_bits(0,0)").unwrap_err().contains("between 1 and 32"));
        assert!(parse_quantizer("quantized_bits(40,0)").is_err());
        assert!(parse_quantizer("quantized_bits(4,6)").unwrap_err().contains("integer bits"));
        assert!(parse_quantizer("quantized_tanh(4)").unwrap_err().contains("unknown quantizer"));
        assert!(parse_quantizer("quantized_bits(4,0,foo=1)").unwrap_err().contains("unknown argument"));
        assert!(parse_quantizer("quantized_bits(4,0").is_err());
        for bad in ["binary(alpha='auto_po2')", "ternary(alpha=0.5)", "stochastic_ternary(alpha='auto')"] {
            assert!(parse_quantizer(bad).unwrap_err().contains("use alpha=1"), "{bad}");
        }
        assert!(parse_quantizer("ternary(threshold=x)").unwrap_err().contains("not a number"));
        assert!(parse_quantizer("binary(foo=1)").unwrap_err().contains("unknown argument"));
        let e = parse_quantizer("quantized_relu(4,1,relu_upper_bound=1.0,is_quantized_clip=False)").unwrap_err();
        assert!(e.contains("relu_upper_bound=1") && e.contains("1.875"), "{e}");
        for ok in ["quantized_relu(4,1,relu_upper_bound=1.0)", "quantized_relu(4,1,relu_upper_bound=2,is_quantized_clip=0)"] {
            assert_eq!(parse_quantizer(ok).unwrap(), Quantizer::relu(4, 1), "{ok}");
        }
    }

    #[test]
    fn parses_binary_and_ternary() {
        let pm1 = Quantizer::Binary { use_01: false };
        for text in
            ["binary", "binary()", "binary(alpha=1)", "binary(0, None, 1)", "stochastic_binary", "stochastic_binary(temperature=6.0)"]
        {
            assert_eq!(parse_quantizer(text).unwrap(), pm1, "{text}");
        }
        assert_eq!(parse_quantizer("binary(use_01=1)").unwrap(), Quantizer::Binary { use_01: true });
        let t = Quantizer::Ternary { threshold: 0.33 };
        for text in ["ternary", "ternary(alpha=1)", "ternary(1.0, None)", "stochastic_ternary(threshold=None)"] {
            assert_eq!(parse_quantizer(text).unwrap(), t, "{text}");
        }
        assert_eq!(parse_quantizer("ternary(threshold=0.5)").unwrap(), Quantizer::Ternary { threshold: 0.5 });
        assert!(parse_quantizer("ternary(threshold=-1)").unwrap_err().contains("threshold"));
        for q in [pm1, Quantizer::Binary { use_01: true }, t, Quantizer::Ternary { threshold: 0.125 }] {
            assert_eq!(parse_quantizer(&q.spelling()).unwrap(), q);
        }
    }
}
