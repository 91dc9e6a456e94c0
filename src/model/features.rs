//! The feature layers of a convolutional model: the image layers that come
//! before the dense head (Conv1D/Conv2D with a folded batch normalization and
//! their activation, window and global pooling, Flatten), the model's input
//! shape, and shape inference over them. Owns: [`FeatureLayer`], the TOML
//! parsing of those layers (called from `spec`), and [`infer`], which both the
//! TOML parser and `validate` (model.json) use, so a shape fault is found
//! before any stage runs. A spec without feature layers is a dense model and
//! means exactly what it meant before.
use super::conv::{Padding, Shape3, Window};
use super::pool::PoolOp;
use super::spec::{Activation, RawLayer};
use crate::quant::Quantizer;
use serde::{Deserialize, Serialize};

/// One image layer before the dense head. Sizes are `(height, width)`; a 1D
/// layer has height 1 (`rank` 1), as `conv::Shape3::one_d`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FeatureLayer {
    Conv(ConvLayer),
    Pool(PoolLayer),
    GlobalPool(GlobalPoolLayer),
    Flatten { name: String },
}

/// Conv1D (`rank` 1) or Conv2D (`rank` 2), channels last.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConvLayer {
    pub name: String,
    pub rank: u8,
    pub filters: usize,
    pub kernel_size: (usize, usize),
    pub strides: (usize, usize),
    pub padding: Padding,
    pub use_bias: bool,
    pub kernel_quantizer: Quantizer,
    pub bias_quantizer: Quantizer,
    /// A batch normalization after the convolution, folded into it (as for dense).
    pub batchnorm: bool,
    /// `Relu` or `Linear` (a softmax is refused).
    pub activation: Activation,
    /// Quantizer of the activation output (`Float` = keep the accumulator type).
    pub activation_quantizer: Quantizer,
    /// Types an hls4ml config states for it (import), as a dense block's.
    #[serde(default, skip_serializing_if = "super::spec::LayerTypes::is_empty")]
    pub types: super::spec::LayerTypes,
}

/// MaxPooling1D/2D or AveragePooling1D/2D.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PoolLayer {
    pub name: String,
    pub rank: u8,
    pub op: PoolOp,
    pub pool_size: (usize, usize),
    pub strides: (usize, usize),
    pub padding: Padding,
    /// The `accum` and `result` an hls4ml config states for it (import); others are derived.
    #[serde(default, skip_serializing_if = "super::spec::LayerTypes::is_empty")]
    pub types: super::spec::LayerTypes,
}

/// GlobalMaxPooling1D/2D or GlobalAveragePooling1D/2D: one value per channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GlobalPoolLayer {
    pub name: String,
    pub rank: u8,
    pub op: PoolOp,
    /// As [`PoolLayer::types`].
    #[serde(default, skip_serializing_if = "super::spec::LayerTypes::is_empty")]
    pub types: super::spec::LayerTypes,
}

impl FeatureLayer {
    pub fn name(&self) -> &str {
        match self {
            FeatureLayer::Conv(c) => &c.name,
            FeatureLayer::Pool(p) => &p.name,
            FeatureLayer::GlobalPool(g) => &g.name,
            FeatureLayer::Flatten { name } => name,
        }
    }

    /// The Keras name of the layer's kind (`conv2d`, `max_pooling1d`, ...).
    pub fn kind(&self) -> String {
        let op = |op: PoolOp| match op {
            PoolOp::Max => "max",
            PoolOp::Average => "average",
        };
        match self {
            FeatureLayer::Conv(c) => format!("conv{}d", c.rank),
            FeatureLayer::Pool(p) => format!("{}_pooling{}d", op(p.op), p.rank),
            FeatureLayer::GlobalPool(g) => format!("global_{}_pooling{}d", op(g.op), g.rank),
            FeatureLayer::Flatten { .. } => "flatten".into(),
        }
    }
}

impl ConvLayer {
    pub fn window(&self) -> Window {
        Window::new(self.kernel_size, self.strides, self.padding)
    }

    /// Whether the firmware adds a bias: its own, or the one a folded batch
    /// normalization leaves (hls4ml fuses it the same way).
    pub fn has_bias(&self) -> bool {
        self.use_bias || self.batchnorm
    }

    /// The convolution as the dense layer it is on its patches (`filters`
    /// units): training, quantization and type derivation share the dense code.
    pub fn as_block(&self) -> super::spec::DenseBlock {
        super::spec::DenseBlock {
            name: self.name.clone(),
            units: self.filters,
            kernel_quantizer: self.kernel_quantizer.clone(),
            bias_quantizer: if self.has_bias() { self.bias_quantizer.clone() } else { Quantizer::Float },
            batchnorm: self.batchnorm,
            activation: self.activation,
            activation_quantizer: self.activation_quantizer.clone(),
            types: self.types,
        }
    }
}

impl PoolLayer {
    pub fn window(&self) -> Window {
        Window::new(self.pool_size, self.strides, self.padding)
    }
}

/// What flows between layers: a map of rank 1 (`[steps, channels]`, height 1)
/// or 2 (`[height, width, channels]`), or a flat vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tensor {
    Map { shape: Shape3, rank: u8 },
    Flat(usize),
}

impl Tensor {
    /// The model input: `inputs = [w, c]` (rank 1), `[h, w, c]` (rank 2), or a flat count.
    pub fn input(input_shape: &[usize], inputs: usize) -> Result<Tensor, String> {
        if input_shape.contains(&0) {
            return Err(format!("input shape {input_shape:?} has a zero side"));
        }
        match *input_shape {
            [] => Ok(Tensor::Flat(inputs)),
            [w, c] => Ok(Tensor::Map { shape: Shape3::one_d(w, c), rank: 1 }),
            [h, w, c] => Ok(Tensor::Map { shape: Shape3::new(h, w, c), rank: 2 }),
            _ => Err(format!("input shape {input_shape:?}: give [steps, channels] (1D), [height, width, channels] (2D) or a number")),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Tensor::Map { shape, .. } => shape.len(),
            Tensor::Flat(n) => *n,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keras' spelling of the shape: `[8, 8, 1]`, `[16, 3]` or `[64]`.
    pub fn describe(&self) -> String {
        match self {
            Tensor::Map { shape, rank: 1 } => format!("[{}, {}]", shape.width, shape.channels),
            Tensor::Map { shape, .. } => shape.to_string(),
            Tensor::Flat(n) => format!("[{n}]"),
        }
    }
}

/// Every layer's output, and the flat input count of the dense head.
#[derive(Clone, Debug, PartialEq)]
pub struct Shapes {
    pub outputs: Vec<Tensor>,
    pub head_inputs: usize,
}

/// Which layer is at fault (its index in the feature list) and why.
#[derive(Clone, Debug, PartialEq)]
pub struct ShapeFault {
    /// `None`: the model input or the dense head (the features end in a map that is not flattened).
    pub layer: Option<usize>,
    /// The layer's field at fault (`kernel_size`, `strides`, `pool_size`, `filters`, `type`).
    pub field: &'static str,
    pub message: String,
}

/// Shape inference over the feature layers: each layer's output and the head's inputs.
pub fn infer(input_shape: &[usize], inputs: usize, layers: &[FeatureLayer]) -> Result<Shapes, ShapeFault> {
    let mut cur = Tensor::input(input_shape, inputs).map_err(|message| ShapeFault { layer: None, field: "inputs", message })?;
    if !layers.is_empty() && matches!(cur, Tensor::Flat(_)) {
        return Err(ShapeFault {
            layer: None,
            field: "inputs",
            message: "feature layers need a shaped input: write inputs = [height, width, channels] or [steps, channels]".into(),
        });
    }
    let mut outputs = Vec::with_capacity(layers.len());
    for (i, layer) in layers.iter().enumerate() {
        cur = step(cur, layer).map_err(|(field, message)| ShapeFault { layer: Some(i), field, message })?;
        outputs.push(cur);
    }
    match cur {
        Tensor::Flat(n) => Ok(Shapes { outputs, head_inputs: n }),
        Tensor::Map { .. } => Err(ShapeFault {
            layer: None,
            field: "layers",
            message: format!(
                "a {}-D map {} reaches the dense layer: put a flatten or a global pooling layer before it",
                if let Tensor::Map { rank: 1, .. } = cur { 2 } else { 3 },
                cur.describe()
            ),
        }),
    }
}

/// One layer's output from its input, or which field of the layer does not fit it and why.
pub fn step(input: Tensor, layer: &FeatureLayer) -> Result<Tensor, (&'static str, String)> {
    let kind = layer.kind();
    let map = |rank: u8| -> Result<Shape3, (&'static str, String)> {
        match input {
            Tensor::Map { shape, rank: r } if r == rank => Ok(shape),
            Tensor::Map { rank: r, .. } => Err((
                "type",
                format!(
                    "{kind} takes a {} input but gets the {}-D map {}",
                    if rank == 1 { "2-D [steps, channels]" } else { "3-D [height, width, channels]" },
                    r + 1,
                    input.describe()
                ),
            )),
            Tensor::Flat(_) => {
                Err(("type", format!("{kind} gets the flat vector {}: it must come before flatten or global pooling", input.describe())))
            }
        }
    };
    let window = |shape: Shape3, w: Window, rank: u8, size_field: &'static str| -> Result<(usize, usize), (&'static str, String)> {
        let what = if size_field == "pool_size" { "pool" } else { "kernel" };
        let dims = |(h, w): (usize, usize)| if rank == 1 { format!("{w}") } else { format!("{h}x{w}") };
        if w.stride.0 == 0 || w.stride.1 == 0 {
            return Err(("strides", format!("stride {} is 0: strides must be at least 1", dims(w.stride))));
        }
        if w.size.0 == 0 || w.size.1 == 0 {
            return Err((size_field, format!("{what} {} has a zero side", dims(w.size))));
        }
        if w.padding == Padding::Valid && (w.size.0 > shape.height || w.size.1 > shape.width) {
            return Err((
                size_field,
                format!("{what} {} is larger than its input {} (padding `valid`)", dims(w.size), dims((shape.height, shape.width))),
            ));
        }
        let p = w.place("", shape).map_err(|e| (size_field, e.to_string()))?;
        Ok((p.out_height, p.out_width))
    };
    match layer {
        FeatureLayer::Conv(c) => {
            let shape = map(c.rank)?;
            if c.filters == 0 {
                return Err(("filters", "filters must be at least 1".into()));
            }
            let (h, w) = window(shape, c.window(), c.rank, "kernel_size")?;
            Ok(Tensor::Map { shape: Shape3::new(h, w, c.filters), rank: c.rank })
        }
        FeatureLayer::Pool(p) => {
            let shape = map(p.rank)?;
            let (h, w) = window(shape, p.window(), p.rank, "pool_size")?;
            Ok(Tensor::Map { shape: Shape3::new(h, w, shape.channels), rank: p.rank })
        }
        FeatureLayer::GlobalPool(g) => Ok(Tensor::Flat(map(g.rank)?.channels)),
        FeatureLayer::Flatten { .. } => match input {
            Tensor::Map { shape, .. } => Ok(Tensor::Flat(shape.len())),
            Tensor::Flat(_) => Err(("type", format!("flatten gets the flat vector {}: there is nothing to flatten", input.describe()))),
        },
    }
}

/// Multiply-accumulates of the convolutions (pooling and flatten have none).
pub fn conv_macs(layers: &[FeatureLayer], shapes: &Shapes, input: Tensor) -> usize {
    let mut prev = input;
    let mut macs = 0;
    for (layer, out) in layers.iter().zip(&shapes.outputs) {
        if let (FeatureLayer::Conv(c), Tensor::Map { shape: i, .. }, Tensor::Map { shape: o, .. }) = (layer, prev, out) {
            macs += o.len() * c.kernel_size.0 * c.kernel_size.1 * i.channels;
        }
        prev = *out;
    }
    macs
}

/// The layer types the TOML spec takes for feature layers.
pub const FEATURE_KINDS: &[&str] = &[
    "conv1d",
    "conv2d",
    "max_pooling1d",
    "max_pooling2d",
    "average_pooling1d",
    "average_pooling2d",
    "global_max_pooling1d",
    "global_max_pooling2d",
    "global_average_pooling1d",
    "global_average_pooling2d",
    "flatten",
];

/// A kernel, pool or stride size in the TOML file: `3` or `[3, 3]` (2D), `3` or `[3]` (1D).
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum RawSize {
    One(i64),
    Many(Vec<i64>),
}

impl RawSize {
    /// `(height, width)` for a layer of `rank`.
    pub fn pair(&self, rank: u8) -> Result<(usize, usize), String> {
        let v: Vec<i64> = match self {
            RawSize::One(n) if rank == 1 => vec![1, *n],
            RawSize::One(n) => vec![*n, *n],
            RawSize::Many(v) if rank == 1 && v.len() == 1 => vec![1, v[0]],
            RawSize::Many(v) if rank == 2 && v.len() == 2 => v.clone(),
            RawSize::Many(v) => {
                return Err(format!("{} values given: a {rank}D layer takes {} (or one number)", v.len(), if rank == 1 { 1 } else { 2 }))
            }
        };
        let limit = super::validate::MAX_UNITS as i64;
        if v.iter().any(|&n| !(0..=limit).contains(&n)) {
            return Err(format!("sizes must be between 0 and {limit}"));
        }
        Ok((v[0] as usize, v[1] as usize))
    }
}

/// Parse `valid` or `same`.
pub fn parse_padding(s: &str) -> Result<Padding, String> {
    match s {
        "valid" => Ok(Padding::Valid),
        "same" => Ok(Padding::Same),
        other => Err(format!("unknown padding `{other}`: use valid or same")),
    }
}

/// A feature layer kind's rank and pooling op: `("max_pooling2d")` → rank 2, Max.
pub fn parse_kind(kind: &str) -> Option<(&'static str, u8, Option<PoolOp>)> {
    let rank = if kind.ends_with("1d") {
        1
    } else if kind.ends_with("2d") {
        2
    } else {
        0
    };
    let op = if kind.contains("max") { Some(PoolOp::Max) } else { Some(PoolOp::Average) };
    match kind {
        "conv1d" | "conv2d" => Some(("conv", rank, None)),
        "max_pooling1d" | "max_pooling2d" | "average_pooling1d" | "average_pooling2d" => Some(("pool", rank, op)),
        "global_max_pooling1d" | "global_max_pooling2d" | "global_average_pooling1d" | "global_average_pooling2d" => {
            Some(("global", rank, op))
        }
        "flatten" => Some(("flatten", 0, None)),
        _ => None,
    }
}

/// A fault in one TOML layer table: the span to take the line from, the field, the message.
pub(super) struct At {
    pub span: std::ops::Range<usize>,
    pub field: &'static str,
    pub message: String,
}

/// One `[[layers]]` table of a feature kind (see [`FEATURE_KINDS`]) into its layer;
/// `name` is used when the table gives none.
pub(super) fn parse_layer(raw: &RawLayer, name: String) -> Result<FeatureLayer, At> {
    let kind_span = raw.kind.span();
    let at = |span: std::ops::Range<usize>, field: &'static str, message: String| At { span, field, message };
    let (family, rank, op) = parse_kind(raw.kind.get_ref()).ok_or_else(|| at(kind_span.clone(), "type", "not a feature layer".into()))?;
    let name = raw.name.clone().unwrap_or(name);
    // Fields that mean nothing for this kind are refused rather than ignored.
    let given: [(&'static str, Option<std::ops::Range<usize>>); 10] = [
        ("units", raw.units.as_ref().map(|s| s.span())),
        ("filters", raw.filters.as_ref().map(|s| s.span())),
        ("kernel_size", raw.kernel_size.as_ref().map(|s| s.span())),
        ("strides", raw.strides.as_ref().map(|s| s.span())),
        ("pool_size", raw.pool_size.as_ref().map(|s| s.span())),
        ("padding", raw.padding.as_ref().map(|s| s.span())),
        ("use_bias", raw.use_bias.as_ref().map(|s| s.span())),
        ("kernel_quantizer", raw.kernel_quantizer.as_ref().map(|s| s.span())),
        ("bias_quantizer", raw.bias_quantizer.as_ref().map(|s| s.span())),
        ("activation", raw.activation.as_ref().map(|s| s.span())),
    ];
    let allowed: &[&str] = match family {
        "conv" => &["filters", "kernel_size", "strides", "padding", "use_bias", "kernel_quantizer", "bias_quantizer", "activation"],
        "pool" => &["pool_size", "strides", "padding"],
        _ => &[],
    };
    for (field, span) in given {
        if let Some(span) = span.filter(|_| !allowed.contains(&field)) {
            return Err(at(span, field, format!("a {} layer takes no `{field}`", raw.kind.get_ref())));
        }
    }
    if raw.quantizer.is_some() && raw.activation.is_none() {
        let span = raw.quantizer.as_ref().map(|s| s.span()).unwrap_or(kind_span.clone());
        return Err(at(span, "quantizer", "`quantizer` quantizes an activation: give `activation` too".into()));
    }
    let size = |s: &Option<toml::Spanned<RawSize>>, field: &'static str| -> Result<Option<(usize, usize)>, At> {
        s.as_ref().map(|s| s.get_ref().pair(rank).map_err(|m| at(s.span(), field, m))).transpose()
    };
    let padding = match &raw.padding {
        None => Padding::Valid,
        Some(p) => parse_padding(p.get_ref()).map_err(|m| at(p.span(), "padding", m))?,
    };
    match family {
        "conv" => {
            let filters = raw
                .filters
                .as_ref()
                .ok_or_else(|| at(kind_span.clone(), "filters", format!("a {} layer needs `filters`", raw.kind.get_ref())))?;
            let max = super::validate::MAX_UNITS as i64;
            if !(1..=max).contains(filters.get_ref()) {
                return Err(at(filters.span(), "filters", format!("filters must be between 1 and {max}")));
            }
            let kernel_size = size(&raw.kernel_size, "kernel_size")?
                .ok_or_else(|| at(kind_span.clone(), "kernel_size", format!("a {} layer needs `kernel_size`", raw.kind.get_ref())))?;
            let quantizer = |q: &Option<toml::Spanned<String>>, field: &'static str| -> Result<Quantizer, At> {
                match q {
                    None => Ok(Quantizer::Float),
                    Some(q) => crate::quant::parse::parse_quantizer(q.get_ref()).map_err(|m| at(q.span(), field, m)),
                }
            };
            let (activation, activation_quantizer) = match &raw.activation {
                None => (Activation::Linear, Quantizer::Float),
                Some(a) => (
                    parse_feature_activation(a.get_ref()).map_err(|m| at(a.span(), "activation", m))?,
                    quantizer(&raw.quantizer, "quantizer")?,
                ),
            };
            Ok(FeatureLayer::Conv(ConvLayer {
                name,
                rank,
                filters: *filters.get_ref() as usize,
                kernel_size,
                strides: size(&raw.strides, "strides")?.unwrap_or((1, 1)),
                padding,
                use_bias: raw.use_bias.as_ref().map(|b| *b.get_ref()).unwrap_or(true),
                kernel_quantizer: quantizer(&raw.kernel_quantizer, "kernel_quantizer")?,
                bias_quantizer: quantizer(&raw.bias_quantizer, "bias_quantizer")?,
                batchnorm: false,
                activation,
                activation_quantizer,
                types: Default::default(),
            }))
        }
        "pool" => {
            // Keras' defaults: a 2 (2x2) window, strides equal to the window.
            let pool_size = size(&raw.pool_size, "pool_size")?.unwrap_or(if rank == 1 { (1, 2) } else { (2, 2) });
            let strides = size(&raw.strides, "strides")?.unwrap_or(pool_size);
            Ok(FeatureLayer::Pool(PoolLayer {
                name,
                rank,
                op: op.unwrap_or(PoolOp::Max),
                pool_size,
                strides,
                padding,
                types: Default::default(),
            }))
        }
        "global" => Ok(FeatureLayer::GlobalPool(GlobalPoolLayer { name, rank, op: op.unwrap_or(PoolOp::Max), types: Default::default() })),
        _ => Ok(FeatureLayer::Flatten { name }),
    }
}

/// A convolution's activation: relu or linear (softmax belongs to the dense head).
pub fn parse_feature_activation(s: &str) -> Result<Activation, String> {
    match s {
        "relu" => Ok(Activation::Relu),
        "linear" => Ok(Activation::Linear),
        other => Err(format!("activation `{other}` after a convolution: use relu or linear (softmax only ends the dense head)")),
    }
}
