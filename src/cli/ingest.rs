//! `qforge ingest DIR`: import the reports of runs made outside qforge (a
//! folder of Vivado/HLS projects) into the history, one run per project
//! folder. Re-ingesting adds nothing twice. `--json`: one object
//! `{"db", "runs": [...], "added", "already_stored", "errors": [...]}`.
//! Exit: 0 all good, CHECK_FAILED when some reports could not be read (the
//! good ones are stored), BAD_INPUT when DIR is not a folder of reports.
use super::exit_codes::CHECK_FAILED;
use super::history::DbArgs;
use crate::store::{ingest_dir, Store};
use clap::Args;
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct IngestArgs {
    /// Folder of tool runs (searched for reports by name).
    pub dir: PathBuf,
    #[command(flatten)]
    pub db: DbArgs,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: IngestArgs) -> anyhow::Result<ExitCode> {
    if !args.dir.is_dir() {
        return Err(crate::error::Error::input(&args.dir, "not a folder (qforge ingest takes a folder of tool runs)").into());
    }
    let mut store = Store::open(&args.db.db)?;
    let reporter = super::CliReporter::new(args.json);
    let summary = ingest_dir(&mut store, &args.dir, &reporter)?;
    drop(reporter);
    for err in &summary.errors {
        eprintln!("error: {}", err.message);
    }
    if args.json {
        super::print_json(&json!({
            "db": store.path(),
            "runs": summary.runs,
            "added": summary.added(),
            "already_stored": summary.already_stored(),
            "errors": summary.errors,
        }))?;
    } else {
        for r in &summary.runs {
            let run = r.run_id.map_or("-".to_string(), |id| id.to_string());
            outln!("run {run:>5}  +{:<3} ({} already stored)  {}", r.added, r.already_stored, r.folder.display());
        }
        outln!(
            "{} report(s) added, {} already stored, {} error(s) -> {}",
            summary.added(),
            summary.already_stored(),
            summary.errors.len(),
            store.path().display()
        );
    }
    Ok(if summary.errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(CHECK_FAILED) })
}
