// nnet_batchnorm.h: a scale and a shift per value, as hls4ml's `normalize`
// computes its BatchNormalization and ApplyAlpha layers (qforge writes it for
// ApplyAlpha: the scale QKeras factorises out of a kernel with alpha "auto" or
// a number). Written by qforge from its `nnet_batchnorm.h` template.
//
// res[i] = data[i] * scale[i] + bias[i]: the product and the sum exact (ap_fixed
// arithmetic widens), then cast into res_T with its rounding and overflow modes.
// Scales and biases are stored as raw bits.
#ifndef NNET_BATCHNORM_H_
#define NNET_BATCHNORM_H_

#include "nnet_common.h"

namespace nnet {

struct batchnorm_config {
    static const unsigned n_in = 10;
    static const unsigned reuse_factor = 1;
    typedef ap_fixed<16, 6> scale_t;
    typedef ap_fixed<16, 6> bias_t;
    typedef ap_int<16> scale_raw_t;
    typedef ap_int<16> bias_raw_t;
};

template <class data_T, class res_T, typename CONFIG_T>
void normalize(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in],
               const typename CONFIG_T::scale_raw_t scales[CONFIG_T::n_in],
               const typename CONFIG_T::bias_raw_t biases[CONFIG_T::n_in]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    #pragma HLS ARRAY_PARTITION variable=scales complete
    #pragma HLS ARRAY_PARTITION variable=biases complete
Result:
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        typename CONFIG_T::scale_t s = from_raw<typename CONFIG_T::scale_t>(scales[i]);
        typename CONFIG_T::bias_t b = from_raw<typename CONFIG_T::bias_t>(biases[i]);
        res[i] = data[i] * s + b;
    }
}

} // namespace nnet

#endif
