//! Calibration probe: a plain Verilog rendering of a trained network's dense
//! layers, synthesised with Yosys to get measured LUT/FF counts for
//! calibration while the real RTL generator (`qforge rtl`) is not available.
//!
//! Input: a [`FixedNetwork`] (raw constant weights and exact types).
//! Output: `probe.v` (one module, registered layer outputs), and with
//! [`make_probe_run`] a run folder that [`super::RunsFolder`] reads:
//! `model.json`, `probe.v`, `synth.ys`, `yosys.log`, `stat.json`, `run.json`.
//!
//! Each product by a constant weight is written as its canonical signed-digit
//! shift-and-add form (what HLS compilers build from LUTs for constants; a
//! plain `*` would make Yosys infer a DSP48 for every product of 9+ result
//! bits, which is not what the latency-strategy firmware does below 10 bits).
//! Sums wrap at the accumulator width like `accum_type`; ReLU outputs are
//! rounded (half added when the type rounds) and saturated or wrapped to
//! `out_type`. This is a resource probe: rounding ties are not bit-exact to
//! every ap_fixed mode, and a softmax layer is not supported.
use crate::error::{Error, Result};
use crate::estimate::parts::Family;
use crate::events::Reporter;
use crate::model::{Activation, FixedNetwork, ModelSpec, TrainedModel};
use crate::quant::{FixedType, Overflow, Rounding};
use crate::reports::{ParsedReport, SynthReport};
use crate::tools::{self, yosys, ToolEnv};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// The `synth_xilinx -family` of a device family.
pub fn yosys_family(family: Family) -> &'static str {
    match family {
        Family::UltrascalePlus => "xcup",
        Family::Ultrascale => "xcu",
        Family::Series7 => "xc7",
    }
}

/// Canonical signed-digit form of `value`: (shift, +1/−1) pairs, no two adjacent.
pub fn csd_digits(value: i64) -> Vec<(u32, i64)> {
    let mut digits = Vec::new();
    let mut v = value as i128;
    let mut shift = 0;
    while v != 0 {
        if v & 1 == 1 {
            // Remainder mod 4 is 1 → +1, 3 → −1 (then the rest has a run of ones folded).
            let d = 2 - (v & 3) as i64;
            digits.push((shift, d));
            v -= d as i128;
        }
        v >>= 1;
        shift += 1;
    }
    digits
}

fn signed_literal(width: u32, value: i64) -> String {
    if value < 0 {
        format!("-{width}'sd{}", value.unsigned_abs())
    } else {
        format!("{width}'sd{value}")
    }
}

/// The Verilog of `net` as one module `top` with ports `clk`, `x` (inputs,
/// packed, input 0 in the low bits) and `y` (last layer's registered outputs).
pub fn probe_verilog(net: &FixedNetwork, top: &str) -> Result<String> {
    let mut v = String::new();
    let first = net.layers.first().ok_or_else(|| Error::Config("the network has no layer".into()))?;
    let last = net.layers.last().expect("non-empty");
    let in_bits = first.n_in as u32 * first.in_type.width;
    let out_bits = last.n_out as u32 * last.out_type.width;
    let _ = writeln!(v, "// qforge calibration probe (src/calibrate/probe_rtl.rs): not the firmware.");
    let _ = writeln!(v, "module {top}(input clk, input [{}:0] x, output [{}:0] y);", in_bits - 1, out_bits - 1);
    let mut input_bus = "x".to_string();
    for (l, layer) in net.layers.iter().enumerate() {
        if layer.activation == Activation::Softmax {
            return Err(Error::Config(format!("layer `{}`: the calibration probe has no softmax; use a linear last layer", layer.name)));
        }
        let (iw, aw, ow) = (layer.in_type.width, layer.accum_type.width, layer.out_type.width);
        let af = layer.accum_type.frac();
        let product_shift = af - (layer.in_type.frac() + layer.weight_type.frac());
        let bias_shift = af - layer.bias_type.frac();
        if product_shift < 0 || bias_shift < 0 {
            return Err(Error::Config(format!(
                "layer `{}`: accumulator {} is coarser than its products",
                layer.name,
                layer.accum_type.cpp()
            )));
        }
        if aw > 62 {
            return Err(Error::Config(format!("layer `{}`: accumulator wider than 62 bits", layer.name)));
        }
        for i in 0..layer.n_in {
            let ext = if layer.in_type.signed { format!("{input_bus}[{}]", i as u32 * iw + iw - 1) } else { "1'b0".into() };
            let _ = writeln!(
                v,
                "  wire signed [{}:0] l{l}_x{i} = {{{{{}{{{ext}}}}}, {input_bus}[{} +: {iw}]}};",
                aw - 1,
                aw - iw,
                i as u32 * iw
            );
        }
        let _ = writeln!(v, "  reg [{}:0] l{l}_y;", layer.n_out as u32 * ow - 1);
        for o in 0..layer.n_out {
            let mut terms = Vec::new();
            for i in 0..layer.n_in {
                for (shift, sign) in csd_digits(layer.weights[i * layer.n_out + o]) {
                    let s = shift as i32 + product_shift;
                    let term = if s == 0 { format!("l{l}_x{i}") } else { format!("(l{l}_x{i} <<< {s})") };
                    terms.push((sign, term));
                }
            }
            let bias = layer.biases[o] << bias_shift;
            let mut expr = String::new();
            for (k, (sign, term)) in terms.iter().enumerate() {
                let op = match (k, sign) {
                    (0, 1) => "",
                    (0, _) => "-",
                    (_, 1) => " + ",
                    _ => " - ",
                };
                expr.push_str(op);
                expr.push_str(term);
            }
            if bias != 0 || expr.is_empty() {
                if !expr.is_empty() {
                    expr.push_str(" + ");
                }
                expr.push_str(&signed_literal(aw, bias));
            }
            let _ = writeln!(v, "  wire signed [{}:0] l{l}_acc{o} = {expr};", aw - 1);
            let value = cast_expr(&format!("l{l}_acc{o}"), l, o, &layer.accum_type, &layer.out_type, layer.activation, &mut v);
            let _ = writeln!(v, "  always @(posedge clk) l{l}_y[{} +: {ow}] <= {value};", o as u32 * ow);
        }
        input_bus = format!("l{l}_y");
    }
    let _ = writeln!(v, "  assign y = {input_bus};\nendmodule");
    Ok(v)
}

/// Declare the wires casting accumulator `acc` to `out` (ReLU first when asked);
/// return the expression of the `out`-wide result.
fn cast_expr(acc: &str, l: usize, o: usize, acc_t: &FixedType, out: &FixedType, act: Activation, v: &mut String) -> String {
    let aw = acc_t.width;
    let mut value = acc.to_string();
    if act == Activation::Relu {
        let _ = writeln!(v, "  wire signed [{}:0] l{l}_r{o} = {acc}[{}] ? {aw}'sd0 : {acc};", aw - 1, aw - 1);
        value = format!("l{l}_r{o}");
    }
    if out == acc_t {
        return value;
    }
    let drop = acc_t.frac() - out.frac();
    // Wide enough for the shifted value and the half added for rounding.
    let ww = (aw as i32 + 1 + (-drop).max(0)) as u32;
    let half = if drop > 0 && out.rounding != Rounding::Trn && out.rounding != Rounding::TrnZero { 1i64 << (drop - 1) } else { 0 };
    let shifted = match drop {
        d if d > 0 => format!("((l{l}_w{o} + {}) >>> {d})", signed_literal(ww, half)),
        0 => format!("l{l}_w{o}"),
        d => format!("(l{l}_w{o} <<< {})", -d),
    };
    let sign = if acc_t.signed { format!("{value}[{}]", aw - 1) } else { "1'b0".into() };
    let _ = writeln!(v, "  wire signed [{}:0] l{l}_w{o} = {{{{{}{{{sign}}}}}, {value}}};", ww - 1, ww - aw);
    let _ = writeln!(v, "  wire signed [{}:0] l{l}_s{o} = {shifted};", ww - 1);
    let ow = out.width;
    if out.overflow == Overflow::Wrap {
        return format!("l{l}_s{o}[{}:0]", ow - 1);
    }
    let (max, min) = (out.max_raw(), out.min_raw());
    format!(
        "((l{l}_s{o} > {}) ? {ow}'d{} : (l{l}_s{o} < {}) ? {} : l{l}_s{o}[{}:0])",
        signed_literal(ww, max),
        max as u64 & ((1u64 << ow) - 1),
        signed_literal(ww, min),
        format_args!("{ow}'d{}", min as u64 & ((1u64 << ow) - 1)),
        ow - 1
    )
}

/// Synthesise `verilog_file` (top `top`) with Yosys into `run_dir`, through the
/// shared tool runner; return the parsed `stat.json`.
pub fn synth_probe(
    run_dir: &Path,
    verilog_file: &Path,
    top: &str,
    family: Family,
    timeout: Duration,
    reporter: &dyn Reporter,
) -> Result<SynthReport> {
    let env = ToolEnv::from_process();
    let located = yosys::locate(&env)?;
    let job = yosys::YosysJob::new(vec![verilog_file.to_path_buf()], top, yosys_family(family), false);
    let invocation = yosys::prepare(&located, &job, run_dir, run_dir, timeout, &env)?;
    let result = tools::run(&invocation, reporter)?;
    if !result.outcome.is_success() {
        return Err(Error::Tool(format!(
            "yosys on {}: {} (log {})",
            verilog_file.display(),
            result.outcome.describe(),
            result.log_path.display()
        )));
    }
    match crate::reports::parse_file(&run_dir.join("stat.json"))? {
        ParsedReport::Synth(r) => Ok(r),
        ParsedReport::Power(_) => Err(Error::input(run_dir.join("stat.json"), "expected Yosys statistics, found a power report")),
    }
}

/// The spec of probe model `index`: 16 inputs → hidden (one of
/// `hidden_choices`, ReLU) → 5 (linear), with widths drawn from `seed`:
/// input 3–6 bits, kernels and biases 2–7 bits per layer, ReLU 2–7 bits.
/// (Yosys needs minutes for a 16→16 layer of 8-bit products on a busy
/// 2-core machine, hence the small sizes.)
pub fn probe_spec(index: usize, seed: u64, hidden_choices: &[usize]) -> Result<ModelSpec> {
    use rand::{Rng, SeedableRng};
    if hidden_choices.is_empty() {
        return Err(Error::Config("probe: no hidden layer size to choose from".into()));
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed.wrapping_mul(1_000_003).wrapping_add(index as u64));
    let hidden = hidden_choices[rng.gen_range(0..hidden_choices.len())];
    let input_bits: u32 = rng.gen_range(3..=6);
    let k1: u32 = rng.gen_range(2..=7);
    let k2: u32 = rng.gen_range(2..=7);
    let relu: u32 = rng.gen_range(2..=7);
    let text = format!(
        r#"name = "probe_{index}"
inputs = 16
input_type = "ap_fixed<{input_bits},3>"
[[layers]]
type = "dense"
units = {hidden}
kernel_quantizer = "quantized_bits({k1},0,alpha=1)"
bias_quantizer = "quantized_bits({k1},0,alpha=1)"
[[layers]]
type = "activation"
activation = "relu"
quantizer = "quantized_relu({relu})"
[[layers]]
type = "dense"
units = 5
kernel_quantizer = "quantized_bits({k2},0,alpha=1)"
bias_quantizer = "quantized_bits({k2},0,alpha=1)"
[training]
learning_rate = 0.003
batch_size = 512
epochs = 2
patience = 3
l1 = 0.0001
l2 = 0.0
seed = {}
"#,
        seed + index as u64
    );
    ModelSpec::from_toml(&text, Path::new(&format!("probe_{index}.toml")))
}

/// Train `spec` briefly on synthetic data, then write a complete run folder:
/// `model.json`, `probe.v`, Yosys outputs and `run.json` (part, tool, flow).
pub fn make_probe_run(
    run_dir: &Path,
    spec: &ModelSpec,
    part: &str,
    samples: usize,
    epochs: usize,
    timeout: Duration,
    reporter: &dyn Reporter,
) -> Result<SynthReport> {
    use crate::data::loaders::DataSource;
    use crate::train::session::{prepare_data, train_and_evaluate};
    let target_part = crate::estimate::parts::lookup(part)?;
    std::fs::create_dir_all(run_dir).map_err(|e| Error::io(run_dir, e))?;
    let data = prepare_data(&DataSource::Synthetic { samples, seed: spec.training.seed }, spec, spec.training.seed)?;
    let (model, _, _) = train_and_evaluate(spec, &data, Some(epochs), reporter)?;
    model.save(&run_dir.join("model.json"))?;
    write_probe_and_synth(run_dir, &model, part, target_part.family, timeout, reporter)
}

/// For an already trained model: `probe.v`, Yosys, `run.json` in `run_dir`.
pub fn write_probe_and_synth(
    run_dir: &Path,
    model: &TrainedModel,
    part: &str,
    family: Family,
    timeout: Duration,
    reporter: &dyn Reporter,
) -> Result<SynthReport> {
    let net = FixedNetwork::from_model(model)?;
    let verilog = run_dir.join("probe.v");
    crate::error::write_atomic(&verilog, probe_verilog(&net, "probe")?.as_bytes())?;
    let report = synth_probe(run_dir, &verilog, "probe", family, timeout, reporter)?;
    let info =
        super::RunInfo { part: Some(part.to_string()), tool: Some("yosys".into()), flow: Some("probe_rtl".into()), ..Default::default() };
    let json = serde_json::to_string_pretty(&info).map_err(|e| Error::Config(e.to_string()))?;
    crate::error::write_atomic(&run_dir.join("run.json"), json.as_bytes())?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csd_digits_sum_to_the_value() {
        for v in -300i64..300 {
            let sum: i64 = csd_digits(v).iter().map(|(s, d)| d << s).sum();
            assert_eq!(sum, v, "{v}: {:?}", csd_digits(v));
            let shifts: Vec<u32> = csd_digits(v).iter().map(|d| d.0).collect();
            assert!(shifts.windows(2).all(|w| w[1] > w[0] + 1), "adjacent digits for {v}");
        }
        assert_eq!(csd_digits(7), vec![(0, -1), (3, 1)]);
    }
}
