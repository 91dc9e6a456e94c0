//! Multiplication by a constant as shifts and adds: the canonical signed digit
//! (CSD) form of an integer has digits in {-1, 0, 1} with no two adjacent
//! non-zero digits, the fewest non-zero digits of any signed-digit form.
//!
//! Input: raw weights of `FixedNetwork` layers. Output: (shift, negative)
//! terms that `adder_tree` sums.

/// One non-zero digit: `±2^shift`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Digit {
    pub shift: u32,
    pub negative: bool,
}

/// The CSD digits of `w` (empty for zero), least significant first.
pub fn csd_digits(w: i64) -> Vec<Digit> {
    let mut digits = Vec::new();
    let mut v = w as i128;
    let mut shift = 0;
    while v != 0 {
        if v & 1 != 0 {
            // v ≡ 1 (mod 4) → digit +1; v ≡ 3 (mod 4) → digit -1 (leaves a run of zeros).
            let d: i128 = if v.rem_euclid(4) == 1 { 1 } else { -1 };
            digits.push(Digit { shift, negative: d < 0 });
            v -= d;
        }
        v >>= 1;
        shift += 1;
    }
    digits
}

/// The value the digits stand for (for tests and checks).
pub fn digits_value(digits: &[Digit]) -> i128 {
    digits.iter().map(|d| if d.negative { -(1i128 << d.shift) } else { 1i128 << d.shift }).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_reproduce_every_small_integer_without_adjacent_digits() {
        for w in -4096i64..=4096 {
            let d = csd_digits(w);
            assert_eq!(digits_value(&d), w as i128, "{w}");
            for pair in d.windows(2) {
                assert!(pair[1].shift > pair[0].shift + 1, "adjacent digits for {w}");
            }
        }
        assert_eq!(csd_digits(7).len(), 2); // 8 - 1
        assert_eq!(csd_digits(0).len(), 0);
        assert_eq!(csd_digits(-32).len(), 1);
    }
}
