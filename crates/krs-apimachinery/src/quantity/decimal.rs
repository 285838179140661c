//! An exact signed decimal: `±mantissa × 10^exponent`.
//!
//! This is the value model under [`super::Quantity`], standing in for upstream's pair of
//! representations (a scaled int64, or `inf.Dec`): every operation here is exact, and rounding
//! happens only where upstream rounds (to nano units on parse, to a scale on request).

use std::cmp::Ordering;

use super::bigint::BigUint;

/// `±mag × 10^exp`. Zero is never negative. The mantissa is not normalised: it keeps the scale
/// operations left it at, as upstream's unscaled value does (which [`Decimal::unscaled_fits_i64`]
/// reports on).
#[derive(Clone, Debug, Default)]
pub(crate) struct Decimal {
    neg: bool,
    mag: BigUint,
    exp: i64,
}

/// floor(log10(2) × 10^5) bounds, kept on the safe side for order-of-magnitude estimates.
const LOG10_2_LOW: u64 = 30102;
const LOG10_2_HIGH: u64 = 30103;

impl Decimal {
    pub(crate) fn new(neg: bool, mag: BigUint, exp: i64) -> Decimal {
        let neg = neg && !mag.is_zero();
        Decimal { neg, mag, exp }
    }

    pub(crate) fn from_i64(value: i64, exp: i64) -> Decimal {
        Decimal::new(value < 0, BigUint::from_u128(u128::from(value.unsigned_abs())), exp)
    }

    pub(crate) fn is_zero(&self) -> bool {
        self.mag.is_zero()
    }

    pub(crate) fn is_negative(&self) -> bool {
        self.neg
    }

    pub(crate) fn exp(&self) -> i64 {
        self.exp
    }

    pub(crate) fn negated(&self) -> Decimal {
        Decimal::new(!self.neg, self.mag.clone(), self.exp)
    }

    pub(crate) fn abs(&self) -> Decimal {
        Decimal::new(false, self.mag.clone(), self.exp)
    }

    /// Bounds on floor(log10(|self|)) for a non-zero value.
    fn order_bounds(&self) -> (i64, i64) {
        let bits = self.mag.bits();
        let low = ((bits - 1) * LOG10_2_LOW / 100_000) as i64;
        let high = (bits * LOG10_2_HIGH / 100_000) as i64;
        (self.exp.saturating_add(low), self.exp.saturating_add(high))
    }

    /// The mantissa scaled to exponent `exp` (which must not exceed `self.exp`).
    fn mag_at(&self, exp: i64) -> BigUint {
        let mut m = self.mag.clone();
        m.mul_pow10(self.exp.abs_diff(exp));
        m
    }

    fn cmp_abs(&self, other: &Decimal) -> Ordering {
        match (self.is_zero(), other.is_zero()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        // Decide by order of magnitude when possible, so that values with far-apart exponents
        // (1e1000 against 5) compare without materialising 10^1000.
        let (a_low, a_high) = self.order_bounds();
        let (b_low, b_high) = other.order_bounds();
        if a_low > b_high {
            return Ordering::Greater;
        }
        if b_low > a_high {
            return Ordering::Less;
        }
        let exp = self.exp.min(other.exp);
        self.mag_at(exp).cmp(&other.mag_at(exp))
    }

    pub(crate) fn cmp(&self, other: &Decimal) -> Ordering {
        match (self.neg, other.neg) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.cmp_abs(other),
            (true, true) => other.cmp_abs(self),
        }
    }

    /// The exact sum, at the smaller of the two exponents.
    pub(crate) fn add(&self, other: &Decimal) -> Decimal {
        if other.is_zero() {
            return self.clone();
        }
        if self.is_zero() {
            return other.clone();
        }
        let exp = self.exp.min(other.exp);
        let mut a = self.mag_at(exp);
        let b = other.mag_at(exp);
        if self.neg == other.neg {
            a.add_assign(&b);
            return Decimal::new(self.neg, a, exp);
        }
        match a.cmp(&b) {
            Ordering::Equal => Decimal::new(false, BigUint::default(), exp),
            Ordering::Greater => {
                a.sub_assign(&b);
                Decimal::new(self.neg, a, exp)
            }
            Ordering::Less => {
                let mut b = b;
                b.sub_assign(&a);
                Decimal::new(other.neg, b, exp)
            }
        }
    }

    pub(crate) fn mul_i64(&self, y: i64) -> Decimal {
        let mut mag = self.mag.clone();
        mag.mul_small(y.unsigned_abs());
        Decimal::new(self.neg != (y < 0), mag, self.exp)
    }

    /// Rounds away from zero to a multiple of 10^exp when the value is finer than that; returns
    /// the result and whether no precision was lost.
    pub(crate) fn round_up(&self, exp: i64) -> (Decimal, bool) {
        if self.exp >= exp {
            return (self.clone(), true);
        }
        if self.is_zero() {
            return (Decimal::new(false, BigUint::default(), exp), true);
        }
        let shift = self.exp.abs_diff(exp);
        // Dividing by more than the mantissa's digits leaves 0 remainder-something: one unit.
        let max_digits = self.mag.bits() * LOG10_2_HIGH / 100_000 + 1;
        if shift > max_digits {
            return (Decimal::new(self.neg, BigUint::from_u128(1), exp), false);
        }
        let mut mag = self.mag.clone();
        let inexact = mag.div_pow10(shift);
        if inexact {
            mag.add_small(1);
        }
        (Decimal::new(self.neg, mag, exp), !inexact)
    }

    /// The value in units of 10^exp, rounded away from zero; `None` if it overflows an i64.
    pub(crate) fn scaled_i64(&self, exp: i64) -> Option<i64> {
        let (rounded, _) = self.round_up(exp);
        if rounded.is_zero() {
            return Some(0);
        }
        let shift = rounded.exp.abs_diff(exp);
        if shift > 19 {
            return None;
        }
        let mut mag = rounded.mag;
        mag.mul_pow10(shift);
        let m = mag.to_u128()?;
        if rounded.neg {
            if m > u128::from(i64::MIN.unsigned_abs()) {
                return None;
            }
            Some((m as i128).wrapping_neg() as i64)
        } else {
            i64::try_from(m).ok()
        }
    }

    /// The value as an i64 if it is an integer in range.
    pub(crate) fn to_i64_exact(&self) -> Option<i64> {
        let (_, exact) = self.round_up(0);
        if exact { self.scaled_i64(0) } else { None }
    }

    /// Whether the mantissa, at its current scale, fits an i64 (upstream's "exact" result of
    /// `Quantity.Mul`).
    pub(crate) fn unscaled_fits_i64(&self) -> bool {
        match self.mag.to_u128() {
            Some(m) if self.neg => m <= u128::from(i64::MIN.unsigned_abs()),
            Some(m) => m <= i64::MAX as u128,
            None => false,
        }
    }

    /// The nearest f64 (correctly rounded; ±inf when out of range).
    pub(crate) fn to_f64(&self) -> f64 {
        if self.is_zero() {
            return 0.0;
        }
        let sign = if self.neg { "-" } else { "" };
        format!("{sign}{}e{}", self.mag.to_decimal(), self.exp).parse().unwrap_or(f64::NAN)
    }

    /// The signed decimal digits and an exponent that is a multiple of three, with no trailing
    /// zeros beyond what that requires: 1.1e5 gives ("110", 3).
    pub(crate) fn canonical_base10(&self) -> (String, i64) {
        if self.is_zero() {
            return ("0".to_owned(), 0);
        }
        let mut mag = self.mag.clone();
        let mut exp = self.exp + mag.remove_factors(10) as i64;
        let k = exp.rem_euclid(3);
        mag.mul_pow10(k as u64);
        exp -= k;
        let sign = if self.neg { "-" } else { "" };
        (format!("{sign}{}", mag.to_decimal()), exp)
    }

    /// For an integer value: the signed digits and the power of 1024 divided out: 2048 gives
    /// ("2", 1).
    pub(crate) fn canonical_base1024(&self) -> (String, u64) {
        let mut mag = self.mag.clone();
        mag.mul_pow10(self.exp.max(0) as u64);
        let times = mag.remove_factors(1024);
        let sign = if self.neg { "-" } else { "" };
        (format!("{sign}{}", mag.to_decimal()), times)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(v: i64, exp: i64) -> Decimal {
        Decimal::from_i64(v, exp)
    }

    #[test]
    fn compare_across_exponents() {
        assert_eq!(d(1, 1000).cmp(&d(5, 0)), Ordering::Greater);
        assert_eq!(d(-1, 1000).cmp(&d(5, 0)), Ordering::Less);
        assert_eq!(d(10, 0).cmp(&d(1, 1)), Ordering::Equal);
        assert_eq!(d(901, -2).cmp(&d(90, -1)), Ordering::Greater);
        assert_eq!(d(0, 5).cmp(&d(0, -5)), Ordering::Equal);
        assert_eq!(d(i64::MAX, -16).cmp(&d(1, 3)), Ordering::Less);
        assert_eq!(d(i64::MIN, -19).cmp(&d(-1, 0)), Ordering::Greater);
    }

    #[test]
    fn rounding_and_scaling() {
        assert_eq!(d(901, -2).round_up(-1).0.cmp(&d(91, -1)), Ordering::Equal);
        assert_eq!(d(-901, -2).round_up(0).0.cmp(&d(-10, 0)), Ordering::Equal);
        assert!(!d(1, -100).round_up(-9).1);
        assert_eq!(d(1, -100).round_up(-9).0.cmp(&d(1, -9)), Ordering::Equal);
        assert_eq!(d(15, -1).scaled_i64(0), Some(2));
        assert_eq!(d(-15, -1).scaled_i64(0), Some(-2));
        assert_eq!(d(1, 0).scaled_i64(-3), Some(1000));
        assert_eq!(d(1, 19).scaled_i64(0), None);
        assert_eq!(d(i64::MIN, 0).scaled_i64(0), Some(i64::MIN));
        assert_eq!(d(15, -1).to_i64_exact(), None);
        assert_eq!(d(15, 1).to_i64_exact(), Some(150));
    }

    #[test]
    fn canonical_digits() {
        assert_eq!(d(11, 4).canonical_base10(), ("110".into(), 3));
        assert_eq!(d(-1, -1).canonical_base10(), ("-100".into(), -3));
        assert_eq!(d(108, -2).canonical_base10(), ("1080".into(), -3));
        assert_eq!(d(2048, 0).canonical_base1024(), ("2".into(), 1));
        assert_eq!(d(3, 3).canonical_base1024(), ("3000".into(), 0));
        assert_eq!(d(12, 500).to_f64(), f64::INFINITY);
        assert_eq!(d(-15, -1).to_f64(), -1.5);
    }
}
