//! Fuzzing by proptest: every parser is fed real fixtures mutated at random
//! (truncation, byte flips, deletions, duplicated spans, inserted tokens that
//! matter to the formats) and must return `Ok` or an `Err` naming the file,
//! never panic. Cases per parser: `QFORGE_FUZZ_CASES` (default 400).
use proptest::prelude::*;
use proptest::sample::Index;
use qforge::reports::parse_bytes;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn fixtures_dir() -> PathBuf {
    std::env::var_os("QFORGE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reports"))
}

/// Fixture bytes per format folder, loaded once.
fn corpus(folders: &[&str]) -> Vec<(PathBuf, Vec<u8>)> {
    static ALL: OnceLock<Vec<(String, PathBuf, Vec<u8>)>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        walkdir::WalkDir::new(fixtures_dir())
            .sort_by_file_name()
            .into_iter()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_file())
            .filter_map(|e| {
                let folder = e.path().parent()?.file_name()?.to_str()?.to_string();
                Some((folder, e.path().to_path_buf(), std::fs::read(e.path()).ok()?))
            })
            .collect()
    });
    let picked: Vec<_> = all.iter().filter(|(f, _, _)| folders.contains(&f.as_str())).map(|(_, p, b)| (p.clone(), b.clone())).collect();
    assert!(!picked.is_empty(), "no fixtures for {folders:?}");
    picked
}

/// Tokens that steer parsers into their edge cases.
const TOKENS: &[&str] = &[
    "<",
    ">",
    "</",
    "/>",
    "<a>",
    "</profile>",
    "<![CDATA[",
    "&amp;",
    "&#0;",
    "&bogus;",
    "\"",
    "|",
    "+---+",
    "\n",
    "\r\n",
    ":",
    "undef",
    "-",
    "NA",
    "<0.001",
    "1e308",
    "-1",
    "99999999999999999999999",
    "0.5",
    "é",
    "\u{FEFF}",
    "{",
    "}",
    "[",
    ",",
    "\\",
    "Table of Contents",
    "| Site Type | Used |",
    "<LUT>",
    "value=\"",
    "Yosys ",
];

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(Index),
    Flip(Index, u8),
    Delete(Index, usize),
    Duplicate(Index, usize),
    Insert(Index, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<Index>(), 1usize..400).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (any::<Index>(), 1usize..400).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
        (any::<Index>(), 0..TOKENS.len()).prop_map(|(i, t)| Mutation::Insert(i, t)),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    match m {
        Mutation::Truncate(i) => bytes.truncate(i.index(bytes.len())),
        Mutation::Flip(i, b) => {
            let at = i.index(bytes.len());
            bytes[at] = *b;
        }
        Mutation::Delete(i, n) => {
            let at = i.index(bytes.len());
            let end = (at + n).min(bytes.len());
            bytes.drain(at..end);
        }
        Mutation::Duplicate(i, n) => {
            let at = i.index(bytes.len());
            let end = (at + n).min(bytes.len());
            let span = bytes[at..end].to_vec();
            bytes.splice(at..at, span);
        }
        Mutation::Insert(i, t) => {
            let at = i.index(bytes.len());
            bytes.splice(at..at, TOKENS[*t].bytes());
        }
    }
}

fn cases() -> u32 {
    std::env::var("QFORGE_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(400)
}

fn check(folders: &[&str], file: Index, mutations: &[Mutation]) -> Result<(), TestCaseError> {
    let corpus = corpus(folders);
    let (path, original) = &corpus[file.index(corpus.len())];
    let mut bytes = original.clone();
    for m in mutations {
        apply(&mut bytes, m);
    }
    // The property: no panic (a panic fails the case), and errors name the file.
    if let Err(e) = parse_bytes(path, &bytes) {
        prop_assert!(e.to_string().contains(&*path.to_string_lossy()), "error without the file name: {}", e);
    }
    Ok(())
}

macro_rules! fuzz_parser {
    ($name:ident, $folders:expr) => {
        proptest! {
            #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]
            #[test]
            fn $name(file in any::<Index>(), mutations in prop::collection::vec(mutation(), 1..6)) {
                check(&$folders, file, &mutations)?;
            }
        }
    };
}

fuzz_parser!(hls_csynth_never_panics, ["vivado_hls", "vitis_hls"]);
fuzz_parser!(hls_export_never_panics, ["hls_export"]);
fuzz_parser!(vivado_utilization_never_panics, ["vivado_synth", "vivado_impl"]);
fuzz_parser!(vivado_power_never_panics, ["vivado_power"]);
fuzz_parser!(bambu_never_panics, ["bambu"]);
fuzz_parser!(yosys_never_panics, ["yosys"]);
