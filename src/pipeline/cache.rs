//! Stage cache: each stage's output lives in `<out>/stages/<stage>-<hash>/`,
//! where the hash is SHA-256 over what the stage reads (its config section,
//! the bytes of its input files and folders, the results of the stages it
//! depends on) and the identity of the qforge build that runs it (a hash of
//! the executable: a rebuilt qforge does not reuse an older one's results).
//! `done.json` is written last and atomically, with the stage's result in
//! it; a stage whose `done.json` exists is skipped and its result read back,
//! so a re-run skips what is done and a killed run resumes.
use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

pub const DONE_FILE: &str = "done.json";

/// The running qforge build's identity: SHA-256 of its executable (the
/// version alone stays 0.1.0 across every change). When the executable
/// cannot be read, an identity of this process alone, so nothing an
/// unknown build made is reused.
pub fn build_identity() -> &'static str {
    static IDENTITY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    IDENTITY.get_or_init(|| {
        let exe = std::env::current_exe().and_then(std::fs::read);
        match exe {
            Ok(bytes) => hex::encode(&Sha256::digest(&bytes)[..16]),
            Err(_) => format!("unreadable-executable-{}-{:?}", std::process::id(), std::time::SystemTime::now()),
        }
    })
}

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
        key.feed(build_identity().as_bytes());
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

    /// The data files a stage reads (their bytes: an edited file is not
    /// served from the cache); nothing for the synthetic generator, whose
    /// settings are in the config section.
    pub fn data(mut self, source: &crate::data::loaders::DataSource) -> Result<StageKey> {
        for path in source.files() {
            self = self.file(path)?;
        }
        Ok(self)
    }

    /// The files directly in a folder (names and bytes, in name order): a
    /// generated design. Subfolders (a simulator's work files) are not read.
    pub fn folder(mut self, dir: &Path) -> Result<StageKey> {
        let mut files: Vec<PathBuf> = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
            let path = entry.map_err(|e| Error::io(dir, e))?.path();
            if path.is_file() {
                files.push(path);
            }
        }
        files.sort();
        for file in files {
            self.feed(file.file_name().map(|n| n.as_encoded_bytes()).unwrap_or_default());
            self = self.file(&file)?;
        }
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
            "qforge_build": build_identity(),
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

    #[test]
    fn the_build_is_part_of_every_key() {
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(build_identity(), hex::encode(&Sha256::digest(&exe)[..16]));
        // The key of the version alone (what every build of 0.1.0 shared) is not the key.
        let mut version_only = Sha256::new();
        for part in [&b"qforge"[..], env!("CARGO_PKG_VERSION").as_bytes(), b"train"] {
            version_only.update((part.len() as u64).to_le_bytes());
            version_only.update(part);
        }
        assert_ne!(StageKey::new("train").finish().hash, hex::encode(&version_only.finalize()[..8]));
    }

    #[test]
    fn a_folder_key_reads_each_file_but_not_subfolders() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.v"), "module a; endmodule\n").unwrap();
        let key = || StageKey::new("synth").folder(dir.path()).unwrap().finish().hash;
        let first = key();
        std::fs::create_dir_all(dir.path().join("sim")).unwrap();
        std::fs::write(dir.path().join("sim").join("out.txt"), "1").unwrap();
        assert_eq!(key(), first, "a simulator's work files are not the design");
        std::fs::write(dir.path().join("a.v"), "module a; endmodule // edited\n").unwrap();
        assert_ne!(key(), first);
        std::fs::rename(dir.path().join("a.v"), dir.path().join("b.v")).unwrap();
        std::fs::write(dir.path().join("b.v"), "module a; endmodule\n").unwrap();
        assert_ne!(key(), first, "file names count too");
    }
}
