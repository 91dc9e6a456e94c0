//! External tools: the only module that spawns processes.
//!
//! One driver per tool (`vivado_hls`, `vitis_hls`, `vivado`, `bambu`, `yosys`)
//! finds the executable ([`locate`]), reads its version, and prepares an
//! [`Invocation`]: plain data (program, arguments, environment, folder, timeout,
//! log and expected reports) that can be tested without the tool, stored, and
//! written as `replay.sh`. One shared [`runner`] executes any invocation (own
//! process group, log tee'd to a file, lines classified into events, timeout
//! with TERM, grace, KILL) and classifies the [`Outcome`]. [`synth`] chains the
//! steps of `qforge synth` and [`synth::collect_reports`] hands the report files
//! to the `reports` parser. [`scripts`] renders the Tcl/XDC a project's tools
//! run and reads back their parameters; [`templates`] holds the embedded
//! script and C++ templates (the `hls` writer uses them too).
//!
//! Input: a project folder rendered by `hls` (or hand-written RTL for yosys).
//! Output: a run folder with logs, `replay.sh`, `invocation.json`, and the
//! paths of the reports the tool wrote.
pub mod bambu;
pub mod cxx;
pub mod hdl;
pub mod invocation;
pub mod jobs;
pub mod locate;
pub mod runner;
pub mod scripts;
pub mod slurm;
pub mod synth;
pub mod templates;
pub mod vitis_hls;
pub mod vivado;
pub mod vivado_hls;
pub mod yosys;

pub use invocation::{ExpectedReport, Invocation};
pub use locate::{Located, ToolEnv};
pub use runner::{run, Outcome, RunResult};
pub use synth::{collect_reports, synth, StepRun, SynthOptions, SynthRun};

use serde::{Deserialize, Serialize};

/// The tools qforge drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolKind {
    VivadoHls,
    VitisHls,
    Vivado,
    Bambu,
    Yosys,
}

impl ToolKind {
    pub const ALL: [ToolKind; 5] = [ToolKind::VivadoHls, ToolKind::VitisHls, ToolKind::Vivado, ToolKind::Bambu, ToolKind::Yosys];

    /// The name used on the command line and in file names.
    pub fn name(self) -> &'static str {
        match self {
            ToolKind::VivadoHls => "vivado_hls",
            ToolKind::VitisHls => "vitis_hls",
            ToolKind::Vivado => "vivado",
            ToolKind::Bambu => "bambu",
            ToolKind::Yosys => "yosys",
        }
    }

    /// What to do when the tool cannot be found.
    pub fn install_hint(self) -> &'static str {
        match self {
            ToolKind::VivadoHls => {
                "install Vivado HLS (2020.1 or older) and source its settings64.sh, put vivado_hls on PATH, or set QFORGE_VIVADO_HLS"
            }
            ToolKind::VitisHls => {
                "install Vitis HLS and source its settings64.sh, put vitis_hls or vitis-run on PATH, or set QFORGE_VITIS_HLS"
            }
            ToolKind::Vivado => "install Vivado and source its settings64.sh, put vivado on PATH, or set QFORGE_VIVADO",
            ToolKind::Bambu => "install PandA Bambu (its AppImage or a package), put bambu on PATH, or set QFORGE_BAMBU",
            ToolKind::Yosys => "install Yosys (apt-get install yosys), put yosys on PATH, or set QFORGE_YOSYS",
        }
    }
}

impl std::fmt::Display for ToolKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ToolKind {
    type Err = crate::error::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ToolKind::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| {
            let known: Vec<_> = ToolKind::ALL.iter().map(|k| k.name()).collect();
            crate::error::Error::Config(format!("unknown tool `{s}` (known: {})", known.join(", ")))
        })
    }
}
