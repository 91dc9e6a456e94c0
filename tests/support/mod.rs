//! Helpers shared by integration tests.
#![allow(dead_code)]
use std::path::{Path, PathBuf};

pub fn qforge_bin() -> &'static str {
    env!("CARGO_BIN_EXE_qforge")
}

pub fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(name)
}
