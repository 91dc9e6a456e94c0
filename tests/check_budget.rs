//! `qforge check --budget`: within budget exits 0, an exceedance or a quantity
//! the reports do not state exits 1, a bad budget file exits 2 naming line and
//! field; the JUnit XML is well-formed with the right counts.
use qforge::budget::{self, Budget, Design, Outcome};
use qforge::reports::parse_file;
use quick_xml::events::Event;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reports").join(rel)
}

fn expected(rel: &str) -> Value {
    let text = std::fs::read_to_string(fixture("expected.jsonl")).unwrap();
    text.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).find(|v| v["file"] == rel).unwrap()
}

const CSYNTH: &str = "vitis_hls/hls4ml_ece226_2024_1_myproject_csynth.xml";
const ROUTED: &str = "vivado_impl/ece226codesign_2024.1_model1_vivado_utilization_routed.rpt";
const POWER: &str = "vivado_power/ece226codesign_2024.1_myproject_power_routed.rpt";

fn qforge(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_qforge")).args(args).env_remove("QFORGE_DB").output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A JUnit testcase: (classname, name, failure message if any).
type TestCase = (String, String, Option<String>);

/// JUnit facts: (tests, failures) of the suite, and every testcase.
/// Panics if not well-formed.
fn read_junit(path: &Path) -> ((u64, u64), Vec<TestCase>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut suites = 0;
    let mut counts = (0, 0);
    let mut cases: Vec<(String, String, Option<String>)> = Vec::new();
    let attr = |e: &quick_xml::events::BytesStart, key: &str| -> String {
        e.attributes()
            .map(|a| a.unwrap())
            .find(|a| a.key.as_ref() == key.as_bytes())
            .map(|a| a.unescape_value().unwrap().into_owned())
            .unwrap_or_default()
    };
    let mut depth = 0i32;
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"testsuite" => {
                suites += 1;
                counts = (attr(&e, "tests").parse().unwrap(), attr(&e, "failures").parse().unwrap());
                depth += 1;
            }
            Event::Start(e) if e.name().as_ref() == b"testcase" => cases.push((attr(&e, "classname"), attr(&e, "name"), None)),
            Event::Empty(e) if e.name().as_ref() == b"testcase" => cases.push((attr(&e, "classname"), attr(&e, "name"), None)),
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"failure" => {
                cases.last_mut().unwrap().2 = Some(attr(&e, "message"));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(suites, 1, "one testsuite");
    assert!(depth == 1);
    (counts, cases)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn within_budget_passes_and_writes_junit() {
    let dir = tempfile::tempdir().unwrap();
    let lut = expected(CSYNTH)["lut"].as_u64().unwrap();
    let lat = expected(CSYNTH)["latency_worst_cycles"].as_u64().unwrap();
    let budget = write(
        dir.path(),
        "budget.toml",
        &format!("[budget]\npart = \"xcu250-figd2104-2l-e\"\nlut = {lut}\ndsp = 500\nlatency_cycles = {lat}\nlut_percent = 2\n"),
    );
    let junit = dir.path().join("out/junit.xml");
    let (code, out, err) =
        qforge(&["check", "--budget", budget.to_str().unwrap(), "--junit", junit.to_str().unwrap(), fixture(CSYNTH).to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("5 within budget, 0 failed"), "{out}");
    let ((tests, failures), cases) = read_junit(&junit);
    assert_eq!((tests, failures), (5, 0));
    let names: Vec<&str> = cases.iter().map(|c| c.1.as_str()).collect();
    assert_eq!(names, ["part", "lut", "lut_percent", "dsp", "latency_cycles"]);
    assert!(cases.iter().all(|c| c.2.is_none()));
}

#[test]
fn exceeding_one_limit_fails_with_exit_1_and_a_junit_failure() {
    let dir = tempfile::tempdir().unwrap();
    let lut = expected(CSYNTH)["lut"].as_u64().unwrap();
    let budget = write(dir.path(), "b.toml", &format!("[budget]\nlut = {}\nff = 100000\n", lut - 1));
    let junit = dir.path().join("j.xml");
    let (code, out, _) = qforge(&[
        "check",
        "--budget",
        budget.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
        "--json",
        fixture(CSYNTH).to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!((v["passed"].as_u64(), v["failed"].as_u64()), (Some(1), Some(1)));
    let lut_verdict = v["verdicts"].as_array().unwrap().iter().find(|x| x["quantity"] == "lut").unwrap();
    assert_eq!(lut_verdict["outcome"], "exceeded");
    assert_eq!(lut_verdict["value"], lut.to_string());
    let ((tests, failures), cases) = read_junit(&junit);
    assert_eq!((tests, failures), (2, 1));
    let msg = cases.iter().find(|c| c.1 == "lut").unwrap().2.clone().expect("lut is a failure");
    assert!(msg.contains(&format!("lut {lut} exceeds budget {}", lut - 1)), "{msg}");
    assert!(cases.iter().find(|c| c.1 == "ff").unwrap().2.is_none());
}

#[test]
fn a_quantity_not_stated_is_a_failure_not_a_pass() {
    // A power report states no LUTs and no latency.
    let power = parse_file(&fixture(POWER)).unwrap();
    let budget = Budget { lut: Some(1_000_000), latency_ns: Some(1e9), ..Budget::default() };
    let verdicts = budget::check(&budget, &Design { name: "power only".into(), reports: vec![power], part: None, latency: None });
    assert_eq!(verdicts.len(), 2);
    assert!(verdicts.iter().all(|v| v.outcome == Outcome::NotStated), "{verdicts:?}");
    assert!(verdicts[0].message.contains("not stated"));

    let dir = tempfile::tempdir().unwrap();
    let b = write(dir.path(), "b.toml", "[budget]\nlatency_ns = 1000000\n");
    let junit = dir.path().join("j.xml");
    let (code, _, _) =
        qforge(&["check", "--budget", b.to_str().unwrap(), "--junit", junit.to_str().unwrap(), fixture(POWER).to_str().unwrap()]);
    assert_eq!(code, 1);
    let ((_, failures), cases) = read_junit(&junit);
    assert_eq!(failures, 1);
    assert!(cases[0].2.as_deref().unwrap().contains("not stated"));
}

#[test]
fn the_report_closest_to_hardware_decides_and_units_are_converted() {
    let csynth = parse_file(&fixture(CSYNTH)).unwrap();
    let routed = parse_file(&fixture(ROUTED)).unwrap();
    let design = Design { name: "jet".into(), reports: vec![csynth, routed], part: None, latency: None };
    let routed_lut = expected(ROUTED)["lut"].as_u64().unwrap();
    let hls_lut = expected(CSYNTH)["lut"].as_u64().unwrap();
    assert!(routed_lut < hls_lut, "the test needs the routed count below the HLS estimate");
    let budget = Budget { lut: Some(routed_lut), bram_18k: Some(1000), latency_ns: Some(1e6), ..Budget::default() };
    let v = budget::check(&budget, &design);
    assert_eq!(v[0].outcome, Outcome::Within, "routed LUTs count, not the HLS estimate: {}", v[0].message);
    assert!(v[0].source.as_ref().unwrap().ends_with(Path::new(ROUTED).file_name().unwrap()));
    // Vivado states BRAM tiles: two 18K blocks each.
    let tiles = expected(ROUTED)["bram_tile"].as_f64().unwrap();
    assert_eq!(v[1].value.as_deref(), Some(((tiles * 2.0).ceil() as u64).to_string().as_str()), "{}", v[1].message);
    // Latency in ns: the csynth report's cycles × its target clock (routed states no latency).
    let cycles = expected(CSYNTH)["latency_worst_cycles"].as_f64().unwrap();
    let clock = expected(CSYNTH)["clock_target_ns"].as_f64().unwrap();
    assert_eq!(v[2].value.as_deref(), Some(format!("{}", cycles * clock).as_str()), "{}", v[2].message);
}

#[test]
fn percentages_use_the_stated_totals_and_part_mismatch_fails() {
    let routed = parse_file(&fixture(ROUTED)).unwrap();
    let want = expected(ROUTED);
    let share = 100.0 * want["lut"].as_f64().unwrap() / want["available"]["lut"].as_f64().unwrap();
    let design = Design { name: "r".into(), reports: vec![routed], part: None, latency: None };
    let tight = Budget { lut_percent: Some(share * 0.99), ..Budget::default() };
    assert_eq!(budget::check(&tight, &design)[0].outcome, Outcome::Exceeded);
    let loose = Budget { lut_percent: Some(share * 1.01), ..Budget::default() };
    assert_eq!(budget::check(&loose, &design)[0].outcome, Outcome::Within);
    let wrong_part = Budget { part: Some("xcvu9p-flga2104-2L-e".into()), ..Budget::default() };
    let v = budget::check(&wrong_part, &design);
    assert_eq!(v[0].outcome, Outcome::Exceeded);
    assert!(v[0].message.contains("xcvu9p-flga2104-2L-e"));
    assert!(budget::same_part("xc7z020-clg484-1", "7Z020CLG484-1"));
    assert!(!budget::same_part("xc7z020-clg484-1", "xc7z020-clg400-1"));
    // Yosys states no part totals: a percentage cannot be shown kept.
    let yosys = std::fs::read_dir(fixture("yosys"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .unwrap();
    let y = Design { name: "y".into(), reports: vec![parse_file(&yosys).unwrap()], part: None, latency: None };
    let v = budget::check(&loose, &y);
    assert_eq!(v[0].outcome, Outcome::NotStated, "{}", v[0].message);
}

#[test]
fn bad_budget_files_exit_2_naming_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let report = fixture(CSYNTH);
    let cases = [
        ("[budget]\nlut = 2000\nluts = 5\n", "3", "luts"),
        ("[budget]\nlut = -4\n", "2", "lut"),
        ("[budget]\nlut = 100\nlut_percent = 150\n", "3", "lut_percent"),
        ("[budgets]\nlut = 100\n", "1", "budgets"),
        ("[budget]\n", "", "no limit"),
        ("[budget\nlut = 1\n", "1", ""),
    ];
    for (i, (text, line, needle)) in cases.iter().enumerate() {
        let b = write(dir.path(), &format!("b{i}.toml"), text);
        let (code, out, err) = qforge(&["check", "--budget", b.to_str().unwrap(), report.to_str().unwrap()]);
        assert_eq!(code, 2, "{text:?}: {err}");
        assert!(out.is_empty(), "{out}");
        assert!(err.contains(&format!("b{i}.toml")), "{err}");
        if !line.is_empty() {
            assert!(err.contains(&format!("b{i}.toml:{line}")), "{text:?}: {err}");
        }
        assert!(err.contains(needle), "{text:?}: {err}");
    }
    // Bad targets are bad input too.
    let b = write(dir.path(), "ok.toml", "[budget]\nlut = 1\n");
    let (code, _, err) = qforge(&["check", "--budget", b.to_str().unwrap(), "no/such/report.xml"]);
    assert_eq!((code, err.contains("no/such/report.xml")), (2, true), "{err}");
    let junk = write(dir.path(), "junk_csynth.xml", "<profile><oops");
    let (code, _, err) = qforge(&["check", "--budget", b.to_str().unwrap(), junk.to_str().unwrap()]);
    assert_eq!((code, err.contains("junk_csynth.xml")), (2, true), "{err}");
}

#[test]
fn run_ids_and_folders_from_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    for (dest, src) in [
        ("jet/prj/solution1/syn/report/myproject_csynth.xml", CSYNTH),
        ("jet/vivado_util_routed.rpt", ROUTED),
        ("jet/power_routed.rpt", POWER),
        ("diag/sum_csynth.xml", "vivado_hls/diagsum_2019_1_sum_csynth.xml"),
    ] {
        let p = tree.join(dest);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::copy(fixture(src), p).unwrap();
    }
    let db = dir.path().join("h.sqlite");
    let (code, out, err) = qforge(&["ingest", tree.to_str().unwrap(), "--db", db.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{err}");
    let ingested: Value = serde_json::from_str(&out).unwrap();
    let run_of = |name: &str| {
        ingested["runs"].as_array().unwrap().iter().find(|r| r["folder"].as_str().unwrap().ends_with(name)).unwrap()["run_id"]
            .as_i64()
            .unwrap()
            .to_string()
    };
    let (jet, diag) = (run_of("jet"), run_of("diag"));
    let routed_lut = expected(ROUTED)["lut"].as_u64().unwrap();
    let diag_lut = expected("vivado_hls/diagsum_2019_1_sum_csynth.xml")["lut"].as_u64().unwrap();
    assert!(diag_lut < routed_lut);
    let b = write(dir.path(), "b.toml", &format!("[budget]\nlut = {diag_lut}\n"));
    let junit = dir.path().join("j.xml");
    let args = |targets: &[&str]| {
        let mut a = vec!["check", "--budget", b.to_str().unwrap(), "--db", db.to_str().unwrap(), "--junit", junit.to_str().unwrap()];
        a.extend_from_slice(targets);
        a.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let run = |a: Vec<String>| qforge(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(run(args(&[&diag])).0, 0);
    let (code, out, _) = run(args(&[&diag, &jet]));
    assert_eq!(code, 1, "{out}");
    let ((tests, failures), cases) = read_junit(&junit);
    assert_eq!((tests, failures), (2, 1));
    assert!(cases.iter().any(|c| c.0.starts_with(&format!("run {jet}")) && c.2.is_some()));
    // The same designs checked from the folder give the same verdicts.
    let (code, _, _) = run(args(&[tree.to_str().unwrap()]));
    assert_eq!(code, 1);
    let ((tests, failures), _) = read_junit(&junit);
    assert_eq!((tests, failures), (2, 1));
    // An unknown run id is bad input.
    let (code, _, err) = run(args(&["4242"]));
    assert_eq!(code, 2);
    assert!(err.contains("no run 4242"), "{err}");
}

/// A Yosys report states no part totals: percentages come from qforge's part table.
#[test]
fn percent_budgets_use_the_part_table_for_yosys_reports() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reports/yosys/picorv32_yosys0.23_xcup_stat.json");
    let dir = tempfile::tempdir().unwrap();
    for (pct, code) in [("0.1", 1), ("1", 0)] {
        // picorv32: 1 322 LUTs; 0.1 % of the VU9P is 1 182 LUTs, 1 % is 11 822.
        let budget = dir.path().join(format!("b{pct}.toml"));
        std::fs::write(&budget, format!("[budget]\npart = \"xcvu9p-flga2104-2L-e\"\nlut_percent = {pct}\n")).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_qforge"))
            .args(["check", "--part", "xcvu9p-flga2104-2L-e", "--budget"])
            .arg(&budget)
            .arg(&fixture)
            .arg("--json")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(code), "{pct}%: {stdout} {}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("part table"), "{stdout}");
    }
}

/// Yosys lists every cell it maps, so its block RAM is counted from the
/// RAMB18/RAMB36 cells (a real Yosys run of a registered 1024 × 18 ROM).
#[test]
fn yosys_block_ram_is_counted_from_its_cells() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("rom.v"),
        "module rom_top(input clk, input [9:0] a, output reg [17:0] q);\n  reg [17:0] mem [0:1023];\n  integer i;\n  initial for (i = 0; i < 1024; i = i + 1) mem[i] = (i * 37) ^ (i >> 3);\n  always @(posedge clk) q <= mem[a];\nendmodule\n",
    )
    .unwrap();
    let status = std::process::Command::new("yosys")
        .current_dir(d)
        .args(["-q", "-p", "read_verilog rom.v; synth_xilinx -family xcup -top rom_top -flatten; tee -q -o stat.json stat -json"])
        .status()
        .expect("yosys is installed by scripts/setup.sh");
    assert!(status.success());
    let stat = d.join("stat.json");
    let qforge::reports::ParsedReport::Synth(report) = parse_file(&stat).unwrap() else { panic!("not a synthesis report") };
    let counted = report.bram18_equivalent().unwrap();
    assert_eq!(counted.0, 1, "{:?}", report.cells);
    for (limit, code, word) in [(0, 1, "exceeds"), (1, 0, "within")] {
        let budget = d.join(format!("b{limit}.toml"));
        std::fs::write(&budget, format!("[budget]\nbram_18k = {limit}\n")).unwrap();
        let out =
            std::process::Command::new(env!("CARGO_BIN_EXE_qforge")).arg("check").arg("--budget").arg(&budget).arg(&stat).output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(code), "{text}");
        assert!(text.contains(&format!("bram_18k 1 (1 RAMB18 + 2 × 0 RAMB36 cells) {word}")), "{text}");
    }
}
