//! `qforge import` refuses what it cannot take with exit 2, an error naming
//! the file and the fault, and writes nothing.
mod support;

use std::path::{Path, PathBuf};
use support::run_in;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import").join(name)
}

/// Run `qforge import ARGS --out out` in a fresh folder; check exit 2, that
/// nothing was written, and return stderr.
fn refused(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut all: Vec<&str> = vec!["import"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--out", "out"]);
    let (code, _, stderr) = run_in(dir.path(), &all);
    assert_eq!(code, 2, "{args:?}: {stderr}");
    assert!(!dir.path().join("out").exists(), "{args:?} wrote something");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn unsupported_layers_and_quantizers_are_named() {
    // The ternary fixture (imported since binary/ternary are taken) with kernel quantizers qforge still refuses.
    let dir = tempfile::tempdir().unwrap();
    let ternary = std::fs::read_to_string(fixture("ternary.json")).unwrap();
    let quantizer = r#""class_name": "ternary", "config": {"alpha": 1,"#;
    assert_eq!(ternary.matches(quantizer).count(), 2, "the kernel quantizer and the initializer's");
    for (name, replacement, wanted) in [
        ("bad_ulaw", r#""class_name": "quantized_ulaw", "config": {"alpha": 1,"#, "`quantized_ulaw`"),
        ("bad_ternary_auto", r#""class_name": "ternary", "config": {"alpha": "auto_po2","#, "alpha=auto_po2"),
    ] {
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, ternary.replace(quantizer, replacement)).unwrap();
        let e = refused(&[s(&path), "--weights", s(&fixture("ternary-weights.h5"))]);
        assert!(e.contains(&format!("{name}.json")) && e.contains("`fc_ternary` (QDense)") && e.contains(wanted), "{e}");
    }
    let e = refused(&[s(&dir.path().join("bad_ulaw.json")), "--weights", s(&fixture("ternary-weights.h5"))]);
    assert!(e.contains("quantized_bits") && e.contains("binary, ternary"), "what is supported: {e}");
    let e = refused(&[s(&fixture("bad_conv.json")), "--weights", s(&fixture("bad_conv-weights.h5"))]);
    assert!(e.contains("`conv` (Conv1D)") && e.contains("not supported") && e.contains("QDense"), "{e}");
    let e = refused(&[s(&fixture("bad_tanh.json")), "--weights", s(&fixture("bad_tanh-weights.h5"))]);
    assert!(e.contains("`fc_tanh` (Dense)") && e.contains("`tanh`"), "{e}");
}

#[test]
fn truncated_and_corrupt_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let full = std::fs::read(fixture("qkeras_mlp.full.h5")).unwrap();
    let truncated = dir.path().join("truncated.h5");
    std::fs::write(&truncated, &full[..full.len() / 3]).unwrap();
    let e = refused(&[s(&truncated)]);
    assert!(e.contains("truncated.h5"), "{e}");
    let weights = std::fs::read(fixture("qkeras_mlp-weights.h5")).unwrap();
    let cut = dir.path().join("cut-weights.h5");
    std::fs::write(&cut, &weights[..weights.len() / 2]).unwrap();
    let e = refused(&[s(&fixture("qkeras_mlp.json")), "--weights", s(&cut)]);
    assert!(e.contains("cut-weights.h5"), "{e}");
    let zip = dir.path().join("broken.keras");
    std::fs::write(&zip, b"PK\x03\x04 this is not the rest of a zip archive").unwrap();
    let e = refused(&[s(&zip)]);
    assert!(e.contains("broken.keras") && e.contains("zip"), "{e}");
    let e = refused(&[s(&fixture("qkeras_mlp-weights.h5"))]);
    assert!(e.contains("weights only"), "{e}");
    let e = refused(&[s(&fixture("qkeras_mlp.json"))]);
    assert!(e.contains("--weights"), "{e}");
}

#[test]
fn missing_and_misshapen_weights_are_named() {
    // functional_po2's architecture with another model's weights: bn_in has none there.
    let e = refused(&[s(&fixture("functional_po2.json")), "--weights", s(&fixture("float_mlp-weights.h5"))]);
    assert!(e.contains("float_mlp-weights.h5") && e.contains("`bn_in` (BatchNormalization)") && e.contains("missing"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let arch = std::fs::read_to_string(fixture("qkeras_mlp.json")).unwrap().replacen("\"units\": 16", "\"units\": 17", 1);
    let edited = dir.path().join("wider.json");
    std::fs::write(&edited, arch).unwrap();
    let e = refused(&[s(&edited), "--weights", s(&fixture("qkeras_mlp-weights.h5"))]);
    assert!(e.contains("`fc1` (QDense)") && e.contains("[10, 16]") && e.contains("[10, 17]"), "{e}");
}

#[test]
fn a_config_naming_an_unknown_layer_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cfg.yml");
    std::fs::write(&config, "Model:\n  Precision: ap_fixed<16,6>\nLayerName:\n  fc9:\n    Precision:\n      weight: ap_fixed<8,2>\n")
        .unwrap();
    let e = refused(&[s(&fixture("qkeras_mlp.full.h5")), "--config", s(&config)]);
    assert!(e.contains("cfg.yml") && e.contains("no layer `fc9`") && e.contains("fc1"), "{e}");
    std::fs::write(&config, "Model: [unclosed\n").unwrap();
    let e = refused(&[s(&fixture("qkeras_mlp.full.h5")), "--config", s(&config)]);
    assert!(e.contains("cfg.yml"), "{e}");
    std::fs::write(&config, "Model:\n  Precision: ap_fixed<16,6,ROUNDISH>\n").unwrap();
    let e = refused(&[s(&fixture("qkeras_mlp.full.h5")), "--config", s(&config)]);
    assert!(e.contains("cfg.yml") && e.contains("rounding"), "{e}");
}
