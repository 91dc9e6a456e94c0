//! The real UCI 8×8 digits that `scripts/setup-digits.sh` fetches: this test
//! needs the file and fails, saying how to fetch it, when setup did not.
use qforge::data::images::{digits_path, load_digits, DIGITS_ROWS, DIGITS_SHAPE};

#[test]
fn the_fetched_digits_load_as_8x8x1_images_in_ten_classes() {
    let d = load_digits().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((d.shape, d.set.len(), d.set.n_features), (DIGITS_SHAPE, DIGITS_ROWS, 64), "{}", digits_path().display());
    let mut counts = [0usize; 10];
    d.set.y.iter().for_each(|&y| counts[y as usize] += 1);
    // scikit-learn's documented class sizes for load_digits.
    assert_eq!(counts, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
    // The first image is a 0: its top row is 0,0,5,13,9,1,0,0 in the file.
    assert_eq!((d.set.y[0], &d.image(0)[..8]), (0, &[0.0, 0.0, 5.0, 13.0, 9.0, 1.0, 0.0, 0.0][..]));
    let a = d.split(7, 0.2, 0.25);
    let b = d.split(7, 0.2, 0.25);
    assert_eq!((a.train.len(), a.val.len(), a.test.len()), (1078, 360, 359));
    assert_eq!(a.test, b.test);
}
