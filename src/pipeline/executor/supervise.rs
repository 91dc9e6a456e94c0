//! Driving a set of jobs to the end on any executor. The [`Supervisor`]
//! re-attaches to the jobs the ledger says are still queued or running,
//! reuses jobs that already completed with their outputs, submits the rest,
//! polls until every job has a final state, retries what the policy says the
//! cluster caused, and records each submission and state change in the ledger
//! before going on — so qforge can be killed at any point and lose nothing.
use super::ledger::{JobLedger, LedgerEntry};
use super::{now_unix, Executor, JobHandle, JobSpec, JobState, JobStatus, RetryPolicy};
use crate::error::{Error, Result};
use crate::events::{Event, Reporter, Silent};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How one job ended, over all its tries.
#[derive(Debug, Clone, Serialize)]
pub struct JobReport {
    pub job_id: String,
    pub label: String,
    /// The last try's final status.
    pub status: JobStatus,
    /// Tries made for this job, counting those of earlier qforge runs.
    pub attempts: u32,
    /// The final status of each try this run saw, in order.
    pub history: Vec<JobStatus>,
    /// It was queued or running from an earlier qforge run and was picked up, not resubmitted.
    pub reattached: bool,
    /// It had completed in an earlier run (outputs present) and was not run again.
    pub reused: bool,
}

/// Runs jobs to their end on one executor, with one ledger.
pub struct Supervisor<'a> {
    executor: &'a dyn Executor,
    ledger: &'a dyn JobLedger,
    policy: RetryPolicy,
    poll_interval: Duration,
    reporter: &'a dyn Reporter,
    stop: Option<&'a AtomicBool>,
}

static SILENT: Silent = Silent;

impl<'a> Supervisor<'a> {
    pub fn new(executor: &'a dyn Executor, ledger: &'a dyn JobLedger) -> Self {
        Supervisor {
            executor,
            ledger,
            policy: RetryPolicy::default(),
            poll_interval: Duration::from_secs(2),
            reporter: &SILENT,
            stop: None,
        }
    }

    pub fn policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    pub fn reporter(mut self, reporter: &'a dyn Reporter) -> Self {
        self.reporter = reporter;
        self
    }

    /// When the flag turns true (Ctrl-C), `run` returns an error and leaves
    /// the jobs where they are; [`Supervisor::cancel_unfinished`] stops them.
    pub fn stop_flag(mut self, flag: &'a AtomicBool) -> Self {
        self.stop = Some(flag);
        self
    }

    fn record(&self, handle: &JobHandle, label: &str, status: Option<&JobStatus>, state: JobState) -> Result<()> {
        self.ledger.record(&LedgerEntry {
            handle: handle.clone(),
            label: label.to_string(),
            state,
            status: status.cloned(),
            updated_unix: now_unix(),
        })
    }

    /// Submit jobs and record them in the ledger, without waiting.
    pub fn submit(&self, jobs: &[JobSpec]) -> Result<Vec<JobHandle>> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let handles = self.executor.submit(jobs)?;
        for (job, handle) in jobs.iter().zip(&handles) {
            self.record(handle, &job.label, None, JobState::Pending)?;
            self.reporter.event(Event::Log(format!(
                "{}: submitted as {} {} (try {})",
                job.label,
                self.executor.kind(),
                handle.external_id,
                handle.attempt
            )));
        }
        Ok(handles)
    }

    /// Cancel every job of this executor the ledger says is queued or
    /// running, and record them as cancelled. Returns what was cancelled.
    pub fn cancel_unfinished(&self) -> Result<Vec<JobHandle>> {
        let open = self.ledger.unfinished(self.executor.kind())?;
        let handles: Vec<JobHandle> = open.iter().map(|e| e.handle.clone()).collect();
        self.executor.cancel(&handles)?;
        for entry in &open {
            let mut status = JobStatus::new(&entry.handle, JobState::Cancelled);
            status.reason = Some("cancelled by the user".into());
            self.record(&entry.handle, &entry.label, Some(&status), JobState::Cancelled)?;
        }
        Ok(handles)
    }

    /// Run `jobs` to their end. Errors only when the executor or the ledger
    /// fails (or the stop flag is raised); a job's own failure is in its report.
    pub fn run(&self, jobs: &[JobSpec]) -> Result<Vec<JobReport>> {
        let kind = self.executor.kind();
        let latest = self.ledger.latest()?;
        let mut reports: Vec<Option<JobReport>> = vec![None; jobs.len()];
        let mut history: Vec<Vec<JobStatus>> = vec![Vec::new(); jobs.len()];
        let mut reattached = vec![false; jobs.len()];
        let mut active: Vec<(usize, JobHandle)> = Vec::new();
        let mut fresh: Vec<(usize, JobSpec)> = Vec::new();
        for (i, job) in jobs.iter().enumerate() {
            match latest.get(&job.id).filter(|e| e.handle.executor == kind) {
                Some(entry) if !entry.state.is_final() => {
                    self.reporter.event(Event::Log(format!(
                        "{}: re-attached to {} {} from an earlier run",
                        job.label, kind, entry.handle.external_id
                    )));
                    reattached[i] = true;
                    active.push((i, entry.handle.clone()));
                }
                Some(entry) if entry.state == JobState::Completed && job.missing_outputs().is_empty() => {
                    let status = entry.status.clone().unwrap_or_else(|| JobStatus::new(&entry.handle, JobState::Completed));
                    reports[i] = Some(JobReport {
                        job_id: job.id.clone(),
                        label: job.label.clone(),
                        status,
                        attempts: entry.handle.attempt,
                        history: Vec::new(),
                        reattached: false,
                        reused: true,
                    });
                }
                // Finished otherwise in an earlier run: a re-run gives it a new try.
                Some(entry) => fresh.push((i, JobSpec { attempt: entry.handle.attempt + 1, ..job.clone() })),
                None => fresh.push((i, JobSpec { attempt: 1, ..job.clone() })),
            }
        }
        self.reporter.event(Event::Begin { label: format!("{} jobs on {kind}", jobs.len()), total: jobs.len() as u64 });
        let mut done = reports.iter().filter(|r| r.is_some()).count() as u64;
        self.submit_into(&mut active, fresh)?;
        let mut last_state: HashMap<String, JobState> = HashMap::new();
        while !active.is_empty() {
            if self.stop.is_some_and(|f| f.load(Ordering::SeqCst)) {
                let ids: Vec<&str> = active.iter().map(|(_, h)| h.external_id.as_str()).collect();
                return Err(Error::Tool(format!(
                    "stopped with {} jobs still queued or running on {kind} ({}); a re-run re-attaches to them",
                    ids.len(),
                    ids.join(", ")
                )));
            }
            let handles: Vec<JobHandle> = active.iter().map(|(_, h)| h.clone()).collect();
            let statuses = self.executor.poll(&handles)?;
            let mut still: Vec<(usize, JobHandle)> = Vec::new();
            let mut retries: Vec<(usize, JobSpec)> = Vec::new();
            for ((i, handle), mut status) in active.drain(..).zip(statuses) {
                let job = &jobs[i];
                if status.state == JobState::Completed {
                    let missing = job.missing_outputs();
                    if !missing.is_empty() {
                        status.state = JobState::Failed;
                        status.reason = Some(format!(
                            "exited 0 but did not write {}; see {}",
                            missing.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
                            job.log_path.display()
                        ));
                    }
                }
                if last_state.get(&handle.external_id) != Some(&status.state) || status.state.is_final() {
                    self.record(&handle, &job.label, Some(&status), status.state)?;
                    if last_state.get(&handle.external_id) != Some(&status.state) {
                        // One status line per job and change: what each worker is doing.
                        self.reporter.event(Event::Log(format!(
                            "{}: {} ({} {}{})",
                            job.label,
                            status.state,
                            kind,
                            handle.external_id,
                            status.node.as_deref().map(|n| format!(" on {n}")).unwrap_or_default()
                        )));
                    }
                    last_state.insert(handle.external_id.clone(), status.state);
                }
                if !status.state.is_final() {
                    still.push((i, handle));
                    continue;
                }
                history[i].push(status.clone());
                if self.policy.should_retry(status.state, handle.attempt) {
                    self.reporter.event(Event::Log(format!(
                        "{}: {} on try {} ({}); trying again",
                        job.label,
                        status.state,
                        handle.attempt,
                        status.reason.as_deref().unwrap_or("no reason given")
                    )));
                    retries.push((i, JobSpec { attempt: handle.attempt + 1, ..job.clone() }));
                    continue;
                }
                done += 1;
                self.reporter.event(Event::Progress { done, message: format!("{}: {}", job.label, status.state) });
                reports[i] = Some(JobReport {
                    job_id: job.id.clone(),
                    label: job.label.clone(),
                    attempts: handle.attempt,
                    history: std::mem::take(&mut history[i]),
                    reattached: reattached[i],
                    reused: false,
                    status,
                });
            }
            active = still;
            self.submit_into(&mut active, retries)?;
            if !active.is_empty() {
                self.pause();
            }
        }
        self.reporter.event(Event::End { message: format!("{} jobs finished", jobs.len()) });
        Ok(reports.into_iter().map(|r| r.expect("every job has a report")).collect())
    }

    /// Wait one poll interval, waking early when a stop is requested.
    fn pause(&self) {
        let until = std::time::Instant::now() + self.poll_interval;
        while std::time::Instant::now() < until {
            if self.stop.is_some_and(|f| f.load(Ordering::SeqCst)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50).min(until.saturating_duration_since(std::time::Instant::now())));
        }
    }

    fn submit_into(&self, active: &mut Vec<(usize, JobHandle)>, jobs: Vec<(usize, JobSpec)>) -> Result<()> {
        let specs: Vec<JobSpec> = jobs.iter().map(|(_, j)| j.clone()).collect();
        let handles = self.submit(&specs)?;
        active.extend(jobs.into_iter().map(|(i, _)| i).zip(handles));
        Ok(())
    }
}
