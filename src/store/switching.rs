//! Measured switching energy of a run's mapped netlist (`switching` table):
//! what `qforge run`'s switching stage simulated, per layer, kept beside the
//! run's reports so the energy refit can read every measured run back.
use super::runs::db;
use super::{RunId, Store};
use crate::error::Result;
use rusqlite::params;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// One layer's measured energy: the design instance (`l1`, `out`, `other`) and pJ per inference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerEnergy {
    pub instance: String,
    pub energy_pj: f64,
    pub toggles_per_inference: f64,
}

/// One gate-level switching measurement of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SwitchingRecord {
    pub netlist: PathBuf,
    pub samples: u64,
    /// Samples whose outputs differed from the fixed-point model (0 for a sound netlist).
    pub mismatches: u64,
    /// pJ per inference over every cell.
    pub energy_pj: f64,
    pub layers: Vec<LayerEnergy>,
    /// Where the per-toggle energies came from (the calibration's `[switching]` origin, first line).
    pub weights_origin: String,
}

impl Store {
    /// Store a switching measurement of `run`.
    pub fn add_switching(&mut self, run: RunId, record: &SwitchingRecord) -> Result<()> {
        let json = serde_json::to_string(record).expect("switching record serialises");
        self.conn
            .execute(
                "INSERT INTO switching (run_id, netlist, samples, mismatches, energy_pj, record) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![run.0, record.netlist.to_string_lossy(), record.samples as i64, record.mismatches as i64, record.energy_pj, json],
            )
            .map_err(|e| db(&self.path, e))?;
        Ok(())
    }

    /// The switching measurements of `run`, oldest first.
    pub fn switching(&self, run: RunId) -> Result<Vec<SwitchingRecord>> {
        let mut stmt = self.conn.prepare("SELECT record FROM switching WHERE run_id = ?1 ORDER BY id").map_err(|e| db(&self.path, e))?;
        let rows = stmt.query_map([run.0], |r| r.get::<_, String>(0)).map_err(|e| db(&self.path, e))?;
        let mut out = Vec::new();
        for text in rows {
            let text = text.map_err(|e| db(&self.path, e))?;
            let record = serde_json::from_str(&text).map_err(|e| {
                crate::error::Error::input(&self.path, format!("a stored switching record of run {run} does not parse: {e}"))
            })?;
            out.push(record);
        }
        Ok(out)
    }
}
