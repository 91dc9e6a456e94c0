//! The run history: the only module that touches SQLite. Input: runs the
//! pipeline and the CLI begin and finish, the [`ParsedReport`]s the `reports`
//! stage parsed, the estimator's JSON; output: [`RunRecord`]s for
//! `qforge history`, `qforge check` and `calibrate`.
//!
//! One database file (default `qforge-out/history.sqlite`) in WAL mode with a
//! busy timeout, so several workers (threads or processes) can write at once.
//! Every multi-row write is one immediate transaction: a run killed halfway
//! leaves either whole rows or none. A run is created `running` with the
//! writer's pid and host; on open, `running` rows whose process is gone are
//! marked `failed` ("interrupted"), never deleted.
mod ingest;
mod jobs;
mod query;
mod runs;
pub mod schema;
mod switching;
mod synth_run;

pub use ingest::{ingest_dir, project_root, IngestError, IngestSummary, IngestedRun};
pub use jobs::JobRow;
pub use query::{MeasurementRecord, RunFilter, RunRecord};
pub use runs::authority;
pub use switching::{LayerEnergy, SwitchingRecord};
pub use synth_run::{price_project, record_synth_run, PricedProject, RecordedSynth};

use crate::error::{Error, Result};
use crate::reports::ParsedReport;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the history lives unless `--db` or `QFORGE_DB` says otherwise.
pub const DEFAULT_DB: &str = crate::layout::DEFAULT_HISTORY;

/// How long a writer waits for another writer's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// A run's row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(pub i64);

impl std::fmt::Display for RunId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What produced a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    Synth,
    Train,
    Search,
    /// Reports of a run made outside qforge, imported by `qforge ingest`.
    Ingest,
}

impl RunKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Synth => "synth",
            RunKind::Train => "train",
            RunKind::Search => "search",
            RunKind::Ingest => "ingest",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "synth" => RunKind::Synth,
            "train" => RunKind::Train,
            "search" => RunKind::Search,
            "ingest" => RunKind::Ingest,
            _ => return None,
        })
    }
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Ok,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Ok => "ok",
            RunStatus::Failed => "failed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "running" => RunStatus::Running,
            "ok" => RunStatus::Ok,
            "failed" => RunStatus::Failed,
            _ => return None,
        })
    }
}

/// A run about to start: what it is and what it targets. Fields a run does not
/// have stay `None` (an ingested run has no model).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NewRun {
    pub kind: Option<RunKind>,
    pub model_name: Option<String>,
    pub model_hash: Option<String>,
    /// Per-layer quantizers, as JSON (e.g. `{"dense_1": {"kernel": "quantized_bits(6,0,alpha=1)"}}`).
    pub quantizers: Option<serde_json::Value>,
    pub part: Option<String>,
    pub clock_ns: Option<f64>,
    pub reuse: Option<i64>,
    pub strategy: Option<String>,
    pub tool: Option<String>,
    pub tool_version: Option<String>,
    pub run_dir: Option<PathBuf>,
    pub log_path: Option<PathBuf>,
}

/// An open history database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Open (creating it and its folder if needed) and migrate to the current
    /// schema, then mark runs left `running` by a process that is gone as failed.
    pub fn open(path: &Path) -> Result<Store> {
        Store::open_at_version(path, schema::current_version())
    }

    /// Open without migrating past `version`: lets tests build a database as
    /// an older qforge wrote it. Use [`Store::open`] everywhere else.
    #[doc(hidden)]
    pub fn open_at_version(path: &Path, version: u32) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let db_err = |e: rusqlite::Error| db_error(path, e);
        let (mut conn, mode) = retry_while_busy(|| open_wal_connection(path)).map_err(db_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::input(path, format!("could not switch the database to WAL mode (journal mode is {mode})")));
        }
        let found = schema::version(&conn).map_err(db_err)?;
        if found > schema::current_version() {
            return Err(Error::input(
                path,
                format!(
                    "history database has schema version {found}, newer than this qforge knows ({}); upgrade qforge",
                    schema::current_version()
                ),
            ));
        }
        retry_while_busy(|| schema::migrate(&mut conn, version)).map_err(db_err)?;
        let store = Store { conn, path: path.to_path_buf() };
        if version >= 1 {
            store.mark_interrupted_runs()?;
        }
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<u32> {
        schema::version(&self.conn).map_err(|e| self.err(e))
    }

    /// `PRAGMA integrity_check`: `Ok` holds SQLite's answer ("ok" when sound).
    pub fn integrity_check(&self) -> Result<String> {
        let rows: Vec<String> = {
            let mut stmt = self.conn.prepare("PRAGMA integrity_check").map_err(|e| self.err(e))?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(|e| self.err(e))?;
            rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))?
        };
        Ok(rows.join("; "))
    }

    fn err(&self, e: rusqlite::Error) -> Error {
        db_error(&self.path, e)
    }
}

/// Open the file with the busy timeout, in WAL mode, with foreign keys on.
/// WAL is a property of the file: switch only when it is not WAL yet, since
/// the switch takes an exclusive lock that concurrent openers would fight for.
fn open_wal_connection(path: &Path) -> rusqlite::Result<(Connection, String)> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mut mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        mode = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    }
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok((conn, mode))
}

/// SQLite answers "database is locked" without calling the busy handler
/// where waiting could deadlock: the first switch to WAL and the first schema
/// migration while other processes open the same new file. Those steps are
/// idempotent, so they are retried with a short backoff up to the busy timeout.
fn retry_while_busy<T>(mut attempt: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let start = std::time::Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        match attempt() {
            Err(e)
                if matches!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked))
                    && start.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(200));
            }
            other => return other,
        }
    }
}

/// A database fault names the database file. A locked database is I/O; a
/// file that is not a database (or is corrupt) is bad input.
fn db_error(path: &Path, e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) | Some(rusqlite::ErrorCode::DatabaseCorrupt) => {
            Error::input(path, format!("not a qforge history database: {e}"))
        }
        // Foreign keys: a measurement, estimate or job for a run that is not stored.
        Some(rusqlite::ErrorCode::ConstraintViolation) => {
            Error::Config(format!("{}: refers to a run that is not in the history ({e})", path.display()))
        }
        _ => Error::io(path, std::io::Error::other(format!("history database: {e}"))),
    }
}

/// Turn a stored report JSON back into the record it came from. The tool
/// decides the kind: `ParsedReport` is untagged, and a power record would
/// otherwise also read as a synthesis record.
pub fn report_from_json(value: &serde_json::Value) -> serde_json::Result<ParsedReport> {
    let is_power = value.get("tool").and_then(|t| t.as_str()) == Some("vivado_power");
    if is_power {
        serde_json::from_value(value.clone()).map(ParsedReport::Power)
    } else {
        serde_json::from_value(value.clone()).map(ParsedReport::Synth)
    }
}

/// Hex SHA-256 of some bytes (how ingested files are recognised again).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

pub use crate::host::host_name;

/// Whether a process with this pid exists on this machine.
fn process_alive(pid: i64) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}
