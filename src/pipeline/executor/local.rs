//! The local executor: N worker threads on this machine take jobs from a
//! queue, run each as a child process (`tools::jobs`) in its folder with its
//! log, stop it at its time limit (SIGTERM to its process group, a grace
//! period, SIGKILL) and keep its status for `poll`. A job's failure stays its
//! own: the workers go on with the rest of the queue.
use super::{now_unix, Executor, JobHandle, JobSpec, JobState, JobStatus};
use crate::error::Result;
use crate::tools::jobs;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Seconds between SIGTERM and SIGKILL when a job is stopped.
pub const GRACE: Duration = Duration::from_secs(2);

struct Shared {
    queue: Mutex<VecDeque<(String, JobSpec)>>,
    wake: Condvar,
    statuses: Mutex<HashMap<String, JobStatus>>,
    cancelled: Mutex<HashSet<String>>,
    shutdown: AtomicBool,
    next_id: AtomicU64,
    /// Applied to jobs without their own limit.
    default_time_limit: Option<Duration>,
    node: String,
}

/// Runs jobs on `workers` threads of this machine.
pub struct LocalExecutor {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

impl LocalExecutor {
    pub fn new(workers: usize) -> Self {
        LocalExecutor::with_default_time_limit(workers, None)
    }

    /// Jobs without a time limit of their own get `limit`.
    pub fn with_default_time_limit(workers: usize, limit: Option<Duration>) -> Self {
        let shared = Arc::new(Shared {
            queue: Mutex::new(VecDeque::new()),
            wake: Condvar::new(),
            statuses: Mutex::new(HashMap::new()),
            cancelled: Mutex::new(HashSet::new()),
            shutdown: AtomicBool::new(false),
            next_id: AtomicU64::new(1),
            default_time_limit: limit,
            node: crate::host::host_name(),
        });
        let workers = (0..workers.max(1))
            .map(|_| {
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || worker(&shared))
            })
            .collect();
        LocalExecutor { shared, workers }
    }
}

impl Executor for LocalExecutor {
    fn kind(&self) -> &'static str {
        "local"
    }

    fn submit(&self, jobs: &[JobSpec]) -> Result<Vec<JobHandle>> {
        let mut handles = Vec::with_capacity(jobs.len());
        let mut queue = self.shared.queue.lock().expect("queue lock");
        let mut statuses = self.shared.statuses.lock().expect("status lock");
        for job in jobs {
            let external_id = format!("local-{}", self.shared.next_id.fetch_add(1, Ordering::SeqCst));
            let handle = JobHandle {
                job_id: job.id.clone(),
                executor: self.kind().to_string(),
                external_id: external_id.clone(),
                attempt: job.attempt,
                submitted_unix: now_unix(),
            };
            statuses.insert(external_id.clone(), JobStatus::new(&handle, JobState::Pending));
            queue.push_back((external_id, job.clone()));
            handles.push(handle);
        }
        drop(statuses);
        drop(queue);
        self.shared.wake.notify_all();
        Ok(handles)
    }

    fn poll(&self, handles: &[JobHandle]) -> Result<Vec<JobStatus>> {
        let statuses = self.shared.statuses.lock().expect("status lock");
        Ok(handles
            .iter()
            .map(|h| match statuses.get(&h.external_id) {
                Some(status) => status.clone(),
                // Submitted by another qforge process, whose workers are gone.
                None => {
                    let mut status = JobStatus::new(h, JobState::Lost);
                    status.reason = Some("submitted by an earlier qforge process whose local workers ended".into());
                    status
                }
            })
            .collect())
    }

    fn cancel(&self, handles: &[JobHandle]) -> Result<()> {
        let ids: HashSet<&str> = handles.iter().map(|h| h.external_id.as_str()).collect();
        let mut queue = self.shared.queue.lock().expect("queue lock");
        let mut statuses = self.shared.statuses.lock().expect("status lock");
        queue.retain(|(id, _)| {
            let drop_it = ids.contains(id.as_str());
            if drop_it {
                if let Some(s) = statuses.get_mut(id) {
                    s.state = JobState::Cancelled;
                    s.reason = Some("cancelled before it started".into());
                }
            }
            !drop_it
        });
        // Running ones: the worker sees the mark and stops the process.
        self.shared.cancelled.lock().expect("cancel lock").extend(ids.iter().map(|s| s.to_string()));
        Ok(())
    }
}

impl Drop for LocalExecutor {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        self.shared.wake.notify_all();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

fn worker(shared: &Shared) {
    loop {
        let next = {
            let mut queue = shared.queue.lock().expect("queue lock");
            loop {
                if shared.shutdown.load(Ordering::SeqCst) {
                    return;
                }
                if let Some(job) = queue.pop_front() {
                    break job;
                }
                queue = shared.wake.wait(queue).expect("queue lock");
            }
        };
        let (external_id, spec) = next;
        let status = run_one(shared, &external_id, &spec);
        shared.statuses.lock().expect("status lock").insert(external_id, status);
    }
}

fn set_running(shared: &Shared, external_id: &str) {
    if let Some(s) = shared.statuses.lock().expect("status lock").get_mut(external_id) {
        s.state = JobState::Running;
        s.node = Some(shared.node.clone());
    }
}

/// Run one job to its end and say how it ended.
fn run_one(shared: &Shared, external_id: &str, spec: &JobSpec) -> JobStatus {
    let handle = JobHandle {
        job_id: spec.id.clone(),
        executor: "local".into(),
        external_id: external_id.to_string(),
        attempt: spec.attempt,
        submitted_unix: 0,
    };
    let mut status = JobStatus::new(&handle, JobState::Running);
    status.node = Some(shared.node.clone());
    set_running(shared, external_id);
    let started = Instant::now();
    let mut process = match jobs::spawn_logged(&spec.program, &spec.args, &spec.env, &spec.cwd, &spec.log_path) {
        Ok(p) => p,
        Err(e) => {
            status.state = JobState::Failed;
            status.reason = Some(e.to_string());
            return status;
        }
    };
    let limit = spec.time_limit_secs.map(Duration::from_secs).or(shared.default_time_limit);
    let mut stopping: Option<(Instant, JobState)> = None;
    let exit = loop {
        match process.try_wait() {
            Ok(Some(exit)) => break Some(exit),
            Ok(None) => {}
            Err(e) => {
                status.reason = Some(e.to_string());
                break None;
            }
        }
        let cancelled = shared.cancelled.lock().expect("cancel lock").contains(external_id) || shared.shutdown.load(Ordering::SeqCst);
        match stopping {
            None => {
                let why = if cancelled {
                    Some(JobState::Cancelled)
                } else if limit.is_some_and(|l| started.elapsed() >= l) {
                    Some(JobState::Timeout)
                } else {
                    None
                };
                if let Some(state) = why {
                    process.signal_group(libc::SIGTERM);
                    stopping = Some((Instant::now(), state));
                }
            }
            Some((since, _)) if since.elapsed() >= GRACE => process.signal_group(libc::SIGKILL),
            Some(_) => {}
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    status.elapsed_secs = Some(started.elapsed().as_secs_f64());
    use std::os::unix::process::ExitStatusExt;
    status.exit_code = exit.and_then(|e| e.code());
    status.signal = exit.and_then(|e| e.signal());
    status.state = match (stopping, exit) {
        (Some((_, state)), _) => state,
        (None, Some(e)) if e.success() => JobState::Completed,
        _ => JobState::Failed,
    };
    status.native_state = Some(match status.state {
        JobState::Timeout => format!("stopped after its {} s limit", limit.unwrap_or_default().as_secs()),
        JobState::Failed => match (status.exit_code, status.signal) {
            (Some(c), _) => format!("exit status {c}"),
            (None, Some(s)) => format!("killed by signal {s}"),
            _ => "failed".to_string(),
        },
        other => other.name().to_string(),
    });
    status
}
