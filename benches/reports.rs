//! Throughput of the report parsers: parse every file of the fixture corpus
//! (`tests/fixtures/reports`, or `$QFORGE_FIXTURES`) repeatedly from
//! memory and print reports per second, overall, for csynth.xml files, and
//! per tool. Run: `cargo bench --bench reports`. Goal: ≥ 5 000 csynth.xml/s.
use qforge::reports::parse_bytes;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn main() {
    let dir = std::env::var_os("QFORGE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reports"));
    let files: Vec<(PathBuf, Vec<u8>)> = walkdir::WalkDir::new(&dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .filter(|e| !matches!(e.file_name().to_str(), Some("MANIFEST.md" | "expected.jsonl")))
        .map(|e| (e.path().to_path_buf(), std::fs::read(e.path()).expect("read fixture")))
        .collect();
    assert!(!files.is_empty(), "no fixtures under {}", dir.display());
    let csynth: Vec<&(PathBuf, Vec<u8>)> = files.iter().filter(|(p, _)| p.to_string_lossy().ends_with("csynth.xml")).collect();

    let all_refs: Vec<&(PathBuf, Vec<u8>)> = files.iter().collect();
    let (n, t) = run(&all_refs, Duration::from_secs(3));
    let bytes: usize = files.iter().map(|(_, b)| b.len()).sum();
    println!(
        "all reports : {} files, {:.0} reports/s, {:.1} MB/s",
        files.len(),
        n as f64 / t,
        (bytes as f64 * n as f64 / files.len() as f64) / t / 1e6
    );
    let (n, t) = run(&csynth, Duration::from_secs(3));
    println!("csynth.xml  : {} files, {:.0} reports/s", csynth.len(), n as f64 / t);

    let mut by_folder: BTreeMap<String, Vec<&(PathBuf, Vec<u8>)>> = BTreeMap::new();
    for f in &files {
        let folder = f.0.parent().and_then(|p| p.file_name()).map_or("?".into(), |n| n.to_string_lossy().into_owned());
        by_folder.entry(folder).or_default().push(f);
    }
    for (folder, group) in by_folder {
        let (n, t) = run(&group, Duration::from_millis(700));
        println!("  {folder:<13}: {:>3} files, {:.0} reports/s", group.len(), n as f64 / t);
    }
    hostile_inputs();
}

/// How fast hostile inputs are refused (tests/reports_bad_input.rs checks that
/// they are; the time is measured here, not asserted on a shared machine).
fn hostile_inputs() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let chunk = "<RtlPorts><name>x</name></RtlPorts>\n".repeat(1 << 12);
    let mut bytes = b"<profile><InterfaceSummary>\n".to_vec();
    while (bytes.len() as u64) < qforge::reports::MAX_REPORT_BYTES - 100_000 {
        bytes.extend_from_slice(chunk.as_bytes());
    }
    let start = Instant::now();
    assert!(parse_bytes(Path::new("big.xml"), &bytes).is_err());
    println!("unclosed {:.0} MB csynth.xml refused in {:.2} s", bytes.len() as f64 / 1e6, start.elapsed().as_secs_f64());
    let big = tmp.path().join("huge_csynth.xml");
    while (bytes.len() as u64) <= qforge::reports::MAX_REPORT_BYTES {
        bytes.extend_from_slice(chunk.as_bytes());
    }
    std::fs::write(&big, &bytes).expect("write big file");
    let start = Instant::now();
    assert!(qforge::reports::parse_file(&big).is_err());
    println!("over-limit {:.0} MB file refused in {:.3} s", bytes.len() as f64 / 1e6, start.elapsed().as_secs_f64());
}

/// Parse the files round-robin for at least `min`; returns (reports, seconds).
fn run(files: &[&(PathBuf, Vec<u8>)], min: Duration) -> (usize, f64) {
    for (p, b) in files {
        parse_bytes(p, b).unwrap_or_else(|e| panic!("fixture does not parse: {e}"));
    }
    let start = Instant::now();
    let mut parsed = 0usize;
    while start.elapsed() < min {
        for (p, b) in files {
            std::hint::black_box(parse_bytes(p, b).ok());
            parsed += 1;
        }
    }
    (parsed, start.elapsed().as_secs_f64())
}
