//! The RTL simulation's outputs against the Rust model and hls4ml's C
//! simulation of a fixture (rtl_hls4ml, rtl_hls4ml_cnn).
use super::Csim;
use qforge::model::spec::parse_fixed_type;
use qforge::model::FixedNetwork;
use qforge::quant::FixedType;
use qforge::rtl;
use std::path::Path;

/// Raw bits of a `width`-bit port as a value of `t`.
pub fn value(bits: u64, t: &FixedType) -> f64 {
    let raw = if t.signed && t.width < 64 && bits >> (t.width - 1) & 1 == 1 { bits as i64 - (1i64 << t.width) } else { bits as i64 };
    t.to_f64(raw)
}

/// (samples whose logits differ from the Rust model's, whose last layer differs
/// from hls4ml's, whose outputs differ from hls4ml's) in the simulation's outputs.txt.
pub fn against_csim(out_txt: &Path, manifest: &rtl::RtlManifest, net: &FixedNetwork, csim: &Csim, raw: &[i64]) -> (usize, usize, usize) {
    let model = net.predict_raw(raw);
    let last = csim.layers.iter().rev().find(|l| l.class != "Softmax").unwrap();
    let last_t = parse_fixed_type(&last.ty).unwrap();
    let out_t = parse_fixed_type(&csim.output_type).unwrap();
    let logit_t = net.layers.last().unwrap().out_type;
    let text = std::fs::read_to_string(out_txt).unwrap();
    let rows: Vec<Vec<u64>> =
        text.lines().filter(|l| !l.trim().is_empty()).map(|l| l.split_whitespace().map(|t| t.parse().unwrap()).collect()).collect();
    assert_eq!(rows.len(), csim.inputs.len());
    let n = manifest.logits.count;
    let (mut ours, mut layer, mut outputs) = (0, 0, 0);
    for (s, row) in rows.iter().enumerate() {
        let logits = &row[1..1 + n];
        ours += logits.iter().zip(&model.logits[s * n..(s + 1) * n]).any(|(&g, &w)| value(g, &logit_t) != logit_t.to_f64(w)) as usize;
        layer += logits.iter().zip(&last.raw[s]).any(|(&g, &w)| value(g, &logit_t) != last_t.to_f64(w)) as usize;
        let got: Vec<f64> = match (&manifest.probs, net.output_type()) {
            (Some(_), t) => row[1 + n..1 + 2 * n].iter().map(|&g| value(g, &t)).collect(),
            (None, _) => logits.iter().map(|&g| value(g, &logit_t)).collect(),
        };
        outputs += got.iter().zip(&csim.outputs_raw[s]).any(|(&g, &w)| g != out_t.to_f64(w)) as usize;
    }
    (ours, layer, outputs)
}
