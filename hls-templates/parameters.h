// parameters.h: per-layer configuration of {{ top }} (sizes, types, reuse
// factor, strategy) and the weights. Written by qforge.
#ifndef PARAMETERS_H_
#define PARAMETERS_H_

#include "defines.h"
#include "nnet_utils/nnet_activation.h"
{%- if convs %}
#include "nnet_utils/nnet_conv.h"
{%- endif %}
{%- if pools %}
#include "nnet_utils/nnet_pooling.h"
{%- endif %}
#include "nnet_utils/nnet_dense.h"
{%- if alphas %}
#include "nnet_utils/nnet_batchnorm.h"
{%- endif %}
#include "nnet_utils/nnet_softmax.h"
#include "nnet_utils/nnet_softmax_hls4ml.h"
{%- if stream %}
#include "nnet_utils/nnet_stream.h"
{%- if convs %}
#include "nnet_utils/nnet_conv_stream.h"
{%- endif %}
{%- if pools %}
#include "nnet_utils/nnet_pooling_stream.h"
{%- endif %}
{%- endif %}

// Weights and biases, as raw bits
{%- for c in convs %}
#include "weights/w{{ c.index }}.h"
#include "weights/b{{ c.index }}.h"
{%- endfor %}
{%- for d in dense %}
#include "weights/w{{ d.index }}.h"
#include "weights/b{{ d.index }}.h"
{%- endfor %}
{%- for a in alphas %}
#include "weights/s{{ a.index }}.h"
#include "weights/b{{ a.index }}.h"
{%- endfor %}
{%- if softmax %}
#include "weights/softmax_tables{{ softmax.index }}.h"
{%- endif %}
{%- if softmax_hls4ml %}
#include "weights/softmax_tables{{ softmax_hls4ml.index }}.h"
{%- endif %}
{% for c in convs %}{% set w = c.window %}{% if stream %}{% set m = c.mult %}
// {{ c.name }}: the kernel as a dense layer ({{ m.n_in }} x {{ m.n_out }}), once per output pixel
struct config{{ c.index }}_mult : nnet::dense_config {
    static const unsigned n_in = {{ m.n_in }};
    static const unsigned n_out = {{ m.n_out }};
    static const unsigned reuse_factor = {{ m.reuse }};
    static const unsigned strategy = nnet::{{ m.strategy }};
    static const unsigned multiplier_limit = {{ m.multiplier_limit }};
    typedef layer{{ c.index }}_weight_t weight_t;
    typedef layer{{ c.index }}_bias_t bias_t;
    typedef layer{{ c.index }}_accum_t accum_t;
    typedef layer{{ c.index }}_weight_raw_t weight_raw_t;
    typedef layer{{ c.index }}_bias_raw_t bias_raw_t;
};{% endif %}
// {{ c.name }}: [{{ w.in_height }}, {{ w.in_width }}, {{ w.channels }}] -> [{{ w.out_height }}, {{ w.out_width }}, {{ c.filters }}]
struct config{{ c.index }} : nnet::conv2d_config {
    static const unsigned in_height = {{ w.in_height }}, in_width = {{ w.in_width }}, n_chan = {{ w.channels }};
    static const unsigned out_height = {{ w.out_height }}, out_width = {{ w.out_width }}, n_filt = {{ c.filters }};
    static const unsigned filt_height = {{ w.height }}, filt_width = {{ w.width }};
    static const unsigned stride_height = {{ w.stride_height }}, stride_width = {{ w.stride_width }};
    static const unsigned pad_top = {{ w.pad_top }}, pad_left = {{ w.pad_left }};
{%- if stream %}
    static const unsigned padded_height = {{ w.padded_height }}, padded_width = {{ w.padded_width }};
    typedef config{{ c.index }}_mult mult_config;
{%- endif %}
    static const unsigned reuse_factor = {{ c.reuse }};
    typedef layer{{ c.index }}_weight_t weight_t;
    typedef layer{{ c.index }}_bias_t bias_t;
    typedef layer{{ c.index }}_accum_t accum_t;
    typedef layer{{ c.index }}_weight_raw_t weight_raw_t;
    typedef layer{{ c.index }}_bias_raw_t bias_raw_t;
};
{% endfor %}
{%- for p in pools %}{% set w = p.window %}
// {{ p.name }}: [{{ w.in_height }}, {{ w.in_width }}, {{ w.channels }}] -> [{{ w.out_height }}, {{ w.out_width }}, {{ w.channels }}]
struct config{{ p.index }} : nnet::pool2d_config {
    static const unsigned in_height = {{ w.in_height }}, in_width = {{ w.in_width }}, n_filt = {{ w.channels }};
    static const unsigned out_height = {{ w.out_height }}, out_width = {{ w.out_width }};
    static const unsigned pool_height = {{ w.height }}, pool_width = {{ w.width }};
    static const unsigned stride_height = {{ w.stride_height }}, stride_width = {{ w.stride_width }};
    static const unsigned pad_top = {{ w.pad_top }}, pad_left = {{ w.pad_left }};
{%- if stream %}
    static const unsigned padded_height = {{ w.padded_height }}, padded_width = {{ w.padded_width }};
{%- endif %}
    static const unsigned op = nnet::{{ p.op }};
    static const unsigned reuse_factor = {{ p.reuse }};
    typedef layer{{ p.index }}_accum_t accum_t;
};
{% endfor %}
{%- for d in dense %}
// {{ d.name }}: {{ d.n_in }} x {{ d.n_out }}
struct config{{ d.index }} : nnet::dense_config {
    static const unsigned n_in = {{ d.n_in }};
    static const unsigned n_out = {{ d.n_out }};
    static const unsigned reuse_factor = {{ d.reuse }};
    static const unsigned strategy = nnet::{{ d.strategy }};
    static const unsigned multiplier_limit = {{ d.multiplier_limit }};
    typedef layer{{ d.index }}_weight_t weight_t;
    typedef layer{{ d.index }}_bias_t bias_t;
    typedef layer{{ d.index }}_accum_t accum_t;
    typedef layer{{ d.index }}_weight_raw_t weight_raw_t;
    typedef layer{{ d.index }}_bias_raw_t bias_raw_t;
};
{% endfor %}
{%- for a in alphas %}
// {{ a.name }}: hls4ml's ApplyAlpha, a scale and a shift per value
struct config{{ a.index }} : nnet::batchnorm_config {
    static const unsigned n_in = {{ a.n }};
    static const unsigned reuse_factor = {{ reuse }};
    typedef layer{{ a.index }}_scale_t scale_t;
    typedef layer{{ a.index }}_bias_t bias_t;
    typedef layer{{ a.index }}_scale_raw_t scale_raw_t;
    typedef layer{{ a.index }}_bias_raw_t bias_raw_t;
};
{% endfor %}
{%- for a in activations %}
struct {{ a.kind }}_config{{ a.index }} : nnet::activ_config {
    static const unsigned n_in = {{ a.n }};
{%- if a.leaky %}
    typedef {{ a.leaky.param_cpp }} param_t;
    static double slope() { return {{ a.leaky.slope }}; }
    static const bool clip_lowest = {% if a.leaky.clip_lowest %}true{% else %}false{% endif %};
    static double lowest() { return {{ a.leaky.lowest }}; }
{%- endif %}
};
{% endfor %}
{%- if softmax %}
struct softmax_config{{ softmax.index }} : nnet::softmax_config {
    static const unsigned n_in = {{ softmax.n }};
    static const unsigned table_size = {{ softmax.table_size }};
    typedef softmax{{ softmax.index }}_diff_t diff_t;
    typedef softmax{{ softmax.index }}_exp_t exp_t;
    typedef softmax{{ softmax.index }}_sum_t sum_t;
    typedef softmax{{ softmax.index }}_inv_index_t inv_index_t;
    typedef softmax{{ softmax.index }}_inv_t inv_t;
    typedef softmax{{ softmax.index }}_exp_raw_t exp_raw_t;
    typedef softmax{{ softmax.index }}_inv_raw_t inv_raw_t;
};
{% endif %}
{%- if softmax_hls4ml %}{% set k = softmax_hls4ml.index %}
struct softmax_config{{ k }} : nnet::softmax_hls4ml_config {
    static const unsigned n_in = {{ softmax_hls4ml.n }};
    static const unsigned exp_table_size = {{ softmax_hls4ml.exp_table_size }};
    static const unsigned inv_table_size = {{ softmax_hls4ml.inv_table_size }};
    static const unsigned exp_index_bits = {{ softmax_hls4ml.exp_index_bits }};
    static const unsigned inv_index_bits = {{ softmax_hls4ml.inv_index_bits }};
    typedef softmax{{ k }}_exp_table_t exp_table_t;
    typedef softmax{{ k }}_inv_table_t inv_table_t;
    typedef softmax{{ k }}_accum_t accum_t;
    typedef softmax{{ k }}_inv_inp_t inv_inp_t;
    typedef softmax{{ k }}_inp_norm_t inp_norm_t;
    typedef softmax{{ k }}_exp_raw_t exp_raw_t;
    typedef softmax{{ k }}_inv_raw_t inv_raw_t;
};
{% endif %}
#endif
