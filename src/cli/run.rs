//! `qforge run [PIPELINE]`: the end-to-end pipeline (train → search →
//! generate → synthesize → store → calibrate → summary). Without a file it
//! runs the embedded default (the jet tagger on synthetic data through Yosys).
use super::{print_json, CliReporter};
use crate::error::Error;
use crate::pipeline::config::PipelineConfig;
use crate::pipeline::executor::ExecutorKind;
use crate::pipeline::{run_pipeline, RunOptions};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Pipeline file (TOML) [default: the embedded jet example].
    pub pipeline: Option<PathBuf>,
    /// Run folder: stages/, history.sqlite, summary.md/html/json.
    #[arg(long, default_value = "qforge-out/run")]
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
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let mut cfg = match &args.pipeline {
        Some(path) => PipelineConfig::from_file(path)?,
        None => PipelineConfig::embedded_default(&args.out.join("inputs"))?,
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
    let reporter = CliReporter::new(args.json);
    eprintln!("qforge run `{}` ({}) into {}", cfg.name, cfg.path.display(), args.out.display());
    let outcome = run_pipeline(&cfg, &RunOptions { out: args.out.clone(), db: args.db.clone() }, &reporter)?;
    if args.json {
        let text = crate::error::read_to_string(&outcome.out.join("summary.json"))?;
        print_json(&serde_json::from_str(&text)?)?;
    } else {
        println!("{} stages ({} skipped) in {:.0} s", outcome.stages.len(), outcome.skipped().len(), outcome.wall_seconds);
        for (c, s) in outcome.candidates.iter().zip(&outcome.synth) {
            let m = s.measured.clone().unwrap_or_default();
            println!(
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
        println!("summary: {}", outcome.out.join("summary.md").display());
    }
    Ok(ExitCode::SUCCESS)
}
