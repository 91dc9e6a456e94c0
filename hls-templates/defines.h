// defines.h: sizes and fixed-point types of {{ top }}, one typedef per layer
// tensor (weights, biases, accumulators, activations), taken from the model's
// quantizers and hls4ml's accumulator sizing. Written by qforge.
#ifndef DEFINES_H_
#define DEFINES_H_

#include "ap_fixed.h"
#include "ap_int.h"

// Sizes
{%- for s in sizes %}
#define {{ s.name }} {{ s.value }}
{%- endfor %}

// Types
{%- for t in typedefs %}
typedef {{ t.cpp }} {{ t.name }};{% if t.comment %} // {{ t.comment }}{% endif %}
{%- endfor %}

#endif
