//! Yosys `stat -json` output (`{"creator": "Yosys 0.23 ...", "modules": {..},
//! "design": {..}}`). Counts follow the fixture MANIFEST: `lut` = LUT1..LUT6
//! plus INV cells (Vivado maps INV to a LUT1), `ff` = FD* cells, `carry` =
//! CARRY4/CARRY8, `dsp` = DSP* cells; every cell type is kept in `cells`.
//! Yosys states the whole cell list, so a type it does not list counts 0.
//!
//! A per-layer (hierarchical) run's parts are summed by [`sum_stats`] into one
//! file of the same shape, marked `qforge_hierarchical` (its parts listed);
//! the parser reports the marker as `extra.hierarchical_parts`.
use super::model::{ReportKind, SynthReport};
use crate::error::{Error, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// True if a JSON document looks like Yosys `stat -json` output.
pub(crate) fn is_yosys_stat(value: &Value) -> bool {
    let creator_is_yosys = value.get("creator").and_then(Value::as_str).is_some_and(|c| c.starts_with("Yosys"));
    creator_is_yosys || (value.get("modules").is_some_and(Value::is_object) && value.get("design").is_some())
}

pub(crate) fn parse(path: &Path, value: &Value) -> Result<SynthReport> {
    let mut report = SynthReport::new(path, ReportKind::Yosys);
    report.tool_version = value
        .get("creator")
        .and_then(Value::as_str)
        .and_then(|c| c.strip_prefix("Yosys "))
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_string);
    let modules = value.get("modules").and_then(Value::as_object);
    report.top = modules.and_then(top_module);
    if let Some(hier) = value.get(HIER_KEY) {
        report.top = hier.get("top").and_then(Value::as_str).map(str::to_string);
        let parts = hier.get("parts").and_then(Value::as_array).map_or(0, Vec::len);
        report.extra.insert("hierarchical_parts".into(), parts as f64);
    }
    // `design` holds the hierarchy's totals; a single-module run may omit it.
    let totals = value
        .get("design")
        .or_else(|| modules.filter(|m| m.len() == 1).and_then(|m| m.values().next()))
        .ok_or_else(|| Error::input_at(path, None, Some("design"), "Yosys stat output has no design totals"))?;
    let by_type = totals
        .get("num_cells_by_type")
        .and_then(Value::as_object)
        .ok_or_else(|| Error::input_at(path, None, Some("num_cells_by_type"), "Yosys stat output lists no cells"))?;
    let mut cells = BTreeMap::new();
    for (name, count) in by_type {
        let n = count.as_u64().ok_or_else(|| {
            Error::input_at(path, None, Some("num_cells_by_type"), format!("cell count for {name} is not a whole number"))
        })?;
        cells.insert(name.clone(), n);
    }
    let sum = |pred: &dyn Fn(&str) -> bool| cells.iter().filter(|(k, _)| pred(k)).map(|(_, v)| *v).sum::<u64>();
    report.used.lut = Some(sum(&|k| matches!(k, "LUT1" | "LUT2" | "LUT3" | "LUT4" | "LUT5" | "LUT6" | "INV")));
    report.used.ff = Some(sum(&|k| k.starts_with("FD")));
    report.used.carry = Some(sum(&|k| matches!(k, "CARRY4" | "CARRY8")));
    report.used.dsp = Some(sum(&|k| k.starts_with("DSP")));
    if let Some(total) = totals.get("num_cells").and_then(Value::as_u64) {
        report.extra.insert("num_cells".into(), total as f64);
    }
    report.cells = Some(cells);
    Ok(report)
}

/// The marker of a summed per-layer report.
pub const HIER_KEY: &str = "qforge_hierarchical";

/// Sum the `stat -json` files of a hierarchical run's parts (`(module, file)`;
/// the top's own job counts its parts as one black-box cell each, which are
/// dropped) into `out`: a Yosys-shaped file whose `design` holds the summed
/// cell counts by type, `modules` each part's totals, and [`HIER_KEY`] the
/// top and the parts. Returns the summed counts by type.
pub fn sum_stats(top: &str, parts: &[(String, std::path::PathBuf)], out: &Path) -> Result<BTreeMap<String, u64>> {
    let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
    let mut modules = serde_json::Map::new();
    let mut listed = Vec::new();
    let mut creator = None;
    for (name, path) in parts {
        let text = crate::error::read_to_string(path)?;
        let value: Value = serde_json::from_str(&text).map_err(|e| Error::input_at(path, Some(e.line()), None, e.to_string()))?;
        if !is_yosys_stat(&value) {
            return Err(Error::input(path, "not Yosys `stat -json` output"));
        }
        let part = parse(path, &value)?;
        creator = creator.or_else(|| value.get("creator").cloned());
        let cells = part.cells.unwrap_or_default();
        let mut own = serde_json::Map::new();
        for (kind, n) in cells.iter().filter(|(k, _)| !parts.iter().any(|(m, _)| m == *k)) {
            *by_type.entry(kind.clone()).or_default() += n;
            own.insert(kind.clone(), (*n).into());
        }
        let total: u64 = own.values().filter_map(Value::as_u64).sum();
        modules.insert(format!("\\{name}"), serde_json::json!({ "num_cells": total, "num_cells_by_type": own }));
        listed.push(serde_json::json!({ "module": name, "stat": path, "num_cells": total }));
    }
    let total: u64 = by_type.values().sum();
    let json = serde_json::json!({
        "creator": creator.unwrap_or(Value::Null),
        HIER_KEY: { "top": top, "parts": listed },
        "modules": modules,
        "design": { "num_cells": total, "num_cells_by_type": by_type },
    });
    crate::error::write_atomic(out, serde_json::to_string_pretty(&json).expect("stat serialises").as_bytes())?;
    Ok(by_type)
}

/// The module no other module instantiates, when there is exactly one.
/// Yosys escapes names with a leading backslash; it is dropped.
fn top_module(modules: &serde_json::Map<String, Value>) -> Option<String> {
    let instantiated: std::collections::HashSet<&str> = modules
        .values()
        .filter_map(|m| m.get("num_cells_by_type").and_then(Value::as_object))
        .flat_map(|cells| cells.keys().map(|k| unescape(k)))
        .collect();
    let mut tops = modules.keys().map(|k| unescape(k)).filter(|name| !instantiated.contains(name));
    let top = tops.next()?;
    if tops.next().is_some() {
        return None;
    }
    Some(top.to_string())
}

fn unescape(name: &str) -> &str {
    name.strip_prefix('\\').unwrap_or(name)
}
