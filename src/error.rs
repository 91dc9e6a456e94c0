//! The library's error type: every fault names the file (and line or field) it
//! comes from, and maps to one documented exit code (see `cli::exit_codes`).
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A user-supplied file is malformed: wrong syntax, wrong field, wrong value.
    #[error("{path}{loc}: {message}", loc = location(*line, field.as_deref()))]
    Input { path: PathBuf, line: Option<usize>, field: Option<String>, message: String },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A configuration or argument that makes no sense on its own.
    #[error("{0}")]
    Config(String),
    /// An external tool is missing, failed, or timed out.
    #[error("{0}")]
    Tool(String),
    /// Two implementations that must agree bit for bit did not.
    #[error("bit-exactness failure: {0}")]
    Mismatch(String),
    /// The user stopped the run (Ctrl-C); the message says what became of its jobs.
    #[error("{0}")]
    Interrupted(String),
}

fn location(line: Option<usize>, field: Option<&str>) -> String {
    match (line, field) {
        (Some(l), Some(f)) => format!(":{l} (field `{f}`)"),
        (Some(l), None) => format!(":{l}"),
        (None, Some(f)) => format!(" (field `{f}`)"),
        (None, None) => String::new(),
    }
}

impl Error {
    pub fn input(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Input { path: path.into(), line: None, field: None, message: message.into() }
    }
    pub fn input_at(path: impl Into<PathBuf>, line: Option<usize>, field: Option<&str>, message: impl Into<String>) -> Self {
        Error::Input { path: path.into(), line, field: field.map(str::to_string), message: message.into() }
    }
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Read a whole file, naming it in the error.
pub fn read_to_string(path: &std::path::Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

/// Read a whole file as bytes, naming it in the error.
pub fn read_bytes(path: &std::path::Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// Write a file atomically: write beside it, then rename, so a crash never
/// leaves a half-written file where a reader expects a whole one.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let tmp = dir.join(format!(".{}.tmp{}", path.file_name().and_then(|n| n.to_str()).unwrap_or("out"), std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}
