//! Measured switching activity of a mapped netlist (`qforge switching`).
//!
//! Owns the gate-level simulation of the Yosys JSON netlist that `qforge synth
//! --tool yosys --netlist` writes (`RTL_DIR/runs/yosys/netlist.json`): Xilinx
//! primitives simulated cycle by cycle in Rust ([`sim`], [`cells`]), driven
//! exactly as `qforge rtl-sim` drives the RTL (one sample per clock with
//! `in_valid`, or a stream design's pixels on its frame schedule; outputs
//! read at `out_valid`), every logit compared bit for bit
//! with `FixedNetwork::predict_raw` (a difference is [`Error::Mismatch`]).
//! Every 0→1 and 1→0 change of every cell output bit is counted, attributed to
//! a layer ([`attribute`]) and priced with the calibration's `[switching]`
//! per-toggle energies.
//!
//! Input: the netlist, the design's manifest (`qforge_rtl.json`), the network
//! and raw input samples. Output: a [`SwitchingReport`] (per layer toggles by
//! cell class, energy per inference, toggle rate, speed) and, for `qforge
//! calibrate --target energy`, an [`EnergySample`] line.
pub mod attribute;
pub mod cells;
pub mod netlist;
pub mod sim;

use crate::calibrate::energy::{EnergyLayer, EnergySample};
use crate::error::{Error, Result};
use crate::estimate::calibration::SwitchingWeights;
use crate::model::{FixedNetwork, TrainedModel};
use crate::rtl::{PortGroup, RtlManifest};
use netlist::{Bit, Netlist};
use serde::Serialize;
use sim::Simulator;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Where `qforge synth DIR --tool yosys --netlist` writes the netlist.
pub fn default_netlist_path(rtl_dir: &Path) -> PathBuf {
    rtl_dir.join("runs").join("yosys").join(crate::tools::yosys::NETLIST_FILE)
}

#[derive(Clone, Debug)]
pub struct SwitchingOptions {
    pub clock_port: String,
    /// How many mismatching samples to describe.
    pub show_mismatches: usize,
    /// Samples that differ are counted in the report (`mismatches`,
    /// `first_mismatches`) instead of failing with `Error::Mismatch`: the
    /// pipeline's summary shows the count per candidate.
    pub count_mismatches: bool,
}

impl Default for SwitchingOptions {
    fn default() -> Self {
        SwitchingOptions { clock_port: "clk".into(), show_mismatches: 5, count_mismatches: false }
    }
}

/// Toggles and energy of one layer (an instance of the design, or `other`).
#[derive(Clone, Debug, Serialize)]
pub struct LayerSwitching {
    pub name: String,
    pub cells_by_class: BTreeMap<String, u64>,
    pub toggles_by_class: BTreeMap<String, u64>,
    pub toggles: u64,
    pub toggles_per_inference: f64,
    pub energy_pj_per_inference: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct SwitchingReport {
    pub netlist: PathBuf,
    pub top: String,
    pub samples: usize,
    /// Cycles counted (from the first sample in to the last out).
    pub cycles: u64,
    pub latency_cycles: u32,
    pub mismatches: usize,
    /// The first mismatching samples, described (at most `show_mismatches`).
    pub first_mismatches: Vec<String>,
    /// Outputs compared bit for bit with the model, and those left out (with why).
    pub compared: Vec<String>,
    pub not_compared: Vec<String>,
    pub cells: usize,
    pub cells_by_class: BTreeMap<String, u64>,
    /// DSP / block-RAM cells whose outputs are not simulated (left unknown).
    pub opaque_cells: usize,
    pub registers: usize,
    pub tracked_output_bits: usize,
    pub layers: Vec<LayerSwitching>,
    pub total_toggles: u64,
    pub toggles_per_inference: f64,
    /// Toggles per tracked output bit per cycle.
    pub toggle_rate: f64,
    pub energy_pj_per_inference: f64,
    pub fj_per_toggle: BTreeMap<String, f64>,
    pub weights_origin: String,
    pub parse_secs: f64,
    pub build_secs: f64,
    pub sim_secs: f64,
    /// CPU time of the simulation loop (the machine may be shared: wall time overstates the cost).
    pub sim_cpu_secs: f64,
    /// Cycles per second of CPU time.
    pub cycles_per_sec: f64,
    /// Toggles of each netlist cell (in the netlist's cell order), and the index
    /// into `layers` each cell is attributed to.
    #[serde(skip)]
    pub cell_toggles: Vec<u64>,
    #[serde(skip)]
    pub cell_layers: Vec<usize>,
    #[serde(skip)]
    pub cell_names: Vec<String>,
}

/// A port group's ports, in index order, checked against the manifest.
fn group_ports<'a>(nl: &'a Netlist, g: &PortGroup, input: bool) -> Result<Vec<&'a [Bit]>> {
    (0..g.count)
        .map(|j| {
            let name = format!("{}{j}", g.prefix);
            match nl.port(&name) {
                Some(p) if p.input == input && p.bits.len() == g.width as usize => Ok(p.bits.as_slice()),
                Some(p) => Err(Error::input(
                    &nl.path,
                    format!(
                        "port `{name}` is {} bits wide ({}), the design's manifest says {} bits",
                        p.bits.len(),
                        if p.input { "input" } else { "output" },
                        g.width
                    ),
                )),
                None => Err(Error::input(&nl.path, format!("the netlist has no port `{name}`: was it synthesised from this design?"))),
            }
        })
        .collect()
}

fn one_bit<'a>(nl: &'a Netlist, name: &str) -> Result<&'a [Bit]> {
    nl.port(name)
        .map(|p| p.bits.as_slice())
        .filter(|b| b.len() == 1)
        .ok_or_else(|| Error::input(&nl.path, format!("the netlist has no one-bit port `{name}`")))
}

/// CPU time of this thread (the simulation is single-threaded).
fn thread_cpu_secs() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec we own.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc == 0 {
        ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
    } else {
        0.0
    }
}

fn mask(width: u32) -> u64 {
    if width >= 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    }
}

/// Simulate `raw_inputs` (row-major, `net.n_inputs()` per sample) through the
/// netlist, compare, count toggles, price them.
pub fn measure(
    netlist_path: &Path,
    manifest: &RtlManifest,
    net: &FixedNetwork,
    raw_inputs: &[i64],
    weights: &SwitchingWeights,
    opts: &SwitchingOptions,
) -> Result<SwitchingReport> {
    let n_in = net.n_inputs();
    let samples = raw_inputs.len() / n_in;
    if samples == 0 {
        return Err(Error::Config("no samples to simulate".into()));
    }
    // A stream design's input ports carry one pixel: image k's pixel i is
    // driven in cycle k·P + i (P the frame interval), as rtl-sim drives it.
    let (pixels, period) = manifest.stream.as_ref().map_or((1, 1), |s| (s.pixels, s.frame_interval_cycles));
    if manifest.inputs.count * pixels != n_in || manifest.logits.count != net.n_outputs() {
        return Err(Error::Config(format!(
            "the design has {} inputs and {} outputs, the model {} and {}: regenerate it with `qforge rtl`",
            manifest.inputs.count,
            manifest.logits.count,
            n_in,
            net.n_outputs()
        )));
    }
    let t0 = Instant::now();
    let nl = Netlist::load(netlist_path)?;
    let parse_secs = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let mut sim = Simulator::build(&nl, &opts.clock_port)?;
    let layer_names: Vec<(String, String)> = manifest
        .layers
        .iter()
        .map(|l| (l.instance.clone(), l.module.clone()))
        .chain(std::iter::once(("out".to_string(), "output_stage".to_string())))
        .collect();
    let cell_layer = attribute::attribute(&nl, &layer_names);
    let build_secs = t1.elapsed().as_secs_f64();

    let inputs = group_ports(&nl, &manifest.inputs, true)?;
    let logits = group_ports(&nl, &manifest.logits, false)?;
    let probs = match &manifest.probs {
        Some(p) => group_ports(&nl, p, false)?,
        None => Vec::new(),
    };
    let class_idx = nl
        .port("class_idx")
        .filter(|p| !p.input)
        .map(|p| p.bits.clone())
        .ok_or_else(|| Error::input(&nl.path, "the netlist has no output port `class_idx`"))?;
    let (rst, in_valid, out_valid) =
        (one_bit(&nl, "rst")?.to_vec(), one_bit(&nl, "in_valid")?.to_vec(), one_bit(&nl, "out_valid")?.to_vec());
    let expected = net.predict_raw(raw_inputs);
    let n_out = manifest.logits.count;

    // Reset for one clock (as rtl-sim's testbench does), then one sample per clock.
    let t2 = Instant::now();
    let cpu0 = thread_cpu_secs();
    for bits in &inputs {
        sim.set_port(bits, 0);
    }
    sim.set_port(&in_valid, 0);
    sim.set_port(&rst, 1);
    sim.settle();
    sim.clock();
    sim.set_port(&rst, 0);
    sim.settle();
    let mut per_cell = vec![0u64; nl.cells.len()];
    let mut discard = vec![0u64; nl.cells.len()];
    sim.count_toggles(&mut discard);

    let (mut next_out, mut cycle) = (0usize, 0u64);
    // The cycle of each sample's (last) input pixel, the latency's origin.
    let mut in_cycle = vec![0u64; samples];
    let ch = manifest.inputs.count;
    let mut latencies = std::collections::BTreeSet::new();
    let (mut mismatches, mut first) = (0usize, Vec::new());
    let (mut probs_compared, mut probs_unknown, mut class_compared, mut class_unknown) = (0usize, 0usize, 0usize, 0usize);
    let limit = samples as u64 * period + manifest.latency_cycles as u64 + 1000;
    while next_out < samples {
        if cycle >= limit {
            return Err(Error::Mismatch(format!(
                "the netlist gave {next_out} of {samples} outputs in {cycle} cycles (out_valid never rose for the rest)"
            )));
        }
        let (k, i) = ((cycle / period) as usize, (cycle % period) as usize);
        if k < samples && i < pixels {
            let x = &raw_inputs[k * n_in + i * ch..k * n_in + (i + 1) * ch];
            for (bits, &v) in inputs.iter().zip(x) {
                sim.set_port(bits, (v as u64) & mask(manifest.inputs.width));
            }
            sim.set_port(&in_valid, 1);
            in_cycle[k] = cycle;
        } else {
            sim.set_port(&in_valid, 0);
        }
        sim.settle();
        sim.count_toggles(&mut per_cell);
        match sim.read_port(&out_valid) {
            None => return Err(Error::Mismatch(format!("out_valid is unknown (x) at cycle {cycle} of the netlist simulation"))),
            Some(1) => {
                let k = next_out;
                latencies.insert(cycle - in_cycle[k]);
                let mut faults = Vec::new();
                for (j, bits) in logits.iter().enumerate() {
                    let want = (expected.logits[k * n_out + j] as u64) & mask(manifest.logits.width);
                    match sim.read_port(bits) {
                        Some(got) if got == want => {}
                        Some(got) => faults.push(format!("logit_{j} = {got} (raw bits) but the model gives {want}")),
                        None => faults.push(format!("logit_{j} has unknown (x) bits; the model gives {want}")),
                    }
                }
                if let Some(p) = &manifest.probs {
                    for (j, bits) in probs.iter().enumerate() {
                        let want = (expected.outputs[k * n_out + j] as u64) & mask(p.width);
                        match sim.read_port(bits) {
                            Some(got) => {
                                probs_compared += 1;
                                if got != want {
                                    faults.push(format!("prob_{j} = {got} but the model gives {want}"));
                                }
                            }
                            None => probs_unknown += 1,
                        }
                    }
                }
                let want = expected.predicted_class(k) as u64;
                match sim.read_port(&class_idx) {
                    Some(got) => {
                        class_compared += 1;
                        if got != want {
                            faults.push(format!("class = {got} but the model gives {want}"));
                        }
                    }
                    None => class_unknown += 1,
                }
                if !faults.is_empty() {
                    mismatches += 1;
                    if first.len() < opts.show_mismatches {
                        first.push(format!("sample {k}: {}", faults.join("; ")));
                    }
                }
                next_out += 1;
            }
            Some(_) => {}
        }
        sim.clock();
        cycle += 1;
    }
    let sim_secs = t2.elapsed().as_secs_f64();
    let sim_cpu_secs = thread_cpu_secs() - cpu0;
    if mismatches > 0 && !opts.count_mismatches {
        return Err(Error::Mismatch(format!(
            "{mismatches} of {samples} samples differ between the gate-level simulation of {} and the fixed-point model:\n  {}",
            netlist_path.display(),
            first.join("\n  ")
        )));
    }
    if latencies.len() > 1 {
        return Err(Error::Mismatch(format!("latency differs between samples in the netlist: {latencies:?} cycles")));
    }
    let latency = *latencies.iter().next().unwrap_or(&0) as u32;
    if latency != manifest.latency_cycles {
        return Err(Error::Mismatch(format!(
            "the netlist's latency is {latency} cycles, the design has {} register stages",
            manifest.latency_cycles
        )));
    }
    let mut compared = vec![format!("logits ({} x {} bits)", n_out, manifest.logits.width)];
    let mut not_compared = Vec::new();
    let opaque_note = "depends on DSP48E2/RAMB18E2 outputs, which are not simulated (left unknown)";
    if manifest.probs.is_some() {
        if probs_unknown == 0 {
            compared.push("probabilities".into());
        } else {
            not_compared.push(format!(
                "probabilities: {probs_unknown} of {} values unknown ({opaque_note}); {probs_compared} compared",
                probs_unknown + probs_compared
            ));
        }
    }
    if class_unknown == 0 {
        compared.push("class_idx".into());
    } else {
        not_compared.push(format!("class_idx: {class_unknown} of {samples} unknown ({opaque_note}); {class_compared} compared"));
    }

    // Toggles by layer and class, priced.
    let mut names: Vec<String> = layer_names.iter().map(|(i, _)| i.clone()).collect();
    names.push("other".into());
    let mut layers: Vec<LayerSwitching> = names
        .into_iter()
        .map(|name| LayerSwitching {
            name,
            cells_by_class: BTreeMap::new(),
            toggles_by_class: BTreeMap::new(),
            toggles: 0,
            toggles_per_inference: 0.0,
            energy_pj_per_inference: 0.0,
        })
        .collect();
    let mut cells_by_class = BTreeMap::new();
    for (i, cell) in nl.cells.iter().enumerate() {
        let class = attribute::cell_class(&cell.kind).to_string();
        let l = &mut layers[cell_layer[i]];
        *l.cells_by_class.entry(class.clone()).or_insert(0) += 1;
        *cells_by_class.entry(class.clone()).or_insert(0u64) += 1;
        if per_cell[i] > 0 {
            *l.toggles_by_class.entry(class).or_insert(0) += per_cell[i];
            l.toggles += per_cell[i];
        }
    }
    for l in &mut layers {
        l.toggles_per_inference = l.toggles as f64 / samples as f64;
        l.energy_pj_per_inference =
            l.toggles_by_class.iter().fold(0.0, |e, (c, &t)| e + t as f64 * weights.weight(c)) / 1000.0 / samples as f64;
    }
    let total_toggles: u64 = layers.iter().map(|l| l.toggles).sum();
    let tracked = sim.tracked.len();
    Ok(SwitchingReport {
        netlist: netlist_path.to_path_buf(),
        top: nl.top.clone(),
        samples,
        cycles: cycle,
        latency_cycles: latency,
        mismatches,
        first_mismatches: first,
        compared,
        not_compared,
        cells: nl.cells.len(),
        cells_by_class,
        opaque_cells: sim.opaque_cells.len(),
        registers: sim.n_registers(),
        tracked_output_bits: tracked,
        total_toggles,
        toggles_per_inference: total_toggles as f64 / samples as f64,
        toggle_rate: total_toggles as f64 / (tracked.max(1) as f64 * cycle.max(1) as f64),
        energy_pj_per_inference: layers.iter().fold(0.0, |e, l| e + l.energy_pj_per_inference),
        layers,
        fj_per_toggle: weights.fj_per_toggle.clone(),
        weights_origin: weights.origin.clone(),
        parse_secs,
        build_secs,
        sim_secs,
        sim_cpu_secs,
        cycles_per_sec: cycle as f64 / sim_cpu_secs.max(1e-9),
        cell_toggles: per_cell,
        cell_layers: cell_layer,
        cell_names: nl.cells.iter().map(|c| c.name.clone()).collect(),
    })
}

/// How to count a layer's operations for the energy calibration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OpCount {
    /// n_in·n_out multiplications and additions, as the estimator
    /// (`estimate::energy::layer_energy`) prices them: the fitted coefficients
    /// then apply to the estimator's own features.
    All,
    /// Only the non-zero weights (what the hardware builds).
    Nonzero,
}

/// The [`EnergySample`] of one measured variant: per module (a CNN's conv and
/// pooling layers, then the dense layers) the operations (from the model) and
/// the measured switching energy of instance `lN` in pJ per inference. The
/// output stage and unattributed cells are left out: the refit prices layers only.
pub fn energy_sample(name: &str, model: &TrainedModel, report: &SwitchingReport, ops: OpCount) -> Result<EnergySample> {
    let measured_of = |k: usize| {
        let instance = format!("l{}", k + 1);
        report
            .layers
            .iter()
            .find(|l| l.name == instance)
            .map(|l| l.energy_pj_per_inference)
            .ok_or_else(|| Error::Config(format!("the switching report has no layer `{instance}`")))
    };
    if model.spec.has_features() {
        // A CNN's modules are its conv and pooling layers, then the dense ones (`lN` in that order).
        if ops == OpCount::Nonzero {
            return Err(Error::Config(format!(
                "model `{}`: --ops nonzero counts dense layers only; use --ops all for a CNN",
                model.spec.name
            )));
        }
        let mut layers = EnergyLayer::for_model(model)?;
        for (k, layer) in layers.iter_mut().enumerate() {
            layer.measured_pj = measured_of(k)?;
        }
        return Ok(EnergySample { name: name.to_string(), layers });
    }
    let inputs = crate::estimate::layers_from_model(model)?;
    let net = FixedNetwork::from_model(model)?;
    let mut layers = Vec::new();
    for (k, (input, fixed)) in inputs.iter().zip(&net.layers).enumerate() {
        let mut layer = match ops {
            OpCount::All => EnergyLayer::from_layer(input),
            OpCount::Nonzero => EnergyLayer::with_count(input, fixed.weights.iter().filter(|&&w| w != 0).count() as f64),
        };
        layer.measured_pj = measured_of(k)?;
        layers.push(layer);
    }
    Ok(EnergySample { name: name.to_string(), layers })
}

/// Append `sample` as one JSON line to `path` (one write, so concurrent
/// writers never interleave within a line).
pub fn append_energy_sample(path: &Path, sample: &EnergySample) -> Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let mut line = serde_json::to_string(sample).map_err(|e| Error::Config(format!("energy sample does not serialise: {e}")))?;
    line.push('\n');
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(|e| Error::io(path, e))?;
    f.write_all(line.as_bytes()).map_err(|e| Error::io(path, e))
}
