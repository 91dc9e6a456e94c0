//! `qforge ingest DIR`: one run per project folder, idempotent, power reports
//! included, corrupt reports reported while the good ones are stored.
use qforge::store::{project_root, RunFilter, RunKind, Store};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reports")
}

fn expected(rel: &str) -> Value {
    let text = std::fs::read_to_string(fixtures().join("expected.jsonl")).unwrap();
    text.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).find(|v| v["file"] == rel).unwrap()
}

fn copy(root: &Path, dest: &str, src: &str) {
    let dest = root.join(dest);
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    std::fs::copy(fixtures().join(src), dest).unwrap();
}

/// Two hls4ml-style projects and one Vivado-only project.
fn projects(root: &Path) {
    copy(root, "jet_a/myproject_prj/solution1/syn/report/myproject_csynth.xml", "vitis_hls/hls4ml_ece226_2024_1_myproject_csynth.xml");
    copy(root, "jet_a/vivado_utilization_routed.rpt", "vivado_impl/ece226codesign_2024.1_model1_vivado_utilization_routed.rpt");
    copy(root, "jet_a/myproject_power_routed.rpt", "vivado_power/ece226codesign_2024.1_myproject_power_routed.rpt");
    copy(root, "diagsum/solution1/syn/report/sum_csynth.xml", "vivado_hls/diagsum_2019_1_sum_csynth.xml");
    copy(root, "diagsum/solution1/impl/report/vhdl/sum_export.xml", "hls_export/diagsum_2019_1_sum_export.xml");
    copy(root, "board/project.runs/impl_1/design_1_wrapper_utilization_placed.rpt", "vivado_impl/mpsq_2020.2_mpsq_util_placed.rpt");
    copy(root, "board/project.runs/impl_1/design_1_wrapper_power_routed.rpt", "vivado_power/mpsq_2020.2_mpsq_power_routed.rpt");
}

fn ingest(dir: &Path, db: &Path) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_qforge"))
        .args(["ingest", dir.to_str().unwrap(), "--db", db.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), json, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn project_root_skips_the_folders_tools_make() {
    let root = Path::new("/data/runs");
    assert_eq!(project_root(root, &root.join("a/myproject_prj/solution1/syn/report/x_csynth.xml")), root.join("a"));
    assert_eq!(project_root(root, &root.join("a/vivado_synth.rpt")), root.join("a"));
    assert_eq!(project_root(root, &root.join("b/p.runs/impl_1/u_util.rpt")), root.join("b"));
    assert_eq!(project_root(root, &root.join("c/HLS_output/Synthesis/vivado_flow_0/post_synth_util.rpt")), root.join("c"));
    assert_eq!(project_root(root, &root.join("x_csynth.xml")), root.to_path_buf());
    assert_eq!(project_root(root, &root.join("solution1/syn/report/x_csynth.xml")), root.to_path_buf(), "never above the root");
}

#[test]
fn one_run_per_project_and_reingesting_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    projects(&tree);
    let db = dir.path().join("h.sqlite");

    let (code, first, err) = ingest(&tree, &db);
    assert_eq!(code, 0, "{err}");
    assert_eq!(first["added"], 7);
    assert_eq!(first["already_stored"], 0);
    assert_eq!(first["runs"].as_array().unwrap().len(), 3);

    let store = Store::open(&db).unwrap();
    let runs = store.query(&RunFilter::default()).unwrap();
    assert_eq!(runs.len(), 3);
    assert!(runs.iter().all(|r| r.kind == RunKind::Ingest));
    let by_folder = |name: &str| runs.iter().find(|r| r.run_dir.as_ref().unwrap().ends_with(name)).unwrap();
    let jet = by_folder("jet_a");
    assert_eq!(jet.measurements.len(), 3);
    // The run takes tool/part/clock from its most authoritative report.
    assert_eq!(jet.tool.as_deref(), Some("vivado"));
    assert_eq!(jet.part.as_deref(), expected("vivado_impl/ece226codesign_2024.1_model1_vivado_utilization_routed.rpt")["part"].as_str());
    let power = jet.measurements.iter().find(|m| m.tool == "vivado_power").expect("power report stored");
    assert_eq!(power.total_power_w, expected("vivado_power/ece226codesign_2024.1_myproject_power_routed.rpt")["total_power_w"].as_f64());
    let diagsum = by_folder("diagsum");
    assert_eq!(diagsum.measurements.len(), 2);
    // The export report (implementation) outranks the csynth estimate.
    assert_eq!(diagsum.clock_ns, expected("hls_export/diagsum_2019_1_sum_export.xml")["clock_target_ns"].as_f64());
    assert_ne!(diagsum.clock_ns, expected("vivado_hls/diagsum_2019_1_sum_csynth.xml")["clock_target_ns"].as_f64());
    assert_eq!(by_folder("board").measurements.len(), 2);
    drop(store);

    // Same files again, also through a different spelling of the folder.
    let (code, second, err) = ingest(&tree, &db);
    assert_eq!(code, 0, "{err}");
    assert_eq!((second["added"].as_u64(), second["already_stored"].as_u64()), (Some(0), Some(7)));
    let dotted = tree.join("jet_a/..");
    let (_, third, _) = ingest(&dotted, &db);
    assert_eq!(third["added"], 0);
    assert_eq!(Store::open(&db).unwrap().counts().unwrap(), (3, 7, 0));

    // A changed file is new content: stored again, into the folder's run.
    let util = tree.join("jet_a/vivado_utilization_routed.rpt");
    let text = std::fs::read_to_string(&util).unwrap();
    std::fs::write(&util, text + "\n").unwrap();
    let (code, fourth, _) = ingest(&tree, &db);
    assert_eq!(code, 0);
    assert_eq!(fourth["added"], 1);
    let store = Store::open(&db).unwrap();
    assert_eq!(store.counts().unwrap(), (3, 8, 0));
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

#[test]
fn corrupt_reports_are_errors_and_the_good_ones_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    projects(&tree);
    // A cut-off csynth.xml and a utilisation report that is not one.
    let full = std::fs::read_to_string(fixtures().join("vivado_hls/clockgen_2019_2_clock_generator_csynth.xml")).unwrap();
    let cut = tree.join("broken/solution1/syn/report/clock_generator_csynth.xml");
    std::fs::create_dir_all(cut.parent().unwrap()).unwrap();
    std::fs::write(&cut, &full[..full.len() / 2]).unwrap();
    std::fs::write(tree.join("jet_a/notes_util.rpt"), "just some notes\n").unwrap();
    let db = dir.path().join("h.sqlite");

    let (code, out, err) = ingest(&tree, &db);
    assert_eq!(code, 1, "{err}");
    assert_eq!(out["added"], 7);
    let errors = out["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors.iter().any(|e| e["file"].as_str().unwrap().ends_with("clock_generator_csynth.xml")));
    assert!(errors.iter().any(|e| e["file"].as_str().unwrap().ends_with("notes_util.rpt")));
    assert!(err.contains("clock_generator_csynth.xml") && err.contains("notes_util.rpt"), "{err}");
    let store = Store::open(&db).unwrap();
    assert_eq!(store.counts().unwrap(), (3, 7, 0), "no run for a folder with only a broken report");
}

#[test]
fn ingest_bad_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let (code, _, err) = ingest(&dir.path().join("missing"), &db);
    assert_eq!(code, 2);
    assert!(err.contains("missing"), "{err}");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("readme.txt"), "no reports").unwrap();
    let (code, _, err) = ingest(&empty, &db);
    assert_eq!(code, 2);
    assert!(err.contains("no synthesis"), "{err}");
}
