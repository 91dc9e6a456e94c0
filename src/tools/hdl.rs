//! Open HDL simulators (Verilator, Icarus Verilog): finding them (PATH of a
//! [`ToolEnv`], or `QFORGE_VERILATOR` / `QFORGE_IVERILOG`) and running one
//! build or simulation step with its output in a log file.
//!
//! Input: commands prepared by `rtl::sim`. Output: exit status, wall time, log.
use super::ToolEnv;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Find `executable` on the environment's PATH (or the override variable);
/// the error names the Debian package that provides it.
pub fn find(executable: &str, override_var: &str, apt_package: &str, env: &ToolEnv) -> Result<PathBuf> {
    if let Some(p) = env.get(override_var) {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
        return Err(Error::Tool(format!("{override_var}={} is not an executable file", p.display())));
    }
    let path = env.get("PATH").unwrap_or("");
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    which::which_in(executable, Some(path), cwd).map_err(|_| {
        Error::Tool(format!(
            "`{executable}` was not found on PATH: install it (`apt-get install {apt_package}`), put it on PATH, or set {override_var}"
        ))
    })
}

/// First line of `program --version` (or `-V`), if it answers.
pub fn version(program: &Path, flag: &str, env: &ToolEnv) -> Option<String> {
    let out = Command::new(program).arg(flag).envs(env.overrides()).stdin(Stdio::null()).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    text.lines().next().map(|l| l.trim().to_string())
}

/// Result of one step.
#[derive(Debug, Clone)]
pub struct StepResult {
    pub success: bool,
    pub elapsed_secs: f64,
    pub log: PathBuf,
}

/// Run `program args` in `cwd`, stdout and stderr into `log`.
pub fn run_logged(program: &Path, args: &[String], cwd: &Path, env: &ToolEnv, log: &Path) -> Result<StepResult> {
    let file = std::fs::File::create(log).map_err(|e| Error::io(log, e))?;
    let err_file = file.try_clone().map_err(|e| Error::io(log, e))?;
    let start = Instant::now();
    let status = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .envs(env.overrides())
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err_file)
        .status()
        .map_err(|e| Error::Tool(format!("could not start {}: {e}", program.display())))?;
    Ok(StepResult { success: status.success(), elapsed_secs: start.elapsed().as_secs_f64(), log: log.to_path_buf() })
}

/// The last lines of a log, for error messages.
pub fn log_tail(log: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
