//! `qforge switching` end to end with real Yosys: a small 4-bit model
//! (16→8→5, softmax), pipelined RTL, `synth_xilinx` netlist, gate-level
//! simulation of 1 200 samples against `FixedNetwork::predict_raw`; a netlist
//! with one layer-1 LUT's INIT inverted must be a bit-exactness failure (or,
//! counting, a count of mismatching samples); a
//! corrupt netlist an input error naming the file.
mod rtl_support;
use qforge::calibrate::energy::read_energy_samples;
use qforge::estimate::Calibration;
use qforge::model::predict_io::format_inputs_raw;
use qforge::model::{FixedNetwork, TrainedModel};
use qforge::switching::{self, SwitchingOptions};
use rtl_support::{spec_text, train};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const Q4: &str = "quantized_bits(4,0,alpha=1)";
const SAMPLES: usize = 1200;

fn qforge(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_qforge"));
    c.current_dir(dir).env("QFORGE_DB", dir.join("history.sqlite")).env_remove("QFORGE_CALIBRATION");
    c
}

#[test]
fn mapped_netlist_matches_the_model_and_toggles_in_every_layer() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let spec = spec_text("small4", &[(8, Q4, Q4, "quantized_relu(4,0)"), (5, Q4, Q4, "softmax")]);
    let (model, raw) = train(&spec, d);
    let net = FixedNetwork::from_model(&model).unwrap();
    let raw = &raw[..SAMPLES * net.n_inputs()];
    std::fs::write(d.join("inputs.txt"), format_inputs_raw(raw, net.n_inputs())).unwrap();
    let rtl = d.join("rtl");
    let st = qforge(d).args(["rtl", "--pipeline-every", "2", "--model", "model.json", "--out", "rtl"]).output().unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    let st = qforge(d).args(["synth", "rtl", "--tool", "yosys", "--family", "xcup", "--netlist", "--json"]).output().unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    let netlist = switching::default_netlist_path(&rtl);
    assert!(netlist.is_file());

    // The CLI: 0 mismatches, every dense layer toggles, an energy sample line appended.
    let out = qforge(d)
        .args(["switching", "--model", "model.json", "--rtl", "rtl", "--inputs-raw", "inputs.txt", "--limit"])
        .arg(SAMPLES.to_string())
        .args(["--energy-samples", "samples.jsonl", "--name", "small4", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &v["report"];
    assert_eq!(r["samples"], SAMPLES as u64);
    assert_eq!(r["mismatches"], 0);
    assert!(r["compared"][0].as_str().unwrap().starts_with("logits"), "{}", r["compared"]);
    let manifest = qforge::rtl::load_manifest(&rtl).unwrap();
    assert_eq!(r["latency_cycles"], manifest.latency_cycles as u64);
    assert!(manifest.latency_cycles > 0, "pipelined");
    for name in ["l1", "l2"] {
        let l = r["layers"].as_array().unwrap().iter().find(|l| l["name"] == name).unwrap();
        assert!(l["toggles"].as_u64().unwrap() > 0, "{name}: {l}");
        assert!(l["energy_pj_per_inference"].as_f64().unwrap() > 0.0, "{name}: {l}");
        assert!(l["toggles_by_class"]["lut"].as_u64().unwrap_or(0) + l["toggles_by_class"]["carry"].as_u64().unwrap_or(0) > 0, "{l}");
    }
    let rate = r["toggle_rate"].as_f64().unwrap();
    assert!(rate > 0.0 && rate < 1.0, "{rate}");
    let samples = read_energy_samples(&d.join("samples.jsonl")).unwrap();
    assert_eq!(samples.len(), 1);
    assert_eq!(samples[0].name, "small4");
    assert_eq!(samples[0].layers.len(), 2);
    assert_eq!(samples[0].layers[0].multiplications[0].count, 16.0 * 8.0, "n_in·n_out as the estimator counts");
    let l1 = r["layers"][0]["energy_pj_per_inference"].as_f64().unwrap();
    assert!((samples[0].layers[0].measured_pj - l1).abs() < 1e-9);

    // Library: per-cell toggles; invert the INIT of the busiest layer-1 LUT.
    let model = TrainedModel::load(&d.join("model.json")).unwrap();
    let net = FixedNetwork::from_model(&model).unwrap();
    let cal = Calibration::default();
    let report = switching::measure(&netlist, &manifest, &net, raw, &cal.switching, &SwitchingOptions::default()).unwrap();
    let json: Value = serde_json::from_slice(&std::fs::read(&netlist).unwrap()).unwrap();
    let cells = &json["modules"]["qforge_net"]["cells"];
    let victim = (0..report.cell_names.len())
        .filter(|&i| report.cell_layers[i] == 0 && cells[&report.cell_names[i]]["type"].as_str().unwrap().starts_with("LUT"))
        .max_by_key(|&i| report.cell_toggles[i])
        .expect("a LUT in layer 1");
    assert!(report.cell_toggles[victim] > 0, "the test data exercises it");
    let mut broken = json.clone();
    let init = &mut broken["modules"]["qforge_net"]["cells"][&report.cell_names[victim]]["parameters"]["INIT"];
    let flipped: String = init.as_str().unwrap().chars().map(|c| if c == '0' { '1' } else { '0' }).collect();
    *init = Value::String(flipped);
    std::fs::write(d.join("broken.json"), serde_json::to_vec(&broken).unwrap()).unwrap();
    let out = qforge(d)
        .args(["switching", "--model", "model.json", "--rtl", "rtl", "--inputs-raw", "inputs.txt", "--netlist", "broken.json", "--json"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "a mismatch is a check failure: {err}");
    assert!(err.contains("bit-exactness failure") && err.contains("logit_"), "{err}");
    assert!(out.stdout.is_empty(), "no JSON result on failure");
    // Counting instead of failing (what the pipeline's summary shows): the
    // mismatching samples are counted and the first ones described.
    let counting = SwitchingOptions { count_mismatches: true, ..SwitchingOptions::default() };
    let counted = switching::measure(&d.join("broken.json"), &manifest, &net, raw, &cal.switching, &counting).unwrap();
    assert_eq!(counted.samples, SAMPLES);
    assert!(counted.mismatches > 0 && counted.mismatches <= SAMPLES, "{}", counted.mismatches);
    assert_eq!(counted.first_mismatches.len(), counted.mismatches.min(5), "{:?}", counted.first_mismatches);
    assert!(counted.first_mismatches[0].contains("logit_"), "{:?}", counted.first_mismatches);
    assert_eq!(report.mismatches, 0);
    assert!(report.first_mismatches.is_empty());

    // A truncated netlist: an input error naming the file.
    let text = std::fs::read(&netlist).unwrap();
    std::fs::write(d.join("cut.json"), &text[..text.len() / 2]).unwrap();
    let out = qforge(d)
        .args(["switching", "--model", "model.json", "--rtl", "rtl", "--inputs-raw", "inputs.txt", "--netlist", "cut.json"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cut.json") && err.contains("Yosys JSON"), "{err}");
}
