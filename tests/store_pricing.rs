//! The estimates `qforge synth` stores with a run (`store::price_project`):
//! one per flow the folder holds, and for every flow left without one the
//! reason, so a run is never stored without an estimate silently.
mod support;
use qforge::store::price_project;
use support::{import_fixture, run_in};

const PART: &str = "xcvu9p-flga2104-2L-e";

fn flows(priced: &qforge::store::PricedProject) -> Vec<String> {
    priced.estimates.iter().map(|e| e["flow"].as_str().unwrap_or("hls").to_string()).collect()
}

#[test]
fn a_model_folder_is_priced_per_flow_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let model = import_fixture(dir.path(), "q_bits", false);
    let folder = model.parent().unwrap();
    let hls_only = price_project(folder, PART, Some(5.0));
    assert_eq!(hls_only.estimates.len(), 1, "{:?}", hls_only.unpriced);
    assert!(hls_only.unpriced.is_empty(), "{:?}", hls_only.unpriced);

    let (code, _, err) = run_in(dir.path(), &["rtl", "--model", "imp/model.json", "--out", "rtl"]);
    assert_eq!(code, 0, "{err}");
    let both = price_project(&dir.path().join("rtl"), PART, Some(5.0));
    assert_eq!(both.estimates.len(), 2, "{:?} {:?}", flows(&both), both.unpriced);
    assert!(both.unpriced.is_empty(), "{:?}", both.unpriced);
}

#[test]
fn what_cannot_be_priced_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let model = import_fixture(dir.path(), "q_bits", false);
    let folder = model.parent().unwrap();

    let unknown_part = price_project(folder, "xcnothing-ffvb1", Some(5.0));
    assert!(unknown_part.estimates.is_empty());
    assert_eq!(unknown_part.unpriced.len(), 1);
    assert!(unknown_part.unpriced[0].contains("xcnothing"), "{:?}", unknown_part.unpriced);

    std::fs::write(&model, b"{ \"spec\": ").unwrap();
    let corrupt = price_project(folder, PART, Some(5.0));
    assert!(corrupt.estimates.is_empty());
    assert!(corrupt.unpriced[0].contains("model.json"), "{:?}", corrupt.unpriced);
}
