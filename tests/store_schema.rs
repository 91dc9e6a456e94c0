//! The history database's schema: created from nothing, migrated from
//! version 1 (and version 3, which gains the design latency) with its rows
//! kept, newer versions and non-databases refused.
use qforge::reports::parse_file;
use qforge::store::{schema, NewRun, RunFilter, RunKind, RunStatus, Store};
use std::path::{Path, PathBuf};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reports").join(rel)
}

fn tables(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").unwrap();
    let names = stmt.query_map([], |r| r.get::<_, String>(0)).unwrap();
    names.collect::<Result<_, _>>().unwrap()
}

#[test]
fn empty_database_gets_the_current_schema_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nested/folder/history.sqlite");
    let store = Store::open(&db).unwrap();
    assert_eq!(store.schema_version().unwrap(), schema::current_version());
    assert!(schema::current_version() >= 2);
    assert_eq!(store.integrity_check().unwrap(), "ok");
    drop(store);
    assert_eq!(tables(&db), ["estimates", "jobs", "measurements", "runs", "switching"]);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    // Opening again is a no-op migration.
    let store = Store::open(&db).unwrap();
    assert_eq!(store.schema_version().unwrap(), schema::current_version());
}

#[test]
fn version_1_database_is_migrated_and_keeps_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.sqlite");
    let report = parse_file(&fixture("vivado_hls/diagsum_2019_1_sum_csynth.xml")).unwrap();
    let run = {
        let mut old = Store::open_at_version(&db, 1).unwrap();
        assert_eq!(old.schema_version().unwrap(), 1);
        let run = old.begin_run(&NewRun { kind: Some(RunKind::Synth), model_name: Some("jet_q6".into()), ..NewRun::default() }).unwrap();
        old.add_measurement(run, &report).unwrap();
        old.finish_run(run, RunStatus::Ok, None).unwrap();
        run
    };
    assert_eq!(tables(&db), ["estimates", "measurements", "runs"], "version 1 has no jobs table");

    let store = Store::open(&db).unwrap();
    assert_eq!(store.schema_version().unwrap(), schema::current_version());
    assert_eq!(tables(&db), ["estimates", "jobs", "measurements", "runs", "switching"]);
    let runs = store.query(&RunFilter::default()).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].id, run);
    assert_eq!(runs[0].model_name.as_deref(), Some("jet_q6"));
    assert_eq!(runs[0].status, RunStatus::Ok);
    assert_eq!(store.reports(run).unwrap(), vec![report]);
    assert_eq!(store.integrity_check().unwrap(), "ok");

    // The new table takes rows tied to the old runs.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("PRAGMA foreign_keys = ON", []).unwrap();
    conn.execute("INSERT INTO jobs (run_id, executor, external_id, state, node) VALUES (?1, 'slurm', '4242', 'COMPLETED', 'n01')", [run.0])
        .unwrap();
    let orphan = conn.execute("INSERT INTO jobs (run_id, executor) VALUES (9999, 'slurm')", []);
    assert!(orphan.is_err(), "foreign key on jobs.run_id");
}

#[test]
fn newer_schema_is_refused_not_downgraded() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.sqlite");
    drop(Store::open(&db).unwrap());
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.pragma_update(None, "user_version", schema::current_version() + 5).unwrap();
    drop(conn);
    let err = Store::open(&db).err().expect("newer schema must be refused").to_string();
    assert!(err.contains("history.sqlite") && err.contains("newer"), "{err}");
}

#[test]
fn a_file_that_is_not_a_database_is_bad_input_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("notes.sqlite");
    std::fs::write(&db, "these are my notes, not a database\n".repeat(200)).unwrap();
    let err = Store::open(&db).err().expect("not a database");
    assert!(matches!(err, qforge::error::Error::Input { .. }), "{err:?}");
    assert!(err.to_string().contains("notes.sqlite"), "{err}");
    // Nothing was overwritten.
    assert!(std::fs::read_to_string(&db).unwrap().starts_with("these are my notes"));
}

#[test]
fn a_version_3_history_gains_the_design_latency_and_keeps_its_runs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.sqlite");
    let run = {
        let mut old = Store::open_at_version(&db, 3).unwrap();
        let run = old.begin_run(&NewRun { kind: Some(RunKind::Synth), model_name: Some("jet_q6".into()), ..NewRun::default() }).unwrap();
        old.finish_run(run, RunStatus::Ok, None).unwrap();
        run
    };
    let mut store = Store::open(&db).unwrap();
    assert_eq!(store.schema_version().unwrap(), schema::current_version());
    let before = store.run(run).unwrap().unwrap();
    assert_eq!((before.model_name.as_deref(), before.status), (Some("jet_q6"), RunStatus::Ok), "the old run reads back");
    assert_eq!((before.design_latency_cycles, before.design_latency_source), (None, None));

    store.set_design_latency(run, 13, "generator").unwrap();
    let after = store.run(run).unwrap().unwrap();
    assert_eq!((after.design_latency_cycles, after.design_latency_source.as_deref()), (Some(13), Some("generator")));
    assert!(store.set_design_latency(qforge::store::RunId(run.0 + 100), 1, "generator").is_err(), "an unknown run is an error");

    // A run finished with its job's own time keeps that time.
    let timed = store.begin_run(&NewRun { kind: Some(RunKind::Synth), ..NewRun::default() }).unwrap();
    store.finish_run_timed(timed, RunStatus::Failed, Some("stopped"), Some(291.25)).unwrap();
    assert_eq!(store.run(timed).unwrap().unwrap().wall_seconds, Some(291.25));
}
