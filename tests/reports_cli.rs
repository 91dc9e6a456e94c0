//! `qforge report` end to end: a whole folder as a table, `--json` (one object
//! on stdout, errors listed), `--csv`, and exit codes with good and bad inputs.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixtures_dir() -> PathBuf {
    std::env::var_os("QFORGE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reports"))
}

fn qforge(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qforge")).arg("report").args(args).output().expect("run qforge")
}

fn expected_count() -> usize {
    std::fs::read_to_string(fixtures_dir().join("expected.jsonl")).unwrap().lines().filter(|l| !l.trim().is_empty()).count()
}

#[test]
fn folder_as_json_lists_every_report_with_its_file() {
    let dir = fixtures_dir();
    let out = qforge(&[dir.as_os_str(), "--json".as_ref()]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    let reports = value["reports"].as_array().unwrap();
    assert_eq!(reports.len(), expected_count());
    assert!(value["errors"].as_array().unwrap().is_empty());
    for r in reports {
        let file = r["source_file"].as_str().unwrap();
        assert!(Path::new(file).starts_with(&dir), "{file}");
        assert!(r["tool"].is_string());
    }
}

#[test]
fn folder_as_table_and_csv() {
    let dir = fixtures_dir();
    let out = qforge(&[dir.join("vivado_hls").as_os_str(), dir.join("vivado_power").as_os_str()]);
    assert_eq!(out.status.code(), Some(0));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.lines().next().unwrap().starts_with("tool"), "{table}");
    assert!(table.contains("hls4ml_tutorial_2019_2_myproject_csynth.xml") && table.contains("84942"));
    assert!(table.contains("total W") && table.contains("3.566"));

    let out = qforge(&[dir.join("vivado_synth").as_os_str(), "--csv".as_ref()]);
    assert_eq!(out.status.code(), Some(0));
    let csv = String::from_utf8(out.stdout).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header[0], "source_file");
    let lut = header.iter().position(|h| *h == "lut").unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert!(rows.iter().all(|r| r.len() == header.len()));
    let dnn = rows.iter().find(|r| r[0].ends_with("dnnonsilicon_2020.1_myproject_vivado_synth.rpt")).unwrap();
    assert_eq!(dnn[lut], "358266");
}

#[test]
fn bad_inputs_exit_codes_and_partial_results() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("broken_csynth.xml");
    std::fs::write(&bad, "<profile><AreaEstimates><Resources>").unwrap();
    let good = fixtures_dir().join("vitis_hls/mahls_2020_2_ma_csynth.xml");

    let out = qforge(&[bad.as_os_str(), good.as_os_str(), "--json".as_ref()]);
    assert_eq!(out.status.code(), Some(1), "some inputs failed → CHECK_FAILED");
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["reports"].as_array().unwrap().len(), 1);
    assert_eq!(value["reports"][0]["lut"], 185);
    let errors = value["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["file"].as_str().unwrap(), bad.to_str().unwrap());
    assert!(errors[0]["line"].is_number());
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken_csynth.xml"));

    let out = qforge(&[bad.as_os_str()]);
    assert_eq!(out.status.code(), Some(2), "nothing parsed → BAD_INPUT");
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = qforge(&[empty.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no synthesis"));
}

/// `qforge report ... | head`: the reader goes away before qforge writes. Every
/// output mode ends quietly with the command's own exit code (it panicked, exit 101).
#[test]
fn a_closed_stdout_ends_quietly() {
    let dir = fixtures_dir();
    for mode in [&["--json"][..], &["--csv"][..], &[][..]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out =
            Command::new(env!("CARGO_BIN_EXE_qforge")).arg("report").arg(&dir).args(mode).stdout(writer).output().expect("run qforge");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{mode:?}: {stderr}");
        assert!(stderr.trim().is_empty(), "{mode:?}: {stderr}");
    }
}
