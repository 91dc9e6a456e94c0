//! The summary's closing of the loop: per candidate the estimate against what
//! Yosys and the gate-level simulation measured (LUT, FF, DSP, latency,
//! energy) with the error in %, and what the calibrate stage's guarded refit
//! changed or why it kept the coefficients.
use super::PipelineOutcome;
use serde::Serialize;
use std::fmt::Write as _;

/// One quantity of one candidate: estimated, measured, error of the estimate in % of the measurement.
#[derive(Debug, Clone, Serialize)]
pub struct Compared {
    pub estimated: Option<f64>,
    pub measured: Option<f64>,
    pub error_percent: Option<f64>,
}

impl Compared {
    pub fn new(estimated: Option<f64>, measured: Option<f64>) -> Compared {
        let error_percent = match (estimated, measured) {
            (Some(e), Some(m)) if m != 0.0 => Some(100.0 * (e - m) / m),
            (Some(e), Some(m)) if e == m => Some(0.0),
            _ => None,
        };
        Compared { estimated, measured, error_percent }
    }
}

/// The quantities of the table, in column order.
pub const QUANTITIES: [&str; 5] = ["lut", "ff", "dsp", "latency_cycles", "energy_pj"];

/// Per candidate: its name and each quantity of [`QUANTITIES`].
pub fn compare(o: &PipelineOutcome) -> Vec<(String, Vec<Compared>)> {
    let f = |v: Option<u64>| v.map(|v| v as f64);
    o.candidates
        .iter()
        .zip(&o.synth)
        .map(|(c, s)| {
            let m = s.measured.clone().unwrap_or_default();
            let sw = o.switching.iter().find(|r| r.name == c.name);
            let row = vec![
                Compared::new(f(c.estimate.lut), f(m.lut)),
                Compared::new(f(c.estimate.ff), f(m.ff)),
                Compared::new(f(c.estimate.dsp), f(m.dsp)),
                Compared::new(f(c.estimate.latency_cycles), f(m.latency_cycles)),
                Compared::new(sw.map(|r| r.estimated_pj), sw.and_then(|r| r.measured_pj)),
            ];
            (c.name.clone(), row)
        })
        .collect()
}

/// The table as Markdown: est, meas, error % per quantity.
pub fn markdown_table(o: &PipelineOutcome) -> String {
    let mut s = String::from("| candidate |");
    for q in ["LUT", "FF", "DSP", "latency (cycles)", "energy (pJ/inference)"] {
        let _ = write!(s, " {q} est | {q} meas | {q} error |");
    }
    s.push_str("\n|---|");
    s.push_str(&"---|".repeat(3 * QUANTITIES.len()));
    s.push('\n');
    for (name, row) in compare(o) {
        let _ = write!(s, "| {name} |");
        for c in row {
            let _ = write!(s, " {} | {} | {} |", number(c.estimated), number(c.measured), percent(c.error_percent));
        }
        s.push('\n');
    }
    for r in o.switching.iter().filter(|r| r.status == "failed") {
        let _ = writeln!(s, "\n`{}`: no measured energy: {}", r.name, r.reason.as_deref().unwrap_or("unknown"));
    }
    s
}

/// The gate-level check of each candidate's netlist: samples simulated and
/// how many differ from the fixed-point model (Markdown table).
pub fn switching_table(results: &[super::switching::SwitchingResult]) -> String {
    let mut s = String::from("| candidate | gate-level check | samples | mismatches |\n|---|---|---|---|\n");
    for r in results {
        let mismatches = r.mismatches.map_or("–".into(), |m| m.to_string());
        let samples = if r.samples > 0 { r.samples.to_string() } else { "–".into() };
        let _ = writeln!(s, "| {} | {} | {samples} | {mismatches} |", r.name, r.status);
    }
    s
}

fn number(v: Option<f64>) -> String {
    match v {
        Some(v) if v.fract() == 0.0 => format!("{v:.0}"),
        Some(v) => format!("{v:.1}"),
        None => "–".into(),
    }
}

fn percent(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:+.1} %"))
}

/// What the guarded refit did, one line per quantity (Markdown list).
pub fn refit_text(o: &PipelineOutcome) -> String {
    let Some(c) = &o.calibration else { return String::new() };
    let err = |v: Option<f64>, kind: &str| {
        v.map_or("–".into(), |v| if kind == "mean_absolute" { format!("{v:.2}") } else { format!("{v:.1} %") })
    };
    let mut s = String::new();
    for q in &c.resources {
        let what = if q.adopted { format!("adopted ({})", method(q.method)) } else { "kept".into() };
        let _ = writeln!(
            s,
            "- {}: {what}; error before {}, held out after {}; {}",
            q.quantity.key(),
            err(q.error_before, &q.error_kind),
            err(q.error_after_cv, &q.error_kind),
            q.reason
        );
        if q.adopted {
            for (k, after) in &q.coefficients_after {
                let before = q.coefficients_before.get(k).copied().unwrap_or(0.0);
                if (after - before).abs() > 1e-12 {
                    let _ = writeln!(s, "  - `{k}`: {before:.4} → {after:.4}");
                }
            }
        }
    }
    match &c.energy {
        Some(e) => {
            let what = if e.adopted { format!("adopted ({})", method(e.method)) } else { "kept".into() };
            let _ = writeln!(
                s,
                "- energy ([energy_rtl], {} measured models): {what}; MAPE before {}, held out after {}; {}",
                c.energy_variants,
                err(e.error_before, ""),
                err(e.error_after_cv, ""),
                e.reason
            );
            if e.adopted {
                for (k, after) in &e.coefficients_after {
                    let before = e.coefficients_before.get(k).cloned().unwrap_or_default();
                    let _ = writeln!(s, "  - `{k}`: {before:?} → {after:?}");
                }
            }
        }
        None => {
            let _ = writeln!(s, "- energy: {}", c.energy_note.as_deref().unwrap_or("not refitted"));
        }
    }
    s
}

fn method(m: Option<crate::calibrate::guarded::RefitMethod>) -> &'static str {
    match m {
        Some(crate::calibrate::guarded::RefitMethod::Scale) => "one scale factor",
        Some(crate::calibrate::guarded::RefitMethod::Full) => "full refit",
        None => "no method",
    }
}

#[cfg(test)]
mod tests {
    use super::super::switching::SwitchingResult;

    fn result(name: &str, status: &str, samples: usize, mismatches: Option<usize>) -> SwitchingResult {
        SwitchingResult {
            name: name.into(),
            status: status.into(),
            reason: None,
            netlist: None,
            samples,
            mismatches,
            estimated_pj: 1.0,
            measured_pj: None,
            layers: Vec::new(),
        }
    }

    #[test]
    fn the_switching_table_shows_samples_and_mismatches_per_candidate() {
        let table = super::switching_table(&[
            result("baseline", "ok", 256, Some(0)),
            result("trial_5", "failed", 256, Some(17)),
            result("trial_2", "skipped", 0, None),
        ]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "| candidate | gate-level check | samples | mismatches |");
        assert_eq!(lines[2], "| baseline | ok | 256 | 0 |");
        assert_eq!(lines[3], "| trial_5 | failed | 256 | 17 |");
        assert_eq!(lines[4], "| trial_2 | skipped | – | – |");
    }
}
