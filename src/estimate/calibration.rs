//! The calibration file: every coefficient of the energy and resource models,
//! with a version and a record of where the numbers came from. The default is
//! `calibration/default.toml`, embedded in the binary. The `calibrate` stage
//! (`src/calibrate`) refits the coefficients from real reports, adds a
//! [`Provenance`] record and writes a new file with [`Calibration::save`]
//! (by default to `qforge-out/calibration.toml`).
//!
//! Which file the estimator and the search use ([`Calibration::discover`]):
//! 1. `--calibration FILE` when given;
//! 2. else the file named by `$QFORGE_CALIBRATION` (an error if it is missing);
//! 3. else `qforge-out/calibration.toml` in the current folder, if present
//!    (what `qforge calibrate` writes by default);
//! 4. else the embedded default.
use super::resources::FEATURE_NAMES;
use super::structural::{Flow, RTL_FEATURE_NAMES};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The environment variable naming a calibration file.
pub const CALIBRATION_ENV: &str = "QFORGE_CALIBRATION";
/// Where `qforge calibrate` writes and the estimator looks by default.
pub const DEFAULT_CALIBRATION_PATH: &str = crate::layout::DEFAULT_CALIBRATION;

pub const CALIBRATION_VERSION: u32 = 1;
pub const DEFAULT_CALIBRATION: &str = include_str!("../../calibration/default.toml");

/// QTools' energy table (pJ). Polynomials are numpy.poly1d coefficient lists,
/// highest power first, as qkeras/qtools/settings.py and config_public.py hold them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnergyCoefficients {
    pub process: String,
    pub fpm_add: Vec<f64>,
    pub fpm_mul: Vec<f64>,
    pub fp16_add: Vec<f64>,
    pub fp16_mul: Vec<f64>,
    pub fp32_add: Vec<f64>,
    pub fp32_mul: Vec<f64>,
    pub sram_rd: Vec<f64>,
    pub dram_rd: Vec<f64>,
    pub sram_mul_factor: f64,
    pub dram_mul_factor: f64,
    pub min_sram_size: f64,
    pub mux_gate_factor: f64,
}

/// numpy.poly1d evaluation (coefficients highest power first).
pub fn poly(coefficients: &[f64], x: f64) -> f64 {
    coefficients.iter().fold(0.0, |acc, c| acc * x + c)
}

/// Coefficients of one device family. Each estimate is Σ coefficient × feature;
/// the coefficient of feature `f` (see [`FEATURE_NAMES`]) is keyed `per_f`, and a
/// missing coefficient counts as 0.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FamilyCoefficients {
    /// Products with both operands at most this wide go to LUTs (a rule, not fitted).
    pub lut_mult_max_bits: u32,
    /// Products with one operand at most this wide go to LUTs.
    pub lut_mult_small_operand_bits: u32,
    /// The DSP slice's multiplier operand widths (27x18 on DSP48E2, 25x18 on DSP48E1).
    pub dsp_a_bits: u32,
    pub dsp_b_bits: u32,
    pub lut: BTreeMap<String, f64>,
    pub ff: BTreeMap<String, f64>,
    pub dsp: BTreeMap<String, f64>,
    pub bram18: BTreeMap<String, f64>,
    /// Latency in clock cycles.
    pub latency: BTreeMap<String, f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    pub version: u32,
    /// Where the numbers came from (hand-set, or fitted from which reports).
    pub origin: String,
    pub energy: EnergyCoefficients,
    /// QTools' energy coefficients for the RTL/Yosys flow's designs (refitted
    /// from measured switching energy; the HLS flow keeps `[energy]`).
    #[serde(default = "default_energy_rtl")]
    pub energy_rtl: EnergyCoefficients,
    /// Keyed by device family (`parts::Family::key`).
    pub resources: BTreeMap<String, FamilyCoefficients>,
    /// Coefficients of the structural estimate of qforge's own Verilog (the
    /// RTL/Yosys flow), keyed by device family; each quantity is
    /// Σ coefficient × structural feature ([`RTL_FEATURE_NAMES`]).
    #[serde(default = "default_rtl")]
    pub rtl: BTreeMap<String, RtlCoefficients>,
    /// Energy per output toggle of each mapped cell class (`qforge switching`).
    #[serde(default = "default_switching")]
    pub switching: SwitchingWeights,
    /// One record per fit that changed this file, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provenance: Vec<Provenance>,
}

/// The cell classes `qforge switching` counts toggles of (see `switching::attribute`).
pub const SWITCHING_CLASSES: &[&str] = &["lut", "inv", "muxf", "carry", "ff", "srl", "dsp", "bram", "io", "clock", "other"];

/// Switching energy of a mapped netlist: fJ per 0→1 or 1→0 change of one
/// output bit of a cell of each class, with where the figures come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchingWeights {
    pub origin: String,
    /// Keyed by a class of [`SWITCHING_CLASSES`]; a missing class weighs 0.
    pub fj_per_toggle: BTreeMap<String, f64>,
}

impl SwitchingWeights {
    pub fn weight(&self, class: &str) -> f64 {
        self.fj_per_toggle.get(class).copied().unwrap_or(0.0)
    }
}

/// The embedded default's `[switching]` (for calibration files written before it existed).
fn default_switching() -> SwitchingWeights {
    #[derive(Deserialize)]
    struct Only {
        switching: SwitchingWeights,
    }
    toml::from_str::<Only>(DEFAULT_CALIBRATION).expect("the embedded calibration has [switching]").switching
}

/// The embedded default's `[energy_rtl]` (for files written before it existed).
fn default_energy_rtl() -> EnergyCoefficients {
    #[derive(Deserialize)]
    struct Only {
        energy_rtl: EnergyCoefficients,
    }
    toml::from_str::<Only>(DEFAULT_CALIBRATION).expect("the embedded calibration has [energy_rtl]").energy_rtl
}

/// The structural model's coefficients for one device family: per quantity,
/// `per_<feature>` with a feature of [`RTL_FEATURE_NAMES`] (missing: 0).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RtlCoefficients {
    pub lut: BTreeMap<String, f64>,
    pub ff: BTreeMap<String, f64>,
    pub dsp: BTreeMap<String, f64>,
    pub bram18: BTreeMap<String, f64>,
    /// Latency in clock cycles.
    pub latency: BTreeMap<String, f64>,
}

/// The embedded default's `[rtl.*]` (for calibration files written before it existed).
fn default_rtl() -> BTreeMap<String, RtlCoefficients> {
    #[derive(Deserialize)]
    struct Only {
        rtl: BTreeMap<String, RtlCoefficients>,
    }
    toml::from_str::<Only>(DEFAULT_CALIBRATION).expect("the embedded calibration has [rtl.*]").rtl
}

/// Where one fitted section came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// `resources.<family>` or `energy`.
    pub section: String,
    /// The coefficients refitted (`lut.per_adder_bit`, `fpm_mul`, ...).
    pub fitted: Vec<String>,
    pub tool: String,
    pub part: String,
    /// UTC date of the fit (YYYY-MM-DD).
    pub date: String,
    pub k_folds: usize,
    pub seed: u64,
    /// Names (ids) of the runs the fit used.
    pub runs: Vec<String>,
}

/// Where [`Calibration::discover`] found its coefficients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CalibrationSource {
    Explicit(PathBuf),
    Environment(PathBuf),
    OutputFolder(PathBuf),
    Embedded,
}

impl Default for Calibration {
    fn default() -> Self {
        Calibration::parse(DEFAULT_CALIBRATION, Path::new("calibration/default.toml")).expect("the embedded calibration parses")
    }
}

impl Calibration {
    /// Load `path`, or the embedded default when `None`.
    pub fn load_or_default(path: Option<&Path>) -> Result<Calibration> {
        match path {
            Some(p) => Calibration::load(p),
            None => Ok(Calibration::default()),
        }
    }

    /// The calibration to use: `explicit`, else `$QFORGE_CALIBRATION`, else
    /// `qforge-out/calibration.toml` if present, else the embedded default.
    pub fn discover(explicit: Option<&Path>) -> Result<Calibration> {
        Ok(Calibration::discover_with_source(explicit)?.0)
    }

    /// [`Calibration::discover`], also saying where the file came from.
    pub fn discover_with_source(explicit: Option<&Path>) -> Result<(Calibration, CalibrationSource)> {
        let env = std::env::var_os(CALIBRATION_ENV).filter(|v| !v.is_empty()).map(PathBuf::from);
        let source = Calibration::discover_source(explicit, env, Path::new(DEFAULT_CALIBRATION_PATH));
        let cal = match &source {
            CalibrationSource::Explicit(p) | CalibrationSource::OutputFolder(p) => Calibration::load(p)?,
            CalibrationSource::Environment(p) => Calibration::load(p).map_err(|e| match e {
                Error::Io { .. } => Error::input(p, format!("${CALIBRATION_ENV} names this calibration file, but it cannot be read: {e}")),
                other => other,
            })?,
            CalibrationSource::Embedded => Calibration::default(),
        };
        Ok((cal, source))
    }

    /// The discovery rule alone (no file read), for a given environment value
    /// and default path.
    pub fn discover_source(explicit: Option<&Path>, env: Option<PathBuf>, default_path: &Path) -> CalibrationSource {
        if let Some(p) = explicit {
            CalibrationSource::Explicit(p.to_path_buf())
        } else if let Some(p) = env {
            CalibrationSource::Environment(p)
        } else if default_path.is_file() {
            CalibrationSource::OutputFolder(default_path.to_path_buf())
        } else {
            CalibrationSource::Embedded
        }
    }

    pub fn load(path: &Path) -> Result<Calibration> {
        let text = crate::error::read_to_string(path)?;
        Calibration::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Calibration> {
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let cal: Calibration =
            toml::from_str(text).map_err(|e| Error::input_at(path, e.span().map(|s| line_of(s.start)), None, e.message().to_string()))?;
        cal.validate(path)?;
        Ok(cal)
    }

    fn validate(&self, path: &Path) -> Result<()> {
        if self.version != CALIBRATION_VERSION {
            return Err(Error::input_at(
                path,
                None,
                Some("version"),
                format!("calibration version {} is not supported (expected {CALIBRATION_VERSION})", self.version),
            ));
        }
        if self.origin.trim().is_empty() {
            return Err(Error::input_at(path, None, Some("origin"), "say where the numbers came from"));
        }
        if self.switching.origin.trim().is_empty() {
            return Err(Error::input_at(path, None, Some("switching.origin"), "say where the per-toggle energies came from"));
        }
        for (class, value) in &self.switching.fj_per_toggle {
            let field = format!("switching.fj_per_toggle.{class}");
            if !SWITCHING_CLASSES.contains(&class.as_str()) {
                return Err(Error::input_at(
                    path,
                    None,
                    Some(&field),
                    format!("unknown cell class `{class}` (known: {})", SWITCHING_CLASSES.join(", ")),
                ));
            }
            if !(value.is_finite() && *value >= 0.0) {
                return Err(Error::input_at(path, None, Some(&field), "energy per toggle must be a non-negative number"));
            }
        }
        for (family, c) in &self.resources {
            for (section, map) in [("lut", &c.lut), ("ff", &c.ff), ("dsp", &c.dsp), ("bram18", &c.bram18), ("latency", &c.latency)] {
                for (name, value) in map {
                    let field = format!("resources.{family}.{section}.{name}");
                    if !name.strip_prefix("per_").is_some_and(|f| FEATURE_NAMES.contains(&f)) {
                        return Err(Error::input_at(
                            path,
                            None,
                            Some(&field),
                            format!("unknown coefficient `{name}`: write per_<feature> with a feature from {}", FEATURE_NAMES.join(", ")),
                        ));
                    }
                    if !value.is_finite() {
                        return Err(Error::input_at(path, None, Some(&field), "coefficient is not a finite number"));
                    }
                }
            }
            if c.dsp_a_bits == 0 || c.dsp_b_bits == 0 {
                return Err(Error::input_at(path, None, Some(&format!("resources.{family}")), "DSP operand widths must be positive"));
            }
        }
        for (family, c) in &self.rtl {
            for (section, map) in [("lut", &c.lut), ("ff", &c.ff), ("dsp", &c.dsp), ("bram18", &c.bram18), ("latency", &c.latency)] {
                for (name, value) in map {
                    let field = format!("rtl.{family}.{section}.{name}");
                    if !name.strip_prefix("per_").is_some_and(|f| RTL_FEATURE_NAMES.contains(&f)) {
                        return Err(Error::input_at(
                            path,
                            None,
                            Some(&field),
                            format!(
                                "unknown coefficient `{name}`: write per_<feature> with a feature from {}",
                                RTL_FEATURE_NAMES.join(", ")
                            ),
                        ));
                    }
                    if !(value.is_finite() && *value >= 0.0) {
                        return Err(Error::input_at(path, None, Some(&field), "coefficient must be a non-negative number"));
                    }
                }
            }
        }
        Ok(())
    }

    /// The coefficients of `quantity` (`lut`, `ff`, `dsp`, `bram18`, `latency`)
    /// for `family` in the cost model of `flow`, for a refit to change.
    pub fn quantity_coefficients_mut(&mut self, flow: Flow, family: &str, quantity: &str) -> Result<&mut BTreeMap<String, f64>> {
        let section = format!("[{}.{family}]", flow.calibration_section());
        let missing = || Error::Config(format!("the calibration has no {section} section for this part's family"));
        let [lut, ff, dsp, bram18, latency] = match flow {
            Flow::Hls => {
                let c = self.resources.get_mut(family).ok_or_else(missing)?;
                [&mut c.lut, &mut c.ff, &mut c.dsp, &mut c.bram18, &mut c.latency]
            }
            Flow::Rtl => {
                let c = self.rtl.get_mut(family).ok_or_else(missing)?;
                [&mut c.lut, &mut c.ff, &mut c.dsp, &mut c.bram18, &mut c.latency]
            }
        };
        match quantity {
            "lut" => Ok(lut),
            "ff" => Ok(ff),
            "dsp" => Ok(dsp),
            "bram18" => Ok(bram18),
            "latency" => Ok(latency),
            other => Err(Error::Config(format!("no quantity `{other}` in {section} (lut, ff, dsp, bram18, latency)"))),
        }
    }

    /// The energy coefficients the estimate of `flow` uses.
    pub fn energy_for(&self, flow: Flow) -> &EnergyCoefficients {
        match flow {
            Flow::Hls => &self.energy,
            Flow::Rtl => &self.energy_rtl,
        }
    }

    pub fn energy_for_mut(&mut self, flow: Flow) -> &mut EnergyCoefficients {
        match flow {
            Flow::Hls => &mut self.energy,
            Flow::Rtl => &mut self.energy_rtl,
        }
    }

    /// The coefficients of `quantity` for `family` in the cost model of `flow`.
    pub fn quantity_coefficients(&self, flow: Flow, family: &str, quantity: &str) -> Result<&BTreeMap<String, f64>> {
        let section = format!("[{}.{family}]", flow.calibration_section());
        let missing = || Error::Config(format!("the calibration has no {section} section for this part's family"));
        let [lut, ff, dsp, bram18, latency] = match flow {
            Flow::Hls => {
                let c = self.resources.get(family).ok_or_else(missing)?;
                [&c.lut, &c.ff, &c.dsp, &c.bram18, &c.latency]
            }
            Flow::Rtl => {
                let c = self.rtl.get(family).ok_or_else(missing)?;
                [&c.lut, &c.ff, &c.dsp, &c.bram18, &c.latency]
            }
        };
        match quantity {
            "lut" => Ok(lut),
            "ff" => Ok(ff),
            "dsp" => Ok(dsp),
            "bram18" => Ok(bram18),
            "latency" => Ok(latency),
            other => Err(Error::Config(format!("no quantity `{other}` in {section} (lut, ff, dsp, bram18, latency)"))),
        }
    }

    /// The structural model's coefficients of a device family.
    pub fn rtl_family(&self, key: &str) -> Result<&RtlCoefficients> {
        self.rtl.get(key).ok_or_else(|| Error::Config(format!("the calibration has no [rtl.{key}] section for this part's family")))
    }

    /// Write the calibration (TOML) atomically, keeping its version and origin.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = toml::to_string_pretty(self).map_err(|e| Error::Config(format!("calibration does not serialize: {e}")))?;
        crate::error::write_atomic(path, text.as_bytes())
    }

    pub fn family(&self, key: &str) -> Result<&FamilyCoefficients> {
        self.resources
            .get(key)
            .ok_or_else(|| Error::Config(format!("the calibration has no [resources.{key}] section for this part's family")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_parses_and_round_trips() {
        let cal = Calibration::default();
        assert_eq!(cal.version, 1);
        assert!(cal.origin.contains("horowitz"));
        assert!((poly(&cal.energy.fpm_mul, 8.0) - 0.2).abs() < 1e-9);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cal.toml");
        cal.save(&path).unwrap();
        assert_eq!(Calibration::load(&path).unwrap(), cal);
        assert!(cal.switching.weight("lut") > cal.switching.weight("ff") && cal.switching.weight("dsp") == 0.0);
        // A file written before [switching] existed gets the embedded weights.
        let start = DEFAULT_CALIBRATION.find("\n[switching]\n").unwrap();
        let end = DEFAULT_CALIBRATION.find("other = 0.0").unwrap() + "other = 0.0".len();
        let old = format!("{}{}", &DEFAULT_CALIBRATION[..start], &DEFAULT_CALIBRATION[end..]);
        assert_eq!(Calibration::parse(&old, Path::new("old.toml")).unwrap().switching, cal.switching);
    }

    #[test]
    fn bad_files_name_the_field() {
        let bad = DEFAULT_CALIBRATION.replace("per_mult_lut = 2.0", "per_mystery = 2.0");
        let e = Calibration::parse(&bad, Path::new("c.toml")).unwrap_err().to_string();
        assert!(e.contains("c.toml") && e.contains("per_mystery"), "{e}");
        let bad = DEFAULT_CALIBRATION.replace("lut = 31.1", "lutz = 31.1");
        let e = Calibration::parse(&bad, Path::new("c.toml")).unwrap_err().to_string();
        assert!(e.contains("switching.fj_per_toggle.lutz"), "{e}");
        let bad = DEFAULT_CALIBRATION.replace("version = 1", "version = 7");
        assert!(Calibration::parse(&bad, Path::new("c.toml")).unwrap_err().to_string().contains("version"));
    }
}
