//! Finding a tool's executable and reading its version. The environment used
//! for the search is a [`ToolEnv`] value, never the process's global state, so
//! tests (and parallel runs) can each put their own folders first on PATH.
use super::ToolKind;
use crate::error::{Error, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The environment tools are searched in and run with: the process's
/// environment at creation plus `overrides`, which are also set on every child.
#[derive(Debug, Clone, Default)]
pub struct ToolEnv {
    base: BTreeMap<String, String>,
    overrides: BTreeMap<String, String>,
}

impl ToolEnv {
    /// The current process's environment, no overrides.
    pub fn from_process() -> Self {
        ToolEnv { base: std::env::vars().collect(), overrides: BTreeMap::new() }
    }

    /// An empty environment (tests that want nothing inherited for the search).
    pub fn empty() -> Self {
        ToolEnv::default()
    }

    /// Set a variable for the search and for every child.
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.overrides.insert(name.to_string(), value.into());
        self
    }

    /// Put `dir` first on PATH (for the search and the children).
    pub fn with_path_prefix(self, dir: &Path) -> Self {
        let old = self.get("PATH").unwrap_or("").to_string();
        let new = if old.is_empty() { dir.display().to_string() } else { format!("{}:{old}", dir.display()) };
        self.with("PATH", new)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.overrides.get(name).or_else(|| self.base.get(name)).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// The variables to set on a child on top of what it inherits.
    pub fn overrides(&self) -> &BTreeMap<String, String> {
        &self.overrides
    }
}

/// A found executable and the version it reports.
#[derive(Debug, Clone, Serialize)]
pub struct Located {
    pub tool: ToolKind,
    pub program: PathBuf,
    /// `2023.1`, `0.23`, … when the version probe could read one.
    pub version: Option<String>,
    /// The line of the probe's output the version was read from.
    pub version_line: Option<String>,
}

/// Where to look for one executable: an override variable naming the file (or
/// its folder), vendor variables naming an install folder (`$X/bin/name`), then PATH.
pub struct Search<'a> {
    pub tool: ToolKind,
    pub executable: &'a str,
    pub override_var: &'a str,
    pub install_vars: &'a [&'a str],
}

/// Find the executable, or an error naming the tool, what was searched and the fix.
pub fn find(search: &Search<'_>, env: &ToolEnv) -> Result<PathBuf> {
    if let Some(value) = env.get(search.override_var) {
        let path = PathBuf::from(value);
        let path = if path.is_dir() { path.join(search.executable) } else { path };
        return if is_executable(&path) {
            Ok(path)
        } else {
            Err(Error::Tool(format!(
                "{}: {}={} is not an executable file; {}",
                search.tool,
                search.override_var,
                value,
                search.tool.install_hint()
            )))
        };
    }
    for var in search.install_vars {
        if let Some(root) = env.get(var) {
            let path = Path::new(root).join("bin").join(search.executable);
            if is_executable(&path) {
                return Ok(path);
            }
        }
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let path_var: OsString = env.get("PATH").unwrap_or("").into();
    which::which_in(search.executable, Some(path_var), cwd).map_err(|_| not_found(search))
}

fn not_found(search: &Search<'_>) -> Error {
    let mut looked = vec![search.override_var.to_string()];
    looked.extend(search.install_vars.iter().map(|v| format!("${v}/bin")));
    looked.push("PATH".to_string());
    Error::Tool(format!(
        "{}: `{}` not found (looked in {}); {}",
        search.tool,
        search.executable,
        looked.join(", "),
        search.tool.install_hint()
    ))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

/// Run `program args` (e.g. `vivado -version`) and read the version from its
/// output. A probe that fails or hangs gives `None`, never an error: the run
/// itself will tell what is wrong.
pub fn probe_version(tool: ToolKind, program: &Path, args: &[&str], env: &ToolEnv) -> Located {
    let text = super::runner::capture(program, args, env, Duration::from_secs(60)).unwrap_or_default();
    let found = text.lines().find_map(|line| parse_version(line).map(|v| (v, line.trim().to_string())));
    Located {
        tool,
        program: program.to_path_buf(),
        version: found.as_ref().map(|(v, _)| v.clone()),
        version_line: found.map(|(_, line)| line),
    }
}

/// The first version number in a line: `v2019.2`, `2023.1`, `0.23`, `2023.2.1`.
/// A number must have a dot and start a word (or follow a `v`).
pub fn parse_version(line: &str) -> Option<String> {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word =
            i == 0 || !bytes[i - 1].is_ascii_alphanumeric() || (bytes[i - 1] == b'v' && (i == 1 || !bytes[i - 2].is_ascii_alphanumeric()));
        if bytes[i].is_ascii_digit() && starts_word {
            let mut j = i;
            while j < bytes.len() && (bytes[j].is_ascii_digit() || bytes[j] == b'.') {
                j += 1;
            }
            let candidate = line[i..j].trim_end_matches('.');
            let parts: Vec<&str> = candidate.split('.').collect();
            if parts.len() >= 2 && parts.iter().all(|p| !p.is_empty()) {
                return Some(candidate.to_string());
            }
            i = j;
        } else {
            i += 1;
        }
    }
    None
}
