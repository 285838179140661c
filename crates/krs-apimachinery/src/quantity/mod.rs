//! Resource quantities (`k8s.io/apimachinery/pkg/api/resource.Quantity`).
//!
//! A quantity is an exact decimal with a remembered notation ([`Format`]): `100m` CPU,
//! `1.5Gi` memory, `1e3` anything. Parsing accepts every form upstream accepts, arithmetic is
//! exact, and the string form is upstream's canonical one: the input's notation, the largest
//! suffix that loses no precision, no fraction (`1.5Gi` → `1536Mi`, `0.1` → `100m`,
//! `1000` → `1k`). Serde reads and writes that string, so a Quantity round-trips through JSON
//! exactly as it does through the Go API server.

mod bigint;
mod decimal;
mod parse;

use std::cmp::Ordering;
use std::fmt;

use decimal::Decimal;
pub use parse::QuantityError;

/// The notation a quantity keeps (`resource.Format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// `12e6`: a power-of-ten exponent.
    DecimalExponent,
    /// `12Mi`: powers of 1024 (`Ki`, `Mi`, `Gi`, `Ti`, `Pi`, `Ei`).
    BinarySI,
    /// `12M`: SI prefixes (`n`, `u`, `m`, `k`, `M`, `G`, `T`, `P`, `E`).
    DecimalSI,
}

impl Format {
    /// Upstream's name: `DecimalExponent`, `BinarySI` or `DecimalSI`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::DecimalExponent => "DecimalExponent",
            Format::BinarySI => "BinarySI",
            Format::DecimalSI => "DecimalSI",
        }
    }
}

/// A power of ten that scaled values are expressed in (`resource.Scale`): a value at scale
/// [`Scale::MILLI`] counts thousandths.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scale(pub i32);

impl Scale {
    /// 10^-9.
    pub const NANO: Scale = Scale(-9);
    /// 10^-6.
    pub const MICRO: Scale = Scale(-6);
    /// 10^-3.
    pub const MILLI: Scale = Scale(-3);
    /// 10^0.
    pub const UNIT: Scale = Scale(0);
    /// 10^3.
    pub const KILO: Scale = Scale(3);
    /// 10^6.
    pub const MEGA: Scale = Scale(6);
    /// 10^9.
    pub const GIGA: Scale = Scale(9);
    /// 10^12.
    pub const TERA: Scale = Scale(12);
    /// 10^15.
    pub const PETA: Scale = Scale(15);
    /// 10^18.
    pub const EXA: Scale = Scale(18);
}

/// The largest value whose milli-value fits an i64 (`resource.MaxMilliValue`); compare
/// [`Quantity::value`] with it before trusting [`Quantity::milli_value`].
pub const MAX_MILLI_VALUE: i64 = i64::MAX / 1000;

/// A fixed-point quantity (`resource.Quantity`).
///
/// Equality and ordering compare values, whatever the notation (`1Ki == 1024`).
///
/// ```
/// use krs_apimachinery::quantity::Quantity;
/// let mut q: Quantity = "1Gi".parse().unwrap();
/// q += &"512Mi".parse().unwrap();
/// assert_eq!(q.to_string(), "1536Mi");
/// assert_eq!("0.1".parse::<Quantity>().unwrap().to_string(), "100m");
/// assert_eq!("100m".parse::<Quantity>().unwrap().milli_value(), 100);
/// assert_eq!("1.5".parse::<Quantity>().unwrap().value(), 2);
/// ```
#[derive(Clone, Debug)]
pub struct Quantity {
    value: Decimal,
    format: Format,
    /// The text this quantity was parsed from, when upstream keeps it as the string form (see
    /// [`Quantity::parse`]); cleared by any change.
    cached: Option<String>,
}

impl Default for Quantity {
    /// Zero, in [`Format::DecimalSI`].
    fn default() -> Self {
        Quantity { value: Decimal::default(), format: Format::DecimalSI, cached: None }
    }
}

fn decimal_suffix(exp: i64) -> Option<&'static str> {
    Some(match exp {
        -9 => "n",
        -6 => "u",
        -3 => "m",
        0 => "",
        3 => "k",
        6 => "M",
        9 => "G",
        12 => "T",
        15 => "P",
        18 => "E",
        _ => return None,
    })
}

fn binary_suffix(power_of_1024: u64) -> Option<&'static str> {
    Some(match power_of_1024 {
        0 => "",
        1 => "Ki",
        2 => "Mi",
        3 => "Gi",
        4 => "Ti",
        5 => "Pi",
        6 => "Ei",
        _ => return None,
    })
}

impl Quantity {
    /// Parses every form upstream accepts (`resource.ParseQuantity`):
    ///
    /// ```text
    /// <quantity>        ::= <signedNumber><suffix>
    /// <signedNumber>    ::= <number> | "+" <number> | "-" <number>
    /// <number>          ::= <digits> | <digits> "." <digits> | <digits> "." | "." <digits>
    /// <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
    /// <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
    /// <decimalSI>       ::= n | u | m | "" | k | M | G | T | P | E
    /// <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>
    /// ```
    ///
    /// Non-zero values finer than a nano unit round up to one (`0.1n` is `1n`); binary
    /// quantities are capped at 2^63-1; a fraction below one in binary notation switches to
    /// decimal (`0.5Ki` is `512`, `.001Ki` is `1024m`). Surrounding whitespace is an error.
    ///
    /// Like upstream, a string that already looks canonical is kept verbatim as the string
    /// form: `+1Ki` prints as `+1Ki`, `1E3` as `1E3`, `1.500k` as `1.500k`.
    pub fn parse(s: &str) -> Result<Quantity, QuantityError> {
        parse::parse_quantity(s)
    }

    /// `value` units in the given notation (`resource.NewQuantity`).
    pub fn new(value: i64, format: Format) -> Quantity {
        Quantity { value: Decimal::from_i64(value, 0), format, cached: None }
    }

    /// `value` thousandths in the given notation (`resource.NewMilliQuantity`).
    pub fn new_milli(value: i64, format: Format) -> Quantity {
        Quantity { value: Decimal::from_i64(value, -3), format, cached: None }
    }

    /// `value × 10^scale`, in [`Format::DecimalSI`] (`resource.NewScaledQuantity`).
    pub fn new_scaled(value: i64, scale: Scale) -> Quantity {
        Quantity { value: Decimal::from_i64(value, i64::from(scale.0)), format: Format::DecimalSI, cached: None }
    }

    /// The notation.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Changes the notation used for the string form.
    pub fn set_format(&mut self, format: Format) {
        self.format = format;
        self.cached = None;
    }

    /// True if the value is zero.
    pub fn is_zero(&self) -> bool {
        self.value.is_zero()
    }

    /// -1, 0 or 1 as the value is negative, zero or positive.
    pub fn sign(&self) -> i32 {
        if self.value.is_zero() {
            0
        } else if self.value.is_negative() {
            -1
        } else {
            1
        }
    }

    /// Compares with an integer (`Quantity.CmpInt64`).
    pub fn cmp_i64(&self, y: i64) -> Ordering {
        self.value.cmp(&Decimal::from_i64(y, 0))
    }

    /// Adds `y` exactly (`Quantity.Add`). A zero quantity takes `y`'s notation, so a sum
    /// starting from zero keeps the notation of what is summed.
    pub fn add(&mut self, y: &Quantity) {
        self.cached = None;
        if self.value.is_zero() {
            self.format = y.format;
        }
        self.value = self.value.add(&y.value);
    }

    /// Subtracts `y` exactly (`Quantity.Sub`); a zero quantity takes `y`'s notation.
    pub fn sub(&mut self, y: &Quantity) {
        self.cached = None;
        if self.value.is_zero() {
            self.format = y.format;
        }
        self.value = self.value.add(&y.value.negated());
    }

    /// Negates the value (`Quantity.Neg`).
    pub fn neg(&mut self) {
        self.cached = None;
        self.value = self.value.negated();
    }

    /// Multiplies by `y` exactly (`Quantity.Mul`); returns false when the result's unscaled
    /// value no longer fits an int64 (the result is exact regardless).
    pub fn mul(&mut self, y: i64) -> bool {
        self.cached = None;
        self.value = self.value.mul_i64(y);
        self.value.unscaled_fits_i64()
    }

    /// Rounds away from zero to a multiple of 10^scale if the value is finer
    /// (`Quantity.RoundUp`); returns false if precision was lost.
    pub fn round_up(&mut self, scale: Scale) -> bool {
        let (rounded, exact) = self.value.round_up(i64::from(scale.0));
        if rounded.exp() != self.value.exp() {
            self.cached = None;
        }
        self.value = rounded;
        exact
    }

    /// The value in units of 10^scale, rounded away from zero, or `None` if that overflows
    /// an i64.
    pub fn checked_scaled_value(&self, scale: Scale) -> Option<i64> {
        self.value.scaled_i64(i64::from(scale.0))
    }

    /// The value in units of 10^scale, rounded away from zero (`Quantity.ScaledValue`);
    /// saturates at the i64 bounds on overflow.
    pub fn scaled_value(&self, scale: Scale) -> i64 {
        self.checked_scaled_value(scale).unwrap_or(if self.value.is_negative() { i64::MIN } else { i64::MAX })
    }

    /// The value in units, rounded away from zero (`Quantity.Value`): `1.5` gives 2, `-1.5`
    /// gives -2. Saturates on overflow.
    pub fn value(&self) -> i64 {
        self.scaled_value(Scale::UNIT)
    }

    /// The value in thousandths, rounded away from zero (`Quantity.MilliValue`): CPU in
    /// millicores. Saturates on overflow (values beyond [`MAX_MILLI_VALUE`]).
    pub fn milli_value(&self) -> i64 {
        self.scaled_value(Scale::MILLI)
    }

    /// The value as an i64 when it is an integer that fits (`Quantity.AsInt64`).
    pub fn as_i64(&self) -> Option<i64> {
        self.value.to_i64_exact()
    }

    /// Sets the value to `value` units (`Quantity.Set`).
    pub fn set(&mut self, value: i64) {
        self.set_scaled(value, Scale::UNIT);
    }

    /// Sets the value to `value` thousandths (`Quantity.SetMilli`).
    pub fn set_milli(&mut self, value: i64) {
        self.set_scaled(value, Scale::MILLI);
    }

    /// Sets the value to `value × 10^scale` (`Quantity.SetScaled`).
    pub fn set_scaled(&mut self, value: i64, scale: Scale) {
        self.cached = None;
        self.value = Decimal::from_i64(value, i64::from(scale.0));
    }

    /// The nearest f64 (`Quantity.AsApproximateFloat64`, here correctly rounded); ±infinity
    /// beyond f64's range.
    pub fn as_approximate_f64(&self) -> f64 {
        self.value.to_f64()
    }

    /// The canonical string form computed from the value and notation, ignoring any text kept
    /// from parsing (`Quantity.CanonicalizeBytes`):
    /// - zero is `0`;
    /// - binary notation is used only for integers of magnitude 1024 or more, with the largest
    ///   exact power-of-1024 suffix (`1536Mi`), otherwise decimal notation is used;
    /// - decimal notation picks the largest SI suffix (or exponent multiple of three) that
    ///   leaves an integer mantissa (`1080m`, `1k`, `80e-3`).
    ///
    /// Upstream drops the exponent of decimal-SI values beyond the `E` (10^18) suffix or below
    /// `n` (printing 10^21 as `1`); these are written in exponent notation here instead
    /// (`1e21`), which round-trips.
    pub fn canonical_string(&self) -> String {
        if self.value.is_zero() {
            return "0".to_owned();
        }
        let mut format = self.format;
        if format == Format::BinarySI {
            if self.cmp_i64(-1024).is_gt() && self.cmp_i64(1024).is_lt() {
                format = Format::DecimalSI;
            } else {
                let (rounded, exact) = self.value.round_up(0);
                if exact {
                    let (number, power) = rounded.canonical_base1024();
                    if let Some(suffix) = binary_suffix(power) {
                        return number + suffix;
                    }
                }
                format = Format::DecimalSI;
            }
        }
        let (number, exp) = self.value.canonical_base10();
        match (format, decimal_suffix(exp)) {
            (Format::DecimalSI, Some(suffix)) => number + suffix,
            (_, _) if exp == 0 => number,
            _ => format!("{number}e{exp}"),
        }
    }
}

/// Upstream's `String()`: the text kept from parsing if any, else [`Quantity::canonical_string`].
impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cached {
            Some(s) => f.write_str(s),
            None => f.write_str(&self.canonical_string()),
        }
    }
}

impl std::str::FromStr for Quantity {
    type Err = QuantityError;
    fn from_str(s: &str) -> Result<Quantity, QuantityError> {
        Quantity::parse(s)
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.value.cmp(&other.value).is_eq()
    }
}

impl Eq for Quantity {}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        self.value.cmp(&other.value)
    }
}

impl std::ops::AddAssign<&Quantity> for Quantity {
    fn add_assign(&mut self, rhs: &Quantity) {
        self.add(rhs);
    }
}

impl std::ops::SubAssign<&Quantity> for Quantity {
    fn sub_assign(&mut self, rhs: &Quantity) {
        self.sub(rhs);
    }
}

impl std::ops::Neg for Quantity {
    type Output = Quantity;
    fn neg(mut self) -> Quantity {
        Quantity::neg(&mut self);
        self
    }
}

impl serde::Serialize for Quantity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Reads a JSON string (surrounding whitespace trimmed, as upstream's `UnmarshalJSON`), a
/// JSON number (through its decimal text), or null (zero).
impl<'de> serde::Deserialize<'de> for Quantity {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Quantity, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Quantity;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a quantity string or number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Quantity, E> {
                Quantity::parse(v.trim()).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Quantity, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Quantity, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Quantity, E> {
                if !v.is_finite() {
                    return Err(E::custom(QuantityError::FormatWrong));
                }
                self.visit_str(&v.to_string())
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Quantity, E> {
                Ok(Quantity::default())
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<Quantity, E> {
                Ok(Quantity::default())
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

use k8s_openapi::apimachinery::pkg::api::resource::Quantity as OpenApiQuantity;

impl TryFrom<&OpenApiQuantity> for Quantity {
    type Error = QuantityError;
    /// Parses the string of a k8s-openapi quantity (whitespace trimmed, as when decoding JSON).
    fn try_from(q: &OpenApiQuantity) -> Result<Quantity, QuantityError> {
        Quantity::parse(q.0.trim())
    }
}

impl From<&Quantity> for OpenApiQuantity {
    fn from(q: &Quantity) -> OpenApiQuantity {
        OpenApiQuantity(q.to_string())
    }
}

#[cfg(test)]
mod tests;
