//! Executors: where the pipeline's jobs run. A job is plain data, a
//! [`JobSpec`] (program, arguments, folder on the shared file system, limits,
//! log, expected outputs); an [`Executor`] submits jobs, reports their
//! [`JobStatus`] when polled, and cancels them. Two implementations:
//! [`local::LocalExecutor`] (N worker threads on this machine) and
//! [`slurm::SlurmExecutor`] (job arrays through `sbatch`, tracked with
//! `squeue`/`scontrol`/`sacct`).
//!
//! [`supervise::Supervisor`] drives a set of jobs to the end on any executor:
//! it re-attaches to jobs a previous run left queued or running (from the
//! [`ledger::JobLedger`]), retries the failures the cluster causes (time
//! limit, preemption, node failure) under a [`RetryPolicy`], never retries a
//! job that failed on its own, and records every submission and state in the
//! ledger so nothing finished is lost when qforge is stopped.
//!
//! Input: job specs from the pipeline stages, the `[executor]` section of a
//! pipeline file ([`config::ExecutorConfig`]). Output: the jobs' own files in
//! their folders, a [`supervise::JobReport`] per job, and the ledger.
pub mod config;
pub mod ledger;
pub mod local;
pub mod slurm;
pub mod supervise;

pub use config::{ExecutorConfig, ExecutorKind};
pub use ledger::{JobLedger, JsonLedger, LedgerEntry};
pub use local::LocalExecutor;
pub use slurm::{SlurmConfig, SlurmExecutor};
pub use supervise::{JobReport, Supervisor};

use crate::error::Result;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One job: what to run, where, with which limits, and what it must leave behind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    /// Stable identity: a hash of what the job does (program, arguments,
    /// folder, environment, outputs), so a re-run recognises its jobs.
    pub id: String,
    /// What a person calls it (`synth-mult7`).
    pub label: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    /// The job's folder; on a cluster it must be on the file system the compute nodes share.
    pub cwd: PathBuf,
    /// Set on top of the environment the job inherits.
    pub env: BTreeMap<String, String>,
    /// Wall-time limit; on Slurm rounded up to whole minutes. `None`: the executor's default.
    pub time_limit_secs: Option<u64>,
    pub cpus: u32,
    /// Memory in MiB; `None`: the executor's default.
    pub mem_mb: Option<u64>,
    /// Where the job's merged stdout and stderr go.
    pub log_path: PathBuf,
    /// Files a successful job must have written; a job that exits 0 without them has failed.
    pub outputs: Vec<PathBuf>,
    /// Which try this is (1 for the first); set by the supervisor on a retry.
    #[serde(default = "first_attempt")]
    pub attempt: u32,
}

fn first_attempt() -> u32 {
    1
}

impl JobSpec {
    /// A job running `program args` in `cwd`, logging to `cwd/<label>.log`.
    pub fn new(label: &str, program: impl Into<PathBuf>, args: &[&str], cwd: impl Into<PathBuf>) -> Self {
        let cwd = cwd.into();
        let mut spec = JobSpec {
            id: String::new(),
            label: label.to_string(),
            program: program.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            log_path: cwd.join(format!("{label}.log")),
            cwd,
            env: BTreeMap::new(),
            time_limit_secs: None,
            cpus: 1,
            mem_mb: None,
            outputs: Vec::new(),
            attempt: 1,
        };
        spec.id = spec.content_id();
        spec
    }

    pub fn with_env(mut self, name: &str, value: &str) -> Self {
        self.env.insert(name.to_string(), value.to_string());
        self.id = self.content_id();
        self
    }

    pub fn with_time_limit(mut self, secs: u64) -> Self {
        self.time_limit_secs = Some(secs);
        self
    }

    pub fn with_output(mut self, path: impl Into<PathBuf>) -> Self {
        self.outputs.push(path.into());
        self.id = self.content_id();
        self
    }

    pub fn with_log(mut self, path: impl Into<PathBuf>) -> Self {
        self.log_path = path.into();
        self
    }

    /// The hash `id` is made of: 16 hex digits of SHA-256 over what the job does.
    pub fn content_id(&self) -> String {
        let mut hasher = Sha256::new();
        let mut feed = |s: &str| {
            hasher.update((s.len() as u64).to_le_bytes());
            hasher.update(s.as_bytes());
        };
        feed(&self.program.to_string_lossy());
        for arg in &self.args {
            feed(arg);
        }
        feed(&self.cwd.to_string_lossy());
        for (name, value) in &self.env {
            feed(name);
            feed(value);
        }
        for out in &self.outputs {
            feed(&out.to_string_lossy());
        }
        hex::encode(&hasher.finalize()[..8])
    }

    /// The expected outputs that are missing now.
    pub fn missing_outputs(&self) -> Vec<PathBuf> {
        self.outputs.iter().filter(|p| !p.exists()).cloned().collect()
    }
}

/// A submitted job, as the executor knows it. Stored in the ledger, so a new
/// qforge process can poll or cancel it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobHandle {
    pub job_id: String,
    /// `local` or `slurm`.
    pub executor: String,
    /// The executor's own id: `123_4` (Slurm array task), `local-7`.
    pub external_id: String,
    pub attempt: u32,
    pub submitted_unix: u64,
}

/// Where a job is. The final states are everything but `Pending` and `Running`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Pending,
    Running,
    Completed,
    /// The job's own failure: non-zero exit, a crash, missing outputs. Never retried.
    Failed,
    /// Stopped at its time limit.
    Timeout,
    /// Taken off its node for a higher-priority job.
    Preempted,
    /// Its node failed (or did not boot).
    NodeFail,
    Cancelled,
    OutOfMemory,
    /// The executor no longer knows the job and it left no exit record (its
    /// node or qforge's local worker went away). Treated like a node failure.
    Lost,
}

impl JobState {
    pub fn is_final(self) -> bool {
        !matches!(self, JobState::Pending | JobState::Running)
    }

    /// The state of Slurm's `JobState` name (`squeue %T`, `scontrol`, `sacct`).
    pub fn from_slurm(name: &str) -> JobState {
        match name.split_whitespace().next().unwrap_or("").trim_end_matches('+') {
            "PENDING" | "CONFIGURING" | "REQUEUED" | "REQUEUE_HOLD" | "REQUEUE_FED" | "RESIZING" => JobState::Pending,
            "RUNNING" | "COMPLETING" | "SUSPENDED" | "STAGE_OUT" | "SIGNALING" | "STOPPED" => JobState::Running,
            "COMPLETED" => JobState::Completed,
            "TIMEOUT" | "DEADLINE" => JobState::Timeout,
            "PREEMPTED" => JobState::Preempted,
            "NODE_FAIL" | "BOOT_FAIL" => JobState::NodeFail,
            "CANCELLED" | "REVOKED" => JobState::Cancelled,
            "OUT_OF_MEMORY" => JobState::OutOfMemory,
            // FAILED, SPECIAL_EXIT and anything new: the job's own failure.
            _ => JobState::Failed,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Completed => "completed",
            JobState::Failed => "failed",
            JobState::Timeout => "timeout",
            JobState::Preempted => "preempted",
            JobState::NodeFail => "node_fail",
            JobState::Cancelled => "cancelled",
            JobState::OutOfMemory => "out_of_memory",
            JobState::Lost => "lost",
        }
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a poll learned about one job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobStatus {
    pub job_id: String,
    pub external_id: String,
    pub state: JobState,
    /// The executor's own state name (`TIMEOUT`, `COMPLETED`, ...).
    pub native_state: Option<String>,
    pub exit_code: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    pub node: Option<String>,
    /// Wall time so far (running) or in all (finished).
    pub elapsed_secs: Option<f64>,
    /// Why it waits or why it ended (`Resources`, `TimeLimit`, `missing output ...`).
    pub reason: Option<String>,
}

impl JobStatus {
    pub fn new(handle: &JobHandle, state: JobState) -> Self {
        JobStatus {
            job_id: handle.job_id.clone(),
            external_id: handle.external_id.clone(),
            state,
            native_state: None,
            exit_code: None,
            signal: None,
            node: None,
            elapsed_secs: None,
            reason: None,
        }
    }
}

/// Where jobs run. Implementations are shared between threads.
pub trait Executor: Send + Sync {
    /// `local` or `slurm`: stored in every handle.
    fn kind(&self) -> &'static str;
    /// Start (or queue) the jobs; one handle per job, in order.
    fn submit(&self, jobs: &[JobSpec]) -> Result<Vec<JobHandle>>;
    /// One status per handle, in order. Handles from an earlier qforge process
    /// are accepted (that is how a re-run re-attaches).
    fn poll(&self, handles: &[JobHandle]) -> Result<Vec<JobStatus>>;
    /// Stop the jobs (queued or running).
    fn cancel(&self, handles: &[JobHandle]) -> Result<()>;
}

/// A failure the cluster causes, which a retry may cure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryOn {
    Timeout,
    Preempted,
    /// Also covers a job the executor lost track of.
    NodeFail,
    OutOfMemory,
}

/// When to submit a job again. A job that failed for its own reasons
/// (non-zero exit, a crash, missing outputs) or was cancelled never is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// Tries after the first.
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
    #[serde(default = "default_retry_on")]
    pub retry_on: Vec<RetryOn>,
}

fn default_max_retries() -> u32 {
    2
}

fn default_retry_on() -> Vec<RetryOn> {
    vec![RetryOn::Timeout, RetryOn::Preempted, RetryOn::NodeFail]
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_retries: default_max_retries(), retry_on: default_retry_on() }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn never() -> Self {
        RetryPolicy { max_retries: 0, retry_on: Vec::new() }
    }

    /// Whether a job that ended in `state` after `attempt` tries gets another.
    pub fn should_retry(&self, state: JobState, attempt: u32) -> bool {
        let cause = match state {
            JobState::Timeout => RetryOn::Timeout,
            JobState::Preempted => RetryOn::Preempted,
            JobState::NodeFail | JobState::Lost => RetryOn::NodeFail,
            JobState::OutOfMemory => RetryOn::OutOfMemory,
            _ => return false,
        };
        attempt <= self.max_retries && self.retry_on.contains(&cause)
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn now_unix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slurm_states_map_to_job_states() {
        assert_eq!(JobState::from_slurm("PENDING"), JobState::Pending);
        assert_eq!(JobState::from_slurm("COMPLETING"), JobState::Running);
        assert_eq!(JobState::from_slurm("CANCELLED by 0"), JobState::Cancelled);
        assert_eq!(JobState::from_slurm("TIMEOUT"), JobState::Timeout);
        assert_eq!(JobState::from_slurm("NODE_FAIL"), JobState::NodeFail);
        assert_eq!(JobState::from_slurm("OUT_OF_MEMORY"), JobState::OutOfMemory);
        assert_eq!(JobState::from_slurm("FAILED"), JobState::Failed);
    }

    #[test]
    fn own_failures_are_not_retried() {
        let policy = RetryPolicy::default();
        assert!(policy.should_retry(JobState::Timeout, 1));
        assert!(policy.should_retry(JobState::Lost, 2));
        assert!(!policy.should_retry(JobState::Timeout, 3));
        assert!(!policy.should_retry(JobState::Failed, 1));
        assert!(!policy.should_retry(JobState::Cancelled, 1));
        assert!(!policy.should_retry(JobState::OutOfMemory, 1));
    }

    #[test]
    fn id_depends_on_what_the_job_does() {
        let a = JobSpec::new("a", "yosys", &["-s", "x.ys"], "/runs/1");
        let b = JobSpec::new("b", "yosys", &["-s", "x.ys"], "/runs/1");
        let c = JobSpec::new("a", "yosys", &["-s", "y.ys"], "/runs/1");
        assert_eq!(a.id, b.id, "the label is a name, not content");
        assert_ne!(a.id, c.id);
        assert_ne!(a.id, a.clone().with_env("X", "1").id);
    }
}
