//! The local executor with real processes: N workers at once, a job stopped
//! at its time limit, a failing job that does not stop the others, cancel,
//! and the supervisor's retry of a timeout.
use qforge::pipeline::executor::{Executor, JobSpec, JobState, JsonLedger, LocalExecutor, RetryOn, RetryPolicy, Supervisor};
use std::path::Path;
use std::time::{Duration, Instant};

fn sh(dir: &Path, label: &str, script: &str) -> JobSpec {
    std::fs::create_dir_all(dir).unwrap();
    JobSpec::new(label, "/bin/sh", &["-c", script], dir)
}

fn supervise(exec: &LocalExecutor, run: &Path, jobs: &[JobSpec], policy: RetryPolicy) -> Vec<qforge::pipeline::executor::JobReport> {
    let ledger = JsonLedger::in_run_dir(run);
    Supervisor::new(exec, &ledger).policy(policy).poll_interval(Duration::from_millis(50)).run(jobs).unwrap()
}

/// Each of 4 jobs marks that it started, then waits until all 4 have: it
/// succeeds only when the 4 run at the same time (the wait is a hang guard,
/// not a speed target; wall times are in `cargo bench --bench executor`).
fn meeting_jobs(root: &Path, meet: &Path) -> Vec<JobSpec> {
    let script = format!(
        "touch {m}/started.$$; i=0; while [ $(ls {m} | wc -l) -lt 4 ]; do i=$((i+1)); [ $i -gt 1200 ] && exit 1; sleep 0.1; done",
        m = meet.display()
    );
    (0..4).map(|i| sh(&root.join(format!("j{i}")), &format!("j{i}"), &script)).collect()
}

#[test]
fn n_workers_run_n_jobs_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let meet = dir.path().join("meet");
    std::fs::create_dir_all(&meet).unwrap();
    let reports = supervise(&LocalExecutor::new(4), dir.path(), &meeting_jobs(dir.path(), &meet), RetryPolicy::never());
    assert!(reports.iter().all(|r| r.status.state == JobState::Completed), "{reports:?}");

    // One worker: never two at once (a job that finds another running fails).
    let other = tempfile::tempdir().unwrap();
    let lock = other.path().join("running");
    let script = format!("mkdir {l} || exit 1; sleep 0.3; rmdir {l}", l = lock.display());
    let jobs: Vec<_> = (0..4).map(|i| sh(&other.path().join(format!("j{i}")), &format!("j{i}"), &script)).collect();
    let reports = supervise(&LocalExecutor::new(1), other.path(), &jobs, RetryPolicy::never());
    assert!(reports.iter().all(|r| r.status.state == JobState::Completed), "one worker runs them one after another: {reports:?}");
}

#[test]
fn a_job_over_its_limit_is_stopped_as_timeout_and_retried_by_policy() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("slow");
    let job = sh(&d, "slow", "if [ -e tried ]; then echo ok > out.txt; exit 0; fi; touch tried; exec sleep 60")
        .with_time_limit(1)
        .with_output(d.join("out.txt"));
    let exec = LocalExecutor::new(2);
    let reports = supervise(&exec, dir.path(), &[job], RetryPolicy { max_retries: 1, retry_on: vec![RetryOn::Timeout] });
    // Stopped at its limit: had `sleep 60` run out, the first attempt would have completed.
    let r = &reports[0];
    assert_eq!(r.history[0].state, JobState::Timeout, "{r:?}");
    assert_eq!(r.status.state, JobState::Completed);
    assert_eq!(r.attempts, 2);
}

#[test]
fn a_failing_job_is_not_retried_and_does_not_stop_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = vec![
        sh(&dir.path().join("a"), "a", "exit 3"),
        sh(&dir.path().join("b"), "b", "echo b > out.txt").with_output(dir.path().join("b/out.txt")),
        sh(&dir.path().join("c"), "c", "true").with_output(dir.path().join("c/never.txt")),
    ];
    let exec = LocalExecutor::new(2);
    let reports = supervise(&exec, dir.path(), &jobs, RetryPolicy::default());
    assert_eq!(reports[0].status.state, JobState::Failed);
    assert_eq!(reports[0].status.exit_code, Some(3));
    assert_eq!(reports[0].attempts, 1);
    assert_eq!(reports[1].status.state, JobState::Completed);
    assert_eq!(reports[2].status.state, JobState::Failed, "exit 0 without its output is a failure");
    assert!(reports[2].status.reason.as_deref().unwrap().contains("never.txt"));
}

#[test]
fn cancel_stops_a_running_job_and_drops_a_queued_one() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = vec![sh(&dir.path().join("a"), "a", "exec sleep 60"), sh(&dir.path().join("b"), "b", "exec sleep 60")];
    let exec = LocalExecutor::new(1);
    let handles = exec.submit(&jobs).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    exec.cancel(&handles).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let states: Vec<_> = exec.poll(&handles).unwrap().into_iter().map(|s| s.state).collect();
        if states == [JobState::Cancelled, JobState::Cancelled] {
            break;
        }
        assert!(Instant::now() < deadline, "{states:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn jobs_of_an_earlier_process_are_lost_locally_and_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("j");
    let job = sh(&d, "j", "echo hi > out.txt").with_output(d.join("out.txt"));
    let ledger = JsonLedger::in_run_dir(dir.path());
    {
        // Submitted by a qforge that was killed with the job still queued.
        let exec = LocalExecutor::new(1);
        let supervisor = Supervisor::new(&exec, &ledger);
        let busy = sh(&dir.path().join("busy"), "busy", "exec sleep 5");
        supervisor.submit(&[busy, job.clone()]).unwrap();
    }
    let exec = LocalExecutor::new(1);
    let reports = Supervisor::new(&exec, &ledger).poll_interval(Duration::from_millis(50)).run(&[job]).unwrap();
    assert_eq!(reports[0].history[0].state, JobState::Lost);
    assert_eq!(reports[0].status.state, JobState::Completed);
    assert_eq!(reports[0].attempts, 2);
}
