//! The history database's schema and its migrations. The schema version lives
//! in `PRAGMA user_version`; [`migrate`] applies, in one immediate
//! transaction, every migration above the version it finds, so several
//! processes opening one fresh database at once agree on a single upgrade.
//! Migrations only add: no data is ever dropped.
use rusqlite::{Connection, TransactionBehavior};

/// One schema step: the version it brings the database to and its SQL.
pub struct Migration {
    pub version: u32,
    pub sql: &'static str,
}

/// Every migration in order. Version 1 is the first released schema: runs,
/// the measurements parsed from tool reports, and the model's estimates.
/// Version 2 adds the `jobs` table (one row per job an executor such as Slurm
/// ran for a run) and an index for the tool filter. Version 3 gives each job
/// row what a re-run and a person need: the executor's content key of the job
/// (`JobSpec::id`, so a re-run finds its rows), its label, the try, qforge's
/// own state name next to the executor's, the wall time, the exit code and
/// the reason a job ended as it did.
/// Version 4 stores with a run the latency of the design it synthesised, in
/// cycles, and what says so (`generator`: the register stages the RTL
/// generator built; `simulation`: measured), which synthesis reports of RTL
/// designs do not state and the budget gate judges. Version 5 adds
/// `switching`: the switching energy a gate-level simulation of a run's
/// mapped netlist measured, per layer (`qforge run`'s switching stage).
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: r#"
CREATE TABLE runs (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('synth', 'train', 'search', 'ingest')),
    model_name    TEXT,
    model_hash    TEXT,
    quantizers    TEXT,            -- JSON
    part          TEXT,
    clock_ns      REAL,
    reuse         INTEGER,
    strategy      TEXT,
    tool          TEXT,
    tool_version  TEXT,
    status        TEXT NOT NULL CHECK (status IN ('running', 'ok', 'failed')),
    started_at    TEXT NOT NULL,   -- UTC, ISO 8601 with milliseconds
    finished_at   TEXT,
    wall_seconds  REAL,
    run_dir       TEXT,
    log_path      TEXT,
    error         TEXT,
    pid           INTEGER,
    host          TEXT
);
CREATE INDEX runs_started ON runs (started_at);
CREATE INDEX runs_status ON runs (status);
CREATE INDEX runs_model ON runs (model_name);
CREATE INDEX runs_part ON runs (part);
CREATE INDEX runs_run_dir ON runs (run_dir);

CREATE TABLE measurements (
    id                   INTEGER PRIMARY KEY,
    run_id               INTEGER NOT NULL REFERENCES runs (id),
    source_file          TEXT NOT NULL,
    source_sha256        TEXT,
    tool                 TEXT NOT NULL,
    tool_version         TEXT,
    stage                TEXT,
    part                 TEXT,
    report               TEXT NOT NULL,   -- ParsedReport::to_json()
    lut                  INTEGER,
    ff                   INTEGER,
    dsp                  INTEGER,
    bram_18k             INTEGER,
    bram_tile            REAL,
    uram                 INTEGER,
    latency_best_cycles  INTEGER,
    latency_worst_cycles INTEGER,
    ii                   INTEGER,
    clock_target_ns      REAL,
    clock_estimated_ns   REAL,
    total_power_w        REAL,
    dynamic_power_w      REAL,
    static_power_w       REAL,
    junction_temp_c      REAL
);
CREATE INDEX measurements_run ON measurements (run_id);
CREATE INDEX measurements_source ON measurements (source_file, source_sha256);

CREATE TABLE estimates (
    id             INTEGER PRIMARY KEY,
    run_id         INTEGER NOT NULL REFERENCES runs (id),
    estimate       TEXT NOT NULL,   -- JSON as the estimator wrote it
    lut            INTEGER,
    ff             INTEGER,
    dsp            INTEGER,
    bram_18k       INTEGER,
    uram           INTEGER,
    latency_cycles INTEGER,
    ii             INTEGER
);
CREATE INDEX estimates_run ON estimates (run_id);
"#,
    },
    Migration {
        version: 2,
        sql: r#"
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    run_id       INTEGER NOT NULL REFERENCES runs (id),
    executor     TEXT NOT NULL,   -- 'local', 'slurm', ...
    external_id  TEXT,            -- e.g. the Slurm job id
    state        TEXT,            -- as the executor states it (PENDING, RUNNING, COMPLETED, ...)
    node         TEXT,
    submitted_at TEXT,
    finished_at  TEXT
);
CREATE INDEX jobs_run ON jobs (run_id);
CREATE INDEX jobs_external ON jobs (executor, external_id);
CREATE INDEX measurements_tool ON measurements (tool);
"#,
    },
    Migration {
        version: 3,
        sql: r#"
ALTER TABLE jobs ADD COLUMN job_key TEXT;       -- JobSpec::id: a hash of what the job does
ALTER TABLE jobs ADD COLUMN label TEXT;
ALTER TABLE jobs ADD COLUMN attempt INTEGER;
ALTER TABLE jobs ADD COLUMN job_state TEXT;     -- qforge's name: pending, running, completed, failed, timeout, cancelled, ...
ALTER TABLE jobs ADD COLUMN wall_seconds REAL;
ALTER TABLE jobs ADD COLUMN exit_code INTEGER;
ALTER TABLE jobs ADD COLUMN reason TEXT;
CREATE INDEX jobs_key ON jobs (job_key, attempt);
"#,
    },
    Migration {
        version: 4,
        sql: r#"
ALTER TABLE runs ADD COLUMN design_latency_cycles INTEGER;
ALTER TABLE runs ADD COLUMN design_latency_source TEXT;   -- 'generator' or 'simulation'
"#,
    },
    Migration {
        version: 5,
        sql: r#"
CREATE TABLE switching (
    id             INTEGER PRIMARY KEY,
    run_id         INTEGER NOT NULL REFERENCES runs (id),
    netlist        TEXT NOT NULL,
    samples        INTEGER NOT NULL,
    mismatches     INTEGER NOT NULL,
    energy_pj      REAL NOT NULL,   -- per inference, all cells
    record         TEXT NOT NULL    -- JSON: SwitchingRecord
);
CREATE INDEX switching_run ON switching (run_id);
"#,
    },
];

/// The version a database has once [`migrate`] ran.
pub fn current_version() -> u32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// The database's schema version (`PRAGMA user_version`).
pub fn version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
}

/// Bring the database up to `target` (at most the current version). Returns
/// the version found before. A database newer than this qforge is refused
/// by the caller (see `Store::open`), never downgraded.
pub fn migrate(conn: &mut Connection, target: u32) -> rusqlite::Result<u32> {
    // Up to date: take no write lock, so opening never waits behind busy writers.
    let seen = version(conn)?;
    if seen >= target {
        return Ok(seen);
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found = version(&tx)?;
    for migration in MIGRATIONS.iter().filter(|m| m.version > found && m.version <= target) {
        tx.execute_batch(migration.sql)?;
        tx.pragma_update(None, "user_version", migration.version)?;
    }
    tx.commit()?;
    Ok(found)
}
