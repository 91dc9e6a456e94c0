//! Bit-exact simulation of a generated design: a testbench feeds one sample
//! per clock from a raw-input file, writes every output port (raw bits) and
//! the cycles from `in_valid` to `out_valid` per sample; every bit is compared
//! with `FixedNetwork::predict_raw` computed in-process.
//!
//! Verilator (default) compiles the design to C++ once (cached by a hash of
//! the sources) and then runs ~10^5 samples/s; Icarus Verilog needs no C++
//! build but interprets the netlist, far slower for 10 000 samples.
//!
//! Input: a design folder (manifest + Verilog), the network, raw inputs.
//! Output: `DIR/sim/<simulator>/` (build, inputs.txt, outputs.txt, logs) and a [`SimResult`].
use super::testbench::{iverilog_testbench, verilator_testbench};
use super::verilog::{PortGroup, RtlManifest};
use crate::error::{Error, Result};
use crate::model::predict_io::format_inputs_raw;
use crate::model::FixedNetwork;
use crate::tools::hdl;
use crate::tools::ToolEnv;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Simulator {
    Verilator,
    Iverilog,
}

impl std::str::FromStr for Simulator {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "verilator" => Ok(Simulator::Verilator),
            "iverilog" | "icarus" => Ok(Simulator::Iverilog),
            _ => Err(Error::Config(format!("unknown simulator `{s}` (known: verilator, iverilog)"))),
        }
    }
}

#[derive(Clone, Debug)]
pub struct SimOptions {
    pub simulator: Simulator,
    pub env: ToolEnv,
    /// How many mismatching samples to describe.
    pub show_mismatches: usize,
    /// Stream designs: offer each pixel in a cycle with this chance (percent)
    /// of a stall, back to back otherwise, and let `in_ready` pace the
    /// frames; None drives the manifest's fixed frame schedule.
    pub stall_percent: Option<u32>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions { simulator: Simulator::Verilator, env: ToolEnv::from_process(), show_mismatches: 5, stall_percent: None }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct SimResult {
    pub simulator: Simulator,
    pub simulator_version: Option<String>,
    pub samples: usize,
    /// Samples with at least one differing output bit.
    pub mismatches: usize,
    pub first_mismatches: Vec<String>,
    /// Cycles from in_valid to out_valid, measured per sample (all equal;
    /// with stalls, the largest, which must not exceed the design's).
    pub latency_cycles: u32,
    /// The stall chance the stream testbench drove (percent), if any.
    pub stall_percent: Option<u32>,
    /// What the generator built (must equal the measured latency).
    pub expected_latency_cycles: u32,
    pub build_secs: f64,
    pub build_cached: bool,
    pub run_secs: f64,
    pub samples_per_sec: f64,
    pub work_dir: PathBuf,
}

/// Simulate `raw_inputs` (row-major, `n_inputs` per sample) through the design in `design_dir`.
pub fn simulate(design_dir: &Path, manifest: &RtlManifest, net: &FixedNetwork, raw_inputs: &[i64], opts: &SimOptions) -> Result<SimResult> {
    check_matches(manifest, net, design_dir)?;
    let n_in = net.n_inputs();
    let samples = raw_inputs.len() / n_in;
    if samples == 0 {
        return Err(Error::Config("no samples to simulate".into()));
    }
    let sources: Vec<PathBuf> = manifest.files.iter().map(|f| design_dir.join(f)).collect();
    for s in &sources {
        if !s.is_file() {
            return Err(Error::input(s, "Verilog file listed in the manifest is missing: rewrite the design with `qforge rtl`"));
        }
    }
    if manifest.stream.is_some() && opts.simulator == Simulator::Iverilog {
        return Err(Error::Config(format!(
            "{}: a streaming design (io stream) is driven pixel by pixel by the Verilator testbench only: use --simulator verilator",
            design_dir.display()
        )));
    }
    if let Some(p) = opts.stall_percent {
        if manifest.stream.is_none() || p > 90 {
            return Err(Error::Config(format!(
                "{}: stalls (--stall {p}) are driven on a streaming design only, at most 90 percent",
                design_dir.display()
            )));
        }
    }
    let name = match opts.simulator {
        Simulator::Verilator => "verilator",
        Simulator::Iverilog => "iverilog",
    };
    let work = design_dir.join("sim").join(name);
    std::fs::create_dir_all(&work).map_err(|e| Error::io(&work, e))?;
    let work = work.canonicalize().map_err(|e| Error::io(&work, e))?;
    let inputs_path = work.join("inputs.txt");
    let outputs_path = work.join("outputs.txt");
    crate::error::write_atomic(&inputs_path, format_inputs_raw(raw_inputs, n_in).as_bytes())?;
    let _ = std::fs::remove_file(&outputs_path);
    let sources: Vec<PathBuf> = sources.iter().map(|s| s.canonicalize().map_err(|e| Error::io(s, e))).collect::<Result<_>>()?;

    let (version, build_secs, cached, run_secs) = match opts.simulator {
        Simulator::Verilator => run_verilator(manifest, &sources, &work, &inputs_path, &outputs_path, opts)?,
        Simulator::Iverilog => run_iverilog(manifest, &sources, &work, &inputs_path, &outputs_path, samples, &opts.env)?,
    };
    let text = crate::error::read_to_string(&outputs_path)?;
    let expected = net.predict_raw(raw_inputs);
    let mut mismatches = 0;
    let mut first = Vec::new();
    let mut latencies = std::collections::BTreeSet::new();
    let mut rows = 0;
    for (k, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let vals: Vec<u64> = line
            .split_whitespace()
            .map(|t| t.parse::<u64>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| Error::input_at(&outputs_path, Some(k + 1), None, format!("not a number: {e}")))?;
        let n_out = manifest.logits.count;
        let n_prob = manifest.probs.as_ref().map_or(0, |p| p.count);
        if vals.len() != 1 + n_out + n_prob + 1 {
            return Err(Error::input_at(
                &outputs_path,
                Some(k + 1),
                None,
                format!("{} values, expected {}", vals.len(), 2 + n_out + n_prob),
            ));
        }
        if k >= samples {
            break;
        }
        latencies.insert(vals[0]);
        let mut faults = Vec::new();
        for j in 0..n_out {
            let want = bits(expected.logits[k * n_out + j], &manifest.logits);
            if vals[1 + j] != want {
                faults.push(format!("logit_{j} = {} (raw bits) but the model gives {want}", vals[1 + j]));
            }
        }
        if let Some(p) = &manifest.probs {
            for j in 0..n_prob {
                let want = bits(expected.outputs[k * n_out + j], p);
                if vals[1 + n_out + j] != want {
                    faults.push(format!("prob_{j} = {} but the model gives {want}", vals[1 + n_out + j]));
                }
            }
        }
        let class = expected.predicted_class(k) as u64;
        if vals[1 + n_out + n_prob] != class {
            faults.push(format!("class = {} but the model gives {class}", vals[1 + n_out + n_prob]));
        }
        if !faults.is_empty() {
            mismatches += 1;
            if first.len() < opts.show_mismatches {
                first.push(format!("sample {k}: {}", faults.join("; ")));
            }
        }
        rows += 1;
    }
    if rows < samples {
        return Err(Error::Tool(format!(
            "the simulation wrote {rows} of {samples} samples to {} (out_valid never rose for the rest?)",
            outputs_path.display()
        )));
    }
    // Stalls before an image's last pixel may shorten the wait after it.
    if latencies.len() > 1 && opts.stall_percent.is_none() {
        return Err(Error::Mismatch(format!("latency differs between samples: {latencies:?} cycles")));
    }
    let latency = *latencies.iter().next_back().unwrap_or(&0) as u32;
    Ok(SimResult {
        simulator: opts.simulator,
        simulator_version: version,
        samples,
        mismatches,
        first_mismatches: first,
        latency_cycles: latency,
        expected_latency_cycles: manifest.latency_cycles,
        stall_percent: opts.stall_percent,
        build_secs,
        build_cached: cached,
        run_secs,
        samples_per_sec: samples as f64 / run_secs.max(1e-9),
        work_dir: work,
    })
}

/// A raw value as the port's bits.
fn bits(raw: i64, port: &PortGroup) -> u64 {
    let mask = if port.width >= 64 { u64::MAX } else { (1u64 << port.width) - 1 };
    (raw as u64) & mask
}

fn check_matches(manifest: &RtlManifest, net: &FixedNetwork, dir: &Path) -> Result<()> {
    let path = dir.join(super::MANIFEST_FILE);
    let t = net.layers.last().expect("layers").out_type;
    // A streaming design's ports carry one pixel.
    let pixels = manifest.stream.as_ref().map_or(1, |s| s.pixels);
    if manifest.inputs.count * pixels != net.n_inputs() || manifest.logits.count != net.n_outputs() || manifest.logits.width != t.width {
        return Err(Error::input(
            path,
            format!(
                "this design has {} inputs and {} outputs of {} bits, the model {} and {} of {} bits: regenerate it with `qforge rtl`",
                manifest.inputs.count * pixels,
                manifest.logits.count,
                manifest.logits.width,
                net.n_inputs(),
                net.n_outputs(),
                t.width
            ),
        ));
    }
    if manifest.probs.is_some() != (net.softmax.is_some() || net.hls4ml_softmax.is_some()) {
        return Err(Error::input(path, "the design's softmax does not match the model's: regenerate it with `qforge rtl`"));
    }
    for g in [&manifest.inputs, &manifest.logits] {
        if g.width > 64 {
            return Err(Error::Config(format!("ports `{}*` are {} bits wide: the testbench handles up to 64", g.prefix, g.width)));
        }
    }
    Ok(())
}

fn stamp_of(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    hex::encode(h.finalize())
}

/// Build (unless cached) and run; returns (version, build s, cached, run s).
fn run_verilator(
    m: &RtlManifest,
    sources: &[PathBuf],
    work: &Path,
    inputs: &Path,
    outputs: &Path,
    opts: &SimOptions,
) -> Result<(Option<String>, f64, bool, f64)> {
    let env = &opts.env;
    let verilator = hdl::find("verilator", "QFORGE_VERILATOR", "verilator", env)?;
    let version = hdl::version(&verilator, "--version", env);
    let tb = work.join("tb.cpp");
    let tb_text = verilator_testbench(m);
    crate::error::write_atomic(&tb, tb_text.as_bytes())?;
    let mut args: Vec<String> = [
        "--cc",
        "--exe",
        "--build",
        "-O2",
        // Verilator's bit-op-tree rewrite miscomputes some of our rounding
        // casts (Verilator 5.006: `$signed({1'b0, relu[k]})` read as -1;
        // its issues #3824, #4059, #4841 are the same family): off.
        "-fno-const-bit-op-tree",
        "-j",
        "2",
        "-Wno-fatal",
        "-Wno-lint",
        "-Wno-style",
        "--x-assign",
        "fast",
        "--x-initial",
        "fast",
        "--Mdir",
        "obj_dir",
        "-o",
        "Vsim",
        "--top-module",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(m.top.clone());
    args.extend(sources.iter().map(|s| s.display().to_string()));
    args.push(tb.display().to_string());
    let mut parts: Vec<Vec<u8>> = vec![args.join(" ").into_bytes(), tb_text.into_bytes(), version.clone().unwrap_or_default().into_bytes()];
    for s in sources {
        parts.push(crate::error::read_bytes(s)?);
    }
    let stamp = stamp_of(&parts.iter().map(|p| p.as_slice()).collect::<Vec<_>>());
    let stamp_path = work.join("build.stamp");
    let exe = work.join("obj_dir").join("Vsim");
    let cached = exe.is_file() && std::fs::read_to_string(&stamp_path).map(|s| s.trim() == stamp).unwrap_or(false);
    let mut build_secs = 0.0;
    if !cached {
        let _ = std::fs::remove_file(&stamp_path);
        let step = hdl::run_logged(&verilator, &args, work, env, &work.join("build.log"))?;
        build_secs = step.elapsed_secs;
        if !step.success {
            return Err(Error::Tool(format!(
                "verilator failed to build the design (see {}):\n{}",
                step.log.display(),
                hdl::log_tail(&step.log, 15)
            )));
        }
        crate::error::write_atomic(&stamp_path, stamp.as_bytes())?;
    }
    let mut run_args = vec![inputs.display().to_string(), outputs.display().to_string()];
    run_args.extend(opts.stall_percent.map(|p| p.to_string()));
    let step = hdl::run_logged(&exe, &run_args, work, env, &work.join("run.log"))?;
    if !step.success {
        return Err(Error::Tool(format!(
            "the Verilator simulation failed (see {}):\n{}",
            step.log.display(),
            hdl::log_tail(&step.log, 10)
        )));
    }
    let run_secs = measured_secs(&step.log).unwrap_or(step.elapsed_secs);
    Ok((version, build_secs, cached, run_secs))
}

/// The simulation loop's own timing line (excludes process start and file reading).
fn measured_secs(log: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(log).ok()?;
    let line = text.lines().find(|l| l.starts_with("qforge-sim:"))?;
    line.rsplit(',').next()?.trim().trim_end_matches(" s").parse().ok()
}

fn run_iverilog(
    m: &RtlManifest,
    sources: &[PathBuf],
    work: &Path,
    inputs: &Path,
    outputs: &Path,
    samples: usize,
    env: &ToolEnv,
) -> Result<(Option<String>, f64, bool, f64)> {
    let iverilog = hdl::find("iverilog", "QFORGE_IVERILOG", "iverilog", env)?;
    let vvp = hdl::find("vvp", "QFORGE_VVP", "iverilog", env)?;
    let version = hdl::version(&iverilog, "-V", env);
    let tb = work.join("tb.v");
    crate::error::write_atomic(&tb, iverilog_testbench(m, inputs, outputs, samples).as_bytes())?;
    let mut args: Vec<String> = vec!["-g2005".into(), "-o".into(), "sim.vvp".into(), "-s".into(), "qforge_tb".into()];
    args.extend(sources.iter().map(|s| s.display().to_string()));
    args.push(tb.display().to_string());
    let step = hdl::run_logged(&iverilog, &args, work, env, &work.join("build.log"))?;
    if !step.success {
        return Err(Error::Tool(format!(
            "iverilog failed to compile the design (see {}):\n{}",
            step.log.display(),
            hdl::log_tail(&step.log, 15)
        )));
    }
    let build_secs = step.elapsed_secs;
    let run = hdl::run_logged(&vvp, &["-n".to_string(), "sim.vvp".to_string()], work, env, &work.join("run.log"))?;
    if !run.success {
        return Err(Error::Tool(format!("the Icarus simulation failed (see {}):\n{}", run.log.display(), hdl::log_tail(&run.log, 10))));
    }
    Ok((version, build_secs, false, run.elapsed_secs))
}
