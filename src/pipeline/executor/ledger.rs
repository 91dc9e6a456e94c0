//! The job ledger: which jobs a run submitted, under which executor ids, and
//! where each one is. The supervisor writes an entry at every submission and
//! state change, and reads the ledger on start to re-attach to jobs a killed
//! qforge left queued or running instead of submitting them twice.
//!
//! [`JobLedger`] is the small interface a store implements (the run store's
//! SQLite tables will); [`JsonLedger`] keeps it in `jobs.json` in the run
//! folder, rewritten atomically on every change.
use super::{JobHandle, JobState, JobStatus};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One try of one job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub handle: JobHandle,
    pub label: String,
    pub state: JobState,
    /// The last status polled (wall time, node, executor state, exit code).
    pub status: Option<JobStatus>,
    pub updated_unix: u64,
}

/// Where submissions and states are kept.
///
/// Entries are keyed by `(handle.job_id, handle.attempt)`: recording the same
/// key again replaces the entry. Implementations must make a recorded entry
/// durable before `record` returns (a crash right after must not lose it).
pub trait JobLedger: Send + Sync {
    /// Insert or replace the entry for `(job_id, attempt)`.
    fn record(&self, entry: &LedgerEntry) -> Result<()>;
    /// Every entry, every attempt.
    fn entries(&self) -> Result<Vec<LedgerEntry>>;

    /// The latest attempt of each job, by job id.
    fn latest(&self) -> Result<BTreeMap<String, LedgerEntry>> {
        let mut latest: BTreeMap<String, LedgerEntry> = BTreeMap::new();
        for entry in self.entries()? {
            let newer = latest.get(&entry.handle.job_id).map_or(true, |old| entry.handle.attempt >= old.handle.attempt);
            if newer {
                latest.insert(entry.handle.job_id.clone(), entry);
            }
        }
        Ok(latest)
    }

    /// Latest attempts still queued or running on `executor` (what a re-run re-attaches to, or Ctrl-C cancels).
    fn unfinished(&self, executor: &str) -> Result<Vec<LedgerEntry>> {
        Ok(self.latest()?.into_values().filter(|e| !e.state.is_final() && e.handle.executor == executor).collect())
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct LedgerFile {
    version: u32,
    jobs: Vec<LedgerEntry>,
}

/// The ledger as `jobs.json` in the run folder.
pub struct JsonLedger {
    path: PathBuf,
    lock: Mutex<()>,
}

impl JsonLedger {
    /// The ledger at `run_dir/jobs.json` (created on the first record).
    pub fn in_run_dir(run_dir: &Path) -> Self {
        JsonLedger::at(run_dir.join("jobs.json"))
    }

    pub fn at(path: impl Into<PathBuf>) -> Self {
        JsonLedger { path: path.into(), lock: Mutex::new(()) }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn load(&self) -> Result<LedgerFile> {
        if !self.path.exists() {
            return Ok(LedgerFile { version: 1, jobs: Vec::new() });
        }
        let text = crate::error::read_to_string(&self.path)?;
        serde_json::from_str(&text).map_err(|e| Error::input_at(&self.path, Some(e.line()), None, format!("not a qforge job ledger: {e}")))
    }
}

impl JobLedger for JsonLedger {
    fn record(&self, entry: &LedgerEntry) -> Result<()> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut file = self.load()?;
        let key = (&entry.handle.job_id, entry.handle.attempt);
        match file.jobs.iter_mut().find(|e| (&e.handle.job_id, e.handle.attempt) == key) {
            Some(slot) => *slot = entry.clone(),
            None => file.jobs.push(entry.clone()),
        }
        let json = serde_json::to_string_pretty(&file).expect("ledger serialises") + "\n";
        crate::error::write_atomic(&self.path, json.as_bytes())
    }

    fn entries(&self) -> Result<Vec<LedgerEntry>> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        Ok(self.load()?.jobs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(job: &str, attempt: u32, state: JobState) -> LedgerEntry {
        LedgerEntry {
            handle: JobHandle {
                job_id: job.into(),
                executor: "slurm".into(),
                external_id: format!("9_{attempt}"),
                attempt,
                submitted_unix: 0,
            },
            label: job.into(),
            state,
            status: None,
            updated_unix: 0,
        }
    }

    #[test]
    fn records_replace_by_job_and_attempt_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = JsonLedger::in_run_dir(dir.path());
        ledger.record(&entry("a", 1, JobState::Pending)).unwrap();
        ledger.record(&entry("a", 1, JobState::Timeout)).unwrap();
        ledger.record(&entry("a", 2, JobState::Running)).unwrap();
        ledger.record(&entry("b", 1, JobState::Completed)).unwrap();
        let reopened = JsonLedger::in_run_dir(dir.path());
        assert_eq!(reopened.entries().unwrap().len(), 3);
        let open = reopened.unfinished("slurm").unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!((open[0].handle.job_id.as_str(), open[0].handle.attempt), ("a", 2));
        assert!(reopened.unfinished("local").unwrap().is_empty());
    }

    #[test]
    fn a_corrupt_ledger_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("jobs.json"), "{ not json").unwrap();
        let err = JsonLedger::in_run_dir(dir.path()).entries().unwrap_err().to_string();
        assert!(err.contains("jobs.json"), "{err}");
    }
}
