//! `qforge rtl`, `qforge rtl-sim` and `qforge synth --tool yosys` as a user runs
//! them: a small 4-bit model through Yosys (the parsed report has LUTs), and
//! the bad inputs: a float layer, a missing Verilator.
mod rtl_support;
use rtl_support::*;
use std::process::Command;

fn qforge() -> Command {
    Command::new(env!("CARGO_BIN_EXE_qforge"))
}

const Q4: &str = "quantized_bits(4,0,alpha=1)";

#[test]
fn a_float_layer_is_refused_with_the_layer_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec_text("floaty", &[(8, Q4, Q4, "quantized_relu(4,0)"), (5, "float", Q4, "linear")]);
    train(&spec, dir.path());
    let out =
        qforge().args(["rtl", "--model"]).arg(dir.path().join("model.json")).arg("--out").arg(dir.path().join("rtl")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("model.json"), "{err}");
    assert!(err.contains("kernel_quantizer") && err.contains("float"), "{err}");
    assert!(err.contains("quantized_bits"), "names the fix: {err}");
    assert!(!dir.path().join("rtl").exists(), "nothing written");
}

#[test]
fn a_missing_verilator_names_the_package() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec_text("tiny", &[(8, Q4, Q4, "quantized_relu(4,0)"), (5, Q4, Q4, "linear")]);
    train(&spec, dir.path());
    let model = dir.path().join("model.json");
    let rtl_dir = dir.path().join("rtl");
    let st = qforge().args(["rtl", "--model"]).arg(&model).arg("--out").arg(&rtl_dir).output().unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    let empty = dir.path().join("empty-bin");
    std::fs::create_dir(&empty).unwrap();
    let out = qforge()
        .args(["rtl-sim", "--model"])
        .arg(&model)
        .arg("--rtl")
        .arg(&rtl_dir)
        .args(["--samples", "20000", "--limit", "10"])
        .env("PATH", &empty)
        .env_remove("QFORGE_VERILATOR")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "tool missing → exit 3");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("verilator") && err.contains("apt-get install verilator"), "{err}");
}

#[test]
fn yosys_synthesises_the_written_folder_without_extra_flags() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec_text("small4", &[(8, Q4, Q4, "quantized_relu(4,0)"), (5, Q4, Q4, "linear")]);
    train(&spec, dir.path());
    let rtl_dir = dir.path().join("rtl");
    let st = qforge()
        .args(["rtl", "--pipeline-every", "2", "--model"])
        .arg(dir.path().join("model.json"))
        .arg("--out")
        .arg(&rtl_dir)
        .output()
        .unwrap();
    assert!(st.status.success());
    let out = qforge().args(["synth"]).arg(&rtl_dir).args(["--tool", "yosys", "--family", "xcup", "--json"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let parsed = &json["parsed"][0];
    assert_eq!(parsed["tool"], "yosys");
    assert_eq!(parsed["top"], "qforge_net");
    assert!(parsed["lut"].as_u64().unwrap() > 0, "{parsed}");
    assert!(parsed["ff"].as_u64().unwrap() > 0, "pipelined: registers present: {parsed}");
    assert!(parsed["cells"].as_object().unwrap().keys().any(|k| k.starts_with("LUT")), "{parsed}");
    // Per layer by default: each layer module synthesised in a run of its own.
    assert_eq!(parsed["extra"]["hierarchical_parts"], 4.0, "{parsed}");
    for layer in ["layer1_dense", "layer2_dense"] {
        let script = std::fs::read_to_string(rtl_dir.join("runs/yosys/parts").join(layer).join("synth.ys")).unwrap();
        assert!(script.contains(&format!("-top {layer} -flatten -noiopad")), "{layer} is its own top: {script}");
    }
}

#[test]
fn cmvm_flag_writes_shared_adders_and_the_estimate_prices_them() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec_text("small6", &[(16, Q6, Q6, "quantized_relu(6)"), (5, Q6, Q6, "linear")]);
    train(&spec, dir.path());
    let model = dir.path().join("model.json");
    let mut adders = Vec::new();
    let mut luts = Vec::new();
    for cmvm in [false, true] {
        let out = dir.path().join(format!("rtl_{cmvm}"));
        let mut c = qforge();
        c.args(["rtl", "--json", "--pipeline-every", "2", "--model"]).arg(&model).arg("--out").arg(&out);
        if cmvm {
            c.arg("--cmvm");
        }
        let st = c.output().unwrap();
        assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
        let manifest = qforge::rtl::load_manifest(&out).unwrap();
        assert_eq!(manifest.cmvm, cmvm);
        let layer1 = std::fs::read_to_string(out.join("layer1_dense.v")).unwrap();
        assert_eq!(layer1.contains("wire signed") && layer1.contains(" l1_s0 = "), cmvm, "shared adder wires only with --cmvm");
        adders.push(manifest.cost.adders);
        let mut e = qforge();
        e.args(["estimate", "--json", "--flow", "rtl", "--pipeline-every", "2", "--model"]).arg(&model);
        if cmvm {
            e.arg("--cmvm");
        }
        let st = e.output().unwrap();
        assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
        let v: serde_json::Value = serde_json::from_slice(&st.stdout).unwrap();
        luts.push(v["totals"]["lut"].as_f64().unwrap());
    }
    assert!(adders[1] < adders[0], "shared sub-expressions save adders: {adders:?}");
    assert!(luts[1] < luts[0], "the estimate prices the design --cmvm writes: {luts:?}");
}
