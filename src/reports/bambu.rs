//! Bambu (PandA HLS) reports: the results XML `--evaluation`/`--simulate`
//! writes (root `<bambu_results>`, one `<NAME value=".."/>` per objective,
//! tool arguments in attributes), and the Vivado back-end summary its
//! generated `vivado.tcl` writes (root `<document>`, `<item stringID=..
//! value=..>`). Objectives without a common meaning (BRAM units differ by
//! back-end, delays) are kept raw in `extra`.
use super::model::{ReportKind, Stage, SynthReport};
use super::text::{parse_count, parse_decimal};
use super::xml::Document;
use crate::error::{Error, Result};
use std::path::Path;

pub(crate) fn parse_results(path: &Path, doc: &Document) -> Result<SynthReport> {
    let root = &doc.root;
    let mut report = SynthReport::new(path, ReportKind::Bambu);
    report.tool_version = root.attr("bambu_version").and_then(version_of);
    if let Some(args) = root.attr("bambu_args") {
        report.top = option_value(args, &["--top-fname", "--top-rtldesign-name"]);
        report.part = option_value(args, &["--device-name", "--device"]);
        if let Some(period) = option_value(args, &["--clock-period"]) {
            report.clock_target_ns = parse_decimal(path, Some(doc.line(root)), "--clock-period", &period)?;
        }
    }
    for item in &root.children {
        let Some(value) = item.attr("value") else { continue };
        let line = Some(doc.line(item));
        match item.name.as_str() {
            "CYCLES" => report.latency_cycles = parse_count(path, line, "CYCLES", value)?,
            "SLICE_LUTS" | "LUTS" => report.used.lut = parse_count(path, line, &item.name, value)?,
            "REGISTERS" => report.used.ff = parse_count(path, line, &item.name, value)?,
            "DSPS" => report.used.dsp = parse_count(path, line, &item.name, value)?,
            // Other objectives are kept only when numeric: their set varies by version.
            name => {
                if let Ok(Some(v)) = parse_decimal(path, line, name, value) {
                    report.extra.insert(name.to_string(), v);
                }
            }
        }
    }
    if !report.has_numbers() {
        return Err(Error::input(path, "Bambu results state no cycles or resources (failed run?)"));
    }
    Ok(report)
}

/// `Version: PandA 2023.1 - Revision ...` → `2023.1`.
fn version_of(attr: &str) -> Option<String> {
    let after = attr.split("PandA").nth(1)?.trim_start();
    let version: String = after.chars().take_while(|c| !c.is_whitespace()).collect();
    (!version.is_empty()).then_some(version)
}

/// Value of `--name=value` (or `--name value`) in a command line.
fn option_value(args: &str, names: &[&str]) -> Option<String> {
    let words: Vec<&str> = args.split_whitespace().collect();
    for (i, word) in words.iter().enumerate() {
        for name in names {
            if let Some(v) = word.strip_prefix(name).and_then(|rest| rest.strip_prefix('=')) {
                return Some(v.to_string());
            }
            if word == name {
                return words.get(i + 1).map(|v| v.to_string());
            }
        }
    }
    None
}

/// True for the back-end summary Bambu's synthesis scripts write.
pub(crate) fn is_flow_summary(doc: &Document) -> bool {
    doc.root.name == "document" && doc.root.child("application").is_some()
}

pub(crate) fn parse_flow_summary(path: &Path, doc: &Document) -> Result<SynthReport> {
    let mut report = SynthReport::new(path, ReportKind::Bambu);
    report.stage = Some(Stage::Synth);
    let sections = doc.root.children.iter().filter(|a| a.name == "application").flat_map(|a| &a.children);
    for item in sections.flat_map(|s| &s.children).filter(|i| i.name == "item") {
        let (Some(id), Some(value)) = (item.attr("stringID"), item.attr("value")) else { continue };
        let line = Some(doc.line(item));
        match id {
            "XILINX_SLICE_LUTS" | "LATTICE_SLICE_LUTS" | "NANOXPLORE_LUTS" => report.used.lut = parse_count(path, line, id, value)?,
            "XILINX_SLICE_REGISTERS" | "LATTICE_REGISTERS" | "NANOXPLORE_REGISTERS" => report.used.ff = parse_count(path, line, id, value)?,
            "XILINX_DSPS" | "LATTICE_DSPS" | "NANOXPLORE_DSPS" => report.used.dsp = parse_count(path, line, id, value)?,
            _ => {
                if let Ok(Some(v)) = parse_decimal(path, line, id, value) {
                    report.extra.insert(id.to_string(), v);
                }
            }
        }
    }
    if !report.has_numbers() {
        return Err(Error::input(path, "Bambu synthesis summary states no resource numbers (failed run?)"));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_version_and_options() {
        assert_eq!(super::version_of("Version: PandA 2023.1 - Revision 04336").as_deref(), Some("2023.1"));
        let args = "bambu -O3 --device-name=EP2C70F896C6-R --top-fname=mm x.c";
        assert_eq!(super::option_value(args, &["--top-fname"]).as_deref(), Some("mm"));
        assert_eq!(super::option_value(args, &["--device-name"]).as_deref(), Some("EP2C70F896C6-R"));
    }
}
