//! Vivado `report_utilization` text reports (`*_utilization_synth.rpt`,
//! `*_utilization_placed.rpt`, hls4ml's `vivado_synth.rpt`, Bambu's
//! `post_synth_util.rpt`), 2014 to 2025 layouts: with or without the
//! `Prohibited` column, `Slice`/`CLB` naming, SLR sub-tables, and the
//! `-hierarchical` form (one row per instance). Columns are found by their
//! header names, never by position, and only top-level rows of the summary
//! tables count (indented rows are breakdowns).
use super::model::{ModuleReport, ReportKind, Resources, Stage, SynthReport};
use super::text::{check_vivado_complete, first_cell_raw, parse_count, parse_decimal, table_cells, vivado_header, vivado_version};
use crate::error::{Error, Result};
use std::path::Path;

/// True if the text looks like a `report_utilization` report.
pub(crate) fn is_utilization(text: &str) -> bool {
    let head = head(text);
    head.contains("report_utilization") || head.contains("Utilization Design Information")
}

fn head(text: &str) -> &str {
    let mut end = text.len().min(4096);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

pub(crate) fn parse(path: &Path, text: &str) -> Result<SynthReport> {
    check_vivado_complete(path, text)?;
    let mut report = SynthReport::new(path, ReportKind::Vivado);
    for (key, value) in vivado_header(text) {
        match key {
            "Tool Version" => report.tool_version = vivado_version(value),
            "Design" => report.top = Some(value.to_string()).filter(|v| !v.is_empty()),
            "Device" => report.part = Some(value.to_string()).filter(|v| !v.is_empty()),
            "Design State" => report.stage = stage_of(value),
            _ => {}
        }
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        // A table starts with a border, a header row and another border.
        let starts_table = lines[i].starts_with("+-")
            && lines.get(i + 2).is_some_and(|l| l.starts_with("+-"))
            && lines.get(i + 1).is_some_and(|l| l.starts_with('|'));
        if !starts_table {
            i += 1;
            continue;
        }
        let header: Vec<&str> = table_cells(lines[i + 1]).unwrap_or_default();
        let mut end = i + 3;
        while end < lines.len() && lines[end].starts_with('|') {
            end += 1;
        }
        let rows = &lines[i + 3..end];
        if header.first() == Some(&"Site Type") {
            read_summary_table(path, i + 4, &header, rows, &mut report)?;
        } else if header.first() == Some(&"Instance") && header.contains(&"Total LUTs") {
            read_hierarchy_table(path, i + 4, &header, rows, &mut report)?;
        }
        i = end.max(i + 1);
    }
    if report.used.is_empty() {
        return Err(Error::input(path, "utilisation report without a LUT, register, BRAM or DSP row (failed or empty run?)"));
    }
    Ok(report)
}

/// `Design State` → flow stage. `Optimized` (after opt_design) counts as synth.
fn stage_of(state: &str) -> Option<Stage> {
    let s = state.to_ascii_lowercase();
    if s.contains("synth") || s.contains("optimized") {
        Some(Stage::Synth)
    } else if s.contains("plac") || s.contains("rout") || s.contains("physopt") {
        Some(Stage::Impl)
    } else {
        None
    }
}

fn read_summary_table(path: &Path, first_line: usize, header: &[&str], rows: &[&str], report: &mut SynthReport) -> Result<()> {
    let (Some(used_col), available_col) = (col(header, &["Used"]), col(header, &["Available"])) else {
        return Ok(());
    };
    for (k, line) in rows.iter().enumerate() {
        let indented = first_cell_raw(line).is_some_and(|c| c.starts_with("  "));
        let Some(cells) = table_cells(line) else { continue };
        if indented {
            continue;
        }
        let name = cells[0].trim_end_matches('*').trim();
        let line_no = Some(first_line + k);
        let used = cells.get(used_col).copied().unwrap_or("");
        let available = available_col.and_then(|c| cells.get(c).copied()).unwrap_or("");
        let (u, a) = (&mut report.used, &mut report.available);
        match name {
            "Slice LUTs" | "CLB LUTs" => set_count(path, line_no, name, used, available, &mut u.lut, &mut a.lut)?,
            "Slice Registers" | "CLB Registers" => set_count(path, line_no, name, used, available, &mut u.ff, &mut a.ff)?,
            "DSPs" | "DSP Slices" => set_count(path, line_no, name, used, available, &mut u.dsp, &mut a.dsp)?,
            "URAM" => set_count(path, line_no, name, used, available, &mut u.uram, &mut a.uram)?,
            "Block RAM Tile" if u.bram_tile.is_none() => {
                u.bram_tile = parse_decimal(path, line_no, name, used)?;
                a.bram_tile = parse_decimal(path, line_no, name, available)?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// The first table that states a resource wins (later SLR tables repeat it).
fn set_count(
    path: &Path,
    line: Option<usize>,
    name: &str,
    used: &str,
    available: &str,
    used_slot: &mut Option<u64>,
    available_slot: &mut Option<u64>,
) -> Result<()> {
    if used_slot.is_some() {
        return Ok(());
    }
    *used_slot = parse_count(path, line, name, used)?;
    *available_slot = parse_count(path, line, name, available)?;
    Ok(())
}

fn col(header: &[&str], names: &[&str]) -> Option<usize> {
    header.iter().position(|h| names.contains(h))
}

/// `report_utilization -hierarchical`: one row per instance, indented by
/// depth; the first row is the whole design.
fn read_hierarchy_table(path: &Path, first_line: usize, header: &[&str], rows: &[&str], report: &mut SynthReport) -> Result<()> {
    let lut = col(header, &["Total LUTs"]);
    let ff = col(header, &["FFs"]);
    let dsp = col(header, &["DSP48 Blocks", "DSP Blocks", "DSPs"]);
    let uram = col(header, &["URAM"]);
    let module = col(header, &["Module"]);
    for (k, line) in rows.iter().enumerate() {
        let Some(cells) = table_cells(line) else { continue };
        let line_no = Some(first_line + k);
        let get = |c: Option<usize>, name: &str| -> Result<Option<u64>> {
            match c.and_then(|c| cells.get(c)) {
                Some(v) => parse_count(path, line_no, name, v),
                None => Ok(None),
            }
        };
        let indent = first_cell_raw(line).map_or(0, |c| c.len() - c.trim_start().len());
        let used = Resources {
            lut: get(lut, "Total LUTs")?,
            ff: get(ff, "FFs")?,
            dsp: get(dsp, "DSP")?,
            uram: get(uram, "URAM")?,
            ..Resources::default()
        };
        if k == 0 {
            report.used = used.clone();
            for (name, c) in [("RAMB36", col(header, &["RAMB36"])), ("RAMB18", col(header, &["RAMB18"]))] {
                if let Some(v) = get(c, name)? {
                    report.extra.insert(name.to_ascii_lowercase(), v as f64);
                }
            }
        }
        report.modules.push(ModuleReport {
            name: cells[0].to_string(),
            module: module.and_then(|c| cells.get(c)).map(|m| m.to_string()),
            depth: indent.saturating_sub(1) / 2,
            used,
            ..ModuleReport::default()
        });
    }
    Ok(())
}
