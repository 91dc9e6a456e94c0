//! One queued job's command as a child process, for the local executor
//! (`pipeline::executor::local`): started in its own folder and process group,
//! stdout and stderr appended to the job's log file, stopped as a group. The
//! executor owns the waiting, the time limit and the bookkeeping; this module
//! owns only the process (only `tools` spawns processes).
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};

/// A started job.
pub struct JobProcess {
    child: Child,
    pgid: i32,
}

/// Start `program args` in `cwd` with `env` set on top of the inherited
/// environment, its merged output written to `log` (created, with its folder).
pub fn spawn_logged(program: &Path, args: &[String], env: &BTreeMap<String, String>, cwd: &Path, log: &Path) -> Result<JobProcess> {
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let out = std::fs::File::create(log).map_err(|e| Error::io(log, e))?;
    let err = out.try_clone().map_err(|e| Error::io(log, e))?;
    let mut command = std::process::Command::new(program);
    command.args(args).current_dir(cwd).stdin(Stdio::null()).stdout(out).stderr(err).process_group(0);
    command.envs(env);
    let child = command.spawn().map_err(|e| Error::Tool(format!("could not start {} in {}: {e}", program.display(), cwd.display())))?;
    let pgid = child.id() as i32;
    Ok(JobProcess { child, pgid })
}

impl JobProcess {
    /// The exit status once the process has ended.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        self.child.try_wait().map_err(|e| Error::Tool(format!("waiting for job process {}: {e}", self.pgid)))
    }

    /// Send `signal` to the job's whole process group.
    pub fn signal_group(&self, signal: i32) {
        // SAFETY: kill(2) with a negative pid signals that process group; it
        // only reads its integer arguments.
        unsafe {
            libc::kill(-self.pgid, signal);
        }
    }
}
