//! Shared by the `tools_*` tests: test-double folders, a tiny hand-written HLS
//! project, and the environment that puts the doubles first on PATH for the
//! children only (the test process's own environment is never changed).
#![allow(dead_code)]
use qforge::hls::{render_project_scripts, HlsBackend, ScriptParams};
use qforge::tools::ToolEnv;
use std::path::{Path, PathBuf};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reports")
}

pub fn doubles_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/doubles")
}

/// A `bin` folder holding copies of the named doubles and their shared files.
pub fn doubles_bin(names: &[&str]) -> tempfile::TempDir {
    let bin = tempfile::tempdir().unwrap();
    for name in names.iter().chain(["xilinx_prelude.tcl", "double_modes.sh"].iter()) {
        std::fs::copy(doubles_dir().join(name), bin.path().join(name)).unwrap();
    }
    bin
}

/// The environment for the doubles: `bin` first on PATH, fixtures, a record
/// file and a failure mode, set on the children only.
pub fn double_env(bin: &Path, record: &Path, mode: &str) -> ToolEnv {
    ToolEnv::from_process()
        .with_path_prefix(bin)
        .with("QFORGE_FIXTURES", fixtures().display().to_string())
        .with("QFORGE_DOUBLE_RECORD", record.display().to_string())
        .with("QFORGE_DOUBLE_MODE", mode)
}

/// A tiny hls4ml-shaped project: a trivial top function, its testbench, and
/// the scripts rendered for `backend`.
pub fn tiny_project(backend: HlsBackend) -> (tempfile::TempDir, ScriptParams) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("firmware/weights")).unwrap();
    std::fs::create_dir_all(root.join("tb_data")).unwrap();
    std::fs::write(
        root.join("firmware/myproject.h"),
        "#ifndef MYPROJECT_H_\n#define MYPROJECT_H_\nvoid myproject(const int in[4], int out[4]);\n#endif\n",
    )
    .unwrap();
    std::fs::write(
        root.join("firmware/myproject.cpp"),
        "#include \"myproject.h\"\nvoid myproject(const int in[4], int out[4]) {\n#pragma HLS PIPELINE\n    for (int i = 0; i < 4; i++) out[i] = 2 * in[i] + 1;\n}\n",
    )
    .unwrap();
    std::fs::write(
        root.join("myproject_test.cpp"),
        "#include <cstdio>\n#include \"firmware/myproject.h\"\nint main() {\n    int in[4] = {1, 2, 3, 4}, out[4];\n    myproject(in, out);\n    for (int i = 0; i < 4; i++) if (out[i] != 2 * in[i] + 1) return 1;\n    std::puts(\"INFO: Test PASSED\");\n    return 0;\n}\n",
    )
    .unwrap();
    let params = ScriptParams { backend, ..ScriptParams::default() };
    render_project_scripts(&params, root, None).unwrap();
    (dir, params)
}

/// The Verilog that C synthesis would have written (for Vivado-only runs).
pub fn fake_hls_rtl(project: &Path) {
    let dir = project.join("myproject_prj/solution1/syn/verilog");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("myproject.v"), "module myproject(input ap_clk); endmodule\n").unwrap();
}

/// The recorded command lines, without the arguments of `start`.
pub fn record_lines(record: &Path) -> Vec<String> {
    std::fs::read_to_string(record).unwrap_or_default().lines().map(str::to_string).collect()
}

/// The command names, in order.
pub fn record_commands(record: &Path) -> Vec<String> {
    record_lines(record).iter().map(|l| l.split_whitespace().next().unwrap_or("").to_string()).collect()
}

/// Index of the first recorded command named `name`, panicking with the record when absent.
pub fn position(commands: &[String], name: &str) -> usize {
    commands.iter().position(|c| c == name).unwrap_or_else(|| panic!("`{name}` not recorded; record: {commands:?}"))
}
