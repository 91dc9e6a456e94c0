//! C simulation of a written HLS project: build the testbench and firmware
//! with g++ against the Xilinx `ap_types` headers, run it on raw test inputs,
//! and compare every output bit (and the argmax class) with the Rust
//! fixed-point model ([`FixedNetwork::predict_raw`]).
//!
//! Input: a project folder from [`super::write_project`], the network and raw
//! inputs. Output: files under `<project>/csim/` (inputs, results, binary,
//! compile log) and a [`CsimResult`] with mismatches and timings.
use super::project::load_meta;
use crate::error::{Error, Result};
use crate::events::{Event, Reporter};
use crate::model::FixedNetwork;
use crate::tools::cxx::{find_cxx, run_program};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The fix to name when the headers are missing.
pub const AP_TYPES_FIX: &str = "run scripts/setup-ap-types.sh (it unpacks them from the hls4ml wheel into .deps/ap_types) \
     or set QFORGE_AP_TYPES / pass --ap-types DIR to a folder holding ap_fixed.h";

/// Where the `ap_types` headers are: `explicit` (from `--ap-types` or
/// `QFORGE_AP_TYPES`), else `.deps/ap_types` in the qforge checkout.
pub fn find_ap_types(explicit: Option<&Path>) -> Result<PathBuf> {
    let candidate = match explicit {
        Some(dir) => dir.to_path_buf(),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join(".deps/ap_types"),
    };
    if candidate.join("ap_fixed.h").is_file() {
        return Ok(candidate);
    }
    Err(Error::Tool(format!("no ap_fixed.h in {}: the Xilinx ap_types headers are missing; {AP_TYPES_FIX}", candidate.display())))
}

#[derive(Debug, Clone)]
pub struct CsimOptions {
    pub ap_types: PathBuf,
    pub optimization: String,
    pub timeout: Duration,
    /// A `qforge predict` CSV of the same inputs to compare with as well.
    pub predictions_csv: Option<PathBuf>,
}

impl CsimOptions {
    pub fn new(ap_types: PathBuf) -> Self {
        CsimOptions { ap_types, optimization: "-O2".into(), timeout: Duration::from_secs(1800), predictions_csv: None }
    }
}

/// One sample whose C simulation differs from the Rust model.
#[derive(Debug, Clone, Serialize)]
pub struct SampleMismatch {
    pub sample: usize,
    /// Raw outputs then the class, as the Rust model computes them.
    pub expected: Vec<i64>,
    pub got: Vec<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CsimResult {
    pub project: PathBuf,
    pub samples: usize,
    /// Samples whose outputs or class differ in any bit.
    pub mismatches: usize,
    /// Individual output values that differ.
    pub mismatched_values: usize,
    pub first_mismatches: Vec<SampleMismatch>,
    /// Samples that differ from the `qforge predict` CSV, when one was given.
    pub predictions_mismatches: Option<usize>,
    pub compile_secs: f64,
    /// Wall time of the testbench process (reading, simulating, writing).
    pub run_secs: f64,
    /// Wall time of the testbench's loop over the samples alone.
    pub loop_secs: f64,
    /// CPU time of that loop (what a shared, loaded machine does not inflate).
    pub loop_cpu_secs: f64,
    /// Samples per second of the loop, by wall time and by CPU time.
    pub samples_per_sec: f64,
    pub samples_per_cpu_sec: f64,
    pub compiler: PathBuf,
    pub ap_types: PathBuf,
    pub binary: PathBuf,
    pub results: PathBuf,
}

/// Build and run the C simulation of `project` on `raw_inputs` (row-major) and
/// compare with `net`. Mismatches are counted, not raised: the caller decides.
pub fn run_csim(
    project: &Path,
    net: &FixedNetwork,
    raw_inputs: &[i64],
    options: &CsimOptions,
    reporter: &dyn Reporter,
) -> Result<CsimResult> {
    let meta = load_meta(project)?;
    if meta.n_inputs != net.n_inputs() || meta.n_outputs != net.n_outputs() {
        return Err(Error::Config(format!(
            "the model has {} inputs and {} outputs but the project in {} was written for {} and {}",
            net.n_inputs(),
            net.n_outputs(),
            project.display(),
            meta.n_inputs,
            meta.n_outputs
        )));
    }
    if raw_inputs.is_empty() || raw_inputs.len() % net.n_inputs() != 0 {
        return Err(Error::Config(format!("{} raw inputs are not a whole, non-zero number of samples", raw_inputs.len())));
    }
    let top = &meta.config.top;
    let compiler = find_cxx()?;
    let dir = project.join("csim");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let input_path = dir.join("input_raw.dat");
    crate::error::write_atomic(&input_path, crate::model::predict_io::format_inputs_raw(raw_inputs, net.n_inputs()).as_bytes())?;
    let binary = dir.join(format!("{top}_csim"));
    let results = dir.join("results.log");
    let _ = std::fs::remove_file(&results);

    reporter.event(Event::Log(format!("compiling the C simulation of {} with {}", project.display(), compiler.display())));
    let args: Vec<String> = vec![
        options.optimization.clone(),
        "-std=c++14".into(),
        "-I".into(),
        "firmware".into(),
        "-I".into(),
        options.ap_types.display().to_string(),
        format!("{top}_test.cpp"),
        format!("firmware/{top}.cpp"),
        "-o".into(),
        format!("csim/{top}_csim"),
    ];
    let compile = run_program(&compiler, &args, project, options.timeout)?;
    let compile_log = dir.join("compile.log");
    crate::error::write_atomic(&compile_log, compile.output.as_bytes())?;
    if !compile.success() {
        return Err(Error::Tool(format!(
            "g++ failed to compile {} (exit {:?}; full log in {}):\n{}",
            project.display(),
            compile.exit_code,
            compile_log.display(),
            compile.tail(15)
        )));
    }

    let n = raw_inputs.len() / net.n_inputs();
    reporter.event(Event::Log(format!("running the C simulation on {n} samples")));
    let run_args = vec![format!("csim/input_raw.dat"), format!("csim/results.log")];
    let run = run_program(&binary, &run_args, project, options.timeout)?;
    crate::error::write_atomic(&dir.join("run.log"), run.output.as_bytes())?;
    if !run.success() {
        return Err(Error::Tool(format!("the C simulation {} failed (exit {:?}):\n{}", binary.display(), run.exit_code, run.tail(15))));
    }
    // hls::stream reports a read of an empty stream or data left behind, and
    // carries on with zeros: an io_stream firmware that does either is wrong.
    if let Some(line) = run.output.lines().find(|l| l.contains("WARNING: Hls::stream")) {
        return Err(Error::Tool(format!("the C simulation {} misused a stream: {line}", binary.display())));
    }
    let loop_secs = parse_csim_field(&run.output, "loop_seconds").unwrap_or(run.elapsed_secs);
    let loop_cpu_secs = parse_csim_field(&run.output, "loop_cpu_seconds").unwrap_or(loop_secs);

    let n_out = net.n_outputs();
    let text = crate::error::read_to_string(&results)?;
    let got = crate::model::predict_io::parse_raw_rows(&results, &text, n_out + 1)?;
    if got.len() != n * (n_out + 1) {
        return Err(Error::input(&results, format!("{} result lines for {n} samples", got.len() / (n_out + 1))));
    }
    let predicted = net.predict_raw(raw_inputs);
    let mut expected = Vec::with_capacity(n * (n_out + 1));
    for sample in 0..n {
        expected.extend_from_slice(&predicted.outputs[sample * n_out..(sample + 1) * n_out]);
        expected.push(predicted.predicted_class(sample) as i64);
    }
    let (mismatches, mismatched_values, first) = compare_rows(&expected, &got, n_out + 1);
    let predictions_mismatches = match &options.predictions_csv {
        Some(csv) => {
            let rows = predictions_csv_rows(csv, n_out)?;
            if rows.len() < got.len() {
                return Err(Error::input(csv, format!("{} samples, fewer than the {n} simulated", rows.len() / (n_out + 1))));
            }
            Some(compare_rows(&rows[..got.len()], &got, n_out + 1).0)
        }
        None => None,
    };
    Ok(CsimResult {
        project: project.to_path_buf(),
        samples: n,
        mismatches,
        mismatched_values,
        first_mismatches: first,
        predictions_mismatches,
        compile_secs: compile.elapsed_secs,
        run_secs: run.elapsed_secs,
        loop_secs,
        samples_per_sec: if loop_secs > 0.0 { n as f64 / loop_secs } else { 0.0 },
        samples_per_cpu_sec: if loop_cpu_secs > 0.0 { n as f64 / loop_cpu_secs } else { 0.0 },
        loop_cpu_secs,
        compiler,
        ap_types: options.ap_types.clone(),
        binary,
        results,
    })
}

/// Compare two row-major tables of `width` values a row: (differing rows,
/// differing values, the first five differing rows).
fn compare_rows(expected: &[i64], got: &[i64], width: usize) -> (usize, usize, Vec<SampleMismatch>) {
    let (mut rows, mut values, mut first) = (0, 0, Vec::new());
    for (sample, (want, have)) in expected.chunks(width).zip(got.chunks(width)).enumerate() {
        let differing = want.iter().zip(have).filter(|(a, b)| a != b).count();
        if differing > 0 {
            rows += 1;
            values += differing;
            if first.len() < 5 {
                first.push(SampleMismatch { sample, expected: want.to_vec(), got: have.to_vec() });
            }
        }
    }
    (rows, values, first)
}

/// The `out_raw_*` and `predicted` columns of a `qforge predict` CSV, as rows
/// of raw outputs followed by the class.
pub fn predictions_csv_rows(path: &Path, n_out: usize) -> Result<Vec<i64>> {
    let text = crate::error::read_to_string(path)?;
    let mut lines = text.lines().enumerate();
    let header: Vec<&str> = lines.next().map(|(_, l)| l.split(',').collect()).unwrap_or_default();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or_else(|| Error::input_at(path, Some(1), Some(name), "column missing: not a `qforge predict` CSV"))
    };
    let mut columns = (0..n_out).map(|j| column(&format!("out_raw_{j}"))).collect::<Result<Vec<_>>>()?;
    columns.push(column("predicted")?);
    let mut rows = Vec::new();
    for (i, line) in lines.filter(|(_, l)| !l.trim().is_empty()) {
        let cells: Vec<&str> = line.split(',').collect();
        for &c in &columns {
            let cell = cells.get(c).ok_or_else(|| Error::input_at(path, Some(i + 1), Some(header[c]), "missing value"))?;
            rows.push(
                cell.trim()
                    .parse::<i64>()
                    .map_err(|e| Error::input_at(path, Some(i + 1), Some(header[c]), format!("not an integer: {e}")))?,
            );
        }
    }
    Ok(rows)
}

/// A `name=value` field of the testbench's `QFORGE_CSIM ...` line.
fn parse_csim_field(output: &str, name: &str) -> Option<f64> {
    let prefix = format!("{name}=");
    output
        .lines()
        .find_map(|line| line.strip_prefix("QFORGE_CSIM ")?.split_whitespace().find_map(|w| w.strip_prefix(prefix.as_str())?.parse().ok()))
}
