// nnet_pooling_stream.h: max and average pooling for io_stream (window with a
// line buffer, and global), channels last. Written by qforge from its
// `nnet_pooling_stream.h` template.
//
// Window pooling scans the padded map as conv_2d_cl_stream does; a padded
// cell holds hls4ml's pad value for max (only the MSB set) and zero for
// average, whose divisor counts only the cells inside the image (count_pad
// false), so the result is pooling2d_cl's. Global pooling accumulates each
// channel as the pixels arrive and writes one transaction.
#ifndef NNET_POOLING_STREAM_H_
#define NNET_POOLING_STREAM_H_

#include "nnet_pooling.h"
#include "nnet_stream.h"

namespace nnet {

// Cells of window start s (padded coordinate) of size k that fall inside [pad, pad + n).
inline unsigned cells_inside(unsigned s, unsigned k, unsigned pad, unsigned n) {
    #pragma HLS INLINE
    unsigned lo = s > pad ? s : pad, hi = s + k < pad + n ? s + k : pad + n;
    return hi > lo ? hi - lo : 0;
}

template <class data_T, class res_T, typename CONFIG_T>
void pooling2d_cl_stream(hls::stream<data_T> &data, hls::stream<res_T> &res) {
    typedef typename data_T::value_type T;
    const unsigned KH = CONFIG_T::pool_height, KW = CONFIG_T::pool_width, C = CONFIG_T::n_filt;
    T line[(KH > 1 ? KH - 1 : 1)][CONFIG_T::padded_width][C];
    T window[KH][KW][C];
    #pragma HLS ARRAY_PARTITION variable=window complete dim=0
    #pragma HLS ARRAY_PARTITION variable=line complete dim=1
    #pragma HLS ARRAY_PARTITION variable=line complete dim=3
    const T pad = CONFIG_T::op == pool_max ? pad_value<T>() : T(0);
PaddedRows:
    for (unsigned py = 0; py < CONFIG_T::padded_height; py++) {
    PaddedColumns:
        for (unsigned px = 0; px < CONFIG_T::padded_width; px++) {
            #pragma HLS LOOP_FLATTEN
            #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
            T pixel[C];
            #pragma HLS ARRAY_PARTITION variable=pixel complete
            read_padded_pixel<data_T, T, C, CONFIG_T>(data, py, px, pad, pixel);
            shift_window<T, KH, KW, C, CONFIG_T::padded_width>(pixel, line, window, px);
            if (py + 1 < KH || px + 1 < KW) continue;
            const unsigned ry = py + 1 - KH, rx = px + 1 - KW;
            if (ry % CONFIG_T::stride_height != 0 || rx % CONFIG_T::stride_width != 0) continue;
            if (ry / CONFIG_T::stride_height >= CONFIG_T::out_height || rx / CONFIG_T::stride_width >= CONFIG_T::out_width) continue;
            const unsigned n = cells_inside(ry, KH, CONFIG_T::pad_top, CONFIG_T::in_height) *
                               cells_inside(rx, KW, CONFIG_T::pad_left, CONFIG_T::in_width);
            res_T out;
        Channels:
            for (unsigned c = 0; c < C; c++) {
                #pragma HLS UNROLL
                typename CONFIG_T::accum_t sum = 0;
                T best = window[0][0][c];
                for (unsigned ky = 0; ky < KH; ky++) {
                    for (unsigned kx = 0; kx < KW; kx++) {
                        T v = window[ky][kx][c];
                        if (v > best) best = v;
                        sum += v;
                    }
                }
                typename CONFIG_T::accum_t y;
                if (CONFIG_T::op == pool_max) {
                    y = best;
                } else {
                    y = sum;
                    y /= n;
                }
                out[c] = (typename res_T::value_type)y;
            }
            res.write(out);
        }
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void global_pooling2d_cl_stream(hls::stream<data_T> &data, hls::stream<res_T> &res) {
    typedef typename data_T::value_type T;
    const unsigned C = CONFIG_T::n_filt;
    typename CONFIG_T::accum_t sum[C];
    T best[C];
    #pragma HLS ARRAY_PARTITION variable=sum complete
    #pragma HLS ARRAY_PARTITION variable=best complete
Pixels:
    for (unsigned p = 0; p < CONFIG_T::in_height * CONFIG_T::in_width; p++) {
        #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
        data_T in = data.read();
        for (unsigned c = 0; c < C; c++) {
            #pragma HLS UNROLL
            if (p == 0) {
                sum[c] = 0;
                best[c] = in[c];
            } else if (in[c] > best[c]) {
                best[c] = in[c];
            }
            sum[c] += in[c];
        }
    }
    res_T out;
Channels:
    for (unsigned c = 0; c < C; c++) {
        #pragma HLS UNROLL
        typename CONFIG_T::accum_t y;
        if (CONFIG_T::op == pool_max) {
            y = best[c];
        } else {
            y = sum[c];
            y /= (CONFIG_T::in_height * CONFIG_T::in_width);
        }
        out[c] = (typename res_T::value_type)y;
    }
    res.write(out);
}

} // namespace nnet

#endif
