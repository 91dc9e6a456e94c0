//! The network: the user's description (`spec`), the trained parameters
//! (`network`, saved as model.json), and the bit-exact fixed-point network the
//! firmware computes (`fixed`, with the table `softmax`, hls4ml's softmax
//! variants in `hls4ml_softmax` and the per-layer types in `layer_types`;
//! the image layers, convolution in `conv` and pooling/flatten in `pool`),
//! with per-layer `trace`s and the precision `profile`. `validate` checks
//! every value on load, from either file. `data` and `quant` feed it; `train`,
//! `estimate`, `hls` and `rtl` read it.
pub mod activation_fn;
pub mod conv;
pub mod features;
pub mod fixed;
pub mod fixed_features;
pub mod hls4ml_softmax;
pub mod layer_types;
pub mod network;
mod packed;
pub mod pool;
pub mod predict_io;
pub mod profile;
pub mod softmax;
pub mod spec;
pub mod trace;
pub mod validate;

pub use fixed::{ActivationFn, FixedLayer, FixedNetwork, RawLayer};
pub use network::{LayerParams, Scaler, TrainedModel};
pub use spec::{Activation, DenseBlock, HlsSettings, LayerTypes, ModelSpec, SoftmaxConfig, SoftmaxImplementation, TrainingSpec, TypesMode};
