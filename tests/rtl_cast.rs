//! Every ap_fixed rounding and overflow mode in Verilog against
//! `FixedType::cast_raw`: one module casts all 1024 values of a 10-bit input
//! to signed and unsigned targets in all 7 × 4 modes; Icarus Verilog runs it.
use qforge::quant::{FixedType, Overflow, Rounding};
use qforge::rtl::cast::{cast, relu};
use qforge::rtl::netlist::{ModuleBuilder, Schedule};
use std::process::Command;

const IN_BITS: u32 = 10;
const IN_FRAC: i32 = 4;

fn targets() -> Vec<FixedType> {
    let mut v = Vec::new();
    for r in Rounding::ALL {
        for o in Overflow::ALL {
            v.push(FixedType::signed(5, 2).with_modes(r, o)); // drops 1 fractional bit, overflows
            v.push(FixedType::unsigned(4, 3).with_modes(r, o)); // drops 3 bits, negative inputs
            v.push(FixedType::signed(12, 9).with_modes(r, o)); // wider: scales up, never overflows
        }
    }
    v
}

#[test]
fn every_rounding_and_overflow_mode_matches_cast_raw() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = ModuleBuilder::new("casts", "c_", Schedule::every(0));
    let lo = -(1i128 << (IN_BITS - 1));
    let x = m.raw_input("x", IN_BITS, true, lo, -lo - 1);
    let ts = targets();
    for (k, t) in ts.iter().enumerate() {
        let y = cast(&mut m, x, IN_FRAC, t, &format!("t{k}"), 1);
        m.raw_output(&format!("y{k}"), y, t.width, 0);
    }
    let r = relu(&mut m, x, "r", 1);
    let ry = cast(&mut m, r, IN_FRAC, &FixedType::unsigned(6, 0).with_modes(Rounding::RndConv, Overflow::Sat), "ry", 1);
    m.raw_output("relu6", ry, 6, 0);
    let mut tb = String::from("module tb;\n  reg clk = 0;\n  reg [9:0] x;\n  integer i;\n");
    let mut conns = vec![".clk(clk)".to_string(), ".x(x)".to_string()];
    let mut outs = Vec::new();
    for (k, t) in ts.iter().enumerate() {
        tb += &format!("  wire [{}:0] y{k};\n", t.width - 1);
        conns.push(format!(".y{k}(y{k})"));
        outs.push(format!("y{k}"));
    }
    tb += "  wire [5:0] relu6;\n";
    conns.push(".relu6(relu6)".into());
    outs.push("relu6".into());
    tb += &format!("  casts dut ({});\n", conns.join(", "));
    tb += &format!(
        "  initial begin\n    for (i = 0; i < 1024; i = i + 1) begin\n      x = i; #1;\n      $display(\"{}\", {});\n    end\n    $finish;\n  end\nendmodule\n",
        vec!["%0d"; outs.len()].join(" "),
        outs.join(", ")
    );
    std::fs::write(dir.path().join("casts.v"), m.finish()).unwrap();
    std::fs::write(dir.path().join("tb.v"), tb).unwrap();
    let st = Command::new("iverilog")
        .args(["-g2005", "-o", "sim", "-s", "tb", "casts.v", "tb.v"])
        .current_dir(dir.path())
        .output()
        .expect("iverilog must be installed");
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    let run = Command::new("vvp").args(["-n", "sim"]).current_dir(dir.path()).output().unwrap();
    let text = String::from_utf8_lossy(&run.stdout);
    let lines: Vec<&str> = text.lines().filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_digit())).collect();
    assert_eq!(lines.len(), 1024);
    let relu_t = FixedType::unsigned(6, 0).with_modes(Rounding::RndConv, Overflow::Sat);
    for (i, line) in lines.iter().enumerate() {
        let raw = if i >= 512 { i as i64 - 1024 } else { i as i64 };
        let got: Vec<u64> = line.split_whitespace().map(|t| t.parse().unwrap()).collect();
        for (k, t) in ts.iter().enumerate() {
            let want = (t.cast_raw(raw, IN_FRAC) as u64) & ((1u64 << t.width) - 1);
            assert_eq!(got[k], want, "x = {raw} to {} ({:?}, {:?})", t.cpp(), t.rounding, t.overflow);
        }
        let want = relu_t.cast_raw(raw.max(0), IN_FRAC) as u64;
        assert_eq!(got[ts.len()], want, "relu of {raw}");
    }
}
