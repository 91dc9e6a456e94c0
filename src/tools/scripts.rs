//! Rendering the project scripts. The HLS generator calls
//! [`render_project_scripts`] after writing the C++ firmware; `qforge synth`
//! reads the parameters back from `qforge_scripts.json`. A file is written only
//! when its content changed, so timestamps stay stable for build caches.
use super::templates::TemplateSet;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The file, in the project folder, holding the [`ScriptParams`] the scripts were rendered with.
pub const PARAMS_FILE: &str = "qforge_scripts.json";

/// Which HLS tool `build_prj.tcl` is written for (their Tcl differs slightly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum HlsBackend {
    #[default]
    VivadoHls,
    VitisHls,
}

impl HlsBackend {
    /// hls4ml's default clock uncertainty for this tool.
    pub fn default_clock_uncertainty(self) -> &'static str {
        match self {
            HlsBackend::VivadoHls => "12.5%",
            HlsBackend::VitisHls => "27%",
        }
    }
    fn title(self) -> &'static str {
        match self {
            HlsBackend::VivadoHls => "Vivado HLS",
            HlsBackend::VitisHls => "Vitis HLS",
        }
    }
}

/// The steps `build_prj.tcl` runs, as hls4ml's `build()` takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BuildOptions {
    pub reset: bool,
    pub csim: bool,
    pub synth: bool,
    pub cosim: bool,
    pub validation: bool,
    pub export: bool,
    /// Vivado place and route of the exported IP (`export_design -flow impl` /
    /// `-evaluate verilog`), which writes `<top>_export.xml`.
    pub evaluate: bool,
    pub vsynth: bool,
    pub fifo_opt: bool,
}

impl Default for BuildOptions {
    /// hls4ml's defaults: C simulation and C synthesis.
    fn default() -> Self {
        BuildOptions {
            reset: false,
            csim: true,
            synth: true,
            cosim: false,
            validation: false,
            export: false,
            evaluate: false,
            vsynth: false,
            fifo_opt: false,
        }
    }
}

impl BuildOptions {
    /// C synthesis only: what `qforge synth` asks of an HLS tool.
    pub fn synth_only() -> Self {
        BuildOptions { csim: false, ..BuildOptions::default() }
    }

    /// The option string hls4ml passes to `vivado_hls -f build_prj.tcl`.
    pub fn to_arg_string(&self) -> String {
        let b = |v: bool| u8::from(v);
        format!(
            "reset={} csim={} synth={} cosim={} validation={} export={} evaluate={} vsynth={} fifo_opt={}",
            b(self.reset),
            b(self.csim),
            b(self.synth),
            b(self.cosim),
            b(self.validation),
            b(self.export),
            b(self.evaluate),
            b(self.vsynth),
            b(self.fifo_opt)
        )
    }

    fn context(&self) -> minijinja::Value {
        let b = |v: bool| u8::from(v);
        minijinja::context! {
            reset => b(self.reset), csim => b(self.csim), synth => b(self.synth), cosim => b(self.cosim),
            validation => b(self.validation), export => b(self.export), evaluate => b(self.evaluate),
            vsynth => b(self.vsynth), fifo_opt => b(self.fifo_opt),
        }
    }
}

/// Everything the scripts need to know about the project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScriptParams {
    /// The top function (and the firmware file stem), `myproject` in hls4ml.
    pub top: String,
    /// The HLS project folder, `myproject_prj` in hls4ml.
    pub project_name: String,
    pub backend: HlsBackend,
    pub part: String,
    pub clock_period_ns: f64,
    /// `12.5%`, `27%` or a value in ns; `None` takes the backend's hls4ml default.
    pub clock_uncertainty: Option<String>,
    /// `io_parallel` or `io_stream`.
    pub io_type: String,
    /// Synthesised sources, relative to the project folder.
    pub firmware_files: Vec<String>,
    /// The C++ testbench, relative to the project folder.
    pub testbench: Option<String>,
    /// Testbench data files or folders (`tb_data`, `firmware/weights`).
    pub tb_files: Vec<String>,
    pub cflags: String,
    /// The IP version `export_design` stamps.
    pub version: String,
    /// Largest array `config_array_partition` may partition completely.
    pub maximum_size: u32,
    /// Whether `vivado_synth.tcl` places, routes and estimates power by default.
    pub power: bool,
    /// Switching activity for the power estimate, relative to the project folder.
    pub saif_file: Option<String>,
    /// The steps `build_opt.tcl` selects.
    pub build: BuildOptions,
}

impl Default for ScriptParams {
    fn default() -> Self {
        ScriptParams::new("myproject")
    }
}

impl ScriptParams {
    /// hls4ml's defaults for a project whose top function is `top`.
    pub fn new(top: &str) -> Self {
        ScriptParams {
            top: top.to_string(),
            project_name: format!("{top}_prj"),
            backend: HlsBackend::VivadoHls,
            part: "xcvu13p-flga2577-2-e".to_string(),
            clock_period_ns: 5.0,
            clock_uncertainty: None,
            io_type: "io_parallel".to_string(),
            firmware_files: vec![format!("firmware/{top}.cpp")],
            testbench: Some(format!("{top}_test.cpp")),
            tb_files: vec!["firmware/weights".to_string(), "tb_data".to_string()],
            cflags: "-std=c++0x".to_string(),
            version: "1.0.0".to_string(),
            maximum_size: 4096,
            power: false,
            saif_file: None,
            build: BuildOptions::default(),
        }
    }

    pub fn clock_uncertainty(&self) -> String {
        self.clock_uncertainty.clone().unwrap_or_else(|| self.backend.default_clock_uncertainty().to_string())
    }

    fn validate(&self) -> Result<()> {
        let plain = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
        if !plain(&self.top) || self.top.contains(['-', '.']) {
            return Err(Error::Config(format!("top function `{}` is not a C identifier", self.top)));
        }
        if !plain(&self.project_name) || !plain(&self.part) {
            return Err(Error::Config(format!(
                "project name `{}` or part `{}` holds characters Tcl would misread",
                self.project_name, self.part
            )));
        }
        if !(self.clock_period_ns.is_finite() && self.clock_period_ns > 0.0) {
            return Err(Error::Config(format!("clock period {} ns must be positive", self.clock_period_ns)));
        }
        let quoted = self.firmware_files.iter().chain(self.testbench.iter()).chain(self.tb_files.iter());
        for path in quoted.chain(std::iter::once(&self.cflags)) {
            if path.contains(['"', '[', ']', '$', '{', '}', '\\', '\n']) {
                return Err(Error::Config(format!("`{path}` holds characters Tcl would misread")));
            }
        }
        Ok(())
    }

    fn context(&self) -> minijinja::Value {
        minijinja::context! {
            top => &self.top,
            project_name => &self.project_name,
            backend => match self.backend { HlsBackend::VivadoHls => "vivado", HlsBackend::VitisHls => "vitis" },
            backend_title => self.backend.title(),
            vitis => self.backend == HlsBackend::VitisHls,
            part => &self.part,
            clock_period => format_number(self.clock_period_ns),
            clock_uncertainty => self.clock_uncertainty(),
            io_type => &self.io_type,
            firmware_files => &self.firmware_files,
            testbench => &self.testbench,
            tb_files => &self.tb_files,
            cflags => &self.cflags,
            version => &self.version,
            maximum_size => self.maximum_size,
            power => u8::from(self.power),
            saif_file => self.saif_file.as_deref().unwrap_or(""),
            xdc_name => "clock.xdc",
            opt => self.build.context(),
        }
    }
}

/// `5.0` → `5`, `2.5` → `2.5`: how a person writes a clock period.
fn format_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

/// Write `bytes` to `path` unless it already holds exactly them. Returns whether it wrote.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool> {
    if let Ok(existing) = std::fs::read(path) {
        if existing == bytes {
            return Ok(false);
        }
    }
    crate::error::write_atomic(path, bytes)?;
    Ok(true)
}

/// Render the project scripts into `project_dir` (with templates from
/// `overrides` where it has a file of the same name) and return their paths:
/// `build_prj.tcl`, `build_opt.tcl`, `project.tcl`, `vivado_synth.tcl`,
/// `constraints/clock.xdc` and `qforge_scripts.json`. Unchanged files are not rewritten.
pub fn render_project_scripts(params: &ScriptParams, project_dir: &Path, overrides: Option<&Path>) -> Result<Vec<PathBuf>> {
    params.validate()?;
    let templates = TemplateSet::new(overrides)?;
    let context = params.context();
    let outputs = [
        ("build_prj.tcl", PathBuf::from("build_prj.tcl")),
        ("build_opt.tcl", PathBuf::from("build_opt.tcl")),
        ("project.tcl", PathBuf::from("project.tcl")),
        ("vivado_synth.tcl", PathBuf::from("vivado_synth.tcl")),
        ("clock.xdc", Path::new("constraints").join("clock.xdc")),
    ];
    let mut written = Vec::with_capacity(outputs.len() + 1);
    for (template, relative) in outputs {
        let text = templates.render(template, &context)?;
        let path = project_dir.join(relative);
        write_if_changed(&path, text.as_bytes())?;
        written.push(path);
    }
    let json = serde_json::to_string_pretty(params).expect("ScriptParams serialises") + "\n";
    let params_path = project_dir.join(PARAMS_FILE);
    write_if_changed(&params_path, json.as_bytes())?;
    written.push(params_path);
    Ok(written)
}

/// Rewrite only `build_opt.tcl` with other steps (Vitis HLS reads its options
/// from this file, not from the command line). Returns its path.
pub fn write_build_options(params: &ScriptParams, options: &BuildOptions, project_dir: &Path, overrides: Option<&Path>) -> Result<PathBuf> {
    let templates = TemplateSet::new(overrides)?;
    let with_options = ScriptParams { build: *options, ..params.clone() };
    let text = templates.render("build_opt.tcl", &with_options.context())?;
    let path = project_dir.join("build_opt.tcl");
    write_if_changed(&path, text.as_bytes())?;
    Ok(path)
}

/// The parameters a project's scripts were rendered with (`qforge_scripts.json`),
/// or hls4ml's defaults when the project has none.
pub fn load_script_params(project_dir: &Path) -> Result<ScriptParams> {
    let path = project_dir.join(PARAMS_FILE);
    if !path.exists() {
        return Ok(ScriptParams::default());
    }
    let text = crate::error::read_to_string(&path)?;
    serde_json::from_str(&text).map_err(|e| Error::input_at(&path, Some(e.line()), None, e.to_string()))
}
