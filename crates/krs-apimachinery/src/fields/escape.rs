//! Escaping of field selector values: `\`, `,` and `=` are prefixed with a backslash so a
//! value can hold the selector's own delimiters.

use super::FieldSelectorError;

/// Escapes a literal value for use in a field selector (`fields.EscapeValue`).
///
/// ```
/// use krs_apimachinery::fields::escape_value;
/// assert_eq!(escape_value(r"a=b,c\d"), r"a\=b\,c\\d");
/// ```
pub fn escape_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Recovers the literal value from an escaped one (`fields.UnescapeValue`); unescaped `,` or
/// `=`, an unknown escape or a trailing backslash are errors.
pub fn unescape_value(s: &str) -> Result<String, FieldSelectorError> {
    if !s.contains(['\\', ',', '=']) {
        return Ok(s.to_owned());
    }
    let mut out = String::with_capacity(s.len());
    let mut in_slash = false;
    for c in s.chars() {
        if in_slash {
            if !matches!(c, '\\' | ',' | '=') {
                return Err(FieldSelectorError::InvalidEscapeSequence(format!("\\{c}")));
            }
            out.push(c);
            in_slash = false;
            continue;
        }
        match c {
            '\\' => in_slash = true,
            ',' | '=' => return Err(FieldSelectorError::UnescapedRune(c)),
            c => out.push(c),
        }
    }
    if in_slash {
        return Err(FieldSelectorError::InvalidEscapeSequence("\\".into()));
    }
    Ok(out)
}
