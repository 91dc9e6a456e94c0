//! Batch inference with 16-bit operands: the fast path of
//! [`FixedNetwork::predict_raw`](super::FixedNetwork::predict_raw).
//!
//! Input: the [`FixedLayer`]s of a network (raw weights, biases and types).
//! When every layer's operands fit i16 and every sum provably fits i32 without
//! wrapping the accumulator, [`PackedNetwork::new`] lays the weights out for
//! `vpmaddwd` (pairs of inputs × 8 outputs, 16 multiply-accumulates per
//! instruction) and precomputes each layer's end (bias, ReLU, rounding shift,
//! clamp) as one vector pass; otherwise it returns `None` and the general path
//! runs. Output: raw logits and outputs of one sample, the same bits as the
//! general path (the tests at the end compare them with an i128 reference).
//! The AVX2 build is chosen at run time; the portable build computes the same
//! integers in scalar code.
use super::fixed::FixedLayer;
use super::softmax::{SoftmaxCasters, SoftmaxTables};
use super::spec::Activation;
use crate::quant::{FixedType, Overflow, Rounding};

/// Outputs per AVX2 vector of i32 sums.
const LANES: usize = 8;

#[derive(Clone, Debug)]
pub(crate) struct PackedNetwork {
    layers: Vec<PackedLayer>,
    input_min: i64,
    input_max: i64,
    /// Longest padded row of any layer (inputs or outputs).
    widest: usize,
    n_in: usize,
    n_out: usize,
    softmax: Option<(SoftmaxTables, SoftmaxCasters)>,
    /// The softmax's casts as plain shifts, when they are (the usual tables).
    shift_softmax: Option<ShiftSoftmax>,
    avx2: bool,
}

/// [`SoftmaxTables::apply`] when each of its three casts takes a value that is
/// never negative and is a right shift with truncation or round-half-up into
/// a saturating type: then a cast is `min((v + offset) >> shift, max)`.
#[derive(Clone, Copy, Debug)]
struct ShiftSoftmax {
    diff: ShiftCast,
    sum_index: ShiftCast,
    out: ShiftCast,
}

#[derive(Clone, Copy, Debug)]
struct ShiftCast {
    shift: u32,
    offset: i64,
    max: i64,
}

impl ShiftCast {
    fn new(to: &FixedType, from_frac: i32) -> Option<ShiftCast> {
        let shift = from_frac - to.frac();
        if !(0..40).contains(&shift) || to.overflow != Overflow::Sat || to.max_raw() < 0 {
            return None;
        }
        let offset = match to.rounding {
            Rounding::Trn => 0,
            Rounding::Rnd if shift > 0 => 1i64 << (shift - 1),
            Rounding::Rnd => 0,
            _ => return None,
        };
        Some(ShiftCast { shift: shift as u32, offset, max: to.max_raw() })
    }

    /// For 0 <= v < 2^62.
    #[inline(always)]
    fn cast(&self, v: i64) -> i64 {
        ((v + self.offset) >> self.shift).min(self.max)
    }
}

impl ShiftSoftmax {
    fn new(t: &SoftmaxTables) -> Option<ShiftSoftmax> {
        // apply() handles at most 64 outputs; keep its behaviour for wider ones.
        let small = t.n <= 64 && t.exp_type.width <= 24 && t.inv_type.width <= 24;
        let s = ShiftSoftmax {
            diff: ShiftCast::new(&t.diff_type, t.in_type.frac())?,
            sum_index: ShiftCast::new(&t.sum_index_type, t.exp_type.frac())?,
            out: ShiftCast::new(&t.out_type, t.exp_type.frac() + t.inv_type.frac())?,
        };
        // Table indices in range whatever the clamp gives.
        (small && s.diff.max < t.exp_table.len() as i64 && s.sum_index.max < t.inv_table.len() as i64 && t.in_type.width <= 32).then_some(s)
    }

    /// Same steps as `apply`: max, exp(-diff) from the table, 1/sum from the
    /// table, products rounded into the output type. Logits are i32-sized.
    #[inline(always)]
    fn apply(&self, t: &SoftmaxTables, x: &[i64], out: &mut [i64]) {
        let x_max = x.iter().copied().max().unwrap_or(0);
        let mut sum = 0i64;
        for (o, &xj) in out.iter_mut().zip(x) {
            let e = t.exp_table[self.diff.cast(x_max - xj) as usize];
            *o = e;
            sum += e;
        }
        let inv = t.inv_table[self.sum_index.cast(sum) as usize];
        for o in out.iter_mut() {
            *o = self.out.cast(*o * inv);
        }
    }
}

#[derive(Clone, Debug)]
struct PackedLayer {
    n_out: usize,
    /// Input pairs: ceil(n_in / 2); an odd input count is padded with a zero weight.
    pairs: usize,
    /// n_out rounded up to a whole vector.
    lanes: usize,
    /// `[pair][lane][2]`: w[2p][o], w[2p+1][o] next to each other, as vpmaddwd wants.
    weights: Vec<i16>,
    /// Biases at the accumulator's fraction, zero in the padding lanes.
    bias: Vec<i32>,
    end: LayerEnd,
}

/// bias add, ReLU, rounding shift and clamp, with every constant precomputed.
#[derive(Clone, Copy, Debug)]
struct LayerEnd {
    product_shift: u32,
    relu: bool,
    shift: u32,
    /// Added before the shift: 0 (truncations), half - 1 or half (roundings).
    offset: i32,
    /// What decides a tie (or, for TrnZero, a negative value) beyond `offset`.
    tie: Tie,
    min: i32,
    max: i32,
}

/// Every ap_fixed rounding is `(v + offset + extra) >> shift` with an `extra`
/// of 0 or 1 (or the low mask for TrnZero) chosen by one of these.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Tie {
    /// extra = 0.
    None,
    /// extra = floor(v / 2^shift) & 1: ties to even (AP_RND_CONV).
    Odd,
    /// extra = 1 when v < 0: ties toward zero (AP_RND_ZERO).
    Negative,
    /// extra = -1 when v < 0 (offset is half): ties away from zero (AP_RND_INF).
    MinusNegative,
    /// extra = 2^shift - 1 when v < 0: truncation toward zero (AP_TRN_ZERO).
    MaskNegative,
}

impl LayerEnd {
    fn new(rounding: Rounding, shift: u32, product_shift: u32, relu: bool, min: i32, max: i32) -> LayerEnd {
        let half = if shift == 0 { 0 } else { 1i32 << (shift - 1) };
        let (offset, tie) = if shift == 0 {
            (0, Tie::None) // nothing is dropped: every rounding is the identity
        } else {
            match rounding {
                Rounding::Trn => (0, Tie::None),
                Rounding::TrnZero => (0, Tie::MaskNegative),
                Rounding::Rnd => (half, Tie::None),
                Rounding::RndMinInf => (half - 1, Tie::None),
                Rounding::RndConv => (half - 1, Tie::Odd),
                Rounding::RndZero => (half - 1, Tie::Negative),
                Rounding::RndInf => (half, Tie::MinusNegative),
            }
        };
        LayerEnd { product_shift, relu, shift, offset, tie, min, max }
    }

    /// The scalar end of one output (the reference for the vector build).
    #[inline(always)]
    fn apply(&self, sum: i32, bias: i32) -> i32 {
        let mut v = (sum << self.product_shift) + bias;
        if self.relu {
            v = v.max(0);
        }
        let negative = (v < 0) as i32;
        let extra = match self.tie {
            Tie::None => 0,
            Tie::Odd => (v >> self.shift) & 1,
            Tie::Negative => negative,
            Tie::MinusNegative => -negative,
            Tie::MaskNegative => negative * ((1 << self.shift) - 1),
        };
        ((v + self.offset + extra) >> self.shift).clamp(self.min, self.max)
    }
}

/// Raw range of a type, if it fits i16.
fn i16_range(t: &FixedType) -> Option<(i64, i64)> {
    let (lo, hi) = (t.min_raw(), t.max_raw());
    (lo >= i16::MIN as i64 && hi <= i16::MAX as i64).then_some((lo, hi))
}

impl PackedLayer {
    /// `None` when some value of this layer might not fit (then the general path runs).
    fn new(layer: &FixedLayer, is_last: bool) -> Option<PackedLayer> {
        let relu = match layer.activation {
            Activation::Relu => true,
            Activation::Linear => false,
            Activation::Softmax if is_last => false,
            Activation::Softmax => return None,
        };
        let (in_lo, in_hi) = i16_range(&layer.in_type)?;
        if !layer.result_is_exact() {
            return None;
        }
        if !is_last {
            i16_range(&layer.out_type)?; // the next layer reads these outputs as i16
        }
        let acc = &layer.accum_type;
        let acc_frac = acc.frac();
        let prod_frac = layer.in_type.frac() + layer.weight_type.frac();
        let shift = acc_frac - layer.out_type.frac();
        if acc_frac < prod_frac || !(0..31).contains(&shift) {
            return None;
        }
        let product_shift = (acc_frac - prod_frac) as u32;
        if layer.weights.iter().any(|&w| w < i16::MIN as i64 || w > i16::MAX as i64) {
            return None;
        }
        let bias_at_acc: Vec<i64> = layer.biases.iter().map(|&b| acc.cast_raw(b, layer.bias_type.frac())).collect();
        // Largest |Σ x·w| (inputs in range) and largest |sum + bias| at the accumulator's fraction.
        let max_x = in_lo.unsigned_abs().max(in_hi.unsigned_abs()) as i128;
        let max_w = layer.weights.iter().map(|w| w.unsigned_abs()).max().unwrap_or(0) as i128;
        let bound = max_x * max_w * layer.n_in as i128;
        let max_bias = bias_at_acc.iter().map(|b| b.unsigned_abs() as i128).max().unwrap_or(0);
        if bound >= 1 << 30 || product_shift >= 31 {
            return None;
        }
        let max_sum = (bound << product_shift) + max_bias;
        // i32 headroom for the rounding offset, and the accumulator cast must be the identity.
        let acc_holds = max_sum <= acc.max_raw() as i128 && (if acc.signed { -max_sum >= acc.min_raw() as i128 } else { max_sum == 0 });
        if max_sum >= 1 << 30 || !acc_holds {
            return None;
        }
        let out = &layer.out_type;
        let (min, max) = (out.min_raw(), out.max_raw());
        if out.overflow != Overflow::Sat {
            // Other overflow modes only when nothing can overflow: then clamping changes nothing.
            let lo = if relu { 0 } else { (-max_sum) >> shift };
            let hi = (max_sum >> shift) + 1;
            let sym = (out.overflow == Overflow::SatSym && out.signed) as i128;
            if lo < min as i128 + sym || hi > max as i128 {
                return None;
            }
        }
        if min < i32::MIN as i64 || max > i32::MAX as i64 {
            return None;
        }
        let (n_in, n_out) = (layer.n_in, layer.n_out);
        let pairs = n_in.div_ceil(2);
        let lanes = n_out.div_ceil(LANES) * LANES;
        let mut weights = vec![0i16; pairs * lanes * 2];
        for i in 0..n_in {
            for o in 0..n_out {
                weights[((i / 2) * lanes + o) * 2 + i % 2] = layer.weights[i * n_out + o] as i16;
            }
        }
        let mut bias = vec![0i32; lanes];
        for (b, &v) in bias.iter_mut().zip(&bias_at_acc) {
            *b = v as i32;
        }
        let end = LayerEnd::new(out.rounding, shift as u32, product_shift, relu, min as i32, max as i32);
        Some(PackedLayer { n_out, pairs, lanes, weights, bias, end })
    }

    /// Portable build: `x` holds 2·pairs inputs; writes `lanes` outputs into
    /// `out16` (`to_i16`) or `out32` (the last layer).
    fn run_portable(&self, x: &[i16], out16: &mut [i16], out32: &mut [i32], to_i16: bool) {
        for o in 0..self.lanes {
            let mut sum = 0i32;
            for p in 0..self.pairs {
                let w = &self.weights[(p * self.lanes + o) * 2..][..2];
                // One vpmaddwd lane: both products added in i32.
                let pair = (x[2 * p] as i32 * w[0] as i32).wrapping_add(x[2 * p + 1] as i32 * w[1] as i32);
                sum = sum.wrapping_add(pair);
            }
            let r = self.end.apply(sum, self.bias[o]);
            if to_i16 {
                out16[o] = r as i16; // in range: clamped to an i16 type
            } else {
                out32[o] = r;
            }
        }
    }
}

/// Per-thread buffers, reused for every sample.
pub(crate) struct PackedScratch {
    x16: Vec<i16>,
    y16: Vec<i16>,
    out32: Vec<i32>,
}

impl PackedNetwork {
    pub(crate) fn new(input_type: FixedType, layers: &[FixedLayer], softmax: Option<&SoftmaxTables>) -> Option<PackedNetwork> {
        let (input_min, input_max) = i16_range(&input_type)?;
        if layers.is_empty() || layers[0].in_type != input_type {
            return None;
        }
        let packed: Vec<PackedLayer> =
            layers.iter().enumerate().map(|(i, l)| PackedLayer::new(l, i + 1 == layers.len())).collect::<Option<_>>()?;
        let widest = packed.iter().map(|l| l.lanes.max(2 * l.pairs)).max().unwrap_or(0);
        let shift_softmax = softmax.and_then(ShiftSoftmax::new);
        let softmax = softmax.map(|t| (t.clone(), t.casters()));
        let (n_in, n_out) = (layers[0].n_in, packed[packed.len() - 1].n_out);
        Some(PackedNetwork { layers: packed, input_min, input_max, widest, n_in, n_out, softmax, shift_softmax, avx2: avx2_available() })
    }

    pub(crate) fn scratch(&self) -> PackedScratch {
        PackedScratch { x16: vec![0; self.widest], y16: vec![0; self.widest], out32: vec![0; self.widest] }
    }

    /// One sample: false (and nothing written) when an input lies outside the
    /// input type, which the general path then handles.
    /// Every sample of a chunk (`n_in` raw inputs each, row-major) into
    /// `logits` and `outputs` (`n_out` each); samples with an input outside
    /// the input type go to `general` instead.
    pub(crate) fn run_chunk(&self, xs: &[i64], logits: &mut [i64], outputs: &mut [i64], general: &mut GeneralKernel) {
        let mut s = self.scratch();
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: `avx2` is only set when the processor has AVX2.
            return unsafe { avx2::run_chunk(self, xs, logits, outputs, &mut s, general) };
        }
        self.run_chunk_with(xs, logits, outputs, &mut s, general, false)
    }

    #[inline(always)]
    fn run_chunk_with(
        &self,
        xs: &[i64],
        logits: &mut [i64],
        outputs: &mut [i64],
        s: &mut PackedScratch,
        general: &mut GeneralKernel,
        avx2: bool,
    ) {
        let (n_in, n_out) = (self.n_in, self.n_out);
        for i in 0..xs.len() / n_in {
            let x = &xs[i * n_in..(i + 1) * n_in];
            let (l, o) = (&mut logits[i * n_out..(i + 1) * n_out], &mut outputs[i * n_out..(i + 1) * n_out]);
            if !self.run_one_with(x, l, o, s, avx2) {
                general(x, l, o);
            }
        }
    }

    /// One sample: false (logits and outputs untouched) when an input lies
    /// outside the input type.
    #[inline(always)]
    pub(crate) fn run_one_with(&self, x: &[i64], logits: &mut [i64], out: &mut [i64], s: &mut PackedScratch, avx2: bool) -> bool {
        assert!(x.len() == self.n_in && s.x16.len() >= self.widest && s.y16.len() >= self.widest && s.out32.len() >= self.widest);
        // Branch-free so that it vectorises; the padding input (odd widths) has
        // zero weights, so whatever stays in x16 beyond the inputs is harmless.
        let mut outside = false;
        for (d, &v) in s.x16.iter_mut().zip(x) {
            outside |= (v < self.input_min) | (v > self.input_max);
            *d = v as i16;
        }
        if outside {
            return false;
        }
        let last = self.layers.len() - 1;
        for (i, layer) in self.layers.iter().enumerate() {
            let to_i16 = i < last;
            #[cfg(target_arch = "x86_64")]
            if avx2 {
                // SAFETY: `avx2` is only true when the processor has AVX2 (or a
                // test checked it); the buffers hold `widest` values (asserted above).
                unsafe { avx2::run_layer(layer, &s.x16, &mut s.y16, &mut s.out32, to_i16) };
            } else {
                layer.run_portable(&s.x16, &mut s.y16, &mut s.out32, to_i16);
            }
            #[cfg(not(target_arch = "x86_64"))]
            {
                let _ = avx2;
                layer.run_portable(&s.x16, &mut s.y16, &mut s.out32, to_i16);
            }
            std::mem::swap(&mut s.x16, &mut s.y16);
        }
        let n_out = self.layers[last].n_out;
        for (l, &v) in logits.iter_mut().zip(&s.out32[..n_out]) {
            *l = v as i64;
        }
        match (&self.softmax, &self.shift_softmax) {
            (Some((t, _)), Some(fast)) => fast.apply(t, logits, out),
            (Some((t, c)), None) => t.apply_with(c, logits, out),
            (None, _) => out.copy_from_slice(logits),
        }
        true
    }
}

fn avx2_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{LayerEnd, PackedLayer, PackedNetwork, PackedScratch, Tie, LANES};
    use std::arch::x86_64::*;

    /// The layer end's constants as vectors.
    struct EndVectors {
        product_shift: __m128i,
        shift: __m128i,
        offset: __m256i,
        one: __m256i,
        mask: __m256i,
        zero: __m256i,
        min: __m256i,
        max: __m256i,
    }

    /// [`PackedNetwork::run_chunk_with`] compiled for AVX2 (the input checks and
    /// the softmax vectorise too).
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn run_chunk(
        net: &PackedNetwork,
        xs: &[i64],
        logits: &mut [i64],
        outputs: &mut [i64],
        s: &mut PackedScratch,
        general: &mut super::GeneralKernel,
    ) {
        net.run_chunk_with(xs, logits, outputs, s, general, true)
    }

    /// Reads `x` (2·pairs i16 inputs), writes the layer's outputs into `out16`
    /// (`to_i16`) or into `out32` (the last layer). The caller guarantees the
    /// lengths: `x` ≥ 2·pairs, `out16` and `out32` ≥ lanes.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn run_layer(l: &PackedLayer, x: &[i16], out16: &mut [i16], out32: &mut [i32], to_i16: bool) {
        debug_assert!(x.len() >= 2 * l.pairs && out16.len() >= l.lanes && out32.len() >= l.lanes);
        let e = &l.end;
        let c = EndVectors {
            product_shift: _mm_cvtsi32_si128(e.product_shift as i32),
            shift: _mm_cvtsi32_si128(e.shift as i32),
            offset: _mm256_set1_epi32(e.offset),
            one: _mm256_set1_epi32(1),
            mask: _mm256_set1_epi32(((1i64 << e.shift) - 1) as i32),
            zero: _mm256_setzero_si256(),
            min: _mm256_set1_epi32(e.min),
            max: _mm256_set1_epi32(e.max),
        };
        // The tie rule picks the build, so that no lane pass dispatches on it.
        match e.tie {
            Tie::None => blocks::<TIE_NONE>(l, x, &c, out16, out32, to_i16),
            Tie::Odd => blocks::<TIE_ODD>(l, x, &c, out16, out32, to_i16),
            Tie::Negative => blocks::<TIE_NEGATIVE>(l, x, &c, out16, out32, to_i16),
            Tie::MinusNegative => blocks::<TIE_MINUS_NEGATIVE>(l, x, &c, out16, out32, to_i16),
            Tie::MaskNegative => blocks::<TIE_MASK_NEGATIVE>(l, x, &c, out16, out32, to_i16),
        }
    }

    const TIE_NONE: u8 = 0;
    const TIE_ODD: u8 = 1;
    const TIE_NEGATIVE: u8 = 2;
    const TIE_MINUS_NEGATIVE: u8 = 3;
    const TIE_MASK_NEGATIVE: u8 = 4;

    #[inline(always)]
    unsafe fn blocks<const TIE: u8>(l: &PackedLayer, x: &[i16], c: &EndVectors, out16: &mut [i16], out32: &mut [i32], to_i16: bool) {
        let n_vec = l.lanes / LANES;
        let mut v = 0;
        while v < n_vec {
            let left = n_vec - v;
            v += if left >= 8 {
                block::<8, TIE>(l, x, v, c, out16, out32, to_i16)
            } else if left >= 4 {
                block::<4, TIE>(l, x, v, c, out16, out32, to_i16)
            } else if left >= 2 {
                block::<2, TIE>(l, x, v, c, out16, out32, to_i16)
            } else {
                block::<1, TIE>(l, x, v, c, out16, out32, to_i16)
            };
        }
    }

    /// V vectors of outputs starting at vector `v0`, sums kept in registers
    /// while every input pair passes; returns V.
    #[inline(always)]
    unsafe fn block<const V: usize, const TIE: u8>(
        l: &PackedLayer,
        x: &[i16],
        v0: usize,
        c: &EndVectors,
        out16: &mut [i16],
        out32: &mut [i32],
        to_i16: bool,
    ) -> usize {
        let mut acc = [_mm256_setzero_si256(); V];
        let pairs = x.as_ptr() as *const i32;
        let row = l.lanes * 2; // i16 per input pair
        let mut w = l.weights.as_ptr().add(v0 * LANES * 2);
        for p in 0..l.pairs {
            let xv = _mm256_set1_epi32(pairs.add(p).read_unaligned());
            for (k, a) in acc.iter_mut().enumerate() {
                let wv = _mm256_loadu_si256(w.add(k * LANES * 2) as *const __m256i);
                *a = _mm256_add_epi32(*a, _mm256_madd_epi16(xv, wv));
            }
            w = w.add(row);
        }
        for (k, &sum) in acc.iter().enumerate() {
            let at = (v0 + k) * LANES;
            let r = end::<TIE>(&l.end, c, sum, _mm256_loadu_si256(l.bias.as_ptr().add(at) as *const __m256i));
            if to_i16 {
                // In range of i16 already, so the saturating pack is exact.
                let packed = _mm256_permute4x64_epi64::<0b00_00_10_00>(_mm256_packs_epi32(r, r));
                _mm_storeu_si128(out16.as_mut_ptr().add(at) as *mut __m128i, _mm256_castsi256_si128(packed));
            } else {
                _mm256_storeu_si256(out32.as_mut_ptr().add(at) as *mut __m256i, r);
            }
        }
        V
    }

    /// [`LayerEnd::apply`] on 8 lanes.
    #[inline(always)]
    unsafe fn end<const TIE: u8>(e: &LayerEnd, c: &EndVectors, sum: __m256i, bias: __m256i) -> __m256i {
        let mut v = _mm256_add_epi32(_mm256_sll_epi32(sum, c.product_shift), bias);
        if e.relu {
            v = _mm256_max_epi32(v, c.zero);
        }
        let negative = _mm256_cmpgt_epi32(c.zero, v); // -1 where v < 0
        let extra = match TIE {
            TIE_NONE => c.zero,
            TIE_ODD => _mm256_and_si256(_mm256_sra_epi32(v, c.shift), c.one),
            TIE_NEGATIVE => _mm256_and_si256(negative, c.one),
            TIE_MINUS_NEGATIVE => negative,
            _ => _mm256_and_si256(negative, c.mask),
        };
        let r = _mm256_sra_epi32(_mm256_add_epi32(_mm256_add_epi32(v, c.offset), extra), c.shift);
        _mm256_min_epi32(_mm256_max_epi32(r, c.min), c.max)
    }
}

/// The general path for a chunk the packed path cannot take: (inputs, logits, outputs).
type GeneralKernel<'a> = dyn FnMut(&[i64], &mut [i64], &mut [i64]) + 'a;

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// The shift softmax gives `apply`'s bits, for the logit types the tables are built for.
    #[test]
    fn shift_softmax_equals_apply() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
        let mut taken = 0;
        for trial in 0..300 {
            let in_type = FixedType::new(rng.gen_range(4..30), rng.gen_range(-2..12), rng.gen_bool(0.8));
            let n = rng.gen_range(1..12);
            let t = SoftmaxTables::new(n, in_type);
            let Some(fast) = ShiftSoftmax::new(&t) else { continue };
            taken += 1;
            for _ in 0..50 {
                let spread = 1i64 << rng.gen_range(0..in_type.width.min(30));
                let centre = rng.gen_range(in_type.min_raw()..=in_type.max_raw());
                let x: Vec<i64> =
                    (0..n).map(|_| (centre + rng.gen_range(-spread..=spread)).clamp(in_type.min_raw(), in_type.max_raw())).collect();
                let (mut a, mut b) = (vec![0; n], vec![0; n]);
                t.apply(&x, &mut a);
                fast.apply(&t, &x, &mut b);
                assert_eq!(a, b, "trial {trial}: {in_type}, x = {x:?}");
            }
        }
        assert!(taken > 150, "shift softmax built for only {taken} of 300 types");
    }
}
