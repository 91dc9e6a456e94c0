//! The trial log: one JSON object per line in `<out>/trials.jsonl`, appended and
//! fsynced after every trial, so an interrupted search (Ctrl-C, crash) keeps
//! every finished trial and `--resume` continues from them. A last line cut off
//! mid-write is dropped on resume.
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The quantizers one layer got in a trial.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerChoice {
    pub layer: String,
    pub kernel: String,
    pub bias: String,
    pub activation: String,
    /// Filters (conv) or units (dense); absent in logs written before conv search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrialStatus {
    /// Trained and evaluated.
    Trained,
    /// Estimated over the budget: not trained.
    Pruned,
    /// The configuration cannot be built (e.g. an accumulator over 48 bits).
    Invalid,
}

/// Everything known about one trial.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrialRecord {
    pub id: usize,
    /// Candidate index per search dimension.
    pub choice: Vec<usize>,
    pub epochs: usize,
    pub layers: Vec<LayerChoice>,
    pub status: TrialStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Bit-exact fixed-point accuracy on the test split.
    pub accuracy: Option<f64>,
    pub float_accuracy: Option<f64>,
    /// The goal's cost (energy in pJ or bits).
    pub cost: f64,
    pub energy_pj: f64,
    pub size_bits: u64,
    pub weight_bits: u64,
    pub ebops: f64,
    pub lut: f64,
    pub ff: f64,
    pub dsp: f64,
    pub bram18: f64,
    pub latency_cycles: u64,
    pub score: Option<f64>,
    pub wall_seconds: f64,
    /// Saved model, relative to the output folder.
    pub model: Option<String>,
    /// Why the resources are the spec's estimate rather than the trained model's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_note: Option<String>,
}

impl TrialRecord {
    /// Same proposal (used to check a resumed log against the tuner's replay).
    pub fn same_proposal(&self, choice: &[usize], epochs: usize) -> bool {
        self.choice == choice && self.epochs == epochs
    }
}

pub struct TrialLog {
    path: PathBuf,
    file: File,
}

pub const TRIALS_FILE: &str = "trials.jsonl";

impl TrialLog {
    /// Open `<out>/trials.jsonl`. Without `resume` an existing non-empty log is
    /// an error (never overwrite finished work); with it, its trials are returned.
    pub fn open(out: &Path, resume: bool) -> Result<(TrialLog, Vec<TrialRecord>)> {
        std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
        let path = out.join(TRIALS_FILE);
        let mut records = Vec::new();
        if path.exists() {
            let text = crate::error::read_to_string(&path)?;
            if !resume && !text.trim().is_empty() {
                return Err(Error::Config(format!(
                    "{} already holds trials: pass --resume to continue that search, or choose another --out",
                    path.display()
                )));
            }
            let mut good_len = 0usize;
            for (n, line) in text.split_inclusive('\n').enumerate() {
                let complete = line.ends_with('\n');
                match serde_json::from_str::<TrialRecord>(line.trim_end()) {
                    Ok(r) if complete => {
                        if r.id != records.len() {
                            return Err(Error::input_at(
                                &path,
                                Some(n + 1),
                                Some("id"),
                                format!("trial id {} where {} was expected", r.id, records.len()),
                            ));
                        }
                        records.push(r);
                        good_len += line.len();
                    }
                    // A crash mid-write leaves a cut-off last line: drop it.
                    _ if !complete => break,
                    Ok(_) => unreachable!(),
                    Err(e) => return Err(Error::input_at(&path, Some(n + 1), None, format!("not a trial record: {e}"))),
                }
            }
            if good_len < text.len() {
                let f = OpenOptions::new().write(true).open(&path).map_err(|e| Error::io(&path, e))?;
                f.set_len(good_len as u64).map_err(|e| Error::io(&path, e))?;
            }
        }
        let file = OpenOptions::new().create(true).append(true).open(&path).map_err(|e| Error::io(&path, e))?;
        Ok((TrialLog { path, file }, records))
    }

    /// Append one trial and make it durable before returning.
    pub fn append(&mut self, record: &TrialRecord) -> Result<()> {
        let mut line = serde_json::to_string(record).expect("trial record serializes");
        line.push('\n');
        self.file.write_all(line.as_bytes()).map_err(|e| Error::io(&self.path, e))?;
        self.file.sync_data().map_err(|e| Error::io(&self.path, e))
    }
}
