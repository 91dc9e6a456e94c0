//! The run API (begin, measurements, estimates, finish, query) and
//! `qforge history` with its filters, on real reports from the fixture corpus.
use qforge::reports::{parse_file, ParsedReport};
use qforge::store::{NewRun, RunFilter, RunId, RunKind, RunStatus, Store};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reports").join(rel)
}

/// The numbers the corpus says a file states.
fn expected(rel: &str) -> Value {
    let text = std::fs::read_to_string(fixture("expected.jsonl")).unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["file"] == rel)
        .unwrap_or_else(|| panic!("{rel} not in expected.jsonl"))
}

const CSYNTH: &str = "vitis_hls/hls4ml_ece226_2024_1_myproject_csynth.xml";
const ROUTED: &str = "vivado_impl/ece226codesign_2024.1_model1_vivado_utilization_routed.rpt";
const POWER: &str = "vivado_power/ece226codesign_2024.1_myproject_power_routed.rpt";
const DIAGSUM: &str = "vivado_hls/diagsum_2019_1_sum_csynth.xml";

fn synth_run(model: &str, part: &str, tool: &str) -> NewRun {
    NewRun {
        kind: Some(RunKind::Synth),
        model_name: Some(model.into()),
        model_hash: Some("ab12".into()),
        quantizers: Some(serde_json::json!({"dense_1": {"kernel": "quantized_bits(6,0,alpha=1)"}})),
        part: Some(part.into()),
        clock_ns: Some(5.0),
        reuse: Some(1),
        strategy: Some("latency".into()),
        tool: Some(tool.into()),
        tool_version: Some("2024.1".into()),
        run_dir: Some("/runs/a".into()),
        log_path: Some("/runs/a/vitis_hls.log".into()),
    }
}

#[test]
fn a_run_keeps_everything_it_was_given() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("h.sqlite")).unwrap();
    let run = store.begin_run(&synth_run("jet_q6", "xcu250-figd2104-2L-e", "vitis_hls")).unwrap();
    let started = store.run(run).unwrap().unwrap();
    assert_eq!(started.status, RunStatus::Running);
    assert!(started.finished_at.is_none());
    assert_eq!(started.pid, Some(i64::from(std::process::id())));
    assert_eq!(started.host.as_deref(), Some(qforge::store::host_name().as_str()));

    let reports: Vec<ParsedReport> = [CSYNTH, ROUTED, POWER].iter().map(|f| parse_file(&fixture(f)).unwrap()).collect();
    for r in &reports {
        store.add_measurement(run, r).unwrap();
    }
    store.add_estimate(run, &serde_json::json!({"lut": 15000, "ff": 6000, "dsp": 450, "latency_cycles": 12, "model": "linear"})).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(30));
    store.finish_run(run, RunStatus::Ok, None).unwrap();

    let rec = store.run(run).unwrap().unwrap();
    assert_eq!(rec.status, RunStatus::Ok);
    assert_eq!(rec.kind, RunKind::Synth);
    assert_eq!(rec.part.as_deref(), Some("xcu250-figd2104-2L-e"));
    assert_eq!(rec.clock_ns, Some(5.0));
    assert_eq!(rec.reuse, Some(1));
    assert_eq!(rec.quantizers.as_ref().unwrap()["dense_1"]["kernel"], "quantized_bits(6,0,alpha=1)");
    assert!(rec.wall_seconds.unwrap() >= 0.02, "wall time {:?}", rec.wall_seconds);
    assert!(rec.finished_at.unwrap() >= rec.started_at);
    assert_eq!(rec.estimates.len(), 1);
    assert_eq!(rec.estimates[0]["model"], "linear");

    // Columns hold what the corpus says each file states.
    assert_eq!(rec.measurements.len(), 3);
    let csynth = &rec.measurements[0];
    let want = expected(CSYNTH);
    assert_eq!(csynth.tool, "vitis_hls");
    assert_eq!(csynth.lut, want["lut"].as_i64());
    assert_eq!(csynth.ff, want["ff"].as_i64());
    assert_eq!(csynth.dsp, want["dsp"].as_i64());
    assert_eq!(csynth.bram_18k, want["bram_18k"].as_i64());
    assert_eq!(csynth.latency_worst_cycles, want["latency_worst_cycles"].as_i64());
    assert_eq!(csynth.ii, want["interval_min_cycles"].as_i64());
    assert_eq!(csynth.source_sha256.as_deref().map(str::len), Some(64));
    let routed = &rec.measurements[1];
    assert_eq!(routed.lut, expected(ROUTED)["lut"].as_i64());
    assert_eq!(routed.stage.as_deref(), Some("impl"));
    let power = &rec.measurements[2];
    let want = expected(POWER);
    assert_eq!(power.tool, "vivado_power");
    assert_eq!(power.total_power_w, want["total_power_w"].as_f64());
    assert_eq!(power.dynamic_power_w, want["dynamic_power_w"].as_f64());
    assert_eq!(power.lut, None, "a power report states no LUTs");

    // The whole records read back equal, power included (not mistaken for synthesis).
    assert_eq!(store.reports(run).unwrap(), reports);
    assert!(matches!(store.reports(run).unwrap()[2], ParsedReport::Power(_)));
}

#[test]
fn finishing_twice_or_an_unknown_run_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("h.sqlite")).unwrap();
    let run = store.begin_run(&NewRun::default()).unwrap();
    store.finish_run(run, RunStatus::Failed, Some("vitis_hls exited 1")).unwrap();
    let again = store.finish_run(run, RunStatus::Ok, None).unwrap_err().to_string();
    assert!(again.contains("already ended (failed)"), "{again}");
    let rec = store.run(run).unwrap().unwrap();
    assert_eq!((rec.status, rec.error.as_deref()), (RunStatus::Failed, Some("vitis_hls exited 1")));
    assert!(store.finish_run(RunId(777), RunStatus::Ok, None).unwrap_err().to_string().contains("777"));
    assert!(store.finish_run(run, RunStatus::Running, None).is_err());
    // A measurement for a run that does not exist is refused (foreign key), not stored.
    let report = parse_file(&fixture(DIAGSUM)).unwrap();
    assert!(store.add_measurement(RunId(777), &report).is_err());
    assert_eq!(store.counts().unwrap(), (1, 0, 0));
}

fn qforge(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_qforge")).args(args).env_remove("QFORGE_DB").output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn history_ids(db: &Path, extra: &[&str]) -> Vec<i64> {
    let mut args = vec!["history", "--db", db.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    let (code, out, err) = qforge(&args);
    assert_eq!(code, 0, "history {extra:?}: {err}");
    let v: Value = serde_json::from_str(&out).expect("one JSON object");
    v["runs"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect()
}

#[test]
fn history_filters_runs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let mut store = Store::open(&db).unwrap();
    let a = store.begin_run(&synth_run("jet_q6", "xcu250-figd2104-2L-e", "vitis_hls")).unwrap();
    store.add_measurement(a, &parse_file(&fixture(CSYNTH)).unwrap()).unwrap();
    store.finish_run(a, RunStatus::Ok, None).unwrap();
    let b = store.begin_run(&synth_run("jet_q4", "xcvu9p-flgc2104-1-e", "vivado_hls")).unwrap();
    store.add_measurement(b, &parse_file(&fixture(DIAGSUM)).unwrap()).unwrap();
    store.finish_run(b, RunStatus::Failed, Some("timing")).unwrap();
    let c = store.begin_run(&synth_run("jet_q6", "xcvu9p-flgc2104-1-e", "yosys")).unwrap();
    // An old run, to test --since: rewrite its start as an older qforge would have.
    drop(store);
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("UPDATE runs SET started_at = '2023-03-01T10:00:00.000Z' WHERE id = ?1", [b.0]).unwrap();
    drop(conn);

    let all = history_ids(&db, &[]);
    assert_eq!(all, [c.0, a.0, b.0], "newest first");
    assert_eq!(history_ids(&db, &["--model", "jet_q6"]), [c.0, a.0]);
    assert_eq!(history_ids(&db, &["--status", "failed"]), [b.0]);
    assert_eq!(history_ids(&db, &["--status", "running"]), [c.0]);
    assert_eq!(history_ids(&db, &["--part", "XCVU9P-FLGC2104-1-E"]), [c.0, b.0], "case-insensitive");
    assert_eq!(history_ids(&db, &["--tool", "vitis_hls"]), [a.0]);
    assert_eq!(history_ids(&db, &["--since", "2024-01-01"]), [c.0, a.0]);
    assert_eq!(history_ids(&db, &["--since", "2023-03-01T09:59"]), all);
    assert_eq!(history_ids(&db, &["--since", "2999-01-01"]), Vec::<i64>::new());
    assert_eq!(history_ids(&db, &["--limit", "2"]), [c.0, a.0]);
    assert_eq!(history_ids(&db, &["--model", "jet_q6", "--part", "xcvu9p-flgc2104-1-e"]), [c.0]);

    // The same filter through the library.
    let store = Store::open(&db).unwrap();
    let ok = store.query(&RunFilter { status: Some(RunStatus::Ok), ..RunFilter::default() }).unwrap();
    assert_eq!(ok.iter().map(|r| r.id).collect::<Vec<_>>(), [a]);

    // Table view: a header and one line per run, '-' for numbers not stated.
    let (code, out, _) = qforge(&["history", "--db", db.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 4, "{out}");
    assert!(out.lines().next().unwrap().starts_with("id"));
    assert!(out.contains(&expected(CSYNTH)["lut"].to_string()), "{out}");

    // QFORGE_DB names the database when --db is not given.
    let out = Command::new(env!("CARGO_BIN_EXE_qforge")).args(["history", "--json"]).env("QFORGE_DB", &db).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["runs"].as_array().unwrap().len(), 3);
}

#[test]
fn history_bad_arguments_exit_2_naming_the_fault() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    drop(Store::open(&db).unwrap());
    let (code, out, err) = qforge(&["history", "--db", db.to_str().unwrap(), "--since", "last tuesday"]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("--since") && err.contains("last tuesday"), "{err}");
    let missing = dir.path().join("nope.sqlite");
    let (code, _, err) = qforge(&["history", "--db", missing.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("nope.sqlite"), "{err}");
    assert!(!missing.exists(), "history does not create a database");
}
