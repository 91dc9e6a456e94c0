//! A training session end to end: load and split the data, fit the scaler on
//! the training split, train with QAT, and evaluate both the float (QKeras-like
//! fake-quantized) network and the bit-exact fixed-point network.
use super::{evaluate, metrics, qat::QatNetwork, to_model, train_from, TrainReport};
use crate::data::{fit_global_scaler, fit_scaler, loaders::DataSource, split, Dataset, Splits};
use crate::error::{Error, Result};
use crate::events::Reporter;
use crate::model::{FixedNetwork, LayerParams, ModelSpec, Scaler, TrainedModel};
use serde::Serialize;

/// The paper's split: 20 % test, 25 % of the rest for validation.
pub const TEST_FRACTION: f64 = 0.2;
pub const VAL_FRACTION: f64 = 0.25;

/// Standardised splits and the scaler fitted on the training split.
pub struct PreparedData {
    pub splits: Splits,
    pub scaler: Scaler,
    pub feature_names: Vec<String>,
}

/// Load `source` for `spec` (a file that does not fit it is an error naming
/// the file), split it, fit the scaler on the training split and standardise.
pub fn prepare_data(source: &DataSource, spec: &ModelSpec, split_seed: u64) -> Result<PreparedData> {
    prepare_data_scaled(source, spec, split_seed, None)
}

/// [`prepare_data`] with a given scaler instead of one fitted on the
/// training split (a search from an imported model keeps the model's own).
pub fn prepare_data_scaled(source: &DataSource, spec: &ModelSpec, split_seed: u64, scaler: Option<&Scaler>) -> Result<PreparedData> {
    let data = source.clone().for_model(&spec.input_shape, spec.n_outputs()).load_for(spec.inputs, spec.n_outputs())?;
    let mut splits = split(&data, split_seed, TEST_FRACTION, VAL_FRACTION);
    if splits.train.is_empty() || splits.val.is_empty() || splits.test.is_empty() {
        return Err(Error::Config(format!("{}: too few samples ({}) to split into train/validation/test", source.describe(), data.len())));
    }
    let fit = if spec.input_shape.is_empty() { fit_scaler } else { fit_global_scaler };
    let scaler = scaler.cloned().unwrap_or_else(|| fit(&splits.train));
    for d in [&mut splits.train, &mut splits.val, &mut splits.test] {
        d.standardize(&scaler);
    }
    Ok(PreparedData { splits, scaler, feature_names: data.feature_names })
}

/// The test split of `source` as `model` saw it, standardised with its scaler.
pub fn test_split_for(model: &TrainedModel, source: &DataSource, split_seed: u64) -> Result<Dataset> {
    let spec = &model.spec;
    let data = source.clone().for_model(&spec.input_shape, spec.n_outputs()).load_for(spec.inputs, spec.n_outputs())?;
    let mut test = split(&data, split_seed, TEST_FRACTION, VAL_FRACTION).test;
    test.standardize(&model.scaler);
    Ok(test)
}

/// Float and fixed-point quality of a model on standardised data.
#[derive(Clone, Debug, Serialize)]
pub struct Evaluation {
    pub samples: usize,
    pub float_accuracy: f64,
    pub fixed_accuracy: f64,
    /// Fraction of samples whose float and fixed-point predicted classes differ.
    pub disagreement: f64,
    pub per_class_auc: Vec<(String, Option<f64>)>,
}

pub fn evaluate_model(model: &TrainedModel, data: &Dataset) -> Result<Evaluation> {
    let mut net = QatNetwork::from_model(model);
    let (_, float_accuracy, probs) = evaluate(&mut net, data);
    let fixed = FixedNetwork::from_model(model)?;
    let out = fixed.predict_raw(&fixed.quantize_inputs(&data.x));
    let n_classes = probs.ncols();
    let probs = probs.as_slice().expect("contiguous");
    let mut hits = 0usize;
    let mut differ = 0usize;
    for (i, &y) in data.y.iter().enumerate() {
        let fixed_class = out.predicted_class(i);
        hits += (fixed_class == y as usize) as usize;
        differ += (fixed_class != metrics::argmax_f32(&probs[i * n_classes..(i + 1) * n_classes])) as usize;
    }
    let n = data.len().max(1) as f64;
    let aucs = metrics::per_class_auc(probs, n_classes, &data.y);
    Ok(Evaluation {
        samples: data.len(),
        float_accuracy,
        fixed_accuracy: hits as f64 / n,
        disagreement: differ as f64 / n,
        per_class_auc: model.spec.classes.iter().cloned().zip(aucs).collect(),
    })
}

/// Train `spec` on `data`, package the model and evaluate it on the test split.
pub fn train_and_evaluate(
    spec: &ModelSpec,
    data: &PreparedData,
    epochs: Option<usize>,
    reporter: &dyn Reporter,
) -> Result<(TrainedModel, TrainReport, Evaluation)> {
    train_and_evaluate_from(spec, None, data, epochs, reporter)
}

/// [`train_and_evaluate`] starting from `init`'s float weights (AutoQKeras'
/// `transfer_weights`) instead of the spec's seeded random initialisation.
pub fn train_and_evaluate_from(
    spec: &ModelSpec,
    init: Option<&[LayerParams]>,
    data: &PreparedData,
    epochs: Option<usize>,
    reporter: &dyn Reporter,
) -> Result<(TrainedModel, TrainReport, Evaluation)> {
    let start = match init {
        Some(params) => QatNetwork::from_params(spec, params),
        None => QatNetwork::init(spec, spec.training.seed),
    };
    let (net, report) = train_from(spec, start, &data.splits.train, &data.splits.val, epochs, reporter);
    let mut model = to_model(spec, &net, data.scaler.clone(), data.feature_names.clone(), serde_json::Value::Null);
    let eval = evaluate_model(&model, &data.splits.test)?;
    model.metrics = serde_json::json!({ "test": &eval, "training": &report });
    Ok((model, report, eval))
}
