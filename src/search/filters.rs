//! AutoQKeras' `tune_filters`: the search also scales the filter count of
//! convolutions and the unit count of hidden dense layers. Owns the
//! `[search]` settings for it ([`TuneFilters`], the scale list and the
//! exceptions pattern), the pattern match AutoQKeras does with `re.search`
//! on the layer name, and the scaling rule `max(int(n · scale), 1)` of
//! `autoqkeras_internal.py`. The output layer is never scaled: its units
//! are the classes (AutoQKeras would scale it unless an exception names it).
use serde::{Deserialize, Serialize};

/// `tune_filters`: `none`, one scale per tuned layer (`layer`), or one scale
/// shared by every tuned layer (`block`), as AutoQKeras' option of that name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TuneFilters {
    #[default]
    None,
    Layer,
    Block,
}

/// AutoQKeras' `filter_range`.
pub fn default_filter_range() -> Vec<f64> {
    vec![0.5, 0.75, 1.0, 1.5, 2.0]
}

/// The scaled count, as AutoQKeras: `max(int(n * scale), 1)` (int truncates).
pub fn scaled(n: usize, scale: f64) -> usize {
    ((n as f64 * scale).trunc() as usize).max(1)
}

/// The scale list must hold positive finite numbers, at least one.
pub fn check_range(range: &[f64]) -> Result<(), String> {
    if range.is_empty() || range.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
        return Err(format!("filter_range {range:?}: give at least one positive scale, e.g. [0.5, 0.75, 1.0, 1.5, 2.0]"));
    }
    Ok(())
}

/// `tune_filters_exceptions` as AutoQKeras uses it (`re.search(pattern, name)`),
/// over the part of regular expressions its examples use: literals, `.`, `*`
/// after a character or `.`, and the anchors `^` and `$`. Anything else is
/// refused rather than matched differently from Python.
#[derive(Clone, Debug, PartialEq)]
pub struct Pattern {
    text: String,
}

impl Pattern {
    pub fn new(text: &str) -> Result<Pattern, String> {
        if let Some(c) = text.chars().find(|c| "[](){}|+?\\".contains(*c)) {
            return Err(format!(
                "tune_filters_exceptions `{text}`: `{c}` is not taken; use literals, `.`, `*`, `^` and `$` (as `^dense` or `conv.*_0$`)"
            ));
        }
        let chars: Vec<char> = text.chars().collect();
        for (i, &c) in chars.iter().enumerate() {
            let bad_star = c == '*' && (i == 0 || chars[i - 1] == '^' || chars[i - 1] == '*');
            let bad_anchor = (c == '^' && i != 0) || (c == '$' && i + 1 != chars.len());
            if bad_star || bad_anchor {
                return Err(format!("tune_filters_exceptions `{text}`: `{c}` at position {i} is not a pattern this takes"));
            }
        }
        Ok(Pattern { text: text.to_string() })
    }

    /// Whether the pattern occurs anywhere in `name` (Python's `re.search`).
    pub fn search(&self, name: &str) -> bool {
        let p: Vec<char> = self.text.chars().collect();
        let s: Vec<char> = name.chars().collect();
        if let Some(rest) = p.strip_prefix(&['^']) {
            return match_here(rest, &s);
        }
        (0..=s.len()).any(|i| match_here(&p, &s[i..]))
    }
}

// Pike's backtracking matcher: `p` matched at the start of `s`.
fn match_here(p: &[char], s: &[char]) -> bool {
    match p {
        [] => true,
        ['$'] => s.is_empty(),
        [c, '*', rest @ ..] => {
            let mut i = 0;
            loop {
                if match_here(rest, &s[i..]) {
                    return true;
                }
                if i < s.len() && (*c == '.' || s[i] == *c) {
                    i += 1;
                } else {
                    return false;
                }
            }
        }
        [c, rest @ ..] => !s.is_empty() && (*c == '.' || s[0] == *c) && match_here(rest, &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_as_python_re_search() {
        let m = |p: &str, s: &str| Pattern::new(p).unwrap().search(s);
        assert!(m("^dense", "dense_1") && !m("^dense", "my_dense"));
        assert!(m("dense", "my_dense") && m("^dense$", "dense") && !m("^dense$", "dense_1"));
        assert!(m("c.*_0$", "conv2d_0") && !m("c.*_0$", "conv2d_01") && m("output*", "outpu"));
        assert!(m("", "anything") && !m("^x", ""));
        for bad in ["[a]", "a|b", "a+", "*a", "a^", "$a", "a**"] {
            assert!(Pattern::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scaling_truncates_and_keeps_one() {
        assert_eq!([scaled(8, 0.5), scaled(8, 0.75), scaled(8, 1.5), scaled(3, 0.75), scaled(1, 0.5)], [4, 6, 12, 2, 1]);
        assert!(check_range(&[]).is_err() && check_range(&[0.0]).is_err() && check_range(&[1.0, 2.0]).is_ok());
    }
}
