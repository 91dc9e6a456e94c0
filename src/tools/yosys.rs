//! Driver for Yosys (open source, installed everywhere qforge is tested): a
//! generated script reads the Verilog, runs `synth_xilinx -family <family>
//! -top <top> -flatten` and writes `stat -json` to `stat.json` in the run folder.
//! By default the script runs `synth_xilinx` in two parts with its global
//! `alumacc` left out ([`YosysJob::merge_adders`]): every two-operand adder
//! stays its own carry chain instead of being merged into a multi-operand
//! `$macc` that `maccmap` builds from LUT compressors.
//! For per-layer (hierarchical) synthesis a job may read other modules as
//! black boxes (`read_verilog -lib`) or synthesise one inner module without
//! I/O and clock buffers; [`stitch`] joins the parts' mapped netlists with
//! the top's into one flat netlist (`hierarchy` + `flatten`, no re-synthesis).
use super::locate::{self, Located, Search};
use super::{ExpectedReport, Invocation, ToolEnv, ToolKind};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const SEARCH: Search<'static> = Search { tool: ToolKind::Yosys, executable: "yosys", override_var: "QFORGE_YOSYS", install_vars: &[] };

/// The families `synth_xilinx -family` takes.
pub const FAMILIES: &[&str] =
    &["xcup", "xcu", "xc7", "xc6s", "xc6v", "xc5v", "xc4v", "xc3s", "xc3sa", "xc3sda", "xc3se", "xc2v", "xc2vp", "xcv", "xcve"];

/// The families with 6-input LUTs (synth_xilinx's `-D LUT_WIDTH=6`); the others have 4.
const LUT6_FAMILIES: &[&str] = &["xcup", "xcu", "xc7", "xc6s", "xc6v", "xc5v"];

/// Find `yosys` and read `yosys -V`.
pub fn locate(env: &ToolEnv) -> Result<Located> {
    let program = locate::find(&SEARCH, env)?;
    Ok(locate::probe_version(ToolKind::Yosys, &program, &["-V"], env))
}

/// What to synthesise.
#[derive(Debug, Clone)]
pub struct YosysJob {
    pub verilog_files: Vec<PathBuf>,
    pub top: String,
    /// `xcup` (UltraScale+), `xcu`, `xc7`, …
    pub family: String,
    /// Also write the mapped netlist as Yosys JSON (`netlist.json` in the run
    /// folder), for gate-level simulation and switching activity.
    pub write_netlist: bool,
    /// Modules read as black boxes (`read_verilog -lib`): the parts a
    /// hierarchical run synthesises in jobs of their own.
    pub lib_files: Vec<PathBuf>,
    /// An inner module synthesised on its own: no I/O buffers and no clock
    /// buffer at its ports (`-noiopad -noclkbuf`), as inside the whole design.
    pub inner: bool,
    /// Stock `synth_xilinx`: its `alumacc` merges an adder whose result has
    /// one reader of the same width into that reader's `$macc`. `false` (the
    /// default) leaves `alumacc` out of the coarse step, so techmap converts
    /// each adder on its own (`_90_alumacc` wraps one cell) into a carry
    /// chain; on shift-add trees this maps fewer LUTs (docs/rtl-results.md).
    pub merge_adders: bool,
}

impl YosysJob {
    /// The whole design (or one module as its own top) from `verilog_files`.
    pub fn new(verilog_files: Vec<PathBuf>, top: &str, family: &str, write_netlist: bool) -> Self {
        YosysJob {
            verilog_files,
            top: top.to_string(),
            family: family.to_string(),
            write_netlist,
            lib_files: Vec::new(),
            inner: false,
            merge_adders: false,
        }
    }
}

/// File name of the mapped netlist in the run folder.
pub const NETLIST_FILE: &str = "netlist.json";

/// The Yosys script for `job`, writing its statistics to `stat_json`.
pub fn script(job: &YosysJob, stat_json: &Path, netlist_json: &Path) -> Result<String> {
    if !FAMILIES.contains(&job.family.as_str()) {
        return Err(Error::Config(format!("yosys family `{}` is not one of {}", job.family, FAMILIES.join(", "))));
    }
    if job.verilog_files.is_empty() {
        return Err(Error::Config("yosys: no Verilog files to synthesise".into()));
    }
    let quote = |p: &Path| format!("\"{}\"", p.display());
    let mut text = String::from("# Written by qforge: Xilinx synthesis with Yosys.\n");
    for file in &job.verilog_files {
        if !file.is_file() {
            return Err(Error::input(file, "Verilog file not found"));
        }
        text.push_str(&format!("read_verilog {}\n", quote(file)));
    }
    for file in &job.lib_files {
        if !file.is_file() {
            return Err(Error::input(file, "Verilog file not found"));
        }
        text.push_str(&format!("read_verilog -lib {}\n", quote(file)));
    }
    let inner = if job.inner { " -noiopad -noclkbuf" } else { "" };
    let synth = format!("synth_xilinx -family {} -top {} -flatten{inner}", job.family, job.top);
    if job.merge_adders {
        text.push_str(&format!("{synth}\n"));
    } else {
        // synth_xilinx's own `coarse` step but for `alumacc` (Yosys 0.23 `help synth_xilinx`).
        let lut_width = if LUT6_FAMILIES.contains(&job.family.as_str()) { 6 } else { 4 };
        text.push_str(&format!(
            "{synth} -run begin:coarse\ntechmap -map +/cmp2lut.v -map +/cmp2lcu.v -D LUT_WIDTH={lut_width}\nshare\nopt\nmemory -nomap\nopt_clean\n{synth} -run map_memory:\n"
        ));
    }
    // `tee -o` takes the file name literally (quotes would become part of it).
    let stat = stat_json.display().to_string();
    if stat.contains(char::is_whitespace) {
        return Err(Error::Config(format!("yosys cannot write its statistics to a path with spaces: {stat}")));
    }
    text.push_str(&format!("tee -q -o {stat} stat -json\n"));
    if job.write_netlist {
        text.push_str(&format!("write_json {}\n", quote(netlist_json)));
    }
    Ok(text)
}

/// Write `<run_dir>/synth.ys` and prepare `yosys -s synth.ys` in `work_dir`.
pub fn prepare(located: &Located, job: &YosysJob, work_dir: &Path, run_dir: &Path, timeout: Duration, env: &ToolEnv) -> Result<Invocation> {
    let stat_json = run_dir.join("stat.json");
    let script_path = run_dir.join("synth.ys");
    let netlist_json = run_dir.join(NETLIST_FILE);
    crate::error::write_atomic(&script_path, script(job, &stat_json, &netlist_json)?.as_bytes())?;
    // The netlist is not a report (nothing to parse): Yosys fails the run if it cannot write it.
    let mut inv = run_script(located, "synth", &script_path, work_dir, &run_dir.join("yosys.log"), timeout, env);
    inv.expected_reports = vec![ExpectedReport::required(stat_json)];
    Ok(inv)
}

/// `yosys -s script` in `cwd`, logging to `log`.
fn run_script(located: &Located, step: &str, script: &Path, cwd: &Path, log: &Path, timeout: Duration, env: &ToolEnv) -> Invocation {
    Invocation {
        tool: ToolKind::Yosys,
        step: step.to_string(),
        program: located.program.clone(),
        args: vec!["-s".to_string(), script.display().to_string()],
        env: env.overrides().clone(),
        cwd: cwd.to_path_buf(),
        timeout_secs: timeout.as_secs().max(1),
        grace_secs: super::synth::GRACE_SECS,
        log_path: log.to_path_buf(),
        expected_reports: Vec::new(),
    }
}

/// File name of the hierarchical netlist [`stitch`] writes before flattening it.
pub const STITCHED_FILE: &str = "stitched.json";

/// Join the mapped netlists of a hierarchical run: `top_netlist` (the top
/// module, its parts black boxes) and each part's own netlist (`(module,
/// netlist)`) become one hierarchical Yosys JSON (`stitched.json` beside `out`),
/// which the returned `yosys -s stitch.ys` flattens into `out`: `hierarchy`
/// and `flatten` only, the mapped cells are not touched.
pub fn stitch(
    located: &Located,
    top: &str,
    top_netlist: &Path,
    parts: &[(String, PathBuf)],
    out: &Path,
    timeout: Duration,
    env: &ToolEnv,
) -> Result<Invocation> {
    let run_dir = out.parent().unwrap_or(Path::new("."));
    let load = |path: &Path| -> Result<serde_json::Value> {
        serde_json::from_slice(&crate::error::read_bytes(path)?)
            .map_err(|e| Error::input_at(path, Some(e.line()), None, format!("not a Yosys JSON netlist: {e}")))
    };
    let mut merged = load(top_netlist)?;
    let modules = merged
        .get_mut("modules")
        .and_then(serde_json::Value::as_object_mut)
        .ok_or_else(|| Error::input_at(top_netlist, None, Some("modules"), "the netlist has no modules"))?;
    if !modules.contains_key(top) {
        return Err(Error::input(top_netlist, format!("the netlist has no module `{top}`")));
    }
    for (name, path) in parts {
        let mut part = load(path)?;
        let mut module = part
            .get_mut("modules")
            .and_then(|m| m.get_mut(name.as_str()))
            .map(serde_json::Value::take)
            .ok_or_else(|| Error::input(path, format!("the netlist has no module `{name}`")))?;
        if let Some(attributes) = module.get_mut("attributes").and_then(serde_json::Value::as_object_mut) {
            attributes.remove("top");
        }
        modules.insert(name.clone(), module);
    }
    let stitched = run_dir.join(STITCHED_FILE);
    crate::error::write_atomic(&stitched, serde_json::to_string(&merged).expect("netlist serialises").as_bytes())?;
    let quote = |p: &Path| format!("\"{}\"", p.display());
    // The second `hierarchy -top` drops the part modules flatten inlined.
    let text = format!(
        "# Written by qforge: the per-layer netlists joined and flattened.\nread_json {}\nhierarchy -top {top}\nflatten\nhierarchy -top {top}\nwrite_json {}\n",
        quote(&stitched),
        quote(out)
    );
    let script_path = run_dir.join("stitch.ys");
    crate::error::write_atomic(&script_path, text.as_bytes())?;
    Ok(run_script(located, "stitch", &script_path, run_dir, &run_dir.join("stitch.log"), timeout, env))
}
