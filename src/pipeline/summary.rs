//! The run's summary, in the run folder: `summary.json` (for machines),
//! `summary.md` and `summary.html` (tables) and SVG plots written by hand:
//! `accuracy_vs_cost.svg` (the search's trials with the Pareto front, drawn by
//! [`crate::search::plot`]), `est_vs_meas_<resource>.svg` (estimated against
//! measured LUT, FF, DSP per candidate, with the y = x line) and
//! `trend_<candidate>.svg` (a design's measured LUT and FF over past runs in
//! the history database), `energy_refit.svg` (measured against estimated
//! energy per model of the history, before and after the refit) and the
//! estimated-vs-measured table with errors ([`super::comparison`]).
use super::PipelineOutcome;
use crate::error::Result;
use crate::store::{RunFilter, RunKind, RunStatus, Store};
use crate::svg::{escape, Frame};
use std::fmt::Write as _;
use std::path::Path;

fn opt(v: Option<u64>) -> String {
    v.map_or("–".into(), |v| v.to_string())
}

/// One point of a design's history: run id, time, measured LUT and FF.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrendPoint {
    pub run_id: i64,
    pub started_at: String,
    pub lut: Option<i64>,
    pub ff: Option<i64>,
}

/// The candidate's successful synth runs in the history, oldest first.
pub fn trend(store: &Store, model_name: &str, model_hash: &str) -> Result<Vec<TrendPoint>> {
    let runs = store.query(&RunFilter {
        model_name: Some(model_name.to_string()),
        kind: Some(RunKind::Synth),
        status: Some(RunStatus::Ok),
        ..RunFilter::default()
    })?;
    let mut points: Vec<TrendPoint> = runs
        .iter()
        .filter(|r| r.model_hash.as_deref() == Some(model_hash))
        .map(|r| {
            let m = r.measurements.first();
            TrendPoint { run_id: r.id.0, started_at: r.started_at.clone(), lut: m.and_then(|m| m.lut), ff: m.and_then(|m| m.ff) }
        })
        .collect();
    points.sort_by_key(|p| p.run_id);
    Ok(points)
}

/// Estimated (x) against measured (y) for one resource, with y = x.
pub fn scatter_svg(resource: &str, points: &[(String, f64, f64)]) -> String {
    let (w, h, m) = (420.0, 420.0, 60.0);
    let hi = points.iter().flat_map(|p| [p.1, p.2]).fold(1.0f64, f64::max) * 1.1;
    let px = |v: f64| m + v / hi * (w - 2.0 * m);
    let py = |v: f64| h - m - v / hi * (h - 2.0 * m);
    let mut s = Frame::square_margins(w, h, m).open(&format!("{resource}: estimated vs measured"));
    let _ = writeln!(
        s,
        r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#999" stroke-dasharray="4 3"/>"##,
        px(0.0),
        py(0.0),
        px(hi),
        py(hi)
    );
    for frac in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let v = frac * hi;
        let _ = writeln!(s, r#"<text x="{:.1}" y="{}" text-anchor="middle">{:.0}</text>"#, px(v), h - m + 16.0, v);
        let _ = writeln!(s, r#"<text x="{}" y="{:.1}" text-anchor="end">{:.0}</text>"#, m - 6.0, py(v) + 4.0, v);
    }
    let _ = writeln!(s, r#"<text x="{}" y="{}" text-anchor="middle">estimated {}</text>"#, w / 2.0, h - 18.0, escape(resource));
    let _ = writeln!(
        s,
        r#"<text x="16" y="{}" text-anchor="middle" transform="rotate(-90 16 {})">measured {} (Yosys)</text>"#,
        h / 2.0,
        h / 2.0,
        escape(resource)
    );
    for (name, est, meas) in points {
        let _ = writeln!(
            s,
            r##"<circle cx="{:.1}" cy="{:.1}" r="4.5" fill="#c0392b"><title>{}: estimated {est:.0}, measured {meas:.0}</title></circle>"##,
            px(*est),
            py(*meas),
            escape(name)
        );
        let _ = writeln!(s, r#"<text x="{:.1}" y="{:.1}">{}</text>"#, px(*est) + 6.0, py(*meas) - 6.0, escape(name));
    }
    s.push_str("</svg>\n");
    s
}

/// Measured LUT and FF of one design over its runs.
pub fn trend_svg(title: &str, points: &[TrendPoint]) -> String {
    let (w, h, m) = (520.0, 320.0, 60.0);
    let hi = points.iter().flat_map(|p| [p.lut, p.ff]).flatten().fold(1, i64::max) as f64 * 1.1;
    let n = points.len().max(2) as f64;
    let px = |i: usize| m + i as f64 / (n - 1.0) * (w - 2.0 * m);
    let py = |v: f64| h - m - v / hi * (h - 2.0 * m);
    let mut s = Frame::square_margins(w, h, m).open(title);
    for frac in [0.0, 0.5, 1.0] {
        let _ = writeln!(s, r#"<text x="{}" y="{:.1}" text-anchor="end">{:.0}</text>"#, m - 6.0, py(frac * hi) + 4.0, frac * hi);
    }
    let _ = writeln!(s, r#"<text x="{}" y="{}" text-anchor="middle">run (history database id)</text>"#, w / 2.0, h - 18.0);
    for (series, color, get) in
        [("LUT", "#2c7fb8", (|p: &TrendPoint| p.lut) as fn(&TrendPoint) -> Option<i64>), ("FF", "#d95f0e", |p: &TrendPoint| p.ff)]
    {
        let pts: Vec<String> =
            points.iter().enumerate().filter_map(|(i, p)| get(p).map(|v| format!("{:.1},{:.1}", px(i), py(v as f64)))).collect();
        let _ = writeln!(s, r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"/>"#, pts.join(" "));
        for (i, p) in points.iter().enumerate() {
            if let Some(v) = get(p) {
                let _ = writeln!(
                    s,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{color}"><title>run {}: {series} {v}</title></circle>"#,
                    px(i),
                    py(v as f64),
                    p.run_id
                );
            }
        }
        let y = if series == "LUT" { 44.0 } else { 60.0 };
        let _ = writeln!(s, r#"<text x="{}" y="{y}" fill="{color}">{series}</text>"#, w - m - 30.0);
    }
    for (i, p) in points.iter().enumerate() {
        let _ = writeln!(s, r#"<text x="{:.1}" y="{}" text-anchor="middle">#{}</text>"#, px(i), h - m + 16.0, p.run_id);
    }
    s.push_str("</svg>\n");
    s
}

/// Write summary.json, summary.md, summary.html and the plots into the run folder.
pub fn write_summary(o: &PipelineOutcome, db: &Path) -> Result<serde_json::Value> {
    let out = &o.out;
    let write = |name: &str, text: &str| crate::error::write_atomic(&out.join(name), text.as_bytes());
    let mut plots: Vec<String> = Vec::new();

    if let Some(s) = &o.search {
        let points: Vec<crate::search::plot::PlotPoint> =
            s.trials.iter().map(|t| crate::search::plot::PlotPoint { id: t.id, accuracy: t.accuracy, cost: t.cost }).collect();
        let front: Vec<usize> = s.pareto.iter().filter_map(|id| s.trials.iter().position(|t| t.id == *id)).collect();
        let best = s.best.and_then(|b| s.trials.iter().position(|t| t.id == b));
        let title = format!("{}: accuracy vs estimated cost ({} trials)", o.name, s.trials.len());
        let label = if s.goal == "bits" { "model size (bits)" } else { "estimated energy per inference (pJ)" };
        let svg = crate::search::plot::render(&crate::search::plot::Plot {
            title: &title,
            cost_label: label,
            points: &points,
            front: &front,
            best,
            reference: Some((s.reference_accuracy, s.reference_cost)),
        });
        write("accuracy_vs_cost.svg", &svg)?;
        plots.push("accuracy_vs_cost.svg".into());
    }

    type Get = fn(&super::stages::Numbers) -> Option<u64>;
    let resources: [(&str, Get); 3] = [("LUT", |n| n.lut), ("FF", |n| n.ff), ("DSP", |n| n.dsp)];
    for (resource, get) in resources {
        let pts: Vec<(String, f64, f64)> = o
            .candidates
            .iter()
            .zip(&o.synth)
            .filter_map(|(c, s)| Some((c.name.clone(), get(&c.estimate)? as f64, get(s.measured.as_ref()?)? as f64)))
            .collect();
        let file = format!("est_vs_meas_{}.svg", resource.to_lowercase());
        write(&file, &scatter_svg(resource, &pts))?;
        plots.push(file);
    }

    if let Some(e) = o.calibration.as_ref().and_then(|c| c.energy.as_ref()).filter(|e| !e.points.is_empty()) {
        let title = format!("switching energy per inference: {} measured models", e.points.len());
        write("energy_refit.svg", &crate::calibrate::energy_plot::scatter_svg(&e.points, &title))?;
        plots.push("energy_refit.svg".into());
    }

    let store = Store::open(db)?;
    let mut trends = serde_json::Map::new();
    for c in &o.candidates {
        let points = trend(&store, &c.model_name, &c.model_hash)?;
        let file = format!("trend_{}.svg", c.name);
        write(&file, &trend_svg(&format!("{} ({}): measured over runs", c.name, c.model_hash), &points))?;
        plots.push(file);
        trends.insert(c.name.clone(), serde_json::to_value(&points).expect("serializes"));
    }

    let candidates: Vec<serde_json::Value> = o
        .candidates
        .iter()
        .zip(&o.synth)
        .map(|(c, s)| {
            serde_json::json!({
                "name": c.name,
                "source": c.source,
                "model": c.model,
                "model_name": c.model_name,
                "model_hash": c.model_hash,
                "accuracy": c.accuracy,
                "cost": c.cost,
                "quantizers": c.quantizers,
                "estimated": c.estimate,
                "measured": s.measured,
                "status": s.status,
                "job_state": s.job_state,
                "reason": s.reason,
                "synth_seconds": s.elapsed_secs,
                "executor": s.executor,
                "job_id": s.external_id,
                "node": s.node,
                "tool_version": s.tool_version,
                "report": s.report,
                "log": s.log,
                "run_id": s.run_id,
                "rtl_dir": c.rtl_dir,
            })
        })
        .collect();
    let summary = serde_json::json!({
        "name": o.name,
        "pipeline": o.pipeline,
        "out": o.out,
        "history_db": db,
        "wall_seconds": o.wall_seconds,
        "stages": o.stages,
        "skipped": o.skipped(),
        "train": o.train,
        "search": o.search.as_ref().map(|s| serde_json::json!({
            "out": s.out, "trials": s.trials.len(), "best": s.best, "pareto": s.pareto,
            "reference_accuracy": s.reference_accuracy, "reference_cost": s.reference_cost, "goal": s.goal,
        })),
        "candidates": candidates,
        "synthesized_ok": o.synth.iter().filter(|s| s.status == "ok").count(),
        "synthesis_failed": o.synth.iter().filter(|s| s.status != "ok").count(),
        "compared": super::comparison::compare(o).into_iter().map(|(name, row)| {
            let mut m = serde_json::Map::new();
            m.insert("name".into(), name.into());
            for (q, c) in super::comparison::QUANTITIES.iter().zip(row) {
                m.insert((*q).into(), serde_json::to_value(c).expect("serializes"));
            }
            serde_json::Value::Object(m)
        }).collect::<Vec<_>>(),
        "switching": o.switching,
        "calibration_samples": o.calibration_samples,
        "calibration": o.calibration,
        "trend": trends,
        "plots": plots,
    });
    write("summary.json", &serde_json::to_string_pretty(&summary).expect("serializes"))?;
    write("summary.md", &markdown(o, &plots))?;
    write("summary.html", &html(o, &plots))?;
    Ok(summary)
}

fn rows(o: &PipelineOutcome) -> Vec<Vec<String>> {
    o.candidates
        .iter()
        .zip(&o.synth)
        .map(|(c, s)| {
            let m = s.measured.clone().unwrap_or_default();
            vec![
                c.name.clone(),
                c.source.clone(),
                c.accuracy.map_or("–".into(), |a| format!("{:.2}%", 100.0 * a)),
                opt(c.estimate.lut),
                opt(m.lut),
                opt(c.estimate.ff),
                opt(m.ff),
                opt(c.estimate.dsp),
                opt(m.dsp),
                opt(c.estimate.latency_cycles),
                opt(m.latency_cycles),
                format!("{} ({})", s.status, s.job_state),
                s.elapsed_secs.map_or("–".into(), |t| format!("{t:.0}")),
            ]
        })
        .collect()
}

const HEADER: [&str; 13] = [
    "candidate",
    "from",
    "accuracy",
    "LUT est",
    "LUT meas",
    "FF est",
    "FF meas",
    "DSP est",
    "DSP meas",
    "latency est",
    "latency (design)",
    "synthesis",
    "seconds",
];

fn markdown(o: &PipelineOutcome, plots: &[String]) -> String {
    let mut s = format!("# qforge run `{}`\n\n", o.name);
    let _ = writeln!(
        s,
        "Wall time {:.0} s. Baseline `{}`: fixed-point accuracy {:.2}% (float {:.2}%).\n",
        o.wall_seconds,
        o.train.model_name,
        100.0 * o.train.fixed_accuracy,
        100.0 * o.train.float_accuracy
    );
    s.push_str("## Stages\n\n| stage | hash | skipped | seconds |\n|---|---|---|---|\n");
    for st in &o.stages {
        let _ = writeln!(s, "| {} | {} | {} | {:.1} |", st.stage, st.hash, if st.skipped { "yes" } else { "no" }, st.seconds);
    }
    s.push_str("\n## Candidates (estimated vs measured with Yosys)\n\n|");
    for h in HEADER {
        let _ = write!(s, " {h} |");
    }
    s.push_str("\n|");
    s.push_str(&"---|".repeat(HEADER.len()));
    s.push('\n');
    for r in rows(o) {
        let _ = writeln!(s, "| {} |", r.join(" | "));
    }
    for (c, r) in o.candidates.iter().zip(&o.synth) {
        if let Some(why) = &r.reason {
            if r.status != "ok" {
                let _ = writeln!(s, "\n`{}` failed: {}", c.name, why);
            }
        }
    }
    s.push_str("\n## Estimated vs measured\n\nMeasured: Yosys (LUT, FF, DSP), the design's register stages (latency), the gate-level switching simulation of the mapped netlist (energy of the dense layers); error = (est − meas) / meas.\n\n");
    s.push_str(&super::comparison::markdown_table(o));
    s.push_str("\nGate-level simulation of each mapped netlist against the fixed-point model, bit for bit:\n\n");
    s.push_str(&super::comparison::switching_table(&o.switching));
    s.push_str("\n## Calibration\n\n");
    s.push_str(&calibration_text(o));
    s.push_str(&super::comparison::refit_text(o));
    s.push_str("\n## Plots\n\n");
    for p in plots {
        let _ = writeln!(s, "![{p}]({p})\n");
    }
    s
}

/// What the calibration stage did, in one paragraph and a table of errors.
fn calibration_text(o: &PipelineOutcome) -> String {
    let Some(c) = &o.calibration else { return "Calibration is disabled in the pipeline file.\n".into() };
    let pct = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.1} %"));
    let mut s = format!("{} estimated-vs-measured pairs from this run; {} measured runs in the history.\n", c.samples, c.history_samples);
    if let Some(file) = &c.calibration_file {
        let _ = writeln!(s, "Refitted `{}` (the next run's search and estimates use it).\n", file.display());
        s.push_str("| quantity | MAPE before | MAPE after (held out) |\n|---|---|---|\n");
        for (q, before, after) in &c.errors {
            let _ = writeln!(s, "| {q} | {} | {} |", pct(*before), pct(*after));
        }
    }
    if let Some(note) = &c.note {
        let _ = writeln!(s, "{note}");
    }
    s
}

/// A Markdown table's rows (its `| … |` lines but the `|---|` rule) as an HTML table.
fn html_table(markdown: &str) -> String {
    let mut s = String::from("<table>\n");
    for line in markdown.lines().filter(|l| l.starts_with("| ")) {
        s.push_str("<tr>");
        for cell in line.trim_matches('|').split(" | ") {
            let _ = write!(s, "<td>{}</td>", escape(cell.trim()));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</table>\n");
    s
}

fn html(o: &PipelineOutcome, plots: &[String]) -> String {
    let mut s = String::from("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>qforge run</title>\n<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}</style></head><body>\n");
    let _ = writeln!(s, "<h1>qforge run <code>{}</code></h1>", escape(&o.name));
    let _ = writeln!(
        s,
        "<p>Wall time {:.0} s. Baseline <code>{}</code>: fixed-point accuracy {:.2}% (float {:.2}%).</p>",
        o.wall_seconds,
        escape(&o.train.model_name),
        100.0 * o.train.fixed_accuracy,
        100.0 * o.train.float_accuracy
    );
    s.push_str("<h2>Stages</h2>\n<table><tr><th>stage</th><th>hash</th><th>skipped</th><th>seconds</th></tr>\n");
    for st in &o.stages {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td></tr>",
            st.stage,
            st.hash,
            if st.skipped { "yes" } else { "no" },
            st.seconds
        );
    }
    s.push_str("</table>\n<h2>Candidates</h2>\n<table><tr>");
    for h in HEADER {
        let _ = write!(s, "<th>{h}</th>");
    }
    s.push_str("</tr>\n");
    for r in rows(o) {
        s.push_str("<tr>");
        for cell in r {
            let _ = write!(s, "<td>{}</td>", escape(&cell));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</table>\n<h2>Estimated vs measured</h2>\n");
    s.push_str(&html_table(&super::comparison::markdown_table(o)));
    s.push_str("<h2>Gate-level check</h2>\n");
    s.push_str(&html_table(&super::comparison::switching_table(&o.switching)));
    s.push_str("<h2>Calibration</h2>\n");
    for line in
        calibration_text(o).lines().chain(super::comparison::refit_text(o).lines()).filter(|l| !l.is_empty() && !l.starts_with("|---"))
    {
        let _ = writeln!(s, "<p>{}</p>", escape(line));
    }
    s.push_str("<h2>Plots</h2>\n");
    for p in plots {
        let _ = writeln!(s, "<p><img src=\"{p}\" alt=\"{p}\"></p>");
    }
    s.push_str("</body></html>\n");
    s
}
