// {{ top }}.h: the top function of the {{ model_name }} firmware (io_stream). Written by qforge.
#ifndef {{ top_upper }}_H_
#define {{ top_upper }}_H_

#include "ap_fixed.h"
#include "ap_int.h"
#include "hls_stream.h"

#include "defines.h"
#include "nnet_utils/nnet_stream.h"

// {{ input_depth }} transactions of {{ input_chan }} inputs in, one of {{ n_outputs }} outputs out.
typedef nnet::array<input_t, {{ input_chan }}> input_arr_t;
typedef nnet::array<result_t, N_OUTPUTS> result_arr_t;
void {{ top }}(hls::stream<input_arr_t> &{{ input_var }}, hls::stream<result_arr_t> &{{ output_var }});

#endif
