//! The HLS generator's settings (`qforge hls` flags) and the checks that a
//! fixed-point network fits them: valid reuse factors (hls4ml's rule), DSP
//! shapes for the resource strategy, DSP counts for the latency strategy.
//! Input: [`HlsConfig`] and a [`FixedNetwork`]; output: `Ok` or an
//! `Error::Config` saying what does not fit and what would.
use crate::error::{Error, Result};
use crate::estimate::parts::{lookup as find_part, Part};
pub use crate::estimate::Strategy;
use crate::model::FixedNetwork;
use crate::tools::scripts::HlsBackend;
use serde::{Deserialize, Serialize};

/// Everything `qforge hls` is told about the project to write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HlsConfig {
    /// The top function, `myproject` as in hls4ml.
    pub top: String,
    pub part: String,
    pub clock_period_ns: f64,
    pub reuse_factor: usize,
    pub strategy: Strategy,
    /// `io_parallel` (arrays) or `io_stream` (hls::stream, one pixel a transaction).
    pub io_type: String,
    pub backend: HlsBackend,
}

impl Default for HlsConfig {
    /// hls4ml's defaults (part VU13P, 5 ns, reuse 1, latency, io_parallel).
    fn default() -> Self {
        HlsConfig {
            top: "myproject".into(),
            part: "xcvu13p-flga2577-2-e".into(),
            clock_period_ns: 5.0,
            reuse_factor: 1,
            strategy: Strategy::Latency,
            io_type: "io_parallel".into(),
            backend: HlsBackend::VivadoHls,
        }
    }
}

/// hls4ml's rule for a dense layer's reuse factor (`_validate_reuse_factor`).
pub fn reuse_factor_valid(n_in: usize, n_out: usize, reuse: usize) -> bool {
    if reuse == 0 {
        return false;
    }
    let mult_factor = n_in.min(reuse);
    let multiplier_limit = (n_in * n_out).div_ceil(mult_factor);
    let mut ok = multiplier_limit % n_out == 0 || reuse >= n_in;
    ok &= reuse % n_in == 0 || reuse < n_in;
    ok && (n_in * n_out) % reuse == 0
}

/// Every valid reuse factor of an `n_in` x `n_out` dense layer.
pub fn valid_reuse_factors(n_in: usize, n_out: usize) -> Vec<usize> {
    (1..=n_in * n_out).filter(|&r| reuse_factor_valid(n_in, n_out, r)).collect()
}

/// Operand widths above which Vivado HLS maps a multiplication to a DSP
/// rather than LUTs (its default threshold; narrower products use fabric).
pub const LUT_MULTIPLIER_MAX_BITS: u32 = 10;

impl HlsConfig {
    /// Check the settings on their own and against `net`; returns the part.
    pub fn check(&self, net: &FixedNetwork) -> Result<Part> {
        let part = find_part(&self.part)?;
        if self.io_type != "io_parallel" && self.io_type != "io_stream" {
            return Err(Error::Config(format!("io type `{}` is not supported: use --io parallel or --io stream", self.io_type)));
        }
        if self.io_type == "io_stream" {
            self.check_stream_kernels(net)?;
        }
        if !(self.clock_period_ns.is_finite() && self.clock_period_ns > 0.0) {
            return Err(Error::Config(format!("clock period {} ns must be positive", self.clock_period_ns)));
        }
        let mut dsp_needed = 0usize;
        for layer in &net.layers {
            if !reuse_factor_valid(layer.n_in, layer.n_out, self.reuse_factor) {
                let valid = valid_reuse_factors(layer.n_in, layer.n_out);
                let shown: Vec<String> = valid.iter().take(24).map(|r| r.to_string()).collect();
                let more = if valid.len() > 24 { ", ..." } else { "" };
                return Err(Error::Config(format!(
                    "reuse factor {} is not valid for layer `{}` ({} x {}): hls4ml needs one that divides n_in*n_out = {} \
                     and fits its multiplier loops; valid values: {}{more}",
                    self.reuse_factor,
                    layer.name,
                    layer.n_in,
                    layer.n_out,
                    layer.n_in * layer.n_out,
                    shown.join(", ")
                )));
            }
            let (a, b) = (layer.in_type.width, layer.weight_type.width);
            if self.strategy == Strategy::Resource && !part.product_fits_dsp(a, b) {
                return Err(Error::Config(format!(
                    "layer `{}`: products of {}-bit inputs and {}-bit weights do not fit the {}x{} DSP multiplier of {} \
                     with strategy resource: use narrower types or --strategy latency",
                    layer.name,
                    a,
                    b,
                    part.dsp_multiplier().0,
                    part.dsp_multiplier().1,
                    part.name
                )));
            }
            if a > LUT_MULTIPLIER_MAX_BITS && b > LUT_MULTIPLIER_MAX_BITS {
                dsp_needed += (layer.n_in * layer.n_out).div_ceil(self.reuse_factor);
            }
        }
        if self.strategy == Strategy::Latency && dsp_needed > part.dsp as usize {
            return Err(Error::Config(format!(
                "strategy latency with reuse factor {} needs about {dsp_needed} DSP multipliers (operands wider than \
                 {LUT_MULTIPLIER_MAX_BITS} bits do not fit LUT multipliers) but {} has {}: raise --reuse, \
                 use narrower types, or choose a larger part",
                self.reuse_factor, part.name, part.dsp
            )));
        }
        Ok(part)
    }
}

impl HlsConfig {
    /// io_stream runs each conv kernel through the dense layer of its
    /// `mult_config`, so the reuse factor must suit that kernel too.
    fn check_stream_kernels(&self, net: &FixedNetwork) -> Result<()> {
        let Some(stack) = &net.features else { return Ok(()) };
        for layer in &stack.layers {
            if let crate::model::fixed_features::FixedFeature::Conv(c) = layer {
                let n_in = c.window.size.0 * c.window.size.1 * c.input.channels;
                if !reuse_factor_valid(n_in, c.filters, self.reuse_factor) {
                    let valid: Vec<String> = valid_reuse_factors(n_in, c.filters).iter().take(24).map(|r| r.to_string()).collect();
                    return Err(Error::Config(format!(
                        "reuse factor {} is not valid for the kernel of conv `{}` ({n_in} x {}) with --io stream: \
                         valid values: {}",
                        self.reuse_factor,
                        c.name,
                        c.filters,
                        valid.join(", ")
                    )));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuse_rule_matches_hls4ml() {
        assert!(reuse_factor_valid(16, 64, 1));
        assert!(reuse_factor_valid(16, 64, 4));
        assert!(reuse_factor_valid(32, 5, 4));
        assert!(!reuse_factor_valid(16, 64, 3));
        assert!(!reuse_factor_valid(16, 64, 24)); // >= n_in but not a multiple of it
        assert!(reuse_factor_valid(16, 64, 32));
        assert_eq!(valid_reuse_factors(4, 2), vec![1, 2, 4, 8]);
    }
}
