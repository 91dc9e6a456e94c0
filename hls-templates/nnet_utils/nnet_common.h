// nnet_common.h: shared helpers of the {{ top }} firmware. Written by qforge
// from its `nnet_common.h` template.
//
// Constants (weights, biases, lookup tables) are stored as raw two's-complement
// bit patterns and reinterpreted here, so the firmware holds exactly the bits
// the Rust fixed-point model computes with: no decimal text is parsed.
#ifndef NNET_COMMON_H_
#define NNET_COMMON_H_

#include "ap_fixed.h"
#include "ap_int.h"

namespace nnet {

enum strategy { latency, resource };

// A fixed-point value whose bits are `raw` (an ap_int/ap_uint of the same width).
template <class T, class R> inline T from_raw(const R &raw) {
    #pragma HLS INLINE
    T value;
    value.range() = raw;
    return value;
}

// The raw bits of a fixed-point value, sign-extended when it is signed (testbench only).
template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O, int N>
inline long long raw_bits(const ap_fixed_base<W, I, S, Q, O, N> &value) {
    ap_int_base<W, S> bits = value.range();
    return bits.to_int64();
}

// Set a fixed-point value's bits from a raw integer (testbench only).
template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O, int N>
inline void set_raw_bits(ap_fixed_base<W, I, S, Q, O, N> &value, long long raw) {
    ap_int_base<W, S> bits = raw;
    value.range() = bits;
}

} // namespace nnet

#endif
