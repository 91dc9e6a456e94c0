// nnet_conv_stream.h: Conv1D/Conv2D for io_stream, channels last, with a line
// buffer as hls4ml 1.x's compute_output_buffer_2d. Written by qforge from its
// `nnet_conv_stream.h` template.
//
// One call reads the image, one pixel (n_chan values) per transaction, in
// raster order, and writes out_height * out_width pixels of n_filt values.
// It scans the padded map (padded_height x padded_width): a padded cell is a
// zero pixel that is not read (hls4ml inserts a zero-padding layer instead),
// and a zero adds nothing to the sum, so the result is conv_2d_cl's. When a
// window is complete at an output position the kernel (kh*kw*n_chan values in
// Keras order) goes through the dense layer of mult_config, whose strategy and
// reuse factor are the layer's. A Conv1D is a Conv2D of height 1.
#ifndef NNET_CONV_STREAM_H_
#define NNET_CONV_STREAM_H_

#include "nnet_conv.h"
#include "nnet_stream.h"

namespace nnet {

template <class data_T, class res_T, typename CONFIG_T>
void conv_2d_cl_stream(hls::stream<data_T> &data, hls::stream<res_T> &res,
                       const typename CONFIG_T::weight_raw_t
                           weights[CONFIG_T::filt_height * CONFIG_T::filt_width * CONFIG_T::n_chan * CONFIG_T::n_filt],
                       const typename CONFIG_T::bias_raw_t biases[CONFIG_T::n_filt]) {
    typedef typename data_T::value_type T;
    const unsigned KH = CONFIG_T::filt_height, KW = CONFIG_T::filt_width, C = CONFIG_T::n_chan;
    T line[(KH > 1 ? KH - 1 : 1)][CONFIG_T::padded_width][C];
    T window[KH][KW][C];
    #pragma HLS ARRAY_PARTITION variable=window complete dim=0
    #pragma HLS ARRAY_PARTITION variable=line complete dim=1
    #pragma HLS ARRAY_PARTITION variable=line complete dim=3
PaddedRows:
    for (unsigned py = 0; py < CONFIG_T::padded_height; py++) {
    PaddedColumns:
        for (unsigned px = 0; px < CONFIG_T::padded_width; px++) {
            #pragma HLS LOOP_FLATTEN
            #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
            T pixel[C];
            #pragma HLS ARRAY_PARTITION variable=pixel complete
            read_padded_pixel<data_T, T, C, CONFIG_T>(data, py, px, T(0), pixel);
            shift_window<T, KH, KW, C, CONFIG_T::padded_width>(pixel, line, window, px);
            // (py, px) is the bottom-right cell of the window of output (oy, ox).
            if (py + 1 < KH || px + 1 < KW) continue;
            const unsigned ry = py + 1 - KH, rx = px + 1 - KW;
            if (ry % CONFIG_T::stride_height != 0 || rx % CONFIG_T::stride_width != 0) continue;
            if (ry / CONFIG_T::stride_height >= CONFIG_T::out_height || rx / CONFIG_T::stride_width >= CONFIG_T::out_width) continue;
            T kernel[KH * KW * C];
            #pragma HLS ARRAY_PARTITION variable=kernel complete
            for (unsigned ky = 0; ky < KH; ky++)
                for (unsigned kx = 0; kx < KW; kx++)
                    for (unsigned c = 0; c < C; c++) kernel[(ky * KW + kx) * C + c] = window[ky][kx][c];
            res_T out;
            dense<T, typename res_T::value_type, typename CONFIG_T::mult_config>(kernel, out.data, weights, biases);
            res.write(out);
        }
    }
}

} // namespace nnet

#endif
