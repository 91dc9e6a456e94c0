//! Keras weight files in HDF5, read with the pure-Rust `hdf5-reader`: the
//! Keras 2 layout (`layer_names` / `weight_names` attributes, at the root for
//! `save_weights` or under `/model_weights` for `model.save("m.h5")`, whose
//! root also holds the `model_config` JSON) and the Keras 3 layout of
//! `model.weights.h5` (`layers/<name>/vars/<i>`).
use crate::error::{Error, Result};
use hdf5_reader::group::Group;
use hdf5_reader::Hdf5File;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One weight array, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// A layer's weights in file order, each with its name (`fc1/kernel:0`, or `0`, `1` in Keras 3).
pub type LayerWeights = Vec<(String, Tensor)>;

/// An opened Keras HDF5 file.
pub struct KerasH5 {
    path: PathBuf,
    file: Hdf5File,
}

impl KerasH5 {
    pub fn open(path: &Path) -> Result<KerasH5> {
        let bytes = crate::error::read_bytes(path)?;
        Self::from_bytes(path, bytes)
    }

    /// Open from bytes (a `.keras` archive's `model.weights.h5`); `path` names them in errors.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<KerasH5> {
        let file = Hdf5File::from_vec(bytes).map_err(|e| Error::input(path, format!("not a readable HDF5 file: {e}")))?;
        Ok(KerasH5 { path: path.to_path_buf(), file })
    }

    fn fail(&self, msg: String) -> Error {
        Error::input(&self.path, msg)
    }

    fn root(&self) -> Result<Group> {
        self.file.root_group().map_err(|e| self.fail(format!("unreadable HDF5 root group: {e}")))
    }

    /// The `model_config` attribute of a full-model H5 (None in a weights-only file).
    pub fn model_config(&self) -> Result<Option<String>> {
        let root = self.root()?;
        let Ok(attr) = root.attribute("model_config") else {
            return Ok(None);
        };
        let strings = attr.read_strings().map_err(|e| self.fail(format!("attribute `model_config` is not a string: {e}")))?;
        Ok(strings.into_iter().next())
    }

    /// Every layer's weights, by layer name.
    pub fn weights(&self) -> Result<BTreeMap<String, LayerWeights>> {
        let root = self.root()?;
        if root.attribute("layer_names").is_ok() {
            return self.keras2_weights(&root, "");
        }
        if let Ok(group) = root.group("model_weights") {
            return self.keras2_weights(&group, "/model_weights");
        }
        if let Ok(group) = root.group("layers") {
            return self.keras3_weights(&group, "/layers");
        }
        Err(self.fail(
            "no Keras weights: neither a `layer_names` attribute, a /model_weights group (Keras 2) nor a /layers group (Keras 3)".into(),
        ))
    }

    fn strings_attr(&self, group: &Group, at: &str, name: &str) -> Result<Vec<String>> {
        let attr = group.attribute(name).map_err(|_| self.fail(format!("{at}: no `{name}` attribute")))?;
        // h5py writes an empty list as an empty float array.
        if attr.num_elements().map_err(|e| self.fail(format!("{at}/@{name}: {e}")))? == 0 {
            return Ok(Vec::new());
        }
        attr.read_strings().map_err(|e| self.fail(format!("{at}/@{name}: not a list of strings: {e}")))
    }

    fn keras2_weights(&self, group: &Group, at: &str) -> Result<BTreeMap<String, LayerWeights>> {
        let mut out = BTreeMap::new();
        for layer in self.strings_attr(group, at, "layer_names")? {
            let layer_at = format!("{at}/{layer}");
            let g = group.group(&layer).map_err(|e| self.fail(format!("{layer_at}: listed in layer_names but unreadable: {e}")))?;
            let mut weights = Vec::new();
            for name in self.strings_attr(&g, &layer_at, "weight_names")? {
                let tensor = self.tensor(&format!("{layer_at}/{name}"))?;
                weights.push((name, tensor));
            }
            out.insert(layer, weights);
        }
        Ok(out)
    }

    fn keras3_weights(&self, layers: &Group, at: &str) -> Result<BTreeMap<String, LayerWeights>> {
        let mut out = BTreeMap::new();
        let groups = layers.groups().map_err(|e| self.fail(format!("{at}: {e}")))?;
        for g in groups {
            let name = g.name().rsplit('/').next().unwrap_or(g.name()).to_string();
            let layer_at = format!("{at}/{name}");
            let mut weights = Vec::new();
            if let Ok(vars) = g.group("vars") {
                let (_, mut names) = vars.member_names().map_err(|e| self.fail(format!("{layer_at}/vars: {e}")))?;
                names.sort_by_key(|n| n.parse::<usize>().unwrap_or(usize::MAX));
                for n in names {
                    let tensor = self.tensor(&format!("{layer_at}/vars/{n}"))?;
                    weights.push((n, tensor));
                }
            }
            out.insert(name, weights);
        }
        Ok(out)
    }

    /// The dataset at absolute path `at` (weight names may hold slashes).
    fn tensor(&self, at: &str) -> Result<Tensor> {
        let ds = self.file.dataset(at).map_err(|e| self.fail(format!("{at}: weight listed but unreadable: {e}")))?;
        let shape: Vec<usize> = ds.shape().iter().map(|&d| d as usize).collect();
        let n: usize = shape.iter().product();
        let mut data = vec![0f32; n];
        if ds.read_into(&mut data).is_err() {
            let mut wide = vec![0f64; n];
            ds.read_into(&mut wide).map_err(|e| self.fail(format!("{at}: not a float array: {e}")))?;
            data = wide.into_iter().map(|v| v as f32).collect();
        }
        Ok(Tensor { shape, data })
    }
}
