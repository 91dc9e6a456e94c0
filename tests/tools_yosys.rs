//! The yosys driver against the real Yosys (installed on every machine that
//! tests qforge): an 8-bit registered adder through synth_xilinx.
use qforge::events::Silent;
use qforge::tools::yosys::{self, YosysJob};
use qforge::tools::{run, synth, Outcome, SynthOptions, ToolEnv, ToolKind};
use std::path::Path;
use std::time::Duration;

const ADDER: &str = "module adder8(input clk, input [7:0] a, input [7:0] b, output reg [8:0] sum);
  always @(posedge clk) sum <= a + b;
endmodule
";

fn stat_cells(stat: &Path) -> u64 {
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(stat).unwrap()).unwrap();
    json["design"]["num_cells"].as_u64().expect("stat -json has design.num_cells")
}

#[test]
fn real_yosys_synthesises_an_adder_to_xilinx_cells() {
    let dir = tempfile::tempdir().unwrap();
    let verilog = dir.path().join("adder8.v");
    std::fs::write(&verilog, ADDER).unwrap();
    let run_dir = dir.path().join("run");
    std::fs::create_dir(&run_dir).unwrap();
    let env = ToolEnv::from_process();
    let located = yosys::locate(&env).expect("yosys must be installed");
    assert!(located.version.as_deref().is_some_and(|v| v.starts_with("0.")), "{located:?}");
    let job = YosysJob::new(vec![verilog], "adder8", "xcup", true);
    let inv = yosys::prepare(&located, &job, dir.path(), &run_dir, Duration::from_secs(300), &env).unwrap();
    let result = run(&inv, &Silent).unwrap();
    assert_eq!(result.outcome, Outcome::Success, "log: {}", result.log_path.display());
    assert!(result.steps.iter().any(|s| s.contains("SYNTH_XILINX")), "{:?}", result.steps);
    let stat = run_dir.join("stat.json");
    assert!(stat.is_file());
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&stat).unwrap()).unwrap();
    let cells = &json["design"]["num_cells_by_type"];
    assert!(stat_cells(&stat) > 0);
    assert!(cells.get("FDRE").is_some(), "the register maps to FDRE: {cells}");
    assert!(cells.as_object().unwrap().keys().any(|k| k.starts_with("CARRY8") || k.starts_with("LUT")), "{cells}");
    // The mapped netlist, asked for, holds the same cells.
    let netlist: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run_dir.join(yosys::NETLIST_FILE)).unwrap()).unwrap();
    let netlist_cells = netlist["modules"]["adder8"]["cells"].as_object().expect("top module cells");
    assert_eq!(netlist_cells.len() as u64, stat_cells(&stat));
    assert!(netlist_cells.values().any(|c| c["type"] == "FDRE"));
}

#[test]
fn synth_with_yosys_on_a_project_rtl_folder() {
    let project = tempfile::tempdir().unwrap();
    std::fs::create_dir(project.path().join("rtl")).unwrap();
    std::fs::write(project.path().join("rtl/adder8.v"), ADDER).unwrap();
    let mut opts = SynthOptions::new(ToolKind::Yosys);
    opts.top = Some("adder8".into());
    opts.yosys_family = "xc7".into();
    opts.timeout = Duration::from_secs(300);
    let job = synth(project.path(), &opts, &Silent).unwrap();
    assert_eq!(job.failure, None, "{job:?}");
    let stat = job.run_dir.join("stat.json");
    assert_eq!(job.reports, vec![stat.clone()]);
    assert!(stat_cells(&stat) > 0);
    assert!(job.run_dir.join("synth.replay.sh").is_file());
}

#[test]
fn yosys_errors_are_tool_errors_and_families_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.v");
    std::fs::write(&broken, "module broken(input a; endmodule\n").unwrap();
    let env = ToolEnv::from_process();
    let located = yosys::locate(&env).unwrap();
    let job = YosysJob::new(vec![broken.clone()], "broken", "xcup", false);
    let inv = yosys::prepare(&located, &job, dir.path(), dir.path(), Duration::from_secs(60), &env).unwrap();
    match run(&inv, &Silent).unwrap().outcome {
        Outcome::ToolError { first_error_line: Some(line), .. } => {
            assert!(line.contains("broken.v:1: ERROR: syntax error"), "{line}")
        }
        other => panic!("expected a tool error, got {other:?}"),
    }
    let bad_family = YosysJob { family: "stratix".into(), ..job };
    assert!(yosys::script(&bad_family, &dir.path().join("s.json"), &dir.path().join("n.json")).unwrap_err().to_string().contains("xcup"));
}

/// A synthesis run goes into the run history like any other run.
#[test]
fn yosys_synth_is_recorded_in_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("rtl");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("adder.v"),
        "module adder(input clk, input [7:0] a, input [7:0] b, output reg [8:0] s);\n always @(posedge clk) s <= a + b;\nendmodule\n",
    )
    .unwrap();
    let db = dir.path().join("history.sqlite");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_qforge"))
        .args(["synth", "--tool", "yosys", "--top", "adder", "--json", "--db"])
        .arg(&db)
        .arg(&project)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let run = json["history_run"].as_i64().expect("recorded");
    let hist = std::process::Command::new(env!("CARGO_BIN_EXE_qforge")).args(["history", "--json", "--db"]).arg(&db).output().unwrap();
    let h: serde_json::Value = serde_json::from_slice(&hist.stdout).unwrap();
    let runs = h["runs"].as_array().expect("history lists runs");
    assert_eq!(runs.len(), 1, "{h:#}");
    let stored = &runs[0];
    assert_eq!(stored["id"].as_i64(), Some(run), "{stored:#}");
    assert_eq!(stored["tool"], "yosys", "{stored:#}");
    let lut = json["parsed"][0]["lut"].as_u64().unwrap();
    assert!(lut > 0);
    assert_eq!(stored["measurements"][0]["lut"].as_u64(), Some(lut), "the stored run carries the measured LUTs: {stored:#}");
}

/// Four same-width operands summed by a chain of adders, each read once.
const SUM4: &str = "module sum4(input [7:0] a, input [7:0] b, input [7:0] c, input [7:0] d, output [9:0] y);
  assign y = a + b + c + d;
endmodule
";

fn carry_cells(stat: &Path) -> u64 {
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(stat).unwrap()).unwrap();
    let cells = json["design"]["num_cells_by_type"].as_object().unwrap();
    cells.iter().filter(|(k, _)| k.starts_with("CARRY")).map(|(_, v)| v.as_u64().unwrap()).sum()
}

/// Stock synth_xilinx merges the three adders into one `$macc` (LUT
/// compressors and one carry chain); the default script keeps each adder
/// its own carry chain.
#[test]
fn the_default_script_keeps_each_adder_a_carry_chain() {
    let dir = tempfile::tempdir().unwrap();
    let verilog = dir.path().join("sum4.v");
    std::fs::write(&verilog, SUM4).unwrap();
    let env = ToolEnv::from_process();
    let located = yosys::locate(&env).unwrap();
    let mut carries = Vec::new();
    for merge in [false, true] {
        let run_dir = dir.path().join(format!("merge_{merge}"));
        std::fs::create_dir(&run_dir).unwrap();
        let mut job = YosysJob::new(vec![verilog.clone()], "sum4", "xcup", false);
        job.merge_adders = merge;
        let script = yosys::script(&job, &run_dir.join("stat.json"), &run_dir.join("n.json")).unwrap();
        assert_eq!(script.contains("-run begin:coarse"), !merge, "{script}");
        let inv = yosys::prepare(&located, &job, dir.path(), &run_dir, Duration::from_secs(300), &env).unwrap();
        let result = run(&inv, &Silent).unwrap();
        assert_eq!(result.outcome, Outcome::Success, "log: {}", result.log_path.display());
        let log = std::fs::read_to_string(&result.log_path).unwrap();
        assert_eq!(log.contains("merging $macc model"), merge, "alumacc merges only in the stock script");
        carries.push(carry_cells(&run_dir.join("stat.json")));
    }
    // 10-bit chains: 3 × 3 CARRY4 kept apart, one merged chain of 3 otherwise.
    assert!(carries[0] >= 3 * carries[1] && carries[1] > 0, "carry cells kept {} merged {}", carries[0], carries[1]);
}
