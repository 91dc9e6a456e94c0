//! Reading a Yosys JSON netlist (`write_json` after `synth_xilinx -flatten`):
//! the top module's ports, cells (type, parameters, connections) and net
//! names. Bits are Yosys bit ids or the constants "0", "1", "x" ("z" reads as
//! "x"); parameters are binary strings (most significant bit first), numbers
//! or text. Every fault names the file.
use crate::error::{Error, Result};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One bit of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bit {
    Net(u32),
    Zero,
    One,
    X,
}

/// A parameter value as Yosys writes it.
#[derive(Clone, Debug, PartialEq)]
pub enum Param {
    /// Bits, least significant first; `None` is an x/z bit.
    Bits(Vec<Option<bool>>),
    Text(String),
}

impl Param {
    /// The value as an integer (bits beyond 64 ignored); `None` when text or with x bits.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Param::Bits(bits) => bits.iter().take(64).enumerate().try_fold(0u64, |acc, (i, b)| b.map(|b| acc | ((b as u64) << i))),
            Param::Text(t) => t.trim().parse().ok(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Port {
    pub name: String,
    pub input: bool,
    pub bits: Vec<Bit>,
}

#[derive(Clone, Debug)]
pub struct Cell {
    pub name: String,
    pub kind: String,
    pub params: BTreeMap<String, Param>,
    /// `src` attribute (source locations, `|`-separated).
    pub src: String,
    /// Port name → (is output, bits).
    pub conns: BTreeMap<String, (bool, Vec<Bit>)>,
}

impl Cell {
    pub fn port(&self, name: &str) -> Option<&[Bit]> {
        self.conns.get(name).map(|(_, b)| b.as_slice())
    }
    pub fn outputs(&self) -> impl Iterator<Item = Bit> + '_ {
        self.conns.values().filter(|(out, _)| *out).flat_map(|(_, b)| b.iter().copied())
    }
}

#[derive(Clone, Debug)]
pub struct NetName {
    pub name: String,
    pub hidden: bool,
    pub bits: Vec<Bit>,
}

/// The top module of a mapped netlist.
#[derive(Clone, Debug)]
pub struct Netlist {
    pub path: PathBuf,
    pub top: String,
    pub ports: Vec<Port>,
    pub cells: Vec<Cell>,
    pub netnames: Vec<NetName>,
    /// One more than the largest bit id.
    pub n_bits: u32,
}

#[derive(Deserialize)]
struct RawFile {
    modules: BTreeMap<String, RawModule>,
}

#[derive(Deserialize)]
struct RawModule {
    #[serde(default)]
    attributes: BTreeMap<String, Value>,
    #[serde(default)]
    ports: BTreeMap<String, RawPort>,
    #[serde(default)]
    cells: BTreeMap<String, RawCell>,
    #[serde(default)]
    netnames: BTreeMap<String, RawNet>,
}

#[derive(Deserialize)]
struct RawPort {
    direction: String,
    bits: Vec<Value>,
}

#[derive(Deserialize)]
struct RawCell {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    parameters: BTreeMap<String, Value>,
    #[serde(default)]
    attributes: BTreeMap<String, Value>,
    #[serde(default)]
    port_directions: BTreeMap<String, String>,
    #[serde(default)]
    connections: BTreeMap<String, Vec<Value>>,
}

#[derive(Deserialize)]
struct RawNet {
    #[serde(default)]
    hide_name: u8,
    bits: Vec<Value>,
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.as_u64().is_some_and(|n| n != 0),
        Value::String(s) => s.chars().any(|c| c == '1'),
        _ => false,
    }
}

/// A parameter value: a string of 0/1/x/z is bits (MSB first), a number is a 32-bit integer.
pub fn parse_param(v: &Value) -> Param {
    match v {
        Value::Number(n) => {
            let x = n.as_i64().unwrap_or(0);
            Param::Bits((0..32).map(|i| Some((x >> i) & 1 == 1)).collect())
        }
        Value::String(s) if !s.is_empty() && s.chars().all(|c| matches!(c, '0' | '1' | 'x' | 'z')) => Param::Bits(
            s.chars()
                .rev()
                .map(|c| match c {
                    '0' => Some(false),
                    '1' => Some(true),
                    _ => None,
                })
                .collect(),
        ),
        Value::String(s) => Param::Text(s.trim_end().to_string()),
        other => Param::Text(other.to_string()),
    }
}

impl Netlist {
    pub fn load(path: &Path) -> Result<Netlist> {
        let bytes = crate::error::read_bytes(path)?;
        Netlist::parse(&bytes, path)
    }

    pub fn parse(bytes: &[u8], path: &Path) -> Result<Netlist> {
        let raw: RawFile = serde_json::from_slice(bytes).map_err(|e| {
            Error::input_at(
                path,
                Some(e.line()),
                None,
                format!("not a Yosys JSON netlist ({e}): write it with `qforge synth DIR --tool yosys --netlist`"),
            )
        })?;
        let tops: Vec<&String> = raw.modules.iter().filter(|(_, m)| m.attributes.get("top").is_some_and(truthy)).map(|(n, _)| n).collect();
        let top = match tops.as_slice() {
            [one] => (*one).clone(),
            [] => return Err(Error::input(path, "no module carries the `top` attribute: is this a synthesised netlist?")),
            many => return Err(Error::input(path, format!("{} modules carry the `top` attribute", many.len()))),
        };
        let m = &raw.modules[&top];
        let mut n_bits = 0u32;
        let mut bit = |v: &Value, field: &str| -> Result<Bit> {
            match v {
                Value::Number(n) => {
                    let id = n
                        .as_u64()
                        .filter(|&i| i < u32::MAX as u64 / 2)
                        .ok_or_else(|| Error::input_at(path, None, Some(field), format!("bit id {n} out of range")))?
                        as u32;
                    n_bits = n_bits.max(id + 1);
                    Ok(Bit::Net(id))
                }
                Value::String(s) => match s.as_str() {
                    "0" => Ok(Bit::Zero),
                    "1" => Ok(Bit::One),
                    "x" | "z" => Ok(Bit::X),
                    other => Err(Error::input_at(path, None, Some(field), format!("bit `{other}` is neither an id nor 0/1/x/z"))),
                },
                other => Err(Error::input_at(path, None, Some(field), format!("bit {other} is neither an id nor 0/1/x/z"))),
            }
        };
        let mut ports = Vec::new();
        for (name, p) in &m.ports {
            let input = match p.direction.as_str() {
                "input" => true,
                "output" => false,
                d => {
                    return Err(Error::input_at(
                        path,
                        None,
                        Some(&format!("ports.{name}")),
                        format!("direction `{d}` is not supported (input/output only)"),
                    ))
                }
            };
            let bits = p.bits.iter().map(|v| bit(v, &format!("ports.{name}"))).collect::<Result<_>>()?;
            ports.push(Port { name: name.clone(), input, bits });
        }
        let mut cells = Vec::with_capacity(m.cells.len());
        for (name, c) in &m.cells {
            let mut conns = BTreeMap::new();
            for (port, bits) in &c.connections {
                let field = format!("cells.{name}.connections.{port}");
                let out = match c.port_directions.get(port).map(String::as_str) {
                    Some("output") => true,
                    Some("input") => false,
                    other => {
                        return Err(Error::input_at(
                            path,
                            None,
                            Some(&field),
                            format!("port direction {other:?} (expected input or output)"),
                        ))
                    }
                };
                conns.insert(port.clone(), (out, bits.iter().map(|v| bit(v, &field)).collect::<Result<Vec<_>>>()?));
            }
            let src = c.attributes.get("src").and_then(Value::as_str).unwrap_or("").to_string();
            let params = c.parameters.iter().map(|(k, v)| (k.clone(), parse_param(v))).collect();
            cells.push(Cell { name: name.clone(), kind: c.kind.trim_start_matches('\\').to_string(), params, src, conns });
        }
        let mut netnames = Vec::with_capacity(m.netnames.len());
        for (name, n) in &m.netnames {
            let bits = n.bits.iter().map(|v| bit(v, &format!("netnames.{name}"))).collect::<Result<_>>()?;
            netnames.push(NetName { name: name.clone(), hidden: n.hide_name != 0, bits });
        }
        Ok(Netlist { path: path.to_path_buf(), top: top.trim_start_matches('\\').to_string(), ports, cells, netnames, n_bits })
    }

    pub fn port(&self, name: &str) -> Option<&Port> {
        self.ports.iter().find(|p| p.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_lsb_first_bits() {
        assert_eq!(parse_param(&Value::String("1001".into())), Param::Bits(vec![Some(true), Some(false), Some(false), Some(true)]));
        assert_eq!(parse_param(&Value::String("0x1".into())).as_u64(), None);
        assert_eq!(parse_param(&Value::String("110".into())).as_u64(), Some(6));
        assert_eq!(parse_param(&Value::String("DIRECT".into())), Param::Text("DIRECT".into()));
        assert_eq!(parse_param(&serde_json::json!(5)).as_u64(), Some(5));
    }

    #[test]
    fn corrupt_file_names_itself() {
        let e = Netlist::parse(b"{\"modules\": {\"top\": ", Path::new("/tmp/n.json")).unwrap_err().to_string();
        assert!(e.contains("/tmp/n.json") && e.contains("Yosys JSON"), "{e}");
        let e = Netlist::parse(b"{\"modules\": {}}", Path::new("n.json")).unwrap_err().to_string();
        assert!(e.contains("top"), "{e}");
    }
}
