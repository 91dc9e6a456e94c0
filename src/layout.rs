//! The output folder's layout, one for every command. The output folder
//! (`--out`, default `qforge-out/`) holds:
//!
//! - `history.sqlite`: the run history every command reads and writes
//!   (`--db` / `QFORGE_DB` name another);
//! - `calibration.toml`: the current calibration, written by `qforge
//!   calibrate` and by a run's calibration refit, read by `estimate`,
//!   `search` and the next `qforge run`;
//! - `stages/<stage>-<hash>/`: the pipeline's content-keyed stage cache,
//!   shared by every run in the folder;
//! - `runs/<pipeline name>/`: each pipeline's own folder (its summary, its
//!   calibration samples, the embedded default's input files).
//!
//! Commands run from the same folder thus find each other's history and
//! calibration with no flags.
use std::path::PathBuf;

/// The output folder unless `--out` names another.
pub const DEFAULT_OUT: &str = "qforge-out";
/// `DEFAULT_OUT/HISTORY_FILE`, spelled out for command-line defaults.
pub const DEFAULT_HISTORY: &str = "qforge-out/history.sqlite";
/// `DEFAULT_OUT/CALIBRATION_FILE`, spelled out for command-line defaults.
pub const DEFAULT_CALIBRATION: &str = "qforge-out/calibration.toml";
pub const HISTORY_FILE: &str = "history.sqlite";
pub const CALIBRATION_FILE: &str = "calibration.toml";
pub const STAGES_DIR: &str = "stages";
pub const RUNS_DIR: &str = "runs";

/// Where everything lives in one output folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLayout {
    pub root: PathBuf,
}

impl OutputLayout {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        OutputLayout { root: root.into() }
    }

    pub fn history(&self) -> PathBuf {
        self.root.join(HISTORY_FILE)
    }

    pub fn calibration(&self) -> PathBuf {
        self.root.join(CALIBRATION_FILE)
    }

    pub fn stages(&self) -> PathBuf {
        self.root.join(STAGES_DIR)
    }

    /// The folder of the pipeline named `name` (made safe as one folder name).
    pub fn run_dir(&self, name: &str) -> PathBuf {
        self.root.join(RUNS_DIR).join(folder_name(name))
    }
}

impl Default for OutputLayout {
    fn default() -> Self {
        OutputLayout::new(DEFAULT_OUT)
    }
}

/// A pipeline name as one folder name: letters, digits, `-`, `_` and `.`
/// kept, anything else (a `/`, a space) becomes `_`; never empty, `.` or `..`.
pub fn folder_name(name: &str) -> String {
    let safe: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
    if safe.is_empty() || safe.chars().all(|c| c == '.') {
        format!("run{safe}").replace('.', "_")
    } else {
        safe
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn the_spelled_out_defaults_are_the_default_layout() {
        let layout = OutputLayout::default();
        assert_eq!(layout.history(), Path::new(DEFAULT_HISTORY));
        assert_eq!(layout.calibration(), Path::new(DEFAULT_CALIBRATION));
        assert_eq!(layout.run_dir("jet_default"), Path::new("qforge-out/runs/jet_default"));
    }

    #[test]
    fn pipeline_names_become_one_safe_folder() {
        assert_eq!(folder_name("tiny-q4.v2"), "tiny-q4.v2");
        assert_eq!(folder_name("../etc/x y"), ".._etc_x_y");
        assert_eq!(folder_name(".."), "run__");
        assert_eq!(folder_name(""), "run");
        assert_eq!(OutputLayout::new("o").run_dir("a/b").parent().unwrap(), Path::new("o/runs"));
    }
}
