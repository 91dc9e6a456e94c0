//! Every intermediate value of one sample, layer by layer, in the order and
//! granularity of hls4ml's `trace()`: each dense layer's result, its
//! activation layer's output (when it has one), and the softmax output.
use super::fixed::FixedNetwork;
use super::spec::Activation;
use crate::quant::FixedType;
use serde::Serialize;

/// Which hls4ml layer a traced array belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Dense,
    /// hls4ml's ApplyAlpha after a dense layer with alpha "auto" or a number.
    Alpha,
    Activation,
    Softmax,
}

/// Raw values of one layer for one sample.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Traced {
    /// The dense block the values belong to.
    pub block: usize,
    pub stage: Stage,
    pub ty: FixedType,
    pub raw: Vec<i64>,
}

impl FixedNetwork {
    /// Trace one sample (`x` raw in the input type); a convolutional model's
    /// trace starts at its dense head (`FeatureStack::trace` has the image layers).
    pub fn trace(&self, x: &[i64]) -> Vec<Traced> {
        let mut out = Vec::new();
        let mut cur = match &self.features {
            Some(stack) => stack.forward(x),
            None => x.to_vec(),
        };
        for (i, layer) in self.layers.iter().enumerate() {
            let (mut acc, mut next) = (vec![0; layer.n_out], vec![0; layer.n_out]);
            layer.forward(&cur, &mut acc, &mut next);
            let frac = layer.accum_type.frac();
            let result: Vec<i64> = acc.iter().map(|&a| layer.result_type.cast_raw(a, frac)).collect();
            let mut before_activation = layer.result_type;
            if let Some(alpha) = &layer.alpha {
                let scaled: Vec<i64> = result.iter().enumerate().map(|(o, &r)| alpha.apply(o, r, layer.result_type.frac())).collect();
                out.push(Traced { block: i, stage: Stage::Dense, ty: layer.result_type, raw: result });
                out.push(Traced { block: i, stage: Stage::Alpha, ty: alpha.result_type, raw: scaled });
                before_activation = alpha.result_type;
            } else {
                out.push(Traced { block: i, stage: Stage::Dense, ty: layer.result_type, raw: result });
            }
            if layer.activation == Activation::Relu || layer.out_type != before_activation {
                out.push(Traced { block: i, stage: Stage::Activation, ty: layer.out_type, raw: next.clone() });
            }
            cur = next;
        }
        let last = self.layers.len().saturating_sub(1);
        let mut sm = vec![0; cur.len()];
        if let Some(t) = &self.softmax {
            t.apply(&cur, &mut sm);
            out.push(Traced { block: last, stage: Stage::Softmax, ty: t.out_type, raw: sm });
        } else if let Some(t) = &self.hls4ml_softmax {
            t.apply(&cur, &mut sm);
            out.push(Traced { block: last, stage: Stage::Softmax, ty: t.out_type, raw: sm });
        }
        out
    }
}
