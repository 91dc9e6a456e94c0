//! `ingest`: import the reports of runs made outside qforge (a folder of
//! Vivado/HLS projects) into the history. Input: a folder, walked with
//! `reports::find_reports`; output: one finished `ingest` run per project
//! folder with its measurements. Re-ingesting the same files (same path, same
//! SHA-256) adds nothing; a report that does not parse is returned as an
//! error and the others are still stored.
use super::{sha256_hex, RunId, Store};
use crate::error::{Error, Result};
use crate::events::{Event, Reporter};
use crate::reports::{find_reports, parse_bytes, ParsedReport};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One project folder's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct IngestedRun {
    pub folder: PathBuf,
    /// The ingest run the new reports went to; `None` when all were stored before.
    pub run_id: Option<RunId>,
    /// Reports stored by this call.
    pub added: usize,
    /// Reports already in the history with the same content.
    pub already_stored: usize,
}

/// A report file that could not be read or parsed.
#[derive(Debug, Clone, Serialize)]
pub struct IngestError {
    pub file: PathBuf,
    pub message: String,
}

/// What one `ingest_dir` call did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestSummary {
    pub runs: Vec<IngestedRun>,
    pub errors: Vec<IngestError>,
}

impl IngestSummary {
    pub fn added(&self) -> usize {
        self.runs.iter().map(|r| r.added).sum()
    }
    pub fn already_stored(&self) -> usize {
        self.runs.iter().map(|r| r.already_stored).sum()
    }
}

/// Folder names the tools create inside a project; a report's project is the
/// nearest folder above it that is none of these (and not above `root`).
fn is_tool_folder(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(n.as_str(), "report" | "reports" | "syn" | "impl" | "vhdl" | "verilog" | "hls_output" | "synthesis" | "sim")
        || n.starts_with("solution")
        || n == "prj"
        || n.ends_with("_prj")
        || n.ends_with(".prj")
        || n.ends_with(".runs")
        || n.starts_with("synth_")
        || n.starts_with("impl_")
        || n.starts_with("vivado_flow")
}

/// The project folder a report belongs to: walk up from the report's folder
/// past the folders tools make (`solution1/syn/report`, `*_prj`, `*.runs/impl_1`,
/// `HLS_output/Synthesis/vivado_flow_0`, ...), stopping at `root`.
pub fn project_root(root: &Path, report: &Path) -> PathBuf {
    let mut folder = report.parent().unwrap_or(root).to_path_buf();
    while folder != root && folder.starts_with(root) {
        let tool_made = folder.file_name().and_then(|n| n.to_str()).is_some_and(is_tool_folder);
        if !tool_made {
            break;
        }
        match folder.parent() {
            Some(parent) => folder = parent.to_path_buf(),
            None => break,
        }
    }
    folder
}

/// Import every report under `dir`, one ingest run per project folder. Paths
/// are stored absolute, so the same files ingested from another working
/// folder are recognised. An unreadable `dir` is an error; bad report files
/// are listed in the summary.
pub fn ingest_dir(store: &mut Store, dir: &Path, reporter: &dyn Reporter) -> Result<IngestSummary> {
    if !dir.is_dir() {
        return Err(Error::input(dir, "not a folder (qforge ingest takes a folder of tool runs)"));
    }
    let root = std::fs::canonicalize(dir).map_err(|e| Error::io(dir, e))?;
    let files = find_reports(&root)?;
    if files.is_empty() {
        return Err(Error::input(dir, "folder holds no synthesis, utilisation or power reports"));
    }
    reporter.event(Event::Begin { label: format!("ingest {}", dir.display()), total: files.len() as u64 });
    let mut summary = IngestSummary::default();
    let mut groups: BTreeMap<PathBuf, (Vec<(ParsedReport, String)>, usize)> = BTreeMap::new();
    for (i, file) in files.iter().enumerate() {
        reporter.event(Event::Progress { done: i as u64 + 1, message: file.display().to_string() });
        let bytes = match crate::error::read_bytes(file) {
            Ok(b) => b,
            Err(e) => {
                summary.errors.push(IngestError { file: file.clone(), message: e.to_string() });
                continue;
            }
        };
        let sha = sha256_hex(&bytes);
        let group = groups.entry(project_root(&root, file)).or_default();
        if store.has_source(file, &sha)? {
            group.1 += 1;
            continue;
        }
        match parse_bytes(file, &bytes) {
            Ok(report) => group.0.push((report, sha)),
            Err(e) => summary.errors.push(IngestError { file: file.clone(), message: e.to_string() }),
        }
    }
    for (folder, (reports, mut already)) in groups {
        if reports.is_empty() && already == 0 {
            continue; // only unreadable reports here: they are in `errors`
        }
        let (run_id, added) = if reports.is_empty() {
            (None, 0)
        } else {
            match store.record_ingest(&folder, &reports)? {
                Some((run, added)) => {
                    // Another writer may have stored some of these between the check and the write.
                    already += reports.len() - added;
                    (Some(run), added)
                }
                None => {
                    already += reports.len();
                    (None, 0)
                }
            }
        };
        if added > 0 {
            reporter.event(Event::Log(format!("{}: {added} report(s) into run {}", folder.display(), run_id.map_or(0, |r| r.0))));
        }
        summary.runs.push(IngestedRun { folder, run_id, added, already_stored: already });
    }
    reporter.event(Event::End {
        message: format!(
            "{} report(s) added, {} already stored, {} error(s)",
            summary.added(),
            summary.already_stored(),
            summary.errors.len()
        ),
    });
    Ok(summary)
}
