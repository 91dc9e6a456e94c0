// nnet_softmax_hls4ml.h: hls4ml 1.3's softmax variants (stable, latency,
// legacy, argmax), step for step as hls4ml's nnet_activation.h computes them,
// so that a model in hls4ml types mode gives hls4ml's bits. Written by qforge
// from its `nnet_softmax_hls4ml.h` template; the tables come from the Rust
// model (`model::hls4ml_softmax`) as raw bits.
#ifndef NNET_SOFTMAX_HLS4ML_H_
#define NNET_SOFTMAX_HLS4ML_H_

#include "nnet_common.h"

namespace nnet {

struct softmax_hls4ml_config {
    static const unsigned n_in = 10;
    static const unsigned exp_table_size = 1024;
    static const unsigned inv_table_size = 1024;
    // log2 of the table sizes: how many top bits index each table.
    static const unsigned exp_index_bits = 10;
    static const unsigned inv_index_bits = 10;
    typedef ap_fixed<18, 8, AP_RND, AP_SAT> exp_table_t;
    typedef ap_fixed<18, 8, AP_RND, AP_SAT> inv_table_t;
    typedef ap_fixed<16, 6> accum_t;
    typedef ap_fixed<18, 8, AP_RND, AP_SAT> inv_inp_t;
    typedef ap_ufixed<15, 8> inp_norm_t;
    typedef ap_int<18> exp_raw_t;
    typedef ap_int<18> inv_raw_t;
};

// Largest power of two below n (n >= 2): where hls4ml's reduce splits.
constexpr int tree_left(int n) { return n <= 2 ? 1 : 2 * tree_left((n + 1) / 2); }

// hls4ml's reduce with Op_add<T>: a balanced tree, each partial sum cast to T.
template <class T, int N> struct tree_sum {
    static T sum(const T *x) {
        #pragma HLS INLINE
        return (T)(tree_sum<T, tree_left(N)>::sum(x) + tree_sum<T, N - tree_left(N)>::sum(x + tree_left(N)));
    }
};
template <class T> struct tree_sum<T, 1> {
    static T sum(const T *x) { return x[0]; }
};

// The top `bits` bits of a value's bit pattern (sign bit included).
template <class T> inline unsigned top_bits(const T &x, unsigned bits) {
    #pragma HLS INLINE
    return x.range(T::width - 1, T::width - bits).to_uint();
}

// exp from the table, summed in accum_t, 1/sum from the table, products into res_T.
template <class data_T, class res_T, typename CONFIG_T>
void softmax_tables_finish(typename CONFIG_T::accum_t exp_res[CONFIG_T::n_in], res_T res[CONFIG_T::n_in],
                           const typename CONFIG_T::inv_raw_t inv_table[CONFIG_T::inv_table_size]) {
    #pragma HLS INLINE
    typename CONFIG_T::inv_inp_t exp_sum = tree_sum<typename CONFIG_T::accum_t, CONFIG_T::n_in>::sum(exp_res);
    typename CONFIG_T::inv_table_t inv = from_raw<typename CONFIG_T::inv_table_t>(inv_table[top_bits(exp_sum, CONFIG_T::inv_index_bits)]);
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        res[i] = exp_res[i] * inv;
    }
}

// stable: exp(-(max - x)) indexed by the normalised difference in inp_norm_t.
template <class data_T, class res_T, typename CONFIG_T>
void softmax_stable(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in],
                    const typename CONFIG_T::exp_raw_t exp_table[CONFIG_T::exp_table_size],
                    const typename CONFIG_T::inv_raw_t inv_table[CONFIG_T::inv_table_size]) {
    #pragma HLS PIPELINE
    data_T x_max = data[0];
    for (unsigned i = 1; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        if (data[i] > x_max) x_max = data[i];
    }
    typename CONFIG_T::accum_t exp_res[CONFIG_T::n_in];
    #pragma HLS ARRAY_PARTITION variable=exp_res complete
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        typename CONFIG_T::inp_norm_t d = x_max - data[i];
        exp_res[i] = from_raw<typename CONFIG_T::exp_table_t>(exp_table[top_bits(d, CONFIG_T::exp_index_bits)]);
    }
    softmax_tables_finish<data_T, res_T, CONFIG_T>(exp_res, res, inv_table);
}

// latency: exp(x) indexed by the input's own top bits.
template <class data_T, class res_T, typename CONFIG_T>
void softmax_latency(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in],
                     const typename CONFIG_T::exp_raw_t exp_table[CONFIG_T::exp_table_size],
                     const typename CONFIG_T::inv_raw_t inv_table[CONFIG_T::inv_table_size]) {
    #pragma HLS PIPELINE
    typename CONFIG_T::accum_t exp_res[CONFIG_T::n_in];
    #pragma HLS ARRAY_PARTITION variable=exp_res complete
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        exp_res[i] = from_raw<typename CONFIG_T::exp_table_t>(exp_table[top_bits(data[i], CONFIG_T::exp_index_bits)]);
    }
    softmax_tables_finish<data_T, res_T, CONFIG_T>(exp_res, res, inv_table);
}

// legacy: per output, the sum of exp(x_j - x_i) (table over [-8, 8)), then 1/sum (table over [0, 64)).
// Both tables are in exp_table_t (hls4ml's activ_config::table_t).
template <class data_T, class res_T, typename CONFIG_T>
void softmax_legacy(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in],
                    const typename CONFIG_T::exp_raw_t exp_table[CONFIG_T::exp_table_size],
                    const typename CONFIG_T::inv_raw_t inv_table[CONFIG_T::inv_table_size]) {
    #pragma HLS PIPELINE
    const int es = CONFIG_T::exp_table_size, is = CONFIG_T::inv_table_size;
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        typename CONFIG_T::exp_table_t sum = 0;
        for (unsigned j = 0; j < CONFIG_T::n_in; j++) {
            #pragma HLS UNROLL
            if (i == j) {
                sum += (typename CONFIG_T::exp_table_t)1;
            } else {
                // Exact in double (power-of-two scaling); C's cast truncates toward zero.
                int index = (int)((data[j] - data[i]).to_double() * es / 16) + 8 * es / 16;
                index = index < 0 ? 0 : (index > es - 1 ? es - 1 : index);
                sum += from_raw<typename CONFIG_T::exp_table_t>(exp_table[index]);
            }
        }
        int index = (int)(sum.to_double() * is / 64);
        index = index < 0 ? 0 : (index > is - 1 ? is - 1 : index);
        res[i] = from_raw<typename CONFIG_T::exp_table_t>(inv_table[index]);
    }
}

// argmax: 1 at the first largest input, 0 elsewhere.
template <class data_T, class res_T, typename CONFIG_T>
void softmax_argmax(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in],
                    const typename CONFIG_T::exp_raw_t exp_table[CONFIG_T::exp_table_size],
                    const typename CONFIG_T::inv_raw_t inv_table[CONFIG_T::inv_table_size]) {
    #pragma HLS PIPELINE
    unsigned best = 0;
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        res[i] = (res_T)0;
        if (data[i] > data[best]) best = i;
    }
    res[best] = (res_T)1;
}

} // namespace nnet

#endif
