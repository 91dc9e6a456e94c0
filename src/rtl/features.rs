//! The image layers of a convolutional model in front of its dense head: one
//! module per convolution (`conv`) and pooling (`pool`), numbered in order;
//! Flatten is wiring (channels-last order is already the flat order).
//!
//! Input: the network's `FeatureStack` and the input port intervals. Output:
//! the built modules and the intervals of the values the dense head takes.
use super::conv::build_conv;
use super::layer::{BuiltLayer, PortSpec};
use super::netlist::Schedule;
use super::pool::{build_global, build_pool};
use crate::error::Result;
use crate::model::fixed_features::{FeatureStack, FixedFeature};

/// Build every image layer; `ports` and `level` advance to the last one's outputs.
pub fn build_stack(
    stack: &FeatureStack,
    ports: &mut Vec<PortSpec>,
    level: &mut u32,
    schedule: Schedule,
    cmvm: bool,
) -> Result<Vec<BuiltLayer>> {
    let mut built = Vec::new();
    for layer in &stack.layers {
        let index = built.len() + 1;
        let b = match layer {
            FixedFeature::Conv(c) => build_conv(c, index, ports, *level, schedule, cmvm)?,
            FixedFeature::Pool(p) => build_pool(p, index, ports, *level, schedule)?,
            FixedFeature::GlobalPool(g) => build_global(g, index, ports, *level, schedule)?,
            FixedFeature::Flatten { .. } => continue,
        };
        *level = b.summary.last_level;
        ports.clone_from(&b.outputs);
        built.push(b);
    }
    Ok(built)
}
