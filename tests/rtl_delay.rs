//! Registers placed by delay (`qforge rtl --pipeline-ns T`) against the
//! fixed-point model, bit for bit, in Verilator: random networks with both
//! generators (per-output trees and `--cmvm`) at 2, 3 and 5 ns, 10 000
//! samples each, the measured latency equal to the stages built; the cost's
//! register bits equal to the registers the Verilog declares; a smaller
//! period gives more stages and no stage's logic ends past its budget; the
//! two schedules are exclusive; a manifest written before the option reads.
mod rtl_support;
use qforge::rtl::delay::ULTRASCALE_PLUS;
use qforge::rtl::{self, RtlOptions, SimOptions, Simulator};

use rtl_support::random_net::{random_inputs, random_network};

/// Register bits the Verilog of all files declares (`reg [..]` and `reg x;`).
fn declared_register_bits(files: &[(String, String)]) -> u64 {
    let mut bits = 0;
    for (_, text) in files {
        for line in text.lines().map(str::trim) {
            let Some(rest) = line.strip_prefix("reg ") else { continue };
            let rest = rest.trim_start_matches("signed ");
            bits += match rest.strip_prefix('[') {
                Some(r) => {
                    let range = &r[..r.find(']').unwrap()];
                    let (hi, lo) = range.split_once(':').unwrap();
                    hi.parse::<u64>().unwrap() - lo.parse::<u64>().unwrap() + 1
                }
                None => 1,
            };
        }
    }
    bits
}

fn opts(ns: f64, cmvm: bool) -> RtlOptions {
    RtlOptions { pipeline_ns: Some(ns), cmvm, ..Default::default() }
}

#[test]
fn random_networks_are_bit_exact_at_2_3_and_5_ns_with_both_generators() {
    let dir = tempfile::tempdir().unwrap();
    let mut seed = 20u64;
    for ns in [2.0, 3.0, 5.0] {
        for cmvm in [false, true] {
            seed += 1;
            let net = random_network(seed);
            let raw = random_inputs(&net, 10_000, seed + 100);
            let design = rtl::build_design(&net, &opts(ns, cmvm)).unwrap();
            assert_eq!(design.manifest.pipeline_ns, Some(ns));
            let out = dir.path().join(format!("net{seed}"));
            rtl::write_design(&design, &out).unwrap();
            let sim = SimOptions { simulator: Simulator::Verilator, ..Default::default() };
            let r = rtl::simulate(&out, &design.manifest, &net, &raw, &sim).unwrap();
            let what = format!("seed {seed}, {ns} ns, cmvm {cmvm}");
            assert_eq!(r.samples, 10_000, "{what}");
            assert_eq!(r.mismatches, 0, "{what}: {:?}", r.first_mismatches);
            assert_eq!(r.latency_cycles, design.manifest.latency_cycles, "{what}: measured latency = stages built");
            if ns == 2.0 {
                assert!(design.manifest.latency_cycles > 0, "{what}: a 2 ns period needs registers");
            }
            assert_eq!(design.cost.register_bits, declared_register_bits(&design.files), "{what}");
            assert_eq!(design.manifest.register_bits, design.cost.register_bits, "{what}");
        }
    }
}

#[test]
fn a_shorter_period_gives_more_stages_and_every_stage_fits_its_budget() {
    for seed in [31u64, 32, 33] {
        let net = random_network(seed);
        for cmvm in [false, true] {
            let mut last = None;
            for ns in [8.0, 5.0, 3.0, 2.0, 1.5] {
                let d = rtl::build_design(&net, &opts(ns, cmvm)).unwrap();
                let budget = ULTRASCALE_PLUS.budget((ns * 1000.0) as u32);
                assert!(d.manifest.critical_ps <= budget, "seed {seed} {ns} ns: {} ps > {budget}", d.manifest.critical_ps);
                assert!(d.manifest.critical_ps > 0);
                if let Some((prev_ns, prev_lat)) = last {
                    assert!(d.manifest.latency_cycles >= prev_lat, "seed {seed}: {ns} ns has fewer stages than {prev_ns} ns");
                }
                last = Some((ns, d.manifest.latency_cycles));
            }
            let slow = rtl::build_design(&net, &opts(8.0, cmvm)).unwrap().manifest.latency_cycles;
            let fast = rtl::build_design(&net, &opts(1.5, cmvm)).unwrap().manifest.latency_cycles;
            assert!(fast > slow, "seed {seed}, cmvm {cmvm}: 1.5 ns {fast} stages, 8 ns {slow}");
        }
    }
}

#[test]
fn the_two_schedules_are_exclusive_and_old_manifests_read() {
    let net = random_network(41);
    let both = RtlOptions { pipeline_every: 3, pipeline_ns: Some(5.0), ..Default::default() };
    let err = rtl::build_design(&net, &both).err().expect("refused").to_string();
    assert!(err.contains("--pipeline-every") && err.contains("--pipeline-ns"), "{err}");
    let bad = rtl::build_design(&net, &opts(0.0, false)).err().expect("refused").to_string();
    assert!(bad.contains("clock period"), "{bad}");

    let dir = tempfile::tempdir().unwrap();
    let design = rtl::build_design(&net, &RtlOptions { pipeline_every: 2, ..Default::default() }).unwrap();
    rtl::write_design(&design, dir.path()).unwrap();
    let text = std::fs::read_to_string(dir.path().join(rtl::MANIFEST_FILE)).unwrap();
    assert!(!text.contains("pipeline_ns"), "an every-N design records no period");
    let old = text.replace("\"critical_ps\"", "\"unused_critical\"");
    let mut v: serde_json::Value = serde_json::from_str(&old).unwrap();
    v.as_object_mut().unwrap().remove("unused_critical");
    std::fs::write(dir.path().join(rtl::MANIFEST_FILE), v.to_string()).unwrap();
    let m = rtl::load_manifest(dir.path()).unwrap();
    assert_eq!((m.pipeline_ns, m.critical_ps, m.pipeline_every), (None, 0, 2));

    let qforge = env!("CARGO_BIN_EXE_qforge");
    let model = dir.path().join("model.json");
    std::fs::write(&model, "{}").unwrap();
    let out = std::process::Command::new(qforge)
        .args(["rtl", "--model", model.to_str().unwrap(), "--pipeline-every", "3", "--pipeline-ns", "5"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--pipeline-ns") && stderr.contains("cannot be used with"), "{stderr}");
}
