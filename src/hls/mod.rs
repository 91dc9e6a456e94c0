//! HLS project scripts: the Tcl and XDC templates that drive Vivado HLS, Vitis
//! HLS and Vivado (embedded in the binary, replaceable by a user's folder), and
//! the function that renders them into a project folder.
//!
//! Input: [`ScriptParams`] from the HLS generator (or the defaults hls4ml uses).
//! Output: `build_prj.tcl`, `build_opt.tcl`, `project.tcl`, `vivado_synth.tcl`,
//! `constraints/clock.xdc` and `qforge_scripts.json` in the project folder,
//! which `tools` then runs.
pub mod scripts;
pub mod templates;

pub use scripts::{
    load_script_params, render_project_scripts, write_build_options, write_if_changed, BuildOptions, HlsBackend,
    ScriptParams, PARAMS_FILE,
};
pub use templates::{template_source, TemplateSet, TEMPLATE_NAMES};
