//! `qforge estimate`'s energy against QKeras 0.9's own QTools run on the same
//! networks (tests/fixtures/qtools: each spec and the `.qtools.json` that
//! scripts/peers/make-qtools-fixtures.sh wrote with QTools, process
//! "horowitz", inference, fixed weights and activations, min_sram_size 0).
//! QTools rounds every term to 2 decimals, so qforge's term, rounded the
//! same way, must be the same number. Layers are matched in order: each of
//! qforge's rows against QTools' next non-activation layer, and the row's
//! `outputs` against the activation layer after it, if any.
mod support;
use std::path::Path;
use support::run_in;

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Every term of `spec` that differs from QTools: (layer, term, qforge, qtools).
fn differences(spec: &Path) -> Vec<(String, &'static str, f64, f64)> {
    let want: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(spec.with_extension("qtools.json")).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (code, got, err) = run_in(dir.path(), &["estimate", "--spec", spec.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{}: {err}", spec.display());
    let qtools = want["layers"].as_array().unwrap();
    let is_activation = |l: &serde_json::Value| matches!(l["class"].as_str(), Some("QActivation" | "Activation"));
    let mut next = 0;
    let mut out = Vec::new();
    for row in got["layers"].as_array().unwrap() {
        let name = row["name"].as_str().unwrap().to_string();
        while is_activation(&qtools[next]) {
            next += 1;
        }
        let layer = &qtools[next];
        next += 1;
        let e = &row["energy"];
        for term in ["inputs", "parameters", "op_cost"] {
            let (q, t) = (round2(e[term].as_f64().unwrap()), layer[term].as_f64().unwrap());
            if (q - t).abs() > 1e-9 {
                out.push((name.clone(), term, q, t));
            }
        }
        let act_outputs = qtools.get(next).filter(|l| is_activation(l)).map_or(0.0, |l| l["outputs"].as_f64().unwrap());
        let q = round2(e["outputs"].as_f64().unwrap());
        if (q - act_outputs).abs() > 1e-9 {
            out.push((name, "outputs", q, act_outputs));
        }
    }
    assert!(qtools[next..].iter().all(is_activation), "{}: QTools has layers qforge did not price", spec.display());
    // QTools' total is the unrounded sum, truncated to an integer.
    let total = got["totals"]["energy_pj"].as_f64().unwrap();
    let want_total = want["qtools_total_pj"].as_f64().unwrap();
    if total.floor() != want_total {
        out.push(("(total)".into(), "energy_pj", total, want_total));
    }
    out
}

#[test]
fn energy_terms_are_qtools_own() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/qtools");
    let mut specs: Vec<_> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "toml")).collect();
    specs.sort();
    assert!(specs.len() >= 16, "fixtures missing in {}", dir.display());
    let mut all = Vec::new();
    for spec in &specs {
        for (layer, term, q, t) in differences(spec) {
            all.push(format!("{}: {layer} {term}: qforge {q} QTools {t}", spec.file_name().unwrap().to_string_lossy()));
        }
    }
    assert!(all.is_empty(), "{} terms differ from QTools:\n{}", all.len(), all.join("\n"));
}
