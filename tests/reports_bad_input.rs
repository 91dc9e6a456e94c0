//! Bad input never panics and always names the file: truncated reports,
//! wrong encodings, unknown XML, reports of failed runs, oversized files,
//! folders without reports.
use qforge::reports::{parse_bytes, parse_file, scan_paths, ParsedReport, MAX_REPORT_BYTES};
use std::path::{Path, PathBuf};

fn fixtures_dir() -> PathBuf {
    std::env::var_os("QFORGE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reports"))
}

/// One fixture of each format, picked by folder (whichever file sorts first).
fn one_of_each_format() -> Vec<PathBuf> {
    let dir = fixtures_dir();
    let mut out = Vec::new();
    for sub in ["vivado_hls", "vitis_hls", "hls_export", "vivado_synth", "vivado_impl", "vivado_power", "yosys", "bambu"] {
        let mut files: Vec<PathBuf> =
            std::fs::read_dir(dir.join(sub)).map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
        files.sort();
        out.extend(files.into_iter().next());
    }
    assert!(out.len() >= 6, "fixture folders missing under {}", dir.display());
    out
}

fn all_fixtures() -> Vec<PathBuf> {
    walkdir::WalkDir::new(fixtures_dir())
        .sort_by_file_name()
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| !matches!(p.file_name().and_then(|n| n.to_str()), Some("MANIFEST.md" | "expected.jsonl")))
        .collect()
}

#[test]
fn truncated_reports_are_errors_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for src in all_fixtures() {
        let bytes = std::fs::read(&src).unwrap();
        for fraction in
            [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.97, 0.99]
        {
            // Cut at a character boundary so the error is about truncation, not encoding.
            let mut cut = (bytes.len() as f64 * fraction) as usize;
            while cut > 0 && (bytes[cut] & 0xC0) == 0x80 {
                cut -= 1;
            }
            let path = tmp.path().join(format!("cut_{fraction}_{}", src.file_name().unwrap().to_string_lossy()));
            std::fs::write(&path, &bytes[..cut]).unwrap();
            match parse_file(&path) {
                Err(e) => assert!(e.to_string().contains(&*path.to_string_lossy()), "error does not name the file: {e}"),
                Ok(_) => panic!("{} cut at {fraction} ({cut} of {} bytes) parsed as if whole", src.display(), bytes.len()),
            }
            checked += 1;
        }
    }
    eprintln!("{checked} truncated copies rejected");
}

#[test]
fn wrong_encodings() {
    let p = Path::new("dir/report.xml");
    for src in one_of_each_format() {
        let bytes = std::fs::read(&src).unwrap();
        // Latin-1 byte in the middle: an error with the line it is on.
        let mut latin1 = bytes.clone();
        let mid = latin1.iter().enumerate().skip(latin1.len() / 2).find(|(_, b)| **b == b'\n').map_or(0, |(i, _)| i);
        latin1.insert(mid + 1, 0xE9);
        let err = parse_bytes(p, &latin1).unwrap_err().to_string();
        assert!(err.starts_with("dir/report.xml:") && err.contains("UTF-8"), "{}: {err}", src.display());
        // UTF-16 without a BOM: NUL bytes.
        let text = String::from_utf8(bytes.clone()).unwrap();
        let utf16: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        assert!(parse_bytes(p, &utf16).is_err());
        // UTF-16 with a BOM decodes to the same record.
        let with_bom: Vec<u8> = [0xFF, 0xFE].into_iter().chain(utf16).collect();
        assert_eq!(parse_bytes(&src, &with_bom).unwrap(), parse_bytes(&src, &bytes).unwrap(), "{}", src.display());
    }
}

#[test]
fn unknown_formats_are_named() {
    let p = Path::new("x/odd.xml");
    let err = parse_bytes(p, b"<?xml version=\"1.0\"?>\n<synthesis><a>1</a></synthesis>").unwrap_err().to_string();
    assert!(err.contains("x/odd.xml") && err.contains("<synthesis>"), "{err}");
    let err = parse_bytes(p, b"<profile><Something>3</Something></profile>").unwrap_err().to_string();
    assert!(err.contains("unknown <profile>"), "{err}");
    let err = parse_bytes(p, b"{\"not\": \"yosys\"}").unwrap_err().to_string();
    assert!(err.contains("unknown JSON"), "{err}");
    let err = parse_bytes(p, b"hello world\n").unwrap_err().to_string();
    assert!(err.contains("not a report"), "{err}");
    assert!(parse_bytes(p, b"").is_err());
    assert!(parse_bytes(p, b"   \n").is_err());
    assert!(parse_bytes(p, &[0u8, 1, 2, 3, 0xFF]).is_err());
}

#[test]
fn reports_of_failed_runs_are_errors() {
    let p = Path::new("solution1/syn/report/top_csynth.xml");
    let no_estimates = b"<profile><ReportVersion><Version>2019.2</Version></ReportVersion>\
        <UserAssignments><Part>xc7z020</Part><TopModelName>top</TopModelName></UserAssignments></profile>";
    let err = parse_bytes(p, no_estimates).unwrap_err().to_string();
    assert!(err.contains("failed run"), "{err}");
    let all_undef = b"<profile><PerformanceEstimates><SummaryOfOverallLatency>\
        <Best-caseLatency>undef</Best-caseLatency></SummaryOfOverallLatency></PerformanceEstimates></profile>";
    assert!(parse_bytes(p, all_undef).is_err());
    let util = "Copyright 1986-2019 Xilinx, Inc. All Rights Reserved.\n\
        | Tool Version : Vivado v.2019.2 (lin64) Build 1\n| Command      : report_utilization -file u.rpt\n\
        | Design       : top\n\nERROR: [Common 17-53] User Exception: No open design.\n";
    let err = parse_bytes(Path::new("u.rpt"), util.as_bytes()).unwrap_err().to_string();
    assert!(err.starts_with("u.rpt") && err.contains("failed"), "{err}");
    let power = "| Command : report_power -file p.rpt\n\nPower Report\nOn-Chip\nERROR: no design\n";
    assert!(parse_bytes(Path::new("p.rpt"), power.as_bytes()).is_err());
    let bambu = b"<?xml version=\"1.0\"?><bambu_results bambu_version=\"Version: PandA 2023.1\"/>";
    assert!(parse_bytes(Path::new("bambu_results_0.xml"), bambu).is_err());
}

#[test]
fn garbage_numbers_name_line_and_field() {
    let xml = "<profile>\n<AreaEstimates>\n<Resources>\n<LUT>12k</LUT>\n</Resources>\n</AreaEstimates>\n</profile>";
    let err = parse_bytes(Path::new("a.xml"), xml.as_bytes()).unwrap_err().to_string();
    assert!(err.contains("a.xml:4") && err.contains("LUT"), "{err}");
}

#[test]
fn oversized_files_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let big = tmp.path().join("huge_csynth.xml");
    let chunk = "<RtlPorts><name>x</name></RtlPorts>\n".repeat(1 << 12);
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
        f.write_all(b"<profile><InterfaceSummary>\n").unwrap();
        while f.get_ref().metadata().unwrap().len() < 50 * 1000 * 1000 {
            f.write_all(chunk.as_bytes()).unwrap();
            f.flush().unwrap();
        }
    }
    // How fast these are refused is measured by `cargo bench --bench reports`.
    let err = parse_file(&big).unwrap_err().to_string();
    assert!(err.contains("huge_csynth.xml") && err.contains("MB"), "{err}");
    // Just under the limit: parsed (or refused) quickly, without running out of memory.
    let mut bytes = b"<profile><InterfaceSummary>\n".to_vec();
    while (bytes.len() as u64) < MAX_REPORT_BYTES - 100_000 {
        bytes.extend_from_slice(chunk.as_bytes());
    }
    assert!(parse_bytes(Path::new("big.xml"), &bytes).is_err(), "unclosed elements must be an error");
    // Deep nesting is refused rather than overflowing the stack.
    let deep = "<profile>".to_string() + &"<a>".repeat(100_000);
    assert!(parse_bytes(Path::new("deep.xml"), deep.as_bytes()).is_err());
}

#[test]
fn empty_folder_and_mixed_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("notes.txt"), "nothing here").unwrap();
    let scan = scan_paths(std::slice::from_ref(&empty));
    assert!(scan.reports.is_empty());
    assert_eq!(scan.errors.len(), 1);
    assert!(scan.errors[0].to_string().contains("empty"));

    let good = one_of_each_format().remove(0);
    let bad = tmp.path().join("bad_csynth.xml");
    std::fs::write(&bad, "<profile><AreaEstimates>").unwrap();
    let missing = tmp.path().join("missing_csynth.xml");
    let scan = scan_paths(&[bad.clone(), good.clone(), missing.clone()]);
    assert_eq!(scan.reports.len(), 1);
    assert!(matches!(&scan.reports[0], ParsedReport::Synth(r) if r.source_file == good));
    assert_eq!(scan.errors.len(), 2);
    assert!(scan.errors[0].to_string().contains("bad_csynth.xml"));
    assert!(scan.errors[1].to_string().contains("missing_csynth.xml"));
}
