//! Shared by the `slurm_*` tests: a real one-node Slurm cluster on localhost,
//! started once per machine by `scripts/slurm-cluster.sh` (idempotent; a lock
//! file keeps test binaries from starting it twice at once), and small Yosys
//! synthesis jobs that run through `qforge synth`.
#![allow(dead_code)]
use qforge::pipeline::executor::JobSpec;
use qforge::tools::ToolEnv;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The cluster's state folder: `$QFORGE_SLURM_STATE`, else /tmp/qforge-slurm, the same default as scripts/slurm-cluster.sh (so the cluster .ci/run starts is reused).
pub fn state_dir() -> PathBuf {
    std::env::var_os("QFORGE_SLURM_STATE").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/tmp/qforge-slurm"))
}

/// Start the cluster (once) and return the environment the Slurm commands need.
/// Fails, never skips, when Slurm is not installed: CI installs it.
pub fn cluster() -> ToolEnv {
    // A failed start is remembered too: every test fails at once with its message.
    static STARTED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let conf = STARTED.get_or_init(|| {
        let state = state_dir();
        std::fs::create_dir_all(&state).unwrap();
        if which::which("sbatch").is_err() || !Path::new("/usr/sbin/slurmctld").exists() {
            return Err("Slurm is not installed: these tests need a real cluster. Install it with \
                 `apt-get install -y slurm-wlm munge` (or run scripts/slurm-cluster.sh --install start)"
                .to_string());
        }
        let lock = std::fs::File::create(std::env::temp_dir().join("qforge-slurm-tests.lock")).unwrap();
        // SAFETY: flock(2) on a file descriptor this function owns.
        assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/slurm-cluster.sh");
        let out = std::process::Command::new("bash").arg(&script).arg("start").arg(&state).output().unwrap();
        drop(lock);
        if !out.status.success() {
            return Err(format!(
                "{} start {} failed:\n{}\n{}",
                script.display(),
                state.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(state.join("slurm.conf"))
    });
    let conf = match conf {
        Ok(conf) => conf,
        Err(message) => panic!("{message}"),
    };
    ToolEnv::from_process().with("SLURM_CONF", conf.display().to_string())
}

/// A 6-bit by constant multiplier, registered: a small design (seconds in
/// Yosys) that differs for each constant.
pub fn mult_verilog(k: u32) -> String {
    format!("module mult{k}(input clk, input [5:0] a, output reg [13:0] y);\n  always @(posedge clk) y <= a * 14'd{k};\nendmodule\n")
}

/// A job that synthesises `mult<k>` with Yosys through `qforge synth`, in
/// `root/mult<k>`; its report is `root/mult<k>/run/stat.json`.
pub fn synth_job(root: &Path, k: u32) -> JobSpec {
    let dir = root.join(format!("mult{k}"));
    std::fs::create_dir_all(&dir).unwrap();
    let verilog = dir.join(format!("mult{k}.v"));
    std::fs::write(&verilog, mult_verilog(k)).unwrap();
    let verilog = verilog.display().to_string();
    let run = dir.join("run").display().to_string();
    let top = format!("mult{k}");
    JobSpec::new(
        &format!("synth-mult{k}"),
        env!("CARGO_BIN_EXE_qforge"),
        &["synth", ".", "--tool", "yosys", "--top", &top, "--verilog", &verilog, "--run-dir", &run, "--force"],
        &dir,
    )
    .with_output(dir.join("run/stat.json"))
}

/// A `/bin/sh -c SCRIPT` job in `dir`.
pub fn shell_job(dir: &Path, label: &str, script: &str) -> JobSpec {
    std::fs::create_dir_all(dir).unwrap();
    JobSpec::new(label, "/bin/sh", &["-c", script], dir)
}
