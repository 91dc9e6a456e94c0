//! The HLS project writer: a trained model in, an hls4ml-shaped project folder
//! out (`firmware/<top>.cpp/.h`, `defines.h`, `parameters.h`, one weights
//! header per tensor, `nnet_utils/`, the testbench, `tb_data/`, the Tcl and
//! XDC scripts, a README, and `qforge_hls.json` naming the settings).
//!
//! Input: a [`TrainedModel`] (its [`FixedNetwork`] gives every type and raw
//! weight) and an [`HlsConfig`]. Every check runs and every file is rendered
//! in memory before the first byte is written, so bad input leaves the output
//! folder as it was. Constants are written as raw integer bits.
use super::alpha::{alpha_step, AlphaCtx};
use super::config::{HlsConfig, Strategy};
use super::cpp_text::{array_header, is_c_identifier, raw_cpp, raw_list};
use super::softmax_files::{hls4ml_softmax_files, SoftmaxHls4mlCtx};
use crate::error::{Error, Result};
use crate::estimate::parts::Part;
use crate::model::{Activation, ActivationFn, FixedNetwork, SoftmaxImplementation, TrainedModel};
use crate::quant::FixedType;
use crate::tools::scripts::{render_project_scripts, write_if_changed, ScriptParams};
use crate::tools::templates::TemplateSet;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The file, in the project folder, holding the settings the project was written with.
pub const HLS_META_FILE: &str = "qforge_hls.json";
/// The copy of the model the project was written from.
pub const MODEL_FILE: &str = "model.json";
/// Test vectors the testbench reads by default, and the outputs it must produce.
pub const TB_INPUT_FILE: &str = "tb_data/tb_input_raw.dat";
pub const TB_OUTPUT_FILE: &str = "tb_data/tb_output_raw.dat";

/// What `qforge_hls.json` records.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProjectMeta {
    pub config: HlsConfig,
    pub model_name: String,
    pub model_file: String,
    pub n_inputs: usize,
    pub n_outputs: usize,
    pub input_type: String,
    pub output_type: String,
}

/// Options of the writer beyond the HLS settings.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// Write into a folder that already holds files (qforge's files are overwritten, others kept).
    pub force: bool,
    /// A folder whose files replace the embedded templates of the same name.
    pub templates: Option<PathBuf>,
    /// Raw test inputs (row-major) for `tb_data/`; one zero sample when `None`.
    pub test_inputs: Option<Vec<i64>>,
}

/// A written project.
#[derive(Debug, Clone, Serialize)]
pub struct HlsProject {
    pub dir: PathBuf,
    pub meta: ProjectMeta,
    pub part: Part,
    pub files: Vec<PathBuf>,
}

/// Read `qforge_hls.json` from a project folder written by [`write_project`].
pub fn load_meta(project: &Path) -> Result<ProjectMeta> {
    let path = project.join(HLS_META_FILE);
    if !path.is_file() {
        return Err(Error::input(&path, "not found: is this a project written by `qforge hls`?"));
    }
    let text = crate::error::read_to_string(&path)?;
    serde_json::from_str(&text).map_err(|e| Error::input_at(&path, Some(e.line()), None, e.to_string()))
}

#[derive(Serialize)]
pub(super) struct Typedef {
    pub(super) name: String,
    pub(super) cpp: String,
    pub(super) comment: String,
}

#[derive(Serialize)]
pub(super) struct SizeDef {
    pub(super) name: String,
    pub(super) value: usize,
}

#[derive(Serialize)]
struct DenseCtx {
    index: usize,
    name: String,
    n_in: usize,
    n_out: usize,
    reuse: usize,
    strategy: &'static str,
    multiplier_limit: usize,
    weight_cpp: String,
    bias_cpp: String,
    accum_cpp: String,
    out_cpp: String,
}

#[derive(Serialize)]
pub(super) struct ActivationCtx {
    pub(super) index: usize,
    pub(super) kind: &'static str,
    pub(super) n: usize,
    /// A leaky ReLU's slope (its type, the value) and QKeras' clip of negative outputs.
    pub(super) leaky: Option<LeakyCtx>,
}

#[derive(Serialize)]
pub(super) struct LeakyCtx {
    param_cpp: String,
    slope: String,
    clip_lowest: bool,
    lowest: String,
}

#[derive(Serialize)]
struct SoftmaxCtx {
    index: usize,
    n: usize,
    table_size: usize,
}

#[derive(Serialize)]
struct StepCtx {
    kind: &'static str,
    index: usize,
    comment: String,
    in_var: String,
    in_t: String,
    out_var: String,
    out_t: String,
    n: String,
    last: bool,
    in_chan: usize,
    in_depth: usize,
    out_chan: usize,
    out_depth: usize,
}

#[derive(Serialize)]
struct Context {
    top: String,
    top_upper: String,
    model_name: String,
    part: String,
    clock_period: f64,
    strategy: &'static str,
    reuse: usize,
    backend_title: &'static str,
    n_inputs: usize,
    n_outputs: usize,
    input_var: String,
    output_var: String,
    input_cpp: String,
    result_cpp: String,
    sizes: Vec<SizeDef>,
    typedefs: Vec<Typedef>,
    dense: Vec<DenseCtx>,
    alphas: Vec<AlphaCtx>,
    activations: Vec<ActivationCtx>,
    softmax: Option<SoftmaxCtx>,
    softmax_hls4ml: Option<SoftmaxHls4mlCtx>,
    convs: Vec<super::feature_steps::ConvCtx>,
    pools: Vec<super::feature_steps::PoolCtx>,
    steps: Vec<StepCtx>,
    /// io_stream, and its input stream's values per transaction and transactions.
    stream: bool,
    input_chan: usize,
    input_depth: usize,
}

/// One step of the top function; the last one's output is `result_t`.
pub(super) struct Pending {
    pub(super) kind: &'static str,
    pub(super) index: usize,
    pub(super) comment: String,
    pub(super) out_cpp: String,
    pub(super) n_macro: String,
    /// The output stream's values per transaction and transactions (io_stream).
    pub(super) chan: usize,
    pub(super) depth: usize,
}

/// Everything a project holds, rendered in memory: (relative path, bytes).
struct Rendered {
    files: Vec<(PathBuf, Vec<u8>)>,
    meta: ProjectMeta,
    part: Part,
    params: ScriptParams,
}

fn render(model: &TrainedModel, net: &FixedNetwork, config: &HlsConfig, options: &WriteOptions) -> Result<Rendered> {
    if !is_c_identifier(&config.top) {
        return Err(Error::Config(format!("top function `{}` is not a C identifier", config.top)));
    }
    let part = config.check(net)?;
    let templates = TemplateSet::new(options.templates.as_deref())?;
    let top = config.top.clone();
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let mut sizes = vec![SizeDef { name: "N_INPUT_1_1".into(), value: net.n_inputs() }];
    let mut typedefs = vec![Typedef { name: "input_t".into(), cpp: net.input_type.cpp(), comment: "network input".into() }];
    let (mut dense, mut activations, mut steps, mut alphas) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut softmax_ctx = None;
    let mut index = 1;
    let (mut in_var, mut in_t) = ("input_1".to_string(), "input_t".to_string());

    let mut pending: Vec<Pending> = Vec::new();
    let mut features = super::feature_steps::FeatureParts::default();
    if let Some(stack) = &net.features {
        features = super::feature_steps::feature_steps(stack, model, net, config, &mut index)?;
        sizes.append(&mut features.sizes);
        typedefs.append(&mut features.typedefs);
        files.append(&mut features.files);
        activations.append(&mut features.activations);
        pending.append(&mut features.pending);
    }
    for layer in &net.layers {
        index += 1;
        let k = index;
        let n_macro = format!("N_LAYER_{k}");
        sizes.push(SizeDef { name: n_macro.clone(), value: layer.n_out });
        let tensor = |what: &str, t: &FixedType| Typedef {
            name: format!("layer{k}_{what}_t"),
            cpp: t.cpp(),
            comment: format!("{} {what}", layer.name),
        };
        typedefs.push(tensor("weight", &layer.weight_type));
        typedefs.push(tensor("bias", &layer.bias_type));
        typedefs.push(tensor("accum", &layer.accum_type));
        typedefs.push(Typedef { name: format!("layer{k}_weight_raw_t"), cpp: raw_cpp(&layer.weight_type), comment: "raw bits".into() });
        typedefs.push(Typedef { name: format!("layer{k}_bias_raw_t"), cpp: raw_cpp(&layer.bias_type), comment: "raw bits".into() });
        dense.push(DenseCtx {
            index: k,
            name: layer.name.clone(),
            n_in: layer.n_in,
            n_out: layer.n_out,
            reuse: config.reuse_factor,
            strategy: config.strategy.name(),
            multiplier_limit: (layer.n_in * layer.n_out).div_ceil(config.reuse_factor),
            weight_cpp: layer.weight_type.cpp(),
            bias_cpp: layer.bias_type.cpp(),
            accum_cpp: layer.accum_type.cpp(),
            out_cpp: layer.out_type.cpp(),
        });
        files.push((
            PathBuf::from(format!("firmware/weights/w{k}.h")),
            array_header(
                &format!("W{k}_H_"),
                &format!(
                    "w{k}.h: weights of {} ({} x {}, row-major [n_in][n_out]), {}",
                    layer.name,
                    layer.n_in,
                    layer.n_out,
                    layer.weight_type.cpp()
                ),
                &format!("layer{k}_weight_raw_t"),
                &format!("w{k}"),
                &layer.weights,
            )
            .into_bytes(),
        ));
        files.push((
            PathBuf::from(format!("firmware/weights/b{k}.h")),
            array_header(
                &format!("B{k}_H_"),
                &format!("b{k}.h: biases of {} ({}), {}", layer.name, layer.n_out, layer.bias_type.cpp()),
                &format!("layer{k}_bias_raw_t"),
                &format!("b{k}"),
                &layer.biases,
            )
            .into_bytes(),
        ));
        pending.push(Pending {
            kind: "dense",
            index: k,
            comment: format!("{}: dense {} x {}, {} strategy", layer.name, layer.n_in, layer.n_out, config.strategy.name()),
            out_cpp: layer.result_type.cpp(),
            n_macro: n_macro.clone(),
            chan: layer.n_out,
            depth: 1,
        });
        let mut act_in = layer.result_type;
        if let Some(st) = &layer.alpha {
            if config.io_type == "io_stream" {
                return Err(Error::Config(format!(
                    "layer `{}`: hls4ml's ApplyAlpha (a kernel with alpha \"auto\" or a number) is written for io_parallel only: use io_parallel",
                    layer.name
                )));
            }
            index += 1;
            let (step, mut tds, mut fs) = alpha_step(&layer.name, st, index, &n_macro);
            typedefs.append(&mut tds);
            files.append(&mut fs);
            alphas.push(AlphaCtx { index, name: format!("{}_alpha", layer.name), n: layer.n_out });
            pending.push(step);
            act_in = st.result_type;
        }
        let mut leaky = None;
        let activation = match (&layer.activation_fn, layer.activation) {
            (ActivationFn::Leaky { slope_raw, slope_frac, lowest }, _) => {
                let param = FixedType::new(64 - slope_raw.leading_zeros() + 1, 64 - slope_raw.leading_zeros() as i32 + 1 - slope_frac, true);
                let value = |raw: i64, frac: i32| format!("{:e}", raw as f64 * (-frac as f64).exp2());
                leaky = Some(LeakyCtx {
                    param_cpp: param.cpp(),
                    slope: value(*slope_raw, *slope_frac),
                    clip_lowest: lowest.is_some(),
                    lowest: value(lowest.unwrap_or(0), layer.out_type.frac()),
                });
                Some("leaky_relu")
            }
            (ActivationFn::Po2 { .. }, _) => {
                return Err(Error::Config(format!(
                    "layer `{}`: quantized_relu_po2 has no HLS C++ form in qforge yet (nor in hls4ml 1.3.0); the Rust model (`qforge eval`, `predict`) takes it",
                    layer.name
                )))
            }
            (ActivationFn::Cast, Activation::Relu) => Some("relu"),
            // A quantized linear output (or softmax input) is a cast into its type.
            (ActivationFn::Cast, Activation::Linear | Activation::Softmax) => (layer.out_type != act_in).then_some("linear"),
        };
        if let Some(kind) = activation {
            index += 1;
            activations.push(ActivationCtx { index, kind, n: layer.n_out, leaky });
            pending.push(Pending {
                kind,
                index,
                comment: format!("{}: {kind} into {}", layer.name, layer.out_type.cpp()),
                out_cpp: layer.out_type.cpp(),
                n_macro: n_macro.clone(),
                chan: layer.n_out,
                depth: 1,
            });
        }
    }
    if let Some(tables) = &net.softmax {
        index += 1;
        let k = index;
        let types = [
            ("diff", tables.diff_type),
            ("exp", tables.exp_type),
            ("sum", tables.sum_type),
            ("inv_index", tables.sum_index_type),
            ("inv", tables.inv_type),
        ];
        for (what, t) in types {
            typedefs.push(Typedef { name: format!("softmax{k}_{what}_t"), cpp: t.cpp(), comment: format!("softmax {what}") });
        }
        typedefs.push(Typedef { name: format!("softmax{k}_exp_raw_t"), cpp: raw_cpp(&tables.exp_type), comment: "raw bits".into() });
        typedefs.push(Typedef { name: format!("softmax{k}_inv_raw_t"), cpp: raw_cpp(&tables.inv_type), comment: "raw bits".into() });
        let guard = format!("SOFTMAX_TABLES{k}_H_");
        let text = format!(
            "// softmax_tables{k}.h: exp(-d) indexed by d in {} and 1/sum indexed by sum in {}.\n\
             // Written by qforge from the Rust model's tables, as raw bits.\n#ifndef {guard}\n#define {guard}\n\n\
             static const softmax{k}_exp_raw_t exp_table{k}[{}] = {{{}}};\n\n\
             static const softmax{k}_inv_raw_t inv_table{k}[{}] = {{{}}};\n\n#endif\n",
            tables.diff_type.cpp(),
            tables.sum_index_type.cpp(),
            tables.exp_table.len(),
            raw_list(&tables.exp_table),
            tables.inv_table.len(),
            raw_list(&tables.inv_table)
        );
        files.push((PathBuf::from(format!("firmware/weights/softmax_tables{k}.h")), text.into_bytes()));
        softmax_ctx = Some(SoftmaxCtx { index: k, n: tables.n, table_size: tables.exp_table.len() });
        pending.push(Pending {
            kind: "softmax",
            index: k,
            comment: format!("softmax with lookup tables into {}", tables.out_type.cpp()),
            out_cpp: tables.out_type.cpp(),
            n_macro: "N_OUTPUTS".into(),
            chan: net.n_outputs(),
            depth: 1,
        });
    }
    let mut softmax_hls4ml = None;
    if let Some(sm) = &net.hls4ml_softmax {
        index += 1;
        let (ctx, typedefs_sm, file) = hls4ml_softmax_files(sm, index);
        typedefs.extend(typedefs_sm);
        files.push(file);
        pending.push(Pending {
            kind: match sm.implementation {
                SoftmaxImplementation::Latency => "softmax_latency",
                SoftmaxImplementation::Legacy => "softmax_legacy",
                SoftmaxImplementation::Argmax => "softmax_argmax",
                SoftmaxImplementation::Stable | SoftmaxImplementation::Qforge => "softmax_stable",
            },
            index,
            comment: format!("hls4ml's {} softmax into {}", sm.implementation.hls4ml_name().unwrap_or("stable"), sm.out_type.cpp()),
            out_cpp: sm.out_type.cpp(),
            n_macro: "N_OUTPUTS".into(),
            chan: net.n_outputs(),
            depth: 1,
        });
        softmax_hls4ml = Some(ctx);
    }
    sizes.push(SizeDef { name: "N_OUTPUTS".into(), value: net.n_outputs() });
    let n_steps = pending.len();
    let mut output_var = String::new();
    let stream = config.io_type == "io_stream";
    let (input_chan, input_depth) = super::feature_steps::input_transactions(model, net);
    let (mut in_chan, mut in_depth) = (input_chan, input_depth);
    for (i, p) in pending.into_iter().enumerate() {
        let last = i + 1 == n_steps;
        let out_t = if last { "result_t".to_string() } else { format!("layer{}_t", p.index) };
        let comment = if last { "network output".to_string() } else { format!("layer {} output", p.index) };
        typedefs.push(Typedef { name: out_t.clone(), cpp: p.out_cpp, comment });
        let out_var = format!("layer{}_out", p.index);
        steps.push(StepCtx {
            kind: p.kind,
            index: p.index,
            comment: p.comment,
            in_var: in_var.clone(),
            in_t: in_t.clone(),
            out_var: out_var.clone(),
            out_t: out_t.clone(),
            n: p.n_macro,
            last,
            in_chan,
            in_depth,
            out_chan: p.chan,
            out_depth: p.depth,
        });
        (in_chan, in_depth) = (p.chan, p.depth);
        in_var = out_var.clone();
        in_t = out_t;
        output_var = out_var;
    }
    let backend_title = match config.backend {
        super::HlsBackend::VivadoHls => "Vivado HLS",
        super::HlsBackend::VitisHls => "Vitis HLS",
    };
    let context = Context {
        top: top.clone(),
        top_upper: top.to_ascii_uppercase(),
        model_name: model.spec.name.clone(),
        part: part.name.clone(),
        clock_period: config.clock_period_ns,
        strategy: config.strategy.name(),
        reuse: config.reuse_factor,
        backend_title,
        n_inputs: net.n_inputs(),
        n_outputs: net.n_outputs(),
        input_var: "input_1".into(),
        output_var,
        input_cpp: net.input_type.cpp(),
        result_cpp: net.output_type().cpp(),
        sizes,
        typedefs,
        dense,
        alphas,
        activations,
        softmax: softmax_ctx,
        softmax_hls4ml,
        convs: features.convs,
        pools: features.pools,
        steps,
        stream,
        input_chan,
        input_depth,
    };
    let value = minijinja::Value::from_serialize(&context);
    let (cpp, header) = if stream { ("myproject_stream.cpp", "myproject_stream.h") } else { ("myproject.cpp", "myproject.h") };
    let mut outputs = vec![
        (cpp, format!("firmware/{top}.cpp")),
        (header, format!("firmware/{top}.h")),
        ("defines.h", "firmware/defines.h".into()),
        ("parameters.h", "firmware/parameters.h".into()),
        ("nnet_common.h", "firmware/nnet_utils/nnet_common.h".into()),
        ("nnet_dense.h", "firmware/nnet_utils/nnet_dense.h".into()),
        ("nnet_activation.h", "firmware/nnet_utils/nnet_activation.h".into()),
        ("nnet_softmax.h", "firmware/nnet_utils/nnet_softmax.h".into()),
        ("nnet_softmax_hls4ml.h", "firmware/nnet_utils/nnet_softmax_hls4ml.h".into()),
        ("nnet_conv.h", "firmware/nnet_utils/nnet_conv.h".into()),
        ("nnet_pooling.h", "firmware/nnet_utils/nnet_pooling.h".into()),
        ("nnet_batchnorm.h", "firmware/nnet_utils/nnet_batchnorm.h".into()),
        ("myproject_test.cpp", format!("{top}_test.cpp")),
        ("README.md", "README.md".into()),
    ];
    if stream {
        for name in ["nnet_stream.h", "nnet_conv_stream.h", "nnet_pooling_stream.h"] {
            outputs.push((name, format!("firmware/nnet_utils/{name}")));
        }
    }
    for (template, relative) in outputs {
        files.push((PathBuf::from(relative), templates.render(template, &value)?.into_bytes()));
    }

    // Test vectors and the outputs the Rust model computes for them.
    let zero = vec![0i64; net.n_inputs()];
    let inputs = options.test_inputs.as_deref().filter(|v| !v.is_empty()).unwrap_or(&zero);
    if inputs.len() % net.n_inputs() != 0 {
        return Err(Error::Config(format!("{} raw test inputs are not a whole number of {}-input samples", inputs.len(), net.n_inputs())));
    }
    let expected = net.predict_raw(inputs);
    files.push((PathBuf::from(TB_INPUT_FILE), crate::model::predict_io::format_inputs_raw(inputs, net.n_inputs()).into_bytes()));
    files.push((PathBuf::from(TB_OUTPUT_FILE), expected_lines(&expected).into_bytes()));
    files.push((PathBuf::from(MODEL_FILE), serde_json::to_vec_pretty(model).expect("model serializes")));

    let meta = ProjectMeta {
        config: config.clone(),
        model_name: model.spec.name.clone(),
        model_file: MODEL_FILE.into(),
        n_inputs: net.n_inputs(),
        n_outputs: net.n_outputs(),
        input_type: net.input_type.cpp(),
        output_type: net.output_type().cpp(),
    };
    files.push((PathBuf::from(HLS_META_FILE), (serde_json::to_string_pretty(&meta).expect("meta serializes") + "\n").into_bytes()));
    let params = ScriptParams {
        backend: config.backend,
        part: part.name.clone(),
        clock_period_ns: config.clock_period_ns,
        io_type: config.io_type.clone(),
        ..ScriptParams::new(&top)
    };
    Ok(Rendered { files, meta, part, params })
}

/// One line per sample as the testbench writes it: raw outputs, then the class.
pub fn expected_lines(out: &crate::model::fixed::FixedOutputs) -> String {
    let n = out.outputs.len() / out.n_out.max(1);
    let mut s = String::new();
    for i in 0..n {
        for v in &out.outputs[i * out.n_out..(i + 1) * out.n_out] {
            let _ = write!(s, "{v} ");
        }
        let _ = writeln!(s, "{}", out.predicted_class(i));
    }
    s
}

/// Refuse an output folder that holds files unless `force`; refuse a file.
fn check_out_dir(out: &Path, force: bool) -> Result<()> {
    if out.exists() && !out.is_dir() {
        return Err(Error::input(out, "the output path exists and is not a folder"));
    }
    if out.is_dir() && !force {
        let mut entries = std::fs::read_dir(out).map_err(|e| Error::io(out, e))?;
        if entries.next().is_some() {
            return Err(Error::Config(format!(
                "output folder {} exists and is not empty: choose another folder or pass --force \
                 (qforge's files are overwritten, other files are kept)",
                out.display()
            )));
        }
    }
    Ok(())
}

/// Write the HLS project for `model` into `out`. Checks run and everything is
/// rendered before anything is written; unchanged files are not rewritten.
pub fn write_project(model: &TrainedModel, config: &HlsConfig, out: &Path, options: &WriteOptions) -> Result<HlsProject> {
    let net = FixedNetwork::from_model(model)?;
    check_out_dir(out, options.force)?;
    let rendered = render(model, &net, config, options)?;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let mut files = Vec::new();
    for (relative, bytes) in &rendered.files {
        let path = out.join(relative);
        write_if_changed(&path, bytes)?;
        files.push(path);
    }
    files.extend(render_project_scripts(&rendered.params, out, options.templates.as_deref())?);
    Ok(HlsProject { dir: out.to_path_buf(), meta: rendered.meta, part: rendered.part, files })
}

impl HlsConfig {
    /// The settings with the strategy given by name (`latency`, `resource`).
    pub fn with_strategy(mut self, name: &str) -> Result<Self> {
        self.strategy = Strategy::parse(name)?;
        Ok(self)
    }
}
