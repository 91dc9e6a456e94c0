//! `qforge report`: placeholder until the reports stage lands.
use clap::Args;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Report files or project folders.
    pub paths: Vec<std::path::PathBuf>,
}

pub fn run(_args: ReportArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("report parsing is not implemented yet")
}
