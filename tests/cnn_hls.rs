//! Issue 18: HLS C++ for convolutional models (io_parallel): `qforge hls`
//! writes conv and pooling steps, and `qforge csim` (g++, the real
//! ap_fixed.h) reproduces the Rust fixed-point network bit for bit on 2 000
//! test images, in qforge and in hls4ml types mode, 2D and 1D. A weight changed
//! by one bit in the written project shows up as mismatches, so the
//! comparison is not vacuous.
mod support;

use std::path::Path;

/// Every 2D piece: strides, both paddings, no bias + folded batch norm, a
/// quantized linear output, max pooling over padding (hls4ml's pad value),
/// a stride-1 average pooling, global average pooling.
use support::cnn_specs::{train_in_both_modes, CONV_1D, RICH_2D};

fn ok(d: &Path, args: &[&str]) -> serde_json::Value {
    let (code, json, stderr) = support::run_in(d, args);
    assert_eq!(code, 0, "{args:?}\n{stderr}");
    json
}

/// Train `spec` on 10 000 synthetic images (2 000 in the test split), write
/// the HLS project in each types mode and C-simulate it on the test split.
fn csim_matches(name: &str, spec: &str) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (mode, model) in train_in_both_modes(d, name, spec) {
        let project = format!("hls_{mode}");
        ok(d, &["hls", "--model", model, "--out", &project]);
        let cpp = std::fs::read_to_string(d.join(&project).join("firmware/myproject.cpp")).unwrap();
        assert!(cpp.contains("nnet::conv_2d_cl<") && cpp.contains("nnet::pooling2d_cl<"), "{cpp}");
        let csim = ok(d, &["csim", "--project", &project, "--samples", "10000", "--json"]);
        assert_eq!((csim["samples"].as_u64(), csim["mismatches"].as_u64()), (Some(2000), Some(0)), "{name} {mode}: {csim}");
    }
    // One bit of one conv weight changed: the simulation must notice.
    let header = d.join("hls_qforge/firmware/weights/w2.h");
    let text = std::fs::read_to_string(&header).unwrap();
    let (head, list) = text.split_once('{').unwrap();
    let (first, rest) = list.split_once(',').unwrap();
    let flipped: i64 = first.trim().parse::<i64>().unwrap() ^ 1;
    std::fs::write(&header, format!("{head}{{{flipped},{rest}")).unwrap();
    let (code, _, stderr) = support::run_in(d, &["csim", "--project", "hls_qforge", "--samples", "10000"]);
    assert!(code != 0 && stderr.contains("bit-exactness failure"), "{name}: a changed weight went unnoticed (exit {code}): {stderr}");
}

#[test]
fn a_2d_cnn_with_every_layer_kind_csims_bit_exact() {
    csim_matches("rich_cnn", RICH_2D);
}

#[test]
fn a_1d_cnn_csims_bit_exact() {
    csim_matches("cnn_1d", CONV_1D);
}
