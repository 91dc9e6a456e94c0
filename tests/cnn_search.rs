//! `qforge search` over a CNN: the conv layers' kernel, bias and ReLU
//! quantizers are dimensions as the dense layers' are, the trials' models
//! carry the chosen conv quantizers, the budget prunes on the conv's cost,
//! and `tune_filters` scales conv filters and hidden dense units as
//! AutoQKeras does (`max(int(n * scale), 1)`, output layer never).
use qforge::estimate::{Calibration, FlowOptions, Target};
use qforge::events::Silent;
use qforge::model::features::FeatureLayer;
use qforge::model::TrainedModel;
use qforge::search::results::TrialStatus;
use qforge::search::space::{LayerRef, SearchSpace};
use qforge::search::{run_search, SearchOptions};
use std::path::{Path, PathBuf};

const CNN: &str = r#"name = "tiny_cnn"
inputs = [6, 6, 1]
classes = ["a", "b", "c"]
[[layers]]
type = "conv2d"
filters = 4
kernel_size = 3
kernel_quantizer = "quantized_bits(6,0,alpha=1)"
bias_quantizer = "quantized_bits(6,0,alpha=1)"
activation = "relu"
quantizer = "quantized_relu(6,2)"
[[layers]]
type = "max_pooling2d"
pool_size = 2
[[layers]]
type = "flatten"
[[layers]]
type = "dense"
units = 6
kernel_quantizer = "quantized_bits(6,0,alpha=1)"
bias_quantizer = "quantized_bits(6,0,alpha=1)"
activation = "relu"
quantizer = "quantized_relu(6,2)"
[[layers]]
type = "dense"
units = 3
kernel_quantizer = "quantized_bits(6,0,alpha=1)"
bias_quantizer = "quantized_bits(6,0,alpha=1)"
[[layers]]
type = "activation"
activation = "softmax"
[training]
epochs = 2
batch_size = 32
learning_rate = 0.003
seed = 3
"#;

fn space(dir: &Path, search_extra: &str, rest: &str) -> PathBuf {
    std::fs::write(dir.join("cnn.toml"), CNN).unwrap();
    let text = format!(
        r#"model = "cnn.toml"
[reference]
kernel = "quantized_bits(16,6)"
bias = "quantized_bits(16,6)"
activation = "quantized_relu(16,6)"
[search]
goal = "energy"
tuner = "random"
max_trials = 4
epochs = 2
seed = 5
samples = 600
{search_extra}
[candidates]
kernel = ["quantized_bits(3,0,1,alpha=1)", "quantized_bits(8,0,1,alpha=1)"]
bias = ["quantized_bits(4,0,1,alpha=1)", "quantized_bits(8,3,1,alpha=1)"]
activation = ["quantized_relu(3,1)", "quantized_relu(8,2)"]
{rest}
"#
    );
    let p = dir.join("space.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn conv(spec: &qforge::model::ModelSpec) -> &qforge::model::features::ConvLayer {
    match &spec.features[0] {
        FeatureLayer::Conv(c) => c,
        other => panic!("{other:?}"),
    }
}

#[test]
fn conv_quantizers_are_dimensions_and_trials_train_them() {
    let dir = tempfile::tempdir().unwrap();
    let s = SearchSpace::from_file(&space(dir.path(), "", "")).unwrap();
    let labels: Vec<String> = s.dimensions.iter().map(|d| d.label(&s.base)).collect();
    assert_eq!(
        labels,
        [
            "conv2d_1.kernel",
            "conv2d_1.bias",
            "conv2d_1.activation",
            "dense_1.kernel",
            "dense_1.bias",
            "dense_1.activation",
            "dense_2.kernel",
            "dense_2.bias"
        ]
    );
    assert_eq!(s.dimensions[0].layers, [LayerRef::Conv(0)]);
    // The reference is 16-bit in the conv layer too.
    assert_eq!(conv(&s.reference).kernel_quantizer, s.reference.blocks[0].kernel_quantizer);
    assert_eq!(conv(&s.reference).kernel_quantizer.bit_width(), 16);
    assert_eq!(conv(&s.reference).activation_quantizer.spelling(), s.reference.blocks[0].activation_quantizer.spelling());
    // build_spec puts the choice into the conv layer.
    let built = s.build_spec(&[0, 1, 0, 1, 1, 1, 1, 1]);
    let c = conv(&built);
    assert_eq!(c.kernel_quantizer, s.dimensions[0].candidates[0]);
    assert_eq!(c.bias_quantizer, s.dimensions[1].candidates[1]);
    assert_eq!(c.activation_quantizer, s.dimensions[2].candidates[0]);
    assert_eq!(built.blocks[0].kernel_quantizer, s.dimensions[3].candidates[1]);

    let out = dir.path().join("out");
    let o = run_search(&s, &SearchOptions { out: out.clone(), ..Default::default() }, &Calibration::default(), &Silent).unwrap();
    assert_eq!(o.trials.len(), 4);
    let mut kernels = std::collections::BTreeSet::new();
    for t in &o.trials {
        assert_eq!(t.status, TrialStatus::Trained, "{t:?}");
        assert_eq!(t.layers[0].layer, "conv2d_1");
        let model = TrainedModel::load(&out.join(t.model.as_ref().unwrap())).unwrap();
        let c = conv(&model.spec);
        // The trained model carries the trial's conv quantizers, and its energy is that spec's.
        assert_eq!(c.kernel_quantizer, s.dimensions[0].candidates[t.choice[0]]);
        assert_eq!(c.activation_quantizer, s.dimensions[2].candidates[t.choice[2]]);
        assert_eq!(t.layers[0].kernel, c.kernel_quantizer.spelling());
        kernels.insert(t.choice[0]);
        let est = qforge::search::estimate_spec(&model.spec, &Calibration::default(), &Target::paper(), &FlowOptions::default()).unwrap();
        assert!((est.totals.energy_pj - t.energy_pj).abs() < 1e-9, "{} vs {}", est.totals.energy_pj, t.energy_pj);
    }
    assert_eq!(
        kernels.len(),
        2,
        "4 random trials should try both conv kernels: {:?}",
        o.trials.iter().map(|t| &t.choice).collect::<Vec<_>>()
    );
    // The conv's kernel width moves the energy: the same choice but for the conv kernel costs less at 3 bits.
    let (narrow, wide) = (s.build_spec(&[0, 0, 0, 0, 0, 0, 0, 0]), s.build_spec(&[1, 0, 0, 0, 0, 0, 0, 0]));
    let e = |spec| {
        qforge::search::estimate_spec(spec, &Calibration::default(), &Target::paper(), &FlowOptions::default()).unwrap().totals.energy_pj
    };
    assert!(e(&narrow) < e(&wide), "{} vs {}", e(&narrow), e(&wide));
}

#[test]
fn the_budget_prunes_on_the_conv_layers_cost() {
    let dir = tempfile::tempdir().unwrap();
    // Only the conv kernel is searched (the rest fixed); a DSP budget that the
    // 8-bit conv kernel breaks and the 3-bit one meets.
    let rest = "[layers.conv2d_1]\nkernel = [\"quantized_bits(3,0,1,alpha=1)\", \"quantized_bits(16,6)\"]\nbias = [\"quantized_bits(4,0,1,alpha=1)\"]\nactivation = [\"quantized_relu(3,1)\"]\n[layers.dense_1]\nkernel = [\"quantized_bits(3,0,1,alpha=1)\"]\nbias = [\"quantized_bits(4,0,1,alpha=1)\"]\nactivation = [\"quantized_relu(3,1)\"]\n[layers.dense_2]\nkernel = [\"quantized_bits(3,0,1,alpha=1)\"]\nbias = [\"quantized_bits(4,0,1,alpha=1)\"]\n[budget]\npart = \"xcvu9p-flga2104-2L-e\"\ndsp = 10\n";
    let s = SearchSpace::from_file(&space(dir.path(), "", rest)).unwrap_or_else(|e| panic!("{e}"));
    let cal = Calibration::default();
    let dsp = |c: usize| {
        qforge::search::estimate_spec(&s.build_spec(&[c, 0, 0, 0, 0, 0, 0, 0]), &cal, &Target::paper(), &FlowOptions::default())
            .unwrap()
            .totals
            .dsp
    };
    assert!(dsp(0) <= 10.0 && dsp(1) > 10.0, "{} {}", dsp(0), dsp(1));
    let o = run_search(&s, &SearchOptions { out: dir.path().join("out"), ..Default::default() }, &cal, &Silent).unwrap();
    for t in &o.trials {
        let want = if t.choice[0] == 1 { TrialStatus::Pruned } else { TrialStatus::Trained };
        assert_eq!(t.status, want, "{t:?}");
    }
    assert!(o.trials.iter().any(|t| t.status == TrialStatus::Pruned) && o.trials.iter().any(|t| t.status == TrialStatus::Trained));
}
