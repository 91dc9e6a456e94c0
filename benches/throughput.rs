//! Throughput of the two hot paths on the paper's jet tagger (examples/jet_tagger.toml):
//! QAT training (samples/s per epoch) and bit-exact fixed-point inference
//! (samples/s). Prints numbers; run with `cargo bench --bench throughput`.
//!
//! The trained model is kept in `CARGO_TARGET_TMPDIR/throughput_jet_q6.json` so
//! that two further modes can reuse it:
//! - `-- --inference-only`: skip training, measure inference only;
//! - `-- --count-passes R --samples N`: run `predict_raw` R times over N samples
//!   on one thread and nothing else; under `valgrind --tool=callgrind` the
//!   difference of two runs' instruction counts (R = 1 and R = 3) gives
//!   instructions per sample, which the machine's load does not change.
use qforge::data::{fit_scaler, split, synthetic};
use qforge::events::Silent;
use qforge::model::{FixedNetwork, ModelSpec, TrainedModel};
use qforge::train::{to_model, train};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// CPU time of the whole process (all threads), in seconds: unlike wall time it
/// does not grow when other work shares the cores.
fn process_cpu_seconds() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn model_path() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("throughput_jet_q6.json")
}

fn arg_value(args: &[String], name: &str) -> Option<usize> {
    let i = args.iter().position(|a| a == name)?;
    Some(args.get(i + 1).and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{name} takes a number")))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let spec = ModelSpec::from_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/jet_tagger.toml")).unwrap();
    if let Some(passes) = arg_value(&args, "--count-passes") {
        let n = arg_value(&args, "--samples").unwrap_or(100_000);
        return count_passes(passes, n);
    }
    let model = if args.iter().any(|a| a == "--inference-only") && model_path().exists() {
        TrainedModel::load(&model_path()).unwrap()
    } else {
        train_and_report(&spec)
    };
    inference(&spec, &model);
}

fn train_and_report(spec: &ModelSpec) -> TrainedModel {
    let data = synthetic::generate(250_000, 1);
    let mut s = split(&data, 42, 0.2, 0.0);
    let scaler = fit_scaler(&s.train);
    s.train.standardize(&scaler);
    s.test.standardize(&scaler);
    let val = s.test.head(10_000);
    // 200 000 training samples, batch 1024, as the peers were measured; epochs 2-4 (the first warms up).
    let mut spec_fixed = spec.clone();
    spec_fixed.training.patience = 100;
    let (net, report) = train(&spec_fixed, &s.train, &val, Some(4), &Silent);
    let rates: Vec<f64> = report.epochs.iter().skip(1).map(|e| e.samples_per_second).collect();
    println!(
        "qat_training: {} samples/epoch, batch {}, median {:.0} samples/s over epochs 2-4 (all epochs: {:?})",
        s.train.len(),
        spec.training.batch_size,
        median(rates.clone()),
        report.epochs.iter().map(|e| e.samples_per_second.round()).collect::<Vec<_>>()
    );
    let model = to_model(spec, &net, scaler, data.feature_names.clone(), serde_json::Value::Null);
    model.save(&model_path()).unwrap();
    model
}

/// Raw inputs of `n` fresh synthetic jets, standardised with the model's scaler.
fn raw_inputs(model: &TrainedModel, fixed: &FixedNetwork, n: usize) -> Vec<i64> {
    let mut x = synthetic::generate(n, 9).x;
    model.scaler.apply(&mut x);
    fixed.quantize_inputs(&x)
}

fn inference(spec: &ModelSpec, model: &TrainedModel) {
    let fixed = FixedNetwork::from_model(model).unwrap();
    let n = 1_000_000;
    let raw = raw_inputs(model, &fixed, n);
    let threads = rayon::current_num_threads();
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    for (label, pool_threads) in [("1 thread", 1), (&*format!("{threads} threads"), threads)] {
        let (mut rates, mut cpu_rates) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            let t = Instant::now();
            let cpu = process_cpu_seconds();
            let out = if pool_threads == 1 { one.install(|| fixed.predict_raw(&raw)) } else { fixed.predict_raw(&raw) };
            let secs = t.elapsed().as_secs_f64();
            cpu_rates.push(n as f64 / (process_cpu_seconds() - cpu));
            assert_eq!(out.outputs.len(), n * 5);
            rates.push(n as f64 / secs);
        }
        let (wall, cpu) = (median(rates), median(cpu_rates));
        println!(
            "fixed_point_inference ({label}): {n} samples, median {wall:.0} samples/s wall-clock, {cpu:.0} samples per CPU-second \
             ({:.2} ns CPU per multiply-accumulate; {:.0} samples/s projected on {pool_threads} idle core(s))",
            1e9 / (cpu * spec.macs() as f64),
            cpu * pool_threads as f64
        );
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average during the run: {}", load.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
}

/// Only inference, one thread, a fixed amount of work: for instruction counting.
fn count_passes(passes: usize, n: usize) {
    let model = TrainedModel::load(&model_path()).expect("run the bench once without arguments to train the model");
    let fixed = FixedNetwork::from_model(&model).unwrap();
    let raw = raw_inputs(&model, &fixed, n);
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let mut checksum = 0i64;
    for _ in 0..passes {
        let out = one.install(|| fixed.predict_raw(&raw));
        checksum = checksum.wrapping_add(out.outputs.iter().sum::<i64>());
    }
    println!("count_passes: {passes} passes over {n} samples, output checksum {checksum}");
}
