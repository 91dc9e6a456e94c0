//! Search speed: trials per minute on the jet tagger with a 2-epoch budget
//! (random tuner, 60 000 synthetic samples, no budget pruning), as
//! `cargo bench --bench search` prints it.
use qforge::estimate::Calibration;
use qforge::events::Silent;
use qforge::search::space::{SearchSpace, TunerKind};
use qforge::search::{run_search, SearchOptions};
use std::path::Path;
use std::time::Instant;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut space = SearchSpace::from_file(&root.join("examples/jet_space.toml")).expect("example space parses");
    space.budget = None;
    let trials: usize = std::env::var("QFORGE_BENCH_TRIALS").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let out = tempfile::tempdir().expect("tempdir");
    let opts = SearchOptions {
        out: out.path().join("search"),
        max_trials: Some(trials),
        tuner: Some(TunerKind::Random),
        epochs: Some(2),
        ..Default::default()
    };
    let t0 = Instant::now();
    let outcome = run_search(&space, &opts, &Calibration::default(), &Silent).expect("search runs");
    let secs = t0.elapsed().as_secs_f64();
    let trial_secs: f64 = outcome.trials.iter().map(|t| t.wall_seconds).sum();
    println!(
        "search bench: {} trials (2 epochs, 60000 samples) in {:.2} s including data and reference: {:.1} trials/minute overall, {:.1} trials/minute per trial time",
        outcome.trials.len(),
        secs,
        60.0 * outcome.trials.len() as f64 / secs,
        60.0 * outcome.trials.len() as f64 / trial_secs
    );
}
