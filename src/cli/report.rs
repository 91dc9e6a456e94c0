//! `qforge report PATH... [--json | --csv]`: parse report files or whole
//! project folders and present the records. A human table by default,
//! `--json` one object `{"reports": [...], "errors": [...]}` on stdout,
//! `--csv` a flat table for spreadsheets. Every row names the file its
//! numbers came from. Errors go to stderr; good inputs still report.
//! Exit: 0 all parsed, CHECK_FAILED some failed, BAD_INPUT nothing parsed.
use super::exit_codes::{BAD_INPUT, CHECK_FAILED};
use crate::error::Error;
use crate::reports::{scan_paths, ParsedReport};
use clap::Args;
use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Report files or project folders (searched for reports by name).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Print one JSON object with every record and every error.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print a flat CSV table, one row per report.
    #[arg(long)]
    pub csv: bool,
}

pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let scan = scan_paths(&args.paths);
    let records: Vec<Value> = scan.reports.iter().map(ParsedReport::to_json).collect();
    for err in &scan.errors {
        eprintln!("error: {err}");
    }
    if args.json {
        let errors: Vec<Value> = scan.errors.iter().map(error_json).collect();
        super::print_json(&json!({ "reports": records, "errors": errors }))?;
    } else if args.csv {
        print_csv(&records)?;
    } else {
        print_tables(&records)?;
    }
    Ok(match (scan.reports.is_empty(), scan.errors.is_empty()) {
        (_, true) => ExitCode::SUCCESS,
        (false, false) => ExitCode::from(CHECK_FAILED),
        (true, false) => ExitCode::from(BAD_INPUT),
    })
}

fn error_json(err: &Error) -> Value {
    match err {
        Error::Input { path, line, field, message } => {
            json!({ "file": path, "line": line, "field": field, "error": message, "message": err.to_string() })
        }
        Error::Io { path, source } => json!({ "file": path, "error": source.to_string(), "message": err.to_string() }),
        other => json!({ "file": null, "error": other.to_string(), "message": other.to_string() }),
    }
}

/// CSV columns: every scalar a record may hold, `available` flattened.
const CSV_COLUMNS: &[&str] = &[
    "source_file",
    "tool",
    "tool_version",
    "part",
    "top",
    "stage",
    "clock_target_ns",
    "clock_uncertainty_ns",
    "clock_estimated_ns",
    "clock_achieved_ns",
    "clock_ns",
    "latency_best_cycles",
    "latency_avg_cycles",
    "latency_worst_cycles",
    "latency_cycles",
    "latency_best_ns",
    "latency_avg_ns",
    "latency_worst_ns",
    "interval_min_cycles",
    "interval_max_cycles",
    "lut",
    "ff",
    "dsp",
    "bram_18k",
    "bram_tile",
    "bram",
    "uram",
    "clb",
    "slice",
    "srl",
    "carry",
    "available.lut",
    "available.ff",
    "available.dsp",
    "available.bram_18k",
    "available.bram_tile",
    "available.bram",
    "available.uram",
    "total_power_w",
    "dynamic_power_w",
    "static_power_w",
    "junction_temp_c",
    "confidence",
];

fn field(record: &Value, key: &str) -> String {
    let value = match key.split_once('.') {
        Some((outer, inner)) => record.get(outer).and_then(|o| o.get(inner)),
        None => record.get(key),
    };
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    }
}

fn csv_escape(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn print_csv(records: &[Value]) -> anyhow::Result<()> {
    outln!("{}", CSV_COLUMNS.iter().map(|c| c.replace('.', "_")).collect::<Vec<_>>().join(","));
    for r in records {
        let row: Vec<String> = CSV_COLUMNS.iter().map(|c| csv_escape(&field(r, c))).collect();
        outln!("{}", row.join(","));
    }
    Ok(())
}

const SYNTH_TABLE: &[(&str, &str)] = &[
    ("tool", "tool"),
    ("version", "tool_version"),
    ("part", "part"),
    ("top", "top"),
    ("stage", "stage"),
    ("target ns", "clock_target_ns"),
    ("est ns", "clock_estimated_ns"),
    ("lat best", "latency_best_cycles"),
    ("lat worst", "latency_worst_cycles"),
    ("II min", "interval_min_cycles"),
    ("LUT", "lut"),
    ("FF", "ff"),
    ("DSP", "dsp"),
    ("BRAM18K", "bram_18k"),
    ("BRAM tile", "bram_tile"),
    ("URAM", "uram"),
    ("file", "source_file"),
];

const POWER_TABLE: &[(&str, &str)] = &[
    ("version", "tool_version"),
    ("part", "part"),
    ("top", "top"),
    ("total W", "total_power_w"),
    ("dynamic W", "dynamic_power_w"),
    ("static W", "static_power_w"),
    ("Tj C", "junction_temp_c"),
    ("confidence", "confidence"),
    ("clock ns", "clock_ns"),
    ("file", "source_file"),
];

fn print_tables(records: &[Value]) -> anyhow::Result<()> {
    let (power, synth): (Vec<&Value>, Vec<&Value>) =
        records.iter().partition(|r| r.get("tool").and_then(Value::as_str) == Some("vivado_power"));
    let mut out = Vec::new();
    if !synth.is_empty() {
        print_table(&mut out, SYNTH_TABLE, &synth)?;
    }
    if !power.is_empty() {
        if !synth.is_empty() {
            writeln!(out)?;
        }
        print_table(&mut out, POWER_TABLE, &power)?;
    }
    let text = String::from_utf8_lossy(&out);
    if let Some(body) = text.strip_suffix('\n') {
        outln!("{body}");
    }
    Ok(())
}

/// Aligned columns; `-` marks a number the report does not state.
fn print_table(out: &mut impl Write, columns: &[(&str, &str)], records: &[&Value]) -> std::io::Result<()> {
    let cells: Vec<Vec<String>> = records
        .iter()
        .map(|r| columns.iter().map(|(_, k)| Some(field(r, k)).filter(|s| !s.is_empty()).unwrap_or("-".into())).collect())
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, (h, _))| cells.iter().map(|row| row[i].chars().count()).chain([h.len()]).max().unwrap_or(0))
        .collect();
    let line = |items: Vec<&str>| -> String {
        items.iter().zip(&widths).map(|(s, w)| format!("{s:<w$}")).collect::<Vec<_>>().join("  ").trim_end().to_string()
    };
    writeln!(out, "{}", line(columns.iter().map(|(h, _)| *h).collect()))?;
    for row in &cells {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}
