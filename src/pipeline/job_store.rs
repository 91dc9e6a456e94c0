//! The run store as a job ledger: every submission and state change the
//! supervisor records goes to the run folder's `jobs.json` (the ledger a
//! re-run re-attaches from) and, for jobs that belong to a stored run, to the
//! history database's `jobs` table (executor, Slurm id, node, Slurm state,
//! wall time, exit code). The store is also what the synthesis stage writes
//! its results through, so it lives here behind one lock.
use super::executor::{JobLedger, LedgerEntry};
use crate::error::Result;
use crate::store::{JobRow, RunId, Store};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// A ledger that keeps `inner` and mirrors each entry into the store.
pub struct StoreLedger<'a> {
    inner: &'a dyn JobLedger,
    store: Mutex<Store>,
    /// `JobSpec::id` → the run the job's result is stored under.
    runs: HashMap<String, RunId>,
}

impl<'a> StoreLedger<'a> {
    pub fn new(inner: &'a dyn JobLedger, store: Store, runs: HashMap<String, RunId>) -> Self {
        StoreLedger { inner, store: Mutex::new(store), runs }
    }

    /// The store, for the stage's own writes.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The store's row for one ledger entry of the run `run`.
pub fn job_row(run: RunId, entry: &LedgerEntry) -> JobRow {
    let status = entry.status.as_ref();
    JobRow {
        run_id: run,
        executor: entry.handle.executor.clone(),
        external_id: entry.handle.external_id.clone(),
        job_key: entry.handle.job_id.clone(),
        label: entry.label.clone(),
        attempt: entry.handle.attempt,
        state: status.and_then(|s| s.native_state.clone()).unwrap_or_else(|| entry.state.name().to_uppercase()),
        job_state: entry.state.name().to_string(),
        node: status.and_then(|s| s.node.clone()),
        wall_seconds: status.and_then(|s| s.elapsed_secs),
        exit_code: status.and_then(|s| s.exit_code),
        reason: status.and_then(|s| s.reason.clone()),
        submitted_unix: entry.handle.submitted_unix,
        finished: entry.state.is_final(),
    }
}

impl JobLedger for StoreLedger<'_> {
    fn record(&self, entry: &LedgerEntry) -> Result<()> {
        // The file ledger first: it is what a re-run re-attaches from.
        self.inner.record(entry)?;
        if let Some(&run) = self.runs.get(&entry.handle.job_id) {
            self.store().record_job(&job_row(run, entry))?;
        }
        Ok(())
    }

    fn entries(&self) -> Result<Vec<LedgerEntry>> {
        self.inner.entries()
    }
}
