//! `qforge rtl` in hls4ml types mode against hls4ml 1.3.0's own C simulation
//! (tests/fixtures/hls4ml/): the fixtures imported with their hls4ml config
//! (accumulators `ap_fixed<16,6>` narrower than the products, inferred result
//! types), written combinational, pipelined every 3 levels and with --cmvm,
//! simulated in Verilator on the fixtures' 300 inputs; the last layer before
//! the softmax and hls4ml's softmax outputs (stable, latency, legacy, argmax,
//! built in the output stage) must be hls4ml's and the Rust model's bit for
//! bit, and the class the Rust model's.
mod support;
use qforge::model::{FixedNetwork, TrainedModel, TypesMode};
use qforge::rtl::{self, RtlOptions, SimOptions};
use std::path::Path;
use support::rtl_csim::against_csim;
use support::{import_fixture, run_in, Csim};

fn csim(name: &str) -> Csim {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hls4ml").join(name).join("csim.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Import `name` with its config, write its RTL with `opts`, simulate the csim inputs:
/// (logit mismatches against the Rust model, last-layer and output mismatches against hls4ml,
/// samples with any port differing from the Rust model, rtl-sim's own count).
fn run(dir: &Path, name: &str, opts: &RtlOptions) -> (usize, usize, usize, usize) {
    let model_path = dir.join("imp/model.json");
    if !model_path.is_file() {
        import_fixture(dir, name, true);
    }
    let model = TrainedModel::load(&model_path).unwrap();
    assert_eq!(model.spec.types, TypesMode::Hls4ml);
    let net = FixedNetwork::from_model(&model).unwrap();
    let design = rtl::generate(&model, &model_path, opts).unwrap();
    let out = dir.join(format!("rtl_{}_{}", opts.pipeline_every, opts.cmvm));
    rtl::write_design(&design, &out).unwrap();
    let c = csim(name);
    let raw: Vec<i64> = c.inputs.iter().flatten().map(|&v| net.input_type.from_f64(v)).collect();
    let r = rtl::simulate(&out, &design.manifest, &net, &raw, &SimOptions::default()).unwrap();
    assert_eq!(r.latency_cycles, design.manifest.latency_cycles);
    assert_eq!(design.manifest.probs.as_ref().map(|p| p.count), Some(net.n_outputs()), "{name}: the softmax outputs are ports");
    assert!(design.manifest.output_stage.starts_with("hls4ml's"), "{}", design.manifest.output_stage);
    let refs = net.layers.iter().filter(|l| l.alpha.is_some() || !l.activation_fn.is_cast()).count();
    println!("{name}: {refs} layers with ApplyAlpha or a leaky ReLU");
    let (ours, layer, outputs) = against_csim(&r.work_dir.join("outputs.txt"), &design.manifest, &net, &c, &raw);
    // Inputs over the whole input type (saturating and wrapping paths the csim inputs may not reach).
    let (lo, hi) = (net.input_type.min_raw(), net.input_type.max_raw());
    let wide: Vec<i64> =
        support::features(2000, net.n_inputs(), 7).iter().map(|&v| lo + ((v as f64 + 2.0) / 4.0 * (hi - lo) as f64) as i64).collect();
    let w = rtl::simulate(&out, &design.manifest, &net, &wide, &SimOptions::default()).unwrap();
    assert_eq!(w.mismatches, 0, "{name}: {:?}", w.first_mismatches);
    check_cost(&design);
    println!(
        "{name} every {} cmvm {}: {} samples; logits vs model {ours}, vs hls4ml's last layer {layer}; outputs vs hls4ml {outputs}, rtl-sim mismatches {}",
        opts.pipeline_every, opts.cmvm, r.samples, r.mismatches
    );
    (ours, layer, outputs, r.mismatches)
}

/// The output stage's cost counts the ROM reads and multipliers its Verilog has.
fn check_cost(design: &rtl::RtlDesign) {
    let text = &design.files.iter().find(|(f, _)| f == "output_stage.v").unwrap().1;
    let cost = design.cost.layers.iter().find(|l| l.module == "output_stage").unwrap();
    let body: Vec<&str> = text.lines().filter(|l| l.trim_start().starts_with("wire ")).collect();
    for rom in ["exp_rom", "inv_rom"] {
        let reads = body.iter().filter(|l| l.contains(&format!("{rom}("))).count();
        let entries = text.lines().filter(|l| l.contains(&format!(": {rom} = ")) && !l.contains("default")).count() as u64;
        let counted: Vec<_> = cost.roms.iter().filter(|r| r.name == rom).collect();
        assert_eq!(counted.len(), reads, "{rom} reads");
        assert!(counted.iter().all(|r| r.entries == entries), "{rom}: {entries} entries");
    }
    assert_eq!(cost.multipliers.len(), body.iter().filter(|l| l.contains(" * ")).count());
    assert_eq!(design.cost.rom_bits, cost.rom_bits());
}

fn check(name: &str) {
    let dir = tempfile::tempdir().unwrap();
    for opts in
        [RtlOptions::default(), RtlOptions { pipeline_every: 3, ..Default::default() }, RtlOptions { cmvm: true, ..Default::default() }]
    {
        let got = run(dir.path(), name, &opts);
        assert_eq!(got, (0, 0, 0, 0), "{name}, every {}, cmvm {}", opts.pipeline_every, opts.cmvm);
    }
}

#[test]
fn q_bits_is_hls4ml_bit_for_bit() {
    check("q_bits");
}

#[test]
fn q_relu_widths_is_hls4ml_bit_for_bit() {
    check("q_relu_widths");
}

#[test]
fn q_po2_is_hls4ml_bit_for_bit() {
    check("q_po2");
}

#[test]
fn float_is_hls4ml_bit_for_bit() {
    check("float");
}

#[test]
fn q_legacy_is_hls4ml_bit_for_bit() {
    check("q_legacy");
}

/// hls4ml's LeakyReLU layers (slopes 0.25 and 0.125 in their param_t).
#[test]
fn q_leaky_is_hls4ml_bit_for_bit() {
    check("q_leaky");
}

/// hls4ml's ApplyAlpha layers (alpha "auto" and 0.75 factorised out of the kernels).
#[test]
fn q_alpha_is_hls4ml_bit_for_bit() {
    check("q_alpha");
}

/// `name` imported in qforge mode: every port of its RTL (combinational,
/// pipelined every 3 levels, --cmvm) the Rust model's on `inputs` and on 2 000
/// inputs spread over the whole input type.
fn check_qforge_mode(name: &str, inputs: &[Vec<f64>], uses: impl Fn(&qforge::model::ActivationFn) -> bool) {
    let dir = tempfile::tempdir().unwrap();
    let model_path = import_fixture(dir.path(), name, false);
    let model = TrainedModel::load(&model_path).unwrap();
    assert_eq!(model.spec.types, TypesMode::Qforge);
    let net = FixedNetwork::from_model(&model).unwrap();
    assert!(net.layers.iter().any(|l| uses(&l.activation_fn)), "{name}");
    let mut raw: Vec<i64> = inputs.iter().flatten().map(|&v| net.input_type.from_f64(v)).collect();
    let (lo, hi) = (net.input_type.min_raw(), net.input_type.max_raw());
    raw.extend(support::features(2000, net.n_inputs(), 11).iter().map(|&v| lo + ((v as f64 + 2.0) / 4.0 * (hi - lo) as f64) as i64));
    for (every, cmvm) in [(0, false), (3, false), (0, true)] {
        let opts = RtlOptions { pipeline_every: every, cmvm, ..Default::default() };
        let design = rtl::generate(&model, &model_path, &opts).unwrap();
        let out = dir.path().join(format!("rtl{every}_{cmvm}"));
        rtl::write_design(&design, &out).unwrap();
        let r = rtl::simulate(&out, &design.manifest, &net, &raw, &SimOptions::default()).unwrap();
        println!(
            "{name} qforge mode every {every} cmvm {cmvm}: {} samples, {} mismatches, latency {}",
            r.samples, r.mismatches, r.latency_cycles
        );
        assert_eq!(r.samples, raw.len() / net.n_inputs());
        assert_eq!((r.mismatches, r.latency_cycles), (0, design.manifest.latency_cycles), "{:?}", r.first_mismatches);
    }
}

/// q_leaky in qforge mode (QKeras' clip of negative outputs at -slope·2^integer,
/// qforge's table softmax).
#[test]
fn q_leaky_in_qforge_mode_is_the_rust_model_bit_for_bit() {
    check_qforge_mode("q_leaky", &csim("q_leaky").inputs, |f| matches!(f, qforge::model::ActivationFn::Leaky { lowest: Some(_), .. }));
}

/// QKeras' quantized_relu_po2 (plain, max_value=6, and negative_slope=0.25),
/// which hls4ml 1.3.0 refuses: so qforge mode only, on the inputs QKeras was run on
/// (the Rust model is QKeras' activations there: tests/import_qkeras_rest.rs).
#[test]
fn q_relu_po2_in_qforge_mode_is_the_rust_model_bit_for_bit() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hls4ml/q_relu_po2/qkeras.json");
    let q: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let inputs: Vec<Vec<f64>> = serde_json::from_value(q["inputs"].clone()).unwrap();
    assert!(inputs.len() >= 100);
    let po2 = |f: &qforge::model::ActivationFn| matches!(f, qforge::model::ActivationFn::Po2 { .. });
    check_qforge_mode("q_relu_po2", &inputs, po2);
}

/// The same through the command line: `qforge rtl` then `qforge rtl-sim` on the
/// csim inputs (q_po2: its argmax softmax gives the class the RTL's argmax does).
#[test]
fn cli_rtl_and_rtl_sim_take_the_imported_model() {
    let dir = tempfile::tempdir().unwrap();
    let model_path = import_fixture(dir.path(), "q_po2", true);
    let model = TrainedModel::load(&model_path).unwrap();
    let net = FixedNetwork::from_model(&model).unwrap();
    let c = csim("q_po2");
    let rows: String =
        c.inputs.iter().map(|x| x.iter().map(|&v| net.input_type.from_f64(v).to_string()).collect::<Vec<_>>().join(" ") + "\n").collect();
    std::fs::write(dir.path().join("inputs.txt"), rows).unwrap();
    let (code, _, err) = run_in(dir.path(), &["rtl", "--model", "imp/model.json", "--out", "rtl", "--pipeline-every", "3"]);
    assert_eq!(code, 0, "{err}");
    let (code, json, err) =
        run_in(dir.path(), &["rtl-sim", "--model", "imp/model.json", "--rtl", "rtl", "--inputs-raw", "inputs.txt", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json["mismatches"], 0);
    assert_eq!(json["samples"], 300);
}
