//! Stage cache: each stage's output lives in `<out>/stages/<stage>-<hash>/`,
//! where the hash is SHA-256 over the stage's inputs (its config section, the
//! bytes of its input files, the hashes of the stages it depends on, and the
//! qforge version). `done.json` is written last and atomically, with the
//! stage's result in it; a stage whose `done.json` exists is skipped and its
//! result read back, so a re-run skips what is done and a killed run resumes.
use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

pub const DONE_FILE: &str = "done.json";

/// Builds a stage's content hash from its inputs.
pub struct StageKey {
    stage: String,
    hasher: Sha256,
}

impl StageKey {
    pub fn new(stage: &str) -> StageKey {
        let mut key = StageKey { stage: stage.to_string(), hasher: Sha256::new() };
        key.feed(b"qforge");
        key.feed(env!("CARGO_PKG_VERSION").as_bytes());
        key.feed(stage.as_bytes());
        key
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.hasher.update((bytes.len() as u64).to_le_bytes());
        self.hasher.update(bytes);
    }

    /// A config section or any serializable input.
    pub fn value(mut self, v: &impl Serialize) -> StageKey {
        let text = serde_json::to_string(v).expect("config serializes");
        self.feed(text.as_bytes());
        self
    }

    pub fn text(mut self, s: &str) -> StageKey {
        self.feed(s.as_bytes());
        self
    }

    /// An input file's bytes.
    pub fn file(mut self, path: &Path) -> Result<StageKey> {
        let bytes = crate::error::read_bytes(path)?;
        self.feed(&bytes);
        Ok(self)
    }

    pub fn finish(self) -> StageDir {
        let hash = hex::encode(&self.hasher.finalize()[..8]);
        StageDir { stage: self.stage, hash, dir: PathBuf::new() }
    }
}

/// A stage's folder and its identity.
#[derive(Debug, Clone)]
pub struct StageDir {
    pub stage: String,
    pub hash: String,
    pub dir: PathBuf,
}

impl StageDir {
    pub fn under(mut self, out: &Path) -> StageDir {
        self.dir = out.join("stages").join(format!("{}-{}", self.stage, self.hash));
        self
    }

    pub fn done_path(&self) -> PathBuf {
        self.dir.join(DONE_FILE)
    }

    /// The stored result when the stage finished in an earlier run.
    pub fn cached<T: DeserializeOwned>(&self) -> Result<Option<T>> {
        let path = self.done_path();
        if !path.is_file() {
            return Ok(None);
        }
        let text = crate::error::read_to_string(&path)?;
        let marker: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| Error::input(&path, format!("stage marker is not JSON: {e}")))?;
        let result = marker.get("result").cloned().unwrap_or(serde_json::Value::Null);
        // A marker from a result format this qforge cannot read: run the stage again.
        Ok(serde_json::from_value(result).ok())
    }

    pub fn create(&self) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))
    }

    /// Write `done.json` (last, atomically) with the stage's result.
    pub fn mark_done<T: Serialize>(&self, result: &T, seconds: f64) -> Result<()> {
        let marker = serde_json::json!({
            "stage": self.stage,
            "hash": self.hash,
            "qforge_version": env!("CARGO_PKG_VERSION"),
            "finished_unix": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
            "seconds": seconds,
            "result": result,
        });
        crate::error::write_atomic(&self.done_path(), &serde_json::to_vec_pretty(&marker).expect("serializes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_changes_with_inputs_and_marker_round_trips() {
        let a = StageKey::new("train").text("x").finish();
        let b = StageKey::new("train").text("y").finish();
        let c = StageKey::new("search").text("x").finish();
        assert_ne!(a.hash, b.hash);
        assert_ne!(a.hash, c.hash);
        let dir = tempfile::tempdir().unwrap();
        let s = StageKey::new("train").text("x").finish().under(dir.path());
        assert_eq!(s.cached::<Vec<u32>>().unwrap(), None);
        s.create().unwrap();
        s.mark_done(&vec![1u32, 2], 0.5).unwrap();
        assert_eq!(s.cached::<Vec<u32>>().unwrap(), Some(vec![1, 2]));
    }
}
