//! The run closes the energy loop: the switching stage simulates each
//! synthesised netlist and stores its measured energy per layer in the
//! history; the calibrate stage's guarded energy refit reads every measured
//! model of the history and says whether it adopted a refit; the summary's
//! estimated / measured / error columns agree with the history. Real Yosys
//! runs of two tiny models in one output folder.
mod rtl_support;

mod support;

use qforge::store::{RunFilter, Store};
use rtl_support::spec_text;

fn spec(name: &str, hidden: usize) -> String {
    let q3 = "quantized_bits(3,0,alpha=1)";
    spec_text(name, &[(hidden, q3, q3, "quantized_relu(3)"), (5, q3, q3, "linear")]).replace("ap_fixed<16,6>", "ap_fixed<6,3>")
}

fn pipeline(name: &str, spec: &str) -> String {
    format!(
        "name = \"{name}\"\n[model]\nspec = \"{spec}\"\n[data]\nsamples = 3000\n[train]\nepochs = 1\n[target]\npart = \"xcvu13p-flga2577-2-e\"\n\
         [search]\nenabled = false\n[synth]\ncandidates = 1\ntimeout_secs = 900\n[executor]\nworkers = 1\npoll_interval_secs = 0.5\n"
    )
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * b.abs().max(1.0)
}

#[test]
fn switching_is_stored_refitted_and_compared_in_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (name, hidden) in [("a", 6), ("b", 9)] {
        std::fs::write(d.join(format!("{name}.toml")), spec(&format!("tiny_{name}"), hidden)).unwrap();
        std::fs::write(d.join(format!("pipe_{name}.toml")), pipeline(&format!("loop_{name}"), &format!("{name}.toml"))).unwrap();
    }
    let (code, first, stderr) = support::run_in(d, &["run", "pipe_a.toml", "--out", "out", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    // One measured model cannot cross-validate: the refit is declined, and says so.
    let energy = &first["calibration"]["energy"];
    assert_eq!(energy["adopted"], false, "{energy}");
    assert!(energy["reason"].as_str().unwrap().contains("one measured variant"), "{energy}");

    let (code, second, stderr) = support::run_in(d, &["run", "pipe_b.toml", "--out", "out", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let cal = &second["calibration"];
    assert_eq!(cal["energy_variants"], 2, "both runs' measurements are read back from the history: {cal}");
    let energy = &cal["energy"];
    assert!(!energy["reason"].as_str().unwrap().is_empty(), "{energy}");
    let adopted = energy["adopted"].as_bool().unwrap();
    let before = energy["error_before"].as_f64().unwrap();
    let after = energy["error_after_cv"].as_f64().unwrap();
    // The guard: adopted exactly when the held-out error is lower.
    assert_eq!(adopted, after < before, "{energy}");
    let cal_file = d.join("out/calibration.toml");
    // Written when any refit (energy, LUT, FF…) was adopted, and only then.
    let any_adopted = adopted || cal["resources"].as_array().unwrap().iter().any(|q| q["adopted"] == true);
    assert_eq!(cal_file.is_file(), any_adopted, "the calibration is written only when a refit was adopted: {cal}");
    if adopted {
        let text = std::fs::read_to_string(&cal_file).unwrap();
        assert!(text.contains("[energy_rtl]"), "{text}");
    }

    // Every synthesised candidate has a switching row with per-layer energies.
    let store = Store::open(&d.join("out/history.sqlite")).unwrap();
    let runs = store.query(&RunFilter::default()).unwrap();
    assert_eq!(runs.len(), 2);
    for run in &runs {
        let sw = store.switching(run.id).unwrap();
        assert_eq!(sw.len(), 1, "run {}", run.id.0);
        assert_eq!(sw[0].mismatches, 0);
        assert!(sw[0].samples > 0);
        assert!(sw[0].layers.iter().any(|l| l.instance == "l1" && l.energy_pj > 0.0), "{:?}", sw[0].layers);
    }

    // The summary's columns are the history's numbers.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("out/runs/loop_b/summary.json")).unwrap()).unwrap();
    let row = &summary["compared"][0];
    let run_id = summary["candidates"][0]["run_id"].as_i64().unwrap();
    let run = runs.iter().find(|r| r.id.0 == run_id).unwrap();
    let m = &run.measurements[0];
    let est = &run.estimates[0];
    for (q, measured) in [("lut", m.lut), ("ff", m.ff), ("dsp", m.dsp)] {
        let e = est[q].as_f64().unwrap();
        let meas = measured.unwrap() as f64;
        assert_eq!(row[q]["estimated"].as_f64(), Some(e), "{q}: {row}");
        assert_eq!(row[q]["measured"].as_f64(), Some(meas), "{q}: {row}");
        if meas != 0.0 {
            assert!(close(row[q]["error_percent"].as_f64().unwrap(), 100.0 * (e - meas) / meas), "{q}: {row}");
        }
    }
    let sw = &store.switching(run.id).unwrap()[0];
    let dense: f64 = sw.layers.iter().filter(|l| l.instance.starts_with('l')).map(|l| l.energy_pj).sum();
    let energy_row = &row["energy_pj"];
    assert!(close(energy_row["measured"].as_f64().unwrap(), dense), "{energy_row} vs {dense}");
    let e = energy_row["estimated"].as_f64().unwrap();
    assert!(e > 0.0);
    assert!(close(energy_row["error_percent"].as_f64().unwrap(), 100.0 * (e - dense) / dense), "{energy_row}");
    assert!(row["latency_cycles"]["measured"].as_f64().is_some(), "{row}");

    // The gate-level check per candidate: samples simulated and mismatches, in the JSON and the Markdown.
    let checked = &summary["switching"][0];
    assert_eq!(checked["samples"].as_u64(), Some(sw.samples), "{checked}");
    assert_eq!(checked["mismatches"].as_u64(), Some(0), "{checked}");
    let md = std::fs::read_to_string(d.join("out/runs/loop_b/summary.md")).unwrap();
    assert!(md.contains("| candidate | gate-level check | samples | mismatches |"), "{md}");
    assert!(md.contains(&format!("| {} | ok | {} | 0 |", summary["candidates"][0]["name"].as_str().unwrap(), sw.samples)), "{md}");
    assert!(md.contains("## Estimated vs measured"), "{md}");
    assert!(md.contains(&format!("{:+.1} %", energy_row["error_percent"].as_f64().unwrap())), "{md}");
    assert!(md.contains("- energy ([energy_rtl], 2 measured models)"), "{md}");
    assert!(d.join("out/runs/loop_b/energy_refit.svg").is_file());
}
