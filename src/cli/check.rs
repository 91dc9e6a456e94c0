//! `qforge check --budget budget.toml [--junit out.xml] RUN_OR_REPORT...`:
//! the budget gate. Each argument is a run id in the history, a report file,
//! or a folder (one design per project folder in it). Prints one line per
//! (design, quantity), or with `--json` one object `{"budget", "designs",
//! "verdicts", "passed", "failed"}`; `--junit` writes JUnit XML for CI.
//! A run's latency is judged from its reports, else from the latency the
//! history stores with it (an RTL design's cycles, × its target clock for
//! budgets in ns).
//! Exit: 0 all within budget, CHECK_FAILED when any quantity exceeds its
//! budget or is not stated, BAD_INPUT for a bad budget file or argument.
use super::exit_codes::CHECK_FAILED;
use super::history::DbArgs;
use crate::budget::{self, Budget, Design, DesignLatency, Verdict};
use crate::error::Error;
use crate::reports::{find_reports, parse_file, ParsedReport};
use crate::store::{project_root, RunId, Store};
use clap::Args;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Budget file: a `[budget]` table with part, lut, ff, dsp, bram_18k, uram,
    /// latency_cycles, latency_ns and *_percent limits.
    #[arg(long)]
    pub budget: PathBuf,
    /// Write JUnit XML here (one testcase per design and quantity).
    #[arg(long)]
    pub junit: Option<PathBuf>,
    #[command(flatten)]
    pub db: DbArgs,
    /// The part of designs whose reports state none (e.g. Yosys or Bambu
    /// reports given as files); the store knows it for runs.
    #[arg(long)]
    pub part: Option<String>,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Run ids in the history, report files, or folders of reports.
    #[arg(required = true, value_name = "RUN_OR_REPORT")]
    pub targets: Vec<String>,
}

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let budget = Budget::from_file(&args.budget)?;
    let mut designs = resolve_targets(&args.targets, &args.db.db)?;
    if let Some(part) = &args.part {
        for d in designs.iter_mut().filter(|d| d.part.is_none()) {
            d.part = Some(part.clone());
        }
    }
    let verdicts: Vec<Verdict> = designs.iter().flat_map(|d| budget::check(&budget, d)).collect();
    let failed = verdicts.iter().filter(|v| !v.passed()).count();
    if let Some(path) = &args.junit {
        let xml = budget::junit::render(&args.budget.display().to_string(), &verdicts);
        crate::error::write_atomic(path, xml.as_bytes())?;
    }
    if args.json {
        super::print_json(&json!({
            "budget": args.budget,
            "designs": designs.iter().map(|d| &d.name).collect::<Vec<_>>(),
            "verdicts": verdicts,
            "passed": verdicts.len() - failed,
            "failed": failed,
        }))?;
    } else {
        for v in &verdicts {
            let mark = match v.outcome {
                budget::Outcome::Within => "ok  ",
                budget::Outcome::Exceeded => "FAIL",
                budget::Outcome::NotStated => "FAIL",
            };
            outln!("{mark}  {}  {}", v.design, v.message);
        }
        outln!("{} within budget, {failed} failed", verdicts.len() - failed);
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(CHECK_FAILED) })
}

/// Turn each argument into designs: an existing path is a report file or a
/// folder; otherwise a whole number is a run id in the history.
fn resolve_targets(targets: &[String], db: &Path) -> crate::error::Result<Vec<Design>> {
    let mut designs = Vec::new();
    let mut store: Option<Store> = None;
    for target in targets {
        let path = Path::new(target);
        if path.is_dir() {
            designs.extend(designs_in_folder(path)?);
        } else if path.is_file() {
            let report = parse_file(path)?;
            designs.push(Design { name: target.clone(), reports: vec![report], part: None, latency: None });
        } else if let Ok(id) = target.parse::<i64>() {
            if store.is_none() {
                if !db.exists() {
                    return Err(Error::input(db, format!("run {id}: no history database here (give --db or QFORGE_DB)")));
                }
                store = Some(Store::open(db)?);
            }
            let store = store.as_ref().expect("opened above");
            let run = store.run(RunId(id))?.ok_or_else(|| Error::input(db, format!("no run {id} in the history")))?;
            let reports = store.reports(run.id)?;
            let label = run.run_dir.as_ref().map_or(String::new(), |d| format!(" ({})", d.display()));
            // An RTL design's latency is the run's (its synthesis reports state none).
            let latency = run.design_latency_cycles.map(|cycles| DesignLatency {
                cycles: cycles as u64,
                clock_ns: run.clock_ns,
                source: run.design_latency_source.clone().unwrap_or_else(|| "the history".into()),
            });
            designs.push(Design { name: format!("run {id}{label}"), reports, part: run.part.clone(), latency });
        } else {
            return Err(Error::input(path, "neither a report file, a folder nor a run id"));
        }
    }
    Ok(designs)
}

/// One design per project folder under `dir`. A report that does not parse
/// is bad input: a gate must not pass on a partial reading.
fn designs_in_folder(dir: &Path) -> crate::error::Result<Vec<Design>> {
    let files = find_reports(dir)?;
    if files.is_empty() {
        return Err(Error::input(dir, "folder holds no synthesis, utilisation or power reports"));
    }
    let mut groups: BTreeMap<PathBuf, Vec<ParsedReport>> = BTreeMap::new();
    for file in files {
        let report = parse_file(&file)?;
        groups.entry(project_root(dir, &file)).or_default().push(report);
    }
    Ok(groups
        .into_iter()
        .map(|(folder, reports)| Design { name: folder.display().to_string(), reports, part: None, latency: None })
        .collect())
}
