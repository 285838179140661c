//! Parsing IP networks for containment checks (the validation messages come from
//! krs-apimachinery's CIDR checks).

use std::net::IpAddr;

/// A network: its address bits, prefix length and whether it is IPv6.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Net {
    bits: u128,
    prefix: u32,
    v6: bool,
}

impl Net {
    /// Parses `addr/prefix`, masking host bits away like Go's `ParseCIDR`.
    pub(super) fn parse(s: &str) -> Option<Net> {
        let (addr, prefix) = s.split_once('/')?;
        let prefix: u32 = prefix.parse().ok()?;
        let (bits, width, v6) = match addr.parse::<IpAddr>().ok()? {
            IpAddr::V4(a) => (u128::from(u32::from(a)), 32, false),
            IpAddr::V6(a) => (u128::from(a), 128, true),
        };
        if prefix > width {
            return None;
        }
        let host_bits = width - prefix;
        let mask = if host_bits >= 128 { 0 } else { !0u128 << host_bits };
        Some(Net { bits: bits & mask, prefix, v6 })
    }

    /// Whether `other` lies inside this network and is strictly smaller.
    pub(super) fn strictly_contains(&self, other: &Net) -> bool {
        if self.v6 != other.v6 || self.prefix >= other.prefix {
            return false;
        }
        let width = if self.v6 { 128 } else { 32 };
        let host_bits = width - self.prefix;
        let mask = if host_bits >= 128 { 0 } else { !0u128 << host_bits };
        other.bits & mask == self.bits
    }

    pub(super) fn is_v6(&self) -> bool {
        self.v6
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containment_is_strict() {
        let outer = Net::parse("10.0.0.0/16").unwrap();
        assert!(outer.strictly_contains(&Net::parse("10.0.1.0/24").unwrap()));
        assert!(!outer.strictly_contains(&Net::parse("10.0.0.0/16").unwrap()));
        assert!(!outer.strictly_contains(&Net::parse("10.1.0.0/24").unwrap()));
        assert!(Net::parse("2001:db8::/64").unwrap().is_v6());
    }
}
