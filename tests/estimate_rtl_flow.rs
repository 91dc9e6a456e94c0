//! The RTL flow's structural estimate: it prices what the generator builds
//! (registers, latency, the softmax's products are the generator's own
//! counts), its coefficients come from `[rtl.<family>]`, and a spec priced
//! for the RTL flow is not pruned by the DSP budget the HLS model breaks.
mod support;

use qforge::estimate::structural::network_for_spec;
use qforge::estimate::{self, BitsOptions, Calibration, EnergyOptions, Flow, FlowOptions, Target};
use qforge::model::ModelSpec;
use qforge::rtl::{design_cost, RtlOptions};
use std::path::Path;

fn jet_spec() -> ModelSpec {
    ModelSpec::from_file(&support::example("jet_tagger.toml")).unwrap()
}

fn price(spec: &ModelSpec, flow: FlowOptions, cal: &Calibration) -> estimate::Estimate {
    estimate::estimate_spec(spec, &flow, cal, &Target::paper(), &EnergyOptions::default(), &BitsOptions::default()).unwrap()
}

#[test]
fn the_rtl_flow_prices_the_generators_registers_latency_and_softmax_products() {
    let spec = jet_spec();
    let cal = Calibration::default();
    let price_of = |quantity: &str, feature: &str| cal.quantity_coefficients(Flow::Rtl, "ultrascale_plus", quantity).unwrap()[feature];
    let (per_register_bit, per_carry_bit) = (price_of("ff", "per_register_bit"), price_of("lut", "per_carry_bit"));
    let net = network_for_spec(&spec).unwrap();
    for every in [0, 3] {
        let est = price(&spec, FlowOptions::rtl(every, qforge::rtl::cost::cost_for), &cal);
        let cost = design_cost(&net, &RtlOptions { pipeline_every: every, ..Default::default() }).unwrap();
        assert_eq!(est.flow, Flow::Rtl);
        // The register bits the generator builds at their price, and its latency exactly.
        assert!((est.totals.ff - (cost.register_bits as f64 * per_register_bit).round()).abs() <= 1.0, "pipeline every {every}");
        assert_eq!(est.totals.latency_cycles, cost.latency_cycles as u64);
        assert_eq!(est.totals.ii_cycles, 1);
        // The dense layers are shift-add trees: only the softmax's five products take DSPs.
        assert!(est.totals.dsp > 0.0 && est.totals.dsp <= 10.0, "dsp {}", est.totals.dsp);
        assert!(est.layers.iter().all(|l| l.resources.dsp == 0.0));
        // LUTs are at least the adders' carry bits at their price.
        let adders = cost.carry_bits as f64 * per_carry_bit;
        assert!(est.totals.lut >= adders - 1.0, "{} LUT for {} carry bits", est.totals.lut, cost.carry_bits);
    }
    assert_eq!(price(&spec, FlowOptions::rtl(0, qforge::rtl::cost::cost_for), &cal).totals.ff, 0.0, "a combinational design has no FF");
    assert!(price(&spec, FlowOptions::rtl(3, qforge::rtl::cost::cost_for), &cal).totals.latency_cycles > 0);
}

#[test]
fn the_rtl_coefficients_come_from_the_calibration_file() {
    let spec = jet_spec();
    let default = Calibration::default();
    let mut doubled = default.clone();
    let lut = doubled.quantity_coefficients_mut(Flow::Rtl, "ultrascale_plus", "lut").unwrap();
    let per_carry_bit = lut["per_carry_bit"];
    *lut.get_mut("per_carry_bit").unwrap() *= 2.0;
    let before = price(&spec, FlowOptions::rtl(0, qforge::rtl::cost::cost_for), &default);
    let after = price(&spec, FlowOptions::rtl(0, qforge::rtl::cost::cost_for), &doubled);
    let carry: f64 = before.feature_totals().iter().find(|(n, _)| *n == "carry_bit").unwrap().1;
    assert!(carry > 0.0);
    assert!(
        (after.totals.lut - before.totals.lut - carry * per_carry_bit).abs() <= 1.0,
        "doubling per_carry_bit adds its price per carry bit"
    );
    // The HLS model is untouched by [rtl.*].
    let hls = |c: &Calibration| price(&spec, FlowOptions::hls(), c).totals.lut;
    assert_eq!(hls(&default), hls(&doubled));
    // The stored record says which flow and carries the structural features.
    let record = before.store_record();
    assert_eq!(record["flow"], "rtl");
    assert!(record["features"]["carry_bit"].as_f64().unwrap() > 0.0);
}

#[test]
fn the_default_budget_prunes_for_dsp_only_under_the_hls_model() {
    // examples/jet_space.toml's budget: DSP 1000. The HLS model puts the 6-bit
    // products on DSPs; the RTL design has none outside the softmax.
    let spec = jet_spec();
    let cal = Calibration::default();
    let hls = price(&spec, FlowOptions::hls(), &cal);
    let rtl = price(&spec, FlowOptions::rtl(0, qforge::rtl::cost::cost_for), &cal);
    let budget = qforge::search::space::SearchSpace::from_file(&support::example("jet_space.toml")).unwrap().budget.unwrap();
    assert!(qforge::search::over_budget(&hls, &budget).is_some_and(|why| why.contains("DSP")));
    assert_eq!(qforge::search::over_budget(&rtl, &budget), None);
}

#[test]
fn old_calibration_files_get_the_shipped_rtl_sections_and_bad_ones_name_the_field() {
    let text = estimate::calibration::DEFAULT_CALIBRATION;
    let start = text.find("# The RTL/Yosys flow's energy coefficients").unwrap();
    let end = text.find("# One section per device family;").unwrap();
    let rtl_start = text.find("# The RTL/Yosys flow's structural model").unwrap();
    let rtl_end = text.find("# Switching energy of a Yosys-mapped netlist").unwrap();
    let old = format!("{}{}{}", &text[..start], &text[end..rtl_start], &text[rtl_end..]);
    let cal = Calibration::parse(&old, Path::new("old.toml")).unwrap();
    assert_eq!(cal.rtl, Calibration::default().rtl);
    assert_eq!(cal.energy_rtl, Calibration::default().energy_rtl);
    // The shipped RTL-flow energy is the 20-variant refit, not QTools' default.
    assert_eq!(cal.energy_rtl.fpm_mul, vec![0.003474, 0.0, 0.0]);
    assert_ne!(cal.energy_rtl.fpm_mul, cal.energy.fpm_mul);
    let shipped = "per_register_bit = 0.7892";
    assert!(text.contains(shipped), "the fitted UltraScale+ FF price is shipped");
    let bad = text.replacen(shipped, "per_flipflop = 1.0", 1);
    let e = Calibration::parse(&bad, Path::new("c.toml")).unwrap_err().to_string();
    assert!(e.contains("c.toml") && e.contains("rtl.ultrascale_plus.ff.per_flipflop"), "{e}");
}
