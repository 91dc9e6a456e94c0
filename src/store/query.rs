//! Reading the history: runs filtered by tool, part, status, model and date,
//! each with its measurements' numbers; the stored reports of one run.
use super::runs::db;
use super::{report_from_json, RunId, RunKind, RunStatus, Store};
use crate::error::{Error, Result};
use crate::reports::ParsedReport;
use rusqlite::types::Value as SqlValue;
use rusqlite::{params_from_iter, Row};
use serde::Serialize;
use std::path::PathBuf;

/// Which runs to list. Empty fields match everything; `since` is a date
/// (`2024-05-01`) or a UTC time (`2024-05-01T12:00:00`) compared with the
/// run's start.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    /// Runs whose own tool, or the tool of any of their reports, is this one.
    pub tool: Option<String>,
    /// Part, case-insensitive (as the run or any of its reports names it).
    pub part: Option<String>,
    pub status: Option<RunStatus>,
    pub model_name: Option<String>,
    pub kind: Option<RunKind>,
    pub since: Option<String>,
    pub ids: Vec<RunId>,
    /// Newest first; at most this many.
    pub limit: Option<usize>,
}

/// One stored run with the numbers of its reports.
#[derive(Debug, Clone, Serialize)]
pub struct RunRecord {
    pub id: RunId,
    pub kind: RunKind,
    pub model_name: Option<String>,
    pub model_hash: Option<String>,
    pub quantizers: Option<serde_json::Value>,
    pub part: Option<String>,
    pub clock_ns: Option<f64>,
    pub reuse: Option<i64>,
    pub strategy: Option<String>,
    pub tool: Option<String>,
    pub tool_version: Option<String>,
    pub status: RunStatus,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub wall_seconds: Option<f64>,
    pub run_dir: Option<PathBuf>,
    pub log_path: Option<PathBuf>,
    pub error: Option<String>,
    pub pid: Option<i64>,
    pub host: Option<String>,
    /// The synthesised design's latency in cycles, when the run knows it.
    pub design_latency_cycles: Option<i64>,
    /// What states it: `generator` (the RTL's register stages) or `simulation`.
    pub design_latency_source: Option<String>,
    pub measurements: Vec<MeasurementRecord>,
    /// The estimator's JSON for this run, oldest first.
    pub estimates: Vec<serde_json::Value>,
}

/// The columns of one stored report (the whole record: [`Store::reports`]).
#[derive(Debug, Clone, Serialize)]
pub struct MeasurementRecord {
    pub source_file: PathBuf,
    pub source_sha256: Option<String>,
    pub tool: String,
    pub tool_version: Option<String>,
    pub stage: Option<String>,
    pub part: Option<String>,
    pub lut: Option<i64>,
    pub ff: Option<i64>,
    pub dsp: Option<i64>,
    pub bram_18k: Option<i64>,
    pub bram_tile: Option<f64>,
    pub uram: Option<i64>,
    pub latency_best_cycles: Option<i64>,
    pub latency_worst_cycles: Option<i64>,
    pub ii: Option<i64>,
    pub clock_target_ns: Option<f64>,
    pub clock_estimated_ns: Option<f64>,
    pub total_power_w: Option<f64>,
    pub dynamic_power_w: Option<f64>,
    pub static_power_w: Option<f64>,
    pub junction_temp_c: Option<f64>,
}

const RUN_COLUMNS: &str = "id, kind, model_name, model_hash, quantizers, part, clock_ns, reuse, strategy, tool, \
     tool_version, status, started_at, finished_at, wall_seconds, run_dir, log_path, error, pid, host, \
     design_latency_cycles, design_latency_source";

const MEASUREMENT_COLUMNS: &str = "source_file, source_sha256, tool, tool_version, stage, part, lut, ff, dsp, \
     bram_18k, bram_tile, uram, latency_best_cycles, latency_worst_cycles, ii, clock_target_ns, clock_estimated_ns, \
     total_power_w, dynamic_power_w, static_power_w, junction_temp_c";

impl Store {
    /// Runs matching the filter, newest first.
    pub fn query(&self, filter: &RunFilter) -> Result<Vec<RunRecord>> {
        let mut clauses: Vec<String> = Vec::new();
        let mut args: Vec<SqlValue> = Vec::new();
        let mut arg = |v: SqlValue| {
            args.push(v);
            format!("?{}", args.len())
        };
        if let Some(tool) = &filter.tool {
            let p = arg(SqlValue::Text(tool.clone()));
            clauses.push(format!("(runs.tool = {p} OR EXISTS (SELECT 1 FROM measurements m WHERE m.run_id = runs.id AND m.tool = {p}))"));
        }
        if let Some(part) = &filter.part {
            let p = arg(SqlValue::Text(part.clone()));
            clauses.push(format!(
                "(runs.part = {p} COLLATE NOCASE OR EXISTS (SELECT 1 FROM measurements m \
                 WHERE m.run_id = runs.id AND m.part = {p} COLLATE NOCASE))"
            ));
        }
        if let Some(status) = filter.status {
            clauses.push(format!("runs.status = {}", arg(SqlValue::Text(status.as_str().into()))));
        }
        if let Some(model) = &filter.model_name {
            clauses.push(format!("runs.model_name = {}", arg(SqlValue::Text(model.clone()))));
        }
        if let Some(kind) = filter.kind {
            clauses.push(format!("runs.kind = {}", arg(SqlValue::Text(kind.as_str().into()))));
        }
        if let Some(since) = &filter.since {
            let since = normalise_since(since)?;
            clauses.push(format!("runs.started_at >= {}", arg(SqlValue::Text(since))));
        }
        if !filter.ids.is_empty() {
            let list: Vec<String> = filter.ids.iter().map(|id| arg(SqlValue::Integer(id.0))).collect();
            clauses.push(format!("runs.id IN ({})", list.join(", ")));
        }
        let mut sql = format!("SELECT {RUN_COLUMNS} FROM runs");
        if !clauses.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&clauses.join(" AND "));
        }
        sql.push_str(" ORDER BY runs.started_at DESC, runs.id DESC");
        if let Some(limit) = filter.limit {
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        let mut runs: Vec<RunRecord> = {
            let mut stmt = self.conn.prepare(&sql).map_err(|e| db(&self.path, e))?;
            let rows = stmt.query_map(params_from_iter(args.iter()), run_from_row).map_err(|e| db(&self.path, e))?;
            rows.collect::<rusqlite::Result<_>>().map_err(|e| db(&self.path, e))?
        };
        for run in &mut runs {
            run.measurements = self.measurements(run.id)?;
            run.estimates = self.estimates(run.id)?;
        }
        Ok(runs)
    }

    /// One run by id, or `None` when the database has no such run.
    pub fn run(&self, id: RunId) -> Result<Option<RunRecord>> {
        Ok(self.query(&RunFilter { ids: vec![id], ..RunFilter::default() })?.pop())
    }

    fn measurements(&self, run: RunId) -> Result<Vec<MeasurementRecord>> {
        let sql = format!("SELECT {MEASUREMENT_COLUMNS} FROM measurements WHERE run_id = ?1 ORDER BY id");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| db(&self.path, e))?;
        let rows = stmt.query_map([run.0], measurement_from_row).map_err(|e| db(&self.path, e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| db(&self.path, e))
    }

    fn estimates(&self, run: RunId) -> Result<Vec<serde_json::Value>> {
        let mut stmt =
            self.conn.prepare_cached("SELECT estimate FROM estimates WHERE run_id = ?1 ORDER BY id").map_err(|e| db(&self.path, e))?;
        let rows = stmt.query_map([run.0], |r| r.get::<_, String>(0)).map_err(|e| db(&self.path, e))?;
        let texts: Vec<String> = rows.collect::<rusqlite::Result<_>>().map_err(|e| db(&self.path, e))?;
        Ok(texts.iter().map(|t| serde_json::from_str(t).unwrap_or(serde_json::Value::Null)).collect())
    }

    /// The whole parsed reports stored for a run, in the order they were added.
    pub fn reports(&self, run: RunId) -> Result<Vec<ParsedReport>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT source_file, report FROM measurements WHERE run_id = ?1 ORDER BY id")
            .map_err(|e| db(&self.path, e))?;
        let rows = stmt.query_map([run.0], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).map_err(|e| db(&self.path, e))?;
        let mut out = Vec::new();
        for row in rows {
            let (source, text) = row.map_err(|e| db(&self.path, e))?;
            let parsed = serde_json::from_str(&text)
                .and_then(|v| report_from_json(&v))
                .map_err(|e| Error::input(&self.path, format!("run {run}: stored report of {source} does not read back: {e}")))?;
            out.push(parsed);
        }
        Ok(out)
    }

    /// How many rows each table holds (runs, measurements, estimates).
    pub fn counts(&self) -> Result<(u64, u64, u64)> {
        let count = |table: &str| -> Result<u64> {
            self.conn
                .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
                .map_err(|e| db(&self.path, e))
        };
        Ok((count("runs")?, count("measurements")?, count("estimates")?))
    }
}

/// Accept `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS]` (or with a space); anything
/// else is an error naming the value. Returns the stored timestamp prefix.
fn normalise_since(since: &str) -> Result<String> {
    let s = since.trim().replace(' ', "T");
    let bytes = s.as_bytes();
    let digits = |range: std::ops::Range<usize>| bytes.get(range.clone()).is_some_and(|b| b.iter().all(u8::is_ascii_digit));
    let date_ok = s.len() >= 10 && digits(0..4) && bytes[4] == b'-' && digits(5..7) && bytes[7] == b'-' && digits(8..10);
    let month = s.get(5..7).and_then(|m| m.parse::<u32>().ok()).unwrap_or(0);
    let day = s.get(8..10).and_then(|d| d.parse::<u32>().ok()).unwrap_or(0);
    let time_ok = match s.len() {
        10 => true,
        16 => bytes[10] == b'T' && digits(11..13) && bytes[13] == b':' && digits(14..16),
        19 => bytes[10] == b'T' && digits(11..13) && bytes[13] == b':' && digits(14..16) && bytes[16] == b':' && digits(17..19),
        _ => false,
    };
    if !(date_ok && time_ok && (1..=12).contains(&month) && (1..=31).contains(&day)) {
        return Err(Error::Config(format!("--since {since:?}: expected a date YYYY-MM-DD or a UTC time YYYY-MM-DDTHH:MM[:SS]")));
    }
    Ok(s)
}

fn run_from_row(row: &Row) -> rusqlite::Result<RunRecord> {
    let kind: String = row.get(1)?;
    let status: String = row.get(11)?;
    let quantizers: Option<String> = row.get(4)?;
    let bad = |col: usize, what: &str, value: &str| {
        rusqlite::Error::FromSqlConversionFailure(col, rusqlite::types::Type::Text, format!("unknown {what} {value:?}").into())
    };
    Ok(RunRecord {
        id: RunId(row.get(0)?),
        kind: RunKind::parse(&kind).ok_or_else(|| bad(1, "run kind", &kind))?,
        model_name: row.get(2)?,
        model_hash: row.get(3)?,
        quantizers: quantizers.and_then(|q| serde_json::from_str(&q).ok()),
        part: row.get(5)?,
        clock_ns: row.get(6)?,
        reuse: row.get(7)?,
        strategy: row.get(8)?,
        tool: row.get(9)?,
        tool_version: row.get(10)?,
        status: RunStatus::parse(&status).ok_or_else(|| bad(11, "run status", &status))?,
        started_at: row.get(12)?,
        finished_at: row.get(13)?,
        wall_seconds: row.get(14)?,
        run_dir: row.get::<_, Option<String>>(15)?.map(PathBuf::from),
        log_path: row.get::<_, Option<String>>(16)?.map(PathBuf::from),
        error: row.get(17)?,
        pid: row.get(18)?,
        host: row.get(19)?,
        design_latency_cycles: row.get(20)?,
        design_latency_source: row.get(21)?,
        measurements: Vec::new(),
        estimates: Vec::new(),
    })
}

fn measurement_from_row(row: &Row) -> rusqlite::Result<MeasurementRecord> {
    Ok(MeasurementRecord {
        source_file: PathBuf::from(row.get::<_, String>(0)?),
        source_sha256: row.get(1)?,
        tool: row.get(2)?,
        tool_version: row.get(3)?,
        stage: row.get(4)?,
        part: row.get(5)?,
        lut: row.get(6)?,
        ff: row.get(7)?,
        dsp: row.get(8)?,
        bram_18k: row.get(9)?,
        bram_tile: row.get(10)?,
        uram: row.get(11)?,
        latency_best_cycles: row.get(12)?,
        latency_worst_cycles: row.get(13)?,
        ii: row.get(14)?,
        clock_target_ns: row.get(15)?,
        clock_estimated_ns: row.get(16)?,
        total_power_w: row.get(17)?,
        dynamic_power_w: row.get(18)?,
        static_power_w: row.get(19)?,
        junction_temp_c: row.get(20)?,
    })
}
