//! The records every report parser produces: [`SynthReport`] (resources,
//! clock, latency) and [`PowerReport`] (Vivado `report_power`), wrapped in
//! [`ParsedReport`]. Field names are the keys of
//! `tests/fixtures/reports/expected.jsonl`, so serialising a record gives
//! the same key set the fixture corpus uses; a number the report does not state
//! is `None` and is left out of the JSON, never written as 0.
use crate::tools::ToolKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Which kind of report a record was read from. The tool that writes it is
/// [`ReportKind::tools`] (a `tools::ToolKind`: the one enum of tools); this
/// enum only tells apart the reports one tool writes (csynth vs export, utilisation vs power).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// Vivado HLS `csynth.xml` (2020.1 and older).
    VivadoHls,
    /// Vitis HLS `csynth.xml` (2020.1 and newer; `<DSP>` tag, `<FlowTarget>`).
    VitisHls,
    /// The HLS `export_design -evaluate` / `-flow impl` summary `*_export.xml`.
    VivadoHlsExport,
    /// Vivado `report_utilization` text report.
    Vivado,
    /// Vivado `report_power` text report.
    VivadoPower,
    /// Bambu (PandA) results XML or its Vivado back-end summary.
    Bambu,
    /// Yosys `stat -json` output.
    Yosys,
}

impl ReportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::VivadoHls => "vivado_hls",
            ReportKind::VitisHls => "vitis_hls",
            ReportKind::VivadoHlsExport => "vivado_hls_export",
            ReportKind::Vivado => "vivado",
            ReportKind::VivadoPower => "vivado_power",
            ReportKind::Bambu => "bambu",
            ReportKind::Yosys => "yosys",
        }
    }

    /// The tools that write this kind of report.
    pub fn tools(self) -> &'static [ToolKind] {
        match self {
            ReportKind::VivadoHls => &[ToolKind::VivadoHls],
            ReportKind::VitisHls => &[ToolKind::VitisHls],
            ReportKind::VivadoHlsExport => &[ToolKind::VivadoHls, ToolKind::VitisHls],
            ReportKind::Vivado | ReportKind::VivadoPower => &[ToolKind::Vivado],
            ReportKind::Bambu => &[ToolKind::Bambu],
            ReportKind::Yosys => &[ToolKind::Yosys],
        }
    }

    /// Whether `tool` writes this kind of resource report (power reports excluded).
    pub fn is_resources_of(self, tool: ToolKind) -> bool {
        self != ReportKind::VivadoPower && self.tools().contains(&tool)
    }
}

/// Where in the flow a Vivado report was taken, read from its `Design State`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Synthesized or optimised netlist (before placement).
    Synth,
    /// Placed or routed design.
    Impl,
}

/// Resource counts, used or available. Each tool names its own units, kept
/// apart: `bram_18k` (HLS estimates), `bram_tile` (Vivado Block RAM Tiles, may
/// be x.5), `bram` (HLS export reports, their own `<BRAM>` tag).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Resources {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lut: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ff: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub dsp: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub bram_18k: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub bram_tile: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub bram: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub uram: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub clb: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub slice: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub srl: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub carry: Option<u64>,
}

impl Resources {
    pub fn is_empty(&self) -> bool {
        *self == Resources::default()
    }
}

/// One row of a per-module breakdown (Vitis `ModuleInformation`, Vivado
/// hierarchical utilisation).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModuleReport {
    pub name: String,
    /// RTL module (Vivado hierarchical reports name instance and module).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub module: Option<String>,
    /// Nesting depth below the top (0 = top).
    pub depth: usize,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub clock_estimated_ns: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub latency_best_cycles: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub latency_worst_cycles: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub interval_cycles: Option<u64>,
    #[serde(flatten)]
    pub used: Resources,
}

/// What a synthesis/HLS/utilisation report states, one record per file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SynthReport {
    /// The file every number in this record came from.
    pub source_file: PathBuf,
    pub tool: ReportKind,
    /// As the report states it (`2019.2.1`, `0.23`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tool_version: Option<String>,
    /// As the report writes it (`xc7z020-clg400-1`, `7z020clg484-1`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub part: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub top: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stage: Option<Stage>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub clock_target_ns: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub clock_uncertainty_ns: Option<f64>,
    /// HLS estimate of the achievable clock period.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub clock_estimated_ns: Option<f64>,
    /// Post-implementation achieved period (HLS export reports).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub clock_achieved_ns: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub latency_best_cycles: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub latency_avg_cycles: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub latency_worst_cycles: Option<u64>,
    /// Latency in ns where the report states it (Vitis `*RealTimeLatency`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub latency_best_ns: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub latency_avg_ns: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub latency_worst_ns: Option<f64>,
    /// Bambu's `CYCLES`: average cycles over the simulated testbench runs.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub latency_cycles: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub interval_min_cycles: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub interval_max_cycles: Option<u64>,
    /// Resources used, flattened into the record (`lut`, `ff`, ...).
    #[serde(flatten)]
    pub used: Resources,
    /// The part's totals as the report states them.
    #[serde(skip_serializing_if = "Resources::is_empty", default)]
    pub available: Resources,
    /// Yosys `num_cells_by_type`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cells: Option<BTreeMap<String, u64>>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub modules: Vec<ModuleReport>,
    /// Other numbers the report states under its own names, kept raw
    /// (e.g. Bambu `XILINX_DESIGN_DELAY`), so nothing read is thrown away.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub extra: BTreeMap<String, f64>,
}

impl SynthReport {
    /// Block RAM in 18K blocks: the report's own `bram_18k`, else its Vivado
    /// Block RAM Tiles × 2 (rounded up), else, for Yosys, which lists every
    /// cell it mapped, its RAMB18* cells plus two per RAMB36* (0 when none).
    /// With the note saying how it was counted when it was not stated as such.
    pub fn bram18_equivalent(&self) -> Option<(u64, Option<String>)> {
        if let Some(b) = self.used.bram_18k {
            return Some((b, None));
        }
        if let Some(t) = self.used.bram_tile {
            return Some(((t * 2.0).ceil() as u64, Some(format!("{t} BRAM tiles × 2"))));
        }
        let cells = self.cells.as_ref().filter(|_| self.tool == ReportKind::Yosys)?;
        let count = |prefix: &str| cells.iter().filter(|(k, _)| k.starts_with(prefix)).map(|(_, v)| *v).sum::<u64>();
        let (b18, b36) = (count("RAMB18"), count("RAMB36"));
        Some((b18 + 2 * b36, Some(format!("{b18} RAMB18 + 2 × {b36} RAMB36 cells"))))
    }

    pub fn new(source_file: impl Into<PathBuf>, tool: ReportKind) -> Self {
        SynthReport {
            source_file: source_file.into(),
            tool,
            tool_version: None,
            part: None,
            top: None,
            stage: None,
            clock_target_ns: None,
            clock_uncertainty_ns: None,
            clock_estimated_ns: None,
            clock_achieved_ns: None,
            latency_best_cycles: None,
            latency_avg_cycles: None,
            latency_worst_cycles: None,
            latency_best_ns: None,
            latency_avg_ns: None,
            latency_worst_ns: None,
            latency_cycles: None,
            interval_min_cycles: None,
            interval_max_cycles: None,
            used: Resources::default(),
            available: Resources::default(),
            cells: None,
            modules: Vec::new(),
            extra: BTreeMap::new(),
        }
    }

    /// True when the report gave at least one number (a report of a failed
    /// run typically gives none).
    pub fn has_numbers(&self) -> bool {
        !self.used.is_empty()
            || self.clock_estimated_ns.is_some()
            || self.clock_achieved_ns.is_some()
            || self.latency_best_cycles.is_some()
            || self.latency_worst_cycles.is_some()
            || self.latency_cycles.is_some()
            || self.interval_min_cycles.is_some()
    }
}

/// One on-chip power row: watts, or the report's own text for values below
/// its resolution (`<0.001`), kept as written rather than rounded to 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PowerValue {
    Watts(f64),
    Text(String),
}

impl PowerValue {
    /// The value in watts when the report gives one.
    pub fn watts(&self) -> Option<f64> {
        match self {
            PowerValue::Watts(w) => Some(*w),
            PowerValue::Text(_) => None,
        }
    }
}

/// One row of `report_power`'s Clock Constraints table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClockConstraint {
    pub name: String,
    pub domain: String,
    pub period_ns: f64,
}

/// What a Vivado `report_power` text report states.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PowerReport {
    pub source_file: PathBuf,
    pub tool: ReportKind,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tool_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub part: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub top: Option<String>,
    /// `Design State` as written, lower-cased (`routed`, `synthesized`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stage: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub total_power_w: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub dynamic_power_w: Option<f64>,
    /// `Device Static (W)`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub static_power_w: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub junction_temp_c: Option<f64>,
    /// Overall confidence level as written (`Low`, `Medium`, `High`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub confidence: Option<String>,
    /// The main clock's period, see `vivado_power::main_clock` for the rule.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub clock_ns: Option<f64>,
    /// Top-level rows of the On-Chip Components table, names as written.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub on_chip: BTreeMap<String, PowerValue>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub clocks: Vec<ClockConstraint>,
}

impl PowerReport {
    /// Energy per inference from this report's dynamic power and main clock,
    /// for a design started every `ii_cycles` cycles; `None` when the report
    /// states no dynamic power or no main clock. See
    /// [`energy_per_inference_j`](super::energy_per_inference_j) for the assumptions.
    pub fn energy_per_inference_j(&self, ii_cycles: u64) -> Option<f64> {
        super::energy_per_inference_j(self.dynamic_power_w?, ii_cycles, self.clock_ns?)
    }
}

/// A parsed report of any kind.
// Records are built once and moved rarely; boxing would only add noise for callers.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParsedReport {
    Synth(SynthReport),
    Power(PowerReport),
}

impl ParsedReport {
    pub fn source_file(&self) -> &std::path::Path {
        match self {
            ParsedReport::Synth(r) => &r.source_file,
            ParsedReport::Power(r) => &r.source_file,
        }
    }
    pub fn tool(&self) -> ReportKind {
        match self {
            ParsedReport::Synth(r) => r.tool,
            ParsedReport::Power(r) => r.tool,
        }
    }
    /// The record as one JSON object with the fixture corpus's key names.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}
