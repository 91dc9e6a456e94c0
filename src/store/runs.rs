//! Writing runs: begin, add measurements and estimates, finish, and the
//! recovery of runs whose process died. Each call is one immediate
//! transaction, so a writer killed at any point leaves whole rows or none.
use super::{host_name, process_alive, sha256_hex, NewRun, RunId, RunKind, RunStatus, Store};
use crate::error::{Error, Result};
use crate::reports::{ParsedReport, Stage};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::Path;

/// SQLite's clock, UTC with milliseconds: one format everywhere so that
/// timestamps compare as text.
pub(super) const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

impl Store {
    /// Record that a run starts: status `running`, this process's pid and host.
    pub fn begin_run(&mut self, run: &NewRun) -> Result<RunId> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| db(&self.path, e))?;
        let id = insert_run(&tx, run, RunStatus::Running).map_err(|e| db(&self.path, e))?;
        tx.commit().map_err(|e| db(&self.path, e))?;
        Ok(id)
    }

    /// Store one parsed report of a run. The file's SHA-256 is taken when the
    /// file can still be read (it identifies the report for `ingest`).
    pub fn add_measurement(&mut self, run: RunId, report: &ParsedReport) -> Result<()> {
        let sha = std::fs::read(report.source_file()).ok().map(|b| sha256_hex(&b));
        let path = self.path.clone();
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| db(&path, e))?;
        insert_measurement(&tx, run, report, sha.as_deref()).map_err(|e| db(&path, e))?;
        tx.commit().map_err(|e| db(&path, e))
    }

    /// Store the estimator's prediction for a run. The JSON is kept whole; the
    /// top-level numbers `lut`, `ff`, `dsp`, `bram_18k`, `uram`,
    /// `latency_cycles` and `ii` (or `interval_cycles`) also fill columns.
    pub fn add_estimate(&mut self, run: RunId, estimate: &serde_json::Value) -> Result<()> {
        let num = |k: &str| estimate.get(k).and_then(serde_json::Value::as_u64).map(|v| v as i64);
        let ii = num("ii").or_else(|| num("interval_cycles"));
        self.conn
            .execute(
                "INSERT INTO estimates (run_id, estimate, lut, ff, dsp, bram_18k, uram, latency_cycles, ii)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    run.0,
                    estimate.to_string(),
                    num("lut"),
                    num("ff"),
                    num("dsp"),
                    num("bram_18k"),
                    num("uram"),
                    num("latency_cycles"),
                    ii
                ],
            )
            .map_err(|e| db(&self.path, e))?;
        Ok(())
    }

    /// Record how a run ended (`Ok` or `Failed`, with the error text) and its
    /// wall time. Finishing a run that is not `running` is an error: its end
    /// was already recorded (or it was marked interrupted).
    pub fn finish_run(&mut self, run: RunId, status: RunStatus, error: Option<&str>) -> Result<()> {
        self.finish_run_timed(run, status, error, None)
    }

    /// [`Store::finish_run`] with the run's own wall time when it is known
    /// (a job's time on its executor), else the time since the run began.
    pub fn finish_run_timed(&mut self, run: RunId, status: RunStatus, error: Option<&str>, wall_seconds: Option<f64>) -> Result<()> {
        if status == RunStatus::Running {
            return Err(Error::Config(format!("run {run}: a run is finished as ok or failed, not running")));
        }
        let changed = self
            .conn
            .execute(
                &format!(
                    "UPDATE runs SET status = ?2, error = ?3, finished_at = {NOW},
                     wall_seconds = COALESCE(?4, (julianday({NOW}) - julianday(started_at)) * 86400.0)
                     WHERE id = ?1 AND status = 'running'"
                ),
                params![run.0, status.as_str(), error, wall_seconds],
            )
            .map_err(|e| db(&self.path, e))?;
        if changed == 0 {
            let state: Option<String> = self
                .conn
                .query_row("SELECT status FROM runs WHERE id = ?1", [run.0], |r| r.get(0))
                .optional()
                .map_err(|e| db(&self.path, e))?;
            return Err(match state {
                None => Error::Config(format!("run {run} is not in {}", self.path.display())),
                Some(s) => Error::Config(format!("run {run} already ended ({s})")),
            });
        }
        Ok(())
    }

    /// Record the latency in cycles of the design a run synthesised, and what
    /// says so (`generator` or `simulation`).
    pub fn set_design_latency(&mut self, run: RunId, cycles: u64, source: &str) -> Result<()> {
        let changed = self
            .conn
            .execute(
                "UPDATE runs SET design_latency_cycles = ?2, design_latency_source = ?3 WHERE id = ?1",
                params![run.0, cycles as i64, source],
            )
            .map_err(|e| db(&self.path, e))?;
        if changed == 0 {
            return Err(Error::Config(format!("run {run} is not in {}", self.path.display())));
        }
        Ok(())
    }

    /// Mark as failed the runs still `running` on this host whose process is
    /// gone: they were killed or crashed. Runs of other hosts are left alone
    /// (their processes cannot be seen from here). Returns the runs marked.
    pub fn mark_interrupted_runs(&self) -> Result<Vec<RunId>> {
        let host = host_name();
        let candidates: Vec<(i64, Option<i64>)> = {
            let mut stmt =
                self.conn.prepare("SELECT id, pid FROM runs WHERE status = 'running' AND host = ?1").map_err(|e| db(&self.path, e))?;
            let rows = stmt.query_map([&host], |r| Ok((r.get(0)?, r.get(1)?))).map_err(|e| db(&self.path, e))?;
            rows.collect::<rusqlite::Result<_>>().map_err(|e| db(&self.path, e))?
        };
        let mut marked = Vec::new();
        for (id, pid) in candidates {
            let Some(pid) = pid.filter(|&p| !process_alive(p)) else { continue };
            let message = format!("interrupted: process {pid} on {host} ended without finishing the run");
            let changed = self
                .conn
                .execute(
                    &format!(
                        "UPDATE runs SET status = 'failed', error = ?2, finished_at = {NOW}
                         WHERE id = ?1 AND status = 'running'"
                    ),
                    params![id, message],
                )
                .map_err(|e| db(&self.path, e))?;
            if changed == 1 {
                marked.push(RunId(id));
            }
        }
        Ok(marked)
    }

    /// Whether a report file with this content is already stored (under this path).
    pub fn has_source(&self, source_file: &Path, sha256: &str) -> Result<bool> {
        has_source(&self.conn, source_file, sha256).map_err(|e| db(&self.path, e))
    }

    /// Record one folder of reports made outside qforge as a finished `ingest`
    /// run, in one transaction. Files already stored with the same content are
    /// skipped (checked inside the transaction, so two concurrent ingests of
    /// one folder do not both add them); when the folder already has an ingest
    /// run the new reports join it. Returns the run and the reports added
    /// (`None` when every report was already stored).
    pub fn record_ingest(&mut self, folder: &Path, reports: &[(ParsedReport, String)]) -> Result<Option<(RunId, usize)>> {
        let path = self.path.clone();
        let e = |e: rusqlite::Error| db(&path, e);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(e)?;
        let mut fresh = Vec::new();
        for (report, sha) in reports {
            if !has_source(&tx, report.source_file(), sha).map_err(e)? {
                fresh.push((report, sha));
            }
        }
        if fresh.is_empty() {
            return Ok(None);
        }
        let folder_text = folder.to_string_lossy();
        let existing: Option<i64> = tx
            .query_row("SELECT id FROM runs WHERE kind = 'ingest' AND run_dir = ?1 ORDER BY id LIMIT 1", [folder_text.as_ref()], |r| {
                r.get(0)
            })
            .optional()
            .map_err(e)?;
        let run = match existing {
            Some(id) => RunId(id),
            None => {
                let new_run = ingest_run(folder, fresh.iter().map(|(r, _)| *r));
                insert_run(&tx, &new_run, RunStatus::Ok).map_err(e)?
            }
        };
        for (report, sha) in &fresh {
            insert_measurement(&tx, run, report, Some(sha)).map_err(e)?;
        }
        tx.commit().map_err(e)?;
        Ok(Some((run, fresh.len())))
    }
}

/// The run row of an ingested folder: part, clock, tool and version from the
/// most authoritative report that states them.
fn ingest_run<'a>(folder: &Path, reports: impl Iterator<Item = &'a ParsedReport>) -> NewRun {
    let mut ordered: Vec<&ParsedReport> = reports.collect();
    ordered.sort_by_key(|r| std::cmp::Reverse(authority(r)));
    let mut run = NewRun { kind: Some(RunKind::Ingest), run_dir: Some(folder.to_path_buf()), ..NewRun::default() };
    for report in &ordered {
        if let ParsedReport::Synth(s) = report {
            if run.tool.is_none() {
                run.tool = Some(s.tool.as_str().to_string());
                run.tool_version = s.tool_version.clone();
            }
            run.part = run.part.take().or_else(|| s.part.clone());
            run.clock_ns = run.clock_ns.or(s.clock_target_ns);
        }
    }
    if run.tool.is_none() {
        if let Some(p) = ordered.first() {
            run.tool = Some(p.tool().as_str().to_string());
        }
    }
    for report in &ordered {
        if let ParsedReport::Power(p) = report {
            run.part = run.part.take().or_else(|| p.part.clone());
        }
    }
    run
}

/// How close to the finished hardware a report's numbers are: placed and
/// routed Vivado beats synthesised Vivado beats the HLS export evaluation
/// beats Bambu's back-end summary beats HLS estimates and Yosys.
pub fn authority(report: &ParsedReport) -> u8 {
    use crate::reports::ReportKind;
    match report {
        ParsedReport::Power(_) => 0,
        ParsedReport::Synth(s) => match (s.tool, s.stage) {
            (ReportKind::Vivado, Some(Stage::Impl)) => 6,
            (ReportKind::Vivado, _) => 5,
            (ReportKind::VivadoHlsExport, _) => 4,
            (ReportKind::Bambu, _) => 3,
            (ReportKind::VitisHls | ReportKind::VivadoHls, _) => 2,
            (ReportKind::Yosys, _) => 1,
            (ReportKind::VivadoPower, _) => 0,
        },
    }
}

fn has_source(conn: &Connection, source_file: &Path, sha256: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM measurements WHERE source_file = ?1 AND source_sha256 = ?2)",
        params![source_file.to_string_lossy(), sha256],
        |r| r.get(0),
    )
}

fn insert_run(conn: &Connection, run: &NewRun, status: RunStatus) -> rusqlite::Result<RunId> {
    let kind = run.kind.unwrap_or(RunKind::Synth);
    let finished = if status == RunStatus::Running { "NULL" } else { NOW };
    conn.execute(
        &format!(
            "INSERT INTO runs (kind, model_name, model_hash, quantizers, part, clock_ns, reuse, strategy, tool,
                 tool_version, status, started_at, finished_at, wall_seconds, run_dir, log_path, pid, host)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, {NOW}, {finished}, NULL, ?12, ?13, ?14, ?15)"
        ),
        params![
            kind.as_str(),
            run.model_name,
            run.model_hash,
            run.quantizers.as_ref().map(|q| q.to_string()),
            run.part,
            run.clock_ns,
            run.reuse,
            run.strategy,
            run.tool,
            run.tool_version,
            status.as_str(),
            run.run_dir.as_ref().map(|p| p.to_string_lossy().into_owned()),
            run.log_path.as_ref().map(|p| p.to_string_lossy().into_owned()),
            i64::from(std::process::id()),
            host_name(),
        ],
    )?;
    Ok(RunId(conn.last_insert_rowid()))
}

fn insert_measurement(conn: &Connection, run: RunId, report: &ParsedReport, sha: Option<&str>) -> rusqlite::Result<()> {
    let json = report.to_json().to_string();
    let u = |v: Option<u64>| v.map(|x| x as i64);
    let source = report.source_file().to_string_lossy().into_owned();
    match report {
        ParsedReport::Synth(s) => {
            let stage = s.stage.map(|st| match st {
                Stage::Synth => "synth",
                Stage::Impl => "impl",
            });
            conn.execute(
                "INSERT INTO measurements (run_id, source_file, source_sha256, tool, tool_version, stage, part, report,
                     lut, ff, dsp, bram_18k, bram_tile, uram, latency_best_cycles, latency_worst_cycles, ii,
                     clock_target_ns, clock_estimated_ns)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
                params![
                    run.0,
                    source,
                    sha,
                    s.tool.as_str(),
                    s.tool_version,
                    stage,
                    s.part,
                    json,
                    u(s.used.lut),
                    u(s.used.ff),
                    u(s.used.dsp),
                    u(s.used.bram_18k),
                    s.used.bram_tile,
                    u(s.used.uram),
                    u(s.latency_best_cycles.or(s.latency_cycles)),
                    u(s.latency_worst_cycles.or(s.latency_cycles)),
                    u(s.interval_min_cycles),
                    s.clock_target_ns,
                    s.clock_estimated_ns,
                ],
            )?;
        }
        ParsedReport::Power(p) => {
            conn.execute(
                "INSERT INTO measurements (run_id, source_file, source_sha256, tool, tool_version, stage, part, report,
                     clock_target_ns, total_power_w, dynamic_power_w, static_power_w, junction_temp_c)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    run.0,
                    source,
                    sha,
                    p.tool.as_str(),
                    p.tool_version,
                    p.stage,
                    p.part,
                    json,
                    p.clock_ns,
                    p.total_power_w,
                    p.dynamic_power_w,
                    p.static_power_w,
                    p.junction_temp_c,
                ],
            )?;
        }
    }
    Ok(())
}

pub(super) fn db(path: &Path, e: rusqlite::Error) -> Error {
    super::db_error(path, e)
}
