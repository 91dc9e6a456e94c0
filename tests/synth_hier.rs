//! Per-layer (hierarchical) synthesis with real Yosys on a tiny network
//! (16→8→5, 4-bit, argmax output, pipelined): `qforge synth DIR --tool
//! yosys` runs one job per module, its report is the sum of the parts' own
//! Yosys reports (cell for cell), is marked hierarchical in the history, and
//! the stitched netlist simulates bit-exactly against the model; a broken
//! layer fails the design naming the layer; `--flatten` is one whole-design
//! job; the synthesis stage plans one executor job per module unless
//! `[synth] flatten = true`.
mod rtl_support;
use qforge::model::predict_io::format_inputs_raw;
use qforge::model::FixedNetwork;
use qforge::pipeline::config::PipelineConfig;
use qforge::pipeline::stages::Candidate;
use qforge::reports::{parse_path, ParsedReport, SynthReport};
use qforge::store::{RunFilter, RunKind, Store};
use rtl_support::{spec_text, train};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

const Q4: &str = "quantized_bits(4,0,alpha=1)";
const MODULES: [&str; 4] = ["layer1_dense", "layer2_dense", "output_stage", "qforge_net"];

fn qforge(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qforge"))
        .current_dir(dir)
        .args(args)
        .env("QFORGE_DB", dir.join("history.sqlite"))
        .env_remove("QFORGE_CALIBRATION")
        .output()
        .unwrap()
}

fn ok(out: &Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn synth_report(path: &Path) -> SynthReport {
    match parse_path(path).unwrap().into_iter().next() {
        Some(ParsedReport::Synth(s)) => s,
        other => panic!("{}: no synthesis report: {other:?}", path.display()),
    }
}

#[test]
fn per_layer_synthesis_sums_its_parts_simulates_bit_exactly_and_names_a_broken_layer() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let spec = spec_text("tiny4", &[(8, Q4, Q4, "quantized_relu(4,0)"), (5, Q4, Q4, "linear")]).replace("ap_fixed<16,6>", "ap_fixed<6,3>");
    let (model, raw) = train(&spec, d);
    let net = FixedNetwork::from_model(&model).unwrap();
    let samples = 400;
    std::fs::write(d.join("inputs.txt"), format_inputs_raw(&raw[..samples * net.n_inputs()], net.n_inputs())).unwrap();
    ok(&qforge(d, &["rtl", "--pipeline-every", "2", "--model", "model.json", "--out", "rtl", "--json"]));

    // The default: one Yosys run per module, then the stitch.
    let v = ok(&qforge(d, &["synth", "rtl", "--tool", "yosys", "--family", "xcup", "--netlist", "--json"]));
    let steps: Vec<(&str, &str)> =
        v["steps"].as_array().unwrap().iter().map(|s| (s["step"].as_str().unwrap(), s["log"].as_str().unwrap())).collect();
    assert_eq!(steps.len(), MODULES.len() + 1, "{steps:?}");
    for (m, (step, log)) in MODULES.iter().zip(&steps) {
        assert_eq!(*step, "synth");
        assert!(log.contains(&format!("parts/{m}/")), "{m}: {log}");
    }
    assert_eq!(steps[MODULES.len()].0, "stitch");
    assert!(!d.join("rtl/runs/yosys/stitched.json").exists(), "the joined hierarchy is not kept after a good stitch");
    let parsed = &v["parsed"][0];
    assert_eq!(parsed["extra"]["hierarchical_parts"], MODULES.len() as f64, "{parsed}");
    assert_eq!(parsed["top"], "qforge_net");

    // The design's report is the sum of the parts' own Yosys reports.
    let run = d.join("rtl/runs/yosys");
    let design = synth_report(&run.join("stat.json"));
    let parts: Vec<SynthReport> = MODULES.iter().map(|m| synth_report(&run.join("parts").join(m).join("stat.json"))).collect();
    let sum = |f: &dyn Fn(&SynthReport) -> Option<u64>| parts.iter().map(|p| f(p).unwrap()).sum::<u64>();
    assert_eq!(design.used.lut, Some(sum(&|p| p.used.lut)));
    assert_eq!(design.used.ff, Some(sum(&|p| p.used.ff)));
    assert_eq!(design.used.carry, Some(sum(&|p| p.used.carry)));
    assert_eq!(design.used.dsp, Some(sum(&|p| p.used.dsp)));
    let mut cells: BTreeMap<String, u64> = BTreeMap::new();
    for p in &parts {
        for (k, n) in p.cells.as_ref().unwrap() {
            if !MODULES.contains(&k.as_str()) {
                *cells.entry(k.clone()).or_default() += n;
            }
        }
    }
    assert_eq!(design.cells.as_ref().unwrap(), &cells);
    assert!(parts[0].used.lut.unwrap() > 0 && parts[1].used.lut.unwrap() > 0, "each layer maps to LUTs");
    // Inner modules get no I/O buffers; the top's glue has them (as the whole design does).
    let io = |p: &SynthReport| p.cells.as_ref().unwrap().get("IBUF").copied().unwrap_or(0);
    assert_eq!((io(&parts[0]), io(&parts[1]), io(&parts[2])), (0, 0, 0));
    assert_eq!(io(&parts[3]), 16 * 6 + 3, "16 six-bit inputs, clk, rst, in_valid");
    assert_eq!(parts[3].cells.as_ref().unwrap().get("layer1_dense"), Some(&1), "the top sees its layers as black boxes");

    // The history keeps the summed report with its marker.
    let store = Store::open(&d.join("history.sqlite")).unwrap();
    let runs = store.query(&RunFilter { kind: Some(RunKind::Synth), ..RunFilter::default() }).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].measurements[0].lut, design.used.lut.map(|l| l as i64));
    assert!(runs[0].measurements[0].source_file.ends_with("rtl/runs/yosys/stat.json"), "{:?}", runs[0].measurements[0].source_file);
    assert_eq!(design.extra.get("hierarchical_parts"), Some(&(MODULES.len() as f64)));

    // The stitched netlist: bit-exact with the model, every layer toggles.
    let sw = ok(&qforge(
        d,
        &["switching", "--model", "model.json", "--rtl", "rtl", "--inputs-raw", "inputs.txt", "--limit", &samples.to_string(), "--json"],
    ));
    let r = &sw["report"];
    assert_eq!(r["samples"], samples as u64);
    assert_eq!(r["mismatches"], 0, "{r}");
    assert!(r["compared"][0].as_str().unwrap().starts_with("logits"), "{}", r["compared"]);
    assert_eq!(r["latency_cycles"], qforge::rtl::load_manifest(&d.join("rtl")).unwrap().latency_cycles as u64);
    for name in ["l1", "l2"] {
        let l = r["layers"].as_array().unwrap().iter().find(|l| l["name"] == name).unwrap();
        assert!(l["toggles"].as_u64().unwrap() > 0, "{name}: {l}");
    }

    // --flatten: the whole design as one job, no marker.
    let flat = ok(&qforge(d, &["synth", "rtl", "--tool", "yosys", "--flatten", "--run-dir", "flat", "--no-history", "--json"]));
    assert_eq!(flat["steps"].as_array().unwrap().len(), 1);
    assert!(flat["parsed"][0]["extra"].get("hierarchical_parts").is_none(), "{}", flat["parsed"][0]);
    let flat_lut = flat["parsed"][0]["lut"].as_u64().unwrap();
    let hier_lut = design.used.lut.unwrap();
    eprintln!("tiny4: per-layer {hier_lut} LUT, flattened {flat_lut} LUT");
    assert!(flat_lut > 0 && hier_lut.abs_diff(flat_lut) * 4 < flat_lut, "per-layer {hier_lut} vs flat {flat_lut}: within 25 %");

    // One part alone, as the pipeline's jobs run it.
    let one = ok(&qforge(d, &["synth", "rtl", "--tool", "yosys", "--part", "layer2_dense", "--run-dir", "one", "--no-history", "--json"]));
    assert_eq!(one["parsed"][0]["lut"].as_u64(), parts[1].used.lut, "the same part synthesises the same");
    let bad = qforge(d, &["synth", "rtl", "--tool", "yosys", "--part", "layer9_dense", "--run-dir", "nine", "--no-history"]);
    assert_eq!(bad.status.code(), Some(2), "an unknown module is bad input");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("layer9_dense"));

    // A broken layer fails the design, naming the module.
    let broken = d.join("broken");
    std::fs::create_dir(&broken).unwrap();
    for e in std::fs::read_dir(d.join("rtl")).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, broken.join(p.file_name().unwrap())).unwrap();
        }
    }
    let layer2 = broken.join("layer2_dense.v");
    let text = std::fs::read_to_string(&layer2).unwrap().replacen("endmodule", "assign = ;\nendmodule", 1);
    std::fs::write(&layer2, text).unwrap();
    let out = qforge(d, &["synth", "broken", "--tool", "yosys", "--no-history"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("module `layer2_dense` failed"), "{err}");

    // The synthesis stage's plan: one job per module, or one with `flatten`.
    let candidate: Candidate = serde_json::from_value(serde_json::json!({
        "name": "tiny4", "source": "baseline", "model": d.join("model.json"), "model_name": "tiny4", "model_hash": "0",
        "accuracy": null, "cost": null, "quantizers": {}, "estimate": {}, "features": [], "rtl_dir": d.join("rtl"),
        "design_latency_cycles": 0
    }))
    .unwrap();
    let exe = Path::new(env!("CARGO_BIN_EXE_qforge"));
    let mut cfg =
        PipelineConfig::from_toml("name = \"t\"\n[model]\nspec = \"s.toml\"\n[search]\nenabled = false\n", &d.join("p.toml")).unwrap();
    assert!(!cfg.synth.flatten, "per layer by default");
    let jobs = qforge::pipeline::synth::candidate_jobs(&cfg, &candidate, &d.join("stage"), exe).unwrap();
    assert_eq!(jobs.len(), MODULES.len());
    for (job, m) in jobs.iter().zip(MODULES) {
        assert_eq!(job.label, format!("synth-tiny4-{m}"));
        assert!(job.args.windows(2).any(|w| w == ["--part", m]), "{:?}", job.args);
        assert!(job.outputs[0].ends_with(format!("yosys/parts/{m}/stat.json")), "{:?}", job.outputs);
    }
    cfg.synth.flatten = true;
    let jobs = qforge::pipeline::synth::candidate_jobs(&cfg, &candidate, &d.join("stage"), exe).unwrap();
    assert_eq!(jobs.len(), 1);
    assert!(jobs[0].args.contains(&"--flatten".to_string()) && !jobs[0].args.contains(&"--part".to_string()));
    assert!(jobs[0].outputs[0].ends_with("yosys/stat.json"));
    // Stock synth_xilinx only when the pipeline file asks for it.
    assert!(!jobs[0].args.contains(&"--merge-adders".to_string()), "{:?}", jobs[0].args);
    cfg.synth.merge_adders = true;
    let jobs = qforge::pipeline::synth::candidate_jobs(&cfg, &candidate, &d.join("stage"), exe).unwrap();
    assert!(jobs[0].args.contains(&"--merge-adders".to_string()), "{:?}", jobs[0].args);
}
