//! Helpers shared by integration tests.
#![allow(dead_code)]
use std::path::{Path, PathBuf};

/// The Xilinx `ap_types` headers: `QFORGE_AP_TYPES`, else `.deps/ap_types` in
/// the checkout (what `scripts/setup-ap-types.sh` installs). Panics naming the
/// fix when neither exists: these tests never skip.
pub fn ap_types_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("QFORGE_AP_TYPES") {
        return PathBuf::from(dir);
    }
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join(".deps/ap_types");
    assert!(
        local.join("ap_fixed.h").exists(),
        "the Xilinx ap_types headers are missing: run scripts/setup-ap-types.sh or set QFORGE_AP_TYPES"
    );
    local
}

pub fn qforge_bin() -> &'static str {
    env!("CARGO_BIN_EXE_qforge")
}

pub fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(name)
}
