//! AutoQKeras' forgiving factor: the scalar a trial is ranked by.
//! Source: qkeras/autoqkeras/forgiving_metrics/forgiving_factor.py
//!
//! ```text
//! delta = delta_p · ln(ref/trial) / ln(rate)   if trial < ref   (cheaper: a bonus)
//!       = delta_n · ln(ref/trial) / ln(rate)   otherwise        (dearer: a penalty)
//! score = accuracy · (1 + delta)
//! ```
//! with delta_p and delta_n given in percent (divided by 100) and the reference
//! cost multiplied by `stress` (forgiving_bits.py / forgiving_energy.py
//! `get_reference`). So with rate 2 and delta_p 8 %, each halving of the cost
//! buys 8 % of relative accuracy.
use serde::{Deserialize, Serialize};

/// What "cost" means: QTools energy or AutoQKeras bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    Energy,
    Bits,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForgivingFactor {
    /// Percent of accuracy forgiven per `rate`-fold cost reduction.
    pub delta_p: f64,
    /// Percent of accuracy charged per `rate`-fold cost increase.
    pub delta_n: f64,
    pub rate: f64,
    pub stress: f64,
}

impl Default for ForgivingFactor {
    fn default() -> Self {
        ForgivingFactor { delta_p: 8.0, delta_n: 8.0, rate: 2.0, stress: 1.0 }
    }
}

impl ForgivingFactor {
    /// The reference cost as the score uses it (× stress).
    pub fn reference(&self, reference_cost: f64) -> f64 {
        reference_cost * self.stress
    }

    /// `delta` of forgiving_factor.py, for a raw reference cost (stress applied here).
    pub fn delta(&self, reference_cost: f64, trial_cost: f64) -> f64 {
        let reference = self.reference(reference_cost);
        let log_ratio = (reference / trial_cost).ln() / self.rate.ln();
        if trial_cost < reference {
            self.delta_p / 100.0 * log_ratio
        } else {
            self.delta_n / 100.0 * log_ratio
        }
    }

    pub fn score(&self, accuracy: f64, reference_cost: f64, trial_cost: f64) -> f64 {
        accuracy * (1.0 + self.delta(reference_cost, trial_cost))
    }
}
