//! Vivado HLS and Vitis HLS synthesis estimates (`csynth.xml`,
//! `<top>_csynth.xml`, root `<profile>`), every version from 2016 to 2024:
//! tags differ between tools (`DSP48E` vs `DSP`, `FlowTarget` only in Vitis)
//! and newer files add sections (`SummaryOfViolations`,
//! `DataflowPipelineThroughput`, `ModuleInformation`). Input: the document
//! tree from `xml`; output: a [`SynthReport`] with `undef` values left `None`.
use super::model::{ModuleReport, ReportKind, Resources, SynthReport};
use super::text::{parse_count, parse_time_ns, unit_to_ns};
use super::xml::{Document, Node};
use crate::error::{Error, Result};
use std::path::Path;

/// True if a `<profile>` tree is an HLS synthesis report.
pub(crate) fn is_csynth(doc: &Document) -> bool {
    let r = &doc.root;
    r.child("UserAssignments").is_some() || r.child("PerformanceEstimates").is_some() || r.child("AreaEstimates").is_some()
}

pub(crate) fn parse(path: &Path, doc: &Document) -> Result<SynthReport> {
    let root = &doc.root;
    let user = root.child("UserAssignments");
    let perf = root.child("PerformanceEstimates");
    let area = root.child("AreaEstimates");
    if perf.is_none() && area.is_none() {
        return Err(Error::input(path, "HLS report without PerformanceEstimates or AreaEstimates: synthesis did not finish (failed run?)"));
    }
    let field = FieldReader { path, doc };
    let mut report = SynthReport::new(path, tool_of(root));
    report.tool_version = non_empty(root.text_at(&["ReportVersion", "Version"]));
    if let Some(user) = user {
        let unit = user.text_at(&["unit"]).unwrap_or("ns");
        report.part = non_empty(user.text_at(&["Part"]));
        report.top = non_empty(user.text_at(&["TopModelName"]));
        report.clock_target_ns = field.time(user, "TargetClockPeriod", unit)?;
        report.clock_uncertainty_ns = field.time(user, "ClockUncertainty", unit)?;
    }
    if let Some(perf) = perf {
        if let Some(timing) = perf.child("SummaryOfTimingAnalysis") {
            let unit = timing.text_at(&["unit"]).unwrap_or("ns");
            report.clock_estimated_ns = field.time(timing, "EstimatedClockPeriod", unit)?;
        }
        if let Some(lat) = perf.child("SummaryOfOverallLatency") {
            read_latency(&field, lat, &mut report)?;
        }
    }
    if let Some(area) = area {
        if let Some(used) = area.child("Resources") {
            report.used = field.resources(used)?;
        }
        if let Some(avail) = area.child("AvailableResources") {
            report.available = field.resources(avail)?;
        }
    }
    if let Some(modules) = root.child("ModuleInformation") {
        report.modules = read_modules(&field, root, modules)?;
    }
    if !report.has_numbers() {
        return Err(Error::input(path, "HLS report states no latency, clock or resource numbers (failed run?)"));
    }
    Ok(report)
}

/// Vitis HLS writes `<FlowTarget>` and names DSPs `<DSP>`; Vivado HLS never
/// does either (2020.1 exists for both tools, so the version alone cannot tell).
fn tool_of(root: &Node) -> ReportKind {
    let vitis_flow = root.at(&["UserAssignments", "FlowTarget"]).is_some();
    let dsp_tag =
        root.at(&["AreaEstimates", "Resources", "DSP"]).is_some() || root.at(&["AreaEstimates", "AvailableResources", "DSP"]).is_some();
    if vitis_flow || dsp_tag {
        ReportKind::VitisHls
    } else {
        ReportKind::VivadoHls
    }
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.is_empty()).map(str::to_string)
}

fn read_latency(field: &FieldReader, lat: &Node, report: &mut SynthReport) -> Result<()> {
    let unit = lat.text_at(&["unit"]).unwrap_or("clock cycles");
    if !unit.eq_ignore_ascii_case("clock cycles") && !unit.eq_ignore_ascii_case("cycles") {
        return Err(Error::input_at(
            field.path,
            Some(field.doc.line(lat)),
            Some("SummaryOfOverallLatency/unit"),
            format!("latency unit {unit:?} is not clock cycles"),
        ));
    }
    report.latency_best_cycles = field.count(lat, "Best-caseLatency")?;
    report.latency_avg_cycles = field.count(lat, "Average-caseLatency")?;
    report.latency_worst_cycles = field.count(lat, "Worst-caseLatency")?;
    // Real-time latencies restate the cycle counts; an odd unit there is not
    // worth failing the report for, so it is left unstated.
    report.latency_best_ns = field.time(lat, "Best-caseRealTimeLatency", "ns").ok().flatten();
    report.latency_avg_ns = field.time(lat, "Average-caseRealTimeLatency", "ns").ok().flatten();
    report.latency_worst_ns = field.time(lat, "Worst-caseRealTimeLatency", "ns").ok().flatten();
    report.interval_min_cycles = field.count(lat, "Interval-min")?;
    report.interval_max_cycles = field.count(lat, "Interval-max")?;
    if lat.child("Interval-min").is_none() && lat.child("Interval-max").is_none() {
        // Per-module summaries state the interval once, as the pipeline II.
        let ii = field.count(lat, "PipelineInitiationInterval")?;
        report.interval_min_cycles = ii;
        report.interval_max_cycles = ii;
    }
    Ok(())
}

/// Vitis full `csynth.xml`: one `<Module>` per RTL module, nested as
/// `RTLDesignHierarchy` says.
fn read_modules(field: &FieldReader, root: &Node, modules: &Node) -> Result<Vec<ModuleReport>> {
    let mut depths = std::collections::HashMap::new();
    if let Some(top) = root.at(&["RTLDesignHierarchy", "TopModule"]) {
        collect_depths(top, 0, &mut depths);
    }
    let mut out = Vec::new();
    for module in modules.children.iter().filter(|m| m.name == "Module") {
        let name = module.text_at(&["Name"]).unwrap_or_default().to_string();
        let mut row = ModuleReport { depth: depths.get(name.as_str()).copied().unwrap_or(0), name, ..ModuleReport::default() };
        if let Some(perf) = module.child("PerformanceEstimates") {
            if let Some(t) = perf.child("SummaryOfTimingAnalysis") {
                row.clock_estimated_ns = field.time(t, "EstimatedClockPeriod", "ns")?;
            }
            if let Some(lat) = perf.child("SummaryOfOverallLatency") {
                row.latency_best_cycles = field.count(lat, "Best-caseLatency")?;
                row.latency_worst_cycles = field.count(lat, "Worst-caseLatency")?;
                row.interval_cycles = match field.count(lat, "PipelineInitiationInterval")? {
                    Some(ii) => Some(ii),
                    None => field.count(lat, "Interval-min")?,
                };
            }
        }
        if let Some(res) = module.at(&["AreaEstimates", "Resources"]) {
            row.used = field.resources(res)?;
        }
        out.push(row);
    }
    Ok(out)
}

fn collect_depths<'a>(node: &'a Node, depth: usize, out: &mut std::collections::HashMap<&'a str, usize>) {
    if let Some(name) = node.text_at(&["ModuleName"]) {
        out.entry(name).or_insert(depth);
    }
    for child in node.children.iter().filter(|c| c.name == "InstancesList" || c.name == "Instance") {
        let next = if child.name == "Instance" { depth + 1 } else { depth };
        collect_depths(child, next, out);
    }
}

/// Reads typed fields from elements, naming file, line and tag on error.
struct FieldReader<'a> {
    path: &'a Path,
    doc: &'a Document<'a>,
}

impl FieldReader<'_> {
    fn count(&self, parent: &Node, tag: &str) -> Result<Option<u64>> {
        match parent.child(tag) {
            Some(n) => parse_count(self.path, Some(self.doc.line(n)), tag, n.text.trim()),
            None => Ok(None),
        }
    }

    fn time(&self, parent: &Node, tag: &str, unit: &str) -> Result<Option<f64>> {
        let Some(n) = parent.child(tag) else { return Ok(None) };
        let line = Some(self.doc.line(n));
        if unit_to_ns(unit).is_none() {
            return Err(Error::input_at(self.path, line, Some(tag), format!("unknown time unit {unit:?}")));
        }
        parse_time_ns(self.path, line, tag, n.text.trim(), unit)
    }

    /// `<Resources>` / `<AvailableResources>`, whichever tag names this
    /// version uses. Tags it does not list stay `None`.
    fn resources(&self, node: &Node) -> Result<Resources> {
        let first = |tags: &[&str]| -> Result<Option<u64>> {
            for tag in tags {
                if node.child(tag).is_some() {
                    return self.count(node, tag);
                }
            }
            Ok(None)
        };
        Ok(Resources {
            lut: first(&["LUT"])?,
            ff: first(&["FF"])?,
            dsp: first(&["DSP", "DSP48E", "DSP48"])?,
            bram_18k: first(&["BRAM_18K"])?,
            uram: first(&["URAM"])?,
            ..Resources::default()
        })
    }
}
