//! Vivado `report_power` text reports (`*_power_routed.rpt`, hls4ml's
//! `vivado_power.rpt`), 2015 to 2025 layouts: the Summary table (total,
//! dynamic, device static power, junction temperature, confidence), the
//! top-level rows of the On-Chip Components table (names as written, values
//! below resolution such as `<0.001` kept as text), and the Clock Constraints
//! table from which the main clock is chosen (see [`main_clock`]).
use super::model::{ClockConstraint, PowerReport, PowerValue, ReportKind};
use super::text::{check_vivado_complete, first_cell_raw, parse_decimal, table_cells, vivado_header, vivado_version};
use crate::error::{Error, Result};
use std::path::Path;

/// True if the text looks like a `report_power` report.
pub(crate) fn is_power(text: &str) -> bool {
    let mut end = text.len().min(4096);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let head = &text[..end];
    head.contains("report_power") || (head.contains("Power Report") && head.contains("On-Chip"))
}

/// On-chip rows that are totals, not components.
const NOT_COMPONENTS: &[&str] = &["Static Power", "Total", "Device Static", "Dynamic"];

pub(crate) fn parse(path: &Path, text: &str) -> Result<PowerReport> {
    check_vivado_complete(path, text)?;
    let mut report = PowerReport {
        source_file: path.to_path_buf(),
        tool: ReportKind::VivadoPower,
        tool_version: None,
        part: None,
        top: None,
        stage: None,
        total_power_w: None,
        dynamic_power_w: None,
        static_power_w: None,
        junction_temp_c: None,
        confidence: None,
        clock_ns: None,
        on_chip: Default::default(),
        clocks: Vec::new(),
    };
    for (key, value) in vivado_header(text) {
        match key {
            "Tool Version" => report.tool_version = vivado_version(value),
            "Design" => report.top = Some(value.to_string()).filter(|v| !v.is_empty()),
            "Device" => report.part = Some(value.to_string()).filter(|v| !v.is_empty()),
            "Design State" => report.stage = Some(value.to_ascii_lowercase()).filter(|v| !v.is_empty()),
            _ => {}
        }
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        if !lines[i].starts_with("+-") {
            i += 1;
            continue;
        }
        let mut end = i + 1;
        while end < lines.len() && (lines[end].starts_with('|') || lines[end].starts_with("+-")) {
            end += 1;
        }
        read_table(path, i + 1, &lines[i..end], &mut report)?;
        i = end;
    }
    if report.total_power_w.is_none() && report.dynamic_power_w.is_none() {
        return Err(Error::input(path, "power report without Total On-Chip Power or Dynamic power (failed run?)"));
    }
    report.clock_ns = main_clock(&report.clocks);
    Ok(report)
}

/// One `+--` delimited block: the Summary key/value table, the On-Chip
/// table, or the Clock Constraints table. Others are ignored.
fn read_table(path: &Path, first_line: usize, block: &[&str], report: &mut PowerReport) -> Result<()> {
    let rows: Vec<(usize, &str)> =
        block.iter().enumerate().filter(|(_, l)| l.starts_with('|')).map(|(k, l)| (first_line + k, *l)).collect();
    let Some(&(_, first)) = rows.first() else { return Ok(()) };
    let header = table_cells(first).unwrap_or_default();
    // The Summary is a key/value table without a header row; recognise it by its keys.
    let is_summary = rows.iter().any(|(_, r)| {
        table_cells(r).and_then(|c| c.first().copied()).is_some_and(|k| k == "Total On-Chip Power (W)" || k == "Dynamic (W)")
    });
    match header.first().copied() {
        _ if is_summary => {
            for &(line, row) in &rows {
                let Some(cells) = table_cells(row) else { continue };
                let (Some(key), Some(value)) = (cells.first(), cells.get(1)) else { continue };
                // "25.955 (Junction temp exceeded!)": the number is the first word.
                let number = value.split_whitespace().next().unwrap_or("");
                let line = Some(line);
                match *key {
                    "Total On-Chip Power (W)" => report.total_power_w = parse_decimal(path, line, key, number)?,
                    "Dynamic (W)" => report.dynamic_power_w = parse_decimal(path, line, key, number)?,
                    "Device Static (W)" => report.static_power_w = parse_decimal(path, line, key, number)?,
                    "Junction Temperature (C)" => report.junction_temp_c = parse_decimal(path, line, key, number)?,
                    "Confidence Level" => report.confidence = Some(value.to_string()).filter(|v| !v.is_empty()),
                    _ => {}
                }
            }
        }
        Some("On-Chip") => {
            let power_col = header.iter().position(|h| *h == "Power (W)").unwrap_or(1);
            for &(line, row) in rows.iter().skip(1) {
                let indented = first_cell_raw(row).is_some_and(|c| c.starts_with("  "));
                let Some(cells) = table_cells(row) else { continue };
                let name = cells[0];
                if indented || name.is_empty() || NOT_COMPONENTS.contains(&name) {
                    continue;
                }
                let raw = cells.get(power_col).copied().unwrap_or("");
                let value = if raw.starts_with('<') {
                    Some(PowerValue::Text(raw.to_string()))
                } else {
                    parse_decimal(path, Some(line), name, raw)?.map(PowerValue::Watts)
                };
                if let Some(value) = value {
                    report.on_chip.entry(name.to_string()).or_insert(value);
                }
            }
        }
        Some("Clock") if header.iter().any(|h| h.starts_with("Constraint")) => {
            let period_col = header.iter().position(|h| h.starts_with("Constraint")).unwrap_or(2);
            for &(line, row) in rows.iter().skip(1) {
                let Some(cells) = table_cells(row) else { continue };
                let raw = cells.get(period_col).copied().unwrap_or("");
                if let Some(period_ns) = parse_decimal(path, Some(line), "Constraint (ns)", raw)? {
                    report.clocks.push(ClockConstraint {
                        name: cells[0].to_string(),
                        domain: cells.get(1).map(|d| d.to_string()).unwrap_or_default(),
                        period_ns,
                    });
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Clocks conventionally used as the design's main clock, most specific first:
/// HLS IP (`ap_clk`), Zynq-7000 / Zynq UltraScale+ fabric clocks, board pins.
const MAIN_CLOCK_NAMES: &[&str] =
    &["ap_clk", "clk_fpga_0", "clk_pl_0", "sys_clk_pin", "sys_clk", "clock_rtl", "gclk", "clk", "clk_fpga_1", "clk_pl_1"];

/// The main clock period, or `None` when the report does not make one clear.
/// Rule: the only constrained clock; else the first clock whose name is in
/// [`MAIN_CLOCK_NAMES`]; else, ignoring debug-hub/JTAG and feedback clocks,
/// the common period if every remaining clock shares it. Otherwise (e.g. a
/// PCIe + DDR design with 40 clocks) nothing is guessed.
pub fn main_clock(clocks: &[ClockConstraint]) -> Option<f64> {
    if let [only] = clocks {
        return Some(only.period_ns);
    }
    for name in MAIN_CLOCK_NAMES {
        if let Some(c) = clocks.iter().find(|c| c.name == *name) {
            return Some(c.period_ns);
        }
    }
    let functional: Vec<f64> = clocks
        .iter()
        .filter(|c| {
            let n = c.name.to_ascii_lowercase();
            !(n.contains("bscan") || n.contains("dbg_hub") || n.contains("clkfb") || n.contains("_fb"))
        })
        .map(|c| c.period_ns)
        .collect();
    match functional.split_first() {
        Some((first, rest)) if rest.iter().all(|p| p == first) => Some(*first),
        _ => None,
    }
}

/// Energy per inference in joules: dynamic power × initiation interval ×
/// clock period.
///
/// Assumptions: one inference starts every `ii_cycles` cycles (the design is
/// kept busy, so each inference is charged one interval of dynamic power);
/// the report's dynamic power is the average over that activity (Vivado's
/// vectorless estimate unless a SAIF was given, see `confidence`); static
/// power is excluded because the device draws it whether or not it infers;
/// `clock_ns` is the period the design actually runs at. Returns `None` if
/// an input is negative or not finite.
pub fn energy_per_inference_j(dynamic_power_w: f64, ii_cycles: u64, clock_ns: f64) -> Option<f64> {
    let valid = dynamic_power_w.is_finite() && dynamic_power_w >= 0.0 && clock_ns.is_finite() && clock_ns >= 0.0;
    valid.then_some(dynamic_power_w * ii_cycles as f64 * clock_ns * 1e-9)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock(name: &str, period_ns: f64) -> ClockConstraint {
        ClockConstraint { name: name.into(), domain: String::new(), period_ns }
    }

    #[test]
    fn main_clock_rule() {
        assert_eq!(main_clock(&[]), None);
        assert_eq!(main_clock(&[clock("x", 4.0)]), Some(4.0));
        assert_eq!(main_clock(&[clock("clk_fpga_1", 20.0), clock("clk_fpga_0", 1000.0)]), Some(1000.0));
        assert_eq!(main_clock(&[clock("a", 10.0), clock("dbg_hub/BSCAN/TCK", 33.0)]), Some(10.0));
        assert_eq!(main_clock(&[clock("a", 10.0), clock("b", 5.0)]), None);
    }

    #[test]
    fn energy() {
        // 1 W for 10 cycles of 5 ns = 50 nJ.
        let e = energy_per_inference_j(1.0, 10, 5.0).unwrap();
        assert!((e - 50e-9).abs() < 1e-18);
        assert_eq!(energy_per_inference_j(-1.0, 1, 1.0), None);
    }
}
