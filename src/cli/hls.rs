//! `qforge hls`: write the HLS project of a trained model.
use super::common::DataArgs;
use super::print_json;
use crate::hls::{write_project, HlsBackend, HlsConfig, Strategy, WriteOptions};
use crate::model::TrainedModel;
use crate::train::session::test_split_for;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct HlsArgs {
    /// Trained model (model.json written by `qforge train`).
    #[arg(long)]
    pub model: PathBuf,
    /// Project folder to write (must be empty or absent unless --force).
    #[arg(long, default_value = "qforge-out/hls")]
    pub out: PathBuf,
    /// FPGA part (hls4ml's default is the VU13P).
    #[arg(long, default_value = "xcvu13p-flga2577-2-e")]
    pub part: String,
    /// Clock period in ns.
    #[arg(long, default_value_t = 5.0)]
    pub clock: f64,
    /// Reuse factor: how many times each multiplier is used per inference (default: the model's `spec.hls`, from an imported hls4ml config, else 1).
    #[arg(long)]
    pub reuse: Option<usize>,
    /// Dense strategy: latency or resource (default: the model's `spec.hls`, else latency).
    #[arg(long)]
    pub strategy: Option<String>,
    /// I/O type: parallel (io_parallel) or stream (io_stream: hls::stream, one pixel a transaction).
    #[arg(long, default_value = "parallel")]
    pub io: String,
    /// Top function name (and firmware file stem).
    #[arg(long, default_value = "myproject")]
    pub top: String,
    /// HLS tool the scripts are written for: vivado_hls or vitis_hls.
    #[arg(long, default_value = "vivado_hls")]
    pub backend: String,
    /// Folder of templates replacing the embedded ones by file name.
    #[arg(long)]
    pub templates: Option<PathBuf>,
    /// Write into a non-empty folder (qforge's files are overwritten, others kept).
    #[arg(long)]
    pub force: bool,
    /// Test samples written to tb_data/ (with the outputs the testbench must produce).
    #[arg(long, default_value_t = 100)]
    pub tb_samples: usize,
    #[command(flatten)]
    pub data: DataArgs,
    /// Print one JSON object on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

fn backend(name: &str) -> crate::error::Result<HlsBackend> {
    match name {
        "vivado_hls" | "vivado" => Ok(HlsBackend::VivadoHls),
        "vitis_hls" | "vitis" => Ok(HlsBackend::VitisHls),
        _ => Err(crate::error::Error::Config(format!("unknown backend `{name}` (known: vivado_hls, vitis_hls)"))),
    }
}

pub fn run(args: HlsArgs) -> anyhow::Result<ExitCode> {
    let model = TrainedModel::load(&args.model)?;
    let io_type = match args.io.as_str() {
        "parallel" | "io_parallel" => "io_parallel".to_string(),
        "stream" | "io_stream" => "io_stream".to_string(),
        other => return Err(crate::error::Error::Config(format!("unknown io type `{other}` (known: parallel, stream)")).into()),
    };
    let config = HlsConfig {
        top: args.top.clone(),
        part: args.part.clone(),
        clock_period_ns: args.clock,
        reuse_factor: args.reuse.or(model.spec.hls.reuse_factor.map(|r| r as usize)).unwrap_or(1),
        strategy: Strategy::parse(args.strategy.as_deref().or(model.spec.hls.strategy.as_deref()).unwrap_or("latency"))?,
        io_type,
        backend: backend(&args.backend)?,
    };
    let test_inputs = if args.tb_samples > 0 {
        let source = args.data.source()?;
        let test = test_split_for(&model, &source, args.data.split_seed)?.head(args.tb_samples);
        let net = crate::model::FixedNetwork::from_model(&model)?;
        Some(net.quantize_inputs(&test.x))
    } else {
        None
    };
    let options = WriteOptions { force: args.force, templates: args.templates.clone(), test_inputs };
    let project = write_project(&model, &config, &args.out, &options)?;
    if args.json {
        print_json(&serde_json::json!({
            "project": project.dir,
            "top": project.meta.config.top,
            "part": project.part,
            "config": project.meta.config,
            "files": project.files,
        }))?;
    } else {
        outln!(
            "wrote {} files of `{}` ({} strategy, reuse {}, {} at {} ns) to {}",
            project.files.len(),
            project.meta.config.top,
            project.meta.config.strategy.name(),
            project.meta.config.reuse_factor,
            project.part.name,
            project.meta.config.clock_period_ns,
            project.dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
