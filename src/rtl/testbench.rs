//! The testbenches `sim` runs: Verilator C++ for the parallel and the
//! stream top (one shared port block and clock-loop end), and Icarus Verilog's.
//! Text only; `sim` writes, builds and runs them.
use super::verilog::{PortGroup, RtlManifest};
use std::fmt::Write as _;
use std::path::Path;

fn out_ports(m: &RtlManifest) -> Vec<String> {
    let mut v: Vec<String> = (0..m.logits.count).map(|j| format!("{}{j}", m.logits.prefix)).collect();
    if let Some(p) = &m.probs {
        v.extend((0..p.count).map(|j| format!("{}{j}", p.prefix)));
    }
    v.push("class_idx".to_string());
    v
}

/// The C++ lines that set the inputs from `x[]` and print the outputs, the
/// same in both testbenches (an input is a sample's value or a pixel's channel).
fn port_lines(m: &RtlManifest) -> (String, String) {
    let mut set = String::new();
    let mask = if m.inputs.width >= 64 { u64::MAX } else { (1u64 << m.inputs.width) - 1 };
    for i in 0..m.inputs.count {
        let _ = writeln!(set, "      top->{}{i} = (uint64_t)x[{i}] & {mask}ULL;", m.inputs.prefix);
    }
    let mut print = String::new();
    for p in out_ports(m) {
        let _ = writeln!(print, "        fprintf(fout, \" %llu\", (unsigned long long)top->{p});");
    }
    (set, print)
}

/// The clock loop's end and `main`'s return, the same in both testbenches.
const TESTBENCH_END: &str = r#"    top->clk = 1; top->eval();
    cycle++;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fprintf(stderr, "qforge-sim: %zu samples, %lld cycles, %.6f s\n", next_out, cycle, secs);
  fclose(fout);
  top->final();
  delete top;
  delete ctx;
  return next_out == n ? 0 : 1;
}
"#;

pub(super) fn verilator_testbench(m: &RtlManifest) -> String {
    if let Some(s) = &m.stream {
        return verilator_stream_testbench(m, s);
    }
    let top = &m.top;
    let (set, print) = port_lines(m);
    format!(
        r#"// Written by qforge (`qforge rtl-sim`): one sample per clock, outputs on out_valid.
#include "V{top}.h"
#include "verilated.h"
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <vector>

int main(int argc, char** argv) {{
  if (argc < 3) {{ fprintf(stderr, "usage: %s inputs.txt outputs.txt\n", argv[0]); return 2; }}
  const size_t N_IN = {n_in};
  FILE* fin = fopen(argv[1], "r");
  if (!fin) {{ perror(argv[1]); return 2; }}
  std::vector<long long> data;
  long long v;
  while (fscanf(fin, "%lld", &v) == 1) data.push_back(v);
  fclose(fin);
  const size_t n = data.size() / N_IN;
  FILE* fout = fopen(argv[2], "w");
  if (!fout) {{ perror(argv[2]); return 2; }}
  VerilatedContext* ctx = new VerilatedContext;
  V{top}* top = new V{top}{{ctx}};
  std::vector<long long> in_cycle(n);
  top->clk = 0; top->rst = 1; top->in_valid = 0; top->eval();
  top->clk = 1; top->eval();
  top->clk = 0; top->rst = 0; top->eval();
  size_t next_in = 0, next_out = 0;
  long long cycle = 0;
  const long long limit = (long long)n + 100000;
  auto t0 = std::chrono::steady_clock::now();
  while (next_out < n && cycle < limit) {{
    if (next_in < n) {{
      const long long* x = &data[next_in * N_IN];
{set}      top->in_valid = 1;
      in_cycle[next_in++] = cycle;
    }} else {{
      top->in_valid = 0;
    }}
    top->clk = 0; top->eval();
    if (top->out_valid) {{
      fprintf(fout, "%lld", cycle - in_cycle[next_out]);
{print}      fprintf(fout, "\n");
      next_out++;
    }}
{end}"#,
        end = TESTBENCH_END,
        n_in = m.inputs.count
    )
}

/// The streaming design's testbench. Without a stall argument: image `k`'s
/// pixel `i` (its channels on `in_*`) in cycle `k·P + i`, `P` the manifest's
/// frame interval, and `in_ready` must be high then. With `argv[3]` = a
/// percentage: each cycle the next pixel is offered unless a stall is drawn
/// (xorshift, fixed seed) and taken when `in_ready` is high. The latency is
/// counted from the cycle the image's last pixel was taken.
fn verilator_stream_testbench(m: &RtlManifest, s: &super::stream_top::StreamInfo) -> String {
    let top = &m.top;
    let (set, print) = port_lines(m);
    format!(
        r#"// Written by qforge (`qforge rtl-sim`): one pixel per clock, an image every {period} cycles (or random stalls paced by in_ready), outputs on out_valid.
#include "V{top}.h"
#include "verilated.h"
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char** argv) {{
  if (argc < 3) {{ fprintf(stderr, "usage: %s inputs.txt outputs.txt [stall-percent]\n", argv[0]); return 2; }}
  const size_t CH = {ch}, PIX = {pix}, N_IN = CH * PIX;
  const long long PERIOD = {period};
  const int STALL = argc > 3 ? atoi(argv[3]) : -1;
  FILE* fin = fopen(argv[1], "r");
  if (!fin) {{ perror(argv[1]); return 2; }}
  std::vector<long long> data;
  long long v;
  while (fscanf(fin, "%lld", &v) == 1) data.push_back(v);
  fclose(fin);
  const size_t n = data.size() / N_IN;
  FILE* fout = fopen(argv[2], "w");
  if (!fout) {{ perror(argv[2]); return 2; }}
  VerilatedContext* ctx = new VerilatedContext;
  V{top}* top = new V{top}{{ctx}};
  std::vector<long long> last_pixel(n, -1);
  top->clk = 0; top->rst = 1; top->in_valid = 0; top->eval();
  top->clk = 1; top->eval();
  top->clk = 0; top->rst = 0; top->eval();
  size_t next_out = 0, k = 0, i = 0;
  uint64_t rng = 0x9E3779B97F4A7C15ULL;
  long long cycle = 0;
  const long long limit = ((long long)n * PERIOD + 100000) * (STALL < 0 ? 1 : 100 / (100 - STALL) + 1);
  auto t0 = std::chrono::steady_clock::now();
  while (next_out < n && cycle < limit) {{
    bool offer;
    if (STALL < 0) {{
      k = cycle / PERIOD; i = cycle % PERIOD;
      offer = k < n && i < PIX;
    }} else {{
      rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
      offer = k < n && (int)(rng % 100) >= STALL;
    }}
    if (offer) {{
      const long long* x = &data[k * N_IN + i * CH];
{set}      top->in_valid = 1;
    }} else {{
      top->in_valid = 0;
    }}
    top->clk = 0; top->eval();
    if (offer && !top->in_ready && STALL < 0) {{
      fprintf(stderr, "qforge-sim: in_ready low for image %zu pixel %zu in cycle %lld of the frame schedule\n", k, i, cycle);
      return 3;
    }}
    if (offer && top->in_ready) {{
      if (i == PIX - 1) last_pixel[k] = cycle;
      if (STALL >= 0 && ++i == PIX) {{ i = 0; k++; }}
    }}
    if (top->out_valid) {{
      fprintf(fout, "%lld", last_pixel[next_out] < 0 ? 4294967295LL : cycle - last_pixel[next_out]);
{print}      fprintf(fout, "\n");
      next_out++;
    }}
{end}"#,
        end = TESTBENCH_END,
        ch = m.inputs.count,
        pix = s.pixels,
        period = s.frame_interval_cycles,
    )
}

pub(super) fn iverilog_testbench(m: &RtlManifest, inputs: &Path, outputs: &Path, samples: usize) -> String {
    let mut decl = String::new();
    let mut conns =
        vec![".clk(clk)".to_string(), ".rst(rst)".to_string(), ".in_valid(in_valid)".to_string(), ".out_valid(out_valid)".to_string()];
    let mut read = String::new();
    for i in 0..m.inputs.count {
        let _ = writeln!(decl, "  reg [{}:0] in_{i};", m.inputs.width - 1);
        conns.push(format!(".in_{i}(in_{i})"));
        let _ = writeln!(read, "        r = $fscanf(fin, \"%d\", v); in_{i} = v;");
    }
    let mut outs = Vec::new();
    let groups: Vec<&PortGroup> = std::iter::once(&m.logits).chain(m.probs.as_ref()).collect();
    for g in groups {
        for j in 0..g.count {
            let _ = writeln!(decl, "  wire [{}:0] {}{j};", g.width - 1, g.prefix);
            conns.push(format!(".{p}{j}({p}{j})", p = g.prefix));
            outs.push(format!("{}{j}", g.prefix));
        }
    }
    let _ = writeln!(decl, "  wire [{}:0] class_idx;", m.class_bits - 1);
    conns.push(".class_idx(class_idx)".to_string());
    outs.push("class_idx".to_string());
    let fmt = "%0d ".repeat(outs.len() + 1);
    format!(
        r#"// Written by qforge (`qforge rtl-sim`): one sample per clock, outputs on out_valid.
`timescale 1ns/1ps
module qforge_tb;
  reg clk = 0, rst = 1, in_valid = 0;
  wire out_valid;
{decl}  {top} dut (
    {conns}
  );
  integer fin, fout, r, n_in, n_out, cycle;
  integer in_cycle [0:{last}];
  reg signed [63:0] v;
  initial begin
    fin = $fopen("{inp}", "r");
    fout = $fopen("{outp}", "w");
    n_in = 0; n_out = 0; cycle = 0;
    #1 clk = 1; #1 clk = 0; rst = 0;
    while (n_out < {n} && cycle < {limit}) begin
      if (n_in < {n}) begin
{read}        in_valid = 1; in_cycle[n_in] = cycle; n_in = n_in + 1;
      end else in_valid = 0;
      #1;
      if (out_valid) begin
        $fwrite(fout, "{fmt}\n", cycle - in_cycle[n_out], {outs});
        n_out = n_out + 1;
      end
      clk = 1; #1; clk = 0; cycle = cycle + 1;
    end
    $fclose(fout);
    $finish;
  end
endmodule
"#,
        top = m.top,
        conns = conns.join(",\n    "),
        last = samples.max(1) - 1,
        inp = inputs.display(),
        outp = outputs.display(),
        n = samples,
        limit = samples + 100000,
        fmt = fmt.trim_end(),
        outs = outs.join(", "),
    )
}
