//! The network: the user's description (`spec`), the trained parameters
//! (`network`, saved as model.json), and the bit-exact fixed-point network the
//! firmware computes (`fixed`, with the table `softmax`). `validate` checks
//! every value on load, from either file. `data` and `quant` feed it; `train`,
//! `estimate`, `hls` and `rtl` read it.
pub mod fixed;
pub mod network;
mod packed;
pub mod predict_io;
pub mod softmax;
pub mod spec;
pub mod validate;

pub use fixed::{FixedLayer, FixedNetwork};
pub use network::{LayerParams, Scaler, TrainedModel};
pub use spec::{Activation, DenseBlock, ModelSpec, TrainingSpec};
