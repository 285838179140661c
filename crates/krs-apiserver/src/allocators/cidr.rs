//! IPv4 and IPv6 CIDRs as integer ranges, for the service IP allocator.

use std::fmt;
use std::net::IpAddr;

/// A CIDR block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    pub network: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let (ip, prefix) =
            s.trim().split_once('/').ok_or_else(|| format!("invalid CIDR {s:?}: missing prefix length"))?;
        let ip: IpAddr = ip.parse().map_err(|_| format!("invalid CIDR {s:?}: bad address"))?;
        let prefix: u8 = prefix.parse().map_err(|_| format!("invalid CIDR {s:?}: bad prefix length"))?;
        let bits = if ip.is_ipv4() { 32 } else { 128 };
        if prefix > bits {
            return Err(format!("invalid CIDR {s:?}: prefix length over {bits}"));
        }
        let cidr = Cidr { network: from_u128(to_u128(ip) & mask(bits, prefix), ip.is_ipv4()), prefix };
        if cidr.network != ip {
            return Err(format!("invalid CIDR {s:?}: host bits set (did you mean {cidr}?)"));
        }
        Ok(cidr)
    }

    pub fn is_ipv4(&self) -> bool {
        self.network.is_ipv4()
    }

    fn bits(&self) -> u8 {
        if self.is_ipv4() { 32 } else { 128 }
    }

    /// The number of addresses in the block (saturating for huge IPv6 blocks).
    pub fn size(&self) -> u128 {
        let host_bits = u32::from(self.bits() - self.prefix);
        if host_bits >= 128 { u128::MAX } else { 1u128 << host_bits }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        ip.is_ipv4() == self.is_ipv4() && to_u128(ip) & mask(self.bits(), self.prefix) == to_u128(self.network)
    }

    /// The address at `offset` from the network address.
    pub fn nth(&self, offset: u128) -> Option<IpAddr> {
        (offset < self.size()).then(|| from_u128(to_u128(self.network) + offset, self.is_ipv4()))
    }

    /// The offset of `ip` in the block.
    pub fn offset(&self, ip: IpAddr) -> Option<u128> {
        self.contains(ip).then(|| to_u128(ip) - to_u128(self.network))
    }

    /// The usable offsets [first, last]: without the network address, and for IPv4 without the
    /// broadcast address, as upstream's allocator.
    pub fn usable(&self) -> (u128, u128) {
        let size = self.size();
        if size <= 2 {
            return (0, size.saturating_sub(1));
        }
        let last = if self.is_ipv4() { size - 2 } else { size - 1 };
        (1, last)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn from_u128(n: u128, v4: bool) -> IpAddr {
    if v4 { IpAddr::V4((n as u32).into()) } else { IpAddr::V6(n.into()) }
}

fn mask(bits: u8, prefix: u8) -> u128 {
    let host = u32::from(bits - prefix);
    let full = if bits == 32 { u128::from(u32::MAX) } else { u128::MAX };
    if host >= 128 { 0 } else { full & !((1u128 << host) - 1) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_measures_blocks() {
        let c = Cidr::parse("10.43.0.0/16").unwrap();
        assert_eq!(c.size(), 65536);
        assert!(c.contains("10.43.255.254".parse().unwrap()));
        assert!(!c.contains("10.44.0.1".parse().unwrap()));
        assert_eq!(c.nth(1).unwrap().to_string(), "10.43.0.1");
        assert_eq!(c.usable(), (1, 65534));
        assert!(Cidr::parse("10.43.0.1/16").is_err());
        let v6 = Cidr::parse("fd00:43::/112").unwrap();
        assert_eq!(v6.size(), 65536);
        assert_eq!(v6.nth(1).unwrap().to_string(), "fd00:43::1");
        assert_eq!(v6.usable(), (1, 65535));
    }
}
