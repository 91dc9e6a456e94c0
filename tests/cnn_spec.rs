//! Issue 18's spec slice: the TOML spec's input shape and feature layers
//! (conv, pooling, flatten), shape inference and its errors naming file,
//! line and field, and model.json compatibility (dense files unchanged).
use qforge::model::conv::{Padding, Shape3};
use qforge::model::features::{conv_macs, infer, ConvLayer, FeatureLayer, GlobalPoolLayer, PoolLayer, Tensor};
use qforge::model::pool::PoolOp;
use qforge::model::validate::validate_spec;
use qforge::model::{Activation, ModelSpec};
use qforge::quant::Quantizer;
use std::path::Path;

fn conv(rank: u8, filters: usize, k: (usize, usize), s: (usize, usize), padding: Padding) -> FeatureLayer {
    FeatureLayer::Conv(ConvLayer {
        name: "c".into(),
        rank,
        filters,
        kernel_size: k,
        strides: s,
        padding,
        use_bias: true,
        kernel_quantizer: Quantizer::Float,
        bias_quantizer: Quantizer::Float,
        batchnorm: false,
        activation: Activation::Relu,
        activation_quantizer: Quantizer::Float,
        types: Default::default(),
    })
}

fn pool(rank: u8, size: (usize, usize), padding: Padding) -> FeatureLayer {
    FeatureLayer::Pool(PoolLayer {
        name: "p".into(),
        rank,
        op: PoolOp::Max,
        pool_size: size,
        strides: size,
        padding,
        types: Default::default(),
    })
}

#[test]
fn shapes_follow_keras() {
    let layers =
        vec![conv(2, 8, (3, 3), (1, 1), Padding::Valid), pool(2, (2, 2), Padding::Valid), FeatureLayer::Flatten { name: "f".into() }];
    let s = infer(&[8, 8, 1], 64, &layers).unwrap();
    assert_eq!(s.outputs[0], Tensor::Map { shape: Shape3::new(6, 6, 8), rank: 2 });
    assert_eq!(s.outputs[1], Tensor::Map { shape: Shape3::new(3, 3, 8), rank: 2 });
    assert_eq!(s.head_inputs, 72);
    assert_eq!(conv_macs(&layers, &s, Tensor::input(&[8, 8, 1], 64).unwrap()), 6 * 6 * 8 * 9);
    // same padding with stride 2: ceil(8/2) = 4; a 5x5 kernel on 3x3 is fine with `same`.
    let layers = vec![
        conv(2, 4, (3, 3), (2, 2), Padding::Same),
        conv(2, 2, (5, 5), (1, 1), Padding::Same),
        FeatureLayer::GlobalPool(GlobalPoolLayer { name: "g".into(), rank: 2, op: PoolOp::Average, types: Default::default() }),
    ];
    let s = infer(&[8, 8, 3], 192, &layers).unwrap();
    assert_eq!(s.outputs[1], Tensor::Map { shape: Shape3::new(4, 4, 2), rank: 2 });
    assert_eq!(s.head_inputs, 2);
    // 1D: [16, 3] -> conv1d k=3 s=2 valid: (16-3)/2+1 = 7 steps.
    let layers = vec![conv(1, 5, (1, 3), (1, 2), Padding::Valid), FeatureLayer::Flatten { name: "f".into() }];
    assert_eq!(infer(&[16, 3], 48, &layers).unwrap().head_inputs, 35);
    assert_eq!(infer(&[], 16, &[]).unwrap().head_inputs, 16);
}

#[test]
fn shape_faults_say_what_and_where() {
    let f = infer(&[4, 4, 1], 16, &[conv(2, 2, (5, 5), (1, 1), Padding::Valid)]).unwrap_err();
    assert_eq!((f.layer, f.field), (Some(0), "kernel_size"));
    assert!(f.message.contains("kernel 5x5 is larger than its input 4x4"), "{}", f.message);
    let f = infer(&[4, 4, 1], 16, &[conv(2, 2, (3, 3), (0, 1), Padding::Valid)]).unwrap_err();
    assert!(f.message.contains("stride 0x1 is 0") && f.field == "strides", "{}", f.message);
    let f = infer(&[4, 4, 1], 16, &[conv(2, 2, (3, 3), (1, 1), Padding::Valid)]).unwrap_err();
    assert_eq!(f.layer, None);
    assert!(f.message.contains("3-D map [2, 2, 2] reaches the dense layer"), "{}", f.message);
    let f = infer(&[4, 4, 1], 16, &[pool(2, (2, 2), Padding::Valid), pool(2, (3, 3), Padding::Valid)]).unwrap_err();
    assert_eq!((f.layer, f.field), (Some(1), "pool_size"));
    assert!(f.message.contains("pool 3x3 is larger than its input 2x2"), "{}", f.message);
    let f = infer(&[16, 2], 32, &[conv(2, 2, (3, 3), (1, 1), Padding::Valid)]).unwrap_err();
    assert!(f.message.contains("conv2d takes a 3-D"), "{}", f.message);
    let f = infer(&[16, 2], 32, &[conv(1, 2, (1, 17), (1, 1), Padding::Valid)]).unwrap_err();
    assert!(f.message.contains("kernel 17 is larger than its input 16"), "{}", f.message);
    let f = infer(&[4, 4, 1], 16, &[FeatureLayer::Flatten { name: "f".into() }, pool(2, (2, 2), Padding::Valid)]).unwrap_err();
    assert!(f.message.contains("must come before flatten"), "{}", f.message);
    assert!(infer(&[], 16, &[FeatureLayer::Flatten { name: "f".into() }]).unwrap_err().message.contains("shaped input"));
    assert!(infer(&[4, 0, 1], 0, &[]).unwrap_err().message.contains("zero side"));
}

fn parse(text: &str) -> qforge::error::Result<ModelSpec> {
    ModelSpec::from_toml(text, Path::new("m.toml"))
}

fn err(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

const HEAD: &str = "[[layers]]\ntype = \"dense\"\nunits = 10\nactivation = \"softmax\"\n";

#[test]
fn digits_cnn_parses_with_shapes_and_macs() {
    let text = format!(
        "inputs = [8, 8, 1]\n[[layers]]\ntype = \"conv2d\"\nfilters = 8\nkernel_size = 3\nactivation = \"relu\"\n\
         quantizer = \"quantized_relu(6)\"\nkernel_quantizer = \"quantized_bits(6,0,alpha=1)\"\n\
         [[layers]]\ntype = \"max_pooling2d\"\n[[layers]]\ntype = \"flatten\"\n{HEAD}"
    );
    let spec = parse(&text).unwrap();
    assert_eq!((spec.inputs, spec.input_shape.clone()), (64, vec![8, 8, 1]));
    assert_eq!(spec.features.len(), 3);
    let FeatureLayer::Conv(c) = &spec.features[0] else { panic!("{:?}", spec.features[0]) };
    assert_eq!((c.name.as_str(), c.filters, c.kernel_size, c.strides, c.padding), ("conv2d_1", 8, (3, 3), (1, 1), Padding::Valid));
    assert!(c.use_bias && !c.batchnorm && c.activation == Activation::Relu);
    assert_eq!(c.kernel_quantizer.spelling(), "quantized_bits(6,0,alpha=1)");
    let FeatureLayer::Pool(p) = &spec.features[1] else { panic!() };
    assert_eq!((p.op, p.pool_size, p.strides), (PoolOp::Max, (2, 2), (2, 2)));
    assert_eq!(spec.head_inputs(), 72);
    assert_eq!(spec.block_inputs(), vec![72]);
    assert_eq!(spec.macs(), 6 * 6 * 8 * 9 + 72 * 10);
    // model.json round trip.
    let json = serde_json::to_string(&spec).unwrap();
    let back: ModelSpec = serde_json::from_str(&json).unwrap();
    assert_eq!(back, spec);
    assert!(validate_spec(&back).is_ok());
}

#[test]
fn dense_models_write_and_read_as_before() {
    let spec = ModelSpec::from_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/jet_tagger.toml")).unwrap();
    assert!(spec.input_shape.is_empty() && spec.features.is_empty() && !spec.has_features());
    let json = serde_json::to_value(&spec).unwrap();
    assert!(json.get("input_shape").is_none() && json.get("features").is_none(), "{json}");
    assert_eq!(spec.block_inputs(), vec![16, 64, 32, 32]);
    assert_eq!(spec.macs(), 4256);
    let back: ModelSpec = serde_json::from_value(json).unwrap();
    assert_eq!(back, spec);
}

#[test]
fn conv1d_batchnorm_activation_and_global_pooling() {
    let text = format!(
        "inputs = [16, 3]\n[[layers]]\ntype = \"conv1d\"\nname = \"c\"\nfilters = 4\nkernel_size = [3]\nstrides = 2\n\
         padding = \"same\"\nuse_bias = false\n[[layers]]\ntype = \"batchnorm\"\n[[layers]]\ntype = \"activation\"\n\
         activation = \"relu\"\nquantizer = \"quantized_relu(4)\"\n[[layers]]\ntype = \"global_average_pooling1d\"\n{HEAD}"
    );
    let spec = parse(&text).unwrap();
    let FeatureLayer::Conv(c) = &spec.features[0] else { panic!() };
    assert_eq!((c.rank, c.kernel_size, c.strides, c.padding, c.use_bias), (1, (1, 3), (1, 2), Padding::Same, false));
    assert!(c.batchnorm && c.activation == Activation::Relu && c.activation_quantizer.spelling().starts_with("quantized_relu(4"));
    assert_eq!(spec.features.len(), 2);
    assert_eq!(spec.feature_shapes().unwrap().outputs[0], Tensor::Map { shape: Shape3::one_d(8, 4), rank: 1 });
    assert_eq!(spec.head_inputs(), 4);
    assert_eq!(spec.macs(), 8 * 4 * 3 * 3 + 4 * 10);
}

#[test]
fn toml_shape_errors_name_file_line_and_field() {
    let conv = |extra: &str| format!("inputs = [4, 4, 1]\n[[layers]]\ntype = \"conv2d\"\nfilters = 2\n{extra}");
    // Kernel larger than its input (valid padding): line 5 is kernel_size.
    let e = err(&format!("{}[[layers]]\ntype = \"flatten\"\n{HEAD}", conv("kernel_size = 5\n")));
    assert!(e.contains("m.toml:5") && e.contains("layers[0].kernel_size") && e.contains("kernel 5x5 is larger than its input 4x4"), "{e}");
    // ... accepted with same padding.
    assert!(parse(&format!("{}[[layers]]\ntype = \"flatten\"\n{HEAD}", conv("kernel_size = 5\npadding = \"same\"\n"))).is_ok());
    // Stride 0: line 6.
    let e = err(&format!("{}[[layers]]\ntype = \"flatten\"\n{HEAD}", conv("kernel_size = 3\nstrides = [0, 1]\n")));
    assert!(e.contains("m.toml:6") && e.contains("layers[0].strides") && e.contains("stride 0x1 is 0"), "{e}");
    // A 3-D map reaching the dense layer: the dense table's type line (7).
    let e = err(&format!("{}{HEAD}", conv("kernel_size = 3\n")));
    assert!(e.contains("m.toml:7") && e.contains("layers[1].type") && e.contains("3-D map [2, 2, 2] reaches the dense layer"), "{e}");
    // A pool larger than its input: line 8.
    let e = err(&format!("{}[[layers]]\ntype = \"average_pooling2d\"\npool_size = [3, 3]\n{HEAD}", conv("kernel_size = 3\n")));
    assert!(e.contains("m.toml:8") && e.contains("layers[1].pool_size") && e.contains("pool 3x3 is larger than its input 2x2"), "{e}");
    // A 2-D conv on a 1-D input.
    let e = err(&format!("inputs = [8, 2]\n[[layers]]\ntype = \"conv2d\"\nfilters = 2\nkernel_size = 3\n{HEAD}"));
    assert!(e.contains("m.toml:3") && e.contains("layers[0].type") && e.contains("conv2d takes a 3-D"), "{e}");
    // A shaped input straight into a dense layer.
    let e = err(&format!("inputs = [8, 8, 1]\n{HEAD}"));
    assert!(e.contains("m.toml:3") && e.contains("reaches the dense layer"), "{e}");
}

#[test]
fn toml_layer_errors() {
    let e = err(&format!("inputs = [8, 8, 0]\n{HEAD}"));
    assert!(e.contains("m.toml:1") && e.contains("`inputs`") && e.contains("at least 1"), "{e}");
    let e = err(&format!("inputs = [8, 8, 1, 1]\n{HEAD}"));
    assert!(e.contains("m.toml:1") && e.contains("[height, width, channels]"), "{e}");
    let e = err(&format!("inputs = [8, 8, 1]\n[[layers]]\ntype = \"conv2d\"\nkernel_size = 3\n{HEAD}"));
    assert!(e.contains("m.toml:3") && e.contains("layers[0].filters") && e.contains("needs `filters`"), "{e}");
    let e = err(&format!("inputs = [8, 8, 1]\n[[layers]]\ntype = \"conv2d\"\nfilters = 2\nkernel_size = [3, 3, 3]\n{HEAD}"));
    assert!(e.contains("m.toml:5") && e.contains("layers[0].kernel_size") && e.contains("3 values"), "{e}");
    let e = err(&format!("inputs = [8, 8, 1]\n[[layers]]\ntype = \"conv2d\"\nfilters = 2\nkernel_size = 3\nunits = 4\n{HEAD}"));
    assert!(e.contains("m.toml:6") && e.contains("layers[0].units") && e.contains("takes no `units`"), "{e}");
    let e = err(&format!("inputs = [8, 8, 1]\n[[layers]]\ntype = \"conv2d\"\nfilters = 2\nkernel_size = 3\npadding = \"full\"\n{HEAD}"));
    assert!(e.contains("m.toml:6") && e.contains("layers[0].padding") && e.contains("valid or same"), "{e}");
    let e =
        err(&format!("inputs = [8, 8, 1]\n[[layers]]\ntype = \"conv2d\"\nfilters = 2\nkernel_size = 3\nactivation = \"softmax\"\n{HEAD}"));
    assert!(e.contains("m.toml:6") && e.contains("layers[0].activation") && e.contains("relu or linear"), "{e}");
    let e = err(&format!("inputs = [8, 8, 1]\n[[layers]]\ntype = \"flatten\"\n{HEAD}[[layers]]\ntype = \"flatten\"\n"));
    assert!(e.contains("m.toml:9") && e.contains("layers[2].type") && e.contains("before the dense head"), "{e}");
    let e = err(&format!("inputs = [8, 8, 1]\n[[layers]]\ntype = \"max_pooling2d\"\n[[layers]]\ntype = \"batchnorm\"\n{HEAD}"));
    assert!(e.contains("layers[1].type") && e.contains("batchnorm"), "{e}");
    let e = err(&format!(
        "inputs = [8, 8, 1]\n[[layers]]\ntype = \"conv2d\"\nfilters = 2\nkernel_size = 3\nactivation = \"relu\"\n\
         [[layers]]\ntype = \"batchnorm\"\n[[layers]]\ntype = \"flatten\"\n{HEAD}"
    ));
    assert!(e.contains("m.toml:8") && e.contains("layers[1].type") && e.contains("without activation"), "{e}");
    let e = err(&format!("inputs = 16\n[[layers]]\ntype = \"flatten\"\n{HEAD}"));
    assert!(e.contains("m.toml:3") && e.contains("layers[0].type") && e.contains("flatten gets the flat vector [16]"), "{e}");
}

#[test]
fn model_json_feature_faults_name_the_field() {
    let text =
        format!("inputs = [8, 8, 1]\n[[layers]]\ntype = \"conv2d\"\nfilters = 2\nkernel_size = 3\n[[layers]]\ntype = \"flatten\"\n{HEAD}");
    let spec = parse(&text).unwrap();
    let mut bad = spec.clone();
    let FeatureLayer::Conv(c) = &mut bad.features[0] else { panic!() };
    c.kernel_size = (9, 9);
    let f = validate_spec(&bad).unwrap_err();
    assert_eq!(f.field, "features[0].kernel_size");
    assert!(f.message.contains("larger than its input"), "{}", f.message);
    let mut bad = spec.clone();
    bad.inputs = 63;
    assert_eq!(validate_spec(&bad).unwrap_err().field, "inputs");
    let mut bad = spec.clone();
    bad.features.pop();
    let f = validate_spec(&bad).unwrap_err();
    assert_eq!(f.field, "features");
    assert!(f.message.contains("reaches the dense layer"), "{}", f.message);
    let mut bad = spec;
    let FeatureLayer::Conv(c) = &mut bad.features[0] else { panic!() };
    c.activation = Activation::Softmax;
    assert_eq!(validate_spec(&bad).unwrap_err().field, "features[0].activation");
}
