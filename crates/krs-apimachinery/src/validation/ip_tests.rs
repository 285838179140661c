//! Upstream's ip_test.go tables, as facts about this port.

use super::*;

/// (input, strict error, legacy error, legacy-strict error); "" means valid.
const IP_CASES: &[(&str, &str, &str, &str)] = &[
    ("1.2.3.4", "", "", ""),
    ("0.0.0.0", "", "", ""),
    ("255.255.255.255", "", "", ""),
    ("1234::abcd", "", "", ""),
    ("::", "", "", ""),
    ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "", "", ""),
    ("0:0:0:0:0:0:0:0", r#"must be in canonical form ("::")"#, "", ""),
    ("0001:002:03:4::", r#"must be in canonical form ("1:2:3:4::")"#, "", ""),
    ("1234::ABCD", r#"must be in canonical form ("1234::abcd")"#, "", ""),
    ("1.1.1.01", "must not have leading 0s", "", "must not have leading 0s"),
    ("::ffff:1.1.1.1", "must not be an IPv4-mapped IPv6 address", "", "must not be an IPv4-mapped IPv6 address"),
    ("", "must be a valid IP address", "must be a valid IP address", "must be a valid IP address"),
    ("aaaaaaa", "must be a valid IP address", "must be a valid IP address", "must be a valid IP address"),
    ("myhost.mydomain", "must be a valid IP address", "must be a valid IP address", "must be a valid IP address"),
    ("1.2.3.0/24", "must be a valid IP address", "must be a valid IP address", "must be a valid IP address"),
    ("1.2.3.400", "must be a valid IP address", "must be a valid IP address", "must be a valid IP address"),
    ("-1.0.0.0", "must be a valid IP address", "must be a valid IP address", "must be a valid IP address"),
    ("2001:db8::10005", "must be a valid IP address", "must be a valid IP address", "must be a valid IP address"),
    ("1.2.3.4:80", "must be a valid IP address", "must be a valid IP address", "must be a valid IP address"),
    ("[2001:db8::1]", "must be a valid IP address", "must be a valid IP address", "must be a valid IP address"),
    ("[2001:db8::1]:80", "must be a valid IP address", "must be a valid IP address", "must be a valid IP address"),
    ("example.com:80", "must be a valid IP address", "must be a valid IP address", "must be a valid IP address"),
    ("1234::abcd%eth0", "must be a valid IP address", "must be a valid IP address", "must be a valid IP address"),
    ("169.254.0.0%eth0", "must be a valid IP address", "must be a valid IP address", "must be a valid IP address"),
];

fn check_one(errs: &ErrorList, want: &str, what: &str, input: &str) {
    if want.is_empty() {
        assert!(errs.is_empty(), "{what}({input:?}): unexpected {errs}");
    } else {
        assert_eq!(errs.len(), 1, "{what}({input:?}): {errs}");
        assert!(errs[0].detail.contains(want), "{what}({input:?}): {:?} lacks {want:?}", errs[0].detail);
    }
}

#[test]
fn valid_ip() {
    let p = Path::new("");
    let bad: Vec<&str> = IP_CASES.iter().filter(|c| !c.3.is_empty()).map(|c| c.0).collect();
    for (input, err, legacy, legacy_strict) in IP_CASES {
        check_one(&is_valid_ip(&p, input), err, "is_valid_ip", input);
        check_one(&is_valid_ip_for_legacy_field::<&str>(&p, input, false, &[]), legacy, "legacy", input);
        check_one(&is_valid_ip_for_legacy_field::<&str>(&p, input, true, &[]), legacy_strict, "legacy strict", input);
        assert!(is_valid_ip_for_legacy_field(&p, input, true, &bad).is_empty());
    }
    let errs = is_valid_ip(&Path::new("spec").child("clusterIP"), "1.1.1.01");
    assert_eq!(errs[0].origin, "format=ip-strict");
    assert_eq!(errs.to_string(), r#"spec.clusterIP: Invalid value: "1.1.1.01": must not have leading 0s"#);
    assert_eq!(
        is_valid_ip(&p, "x").to_string(),
        r#"[]: Invalid value: "x": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"#
    );
}

#[test]
fn warnings_for_ip() {
    let cluster_ip = Path::new("spec").child("clusterIPs").index(0);
    assert!(get_warnings_for_ip(&cluster_ip, "192.12.2.2").is_empty());
    assert!(get_warnings_for_ip(&cluster_ip, "2001:db8::2").is_empty());
    assert_eq!(
        get_warnings_for_ip(&cluster_ip, "192.012.2.2"),
        vec![
            r#"spec.clusterIPs[0]: non-standard IP address "192.012.2.2" will be considered invalid in a future Kubernetes release: use "192.12.2.2""#
        ]
    );
    assert_eq!(
        get_warnings_for_ip(&cluster_ip, "::ffff:192.12.2.2"),
        vec![
            r#"spec.clusterIPs[0]: non-standard IP address "::ffff:192.12.2.2" will be considered invalid in a future Kubernetes release: use "192.12.2.2""#
        ]
    );
    assert_eq!(
        get_warnings_for_ip(&Path::new("spec").child("loadBalancerIP"), "2001:db8:0:0::2"),
        vec![
            r#"spec.loadBalancerIP: IPv6 address "2001:db8:0:0::2" should be in RFC 5952 canonical format ("2001:db8::2")"#
        ]
    );
}

const CIDR_CASES: &[(&str, &str, &str, &str)] = &[
    ("1.0.0.0/8", "", "", ""),
    ("0.0.0.0/0", "", "", ""),
    ("1.1.1.1/32", "", "", ""),
    ("2001:4860:4860::/48", "", "", ""),
    ("::/0", "", "", ""),
    ("::1/128", "", "", ""),
    ("2a00:79e0:2:0::/64", r#"must be in canonical form ("2a00:79e0:2::/64")"#, "", ""),
    ("2001:DB8::/64", r#"must be in canonical form ("2001:db8::/64")"#, "", ""),
    ("1.1.01.0/24", "must not have leading 0s in IP", "", "must not have leading 0s in IP"),
    ("::ffff:1.1.1.0/24", "must not have an IPv4-mapped IPv6 address", "", "must not have an IPv4-mapped IPv6 address"),
    (
        "::ffff:1.1.1.0/120",
        "must not have an IPv4-mapped IPv6 address",
        "",
        "must not have an IPv4-mapped IPv6 address",
    ),
    (
        "1.2.3.4/24",
        "must not have bits set beyond the prefix length",
        "",
        "must not have bits set beyond the prefix length",
    ),
    (
        "2001:db8::1/64",
        "must not have bits set beyond the prefix length",
        "",
        "must not have bits set beyond the prefix length",
    ),
    ("192.168.0.0/016", "must not have leading 0s", "", "must not have leading 0s"),
    ("", "must be a valid CIDR value", "must be a valid CIDR value", "must be a valid CIDR value"),
    ("aaaaaaa", "must be a valid CIDR value", "must be a valid CIDR value", "must be a valid CIDR value"),
    ("1.2.3.4", "must be a valid CIDR value", "must be a valid CIDR value", "must be a valid CIDR value"),
    ("192.168.0.1/healthz", "must be a valid CIDR value", "must be a valid CIDR value", "must be a valid CIDR value"),
    ("192.168.0.1/0/99", "must be a valid CIDR value", "must be a valid CIDR value", "must be a valid CIDR value"),
    ("192.168.0.0/-16", "must be a valid CIDR value", "must be a valid CIDR value", "must be a valid CIDR value"),
    ("192.168.0.0/+16", "must be a valid CIDR value", "must be a valid CIDR value", "must be a valid CIDR value"),
];

#[test]
fn valid_cidr() {
    let p = Path::new("");
    let bad: Vec<&str> = CIDR_CASES.iter().filter(|c| !c.3.is_empty()).map(|c| c.0).collect();
    for (input, err, legacy, legacy_strict) in CIDR_CASES {
        check_one(&is_valid_cidr(&p, input), err, "is_valid_cidr", input);
        check_one(&is_valid_cidr_for_legacy_field::<&str>(&p, input, false, &[]), legacy, "legacy", input);
        check_one(&is_valid_cidr_for_legacy_field::<&str>(&p, input, true, &[]), legacy_strict, "legacy strict", input);
        assert!(is_valid_cidr_for_legacy_field(&p, input, true, &bad).is_empty());
    }
}

#[test]
fn warnings_for_cidr() {
    let p = Path::new("spec").child("loadBalancerSourceRanges").index(0);
    assert!(get_warnings_for_cidr(&p, "192.12.2.0/24").is_empty());
    assert!(get_warnings_for_cidr(&p, "2001:db8::/64").is_empty());
    let cases: &[(&str, &[&str])] = &[
        (
            "192.012.2.0/24",
            &[
                r#"spec.loadBalancerSourceRanges[0]: non-standard CIDR value "192.012.2.0/24" will be considered invalid in a future Kubernetes release: use "192.12.2.0/24""#,
            ],
        ),
        (
            "192.12.2.0/024",
            &[
                r#"spec.loadBalancerSourceRanges[0]: non-standard CIDR value "192.12.2.0/024" will be considered invalid in a future Kubernetes release: use "192.12.2.0/24""#,
            ],
        ),
        (
            "::ffff:192.12.2.0/120",
            &[
                r#"spec.loadBalancerSourceRanges[0]: non-standard CIDR value "::ffff:192.12.2.0/120" will be considered invalid in a future Kubernetes release: use "192.12.2.0/24""#,
            ],
        ),
        (
            "192.12.2.8/24",
            &[
                r#"spec.loadBalancerSourceRanges[0]: CIDR value "192.12.2.8/24" is ambiguous in this context (should be "192.12.2.0/24" or "192.12.2.8/32"?)"#,
            ],
        ),
        (
            "192.012.2.8/24",
            &[
                r#"spec.loadBalancerSourceRanges[0]: CIDR value "192.012.2.8/24" is ambiguous in this context (should be "192.12.2.0/24" or "192.12.2.8/32"?)"#,
                r#"spec.loadBalancerSourceRanges[0]: non-standard CIDR value "192.012.2.8/24" will be considered invalid in a future Kubernetes release: use "192.12.2.0/24""#,
            ],
        ),
        (
            "2001:db8:0:0::/64",
            &[
                r#"spec.loadBalancerSourceRanges[0]: IPv6 CIDR value "2001:db8:0:0::/64" should be in RFC 5952 canonical format ("2001:db8::/64")"#,
            ],
        ),
    ];
    for (cidr, want) in cases {
        assert_eq!(get_warnings_for_cidr(&p, cidr), *want, "{cidr}");
    }
}

#[test]
fn interface_addresses() {
    let p = Path::new("");
    for v in ["1.2.3.4/24", "1.1.1.1/32", "2001:4860:4860::1/48", "::1/128"] {
        assert!(is_valid_interface_address(&p, v).is_empty(), "{v}");
    }
    let cases = [
        ("", "must be a valid address in CIDR form"),
        ("aaaaaaa", "must be a valid address in CIDR form"),
        ("1.2.3.4", "must be a valid address in CIDR form"),
        ("192.168.0.1/healthz", "must be a valid address in CIDR form"),
        ("192.168.0.1/0/99", "must be a valid address in CIDR form"),
        ("192.168.0.0/-16", "must be a valid address in CIDR form"),
        ("192.168.0.0/+16", "must be a valid address in CIDR form"),
        ("2001:0:0:0::0BCD/64", r#"must be in canonical form ("2001::bcd/64")"#),
        ("1.1.01.002/24", r#"must be in canonical form ("1.1.1.2/24")"#),
        ("::ffff:1.1.1.1/24", r#"must be in canonical form ("1.1.1.1/24")"#),
        ("::ffff:1.1.1.1/120", r#"must be in canonical form ("1.1.1.1/24")"#),
        ("192.168.0.5/016", r#"must be in canonical form ("192.168.0.5/16")"#),
    ];
    for (input, want) in cases {
        check_one(&is_valid_interface_address(&p, input), want, "interface address", input);
    }
}

#[test]
fn sloppy_parser_edges() {
    // Leading zeros are read as decimal, as the old Go parser did.
    assert_eq!(parse_ip_sloppy("010.000.0001.1").map(|ip| format_net_ip(&ip)), Some("10.0.1.1".into()));
    // More than four hex digits pass the sloppy parser but not the strict one.
    assert!(parse_ip_sloppy("00001::").is_some());
    assert!(parse_addr_strict("00001::").is_none());
    // The ellipsis must stand for at least one group; an IPv4 tail needs its place.
    assert!(parse_ip_sloppy("1:2:3:4:5:6:7::8").is_none());
    assert!(parse_ip_sloppy("1:2:3:4:5:6:1.2.3.4").is_some());
    assert!(parse_ip_sloppy("1:2:3:4:5:1.2.3.4").is_none());
    assert_eq!(format_v6(&parse_ip_sloppy("1:0:0:1:0:0:0:1").unwrap_or_default()), "1:0:0:1::1");
    assert_eq!(format_v6(&parse_ip_sloppy("1:0:0:1:0:0:1:1").unwrap_or_default()), "1::1:0:0:1:1");
    assert_eq!(format_v6(&parse_ip_sloppy("1:0:1:1:1:1:1:1").unwrap_or_default()), "1:0:1:1:1:1:1:1");
}
