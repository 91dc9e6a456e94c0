//! Which layer a mapped cell belongs to, and what kind of cell it is.
//!
//! `qforge rtl` names every wire of layer N `lN_*` inside instance `lN` (the
//! output stage `out`), and `synth_xilinx -flatten` keeps those names as
//! `lN.lN_*`. A cell belongs to, in this order:
//! 1. the first layer (in network order) naming a bit the cell drives;
//! 2. the instance in a flattened cell name (`$flatten\lN.…`);
//! 3. the layer module in its `src` attribute (`layerN_dense.v:…`);
//! 4. the layer most of its consumers belong to (ABC's LUTs drive hidden
//!    `$abc$…` wires; they belong to the logic they feed), else the layer of
//!    the cells that drive its inputs;
//! 5. `other`.
use super::netlist::{Bit, Netlist};
use std::collections::HashMap;

/// The kind of a cell, for the per-type energy weights.
pub fn cell_class(kind: &str) -> &'static str {
    match kind {
        k if k.starts_with("LUT") => "lut",
        "INV" => "inv",
        k if k.starts_with("MUXF") => "muxf",
        k if k.starts_with("CARRY") => "carry",
        k if k.starts_with("FD") => "ff",
        k if k.starts_with("SRL") => "srl",
        k if k.starts_with("DSP") => "dsp",
        k if k.starts_with("RAMB") || k.starts_with("FIFO") || k.starts_with("URAM") => "bram",
        "IBUF" | "OBUF" => "io",
        "BUFG" | "BUF" => "clock",
        _ => "other",
    }
}

/// The classes in report order (what the calibration's `[switching]` weighs).
pub use crate::estimate::calibration::SWITCHING_CLASSES as CLASSES;

/// The layer index (into `layers`; `layers.len()` = other) of every cell.
pub fn attribute(netlist: &Netlist, layers: &[(String, String)]) -> Vec<usize> {
    let other = layers.len();
    let instance_of = |name: &str| -> Option<usize> {
        let head = name.split(['.', '_']).next()?;
        layers.iter().position(|(inst, _)| inst == head)
    };
    // Bit → first layer naming it.
    let mut bit_layer: HashMap<u32, usize> = HashMap::new();
    for n in netlist.netnames.iter().filter(|n| !n.hidden) {
        if let Some(l) = instance_of(&n.name) {
            for b in &n.bits {
                if let Bit::Net(id) = b {
                    let e = bit_layer.entry(*id).or_insert(l);
                    *e = (*e).min(l);
                }
            }
        }
    }
    let n = netlist.cells.len();
    let mut layer = vec![usize::MAX; n];
    for (i, c) in netlist.cells.iter().enumerate() {
        let named = c.outputs().filter_map(|b| if let Bit::Net(id) = b { bit_layer.get(&id).copied() } else { None }).min();
        let flattened = || c.name.strip_prefix("$flatten\\").and_then(instance_of);
        let from_src = || {
            c.src
                .split('|')
                .filter_map(|loc| {
                    let file = loc.split(':').next()?.rsplit('/').next()?;
                    let module = file.strip_suffix(".v")?;
                    layers.iter().position(|(_, m)| m == module)
                })
                .next_back()
        };
        if let Some(l) = named.or_else(flattened).or_else(from_src) {
            layer[i] = l;
        }
    }
    // Propagate through the wires: consumers first, then drivers.
    let mut driver: HashMap<u32, usize> = HashMap::new();
    let mut consumers: HashMap<u32, Vec<usize>> = HashMap::new();
    for (i, c) in netlist.cells.iter().enumerate() {
        for (out, bits) in c.conns.values() {
            for b in bits {
                if let Bit::Net(id) = b {
                    if *out {
                        driver.insert(*id, i);
                    } else {
                        consumers.entry(*id).or_default().push(i);
                    }
                }
            }
        }
    }
    for use_consumers in [true, false] {
        loop {
            let mut changed = false;
            for i in 0..n {
                if layer[i] != usize::MAX {
                    continue;
                }
                let c = &netlist.cells[i];
                let mut votes = vec![0usize; layers.len()];
                for (out, bits) in c.conns.values() {
                    if *out != use_consumers {
                        continue;
                    }
                    for b in bits {
                        if let Bit::Net(id) = b {
                            let neighbours: Vec<usize> = if use_consumers {
                                consumers.get(id).cloned().unwrap_or_default()
                            } else {
                                driver.get(id).copied().into_iter().collect()
                            };
                            for j in neighbours {
                                if layer[j] < layers.len() {
                                    votes[layer[j]] += 1;
                                }
                            }
                        }
                    }
                }
                // Most votes; ties go to the earlier layer.
                if let Some((best, &count)) = votes.iter().enumerate().max_by_key(|(l, &v)| (v, std::cmp::Reverse(*l))) {
                    if count > 0 {
                        layer[i] = best;
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
    }
    layer.into_iter().map(|l| if l == usize::MAX { other } else { l }).collect()
}
