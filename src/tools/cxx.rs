//! The C++ compiler and the programs it builds (C simulation of an HLS
//! project): find `g++`, run a program in a folder with a timeout, capture
//! its merged output and how long it took. Input: a program and arguments;
//! output: a [`ProgramRun`] (the caller decides what a failure means).
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The compiler: `QFORGE_CXX` when set, else `g++` on PATH.
pub fn find_cxx() -> Result<PathBuf> {
    if let Some(value) = std::env::var_os("QFORGE_CXX").filter(|v| !v.is_empty()) {
        let path = PathBuf::from(&value);
        return which::which(&path)
            .map_err(|_| Error::Tool(format!("QFORGE_CXX={} is not an executable: fix the variable or unset it", path.display())));
    }
    which::which("g++").map_err(|_| Error::Tool("g++ not found on PATH: install it (apt-get install g++) or set QFORGE_CXX".into()))
}

/// One finished run of a program.
#[derive(Debug, Clone)]
pub struct ProgramRun {
    /// The exit code; `None` when a signal ended it.
    pub exit_code: Option<i32>,
    /// Standard output and error, merged.
    pub output: String,
    pub elapsed_secs: f64,
}

impl ProgramRun {
    pub fn success(&self) -> bool {
        self.exit_code == Some(0)
    }
    /// The last `n` lines of output, for an error message.
    pub fn tail(&self, n: usize) -> String {
        let lines: Vec<&str> = self.output.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

/// Run `program args` in `cwd`, killing it after `timeout`.
pub fn run_program(program: &Path, args: &[String], cwd: &Path, timeout: Duration) -> Result<ProgramRun> {
    let start = Instant::now();
    let handle = duct::cmd(program, args)
        .dir(cwd)
        .stderr_to_stdout()
        .stdout_capture()
        .unchecked()
        .start()
        .map_err(|e| Error::Tool(format!("cannot start {}: {e}", program.display())))?;
    loop {
        match handle.try_wait() {
            Ok(Some(output)) => {
                let elapsed_secs = start.elapsed().as_secs_f64();
                return Ok(ProgramRun {
                    exit_code: output.status.code(),
                    output: String::from_utf8_lossy(&output.stdout).into_owned(),
                    elapsed_secs,
                });
            }
            Ok(None) if start.elapsed() > timeout => {
                let _ = handle.kill();
                return Err(Error::Tool(format!("{} did not finish within {} s and was stopped", program.display(), timeout.as_secs())));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => return Err(Error::Tool(format!("waiting for {}: {e}", program.display()))),
        }
    }
}
