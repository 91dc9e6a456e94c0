// nnet_stream.h: io_stream plumbing of the {{ top }} firmware. Written by
// qforge from its `nnet_stream.h` template.
//
// Every layer reads and writes hls::stream of nnet::array: one pixel (its
// n_chan values) per transaction for an image map, the whole vector in one
// transaction for a flat one, as hls4ml 1.x's io_stream. The per-transaction
// work calls the io_parallel functions on the array, so both compute the same
// bits.
#ifndef NNET_STREAM_H_
#define NNET_STREAM_H_

#include "hls_stream.h"
#include "nnet_activation.h"
#include "nnet_common.h"
#include "nnet_dense.h"
#include "nnet_softmax.h"
#include "nnet_softmax_hls4ml.h"

namespace nnet {

// N values that travel together through a stream.
template <typename T, unsigned N> struct array {
    typedef T value_type;
    static const unsigned size = N;
    T data[N];
    T &operator[](unsigned i) { return data[i]; }
    const T &operator[](unsigned i) const { return data[i]; }
};

// CONFIG_T with n_in replaced: the io_parallel function applied to one transaction.
template <class CONFIG_T, unsigned N> struct with_n_in : CONFIG_T {
    static const unsigned n_in = N;
};

// Element-wise activations: CONFIG_T::n_in values, data_T::size a transaction.
#define NNET_STREAM_ELEMENTWISE(name)                                                                                  \
    template <class data_T, class res_T, typename CONFIG_T>                                                           \
    void name##_stream(hls::stream<data_T> &data, hls::stream<res_T> &res) {                                          \
    Pixels:                                                                                                            \
        for (unsigned p = 0; p < CONFIG_T::n_in / data_T::size; p++) {                                                 \
            _Pragma("HLS PIPELINE") data_T in = data.read();                                                           \
            res_T out;                                                                                                 \
            name<typename data_T::value_type, typename res_T::value_type, with_n_in<CONFIG_T, data_T::size> >(in.data,  \
                                                                                                           out.data); \
            res.write(out);                                                                                            \
        }                                                                                                              \
    }
NNET_STREAM_ELEMENTWISE(linear)
NNET_STREAM_ELEMENTWISE(relu)
NNET_STREAM_ELEMENTWISE(leaky_relu)
#undef NNET_STREAM_ELEMENTWISE

// Softmax over the one transaction holding the whole vector.
#define NNET_STREAM_SOFTMAX(name)                                                                                      \
    template <class data_T, class res_T, typename CONFIG_T, class E, class I>                                         \
    void name##_stream(hls::stream<data_T> &data, hls::stream<res_T> &res, const E exp_table, const I inv_table) {    \
        data_T in = data.read();                                                                                       \
        res_T out;                                                                                                     \
        name<typename data_T::value_type, typename res_T::value_type, CONFIG_T>(in.data, out.data, exp_table,          \
                                                                                inv_table);                            \
        res.write(out);                                                                                                \
    }
NNET_STREAM_SOFTMAX(softmax_table)
NNET_STREAM_SOFTMAX(softmax_stable)
NNET_STREAM_SOFTMAX(softmax_latency)
NNET_STREAM_SOFTMAX(softmax_legacy)
NNET_STREAM_SOFTMAX(softmax_argmax)
#undef NNET_STREAM_SOFTMAX

// Dense: one transaction of n_in values in, one of n_out out.
template <class data_T, class res_T, typename CONFIG_T>
void dense_stream(hls::stream<data_T> &data, hls::stream<res_T> &res,
                  const typename CONFIG_T::weight_raw_t weights[CONFIG_T::n_in * CONFIG_T::n_out],
                  const typename CONFIG_T::bias_raw_t biases[CONFIG_T::n_out]) {
    data_T in = data.read();
    res_T out;
    #pragma HLS ARRAY_PARTITION variable=in.data complete
    #pragma HLS ARRAY_PARTITION variable=out.data complete
    dense<typename data_T::value_type, typename res_T::value_type, CONFIG_T>(in.data, out.data, weights, biases);
    res.write(out);
}

// Flatten: res_T::size / data_T::size pixels packed into one transaction
// (channels last, so the order is already the dense layer's input order).
template <class data_T, class res_T>
void flatten_stream(hls::stream<data_T> &data, hls::stream<res_T> &res) {
    res_T out;
    #pragma HLS ARRAY_PARTITION variable=out.data complete
Pixels:
    for (unsigned p = 0; p < res_T::size / data_T::size; p++) {
        #pragma HLS PIPELINE
        data_T in = data.read();
    Channels:
        for (unsigned c = 0; c < data_T::size; c++) {
            #pragma HLS UNROLL
            out[p * data_T::size + c] = in[c];
        }
    }
    res.write(out);
}

// The pixel at padded cell (py, px) of a window layer: read from the stream
// inside the image, `pad` (not read) in the padding.
template <class data_T, class T, unsigned C, typename CONFIG_T>
void read_padded_pixel(hls::stream<data_T> &data, unsigned py, unsigned px, T pad, T pixel[C]) {
    #pragma HLS INLINE
    const bool inside = py >= CONFIG_T::pad_top && py < CONFIG_T::pad_top + CONFIG_T::in_height &&
                        px >= CONFIG_T::pad_left && px < CONFIG_T::pad_left + CONFIG_T::in_width;
    if (inside) {
        data_T in = data.read();
        for (unsigned c = 0; c < C; c++) pixel[c] = in[c];
    } else {
        for (unsigned c = 0; c < C; c++) pixel[c] = pad;
    }
}

// The line buffer of a window layer, as hls4ml's shift_line_buffer: the
// pixel at padded column px enters the window's bottom-right corner; the
// rows above come from `line`, which holds the previous filt_height - 1 rows
// of the (padded) map, and the window shifts one column to the left.
template <class T, unsigned KH, unsigned KW, unsigned C, unsigned W>
void shift_window(const T pixel[C], T line[(KH > 1 ? KH - 1 : 1)][W][C], T window[KH][KW][C], unsigned px) {
    #pragma HLS INLINE
ShiftColumns:
    for (unsigned kx = 0; kx + 1 < KW; kx++) {
        #pragma HLS UNROLL
        for (unsigned ky = 0; ky < KH; ky++) {
            #pragma HLS UNROLL
            for (unsigned c = 0; c < C; c++) {
                #pragma HLS UNROLL
                window[ky][kx][c] = window[ky][kx + 1][c];
            }
        }
    }
PushColumn:
    for (unsigned c = 0; c < C; c++) {
        #pragma HLS UNROLL
        for (unsigned ky = 0; ky + 1 < KH; ky++) {
            #pragma HLS UNROLL
            window[ky][KW - 1][c] = line[ky][px][c];
        }
        window[KH - 1][KW - 1][c] = pixel[c];
        for (unsigned ky = 0; ky + 1 < KH; ky++) {
            #pragma HLS UNROLL
            line[ky][px][c] = window[ky + 1][KW - 1][c];
        }
    }
}

} // namespace nnet

#endif
