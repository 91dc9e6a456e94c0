// {{ top }}.h: the top function of the {{ model_name }} firmware. Written by qforge.
#ifndef {{ top_upper }}_H_
#define {{ top_upper }}_H_

#include "ap_fixed.h"
#include "ap_int.h"

#include "defines.h"

// {{ n_inputs }} inputs in, {{ n_outputs }} outputs out, every cycle (io_parallel).
void {{ top }}(input_t {{ input_var }}[N_INPUT_1_1], result_t {{ output_var }}[N_OUTPUTS]);

#endif
