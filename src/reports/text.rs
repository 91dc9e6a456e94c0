//! Shared helpers for every parser: bytes → text with an error naming the
//! file and line for bad encodings, byte offset → line number, and number
//! fields where the report's "not stated" markers (`undef`, `-`, `NA`) become
//! `None` while anything else that is not a number is an error.
use crate::error::{Error, Result};
use std::borrow::Cow;
use std::path::Path;

/// 1-based line number of a byte offset.
pub(crate) fn line_of(text: &[u8], offset: usize) -> usize {
    let end = offset.min(text.len());
    text[..end].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Decode a report's bytes: UTF-8 (BOM stripped) or UTF-16 with a BOM.
/// Anything else (Latin-1 bytes, binary data) is an error naming the line.
pub(crate) fn decode<'a>(path: &Path, bytes: &'a [u8]) -> Result<Cow<'a, str>> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return utf8(path, rest).map(Cow::Borrowed);
    }
    let utf16 = match bytes {
        [0xFF, 0xFE, rest @ ..] => Some((rest, false)),
        [0xFE, 0xFF, rest @ ..] => Some((rest, true)),
        _ => None,
    };
    if let Some((rest, big_endian)) = utf16 {
        if rest.len() % 2 != 0 {
            return Err(Error::input(path, "UTF-16 text with an odd number of bytes (truncated?)"));
        }
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| if big_endian { u16::from_be_bytes([c[0], c[1]]) } else { u16::from_le_bytes([c[0], c[1]]) })
            .collect();
        return String::from_utf16(&units).map(Cow::Owned).map_err(|_| Error::input(path, "invalid UTF-16 text (unpaired surrogate)"));
    }
    utf8(path, bytes).map(Cow::Borrowed)
}

fn utf8<'a>(path: &Path, bytes: &'a [u8]) -> Result<&'a str> {
    if let Some(pos) = bytes.iter().position(|&b| b == 0) {
        return Err(Error::input_at(
            path,
            Some(line_of(bytes, pos)),
            None,
            "NUL byte: binary data or UTF-16/UTF-32 text without a byte-order mark, not a report",
        ));
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let pos = e.valid_up_to();
        Error::input_at(path, Some(line_of(bytes, pos)), None, format!("not valid UTF-8 text (byte {pos})"))
    })
}

/// Values reports write for "not stated / not applicable".
pub(crate) fn is_unstated(value: &str) -> bool {
    matches!(value, "" | "undef" | "-" | "--" | "---" | "NA" | "N/A" | "?" | "na" | "n/a")
}

/// A non-negative integer field; `undef` and friends are `None`.
pub(crate) fn parse_count(path: &Path, line: Option<usize>, field: &str, value: &str) -> Result<Option<u64>> {
    let v = value.trim();
    if is_unstated(v) {
        return Ok(None);
    }
    v.parse::<u64>().map(Some).map_err(|_| Error::input_at(path, line, Some(field), format!("expected a whole number, found {v:?}")))
}

/// A decimal field; `undef` and friends are `None`.
pub(crate) fn parse_decimal(path: &Path, line: Option<usize>, field: &str, value: &str) -> Result<Option<f64>> {
    let v = value.trim();
    if is_unstated(v) {
        return Ok(None);
    }
    match v.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(Some(x)),
        _ => Err(Error::input_at(path, line, Some(field), format!("expected a number, found {v:?}"))),
    }
}

/// A time with an optional unit suffix (`0.110 us`, `30.000 ns`, `30`), in ns.
/// `default_unit` applies when the value has no suffix.
pub(crate) fn parse_time_ns(path: &Path, line: Option<usize>, field: &str, value: &str, default_unit: &str) -> Result<Option<f64>> {
    let v = value.trim();
    if is_unstated(v) {
        return Ok(None);
    }
    let (number, unit) = match v.split_once(char::is_whitespace) {
        Some((n, u)) => (n, u.trim()),
        None => (v, default_unit),
    };
    let scale = unit_to_ns(unit).ok_or_else(|| Error::input_at(path, line, Some(field), format!("unknown time unit {unit:?}")))?;
    // Round away binary noise from the scaling (0.110 us → 110 ns, not 110.00000000000001).
    Ok(parse_decimal(path, line, field, number)?.map(|x| (x * scale * 1e6).round() / 1e6))
}

/// Scale from a time unit to nanoseconds.
pub(crate) fn unit_to_ns(unit: &str) -> Option<f64> {
    match unit.trim().to_ascii_lowercase().as_str() {
        "ns" | "nsec" | "" => Some(1.0),
        "ps" | "psec" => Some(1e-3),
        "us" | "usec" => Some(1e3),
        "ms" | "msec" => Some(1e6),
        "s" | "sec" => Some(1e9),
        _ => None,
    }
}

/// Split a `| a | b | c |` table row into trimmed cells (without the outer
/// bars). `None` if the line is not a table row.
pub(crate) fn table_cells(line: &str) -> Option<Vec<&str>> {
    let inner = line.trim_end().strip_prefix('|')?.strip_suffix('|')?;
    Some(inner.split('|').map(str::trim).collect())
}

/// The raw (untrimmed) first cell of a table row, to read its indentation.
pub(crate) fn first_cell_raw(line: &str) -> Option<&str> {
    line.strip_prefix('|')?.split('|').next()
}

/// The `| Key : value` header block Vivado writes at the top of every text
/// report (Tool Version, Design, Device, Design State, ...).
pub(crate) fn vivado_header(text: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    for line in text.lines().take(40) {
        let Some(rest) = line.strip_prefix('|') else { continue };
        if let Some((key, value)) = rest.split_once(':') {
            let key = key.trim();
            if !key.is_empty() && !key.contains('|') {
                out.push((key, value.trim()));
            }
        }
    }
    out
}

/// `Vivado v.2022.1.2 (lin64) Build ...` → `2022.1.2`.
pub(crate) fn vivado_version(tool_version: &str) -> Option<String> {
    let after = tool_version.split("v.").nth(1)?;
    let version: String = after.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    let version = version.trim_end_matches('.');
    (!version.is_empty()).then(|| version.to_string())
}

/// Detect a cut-off Vivado text report: every section its table of contents
/// lists must appear in the body, and the file must not end inside a table.
pub(crate) fn check_vivado_complete(path: &Path, text: &str) -> Result<()> {
    let lines: Vec<&str> = text.lines().collect();
    let last = lines.iter().rposition(|l| !l.trim().is_empty()).unwrap_or(0);
    if lines.get(last).is_some_and(|l| l.trim_start().starts_with('|')) {
        return Err(Error::input_at(path, Some(last + 1), None, "truncated report: file ends inside a table"));
    }
    // A file cut inside a table's closing border (that border is shorter
    // than the table's top one, or there is no table under it), or right
    // after a section heading.
    let last_line = lines.get(last).copied().unwrap_or("");
    let cut = |what: &str| Error::input_at(path, Some(last + 1), None, format!("truncated report: file ends {what}"));
    if last_line.starts_with('+') {
        let top = (0..=last).rev().take_while(|&k| lines[k].starts_with('|') || lines[k].starts_with('+')).last();
        let top = top.unwrap_or(last);
        let has_rows = lines[top..=last].iter().any(|l| l.starts_with('|'));
        if !has_rows || lines[top].trim_end().len() != last_line.trim_end().len() {
            return Err(cut("inside a table border"));
        }
    } else if !last_line.trim().is_empty() && last_line.trim().chars().all(|c| c == '-') {
        return Err(cut("after a section heading"));
    }
    let Some(toc) = lines.iter().position(|l| l.trim() == "Table of Contents") else { return Ok(()) };
    let entries: Vec<&str> = lines[toc + 1..]
        .iter()
        .skip_while(|l| l.trim_start().starts_with('-'))
        .take_while(|l| !l.trim().is_empty())
        .map(|l| l.trim())
        .collect();
    let body_start = toc + 2 + entries.len();
    let body = lines.get(body_start..).unwrap_or(&[]);
    if entries.iter().any(|e| *e == last_line.trim()) {
        return Err(cut("after a section heading"));
    }
    for entry in entries {
        if !body.iter().any(|l| l.trim() == entry) {
            return Err(Error::input_at(
                path,
                Some(lines.len()),
                None,
                format!("truncated report: section {entry:?} listed in its table of contents is missing"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_utf16_with_bom_and_rejects_latin1() {
        let p = Path::new("x");
        let utf16: Vec<u8> = [0xFFu8, 0xFE].into_iter().chain("<a/>".encode_utf16().flat_map(|u| u.to_le_bytes())).collect();
        assert_eq!(decode(p, &utf16).unwrap(), "<a/>");
        let err = decode(p, b"line1\nline2 \xE9\n").unwrap_err().to_string();
        assert!(err.contains("x:2"), "{err}");
    }

    #[test]
    fn unstated_values_are_none_and_garbage_is_an_error() {
        let p = Path::new("x");
        assert_eq!(parse_count(p, None, "f", "undef").unwrap(), None);
        assert_eq!(parse_count(p, None, "f", " 12 ").unwrap(), Some(12));
        assert!(parse_count(p, Some(3), "f", "12x").is_err());
        assert_eq!(parse_time_ns(p, None, "f", "0.110 us", "ns").unwrap(), Some(110.0));
    }
}
