//! Quantizers and fixed-point types: QKeras quantizer semantics (float
//! fake-quantization used in training), their hls4ml mapping to
//! `ap_fixed`/`ap_ufixed`, and bit-exact fixed-point arithmetic. Input: quantizer
//! specs from the model description; output: types and quantized values used by
//! `model`, `train`, `hls` and `rtl`.
pub mod alpha;
pub mod fixed;
pub mod parse;
pub mod quantizer;

pub use alpha::Alpha;
pub use fixed::{Caster, FixedType, Overflow, Rounding};
pub use quantizer::Quantizer;
