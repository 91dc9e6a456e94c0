//! Reading `budget.toml`: the limits a design must stay within. Every fault
//! names the file, the line and the field.
use crate::error::{Error, Result};
use serde::Deserialize;
use std::path::Path;

/// The limits of one budget file. `None` means "not budgeted".
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// The part the design must target, as any tool spells it
    /// (`xcvu9p-flga2104-2L-e`); compared without dashes and case.
    pub part: Option<String>,
    pub lut: Option<u64>,
    pub ff: Option<u64>,
    pub dsp: Option<u64>,
    pub bram_18k: Option<u64>,
    pub uram: Option<u64>,
    /// Worst-case latency in clock cycles.
    pub latency_cycles: Option<u64>,
    /// Worst-case latency in ns (stated by the report, or cycles × target clock).
    pub latency_ns: Option<f64>,
    /// Shares of the part's totals, in percent (0 < p ≤ 100).
    pub lut_percent: Option<f64>,
    pub ff_percent: Option<f64>,
    pub dsp_percent: Option<f64>,
    pub bram_18k_percent: Option<f64>,
    pub uram_percent: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BudgetFile {
    budget: Budget,
}

impl Budget {
    pub fn from_file(path: &Path) -> Result<Budget> {
        let text = crate::error::read_to_string(path)?;
        Budget::from_toml(path, &text)
    }

    /// Parse budget TOML; `path` names the file in errors.
    pub fn from_toml(path: &Path, text: &str) -> Result<Budget> {
        let file: BudgetFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            let message = e.message().trim().to_string();
            let field = if message.contains("unknown field") {
                backticked(&message)
            } else {
                line.and_then(|l| key_at_line(text, l))
            };
            let message = if message.contains("unknown field") {
                format!("{message} (in [budget]: part, lut, ff, dsp, bram_18k, uram, latency_cycles, latency_ns, lut_percent, ff_percent, dsp_percent, bram_18k_percent, uram_percent)")
            } else {
                message
            };
            Error::input_at(path, line, field.as_deref(), message)
        })?;
        let budget = file.budget;
        let percents = [
            ("lut_percent", budget.lut_percent),
            ("ff_percent", budget.ff_percent),
            ("dsp_percent", budget.dsp_percent),
            ("bram_18k_percent", budget.bram_18k_percent),
            ("uram_percent", budget.uram_percent),
        ];
        for (key, value) in percents {
            if let Some(v) = value.filter(|v| !(*v > 0.0 && *v <= 100.0)) {
                return Err(Error::input_at(
                    path,
                    key_line(text, key),
                    Some(key),
                    format!("{v} is not a share of the part: expected 0 < {key} <= 100"),
                ));
            }
        }
        if let Some(v) = budget.latency_ns.filter(|v| !(v.is_finite() && *v > 0.0)) {
            return Err(Error::input_at(
                path,
                key_line(text, "latency_ns"),
                Some("latency_ns"),
                format!("{v} is not a latency: expected a positive number of ns"),
            ));
        }
        if budget == Budget::default() {
            return Err(Error::input(
                path,
                "[budget] sets no limit (give at least one of part, lut, ff, dsp, bram_18k, uram, latency_cycles, latency_ns, *_percent)",
            ));
        }
        Ok(budget)
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|&b| b == b'\n').count() + 1
}

/// The line where `key = ...` is written (for value errors found after parsing).
fn key_line(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.strip_prefix(key).is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|i| i + 1)
}

/// The key written on a line (`lut = -4` → `lut`).
fn key_at_line(text: &str, line: usize) -> Option<String> {
    let (key, _) = text.lines().nth(line.checked_sub(1)?)?.split_once('=')?;
    let key = key.trim();
    (!key.is_empty() && !key.starts_with('[')).then(|| key.to_string())
}

/// The first `name` in a message such as "unknown field `lutt`, expected ...".
fn backticked(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_string())
}
