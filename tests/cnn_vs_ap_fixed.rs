//! The image layers' fixed-point model against g++ and the real ap_fixed.h:
//! random Conv1D/Conv2D layers (strides, valid/same padding, with and without
//! bias, ReLU, stated accumulators that wrap or saturate) through a C++ loop
//! written as hls4ml's conv_2d_latency_cl computes (product cast into accum_t,
//! accumulator started at the bias, result_t, ReLU), and random Max/Average
//! pooling and global pooling through hls4ml 1.3's own nnet_pooling.h
//! (tests/fixtures/hls4ml_nnet), bit for bit.
mod hls_support;

use hls_support::from_bits;
use qforge::model::conv::{ConvTypes, FixedConv, Padding, Shape3, Window};
use qforge::model::pool::{FixedGlobalPool, FixedPool, PoolOp, PoolTypes};
use qforge::model::spec::TypesMode;
use qforge::quant::{FixedType, Overflow, Rounding};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

fn random_type(rng: &mut ChaCha8Rng, max_width: u32, modes: bool) -> FixedType {
    let width = rng.gen_range(2..=max_width);
    // The headers assert on I < 0 or I > W; our types never use them.
    let t = FixedType::new(width, rng.gen_range(0..=width as i32), rng.gen_bool(0.7));
    if modes {
        t.with_modes(Rounding::ALL[rng.gen_range(0..7)], Overflow::ALL[rng.gen_range(0..4)])
    } else {
        t
    }
}

fn raws(rng: &mut ChaCha8Rng, t: &FixedType, n: usize) -> Vec<i64> {
    (0..n).map(|_| rng.gen_range(t.min_raw()..=t.max_raw())).collect()
}

fn list(v: &[i64]) -> String {
    if v.is_empty() {
        return "0LL".into();
    }
    v.iter().map(|r| format!("{r}LL")).collect::<Vec<_>>().join(",")
}

fn random_shape_and_window(rng: &mut ChaCha8Rng, max_channels: usize) -> (Shape3, Window) {
    let one_d = rng.gen_bool(0.3);
    let input = Shape3::new(if one_d { 1 } else { rng.gen_range(1..=6) }, rng.gen_range(1..=7), rng.gen_range(1..=max_channels));
    let size = (if one_d { 1 } else { rng.gen_range(1..=3) }, rng.gen_range(1..=3));
    let stride = (if one_d { 1 } else { rng.gen_range(1..=3) }, rng.gen_range(1..=3));
    let fits = size.0 <= input.height && size.1 <= input.width;
    let padding = if !fits || rng.gen_bool(0.5) { Padding::Same } else { Padding::Valid };
    (input, Window::new(size, stride, padding))
}

/// Padding before and after on one axis, as hls4ml's compute_padding does.
fn pads(input: usize, out: usize, size: usize, stride: usize) -> (usize, usize) {
    let total = ((out - 1) * stride + size).saturating_sub(input);
    (total / 2, total - total / 2)
}

/// One layer under test: the C++ block printing its outputs, and what Rust says.
struct Case {
    what: String,
    out_type: FixedType,
    expected: Vec<i64>,
}

fn setter(var: &str, ty: &str, raw: &str) -> String {
    format!("{var}.range({ty}::width - 1, 0) = (unsigned long long)({raw});")
}

fn conv_case(rng: &mut ChaCha8Rng, k: usize, cpp: &mut String, _decls: &mut String) -> Case {
    let (input, window) = random_shape_and_window(rng, 3);
    let filters = rng.gen_range(1..=3);
    let (tin, tw, tb) = (random_type(rng, 10, false), random_type(rng, 8, false), random_type(rng, 8, false));
    let mut types = ConvTypes::inferred(tin, tw, tb, input.channels, window.size);
    if rng.gen_bool(0.3) {
        types.accum = random_type(rng, 12, true); // a stated accumulator that can wrap or saturate
    }
    types.result = if rng.gen_bool(0.5) { random_type(rng, 12, true) } else { types.accum };
    types.out = random_type(rng, 10, true);
    let relu = rng.gen_bool(0.5);
    let weights = raws(rng, &tw, window.size.0 * window.size.1 * input.channels * filters);
    let biases = if rng.gen_bool(0.7) { raws(rng, &tb, filters) } else { vec![] };
    let conv = FixedConv::new("conv", input, window, filters, types, relu, weights.clone(), biases.clone()).unwrap();
    let out = conv.output_shape();
    let (pt, _) = pads(input.height, out.height, window.size.0, window.stride.0);
    let (pl, _) = pads(input.width, out.width, window.size.1, window.stride.1);
    let samples: Vec<Vec<i64>> = (0..3).map(|_| raws(rng, &tin, input.len())).collect();
    let expected = samples.iter().flat_map(|x| conv.forward(x)).collect();
    let t = &types;
    let _ = writeln!(
        cpp,
        "  {{ typedef {} in_t; typedef {} w_t; typedef {} b_t; typedef {} acc_t; typedef {} res_t; typedef {} out_t;",
        t.input.cpp(),
        t.weight.cpp(),
        t.bias.cpp(),
        t.accum.cpp(),
        t.result.cpp(),
        t.out.cpp()
    );
    let all_x: Vec<i64> = samples.concat();
    let _ = writeln!(
        cpp,
        "    static const long long xr[] = {{{}}}, wr[] = {{{}}}, br[] = {{{}}};",
        list(&all_x),
        list(&weights),
        list(&biases)
    );
    let (h, w, c, f) = (input.height as i64, input.width as i64, input.channels, filters);
    let _ = writeln!(
        cpp,
        "    for (int s = 0; s < 3; s++) for (int oy = 0; oy < {oh}; oy++) for (int ox = 0; ox < {ow}; ox++) for (int f = 0; f < {f}; f++) {{\n\
         \x20     acc_t acc = 0; if ({hb}) {{ b_t b; {sb} acc = (acc_t)b; }}\n\
         \x20     for (int ky = 0; ky < {kh}; ky++) for (int kx = 0; kx < {kw}; kx++) for (int c = 0; c < {c}; c++) {{\n\
         \x20       int y = oy * {sh} + ky - {pt}, x = ox * {sw} + kx - {pl};\n\
         \x20       in_t d = 0; if (y >= 0 && y < {h} && x >= 0 && x < {w}) {{ {sx} }}\n\
         \x20       w_t wt; {sw_} acc_t m = d * wt; acc += m; }}\n\
         \x20     res_t r = acc; out_t o = {relu} ? (r > 0 ? (out_t)r : (out_t)0) : (out_t)r;\n\
         \x20     printf(\"{k} %llu\\n\", bits(o)); }} }}",
        oh = out.height,
        ow = out.width,
        hb = !biases.is_empty() as u8,
        sb = setter("b", "b_t", "br[f]"),
        kh = window.size.0,
        kw = window.size.1,
        sh = window.stride.0,
        sw = window.stride.1,
        sx = setter("d", "in_t", &format!("xr[s * {} + (y * {w} + x) * {c} + c]", input.len())),
        sw_ = setter("wt", "w_t", &format!("wr[((ky * {} + kx) * {c} + c) * {f} + f]", window.size.1)),
        relu = relu as u8,
    );
    Case { what: format!("conv {input} {window:?} {filters} filters {types:?} relu {relu}"), out_type: t.out, expected }
}

fn pool_types(rng: &mut ChaCha8Rng, tin: FixedType, inferred: PoolTypes) -> PoolTypes {
    if rng.gen_bool(0.6) {
        inferred
    } else {
        PoolTypes { input: tin, accum: random_type(rng, 14, true), result: random_type(rng, 12, true) }
    }
}

fn pool_case(rng: &mut ChaCha8Rng, k: usize, cpp: &mut String, decls: &mut String) -> Case {
    let (input, window) = random_shape_and_window(rng, 2);
    let op = if rng.gen_bool(0.5) { PoolOp::Max } else { PoolOp::Average };
    let tin = random_type(rng, 10, false);
    let types = pool_types(rng, tin, PoolTypes::inferred(tin, op, window.size.0 * window.size.1));
    let pool = FixedPool::new("pool", op, input, window, types).unwrap();
    let out = pool.output_shape();
    let (pt, pb) = pads(input.height, out.height, window.size.0, window.stride.0);
    let (pl, pr) = pads(input.width, out.width, window.size.1, window.stride.1);
    let samples: Vec<Vec<i64>> = (0..3).map(|_| raws(rng, &tin, input.len())).collect();
    let expected = samples.iter().flat_map(|x| pool.forward(x)).collect();
    let _ = writeln!(
        decls,
        "struct cfg{k} : nnet::pooling2d_config {{ static const unsigned in_height = {}, in_width = {}, n_filt = {}, \
         stride_height = {}, stride_width = {}, pool_height = {}, pool_width = {}, out_height = {}, out_width = {}, \
         pad_top = {pt}, pad_bottom = {pb}, pad_left = {pl}, pad_right = {pr}; static const bool count_pad = false; \
         static const nnet::Pool_Op pool_op = nnet::{:?}; static const unsigned reuse_factor = 1; typedef {} accum_t; }};",
        input.height,
        input.width,
        input.channels,
        window.stride.0,
        window.stride.1,
        window.size.0,
        window.size.1,
        out.height,
        out.width,
        op,
        types.accum.cpp()
    );
    run_pool_cpp(cpp, k, &types, &samples, input.len(), out.len(), &format!("nnet::pooling2d_cl<in_t, res_t, cfg{k}>"));
    Case { what: format!("{op:?} pool {input} {window:?} {types:?}"), out_type: types.result, expected }
}

fn global_case(rng: &mut ChaCha8Rng, k: usize, cpp: &mut String, decls: &mut String) -> Case {
    let input = Shape3::new(rng.gen_range(1..=5), rng.gen_range(1..=5), rng.gen_range(1..=3));
    let op = if rng.gen_bool(0.5) { PoolOp::Max } else { PoolOp::Average };
    let tin = random_type(rng, 10, false);
    let mode = if rng.gen_bool(0.5) { TypesMode::Qforge } else { TypesMode::Hls4ml };
    let types = pool_types(rng, tin, PoolTypes::global(tin, op, input.height * input.width, mode));
    let pool = FixedGlobalPool::new("gpool", op, input, types).unwrap();
    let samples: Vec<Vec<i64>> = (0..3).map(|_| raws(rng, &tin, input.len())).collect();
    let expected = samples.iter().flat_map(|x| pool.forward(x)).collect();
    let _ = writeln!(
        decls,
        "struct cfg{k} : nnet::pooling2d_config {{ static const unsigned in_height = {h}, in_width = {w}, n_filt = {}, \
         stride_height = {h}, stride_width = {w}, pool_height = {h}, pool_width = {w}; \
         static const nnet::Pool_Op pool_op = nnet::{op:?}; static const unsigned reuse_factor = 1; typedef {} accum_t; }};",
        input.channels,
        types.accum.cpp(),
        h = input.height,
        w = input.width,
    );
    run_pool_cpp(cpp, k, &types, &samples, input.len(), input.channels, &format!("nnet::global_pooling2d_cl<in_t, res_t, cfg{k}>"));
    Case { what: format!("global {op:?} pool {input} {types:?}"), out_type: types.result, expected }
}

fn run_pool_cpp(cpp: &mut String, k: usize, types: &PoolTypes, samples: &[Vec<i64>], n_in: usize, n_out: usize, call: &str) {
    let _ = writeln!(
        cpp,
        "  {{ typedef {} in_t; typedef {} res_t; static const long long xr[] = {{{}}};\n\
         \x20   for (int s = 0; s < 3; s++) {{ in_t x[{n_in}]; res_t r[{n_out}];\n\
         \x20     for (int i = 0; i < {n_in}; i++) {{ {} }}\n\
         \x20     {call}(x, r); for (int i = 0; i < {n_out}; i++) printf(\"{k} %llu\\n\", bits(r[i])); }} }}",
        types.input.cpp(),
        types.result.cpp(),
        list(&samples.concat()),
        setter("x[i]", "in_t", &format!("xr[s * {n_in} + i]")),
    );
}

#[test]
fn conv_and_pooling_match_ap_fixed_and_hls4ml_nnet_pooling() {
    let ap = hls_support::ap_types();
    let nnet = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hls4ml_nnet");
    let mut rng = ChaCha8Rng::seed_from_u64(18);
    let mut cpp = String::from("#include \"ap_fixed.h\"\n#include <cstdio>\n#include \"nnet_pooling.h\"\n");
    cpp.push_str("template<class T> unsigned long long bits(const T& v) { return v.range(T::width - 1, 0).to_uint64(); }\n");
    // Config structs (static members) must live at namespace scope.
    let (mut decls, mut body) = (String::new(), String::new());
    let mut cases = Vec::new();
    for k in 0..120 {
        let case = match k % 3 {
            0 => conv_case(&mut rng, k, &mut body, &mut decls),
            1 => pool_case(&mut rng, k, &mut body, &mut decls),
            _ => global_case(&mut rng, k, &mut body, &mut decls),
        };
        cases.push(case);
    }
    let _ = write!(cpp, "{decls}int main() {{\n{body}  return 0;\n}}\n");

    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("cnn.cpp");
    std::fs::write(&src, &cpp).unwrap();
    if let Some(d) = std::env::var_os("QFORGE_KEEP") {
        std::fs::write(Path::new(&d).join("cnn.cpp"), &cpp).unwrap();
    }
    let exe = dir.path().join("cnn");
    let out = Command::new("g++")
        .args(["-O1", "-std=c++14", "-Wno-unknown-pragmas", "-I"])
        .arg(&ap)
        .arg("-I")
        .arg(&nnet)
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("g++ runs");
    assert!(out.status.success(), "g++ failed: {}", String::from_utf8_lossy(&out.stderr));
    let run = Command::new(&exe).output().unwrap();
    assert!(run.status.success(), "{:?} {}", run.status, String::from_utf8_lossy(&run.stderr));
    let mut got: Vec<Vec<i64>> = vec![Vec::new(); cases.len()];
    for line in String::from_utf8(run.stdout).unwrap().lines() {
        let (k, bits) = line.split_once(' ').unwrap();
        let k: usize = k.parse().unwrap();
        got[k].push(from_bits(bits.parse().unwrap(), &cases[k].out_type));
    }
    let mut values = 0;
    for (case, c) in cases.iter().zip(&got) {
        assert_eq!(&case.expected, c, "{}", case.what);
        values += c.len();
    }
    assert!(values > 1000, "only {values} values compared");
}
