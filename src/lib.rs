//! qforge: a small quantized neural network in, FPGA firmware out, and its cost
//! proven from the synthesis tools' own reports.
//!
//! Modules are pipeline stages and data flows one way:
//! `data` → `quant`/`model` (and `import`: users' Keras models into `model`) → `train` → `estimate` → `search` → `hls`/`rtl` →
//! `tools` → `reports` (and `switching`: measured activity of mapped netlists)
//! → `store` → `calibrate` (which feeds `estimate`); `pipeline` orchestrates
//! them and `cli` is the edge (only it prints). `error`, `events`, `host`,
//! `svg` and `layout` (where things live in the output folder) serve every stage.
// The validators write `!(x > 0.0)` on purpose: it rejects NaN with the out-of-range values.
#![allow(clippy::neg_cmp_op_on_partial_ord)]
pub mod budget;
pub mod calibrate;
pub mod cli;
pub mod data;
pub mod error;
pub mod estimate;
pub mod events;
pub mod hls;
pub mod host;
pub mod import;
pub mod layout;
pub mod model;
pub mod pipeline;
pub mod quant;
pub mod reports;
pub mod rtl;
pub mod search;
pub mod store;
pub mod svg;
pub mod switching;
pub mod tools;
pub mod train;
