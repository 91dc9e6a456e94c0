//! Unit tests of the TOML spec parser (`spec`).
use super::*;

fn parse(text: &str) -> Result<ModelSpec> {
    ModelSpec::from_toml(text, Path::new("m.toml"))
}

#[test]
fn jet_example_parses() {
    let spec = ModelSpec::from_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/jet_tagger.toml")).unwrap();
    assert_eq!(spec.blocks.iter().map(|b| b.units).collect::<Vec<_>>(), vec![64, 32, 32, 5]);
    assert_eq!(spec.macs(), 4256);
    assert_eq!(spec.blocks[0].activation, Activation::Relu);
    assert_eq!(spec.blocks[3].activation, Activation::Softmax);
    assert_eq!(spec.input_type.cpp(), "ap_fixed<16,6>");
}

#[test]
fn errors_name_line_and_field() {
    let text = "inputs = 4\n[[layers]]\ntype = \"conv\"\nunits = 3\n";
    let e = parse(text).unwrap_err().to_string();
    assert!(e.contains("m.toml:3") && e.contains("layers[0].type") && e.contains("unknown layer type"), "{e}");
    let text = "inputs = 4\n[[layers]]\ntype = \"dense\"\nunits = 3\nkernel_quantizer = \"quantized_bits(0,0)\"\n";
    let e = parse(text).unwrap_err().to_string();
    assert!(e.contains("m.toml:5") && e.contains("kernel_quantizer") && e.contains("between 1 and 32"), "{e}");
    let e =
        parse("inputs = 4\n[[layers]]\ntype = \"dense\"\nunits = 3\nkernel_quantizer = \"quantized_bits(4,6)\"\n").unwrap_err().to_string();
    assert!(e.contains("integer bits"), "{e}");
    let e = parse("inputs = 4\nbogus = 1\n").unwrap_err().to_string();
    assert!(e.contains("m.toml:2") && e.contains("unknown field"), "{e}");
}

#[test]
fn batchnorm_folds_into_previous_dense() {
    let text = "inputs = 2\n[[layers]]\ntype = \"dense\"\nunits = 3\n[[layers]]\ntype = \"batchnorm\"\n[[layers]]\ntype = \"activation\"\nactivation = \"relu\"\n";
    let spec = parse(text).unwrap();
    assert!(spec.blocks[0].batchnorm);
    assert_eq!(spec.blocks[0].activation, Activation::Relu);
    assert!(parse("inputs = 2\n[[layers]]\ntype = \"batchnorm\"\n").is_err());
}

#[test]
fn older_model_json_means_qforge_types_and_new_fields_round_trip() {
    let text = "inputs = 2\n[[layers]]\ntype = \"dense\"\nunits = 3\nactivation = \"softmax\"\n";
    let mut spec = parse(text).unwrap();
    let json = serde_json::to_value(&spec).unwrap();
    // Defaults are not written: files without them read back the same.
    assert!(json.get("types").is_none() && json.get("softmax").is_none() && json["blocks"][0].get("types").is_none());
    let back: ModelSpec = serde_json::from_value(json).unwrap();
    assert_eq!(back.types, TypesMode::Qforge);
    assert_eq!(back.softmax.implementation, SoftmaxImplementation::Qforge);
    assert!(back.blocks[0].types.is_empty());
    spec.types = TypesMode::Hls4ml;
    spec.blocks[0].types.accum = Some(FixedType::signed(16, 6));
    spec.softmax = SoftmaxConfig {
        implementation: SoftmaxImplementation::Latency,
        table_size: Some(512),
        exp_table_t: Some(FixedType::signed(18, 8)),
        ..Default::default()
    };
    let json = serde_json::to_string(&spec).unwrap();
    assert!(json.contains("\"types\":\"hls4ml\"") && json.contains("\"implementation\":\"latency\""), "{json}");
    let back: ModelSpec = serde_json::from_str(&json).unwrap();
    assert_eq!(back, spec);
    assert!(crate::model::validate::validate_spec(&back).is_ok());
    let mut bad = spec.clone();
    bad.softmax.table_size = Some(1000);
    assert_eq!(crate::model::validate::validate_spec(&bad).unwrap_err().field, "softmax.table_size");
    let mut bad = spec.clone();
    bad.blocks[0].types.weight = Some(FixedType::signed(0, 0));
    assert_eq!(crate::model::validate::validate_spec(&bad).unwrap_err().field, "blocks[0].types.weight");
    let mut bad = spec;
    bad.blocks[0].activation = Activation::Relu;
    assert_eq!(crate::model::validate::validate_spec(&bad).unwrap_err().field, "softmax");
}

#[test]
fn fixed_type_spellings() {
    assert_eq!(parse_fixed_type("ap_fixed<16,6>").unwrap(), FixedType::signed(16, 6));
    assert_eq!(parse_fixed_type("fixed<16,6>").unwrap(), FixedType::signed(16, 6));
    let t = parse_fixed_type("ap_ufixed<6,0,AP_RND_CONV,AP_SAT>").unwrap();
    assert_eq!(t.cpp(), "ap_ufixed<6,0,AP_RND_CONV,AP_SAT>");
    assert!(parse_fixed_type("ap_fixed<0,0>").is_err());
    assert!(parse_fixed_type("int8").is_err());
}
