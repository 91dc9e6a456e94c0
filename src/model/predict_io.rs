//! Per-sample fixed-point outputs as files: the CSV `qforge predict` writes and
//! the raw-input file the C and RTL simulations read, so all three can be
//! compared bit for bit.
use super::fixed::{FixedNetwork, FixedOutputs};
use crate::data::Dataset;
use crate::error::{Error, Result};
use std::fmt::Write as _;
use std::path::Path;

pub struct Written {
    pub samples: usize,
    /// None when the data has no labels.
    pub accuracy: Option<f64>,
}

/// Raw input bits: one sample per line, space-separated signed integers.
pub fn format_inputs_raw(raw: &[i64], n_in: usize) -> String {
    let mut s = String::with_capacity(raw.len() * 6);
    for row in raw.chunks(n_in) {
        for (i, v) in row.iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            let _ = write!(s, "{v}");
        }
        s.push('\n');
    }
    s
}

/// Parse a file of raw integers, `n` per line.
pub fn parse_raw_rows(path: &Path, text: &str, n: usize) -> Result<Vec<i64>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let row: Vec<i64> = line
            .split_whitespace()
            .map(|t| t.parse::<i64>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| Error::input_at(path, Some(i + 1), None, format!("not an integer: {e}")))?;
        if row.len() != n {
            return Err(Error::input_at(path, Some(i + 1), None, format!("{} values, expected {n}", row.len())));
        }
        out.extend(row);
    }
    Ok(out)
}

/// The CSV: index, label, predicted class, raw output bits, decoded outputs, raw logits.
/// An unlabelled sample (`labels` = None) has an empty label column.
pub fn predictions_csv(net: &FixedNetwork, out: &FixedOutputs, labels: Option<&[u8]>) -> String {
    let n_out = out.n_out;
    let t = net.output_type();
    let mut s = String::from("index,label,predicted");
    for j in 0..n_out {
        let _ = write!(s, ",out_raw_{j}");
    }
    for j in 0..n_out {
        let _ = write!(s, ",out_{j}");
    }
    for j in 0..n_out {
        let _ = write!(s, ",logit_raw_{j}");
    }
    s.push('\n');
    for i in 0..out.outputs.len() / n_out.max(1) {
        let row = &out.outputs[i * n_out..(i + 1) * n_out];
        let label = labels.map(|l| l[i].to_string()).unwrap_or_default();
        let _ = write!(s, "{i},{label},{}", out.predicted_class(i));
        for v in row {
            let _ = write!(s, ",{v}");
        }
        for v in row {
            let _ = write!(s, ",{}", t.to_f64(*v));
        }
        for v in &out.logits[i * n_out..(i + 1) * n_out] {
            let _ = write!(s, ",{v}");
        }
        s.push('\n');
    }
    s
}

/// Run `net` on `data` and write the predictions CSV (and the raw inputs);
/// `labelled` false leaves the label column empty and gives no accuracy.
pub fn write_predictions(net: &FixedNetwork, data: &Dataset, labelled: bool, csv: &Path, inputs_raw: Option<&Path>) -> Result<Written> {
    let raw = net.quantize_inputs(&data.x);
    let out = net.predict_raw(&raw);
    let hits = (0..data.len()).filter(|&i| out.predicted_class(i) == data.y[i] as usize).count();
    let labels = labelled.then_some(data.y.as_slice());
    crate::error::write_atomic(csv, predictions_csv(net, &out, labels).as_bytes())?;
    if let Some(p) = inputs_raw {
        crate::error::write_atomic(p, format_inputs_raw(&raw, net.n_inputs()).as_bytes())?;
    }
    let accuracy = labelled.then(|| hits as f64 / data.len().max(1) as f64);
    Ok(Written { samples: data.len(), accuracy })
}
