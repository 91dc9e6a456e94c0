//! An [`Invocation`]: one tool run as plain data. Drivers build it; the runner
//! executes it; it is stored as `invocation.json` and as `replay.sh`, so a
//! person can rerun exactly what qforge ran.
use super::ToolKind;
use crate::error::Result;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A report a run should leave behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectedReport {
    /// The report's path. A `*` in the file name matches any text
    /// (Bambu numbers its `bambu_results_*.xml`).
    pub path: PathBuf,
    /// A run that exits 0 without a required report has failed.
    pub required: bool,
}

impl ExpectedReport {
    pub fn required(path: impl Into<PathBuf>) -> Self {
        ExpectedReport { path: path.into(), required: true }
    }
    pub fn optional(path: impl Into<PathBuf>) -> Self {
        ExpectedReport { path: path.into(), required: false }
    }

    /// The files that exist now and match this report's path.
    pub fn matches(&self) -> Vec<PathBuf> {
        let name = self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if !name.contains('*') {
            return if self.path.is_file() { vec![self.path.clone()] } else { Vec::new() };
        }
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|entry| wildcard_match(&name, &entry.file_name().to_string_lossy()))
            .map(|entry| entry.path())
            .filter(|p| p.is_file())
            .collect();
        found.sort();
        found
    }
}

/// `*` matches any run of characters; everything else matches itself.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            let Some(tail) = text.strip_prefix(head) else { return false };
            (0..=tail.len()).filter(|&i| tail.is_char_boundary(i)).any(|i| wildcard_match(rest, &tail[i..]))
        }
    }
}

/// One run of one tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invocation {
    pub tool: ToolKind,
    /// What a person would call this step (`csynth`, `vsynth`, `synth`).
    pub step: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Set on the child on top of the environment it inherits.
    pub env: BTreeMap<String, String>,
    /// The child's working folder.
    pub cwd: PathBuf,
    pub timeout_secs: u64,
    /// After the timeout: seconds between SIGTERM and SIGKILL.
    pub grace_secs: u64,
    /// Where the merged stdout and stderr go.
    pub log_path: PathBuf,
    pub expected_reports: Vec<ExpectedReport>,
}

impl Invocation {
    /// A POSIX shell script that reruns this invocation by hand.
    pub fn replay_script(&self) -> String {
        let mut script = String::from("#!/bin/sh\n");
        script
            .push_str(&format!("# Rerun {} ({}) as qforge ran it; qforge's timeout was {} s.\n", self.tool, self.step, self.timeout_secs));
        script.push_str(&format!("cd {} || exit 1\n", shell_quote(&self.cwd.to_string_lossy())));
        script.push_str("exec");
        if !self.env.is_empty() {
            script.push_str(" env");
            for (name, value) in &self.env {
                script.push(' ');
                script.push_str(&shell_quote(&format!("{name}={value}")));
            }
        }
        script.push(' ');
        script.push_str(&shell_quote(&self.program.to_string_lossy()));
        for arg in &self.args {
            script.push(' ');
            script.push_str(&shell_quote(arg));
        }
        script.push_str(" 2>&1 | tee ");
        script.push_str(&shell_quote(&self.log_path.to_string_lossy()));
        script.push('\n');
        script
    }

    /// Write `replay.sh` (executable) and `invocation.json` under `prefix`
    /// (`<run>/csynth` → `<run>/csynth.replay.sh`, `<run>/csynth.invocation.json`).
    pub fn write_record(&self, run_dir: &Path) -> Result<(PathBuf, PathBuf)> {
        use std::os::unix::fs::PermissionsExt;
        let replay = run_dir.join(format!("{}.replay.sh", self.step));
        crate::error::write_atomic(&replay, self.replay_script().as_bytes())?;
        std::fs::set_permissions(&replay, std::fs::Permissions::from_mode(0o755)).map_err(|e| crate::error::Error::io(&replay, e))?;
        let json_path = run_dir.join(format!("{}.invocation.json", self.step));
        let json = serde_json::to_string_pretty(self).expect("Invocation serialises") + "\n";
        crate::error::write_atomic(&json_path, json.as_bytes())?;
        Ok((replay, json_path))
    }
}

/// Quote a word for a POSIX shell: plain words stay as they are.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "_-./=:,+@%".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}
