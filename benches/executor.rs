//! Wall times of the local executor on this machine: 4 one-second jobs on 4
//! workers and on 1, and a job stopped at its 1 s time limit. The tests check
//! the behaviour (tests/executor_local.rs); the times are printed here, since a
//! timed assert fails on a loaded shared machine. Run: `cargo bench --bench executor`.
use qforge::pipeline::executor::{JobSpec, JsonLedger, LocalExecutor, RetryPolicy, Supervisor};
use std::path::Path;
use std::time::{Duration, Instant};

fn jobs(root: &Path, script: &str, n: usize) -> Vec<JobSpec> {
    (0..n)
        .map(|i| {
            let dir = root.join(format!("j{i}"));
            std::fs::create_dir_all(&dir).expect("job folder");
            JobSpec::new(&format!("j{i}"), "/bin/sh", &["-c", script], &dir)
        })
        .collect()
}

fn timed(workers: usize, jobs: &[JobSpec], run: &Path) -> f64 {
    let exec = LocalExecutor::new(workers);
    let ledger = JsonLedger::in_run_dir(run);
    let start = Instant::now();
    Supervisor::new(&exec, &ledger).policy(RetryPolicy::never()).poll_interval(Duration::from_millis(50)).run(jobs).expect("supervise");
    start.elapsed().as_secs_f64()
}

fn main() {
    for workers in [4, 1] {
        let dir = tempfile::tempdir().expect("temp dir");
        let t = timed(workers, &jobs(dir.path(), "sleep 1", 4), dir.path());
        println!("4 jobs of 1 s on {workers} worker(s): {t:.2} s wall (ideal {:.0} s)", 4 / workers);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let slow: Vec<JobSpec> = jobs(dir.path(), "exec sleep 60", 1).into_iter().map(|j| j.with_time_limit(1)).collect();
    let t = timed(1, &slow, dir.path());
    println!("a 60 s job with a 1 s limit stopped after {t:.2} s wall");
}
