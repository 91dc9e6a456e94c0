// nnet_activation.h: ReLU, leaky ReLU, linear (a cast into the activation's type) and
// argmax. Written by qforge from its `nnet_activation.h` template.
#ifndef NNET_ACTIVATION_H_
#define NNET_ACTIVATION_H_

#include "nnet_common.h"

namespace nnet {

struct activ_config {
    static const unsigned n_in = 10;
};

// Linear: the value cast into res_T with res_T's rounding and overflow modes.
template <class data_T, class res_T, typename CONFIG_T>
void linear(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in]) {
    #pragma HLS PIPELINE
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        res[i] = data[i];
    }
}

// ReLU: negative values become zero, the rest is cast into res_T.
template <class data_T, class res_T, typename CONFIG_T>
void relu(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in]) {
    #pragma HLS PIPELINE
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        if (data[i] > 0) {
            res[i] = data[i];
        } else {
            res[i] = 0;
        }
    }
}

// Leaky ReLU (hls4ml's leaky_relu): positive values cast into res_T, negative
// ones alpha * x (the product exact) cast into res_T, alpha = CONFIG_T::slope()
// in CONFIG_T::param_t; with CONFIG_T::clip_lowest (QKeras' quantized_relu),
// negative outputs stop at CONFIG_T::lowest().
template <class data_T, class res_T, typename CONFIG_T>
void leaky_relu(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in]) {
    #pragma HLS PIPELINE
    const typename CONFIG_T::param_t alpha = CONFIG_T::slope();
    const res_T lowest = CONFIG_T::lowest();
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        if (data[i] > 0) {
            res[i] = data[i];
        } else {
            res_T v = alpha * data[i];
            if (CONFIG_T::clip_lowest && v < lowest) {
                v = lowest;
            }
            res[i] = v;
        }
    }
}

// Index of the first largest value (ties go to the lower index).
template <class data_T, typename CONFIG_T>
unsigned argmax(data_T data[CONFIG_T::n_in]) {
    #pragma HLS PIPELINE
    unsigned best = 0;
    for (unsigned i = 1; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        if (data[i] > data[best]) {
            best = i;
        }
    }
    return best;
}

} // namespace nnet

#endif
