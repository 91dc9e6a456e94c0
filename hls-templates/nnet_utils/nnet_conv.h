// nnet_conv.h: Conv1D/Conv2D, channels last, io_parallel, as hls4ml 1.x's
// conv_2d_latency_cl computes it. Written by qforge from its `nnet_conv.h`
// template.
//
// res[(oy*out_width + ox)*n_filt + f] = bias[f] + sum over the kernel cells
// inside the image of data[(y*in_width + x)*n_chan + c] * w[ky][kx][c][f],
// each product cast to accum_t and the sum cast to accum_t after every
// addition (Keras' padding: padded cells are zeros and add nothing). A Conv1D
// is a Conv2D of height 1. Weights are Keras-ordered [kh][kw][n_chan][n_filt],
// stored as raw bits like the dense layer's.
#ifndef NNET_CONV_H_
#define NNET_CONV_H_

#include "nnet_common.h"

namespace nnet {

struct conv2d_config {
    static const unsigned in_height = 8, in_width = 8, n_chan = 1;
    static const unsigned out_height = 6, out_width = 6, n_filt = 4;
    static const unsigned filt_height = 3, filt_width = 3;
    static const unsigned stride_height = 1, stride_width = 1;
    static const unsigned pad_top = 0, pad_left = 0;
    static const unsigned reuse_factor = 1;
    typedef ap_fixed<16, 6> weight_t;
    typedef ap_fixed<16, 6> bias_t;
    typedef ap_fixed<32, 12> accum_t;
    typedef ap_int<16> weight_raw_t;
    typedef ap_int<16> bias_raw_t;
};

template <class data_T, class res_T, typename CONFIG_T>
void conv_2d_cl(data_T data[CONFIG_T::in_height * CONFIG_T::in_width * CONFIG_T::n_chan],
                res_T res[CONFIG_T::out_height * CONFIG_T::out_width * CONFIG_T::n_filt],
                const typename CONFIG_T::weight_raw_t
                    weights[CONFIG_T::filt_height * CONFIG_T::filt_width * CONFIG_T::n_chan * CONFIG_T::n_filt],
                const typename CONFIG_T::bias_raw_t biases[CONFIG_T::n_filt]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    #pragma HLS ARRAY_PARTITION variable=weights complete
    #pragma HLS ARRAY_PARTITION variable=biases complete
OutRows:
    for (unsigned oy = 0; oy < CONFIG_T::out_height; oy++) {
    OutColumns:
        for (unsigned ox = 0; ox < CONFIG_T::out_width; ox++) {
        Filters:
            for (unsigned f = 0; f < CONFIG_T::n_filt; f++) {
                typename CONFIG_T::accum_t acc = from_raw<typename CONFIG_T::bias_t>(biases[f]);
            KernelRows:
                for (unsigned ky = 0; ky < CONFIG_T::filt_height; ky++) {
                    // Signed: the padding puts the window's first cells before the image.
                    int y = int(oy * CONFIG_T::stride_height + ky) - int(CONFIG_T::pad_top);
                    if (y < 0 || y >= int(CONFIG_T::in_height)) continue;
                KernelColumns:
                    for (unsigned kx = 0; kx < CONFIG_T::filt_width; kx++) {
                        int x = int(ox * CONFIG_T::stride_width + kx) - int(CONFIG_T::pad_left);
                        if (x < 0 || x >= int(CONFIG_T::in_width)) continue;
                    Channels:
                        for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
                            typename CONFIG_T::weight_t w = from_raw<typename CONFIG_T::weight_t>(
                                weights[((ky * CONFIG_T::filt_width + kx) * CONFIG_T::n_chan + c) * CONFIG_T::n_filt + f]);
                            acc += (typename CONFIG_T::accum_t)(data[(y * CONFIG_T::in_width + x) * CONFIG_T::n_chan + c] * w);
                        }
                    }
                }
                res[(oy * CONFIG_T::out_width + ox) * CONFIG_T::n_filt + f] = (res_T)acc;
            }
        }
    }
}

} // namespace nnet

#endif
