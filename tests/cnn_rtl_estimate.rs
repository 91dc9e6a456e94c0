//! Issue 18 item 6 (RTL flow): the structural estimate of a convolutional
//! model prices what the generator builds for its conv and pooling modules.
//! The counts the builder records (adders, adder bits by width, carries,
//! comparator/select bits, registers) are read back from the written Verilog
//! text of each image-layer module, and `qforge estimate --flow rtl` gives
//! each image layer its module's price (Flatten, which is wiring, none).
mod support;

use qforge::estimate::structural::network_for_spec;
use qforge::estimate::{self, BitsOptions, Calibration, EnergyOptions, Flow, FlowOptions, Target};
use qforge::model::ModelSpec;
use qforge::rtl::{build_design, design_cost, RtlOptions};
use std::collections::HashMap;

/// What a module's Verilog text is made of, read from the text alone.
#[derive(Debug, Default, PartialEq)]
struct Written {
    adders: u64,
    adder_bits: u64,
    /// Comparator selects `(a > b) ? a : b` of two signals: 1 + the wider operand's bits each.
    select_bits: u64,
    register_bits: u64,
}

fn width_of(decl: &str) -> u32 {
    let inner = decl.split_once('[').unwrap().1.split_once(':').unwrap().0;
    inner.parse::<u32>().unwrap() + 1
}

fn read_module(text: &str) -> Written {
    let mut widths: HashMap<String, u32> = HashMap::new();
    let mut w = Written::default();
    for line in text.lines().map(str::trim) {
        let line = line.trim_end_matches([',', ';']);
        if let Some(decl) = line.strip_prefix("input wire signed ") {
            widths.insert(decl.rsplit(' ').next().unwrap().to_string(), width_of(decl));
        } else if let Some(decl) = line.strip_prefix("reg signed ") {
            w.register_bits += width_of(decl) as u64;
            widths.insert(decl.rsplit(' ').next().unwrap().to_string(), width_of(decl));
        } else if let Some(rest) = line.strip_prefix("wire signed ") {
            // A wire driven by an `assign` (a stream module's taps) is declared alone.
            let Some((decl, rhs)) = rest.split_once(" = ") else {
                widths.insert(rest.rsplit(' ').next().unwrap().to_string(), width_of(rest));
                continue;
            };
            let name = decl.rsplit(' ').next().unwrap().to_string();
            let bits = width_of(decl);
            widths.insert(name, bits);
            // A negated signal (`-x`, `s ? -x : x`) is an adder; a negative literal (`-8'sd128`) is not.
            let negated = |r: &str| r.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == '(');
            let negation = rhs.strip_prefix('-').is_some_and(negated) || rhs.split("? -").skip(1).any(negated);
            if rhs.contains(" + ") || rhs.contains(" - ") || negation {
                w.adders += 1;
                w.adder_bits += bits as u64;
            }
            if let Some((cond, _)) = rhs.strip_prefix('(').and_then(|r| r.split_once(") ?")) {
                if let Some((a, b)) = cond.split_once(" > ") {
                    if !a.contains('\'') && !b.contains('\'') {
                        w.select_bits += 1 + widths[a].max(widths[b]) as u64;
                    }
                }
            }
        }
    }
    w
}

fn spec_of(text: &str) -> ModelSpec {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(&path, text).unwrap();
    ModelSpec::from_file(&path).unwrap()
}

fn price(spec: &ModelSpec, every: u32, cmvm: bool) -> estimate::Estimate {
    let flow = FlowOptions::rtl(every, qforge::rtl::cost::cost_for).with_cmvm(cmvm);
    estimate::estimate_spec(spec, &flow, &Calibration::default(), &Target::paper(), &EnergyOptions::default(), &BitsOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_conv_and_pool_costs_are_what_their_verilog_holds() {
    // Every image layer kind: strided same-padded conv, max pool over padding,
    // conv without bias, average pool over padding, global average pooling.
    let spec = spec_of(support::cnn_specs::RICH_2D);
    let net = network_for_spec(&spec).unwrap();
    for (every, cmvm) in [(0, false), (2, false), (0, true)] {
        let opts = RtlOptions { pipeline_every: every, cmvm, ..Default::default() };
        let design = build_design(&net, &opts).unwrap();
        let image: Vec<_> = design.cost.layers.iter().filter(|l| l.module.ends_with("_conv") || l.module.ends_with("_pool")).collect();
        assert_eq!(image.len(), 5, "five image-layer modules: {:?}", design.cost.layers.iter().map(|l| &l.module).collect::<Vec<_>>());
        for layer in image.iter().copied().chain(design.cost.layers.iter().filter(|l| l.module.ends_with("_dense"))) {
            let text = &design.files.iter().find(|(f, _)| *f == format!("{}.v", layer.module)).unwrap().1;
            let written = read_module(text);
            let counted = Written {
                adders: layer.adders,
                adder_bits: layer.adder_bits,
                select_bits: layer.select_bits,
                register_bits: layer.register_bits,
            };
            assert_eq!(counted, written, "{} (every {every}, cmvm {cmvm})", layer.module);
            let by_width: u64 = layer.adder_widths.iter().map(|a| a.count).sum();
            assert_eq!(by_width, layer.adders, "{}", layer.module);
            assert!(layer.carry_bits <= layer.adder_bits);
        }
        let (conv, maxpool, avg) = (image[0], image[1], image[3]);
        assert!(conv.adders > 0 && conv.relu_bits > 0, "{conv:?}");
        assert!(maxpool.select_bits > 0 && maxpool.adders == 0, "{maxpool:?}");
        assert!(avg.adders > 0, "{avg:?}");
        if every > 0 {
            assert!(image.iter().all(|l| l.register_bits > 0), "pipelined every {every}");
        } else {
            assert_eq!(design.cost.register_bits, 0);
        }
        // The estimate reads this builder's counts, not a model of its own.
        assert_eq!(design_cost(&net, &opts).unwrap(), design.cost);
        assert_eq!(price(&spec, every, cmvm).structural.unwrap().cost, design.cost);
    }
}

#[test]
fn the_rtl_estimate_gives_each_image_layer_its_modules_price() {
    let spec = ModelSpec::from_file(&support::example("digits_cnn.toml")).unwrap();
    let cal = Calibration::default();
    let net = network_for_spec(&spec).unwrap();
    for every in [0, 3] {
        let est = price(&spec, every, false);
        let s = est.structural.as_ref().unwrap();
        assert_eq!(est.flow, Flow::Rtl);
        let cost = design_cost(&net, &RtlOptions { pipeline_every: every, ..Default::default() }).unwrap();
        assert_eq!(s.cost, cost);
        let names: Vec<&str> = est.layers.iter().map(|l| l.name.as_str()).collect();
        let modules: Vec<&str> = s.modules.iter().map(|m| m.module.as_str()).collect();
        assert_eq!(modules, ["layer1_conv", "layer2_pool", "layer3_dense", "output_stage", "qforge_net"], "{names:?}");
        // conv, pool, flatten, dense: flatten has no module and costs nothing.
        assert_eq!(est.layers.len(), 4, "{names:?}");
        let (conv, pool, flatten, dense) = (&est.layers[0], &est.layers[1], &est.layers[2], &est.layers[3]);
        assert_eq!(conv.resources.lut, s.modules[0].resources.lut);
        assert!(conv.resources.lut > 1000.0, "{} LUT for the conv", conv.resources.lut);
        assert_eq!(pool.resources.lut, s.modules[1].resources.lut);
        assert!(pool.resources.lut > 0.0);
        assert_eq!((flatten.resources.lut, flatten.resources.ff), (0.0, 0.0));
        assert_eq!(dense.resources.lut, s.modules[2].resources.lut);
        assert!(est.layers.iter().all(|l| l.resources.dsp == 0.0), "shift-add layers take no DSP");
        // The totals are the modules' and the latency the generator's.
        let lut: f64 = s.modules.iter().map(|m| m.resources.lut).sum();
        assert_eq!(est.totals.lut, lut.round());
        assert_eq!(est.totals.latency_cycles, cost.latency_cycles as u64);
        let per_register_bit = cal.quantity_coefficients(Flow::Rtl, "ultrascale_plus", "ff").unwrap()["per_register_bit"];
        assert!((est.totals.ff - (cost.register_bits as f64 * per_register_bit).round()).abs() <= 1.0);
        if every == 0 {
            assert_eq!((est.totals.ff, est.totals.latency_cycles), (0.0, 0));
        } else {
            assert!(est.totals.latency_cycles > 0 && est.totals.ff > 0.0);
        }
        // The HLS flow's image estimate is another model of another design.
        assert_ne!(price_hls(&spec).totals.lut, est.totals.lut);
    }
}

fn price_hls(spec: &ModelSpec) -> estimate::Estimate {
    estimate::estimate_spec(
        spec,
        &FlowOptions::hls(),
        &Calibration::default(),
        &Target::paper(),
        &EnergyOptions::default(),
        &BitsOptions::default(),
    )
    .unwrap()
}

#[test]
fn qforge_estimate_takes_a_trained_cnn_for_the_rtl_flow() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let spec = support::example("digits_cnn.toml");
    let (code, _, stderr) =
        support::run_in(d, &["train", "--spec", spec.to_str().unwrap(), "--samples", "3000", "--epochs", "2", "--out", "m", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, est, stderr) =
        support::run_in(d, &["estimate", "--model", "m/model.json", "--flow", "rtl", "--pipeline-every", "3", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(est["flow"], "rtl", "{est}");
    let modules = est["structural"]["modules"].as_array().unwrap();
    assert_eq!(modules[0]["module"], "layer1_conv");
    // The trained design's cost: the same as the generator's for that model.
    let model = qforge::model::TrainedModel::load(&d.join("m/model.json")).unwrap();
    let net = qforge::model::FixedNetwork::from_model(&model).unwrap();
    let cost = design_cost(&net, &RtlOptions { pipeline_every: 3, ..Default::default() }).unwrap();
    assert_eq!(est["structural"]["cost"]["adders"].as_u64(), Some(cost.adders));
    assert_eq!(est["totals"]["latency_cycles"].as_u64(), Some(cost.latency_cycles as u64));
    assert!(cost.latency_cycles > 0);
}

/// Flip-flop bits of every `reg` a module declares (`reg [h:l] a, b;`,
/// `reg signed [h:l] x;`, `reg x;`, `output reg done`), read from the text.
fn all_register_bits(text: &str) -> u64 {
    let mut bits = 0;
    for line in text.lines().map(str::trim) {
        let Some(decl) = line.strip_prefix("output ").unwrap_or(line).strip_prefix("reg ") else { continue };
        let decl = decl.trim_end_matches([',', ';']);
        let decl = decl.strip_prefix("signed ").unwrap_or(decl);
        let (width, names) = match decl.strip_prefix('[') {
            Some(rest) => {
                let (range, names) = rest.split_once("] ").unwrap();
                let (hi, lo) = range.split_once(':').unwrap();
                (hi.parse::<u64>().unwrap() - lo.parse::<u64>().unwrap() + 1, names)
            }
            None => (1, decl),
        };
        bits += width * names.split(',').count() as u64;
    }
    bits
}

/// The running accumulators' adders (`acc <= ... : acc + x`) in always blocks.
fn accumulator_adders(text: &str) -> (u64, u64) {
    let mut widths: HashMap<String, u64> = HashMap::new();
    let (mut n, mut bits) = (0, 0);
    for line in text.lines().map(str::trim) {
        if let Some(decl) = line.strip_prefix("reg signed [") {
            let (hi, name) = decl.trim_end_matches(';').split_once(":0] ").unwrap();
            widths.insert(name.to_string(), hi.parse::<u64>().unwrap() + 1);
        } else if let Some((lhs, rhs)) = line.split_once(" <= ") {
            if lhs.contains("_acc") && rhs.contains(" + ") {
                n += 1;
                bits += widths[lhs];
            }
        }
    }
    (n, bits)
}

/// An average pool's choice among its in-image counts' quotients
/// (`(n == 4) ? q4 : (n == 2) ? q2 : q1`): the wire's bits per comparison.
fn count_selects(text: &str) -> u64 {
    let mut bits = 0;
    for line in text.lines().map(str::trim) {
        let Some((decl, rhs)) = line.strip_prefix("wire signed ").and_then(|r| r.split_once(" = ")) else { continue };
        if rhs.starts_with('(') && rhs.contains(" ? ") {
            bits += width_of(decl) as u64 * rhs.matches(" == ").count() as u64;
        }
    }
    bits
}

#[test]
fn the_stream_estimate_prices_what_the_stream_verilog_holds() {
    // RICH_2D streams four image layers into its global average pooling's
    // accumulators; CONV_1D streams three into a flatten buffer.
    for (name, text) in [("rich", support::cnn_specs::RICH_2D), ("1d", support::cnn_specs::CONV_1D)] {
        let spec = spec_of(text);
        let net = network_for_spec(&spec).unwrap();
        for every in [0, 2] {
            let opts = RtlOptions { pipeline_every: every, stream: true, ..Default::default() };
            let design = qforge::rtl::stream_top::build_stream_design(&net, &opts).unwrap();
            let stream = design.manifest.stream.clone().unwrap();
            assert_eq!(design_cost(&net, &opts).unwrap(), design.cost, "{name}: the costing builds the stream design");
            for layer in &design.cost.layers {
                let text = &design.files.iter().find(|(f, _)| *f == format!("{}.v", layer.module)).unwrap().1;
                // Line buffers, their control, in_ready's counters, the flatten buffer, the pipeline.
                assert_eq!(layer.register_bits, all_register_bits(text), "{name} {} (every {every})", layer.module);
                if ["_sconv", "_spool", "_sgpool"].iter().any(|s| layer.module.ends_with(s)) {
                    let w = read_module(text);
                    let (acc, acc_bits) = accumulator_adders(text);
                    assert_eq!((layer.adders, layer.adder_bits), (w.adders + acc, w.adder_bits + acc_bits), "{name} {}", layer.module);
                    assert_eq!(layer.select_bits, w.select_bits + count_selects(text), "{name} {}", layer.module);
                }
            }
            let flow = FlowOptions::rtl(every, qforge::rtl::cost::cost_for).with_io_stream(true);
            let est = estimate::estimate_spec(
                &spec,
                &flow,
                &Calibration::default(),
                &Target::paper(),
                &EnergyOptions::default(),
                &BitsOptions::default(),
            )
            .unwrap();
            let s = est.structural.as_ref().unwrap();
            assert_eq!(s.cost, design.cost, "{name}: the estimate prices the stream design");
            assert_eq!(s.cost.frame_interval_cycles, Some(stream.frame_interval_cycles));
            assert_eq!(est.totals.ii_cycles, stream.frame_interval_cycles, "{name}: an image every frame interval");
            // Each layer gets its module's price; a Flatten is the flatten buffer.
            let modules: Vec<&str> = s.modules.iter().map(|m| m.module.as_str()).collect();
            for (l, m) in est.layers.iter().zip(&s.modules) {
                assert_eq!(l.resources.lut, m.resources.lut, "{name}: layer {} against {modules:?}", l.name);
            }
            let parallel = price(&spec, every, false);
            assert!(parallel.totals.lut > est.totals.lut, "{name}: the stream design computes one pixel's arithmetic once");
        }
    }
}
