//! A real calibration end to end with Yosys (installed wherever qforge is
//! tested): six tiny trained models → calibration-probe Verilog → Yosys
//! `synth_xilinx` → `stat.json` → `qforge calibrate --runs` with 3-fold CV.
use qforge::calibrate::probe_rtl::{make_probe_run, probe_spec};
use qforge::estimate::Calibration;
use qforge::events::Silent;
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

const PART: &str = "xcvu9p-flga2104-2L-e";

#[test]
fn six_tiny_yosys_runs_calibrate_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    for i in 0..6 {
        let spec = probe_spec(i, 42, &[2, 3]).unwrap();
        let report = make_probe_run(&runs.join(format!("run_{i}")), &spec, PART, 4000, 1, Duration::from_secs(900), &Silent).unwrap();
        assert!(report.used.lut.unwrap() > 0 && report.used.ff.unwrap() > 0, "{:?}", report.used);
        assert_eq!(report.used.dsp, Some(0), "constant products are shift-and-add, not DSPs");
    }
    // A run of another tool is skipped, not mixed in.
    let other = runs.join("run_vivado");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::copy(runs.join("run_0/model.json"), other.join("model.json")).unwrap();
    std::fs::copy(runs.join("run_0/stat.json"), other.join("stat.json")).unwrap();
    std::fs::write(other.join("run.json"), r#"{"tool": "vivado"}"#).unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_qforge"))
        .args(["calibrate", "--runs", runs.to_str().unwrap(), "--tool", "yosys", "--part", PART, "--k", "3"])
        .args(["--quantities", "lut,ff", "--features", "lut_product_bit,adder_bit,output_bit", "--out", "cal.toml", "--json"])
        .current_dir(dir.path())
        .env_remove("QFORGE_CALIBRATION")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &v["report"];
    assert_eq!(r["samples"], 6, "six yosys runs; the vivado one skipped");
    assert_eq!(r["runs"][0], "run_0");
    let lut = &r["quantities"][0];
    assert_eq!((lut["quantity"].as_str(), lut["fitted"].as_bool()), (Some("lut"), Some(true)));
    for m in ["before", "after_cv"] {
        assert_eq!(lut[m]["samples"], 6);
        assert!(lut[m]["mape_percent"].as_f64().unwrap().is_finite(), "{lut}");
    }
    // Measured LUTs come from the Yosys reports: the fitted model reproduces them in sample.
    assert!(lut["after_in_sample"]["mape_percent"].as_f64().unwrap() < lut["before"]["mape_percent"].as_f64().unwrap(), "{lut}");
    let cal = Calibration::load(&dir.path().join("cal.toml")).unwrap();
    // The fit's record follows those the starting calibration shipped with.
    let p = cal.provenance.last().expect("this fit's provenance");
    assert_eq!((p.tool.as_str(), p.part.as_str(), p.k_folds, p.runs.len()), ("yosys", PART, 3, 6));
    assert!(cal.origin.starts_with("fitted by qforge calibrate on 6 runs of yosys"));
    let default = Calibration::default();
    let (new_lut, old_lut) = (&cal.resources["ultrascale_plus"].lut, &default.resources["ultrascale_plus"].lut);
    assert_ne!(new_lut["per_adder_bit"], old_lut["per_adder_bit"]);
    assert_eq!(new_lut["per_relu_bit"], old_lut["per_relu_bit"], "not in --features: kept");
}
