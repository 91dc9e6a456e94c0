//! The script and C++ templates (`tcl/`, `constraints/`, `hls-templates/`), embedded with `include_str!` so the binary needs no
//! files beside it. A `--templates DIR` folder overrides them by name: a file
//! in DIR with a template's name replaces the embedded one.
use crate::error::{Error, Result};
use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// Every template by name, with its embedded text.
const EMBEDDED: &[(&str, &str)] = &[
    ("build_prj.tcl", include_str!("../../tcl/build_prj.tcl")),
    ("build_opt.tcl", include_str!("../../tcl/build_opt.tcl")),
    ("project.tcl", include_str!("../../tcl/project.tcl")),
    ("vivado_synth.tcl", include_str!("../../tcl/vivado_synth.tcl")),
    ("clock.xdc", include_str!("../../constraints/clock.xdc")),
    ("myproject.cpp", include_str!("../../hls-templates/myproject.cpp")),
    ("myproject.h", include_str!("../../hls-templates/myproject.h")),
    ("myproject_test.cpp", include_str!("../../hls-templates/myproject_test.cpp")),
    ("defines.h", include_str!("../../hls-templates/defines.h")),
    ("parameters.h", include_str!("../../hls-templates/parameters.h")),
    ("nnet_common.h", include_str!("../../hls-templates/nnet_utils/nnet_common.h")),
    ("nnet_dense.h", include_str!("../../hls-templates/nnet_utils/nnet_dense.h")),
    ("nnet_activation.h", include_str!("../../hls-templates/nnet_utils/nnet_activation.h")),
    ("nnet_softmax.h", include_str!("../../hls-templates/nnet_utils/nnet_softmax.h")),
    ("nnet_softmax_hls4ml.h", include_str!("../../hls-templates/nnet_utils/nnet_softmax_hls4ml.h")),
    ("nnet_conv.h", include_str!("../../hls-templates/nnet_utils/nnet_conv.h")),
    ("nnet_pooling.h", include_str!("../../hls-templates/nnet_utils/nnet_pooling.h")),
    ("nnet_batchnorm.h", include_str!("../../hls-templates/nnet_utils/nnet_batchnorm.h")),
    ("myproject_stream.cpp", include_str!("../../hls-templates/myproject_stream.cpp")),
    ("myproject_stream.h", include_str!("../../hls-templates/myproject_stream.h")),
    ("nnet_stream.h", include_str!("../../hls-templates/nnet_utils/nnet_stream.h")),
    ("nnet_conv_stream.h", include_str!("../../hls-templates/nnet_utils/nnet_conv_stream.h")),
    ("nnet_pooling_stream.h", include_str!("../../hls-templates/nnet_utils/nnet_pooling_stream.h")),
    ("README.md", include_str!("../../hls-templates/README.md")),
];

/// The names a `--templates` folder may override.
pub const TEMPLATE_NAMES: &[&str] = &[
    "build_prj.tcl",
    "build_opt.tcl",
    "project.tcl",
    "vivado_synth.tcl",
    "clock.xdc",
    "myproject.cpp",
    "myproject.h",
    "myproject_test.cpp",
    "defines.h",
    "parameters.h",
    "nnet_common.h",
    "nnet_dense.h",
    "nnet_activation.h",
    "nnet_softmax.h",
    "nnet_softmax_hls4ml.h",
    "nnet_conv.h",
    "nnet_pooling.h",
    "nnet_batchnorm.h",
    "myproject_stream.cpp",
    "myproject_stream.h",
    "nnet_stream.h",
    "nnet_conv_stream.h",
    "nnet_pooling_stream.h",
    "README.md",
];

/// The embedded text of a template, or `None` for an unknown name.
pub fn template_source(name: &str) -> Option<&'static str> {
    EMBEDDED.iter().find(|(n, _)| *n == name).map(|(_, text)| *text)
}

/// The templates in force: the embedded ones, each replaced by a file of the
/// same name in the override folder when there is one.
#[derive(Debug, Clone, Default)]
pub struct TemplateSet {
    overrides: Option<PathBuf>,
}

impl TemplateSet {
    pub fn new(overrides: Option<&Path>) -> Result<Self> {
        if let Some(dir) = overrides {
            if !dir.is_dir() {
                return Err(Error::input(dir, "the templates folder does not exist or is not a folder"));
            }
        }
        Ok(TemplateSet { overrides: overrides.map(Path::to_path_buf) })
    }

    /// The template text and where it came from (the override file, or `None` for embedded).
    pub fn get(&self, name: &str) -> Result<(Cow<'static, str>, Option<PathBuf>)> {
        if let Some(dir) = &self.overrides {
            let path = dir.join(name);
            if path.is_file() {
                return Ok((Cow::Owned(crate::error::read_to_string(&path)?), Some(path)));
            }
        }
        template_source(name)
            .map(|text| (Cow::Borrowed(text), None))
            .ok_or_else(|| Error::Config(format!("no template named `{name}` (known: {})", TEMPLATE_NAMES.join(", "))))
    }

    /// Render one template with minijinja; errors name the template file.
    pub fn render(&self, name: &str, context: &minijinja::Value) -> Result<String> {
        let (source, origin) = self.get(name)?;
        let shown = origin.clone().unwrap_or_else(|| PathBuf::from(format!("<embedded>/{name}")));
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        env.add_template(name, &source).map_err(|e| Error::input_at(&shown, e.line(), None, format!("template syntax: {e}")))?;
        let template = env.get_template(name).expect("template just added");
        template.render(context).map_err(|e| Error::input_at(&shown, e.line(), None, format!("template rendering: {e}")))
    }
}
