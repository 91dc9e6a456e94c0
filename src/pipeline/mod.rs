//! The pipeline: `qforge run pipeline.toml` runs train → search → generate →
//! synthesize (jobs on an [`executor`], locally or on a Slurm cluster) →
//! parse → store → switching (gate-level energy, [`switching`]) → calibrate
//! ([`refit`]) → summary. Input: a [`config::PipelineConfig`]
//! (or the embedded default). Output, in the output folder's one layout
//! ([`crate::layout`]): `stages/<stage>-<hash>/` (each stage's files and its
//! `done.json`, see [`cache`]), `history.sqlite` (unless another database is
//! named), `calibration.toml` when the history allowed a refit, and in
//! `runs/<name>/` the run's `calibration_samples.jsonl` and `summary.md`,
//! `summary.html`, `summary.json` with their SVG plots ([`summary`]).
pub mod cache;
pub mod comparison;
pub mod config;
pub mod executor;
pub mod hier;
pub mod interrupt;
pub mod job_store;
pub mod refit;
pub mod stages;
pub mod summary;
pub mod switching;
pub mod synth;

use crate::error::Result;
use crate::estimate::Calibration;
use crate::events::{Event, Reporter};
use crate::layout::OutputLayout;
use config::PipelineConfig;
use serde::Serialize;
use stages::{Candidate, SearchResult, StageRecord, SynthResult, TrainResult};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Run-time settings from the command line.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The output folder (its layout: [`crate::layout`]).
    pub out: PathBuf,
    /// History database (default `<out>/history.sqlite`).
    pub db: Option<PathBuf>,
    /// Ctrl-C handling: what becomes of the run's jobs (none: the process just dies).
    pub interrupt: Option<std::sync::Arc<interrupt::Interrupt>>,
    /// Give the jobs an earlier run left failed a new try (`--no-retry`: keep them).
    pub retry_failed: bool,
}

/// Where one run reads and writes, all absolute (jobs run in their own
/// folders, maybe on other machines).
#[derive(Debug, Clone, Serialize)]
pub struct RunPaths {
    /// The output folder: the stage cache, the history and the calibration.
    pub root: PathBuf,
    /// This pipeline's folder: its summary and calibration samples.
    pub run_dir: PathBuf,
    pub db: PathBuf,
    /// The current calibration, which a refit replaces.
    pub calibration: PathBuf,
}

impl RunPaths {
    pub fn new(cfg: &PipelineConfig, opts: &RunOptions) -> Result<RunPaths> {
        let absolute = |p: &Path| std::path::absolute(p).map_err(|e| crate::error::Error::io(p, e));
        let layout = OutputLayout::new(absolute(&opts.out)?);
        let db = match &opts.db {
            Some(p) => absolute(p)?,
            None => layout.history(),
        };
        Ok(RunPaths { run_dir: layout.run_dir(&cfg.name), db, calibration: layout.calibration(), root: layout.root })
    }
}

/// Everything a pipeline run produced.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineOutcome {
    pub name: String,
    pub pipeline: PathBuf,
    /// This run's folder (`<output folder>/runs/<name>`): the summary is here.
    pub out: PathBuf,
    /// The output folder: stage cache, history, calibration.
    pub output_folder: PathBuf,
    pub db: PathBuf,
    pub stages: Vec<StageRecord>,
    pub train: TrainResult,
    pub search: Option<SearchResult>,
    pub candidates: Vec<Candidate>,
    pub synth: Vec<SynthResult>,
    /// Each candidate's gate-level switching measurement.
    pub switching: Vec<switching::SwitchingResult>,
    pub calibration_samples: Option<PathBuf>,
    /// What the calibration stage refitted (and where it wrote it).
    pub calibration: Option<stages::CalibrateOutcome>,
    pub wall_seconds: f64,
}

impl PipelineOutcome {
    /// Stages whose result came from an earlier run.
    pub fn skipped(&self) -> Vec<&str> {
        self.stages.iter().filter(|s| s.skipped).map(|s| s.stage.as_str()).collect()
    }
}

/// Run every stage, skipping those done in an earlier run, and write the summary.
pub fn run_pipeline(cfg: &PipelineConfig, opts: &RunOptions, reporter: &dyn Reporter) -> Result<PipelineOutcome> {
    let started = Instant::now();
    let paths = RunPaths::new(cfg, opts)?;
    for dir in [&paths.root, &paths.run_dir] {
        std::fs::create_dir_all(dir).map_err(|e| crate::error::Error::io(dir, e))?;
    }
    let (out, db) = (&paths.root, &paths.db);
    // A calibration an earlier refit wrote is used from then on.
    let cal = Calibration::discover(paths.calibration.is_file().then_some(paths.calibration.as_path()))?;
    let mut runner = stages::StageRunner::new(out, reporter);

    let train = runner.run(stages::train_key(cfg)?, |dir| stages::train_stage(cfg, dir, reporter))?;
    let search = match stages::search_key(cfg, &cal)? {
        Some(key) => Some(runner.run(key, |dir| stages::search_stage(cfg, dir, &cal, reporter))?),
        None => None,
    };
    let chosen = stages::choose_candidates(cfg, &train, search.as_ref());
    let gen_key = stages::generate_key(cfg, &chosen, &cal)?;
    let candidates = runner.run(gen_key, |dir| stages::generate_stage(cfg, &chosen, &cal, dir, reporter))?;
    let synth_key = stages::synth_key(cfg, &candidates, db)?;
    // A failed job is tried again on a re-run (unless told not to); what succeeded is kept.
    let all_ok = |done: &Vec<SynthResult>| !opts.retry_failed || done.iter().all(|s| s.status == "ok");
    let synth =
        runner.run_reusing(synth_key, all_ok, |dir| stages::synth_stage(cfg, &candidates, dir, db, reporter, opts.interrupt.as_deref()))?;
    let switching_key = switching::switching_key(cfg, &candidates, &synth, &cal)?;
    let measured_energy = runner.run(switching_key, |_| switching::switching_stage(cfg, &candidates, &synth, &cal, db, reporter))?;
    let calibration = if cfg.calibrate.enabled {
        let key = stages::calibrate_key(cfg, &candidates, &synth, &measured_energy, &cal, db);
        let done = runner.run(key, |_| stages::calibrate_stage(cfg, &candidates, &synth, &cal, &paths, reporter))?;
        reporter.event(Event::Log(format!("calibrate: {} estimated-vs-measured samples in {}", done.samples, done.samples_file.display())));
        for note in done.note.iter().chain(&done.energy_note) {
            reporter.event(Event::Log(format!("calibrate: {note}")));
        }
        Some(done)
    } else {
        None
    };
    let calibration_samples = calibration.as_ref().map(|c| c.samples_file.clone());
    let outcome = PipelineOutcome {
        name: cfg.name.clone(),
        pipeline: cfg.path.clone(),
        out: paths.run_dir.clone(),
        output_folder: paths.root.clone(),
        db: db.clone(),
        stages: runner.into_records(),
        train,
        search,
        candidates,
        synth,
        switching: measured_energy,
        calibration_samples,
        calibration,
        wall_seconds: started.elapsed().as_secs_f64(),
    };
    summary::write_summary(&outcome, db)?;
    Ok(outcome)
}
