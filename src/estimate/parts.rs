//! The FPGA part database: totals of LUT, FF, DSP and BRAM per device, so that
//! estimates and reports can give utilisation in percent. Input: a part name as
//! Vivado spells it (`xcvu9p-flga2104-2L-e`); output: a [`Part`]. Any package and
//! speed grade of a known device is accepted; an unknown device is an error that
//! lists the known ones.
//!
//! Totals are from the AMD/Xilinx product tables (DS890 UltraScale architecture
//! overview, DS891 Zynq UltraScale+ MPSoC overview, DS180 7-series overview).
//! BRAM is counted in 18 Kb blocks (two per 36 Kb block), as HLS reports count
//! `BRAM_18K`.
use crate::error::{Error, Result};
use serde::Serialize;

/// Device family: decides the DSP slice and which calibration section applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Virtex/Kintex/Zynq UltraScale+ (DSP48E2, 27x18 multiplier).
    UltrascalePlus,
    /// Kintex/Virtex UltraScale (DSP48E2, 27x18 multiplier).
    Ultrascale,
    /// Artix/Kintex/Virtex-7 (DSP48E1, 25x18 multiplier).
    Series7,
}

impl Family {
    /// Name of the family's section in the calibration file (`[resources.<key>]`).
    pub fn key(self) -> &'static str {
        match self {
            Family::UltrascalePlus => "ultrascale_plus",
            Family::Ultrascale => "ultrascale",
            Family::Series7 => "series7",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Part {
    /// The full part name as given (device-package-speed).
    pub name: String,
    /// The device, e.g. `xcvu9p`.
    pub device: &'static str,
    pub family: Family,
    pub lut: u64,
    pub ff: u64,
    pub dsp: u64,
    pub bram18: u64,
}

struct Device {
    device: &'static str,
    family: Family,
    lut: u64,
    ff: u64,
    dsp: u64,
    bram36: u64,
}

const DEVICES: &[Device] = &[
    // Virtex UltraScale+ (DS890): the paper's VU9P and hls4ml's default VU13P.
    Device { device: "xcvu9p", family: Family::UltrascalePlus, lut: 1_182_240, ff: 2_364_480, dsp: 6_840, bram36: 2_160 },
    Device { device: "xcvu13p", family: Family::UltrascalePlus, lut: 1_728_000, ff: 3_456_000, dsp: 12_288, bram36: 2_688 },
    // Kintex UltraScale KU115 (DS890; it is UltraScale, not UltraScale+).
    Device { device: "xcku115", family: Family::Ultrascale, lut: 663_360, ff: 1_326_720, dsp: 5_520, bram36: 2_160 },
    // Zynq UltraScale+ ZU9EG (DS891).
    Device { device: "xczu9eg", family: Family::UltrascalePlus, lut: 274_080, ff: 548_160, dsp: 2_520, bram36: 912 },
    // Artix-7 (DS180).
    Device { device: "xc7a100t", family: Family::Series7, lut: 63_400, ff: 126_800, dsp: 240, bram36: 135 },
    Device { device: "xc7a200t", family: Family::Series7, lut: 133_800, ff: 267_600, dsp: 740, bram36: 365 },
];

/// The paper's part (Coelho et al. 2021).
pub const PAPER_PART: &str = "xcvu9p-flga2104-2L-e";

/// Look a part up by its full name (`xcvu9p-flga2104-2L-e`) or bare device (`xcvu9p`).
pub fn lookup(name: &str) -> Result<Part> {
    let lower = name.trim().to_ascii_lowercase();
    let device_part = lower.split('-').next().unwrap_or("");
    // Vivado also accepts speed grades glued on (xc7a100tcsg324-1): match the longest device prefix.
    let found = DEVICES
        .iter()
        .filter(|d| {
            device_part == d.device
                || (device_part.starts_with(d.device)
                    && device_part[d.device.len()..].chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                    && d.family == Family::Series7)
        })
        .max_by_key(|d| d.device.len());
    let d = found.ok_or_else(|| {
        Error::Config(format!("unknown part `{name}`: known devices are {} (any package and speed grade)", known_devices().join(", ")))
    })?;
    Ok(Part { name: name.trim().to_string(), device: d.device, family: d.family, lut: d.lut, ff: d.ff, dsp: d.dsp, bram18: 2 * d.bram36 })
}

impl Part {
    /// The DSP slice's signed multiplier, `a` x `b` bits: 27x18 for the
    /// DSP48E2 of UltraScale/UltraScale+, 25x18 for the DSP48E1 of 7-series.
    pub fn dsp_multiplier(&self) -> (u32, u32) {
        match self.family {
            Family::UltrascalePlus | Family::Ultrascale => (27, 18),
            Family::Series7 => (25, 18),
        }
    }

    /// Whether an `a` x `b` bit signed product fits one DSP multiplier.
    pub fn product_fits_dsp(&self, a: u32, b: u32) -> bool {
        let (wide, narrow) = (a.max(b), a.min(b));
        let (dsp_a, dsp_b) = self.dsp_multiplier();
        wide <= dsp_a && narrow <= dsp_b
    }
}

pub fn known_devices() -> Vec<&'static str> {
    DEVICES.iter().map(|d| d.device).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_parts_and_families() {
        let p = lookup(PAPER_PART).unwrap();
        assert_eq!((p.device, p.dsp, p.bram18, p.family), ("xcvu9p", 6840, 4320, Family::UltrascalePlus));
        assert_eq!(lookup("xcvu13p-flga2577-2-e").unwrap().lut, 1_728_000);
        assert_eq!(lookup("xcku115-flvb2104-2-e").unwrap().family, Family::Ultrascale);
        assert_eq!(lookup("xczu9eg-ffvb1156-2-e").unwrap().dsp, 2520);
        assert_eq!(lookup("xc7a100tcsg324-1").unwrap().family, Family::Series7);
        assert_eq!(lookup("xc7a200t-fbg676-2").unwrap().dsp, 740);
        let a7 = lookup("xc7a200t-fbg676-2").unwrap();
        assert!(a7.product_fits_dsp(18, 25) && !a7.product_fits_dsp(27, 18));
        assert!(lookup(PAPER_PART).unwrap().product_fits_dsp(27, 18));
    }

    #[test]
    fn unknown_part_lists_known_ones() {
        let e = lookup("xcfoo-bar").unwrap_err().to_string();
        assert!(e.contains("unknown part `xcfoo-bar`") && e.contains("xcvu9p"), "{e}");
        assert!(lookup("xcvu9").is_err());
    }
}
