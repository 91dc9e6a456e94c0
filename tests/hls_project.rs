//! `qforge hls`: the project's shape and types, template overrides, the
//! generated Tcl run by the vivado_hls/vitis_hls test doubles, the testbench
//! checking itself as Vivado's csim would run it, and bad input that exits
//! non-zero with a clear message and touches nothing outside the output folder.
mod hls_support;

use hls_support::*;
use std::path::{Path, PathBuf};

fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", path.as_ref().display()))
}

/// Every file under `dir`, relative, sorted.
fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walk(dir).into_iter().map(|p| p.strip_prefix(dir).unwrap().to_path_buf()).collect();
    files.sort();
    files
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        }
        out.push(path);
    }
    out
}

/// A copy of the Q6 model with its spec edited by `edit`.
fn edited_model(dir: &Path, edit: impl Fn(&mut serde_json::Value)) -> PathBuf {
    let mut json: serde_json::Value = serde_json::from_str(&read(trained("q6", &jet_spec()))).unwrap();
    edit(&mut json["spec"]);
    let path = dir.join("edited_model.json");
    std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
    path
}

#[test]
fn q6_project_has_the_hls4ml_shape_and_types() {
    let model = trained("q6", &jet_spec());
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("prj");
    let out = qforge()
        .arg("hls")
        .arg("--model")
        .arg(&model)
        .arg("--out")
        .arg(&project)
        .args(["--part", "xcvu9p-flga2104-2L-e", "--clock", "5", "--reuse", "1", "--strategy", "latency", "--io", "parallel"])
        .args(["--samples", "20000", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json = one_json_object(&out);
    assert_eq!(json["top"], "myproject");
    assert_eq!(json["part"]["dsp"], 6840);

    for file in [
        "firmware/myproject.cpp",
        "firmware/myproject.h",
        "firmware/defines.h",
        "firmware/parameters.h",
        "firmware/nnet_utils/nnet_dense.h",
        "firmware/nnet_utils/nnet_activation.h",
        "firmware/nnet_utils/nnet_softmax.h",
        "firmware/nnet_utils/nnet_common.h",
        "firmware/weights/w2.h",
        "firmware/weights/b2.h",
        "firmware/weights/w8.h",
        "firmware/weights/b8.h",
        "firmware/weights/softmax_tables9.h",
        "myproject_test.cpp",
        "tb_data/tb_input_raw.dat",
        "tb_data/tb_output_raw.dat",
        "build_prj.tcl",
        "build_opt.tcl",
        "project.tcl",
        "vivado_synth.tcl",
        "constraints/clock.xdc",
        "README.md",
        "model.json",
        "qforge_hls.json",
        "qforge_scripts.json",
    ] {
        assert!(project.join(file).is_file(), "{file} missing; project holds {:?}", listing(&project));
    }
    // hls4ml 1.3.0's types for this model (method-facts.md).
    let defines = read(project.join("firmware/defines.h"));
    for line in [
        "typedef ap_fixed<16,6> input_t;",
        "typedef ap_fixed<6,1> layer2_weight_t;",
        "typedef ap_fixed<6,1> layer2_bias_t;",
        "typedef ap_fixed<27,12> layer2_accum_t;",
        "typedef ap_ufixed<6,0,AP_RND_CONV,AP_SAT> layer3_t;",
        "typedef ap_fixed<19,8> layer4_accum_t;",
        "typedef ap_fixed<18,7> layer6_accum_t;",
        "typedef ap_fixed<18,7> layer8_accum_t;",
        "typedef ap_ufixed<18,1,AP_RND,AP_SAT> softmax9_exp_t;",
        "typedef ap_ufixed<16,0,AP_RND,AP_SAT> result_t;",
        "#define N_INPUT_1_1 16",
        "#define N_OUTPUTS 5",
    ] {
        assert!(defines.contains(line), "`{line}` not in defines.h:\n{defines}");
    }
    let top = read(project.join("firmware/myproject.cpp"));
    for pragma in ["#pragma HLS PIPELINE II=1", "#pragma HLS ARRAY_PARTITION", "#pragma HLS INTERFACE ap_vld", "#pragma HLS ARRAY_RESHAPE"]
    {
        assert!(top.contains(pragma), "`{pragma}` not in the top function:\n{top}");
    }
    assert!(top.contains("void myproject(input_t input_1[N_INPUT_1_1], result_t layer9_out[N_OUTPUTS])"), "{top}");
    let dense = read(project.join("firmware/nnet_utils/nnet_dense.h"));
    assert!(dense.contains("#pragma HLS PIPELINE II=CONFIG_T::reuse_factor") && dense.contains("block factor=block_factor"));
    let params = read(project.join("firmware/parameters.h"));
    assert!(params.contains("static const unsigned strategy = nnet::latency;") && params.contains("reuse_factor = 1;"), "{params}");
    // Weights are raw integers, never decimal text.
    let w2 = read(project.join("firmware/weights/w2.h"));
    let body = &w2[w2.find("w2[1024] = {").expect("w2 array") + 12..w2.find("};").unwrap()];
    let raws: Vec<i64> = body.split(',').map(str::trim).filter(|t| !t.is_empty()).map(|t| t.parse().unwrap()).collect();
    assert_eq!(raws.len(), 1024);
    assert!(raws.iter().all(|&r| (-32..32).contains(&r)), "6-bit raw weights");
    // The scripts: hls4ml's names and options, the part and clock.
    let tcl = read(project.join("project.tcl"));
    assert!(tcl.contains("set part \"xcvu9p-flga2104-2L-e\"") && tcl.contains("set clock_period 5"), "{tcl}");
    let build = read(project.join("build_prj.tcl"));
    for option in ["csim", "synth", "cosim", "export", "vsynth"] {
        assert!(build.contains(&format!("if {{$opt({option})}}")), "no {option} step in build_prj.tcl");
    }
    assert!(read(project.join("constraints/clock.xdc")).contains("-period 5"));
    assert!(read(project.join("vivado_synth.tcl")).contains("synth_design"));
    assert_eq!(read(project.join("tb_data/tb_input_raw.dat")).lines().count(), 100);
}

#[test]
fn heterogeneous_types_come_from_each_layers_quantizers() {
    let model = trained("hetero", HETERO_SPEC);
    let dir = tempfile::tempdir().unwrap();
    let out = hls(&model, dir.path(), &["--strategy", "resource", "--reuse", "2", "--tb-samples", "0"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let defines = read(dir.path().join("firmware/defines.h"));
    for line in [
        "typedef ap_fixed<8,3> layer2_weight_t;",
        "typedef ap_ufixed<4,2,AP_RND_CONV,AP_SAT> layer3_t;",
        "typedef ap_ufixed<8,3,AP_RND_CONV,AP_SAT> layer5_t;",
        "typedef ap_fixed<10,3> layer8_weight_t;",
    ] {
        assert!(defines.contains(line), "`{line}` not in defines.h:\n{defines}");
    }
    let params = read(dir.path().join("firmware/parameters.h"));
    assert!(params.contains("static const unsigned strategy = nnet::resource;") && params.contains("reuse_factor = 2;"));
    assert!(params.contains("multiplier_limit = 512;"), "{params}");
}

#[test]
fn templates_folder_overrides_by_file_name_and_a_broken_one_writes_nothing() {
    let model = trained("q6", &jet_spec());
    let templates = tempfile::tempdir().unwrap();
    std::fs::write(templates.path().join("README.md"), "custom readme of {{ top }} on {{ part }}\n").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("prj");
    let out = hls(&model, &project, &["--templates", templates.path().to_str().unwrap(), "--top", "jet_tagger"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(read(project.join("README.md")), "custom readme of jet_tagger on xcvu13p-flga2577-2-e\n");
    assert!(project.join("firmware/jet_tagger.cpp").is_file() && project.join("jet_tagger_test.cpp").is_file());
    assert!(read(project.join("project.tcl")).contains("set project_name \"jet_tagger\""));

    std::fs::write(templates.path().join("nnet_dense.h"), "{% for x in %}broken\n").unwrap();
    let broken = dir.path().join("broken");
    let out = hls(&model, &broken, &["--templates", templates.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("nnet_dense.h") && stderr.contains("template"), "{stderr}");
    assert!(!broken.exists(), "a broken template must leave no output folder");
}

/// Run a bad `qforge hls` in a scratch working folder and check it touched nothing.
fn bad_hls(model: &Path, args: &[&str]) -> String {
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(cwd.path().join("keep.txt"), "x").unwrap();
    let out = qforge().current_dir(cwd.path()).arg("hls").arg("--model").arg(model).args(["--out", "prj"]).args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "expected exit 2 for {args:?}; stderr: {}", text(&out.stderr));
    assert_eq!(listing(cwd.path()), vec![PathBuf::from("keep.txt")], "bad input must write nothing");
    text(&out.stderr)
}

#[test]
fn unknown_part_strategy_io_and_invalid_reuse_are_named() {
    let model = trained("q6", &jet_spec());
    let err = bad_hls(&model, &["--part", "xc7z020clg400-1"]);
    assert!(err.contains("unknown part `xc7z020clg400-1`") && err.contains("known devices are xcvu9p, xcvu13p"), "{err}");
    let err = bad_hls(&model, &["--strategy", "fastest"]);
    assert!(err.contains("unknown strategy `fastest`") && err.contains("latency, resource"), "{err}");
    let err = bad_hls(&model, &["--io", "serial"]);
    assert!(err.contains("unknown io type `serial`") && err.contains("parallel, stream"), "{err}");
    let err = bad_hls(&model, &["--reuse", "3"]);
    assert!(err.contains("reuse factor 3 is not valid for layer `dense_1` (16 x 64)"), "{err}");
    assert!(err.contains("valid values: 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024"), "{err}");
    let err = bad_hls(&model, &["--reuse", "0"]);
    assert!(err.contains("reuse factor 0"), "{err}");
}

#[test]
fn types_that_do_not_fit_the_part_or_strategy_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    // 30-bit inputs times 6-bit weights do not fit a 27x18 DSP: refused with strategy resource.
    let wide = edited_model(dir.path(), |spec| spec["input_type"]["width"] = 30.into());
    let err = bad_hls(&wide, &["--strategy", "resource", "--part", "xcvu9p-flga2104-2L-e", "--reuse", "4"]);
    assert!(err.contains("30-bit inputs and 6-bit weights do not fit the 27x18 DSP"), "{err}");
    let ok = hls(&wide, &dir.path().join("wide_latency"), &["--tb-samples", "0"]);
    assert_eq!(ok.status.code(), Some(0), "latency takes wide products: {}", text(&ok.stderr));

    // 16-bit weights and activations: every product needs a DSP; 4256 of them exceed the Artix-7's 740.
    let dsp_heavy = edited_model(dir.path(), |spec| {
        for block in spec["blocks"].as_array_mut().unwrap() {
            block["kernel_quantizer"]["bits"] = 16.into();
            block["kernel_quantizer"]["integer"] = 5.into();
            if block["activation_quantizer"]["class"] == "quantized_relu" {
                block["activation_quantizer"]["bits"] = 16.into();
                block["activation_quantizer"]["integer"] = 6.into();
            }
        }
    });
    let err = bad_hls(&dsp_heavy, &["--part", "xc7a200t-fbg676-2"]);
    assert!(err.contains("needs about 4256 DSP multipliers") && err.contains("xc7a200t-fbg676-2 has 740"), "{err}");
    assert!(err.contains("raise --reuse"), "{err}");
    let ok = hls(&dsp_heavy, &dir.path().join("artix_reuse8"), &["--part", "xc7a200t-fbg676-2", "--reuse", "8", "--tb-samples", "0"]);
    assert_eq!(ok.status.code(), Some(0), "reuse 8 needs 532 DSPs: {}", text(&ok.stderr));
}

#[test]
fn a_non_empty_output_folder_needs_force() {
    let model = trained("q6", &jet_spec());
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("prj");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("notes.txt"), "mine").unwrap();
    let out = hls(&model, &project, &["--tb-samples", "0"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("exists and is not empty") && err.contains("--force"), "{err}");
    assert_eq!(listing(&project), vec![PathBuf::from("notes.txt")]);

    let out = hls(&model, &project, &["--tb-samples", "0", "--force"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(read(project.join("notes.txt")), "mine", "--force keeps the user's files");
    assert!(project.join("firmware/myproject.cpp").is_file());
}

#[test]
fn generated_tcl_runs_under_the_vivado_hls_and_vitis_hls_doubles() {
    let model = trained("q6", &jet_spec());
    let doubles = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/doubles");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reports");
    for (backend, tool) in [("vitis_hls", "vitis_hls"), ("vivado_hls", "vivado_hls")] {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("prj");
        let out = hls(&model, &project, &["--backend", backend, "--part", "xcvu9p-flga2104-2L-e", "--tb-samples", "10"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let bin = tempfile::tempdir().unwrap();
        for name in [tool, "vivado", "xilinx_prelude.tcl", "double_modes.sh"] {
            std::fs::copy(doubles.join(name), bin.path().join(name)).unwrap();
        }
        let record = dir.path().join("record.txt");
        let run = qforge()
            .env("PATH", format!("{}:{}", bin.path().display(), std::env::var("PATH").unwrap_or_default()))
            .env("QFORGE_FIXTURES", &fixtures)
            .env("QFORGE_DOUBLE_RECORD", &record)
            .env("QFORGE_DOUBLE_MODE", "ok")
            .args(["synth", "--tool", tool, "--vsynth", "--json"])
            .arg(&project)
            .output()
            .unwrap();
        let json = one_json_object(&run);
        assert_eq!(run.status.code(), Some(0), "{json}\n{}", text(&run.stderr));
        assert_eq!(json["outcome"]["kind"], "success", "{json}");
        let lines = read(&record);
        for line in [
            "set_top myproject",
            "add_files firmware/myproject.cpp -cflags -std=c++0x",
            "add_files -tb myproject_test.cpp -cflags -std=c++0x",
            "add_files -tb firmware/weights",
            "add_files -tb tb_data",
            "set_part xcvu9p-flga2104-2L-e",
            "create_clock -period 5 -name default",
            "csynth_design",
            "synth_design",
        ] {
            assert!(lines.lines().any(|l| l.starts_with(line)), "{backend}: `{line}` not recorded:\n{lines}");
        }
        let reports: Vec<String> = json["reports"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_string()).collect();
        assert!(reports.iter().any(|r| r.ends_with("myproject_prj/solution1/syn/report/myproject_csynth.xml")), "{reports:?}");
    }
}

#[test]
fn the_testbench_checks_itself_as_vivado_csim_runs_it() {
    let model = trained("q6", &jet_spec());
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("prj");
    assert_eq!(hls(&model, &project, &["--tb-samples", "200"]).status.code(), Some(0));
    let binary = project.join("tb");
    let compile = std::process::Command::new("g++")
        .current_dir(&project)
        .args(["-O1", "-std=c++14", "-I", "firmware", "-I"])
        .arg(ap_types())
        .args(["myproject_test.cpp", "firmware/myproject.cpp", "-o"])
        .arg(&binary)
        .output()
        .expect("g++ is required: apt-get install g++");
    assert!(compile.status.success(), "{}", text(&compile.stderr));
    // No arguments: tb_data/tb_input_raw.dat in, tb_data/csim_results.log out, checked against tb_output_raw.dat.
    let run = std::process::Command::new(&binary).current_dir(&project).output().unwrap();
    let stdout = text(&run.stdout);
    assert!(run.status.success() && stdout.contains("INFO: Test PASSED (200 samples"), "{stdout}{}", text(&run.stderr));
    assert_eq!(read(project.join("tb_data/csim_results.log")), read(project.join("tb_data/tb_output_raw.dat")));
    // A wrong expected line fails the testbench.
    let expected = read(project.join("tb_data/tb_output_raw.dat"));
    let first_line_end = expected.find('\n').unwrap();
    std::fs::write(project.join("tb_data/tb_output_raw.dat"), format!("0 0 0 0 0 9{}", &expected[first_line_end..])).unwrap();
    let run = std::process::Command::new(&binary).current_dir(&project).output().unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stdout));
}

#[test]
fn csim_without_ap_types_names_the_fix() {
    let model = trained("q6", &jet_spec());
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("prj");
    assert_eq!(hls(&model, &project, &["--tb-samples", "0"]).status.code(), Some(0));
    let missing = dir.path().join("no_headers");
    let out = qforge().args(["csim", "--project"]).arg(&project).env("QFORGE_AP_TYPES", &missing).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "a missing dependency is a tool failure");
    let err = text(&out.stderr);
    assert!(err.contains("ap_fixed.h") && err.contains("scripts/setup-ap-types.sh") && err.contains("QFORGE_AP_TYPES"), "{err}");
    assert!(!project.join("csim").exists(), "nothing is built without headers");
    let out = qforge().args(["csim", "--project"]).arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("qforge_hls.json"), "{}", text(&out.stderr));
}
