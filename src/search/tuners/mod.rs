//! Tuners propose the next trial from the history of finished ones. They are
//! deterministic functions of their seed and that history, so a search replayed
//! from its trial log (`--resume`) proposes exactly the same trials again.
pub mod hyperband;
pub mod random;
pub mod tpe;

use super::results::{TrialRecord, TrialStatus};
use super::space::{SearchSettings, TunerKind};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::HashSet;

/// One configuration to train, and for how many epochs.
#[derive(Clone, Debug, PartialEq)]
pub struct Proposal {
    pub choice: Vec<usize>,
    pub epochs: usize,
}

pub trait Tuner {
    /// The next trial, or `None` when the tuner has nothing more to try.
    fn propose(&mut self, history: &[TrialRecord]) -> Option<Proposal>;
}

pub fn make_tuner(kind: TunerKind, settings: &SearchSettings, cardinalities: Vec<usize>) -> Box<dyn Tuner> {
    match kind {
        TunerKind::Random => Box::new(random::RandomTuner::new(cardinalities, settings.seed, settings.epochs)),
        TunerKind::Hyperband => Box::new(hyperband::Hyperband::new(cardinalities, settings.seed, &settings.hyperband)),
        TunerKind::Tpe => Box::new(tpe::Tpe::new(cardinalities, settings.seed, settings.epochs, &settings.tpe)),
    }
}

/// The objective tuners maximise: the score, and worst for untrained trials.
pub fn objective(r: &TrialRecord) -> f64 {
    match (r.status, r.score) {
        (TrialStatus::Trained, Some(s)) => s,
        _ => f64::NEG_INFINITY,
    }
}

pub fn sample_uniform(cardinalities: &[usize], rng: &mut ChaCha8Rng) -> Vec<usize> {
    cardinalities.iter().map(|&k| rng.gen_range(0..k)).collect()
}

/// A uniformly random configuration not in `seen` (tries a while, then accepts a repeat).
pub fn sample_unseen(cardinalities: &[usize], rng: &mut ChaCha8Rng, seen: &HashSet<Vec<usize>>) -> Vec<usize> {
    let mut c = sample_uniform(cardinalities, rng);
    for _ in 0..200 {
        if !seen.contains(&c) {
            break;
        }
        c = sample_uniform(cardinalities, rng);
    }
    c
}
