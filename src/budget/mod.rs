//! The budget gate: does a design stay within its LUT/FF/DSP/BRAM/URAM and
//! latency budget on its part? Input: a [`Budget`] (`budget.toml`) and
//! [`Design`]s (the parsed reports of one run or project folder, from
//! `reports` or `store`); output: one [`Verdict`] per (design, budgeted
//! quantity), which the CLI prints and [`junit::render`] turns into JUnit XML.
//!
//! A quantity a design's reports do not state is a failure ("not stated"),
//! never a pass. When several reports state a number, the one closest to the
//! hardware wins (`store::authority`: routed Vivado > synthesised Vivado >
//! HLS export > Bambu > HLS estimate > Yosys), and the verdict names the file.
mod file;
pub mod junit;

pub use file::Budget;

use crate::reports::{ParsedReport, Resources, SynthReport};
use serde::Serialize;
use std::path::PathBuf;

/// What is checked: the reports of one run or one project folder.
#[derive(Debug, Clone)]
pub struct Design {
    /// How verdicts name it (`run 12`, a folder, a report file).
    pub name: String,
    pub reports: Vec<ParsedReport>,
    /// The part the run was made for, when the store knows it and no report says.
    pub part: Option<String>,
    /// The design's own latency when no report states one (an RTL design's
    /// register stages: synthesis reports of RTL state no latency).
    pub latency: Option<DesignLatency>,
}

/// A design's latency as the history stores it with the run.
#[derive(Debug, Clone, PartialEq)]
pub struct DesignLatency {
    pub cycles: u64,
    /// The target clock period the run was made for, for budgets in ns.
    pub clock_ns: Option<f64>,
    /// What states it: `generator` or `simulation`.
    pub source: String,
}

/// How one budgeted quantity came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Within,
    Exceeded,
    /// The design's reports do not state the quantity (or the part's totals a
    /// percentage needs): a failure, since nothing shows the budget is kept.
    NotStated,
}

/// One (design, quantity) check.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub design: String,
    /// The budget key: `lut`, `lut_percent`, `latency_ns`, `part`, ...
    pub quantity: String,
    pub outcome: Outcome,
    /// The number found (as text: the part is a name).
    pub value: Option<String>,
    pub limit: String,
    /// The report the value came from.
    pub source: Option<PathBuf>,
    /// One line for people: what was compared with what.
    pub message: String,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Within
    }
}

/// The part's resource totals from qforge's part table
/// (`qforge::estimate::parts`), for reports that do not state `available`
/// (Yosys, Bambu); `None` for a part the table does not know.
pub fn part_totals_from_table(part: &str) -> Option<Resources> {
    let p = crate::estimate::parts::lookup(part).ok()?;
    Some(Resources { lut: Some(p.lut), ff: Some(p.ff), dsp: Some(p.dsp), bram_18k: Some(p.bram18), ..Resources::default() })
}

/// Part names as tools spell them differ in case, dashes and the `xc` prefix
/// (`xc7z020-clg400-1` vs `7z020clg400-1`).
pub fn same_part(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        let s: String = s.chars().filter(|c| *c != '-' && *c != '_').flat_map(char::to_lowercase).collect();
        s.strip_prefix("xc").map(str::to_string).unwrap_or(s)
    };
    norm(a) == norm(b)
}

/// Check one design against the budget: one verdict per budgeted key, in the
/// order the keys are listed in [`Budget`].
pub fn check(budget: &Budget, design: &Design) -> Vec<Verdict> {
    let mut synth: Vec<&SynthReport> = design
        .reports
        .iter()
        .filter_map(|r| match r {
            ParsedReport::Synth(s) => Some(s),
            ParsedReport::Power(_) => None,
        })
        .collect();
    // Stable sort: among equals the order given is kept.
    synth.sort_by_key(|s| std::cmp::Reverse(crate::store::authority(&ParsedReport::Synth((*s).clone()))));
    let checker = Checker { design, synth };
    let mut out = Vec::new();
    if let Some(part) = &budget.part {
        out.push(checker.part(part));
    }
    let counts: [(&str, Option<u64>, Option<f64>, Counted); 5] = [
        ("lut", budget.lut, budget.lut_percent, Counted::Lut),
        ("ff", budget.ff, budget.ff_percent, Counted::Ff),
        ("dsp", budget.dsp, budget.dsp_percent, Counted::Dsp),
        ("bram_18k", budget.bram_18k, budget.bram_18k_percent, Counted::Bram18k),
        ("uram", budget.uram, budget.uram_percent, Counted::Uram),
    ];
    for (key, absolute, percent, counted) in counts {
        if let Some(limit) = absolute {
            out.push(checker.count(key, counted, limit));
        }
        if let Some(pct) = percent {
            out.push(checker.percent(&format!("{key}_percent"), counted, pct));
        }
    }
    if let Some(limit) = budget.latency_cycles {
        out.push(checker.latency_cycles(limit));
    }
    if let Some(limit) = budget.latency_ns {
        out.push(checker.latency_ns(limit));
    }
    out
}

#[derive(Debug, Clone, Copy)]
enum Counted {
    Lut,
    Ff,
    Dsp,
    Bram18k,
    Uram,
}

/// A count and how it was obtained (a unit conversion is named).
struct Found<'a> {
    value: u64,
    report: &'a SynthReport,
    note: Option<String>,
}

struct Checker<'a> {
    design: &'a Design,
    /// Synthesis records, most authoritative first.
    synth: Vec<&'a SynthReport>,
}

impl<'a> Checker<'a> {
    fn verdict(
        &self,
        quantity: &str,
        outcome: Outcome,
        value: Option<String>,
        limit: String,
        source: Option<PathBuf>,
        message: String,
    ) -> Verdict {
        Verdict { design: self.design.name.clone(), quantity: quantity.to_string(), outcome, value, limit, source, message }
    }

    fn part(&self, wanted: &str) -> Verdict {
        let stated = self.synth.iter().find_map(|s| s.part.as_deref().map(|p| (p, Some(s.source_file.clone()))));
        let stated = stated.or_else(|| {
            self.design.reports.iter().find_map(|r| match r {
                ParsedReport::Power(p) => p.part.as_deref().map(|part| (part, Some(p.source_file.clone()))),
                ParsedReport::Synth(_) => None,
            })
        });
        let stated = stated.or_else(|| self.design.part.as_deref().map(|p| (p, None)));
        match stated {
            None => self.verdict(
                "part",
                Outcome::NotStated,
                None,
                wanted.into(),
                None,
                format!("part not stated by any report (budget is for {wanted})"),
            ),
            Some((part, source)) if same_part(part, wanted) => self.verdict(
                "part",
                Outcome::Within,
                Some(part.into()),
                wanted.into(),
                source,
                format!("part {part} is the budget's {wanted}"),
            ),
            Some((part, source)) => self.verdict(
                "part",
                Outcome::Exceeded,
                Some(part.into()),
                wanted.into(),
                source,
                format!("design targets {part}, the budget is for {wanted}"),
            ),
        }
    }

    fn find(&self, counted: Counted) -> Option<Found<'a>> {
        self.synth.iter().find_map(|s| {
            let used = &s.used;
            let plain = |v: Option<u64>| v.map(|value| Found { value, report: s, note: None });
            match counted {
                Counted::Lut => plain(used.lut),
                Counted::Ff => plain(used.ff),
                Counted::Dsp => plain(used.dsp),
                Counted::Uram => plain(used.uram),
                // A Vivado Block RAM Tile (36 Kb) is two 18K blocks.
                Counted::Bram18k => s.bram18_equivalent().map(|(value, note)| Found { value, report: s, note }),
            }
        })
    }

    fn count(&self, key: &str, counted: Counted, limit: u64) -> Verdict {
        let Some(found) = self.find(counted) else {
            return self.verdict(
                key,
                Outcome::NotStated,
                None,
                limit.to_string(),
                None,
                format!("{key} not stated by any report (budget {limit})"),
            );
        };
        let note = found.note.map(|n| format!(" ({n})")).unwrap_or_default();
        let (outcome, word) = if found.value <= limit { (Outcome::Within, "within") } else { (Outcome::Exceeded, "exceeds") };
        self.verdict(
            key,
            outcome,
            Some(found.value.to_string()),
            limit.to_string(),
            Some(found.report.source_file.clone()),
            format!("{key} {}{note} {word} budget {limit} ({})", found.value, found.report.source_file.display()),
        )
    }

    /// The part's total of a resource: the report's `available`, else the part table.
    fn total(&self, report: &SynthReport, counted: Counted) -> Option<(f64, &'static str)> {
        let pick = |r: &Resources| -> Option<f64> {
            match counted {
                Counted::Lut => r.lut.map(|v| v as f64),
                Counted::Ff => r.ff.map(|v| v as f64),
                Counted::Dsp => r.dsp.map(|v| v as f64),
                Counted::Uram => r.uram.map(|v| v as f64),
                Counted::Bram18k => r.bram_18k.map(|v| v as f64).or(r.bram_tile.map(|t| t * 2.0)),
            }
        };
        pick(&report.available).filter(|t| *t > 0.0).map(|t| (t, "as the report states")).or_else(|| {
            let part = report.part.as_deref().or(self.design.part.as_deref())?;
            pick(&part_totals_from_table(part)?).filter(|t| *t > 0.0).map(|t| (t, "from the part table"))
        })
    }

    fn percent(&self, key: &str, counted: Counted, pct: f64) -> Verdict {
        let limit_text = format!("{pct}%");
        let Some(found) = self.find(counted) else {
            return self.verdict(
                key,
                Outcome::NotStated,
                None,
                limit_text,
                None,
                format!("{key}: usage not stated by any report (budget {pct}% of the part)"),
            );
        };
        let Some((total, whence)) = self.total(found.report, counted) else {
            return self.verdict(
                key,
                Outcome::NotStated,
                None,
                limit_text,
                Some(found.report.source_file.clone()),
                format!(
                    "{key}: the part's total is not stated ({}) and the part table does not know it",
                    found.report.source_file.display()
                ),
            );
        };
        let share = 100.0 * found.value as f64 / total;
        let (outcome, word) = if share <= pct { (Outcome::Within, "within") } else { (Outcome::Exceeded, "exceeds") };
        self.verdict(
            key,
            outcome,
            Some(format!("{share:.3}%")),
            limit_text,
            Some(found.report.source_file.clone()),
            format!(
                "{key}: {} of {total} ({whence}) = {share:.3}% {word} budget {pct}% ({})",
                found.value,
                found.report.source_file.display()
            ),
        )
    }

    /// Worst-case cycles: HLS `latency_worst_cycles`, else Bambu's `CYCLES`,
    /// else the design's own (an RTL design's register stages).
    fn latency_cycles(&self, limit: u64) -> Verdict {
        let found = self.synth.iter().find_map(|s| {
            let whence = |note: &str| format!("{note} ({})", s.source_file.display());
            s.latency_worst_cycles
                .map(|c| (c, Some(s.source_file.clone()), whence("")))
                .or(s.latency_cycles.map(|c| (c, Some(s.source_file.clone()), whence(" (average over the testbench)"))))
        });
        let found = found.or_else(|| self.design.latency.as_ref().map(|l| (l.cycles, None, format!(" ({})", stated_by(l)))));
        let Some((cycles, source, note)) = found else {
            return self.verdict(
                "latency_cycles",
                Outcome::NotStated,
                None,
                limit.to_string(),
                None,
                format!("latency in cycles not stated by any report (budget {limit})"),
            );
        };
        let (outcome, word) = if cycles <= limit { (Outcome::Within, "within") } else { (Outcome::Exceeded, "exceeds") };
        self.verdict(
            "latency_cycles",
            outcome,
            Some(cycles.to_string()),
            limit.to_string(),
            source,
            format!("latency {cycles} cycles {word} budget {limit}{note}"),
        )
    }

    /// Worst-case ns as stated, else worst-case cycles × the target clock of
    /// the same report, else the design's own cycles × its run's target clock.
    fn latency_ns(&self, limit: f64) -> Verdict {
        let found = self.synth.iter().find_map(|s| {
            let file = format!(" ({})", s.source_file.display());
            if let Some(ns) = s.latency_worst_ns {
                return Some((ns, Some(s.source_file.clone()), file));
            }
            let cycles = s.latency_worst_cycles.or(s.latency_cycles)?;
            let clock = s.clock_target_ns?;
            Some((cycles as f64 * clock, Some(s.source_file.clone()), format!(" ({cycles} cycles × {clock} ns target clock){file}")))
        });
        let found = found.or_else(|| {
            let l = self.design.latency.as_ref()?;
            let clock = l.clock_ns?;
            Some((l.cycles as f64 * clock, None, format!(" ({} cycles × {clock} ns target clock; {})", l.cycles, stated_by(l))))
        });
        let Some((ns, source, note)) = found else {
            return self.verdict(
                "latency_ns",
                Outcome::NotStated,
                None,
                limit.to_string(),
                None,
                format!("latency in ns not stated (nor cycles with a target clock) by any report (budget {limit} ns)"),
            );
        };
        let (outcome, word) = if ns <= limit { (Outcome::Within, "within") } else { (Outcome::Exceeded, "exceeds") };
        self.verdict(
            "latency_ns",
            outcome,
            Some(format!("{ns}")),
            limit.to_string(),
            source,
            format!("latency {ns} ns {word} budget {limit} ns{note}"),
        )
    }
}

/// Who says a design has its latency, for verdict messages.
fn stated_by(l: &DesignLatency) -> String {
    match l.source.as_str() {
        "generator" => "the register stages the RTL generator built".into(),
        "simulation" => "measured in simulation".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod part_table_tests {
    use super::*;

    #[test]
    fn part_table_gives_totals_for_known_parts_only() {
        let t = part_totals_from_table("xcvu9p-flga2104-2L-e").unwrap();
        assert_eq!((t.lut, t.dsp, t.bram_18k), (Some(1_182_240), Some(6_840), Some(4_320)));
        assert!(part_totals_from_table("xc7z020clg400-1").is_none());
    }
}
