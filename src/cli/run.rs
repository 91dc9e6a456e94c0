//! `qforge run [PIPELINE]`: the end-to-end pipeline (train → search →
//! generate → synthesize → store → calibrate → summary). Without a file it
//! runs the embedded default (the jet tagger on synthetic data through Yosys).
//!
//! Ctrl-C while synthesis jobs are supervised stops the run; what becomes of
//! its Slurm jobs follows `--on-interrupt`: `cancel` (scancel), `keep` (a
//! re-run of the same command re-attaches), or `ask` (the default: a question
//! on stderr when stdin is a terminal, keep otherwise). Ctrl-C at any other
//! moment, or a second one, ends qforge at once (exit 130).
//!
//! Everything goes into the output folder's one layout (`crate::layout`): the
//! stage cache, the history and the calibration at its root, where `qforge
//! history`, `check`, `estimate`, `search` and `calibrate` find them, and the
//! run's summary in `runs/<name>/`. A re-run gives the synthesis jobs an
//! earlier run left failed a new try (`--no-retry` keeps them).
use super::{print_json, CliReporter};
use crate::error::Error;
use crate::layout::OutputLayout;
use crate::pipeline::config::{PipelineConfig, DEFAULT_PIPELINE};
use crate::pipeline::executor::ExecutorKind;
use crate::pipeline::interrupt::{Interrupt, OnInterrupt};
use crate::pipeline::{run_pipeline, RunOptions};
use clap::Args;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Pipeline file (TOML) [default: the embedded jet example].
    pub pipeline: Option<PathBuf>,
    /// Output folder: the stage cache (stages/), history.sqlite and
    /// calibration.toml at its root, the run's summary in runs/<name>/.
    #[arg(long, default_value = crate::layout::DEFAULT_OUT)]
    pub out: PathBuf,
    /// Synthesis jobs at once (local executor), overriding `[executor] workers`.
    #[arg(long)]
    pub workers: Option<usize>,
    /// Where the synthesis jobs run, overriding `[executor] kind`.
    #[arg(long, value_parser = ["local", "slurm"])]
    pub executor: Option<String>,
    /// History database [default: OUT/history.sqlite].
    #[arg(long, env = "QFORGE_DB")]
    pub db: Option<PathBuf>,
    /// Print one JSON object (the summary) on stdout.
    #[arg(long)]
    pub json: bool,
    /// On Ctrl-C, what to do with the run's queued and running Slurm jobs:
    /// cancel them (scancel), keep them (a re-run re-attaches), or ask
    /// (keep when stdin is not a terminal).
    #[arg(long, value_parser = ["cancel", "keep", "ask"], default_value = "ask")]
    pub on_interrupt: String,
    /// Keep the synthesis jobs an earlier run left failed (by default a re-run tries them again).
    #[arg(long)]
    pub no_retry: bool,
}

/// The answer to "cancel the jobs?" for `--on-interrupt`.
fn decide(mode: OnInterrupt, n: usize, executor: &str) -> bool {
    let what = format!("{n} queued/running {} jobs of this run", if executor == "slurm" { "Slurm" } else { executor });
    match mode {
        OnInterrupt::Cancel => {
            eprintln!("--on-interrupt cancel: cancelling {what}");
            true
        }
        OnInterrupt::Keep => {
            eprintln!("--on-interrupt keep: keeping {what}; the same command re-attaches to them");
            false
        }
        OnInterrupt::Ask if !std::io::stdin().is_terminal() => {
            eprintln!(
                "stdin is not a terminal, so not asking: keeping {what}; the same command re-attaches to them \
                 (--on-interrupt cancel cancels them instead)"
            );
            false
        }
        OnInterrupt::Ask => {
            eprint!("cancel {what}? [y/N] ");
            let _ = std::io::stderr().flush();
            let mut answer = String::new();
            let yes = std::io::stdin().lock().read_line(&mut answer).is_ok()
                && matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes");
            if !yes {
                eprintln!("keeping them; the same command re-attaches to them");
            }
            yes
        }
    }
}

/// Handle SIGINT on a thread of its own (signal-hook): the first one while
/// jobs are supervised asks the stage to stop; any other ends qforge.
fn install_interrupt_handler(interrupt: Arc<Interrupt>) -> anyhow::Result<()> {
    let mut signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGINT])?;
    std::thread::spawn(move || {
        for _ in signals.forever() {
            if interrupt.request() {
                eprintln!("\ninterrupted: stopping the run (Ctrl-C again ends qforge at once and keeps the jobs)");
            } else {
                eprintln!("\ninterrupted");
                std::process::exit(crate::cli::exit_codes::INTERRUPTED.into());
            }
        }
    });
    Ok(())
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let mut cfg = match &args.pipeline {
        Some(path) => PipelineConfig::from_file(path)?,
        None => {
            let name = PipelineConfig::from_toml(DEFAULT_PIPELINE, Path::new("pipeline.toml"))?.name;
            PipelineConfig::embedded_default(&OutputLayout::new(&args.out).run_dir(&name).join("inputs"))?
        }
    };
    if let Some(kind) = &args.executor {
        cfg.executor.kind = kind.parse::<ExecutorKind>()?;
    }
    if let Some(n) = args.workers {
        if n == 0 {
            return Err(Error::Config("--workers must be at least 1".into()).into());
        }
        cfg.executor.workers = Some(n);
    }
    let mode: OnInterrupt = args.on_interrupt.parse()?;
    let interrupt = Arc::new(Interrupt::new(move |n, executor| decide(mode, n, executor)));
    install_interrupt_handler(Arc::clone(&interrupt))?;
    let reporter = CliReporter::new(args.json);
    eprintln!("qforge run `{}` ({}) into {}", cfg.name, cfg.path.display(), args.out.display());
    let opts = RunOptions { out: args.out.clone(), db: args.db.clone(), interrupt: Some(interrupt), retry_failed: !args.no_retry };
    let outcome = run_pipeline(&cfg, &opts, &reporter)?;
    if args.json {
        let text = crate::error::read_to_string(&outcome.out.join("summary.json"))?;
        print_json(&serde_json::from_str(&text)?)?;
    } else {
        outln!("{} stages ({} skipped) in {:.0} s", outcome.stages.len(), outcome.skipped().len(), outcome.wall_seconds);
        for (c, s) in outcome.candidates.iter().zip(&outcome.synth) {
            let m = s.measured.clone().unwrap_or_default();
            outln!(
                "  {:<10} {:<8} accuracy {:>6}  LUT est {:>6} meas {:>6}  FF est {:>6} meas {:>6}  {} ({})",
                c.name,
                c.source,
                c.accuracy.map_or("–".into(), |a| format!("{:.2}%", 100.0 * a)),
                c.estimate.lut.map_or("–".into(), |v| v.to_string()),
                m.lut.map_or("–".into(), |v| v.to_string()),
                c.estimate.ff.map_or("–".into(), |v| v.to_string()),
                m.ff.map_or("–".into(), |v| v.to_string()),
                s.status,
                s.job_state
            );
        }
        outln!("summary: {}", outcome.out.join("summary.md").display());
    }
    Ok(ExitCode::SUCCESS)
}
