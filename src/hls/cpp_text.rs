//! C++ text of the HLS project's constants: raw-bit integer types,
//! initializer lists and weight headers, and the check for a C identifier.
use crate::quant::FixedType;
use std::fmt::Write as _;

/// The C++ integer type holding a fixed-point type's raw bits.
pub fn raw_cpp(t: &FixedType) -> String {
    let base = match t.width {
        0..=8 => "char",
        9..=16 => "short",
        17..=32 => "int",
        _ => "long long",
    };
    format!("{} {base}", if t.signed { "signed" } else { "unsigned" })
}

/// A C++ initializer list of raw integers, 16 a line.
pub fn raw_list(values: &[i64]) -> String {
    let mut s = String::with_capacity(values.len() * 5);
    for (k, v) in values.iter().enumerate() {
        s.push_str(if k % 16 == 0 { "\n    " } else { " " });
        if i32::try_from(*v).is_ok() {
            let _ = write!(s, "{v},");
        } else {
            let _ = write!(s, "{v}LL,");
        }
    }
    s.push('\n');
    s
}

/// A header defining one constant array of raw bits.
pub fn array_header(guard: &str, comment: &str, raw_type: &str, name: &str, values: &[i64]) -> String {
    format!(
        "// {comment}\n// Written by qforge as raw bits: the value is raw * 2^-frac of the typed tensor.\n\
         #ifndef {guard}\n#define {guard}\n\nstatic const {raw_type} {name}[{}] = {{{}}};\n\n#endif\n",
        values.len(),
        raw_list(values)
    )
}

/// Whether `s` can name a C++ function.
pub fn is_c_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_') && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
