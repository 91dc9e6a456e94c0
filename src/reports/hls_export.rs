//! HLS export/implementation summaries (`<top>_export.xml`, written by
//! `export_design -evaluate` or `-flow syn|impl`; root `<profile>` with
//! `<AreaReport>` and `<TimingReport>`). Tags are kept under their own names
//! (`BRAM`, `CLB`, `SLICE`, `SRL`): they count Vivado sites, not HLS
//! estimates. Newer exports add a `<RunData>` block with version and top.
use super::model::{ReportKind, Resources, Stage, SynthReport};
use super::text::{parse_count, parse_decimal};
use super::xml::{Document, Node};
use crate::error::{Error, Result};
use std::path::Path;

pub(crate) fn is_export(doc: &Document) -> bool {
    doc.root.child("AreaReport").is_some() || doc.root.child("TimingReport").is_some()
}

pub(crate) fn parse(path: &Path, doc: &Document) -> Result<SynthReport> {
    let root = &doc.root;
    let mut report = SynthReport::new(path, ReportKind::VivadoHlsExport);
    if let Some(run) = root.child("RunData") {
        report.tool_version = run.text_at(&["VIVADO_VERSION"]).map(|v| v.trim_start_matches("v.").to_string()).filter(|v| !v.is_empty());
        report.top = run.text_at(&["ROOT_MODULE"]).filter(|v| !v.is_empty()).map(str::to_string);
        report.part = run.text_at(&["PART"]).filter(|v| !v.is_empty()).map(str::to_string);
        report.stage = match run.text_at(&["RUN_TYPE"]) {
            Some("impl") => Some(Stage::Impl),
            Some("synth") | Some("syn") => Some(Stage::Synth),
            _ => None,
        };
    }
    if let Some(area) = root.child("AreaReport") {
        if let Some(used) = area.child("Resources") {
            report.used = resources(path, doc, used, &mut report.extra, "")?;
        }
        if let Some(avail) = area.child("AvailableResources") {
            report.available = resources(path, doc, avail, &mut report.extra, "available_")?;
        }
    }
    if let Some(timing) = root.child("TimingReport") {
        for n in &timing.children {
            let value = parse_decimal(path, Some(doc.line(n)), &n.name, n.text.trim())?;
            match n.name.as_str() {
                "TargetClockPeriod" => report.clock_target_ns = value,
                "AchievedClockPeriod" => report.clock_achieved_ns = value,
                other => {
                    if let Some(v) = value {
                        report.extra.insert(other.to_string(), v);
                    }
                }
            }
        }
    }
    if !report.has_numbers() {
        return Err(Error::input(path, "HLS export report states no resource or timing numbers (failed run?)"));
    }
    Ok(report)
}

fn resources(
    path: &Path,
    doc: &Document,
    node: &Node,
    extra: &mut std::collections::BTreeMap<String, f64>,
    extra_prefix: &str,
) -> Result<Resources> {
    let mut r = Resources::default();
    for n in &node.children {
        let value = parse_count(path, Some(doc.line(n)), &n.name, n.text.trim())?;
        let slot = match n.name.as_str() {
            "LUT" => &mut r.lut,
            "FF" => &mut r.ff,
            "DSP" | "DSP48E" => &mut r.dsp,
            "BRAM" => &mut r.bram,
            "URAM" => &mut r.uram,
            "CLB" => &mut r.clb,
            "SLICE" => &mut r.slice,
            "SRL" => &mut r.srl,
            other => {
                if let Some(v) = value {
                    extra.insert(format!("{extra_prefix}{}", other.to_ascii_lowercase()), v as f64);
                }
                continue;
            }
        };
        *slot = value;
    }
    Ok(r)
}
