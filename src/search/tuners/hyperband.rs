//! Hyperband (Li et al., JMLR 18 2018), as AutoQKeras offers through Keras
//! Tuner: brackets of successive halving over the epoch budget. Bracket s starts
//! n = ⌈(s_max+1)/(s+1) · η^s⌉ random configurations at R·η^-s epochs, then keeps
//! the best ⌊n_i/η⌋ by score and trains them η times longer, until R epochs.
//! Promoted configurations are retrained from scratch (no checkpoints), each
//! training a trial of its own in the log. After the last bracket it starts over.
use super::{objective, sample_unseen, Proposal, Tuner};
use crate::search::results::TrialRecord;
use crate::search::space::HyperbandSettings;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::{HashSet, VecDeque};

pub struct Hyperband {
    cardinalities: Vec<usize>,
    rng: ChaCha8Rng,
    max_epochs: usize,
    eta: usize,
    s_max: u32,
    /// Bracket being run (counts down from s_max, then wraps).
    s: u32,
    /// Rung within the bracket.
    rung: u32,
    /// Trials of the current rung still to propose.
    queue: VecDeque<Proposal>,
    /// History index where the current rung's trials start, and how many it has.
    rung_start: usize,
    rung_size: usize,
    started: bool,
}

impl Hyperband {
    pub fn new(cardinalities: Vec<usize>, seed: u64, settings: &HyperbandSettings) -> Self {
        let eta = settings.eta.max(2);
        let mut s_max = 0u32;
        while (eta as u64).pow(s_max + 1) <= settings.max_epochs as u64 {
            s_max += 1;
        }
        Hyperband {
            cardinalities,
            rng: ChaCha8Rng::seed_from_u64(seed),
            max_epochs: settings.max_epochs.max(1),
            eta,
            s_max,
            s: s_max,
            rung: 0,
            queue: VecDeque::new(),
            rung_start: 0,
            rung_size: 0,
            started: false,
        }
    }

    fn epochs_at(&self, s: u32, rung: u32) -> usize {
        let r = self.max_epochs as f64 / (self.eta as f64).powi(s as i32) * (self.eta as f64).powi(rung as i32);
        (r.round() as usize).clamp(1, self.max_epochs)
    }

    fn start_bracket(&mut self, history: &[TrialRecord]) {
        let s = self.s;
        let n = (((self.s_max + 1) as f64 / (s + 1) as f64) * (self.eta as f64).powi(s as i32)).ceil() as usize;
        let epochs = self.epochs_at(s, 0);
        let mut seen: HashSet<Vec<usize>> = history.iter().map(|r| r.choice.clone()).collect();
        self.queue.clear();
        for _ in 0..n.max(1) {
            let choice = sample_unseen(&self.cardinalities, &mut self.rng, &seen);
            seen.insert(choice.clone());
            self.queue.push_back(Proposal { choice, epochs });
        }
        self.rung = 0;
        self.rung_start = history.len();
        self.rung_size = self.queue.len();
    }

    fn next_rung_or_bracket(&mut self, history: &[TrialRecord]) {
        let end = (self.rung_start + self.rung_size).min(history.len());
        let mut finished: Vec<&TrialRecord> = history[self.rung_start..end].iter().collect();
        let keep = finished.len() / self.eta;
        if self.rung < self.s && keep > 0 {
            // Best first; ties by trial id so the order is deterministic.
            finished.sort_by(|a, b| objective(b).total_cmp(&objective(a)).then(a.id.cmp(&b.id)));
            self.rung += 1;
            let epochs = self.epochs_at(self.s, self.rung);
            self.queue = finished
                .iter()
                .take(keep)
                .filter(|r| objective(r).is_finite())
                .map(|r| Proposal { choice: r.choice.clone(), epochs })
                .collect();
            if !self.queue.is_empty() {
                self.rung_start = history.len();
                self.rung_size = self.queue.len();
                return;
            }
        }
        self.s = if self.s == 0 { self.s_max } else { self.s - 1 };
        self.start_bracket(history);
    }
}

impl Tuner for Hyperband {
    fn propose(&mut self, history: &[TrialRecord]) -> Option<Proposal> {
        if !self.started {
            self.started = true;
            self.start_bracket(history);
        } else if self.queue.is_empty() {
            self.next_rung_or_bracket(history);
        }
        self.queue.pop_front()
    }
}
