//! Cost estimates of a quantized network, before any synthesis: QTools-style
//! inference energy, weight bits, BOPs/EBOPs, the AutoQKeras "bits" size, and
//! FPGA resources (LUT, FF, DSP, BRAM18) and latency on a target part.
//!
//! Input: a [`ModelSpec`] (types only: what the search uses before training) or
//! a trained [`TrainedModel`] (constant weights known: zero weights are free).
//! Output: an [`Estimate`] per layer and in total; the CLI (`qforge estimate`)
//! prints it, the search scores and prunes trials with it.
//!
//! ## The resource model is linear in its coefficients
//! For every layer, [`resources::layer_features`] counts a feature vector
//! ([`LayerFeatures`]: LUT multiplications, Σ b_w·b_x of LUT products, DSP
//! slices, adders and their bits, ReLU bits, softmax tables, adder-tree levels,
//! ...). Every quantity is then
//!
//! ```text
//!     lut = Σ_f coefficient_lut[f] · feature[f]      (likewise ff, dsp, bram18, latency)
//! ```
//!
//! with the coefficients of the part's family read from the calibration file
//! (`calibration/default.toml`, `[resources.<family>.<quantity>]`, key
//! `per_<feature>`). Totals are sums over layers, so a calibration can refit
//! every coefficient by linear regression of reported totals on summed features
//! ([`Estimate::feature_totals`]). The energy model's coefficients (QTools'
//! polynomials) also live in the calibration file.
pub mod calibration;
pub mod design_cost;
pub mod energy;
pub mod image;
pub mod layer_input;
pub mod parts;
pub mod resources;
pub mod structural;

pub use calibration::Calibration;
pub use design_cost::{DesignCost, DesignCoster};
pub use energy::{EnergyOptions, LayerEnergy, MemoryMode};
pub use layer_input::{layers_from_model, layers_from_spec, LayerInput};
pub use parts::{Family, Part};
pub use resources::{LayerFeatures, Resources, FEATURE_NAMES};
pub use structural::{Flow, StructuralEstimate, RTL_FEATURE_NAMES};

use crate::error::{Error, Result};
use crate::model::{Activation, FixedNetwork, ModelSpec, TrainedModel};
use crate::quant::Quantizer;
use serde::{Deserialize, Serialize};

/// hls4ml's dense strategy, one type for the estimator and the HLS writer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Every multiplication has its own multiplier; `reuse` > 1 only relaxes the II.
    #[default]
    Latency,
    /// Each multiplier is used `reuse` times in a pipelined loop; weights in memories.
    Resource,
}

impl Strategy {
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Latency => "latency",
            Strategy::Resource => "resource",
        }
    }
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "latency" => Ok(Strategy::Latency),
            "resource" => Ok(Strategy::Resource),
            _ => Err(Error::Config(format!("unknown strategy `{s}` (known: latency, resource)"))),
        }
    }
}

/// What the firmware is built for.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Target {
    pub part: Part,
    pub clock_ns: f64,
    pub reuse_factor: u32,
    pub strategy: Strategy,
}

impl Target {
    pub fn new(part: &str, clock_ns: f64, reuse_factor: u32, strategy: Strategy) -> Result<Target> {
        if !(clock_ns > 0.0) {
            return Err(Error::Config(format!("clock period must be positive, got {clock_ns} ns")));
        }
        if reuse_factor == 0 {
            return Err(Error::Config("reuse factor must be at least 1".into()));
        }
        Ok(Target { part: parts::lookup(part)?, clock_ns, reuse_factor, strategy })
    }

    /// The paper's target: VU9P, 5 ns, reuse factor 1, latency strategy.
    pub fn paper() -> Target {
        Target::new(parts::PAPER_PART, 5.0, 1, Strategy::Latency).expect("the paper's part is known")
    }
}

/// The AutoQKeras "bits" goal's settings (forgiving_bits.py defaults: 8 bits each).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BitsOptions {
    pub input_bits: u32,
    pub output_bits: u32,
    pub ref_bits: u32,
}

impl Default for BitsOptions {
    fn default() -> Self {
        BitsOptions { input_bits: 8, output_bits: 8, ref_bits: 8 }
    }
}

/// Estimates of one layer.
#[derive(Clone, Debug, Serialize)]
pub struct LayerEstimate {
    pub name: String,
    pub n_in: usize,
    pub n_out: usize,
    pub in_type: String,
    pub weight_type: String,
    pub accum_type: String,
    pub out_type: String,
    pub multiplications: u64,
    /// Σ over multiplications of b_w·b_x (full widths).
    pub bops: f64,
    /// Σ over non-zero constant weights of bits(w)·b_x (bits(w): magnitude bits of
    /// the weight's odd part); equal to `bops` when weights are unknown.
    pub ebops: f64,
    pub zero_weights: u64,
    /// Bits of the stored kernel and bias.
    pub weight_bits: u64,
    /// AutoQKeras size of the dense layer (parameters) and of its activation layer (activations).
    pub size_parameter_bits: u64,
    pub size_activation_bits: u64,
    pub energy: LayerEnergy,
    pub features: LayerFeatures,
    pub resources: Resources,
}

#[derive(Clone, Debug, Serialize)]
pub struct Utilisation {
    pub lut_percent: f64,
    pub ff_percent: f64,
    pub dsp_percent: f64,
    pub bram18_percent: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Totals {
    pub energy_pj: f64,
    pub multiplications: u64,
    pub bops: f64,
    pub ebops: f64,
    pub weight_bits: u64,
    /// The AutoQKeras "bits" goal: Σ parameter bits + Σ activation bits (input layer included).
    pub size_bits: u64,
    pub size_parameter_bits: u64,
    pub size_activation_bits: u64,
    pub lut: f64,
    pub ff: f64,
    pub dsp: f64,
    pub bram18: f64,
    pub latency_cycles: u64,
    pub latency_ns: f64,
    /// Initiation interval in cycles (the reuse factor).
    pub ii_cycles: u64,
    pub utilisation: Utilisation,
}

/// Which design an estimate prices: the flow, and for the RTL flow how the
/// generator would write it.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct FlowOptions {
    pub flow: Flow,
    /// The RTL generator's registers every N logic levels (0: combinational).
    pub pipeline_every: u32,
    /// The RTL generator shares sub-expressions across a layer's outputs (`--cmvm`).
    #[serde(default)]
    pub cmvm: bool,
    /// The RTL generator places registers by delay at this clock period (ns,
    /// `--pipeline-ns`) instead of every N levels.
    #[serde(default)]
    pub pipeline_ns: Option<f64>,
    /// The RTL generator's stream design (`--io stream`): image layers take
    /// one pixel per clock through line buffers.
    #[serde(default)]
    pub io_stream: bool,
    /// The RTL generator's costing (`rtl::cost::cost_for`), which the RTL
    /// flow's estimate needs; handed in so that `estimate` does not import `rtl`.
    #[serde(skip)]
    pub design_cost: Option<DesignCoster>,
}

/// Equal when they describe the same design (the costing is the generator's, not a setting).
impl PartialEq for FlowOptions {
    fn eq(&self, other: &Self) -> bool {
        let ns = |f: &Self| f.pipeline_ns.map(f64::to_bits);
        (self.flow, self.pipeline_every, self.cmvm, ns(self), self.io_stream)
            == (other.flow, other.pipeline_every, other.cmvm, ns(other), other.io_stream)
    }
}

impl Eq for FlowOptions {}

impl Default for FlowOptions {
    fn default() -> Self {
        FlowOptions::hls()
    }
}

impl FlowOptions {
    pub fn hls() -> FlowOptions {
        FlowOptions { flow: Flow::Hls, pipeline_every: 0, cmvm: false, pipeline_ns: None, io_stream: false, design_cost: None }
    }
    /// The RTL flow, priced by the generator's `coster` (`rtl::cost::cost_for`).
    pub fn rtl(pipeline_every: u32, coster: DesignCoster) -> FlowOptions {
        FlowOptions { flow: Flow::Rtl, pipeline_every, cmvm: false, pipeline_ns: None, io_stream: false, design_cost: Some(coster) }
    }
    /// The same flow with the RTL generator's shared sub-expressions on or off.
    pub fn with_cmvm(self, cmvm: bool) -> FlowOptions {
        FlowOptions { cmvm, ..self }
    }
    /// The same flow with registers placed by delay at `pipeline_ns` (None: every N levels).
    pub fn with_pipeline_ns(self, pipeline_ns: Option<f64>) -> FlowOptions {
        FlowOptions { pipeline_ns, ..self }
    }
    /// The same flow for the stream design (`--io stream`) or the parallel one.
    pub fn with_io_stream(self, io_stream: bool) -> FlowOptions {
        FlowOptions { io_stream, ..self }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Estimate {
    /// The flow whose design the resources and latency are for.
    pub flow: Flow,
    pub target: Target,
    pub energy_options: EnergyOptions,
    pub calibration_origin: String,
    /// True when constant weights were known (zero weights free, effective widths).
    pub weights_known: bool,
    pub layers: Vec<LayerEstimate>,
    pub totals: Totals,
    /// The RTL flow's structural estimate per module (None for HLS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub structural: Option<StructuralEstimate>,
}

impl Estimate {
    /// Σ of each feature of the flow's resource model over layers (modules
    /// for the RTL flow), named: the regressors for calibration.
    pub fn feature_totals(&self) -> Vec<(&'static str, f64)> {
        if let Some(s) = &self.structural {
            return RTL_FEATURE_NAMES.iter().copied().zip(s.feature_totals()).collect();
        }
        let mut sums = [0.0; 16];
        for l in &self.layers {
            for (s, v) in sums.iter_mut().zip(l.features.values()) {
                *s += v;
            }
        }
        FEATURE_NAMES.iter().copied().zip(sums).collect()
    }

    /// What the run history keeps of an estimate: the totals under the
    /// store's keys, plus the summed features (named), so calibration can
    /// refit from stored runs alone.
    pub fn store_record(&self) -> serde_json::Value {
        let t = &self.totals;
        let count = |v: f64| v.max(0.0).round() as u64;
        let features: serde_json::Map<String, serde_json::Value> =
            self.feature_totals().into_iter().map(|(n, v)| (n.to_string(), serde_json::json!(v))).collect();
        serde_json::json!({
            "lut": count(t.lut),
            "ff": count(t.ff),
            "dsp": count(t.dsp),
            "bram_18k": count(t.bram18),
            "latency_cycles": t.latency_cycles,
            "energy_pj": t.energy_pj,
            "flow": self.flow,
            "part": self.target.part.name,
            "calibration_origin": self.calibration_origin,
            "features": features,
        })
    }
}

/// The AutoQKeras bit count of a quantizer: its bits, or `ref_bits` when unquantized.
fn size_bits(q: &Quantizer, ref_bits: u32) -> u64 {
    if q.is_float() {
        ref_bits as u64
    } else {
        q.bit_width() as u64
    }
}

/// Estimate a trained model for the design of `flow`.
pub fn estimate_model(
    model: &TrainedModel,
    flow: &FlowOptions,
    cal: &Calibration,
    target: &Target,
    energy_opts: &EnergyOptions,
    bits: &BitsOptions,
) -> Result<Estimate> {
    let fixed = FixedNetwork::from_model(model)?;
    let layers = layer_input::layers_from_net(&fixed, model);
    let images = fixed.features.as_ref().map(|stack| (model.spec.features.as_slice(), stack, true));
    let net = match flow.flow {
        Flow::Rtl => Some(&fixed),
        Flow::Hls => None,
    };
    estimate_with(&layers, images, net, flow, cal, target, energy_opts, bits)
}

/// Estimate a spec before training for the design of `flow` (the RTL flow
/// prices the design at the initial weights: [`structural::network_for_spec`]).
pub fn estimate_spec(
    spec: &ModelSpec,
    flow: &FlowOptions,
    cal: &Calibration,
    target: &Target,
    energy_opts: &EnergyOptions,
    bits: &BitsOptions,
) -> Result<Estimate> {
    let stack = layer_input::image_stack_for_spec(spec)?;
    let layers = layer_input::layers_with_input(spec, stack.as_ref().map_or(spec.input_type, |s| s.out_type))?;
    let images = stack.as_ref().map(|s| (spec.features.as_slice(), s, false));
    let net = match flow.flow {
        Flow::Rtl => Some(structural::network_for_spec(spec)?),
        Flow::Hls => None,
    };
    estimate_with(&layers, images, net.as_ref(), flow, cal, target, energy_opts, bits)
}

/// An image model's feature layers as the estimate takes them: the spec's
/// layers, their fixed-point stack, and whether its weights are the trained ones.
type Images<'a> = Option<(&'a [crate::model::features::FeatureLayer], &'a crate::model::fixed_features::FeatureStack, bool)>;

#[allow(clippy::too_many_arguments)]
fn estimate_with(
    layers: &[LayerInput],
    images: Images,
    net: Option<&FixedNetwork>,
    flow: &FlowOptions,
    cal: &Calibration,
    target: &Target,
    energy_opts: &EnergyOptions,
    bits: &BitsOptions,
) -> Result<Estimate> {
    let mut est = estimate_priced(layers, images, cal, cal.energy_for(flow.flow), target, energy_opts, bits)?;
    let Some(net) = net.filter(|_| flow.flow == Flow::Rtl) else {
        return Ok(est);
    };
    let coster = flow.design_cost.ok_or_else(|| Error::Config("the RTL flow's estimate needs the generator's costing".into()))?;
    let s = structural::structural_estimate(coster(net, flow)?, flow.pipeline_every, cal, target)?;
    // The generator writes one module per layer in order (image layers, then
    // dense), except Flatten, which is wiring: it costs nothing, but in a
    // stream design it is the flatten buffer (`stream_buffer`).
    let flatten: Vec<bool> = match images {
        Some((_, stack, _)) => {
            stack.layers.iter().map(|f| matches!(f, crate::model::fixed_features::FixedFeature::Flatten { .. })).collect()
        }
        None => Vec::new(),
    };
    let mut modules = s.modules.iter().peekable();
    for (i, l) in est.layers.iter_mut().enumerate() {
        let buffer = modules.peek().is_some_and(|m| m.module == "stream_buffer");
        l.resources = match flatten.get(i) {
            Some(true) if buffer => modules.next().map(|m| m.resources.clone()).unwrap_or_default(),
            Some(true) => Resources::default(),
            _ => modules
                .next()
                .ok_or_else(|| Error::Config(format!("the RTL design has no module for layer `{}`", l.name)))?
                .resources
                .clone(),
        };
    }
    let r = &s.totals;
    let t = &mut est.totals;
    let part = &target.part;
    let pct = |used: f64, total: u64| 100.0 * used / total as f64;
    t.lut = r.lut.round();
    t.ff = r.ff.round();
    t.dsp = r.dsp.round();
    t.bram18 = r.bram18.ceil();
    t.latency_cycles = r.latency_cycles.round().max(0.0) as u64;
    t.latency_ns = t.latency_cycles as f64 * target.clock_ns;
    // The parallel design takes a new sample every clock, the stream design
    // an image every frame interval.
    t.ii_cycles = s.cost.frame_interval_cycles.unwrap_or(1);
    t.utilisation = Utilisation {
        lut_percent: pct(r.lut, part.lut),
        ff_percent: pct(r.ff, part.ff),
        dsp_percent: pct(r.dsp, part.dsp),
        bram18_percent: pct(r.bram18, part.bram18),
    };
    est.flow = Flow::Rtl;
    est.structural = Some(s);
    Ok(est)
}

/// Estimate every cost of `layers` on `target` for the HLS flow.
pub fn estimate(
    layers: &[LayerInput],
    cal: &Calibration,
    target: &Target,
    energy_opts: &EnergyOptions,
    bits: &BitsOptions,
) -> Result<Estimate> {
    estimate_priced(layers, None, cal, &cal.energy, target, energy_opts, bits)
}

fn estimate_priced(
    layers: &[LayerInput],
    images: Images,
    cal: &Calibration,
    energy_coefficients: &calibration::EnergyCoefficients,
    target: &Target,
    energy_opts: &EnergyOptions,
    bits: &BitsOptions,
) -> Result<Estimate> {
    let family = cal.family(target.part.family.key())?;
    let n = layers.len();
    let mut out = Vec::with_capacity(n);
    let mut total_res = Resources::default();
    // forgiving_bits.py: the InputLayer counts input_bits per input.
    let n_inputs = match images {
        Some((_, stack, _)) => stack.input_len,
        None => layers.first().map_or(0, |l| l.n_in),
    };
    let mut size_act = n_inputs as u64 * bits.input_bits as u64;
    let mut size_par = 0u64;
    // The head's input type in QTools' terms (differs after an average pooling).
    let mut head_energy_in = None;
    if let Some((features, stack, weights_known)) = images {
        let cx = image::ImageContext { energy: energy_coefficients, family, target, energy_opts, bits, weights_known };
        let (estimates, qtools_type) = image::estimate_images(features, stack, &cx);
        head_energy_in = Some(qtools_type);
        for e in estimates {
            total_res.add(&e.resources);
            size_par += e.size_parameter_bits;
            size_act += e.size_activation_bits;
            out.push(e);
        }
    }
    let first_dense = out.is_empty();
    for (i, layer) in layers.iter().enumerate() {
        let energy = match head_energy_in.filter(|t| i == 0 && *t != layer.in_type) {
            Some(in_type) => {
                let priced = LayerInput { in_type, ..layer.clone() };
                energy::layer_energy(energy_coefficients, energy_opts, &priced, first_dense, i + 1 == n)
            }
            None => energy::layer_energy(energy_coefficients, energy_opts, layer, i == 0 && first_dense, i + 1 == n),
        };
        let features = resources::layer_features(layer, target, family);
        let res = Resources::from_features(&features, family);
        total_res.add(&res);
        let mults = (layer.n_in * layer.n_out) as u64;
        let bx = layer.in_type.width as f64;
        let bops = mults as f64 * layer.weight_type.width as f64 * bx;
        let (ebops, zeros) = match &layer.weights {
            Some(w) => (w.iter().map(|&r| resources::effective_bits(r) as f64 * bx).sum(), w.iter().filter(|&&r| r == 0).count() as u64),
            None => (bops, 0),
        };
        let par = mults * size_bits(&layer.kernel_quantizer, bits.ref_bits)
            + layer.n_out as u64 * size_bits(&layer.bias_quantizer, bits.ref_bits);
        let act = match layer.activation {
            Activation::Linear => 0,
            Activation::Softmax => bits.output_bits as u64 * layer.n_out as u64,
            Activation::Relu => size_bits(&layer.activation_quantizer, bits.ref_bits) * layer.n_out as u64,
        };
        size_par += par;
        size_act += act;
        out.push(LayerEstimate {
            name: layer.name.clone(),
            n_in: layer.n_in,
            n_out: layer.n_out,
            in_type: layer.in_type.cpp(),
            weight_type: layer.weight_type.cpp(),
            accum_type: layer.accum_type.cpp(),
            out_type: layer.out_type.cpp(),
            multiplications: mults,
            bops,
            ebops,
            zero_weights: zeros,
            weight_bits: mults * layer.weight_type.width as u64 + layer.n_out as u64 * layer.bias_type.width as u64,
            size_parameter_bits: par,
            size_activation_bits: act,
            energy,
            features,
            resources: res,
        });
    }
    let latency_cycles = total_res.latency_cycles.ceil().max(0.0) as u64;
    let part = &target.part;
    let pct = |used: f64, total: u64| 100.0 * used / total as f64;
    let totals = Totals {
        energy_pj: out.iter().map(|l| l.energy.total).sum(),
        multiplications: out.iter().map(|l| l.multiplications).sum(),
        bops: out.iter().map(|l| l.bops).sum(),
        ebops: out.iter().map(|l| l.ebops).sum(),
        weight_bits: out.iter().map(|l| l.weight_bits).sum(),
        size_bits: size_par + size_act,
        size_parameter_bits: size_par,
        size_activation_bits: size_act,
        lut: total_res.lut.round(),
        ff: total_res.ff.round(),
        dsp: total_res.dsp.round(),
        bram18: total_res.bram18.ceil(),
        latency_cycles,
        latency_ns: latency_cycles as f64 * target.clock_ns,
        ii_cycles: target.reuse_factor as u64,
        utilisation: Utilisation {
            lut_percent: pct(total_res.lut, part.lut),
            ff_percent: pct(total_res.ff, part.ff),
            dsp_percent: pct(total_res.dsp, part.dsp),
            bram18_percent: pct(total_res.bram18, part.bram18),
        },
    };
    Ok(Estimate {
        flow: Flow::Hls,
        target: target.clone(),
        energy_options: *energy_opts,
        calibration_origin: cal.origin.lines().next().unwrap_or("").to_string(),
        weights_known: layers.iter().all(|l| l.weights.is_some()) && images.map_or(true, |(_, _, known)| known),
        layers: out,
        totals,
        structural: None,
    })
}
