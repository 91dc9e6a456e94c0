// nnet_dense.h: the dense layer, in two strategies as hls4ml has them.
// Written by qforge from its `nnet_dense.h` template.
//
// Both compute acc[o] = bias[o] + sum_i data[i] * w[i][o] with each product
// cast to accum_t; the accumulator is sized so that no sum overflows it.
// Weights are row-major [n_in][n_out], stored as raw bits (weight_raw_t).
#ifndef NNET_DENSE_H_
#define NNET_DENSE_H_

#include "nnet_common.h"

namespace nnet {

struct dense_config {
    static const unsigned n_in = 10;
    static const unsigned n_out = 10;
    static const unsigned reuse_factor = 1;
    static const unsigned strategy = latency;
    // n_in * n_out / reuse_factor: multipliers the layer may use.
    static const unsigned multiplier_limit = 100;
    typedef ap_fixed<16, 6> weight_t;
    typedef ap_fixed<16, 6> bias_t;
    typedef ap_fixed<32, 12> accum_t;
    typedef ap_int<16> weight_raw_t;
    typedef ap_int<16> bias_raw_t;
};

// Latency: every product has its own multiplier, the whole layer in one
// pipeline stage group; reuse_factor > 1 only relaxes the initiation interval.
template <class data_T, class res_T, typename CONFIG_T>
void dense_latency(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_out],
                   const typename CONFIG_T::weight_raw_t weights[CONFIG_T::n_in * CONFIG_T::n_out],
                   const typename CONFIG_T::bias_raw_t biases[CONFIG_T::n_out]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    #pragma HLS ARRAY_PARTITION variable=weights complete
    #pragma HLS ARRAY_PARTITION variable=biases complete
    #pragma HLS ALLOCATION operation instances=mul limit=CONFIG_T::multiplier_limit

    typename CONFIG_T::accum_t acc[CONFIG_T::n_out];
    #pragma HLS ARRAY_PARTITION variable=acc complete

Bias:
    for (unsigned o = 0; o < CONFIG_T::n_out; o++) {
        #pragma HLS UNROLL
        acc[o] = from_raw<typename CONFIG_T::bias_t>(biases[o]);
    }
Rows:
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
    Columns:
        for (unsigned o = 0; o < CONFIG_T::n_out; o++) {
            #pragma HLS UNROLL
            typename CONFIG_T::weight_t w = from_raw<typename CONFIG_T::weight_t>(weights[i * CONFIG_T::n_out + o]);
            acc[o] += (typename CONFIG_T::accum_t)(data[i] * w);
        }
    }
Result:
    for (unsigned o = 0; o < CONFIG_T::n_out; o++) {
        #pragma HLS UNROLL
        res[o] = (res_T)acc[o];
    }
}

// Resource: n_in * n_out / reuse_factor multipliers, each used reuse_factor
// times in a loop pipelined at II=1. Weight k = ir + reuse_factor * im goes to
// multiplier im in step ir, so the weights are partitioned into blocks of
// reuse_factor words, one memory per multiplier.
template <class data_T, class res_T, typename CONFIG_T>
void dense_resource(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_out],
                    const typename CONFIG_T::weight_raw_t weights[CONFIG_T::n_in * CONFIG_T::n_out],
                    const typename CONFIG_T::bias_raw_t biases[CONFIG_T::n_out]) {
    #pragma HLS INLINE off
    const unsigned block_factor = CONFIG_T::multiplier_limit;
    #pragma HLS ARRAY_PARTITION variable=weights block factor=block_factor
    #pragma HLS ARRAY_PARTITION variable=data complete
    #pragma HLS ARRAY_PARTITION variable=res complete

    typename CONFIG_T::accum_t acc[CONFIG_T::n_out];
    #pragma HLS ARRAY_PARTITION variable=acc complete

Bias:
    for (unsigned o = 0; o < CONFIG_T::n_out; o++) {
        #pragma HLS UNROLL
        acc[o] = from_raw<typename CONFIG_T::bias_t>(biases[o]);
    }
Reuse:
    for (unsigned ir = 0; ir < CONFIG_T::reuse_factor; ir++) {
        #pragma HLS PIPELINE II=1 rewind
    Multipliers:
        for (unsigned im = 0; im < block_factor; im++) {
            #pragma HLS UNROLL
            const unsigned k = ir + CONFIG_T::reuse_factor * im;
            const unsigned i = k / CONFIG_T::n_out;
            const unsigned o = k % CONFIG_T::n_out;
            typename CONFIG_T::weight_t w = from_raw<typename CONFIG_T::weight_t>(weights[k]);
            acc[o] += (typename CONFIG_T::accum_t)(data[i] * w);
        }
    }
Result:
    for (unsigned o = 0; o < CONFIG_T::n_out; o++) {
        #pragma HLS UNROLL
        res[o] = (res_T)acc[o];
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void dense(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_out],
           const typename CONFIG_T::weight_raw_t weights[CONFIG_T::n_in * CONFIG_T::n_out],
           const typename CONFIG_T::bias_raw_t biases[CONFIG_T::n_out]) {
    #pragma HLS INLINE
    if (CONFIG_T::strategy == latency) {
        dense_latency<data_T, res_T, CONFIG_T>(data, res, weights, biases);
    } else {
        dense_resource<data_T, res_T, CONFIG_T>(data, res, weights, biases);
    }
}

} // namespace nnet

#endif
