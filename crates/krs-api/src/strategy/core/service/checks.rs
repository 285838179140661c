//! Field checks that several kinds share, as upstream's helpers in
//! `pkg/apis/core/validation` (`ValidateDNS1123Label`, `ValidateNonSpecialIP`,
//! `ValidatePortNumOrName`...). Each returns the errors for one value at one path.

use std::net::IpAddr;

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use krs_apimachinery::validation::{
    BadValue, ErrorList, FIELD_IMMUTABLE_ERROR_MSG, Path, field, is_dns1123_label, is_dns1123_subdomain,
    is_qualified_name, is_valid_port_name, is_valid_port_num,
};
use serde::Serialize;

use crate::strategy::NameValidator;

/// The protocols of Service, Endpoints and EndpointSlice ports, sorted as upstream lists them.
pub(crate) const PORT_PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];

/// Errors of the value, one per message of `check`, at `path`.
pub(crate) fn each(value: &str, path: &Path, messages: Vec<String>) -> ErrorList {
    messages.into_iter().map(|msg| field::invalid(path, value, msg)).collect()
}

/// A DNS-1123 label (`ValidateDNS1123Label`).
pub(crate) fn dns1123_label(value: &str, path: &Path) -> ErrorList {
    each(value, path, is_dns1123_label(value)).with_origin("format=dns-label")
}

/// A DNS-1123 subdomain (`ValidateDNS1123Subdomain`).
pub(crate) fn dns1123_subdomain(value: &str, path: &Path) -> ErrorList {
    each(value, path, is_dns1123_subdomain(value))
}

/// A qualified name such as a label key (`ValidateQualifiedName`).
pub(crate) fn qualified_name(value: &str, path: &Path) -> ErrorList {
    each(value, path, is_qualified_name(value)).with_origin("format=qualified-name")
}

/// A name checked with an object-name rule (upstream's `ValidateNameFunc(...)(name, false)`).
pub(crate) fn name(rule: NameValidator, value: &str, path: &Path) -> ErrorList {
    each(value, path, rule(value, false))
}

/// A field that may not change, showing the new value as upstream prints a pointer or struct
/// (`ValidateImmutableField`).
pub(crate) fn immutable<T: PartialEq + Serialize + ?Sized>(new: &T, old: &T, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    if new != old {
        errs.push(field::invalid(path, bad_value(new), FIELD_IMMUTABLE_ERROR_MSG));
    }
    errs
}

/// A value as upstream prints it in a field error: strings quoted, numbers and booleans as
/// they are, `null` for nil, anything else as JSON.
pub(crate) fn bad_value<T: Serialize + ?Sized>(value: &T) -> BadValue {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => BadValue::String(s),
        Ok(serde_json::Value::Bool(b)) => BadValue::Bool(b),
        Ok(serde_json::Value::Number(n)) => match n.as_i64() {
            Some(i) => BadValue::Int(i),
            None => BadValue::Float(n.as_f64().unwrap_or_default()),
        },
        Ok(serde_json::Value::Null) | Err(_) => BadValue::null(),
        Ok(_) => BadValue::json(value),
    }
}

/// A JSON document as Go's `encoding/json` writes it (HTML-escaped, no spaces).
pub(crate) fn go_json<T: Serialize + ?Sized>(value: &T) -> String {
    match BadValue::json(value) {
        BadValue::Json(s) => s,
        other => other.to_string(),
    }
}

/// A struct of upstream's *internal* API types as an error shows it: these types have no JSON
/// tags, so their fields appear under their Go names, all of them, in declaration order.
pub(crate) fn go_struct(fields: &[(&str, String)]) -> BadValue {
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
    BadValue::Json(format!("{{{}}}", body.join(",")))
}

/// A port given as a number or an IANA name (`ValidatePortNumOrName`).
pub(crate) fn port_num_or_name(port: &IntOrString, path: &Path) -> ErrorList {
    match port {
        IntOrString::Int(n) => {
            is_valid_port_num(i64::from(*n)).into_iter().map(|msg| field::invalid(path, *n, msg)).collect()
        }
        IntOrString::String(s) => each(s, path, is_valid_port_name(s)),
    }
}

/// A port protocol: required, one of TCP, UDP and SCTP.
pub(crate) fn protocol(protocol: Option<&str>, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    match protocol.unwrap_or_default() {
        "" => errs.push(field::required(path, "")),
        p if !PORT_PROTOCOLS.contains(&p) => errs.push(field::not_supported(path, p, PORT_PROTOCOLS)),
        _ => {}
    }
    errs
}

/// An IP that endpoints and external IPs may use: not unspecified, loopback or link-local
/// (`ValidateNonSpecialIP`).
pub(crate) fn non_special_ip(ip: &str, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    let Ok(addr) = ip.parse::<IpAddr>() else {
        errs.push(field::invalid(path, ip, "must be a valid IP address").with_origin("format=ip-sloppy"));
        return errs;
    };
    // Go treats IPv4-mapped IPv6 addresses as the IPv4 address they carry.
    let addr = match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    };
    let (unspecified, loopback, link_local, link_local_multicast) = match addr {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            (v4.is_unspecified(), v4.is_loopback(), o[0] == 169 && o[1] == 254, o[0] == 224 && o[1] == 0 && o[2] == 0)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            (v6.is_unspecified(), v6.is_loopback(), s[0] & 0xffc0 == 0xfe80, s[0] & 0xff0f == 0xff02)
        }
    };
    let special = "format=non-special-ip";
    if unspecified {
        errs.push(field::invalid(path, ip, format!("may not be unspecified ({ip})")).with_origin(special));
    }
    if loopback {
        errs.push(
            field::invalid(path, ip, "may not be in the loopback range (127.0.0.0/8, ::1/128)").with_origin(special),
        );
    }
    if link_local {
        errs.push(
            field::invalid(path, ip, "may not be in the link-local range (169.254.0.0/16, fe80::/10)")
                .with_origin(special),
        );
    }
    if link_local_multicast {
        errs.push(
            field::invalid(path, ip, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)")
                .with_origin(special),
        );
    }
    errs
}

/// True for an IPv6 address (upstream's `netutils.IsIPv6String`).
pub(crate) fn is_ipv6(ip: &str) -> bool {
    matches!(ip.parse::<IpAddr>(), Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none())
}

/// True for an IPv4 address, including IPv4-mapped IPv6 (`netutils.IsIPv4String`).
pub(crate) fn is_ipv4(ip: &str) -> bool {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(_)) => true,
        Ok(IpAddr::V6(v6)) => v6.to_ipv4_mapped().is_some(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_special_ip_rejects_loopback_and_link_local() {
        let p = Path::new("ip");
        assert_eq!(
            non_special_ip("127.0.0.1", &p).to_string(),
            r#"ip: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)"#
        );
        assert_eq!(
            non_special_ip("0.0.0.0", &p).to_string(),
            r#"ip: Invalid value: "0.0.0.0": may not be unspecified (0.0.0.0)"#
        );
        assert!(non_special_ip("fe80::1", &p).to_string().contains("link-local range"));
        assert!(non_special_ip("224.0.0.5", &p).to_string().contains("multicast"));
        assert!(non_special_ip("10.0.0.1", &p).is_empty());
    }

    #[test]
    fn bad_values_print_like_upstream() {
        assert_eq!(bad_value(&Some(3)).to_string(), "3");
        assert_eq!(bad_value(&None::<i32>).to_string(), "null");
        assert_eq!(bad_value("x").to_string(), "\"x\"");
        assert_eq!(bad_value(&vec!["a"]).to_string(), r#"["a"]"#);
        let s = go_struct(&[("Name", go_json("x")), ("Port", go_json(&80)), ("Selector", go_json(&None::<i32>))]);
        assert_eq!(s.to_string(), r#"{"Name":"x","Port":80,"Selector":null}"#);
    }
}
