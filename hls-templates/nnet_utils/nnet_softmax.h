// nnet_softmax.h: softmax with two lookup tables. Written by qforge from its
// `nnet_softmax.h` template; the tables come from the Rust model
// (`model::softmax`) as raw bits, so both compute the same outputs.
//
// d_j = max(x) - x_j cut to diff_t indexes exp(-d); the sum of the exponentials
// cut to inv_index_t indexes 1/sum; res_j = exp_j * (1/sum) rounded into res_T.
#ifndef NNET_SOFTMAX_H_
#define NNET_SOFTMAX_H_

#include "nnet_common.h"

namespace nnet {

struct softmax_config {
    static const unsigned n_in = 10;
    static const unsigned table_size = 1024;
    typedef ap_ufixed<10, 3, AP_TRN, AP_SAT> diff_t;
    typedef ap_ufixed<18, 1, AP_RND, AP_SAT> exp_t;
    typedef ap_ufixed<22, 5> sum_t;
    typedef ap_ufixed<10, 4, AP_TRN, AP_SAT> inv_index_t;
    typedef ap_ufixed<18, 1, AP_RND, AP_SAT> inv_t;
    typedef ap_uint<18> exp_raw_t;
    typedef ap_uint<18> inv_raw_t;
};

template <class data_T, class res_T, typename CONFIG_T>
void softmax_table(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in],
                   const typename CONFIG_T::exp_raw_t exp_table[CONFIG_T::table_size],
                   const typename CONFIG_T::inv_raw_t inv_table[CONFIG_T::table_size]) {
    #pragma HLS PIPELINE

    data_T x_max = data[0];
Max:
    for (unsigned i = 1; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        if (data[i] > x_max) {
            x_max = data[i];
        }
    }

    typename CONFIG_T::exp_t exps[CONFIG_T::n_in];
    #pragma HLS ARRAY_PARTITION variable=exps complete
    typename CONFIG_T::sum_t sum = 0;
Exp:
    for (unsigned j = 0; j < CONFIG_T::n_in; j++) {
        #pragma HLS UNROLL
        typename CONFIG_T::diff_t d = x_max - data[j];
        unsigned index = d.range().to_uint();
        exps[j] = from_raw<typename CONFIG_T::exp_t>(exp_table[index]);
        sum += exps[j];
    }

    typename CONFIG_T::inv_index_t sum_index = sum;
    typename CONFIG_T::inv_t inv = from_raw<typename CONFIG_T::inv_t>(inv_table[sum_index.range().to_uint()]);
Normalise:
    for (unsigned j = 0; j < CONFIG_T::n_in; j++) {
        #pragma HLS UNROLL
        res[j] = exps[j] * inv;
    }
}

} // namespace nnet

#endif
