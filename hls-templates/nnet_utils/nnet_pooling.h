// nnet_pooling.h: max and average pooling (window and global, 1D as height
// 1), channels last, io_parallel, as hls4ml 1.x's pooling2d_cl computes them.
// Written by qforge from its `nnet_pooling.h` template.
//
// Average: accum_t y = 0; y += x over the cells inside the image; y /= n with
// n those cells (count_pad false, as Keras). Max: the largest cell, where a
// padded cell holds hls4ml's pad value (only the MSB set: the most negative
// value of a signed type, half the range of an unsigned one). A global
// pooling is a window over the whole map.
#ifndef NNET_POOLING_H_
#define NNET_POOLING_H_

#include "nnet_common.h"

namespace nnet {

enum pool_op { pool_max, pool_average };

struct pool2d_config {
    static const unsigned in_height = 8, in_width = 8, n_filt = 1;
    static const unsigned out_height = 4, out_width = 4;
    static const unsigned pool_height = 2, pool_width = 2;
    static const unsigned stride_height = 2, stride_width = 2;
    static const unsigned pad_top = 0, pad_left = 0;
    static const unsigned op = pool_max;
    static const unsigned reuse_factor = 1;
    typedef ap_fixed<16, 6> accum_t;
};

template <class T> T pad_value() {
    T x = 0;
    x[x.width - 1] = 1;
    return x;
}

template <class data_T, class res_T, typename CONFIG_T>
void pooling2d_cl(data_T data[CONFIG_T::in_height * CONFIG_T::in_width * CONFIG_T::n_filt],
                  res_T res[CONFIG_T::out_height * CONFIG_T::out_width * CONFIG_T::n_filt]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
OutRows:
    for (unsigned oy = 0; oy < CONFIG_T::out_height; oy++) {
    OutColumns:
        for (unsigned ox = 0; ox < CONFIG_T::out_width; ox++) {
        Channels:
            for (unsigned c = 0; c < CONFIG_T::n_filt; c++) {
                typename CONFIG_T::accum_t sum = 0;
                data_T best = 0;
                unsigned inside = 0, padded = 0;
            WindowRows:
                for (unsigned ky = 0; ky < CONFIG_T::pool_height; ky++) {
                WindowColumns:
                    for (unsigned kx = 0; kx < CONFIG_T::pool_width; kx++) {
                        int y = int(oy * CONFIG_T::stride_height + ky) - int(CONFIG_T::pad_top);
                        int x = int(ox * CONFIG_T::stride_width + kx) - int(CONFIG_T::pad_left);
                        if (y < 0 || y >= int(CONFIG_T::in_height) || x < 0 || x >= int(CONFIG_T::in_width)) {
                            padded++;
                            continue;
                        }
                        data_T v = data[(y * CONFIG_T::in_width + x) * CONFIG_T::n_filt + c];
                        if (inside == 0 || v > best) best = v;
                        sum += v;
                        inside++;
                    }
                }
                typename CONFIG_T::accum_t out;
                if (CONFIG_T::op == pool_max) {
                    data_T pad = pad_value<data_T>();
                    if (padded > 0 && pad > best) best = pad;
                    out = best;
                } else {
                    out = sum;
                    out /= inside;
                }
                res[(oy * CONFIG_T::out_width + ox) * CONFIG_T::n_filt + c] = (res_T)out;
            }
        }
    }
}

} // namespace nnet

#endif
