//! Random search (AutoQKeras' default tuner): each trial draws every dimension
//! uniformly, avoiding configurations already tried.
use super::{sample_unseen, Proposal, Tuner};
use crate::search::results::TrialRecord;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::HashSet;

pub struct RandomTuner {
    cardinalities: Vec<usize>,
    rng: ChaCha8Rng,
    epochs: usize,
}

impl RandomTuner {
    pub fn new(cardinalities: Vec<usize>, seed: u64, epochs: usize) -> Self {
        RandomTuner { cardinalities, rng: ChaCha8Rng::seed_from_u64(seed), epochs }
    }
}

impl Tuner for RandomTuner {
    fn propose(&mut self, history: &[TrialRecord]) -> Option<Proposal> {
        let seen: HashSet<Vec<usize>> = history.iter().map(|r| r.choice.clone()).collect();
        Some(Proposal { choice: sample_unseen(&self.cardinalities, &mut self.rng, &seen), epochs: self.epochs })
    }
}
