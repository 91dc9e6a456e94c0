//! The architecture the README states, checked on the source: the top-level
//! modules of `src/` import each other without a cycle (data flows one way),
//! only `cli` uses clap, and only `cli` prints to stdout.
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module name → the source files (path, text) that make it up.
fn modules() -> BTreeMap<String, Vec<(String, String)>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut modules: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for entry in walkdir::WalkDir::new(&src).sort_by_file_name() {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let relative = path.strip_prefix(&src).unwrap();
        let first = relative.components().next().unwrap().as_os_str().to_string_lossy().trim_end_matches(".rs").to_string();
        if first == "lib" || first == "main" {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        modules.entry(first).or_default().push((relative.display().to_string(), text));
    }
    modules
}

/// The code of a file without its comment lines.
fn code_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(str::trim).filter(|l| !l.starts_with("//"))
}

fn imports(modules: &BTreeMap<String, Vec<(String, String)>>) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph = BTreeMap::new();
    for (name, files) in modules {
        let mut uses = BTreeSet::new();
        for (_, text) in files {
            for line in code_lines(text) {
                for (at, _) in line.match_indices("crate::") {
                    let rest = &line[at + "crate::".len()..];
                    let target: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    if &target != name && modules.contains_key(&target) {
                        uses.insert(target);
                    }
                }
            }
        }
        graph.insert(name.clone(), uses);
    }
    graph
}

/// A cycle through `start`, if any (depth-first search).
fn cycle_from(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    fn walk(
        graph: &BTreeMap<String, BTreeSet<String>>,
        start: &str,
        at: &str,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for next in &graph[at] {
            if next == start {
                path.push(next.clone());
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(graph, start, next, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_string()];
    walk(graph, start, start, &mut path, &mut BTreeSet::new()).then_some(path)
}

#[test]
fn modules_import_each_other_without_a_cycle() {
    let modules = modules();
    let graph = imports(&modules);
    assert!(graph["hls"].contains("tools") && graph["model"].contains("data"), "the scan sees imports: {graph:?}");
    let cycles: Vec<String> = graph.keys().filter_map(|m| cycle_from(&graph, m)).map(|c| c.join(" → ")).collect();
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

/// `print!`/`println!`/`eprint!`/`eprintln!` (stages report through events).
fn prints(line: &str) -> bool {
    ["print!(", "println!("].iter().any(|m| {
        line.match_indices(m).any(|(at, _)| {
            let before = line[..at].trim_end_matches('e');
            !before.ends_with(|c: char| c.is_alphanumeric() || c == '_')
        })
    })
}

#[test]
fn only_cli_uses_clap_and_prints() {
    let mut offenders = Vec::new();
    for (name, files) in modules().iter().filter(|(name, _)| name.as_str() != "cli") {
        for (file, text) in files {
            for line in code_lines(text) {
                if line.contains("clap::") || prints(line) {
                    offenders.push(format!("{name}: {file}: {line}"));
                }
            }
        }
    }
    assert!(offenders.is_empty(), "outside cli:\n{}", offenders.join("\n"));
}
