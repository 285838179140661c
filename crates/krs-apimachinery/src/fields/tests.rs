//! Upstream's fields selector_test.go and fields_test.go tables, as facts about this port.

use std::collections::BTreeMap;

use super::*;

fn set(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn parse(s: &str) -> Selector {
    match Selector::parse(s) {
        Ok(sel) => sel,
        Err(e) => panic!("{s:?} should parse: {e}"),
    }
}

// Upstream's TestSplitTerms.
#[test]
fn split_terms_keeps_escapes() {
    let cases: &[(&str, &[&str])] = &[
        ("a", &["a"]),
        ("a=avalue", &["a=avalue"]),
        ("a=avalue,b=bvalue", &["a=avalue", "b=bvalue"]),
        ("a=avalue,b==bvalue,c!=cvalue", &["a=avalue", "b==bvalue", "c!=cvalue"]),
        ("", &[]),
        ("a=a,", &["a=a", ""]),
        (",a=a", &["", "a=a"]),
        (r"k=\,,k2=v2", &[r"k=\,", "k2=v2"]),
        (r"k=\\,k2=v2", &[r"k=\\", "k2=v2"]),
        (r"k=\\\,,k2=v2", &[r"k=\\\,", "k2=v2"]),
        (r"k=\a\b\", &[r"k=\a\b\"]),
        (r"k=\", &[r"k=\"]),
        ("함=수,목=록", &["함=수", "목=록"]),
    ];
    for (input, want) in cases {
        assert_eq!(split_terms(input), *want, "{input:?}");
    }
}

// Upstream's TestSplitTerm.
#[test]
fn split_term_at_first_operator() {
    type Split<'a> = Option<(&'a str, &'a str, &'a str)>;
    let cases: &[(&str, Split)] = &[
        ("a=value", Some(("a", "=", "value"))),
        ("b==value", Some(("b", "==", "value"))),
        ("c!=value", Some(("c", "!=", "value"))),
        ("", None),
        ("a", None),
        (r"k=\,", Some(("k", "=", r"\,"))),
        (r"k=\=", Some(("k", "=", r"\="))),
        (r"k=\\\a\b\=\,\", Some(("k", "=", r"\\\a\b\=\,\"))),
        ("함=수", Some(("함", "=", "수"))),
    ];
    for (input, want) in cases {
        assert_eq!(split_term(input), *want, "{input:?}");
    }
}

// Upstream's TestEscapeValue.
#[test]
fn escaping_round_trips() {
    let cases = [("", ""), ("a", "a"), ("=", r"\="), (",", r"\,"), (r"\", r"\\"), (r"\=\,\", r"\\\=\\\,\\")];
    for (plain, escaped) in cases {
        assert_eq!(escape_value(plain), escaped);
        assert_eq!(unescape_value(escaped), Ok(plain.to_string()));
    }
    for bad in [r"\", r"\\\", r"\a"] {
        assert!(matches!(unescape_value(bad), Err(FieldSelectorError::InvalidEscapeSequence(_))), "{bad:?}");
    }
    assert_eq!(
        unescape_value(r"\a").map_err(|e| e.to_string()),
        Err(r"invalid field selector: invalid escape sequence: \a".to_string())
    );
    assert_eq!(
        unescape_value("a=b").map_err(|e| e.to_string()),
        Err("invalid field selector: unescaped character in value: 61".to_string())
    );
    assert_eq!(
        unescape_value("a,b").map_err(|e| e.to_string()),
        Err("invalid field selector: unescaped character in value: 44".to_string())
    );
}

// Upstream's TestSelectorParse.
#[test]
fn parse_and_print() {
    for s in ["x=a,y=b,z=c", "", "x!=a,y=b", r"x=a||y\=b", r"x=a\=\=b"] {
        assert_eq!(parse(s).to_string(), s);
    }
    for s in ["x=a||y=b", "x==a==b", "x=a,b", "x in (a)", "x in (a,b,c)", "x"] {
        assert!(Selector::parse(s).is_err(), "{s:?}");
    }
    assert_eq!(
        Selector::parse("x=a,b").map_err(|e| e.to_string()),
        Err("invalid selector: 'x=a,b'; can't understand 'b'".to_string())
    );
    assert_eq!(parse("b==2,a=1").to_string(), "a=1,b=2");
    assert_eq!(parse("a=1,,").to_string(), "a=1");
}

// Upstream's TestDeterministicParse.
#[test]
fn parse_is_deterministic() {
    assert_eq!(parse("x=a,a=x").to_string(), parse("a=x,x=a").to_string());
}

// Upstream's TestSelectorMatches, TestEverything, TestOneTermEqualSelector, TestSetMatches.
#[test]
fn matching() {
    let yes = |s: &str, f: &BTreeMap<String, String>| assert!(parse(s).matches(f), "{s}");
    let no = |s: &str, f: &BTreeMap<String, String>| assert!(!parse(s).matches(f), "{s}");
    yes("", &set(&[("x", "y")]));
    yes("x=y", &set(&[("x", "y")]));
    yes("x=y,z=w", &set(&[("x", "y"), ("z", "w")]));
    yes("x!=y,z!=w", &set(&[("x", "z"), ("z", "a")]));
    yes("notin=in", &set(&[("notin", "in")]));
    no("x=y", &set(&[("x", "z")]));
    no("x=y,z=w", &set(&[("x", "w"), ("z", "w")]));
    no("x!=y,z!=w", &set(&[("x", "z"), ("z", "w")]));
    let fieldset = set(&[("foo", "bar"), ("baz", "blah"), ("complex", r"=value\,\")]);
    yes("foo=bar", &fieldset);
    yes("baz=blah", &fieldset);
    yes("foo=bar,baz=blah", &fieldset);
    yes(r"foo=bar,baz=blah,complex=\=value\\\,\\", &fieldset);
    no("foo=blah", &fieldset);
    no("baz=bar", &fieldset);
    no("foo=bar,foobar=bar,baz=blah", &fieldset);
    // A missing field reads as empty.
    yes("missing=", &fieldset);

    assert!(Selector::everything().matches(&set(&[("x", "y")])));
    assert!(Selector::everything().is_empty());
    assert!(Selector::one_term_equal("x", "y").matches(&set(&[("x", "y")])));
    assert!(!Selector::one_term_equal("x", "y").matches(&set(&[("x", "z")])));
    assert!(Selector::one_term_not_equal("x", "y").matches(&set(&[("x", "z")])));
    let labelset = set(&[("foo", "bar"), ("baz", "blah")]);
    for s in [set(&[]), set(&[("foo", "bar")]), set(&[("baz", "blah")]), set(&[("foo", "bar"), ("baz", "blah")])] {
        assert!(Selector::from_set(&s).matches(&labelset));
    }
    for s in
        [set(&[("foo", "=blah")]), set(&[("baz", "=bar")]), set(&[("foo", "=bar"), ("foobar", "bar"), ("baz", "blah")])]
    {
        assert!(!Selector::from_set(&s).matches(&labelset));
    }
    assert!(!Selector::Nothing.matches(&labelset));
    assert!(!Selector::Nothing.is_empty());
    assert_eq!(Selector::and([Selector::one_term_equal("a", "b"), Selector::Nothing]), Selector::Nothing);
    assert_eq!(
        Selector::and([Selector::one_term_equal("a", "b"), Selector::one_term_not_equal("c", "d")]).to_string(),
        "a=b,c!=d"
    );
}

// Upstream's TestRequiresExactMatch.
#[test]
fn requires_exact_match() {
    assert_eq!(Selector::from_set(&set(&[])).requires_exact_match("test"), None);
    assert_eq!(Selector::one_term_equal("", "").requires_exact_match("test"), None);
    assert_eq!(Selector::one_term_equal("a", "b").requires_exact_match("test"), None);
    assert_eq!(Selector::one_term_equal("test", "b").requires_exact_match("test"), Some("b"));
    assert_eq!(Selector::one_term_equal("test", "").requires_exact_match("test"), Some(""));
    assert_eq!(Selector::one_term_not_equal("test", "b").requires_exact_match("test"), None);
    let and = Selector::and([Selector::one_term_equal("", ""), Selector::one_term_equal("test", "b")]);
    assert_eq!(and.requires_exact_match("test"), Some("b"));
}

// Upstream's TestTransform.
#[test]
fn transform() {
    let id = |f: &str, v: &str| Ok::<_, FieldSelectorError>((f.to_string(), v.to_string()));
    type Transform = Box<dyn Fn(&str, &str) -> Result<(String, String), FieldSelectorError>>;
    let cases: Vec<(&str, Transform, &str, bool)> = vec![
        ("", Box::new(id), "", true),
        ("a=b,c=d", Box::new(id), "a=b,c=d", false),
        (
            "a=b,c=d",
            Box::new(|f: &str, v: &str| if f == "a" { Ok(("e".into(), "f".into())) } else { Ok((f.into(), v.into())) }),
            "e=f,c=d",
            false,
        ),
        ("a=b", Box::new(|_: &str, _: &str| Ok((String::new(), String::new()))), "", true),
        (
            "a=b,c=d,e=f",
            Box::new(
                |f: &str, v: &str| {
                    if f == "c" { Ok((String::new(), String::new())) } else { Ok((f.into(), v.into())) }
                },
            ),
            "a=b,e=f",
            false,
        ),
    ];
    for (selector, f, want, empty) in cases {
        let s = match Selector::parse_and_transform(selector, |a, b| f(a, b)) {
            Ok(s) => s,
            Err(e) => panic!("{selector}: {e}"),
        };
        assert_eq!(s.to_string(), want);
        assert_eq!(s.is_empty(), empty);
    }
}

#[test]
fn refusing_unsupported_fields() {
    let s = parse("spec.foo=bar,metadata.name=x");
    let used: Vec<&str> = s.requirements().iter().map(|r| r.field.as_str()).collect();
    assert_eq!(used, ["metadata.name", "spec.foo"]);
    let supported = |f: &str, v: &str| match f {
        "metadata.name" | "metadata.namespace" | "status.phase" => Ok((f.to_string(), v.to_string())),
        _ => Err(FieldLabelError::NotSupported(f.to_string())),
    };
    assert_eq!(
        s.transform(supported).map_err(|e| e.to_string()),
        Err("field label not supported: spec.foo".to_string())
    );
    assert_eq!(
        s.transform(default_meta_v1_field_selector_conversion).map_err(|e| e.to_string()),
        Err(r#""spec.foo" is not a known field selector: only "metadata.name", "metadata.namespace""#.to_string())
    );
}
