//! Synthesis report parsing: the reports stage. Input: report files the tools
//! wrote (found by `tools`, or named by a user); output: [`ParsedReport`]
//! records (`SynthReport` or `PowerReport`) for `store`, `calibrate` and the
//! CLI. Parsers are pure functions of bytes (+ a path for messages); the
//! format is detected from content (root tag, first lines, JSON keys), not
//! from the file name. Every fault is an [`Error`] naming the file (and line).
//!
//! One module per format: `hls_csynth` (Vivado/Vitis HLS `csynth.xml`),
//! `hls_export` (`*_export.xml`), `vivado_util` (`report_utilization`),
//! `vivado_power` (`report_power`), `bambu` (results XML, Vivado back-end
//! summary), `yosys` (`stat -json`).
mod bambu;
mod hls_csynth;
mod hls_export;
pub mod model;
mod text;
mod vivado_power;
mod vivado_util;
mod xml;
mod yosys;

pub use model::{ClockConstraint, ModuleReport, ParsedReport, PowerReport, PowerValue, ReportKind, Resources, Stage, SynthReport};
pub use vivado_power::{energy_per_inference_j, main_clock};
pub use yosys::{sum_stats, HIER_KEY};

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Larger than any real report (hierarchical utilisation of a big design is a
/// few MB); refusing bigger files keeps a stray dump from eating memory.
pub const MAX_REPORT_BYTES: u64 = 32 * 1024 * 1024;

/// Parse one report from its bytes. `path` is only used in messages and as
/// the record's `source_file`.
pub fn parse_bytes(path: &Path, bytes: &[u8]) -> Result<ParsedReport> {
    if bytes.len() as u64 > MAX_REPORT_BYTES {
        return Err(too_large(path, bytes.len() as u64));
    }
    let text = text::decode(path, bytes)?;
    let body = text.trim_start();
    if body.is_empty() {
        return Err(Error::input(path, "empty file"));
    }
    if body.starts_with('<') {
        parse_xml(path, &text)
    } else if body.starts_with('{') {
        parse_json(path, &text)
    } else if vivado_power::is_power(&text) {
        vivado_power::parse(path, &text).map(ParsedReport::Power)
    } else if vivado_util::is_utilization(&text) {
        vivado_util::parse(path, &text).map(ParsedReport::Synth)
    } else {
        Err(Error::input_at(path, Some(1), None, format!("not a report qforge reads ({})", KNOWN_FORMATS)))
    }
}

const KNOWN_FORMATS: &str = "expected Vivado/Vitis HLS csynth.xml or *_export.xml, Vivado report_utilization or \
     report_power text, Bambu results XML, or Yosys stat -json";

fn parse_xml(path: &Path, text: &str) -> Result<ParsedReport> {
    let root = xml::root_name(text);
    let known = matches!(root.as_deref(), Some("profile" | "bambu_results" | "document"));
    if !known {
        let found = root.map_or("no root element".to_string(), |r| format!("root element <{r}>"));
        return Err(Error::input_at(path, Some(1), None, format!("unknown XML report: {found} ({KNOWN_FORMATS})")));
    }
    let doc = xml::parse(path, text)?;
    let report = match doc.root.name.as_str() {
        "profile" if hls_csynth::is_csynth(&doc) => hls_csynth::parse(path, &doc)?,
        "profile" if hls_export::is_export(&doc) => hls_export::parse(path, &doc)?,
        "bambu_results" => bambu::parse_results(path, &doc)?,
        "document" if bambu::is_flow_summary(&doc) => bambu::parse_flow_summary(path, &doc)?,
        other => {
            return Err(Error::input_at(
                path,
                Some(1),
                None,
                format!("unknown <{other}> XML: none of the HLS, export or Bambu sections it should hold"),
            ))
        }
    };
    Ok(ParsedReport::Synth(report))
}

fn parse_json(path: &Path, text: &str) -> Result<ParsedReport> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| Error::input_at(path, Some(e.line()), None, format!("malformed JSON: {e}")))?;
    if !yosys::is_yosys_stat(&value) {
        return Err(Error::input(path, format!("unknown JSON report ({KNOWN_FORMATS})")));
    }
    yosys::parse(path, &value).map(ParsedReport::Synth)
}

fn too_large(path: &Path, len: u64) -> Error {
    Error::input(
        path,
        format!("file is {:.1} MB, larger than any report qforge reads (limit {} MB)", len as f64 / 1e6, MAX_REPORT_BYTES / (1024 * 1024)),
    )
}

/// Read and parse one report file.
pub fn parse_file(path: &Path) -> Result<ParsedReport> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.len() > MAX_REPORT_BYTES {
        return Err(too_large(path, meta.len()));
    }
    let bytes = crate::error::read_bytes(path)?;
    parse_bytes(path, &bytes)
}

/// How sure a file name makes us that a file is a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameMatch {
    /// Named as the tools name their reports: parse it, report any failure.
    Report,
    /// A generic name tools also use (`*_report.xml`, `*.json`): parse it if
    /// its content is a known format, otherwise skip it quietly.
    Maybe,
}

fn name_match(name: &str) -> Option<NameMatch> {
    let n = name.to_ascii_lowercase();
    let report = (n.ends_with(".xml") && (n.ends_with("csynth.xml") || n.ends_with("_export.xml") || n.contains("bambu_results")))
        || (n.ends_with(".rpt") && (n.contains("util") || n.contains("power") || n.ends_with("vivado_synth.rpt")));
    if report {
        Some(NameMatch::Report)
    } else if (n.ends_with("_report.xml")) || (n.ends_with(".json") && n.contains("stat")) {
        Some(NameMatch::Maybe)
    } else {
        None
    }
}

/// Files under `dir` whose names mark them as reports, in a stable order.
/// Generic names (`*_report.xml`, `*stat*.json`) are included only if their
/// content is a known format.
pub fn find_reports(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| {
            let p = e.path().unwrap_or(dir).to_path_buf();
            Error::io(p, e.into_io_error().unwrap_or_else(|| std::io::Error::other("file system loop")))
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        match entry.file_name().to_str().and_then(name_match) {
            Some(NameMatch::Report) => out.push(entry.into_path()),
            Some(NameMatch::Maybe) if parse_file(entry.path()).is_ok() => out.push(entry.into_path()),
            Some(NameMatch::Maybe) | None => {}
        }
    }
    Ok(out)
}

/// Everything found under some paths: the records parsed and, per file that
/// could not be, its error. Good files still report when others fail.
#[derive(Debug, Default)]
pub struct Scan {
    pub reports: Vec<ParsedReport>,
    pub errors: Vec<Error>,
}

/// Parse files and whole folders (walked for report names). A folder with no
/// reports is an error naming the folder.
pub fn scan_paths(paths: &[PathBuf]) -> Scan {
    let mut scan = Scan::default();
    for path in paths {
        let files = if path.is_dir() {
            match find_reports(path) {
                Ok(files) if files.is_empty() => {
                    scan.errors.push(Error::input(path, "folder holds no synthesis, utilisation or power reports"));
                    continue;
                }
                Ok(files) => files,
                Err(e) => {
                    scan.errors.push(e);
                    continue;
                }
            }
        } else {
            vec![path.clone()]
        };
        for file in files {
            match parse_file(&file) {
                Ok(report) => scan.reports.push(report),
                Err(e) => scan.errors.push(e),
            }
        }
    }
    scan
}

/// Parse a report file or every report in a folder; the first failure is the
/// error. Use [`scan_paths`] to keep going past bad files.
pub fn parse_path(path: &Path) -> Result<Vec<ParsedReport>> {
    let scan = scan_paths(&[path.to_path_buf()]);
    match scan.errors.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(scan.reports),
    }
}
