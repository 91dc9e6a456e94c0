//! Issue 18, item 4: io_stream HLS C++ for convolutional models. `qforge hls
//! --io stream` writes line-buffer conv and pooling over hls::stream, and
//! `qforge csim` (g++, the real ap_fixed.h and hls_stream.h) reproduces the
//! Rust fixed-point network bit for bit on 2 000 test images (2D and 1D, both
//! types modes, latency and resource strategies) and on the 359 digits test
//! images. A conv weight changed by one LSB shows up as mismatches.
mod support;

use std::path::Path;
use support::cnn_specs::{train_in_both_modes, CONV_1D, RICH_2D};

fn ok(d: &Path, args: &[&str]) -> serde_json::Value {
    let (code, json, stderr) = support::run_in(d, args);
    assert_eq!(code, 0, "{args:?}\n{stderr}");
    json
}

/// Train `spec` on 10 000 synthetic images, write io_stream projects in each
/// types mode with each (strategy, reuse) and C-simulate the 2 000 test images.
fn stream_csim_matches(name: &str, spec: &str, strategies: &[(&str, &str)], depth_of_first: usize) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (mode, model) in train_in_both_modes(d, name, spec) {
        for (strategy, reuse) in strategies {
            let project = format!("s_{mode}_{strategy}");
            ok(d, &["hls", "--model", model, "--out", &project, "--io", "stream", "--strategy", strategy, "--reuse", reuse]);
            let cpp = std::fs::read_to_string(d.join(&project).join("firmware/myproject.cpp")).unwrap();
            assert!(cpp.contains("nnet::conv_2d_cl_stream<") && cpp.contains("#pragma HLS DATAFLOW"), "{cpp}");
            let first_fifo = format!("#pragma HLS STREAM variable=layer2_out depth={depth_of_first}");
            assert!(cpp.contains(&first_fifo), "{name}: no `{first_fifo}` in\n{cpp}");
            let csim = ok(d, &["csim", "--project", &project, "--samples", "10000", "--json"]);
            assert_eq!((csim["samples"].as_u64(), csim["mismatches"].as_u64()), (Some(2000), Some(0)), "{name} {mode} {strategy}: {csim}");
        }
    }
    // One LSB of one conv weight changed: the simulation must notice.
    let project = format!("s_qforge_{}", strategies[0].0);
    let header = d.join(&project).join("firmware/weights/w2.h");
    let text = std::fs::read_to_string(&header).unwrap();
    let (head, list) = text.split_once('{').unwrap();
    let (first, rest) = list.split_once(',').unwrap();
    let changed: i64 = first.trim().parse::<i64>().unwrap() ^ 1;
    std::fs::write(&header, format!("{head}{{{changed},{rest}")).unwrap();
    let (code, _, stderr) = support::run_in(d, &["csim", "--project", &project, "--samples", "10000"]);
    assert!(code != 0 && stderr.contains("bit-exactness failure"), "{name}: a changed weight went unnoticed (exit {code}): {stderr}");
}

#[test]
fn a_2d_cnn_with_every_layer_kind_csims_bit_exact_in_io_stream() {
    // conv 3x3 stride (2, 1) same on 9x9: 5 x 9 = 45 output pixels.
    stream_csim_matches("rich_cnn", RICH_2D, &[("latency", "1"), ("resource", "1")], 45);
}

#[test]
fn a_1d_cnn_csims_bit_exact_in_io_stream_with_reuse() {
    // conv1d k3 stride 2 same on 16 steps: 8 output pixels; flatten packs [1, 3, 4].
    stream_csim_matches("cnn_1d", CONV_1D, &[("resource", "3"), ("latency", "3")], 8);
}

#[test]
fn the_digits_cnn_csims_bit_exact_in_io_stream() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let spec = support::example("digits_cnn.toml");
    ok(d, &["train", "--spec", spec.to_str().unwrap(), "--data", "digits", "--out", "m"]);
    ok(d, &["hls", "--model", "m/model.json", "--out", "s", "--io", "stream", "--data", "digits"]);
    let csim = ok(d, &["csim", "--project", "s", "--data", "digits", "--json"]);
    assert_eq!((csim["samples"].as_u64(), csim["mismatches"].as_u64()), (Some(359), Some(0)), "{csim}");
}

#[test]
fn a_reuse_factor_the_conv_kernel_cannot_take_is_refused_in_io_stream() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("s.toml"), CONV_1D).unwrap();
    ok(d, &["train", "--spec", "s.toml", "--samples", "500", "--out", "m"]);
    let (code, _, stderr) = support::run_in(d, &["hls", "--model", "m/model.json", "--out", "s", "--io", "stream", "--reuse", "2"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("conv `conv1d_1`") && stderr.contains("9 x 4") && stderr.contains("valid values: 1, 3"), "{stderr}");
    assert!(!d.join("s").exists(), "nothing is written on refusal");
    // io_parallel projects hold no stream code.
    ok(d, &["hls", "--model", "m/model.json", "--out", "p"]);
    let cpp = std::fs::read_to_string(d.join("p/firmware/myproject.cpp")).unwrap();
    assert!(!cpp.contains("hls::stream") && !d.join("p/firmware/nnet_utils/nnet_stream.h").exists());
}
