//! The open RTL flow: Verilog for the whole fixed-point network, fully
//! parallel (constant multiplications as CSD shift-adds, adder trees or
//! hls4ml's add-then-saturate chains for saturating accumulators, ReLU,
//! leaky ReLU, ApplyAlpha, QKeras' relu_po2, casts with every ap_fixed rounding/overflow mode,
//! qforge's table softmax or hls4ml's softmax variants, argmax), registers every N logic levels, a valid signal, flat ports; and
//! its bit-exact simulation against `FixedNetwork::predict_raw`.
//!
//! Input: a `TrainedModel` (model.json). Output: a folder with one `.v` per
//! module, `files.f`, `qforge_rtl.json` (manifest) and `qforge_scripts.json`
//! (so `qforge synth DIR --tool yosys` finds the top), `model.json` (the model
//! it computes, so the run history knows it); `sim` writes its build
//! and results under `DIR/sim/`.
pub mod activation;
pub mod adder_tree;
pub mod cast;
pub mod cmvm;
pub mod conv;
pub mod cost;
pub mod csd;
pub mod delay;
pub mod features;
pub mod hls4ml_softmax;
pub mod layer;
pub mod netlist;
pub mod pool;
pub mod products;
pub mod saturate;
pub mod sim;
pub mod softmax;
pub mod stream;
pub mod stream_global;
pub mod stream_top;
mod testbench;
pub mod verilog;

pub use cost::{design_cost, DesignCost, LayerCost};
pub use layer::LayerSummary;
pub use sim::{simulate, SimOptions, SimResult, Simulator};
pub use verilog::{build_design, PortGroup, RtlDesign, RtlManifest, MANIFEST_FILE};

use crate::error::{Error, Result};
use crate::model::{FixedNetwork, TrainedModel};
use crate::quant::Quantizer;
use std::path::{Path, PathBuf};

/// The copy of the model kept in a design folder.
pub const MODEL_FILE: &str = "model.json";

/// The top module's default name.
pub const DEFAULT_TOP: &str = "qforge_net";

/// How to write the RTL.
#[derive(Clone, Debug)]
pub struct RtlOptions {
    /// Registers after every N logic levels; 0 = purely combinational.
    pub pipeline_every: u32,
    /// Registers where the next operation would end past this clock period
    /// (ns) under the delay model of `delay`; exclusive with `pipeline_every`.
    pub pipeline_ns: Option<f64>,
    pub top: String,
    /// Dense layers share sub-expressions across their outputs (`cmvm`)
    /// instead of one adder tree per output.
    pub cmvm: bool,
    /// io_stream: image layers take one pixel per clock through line buffers
    /// (`stream_top`) instead of the whole image at once.
    pub stream: bool,
}

impl Default for RtlOptions {
    fn default() -> Self {
        RtlOptions { pipeline_every: 0, pipeline_ns: None, top: DEFAULT_TOP.to_string(), cmvm: false, stream: false }
    }
}

/// Refuse layers that have no fixed-point form (a float kernel or bias) or
/// no RTL form yet (a leaky ReLU or ApplyAlpha in an image layer).
pub fn check_synthesizable(model: &TrainedModel, model_path: &Path) -> Result<()> {
    let convs: Vec<_> = model
        .spec
        .features
        .iter()
        .filter_map(|f| match f {
            crate::model::features::FeatureLayer::Conv(c) => Some((c.as_block(), c.has_bias())),
            _ => None,
        })
        .collect();
    let blocks = model.spec.blocks.iter().map(|b| (b, true)).chain(convs.iter().map(|(b, bias)| (b, *bias)));
    for (k, (block, has_bias)) in blocks.enumerate() {
        // Image layers compute ReLUs and casts only.
        let conv = k >= model.spec.blocks.len();
        if conv && matches!(block.kernel_quantizer, Quantizer::QuantizedBits { alpha, .. } if alpha.is_float_scale()) {
            return Err(Error::input_at(
                model_path,
                None,
                Some(&format!("layer `{}` kernel_quantizer", block.name)),
                format!(
                    "the kernel of image layer `{}` ({}) needs hls4ml's ApplyAlpha scale, which the RTL of image layers does not build: use alpha=1 or alpha=\"auto_po2\"",
                    block.name,
                    block.kernel_quantizer.spelling()
                ),
            ));
        }
        // (The Rust model refuses relu_po2 after a convolution itself.)
        if conv && matches!(block.activation_quantizer, Quantizer::LeakyRelu { .. }) {
            return Err(Error::input_at(
                model_path,
                None,
                Some(&format!("layer `{}` activation_quantizer", block.name)),
                format!(
                    "the activation {} of layer `{}` has no RTL form in qforge yet (the Rust model, `qforge hls` and `qforge csim` take it): use quantized_relu or quantized_bits for this layer",
                    block.activation_quantizer.spelling(),
                    block.name
                ),
            ));
        }
        for (what, q, field) in [("kernel", &block.kernel_quantizer, "kernel_quantizer"), ("bias", &block.bias_quantizer, "bias_quantizer")]
        {
            // In hls4ml types mode (or with a stated type) a float kernel is cast into a fixed type.
            let stated = if field == "kernel_quantizer" { block.types.weight } else { block.types.bias };
            // A convolution without a bias has no bias to hold.
            if field == "bias_quantizer" && !has_bias {
                continue;
            }
            if q.is_float() && stated.is_none() && model.spec.types != crate::model::TypesMode::Hls4ml {
                return Err(Error::input_at(
                    model_path,
                    None,
                    Some(&format!("layer `{}` {field}", block.name)),
                    format!(
                        "the {what} of layer `{}` is float, which has no fixed-point RTL: set {field} = \"quantized_bits(6,0,alpha=1)\" (or another quantizer) for this layer in the spec and retrain",
                        block.name
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Generate the design for `model` in memory.
pub fn generate(model: &TrainedModel, model_path: &Path, opts: &RtlOptions) -> Result<RtlDesign> {
    check_synthesizable(model, model_path)?;
    if opts.stream && model.spec.features.is_empty() {
        return Err(Error::Config(format!(
            "{}: io stream streams image pixels, and this model has no image layers: use io parallel",
            model_path.display()
        )));
    }
    if opts.pipeline_ns.is_some() && !model.spec.features.is_empty() {
        // The image-layer modules place registers by level only.
        return Err(Error::Config(format!("{}: --pipeline-ns does not take image layers yet; use --pipeline-every", model_path.display())));
    }
    let net = FixedNetwork::from_model(model)?;
    if !opts.top.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || opts.top.is_empty() {
        return Err(Error::Config(format!("top module name `{}` is not a Verilog identifier", opts.top)));
    }
    let mut design = if opts.stream { stream_top::build_stream_design(&net, opts)? } else { build_design(&net, opts)? };
    design.model_json = Some(crate::error::read_bytes(model_path)?);
    Ok(design)
}

/// Write the design into `out_dir`; returns the files written.
pub fn write_design(design: &RtlDesign, out_dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
    let mut written = Vec::new();
    for (name, text) in &design.files {
        let path = out_dir.join(name);
        crate::error::write_atomic(&path, text.as_bytes())?;
        written.push(path);
    }
    let list: String = design.files.iter().map(|(n, _)| format!("{n}\n")).collect();
    let files_f = out_dir.join("files.f");
    crate::error::write_atomic(&files_f, list.as_bytes())?;
    written.push(files_f);
    let manifest = out_dir.join(MANIFEST_FILE);
    let json = serde_json::to_string_pretty(&design.manifest).expect("manifest serialises");
    crate::error::write_atomic(&manifest, json.as_bytes())?;
    written.push(manifest);
    // What `qforge synth DIR --tool yosys` reads to know the top module.
    let params = crate::tools::scripts::ScriptParams::new(&design.manifest.top);
    let params_path = out_dir.join(crate::tools::scripts::PARAMS_FILE);
    let json = serde_json::to_string_pretty(&params).expect("params serialise");
    crate::error::write_atomic(&params_path, json.as_bytes())?;
    written.push(params_path);
    if let Some(model) = &design.model_json {
        let path = out_dir.join(MODEL_FILE);
        crate::error::write_atomic(&path, model)?;
        written.push(path);
    }
    Ok(written)
}

/// Read the manifest of a design folder.
pub fn load_manifest(dir: &Path) -> Result<RtlManifest> {
    let path = dir.join(MANIFEST_FILE);
    if !path.is_file() {
        return Err(Error::input(&path, "no RTL manifest here: write the design with `qforge rtl --model model.json --out DIR` first"));
    }
    let text = crate::error::read_to_string(&path)?;
    serde_json::from_str(&text).map_err(|e| Error::input_at(&path, Some(e.line()), None, e.to_string()))
}
