//! Arguments shared by several commands.
use crate::data::loaders::DataSource;
use clap::Args;
use std::path::PathBuf;

/// Where the data come from (default: the embedded synthetic jets).
#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// Data file: OpenML `hls4ml_lhc_jets_hlf` export (.csv or .arff), NumPy features (.npy), or
    /// `digits` (the UCI 8×8 digits fetched by scripts/setup.sh). An image model without it
    /// trains on seeded synthetic images of its input shape.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// NumPy labels (.npy, one-hot or integer) to go with `--data X.npy`.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Number of synthetic samples when no `--data` is given.
    #[arg(long, default_value_t = 200_000)]
    pub samples: usize,
    /// Seed of the synthetic generator.
    #[arg(long, default_value_t = 1)]
    pub data_seed: u64,
    /// Seed of the train/validation/test split (the paper used 42).
    #[arg(long, default_value_t = 42)]
    pub split_seed: u64,
}

impl DataArgs {
    pub fn source(&self) -> crate::error::Result<DataSource> {
        DataSource::from_paths(self.data.as_deref(), self.labels.as_deref(), self.samples, self.data_seed)
    }
}

/// Output folder (default `qforge-out/`).
#[derive(Args, Debug, Clone)]
pub struct OutArgs {
    /// Folder for everything this command writes.
    #[arg(long, default_value = "qforge-out")]
    pub out: PathBuf,
}
