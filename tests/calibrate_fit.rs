//! The calibration fit and its metrics: recovery of known coefficients from
//! synthetic samples, non-negativity, constant and absent features, too few
//! samples, k-fold held-out predictions, and MAPE / R² / Spearman on hand examples.
use qforge::calibrate::fit::{self, Dropped, Problem};
use qforge::calibrate::metrics::{mape_percent, r_squared, ranks, spearman, Metrics};
use qforge::calibrate::{calibrate_resources, CalibrationSample, Measured, Quantity, ResourceOptions};
use qforge::estimate::{Calibration, FEATURE_NAMES};
use qforge::events::Silent;
use rand::{Rng, SeedableRng};

fn feature_index(name: &str) -> usize {
    FEATURE_NAMES.iter().position(|f| *f == name).unwrap()
}

/// Samples from a known linear LUT model (totals of ~15k LUTs), with ±`noise` LUTs of noise.
fn synthetic(n: usize, noise: f64, seed: u64) -> (Vec<CalibrationSample>, Vec<(&'static str, f64)>) {
    let truth = vec![("mult_lut", 3.0), ("lut_product_bit", 0.9), ("adder_bit", 1.7), ("relu_bit", 0.4), ("layer", 35.0)];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let samples = (0..n)
        .map(|i| {
            let mut features = vec![0.0; FEATURE_NAMES.len()];
            let mults: f64 = rng.gen_range(50.0..400.0);
            features[feature_index("mult_lut")] = mults;
            features[feature_index("lut_product_bit")] = mults * rng.gen_range(6.0..40.0);
            features[feature_index("adder_bit")] = mults * rng.gen_range(10.0..20.0);
            features[feature_index("relu_bit")] = rng.gen_range(200.0..2000.0);
            features[feature_index("layer")] = 2.0; // constant across samples
            features[feature_index("output_bit")] = rng.gen_range(20.0..100.0); // not in the LUT model
            let lut: f64 = truth.iter().map(|(f, c)| c * features[feature_index(f)]).sum();
            let lut = lut + noise * rng.gen_range(-1.0..1.0);
            CalibrationSample { name: format!("s{i}"), features, measured: Measured { lut: Some(lut), ..Default::default() } }
        })
        .collect();
    (samples, truth)
}

fn options(k: usize, quantities: Vec<Quantity>) -> ResourceOptions {
    ResourceOptions {
        tool: "yosys".into(),
        part: "xcvu9p-flga2104-2L-e".into(),
        k,
        seed: 3,
        quantities,
        features: None,
        flow: qforge::estimate::Flow::Hls,
    }
}

#[test]
fn the_fit_recovers_known_coefficients_from_noisy_samples() {
    let (samples, truth) = synthetic(40, 5.0, 11);
    let (cal, report) = calibrate_resources(&samples, &Calibration::default(), &options(5, vec![Quantity::Lut]), &Silent).unwrap();
    let lut = &cal.resources["ultrascale_plus"].lut;
    for (f, c) in &truth {
        let got = lut[&format!("per_{f}")];
        // ±5 LUTs of noise: every coefficient within 5 %.
        assert!((got - c).abs() <= 0.05 * c, "per_{f}: fitted {got}, true {c}");
    }
    // Features the model prices but the runs never show keep their coefficient.
    let default = Calibration::default();
    assert_eq!(lut["per_softmax"], default.resources["ultrascale_plus"].lut["per_softmax"]);
    assert_eq!(lut["per_dsp_mult"], default.resources["ultrascale_plus"].lut["per_dsp_mult"]);
    let q = &report.quantities[0];
    assert!(q.fitted);
    assert_eq!(q.dropped.get("softmax"), Some(&Dropped::NeverPresent));
    let cv = q.after_cv.as_ref().unwrap();
    assert!(cv.mape_percent.unwrap() < 0.5, "held-out MAPE {:?}", cv.mape_percent);
    assert!(cv.r2.unwrap() > 0.99);
    assert!(q.before.mape_percent.unwrap() > cv.mape_percent.unwrap());
    // Only the fitted family changed; provenance names the runs.
    assert_eq!(cal.resources["series7"], default.resources["series7"]);
    assert_eq!(cal.energy, default.energy);
    assert_eq!(cal.provenance.len(), 1);
    assert_eq!(cal.provenance[0].runs.len(), 40);
    assert!(cal.origin.starts_with("fitted by qforge calibrate on 40 runs of yosys on xcvu9p-flga2104-2L-e"), "{}", cal.origin);
}

#[test]
fn exact_samples_give_exact_coefficients_and_negative_ones_are_clamped() {
    // y = 2·a + 0·b − 0.5·c would need a negative coefficient for c: clamped, refitted.
    let rows: Vec<Vec<f64>> = (0..12).map(|i| vec![1.0 + i as f64, ((i * 7) % 5) as f64, ((i * 3) % 4) as f64]).collect();
    let y: Vec<f64> = rows.iter().map(|r| 2.0 * r[0] + 3.0 * r[1]).collect();
    let p = Problem { rows: &rows, targets: &y, refit: &[0, 1, 2], current: &[9.0, 9.0, 9.0], quantity: "LUT" };
    let f = fit::fit(&p).unwrap();
    assert!((f.coefficients[0] - 2.0).abs() < 1e-9 && (f.coefficients[1] - 3.0).abs() < 1e-9, "{:?}", f.coefficients);
    assert!(f.coefficients[2].abs() < 1e-9);

    let y_neg: Vec<f64> = rows.iter().map(|r| 2.0 * r[0] + 3.0 * r[1] - 0.5 * r[2]).collect();
    let p = Problem { targets: &y_neg, ..p };
    let f = fit::fit(&p).unwrap();
    assert!(f.coefficients.iter().all(|c| *c >= 0.0), "{:?}", f.coefficients);
    assert_eq!(f.coefficients[2], 0.0);
    assert!(f.dropped.contains(&(2, Dropped::ClampedNegative)));
}

#[test]
fn constant_and_collinear_features_do_not_break_the_fit() {
    // Two constant columns (collinear with each other) and one that is twice another.
    let rows: Vec<Vec<f64>> = (0..10).map(|i| vec![2.0, 1.0, i as f64, 2.0 * i as f64, (i * i) as f64]).collect();
    let y: Vec<f64> = rows.iter().map(|r| 10.0 + 3.0 * r[2] + 0.5 * r[4]).collect();
    let p = Problem { rows: &rows, targets: &y, refit: &[0, 1, 2, 3, 4], current: &[0.0; 5], quantity: "LUT" };
    let f = fit::fit(&p).unwrap();
    let pred: Vec<f64> = rows.iter().map(|r| fit::dot(&f.coefficients, r)).collect();
    for (a, b) in pred.iter().zip(&y) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
    assert!(f.dropped.contains(&(1, Dropped::Collinear)) && f.dropped.contains(&(3, Dropped::Collinear)), "{:?}", f.dropped);
    assert!((f.coefficients[0] - 5.0).abs() < 1e-9, "the first constant column carries the constant: {:?}", f.coefficients);
}

#[test]
fn too_few_samples_is_an_error_naming_the_count_needed() {
    let (samples, _) = synthetic(4, 0.0, 1);
    let e = calibrate_resources(&samples, &Calibration::default(), &options(2, vec![Quantity::Lut]), &Silent).unwrap_err().to_string();
    assert!(e.contains("at least 5 runs") && e.contains("got 4"), "{e}");
    // Enough for one fit but not for every training fold of 5-fold CV: 6 runs train on 4 or 5.
    let (samples, _) = synthetic(6, 0.0, 1);
    let e = calibrate_resources(&samples, &Calibration::default(), &options(5, vec![Quantity::Lut]), &Silent).unwrap_err().to_string();
    assert!(e.contains("use at least 7 runs"), "{e}");
    assert_eq!(fit::runs_needed(5, 5), 7);
    assert_eq!(fit::runs_needed(3, 3), 5);
}

#[test]
fn unmeasured_quantities_are_reported_and_left_alone() {
    let (samples, _) = synthetic(12, 0.0, 2);
    let (cal, report) = calibrate_resources(&samples, &Calibration::default(), &options(3, Quantity::ALL.to_vec()), &Silent).unwrap();
    let ff = report.quantities.iter().find(|q| q.quantity == Quantity::Ff).unwrap();
    assert!(!ff.fitted && ff.note.as_ref().unwrap().contains("no sample measured ff"));
    assert_eq!(cal.resources["ultrascale_plus"].ff, Calibration::default().resources["ultrascale_plus"].ff);
    assert_eq!(cal.provenance[0].fitted.iter().filter(|f| f.starts_with("lut.")).count(), 8);
}

#[test]
fn k_fold_predictions_are_held_out() {
    // y = 3x exactly except one outlier: its held-out prediction comes from the others (≈ 3x),
    // while a fit on all rows would be pulled towards it.
    let rows: Vec<Vec<f64>> = (1..=10).map(|i| vec![i as f64]).collect();
    let mut y: Vec<f64> = rows.iter().map(|r| 3.0 * r[0]).collect();
    y[9] = 100.0;
    let p = Problem { rows: &rows, targets: &y, refit: &[0], current: &[1.0], quantity: "LUT" };
    let held_out = fit::cross_validate(&p, 5, 1, None).unwrap();
    assert!((held_out[9] - 30.0).abs() < 1e-9, "outlier predicted from the other folds: {}", held_out[9]);
    let folds = fit::fold_assignment(10, 5, 1);
    assert_eq!((0..5).map(|k| folds.iter().filter(|&&f| f == k).count()).collect::<Vec<_>>(), vec![2; 5]);
    assert_eq!(folds, fit::fold_assignment(10, 5, 1), "seeded");
    assert!(fit::cross_validate(&p, 1, 1, None).unwrap_err().to_string().contains("k ≥ 2"));
}

#[test]
fn metrics_match_hand_computations() {
    let measured = [100.0, 200.0, 400.0, 0.0];
    let predicted = [110.0, 180.0, 400.0, 5.0];
    // MAPE over non-zero measurements: (10% + 10% + 0%) / 3.
    assert!((mape_percent(&measured, &predicted).unwrap() - 20.0 / 3.0).abs() < 1e-12);
    // R²: mean 175, SS_tot = 75² + 25² + 225² + 175² = 87500; SS_res = 100 + 400 + 0 + 25 = 525.
    assert!((r_squared(&measured, &predicted).unwrap() - (1.0 - 525.0 / 87500.0)).abs() < 1e-12);
    // Ranks with a tie: [1, 2.5, 2.5, 4].
    assert_eq!(ranks(&[1.0, 5.0, 5.0, 9.0]), vec![1.0, 2.5, 2.5, 4.0]);
    // Spearman: same order → 1, reversed → −1; a hand case with one swap of 4: 1 − 6·2/(4·15) = 0.8.
    assert_eq!(spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]), Some(1.0));
    assert_eq!(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), Some(-1.0));
    assert!((spearman(&[1.0, 2.0, 3.0, 4.0], &[1.0, 3.0, 2.0, 4.0]).unwrap() - 0.8).abs() < 1e-12);
    assert_eq!(spearman(&[1.0, 1.0], &[1.0, 2.0]), None, "constant side");
    let m = Metrics::of(&[1.0], &[2.0]);
    assert_eq!((m.samples, m.mape_percent, m.r2), (1, Some(100.0), None));
}
