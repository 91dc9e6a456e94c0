//! hls4ml's ApplyAlpha in the HLS C++: the scale QKeras factorises out of a
//! kernel with alpha "auto" or a number, and the bias moved after it, as one
//! `nnet::normalize` step (nnet_batchnorm.h) after the dense layer, the types
//! and raw values of the Rust model's `AlphaStage`.
use super::cpp_text::{array_header, raw_cpp};
use super::project::{Pending, Typedef};
use crate::model::fixed::AlphaStage;
use serde::Serialize;
use std::path::PathBuf;

/// A file of the project: its path inside the folder and its bytes.
type ProjectFile = (PathBuf, Vec<u8>);

/// hls4ml's ApplyAlpha after a dense layer (`nnet::normalize`).
#[derive(Serialize)]
pub(super) struct AlphaCtx {
    pub(super) index: usize,
    pub(super) name: String,
    pub(super) n: usize,
}

/// The ApplyAlpha step `index` of layer `name`: its step, its types and its
/// scale and bias headers (raw bits).
pub(super) fn alpha_step(name: &str, st: &AlphaStage, index: usize, n_macro: &str) -> (Pending, Vec<Typedef>, Vec<ProjectFile>) {
    let k = index;
    let mut typedefs = Vec::new();
    let mut files = Vec::new();
    for (what, t, values, file) in [("scale", &st.scale_type, &st.scales, "s"), ("bias", &st.bias_type, &st.biases, "b")] {
        typedefs.push(Typedef { name: format!("layer{k}_{what}_t"), cpp: t.cpp(), comment: format!("{name} ApplyAlpha {what}") });
        typedefs.push(Typedef { name: format!("layer{k}_{what}_raw_t"), cpp: raw_cpp(t), comment: "raw bits".into() });
        let header = array_header(
            &format!("{}{k}_H_", file.to_uppercase()),
            &format!("{file}{k}.h: ApplyAlpha {what}s of {name} ({}), {}", values.len(), t.cpp()),
            &format!("layer{k}_{what}_raw_t"),
            &format!("{file}{k}"),
            values,
        );
        files.push((PathBuf::from(format!("firmware/weights/{file}{k}.h")), header.into_bytes()));
    }
    let step = Pending {
        kind: "normalize",
        index: k,
        comment: format!("{name}_alpha: hls4ml's ApplyAlpha (scale and shift) into {}", st.result_type.cpp()),
        out_cpp: st.result_type.cpp(),
        n_macro: n_macro.to_string(),
        chan: st.scales.len(),
        depth: 1,
    };
    (step, typedefs, files)
}
