//! IP address and CIDR validation (`util/validation/ip.go`).
//!
//! Upstream checks an address with two Go parsers: the old, permissive `net.ParseIP` (kept in
//! k8s.io/utils as `ParseIPSloppy`, which accepts leading zeros) decides whether the value is an
//! IP at all, and the strict `netip.ParseAddr` decides whether it is in an acceptable form. Both
//! are ported here so that exactly the same strings pass, fail, and print in canonical form.

use super::{ErrorList, Path, field};
use crate::gofmt;

/// Go's `dtoi`/`xtoi` give up once a number reaches this.
const BIG: u32 = 0xFF_FFFF;

/// A 16-byte address as Go's `net.IP` holds one: IPv4 addresses are IPv4-mapped IPv6.
type Ip16 = [u8; 16];

/// An address as `netip.Addr` holds one: IPv4 and IPv6 kept apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Addr {
    V4([u8; 4]),
    V6(Ip16),
}

impl Addr {
    fn is_4in6(&self) -> bool {
        matches!(self, Addr::V6(b) if is_v4_mapped(b))
    }

    fn bits(&self) -> u32 {
        match self {
            Addr::V4(_) => 32,
            Addr::V6(_) => 128,
        }
    }

    fn masked(&self, bits: u32) -> Addr {
        match self {
            Addr::V4(b) => {
                let mut out = *b;
                apply_mask(&mut out, bits);
                Addr::V4(out)
            }
            Addr::V6(b) => {
                let mut out = *b;
                apply_mask(&mut out, bits);
                Addr::V6(out)
            }
        }
    }
}

impl std::fmt::Display for Addr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Addr::V4(b) => f.write_str(&format_v4(b)),
            Addr::V6(b) if is_v4_mapped(b) => {
                write!(f, "::ffff:{}", format_v4(&[b[12], b[13], b[14], b[15]]))
            }
            Addr::V6(b) => f.write_str(&format_v6(b)),
        }
    }
}

fn is_v4_mapped(b: &Ip16) -> bool {
    b[..10].iter().all(|x| *x == 0) && b[10] == 0xff && b[11] == 0xff
}

fn v4_mapped(b: [u8; 4]) -> Ip16 {
    let mut out = [0u8; 16];
    out[10] = 0xff;
    out[11] = 0xff;
    out[12..].copy_from_slice(&b);
    out
}

fn apply_mask(bytes: &mut [u8], bits: u32) {
    for (i, b) in bytes.iter_mut().enumerate() {
        let start = (i as u32) * 8;
        if bits <= start {
            *b = 0;
        } else if bits < start + 8 {
            *b &= 0xffu8 << (8 - (bits - start));
        }
    }
}

fn format_v4(b: &[u8; 4]) -> String {
    format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])
}

/// RFC 5952 text as Go prints it: lower-case hex, the first longest run of two or more zero
/// groups collapsed to `::`.
fn format_v6(b: &Ip16) -> String {
    let group = |i: usize| u16::from_be_bytes([b[2 * i], b[2 * i + 1]]);
    let (mut zero_start, mut zero_end) = (usize::MAX, usize::MAX);
    let mut best = 0;
    for i in 0..8 {
        let mut j = i;
        while j < 8 && group(j) == 0 {
            j += 1;
        }
        if j - i >= 2 && j - i > best {
            best = j - i;
            zero_start = i;
            zero_end = j;
        }
    }
    let mut out = String::new();
    let mut i = 0;
    while i < 8 {
        if i == zero_start {
            out.push_str("::");
            i = zero_end;
            if i >= 8 {
                break;
            }
        } else if i > 0 {
            out.push(':');
        }
        out.push_str(&format!("{:x}", group(i)));
        i += 1;
    }
    out
}

/// `net.IP.String`: IPv4 (including IPv4-mapped) in dotted form, otherwise RFC 5952.
fn format_net_ip(b: &Ip16) -> String {
    if is_v4_mapped(b) { format_v4(&[b[12], b[13], b[14], b[15]]) } else { format_v6(b) }
}

/// Decimal digits at the start of `s`: (value, digits consumed); `None` without digits or once
/// the value reaches Go's limit.
fn dtoi(s: &[u8]) -> Option<(u32, usize)> {
    let mut n: u32 = 0;
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        n = n * 10 + u32::from(s[i] - b'0');
        if n >= BIG {
            return None;
        }
        i += 1;
    }
    if i == 0 { None } else { Some((n, i)) }
}

/// Dotted-quad IPv4. Sloppy accepts leading zeros (`010` is 10); strict rejects them.
fn parse_v4(s: &[u8], strict: bool) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut rest = s;
    for (i, octet) in out.iter_mut().enumerate() {
        if i > 0 {
            rest = rest.strip_prefix(b".")?;
        }
        let (n, used) = dtoi(rest)?;
        if n > 255 || (strict && used > 1 && rest[0] == b'0') {
            return None;
        }
        *octet = n as u8;
        rest = &rest[used..];
    }
    rest.is_empty().then_some(out)
}

/// Hex digits at the start of `s`: (value, digits consumed), as Go's `xtoi`.
fn xtoi(s: &[u8]) -> Option<(u32, usize)> {
    let mut n: u32 = 0;
    let mut i = 0;
    while i < s.len() {
        let d = match s[i] {
            c @ b'0'..=b'9' => c - b'0',
            c @ b'a'..=b'f' => c - b'a' + 10,
            c @ b'A'..=b'F' => c - b'A' + 10,
            _ => break,
        };
        n = n * 16 + u32::from(d);
        if n >= BIG {
            return None;
        }
        i += 1;
    }
    if i == 0 { None } else { Some((n, i)) }
}

/// IPv6 with an optional embedded IPv4 tail. Strict limits groups to four hex digits and
/// parses the IPv4 tail strictly.
fn parse_v6(s: &[u8], strict: bool) -> Option<Ip16> {
    let mut ip = [0u8; 16];
    let mut ellipsis: Option<usize> = None;
    let mut s = s;
    if s.starts_with(b"::") {
        ellipsis = Some(0);
        s = &s[2..];
        if s.is_empty() {
            return Some(ip);
        }
    }
    let mut i = 0;
    while i < 16 {
        let (n, used) = xtoi(s)?;
        if n > 0xFFFF || (strict && used > 4) {
            return None;
        }
        if used < s.len() && s[used] == b'.' {
            if (ellipsis.is_none() && i != 12) || i + 4 > 16 {
                return None;
            }
            let v4 = parse_v4(s, strict)?;
            ip[i..i + 4].copy_from_slice(&v4);
            s = &[];
            i += 4;
            break;
        }
        ip[i] = (n >> 8) as u8;
        ip[i + 1] = n as u8;
        i += 2;
        s = &s[used..];
        if s.is_empty() {
            break;
        }
        if s[0] != b':' || s.len() == 1 {
            return None;
        }
        s = &s[1..];
        if s[0] == b':' {
            if ellipsis.is_some() {
                return None;
            }
            ellipsis = Some(i);
            s = &s[1..];
            if s.is_empty() {
                break;
            }
        }
    }
    if !s.is_empty() {
        return None;
    }
    if i < 16 {
        let e = ellipsis?;
        let n = 16 - i;
        for j in (e..i).rev() {
            ip[j + n] = ip[j];
        }
        for b in &mut ip[e..e + n] {
            *b = 0;
        }
    } else if ellipsis.is_some() {
        // An ellipsis must stand for at least one group.
        return None;
    }
    Some(ip)
}

/// Go's `net.ParseIP` / `ParseIPSloppy`: the first `.` or `:` decides the family.
fn parse_ip_sloppy(s: &str) -> Option<Ip16> {
    let b = s.as_bytes();
    match b.iter().find(|c| **c == b'.' || **c == b':') {
        Some(b'.') => parse_v4(b, false).map(v4_mapped),
        Some(_) => parse_v6(b, false),
        None => None,
    }
}

/// Go's `netip.ParseAddr`, except that zones (never accepted by the sloppy parser that runs
/// first) are rejected.
fn parse_addr_strict(s: &str) -> Option<Addr> {
    let b = s.as_bytes();
    match b.iter().find(|c| **c == b'.' || **c == b':') {
        Some(b'.') => parse_v4(b, true).map(Addr::V4),
        Some(_) => parse_v6(b, true).map(Addr::V6),
        None => None,
    }
}

/// The result of Go's `net.ParseCIDR` / `ParseCIDRSloppy`.
struct SloppyCidr {
    /// The address as written (not masked).
    ip: Ip16,
    /// The prefix length.
    ones: u32,
    /// 32 when the address parsed as IPv4, 128 otherwise (the mask's size).
    bits: u32,
    /// The masked network address.
    network: Ip16,
}

impl SloppyCidr {
    /// `IPNet.String()`: an IPv4(-mapped) network prints as IPv4 with its mask shortened.
    fn network_string(&self) -> String {
        if self.bits == 128 && is_v4_mapped(&self.network) {
            return format!("{}/{}", format_net_ip(&self.network), self.ones.saturating_sub(96));
        }
        format!("{}/{}", format_net_ip(&self.network), self.ones)
    }
}

fn parse_cidr_sloppy(s: &str) -> Option<SloppyCidr> {
    let (addr, mask) = s.split_once('/')?;
    let (ip, bits) = match parse_v4(addr.as_bytes(), false) {
        Some(v4) => (v4_mapped(v4), 32),
        None => (parse_v6(addr.as_bytes(), false)?, 128),
    };
    let (ones, used) = dtoi(mask.as_bytes())?;
    if used != mask.len() || ones > bits {
        return None;
    }
    let mut network = ip;
    if bits == 32 {
        apply_mask(&mut network[12..], ones);
    } else {
        apply_mask(&mut network, ones);
    }
    Some(SloppyCidr { ip, ones, bits, network })
}

/// Go's `netip.ParsePrefix`: strict address, no leading zeros or sign in the length.
fn parse_prefix_strict(s: &str) -> Option<(Addr, u32)> {
    let i = s.rfind('/')?;
    let addr = parse_addr_strict(&s[..i])?;
    let bits_str = &s[i + 1..];
    let first = *bits_str.as_bytes().first()?;
    if bits_str.len() > 1 && !(b'1'..=b'9').contains(&first) {
        return None;
    }
    if !bits_str.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let bits: u32 = bits_str.parse().ok()?;
    (bits <= addr.bits()).then_some((addr, bits))
}

fn parse_ip_errors(path: &Path, value: &str, strict: bool) -> (Option<Ip16>, ErrorList) {
    let mut errs = ErrorList::new();
    let Some(ip) = parse_ip_sloppy(value) else {
        errs.push(field::invalid(path, value, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"));
        return (None, errs);
    };
    if strict {
        match parse_addr_strict(value) {
            None => errs.push(field::invalid(path, value, "must not have leading 0s")),
            Some(addr) if addr.is_4in6() => {
                errs.push(field::invalid(path, value, "must not be an IPv4-mapped IPv6 address"));
            }
            Some(_) => {}
        }
    }
    (Some(ip), errs)
}

/// A valid IP address by current standards, in canonical form (`IsValidIP`).
///
/// ```
/// use krs_apimachinery::validation::{is_valid_ip, Path};
/// assert!(is_valid_ip(&Path::new("ip"), "2001:db8::1").is_empty());
/// assert_eq!(
///     is_valid_ip(&Path::new("ip"), "1234::ABCD").to_string(),
///     r#"ip: Invalid value: "1234::ABCD": must be in canonical form ("1234::abcd")"#
/// );
/// ```
pub fn is_valid_ip(path: &Path, value: &str) -> ErrorList {
    let (ip, mut errs) = parse_ip_errors(path, value, true);
    if let (Some(ip), true) = (ip, errs.is_empty()) {
        let canonical = format_net_ip(&ip);
        if value != canonical {
            errs.push(field::invalid(path, value, format!("must be in canonical form ({})", gofmt::quote(&canonical))));
        }
    }
    errs.with_origin("format=ip-strict")
}

/// An IP address for a field that predates strict validation (`IsValidIPForLegacyField`):
/// non-canonical forms pass; with `strict_validation` off, leading zeros and IPv4-mapped IPv6
/// pass too. Values in `valid_old_ips` (from the object being updated) always pass.
pub fn is_valid_ip_for_legacy_field<S: AsRef<str>>(
    path: &Path,
    value: &str,
    strict_validation: bool,
    valid_old_ips: &[S],
) -> ErrorList {
    if valid_old_ips.iter().any(|v| v.as_ref() == value) {
        return ErrorList::new();
    }
    parse_ip_errors(path, value, strict_validation).1.with_origin("format=ip-sloppy")
}

/// Warnings for an IP accepted by [`is_valid_ip_for_legacy_field`] in a non-standard form
/// (`GetWarningsForIP`).
pub fn get_warnings_for_ip(path: &Path, value: &str) -> Vec<String> {
    let Some(ip) = parse_ip_sloppy(value) else {
        return Vec::new();
    };
    match parse_addr_strict(value) {
        Some(addr) if !addr.is_4in6() => {
            if matches!(addr, Addr::V6(_)) && addr.to_string() != value {
                return vec![format!(
                    "{path}: IPv6 address {} should be in RFC 5952 canonical format ({})",
                    gofmt::quote(value),
                    gofmt::quote(&addr.to_string())
                )];
            }
            Vec::new()
        }
        _ => vec![format!(
            "{path}: non-standard IP address {} will be considered invalid in a future Kubernetes release: use {}",
            gofmt::quote(value),
            gofmt::quote(&format_net_ip(&ip))
        )],
    }
}

fn parse_cidr_errors(path: &Path, value: &str, strict: bool) -> (Option<SloppyCidr>, ErrorList) {
    let mut errs = ErrorList::new();
    let Some(cidr) = parse_cidr_sloppy(value) else {
        errs.push(field::invalid(path, value, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"));
        return (None, errs);
    };
    if strict {
        match parse_prefix_strict(value) {
            None => errs.push(field::invalid(path, value, "must not have leading 0s in IP or prefix length")),
            Some((addr, _)) if addr.is_4in6() => {
                errs.push(field::invalid(path, value, "must not have an IPv4-mapped IPv6 address"));
            }
            Some((addr, bits)) if addr.masked(bits) != addr => {
                errs.push(field::invalid(path, value, "must not have bits set beyond the prefix length"));
            }
            Some(_) => {}
        }
    }
    (Some(cidr), errs)
}

/// A valid "subnet" CIDR (no bits set after the prefix) in canonical form (`IsValidCIDR`).
pub fn is_valid_cidr(path: &Path, value: &str) -> ErrorList {
    let (cidr, mut errs) = parse_cidr_errors(path, value, true);
    if let (Some(cidr), true) = (cidr, errs.is_empty()) {
        let canonical = cidr.network_string();
        if value != canonical {
            errs.push(field::invalid(path, value, format!("must be in canonical form ({})", gofmt::quote(&canonical))));
        }
    }
    errs
}

/// A CIDR for a field that predates strict validation (`IsValidCIDRForLegacyField`); see
/// [`is_valid_ip_for_legacy_field`] for the meaning of the arguments.
pub fn is_valid_cidr_for_legacy_field<S: AsRef<str>>(
    path: &Path,
    value: &str,
    strict_validation: bool,
    valid_old_cidrs: &[S],
) -> ErrorList {
    if valid_old_cidrs.iter().any(|v| v.as_ref() == value) {
        return ErrorList::new();
    }
    parse_cidr_errors(path, value, strict_validation).1
}

/// Warnings for a CIDR accepted by [`is_valid_cidr_for_legacy_field`] in a non-standard or
/// ambiguous form (`GetWarningsForCIDR`).
pub fn get_warnings_for_cidr(path: &Path, value: &str) -> Vec<String> {
    let Some(cidr) = parse_cidr_sloppy(value) else {
        return Vec::new();
    };
    let mut warnings = Vec::new();
    if cidr.ip != cidr.network {
        let single = format!("{}/{}", format_net_ip(&cidr.ip), cidr.bits);
        warnings.push(format!(
            "{path}: CIDR value {} is ambiguous in this context (should be {} or {}?)",
            gofmt::quote(value),
            gofmt::quote(&cidr.network_string()),
            gofmt::quote(&single)
        ));
    }
    let prefix = parse_prefix_strict(value);
    match prefix {
        Some((addr, _)) if !addr.is_4in6() => {}
        _ => warnings.push(format!(
            "{path}: non-standard CIDR value {} will be considered invalid in a future Kubernetes release: use {}",
            gofmt::quote(value),
            gofmt::quote(&cidr.network_string())
        )),
    }
    if let (true, Some((addr @ Addr::V6(_), bits))) = (warnings.is_empty(), prefix) {
        let canonical = format!("{addr}/{bits}");
        if canonical != value {
            warnings.push(format!(
                "{path}: IPv6 CIDR value {} should be in RFC 5952 canonical format ({})",
                gofmt::quote(value),
                gofmt::quote(&canonical)
            ));
        }
    }
    warnings
}

/// A valid "interface address" CIDR (a full address and its subnet length, e.g.
/// `192.168.1.5/24`) in canonical form (`IsValidInterfaceAddress`).
pub fn is_valid_interface_address(path: &Path, value: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(cidr) = parse_cidr_sloppy(value) else {
        errs.push(field::invalid(
            path,
            value,
            "must be a valid address in CIDR form, (e.g. 10.9.8.7/24 or 2001:db8::1/64)",
        ));
        return errs;
    };
    let mut ones = cidr.ones;
    if is_v4_mapped(&cidr.ip) && ones > 32 {
        ones -= 96;
    }
    let canonical = format!("{}/{}", format_net_ip(&cidr.ip), ones);
    if value != canonical {
        errs.push(field::invalid(path, value, format!("must be in canonical form ({})", gofmt::quote(&canonical))));
    }
    errs
}

#[cfg(test)]
#[path = "ip_tests.rs"]
mod tests;
