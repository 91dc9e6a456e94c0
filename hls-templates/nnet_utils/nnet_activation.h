// nnet_activation.h: ReLU, linear (a cast into the activation's type) and
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
