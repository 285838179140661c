//! A minimal unsigned big integer for exact quantity arithmetic.
//!
//! Upstream falls back to arbitrary precision (`inf.Dec` over `big.Int`) whenever a quantity
//! leaves the int64 fast path (e.g. `12E`, sums of large quantities, `9Ei` before capping).
//! Only the handful of operations quantities need are implemented: schoolbook addition and
//! subtraction, and multiplication and division by a machine word.

use std::cmp::Ordering;

/// The largest power of ten that fits in a u64.
const TEN_POW_19: u64 = 10_000_000_000_000_000_000;

/// An unsigned integer of any size: little-endian 64-bit limbs, without high zero limbs (so
/// zero has no limb and equality is structural).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct BigUint {
    limbs: Vec<u64>,
}

impl BigUint {
    pub(crate) fn from_u128(v: u128) -> BigUint {
        let mut n = BigUint { limbs: vec![v as u64, (v >> 64) as u64] };
        n.normalize();
        n
    }

    /// Parses ASCII decimal digits; the caller guarantees only digits are given.
    pub(crate) fn from_decimal(digits: &str) -> BigUint {
        let mut n = BigUint::default();
        for chunk in digits.as_bytes().chunks(19) {
            let mut word: u64 = 0;
            for b in chunk {
                word = word * 10 + u64::from(b.wrapping_sub(b'0') % 10);
            }
            n.mul_small(10u64.pow(chunk.len() as u32));
            n.add_small(word);
        }
        n
    }

    fn normalize(&mut self) {
        while self.limbs.last() == Some(&0) {
            self.limbs.pop();
        }
    }

    pub(crate) fn is_zero(&self) -> bool {
        self.limbs.is_empty()
    }

    /// The number of significant bits.
    pub(crate) fn bits(&self) -> u64 {
        match self.limbs.last() {
            Some(top) => (self.limbs.len() as u64 - 1) * 64 + u64::from(64 - top.leading_zeros()),
            None => 0,
        }
    }

    /// The value, if it fits in a u128.
    pub(crate) fn to_u128(&self) -> Option<u128> {
        match self.limbs.as_slice() {
            [] => Some(0),
            [lo] => Some(u128::from(*lo)),
            [lo, hi] => Some(u128::from(*lo) | (u128::from(*hi) << 64)),
            _ => None,
        }
    }

    pub(crate) fn mul_small(&mut self, m: u64) {
        if m == 0 {
            self.limbs.clear();
            return;
        }
        let mut carry: u128 = 0;
        for limb in &mut self.limbs {
            let p = u128::from(*limb) * u128::from(m) + carry;
            *limb = p as u64;
            carry = p >> 64;
        }
        if carry != 0 {
            self.limbs.push(carry as u64);
        }
    }

    pub(crate) fn add_small(&mut self, a: u64) {
        let mut carry = a;
        for limb in &mut self.limbs {
            if carry == 0 {
                return;
            }
            let (sum, overflow) = limb.overflowing_add(carry);
            *limb = sum;
            carry = u64::from(overflow);
        }
        if carry != 0 {
            self.limbs.push(carry);
        }
    }

    /// Divides in place by a non-zero word and returns the remainder.
    pub(crate) fn divrem_small(&mut self, d: u64) -> u64 {
        let d = u128::from(d.max(1));
        let mut rem: u128 = 0;
        for limb in self.limbs.iter_mut().rev() {
            let cur = (rem << 64) | u128::from(*limb);
            *limb = (cur / d) as u64;
            rem = cur % d;
        }
        self.normalize();
        rem as u64
    }

    /// Multiplies by 10^n.
    pub(crate) fn mul_pow10(&mut self, mut n: u64) {
        if self.is_zero() {
            return;
        }
        while n >= 19 {
            self.mul_small(TEN_POW_19);
            n -= 19;
        }
        if n > 0 {
            self.mul_small(10u64.pow(n as u32));
        }
    }

    /// Divides by 10^n (truncating); returns true if the remainder was non-zero.
    pub(crate) fn div_pow10(&mut self, mut n: u64) -> bool {
        let mut inexact = false;
        while n > 0 && !self.is_zero() {
            let step = n.min(19);
            inexact |= self.divrem_small(10u64.pow(step as u32)) != 0;
            n -= step;
        }
        inexact
    }

    /// Multiplies by 2^n.
    pub(crate) fn mul_pow2(&mut self, mut n: u64) {
        while n >= 63 {
            self.mul_small(1 << 63);
            n -= 63;
        }
        if n > 0 {
            self.mul_small(1 << n);
        }
    }

    /// Divides out `base` as often as it divides evenly; returns how often.
    pub(crate) fn remove_factors(&mut self, base: u64) -> u64 {
        let mut times = 0;
        while !self.is_zero() {
            let mut q = self.clone();
            if q.divrem_small(base) != 0 {
                break;
            }
            *self = q;
            times += 1;
        }
        times
    }

    pub(crate) fn add_assign(&mut self, other: &BigUint) {
        if self.limbs.len() < other.limbs.len() {
            self.limbs.resize(other.limbs.len(), 0);
        }
        let mut carry = false;
        for (i, limb) in self.limbs.iter_mut().enumerate() {
            let o = other.limbs.get(i).copied().unwrap_or(0);
            if o == 0 && !carry && i >= other.limbs.len() {
                break;
            }
            let (s1, c1) = limb.overflowing_add(o);
            let (s2, c2) = s1.overflowing_add(u64::from(carry));
            *limb = s2;
            carry = c1 || c2;
        }
        if carry {
            self.limbs.push(1);
        }
    }

    /// Subtracts a value not larger than `self`.
    pub(crate) fn sub_assign(&mut self, other: &BigUint) {
        let mut borrow = false;
        for (i, limb) in self.limbs.iter_mut().enumerate() {
            let o = other.limbs.get(i).copied().unwrap_or(0);
            if o == 0 && !borrow && i >= other.limbs.len() {
                break;
            }
            let (d1, b1) = limb.overflowing_sub(o);
            let (d2, b2) = d1.overflowing_sub(u64::from(borrow));
            *limb = d2;
            borrow = b1 || b2;
        }
        self.normalize();
    }

    pub(crate) fn to_decimal(&self) -> String {
        if self.is_zero() {
            return "0".to_owned();
        }
        let mut chunks = Vec::new();
        let mut n = self.clone();
        while !n.is_zero() {
            chunks.push(n.divrem_small(TEN_POW_19));
        }
        let mut out = String::new();
        for (i, chunk) in chunks.iter().rev().enumerate() {
            if i == 0 {
                out.push_str(&chunk.to_string());
            } else {
                out.push_str(&format!("{chunk:019}"));
            }
        }
        out
    }
}

impl Ord for BigUint {
    fn cmp(&self, other: &Self) -> Ordering {
        self.limbs.len().cmp(&other.limbs.len()).then_with(|| self.limbs.iter().rev().cmp(other.limbs.iter().rev()))
    }
}

impl PartialOrd for BigUint {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_round_trip_and_arithmetic() {
        let big = "123456789012345678901234567890123456789012345678901234567890";
        let mut n = BigUint::from_decimal(big);
        assert_eq!(n.to_decimal(), big);
        n.mul_pow10(25);
        assert_eq!(n.to_decimal(), format!("{big}{}", "0".repeat(25)));
        assert_eq!(n.remove_factors(10), 26);
        assert_eq!(n.to_decimal(), "12345678901234567890123456789012345678901234567890123456789");
        let mut m = BigUint::from_u128(u128::MAX);
        m.add_small(1);
        assert_eq!(m.to_decimal(), "340282366920938463463374607431768211456");
        let one = BigUint::from_u128(1);
        m.sub_assign(&one);
        assert_eq!(m.to_u128(), Some(u128::MAX));
        m.add_assign(&one);
        assert_eq!(m.bits(), 129);
        let mut p = BigUint::from_u128(3);
        p.mul_pow2(70);
        assert_eq!(p.remove_factors(1024), 7);
        assert_eq!(p.to_u128(), Some(3));
        let mut q = BigUint::from_decimal("1000000000000000000001");
        assert!(q.div_pow10(21));
        assert_eq!(q.to_u128(), Some(1));
        assert!(BigUint::from_u128(5) < BigUint::from_decimal("100000000000000000000000"));
    }
}
