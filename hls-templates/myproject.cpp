// {{ top }}.cpp: the {{ model_name }} network, layer by layer ({{ strategy }}
// strategy, reuse factor {{ reuse }}, io_parallel). Written by qforge.
#include "{{ top }}.h"
#include "parameters.h"

void {{ top }}(input_t {{ input_var }}[N_INPUT_1_1], result_t {{ output_var }}[N_OUTPUTS]) {
    #pragma HLS ARRAY_RESHAPE variable={{ input_var }} complete dim=0
    #pragma HLS ARRAY_PARTITION variable={{ output_var }} complete dim=0
    #pragma HLS INTERFACE ap_vld port={{ input_var }},{{ output_var }}
    #pragma HLS PIPELINE II={{ reuse }}
{% for s in steps %}
    // {{ s.comment }}
{%- if not s.last %}
    {{ s.out_t }} {{ s.out_var }}[{{ s.n }}];
    #pragma HLS ARRAY_PARTITION variable={{ s.out_var }} complete dim=0
{%- endif %}
{%- if s.kind == "dense" %}
    nnet::dense<{{ s.in_t }}, {{ s.out_t }}, config{{ s.index }}>({{ s.in_var }}, {{ s.out_var }}, w{{ s.index }}, b{{ s.index }});
{%- elif s.kind == "normalize" %}
    nnet::normalize<{{ s.in_t }}, {{ s.out_t }}, config{{ s.index }}>({{ s.in_var }}, {{ s.out_var }}, s{{ s.index }}, b{{ s.index }});
{%- elif s.kind == "conv_2d_cl" %}
    nnet::conv_2d_cl<{{ s.in_t }}, {{ s.out_t }}, config{{ s.index }}>({{ s.in_var }}, {{ s.out_var }}, w{{ s.index }}, b{{ s.index }});
{%- elif s.kind == "pooling2d_cl" %}
    nnet::pooling2d_cl<{{ s.in_t }}, {{ s.out_t }}, config{{ s.index }}>({{ s.in_var }}, {{ s.out_var }});
{%- elif s.kind == "softmax" %}
    nnet::softmax_table<{{ s.in_t }}, {{ s.out_t }}, softmax_config{{ s.index }}>({{ s.in_var }}, {{ s.out_var }}, exp_table{{ s.index }}, inv_table{{ s.index }});
{%- elif s.kind in ["softmax_stable", "softmax_latency", "softmax_legacy", "softmax_argmax"] %}
    nnet::{{ s.kind }}<{{ s.in_t }}, {{ s.out_t }}, softmax_config{{ s.index }}>({{ s.in_var }}, {{ s.out_var }}, exp_table{{ s.index }}, inv_table{{ s.index }});
{%- else %}
    nnet::{{ s.kind }}<{{ s.in_t }}, {{ s.out_t }}, {{ s.kind }}_config{{ s.index }}>({{ s.in_var }}, {{ s.out_var }});
{%- endif %}
{% endfor -%}
}
