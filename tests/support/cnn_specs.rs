//! The CNN specs the HLS and RTL tests both build: a 2D model with every
//! image layer kind and a Conv1D model.
pub const RICH_2D: &str = r#"name = "rich_cnn"
inputs = [9, 9, 2]
classes = ["a", "b", "c", "d", "e"]
[[layers]]
type = "conv2d"
filters = 4
kernel_size = 3
strides = [2, 1]
padding = "same"
kernel_quantizer = "quantized_bits(6,0,alpha=1)"
bias_quantizer = "quantized_bits(6,0,alpha=1)"
activation = "relu"
quantizer = "quantized_relu(6,2)"
[[layers]]
type = "max_pooling2d"
pool_size = 2
padding = "same"
[[layers]]
type = "conv2d"
filters = 3
kernel_size = 2
use_bias = false
kernel_quantizer = "quantized_bits(5,1,alpha=1)"
bias_quantizer = "quantized_bits(8,3,alpha=1)"
[[layers]]
type = "batchnorm"
[[layers]]
type = "activation"
activation = "linear"
quantizer = "quantized_bits(8,3)"
[[layers]]
type = "average_pooling2d"
pool_size = 2
strides = 1
padding = "same"
[[layers]]
type = "global_average_pooling2d"
[[layers]]
type = "dense"
units = 5
kernel_quantizer = "quantized_bits(6,0,alpha=1)"
bias_quantizer = "quantized_bits(6,0,alpha=1)"
[[layers]]
type = "activation"
activation = "softmax"
[training]
epochs = 2
batch_size = 64
learning_rate = 0.003
"#;

pub const CONV_1D: &str = r#"name = "cnn_1d"
inputs = [16, 3]
classes = ["a", "b", "c"]
[[layers]]
type = "conv1d"
filters = 4
kernel_size = 3
strides = 2
padding = "same"
kernel_quantizer = "quantized_bits(6,0,alpha=1)"
bias_quantizer = "quantized_bits(6,0,alpha=1)"
activation = "relu"
quantizer = "quantized_relu(5,1)"
[[layers]]
type = "average_pooling1d"
pool_size = 2
[[layers]]
type = "max_pooling1d"
pool_size = 2
strides = 1
[[layers]]
type = "flatten"
[[layers]]
type = "dense"
units = 3
kernel_quantizer = "quantized_bits(6,0,alpha=1)"
bias_quantizer = "quantized_bits(6,0,alpha=1)"
[[layers]]
type = "activation"
activation = "softmax"
[training]
epochs = 2
batch_size = 64
"#;
