//! The Slurm executor against a real one-node cluster on localhost (started
//! by scripts/slurm-cluster.sh): Yosys synthesis jobs, a job over its time
//! limit (retried), a failing job (not retried), re-attaching after the
//! executor is dropped mid-run, and the bad setups (Slurm missing, unknown
//! partition, controller down, run folder the nodes cannot see).
mod slurm_support;

use qforge::pipeline::executor::{
    slurm::queued_ids, Executor, JobLedger, JobState, JsonLedger, RetryOn, RetryPolicy, SlurmConfig, SlurmExecutor, Supervisor,
};
use qforge::reports::{parse_file, ParsedReport};
use qforge::tools::ToolEnv;
use slurm_support::{cluster, shell_job, synth_job};
use std::path::Path;
use std::time::{Duration, Instant};

fn executor(run_dir: &Path, config: SlurmConfig) -> SlurmExecutor {
    SlurmExecutor::new(config, run_dir, cluster()).expect("the one-node cluster accepts jobs")
}

fn debug_partition() -> SlurmConfig {
    SlurmConfig { partition: Some("debug".into()), ..Default::default() }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_string()
}

#[test]
fn yosys_synthesis_runs_on_the_cluster_with_node_and_wall_time_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = vec![synth_job(dir.path(), 3), synth_job(dir.path(), 5)];
    let slurm = executor(dir.path(), debug_partition());
    let ledger = JsonLedger::in_run_dir(dir.path());
    let reports = Supervisor::new(&slurm, &ledger).poll_interval(Duration::from_millis(500)).run(&jobs).unwrap();
    for (job, report) in jobs.iter().zip(&reports) {
        assert_eq!(report.status.state, JobState::Completed, "{report:?}; log {}", job.log_path.display());
        assert_eq!(report.status.native_state.as_deref(), Some("COMPLETED"));
        assert_eq!(report.status.node.as_deref(), Some(hostname().as_str()));
        assert_eq!(report.status.exit_code, Some(0));
        assert!(report.status.elapsed_secs.is_some(), "{report:?}");
        assert!(report.status.external_id.contains('_'), "an array task id: {report:?}");
        let ParsedReport::Synth(synth) = parse_file(&job.outputs[0]).unwrap() else { panic!("stat.json is a synthesis report") };
        assert!(synth.used.lut.unwrap_or(0) + synth.used.dsp.unwrap_or(0) > 0, "{synth:?}");
    }
    // The ledger holds both jobs, finished, with their Slurm ids.
    let entries = ledger.entries().unwrap();
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().all(|e| e.state == JobState::Completed && e.handle.executor == "slurm"));
    // The generated array script is there to read and resubmit by hand.
    let scripts: Vec<_> = std::fs::read_dir(dir.path().join("slurm"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".sbatch"))
        .collect();
    assert_eq!(scripts.len(), 1, "one job array for two jobs with the same limits");
    let script = std::fs::read_to_string(scripts[0].path()).unwrap();
    assert!(script.contains("#SBATCH --array=0-1") && script.contains("#SBATCH --partition=debug"), "{script}");
}

#[test]
fn a_failing_job_is_not_retried_and_the_rest_of_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let fails = shell_job(&dir.path().join("fails"), "fails", "echo 'Error: bad design' >&2; exit 3");
    let works = shell_job(&dir.path().join("works"), "works", "echo done > out.txt").with_output(dir.path().join("works/out.txt"));
    let slurm = executor(dir.path(), debug_partition());
    let ledger = JsonLedger::in_run_dir(dir.path());
    let reports = Supervisor::new(&slurm, &ledger)
        .policy(RetryPolicy::default())
        .poll_interval(Duration::from_millis(500))
        .run(&[fails.clone(), works])
        .unwrap();
    assert_eq!(reports[0].status.state, JobState::Failed, "{:?}", reports[0]);
    assert_eq!(reports[0].status.native_state.as_deref(), Some("FAILED"));
    assert_eq!(reports[0].status.exit_code, Some(3));
    assert_eq!(reports[0].attempts, 1, "a job's own failure is not retried");
    assert_eq!(reports[0].history.len(), 1);
    assert!(std::fs::read_to_string(&fails.log_path).unwrap().contains("bad design"), "the job's log is collected");
    assert_eq!(reports[1].status.state, JobState::Completed);
}

#[test]
fn a_job_over_its_time_limit_times_out_and_is_retried_by_policy() {
    let dir = tempfile::tempdir().unwrap();
    let job_dir = dir.path().join("slow");
    // The first try sleeps past its one-minute limit; the second finishes.
    let slow = shell_job(&job_dir, "slow", "if [ -e tried ]; then echo second > result.txt; exit 0; fi; touch tried; sleep 600")
        .with_time_limit(60)
        .with_output(job_dir.join("result.txt"));
    let slurm = executor(dir.path(), debug_partition());
    let ledger = JsonLedger::in_run_dir(dir.path());
    let policy = RetryPolicy { max_retries: 1, retry_on: vec![RetryOn::Timeout] };
    let started = Instant::now();
    let reports = Supervisor::new(&slurm, &ledger).policy(policy).poll_interval(Duration::from_secs(1)).run(&[slow]).unwrap();
    let report = &reports[0];
    eprintln!("timeout then retry took {:.0} s", started.elapsed().as_secs_f64());
    assert_eq!(report.history.len(), 2, "{report:?}");
    assert_eq!(report.history[0].state, JobState::Timeout, "{report:?}");
    assert_eq!(report.history[0].native_state.as_deref(), Some("TIMEOUT"));
    assert!(report.history[0].elapsed_secs.unwrap() >= 55.0, "{report:?}");
    assert_eq!(report.status.state, JobState::Completed);
    assert_eq!(report.attempts, 2);
    // Both tries are in the ledger.
    let states: Vec<_> = ledger.entries().unwrap().iter().map(|e| (e.handle.attempt, e.state)).collect();
    assert!(states.contains(&(1, JobState::Timeout)) && states.contains(&(2, JobState::Completed)), "{states:?}");
}

#[test]
fn a_new_executor_reattaches_to_the_jobs_of_a_dropped_one_without_resubmitting() {
    let dir = tempfile::tempdir().unwrap();
    let jobs: Vec<_> = (0..3)
        .map(|i| {
            let d = dir.path().join(format!("job{i}"));
            shell_job(&d, &format!("job{i}"), &format!("sleep 4; echo {i} > out.txt")).with_output(d.join("out.txt"))
        })
        .collect();
    let first_handles = {
        // qforge submits, records, and is killed before it sees any result.
        let slurm = executor(dir.path(), debug_partition());
        let ledger = JsonLedger::in_run_dir(dir.path());
        let handles = Supervisor::new(&slurm, &ledger).submit(&jobs).unwrap();
        let queued = queued_ids(&slurm).unwrap();
        assert!(handles.iter().any(|h| queued.contains_key(&h.external_id)), "{queued:?} vs {handles:?}");
        handles
    };
    let slurm = executor(dir.path(), debug_partition());
    let ledger = JsonLedger::in_run_dir(dir.path());
    assert_eq!(ledger.unfinished("slurm").unwrap().len(), 3);
    let reports = Supervisor::new(&slurm, &ledger).poll_interval(Duration::from_millis(500)).run(&jobs).unwrap();
    for (report, handle) in reports.iter().zip(&first_handles) {
        assert!(report.reattached, "{report:?}");
        assert_eq!(report.attempts, 1);
        assert_eq!(report.status.external_id, handle.external_id, "the same Slurm job, not a new one");
        assert_eq!(report.status.state, JobState::Completed);
    }
    let sbatch_scripts = |d: &Path| {
        std::fs::read_dir(d.join("slurm")).unwrap().flatten().filter(|e| e.path().extension() == Some("sbatch".as_ref())).count()
    };
    assert_eq!(sbatch_scripts(dir.path()), 1, "nothing was submitted twice");
    // A third run finds everything done and submits nothing.
    let again = Supervisor::new(&slurm, &ledger).run(&jobs).unwrap();
    assert!(again.iter().all(|r| r.reused && r.status.state == JobState::Completed));
    assert_eq!(sbatch_scripts(dir.path()), 1);
}

#[test]
fn cancel_stops_the_runs_queued_and_running_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let jobs: Vec<_> = (0..2).map(|i| shell_job(&dir.path().join(format!("s{i}")), &format!("s{i}"), "sleep 300")).collect();
    let slurm = executor(dir.path(), debug_partition());
    let ledger = JsonLedger::in_run_dir(dir.path());
    let supervisor = Supervisor::new(&slurm, &ledger);
    let handles = supervisor.submit(&jobs).unwrap();
    let cancelled = supervisor.cancel_unfinished().unwrap();
    assert_eq!(cancelled.len(), 2);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let states: Vec<_> = slurm.poll(&handles).unwrap().into_iter().map(|s| s.state).collect();
        if states.iter().all(|s| *s == JobState::Cancelled) {
            break;
        }
        assert!(Instant::now() < deadline, "still {states:?} 30 s after scancel");
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(ledger.unfinished("slurm").unwrap().is_empty());
}

#[test]
fn missing_slurm_commands_name_the_package_to_install() {
    let dir = tempfile::tempdir().unwrap();
    let env = ToolEnv::empty().with("PATH", "/nonexistent");
    let err = SlurmExecutor::new(debug_partition(), dir.path(), env).err().expect("no sbatch on PATH").to_string();
    assert!(err.contains("sbatch") && err.contains("apt-get install slurm-wlm"), "{err}");
}

#[test]
fn an_unknown_partition_is_refused_before_anything_is_submitted() {
    let dir = tempfile::tempdir().unwrap();
    let config = SlurmConfig { partition: Some("gpu-huge".into()), ..Default::default() };
    let err = SlurmExecutor::new(config, dir.path(), cluster()).err().expect("unknown partition").to_string();
    assert!(err.contains("gpu-huge") && err.contains("debug"), "names the partition and those that exist: {err}");
}

#[test]
fn a_controller_that_does_not_answer_names_the_script_that_starts_one() {
    let dir = tempfile::tempdir().unwrap();
    let env = cluster();
    let conf = std::fs::read_to_string(env.get("SLURM_CONF").unwrap()).unwrap();
    let dead: String = conf
        .lines()
        .map(|l| if l.starts_with("SlurmctldPort=") { "SlurmctldPort=6899".to_string() } else { l.to_string() })
        .collect::<Vec<_>>()
        .join("\n");
    let dead_conf = dir.path().join("slurm.conf");
    std::fs::write(&dead_conf, dead + "\n").unwrap();
    let env = env.with("SLURM_CONF", dead_conf.display().to_string());
    let err = SlurmExecutor::new(debug_partition(), dir.path(), env).err().expect("no controller").to_string();
    assert!(err.contains("Unable to contact slurm controller") && err.contains("scripts/slurm-cluster.sh start"), "{err}");
}

#[test]
fn a_run_folder_the_nodes_cannot_see_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = SlurmConfig { extra_sbatch: vec!["--hold".into()], ..debug_partition() };
    let slurm = executor(dir.path(), config);
    let job = shell_job(&dir.path().join("w"), "w", "echo hi > out.txt");
    let handles = slurm.submit(&[job]).unwrap();
    // Hide the job scripts, as a node without the shared file system would not see them.
    std::fs::rename(dir.path().join("slurm/jobs"), dir.path().join("hidden")).unwrap();
    let array = handles[0].external_id.split('_').next().unwrap().to_string();
    let conf = cluster().get("SLURM_CONF").unwrap().to_string();
    let released = std::process::Command::new("scontrol").args(["release", &array]).env("SLURM_CONF", conf).status();
    assert!(released.unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(60);
    let err = loop {
        match slurm.poll(&handles) {
            Err(e) => break e.to_string(),
            Ok(s) => assert!(Instant::now() < deadline, "no error after 60 s: {s:?}"),
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    assert!(err.contains("not visible from the compute nodes") && err.contains("file system"), "{err}");
    assert!(err.contains(&dir.path().display().to_string()), "names the run folder: {err}");
}
