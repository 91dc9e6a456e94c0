//! Helpers shared by integration tests.
#![allow(dead_code)]
pub mod cnn_specs;
pub mod rtl_csim;
use std::path::{Path, PathBuf};

pub fn qforge_bin() -> &'static str {
    env!("CARGO_BIN_EXE_qforge")
}

pub fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(name)
}

/// Run qforge in `cwd` as CI would (no progress bars, no calibration named by
/// the environment): exit code, the one JSON object on stdout (or null), stderr.
pub fn run_in(cwd: &Path, args: &[&str]) -> (i32, serde_json::Value, String) {
    run_with(qforge_bin().as_ref(), cwd, args, &[])
}

/// [`run_in`] with another qforge executable and extra environment variables.
pub fn run_with(qforge: &Path, cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, serde_json::Value, String) {
    let out = std::process::Command::new(qforge)
        .args(args)
        .current_dir(cwd)
        .env("CI", "1")
        .env_remove("QFORGE_CALIBRATION")
        .env_remove("QFORGE_DB")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code().unwrap_or(-1), json, stderr)
}

/// hls4ml's C simulation of a fixture (tests/fixtures/hls4ml/<model>/csim.json).
#[derive(serde::Deserialize)]
pub struct Csim {
    pub inputs: Vec<Vec<f64>>,
    pub output_type: String,
    pub outputs_raw: Vec<Vec<i64>>,
    pub layers: Vec<CsimLayer>,
}

#[derive(serde::Deserialize)]
pub struct CsimLayer {
    pub name: String,
    pub class: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub raw: Vec<Vec<i64>>,
}

/// `qforge import` of the fixture tests/fixtures/hls4ml/<name> into `dir/imp/model.json`
/// (with its hls4ml config: hls4ml's types; without: qforge's own).
pub fn import_fixture(dir: &Path, name: &str, with_config: bool) -> PathBuf {
    let f = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hls4ml").join(name);
    let arg = |n: &str| f.join(n).display().to_string();
    let mut args = vec!["import".to_string(), arg("keras.json"), "--weights".into(), arg("weights.h5"), "--out".into(), "imp".into()];
    if with_config {
        args.extend(["--config".into(), arg("hls4ml_config.yml")]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, err) = run_in(dir, &args);
    assert_eq!(code, 0, "{err}");
    dir.join("imp/model.json")
}

/// Deterministic pseudo-random features in [-2, 2), row-major (an LCG from `seed`).
pub fn features(rows: usize, cols: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..rows * cols)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 4.0 - 2.0
        })
        .collect()
}
