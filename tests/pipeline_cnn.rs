//! Issue 18 item 5: `qforge run` with a CNN on the UCI digits (`[data] path =
//! "digits"`), real Yosys: train, a 3-trial search over the conv and dense
//! quantizers, Verilog, per-layer synthesis of the baseline and the search's
//! best, the history, gate-level switching of each netlist (bit-exact on the
//! test images), the guarded refit and the summary. The model is a small CNN
//! (conv 3×3×2 stride 2, max pool, dense 10) so the run takes minutes.
mod support;

use qforge::store::{RunFilter, RunKind, RunStatus, Store};

const SPEC: &str = r#"
name = "tiny_digits_cnn"
inputs = [8, 8, 1]
input_type = "ap_fixed<16,6>"
classes = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]
[[layers]]
type = "conv2d"
filters = 2
kernel_size = 3
strides = 2
kernel_quantizer = "quantized_bits(4,0,alpha=1)"
bias_quantizer = "quantized_bits(4,0,alpha=1)"
activation = "relu"
quantizer = "quantized_relu(4)"
[[layers]]
type = "max_pooling2d"
pool_size = 2
padding = "same"
[[layers]]
type = "flatten"
[[layers]]
type = "dense"
units = 10
kernel_quantizer = "quantized_bits(4,0,alpha=1)"
bias_quantizer = "quantized_bits(4,0,alpha=1)"
[[layers]]
type = "activation"
activation = "softmax"
[training]
learning_rate = 0.01
batch_size = 32
epochs = 4
seed = 7
"#;

const SPACE: &str = r#"
model = "tiny_cnn.toml"
[reference]
kernel = "quantized_bits(16,6)"
bias = "quantized_bits(16,6)"
activation = "quantized_relu(16,6)"
[search]
goal = "energy"
tuner = "random"
max_trials = 3
epochs = 4
seed = 3
[candidates]
kernel = ["quantized_bits(2,1,1,alpha=1)", "quantized_bits(3,0,1,alpha=1)", "quantized_bits(5,0,1,alpha=1)"]
bias = ["quantized_bits(4,0,1,alpha=1)"]
activation = ["quantized_relu(3,1)", "quantized_relu(4,2)"]
"#;

const PIPELINE: &str = r#"
name = "tiny_cnn"
[model]
spec = "tiny_cnn.toml"
[data]
path = "digits"
[search]
space = "space.toml"
[synth]
candidates = 2
timeout_secs = 900
[executor]
workers = 1
poll_interval_secs = 0.5
"#;

#[test]
fn a_cnn_runs_through_the_pipeline_on_the_digits() {
    assert!(qforge::data::images::digits_path().is_file(), "needs the digits (scripts/setup-digits.sh)");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("tiny_cnn.toml"), SPEC).unwrap();
    std::fs::write(d.join("space.toml"), SPACE).unwrap();
    std::fs::write(d.join("pipe.toml"), PIPELINE).unwrap();
    let (code, summary, stderr) = support::run_in(d, &["run", "pipe.toml", "--out", "out", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    // Trained on the digits' 1 078 training images: well above chance (10 %).
    assert!(summary["train"]["fixed_accuracy"].as_f64().unwrap() > 0.3, "{:#}", summary["train"]);

    let cands = summary["candidates"].as_array().unwrap();
    assert_eq!(cands.len(), 2, "{summary:#}");
    assert_eq!(cands[0]["name"], "baseline");
    let trial = &cands[1];
    assert!(trial["name"].as_str().unwrap().starts_with("trial_"), "{trial:#}");
    // The search chose the conv layer's quantizers among the space's candidates.
    let conv_kernel = trial["quantizers"]["conv2d_1"]["kernel"].as_str().unwrap().to_string();
    assert!(["quantized_bits(2,1", "quantized_bits(3,0", "quantized_bits(5,0"].iter().any(|k| conv_kernel.starts_with(k)), "{conv_kernel}");
    assert_eq!(cands[0]["quantizers"]["conv2d_1"]["kernel"], "quantized_bits(4,0,alpha=1)");
    for c in cands {
        assert_eq!(c["status"], "ok", "{c:#}");
        let (est, meas) = (c["estimated"]["lut"].as_u64().unwrap(), c["measured"]["lut"].as_u64().unwrap());
        assert!(est > 0 && meas > 0, "{c:#}");
        // Combinational: no flip-flops estimated or built, 0 cycles.
        assert_eq!((c["estimated"]["ff"].as_u64(), c["measured"]["ff"].as_u64()), (Some(0), Some(0)), "{c:#}");
        assert_eq!(c["estimated"]["latency_cycles"].as_u64(), Some(0));
    }
    // Each netlist was simulated on the test images bit for bit, per module.
    let switching = summary["switching"].as_array().unwrap();
    assert_eq!(switching.len(), 2);
    for s in switching {
        assert_eq!(s["status"], "ok", "{s:#}");
        let instances: Vec<&str> = s["layers"].as_array().unwrap().iter().map(|l| l["instance"].as_str().unwrap()).collect();
        assert!(["l1", "l2", "l3", "out"].iter().all(|i| instances.contains(i)), "{instances:?}");
        assert!(s["measured_pj"].as_f64().unwrap() > 0.0 && s["estimated_pj"].as_f64().unwrap() > 0.0, "{s:#}");
    }

    // The history: two synth runs with the RTL flow's estimate and one energy
    // row per module (conv, pool, dense), and a switching record of 0 mismatches.
    let out = d.join("out");
    let store = Store::open(&out.join("history.sqlite")).unwrap();
    let runs = store.query(&RunFilter { kind: Some(RunKind::Synth), ..RunFilter::default() }).unwrap();
    assert_eq!(runs.len(), 2);
    for r in &runs {
        assert_eq!(r.status, RunStatus::Ok);
        assert_eq!(r.model_name.as_deref(), Some("tiny_digits_cnn"));
        let est = r.estimates.iter().find(|e| e.get("energy_layers").is_some()).expect("the pipeline's estimate");
        assert_eq!(est["flow"], "rtl");
        let layers: Vec<&str> = est["energy_layers"].as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap()).collect();
        assert_eq!(layers, ["conv2d_1", "max_pooling2d_2", "dense_1"]);
        let sw = store.switching(r.id).unwrap();
        assert_eq!(sw.len(), 1);
        assert_eq!(sw[0].mismatches, 0);
        assert!(sw[0].samples > 100, "{} samples", sw[0].samples);
    }

    // The calibrate stage ran the guarded refit on both measured runs.
    let cal = &summary["calibration"];
    assert_eq!(cal["samples"].as_u64(), Some(2), "{cal:#}");
    assert_eq!(cal["energy_variants"].as_u64(), Some(2), "{cal:#}");
    let lut = cal["resources"].as_array().unwrap().iter().find(|q| q["quantity"] == "lut").expect("a LUT decision");
    assert!(lut["reason"].as_str().is_some_and(|r| !r.is_empty()), "{lut:#}");
    let run_dir = out.join("runs").join("tiny_cnn");
    let markdown = std::fs::read_to_string(run_dir.join("summary.md")).unwrap();
    for c in cands {
        let meas = c["measured"]["lut"].as_u64().unwrap().to_string();
        assert!(markdown.contains(&meas), "summary.md shows the measured LUTs {meas}:\n{markdown}");
    }
}

/// `[generate] io = "stream"`: the candidates are estimated, written and
/// synthesised as stream designs (one pixel per clock, line buffers); the
/// estimate is the stream design's.
#[test]
fn a_cnn_runs_through_the_pipeline_as_a_stream_design() {
    assert!(qforge::data::images::digits_path().is_file(), "needs the digits (scripts/setup-digits.sh)");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // `same` padding: the valid 3x3 stride-2 conv reads no pixel of the last
    // row, so its result would be ready before the last pixel (refused).
    std::fs::write(d.join("tiny_cnn.toml"), SPEC.replace("strides = 2\n", "strides = 2\npadding = \"same\"\n")).unwrap();
    std::fs::write(d.join("space.toml"), SPACE.replace("max_trials = 3", "max_trials = 2")).unwrap();
    let pipeline = PIPELINE.replace("candidates = 2", "candidates = 1") + "[generate]\nio = \"stream\"\n";
    std::fs::write(d.join("pipe.toml"), pipeline).unwrap();
    let (code, summary, stderr) = support::run_in(d, &["run", "pipe.toml", "--out", "out", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let cands = summary["candidates"].as_array().unwrap();
    assert_eq!(cands.len(), 1, "{summary:#}");
    let c = &cands[0];
    assert_eq!(c["status"], "ok", "{c:#}");
    // Line buffers and counters: flip-flops in the estimate and in the netlist.
    for q in ["lut", "ff"] {
        assert!(c["estimated"][q].as_u64().unwrap() > 0 && c["measured"][q].as_u64().unwrap() > 0, "{q}: {c:#}");
    }
    // The written design streams, and the stored estimate is that design's.
    let manifest = walk(d).into_iter().find(|p| p.ends_with("rtl/qforge_rtl.json")).expect("a design folder");
    let m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    let interval = m["stream"]["frame_interval_cycles"].as_u64().expect("a stream design");
    assert!(m["files"].as_array().unwrap().iter().any(|f| f == "layer1_sconv.v"), "{m}");
    let store = Store::open(&d.join("out/history.sqlite")).unwrap();
    let runs = store.query(&RunFilter { kind: Some(RunKind::Synth), ..RunFilter::default() }).unwrap();
    assert_eq!(runs.len(), 1);
    let est = runs[0].estimates.iter().find(|e| e.get("energy_layers").is_some()).expect("the pipeline's estimate");
    assert!(interval >= 64, "{m}");
    // The stream design's registers (line buffers, flatten buffer, counters): a
    // combinational parallel design has none.
    let registers = m["cost"]["register_bits"].as_f64().unwrap();
    assert!(registers > 0.0);
    assert_eq!(est["features"]["register_bit"].as_f64(), Some(registers), "the estimate prices the written stream design: {est:#}");
    // The switching stage drives the netlist pixel by pixel; on this design
    // the gate-level simulation still differs from the model (open bug, see
    // docs/cnn.md), which the summary records as a failed measurement.
    assert!(summary["switching"][0]["status"].is_string(), "{summary:#}");
}

fn walk(d: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(d).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn the_digits_pipeline_example_reads_the_digits() {
    let cfg = qforge::pipeline::config::PipelineConfig::from_file(&support::example("digits_pipeline.toml")).unwrap();
    match cfg.data_source().unwrap() {
        qforge::data::loaders::DataSource::Digits { path } => assert_eq!(path, qforge::data::images::digits_path()),
        other => panic!("{other:?}"),
    }
    let spec = qforge::model::ModelSpec::from_file(&cfg.spec_path()).unwrap();
    assert!(spec.has_features());
    let space = qforge::search::space::SearchSpace::from_file(&cfg.space_path().unwrap()).unwrap();
    assert_eq!(space.base.name, spec.name);
}
