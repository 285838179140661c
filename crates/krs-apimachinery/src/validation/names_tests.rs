//! Upstream's util/validation table tests, as facts about this port.

use super::*;

fn ok(errs: Vec<String>, v: &str) {
    assert!(errs.is_empty(), "expected {v:?} to be valid: {errs:?}");
}

fn bad(errs: Vec<String>, v: &str) {
    assert!(!errs.is_empty(), "expected {v:?} to be invalid");
}

#[test]
fn dns1123_label() {
    let a63 = "a".repeat(63);
    for v in ["a", "ab", "abc", "a1", "a-1", "a--1--2--b", "0", "01", "012", "1a", "1-a", "1--a--b--2", &a63] {
        ok(is_dns1123_label(v), v);
    }
    let a64 = "a".repeat(64);
    for v in [
        "", "A", "ABC", "aBc", "A1", "A-1", "1-A", "-", "a-", "-a", "1-", "-1", "_", "a_", "_a", "a_b", "1_", "_1",
        "1_2", ".", "a.", ".a", "a.b", "1.", ".1", "1.2", " ", "a ", " a", "a b", "1 ", " 1", "1 2", &a64,
    ] {
        bad(is_dns1123_label(v), v);
    }
    assert_eq!(is_dns1123_label("a.b"), vec!["must not contain dots".to_string()]);
    assert_eq!(
        is_dns1123_label("A"),
        vec![
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        ]
    );
}

#[test]
fn dns1123_subdomain() {
    let a253 = "a".repeat(253);
    for v in [
        "a",
        "ab",
        "abc",
        "a1",
        "a-1",
        "a--1--2--b",
        "0",
        "01",
        "012",
        "1a",
        "1-a",
        "1--a--b--2",
        "a.a",
        "ab.a",
        "abc.a",
        "a1.a",
        "a-1.a",
        "a--1--2--b.a",
        "a.1",
        "ab.1",
        "abc.1",
        "a1.1",
        "a-1.1",
        "a--1--2--b.1",
        "0.a",
        "01.a",
        "012.a",
        "1a.a",
        "1-a.a",
        "0.1",
        "01.1",
        "012.1",
        "1a.1",
        "1-a.1",
        "1--a--b--2.1",
        "a.b.c.d.e",
        "aa.bb.cc.dd.ee",
        "1.2.3.4.5",
        "11.22.33.44.55",
        &a253,
    ] {
        ok(is_dns1123_subdomain(v), v);
    }
    let a254 = "a".repeat(254);
    for v in [
        "",
        "A",
        "ABC",
        "aBc",
        "A1",
        "A-1",
        "1-A",
        "-",
        "a-",
        "-a",
        "1-",
        "-1",
        "_",
        "a_",
        "_a",
        "a_b",
        "1_",
        "_1",
        "1_2",
        ".",
        "a.",
        ".a",
        "a..b",
        "1.",
        ".1",
        "1..2",
        " ",
        "a ",
        " a",
        "a b",
        "1 ",
        " 1",
        "1 2",
        "A.a",
        "aB.a",
        "ab.A",
        "A1.a",
        "a1.A",
        "A.1",
        "aB.1",
        "A1.1",
        "1A.1",
        "0.A",
        "01.A",
        "012.A",
        "1A.a",
        "1a.A",
        "A.B.C.D.E",
        "AA.BB.CC.DD.EE",
        "a.B.c.d.e",
        "aa.bB.cc.dd.ee",
        "a@b",
        "a,b",
        "a_b",
        "a;b",
        "a:b",
        "a%b",
        "a?b",
        "a$b",
        &a254,
    ] {
        bad(is_dns1123_subdomain(v), v);
    }
    // The brief's quoted message, verbatim.
    assert_eq!(
        is_dns1123_subdomain("Foo"),
        vec![
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
                .to_string()
        ]
    );
    assert_eq!(is_dns1123_subdomain(&a254)[0], "must be no more than 253 characters");
}

#[test]
fn dns1123_subdomain_with_underscore() {
    let regex = regex_error(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '_', '-' or '.', and must start and end with an alphanumeric character",
        "_?[a-z0-9]([-_a-z0-9]*[a-z0-9])?(\\._?[a-z0-9]([-_a-z0-9]*[a-z0-9])?)*",
        &["example.com"],
    );
    for v in ["example.com", "_example.com", "sub._example.com", "sub-domain.example.com", "sub_domain.example.com"] {
        ok(is_dns1123_subdomain_with_underscore(v), v);
    }
    for v in ["", "Example.com", "-example.com", "example.com-", "example@.com", "example..com", "_"] {
        assert_eq!(is_dns1123_subdomain_with_underscore(v), vec![regex.clone()], "{v:?}");
    }
    let long = format!("a.{}.com", "\0".repeat(251));
    assert_eq!(is_dns1123_subdomain_with_underscore(&long), vec![max_len_error(253), regex]);
}

#[test]
fn dns1035_label() {
    let a63 = "a".repeat(63);
    for v in ["a", "ab", "abc", "a1", "a-1", "a--1--2--b", &a63] {
        ok(is_dns1035_label(v), v);
    }
    let a64 = "a".repeat(64);
    for v in [
        "0",
        "01",
        "012",
        "1a",
        "1-a",
        "1--a--b--2",
        "",
        "A",
        "ABC",
        "aBc",
        "A1",
        "A-1",
        "1-A",
        "-",
        "a-",
        "-a",
        "1-",
        "-1",
        "_",
        "a_",
        "_a",
        "a_b",
        "1_",
        "_1",
        "1_2",
        ".",
        "a.",
        ".a",
        "a.b",
        "1.",
        ".1",
        "1.2",
        " ",
        "a ",
        " a",
        "a b",
        "1 ",
        " 1",
        "1 2",
        &a64,
    ] {
        bad(is_dns1035_label(v), v);
    }
}

#[test]
fn c_identifier() {
    for v in [
        "a",
        "ab",
        "abc",
        "a1",
        "_a",
        "a_",
        "a_b",
        "a_1",
        "a__1__2__b",
        "__abc_123",
        "A",
        "AB",
        "AbC",
        "A1",
        "_A",
        "A_",
        "A_B",
        "A_1",
        "A__1__2__B",
        "__123_ABC",
    ] {
        ok(is_c_identifier(v), v);
    }
    for v in [
        "", "1", "123", "1a", "-", "a-", "-a", "1-", "-1", "1_", "1_2", ".", "a.", ".a", "a.b", "1.", ".1", "1.2", " ",
        "a ", " a", "a b", "1 ", " 1", "1 2", "#a#",
    ] {
        bad(is_c_identifier(v), v);
    }
}

#[test]
fn numbers_and_ranges() {
    for v in [1, 2, 1000, 16384, 32768, 65535] {
        assert!(is_valid_port_num(v).is_empty());
    }
    for v in [0, -1, 65536, 100000] {
        assert_eq!(is_valid_port_num(v), vec!["must be between 1 and 65535, inclusive".to_string()]);
    }
    assert!(is_in_range(1, 0, 10).is_empty() && is_in_range(5, 5, 20).is_empty() && is_in_range(25, 10, 25).is_empty());
    assert!(
        !is_in_range(1, 2, 10).is_empty() && !is_in_range(5, -4, 2).is_empty() && !is_in_range(25, 100, 120).is_empty()
    );
    for v in [0, 1, 1000, 65535, 2147483647] {
        assert!(is_valid_group_id(v).is_empty() && is_valid_user_id(v).is_empty());
    }
    for v in [-1, -1003, 2147483648, 4147483647] {
        assert!(!is_valid_group_id(v).is_empty() && !is_valid_user_id(v).is_empty());
    }
}

#[test]
fn port_names() {
    for v in ["telnet", "re-mail-ck", "pop3", "a", "a-1", "1-a", "a-1-b-2-c", "1-a-2-b-3"] {
        ok(is_valid_port_name(v), v);
    }
    let a16 = "a".repeat(16);
    for v in ["longerthan15characters", "", &a16, "12345", "1-2-3-4", "-begin", "end-", "two--hyphens", "whois++"] {
        bad(is_valid_port_name(v), v);
    }
    assert_eq!(
        is_valid_port_name("-a--"),
        vec!["must not contain consecutive hyphens".to_string(), "must not begin or end with a hyphen".to_string()]
    );
}

#[test]
fn qualified_names() {
    let a63 = "a".repeat(63);
    let long_prefix = format!("{}/{}", "a".repeat(253), "b".repeat(63));
    for v in [
        "simple",
        "now-with-dashes",
        "1-starts-with-num",
        "1234",
        "simple/simple",
        "now-with-dashes/simple",
        "now-with-dashes/now-with-dashes",
        "now.with.dots/simple",
        "now-with.dashes-and.dots/simple",
        "1-num.2-num/3-num",
        "1234/5678",
        "1.2.3.4/5678",
        "Uppercase_Is_OK_123",
        "example.com/Uppercase_Is_OK_123",
        "requests.storage-foo",
        &a63,
        &long_prefix,
    ] {
        ok(is_qualified_name(v), v);
    }
    let a64 = "a".repeat(64);
    let a254 = format!("{}/abc", "a".repeat(254));
    for v in [
        "nospecialchars%^=@",
        "cantendwithadash-",
        "-cantstartwithadash-",
        "only/one/slash",
        "Example.com/abc",
        "example_com/abc",
        "example.com/",
        "/simple",
        &a64,
        &a254,
    ] {
        bad(is_qualified_name(v), v);
    }
    assert_eq!(
        is_qualified_name("only/one/slash"),
        vec![
            "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    );
    assert_eq!(is_qualified_name("/simple"), vec!["prefix part must be non-empty".to_string()]);
    assert_eq!(is_qualified_name(&a64), vec!["name part must be no more than 63 characters".to_string()]);
    assert_eq!(
        is_qualified_name("example.com/"),
        vec![
            "name part must be non-empty".to_string(),
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')".to_string()
        ]
    );
}

#[test]
fn label_values() {
    let a63 = "a".repeat(63);
    for v in ["simple", "now-with-dashes", "1-starts-with-num", "end-with-num-1", "1234", &a63, ""] {
        ok(is_valid_label_value(v), v);
    }
    let a64 = "a".repeat(64);
    for v in [
        "nospecialchars%^=@",
        "Tama-nui-te-rā.is.Māori.sun",
        "\\backslashes\\are\\bad",
        "-starts-with-dash",
        "ends-with-dash-",
        ".starts.with.dot",
        "ends.with.dot.",
        &a64,
    ] {
        bad(is_valid_label_value(v), v);
    }
    assert_eq!(
        is_valid_label_value("a b"),
        vec![
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        ]
    );
}

#[test]
fn http_header_names() {
    for v in [
        "Accept-Encoding",
        "Host",
        "If-Modified-Since",
        "X-Forwarded-For",
        "a",
        "ab",
        "abc",
        "a1",
        "-a",
        "a-",
        "a-b",
        "a-1",
        "a--1--2--b",
        "--abc-123",
        "A",
        "AB",
        "AbC",
        "A1",
        "-A",
        "A-",
        "A-B",
        "A-1",
        "A--1--2--B",
        "--123-ABC",
    ] {
        ok(is_http_header_name(v), v);
    }
    for v in [
        "Host:",
        "X-Forwarded-For:",
        "X-@Home",
        "",
        "_",
        "a_",
        "_a",
        "1_",
        "1_2",
        ".",
        "a.",
        ".a",
        "a.b",
        "1.",
        ".1",
        "1.2",
        " ",
        "a ",
        " a",
        "a b",
        "1 ",
        " 1",
        "1 2",
        "#a#",
        "^",
        ",",
        ";",
        "=",
        "<",
        "?",
        "@",
        "{",
    ] {
        bad(is_http_header_name(v), v);
    }
}

#[test]
fn percents() {
    for v in ["0%", "00000%", "1%", "01%", "99%", "100%", "101%"] {
        ok(is_valid_percent(v), v);
    }
    for v in ["", "0", "100", "0.0%", "99.9%", "hundred", " 1%", "1% ", "-0%", "-1%", "+1%"] {
        bad(is_valid_percent(v), v);
    }
}

#[test]
fn config_map_keys() {
    for v in
        ["a", "good", "good-good", "still.good", "this.is.also.good", ".so.is.this", "THIS_IS_GOOD", "so_is_this_17"]
    {
        ok(is_config_map_key(v), v);
    }
    for v in [".", "..", "..bad", "b*d", "bad!&bad"] {
        bad(is_config_map_key(v), v);
    }
    assert_eq!(is_config_map_key(".."), vec!["must not be '..'".to_string()]);
    assert_eq!(is_config_map_key("..bad"), vec!["must not start with '..'".to_string()]);
}

#[test]
fn env_var_names() {
    for v in ["A", "my.env-name", "MY_ENV.NAME", "MyEnvName1", "-", "_a"] {
        ok(is_env_var_name(v), v);
    }
    for v in ["1a", "", "a b", "..a", "."] {
        bad(is_env_var_name(v), v);
    }
    for v in [
        "-", ":", "_", "+a", ">a", "<a", "a.", "a..", "*a", "%a", "?a", "a:a", "a_a", "aAz", "~a", "|a", "a0a", "a9",
        "/a", "a ", "#a", "0a", "0 a", "'a", "(a", "@a",
    ] {
        ok(is_relaxed_env_var_name(v), v);
    }
    for v in ["", "=", "a=", "1=a", "a=b", "#%=&&", "\u{1}abc", "\u{82}abc", "Ç ç", "Ä ä", "Ñ ñ", "Ø ø"] {
        bad(is_relaxed_env_var_name(v), v);
    }
}

#[test]
fn wildcard_subdomains() {
    for v in ["*.example.com", "*.bar.com", "*.foo.bar.com"] {
        ok(is_wildcard_dns1123_subdomain(v), v);
    }
    for v in ["*.*.bar.com", "*.foo.*.com", "*bar.com", "f*.bar.com", "*"] {
        bad(is_wildcard_dns1123_subdomain(v), v);
    }
}

#[test]
fn fully_qualified_domain_names() {
    let p = Path::new("");
    let good = [
        "a.com".to_string(),
        "k8s.io".into(),
        "dev.k8s.io".into(),
        "dev.k8s.io.".into(),
        "foo.example.com".into(),
        "this.is.a.really.long.fqdn".into(),
        "bbc.co.uk".into(),
        "10.0.0.1".into(),
        "hyphens-are-good.k8s.io".into(),
        format!("{}.k8s.io", "a".repeat(63)),
        format!("{}.{}.{}.{}.k8s.io", "a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(54)),
    ];
    for v in &good {
        assert!(is_fully_qualified_domain_name(&p, v).is_empty(), "{v}");
    }
    let bad_values = [
        ".".to_string(),
        "...".into(),
        ".io".into(),
        "com".into(),
        ".com".into(),
        "Dev.k8s.io".into(),
        ".foo.example.com".into(),
        "*.example.com".into(),
        "*.bar.com".into(),
        "*.foo.bar.com".into(),
        "underscores_are_bad.k8s.io".into(),
        "foo@bar.example.com".into(),
        "http://foo.example.com".into(),
        format!("{}.k8s.io", "a".repeat(64)),
        format!("{}.{}.{}.{}.k8s.io", "a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(55)),
    ];
    for v in &bad_values {
        assert!(!is_fully_qualified_domain_name(&p, v).is_empty(), "{v}");
    }
    assert_eq!(
        is_fully_qualified_domain_name(&Path::new("spec").child("domain"), "com").to_string(),
        r#"spec.domain: Invalid value: "com": should be a domain with at least two segments separated by dots"#
    );
}

#[test]
fn fully_qualified_names() {
    let p = Path::new("");
    for v in [
        "dev.k8s.io".to_string(),
        "foo.example.com".into(),
        "this.is.a.really.long.fqdn".into(),
        "bbc.co.uk".into(),
        "10.0.0.1".into(),
        "hyphens-are-good.k8s.io".into(),
        format!("{}.k8s.io", "a".repeat(246)),
    ] {
        assert!(is_fully_qualified_name(&p, &v).is_empty(), "{v}");
    }
    for v in [
        "...".to_string(),
        "dev.k8s.io.".into(),
        ".io".into(),
        "Dev.k8s.io".into(),
        "k8s.io".into(),
        "*.example.com".into(),
        "underscores_are_bad.k8s.io".into(),
        "foo@bar.example.com".into(),
        "http://foo.example.com".into(),
        format!("{}.k8s.io", "a".repeat(247)),
    ] {
        assert!(!is_fully_qualified_name(&p, &v).is_empty(), "{v}");
    }
    let msg = |v: &str| is_fully_qualified_name(&p, v).to_string();
    assert!(msg("k8s.io").contains("should be a domain with at least three segments separated by dots"));
    assert!(
        msg("http://foo.k8s.io")
            .contains("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters")
    );
    assert!(msg("").contains("Required value"));
}

#[test]
fn domain_prefixed_paths() {
    let p = Path::new("");
    let good = [
        "a/b".to_string(),
        "a/b/c/d".into(),
        "a.com/foo".into(),
        "a.b.c.d/foo".into(),
        "k8s.io/foo/bar".into(),
        "k8s.io/FOO/BAR".into(),
        "dev.k8s.io/more/path".into(),
        "this.is.a.really.long.fqdn/even/longer/path/just/because".into(),
        "bbc.co.uk/path/goes/here".into(),
        "10.0.0.1/foo".into(),
        "hyphens-are-good.k8s.io/and-in-paths-too".into(),
        format!("{}.k8s.io/a", "a".repeat(240)),
        format!("k8s.io/{}", "a".repeat(240)),
    ];
    for v in &good {
        assert!(is_domain_prefixed_path(&p, v).is_empty(), "{v}");
    }
    let bad_values = [
        ".".to_string(),
        "...".into(),
        "/b".into(),
        "com".into(),
        ".com".into(),
        "a.b.c.d/foo?a=b".into(),
        "a.b.c.d/foo#a".into(),
        "Dev.k8s.io".into(),
        ".foo.example.com".into(),
        "*.example.com".into(),
        "example.com/foo{}[]@^`".into(),
        "underscores_are_bad.k8s.io".into(),
        "underscores_are_bad.k8s.io/foo".into(),
        "foo@bar.example.com".into(),
        "foo@bar.example.com/foo".into(),
        format!("{}.k8s.io", "a".repeat(247)),
    ];
    for v in &bad_values {
        assert!(!is_domain_prefixed_path(&p, v).is_empty(), "{v}");
    }
    assert_eq!(
        is_domain_prefixed_path(&Path::new("x"), "a.b/foo?").to_string(),
        r#"x: Invalid value: "foo?": Invalid path (regex used for validation is '[A-Za-z0-9/\-._~%!$&'()*+,;=:]+')"#
    );
}
