//! Image data for the CNN path: the UCI 8×8 handwritten digits as
//! scikit-learn ships them (`digits.csv.gz`: 1797 rows of 64 pixels 0..16 and
//! a label; fetched into `.deps/digits` by `scripts/setup-digits.sh`), and a
//! seeded synthetic image generator so tests need no download. Images are
//! channels last, `[height, width, channels]`, flattened row-major into a
//! [`Dataset`] (the order a Keras Flatten gives); pixel values are kept as the
//! file has them (0..16), scaling is the model's business.
use super::{split, Dataset, Splits};
use crate::error::{Error, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::Read;
use std::path::{Path, PathBuf};

pub const DIGITS_SHAPE: [usize; 3] = [8, 8, 1];
pub const DIGITS_ROWS: usize = 1797;
const DIGITS_FIX: &str = "run scripts/setup-digits.sh (or set QFORGE_DIGITS to the file)";

/// Labelled images: `set` holds them flattened, `shape` says how to read them.
#[derive(Clone, Debug, PartialEq)]
pub struct Images {
    pub shape: [usize; 3],
    pub set: Dataset,
}

impl Images {
    /// Image `i` as `[h][w][c]` row-major pixels.
    pub fn image(&self, i: usize) -> &[f32] {
        self.set.row(i)
    }
    /// The seeded train / validation / test split of `data::split` (same seed, same split).
    pub fn split(&self, seed: u64, test_fraction: f64, val_fraction: f64) -> Splits {
        split(&self.set, seed, test_fraction, val_fraction)
    }
}

fn pixel_names(shape: [usize; 3]) -> Vec<String> {
    let [h, w, c] = shape;
    (0..h).flat_map(|y| (0..w).flat_map(move |x| (0..c).map(move |k| format!("px_{y}_{x}_{k}")))).collect()
}

fn class_names(n: usize) -> Vec<String> {
    (0..n).map(|c| c.to_string()).collect()
}

/// Where the digits file is: `QFORGE_DIGITS`, else `.deps/digits/digits.csv.gz` in the checkout.
pub fn digits_path() -> PathBuf {
    match std::env::var_os("QFORGE_DIGITS") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join(".deps/digits/digits.csv.gz"),
    }
}

/// Load the digits from [`digits_path`]; a missing file says how to fetch it.
pub fn load_digits() -> Result<Images> {
    load_digits_at(&digits_path())
}

/// Load the digits from `path`; a missing file says how to fetch it.
pub fn load_digits_at(path: &Path) -> Result<Images> {
    if !path.is_file() {
        return Err(Error::input(path, format!("the UCI digits file is missing: {DIGITS_FIX}")));
    }
    load_digits_file(path)
}

/// Parse a gzip-compressed digits CSV: each line 64 pixels (0..16) then the label (0..9).
pub fn load_digits_file(path: &Path) -> Result<Images> {
    let bytes = crate::error::read_bytes(path)?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut text)
        .map_err(|e| Error::input(path, format!("not a gzip-compressed CSV text ({e})")))?;
    let n_px = DIGITS_SHAPE.iter().product::<usize>();
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let at = |m: String| Error::input_at(path, Some(i + 1), None, m);
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != n_px + 1 {
            return Err(at(format!("{} fields, expected {} (64 pixels and a label)", fields.len(), n_px + 1)));
        }
        for (j, f) in fields.iter().enumerate() {
            let v: f32 = f.parse().map_err(|_| at(format!("field {} `{f}` is not a number", j + 1)))?;
            let (hi, what) = if j < n_px { (16.0, "pixel") } else { (9.0, "label") };
            if !(0.0..=hi).contains(&v) || v.fract() != 0.0 {
                return Err(at(format!("{what} `{f}` (field {}) is not an integer in 0..={hi}", j + 1)));
            }
            if j < n_px {
                x.push(v);
            } else {
                y.push(v as u8);
            }
        }
    }
    if y.is_empty() {
        return Err(Error::input(path, "no rows"));
    }
    let set = Dataset { n_features: n_px, x, y, feature_names: pixel_names(DIGITS_SHAPE), class_names: class_names(10) };
    Ok(Images { shape: DIGITS_SHAPE, set })
}

/// `n` seeded synthetic images of `shape` in `classes` classes, pixels 0..16
/// like the digits: each class a fixed random stroke pattern (drawn from
/// `seed`), each image that pattern with about one pixel in twenty redrawn,
/// so a small CNN can learn it but not trivially.
pub fn synthetic_images(n: usize, shape: [usize; 3], classes: usize, seed: u64) -> Images {
    let [h, w, c] = shape;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let patterns: Vec<Vec<f32>> = (0..classes)
        .map(|_| (0..h * w * c).map(|_| if rng.gen_bool(0.35) { rng.gen_range(8..=16) as f32 } else { 0.0 }).collect())
        .collect();
    let (mut x, mut y) = (Vec::with_capacity(n * h * w * c), Vec::with_capacity(n));
    for i in 0..n {
        let class = i % classes;
        for &p in &patterns[class] {
            x.push(if rng.gen_bool(0.05) { rng.gen_range(0..=16) as f32 } else { p });
        }
        y.push(class as u8);
    }
    let set = Dataset { n_features: h * w * c, x, y, feature_names: pixel_names(shape), class_names: class_names(classes) };
    Images { shape, set }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(text.as_bytes()).unwrap();
        std::fs::write(&path, e.finish().unwrap()).unwrap();
        path
    }

    fn row(px: u32, label: u32) -> String {
        let mut v = vec![px.to_string(); 64];
        v.push(label.to_string());
        v.join(",") + "\n"
    }

    #[test]
    fn parses_rows_and_names_bad_ones() {
        let dir = tempfile::tempdir().unwrap();
        let ok = gz(dir.path(), "ok.csv.gz", &(row(3, 7) + &row(16, 0)));
        let d = load_digits_file(&ok).unwrap();
        assert_eq!((d.shape, d.set.len(), d.set.y.clone()), ([8, 8, 1], 2, vec![7, 0]));
        assert_eq!((d.image(0)[63], d.image(1)[0], d.set.feature_names[9].as_str()), (3.0, 16.0, "px_1_1_0"));
        let cases = [
            ("short.csv.gz", row(1, 1) + "1,2,3\n", ":2: 3 fields, expected 65"),
            ("pixel.csv.gz", row(17, 1), "pixel `17` (field 1)"),
            ("label.csv.gz", row(1, 10), "label `10` (field 65)"),
            ("text.csv.gz", row(1, 1).replace("1,", "x,"), "`x` is not a number"),
        ];
        for (name, text, want) in cases {
            let e = load_digits_file(&gz(dir.path(), name, &text)).unwrap_err().to_string();
            assert!(e.contains(name) && e.contains(want), "{e}");
        }
        let plain = dir.path().join("plain.csv.gz");
        std::fs::write(&plain, row(1, 1)).unwrap();
        let e = load_digits_file(&plain).unwrap_err().to_string();
        assert!(e.contains("plain.csv.gz") && e.contains("gzip"), "{e}");
    }

    #[test]
    fn synthetic_images_are_seeded_and_balanced() {
        let a = synthetic_images(50, [6, 5, 2], 5, 3);
        assert_eq!(a, synthetic_images(50, [6, 5, 2], 5, 3));
        assert_ne!(a.set.x, synthetic_images(50, [6, 5, 2], 5, 4).set.x);
        assert_eq!((a.set.n_features, a.set.len()), (60, 50));
        assert!((0..5u8).all(|c| a.set.y.iter().filter(|&&y| y == c).count() == 10));
        assert!(a.set.x.iter().all(|&v| (0.0..=16.0).contains(&v) && v.fract() == 0.0));
        // Two images of one class resemble each other more than images of two classes.
        let dist = |i: usize, j: usize| a.image(i).iter().zip(a.image(j)).map(|(p, q)| (p - q).abs()).sum::<f32>();
        let same: f32 = (0..5).map(|c| dist(c, c + 5)).sum();
        let other: f32 = (0..5).map(|c| dist(c, (c + 1) % 5)).sum();
        assert!(same < other, "{same} vs {other}");
    }
}
