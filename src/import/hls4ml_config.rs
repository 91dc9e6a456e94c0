//! The hls4ml configuration a user brings: the YAML file `hls4ml convert -c`
//! reads (`KerasJson`, `KerasH5`, `Part`, `ClockPeriod`, `IOType`,
//! `HLSConfig`), or the dict `config_from_keras_model` returns saved as YAML or
//! JSON (`Model`, `LayerName`). Types are parsed from hls4ml's spellings
//! (`fixed<8,4,RND_CONV,SAT,0>`, `ap_ufixed<6,0>`, `ap_int<8>`, `auto`).
use crate::error::{Error, Result};
use crate::quant::{FixedType, Overflow, Rounding};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Settings of the model or of one layer.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LayerSettings {
    /// Precision by role (`default`, `weight`, `bias`, `result`, `accum`, `exp_table`, ...), as written.
    pub precision: BTreeMap<String, String>,
    pub reuse_factor: Option<u32>,
    pub strategy: Option<String>,
    /// Softmax `Implementation` (stable, latency, legacy, argmax).
    pub implementation: Option<String>,
    pub table_size: Option<u32>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Hls4mlConfig {
    pub path: PathBuf,
    pub keras_json: Option<PathBuf>,
    pub keras_h5: Option<PathBuf>,
    pub part: Option<String>,
    pub clock_period: Option<f64>,
    pub io_type: Option<String>,
    pub model: LayerSettings,
    pub layers: BTreeMap<String, LayerSettings>,
}

/// The precision `hls4ml.utils.config_from_keras_model` states for a whole model.
pub const HLS4ML_DEFAULT_PRECISION: &str = "fixed<16,6>";

impl Hls4mlConfig {
    /// What `config_from_keras_model(model, granularity="model")` returns:
    /// only the Model default precision (blamed on `path`, the model file).
    pub fn model_default(path: &Path) -> Hls4mlConfig {
        let model = LayerSettings {
            precision: [("default".to_string(), HLS4ML_DEFAULT_PRECISION.to_string())].into_iter().collect(),
            ..LayerSettings::default()
        };
        Hls4mlConfig {
            path: path.to_path_buf(),
            keras_json: None,
            keras_h5: None,
            part: None,
            clock_period: None,
            io_type: None,
            model,
            layers: BTreeMap::new(),
        }
    }

    pub fn load(path: &Path) -> Result<Hls4mlConfig> {
        let text = crate::error::read_to_string(path)?;
        // YAML is a superset of JSON: one parser reads both spellings.
        let root: Value = serde_norway::from_str(&text).map_err(|e| {
            let line = e.location().map(|l| l.line());
            Error::input_at(path, line, None, format!("not an hls4ml config (YAML or JSON): {e}"))
        })?;
        Self::from_value(path, &root)
    }

    pub fn from_value(path: &Path, root: &Value) -> Result<Hls4mlConfig> {
        let bad = |field: &str, msg: String| Error::input_at(path, None, Some(field), msg);
        let obj =
            root.as_object().ok_or_else(|| Error::input(path, "an hls4ml config must be a mapping (HLSConfig, or Model/LayerName)"))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let file = |k: &str| obj.get(k).and_then(Value::as_str).map(|s| base.join(s));
        let hls = match obj.get("HLSConfig") {
            Some(v) => v,
            None if obj.contains_key("Model") || obj.contains_key("LayerName") => root,
            None => {
                return Err(Error::input(
                    path,
                    "no `HLSConfig` (hls4ml convert file) nor `Model`/`LayerName` (config_from_keras_model dict)",
                ))
            }
        };
        let model = match hls.get("Model") {
            None => LayerSettings::default(),
            Some(v) => settings(v).map_err(|m| bad("HLSConfig.Model", m))?,
        };
        let mut layers = BTreeMap::new();
        if let Some(v) = hls.get("LayerName") {
            let map = v.as_object().ok_or_else(|| bad("LayerName", "must map layer names to settings".into()))?;
            for (name, v) in map {
                layers.insert(name.clone(), settings(v).map_err(|m| bad(&format!("LayerName.{name}"), m))?);
            }
        }
        if let Some(v) = hls.get("LayerType") {
            if v.as_object().is_some_and(|m| !m.is_empty()) {
                return Err(bad("LayerType", "per-LayerType settings are not supported: use granularity=\"name\" (LayerName)".into()));
            }
        }
        let clock_period = match obj.get("ClockPeriod") {
            None => None,
            Some(v) => Some(
                v.as_f64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    .ok_or_else(|| bad("ClockPeriod", format!("{v} is not a number")))?,
            ),
        };
        let config = Hls4mlConfig {
            path: path.to_path_buf(),
            keras_json: file("KerasJson"),
            keras_h5: file("KerasH5"),
            part: obj.get("Part").and_then(Value::as_str).map(str::to_string),
            clock_period,
            io_type: obj.get("IOType").and_then(Value::as_str).map(str::to_string),
            model,
            layers,
        };
        if let Some(io) = &config.io_type {
            if io != "io_parallel" {
                return Err(bad("IOType", format!("`{io}` is not supported: qforge generates io_parallel designs")));
            }
        }
        for (name, s) in std::iter::once(("Model", &config.model)).chain(config.layers.iter().map(|(n, s)| (n.as_str(), s))) {
            for (role, t) in &s.precision {
                parse_hls4ml_type(t).map_err(|m| bad(&format!("{name}.Precision.{role}"), m))?;
            }
        }
        Ok(config)
    }

    /// The model-wide default precision (`Model.Precision` or its `default`).
    pub fn default_type(&self) -> Result<Option<FixedType>> {
        self.model
            .precision
            .get("default")
            .map(|t| parse_hls4ml_type(t).map_err(|m| Error::input_at(&self.path, None, Some("Model.Precision"), m)))
            .transpose()
            .map(Option::flatten)
    }

    /// A layer's stated type for `role`, `None` when absent or `auto`.
    pub fn layer_type(&self, layer: &str, role: &str) -> Result<Option<FixedType>> {
        match self.layers.get(layer).and_then(|s| s.precision.get(role)) {
            None => Ok(None),
            Some(t) => {
                parse_hls4ml_type(t).map_err(|m| Error::input_at(&self.path, None, Some(&format!("LayerName.{layer}.Precision.{role}")), m))
            }
        }
    }
}

fn settings(v: &Value) -> std::result::Result<LayerSettings, String> {
    let obj = v.as_object().ok_or("must be a mapping")?;
    let mut s = LayerSettings::default();
    match obj.get("Precision") {
        None | Some(Value::Null) => {}
        Some(Value::String(t)) => {
            s.precision.insert("default".into(), t.clone());
        }
        Some(Value::Object(map)) => {
            for (role, t) in map {
                let t = t.as_str().ok_or_else(|| format!("Precision.{role} must be a type such as ap_fixed<16,6>"))?;
                s.precision.insert(role.strip_suffix("_t").unwrap_or(role).to_string(), t.to_string());
            }
        }
        Some(other) => return Err(format!("Precision {other} must be a type or a mapping of types")),
    }
    // The softmax's tables may sit beside Precision (`exp_table_t: ...`).
    for k in ["exp_table_t", "inv_table_t"] {
        if let Some(t) = obj.get(k) {
            let t = t.as_str().ok_or_else(|| format!("{k} must be a type such as ap_fixed<18,8>"))?;
            s.precision.insert(k.trim_end_matches("_t").to_string(), t.to_string());
        }
    }
    let uint = |k: &str| -> std::result::Result<Option<u32>, String> {
        match obj.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .filter(|&n| n >= 1 && n <= u32::MAX as u64)
                .map(|n| Some(n as u32))
                .ok_or(format!("{k} {v} must be a positive integer")),
        }
    };
    s.reuse_factor = uint("ReuseFactor")?;
    s.table_size = uint("TableSize").or_else(|_| uint("table_size"))?;
    s.strategy = obj.get("Strategy").and_then(Value::as_str).map(str::to_lowercase);
    if let Some(st) = &s.strategy {
        if !matches!(st.as_str(), "latency" | "resource") {
            return Err(format!("Strategy `{st}` is not supported: use Latency or Resource"));
        }
    }
    s.implementation = obj.get("Implementation").or_else(|| obj.get("implementation")).and_then(Value::as_str).map(str::to_string);
    if let Some(imp) = &s.implementation {
        if !matches!(imp.as_str(), "stable" | "latency" | "legacy" | "argmax") {
            return Err(format!("softmax Implementation `{imp}` is unknown: hls4ml has stable, latency, legacy, argmax"));
        }
    }
    Ok(s)
}

/// Parse an hls4ml precision; `Ok(None)` for `auto`.
pub fn parse_hls4ml_type(text: &str) -> std::result::Result<Option<FixedType>, String> {
    let s: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if s == "auto" {
        return Ok(None);
    }
    let (head, inner) = s
        .split_once('<')
        .and_then(|(h, r)| r.strip_suffix('>').map(|i| (h, i)))
        .ok_or_else(|| format!("`{text}` is not a type: write e.g. ap_fixed<16,6> or fixed<8,4,RND_CONV,SAT>"))?;
    let head = head.strip_prefix("ap_").unwrap_or(head);
    let parts: Vec<&str> = inner.split(',').collect();
    let num = |i: usize| -> std::result::Result<i64, String> {
        parts.get(i).and_then(|p| p.parse().ok()).ok_or_else(|| format!("`{text}`: `{}` is not a number", parts.get(i).unwrap_or(&"")))
    };
    let (signed, fixed) = match head {
        "fixed" => (true, true),
        "ufixed" => (false, true),
        "int" => (true, false),
        "uint" => (false, false),
        other => return Err(format!("`{text}`: unknown type `{other}` (use fixed, ufixed, int, uint, with or without ap_)")),
    };
    let width = num(0)?;
    if !(1..=64).contains(&width) {
        return Err(format!("`{text}`: width must be between 1 and 64"));
    }
    if !signed && width == 64 {
        return Err(format!("`{text}`: an unsigned type of 64 bits is not supported (qforge's raw values are i64): at most 63"));
    }
    if !fixed {
        if parts.len() != 1 {
            return Err(format!("`{text}`: an integer type takes one parameter"));
        }
        return Ok(Some(FixedType::new(width as u32, width as i32, signed)));
    }
    if parts.len() < 2 || parts.len() > 5 {
        return Err(format!("`{text}`: expected <width,integer[,rounding[,overflow[,saturation bits]]]>"));
    }
    let integer = num(1)? as i32;
    let mode = |i: usize| parts.get(i).map(|p| p.strip_prefix("AP_").unwrap_or(p).to_string());
    let rounding = match mode(2) {
        None => Rounding::Trn,
        Some(r) => *Rounding::ALL
            .iter()
            .find(|m| m.cpp_name().strip_prefix("AP_") == Some(r.as_str()))
            .ok_or_else(|| format!("`{text}`: unknown rounding mode `{r}`"))?,
    };
    let overflow = match mode(3) {
        None => Overflow::Wrap,
        Some(o) => *Overflow::ALL
            .iter()
            .find(|m| m.cpp_name().strip_prefix("AP_") == Some(o.as_str()))
            .ok_or_else(|| format!("`{text}`: unknown overflow mode `{o}`"))?,
    };
    if parts.len() == 5 && num(4)? != 0 {
        return Err(format!("`{text}`: saturation bits other than 0 are not supported"));
    }
    Ok(Some(FixedType::new(width as u32, integer, signed).with_modes(rounding, overflow)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hls4ml_type_spellings() {
        let t = parse_hls4ml_type("fixed<8,4,RND_CONV,SAT,0>").unwrap().unwrap();
        assert_eq!(t.cpp(), "ap_fixed<8,4,AP_RND_CONV,AP_SAT>");
        assert_eq!(parse_hls4ml_type("ap_fixed<16,6>").unwrap().unwrap(), FixedType::signed(16, 6));
        assert_eq!(parse_hls4ml_type("ufixed<6,2,RND_CONV,SAT,0>").unwrap().unwrap().cpp(), "ap_ufixed<6,2,AP_RND_CONV,AP_SAT>");
        assert_eq!(parse_hls4ml_type("ap_int<8>").unwrap().unwrap(), FixedType::new(8, 8, true));
        assert_eq!(parse_hls4ml_type("auto").unwrap(), None);
        assert!(parse_hls4ml_type("fixed<8,4,RND_CONV,SAT,2>").unwrap_err().contains("saturation bits"));
        assert!(parse_hls4ml_type("float").unwrap_err().contains("not a type"));
        assert!(parse_hls4ml_type("fixed<8,4,ROUND>").unwrap_err().contains("rounding"));
    }
}
