//! Bit-exact fixed-point pooling (Max/Average, 1D/2D, global) and Flatten as
//! hls4ml 1.3's nnet_pooling.h computes them. Average: `accum_t y = 0; y += x`
//! over the window (padded cells add 0), then `y /= n` with `n` the cells
//! inside the image (count_pad false, as Keras) — an ap_fixed division by an
//! unsigned int, i.e. the raw accumulator divided by `n`, truncated toward
//! zero — then cast into the result type. Max: the largest input, padded cells
//! holding hls4ml's `pad_val` (the type's MSB set: the most negative code when
//! signed, but half the range when unsigned — a quirk kept for bit-exactness).
use super::conv::{tap, Placement, Shape3, Window};
use super::layer_types::DEFAULT_TYPE;
use super::spec::{LayerTypes, TypesMode};
use crate::error::{Error, Result};
use crate::quant::FixedType;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PoolOp {
    Max,
    Average,
}

/// A pooling layer's types: accumulator and result (hls4ml's `accum_t`, `result_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolTypes {
    pub input: FixedType,
    pub accum: FixedType,
    pub result: FixedType,
}

impl PoolTypes {
    /// hls4ml's `_infer_pooling_precision` for (non-global) pooling: max keeps
    /// the input type; average widens it by `e = ceil(log2(cells))` integer
    /// and `e` fractional bits; the result matches the input.
    pub fn inferred(input: FixedType, op: PoolOp, cells: usize) -> PoolTypes {
        PoolTypes { input, accum: average_accum(input, op, cells), result: input }
    }

    /// A window pooling's types by mode: hls4ml's ([`Self::inferred`], the
    /// result back in the input type, so an average loses its extra bits), or
    /// qforge's, which keeps the accumulator as the result (lossless).
    pub fn for_mode(input: FixedType, op: PoolOp, cells: usize, mode: TypesMode) -> PoolTypes {
        let t = PoolTypes::inferred(input, op, cells);
        match mode {
            TypesMode::Hls4ml => t,
            TypesMode::Qforge => PoolTypes { result: t.accum, ..t },
        }
    }

    /// The types an hls4ml config states (`accum`, `result`) replace the derived ones.
    pub fn with_stated(self, stated: &LayerTypes) -> PoolTypes {
        PoolTypes { accum: stated.accum.unwrap_or(self.accum), result: stated.result.unwrap_or(self.result), ..self }
    }

    /// Global pooling: hls4ml 1.3 infers nothing for it, so in hls4ml mode the
    /// accumulator and result are the default precision; qforge mode sizes it
    /// as a window pooling over the whole map (result = accumulator, lossless).
    pub fn global(input: FixedType, op: PoolOp, cells: usize, mode: TypesMode) -> PoolTypes {
        match mode {
            TypesMode::Hls4ml => PoolTypes { input, accum: DEFAULT_TYPE, result: DEFAULT_TYPE },
            TypesMode::Qforge => {
                let accum = average_accum(input, op, cells);
                PoolTypes { input, accum, result: accum }
            }
        }
    }
}

fn average_accum(input: FixedType, op: PoolOp, cells: usize) -> FixedType {
    match op {
        PoolOp::Max => input,
        PoolOp::Average => {
            let extra = super::softmax::ceil_log2(cells) as i32;
            FixedType::new((input.width as i32 + 2 * extra) as u32, input.integer + extra, input.signed)
        }
    }
}

/// hls4ml's `pad_val<T, Max>()`: a value of `t` with only its MSB set.
pub(crate) fn max_pad(t: &FixedType) -> i64 {
    if t.signed {
        t.min_raw()
    } else {
        1i64 << (t.width - 1)
    }
}

/// The reduction shared by window and global pooling: `cells` holds the raw
/// inputs inside the image, `padded` how many window cells fell outside.
fn reduce(op: PoolOp, t: &PoolTypes, cells: &[i64], padded: usize) -> i64 {
    let (in_frac, acc_frac) = (t.input.frac(), t.accum.frac());
    let acc = match op {
        PoolOp::Max => {
            let pad = (padded > 0).then(|| max_pad(&t.input));
            let m = cells.iter().copied().chain(pad).max().expect("a window holds a cell");
            t.accum.cast_raw(m, in_frac)
        }
        PoolOp::Average => {
            // `y += x` adds at the finer of the two fracs, then assigns into accum_t.
            let frac = acc_frac.max(in_frac);
            let mut y = 0i64;
            for &x in cells {
                y = t.accum.cast_raw((y << (frac - acc_frac)) + (x << (frac - in_frac)), frac);
            }
            // `y /= n`: same frac, quotient truncated toward zero (sdiv/udiv).
            y / cells.len() as i64
        }
    };
    t.result.cast_raw(acc, acc_frac)
}

#[derive(Clone, Debug, Serialize)]
pub struct FixedPool {
    pub name: String,
    pub op: PoolOp,
    pub input: Shape3,
    pub window: Window,
    pub types: PoolTypes,
    placement: Placement,
}

impl FixedPool {
    pub fn new(name: &str, op: PoolOp, input: Shape3, window: Window, types: PoolTypes) -> Result<FixedPool> {
        let placement = window.place(name, input)?;
        check_types(name, &types)?;
        Ok(FixedPool { name: name.into(), op, input, window, types, placement })
    }

    pub fn output_shape(&self) -> Shape3 {
        Shape3::new(self.placement.out_height, self.placement.out_width, self.input.channels)
    }

    /// Where the window lands on the input (output size, padding before).
    pub fn placement(&self) -> Placement {
        self.placement
    }

    /// One map: raw inputs in `types.input`, channels last; raw outputs in `types.result`.
    pub fn forward(&self, x: &[i64]) -> Vec<i64> {
        assert_eq!(x.len(), self.input.len(), "layer `{}`: input length", self.name);
        let out = self.output_shape();
        let mut res = Vec::with_capacity(out.len());
        let mut cells = Vec::with_capacity(self.window.size.0 * self.window.size.1);
        for oy in 0..out.height {
            for ox in 0..out.width {
                for c in 0..self.input.channels {
                    cells.clear();
                    for ky in 0..self.window.size.0 {
                        for kx in 0..self.window.size.1 {
                            if let Some((y, xx)) = tap(&self.placement, &self.window, self.input, (oy, ox), (ky, kx)) {
                                cells.push(x[self.input.index(y, xx, c)]);
                            }
                        }
                    }
                    let padded = self.window.size.0 * self.window.size.1 - cells.len();
                    res.push(reduce(self.op, &self.types, &cells, padded));
                }
            }
        }
        res
    }
}

/// GlobalMaxPooling / GlobalAveragePooling (1D and 2D): one value per channel.
#[derive(Clone, Debug, Serialize)]
pub struct FixedGlobalPool {
    pub name: String,
    pub op: PoolOp,
    pub input: Shape3,
    pub types: PoolTypes,
}

impl FixedGlobalPool {
    pub fn new(name: &str, op: PoolOp, input: Shape3, types: PoolTypes) -> Result<FixedGlobalPool> {
        if input.is_empty() {
            return Err(Error::Config(format!("layer `{name}`: input shape {input} is empty")));
        }
        check_types(name, &types)?;
        Ok(FixedGlobalPool { name: name.into(), op, input, types })
    }

    pub fn output_shape(&self) -> Shape3 {
        Shape3::new(1, 1, self.input.channels)
    }

    pub fn forward(&self, x: &[i64]) -> Vec<i64> {
        assert_eq!(x.len(), self.input.len(), "layer `{}`: input length", self.name);
        let ch = self.input.channels;
        (0..ch)
            .map(|c| {
                let cells: Vec<i64> = x.iter().skip(c).step_by(ch).copied().collect();
                reduce(self.op, &self.types, &cells, 0)
            })
            .collect()
    }
}

fn check_types(name: &str, t: &PoolTypes) -> Result<()> {
    // The average's aligned sum must fit i64.
    if t.accum.width.max(t.input.width) + (t.accum.frac() - t.input.frac()).unsigned_abs() >= crate::quant::fixed::MAX_I64_ARITH_WIDTH {
        return Err(Error::Config(format!("layer `{name}`: types too wide for the model ({} into {})", t.input, t.accum)));
    }
    Ok(())
}

/// Flatten: no arithmetic (channels-last order is already Keras' flat order);
/// checks that the map feeds a dense layer of `n_in` inputs.
pub fn flatten_into(name: &str, shape: Shape3, next: &str, n_in: usize) -> Result<usize> {
    if shape.len() != n_in {
        return Err(Error::Config(format!(
            "layer `{name}`: flattening {shape} gives {} values, but the next layer `{next}` takes {n_in}",
            shape.len()
        )));
    }
    Ok(n_in)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::conv::Padding;

    #[test]
    fn average_truncates_toward_zero_with_the_extra_bits() {
        // ap_fixed<4,2> (frac 2): a 2x2 window over -0.25, -0.25, -0.25, 0 sums
        // to -0.75; accum ap_fixed<8,4> (frac 4) holds -12; -12/4 = -3 exactly
        // = -0.1875, which the ap_fixed<4,2> result floors (AP_TRN) to -0.25.
        let tin = FixedType::signed(4, 2);
        let t = PoolTypes::inferred(tin, PoolOp::Average, 4);
        assert_eq!(t.accum, FixedType::signed(8, 4));
        let p = FixedPool::new("p", PoolOp::Average, Shape3::new(2, 2, 1), Window::new((2, 2), (2, 2), Padding::Valid), t).unwrap();
        assert_eq!(p.forward(&[-1, -1, -1, 0]), vec![-1]);
        // -0.25·3 + 0.25 = -0.5 → -8/4 = -2 (frac 4) = -0.125 → floors to -0.25 too;
        // 3 cells of 0.25 and one 0: 12/4 = 3 → 0.1875 → floors to 0.
        assert_eq!(p.forward(&[-1, -1, -1, 1]), vec![-1]);
        assert_eq!(p.forward(&[1, 1, 1, 0]), vec![0]);
        // A 3-cell window: the division by 3 truncates toward zero in the accumulator.
        let t3 = PoolTypes::inferred(tin, PoolOp::Average, 3);
        let p = FixedPool::new("p", PoolOp::Average, Shape3::one_d(3, 1), Window::new((1, 3), (1, 3), Padding::Valid), t3).unwrap();
        // 1+1+0 = 2 at frac 2 → 8 at frac 4, /3 = 2 (2.67 truncated) → 0.125 → 0.
        assert_eq!(p.forward(&[1, 1, 0]), vec![0]);
        // 3+3+2 = 8 → 32 at frac 4, /3 = 10 → 0.625 → floors to 0.5 = raw 2.
        assert_eq!(p.forward(&[3, 3, 2]), vec![2]);
    }

    #[test]
    fn same_padding_counts_only_image_cells_and_max_pads_with_the_msb() {
        let tin = FixedType::signed(6, 3);
        let win = Window::new((1, 2), (1, 2), Padding::Same);
        let avg = FixedPool::new("a", PoolOp::Average, Shape3::one_d(3, 1), win, PoolTypes::inferred(tin, PoolOp::Average, 2)).unwrap();
        // Keras same: out 2, no pad before; the last window holds one cell, divided by 1.
        assert_eq!(avg.output_shape(), Shape3::one_d(2, 1));
        assert_eq!(avg.forward(&[4, 8, -5]), vec![6, -5]);
        let max = FixedPool::new("m", PoolOp::Max, Shape3::one_d(3, 1), win, PoolTypes::inferred(tin, PoolOp::Max, 2)).unwrap();
        assert_eq!(max.forward(&[4, 8, -5]), vec![8, -5]);
        // Unsigned input: hls4ml's pad value is 2^(W-1), which beats small cells.
        let tu = FixedType::unsigned(6, 3);
        let max = FixedPool::new("m", PoolOp::Max, Shape3::one_d(3, 1), win, PoolTypes::inferred(tu, PoolOp::Max, 2)).unwrap();
        assert_eq!(max.forward(&[4, 8, 5]), vec![8, 32]);
    }

    #[test]
    fn global_pooling_and_flatten() {
        let tin = FixedType::signed(8, 4);
        let shape = Shape3::new(2, 2, 2);
        let x = [1, -3, 2, 5, 3, 0, 10, 1]; // channel 0: 1,2,3,10; channel 1: -3,5,0,1
        let g = FixedGlobalPool::new("g", PoolOp::Max, shape, PoolTypes::global(tin, PoolOp::Max, 4, TypesMode::Qforge)).unwrap();
        assert_eq!(g.forward(&x), vec![10, 5]);
        let t = PoolTypes::global(tin, PoolOp::Average, 4, TypesMode::Qforge);
        assert_eq!(t.result, FixedType::signed(12, 6));
        let g = FixedGlobalPool::new("g", PoolOp::Average, shape, t).unwrap();
        // 16/4 = 4 and 3/4 = 0.75 at frac 4, i.e. raw <<2: 64/4 = 16, 12/4 = 3 at frac 6.
        assert_eq!(g.forward(&x), vec![16, 3]);
        assert_eq!(PoolTypes::global(tin, PoolOp::Average, 4, TypesMode::Hls4ml).accum, DEFAULT_TYPE);
        assert_eq!(flatten_into("f", shape, "d", 8).unwrap(), 8);
        let e = flatten_into("f", shape, "dense1", 10).unwrap_err().to_string();
        assert!(e.contains("8 values") && e.contains("`dense1` takes 10"), "{e}");
    }
}
