//! Loaders for the jet data as users have it: OpenML's `hls4ml_lhc_jets_hlf`
//! export as CSV or ARFF (16 named features and a `class` column g/q/t/w/z),
//! and NumPy `.npy` feature/label arrays as the hls4ml tutorial saves them
//! (labels one-hot or integer); a table's feature columns may be picked by
//! name and its label column named. [`DataSource::load_for`] also checks the
//! file against the model it is for (feature count, one-hot width, label
//! range). Every fault names the file and the line or row.
use super::{Dataset, JET_CLASSES};
use crate::error::{Error, Result};
use ndarray::{Array1, Array2};
use ndarray_npy::ReadNpyExt;
use std::path::Path;

/// Where samples come from.
#[derive(Clone, Debug)]
pub enum DataSource {
    /// The embedded synthetic generator: `samples` jets from `seed`.
    Synthetic { samples: usize, seed: u64 },
    /// A CSV or ARFF file (OpenML export); `columns` picks the feature
    /// columns by name, in order (default: every column but the label's),
    /// `label_column` names the label column (default `class`).
    Table { path: std::path::PathBuf, columns: Option<Vec<String>>, label_column: Option<String> },
    /// NumPy arrays: features and labels.
    Npy { features: std::path::PathBuf, labels: std::path::PathBuf },
    /// The UCI 8×8 handwritten digits fetched at setup (`--data digits`).
    Digits { path: std::path::PathBuf },
    /// Seeded synthetic images (`images::synthetic_images`): what an image
    /// model trains on when no data is named.
    SyntheticImages { samples: usize, seed: u64, shape: [usize; 3], classes: usize },
}

impl DataSource {
    /// Pick the loader from the file's extension; `labels` is needed for `.npy`.
    pub fn from_paths(data: Option<&Path>, labels: Option<&Path>, samples: usize, seed: u64) -> Result<DataSource> {
        match data {
            None => Ok(DataSource::Synthetic { samples, seed }),
            // The bare word is always the dataset: a folder or file named `digits` beside the
            // user would otherwise turn it into "unknown data format" depending on where they stand.
            Some(p) if p == Path::new("digits") => Ok(DataSource::Digits { path: super::images::digits_path() }),
            Some(p) => match p.extension().and_then(|e| e.to_str()) {
                Some("npy") => {
                    let labels = labels
                        .ok_or_else(|| Error::Config(format!("{}: NumPy features need their labels: pass --labels y.npy", p.display())))?;
                    Ok(DataSource::Npy { features: p.to_path_buf(), labels: labels.to_path_buf() })
                }
                Some("csv") | Some("arff") => Ok(DataSource::Table { path: p.to_path_buf(), columns: None, label_column: None }),
                _ => Err(Error::input(
                    p,
                    "unknown data format: use .csv or .arff (OpenML export), .npy (with --labels), or `digits` (the UCI digits)",
                )),
            },
        }
    }

    /// The source for a model with input shape `input_shape` and `classes`
    /// outputs: an image model's default data are synthetic images of its shape.
    pub fn for_model(self, input_shape: &[usize], classes: usize) -> DataSource {
        let shape = match *input_shape {
            [h, w, c] => [h, w, c],
            [w, c] => [1, w, c],
            _ => return self,
        };
        match self {
            DataSource::Synthetic { samples, seed } => DataSource::SyntheticImages { samples, seed, shape, classes },
            other => other,
        }
    }

    pub fn load(&self) -> Result<Dataset> {
        match self {
            DataSource::Digits { path } => Ok(super::images::load_digits_at(path)?.set),
            DataSource::SyntheticImages { samples, seed, shape, classes } => {
                Ok(super::images::synthetic_images(*samples, *shape, *classes, *seed).set)
            }
            DataSource::Synthetic { samples, seed } => Ok(super::synthetic::generate(*samples, *seed)),
            DataSource::Table { path, columns, label_column } => load_table_columns(path, columns.as_deref(), label_column.as_deref()),
            DataSource::Npy { features, labels } => load_npy(features, labels),
        }
    }

    /// Load for a model with `inputs` features and `outputs` classes: a file
    /// that does not fit it is an error naming the file and what does not fit.
    pub fn load_for(&self, inputs: usize, outputs: usize) -> Result<Dataset> {
        let (data, one_hot) = match self {
            DataSource::Npy { features, labels } => load_npy_parts(features, labels)?,
            other => (other.load()?, None),
        };
        let (features_file, labels_file) = match self {
            DataSource::Synthetic { .. } | DataSource::SyntheticImages { .. } => (None, None),
            DataSource::Digits { path } => (Some(path.as_path()), Some(path.as_path())),
            DataSource::Table { path, .. } => (Some(path.as_path()), Some(path.as_path())),
            DataSource::Npy { features, labels } => (Some(features.as_path()), Some(labels.as_path())),
        };
        let fault = |file: Option<&Path>, msg: String| match file {
            Some(f) => Error::input(f, msg),
            None => Error::Config(format!("{}: {msg}", self.describe())),
        };
        if data.n_features != inputs {
            let hint = match self {
                DataSource::Table { .. } if data.n_features > inputs => {
                    ": drop the extra columns, or pick the model's inputs by name with `[data] columns` (qforge run)"
                }
                _ => "",
            };
            return Err(fault(features_file, format!("{} features per row but the model has {inputs} inputs{hint}", data.n_features)));
        }
        if let Some(width) = one_hot.filter(|&w| w != outputs) {
            return Err(fault(labels_file, format!("one-hot labels with {width} classes but the model has {outputs} outputs")));
        }
        if let Some((row, &bad)) = data.y.iter().enumerate().find(|(_, &y)| y as usize >= outputs) {
            return Err(fault(
                labels_file,
                format!("label {bad} (data row {row}) is outside the model's {outputs} classes 0..{}", outputs - 1),
            ));
        }
        Ok(data)
    }

    /// The data files this source reads (none for the synthetic generator).
    pub fn files(&self) -> Vec<&Path> {
        match self {
            DataSource::Synthetic { .. } | DataSource::SyntheticImages { .. } => Vec::new(),
            DataSource::Digits { path } => vec![path.as_path()],
            DataSource::Table { path, .. } => vec![path.as_path()],
            DataSource::Npy { features, labels } => vec![features.as_path(), labels.as_path()],
        }
    }

    pub fn describe(&self) -> String {
        match self {
            DataSource::Synthetic { samples, seed } => format!("synthetic jet-like data ({samples} samples, seed {seed})"),
            DataSource::SyntheticImages { samples, seed, shape, classes } => {
                format!("synthetic {shape:?} images ({samples} samples, {classes} classes, seed {seed})")
            }
            DataSource::Digits { path } => format!("UCI digits ({})", path.display()),
            DataSource::Table { path, .. } => path.display().to_string(),
            DataSource::Npy { features, labels } => format!("{} + {}", features.display(), labels.display()),
        }
    }
}

/// Load an OpenML CSV (header row) or ARFF (`@attribute` lines, then `@data`).
pub fn load_table(path: &Path) -> Result<Dataset> {
    load_table_columns(path, None, None)
}

/// [`load_table`] with the feature columns picked by name (in that order) and
/// the label column named (default `class`). Labels are class names (the
/// ARFF's nominal list, else the jet classes g/q/t/w/z) or class indices.
pub fn load_table_columns(path: &Path, pick: Option<&[String]>, label_column: Option<&str>) -> Result<Dataset> {
    let bytes = crate::error::read_bytes(path)?;
    let text = String::from_utf8(bytes).map_err(|e| Error::input(path, format!("not UTF-8 text: {e}")))?;
    let is_arff = path.extension().and_then(|e| e.to_str()) == Some("arff")
        || text.trim_start().starts_with('@')
        || text.trim_start().starts_with('%');
    let mut columns: Vec<String> = Vec::new();
    let mut class_names: Vec<String> = JET_CLASSES.iter().map(|s| s.to_string()).collect();
    let mut lines = text.lines().enumerate().peekable();
    if is_arff {
        let mut in_data = false;
        for (_, line) in lines.by_ref() {
            let l = line.trim();
            if l.is_empty() || l.starts_with('%') {
                continue;
            }
            let lower = l.to_ascii_lowercase();
            if lower.starts_with("@attribute") {
                let rest = l["@attribute".len()..].trim();
                let (name, kind) = split_attribute(rest);
                if kind.starts_with('{') {
                    class_names = kind.trim_matches(|c| c == '{' || c == '}').split(',').map(|s| unquote(s.trim()).to_string()).collect();
                }
                columns.push(name);
            } else if lower.starts_with("@data") {
                in_data = true;
                break;
            }
        }
        if !in_data {
            return Err(Error::input(path, "ARFF file has no @data section"));
        }
    } else {
        let (_, header) = lines.next().ok_or_else(|| Error::input(path, "empty file"))?;
        columns = header.split(',').map(|s| unquote(s.trim()).to_string()).collect();
    }
    let label_name = label_column.unwrap_or("class");
    let class_col = columns.iter().position(|c| c == label_name).ok_or_else(|| {
        let why = match label_column {
            Some(_) => format!("no label column `{label_name}`: the columns are {columns:?}"),
            None => "no `class` column: the OpenML export names the label column `class` (else name it with `label_column`)".into(),
        };
        Error::input_at(path, Some(1), Some(label_name), why)
    })?;
    let feature_cols: Vec<usize> =
        match pick {
            None => (0..columns.len()).filter(|&i| i != class_col).collect(),
            Some(names) => names
                .iter()
                .map(|n| {
                    columns.iter().position(|c| c == n).filter(|&i| i != class_col).ok_or_else(|| {
                        Error::input_at(path, Some(1), Some(n), format!("no feature column `{n}`: the columns are {columns:?}"))
                    })
                })
                .collect::<Result<_>>()?,
        };
    let n_features = feature_cols.len();
    let feature_names: Vec<String> = feature_cols.iter().map(|&i| columns[i].clone()).collect();
    let mut row_values = vec![0f32; columns.len()];
    let mut x = Vec::new();
    let mut y = Vec::new();
    for (idx, line) in lines {
        let l = line.trim();
        if l.is_empty() || l.starts_with('%') {
            continue;
        }
        let line_no = idx + 1;
        let cells: Vec<&str> = l.split(',').collect();
        if cells.len() != columns.len() {
            return Err(Error::input_at(
                path,
                Some(line_no),
                None,
                format!("{} columns, expected {} (the header's): check the delimiter and the header", cells.len(), columns.len()),
            ));
        }
        for (j, cell) in cells.iter().enumerate() {
            let cell = unquote(cell.trim());
            if j == class_col {
                let c =
                    class_names.iter().position(|n| n == cell).or_else(|| cell.parse::<u8>().ok().map(usize::from)).ok_or_else(|| {
                        Error::input_at(
                            path,
                            Some(line_no),
                            Some(label_name),
                            format!("label `{cell}` is not one of the classes {class_names:?} nor a class index"),
                        )
                    })?;
                y.push(c as u8);
            } else if pick.is_none() || feature_cols.contains(&j) {
                let v: f32 = cell
                    .parse()
                    .map_err(|_| Error::input_at(path, Some(line_no), Some(&columns[j]), format!("`{cell}` is not a number")))?;
                if !v.is_finite() {
                    return Err(Error::input_at(path, Some(line_no), Some(&columns[j]), "NaN or infinite value: drop or impute this row"));
                }
                row_values[j] = v;
            }
        }
        x.extend(feature_cols.iter().map(|&j| row_values[j]));
    }
    if y.is_empty() {
        return Err(Error::input(path, "no data rows"));
    }
    Ok(Dataset { n_features, x, y, feature_names, class_names })
}

fn split_attribute(rest: &str) -> (String, String) {
    let rest = rest.trim();
    if let Some(stripped) = rest.strip_prefix('\'') {
        if let Some(end) = stripped.find('\'') {
            return (stripped[..end].to_string(), stripped[end + 1..].trim().to_string());
        }
    }
    match rest.split_once(char::is_whitespace) {
        Some((n, k)) => (n.to_string(), k.trim().to_string()),
        None => (rest.to_string(), String::new()),
    }
}

fn unquote(s: &str) -> &str {
    s.trim_matches(|c| c == '"' || c == '\'')
}

fn read_npy_matrix(path: &Path) -> Result<Array2<f32>> {
    let open = || std::fs::File::open(path).map_err(|e| Error::io(path, e));
    if let Ok(a) = Array2::<f32>::read_npy(open()?) {
        return Ok(a);
    }
    if let Ok(a) = Array2::<f64>::read_npy(open()?) {
        return Ok(a.mapv(|v| v as f32));
    }
    if let Ok(a) = Array2::<i64>::read_npy(open()?) {
        return Ok(a.mapv(|v| v as f32));
    }
    match Array2::<i32>::read_npy(open()?) {
        Ok(a) => Ok(a.mapv(|v| v as f32)),
        Err(e) => Err(Error::input(path, format!("not a 2-D float or integer .npy array: {e}"))),
    }
}

/// Labels, the number of classes, and the one-hot width when they are one-hot.
fn read_npy_labels(path: &Path, n_classes_hint: usize) -> Result<(Vec<u8>, usize, Option<usize>)> {
    let open = || std::fs::File::open(path).map_err(|e| Error::io(path, e));
    // One-hot (n, classes), as the hls4ml tutorial saves y.
    if let Ok(m) = read_npy_matrix(path) {
        let classes = m.ncols();
        let mut y = Vec::with_capacity(m.nrows());
        for (i, row) in m.rows().into_iter().enumerate() {
            let hot: Vec<usize> = row.iter().enumerate().filter(|(_, &v)| v == 1.0).map(|(c, _)| c).collect();
            if hot.len() != 1 || row.iter().any(|&v| v != 0.0 && v != 1.0) {
                return Err(Error::input_at(path, None, Some(&format!("row {i}")), "labels must be one-hot rows or integer class indices"));
            }
            y.push(hot[0] as u8);
        }
        return Ok((y, classes, Some(classes)));
    }
    let ints: Array1<i64> = match Array1::<i64>::read_npy(open()?) {
        Ok(a) => a,
        Err(_) => match Array1::<i32>::read_npy(open()?) {
            Ok(a) => a.mapv(i64::from),
            Err(_) => match Array1::<u8>::read_npy(open()?) {
                Ok(a) => a.mapv(i64::from),
                Err(e) => return Err(Error::input(path, format!("labels must be a 1-D integer or 2-D one-hot .npy array: {e}"))),
            },
        },
    };
    let classes = n_classes_hint.max(ints.iter().copied().max().unwrap_or(0) as usize + 1);
    let mut y = Vec::with_capacity(ints.len());
    for (i, &c) in ints.iter().enumerate() {
        if c < 0 || c as usize >= classes || c > 255 {
            return Err(Error::input_at(path, None, Some(&format!("row {i}")), format!("label {c} is outside the classes 0..{classes}")));
        }
        y.push(c as u8);
    }
    Ok((y, classes, None))
}

/// Load NumPy features (n × f) without labels (every label 0, for prediction only).
pub fn load_npy_unlabelled(features: &Path) -> Result<Dataset> {
    let x = read_npy_matrix(features)?;
    if let Some((i, _)) = x.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(Error::input_at(features, None, Some(&format!("row {}", i / x.ncols().max(1))), "NaN or infinite value"));
    }
    let n_features = x.ncols();
    Ok(Dataset {
        n_features,
        x: x.iter().copied().collect(),
        y: vec![0; x.nrows()],
        feature_names: (0..n_features).map(|i| format!("x{i}")).collect(),
        class_names: Vec::new(),
    })
}

/// Load NumPy features (n × f) and labels (one-hot n × c, or n integers).
pub fn load_npy(features: &Path, labels: &Path) -> Result<Dataset> {
    Ok(load_npy_parts(features, labels)?.0)
}

/// [`load_npy`] and the width of one-hot labels (`None` for integer labels).
fn load_npy_parts(features: &Path, labels: &Path) -> Result<(Dataset, Option<usize>)> {
    let x = read_npy_matrix(features)?;
    let (y, n_classes, one_hot) = read_npy_labels(labels, JET_CLASSES.len())?;
    if x.nrows() != y.len() {
        return Err(Error::input(labels, format!("{} labels for {} feature rows in {}", y.len(), x.nrows(), features.display())));
    }
    if let Some((i, _)) = x.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(Error::input_at(features, None, Some(&format!("row {}", i / x.ncols().max(1))), "NaN or infinite value"));
    }
    let n_features = x.ncols();
    let feature_names = if n_features == 16 {
        super::JET_FEATURES.iter().map(|s| s.to_string()).collect()
    } else {
        (0..n_features).map(|i| format!("x{i}")).collect()
    };
    let class_names =
        if n_classes == 5 { JET_CLASSES.iter().map(|s| s.to_string()).collect() } else { (0..n_classes).map(|c| c.to_string()).collect() };
    Ok((Dataset { n_features, x: x.iter().copied().collect(), y, feature_names, class_names }, one_hot))
}
