//! The files of hls4ml's softmax in an HLS project: its typedefs, its tables
//! header (raw bits) and the template context of `nnet_softmax_hls4ml.h`.
use super::cpp_text::{raw_cpp, raw_list};
use super::project::Typedef;
use crate::model::hls4ml_softmax::{Hls4mlSoftmax, HLS4ML_LEGACY_TABLE_TYPE};
use crate::model::SoftmaxImplementation;
use serde::Serialize;
use std::path::PathBuf;

/// hls4ml's softmax (`nnet_softmax_hls4ml.h`): sizes and index bits of its tables.
#[derive(Serialize)]
pub(super) struct SoftmaxHls4mlCtx {
    index: usize,
    n: usize,
    exp_table_size: usize,
    inv_table_size: usize,
    exp_index_bits: u32,
    inv_index_bits: u32,
}

/// Typedefs and the table header of hls4ml's softmax as step `k`.
pub(super) fn hls4ml_softmax_files(sm: &Hls4mlSoftmax, k: usize) -> (SoftmaxHls4mlCtx, Vec<Typedef>, (PathBuf, Vec<u8>)) {
    // Legacy keeps both tables in hls4ml's activ_config::table_t; argmax has none (one unused entry each).
    let table_t = if sm.implementation == SoftmaxImplementation::Legacy { HLS4ML_LEGACY_TABLE_TYPE } else { sm.exp_table_t };
    let inv_t = if sm.implementation == SoftmaxImplementation::Legacy { HLS4ML_LEGACY_TABLE_TYPE } else { sm.inv_table_t };
    let types =
        [("exp_table", table_t), ("inv_table", inv_t), ("accum", sm.accum_t), ("inv_inp", sm.inv_inp_t), ("inp_norm", sm.inp_norm_t)];
    let mut typedefs: Vec<Typedef> = types
        .iter()
        .map(|(what, t)| Typedef { name: format!("softmax{k}_{what}_t"), cpp: t.cpp(), comment: format!("hls4ml softmax {what}_t") })
        .collect();
    typedefs.push(Typedef { name: format!("softmax{k}_exp_raw_t"), cpp: raw_cpp(&table_t), comment: "raw bits".into() });
    typedefs.push(Typedef { name: format!("softmax{k}_inv_raw_t"), cpp: raw_cpp(&inv_t), comment: "raw bits".into() });
    let nonempty = |t: &[i64]| if t.is_empty() { vec![0] } else { t.to_vec() };
    let (exp, inv) = (nonempty(&sm.exp_table), nonempty(&sm.inv_table));
    let guard = format!("SOFTMAX_TABLES{k}_H_");
    let text = format!(
        "// softmax_tables{k}.h: hls4ml's {} softmax tables (exp, 1/x), written by qforge\n\
         // from the Rust model's tables, as raw bits.\n#ifndef {guard}\n#define {guard}\n\n\
         static const softmax{k}_exp_raw_t exp_table{k}[{}] = {{{}}};\n\n\
         static const softmax{k}_inv_raw_t inv_table{k}[{}] = {{{}}};\n\n#endif\n",
        sm.implementation.hls4ml_name().unwrap_or("stable"),
        exp.len(),
        raw_list(&exp),
        inv.len(),
        raw_list(&inv)
    );
    let ctx = SoftmaxHls4mlCtx {
        index: k,
        n: sm.n,
        exp_table_size: exp.len(),
        inv_table_size: inv.len(),
        exp_index_bits: exp.len().trailing_zeros(),
        inv_index_bits: inv.len().trailing_zeros(),
    };
    (ctx, typedefs, (PathBuf::from(format!("firmware/weights/softmax_tables{k}.h")), text.into_bytes()))
}
