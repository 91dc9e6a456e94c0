// {{ top }}.cpp: the {{ model_name }} network, layer by layer ({{ strategy }}
// strategy, reuse factor {{ reuse }}, io_stream). Written by qforge.
//
// Each layer is a dataflow process reading and writing hls::stream of
// nnet::array: one pixel (its channels) per transaction for an image map,
// the whole vector in one transaction for a flat one. Each FIFO is as deep as
// its tensor has transactions (hls4ml's default: the map's pixel count).
#include "{{ top }}.h"
#include "parameters.h"

void {{ top }}(hls::stream<input_arr_t> &{{ input_var }}, hls::stream<result_arr_t> &{{ output_var }}) {
    #pragma HLS INTERFACE axis port={{ input_var }},{{ output_var }}
    #pragma HLS DATAFLOW
{% for s in steps %}
    // {{ s.comment }}
{%- if not s.last %}
    hls::stream<nnet::array<{{ s.out_t }}, {{ s.out_chan }}> > {{ s.out_var }}("{{ s.out_var }}");
    #pragma HLS STREAM variable={{ s.out_var }} depth={{ s.out_depth }}
{%- endif %}
{%- set in_a = "nnet::array<" ~ s.in_t ~ ", " ~ s.in_chan ~ ">" %}
{%- set out_a = "nnet::array<" ~ s.out_t ~ ", " ~ s.out_chan ~ ">" %}
{%- if s.kind == "dense" %}
    nnet::dense_stream<{{ in_a }}, {{ out_a }}, config{{ s.index }}>({{ s.in_var }}, {{ s.out_var }}, w{{ s.index }}, b{{ s.index }});
{%- elif s.kind == "conv_2d_cl" %}
    nnet::conv_2d_cl_stream<{{ in_a }}, {{ out_a }}, config{{ s.index }}>({{ s.in_var }}, {{ s.out_var }}, w{{ s.index }}, b{{ s.index }});
{%- elif s.kind == "pooling2d_cl" %}
    nnet::pooling2d_cl_stream<{{ in_a }}, {{ out_a }}, config{{ s.index }}>({{ s.in_var }}, {{ s.out_var }});
{%- elif s.kind == "global_pooling2d_cl" %}
    nnet::global_pooling2d_cl_stream<{{ in_a }}, {{ out_a }}, config{{ s.index }}>({{ s.in_var }}, {{ s.out_var }});
{%- elif s.kind == "flatten" %}
    nnet::flatten_stream<{{ in_a }}, {{ out_a }} >({{ s.in_var }}, {{ s.out_var }});
{%- elif s.kind == "softmax" %}
    nnet::softmax_table_stream<{{ in_a }}, {{ out_a }}, softmax_config{{ s.index }}>({{ s.in_var }}, {{ s.out_var }}, exp_table{{ s.index }}, inv_table{{ s.index }});
{%- elif s.kind in ["softmax_stable", "softmax_latency", "softmax_legacy", "softmax_argmax"] %}
    nnet::{{ s.kind }}_stream<{{ in_a }}, {{ out_a }}, softmax_config{{ s.index }}>({{ s.in_var }}, {{ s.out_var }}, exp_table{{ s.index }}, inv_table{{ s.index }});
{%- else %}
    nnet::{{ s.kind }}_stream<{{ in_a }}, {{ out_a }}, {{ s.kind }}_config{{ s.index }}>({{ s.in_var }}, {{ s.out_var }});
{%- endif %}
{% endfor -%}
}
