//! Item 4 of the Slurm issue: 20 Yosys syntheses of distinct designs (an
//! 6-bit multiplier by 20 constants) through the one-node Slurm cluster and
//! through the local executor; the parsed reports must be identical, and both
//! wall times are printed (see docs/slurm.md for the numbers measured).
mod slurm_support;

use qforge::pipeline::executor::{JobState, JsonLedger, LocalExecutor, RetryPolicy, SlurmConfig, SlurmExecutor, Supervisor};
use qforge::reports::{parse_file, ParsedReport};
use slurm_support::{cluster, synth_job};
use std::time::{Duration, Instant};

const CONSTANTS: [u32; 20] = [3, 5, 7, 11, 13, 19, 23, 29, 37, 45, 57, 77, 91, 101, 127, 143, 173, 199, 211, 255];

/// The parsed report without the file it came from (the two runs write to different folders).
fn numbers(path: &std::path::Path) -> serde_json::Value {
    let ParsedReport::Synth(report) = parse_file(path).unwrap() else { panic!("{} is a synthesis report", path.display()) };
    let mut value = serde_json::to_value(report).unwrap();
    value.as_object_mut().unwrap().remove("source_file");
    value
}

#[test]
fn twenty_yosys_syntheses_on_slurm_and_locally_give_identical_reports() {
    let env = cluster();
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mut results = Vec::new();
    let mut times = Vec::new();
    for kind in ["slurm", "local"] {
        let dir = tempfile::tempdir().unwrap();
        let jobs: Vec<_> = CONSTANTS.iter().map(|&k| synth_job(dir.path(), k)).collect();
        let ledger = JsonLedger::in_run_dir(dir.path());
        let started = Instant::now();
        let reports = if kind == "slurm" {
            let config = SlurmConfig { partition: Some("debug".into()), ..Default::default() };
            let slurm = SlurmExecutor::new(config, dir.path(), env.clone()).unwrap();
            Supervisor::new(&slurm, &ledger).policy(RetryPolicy::never()).poll_interval(Duration::from_millis(250)).run(&jobs)
        } else {
            let local = LocalExecutor::new(cpus);
            Supervisor::new(&local, &ledger).policy(RetryPolicy::never()).poll_interval(Duration::from_millis(250)).run(&jobs)
        }
        .unwrap();
        let wall = started.elapsed().as_secs_f64();
        let job_secs: f64 = reports.iter().filter_map(|r| r.status.elapsed_secs).sum();
        for (job, r) in jobs.iter().zip(&reports) {
            assert_eq!(r.status.state, JobState::Completed, "{kind}: {r:?}; log {}", job.log_path.display());
        }
        let parsed: Vec<_> = jobs.iter().map(|j| numbers(&j.outputs[0])).collect();
        eprintln!("{kind}: 20 yosys jobs in {wall:.1} s wall ({job_secs:.1} s of job time summed, {cpus} CPUs)");
        times.push((kind, wall));
        results.push(parsed);
    }
    for (k, (a, b)) in CONSTANTS.iter().zip(results[0].iter().zip(&results[1])) {
        assert_eq!(a, b, "mult{k}: Slurm and local synthesis give the same numbers");
    }
    let distinct: std::collections::BTreeSet<String> = results[0].iter().map(|v| v.to_string()).collect();
    assert!(distinct.len() >= 2, "the designs do not all synthesise alike: {distinct:?}");
    println!("slurm_vs_local: slurm {:.1} s, local {:.1} s, {} distinct reports over 20 designs", times[0].1, times[1].1, distinct.len());
}
