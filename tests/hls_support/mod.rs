//! Shared by the `hls_*` tests: the qforge binary, models trained once per
//! test binary from small specs, the ap_types headers (never skipped: a
//! missing header set fails with the fix), and JSON helpers.
#![allow(dead_code)]
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub fn qforge() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_qforge"));
    cmd.env("CI", "1");
    cmd
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn one_json_object(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {}\nstderr: {}", text(&output.stdout), text(&output.stderr)))
}

/// The ap_types headers: `QFORGE_AP_TYPES`, else `.deps/ap_types`, else
/// installed by `scripts/setup-ap-types.sh`. Panics with the fix otherwise.
pub fn ap_types() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(dir) = std::env::var_os("QFORGE_AP_TYPES").map(PathBuf::from) {
            assert!(dir.join("ap_fixed.h").is_file(), "QFORGE_AP_TYPES={} holds no ap_fixed.h", dir.display());
            return dir;
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = root.join(".deps/ap_types");
        if !dir.join("ap_fixed.h").is_file() {
            let status = Command::new(root.join("scripts/setup-ap-types.sh")).status();
            assert!(
                matches!(status, Ok(s) if s.success()) && dir.join("ap_fixed.h").is_file(),
                "the ap_types headers are missing and scripts/setup-ap-types.sh could not install them: \
                 run scripts/setup-ap-types.sh or set QFORGE_AP_TYPES to a folder holding ap_fixed.h"
            );
        }
        dir
    })
    .clone()
}

/// The synthetic data every test uses: 60 000 samples give 12 000 test samples.
pub const SAMPLES: &str = "60000";

/// The Q6 jet tagger of the paper.
pub fn jet_spec() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/jet_tagger.toml")).unwrap()
}

/// Heterogeneous quantizers: 8-bit, auto_po2, po2 kernels, 4- and 8-bit
/// ReLUs, a 10-bit last layer.
pub const HETERO_SPEC: &str = r#"
name = "jet_hetero"
inputs = 16
input_type = "ap_fixed<16,6>"
classes = ["g", "q", "t", "w", "z"]

[[layers]]
type = "dense"
units = 64
kernel_quantizer = "quantized_bits(8,2)"
bias_quantizer = "quantized_bits(8,2)"
activation = "relu"
quantizer = "quantized_relu(4,2)"

[[layers]]
type = "dense"
units = 32
kernel_quantizer = 'quantized_bits(4,0,alpha="auto_po2")'
bias_quantizer = "quantized_bits(4,0)"
activation = "relu"
quantizer = "quantized_relu(8,3)"

[[layers]]
type = "dense"
units = 32
kernel_quantizer = "quantized_po2(4)"
bias_quantizer = "quantized_bits(8,3)"
activation = "relu"
quantizer = "quantized_relu(6)"

[[layers]]
type = "dense"
units = 5
kernel_quantizer = "quantized_bits(10,2)"
bias_quantizer = "quantized_bits(10,3)"
activation = "softmax"

[training]
learning_rate = 0.001
batch_size = 1024
epochs = 2
patience = 3
l1 = 0.0001
l2 = 0.0
seed = 7
"#;

/// No softmax: a linear output straight from the accumulator, and one quantized linear layer.
pub const LINEAR_SPEC: &str = r#"
name = "jet_linear"
inputs = 16
input_type = "ap_fixed<12,4>"
classes = ["g", "q", "t", "w", "z"]

[[layers]]
type = "dense"
units = 32
kernel_quantizer = "quantized_bits(6,0,alpha=1)"
bias_quantizer = "quantized_bits(6,0,alpha=1)"
activation = "relu"
quantizer = "quantized_relu(6)"

[[layers]]
type = "dense"
units = 16
kernel_quantizer = "quantized_bits(5,1)"
bias_quantizer = "quantized_bits(5,1)"
activation = "linear"
quantizer = "quantized_bits(8,3)"

[[layers]]
type = "dense"
units = 5
kernel_quantizer = "quantized_bits(6,0,alpha=1)"
bias_quantizer = "quantized_bits(6,0,alpha=1)"

[training]
learning_rate = 0.001
batch_size = 1024
epochs = 2
patience = 3
l1 = 0.0001
l2 = 0.0
seed = 3
"#;

/// Train `spec` once per test binary (2 epochs on 60 000 synthetic samples); returns model.json.
pub fn trained(name: &str, spec: &str) -> PathBuf {
    static MODELS: OnceLock<std::sync::Mutex<std::collections::HashMap<String, PathBuf>>> = OnceLock::new();
    static ROOT: OnceLock<tempfile::TempDir> = OnceLock::new();
    let root = ROOT.get_or_init(|| tempfile::tempdir().unwrap()).path().to_path_buf();
    let models = MODELS.get_or_init(Default::default);
    let mut guard = models.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = guard.get(name) {
        return path.clone();
    }
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let spec_path = dir.join("spec.toml");
    std::fs::write(&spec_path, spec).unwrap();
    let out =
        qforge().args(["train", "--epochs", "2", "--samples", SAMPLES, "--spec"]).arg(&spec_path).arg("--out").arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "training {name} failed: {}", text(&out.stderr));
    let model = dir.join("model.json");
    guard.insert(name.to_string(), model.clone());
    model
}

/// `qforge hls --model M --out OUT ARGS...`
pub fn hls(model: &Path, out: &Path, args: &[&str]) -> Output {
    qforge().arg("hls").arg("--model").arg(model).arg("--out").arg(out).args(["--samples", SAMPLES]).args(args).output().unwrap()
}

/// `qforge csim --project P --json` on the whole test split (12 000 samples).
pub fn csim(project: &Path) -> Output {
    qforge().args(["csim", "--json", "--samples", SAMPLES, "--project"]).arg(project).arg("--ap-types").arg(ap_types()).output().unwrap()
}

/// Sign-extend the low `t.width` bits of a value printed by C++ (`to_uint64` of an ap_fixed's raw bits).
pub fn from_bits(bits: u64, t: &qforge::quant::FixedType) -> i64 {
    let v = bits as i64;
    // A 64-bit pattern is its own two's complement.
    if t.signed && t.width < 64 && (v >> (t.width - 1)) & 1 == 1 {
        v - (1i64 << t.width)
    } else {
        v
    }
}
