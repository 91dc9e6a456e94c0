//! `qforge search`: AutoQKeras-style quantization search with a progress bar
//! over trials, over a space file's model spec (`--space`) or an imported
//! model.json (`--model`), on the synthetic jets or the user's `--data`.
use super::{print_json, CliReporter};
use crate::data::loaders::DataSource;
use crate::estimate::{Calibration, Flow, FlowOptions};
use crate::search::score::Goal;
use crate::search::space::{SearchSpace, TunerKind};
use crate::search::{run_search, summary_json, SearchOptions};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["space", "model"])))]
pub struct SearchArgs {
    /// Search space (TOML), e.g. examples/jet_space.toml. With --model: only its candidates, [search] and [budget] are used; its `model` and `[reference]` are ignored.
    #[arg(long)]
    pub space: Option<PathBuf>,
    /// Search an imported model (`qforge import` writes DIR/model.json): its architecture, the model itself as the reference (evaluated as it is, not retrained), its input scaler; without --space the candidates of examples/model_space.toml.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// With --model: every trial starts from the model's float weights (AutoQKeras' transfer_weights), not from the seed's random initialisation.
    #[arg(long, requires = "model")]
    pub transfer_weights: bool,
    /// Data file the trials train on (usual 60/20/20 split): OpenML `hls4ml_lhc_jets_hlf` .csv/.arff or NumPy features .npy; default: the space's synthetic jets.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// NumPy labels (.npy, one-hot or integer) to go with `--data X.npy`.
    #[arg(long, requires = "data")]
    pub labels: Option<PathBuf>,
    /// Output folder: trials.jsonl, trials/, best/, pareto/, search.svg, summary.json.
    #[arg(long, default_value = "qforge-out/search")]
    pub out: PathBuf,
    /// Continue the search whose trials are in --out (finished trials are not retrained).
    #[arg(long)]
    pub resume: bool,
    /// Override the space's number of trials.
    #[arg(long)]
    pub max_trials: Option<usize>,
    #[arg(long, value_enum)]
    pub tuner: Option<TunerKind>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// Epochs per trial (Hyperband: the most epochs).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Synthetic samples for the search (without --data).
    #[arg(long)]
    pub samples: Option<usize>,
    #[arg(long, value_enum)]
    pub goal: Option<Goal>,
    /// Return the Pareto front of (accuracy, cost): its models go to pareto/.
    #[arg(long)]
    pub pareto: bool,
    /// The design the budget and the energy cost are priced for: `hls` or `rtl` (qforge's Verilog, as `qforge run` builds it).
    #[arg(long, value_enum, default_value = "hls")]
    pub flow: Flow,
    /// With --flow rtl: registers every N logic levels (0: combinational).
    #[arg(long, default_value_t = 0)]
    pub pipeline_every: u32,
    /// With --flow rtl: registers placed by delay at this clock period (ns), as `qforge rtl --pipeline-ns`.
    #[arg(long, value_name = "NS", conflicts_with = "pipeline_every")]
    pub pipeline_ns: Option<f64>,
    /// With --flow rtl: price the generator's shared sub-expressions (`qforge rtl --cmvm`).
    #[arg(long)]
    pub cmvm: bool,
    /// Calibration file (TOML); default: $QFORGE_CALIBRATION, else qforge-out/calibration.toml if present, else built-in.
    #[arg(long)]
    pub calibration: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: SearchArgs) -> anyhow::Result<ExitCode> {
    let reporter = CliReporter::new(args.json);
    let cal = Calibration::discover(args.calibration.as_deref())?;
    let space = match (&args.model, &args.space) {
        (Some(model), space) => SearchSpace::for_model(model, space.as_deref())?,
        (None, Some(space)) => SearchSpace::from_file(space)?,
        (None, None) => unreachable!("clap requires --space or --model"),
    };
    let data = match &args.data {
        Some(path) => Some(DataSource::from_paths(Some(path), args.labels.as_deref(), 0, 0)?),
        None => None,
    };
    let opts = SearchOptions {
        out: args.out.clone(),
        resume: args.resume,
        max_trials: args.max_trials,
        tuner: args.tuner,
        seed: args.seed,
        epochs: args.epochs,
        samples: args.samples,
        goal: args.goal,
        pareto: args.pareto.then_some(true),
        data,
        transfer_weights: args.transfer_weights,
        flow: FlowOptions {
            flow: args.flow,
            pipeline_every: args.pipeline_every,
            cmvm: args.cmvm,
            pipeline_ns: args.pipeline_ns,
            io_stream: false,
            design_cost: Some(crate::rtl::cost::cost_for),
        },
    };
    let outcome = run_search(&space, &opts, &cal, &reporter)?;
    let summary = summary_json(&outcome);
    if args.json {
        print_json(&summary)?;
        return Ok(ExitCode::SUCCESS);
    }
    let r = &outcome.reference;
    outln!("reference: {:.2}% at cost {:.4} (energy {:.1} pJ, {} bits)", 100.0 * r.accuracy, r.cost, r.energy_pj, r.size_bits);
    if let Some(b) = outcome.best.map(|id| &outcome.trials[id]) {
        outln!(
            "best: trial {} {:.2}% at cost {:.4} (energy {:.1} pJ, {:.1}x cheaper), score {:.4}",
            b.id,
            100.0 * b.accuracy.unwrap_or(0.0),
            b.cost,
            b.energy_pj,
            r.energy_pj / b.energy_pj,
            b.score.unwrap_or(0.0)
        );
        for l in &b.layers {
            outln!("  {:<10} kernel {:<28} bias {:<28} activation {}", l.layer, l.kernel, l.bias, l.activation);
        }
    }
    outln!("Pareto front: trials {:?}", outcome.pareto);
    outln!("{} trials in {:.1} s; results in {}", outcome.trials.len(), outcome.wall_seconds, outcome.out.display());
    Ok(ExitCode::SUCCESS)
}
