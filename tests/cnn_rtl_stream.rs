//! Issue 18 item 5: the streaming RTL (`qforge rtl --io stream`): one pixel
//! per clock through line buffers, driven pixel by pixel by `rtl-sim`'s
//! Verilator testbench, compared bit for bit with the Rust fixed-point
//! network: the 2D model with every layer kind (strides, same padding, max
//! pooling over padding, average pooling dividing by the in-image count)
//! pipelined, the Conv1D model with `--cmvm`, and the digits CNN on its 359
//! test images. A conv weight changed by one LSB in the model makes the same
//! Verilog mismatch; the measured latency (from each image's last pixel) is
//! the manifest's. Random stalls paced by the design's `in_ready` keep every
//! bit; global pooling behind the streamed layers is a running accumulator.
mod support;

use qforge::model::TrainedModel;
use std::path::Path;

use support::cnn_specs::{ok, trained, CONV_1D, RICH_2D};

/// Write the streaming design with `extra` options; returns its manifest.
fn stream_rtl(d: &Path, model: &str, out: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["rtl", "--model", model, "--out", out, "--io", "stream", "--json"];
    args.extend_from_slice(extra);
    let m = ok(d, &args)["manifest"].clone();
    let files: Vec<&str> = m["files"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    // The last streamed map goes into a flatten buffer or, before a global pooling, its accumulators.
    let collectors = files.iter().filter(|f| **f == "stream_buffer.v" || f.ends_with("_sgpool.v")).count();
    assert!(files.iter().any(|f| f.ends_with("_sconv.v")) && collectors == 1, "{files:?}");
    assert!(m["stream"]["frame_interval_cycles"].as_u64().unwrap() >= m["stream"]["pixels"].as_u64().unwrap(), "{m}");
    m
}

fn exact(name: &str, sim: &serde_json::Value, samples: u64, manifest: &serde_json::Value) {
    assert_eq!((sim["samples"].as_u64(), sim["mismatches"].as_u64()), (Some(samples), Some(0)), "{name}: {sim}");
    assert_eq!(sim["latency_cycles"], manifest["latency_cycles"], "{name}: {sim}");
}

/// Random stalls (30 % of the cycles) with pixels otherwise back to back:
/// only `in_ready` keeps a next image out of the flush steps and the head's
/// buffer, and every output bit still matches; the wait after the last pixel
/// is at most the manifest's.
fn stalled(name: &str, d: &Path, rtl: &str, manifest: &serde_json::Value) {
    let sim = ok(d, &["rtl-sim", "--model", "m/model.json", "--rtl", rtl, "--samples", "10000", "--stall", "30", "--json"]);
    assert_eq!((sim["samples"].as_u64(), sim["mismatches"].as_u64()), (Some(2000), Some(0)), "{name} stalled: {sim}");
    assert!(sim["latency_cycles"].as_u64() <= manifest["latency_cycles"].as_u64(), "{name} stalled: {sim}");
    assert_eq!(sim["stall_percent"], 30, "{name}: {sim}");
}

#[test]
fn a_streamed_2d_cnn_with_every_layer_kind_is_bit_exact_and_a_changed_weight_is_caught() {
    let dir = trained(RICH_2D);
    let d = dir.path();
    let m = stream_rtl(d, "m/model.json", "rtl_s", &["--pipeline-every", "2"]);
    let files = m["files"].as_array().unwrap();
    assert!(files.iter().any(|f| f.as_str().unwrap().ends_with("_spool.v")), "{files:?}");
    // Its global average pooling accumulates the stream: no 5x9-pixel flatten buffer.
    assert!(files.iter().any(|f| f.as_str().unwrap().ends_with("_sgpool.v")), "{files:?}");
    // 9x9 input, one pixel per clock: the image cannot be in before 80 cycles
    // after its first pixel; the flush of the same-padded layers adds to the interval.
    assert!(m["stream"]["pixels"] == 81 && m["stream"]["frame_interval_cycles"].as_u64().unwrap() > 81, "{m}");
    let sim = ok(d, &["rtl-sim", "--model", "m/model.json", "--rtl", "rtl_s", "--samples", "10000", "--json"]);
    exact("rich stream pipelined", &sim, 2000, &m);
    assert!(sim["latency_cycles"].as_u64().unwrap() > 0, "{sim}");
    stalled("rich stream pipelined", d, "rtl_s", &m);

    // One LSB of the first conv weight changed in the model: the streamed Verilog no longer matches it.
    let mut model = TrainedModel::load(&d.join("m/model.json")).unwrap();
    let w = &mut model.conv_layers[0].kernel_q;
    let k = w.iter().position(|&v| v != 0.0).unwrap();
    w[k] += if w[k] > 0.0 { -1.0 / 32.0 } else { 1.0 / 32.0 };
    std::fs::create_dir_all(d.join("bad")).unwrap();
    model.save(&d.join("bad/model.json")).unwrap();
    let (code, _, stderr) = support::run_in(d, &["rtl-sim", "--model", "bad/model.json", "--rtl", "rtl_s", "--samples", "10000"]);
    assert!(code != 0 && stderr.contains("bit-exactness failure"), "a changed weight went unnoticed (exit {code}): {stderr}");

    // Icarus has no pixel-by-pixel testbench: refused by name, not run wrong.
    let (code, _, stderr) =
        support::run_in(d, &["rtl-sim", "--model", "m/model.json", "--rtl", "rtl_s", "--samples", "10000", "--simulator", "iverilog"]);
    assert!(code == 2 && stderr.contains("use --simulator verilator"), "exit {code}: {stderr}");
}

/// GlobalMaxPooling2D behind the streamed layers: a running maximum per
/// channel, bit-exact, also under stalls.
#[test]
fn a_streamed_global_max_pooling_is_bit_exact() {
    let spec = RICH_2D.replace("global_average_pooling2d", "global_max_pooling2d");
    let dir = trained(&spec);
    let d = dir.path();
    let m = stream_rtl(d, "m/model.json", "rtl_g", &[]);
    let files = m["files"].as_array().unwrap();
    assert!(files.iter().any(|f| f.as_str().unwrap().ends_with("_sgpool.v")), "{files:?}");
    let sim = ok(d, &["rtl-sim", "--model", "m/model.json", "--rtl", "rtl_g", "--samples", "10000", "--json"]);
    exact("global max stream", &sim, 2000, &m);
    stalled("global max stream", d, "rtl_g", &m);
}

#[test]
fn a_streamed_1d_cnn_with_shared_subexpressions_is_bit_exact() {
    let dir = trained(CONV_1D);
    let d = dir.path();
    let m = stream_rtl(d, "m/model.json", "rtl_c", &["--cmvm"]);
    let sim = ok(d, &["rtl-sim", "--model", "m/model.json", "--rtl", "rtl_c", "--samples", "10000", "--json"]);
    exact("1d stream cmvm", &sim, 2000, &m);
    stalled("1d stream cmvm", d, "rtl_c", &m);
}

#[test]
fn the_streamed_digits_cnn_is_bit_exact_on_the_test_images() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/digits_cnn.toml");
    ok(d, &["train", "--spec", spec.to_str().unwrap(), "--data", "digits", "--out", "m", "--json"]);
    let m = stream_rtl(d, "m/model.json", "rtl_d", &["--pipeline-every", "3"]);
    assert_eq!(m["stream"]["pixels"], 64, "{m}");
    let sim = ok(d, &["rtl-sim", "--model", "m/model.json", "--rtl", "rtl_d", "--data", "digits", "--json"]);
    exact("digits stream", &sim, 359, &m);
}

#[test]
fn io_stream_is_refused_for_a_model_without_image_layers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("s.toml"),
        "name = \"flat\"\ninputs = 16\nclasses = [\"g\", \"q\", \"w\", \"z\", \"t\"]\n[[layers]]\ntype = \"dense\"\nunits = 5\nkernel_quantizer = \"quantized_bits(6,0,alpha=1)\"\nbias_quantizer = \"quantized_bits(6,0,alpha=1)\"\n[training]\nepochs = 1\n",
    )
    .unwrap();
    ok(d, &["train", "--spec", "s.toml", "--samples", "200", "--out", "m", "--json"]);
    let (code, _, stderr) = support::run_in(d, &["rtl", "--model", "m/model.json", "--out", "r", "--io", "stream"]);
    assert!(code == 2 && stderr.contains("no image layers"), "exit {code}: {stderr}");
}
