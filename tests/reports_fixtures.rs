//! Every real report under `tests/fixtures/reports/` (or `$QFORGE_FIXTURES`)
//! parses, and gives exactly the numbers `expected.jsonl` lists: each expected
//! key equals ours, and each key we produce (among the corpus's key set) is
//! expected — a number a report does not state must stay absent. A file
//! dropped into the folder without an expected line must still parse.
use qforge::reports::{parse_file, ParsedReport};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn fixtures_dir() -> PathBuf {
    std::env::var_os("QFORGE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reports"))
}

/// Keys of the corpus (MANIFEST.md) that describe numbers or identities.
const CORPUS_KEYS: &[&str] = &[
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
    "cells",
    "available",
    "total_power_w",
    "dynamic_power_w",
    "static_power_w",
    "junction_temp_c",
    "confidence",
    "on_chip",
];
const NOT_COMPARED: &[&str] = &["file", "source", "notes"];

fn expected_records() -> Vec<Value> {
    let path = fixtures_dir().join("expected.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).unwrap_or_else(|e| panic!("expected.jsonl:{}: {e}", i + 1)))
        .collect()
}

/// Compare two JSON values: numbers numerically, objects key by key both ways.
fn compare(at: &str, expected: &Value, ours: Option<&Value>, failures: &mut Vec<String>, matched: &mut usize) {
    match (expected, ours) {
        (_, None) => failures.push(format!("{at}: expected {expected}, we give nothing")),
        (Value::Number(e), Some(Value::Number(o))) => {
            let (e, o) = (e.as_f64().unwrap_or(f64::NAN), o.as_f64().unwrap_or(f64::NAN));
            if (e - o).abs() <= 1e-9 * e.abs().max(1.0) {
                *matched += 1;
            } else {
                failures.push(format!("{at}: expected {e}, we give {o}"));
            }
        }
        (Value::Object(e), Some(Value::Object(o))) => {
            for (k, v) in e {
                compare(&format!("{at}.{k}"), v, o.get(k), failures, matched);
            }
            for k in o.keys().filter(|k| !e.contains_key(*k)) {
                failures.push(format!("{at}.{k}: not in expected (report does not state it), we give {}", o[k]));
            }
        }
        (e, Some(o)) if e == o => *matched += 1,
        (e, Some(o)) => failures.push(format!("{at}: expected {e}, we give {o}")),
    }
}

#[test]
fn every_expected_record_matches_key_by_key() {
    let dir = fixtures_dir();
    let records = expected_records();
    let mut key_set: BTreeSet<String> = CORPUS_KEYS.iter().map(|s| s.to_string()).collect();
    for r in &records {
        key_set.extend(r.as_object().into_iter().flat_map(|o| o.keys().cloned()));
    }
    for k in NOT_COMPARED {
        key_set.remove(*k);
    }
    let (mut failures, mut matched) = (Vec::new(), 0usize);
    for expected in &records {
        let file = expected["file"].as_str().expect("expected record without file");
        let parsed = match parse_file(&dir.join(file)) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{file}: does not parse: {e}"));
                continue;
            }
        };
        let ours = parsed.to_json();
        let exp = expected.as_object().expect("record is an object");
        for (key, value) in exp.iter().filter(|(k, _)| !NOT_COMPARED.contains(&k.as_str())) {
            compare(&format!("{file}: {key}"), value, ours.get(key), &mut failures, &mut matched);
        }
        for key in key_set.iter().filter(|k| !exp.contains_key(*k)) {
            if let Some(v) = ours.get(key) {
                failures.push(format!("{file}: {key}: not in expected (report does not state it), we give {v}"));
            }
        }
    }
    eprintln!("{} expected records, {matched} fields matched, {} failures", records.len(), failures.len());
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_file_in_the_folder_parses() {
    let dir = fixtures_dir();
    let mut failures = Vec::new();
    let mut count = 0;
    for entry in walkdir::WalkDir::new(&dir).sort_by_file_name() {
        let entry = entry.expect("walk fixtures");
        let name = entry.file_name().to_string_lossy();
        if !entry.file_type().is_file() || name == "MANIFEST.md" || name == "expected.jsonl" {
            continue;
        }
        count += 1;
        match parse_file(entry.path()) {
            Ok(ParsedReport::Synth(r)) if r.source_file != entry.path() => failures.push(format!("{name}: wrong source_file")),
            Ok(_) => {}
            Err(e) => failures.push(e.to_string()),
        }
    }
    eprintln!("{count} fixture files parsed");
    assert!(count > 0, "no fixtures found in {}", dir.display());
    assert!(failures.is_empty(), "fixtures that do not parse:\n{}", failures.join("\n"));
}

#[test]
fn folder_discovery_finds_every_expected_file() {
    let dir = fixtures_dir();
    let found: BTreeSet<PathBuf> = qforge::reports::find_reports(&dir).expect("walk").into_iter().collect();
    let missing: Vec<String> = expected_records()
        .iter()
        .filter_map(|r| r["file"].as_str())
        .filter(|f| !found.contains(&dir.join(f)))
        .map(str::to_string)
        .collect();
    assert!(missing.is_empty(), "reports not found by name patterns: {missing:?}");
}

#[test]
fn per_module_breakdowns_where_reports_have_them() {
    let dir = fixtures_dir();
    let cases = [("vitis_hls/intxfull_2020_2_add_csynth.xml", "add"), ("vivado_impl/rosebud_2019.1_fpga_util_hier_routed.rpt", "fpga")];
    for (file, top) in cases {
        let path = dir.join(file);
        assert!(path.is_file(), "{} is missing: the fixtures are part of the repository", path.display());
        let Ok(ParsedReport::Synth(r)) = parse_file(&path) else { panic!("{file} does not parse") };
        assert_eq!(r.modules.first().map(|m| m.name.as_str()), Some(top), "{file}");
        assert_eq!(r.modules[0].used.lut, r.used.lut, "{file}: top module row holds the totals");
    }
}

#[test]
fn power_reports_give_energy_per_inference() {
    let path = fixtures_dir().join("vivado_power/ece226codesign_2024.1_myproject_power_routed.rpt");
    let p = match parse_file(&path) {
        Ok(ParsedReport::Power(p)) => p,
        other => panic!("{} is not read as a power report: {other:?}", path.display()),
    };
    // 0.610 W dynamic, ap_clk 5 ns, II 390 cycles → 1.1895 µJ.
    let e = p.energy_per_inference_j(390).unwrap();
    assert!((e - 0.61 * 390.0 * 5e-9).abs() < 1e-15, "{e}");
}
