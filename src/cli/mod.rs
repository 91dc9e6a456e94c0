//! The command-line edge: argument parsing (clap), progress bars (indicatif),
//! human tables and `--json` output. Only this module prints; it calls the
//! library stages and turns their events and results into views.
#[macro_use]
pub(crate) mod stdout;
mod calibrate;
mod check;
mod choices;
mod common;
mod csim;
mod estimate;
mod exit_codes;
mod history;
mod hls;
mod import;
mod ingest;
mod progress;
mod report;
mod rtl;
mod run;
mod search;
mod switching;
mod synth;
mod train;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

pub use exit_codes::exit_code_for;
pub use progress::CliReporter;

/// qforge: quantized neural networks → FPGA firmware for particle-physics triggers.
#[derive(Parser, Debug)]
#[command(name = "qforge", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Import a (Q)Keras model (JSON + weights H5, full H5, .keras) and an hls4ml config; writes model.json.
    Import(Box<import::ImportArgs>),
    /// Train a quantized model with quantization-aware training; writes model.json.
    Train(train::TrainArgs),
    /// Float and bit-exact fixed-point accuracy of a trained model on the test split.
    Eval(train::EvalArgs),
    /// Write per-sample fixed-point outputs (raw bits and decoded values) to a CSV.
    Predict(train::PredictArgs),
    /// Parse synthesis reports (Vivado HLS, Vitis HLS, Vivado, Bambu, Yosys) into one record each.
    Report(report::ReportArgs),
    /// Run a synthesis tool (Vivado HLS, Vitis HLS, Vivado, Bambu, Yosys) on a project and list its reports.
    Synth(Box<synth::SynthArgs>),
    /// Write an hls4ml-shaped HLS project (C++ firmware, testbench, Tcl, XDC) for a trained model.
    Hls(Box<hls::HlsArgs>),
    /// C-simulate an HLS project with g++ and compare every output bit with the Rust model.
    Csim(Box<csim::CsimArgs>),
    /// Estimate energy (QTools), bits, BOPs/EBOPs, FPGA resources and latency of a model.
    Estimate(estimate::EstimateArgs),
    /// Search per-layer quantizers (AutoQKeras-style) under a cost goal and a hardware budget.
    Search(search::SearchArgs),
    /// Write Verilog for a quantized model (shift-add constant multipliers, adder trees, softmax).
    Rtl(rtl::RtlArgs),
    /// Simulate the Verilog (Verilator or Icarus) and compare every output bit with the model.
    RtlSim(rtl::RtlSimArgs),
    /// Simulate the Yosys-mapped netlist, check it bit for bit, count every cell's toggles per layer and price them.
    Switching(Box<switching::SwitchingArgs>),
    /// List the runs in the history database, filtered by tool, part, status, model, date.
    History(history::HistoryArgs),
    /// Import the reports of runs made outside qforge (a folder of tool projects) into the history.
    Ingest(ingest::IngestArgs),
    /// Budget gate: fail when a design exceeds its LUT/FF/DSP/BRAM/latency budget; writes JUnit XML.
    Check(check::CheckArgs),
    /// Refit the estimator's coefficients from measured runs (k-fold CV); write a calibration file.
    Calibrate(Box<calibrate::CalibrateArgs>),
    /// The end-to-end pipeline: train, search, generate, synthesize (N workers or Slurm), store, calibrate, summary.
    Run(Box<run::RunArgs>),
}

/// Parse arguments, run the command, map errors to exit codes.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Import(args) => import::run(*args),
        Command::Train(args) => train::run_train(args),
        Command::Eval(args) => train::run_eval(args),
        Command::Predict(args) => train::run_predict(args),
        Command::Report(args) => report::run(args),
        Command::Synth(args) => synth::run(*args),
        Command::Hls(args) => hls::run(*args),
        Command::Csim(args) => csim::run(*args),
        Command::Estimate(args) => estimate::run(args),
        Command::Search(args) => search::run(args),
        Command::Rtl(args) => rtl::run_rtl(args),
        Command::RtlSim(args) => rtl::run_rtl_sim(args),
        Command::Switching(args) => switching::run(*args),
        Command::History(args) => history::run(args),
        Command::Ingest(args) => ingest::run(args),
        Command::Check(args) => check::run(args),
        Command::Calibrate(args) => calibrate::run(*args),
        Command::Run(args) => run::run(*args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            exit_code_for(&err)
        }
    }
}

/// Print one JSON object on stdout (the `--json` contract).
pub(crate) fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    outln!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
