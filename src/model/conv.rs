//! Bit-exact fixed-point convolution (Conv1D/Conv2D, channels last) as hls4ml
//! 1.3's io_parallel latency kernel computes it (nnet_conv2d_latency.h): each
//! product cast into the accumulator, the accumulator started at the bias and
//! cast after every addition, the sum cast into the result type, then an
//! optional ReLU cast into the output type. Padding follows Keras (`same`:
//! total pad `max((out-1)·s + k - in, 0)`, the smaller half before), and
//! padded cells are zeros. A Conv1D is a Conv2D of height 1. Every cast is
//! `FixedType::cast_raw`, the one ap_fixed model of the crate.
use super::layer_types::infer_accum_type;
use crate::error::{Error, Result};
use crate::quant::fixed::MAX_I64_ARITH_WIDTH as MAX_WIDTH;
use crate::quant::FixedType;
use serde::{Deserialize, Serialize};

/// A feature map's shape, channels last: `[height, width, channels]` (1D: height 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape3 {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
}

impl Shape3 {
    pub const fn new(height: usize, width: usize, channels: usize) -> Shape3 {
        Shape3 { height, width, channels }
    }
    /// A 1D map `[width, channels]`.
    pub const fn one_d(width: usize, channels: usize) -> Shape3 {
        Shape3 { height: 1, width, channels }
    }
    pub fn len(&self) -> usize {
        self.height * self.width * self.channels
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Row-major, channels-last index (Keras' and hls4ml's `_cl` order).
    pub fn index(&self, y: usize, x: usize, c: usize) -> usize {
        (y * self.width + x) * self.channels + c
    }
}

impl std::fmt::Display for Shape3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}, {}, {}]", self.height, self.width, self.channels)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Padding {
    #[default]
    Valid,
    Same,
}

/// A sliding window: kernel (or pool) size, strides and padding, `(height, width)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub size: (usize, usize),
    pub stride: (usize, usize),
    pub padding: Padding,
}

/// Where a window lands on its input: output size and the padding before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Placement {
    pub out_height: usize,
    pub out_width: usize,
    pub pad_top: usize,
    pub pad_left: usize,
}

/// Keras' output length and padding before for one axis.
fn axis(input: usize, size: usize, stride: usize, padding: Padding) -> (usize, usize) {
    match padding {
        Padding::Valid => ((input - size) / stride + 1, 0),
        Padding::Same => {
            let out = input.div_ceil(stride);
            let total = ((out - 1) * stride + size).saturating_sub(input);
            (out, total / 2)
        }
    }
}

impl Window {
    pub fn new(size: (usize, usize), stride: (usize, usize), padding: Padding) -> Window {
        Window { size, stride, padding }
    }

    /// The output size on `input`, or why the window cannot slide over it.
    pub fn place(&self, layer: &str, input: Shape3) -> Result<Placement> {
        let fault = |m: String| Err(Error::Config(format!("layer `{layer}`: {m}")));
        if self.size.0 == 0 || self.size.1 == 0 {
            return fault(format!("window size {:?} has a zero side", self.size));
        }
        if self.stride.0 == 0 || self.stride.1 == 0 {
            return fault(format!("stride {:?} is 0; strides must be at least 1", self.stride));
        }
        if input.is_empty() {
            return fault(format!("input shape {input} is empty"));
        }
        if self.padding == Padding::Valid && (self.size.0 > input.height || self.size.1 > input.width) {
            return fault(format!(
                "window {}x{} is larger than its input {}x{} (padding `valid`)",
                self.size.0, self.size.1, input.height, input.width
            ));
        }
        let (out_height, pad_top) = axis(input.height, self.size.0, self.stride.0, self.padding);
        let (out_width, pad_left) = axis(input.width, self.size.1, self.stride.1, self.padding);
        Ok(Placement { out_height, out_width, pad_top, pad_left })
    }
}

/// Input cell under window cell `(ky, kx)` of output `(oy, ox)`, None in the padding.
pub(crate) fn tap(p: &Placement, w: &Window, input: Shape3, (oy, ox): (usize, usize), (ky, kx): (usize, usize)) -> Option<(usize, usize)> {
    let y = (oy * w.stride.0 + ky).checked_sub(p.pad_top)?;
    let x = (ox * w.stride.1 + kx).checked_sub(p.pad_left)?;
    (y < input.height && x < input.width).then_some((y, x))
}

/// A convolution's fixed-point types, in the order the data meets them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvTypes {
    pub input: FixedType,
    pub weight: FixedType,
    pub bias: FixedType,
    pub accum: FixedType,
    pub result: FixedType,
    /// After the ReLU (the result type when there is none).
    pub out: FixedType,
}

impl ConvTypes {
    /// hls4ml's inference (`_infer_conv_precision`): the dense formula with
    /// `n_ops = channels · kernel height · kernel width`; result = accumulator.
    pub fn inferred(input: FixedType, weight: FixedType, bias: FixedType, in_channels: usize, kernel: (usize, usize)) -> ConvTypes {
        let accum = infer_accum_type(&input, &weight, &bias, in_channels * kernel.0 * kernel.1, true);
        ConvTypes { input, weight, bias, accum, result: accum, out: accum }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct FixedConv {
    pub name: String,
    pub input: Shape3,
    pub window: Window,
    pub filters: usize,
    pub types: ConvTypes,
    pub relu: bool,
    /// Raw weights in Keras order `[kh][kw][in_channels][filters]`, in `types.weight`.
    pub weights: Vec<i64>,
    /// Raw biases in `types.bias`; empty for `use_bias = false`.
    pub biases: Vec<i64>,
    placement: Placement,
}

impl FixedConv {
    /// Check the layer against its input and build it.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: &str,
        input: Shape3,
        window: Window,
        filters: usize,
        types: ConvTypes,
        relu: bool,
        weights: Vec<i64>,
        biases: Vec<i64>,
    ) -> Result<FixedConv> {
        let fault = |m: String| Err(Error::Config(format!("layer `{name}`: {m}")));
        let placement = window.place(name, input)?;
        if filters == 0 {
            return fault("filters must be at least 1".into());
        }
        let n_w = window.size.0 * window.size.1 * input.channels * filters;
        if weights.len() != n_w {
            return fault(format!(
                "{} weights, expected {n_w} ({:?} kernel, {} channels, {filters} filters)",
                weights.len(),
                window.size,
                input.channels
            ));
        }
        if !biases.is_empty() && biases.len() != filters {
            return fault(format!("{} biases for {filters} filters", biases.len()));
        }
        let t = &types;
        if t.input.width + t.weight.width > MAX_WIDTH || t.accum.width >= MAX_WIDTH {
            return fault(format!("types too wide for the model (input {} · weight {}, accumulator {})", t.input, t.weight, t.accum));
        }
        let out_of = |v: &[i64], ty: &FixedType| v.iter().any(|&r| r < ty.min_raw() || r > ty.max_raw());
        if out_of(&weights, &t.weight) || out_of(&biases, &t.bias) {
            return fault(format!("a raw weight or bias lies outside its type ({} / {})", t.weight, t.bias));
        }
        Ok(FixedConv { name: name.into(), input, window, filters, types, relu, weights, biases, placement })
    }

    pub fn output_shape(&self) -> Shape3 {
        Shape3::new(self.placement.out_height, self.placement.out_width, self.filters)
    }

    /// Where the kernel lands on the input (output size, padding before).
    pub fn placement(&self) -> Placement {
        self.placement
    }

    /// One image: raw inputs in `types.input`, channels last; raw outputs in `types.out`.
    pub fn forward(&self, x: &[i64]) -> Vec<i64> {
        assert_eq!(x.len(), self.input.len(), "layer `{}`: input length", self.name);
        let t = &self.types;
        let (acc_frac, res_frac) = (t.accum.frac(), t.result.frac());
        let prod_frac = t.input.frac() + t.weight.frac();
        let out_shape = self.output_shape();
        let (cin, nf) = (self.input.channels, self.filters);
        let mut out = Vec::with_capacity(out_shape.len());
        for oy in 0..out_shape.height {
            for ox in 0..out_shape.width {
                for f in 0..nf {
                    let mut acc = self.biases.get(f).map_or(0, |&b| t.accum.cast_raw(b, t.bias.frac()));
                    for ky in 0..self.window.size.0 {
                        for kx in 0..self.window.size.1 {
                            // Padded cells are zeros: their products add nothing.
                            let Some((y, xx)) = tap(&self.placement, &self.window, self.input, (oy, ox), (ky, kx)) else { continue };
                            for c in 0..cin {
                                let w = self.weights[((ky * self.window.size.1 + kx) * cin + c) * nf + f];
                                let product = t.accum.cast_raw(x[self.input.index(y, xx, c)] * w, prod_frac);
                                acc = t.accum.cast_raw(acc + product, acc_frac);
                            }
                        }
                    }
                    let r = t.result.cast_raw(acc, acc_frac);
                    out.push(t.out.cast_raw(if self.relu { r.max(0) } else { r }, res_frac));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keras_same_and_valid_sizes() {
        let w = |k, s, p| Window::new((1, k), (1, s), p);
        let place = |win: Window, n| win.place("c", Shape3::one_d(n, 1)).unwrap();
        // Keras: valid out = (8-3)/2+1 = 3; same out = ceil(8/2) = 4, total pad 1, none before.
        assert_eq!((place(w(3, 2, Padding::Valid), 8).out_width, place(w(3, 2, Padding::Valid), 8).pad_left), (3, 0));
        let same = place(w(3, 2, Padding::Same), 8);
        assert_eq!((same.out_width, same.pad_left), (4, 0));
        let same = place(w(3, 1, Padding::Same), 8);
        assert_eq!((same.out_width, same.pad_left), (8, 1));
        // Same padding accepts a kernel wider than the input, as Keras does.
        assert_eq!(place(w(5, 1, Padding::Same), 3).out_width, 3);
    }

    #[test]
    fn bad_windows_are_named_errors() {
        let input = Shape3::new(4, 4, 1);
        let e = Window::new((5, 3), (1, 1), Padding::Valid).place("conv1", input).unwrap_err().to_string();
        assert!(e.contains("conv1") && e.contains("larger than its input"), "{e}");
        let e = Window::new((3, 3), (0, 1), Padding::Same).place("conv1", input).unwrap_err().to_string();
        assert!(e.contains("stride") && e.contains("0"), "{e}");
        let t = ConvTypes::inferred(FixedType::signed(8, 3), FixedType::signed(6, 1), FixedType::signed(6, 1), 1, (3, 3));
        let e = FixedConv::new("c", input, Window::new((3, 3), (1, 1), Padding::Valid), 2, t, false, vec![0; 17], vec![]).unwrap_err();
        assert!(e.to_string().contains("17 weights, expected 18"), "{e}");
    }

    #[test]
    fn conv2d_by_hand() {
        // 3x3 input, one channel, values 0.5..4.5 as ap_fixed<8,4>; a 2x2 kernel
        // [1, 0.5; 0.5, -1], stride 1, valid, bias 1.5, ReLU into a saturating ap_ufixed<4,1>.
        let q = |v: f64, t: FixedType| t.from_f64(v);
        let tin = FixedType::signed(8, 4);
        let tw = FixedType::signed(5, 2); // frac 3
        let tb = FixedType::signed(4, 2);
        let t = ConvTypes::inferred(tin, tw, tb, 1, (2, 2));
        // hls4ml: 5+8+ceil(log2 4) = 15 bits, 2+4+2 = 8 integer, +1 for the bias: ap_fixed<16,9>.
        assert_eq!(t.accum, FixedType::signed(16, 9));
        let x: Vec<i64> = (1..=9).map(|v| q(v as f64 * 0.5, tin)).collect();
        let w: Vec<i64> = [1.0, 0.5, 0.5, -1.0].iter().map(|&v| q(v, tw)).collect();
        let mut t = t;
        t.out = FixedType::unsigned(4, 1);
        t.out.overflow = crate::quant::Overflow::Sat;
        let c = FixedConv::new("c", Shape3::new(3, 3, 1), Window::new((2, 2), (1, 1), Padding::Valid), 1, t, true, w, vec![q(1.5, tb)])
            .unwrap();
        assert_eq!(c.output_shape(), Shape3::new(2, 2, 1));
        let y: Vec<f64> = c.forward(&x).iter().map(|&r| t.out.to_f64(r)).collect();
        // Top-left: 0.5 + 0.5·1 + 0.5·2 - 2.5 + 1.5 = 1.0; right +0.5, down +1.5,
        // and the last two saturate at 1.875.
        assert_eq!(y, vec![1.0, 1.5, 1.875, 1.875]);
    }
}
