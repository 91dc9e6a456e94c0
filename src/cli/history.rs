//! `qforge history`: list the runs in the history database, filtered by tool,
//! part, status, model and start date; a table, or with `--json` one object
//! `{"db": ..., "runs": [...]}` on stdout. Also holds `--db`, shared by the
//! commands that use the history (`ingest`, `check`).
use crate::store::{RunFilter, RunRecord, RunStatus, Store, DEFAULT_DB};
use clap::Args;
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

/// Where the history database is.
#[derive(Args, Debug, Clone)]
pub struct DbArgs {
    /// History database (SQLite).
    #[arg(long, env = "QFORGE_DB", default_value = DEFAULT_DB)]
    pub db: PathBuf,
}

#[derive(Args, Debug)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Only runs of this tool (the run's or any of its reports').
    #[arg(long)]
    pub tool: Option<String>,
    /// Only runs for this part (case-insensitive).
    #[arg(long)]
    pub part: Option<String>,
    /// Only runs with this status.
    #[arg(long, value_parser = ["running", "ok", "failed"])]
    pub status: Option<String>,
    /// Only runs of this model.
    #[arg(long)]
    pub model: Option<String>,
    /// Only runs started at or after this UTC date/time (YYYY-MM-DD[THH:MM[:SS]]).
    #[arg(long)]
    pub since: Option<String>,
    /// At most this many runs, newest first.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: HistoryArgs) -> anyhow::Result<ExitCode> {
    if !args.db.db.exists() {
        return Err(crate::error::Error::input(
            &args.db.db,
            "no history database here (runs, `qforge ingest` create it; or give --db / QFORGE_DB)",
        )
        .into());
    }
    let store = Store::open(&args.db.db)?;
    let filter = RunFilter {
        tool: args.tool,
        part: args.part,
        status: args.status.as_deref().and_then(RunStatus::parse),
        model_name: args.model,
        since: args.since,
        limit: args.limit,
        ..RunFilter::default()
    };
    let runs = store.query(&filter)?;
    if args.json {
        super::print_json(&json!({ "db": store.path(), "runs": runs }))?;
    } else {
        print_table(&runs)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The headline numbers of a run: from its most authoritative report stating each.
fn best<T: Copy>(run: &RunRecord, pick: impl Fn(&crate::store::MeasurementRecord) -> Option<T>) -> Option<T> {
    let rank = |tool: &str, stage: Option<&str>| match (tool, stage) {
        ("vivado", Some("impl")) => 6,
        ("vivado", _) => 5,
        ("vivado_hls_export", _) => 4,
        ("bambu", _) => 3,
        ("vitis_hls" | "vivado_hls", _) => 2,
        ("yosys", _) => 1,
        _ => 0,
    };
    let mut ms: Vec<_> = run.measurements.iter().collect();
    ms.sort_by_key(|m| std::cmp::Reverse(rank(&m.tool, m.stage.as_deref())));
    ms.into_iter().find_map(pick)
}

fn print_table(runs: &[RunRecord]) -> std::io::Result<()> {
    let headers = [
        "id",
        "kind",
        "status",
        "started (UTC)",
        "model",
        "tool",
        "part",
        "clock",
        "LUT",
        "FF",
        "DSP",
        "BRAM18K",
        "lat",
        "power W",
        "wall s",
        "folder",
    ];
    let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            let bram = best(r, |m| m.bram_18k.map(|b| b as f64).or(m.bram_tile.map(|t| t * 2.0)));
            vec![
                r.id.to_string(),
                r.kind.as_str().into(),
                r.status.as_str().into(),
                r.started_at.get(..19).unwrap_or(&r.started_at).replace('T', " "),
                opt(r.model_name.clone()),
                opt(r.tool.clone()),
                opt(r.part.clone()),
                opt(r.clock_ns.map(|c| c.to_string())),
                opt(best(r, |m| m.lut).map(|v| v.to_string())),
                opt(best(r, |m| m.ff).map(|v| v.to_string())),
                opt(best(r, |m| m.dsp).map(|v| v.to_string())),
                opt(bram.map(|v| v.to_string())),
                opt(best(r, |m| m.latency_worst_cycles).map(|v| v.to_string())),
                opt(best(r, |m| m.total_power_w).map(|v| v.to_string())),
                opt(r.wall_seconds.map(|w| format!("{w:.1}"))),
                opt(r.run_dir.as_ref().map(|p| p.display().to_string())),
            ]
        })
        .collect();
    let widths: Vec<usize> =
        (0..headers.len()).map(|i| rows.iter().map(|r| r[i].chars().count()).chain([headers[i].len()]).max().unwrap_or(0)).collect();
    let line =
        |cells: Vec<&str>| cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect::<Vec<_>>().join("  ").trim_end().to_string();
    outln!("{}", line(headers.to_vec()));
    for row in &rows {
        outln!("{}", line(row.iter().map(String::as_str).collect()));
    }
    if runs.is_empty() {
        eprintln!("no runs match");
    }
    Ok(())
}
