//! Tree-structured Parzen estimator (Bergstra et al., NeurIPS 2011), the
//! model-based tuner: after `startup_trials` random trials, split the history by
//! score into the best γ fraction ("good") and the rest ("bad"); per dimension,
//! a categorical Parzen estimator with a flat prior of one pseudo-count per
//! candidate gives l(x) from the good trials and g(x) from the bad ones; draw
//! `candidates` configurations from l and propose the unseen one with the
//! largest Π l(x_d)/g(x_d). Untrained (pruned) trials count as bad.
use super::{objective, sample_unseen, Proposal, Tuner};
use crate::search::results::TrialRecord;
use crate::search::space::TpeSettings;
use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::HashSet;

pub struct Tpe {
    cardinalities: Vec<usize>,
    rng: ChaCha8Rng,
    epochs: usize,
    settings: TpeSettings,
}

impl Tpe {
    pub fn new(cardinalities: Vec<usize>, seed: u64, epochs: usize, settings: &TpeSettings) -> Self {
        Tpe { cardinalities, rng: ChaCha8Rng::seed_from_u64(seed), epochs, settings: settings.clone() }
    }

    /// Per dimension, normalised candidate weights from the given trials (+1 prior each).
    fn parzen(&self, trials: &[&TrialRecord]) -> Vec<Vec<f64>> {
        self.cardinalities
            .iter()
            .enumerate()
            .map(|(d, &k)| {
                let mut w = vec![1.0; k];
                for t in trials {
                    w[t.choice[d]] += 1.0;
                }
                let total: f64 = w.iter().sum();
                w.iter().map(|x| x / total).collect()
            })
            .collect()
    }

    fn draw(&mut self, weights: &[Vec<f64>]) -> Vec<usize> {
        weights
            .iter()
            .map(|w| {
                let u: f64 = self.rng.gen();
                let mut acc = 0.0;
                for (i, p) in w.iter().enumerate() {
                    acc += p;
                    if u < acc {
                        return i;
                    }
                }
                w.len() - 1
            })
            .collect()
    }
}

impl Tuner for Tpe {
    fn propose(&mut self, history: &[TrialRecord]) -> Option<Proposal> {
        let seen: HashSet<Vec<usize>> = history.iter().map(|r| r.choice.clone()).collect();
        if history.len() < self.settings.startup_trials.max(1) {
            return Some(Proposal { choice: sample_unseen(&self.cardinalities, &mut self.rng, &seen), epochs: self.epochs });
        }
        let mut ranked: Vec<&TrialRecord> = history.iter().collect();
        ranked.sort_by(|a, b| objective(b).total_cmp(&objective(a)).then(a.id.cmp(&b.id)));
        let n_good = ((self.settings.gamma * ranked.len() as f64).ceil() as usize).clamp(1, ranked.len());
        let (good, bad) = ranked.split_at(n_good);
        let good: Vec<&TrialRecord> = good.iter().copied().filter(|r| objective(r).is_finite()).collect();
        let l = self.parzen(&good);
        let g = self.parzen(bad);
        let mut best: Option<(f64, Vec<usize>)> = None;
        for _ in 0..self.settings.candidates {
            let c = self.draw(&l);
            if seen.contains(&c) {
                continue;
            }
            let ratio: f64 = c.iter().enumerate().map(|(d, &x)| l[d][x].ln() - g[d][x].ln()).sum();
            if best.as_ref().map_or(true, |(r, _)| ratio > *r) {
                best = Some((ratio, c));
            }
        }
        let choice = match best {
            Some((_, c)) => c,
            None => sample_unseen(&self.cardinalities, &mut self.rng, &seen),
        };
        Some(Proposal { choice, epochs: self.epochs })
    }
}
