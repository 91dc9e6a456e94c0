//! The Rust ap_fixed model against the real Xilinx headers: casts between random
//! types in every rounding and overflow mode, conversions from double, and
//! products, computed by g++-compiled `ap_fixed` and by `FixedType`, bit for bit.
mod hls_support;

use hls_support::from_bits;
use qforge::quant::{FixedType, Overflow, Rounding};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt::Write as _;
use std::process::Command;

struct Case {
    src: FixedType,
    dst: FixedType,
    raws: Vec<i64>,
}

fn random_type(rng: &mut ChaCha8Rng, modes: bool) -> FixedType {
    let width = rng.gen_range(2..=24u32);
    // The headers assert on exotic layouts (I < 0 or I > W); our types never use them.
    let integer = rng.gen_range(0..=width as i32);
    let t = FixedType::new(width, integer, rng.gen_bool(0.7));
    if modes {
        t.with_modes(Rounding::ALL[rng.gen_range(0..7)], Overflow::ALL[rng.gen_range(0..4)])
    } else {
        t
    }
}

fn raw_in(rng: &mut ChaCha8Rng, t: &FixedType) -> i64 {
    rng.gen_range(t.min_raw()..=t.max_raw())
}

#[test]
fn casts_doubles_and_products_match_xilinx_ap_fixed() {
    let ap = hls_support::ap_types();
    let mut rng = ChaCha8Rng::seed_from_u64(2021);
    let cases: Vec<Case> = (0..70)
        .map(|_| {
            let src = random_type(&mut rng, false);
            let dst = random_type(&mut rng, true);
            let mut raws: Vec<i64> = (0..200).map(|_| raw_in(&mut rng, &src)).collect();
            raws.extend([src.min_raw(), src.max_raw(), 0, 1, (-1i64).max(src.min_raw())]);
            Case { src, dst, raws }
        })
        .collect();
    // Products: a * b into an accumulator type, as a dense layer does.
    type Product = (FixedType, FixedType, FixedType, Vec<(i64, i64)>);
    let products: Vec<Product> = (0..20)
        .map(|_| {
            let a = random_type(&mut rng, false);
            let b = random_type(&mut rng, false);
            let acc = random_type(&mut rng, true);
            let pairs = (0..100).map(|_| (raw_in(&mut rng, &a), raw_in(&mut rng, &b))).collect();
            (a, b, acc, pairs)
        })
        .collect();
    let doubles: Vec<f64> = (0..300)
        .map(|_| rng.gen_range(-70.0..70.0) * 10f64.powi(rng.gen_range(-3..1)))
        .chain([0.5, -0.5, 2.5, -2.5, 1e-9, -1e-9])
        .collect();
    let double_types: Vec<FixedType> = (0..15).map(|_| random_type(&mut rng, true)).collect();

    let mut cpp = String::from("#include \"ap_fixed.h\"\n#include <cstdio>\n#include <cstdint>\n");
    cpp.push_str("template<class T> unsigned long long bits(const T& v) { return v.range(T::width - 1, 0).to_uint64(); }\n");
    cpp.push_str("int main() {\n");
    for (k, c) in cases.iter().enumerate() {
        let _ = writeln!(
            cpp,
            "  {{ typedef {} S; typedef {} D; const long long r[] = {{{}}};",
            c.src.cpp(),
            c.dst.cpp(),
            c.raws.iter().map(|v| format!("{v}LL")).collect::<Vec<_>>().join(",")
        );
        let _ = writeln!(cpp, "    for (unsigned i = 0; i < sizeof(r)/sizeof(r[0]); i++) {{ S s; s.range(S::width - 1, 0) = (unsigned long long)r[i]; D d = s; printf(\"c {k} %u %llu\\n\", i, bits(d)); }} }}");
    }
    for (k, (a, b, acc, pairs)) in products.iter().enumerate() {
        let (ra, rb): (Vec<String>, Vec<String>) = pairs.iter().map(|(x, y)| (format!("{x}LL"), format!("{y}LL"))).unzip();
        let _ = writeln!(
            cpp,
            "  {{ typedef {} A; typedef {} B; typedef {} C; const long long ra[] = {{{}}}; const long long rb[] = {{{}}};",
            a.cpp(),
            b.cpp(),
            acc.cpp(),
            ra.join(","),
            rb.join(",")
        );
        let _ = writeln!(cpp, "    for (unsigned i = 0; i < {}; i++) {{ A x; B y; x.range(A::width - 1, 0) = (unsigned long long)ra[i]; y.range(B::width - 1, 0) = (unsigned long long)rb[i]; C c = x * y; printf(\"p {k} %u %llu\\n\", i, bits(c)); }} }}", pairs.len());
    }
    let dlist = doubles.iter().map(|d| format!("{d:e}")).collect::<Vec<_>>().join(",");
    for (k, t) in double_types.iter().enumerate() {
        let _ = writeln!(cpp, "  {{ typedef {} D; const double v[] = {{{dlist}}}; for (unsigned i = 0; i < {}; i++) {{ D d = v[i]; printf(\"d {k} %u %llu\\n\", i, bits(d)); }} }}", t.cpp(), doubles.len());
    }
    cpp.push_str("  return 0;\n}\n");

    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("cases.cpp");
    std::fs::write(&src, &cpp).unwrap();
    if let Some(d) = std::env::var_os("QFORGE_KEEP") {
        std::fs::write(std::path::Path::new(&d).join("cases.cpp"), &cpp).unwrap();
    }
    let exe = dir.path().join("cases");
    let out = Command::new("g++").args(["-O1", "-std=c++14", "-I"]).arg(&ap).arg(&src).arg("-o").arg(&exe).output().expect("g++ runs");
    assert!(out.status.success(), "g++ failed: {}", String::from_utf8_lossy(&out.stderr));
    let run = Command::new(&exe).output().unwrap();
    assert!(run.status.success(), "{:?} {}", run.status, String::from_utf8_lossy(&run.stderr));
    let text = String::from_utf8(run.stdout).unwrap();
    let mut checked = 0;
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let (k, i, bits): (usize, usize, u64) = (f[1].parse().unwrap(), f[2].parse().unwrap(), f[3].parse().unwrap());
        match f[0] {
            "c" => {
                let c = &cases[k];
                let want = from_bits(bits, &c.dst);
                let got = c.dst.cast_raw(c.raws[i], c.src.frac());
                assert_eq!(got, want, "cast {} -> {} of raw {}", c.src, c.dst, c.raws[i]);
            }
            "p" => {
                let (a, b, acc, pairs) = &products[k];
                let (x, y) = pairs[i];
                let want = from_bits(bits, acc);
                let got = acc.cast_raw(x * y, a.frac() + b.frac());
                assert_eq!(got, want, "{a} * {b} -> {acc} of raws {x}, {y}");
            }
            "d" => {
                let t = &double_types[k];
                let want = from_bits(bits, t);
                assert_eq!(t.from_f64(doubles[i]), want, "{} = {:e}", t, doubles[i]);
            }
            other => panic!("unexpected line {other}"),
        }
        checked += 1;
    }
    let expected = cases.iter().map(|c| c.raws.len()).sum::<usize>()
        + products.iter().map(|p| p.3.len()).sum::<usize>()
        + doubles.len() * double_types.len();
    assert_eq!(checked, expected);
}
