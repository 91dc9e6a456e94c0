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

#[test]
fn n_workers_run_n_jobs_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let jobs: Vec<_> = (0..4).map(|i| sh(&dir.path().join(format!("j{i}")), &format!("j{i}"), "sleep 1")).collect();
    let exec = LocalExecutor::new(4);
    let started = Instant::now();
    let reports = supervise(&exec, dir.path(), &jobs, RetryPolicy::never());
    let four_wide = started.elapsed();
    assert!(reports.iter().all(|r| r.status.state == JobState::Completed));
    assert!(four_wide < Duration::from_millis(2500), "4 one-second jobs on 4 workers took {four_wide:?}");
    let exec = LocalExecutor::new(1);
    let other = tempfile::tempdir().unwrap();
    let started = Instant::now();
    supervise(&exec, other.path(), &jobs, RetryPolicy::never());
    assert!(started.elapsed() >= Duration::from_secs(4), "one worker runs them one after another");
}

#[test]
fn a_job_over_its_limit_is_stopped_as_timeout_and_retried_by_policy() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("slow");
    let job = sh(&d, "slow", "if [ -e tried ]; then echo ok > out.txt; exit 0; fi; touch tried; exec sleep 60")
        .with_time_limit(1)
        .with_output(d.join("out.txt"));
    let exec = LocalExecutor::new(2);
    let started = Instant::now();
    let reports = supervise(&exec, dir.path(), &[job], RetryPolicy { max_retries: 1, retry_on: vec![RetryOn::Timeout] });
    assert!(started.elapsed() < Duration::from_secs(10), "stopped at its limit, not after sleep 60");
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
