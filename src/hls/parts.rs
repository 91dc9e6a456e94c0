//! A tiny table of FPGA parts the HLS generator checks a design against: DSP
//! count and DSP multiplier shape. Input: the `--part` string; output: a
//! [`Part`] or an error naming the known parts.
//!
//! TODO: unify with `qforge::estimate::parts` (being written in parallel) once
//! both are merged; this table only holds what the generator's checks need.
use crate::error::{Error, Result};
use serde::Serialize;

/// What the generator needs to know about a part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Part {
    pub name: &'static str,
    pub family: &'static str,
    pub dsp: u32,
    pub lut: u32,
    /// The DSP slice's multiplier: `dsp_a` x `dsp_b` signed bits (27x18 on
    /// UltraScale+ DSP48E2, 25x18 on 7-series DSP48E1).
    pub dsp_a: u32,
    pub dsp_b: u32,
}

pub const PARTS: &[Part] = &[
    Part { name: "xcvu9p-flga2104-2L-e", family: "Virtex UltraScale+", dsp: 6840, lut: 1_182_240, dsp_a: 27, dsp_b: 18 },
    Part { name: "xcvu13p-flga2577-2-e", family: "Virtex UltraScale+", dsp: 12288, lut: 1_728_000, dsp_a: 27, dsp_b: 18 },
    Part { name: "xcku115-flvb2104-2-e", family: "Kintex UltraScale", dsp: 5520, lut: 663_360, dsp_a: 27, dsp_b: 18 },
    Part { name: "xczu9eg-ffvb1156-2-e", family: "Zynq UltraScale+", dsp: 2520, lut: 274_080, dsp_a: 27, dsp_b: 18 },
    Part { name: "xc7a200t-fbg676-2", family: "Artix-7", dsp: 740, lut: 133_800, dsp_a: 25, dsp_b: 18 },
];

/// Look a part up by its full name (case-insensitive).
pub fn find_part(name: &str) -> Result<Part> {
    PARTS.iter().copied().find(|p| p.name.eq_ignore_ascii_case(name)).ok_or_else(|| {
        let known: Vec<&str> = PARTS.iter().map(|p| p.name).collect();
        Error::Config(format!("unknown part `{name}` (known: {})", known.join(", ")))
    })
}

impl Part {
    /// Whether an `a` x `b` bit signed product fits one DSP multiplier.
    pub fn product_fits_dsp(&self, a: u32, b: u32) -> bool {
        let (wide, narrow) = (a.max(b), a.min(b));
        wide <= self.dsp_a && narrow <= self.dsp_b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_found_and_unknown_ones_named() {
        assert_eq!(find_part("xcvu9p-flga2104-2L-e").unwrap().dsp, 6840);
        let err = find_part("xc7z020").unwrap_err().to_string();
        assert!(err.contains("xc7z020") && err.contains("xcvu13p-flga2577-2-e"), "{err}");
        let a7 = find_part("xc7a200t-fbg676-2").unwrap();
        assert!(a7.product_fits_dsp(18, 25) && !a7.product_fits_dsp(27, 18));
    }
}
