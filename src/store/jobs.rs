//! The jobs an executor ran for a run (table `jobs`): one row per try of one
//! job, with the executor's id (a Slurm array task `123_4`, `local-7`), the
//! node, the executor's own state name next to qforge's, the wall time and
//! the exit code. Written by the pipeline at every submission and state
//! change; read by `qforge history`-style queries and the tests. Also finds
//! the run a pipeline job belongs to again, so a re-run after qforge was
//! killed continues that run instead of storing the result twice.
use super::runs::{db, NOW};
use super::{host_name, RunId, RunKind, RunStatus, Store};
use crate::error::Result;
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One try of one job of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRow {
    pub run_id: RunId,
    /// `local` or `slurm`.
    pub executor: String,
    /// The executor's id: `123_4` (Slurm array task), `local-7`.
    pub external_id: String,
    /// `JobSpec::id`: the content hash of what the job does.
    pub job_key: String,
    pub label: String,
    pub attempt: u32,
    /// The executor's own state name (`PENDING`, `RUNNING`, `COMPLETED`, `TIMEOUT`, `CANCELLED`, ...).
    pub state: String,
    /// qforge's state name (`pending`, `running`, `completed`, `failed`, `timeout`, `cancelled`, ...).
    pub job_state: String,
    pub node: Option<String>,
    pub wall_seconds: Option<f64>,
    pub exit_code: Option<i32>,
    pub reason: Option<String>,
    pub submitted_unix: u64,
    /// Whether `job_state` is a final one (then `finished_at` is set).
    pub finished: bool,
}

impl Store {
    /// Insert or update the row of `(run, job_key, attempt)`.
    pub fn record_job(&mut self, job: &JobRow) -> Result<()> {
        let path = self.path.clone();
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(|e| db(&path, e))?;
        let existing: Option<i64> = tx
            .query_row(
                "SELECT id FROM jobs WHERE run_id = ?1 AND job_key = ?2 AND attempt = ?3",
                params![job.run_id.0, job.job_key, job.attempt],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| db(&path, e))?;
        let finished = if job.finished { NOW.to_string() } else { "NULL".to_string() };
        let values = params![
            job.run_id.0,
            job.executor,
            job.external_id,
            job.state,
            job.node,
            job.submitted_unix as i64,
            job.job_key,
            job.label,
            job.attempt,
            job.job_state,
            job.wall_seconds,
            job.exit_code,
            job.reason,
        ];
        let sql = match existing {
            // Keep the first finish time: a re-run re-reading a finished job does not move it.
            Some(id) => format!(
                "UPDATE jobs SET run_id = ?1, executor = ?2, external_id = ?3, state = ?4, node = COALESCE(?5, node),
                 submitted_at = strftime('%Y-%m-%dT%H:%M:%fZ', ?6, 'unixepoch'), job_key = ?7, label = ?8, attempt = ?9,
                 job_state = ?10, wall_seconds = COALESCE(?11, wall_seconds), exit_code = COALESCE(?12, exit_code),
                 reason = ?13, finished_at = CASE WHEN {0} IS NULL THEN NULL ELSE COALESCE(finished_at, {0}) END
                 WHERE id = {id}",
                finished
            ),
            None => format!(
                "INSERT INTO jobs (run_id, executor, external_id, state, node, submitted_at, job_key, label, attempt,
                 job_state, wall_seconds, exit_code, reason, finished_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, strftime('%Y-%m-%dT%H:%M:%fZ', ?6, 'unixepoch'), ?7, ?8, ?9, ?10, ?11, ?12, ?13, {finished})"
            ),
        };
        tx.execute(&sql, values).map_err(|e| db(&path, e))?;
        tx.commit().map_err(|e| db(&path, e))
    }

    /// Every job row of a run, oldest try first.
    pub fn jobs(&self, run: RunId) -> Result<Vec<JobRow>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT j.run_id, j.executor, COALESCE(j.external_id, ''), COALESCE(j.job_key, ''), COALESCE(j.label, ''),
                        COALESCE(j.attempt, 1), COALESCE(j.state, ''), COALESCE(j.job_state, ''), j.node, j.wall_seconds,
                        j.exit_code, j.reason, CAST(COALESCE(strftime('%s', j.submitted_at), 0) AS INTEGER), j.finished_at IS NOT NULL
                 FROM jobs j WHERE j.run_id = ?1 ORDER BY j.attempt, j.id",
            )
            .map_err(|e| db(&self.path, e))?;
        let rows = stmt
            .query_map([run.0], |r| {
                Ok(JobRow {
                    run_id: RunId(r.get(0)?),
                    executor: r.get(1)?,
                    external_id: r.get(2)?,
                    job_key: r.get(3)?,
                    label: r.get(4)?,
                    attempt: r.get(5)?,
                    state: r.get(6)?,
                    job_state: r.get(7)?,
                    node: r.get(8)?,
                    wall_seconds: r.get(9)?,
                    exit_code: r.get(10)?,
                    reason: r.get(11)?,
                    submitted_unix: r.get::<_, i64>(12)?.max(0) as u64,
                    finished: r.get(13)?,
                })
            })
            .map_err(|e| db(&self.path, e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| db(&self.path, e))
    }

    /// The latest run of `kind` whose folder is `run_dir`, with its status:
    /// how a re-run of a pipeline stage finds the run its job belongs to.
    pub fn latest_run_in(&self, kind: RunKind, run_dir: &Path) -> Result<Option<(RunId, RunStatus)>> {
        let row: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT id, status FROM runs WHERE kind = ?1 AND run_dir = ?2 ORDER BY id DESC LIMIT 1",
                params![kind.as_str(), run_dir.to_string_lossy()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| db(&self.path, e))?;
        Ok(row.and_then(|(id, status)| RunStatus::parse(&status).map(|s| (RunId(id), s))))
    }

    /// Take up a run that did not finish (its process was killed, or it was
    /// interrupted) in this process: `running` again, with this pid and host.
    /// Its start time, estimates and jobs stay. A run that ended `ok` is not reopened.
    pub fn reopen_run(&mut self, run: RunId) -> Result<bool> {
        let changed = self
            .conn
            .execute(
                "UPDATE runs SET status = 'running', error = NULL, finished_at = NULL, wall_seconds = NULL, pid = ?2, host = ?3
                 WHERE id = ?1 AND status != 'ok'",
                params![run.0, i64::from(std::process::id()), host_name()],
            )
            .map_err(|e| db(&self.path, e))?;
        Ok(changed == 1)
    }
}
