//! The synthesis stage: per candidate on the executor (local workers or
//! Slurm job arrays) one `qforge synth <rtl> --tool yosys --part MODULE` job
//! per module of its design (`pipeline::hier`: each layer, the output stage,
//! the top's glue), the parts' reports summed and their netlists stitched
//! once all finished; or, with `[synth] flatten = true`, one whole-design
//! job. Each candidate's report is parsed and stored as one `synth` run with the candidate's estimate,
//! its measurement and its executor job rows (Slurm id, node, Slurm state,
//! wall time). Input: the generate stage's candidates; output: the job
//! folders under the stage folder, `jobs.json` (the ledger), the history
//! database.
//!
//! A re-run after qforge was killed or interrupted continues the same runs
//! (found by their job folder) and re-attaches to the jobs the ledger lists
//! as queued or running, so nothing is submitted or stored twice. On Ctrl-C
//! ([`Interrupt`]) the stage stores what finished, cancels the unfinished
//! jobs or leaves them for a re-run as the user decides, and fails with
//! [`Error::Interrupted`].
use super::cache::{StageDir, StageKey};
use super::config::PipelineConfig;
use super::executor::{Executor, JobLedger, JobSpec, JobState, JobStatus, JsonLedger, Supervisor};
use super::interrupt::Interrupt;
use super::job_store::StoreLedger;
use super::stages::{Candidate, Numbers, SynthResult};
use crate::error::{Error, Result};
use crate::events::{Event, Reporter};
use crate::reports::ParsedReport;
use crate::store::{NewRun, RunId, RunKind, RunStatus, Store};
use std::collections::HashMap;
use std::path::Path;

/// Synthesis depends on the designs only (each candidate's generated
/// Verilog, byte for byte, and the synthesis settings), not on the
/// estimates: a new calibration does not synthesise the same designs again.
pub fn synth_key(cfg: &PipelineConfig, candidates: &[Candidate], db: &Path) -> Result<StageDir> {
    let mut key = StageKey::new("synth").value(&cfg.synth).value(&cfg.target).value(&cfg.executor.kind).text(&db.to_string_lossy());
    for c in candidates {
        key = key.text(&c.name).text(&c.model_hash).folder(&c.rtl_dir)?;
    }
    Ok(key.finish())
}

/// The whole-design synthesis job of one candidate: this qforge binary
/// running `synth <rtl> --tool yosys --flatten --no-history` in the job's
/// folder, stopped at its time limit. The stage stores the job's run itself
/// (in the run's history, with the estimate), so the job records nothing.
pub fn synth_job(cfg: &PipelineConfig, candidate: &Candidate, dir: &Path, qforge: &Path) -> JobSpec {
    yosys_job(cfg, candidate, dir, qforge, None)
}

/// The jobs of one candidate: its whole design (`[synth] flatten`), else one
/// per module of its design, the top last.
pub fn candidate_jobs(cfg: &PipelineConfig, candidate: &Candidate, dir: &Path, qforge: &Path) -> Result<Vec<JobSpec>> {
    if cfg.synth.flatten {
        return Ok(vec![synth_job(cfg, candidate, dir, qforge)]);
    }
    let manifest = crate::rtl::load_manifest(&candidate.rtl_dir)?;
    Ok(manifest.modules().iter().map(|(m, _)| yosys_job(cfg, candidate, dir, qforge, Some(m))).collect())
}

/// The job synthesising `part` (a module) of a candidate's design, or the whole design.
fn yosys_job(cfg: &PipelineConfig, candidate: &Candidate, dir: &Path, qforge: &Path, part: Option<&str>) -> JobSpec {
    let job_dir = dir.join(&candidate.name);
    let design_dir = job_dir.join("yosys");
    let (label, run_dir) = match part {
        Some(m) => (format!("synth-{}-{m}", candidate.name), super::hier::part_dir(&design_dir, m)),
        None => (format!("synth-{}", candidate.name), design_dir),
    };
    let timeout = cfg.synth.timeout_for(&candidate.name);
    let timeout_arg = timeout.to_string();
    let rtl = candidate.rtl_dir.to_string_lossy().to_string();
    let run = run_dir.to_string_lossy().to_string();
    let mut args = vec![
        "synth",
        &rtl,
        "--tool",
        "yosys",
        "--family",
        &cfg.synth.family,
        "--json",
        "--timeout",
        &timeout_arg,
        "--run-dir",
        &run,
        "--force",
        "--no-history",
        // The switching stage simulates the mapped netlist.
        "--netlist",
    ];
    match part {
        Some(m) => args.extend(["--part", m]),
        None => args.push("--flatten"),
    }
    if cfg.synth.merge_adders {
        args.push("--merge-adders");
    }
    JobSpec::new(&label, qforge, &args, &job_dir)
        .with_output(run_dir.join("stat.json"))
        // The inner `--timeout` stops Yosys; the job's own limit is the backstop.
        .with_time_limit(timeout + 60)
}

/// The stored run of each job: an earlier process's run of the same job
/// folder when there is one (continued, or kept when it ended `ok`), else a
/// new one with the candidate's estimate. Returns the run and whether its
/// result is already stored.
fn runs_for_jobs(
    store: &mut Store,
    cfg: &PipelineConfig,
    candidates: &[Candidate],
    jobs: &[JobSpec],
    reporter: &dyn Reporter,
) -> Result<Vec<(RunId, bool)>> {
    store.mark_interrupted_runs()?;
    let mut runs = Vec::new();
    for (c, job) in candidates.iter().zip(jobs) {
        match store.latest_run_in(RunKind::Synth, &job.cwd)? {
            Some((id, RunStatus::Ok)) => runs.push((id, true)),
            Some((id, _)) => {
                store.reopen_run(id)?;
                reporter.event(Event::Log(format!("{}: continuing run {id} of an earlier qforge process", c.name)));
                runs.push((id, false));
            }
            None => {
                let id = store.begin_run(&NewRun {
                    kind: Some(RunKind::Synth),
                    model_name: Some(c.model_name.clone()),
                    model_hash: Some(c.model_hash.clone()),
                    quantizers: Some(c.quantizers.clone()),
                    part: Some(cfg.target.part.clone()),
                    clock_ns: Some(cfg.target.clock_ns),
                    reuse: Some(1),
                    strategy: Some("latency".into()),
                    tool: Some("yosys".into()),
                    tool_version: None,
                    run_dir: Some(job.cwd.clone()),
                    log_path: Some(job.log_path.clone()),
                })?;
                store.add_estimate(id, &c.store_estimate())?;
                runs.push((id, false));
            }
        }
        let (id, _) = runs[runs.len() - 1];
        store.set_design_latency(id, c.design_latency_cycles, "generator")?;
    }
    Ok(runs)
}

/// Synthesize every candidate on the executor; a failing candidate does not
/// stop the others. Each is stored as one `synth` run with its estimate,
/// (when it succeeded) its measurement, and its job rows.
pub fn synth_stage(
    cfg: &PipelineConfig,
    candidates: &[Candidate],
    dir: &Path,
    db: &Path,
    reporter: &dyn Reporter,
    interrupt: Option<&Interrupt>,
) -> Result<Vec<SynthResult>> {
    let qforge = std::env::current_exe().map_err(|e| Error::Tool(format!("cannot find the qforge binary to run synthesis jobs: {e}")))?;
    let plans: Vec<Vec<JobSpec>> = candidates
        .iter()
        .map(|c| {
            std::fs::create_dir_all(dir.join(&c.name)).map_err(|e| Error::io(dir.join(&c.name), e))?;
            candidate_jobs(cfg, c, dir, &qforge)
        })
        .collect::<Result<_>>()?;
    let mut store = Store::open(db)?;
    // A candidate's jobs share its folder, where its run is found again.
    let firsts: Vec<JobSpec> = plans.iter().map(|p| p[0].clone()).collect();
    let runs = runs_for_jobs(&mut store, cfg, candidates, &firsts, reporter)?;
    let jobs: Vec<JobSpec> = plans.concat();
    let env = crate::tools::ToolEnv::from_process();
    let executor = cfg.executor.build(dir, env)?;
    let file_ledger = JsonLedger::in_run_dir(dir);
    let run_of_job: HashMap<String, RunId> =
        plans.iter().zip(&runs).flat_map(|(plan, (id, _))| plan.iter().map(move |j| (j.id.clone(), *id))).collect();
    let ledger = StoreLedger::new(&file_ledger, store, run_of_job);
    let mut supervisor = Supervisor::new(executor.as_ref(), &ledger)
        .policy(cfg.executor.retry.clone())
        .poll_interval(cfg.executor.poll_interval())
        .reporter(reporter);
    if let Some(i) = interrupt {
        supervisor = supervisor.stop_flag(i.flag());
    }
    let watch = interrupt.map(Interrupt::watch);
    let outcome = supervisor.run(&jobs);
    let reports = match outcome {
        Ok(reports) => reports,
        Err(e) => match interrupt.filter(|i| i.is_requested()) {
            Some(i) => {
                let stage = Finish { cfg, executor: executor.kind(), reporter };
                return Err(after_interrupt(i, &supervisor, executor.as_ref(), &ledger, &stage, candidates, &plans, &runs, e));
            }
            None => return Err(e),
        },
    };
    drop(watch);
    let mut results = Vec::new();
    let stage = Finish { cfg, executor: executor.kind(), reporter };
    let mut statuses = reports.into_iter().map(|r| r.status);
    for ((c, plan), &(run_id, stored)) in candidates.iter().zip(&plans).zip(&runs) {
        let mine: Vec<JobStatus> = statuses.by_ref().take(plan.len()).collect();
        let result = stage.candidate(&mut ledger.store(), c, plan, &mine, run_id, stored)?;
        reporter.event(Event::Log(format!(
            "{}: {} ({}){}",
            c.name,
            result.status,
            result.job_state,
            result.measured.as_ref().and_then(|m| m.lut).map(|l| format!(", {l} LUT measured")).unwrap_or_default()
        )));
        results.push(result);
    }
    if interrupt.is_some_and(Interrupt::is_requested) {
        return Err(Error::Interrupted("interrupted after every synthesis job had finished; their results are stored".into()));
    }
    Ok(results)
}

/// What finishing a candidate needs besides its jobs.
struct Finish<'a> {
    cfg: &'a PipelineConfig,
    executor: &'a str,
    reporter: &'a dyn Reporter,
}

impl Finish<'_> {
    /// Store a candidate whose jobs (`plan`) all ended (`statuses`): the
    /// whole-design job's report; or, per layer, the first failed part's
    /// failure (naming its module), else the parts summed and stitched.
    #[allow(clippy::too_many_arguments)]
    fn candidate(
        &self,
        store: &mut Store,
        c: &Candidate,
        plan: &[JobSpec],
        statuses: &[JobStatus],
        run_id: RunId,
        stored: bool,
    ) -> Result<SynthResult> {
        let (executor, last) = (self.executor, plan.len() - 1);
        if self.cfg.synth.flatten {
            return store_result(store, c, &plan[0], &plan[0].outputs[0], "", run_id, stored, &statuses[0], executor);
        }
        // The design's time: every part's job time (they may run side by side).
        let elapsed = statuses.iter().map(|s| s.elapsed_secs).sum();
        let prefix = format!("synth-{}-", c.name);
        if let Some((job, status)) = plan.iter().zip(statuses).find(|(_, s)| s.state != JobState::Completed) {
            let module = job.label.strip_prefix(&prefix).unwrap_or(&job.label);
            let what = format!("per-layer synthesis of module `{module}` failed: ");
            let status = JobStatus { elapsed_secs: elapsed, ..status.clone() };
            return store_result(store, c, job, &job.outputs[0], &what, run_id, stored, &status, executor);
        }
        let mut status = statuses[last].clone();
        status.elapsed_secs = elapsed;
        status.external_id = statuses.iter().map(|s| s.external_id.as_str()).collect::<Vec<_>>().join(",");
        let design_dir = plan[0].cwd.join("yosys");
        let manifest = crate::rtl::load_manifest(&c.rtl_dir)?;
        let timeout = std::time::Duration::from_secs(self.cfg.synth.timeout_for(&c.name));
        let env = crate::tools::ToolEnv::from_process();
        match super::hier::combine(&manifest, &design_dir, true, timeout, &env, self.reporter) {
            Ok((stat, _)) => store_result(store, c, &plan[last], &stat, "", run_id, stored, &status, executor),
            Err(e) => {
                (status.state, status.reason) = (JobState::Failed, Some(e.to_string()));
                store_result(store, c, &plan[last], &design_dir.join("stat.json"), "", run_id, stored, &status, executor)
            }
        }
    }
}

/// Read one finished job's outcome (its report `stat`), and store it under
/// its run unless an earlier process already did (`stored`); a failure's
/// reason starts with `what`.
#[allow(clippy::too_many_arguments)]
fn store_result(
    store: &mut Store,
    c: &Candidate,
    job: &JobSpec,
    stat: &Path,
    what: &str,
    run_id: RunId,
    stored: bool,
    status: &JobStatus,
    executor: &str,
) -> Result<SynthResult> {
    let stat = stat.to_path_buf();
    let mut result = SynthResult {
        name: c.name.clone(),
        status: "failed".into(),
        job_state: status.state.name().into(),
        reason: status.reason.clone(),
        elapsed_secs: status.elapsed_secs,
        measured: None,
        tool_version: None,
        report: None,
        log: job.log_path.clone(),
        run_id: Some(run_id.0),
        executor: Some(executor.to_string()),
        external_id: Some(status.external_id.clone()),
        node: status.node.clone(),
    };
    if status.state == JobState::Completed {
        match parse_measurement(&stat) {
            Ok(parsed) => {
                if !stored {
                    store.add_measurement(run_id, &parsed)?;
                }
                if let ParsedReport::Synth(s) = &parsed {
                    result.measured = Some(Numbers {
                        lut: s.used.lut,
                        ff: s.used.ff,
                        dsp: s.used.dsp,
                        bram_18k: s.bram18_equivalent().map(|(v, _)| v),
                        latency_cycles: Some(c.design_latency_cycles),
                    });
                    result.tool_version = s.tool_version.clone();
                }
                result.status = "ok".into();
                result.report = Some(stat.clone());
            }
            Err(e) => result.reason = Some(e.to_string()),
        }
    } else {
        let first_error =
            std::fs::read_to_string(&job.log_path).ok().and_then(|log| log.lines().find(|l| l.starts_with("error:")).map(str::to_string));
        let why = first_error.or(result.reason.take()).unwrap_or_else(|| format!("synthesis job ended {}", status.state));
        result.reason = Some(format!("{what}{why} (log {})", job.log_path.display()));
    }
    if !stored {
        let run_status = if result.status == "ok" { RunStatus::Ok } else { RunStatus::Failed };
        // The job's own time: the stage's would give every job the slowest one's.
        store.finish_run_timed(run_id, run_status, result.reason.as_deref(), status.elapsed_secs)?;
    }
    Ok(result)
}

/// After Ctrl-C: cancel or keep the unfinished jobs (the user decides; the
/// local executor's jobs end with qforge anyway), store the jobs that had
/// finished, and mark the runs of the others. Returns the error to fail with.
#[allow(clippy::too_many_arguments)]
fn after_interrupt(
    interrupt: &Interrupt,
    supervisor: &Supervisor<'_>,
    executor: &dyn Executor,
    ledger: &StoreLedger<'_>,
    stage: &Finish<'_>,
    candidates: &[Candidate],
    plans: &[Vec<JobSpec>],
    runs: &[(RunId, bool)],
    stopped: Error,
) -> Error {
    let inner = || -> Result<String> {
        let kind = executor.kind();
        let open = ledger.unfinished(kind)?;
        let cancel = !open.is_empty() && (kind != "slurm" || interrupt.should_cancel(open.len(), kind));
        let what = if open.is_empty() {
            "no jobs were queued or running".to_string()
        } else if cancel {
            let cancelled = supervisor.cancel_unfinished()?;
            let ids: Vec<&str> = cancelled.iter().map(|h| h.external_id.as_str()).collect();
            format!("cancelled {} {kind} jobs ({})", ids.len(), ids.join(", "))
        } else {
            let ids: Vec<&str> = open.iter().map(|e| e.handle.external_id.as_str()).collect();
            format!("kept {} {kind} jobs queued or running ({}); the same command re-attaches to them", ids.len(), ids.join(", "))
        };
        let latest = ledger.latest()?;
        for ((c, plan), &(run_id, stored)) in candidates.iter().zip(plans).zip(runs) {
            if stored {
                continue;
            }
            let entries: Vec<_> = plan.iter().map(|job| latest.get(&job.id)).collect();
            let unfinished = entries.iter().find(|e| !e.is_some_and(|e| e.state.is_final()));
            match unfinished {
                None => {
                    let statuses: Vec<JobStatus> = entries
                        .iter()
                        .flatten()
                        .map(|entry| entry.status.clone().unwrap_or_else(|| JobStatus::new(&entry.handle, entry.state)))
                        .collect();
                    let result = stage.candidate(&mut ledger.store(), c, plan, &statuses, run_id, false)?;
                    stage.reporter.event(Event::Log(format!("{}: {} ({})", c.name, result.status, result.job_state)));
                }
                Some(Some(entry)) => {
                    let why = format!(
                        "interrupted: job {} left {} on {kind}; the same command re-attaches to it",
                        entry.handle.external_id, entry.state
                    );
                    ledger.store().finish_run(run_id, RunStatus::Failed, Some(&why))?;
                }
                Some(None) => ledger.store().finish_run(run_id, RunStatus::Failed, Some("interrupted before its job was submitted"))?,
            }
        }
        Ok(what)
    };
    match inner() {
        Ok(what) => Error::Interrupted(format!("interrupted: {what}")),
        Err(e) => Error::Interrupted(format!("interrupted ({stopped}); then: {e}")),
    }
}

fn parse_measurement(stat: &Path) -> Result<ParsedReport> {
    crate::reports::parse_path(stat)?.into_iter().next().ok_or_else(|| Error::input(stat, "no synthesis numbers in the report"))
}
