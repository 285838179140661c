//! Parsing quantity strings, with upstream's quirks: a fast path whose canonical-looking inputs
//! are remembered verbatim, rounding up to nano units, capping binary quantities at 2^63-1.

use super::bigint::BigUint;
use super::decimal::Decimal;
use super::{Format, Quantity};

/// The expression upstream's error message shows; it is looser than what parses.
const SPLIT_RE: &str = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$";

/// Why a string is not a quantity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// The string does not have the shape number-then-suffix (`ErrFormatWrong`).
    #[error("quantities must match the regular expression '{SPLIT_RE}'")]
    FormatWrong,
    /// The number has no digit where one is needed (`ErrNumeric`).
    #[error("unable to parse numeric part of quantity")]
    Numeric,
    /// The suffix is not one of the known ones (`ErrSuffix`).
    #[error("unable to parse quantity's suffix")]
    Suffix,
}

/// The pieces of a quantity string (`parseQuantityString`).
#[derive(Debug, PartialEq, Eq)]
struct Scanned<'a> {
    positive: bool,
    /// The number as written, sign included (empty or `.` when it has no digit).
    value: &'a str,
    /// Integer digits without leading zeros (`0` when none are left).
    num: &'a str,
    /// Fraction digits.
    denom: &'a str,
    suffix: &'a str,
}

fn is_suffix_char(b: u8) -> bool {
    b"eEinumkKMGTP".contains(&b)
}

fn scan(s: &str) -> Result<Scanned<'_>, QuantityError> {
    let b = s.as_bytes();
    let end = b.len();
    let mut out = Scanned { positive: true, value: "", num: "", denom: "", suffix: "" };
    let mut pos = 0;
    match b.first() {
        Some(b'-') => {
            out.positive = false;
            pos += 1;
        }
        Some(b'+') => pos += 1,
        _ => {}
    }
    while pos < end && b[pos] == b'0' {
        pos += 1;
    }
    if pos >= end {
        out.num = "0";
        out.value = "0";
        return Ok(out);
    }
    let start = pos;
    while pos < end && b[pos].is_ascii_digit() {
        pos += 1;
    }
    out.num = if pos == start { "0" } else { &s[start..pos] };
    if pos >= end {
        out.value = s;
        return Ok(out);
    }
    if b[pos] == b'.' {
        pos += 1;
        let start = pos;
        while pos < end && b[pos].is_ascii_digit() {
            pos += 1;
        }
        out.denom = &s[start..pos];
        if pos >= end {
            out.value = s;
            return Ok(out);
        }
    }
    out.value = &s[..pos];
    let suffix_start = pos;
    while pos < end && is_suffix_char(b[pos]) {
        pos += 1;
    }
    if pos < end && (b[pos] == b'-' || b[pos] == b'+') {
        pos += 1;
    }
    while pos < end && b[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos < end {
        return Err(QuantityError::FormatWrong);
    }
    out.suffix = &s[suffix_start..];
    Ok(out)
}

/// (base, exponent, format) of a suffix (`suffixer.interpret`).
fn interpret(suffix: &str) -> Option<(u32, i32, Format)> {
    let decimal = |exp| Some((10, exp, Format::DecimalSI));
    let binary = |exp| Some((2, exp, Format::BinarySI));
    match suffix {
        "" => decimal(0),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(10),
        "Mi" => binary(20),
        "Gi" => binary(30),
        "Ti" => binary(40),
        "Pi" => binary(50),
        "Ei" => binary(60),
        s if s.len() > 1 && (s.starts_with('e') || s.starts_with('E')) => {
            // Upstream parses 64 bits and then truncates to 32.
            let parsed: i64 = s[1..].parse().ok()?;
            Some((10, parsed as i32, Format::DecimalExponent))
        }
        _ => None,
    }
}

/// Parses a quantity (`resource.ParseQuantity`); see [`Quantity::parse`].
pub(crate) fn parse_quantity(s: &str) -> Result<Quantity, QuantityError> {
    if s.is_empty() {
        return Err(QuantityError::FormatWrong);
    }
    if s == "0" {
        return Ok(Quantity { value: Decimal::default(), format: Format::DecimalSI, cached: Some(s.to_owned()) });
    }
    let sc = scan(s)?;
    let (base, exponent, mut format) = interpret(sc.suffix).ok_or(QuantityError::Suffix)?;
    let digits = sc.num.len() + sc.denom.len();

    // Upstream's int64 fast path, taken when the digits surely fit. Besides speed it matters
    // for two observable behaviours: it accepts a number without digits (`.`, `+`), and it
    // remembers the input verbatim when it looks canonical.
    let (scale, precision) = match format {
        Format::BinarySI if sc.denom.is_empty() => (0i64, 15 - sc.num.len() as i64 - i64::from(exponent) * 3 / 10 - 1),
        Format::BinarySI => (0, -1),
        _ => (i64::from(exponent), 18 - digits as i64),
    };
    let scale = scale - sc.denom.len() as i64;
    if precision >= 0 && scale >= -9 {
        let shifted = format!("{}{}", sc.num, sc.denom);
        let value: i64 = shifted.parse().map_err(|_| QuantityError::Numeric)?;
        let mantissa: i64 = if format == Format::BinarySI { 1 << exponent } else { 1 };
        if let Some(result) = value.checked_mul(mantissa) {
            let result = if sc.positive { result } else { -result };
            let canonical_looking = match format {
                Format::BinarySI => exponent % 10 == 0 && value & 0x07 != 0,
                _ => scale % 3 == 0 && !shifted.ends_with("000") && !shifted.starts_with('0'),
            };
            return Ok(Quantity {
                value: Decimal::from_i64(result, scale),
                format,
                cached: canonical_looking.then(|| s.to_owned()),
            });
        }
    }

    if !sc.value.bytes().any(|b| b.is_ascii_digit()) {
        return Err(QuantityError::Numeric);
    }
    let mut mag = BigUint::from_decimal(&format!("{}{}", sc.num, sc.denom));
    let mut exp = -(sc.denom.len() as i64);
    if base == 10 {
        exp += i64::from(exponent);
    } else {
        mag.mul_pow2(u64::from(exponent.unsigned_abs()));
    }
    let mut value = Decimal::new(!sc.positive, mag, exp);
    // Any non-zero amount is rounded up to at least one nano unit: asking for a tiny amount
    // of a resource should get some.
    if !value.is_zero() {
        value = value.round_up(-9).0;
    }
    if format == Format::BinarySI {
        let max = Decimal::from_i64(i64::MAX, 0);
        if value.abs().cmp(&max).is_gt() {
            value = if value.is_negative() { max.negated() } else { max };
        }
        if !value.is_zero() && value.abs().cmp(&Decimal::from_i64(1, 0)).is_lt() {
            // A fraction of one cannot be written with a binary suffix.
            format = Format::DecimalSI;
        }
    }
    Ok(Quantity { value, format, cached: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Upstream's TestParseQuantityString.
    #[test]
    fn scanner() {
        let cases = [
            ("0.025Ti", true, "0.025", "0", "025", "Ti"),
            ("1.025Ti", true, "1.025", "1", "025", "Ti"),
            ("-1.025Ti", false, "-1.025", "1", "025", "Ti"),
            (".", true, ".", "0", "", ""),
            ("-.", false, "-.", "0", "", ""),
            ("1E-3", true, "1", "1", "", "E-3"),
        ];
        for (input, positive, value, num, denom, suffix) in cases {
            assert_eq!(scan(input), Ok(Scanned { positive, value, num, denom, suffix }), "{input}");
        }
        assert_eq!(scan("1.1.M"), Err(QuantityError::FormatWrong));
        assert_eq!(scan("-3.01e-x"), Err(QuantityError::FormatWrong));
    }

    #[test]
    fn suffixes() {
        assert_eq!(interpret("Ki"), Some((2, 10, Format::BinarySI)));
        assert_eq!(interpret("E"), Some((10, 18, Format::DecimalSI)));
        assert_eq!(interpret("e+3"), Some((10, 3, Format::DecimalExponent)));
        assert_eq!(interpret("E-3"), Some((10, -3, Format::DecimalExponent)));
        assert_eq!(interpret("e"), None);
        assert_eq!(interpret("mi"), None);
        assert_eq!(interpret("e4294967297"), Some((10, 1, Format::DecimalExponent)));
    }
}
