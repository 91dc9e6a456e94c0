//! Calibration of QTools' per-operation energy coefficients
//! (`qforge calibrate --target energy`).
//!
//! Input: a JSON / JSON-lines file of [`EnergySample`]s: per variant (one
//! quantized model), per layer the operation counts by bit width and the
//! measured energy of the layer in pJ.
//! Model (as [`crate::estimate::energy`] prices a fixed-point dense layer):
//! `E = Σ_mults n·fpm_mul(g) + Σ_adds n·fpm_add(b)` with g = √(b_in·b_w)
//! (QTools' gate bits) and b the adder width; `fpm_mul = [a2, a1, a0]` and
//! `fpm_add = [c1, c0]` are polynomials, so E is linear in (a2, a1, a0, c1, c0)
//! with features (Σn·g², Σn·g, Σn, Σn·b, Σn). The fit ([`super::fit`]) is
//! non-negative least squares; k-fold folds hold out whole variants, and the
//! metrics (MAPE, R², Spearman) compare variant totals.
//! Output: a new [`Calibration`] whose `[energy]` `fpm_mul`/`fpm_add` change,
//! with provenance; everything else unchanged.
use super::fit::{self, Problem};
use super::metrics::Metrics;
use super::{read_json_records, utc_date_today};
use crate::error::{Error, Result};
use crate::estimate::calibration::{poly, Provenance};
use crate::estimate::{Calibration, Flow, LayerInput};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const ENERGY_TERMS: [&str; 5] = ["fpm_mul[g^2]", "fpm_mul[g]", "fpm_mul[1]", "fpm_add[b]", "fpm_add[1]"];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MulCount {
    pub input_bits: u32,
    pub weight_bits: u32,
    pub count: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddCount {
    pub bits: u32,
    pub count: f64,
}

/// One layer: its operations and its measured energy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnergyLayer {
    #[serde(default)]
    pub name: Option<String>,
    pub multiplications: Vec<MulCount>,
    #[serde(default)]
    pub additions: Vec<AddCount>,
    pub measured_pj: f64,
}

/// One variant (a quantized model) with its measured layers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnergySample {
    pub name: String,
    pub layers: Vec<EnergyLayer>,
}

impl EnergyLayer {
    /// The operations of a dense layer as QTools counts them: n_in·n_out
    /// multiplications of input by weight width, as many additions at the
    /// accumulator width (`measured_pj` left 0 for the caller to fill).
    pub fn from_layer(layer: &LayerInput) -> EnergyLayer {
        EnergyLayer::with_count(layer, (layer.n_in * layer.n_out) as f64)
    }

    /// One entry per module of the RTL design of `model`, in order (the
    /// switching measurement's instances `l1`, `l2`, ...): each convolution
    /// as its patch layer counted at every output position, each pooling as
    /// its comparators or adders (`estimate::image::image_ops`), then the
    /// dense layers as [`Self::from_layer`]. A dense model's list is its dense layers'.
    pub fn for_model(model: &crate::model::TrainedModel) -> crate::error::Result<Vec<EnergyLayer>> {
        use crate::estimate::image::{image_ops, ImageOps};
        let net = crate::model::FixedNetwork::from_model(model)?;
        let mut out = Vec::new();
        if let Some(stack) = &net.features {
            for ops in image_ops(&model.spec.features, stack) {
                out.push(match ops {
                    ImageOps::Conv { patch, macs } => EnergyLayer::with_count(&patch, macs),
                    ImageOps::Pool { name, bits, count } => EnergyLayer {
                        name: Some(name),
                        multiplications: Vec::new(),
                        additions: vec![AddCount { bits, count }],
                        measured_pj: 0.0,
                    },
                });
            }
        }
        out.extend(crate::estimate::layers_from_model(model)?.iter().map(EnergyLayer::from_layer));
        Ok(out)
    }

    /// `count` multiply-accumulates of `layer`, priced as QTools prices them
    /// (`estimate::energy::multiplier`): a fixed-point product is a
    /// multiplication of (input bits, weight bits); a power-of-two weight is a
    /// shifter and a binary weight a mux, both priced by `fpm_add`, so they
    /// count as additions at the shifter's gate bits (rounded to whole bits) or,
    /// for the mux, 0.3 additions at the input width.
    pub fn with_count(layer: &LayerInput, count: f64) -> EnergyLayer {
        use crate::estimate::energy::{multiplier, MultiplierKind};
        // Only the kind, gate factor and gate bits are used: they do not depend on the coefficients.
        let coefficients = Calibration::default().energy;
        let (kind, gate_factor, gate_bits, _) =
            multiplier(&coefficients, &layer.kernel_quantizer, layer.weight_type.width, layer.in_type.width);
        let add_bits = crate::estimate::energy::qtools_accumulator_bits(
            &layer.kernel_quantizer,
            layer.weight_type.width,
            &layer.in_type,
            layer.n_in,
            true,
        );
        let accumulate = AddCount { bits: add_bits.unwrap_or(layer.accum_type.width), count };
        let (multiplications, additions) = match kind {
            MultiplierKind::Fixed => {
                (vec![MulCount { input_bits: layer.in_type.width, weight_bits: layer.weight_type.width, count }], vec![accumulate])
            }
            MultiplierKind::Shifter | MultiplierKind::Mux | MultiplierKind::And => {
                (Vec::new(), vec![AddCount { bits: gate_bits.round().max(1.0) as u32, count: gate_factor * count }, accumulate])
            }
            // `multiplier` never picks it for a dense layer's weights.
            MultiplierKind::None => (Vec::new(), vec![accumulate]),
        };
        EnergyLayer { name: Some(layer.name.clone()), multiplications, additions, measured_pj: 0.0 }
    }

    /// The layer's energy as the estimator prices it with `c` (pJ).
    pub fn estimated_pj(&self, c: &crate::estimate::calibration::EnergyCoefficients) -> f64 {
        let m: f64 = self
            .multiplications
            .iter()
            .map(|m| m.count * poly(&c.fpm_mul, (m.input_bits as f64 * m.weight_bits as f64).sqrt()).max(0.0))
            .sum();
        let a: f64 = self.additions.iter().map(|a| a.count * poly(&c.fpm_add, a.bits as f64).max(0.0)).sum();
        m + a
    }

    /// The five regressors of [`ENERGY_TERMS`].
    pub fn features(&self) -> Vec<f64> {
        let mut f = vec![0.0; 5];
        for m in &self.multiplications {
            let g = (m.input_bits as f64 * m.weight_bits as f64).sqrt();
            f[0] += m.count * g * g;
            f[1] += m.count * g;
            f[2] += m.count;
        }
        for a in &self.additions {
            f[3] += a.count * a.bits as f64;
            f[4] += a.count;
        }
        f
    }
}

/// Read energy samples (JSON array or JSON lines), checking every number.
pub fn read_energy_samples(path: &Path) -> Result<Vec<EnergySample>> {
    let records = read_json_records::<EnergySample>(path)?;
    let mut out = Vec::new();
    for (line, s) in records {
        let at = |field: &str, msg: String| {
            Error::input_at(path, (line > 0).then_some(line), Some(field), format!("variant `{}`: {msg}", s.name))
        };
        if s.layers.is_empty() {
            return Err(at("layers", "no layers".into()));
        }
        for (i, l) in s.layers.iter().enumerate() {
            if !(l.measured_pj.is_finite() && l.measured_pj >= 0.0) {
                return Err(at(&format!("layers[{i}].measured_pj"), format!("{} is not a non-negative energy", l.measured_pj)));
            }
            if l.multiplications.iter().any(|m| !(m.count >= 0.0) || m.input_bits == 0 || m.weight_bits == 0)
                || l.additions.iter().any(|a| !(a.count >= 0.0) || a.bits == 0)
            {
                return Err(at(&format!("layers[{i}]"), "operation counts must be non-negative and bit widths positive".into()));
            }
        }
        out.push(s);
    }
    if out.is_empty() {
        return Err(Error::input(path, "no energy samples in the file"));
    }
    Ok(out)
}

#[derive(Clone, Debug)]
pub struct EnergyOptions {
    pub k: usize,
    pub seed: u64,
    /// What measured the energies (for the provenance).
    pub tool: String,
    pub part: String,
    pub source: PathBuf,
    /// Whose energy coefficients are refitted (`[energy]` for HLS, `[energy_rtl]` for RTL).
    pub flow: Flow,
}

#[derive(Clone, Debug, Serialize)]
pub struct EnergyReport {
    pub variants: usize,
    pub layers: usize,
    pub k_folds: usize,
    pub seed: u64,
    /// Variant totals: current coefficients.
    pub before: Metrics,
    /// Variant totals of held-out variants (k-fold).
    pub after_cv: Metrics,
    pub after_in_sample: Metrics,
    pub coefficients_before: BTreeMap<String, Vec<f64>>,
    pub coefficients_after: BTreeMap<String, Vec<f64>>,
    pub dropped: BTreeMap<String, fit::Dropped>,
    pub runs: Vec<String>,
    /// Per variant: measured and estimated energy per inference (pJ).
    pub points: Vec<EnergyPoint>,
}

/// One variant's measured energy and the estimator's, before and after (held out).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EnergyPoint {
    pub name: String,
    pub measured_pj: f64,
    pub before_pj: f64,
    pub after_cv_pj: f64,
}

fn totals_by_variant(groups: &[usize], n: usize, per_layer: &[f64]) -> Vec<f64> {
    let mut t = vec![0.0; n];
    for (g, v) in groups.iter().zip(per_layer) {
        t[*g] += v;
    }
    t
}

/// Refit `fpm_mul` (quadratic in gate bits) and `fpm_add` (linear in adder bits).
pub fn calibrate_energy(samples: &[EnergySample], current: &Calibration, opts: &EnergyOptions) -> Result<(Calibration, EnergyReport)> {
    let c = current.energy_for(opts.flow);
    if c.fpm_mul.len() > 3 || c.fpm_add.len() > 2 {
        return Err(Error::Config(format!(
            "energy calibration fits fpm_mul of degree ≤ 2 and fpm_add of degree ≤ 1; the current file has {} and {} coefficients",
            c.fpm_mul.len(),
            c.fpm_add.len()
        )));
    }
    let padded = |v: &[f64], len: usize| -> Vec<f64> { std::iter::repeat(0.0).take(len - v.len()).chain(v.iter().copied()).collect() };
    let mul = padded(&c.fpm_mul, 3);
    let add = padded(&c.fpm_add, 2);
    let current_coefficients = vec![mul[0], mul[1], mul[2], add[0], add[1]];
    let mut rows = Vec::new();
    let mut targets = Vec::new();
    let mut groups = Vec::new();
    for (g, s) in samples.iter().enumerate() {
        for l in &s.layers {
            rows.push(l.features());
            targets.push(l.measured_pj);
            groups.push(g);
        }
    }
    let measured_totals: Vec<f64> = samples.iter().map(|s| s.layers.iter().map(|l| l.measured_pj).sum()).collect();
    // The estimator's own prices (poly clamps at 0), for "before".
    let before_layers: Vec<f64> = samples.iter().flat_map(|s| s.layers.iter()).map(|l| l.estimated_pj(c)).collect();
    let refit: Vec<usize> = (0..5).collect();
    let problem = Problem { rows: &rows, targets: &targets, refit: &refit, current: &current_coefficients, quantity: "energy" };
    let present = problem.present_columns(&(0..rows.len()).collect::<Vec<_>>()).len();
    if samples.len() < present {
        return Err(Error::Config(format!(
            "energy calibration needs at least {present} variants ({present} coefficients to fit), got {}",
            samples.len()
        )));
    }
    let full = fit::fit(&problem)?;
    let cv = fit::cross_validate(&problem, opts.k, opts.seed, Some(&groups))?;
    let in_sample: Vec<f64> = rows.iter().map(|r| fit::dot(&full.coefficients, r)).collect();
    let n = samples.len();
    let k = &full.coefficients;
    let mut new = current.clone();
    let section = match opts.flow {
        Flow::Hls => "energy",
        Flow::Rtl => "energy_rtl",
    };
    new.energy_for_mut(opts.flow).fpm_mul = vec![k[0], k[1], k[2]];
    new.energy_for_mut(opts.flow).fpm_add = vec![k[3], k[4]];
    let runs: Vec<String> = samples.iter().map(|s| s.name.clone()).collect();
    let date = utc_date_today();
    new.origin = format!(
        "fitted by qforge calibrate --target energy on {n} variants ({} layers) measured with {} on {} ([{section}]: fpm_mul, fpm_add), {}-fold CV seed {}, {date}\n{}",
        rows.len(),
        opts.tool,
        opts.part,
        opts.k,
        opts.seed,
        current.origin.trim_start()
    );
    new.provenance.push(Provenance {
        section: section.into(),
        fitted: vec!["fpm_mul".into(), "fpm_add".into()],
        tool: opts.tool.clone(),
        part: opts.part.clone(),
        date,
        k_folds: opts.k,
        seed: opts.seed,
        runs: runs.clone(),
    });
    let before_totals = totals_by_variant(&groups, n, &before_layers);
    let after_totals = totals_by_variant(&groups, n, &cv);
    let points = samples
        .iter()
        .enumerate()
        .map(|(i, s)| EnergyPoint {
            name: s.name.clone(),
            measured_pj: measured_totals[i],
            before_pj: before_totals[i],
            after_cv_pj: after_totals[i],
        })
        .collect();
    let report = EnergyReport {
        points,
        variants: n,
        layers: rows.len(),
        k_folds: opts.k,
        seed: opts.seed,
        before: Metrics::of(&measured_totals, &before_totals),
        after_cv: Metrics::of(&measured_totals, &after_totals),
        after_in_sample: Metrics::of(&measured_totals, &totals_by_variant(&groups, n, &in_sample)),
        coefficients_before: BTreeMap::from([("fpm_mul".to_string(), c.fpm_mul.clone()), ("fpm_add".to_string(), c.fpm_add.clone())]),
        coefficients_after: BTreeMap::from([
            ("fpm_mul".to_string(), new.energy_for(opts.flow).fpm_mul.clone()),
            ("fpm_add".to_string(), new.energy_for(opts.flow).fpm_add.clone()),
        ]),
        dropped: full.dropped.iter().map(|(c, why)| (ENERGY_TERMS[*c].to_string(), why.clone())).collect(),
        runs,
    };
    Ok((new, report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelSpec;

    /// Power-of-two kernels are shifters priced by fpm_add, as the estimator prices them.
    #[test]
    fn po2_kernels_count_as_shifters_and_bits_kernels_as_multipliers() {
        let spec = ModelSpec::from_toml(
            r#"
name = "t"
inputs = 16
input_type = "ap_fixed<16,6>"
classes = ["a", "b"]
[[layers]]
type = "dense"
units = 4
kernel_quantizer = "quantized_po2(4,1)"
bias_quantizer = "quantized_bits(4,0,alpha=1)"
[[layers]]
type = "dense"
units = 2
kernel_quantizer = "quantized_bits(6,0,alpha=1)"
bias_quantizer = "quantized_bits(6,0,alpha=1)"
"#,
            std::path::Path::new("t.toml"),
        )
        .unwrap();
        let layers = crate::estimate::layers_from_spec(&spec).unwrap();
        let shifter = EnergyLayer::from_layer(&layers[0]);
        assert!(shifter.multiplications.is_empty());
        // b = sqrt(2^4 · 16) = 16, gate bits 16·log10(16) = 19.27 → 19.
        assert_eq!(shifter.additions[0], AddCount { bits: 19, count: 64.0 });
        let fixed = EnergyLayer::from_layer(&layers[1]);
        assert_eq!(fixed.multiplications.len(), 1);
        assert_eq!(fixed.multiplications[0].weight_bits, 6);
        assert_eq!(fixed.multiplications[0].count, 8.0);
    }
}
