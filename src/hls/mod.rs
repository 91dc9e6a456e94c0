//! HLS: the C++ project writer and its C simulation. The Tcl and XDC scripts
//! that drive Vivado HLS, Vitis HLS and Vivado, and the embedded templates, are
//! `tools::scripts` and `tools::templates` (re-exported here): `tools` reads
//! them back, and data flow one way, `hls` → `tools`.
//!
//! Input: a trained model (`model::TrainedModel` → `model::FixedNetwork`) and
//! [`HlsConfig`] (part, clock, reuse, strategy). Output: an hls4ml-shaped
//! project folder ([`write_project`]: firmware C++, weights as raw bits,
//! testbench, `build_prj.tcl`, `vivado_synth.tcl`, `constraints/clock.xdc`,
//! `qforge_scripts.json`) that `tools` runs, and [`csim`] results compared bit
//! for bit with the Rust fixed-point model. Templates are embedded (`tcl/`,
//! `constraints/`, `hls-templates/`) and replaceable by a user's folder.
mod alpha;
pub mod config;
mod cpp_text;
pub mod csim;
mod feature_steps;
pub mod project;
mod softmax_files;

pub use crate::estimate::parts::{lookup as find_part, Part};
pub use crate::tools::scripts::{
    load_script_params, render_project_scripts, write_build_options, write_if_changed, BuildOptions, HlsBackend, ScriptParams, PARAMS_FILE,
};
pub use crate::tools::templates::{template_source, TemplateSet, TEMPLATE_NAMES};
pub use config::{reuse_factor_valid, valid_reuse_factors, HlsConfig, Strategy};
pub use csim::{find_ap_types, run_csim, CsimOptions, CsimResult};
pub use project::{load_meta, write_project, HlsProject, ProjectMeta, WriteOptions, HLS_META_FILE};
