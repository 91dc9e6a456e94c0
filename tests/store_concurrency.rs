//! Several writers at once (threads with their own connections, and separate
//! `qforge ingest` processes), and a writer killed with SIGKILL halfway: every
//! row is present or absent whole, `PRAGMA integrity_check` says ok, and the
//! killed run is marked failed on the next open.
use qforge::reports::parse_file;
use qforge::store::{NewRun, RunFilter, RunId, RunKind, RunStatus, Store};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reports")
}

#[test]
fn threads_with_their_own_connections_write_at_once() {
    const THREADS: usize = 8;
    const RUNS_EACH: usize = 25;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    drop(Store::open(&db).unwrap());
    let report = parse_file(&fixtures().join("vitis_hls/hls4ml_ece226_2024_1_myproject_csynth.xml")).unwrap();
    let power = parse_file(&fixtures().join("vivado_power/ece226codesign_2024.1_myproject_power_routed.rpt")).unwrap();
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (db, report, power) = (&db, &report, &power);
            s.spawn(move || {
                let mut store = Store::open(db).unwrap();
                for i in 0..RUNS_EACH {
                    let run = store
                        .begin_run(&NewRun {
                            kind: Some(RunKind::Search),
                            model_name: Some(format!("t{t}")),
                            reuse: Some(i as i64),
                            ..NewRun::default()
                        })
                        .unwrap();
                    store.add_measurement(run, report).unwrap();
                    store.add_measurement(run, power).unwrap();
                    store.add_estimate(run, &serde_json::json!({"lut": i})).unwrap();
                    let status = if i % 5 == 0 { RunStatus::Failed } else { RunStatus::Ok };
                    store.finish_run(run, status, None).unwrap();
                }
            });
        }
    });
    let elapsed = start.elapsed();
    let store = Store::open(&db).unwrap();
    let n = (THREADS * RUNS_EACH) as u64;
    assert_eq!(store.counts().unwrap(), (n, 2 * n, n));
    assert_eq!(store.integrity_check().unwrap(), "ok");
    let runs = store.query(&RunFilter::default()).unwrap();
    for t in 0..THREADS {
        let mine: Vec<_> = runs.iter().filter(|r| r.model_name.as_deref() == Some(&format!("t{t}"))).collect();
        assert_eq!(mine.len(), RUNS_EACH);
        assert!(mine.iter().all(|r| r.measurements.len() == 2 && r.estimates.len() == 1 && r.status != RunStatus::Running));
    }
    let failed = store.query(&RunFilter { status: Some(RunStatus::Failed), ..RunFilter::default() }).unwrap();
    assert_eq!(failed.len(), THREADS * RUNS_EACH / 5);
    eprintln!("{THREADS} threads wrote {n} runs ({} rows) in {:.2} s", 4 * n, elapsed.as_secs_f64());
}

/// Many connections opening one new file at the same instant: the first
/// switch to WAL and the first migration race, and SQLite answers some of them
/// "database is locked" without waiting. Every open must still succeed.
#[test]
fn many_connections_open_one_new_database_at_once() {
    const OPENERS: usize = 16;
    for round in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join(format!("h{round}.sqlite"));
        let barrier = std::sync::Barrier::new(OPENERS);
        std::thread::scope(|s| {
            for _ in 0..OPENERS {
                let (db, barrier) = (&db, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    let mut store = Store::open(db).unwrap_or_else(|e| panic!("round {round}: {e}"));
                    let run = store.begin_run(&NewRun { kind: Some(RunKind::Synth), ..NewRun::default() }).unwrap();
                    store.finish_run(run, RunStatus::Ok, None).unwrap();
                });
            }
        });
        let store = Store::open(&db).unwrap();
        assert_eq!(store.counts().unwrap().0, OPENERS as u64);
        assert_eq!(store.schema_version().unwrap(), qforge::store::schema::current_version());
    }
}

/// A folder of `projects` copies of a three-report project.
fn project_folder(root: &Path, projects: usize) -> PathBuf {
    let files = [
        ("prj/solution1/syn/report/myproject_csynth.xml", "vitis_hls/hls4ml_ece226_2024_1_myproject_csynth.xml"),
        ("vivado_utilization_routed.rpt", "vivado_impl/ece226codesign_2024.1_model1_vivado_utilization_routed.rpt"),
        ("myproject_power_routed.rpt", "vivado_power/ece226codesign_2024.1_myproject_power_routed.rpt"),
    ];
    for p in 0..projects {
        for (dest, src) in files {
            let dest = root.join(format!("project{p:02}")).join(dest);
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::copy(fixtures().join(src), dest).unwrap();
        }
    }
    root.to_path_buf()
}

#[test]
fn several_ingest_processes_write_one_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let folders: Vec<PathBuf> = (0..4).map(|i| project_folder(&dir.path().join(format!("batch{i}")), 5)).collect();
    // Four processes on four folders, plus two more on batch0 at the same time:
    // the duplicates must not be stored twice.
    let mut targets: Vec<&PathBuf> = folders.iter().collect();
    targets.push(&folders[0]);
    targets.push(&folders[0]);
    let start = Instant::now();
    let children: Vec<_> = targets
        .iter()
        .map(|f| {
            Command::new(env!("CARGO_BIN_EXE_qforge"))
                .args(["ingest", f.to_str().unwrap(), "--db", db.to_str().unwrap(), "--json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut added = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        added += v["added"].as_u64().unwrap();
    }
    let elapsed = start.elapsed();
    let store = Store::open(&db).unwrap();
    assert_eq!(added, 4 * 5 * 3, "each report added by exactly one process");
    assert_eq!(store.counts().unwrap(), (20, 60, 0));
    assert_eq!(store.integrity_check().unwrap(), "ok");
    let runs = store.query(&RunFilter::default()).unwrap();
    assert!(runs.iter().all(|r| r.kind == RunKind::Ingest && r.status == RunStatus::Ok && r.measurements.len() == 3));
    eprintln!("6 ingest processes, 60 reports in 20 runs: {:.2} s", elapsed.as_secs_f64());
}

/// Child side of the kill test: begins a run, says so, then writes
/// measurements until it is killed. Does nothing unless started by the test.
#[test]
#[ignore = "helper process for killed_writer_leaves_a_consistent_database"]
fn child_writer_until_killed() {
    let Ok(db) = std::env::var("QFORGE_TEST_CHILD_DB") else { return };
    let mut store = Store::open(Path::new(&db)).unwrap();
    let report = parse_file(&fixtures().join("vivado_hls/hls4ml_dnnonsilicon_2020_1_myproject_csynth.xml")).unwrap();
    let run = store.begin_run(&NewRun { kind: Some(RunKind::Synth), model_name: Some("doomed".into()), ..NewRun::default() }).unwrap();
    store.add_measurement(run, &report).unwrap();
    // A file, not stdout: the test harness may hold a child test's output back.
    let ready = std::env::var("QFORGE_TEST_CHILD_READY").unwrap();
    qforge::error::write_atomic(Path::new(&ready), run.0.to_string().as_bytes()).unwrap();
    loop {
        store.add_measurement(run, &report).unwrap();
    }
}

#[test]
fn killed_writer_leaves_a_consistent_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let kept = {
        let mut store = Store::open(&db).unwrap();
        let run = store.begin_run(&NewRun { model_name: Some("survivor".into()), ..NewRun::default() }).unwrap();
        store.add_measurement(run, &parse_file(&fixtures().join("vivado_hls/diagsum_2019_1_sum_csynth.xml")).unwrap()).unwrap();
        store.finish_run(run, RunStatus::Ok, None).unwrap();
        run
    };
    let ready = dir.path().join("ready");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["child_writer_until_killed", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env("QFORGE_TEST_CHILD_DB", &db)
        .env("QFORGE_TEST_CHILD_READY", &ready)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let waiting = Instant::now();
    let doomed = loop {
        if let Ok(id) = std::fs::read_to_string(&ready) {
            break RunId(id.trim().parse().unwrap());
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("child ended ({status}) before it began its run");
        }
        if waiting.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("child did not begin its run within 60 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    // While it is running, the run is `running` and opening does not touch it.
    std::thread::sleep(Duration::from_millis(300));
    {
        let store = Store::open(&db).unwrap();
        assert_eq!(store.run(doomed).unwrap().unwrap().status, RunStatus::Running);
    }
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: plain kill(2) of our own child.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGKILL) }, 0);
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGKILL));

    let store = Store::open(&db).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
    let run = store.run(doomed).unwrap().unwrap();
    assert_eq!(run.status, RunStatus::Failed);
    assert!(run.error.as_deref().unwrap().starts_with("interrupted"), "{:?}", run.error);
    assert!(run.finished_at.is_some());
    // Every measurement written before the kill is whole and reads back.
    let written = store.reports(doomed).unwrap();
    assert!(written.len() >= 2, "the child wrote {} measurements", written.len());
    assert_eq!(run.measurements.len(), written.len());
    assert!(run.measurements.iter().all(|m| m.lut.is_some() && m.source_sha256.is_some()));
    // The other run is untouched.
    let survivor = store.run(kept).unwrap().unwrap();
    assert_eq!((survivor.status, survivor.measurements.len()), (RunStatus::Ok, 1));
    eprintln!("killed child had written {} measurements", written.len());
    // Reopening again changes nothing (never deleted, not marked twice).
    drop(store);
    let again = Store::open(&db).unwrap();
    assert_eq!(again.run(doomed).unwrap().unwrap().error, run.error);
    assert_eq!(again.reports(doomed).unwrap().len(), written.len());
}
