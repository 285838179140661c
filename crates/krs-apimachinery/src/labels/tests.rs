//! Upstream's selector_test.go and labels_test.go tables, as facts about this port.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

use super::*;
use crate::validation::ErrorType;

fn set(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn req(key: &str, op: Operator, values: &[&str]) -> Requirement {
    match Requirement::new(key, op, values.iter().map(|s| s.to_string()).collect()) {
        Ok(r) => r,
        Err(e) => panic!("requirement {key}: {e}"),
    }
}

fn parse(s: &str) -> Selector {
    match Selector::parse(s) {
        Ok(sel) => sel,
        Err(e) => panic!("{s:?} should parse: {e}"),
    }
}

// Upstream's TestSelectorParse: good strings print back without spaces.
#[test]
fn parse_and_print() {
    for s in ["x=a,y=b,z=c", "", "x!=a,y=b", "x=", "x= ", "x=,z= ", "x= ,z= ", "!x", "x>1", "x>1,z<5"] {
        assert_eq!(parse(s).to_string(), s.replace(' ', ""), "{s:?}");
    }
    for s in ["x=a||y=b", "x==a==b", "!x=a", "x<a"] {
        assert!(Selector::parse(s).is_err(), "{s:?} should not parse");
    }
}

// Upstream's TestDeterministicParse.
#[test]
fn parse_is_deterministic() {
    assert_eq!(parse("x=a,a=x").to_string(), parse("a=x,x=a").to_string());
    assert_eq!(parse("x=a,a=x").to_string(), "a=x,x=a");
}

// Upstream's TestSelectorMatches.
#[test]
fn matching() {
    let yes = |s: &str, l: &[(&str, &str)]| assert!(parse(s).matches(&set(l)), "{s} should match {l:?}");
    let no = |s: &str, l: &[(&str, &str)]| assert!(!parse(s).matches(&set(l)), "{s} should not match {l:?}");
    yes("", &[("x", "y")]);
    yes("x=y", &[("x", "y")]);
    yes("x=y,z=w", &[("x", "y"), ("z", "w")]);
    yes("x!=y,z!=w", &[("x", "z"), ("z", "a")]);
    yes("notin=in", &[("notin", "in")]);
    yes("x", &[("x", "z")]);
    yes("!x", &[("y", "z")]);
    yes("x>1", &[("x", "2")]);
    yes("x<1", &[("x", "0")]);
    no("x=z", &[]);
    no("x=y", &[("x", "z")]);
    no("x=y,z=w", &[("x", "w"), ("z", "w")]);
    no("x!=y,z!=w", &[("x", "z"), ("z", "w")]);
    no("x", &[("y", "z")]);
    no("!x", &[("x", "z")]);
    no("x>1", &[("x", "0")]);
    no("x<1", &[("x", "2")]);
    let labelset = [("foo", "bar"), ("baz", "blah")];
    yes("foo=bar", &labelset);
    yes("baz=blah", &labelset);
    yes("foo=bar,baz=blah", &labelset);
    no("foo=blah", &labelset);
    no("baz=bar", &labelset);
    no("foo=bar,foobar=bar,baz=blah", &labelset);
}

// Upstream's TestEverything, TestNilMapIsValid, TestSetIsEmpty, TestSetMatches.
#[test]
fn everything_and_sets() {
    assert!(Selector::everything().matches(&set(&[("x", "y")])));
    assert!(Selector::everything().is_empty());
    assert!(Selector::from_set(&BTreeMap::new()).is_empty());
    let labelset = set(&[("foo", "bar"), ("baz", "blah")]);
    for s in [set(&[]), set(&[("foo", "bar")]), set(&[("baz", "blah")]), set(&[("foo", "bar"), ("baz", "blah")])] {
        assert!(Selector::from_set(&s).matches(&labelset));
    }
    assert!(!Selector::Nothing.matches(&labelset));
    assert!(!Selector::Nothing.is_empty());
    assert_eq!(Selector::Nothing.to_string(), "");
    assert_eq!(Selector::from_set(&set(&[("app", "foo"), ("a", "b")])).to_string(), "a=b,app=foo");
    // Absent labels are no labels.
    assert!(parse("!x").matches(&None::<BTreeMap<String, String>>));
    let hash: std::collections::HashMap<String, String> = [("x".to_string(), "y".to_string())].into();
    assert!(parse("x=y").matches(&hash));
}

// Upstream's TestRequirementConstructor, with the messages.
#[test]
fn requirement_constructor() {
    let errs = |key: &str, op: Operator, vals: &[&str]| -> Vec<(ErrorType, String, String)> {
        match Requirement::new(key, op, vals.iter().map(|s| s.to_string()).collect()) {
            Ok(_) => Vec::new(),
            Err(list) => list.iter().map(|e| (e.error_type, e.field.clone(), e.bad_value.to_string())).collect(),
        }
    };
    let inv = |f: &str, v: &str| vec![(ErrorType::Invalid, f.to_string(), v.to_string())];
    assert_eq!(errs("x1", Operator::In, &[]), inv("values", "[]"));
    assert_eq!(errs("x2", Operator::NotIn, &[]), inv("values", "[]"));
    assert_eq!(errs("x3", Operator::In, &["foo"]), vec![]);
    assert_eq!(errs("x4", Operator::NotIn, &["foo"]), vec![]);
    assert_eq!(errs("x5", Operator::Equals, &["bar", "foo"]), inv("values", r#"["bar","foo"]"#));
    assert_eq!(errs("x6", Operator::Exists, &[]), vec![]);
    assert_eq!(errs("x7", Operator::DoesNotExist, &[]), vec![]);
    assert_eq!(errs("x8", Operator::Exists, &["foo"]), inv("values", r#"["foo"]"#));
    assert_eq!(errs("x11", Operator::GreaterThan, &["1"]), vec![]);
    assert_eq!(errs("x12", Operator::LessThan, &["6"]), vec![]);
    assert_eq!(errs("x13", Operator::GreaterThan, &[]), inv("values", "[]"));
    assert_eq!(errs("x14", Operator::GreaterThan, &["bar"]), inv("values[0]", r#""bar""#));
    assert_eq!(errs("x15", Operator::LessThan, &["bar"]), inv("values[0]", r#""bar""#));
    let long = "a".repeat(254);
    assert_eq!(errs(&long, Operator::Exists, &[]), inv("key", &format!("{long:?}")));
    assert_eq!(errs("x16", Operator::Equals, &[&long]), inv("values[0][x16]", &format!("{long:?}")));
    assert_eq!(errs("x17", Operator::Equals, &["a b"]), inv("values[0][x17]", r#""a b""#));

    let details = |key: &str, op: Operator, vals: &[&str]| match Requirement::new(
        key,
        op,
        vals.iter().map(|s| s.to_string()).collect(),
    ) {
        Ok(_) => String::new(),
        Err(list) => list.to_string(),
    };
    assert_eq!(
        details("x", Operator::In, &[]),
        "values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty"
    );
    assert_eq!(
        details("x", Operator::Exists, &["a"]),
        r#"values: Invalid value: ["a"]: values set must be empty for exists and does not exist"#
    );
    assert_eq!(
        details("x", Operator::GreaterThan, &["a", "b"]),
        r#"[values: Invalid value: ["a","b"]: for 'Gt', 'Lt' operators, exactly one value is required, values[0]: Invalid value: "a": for 'Gt', 'Lt' operators, the value must be an integer, values[1]: Invalid value: "b": for 'Gt', 'Lt' operators, the value must be an integer]"#
    );
    assert_eq!(
        details(&long, Operator::Exists, &[]),
        format!("key: Invalid value: {long:?}: name part must be no more than 63 characters")
    );
}

// Upstream's TestToString.
#[test]
fn requirement_strings() {
    let sel = |rs: Vec<Requirement>| Selector::Requirements(rs).to_string();
    assert_eq!(
        sel(vec![
            req("x", Operator::In, &["abc", "def"]),
            req("y", Operator::NotIn, &["jkl"]),
            req("z", Operator::Exists, &[]),
        ]),
        "x in (abc,def),y notin (jkl),z"
    );
    assert_eq!(
        sel(vec![
            req("x", Operator::NotIn, &["abc", "def"]),
            req("y", Operator::NotEquals, &["jkl"]),
            req("z", Operator::DoesNotExist, &[]),
        ]),
        "x notin (abc,def),y!=jkl,!z"
    );
    assert_eq!(
        sel(vec![
            req("x", Operator::NotIn, &["abc"]),
            req("y", Operator::In, &["jkl", "mno"]),
            req("z", Operator::NotIn, &[""]),
        ]),
        "x notin (abc),y in (jkl,mno),z notin ()"
    );
    assert_eq!(
        sel(vec![
            req("x", Operator::Equals, &["abc"]),
            req("y", Operator::DoubleEquals, &["jkl"]),
            req("z", Operator::NotEquals, &["a"]),
            req("z", Operator::Exists, &[]),
        ]),
        "x=abc,y==jkl,z!=a,z"
    );
    assert_eq!(
        sel(vec![
            req("x", Operator::GreaterThan, &["2"]),
            req("y", Operator::LessThan, &["8"]),
            req("z", Operator::Exists, &[]),
        ]),
        "x>2,y<8,z"
    );
    // Values print sorted, duplicates kept, without changing the requirement.
    let r = req("k", Operator::In, &["foo", "bar", "foo", "bar"]);
    assert_eq!(r.to_string(), "k in (bar,bar,foo,foo)");
    assert_eq!(r.values(), ["foo", "bar", "foo", "bar"]);
}

// Upstream's TestRequirementSelectorMatching.
#[test]
fn requirement_matching() {
    let sel = |rs: Vec<Requirement>| Selector::Requirements(rs);
    let xy = set(&[("x", "foo"), ("y", "baz")]);
    assert!(sel(vec![req("x", Operator::In, &["foo"]), req("y", Operator::NotIn, &["alpha"])]).matches(&xy));
    assert!(!sel(vec![req("x", Operator::In, &["foo"]), req("y", Operator::In, &["alpha"])]).matches(&xy));
    let y = set(&[("y", "")]);
    assert!(sel(vec![req("x", Operator::NotIn, &[""]), req("y", Operator::Exists, &[])]).matches(&y));
    assert!(sel(vec![req("x", Operator::DoesNotExist, &[]), req("y", Operator::Exists, &[])]).matches(&y));
    assert!(!sel(vec![req("x", Operator::NotIn, &[""]), req("y", Operator::DoesNotExist, &[])]).matches(&y));
    assert!(!sel(vec![req("x", Operator::In, &[""])]).matches(&set(&[("y", "baz")])));
    assert!(sel(vec![req("z", Operator::GreaterThan, &["1"])]).matches(&set(&[("z", "2")])));
    assert!(!sel(vec![req("z", Operator::GreaterThan, &["1"])]).matches(&set(&[("z", "v2")])));
    // Gt/Lt compare as integers, not strings. Signed values are not label values, so only an
    // unchecked requirement can hold one; matching still parses them as integers.
    assert!(req("cpu", Operator::GreaterThan, &["9"]).matches(&set(&[("cpu", "10")])));
    assert!(!req("cpu", Operator::LessThan, &["9"]).matches(&set(&[("cpu", "10")])));
    assert!(Requirement::new_unchecked("cpu", Operator::LessThan, vec!["-1".into()]).matches(&set(&[("cpu", "-5")])));
    assert!(Requirement::new(String::from("cpu"), Operator::LessThan, vec!["-1".into()]).is_err());
    assert!(
        !Requirement::new_unchecked("cpu", Operator::GreaterThan, vec!["1".into(), "2".into()])
            .matches(&set(&[("cpu", "10")]))
    );
}

// Upstream's TestSetSelectorParser: (input, expected requirements or None when it should fail).
#[test]
fn set_selector_parser() {
    use Operator::*;
    let ok: Vec<(&str, Vec<Requirement>)> = vec![
        ("", vec![]),
        ("\rx", vec![req("x", Exists, &[])]),
        ("this-is-a-dns.domain.com/key-with-dash", vec![req("this-is-a-dns.domain.com/key-with-dash", Exists, &[])]),
        (
            "this-is-another-dns.domain.com/key-with-dash in (so,what)",
            vec![req("this-is-another-dns.domain.com/key-with-dash", In, &["so", "what"])],
        ),
        (
            "0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
            vec![req("0.1.2.domain/99", NotIn, &["10.10.100.1", "tick.tack.clock"])],
        ),
        ("foo  in\t (abc)", vec![req("foo", In, &["abc"])]),
        ("x notin\n (abc)", vec![req("x", NotIn, &["abc"])]),
        ("x  notin\t\t\t(abc,def)", vec![req("x", NotIn, &["abc", "def"])]),
        ("x in (abc,def)", vec![req("x", In, &["abc", "def"])]),
        ("x in (abc,)", vec![req("x", In, &["", "abc"])]),
        ("x in ()", vec![req("x", In, &[""])]),
        (
            "x notin (abc,,def),bar,z in (),w",
            vec![
                req("bar", Exists, &[]),
                req("w", Exists, &[]),
                req("x", NotIn, &["", "abc", "def"]),
                req("z", In, &[""]),
            ],
        ),
        ("x,y in (a)", vec![req("x", Exists, &[]), req("y", In, &["a"])]),
        ("x=a", vec![req("x", Equals, &["a"])]),
        ("x>1", vec![req("x", GreaterThan, &["1"])]),
        ("x<7", vec![req("x", LessThan, &["7"])]),
        ("x=a,y!=b", vec![req("x", Equals, &["a"]), req("y", NotEquals, &["b"])]),
        (
            "x=a,y!=b,z in (h,i,j)",
            vec![req("x", Equals, &["a"]), req("y", NotEquals, &["b"]), req("z", In, &["h", "i", "j"])],
        ),
        ("x notin ( )", vec![req("x", NotIn, &[""])]),
        ("x notin (, a)", vec![req("x", NotIn, &["", "a"])]),
        ("a ", vec![req("a", Exists, &[])]),
        ("a in (x,y,notin, z,in)", vec![req("a", In, &["in", "notin", "x", "y", "z"])]),
    ];
    for (input, want) in ok {
        assert_eq!(parse(input), Selector::Requirements(want), "{input:?}");
    }
    for bad in [
        "x=a||y=b",
        "x,,y",
        ",x,y",
        "x nott in (y)",
        "a in (xyz),",
        "a in (xyz)b notin ()",
        "a in (xyz abc)",
        "a notin(",
        "a (",
        "(",
    ] {
        assert!(Selector::parse(bad).is_err(), "{bad:?} should not parse");
    }
}

// The messages of parse failures, as the API server returns them in a BadRequest.
#[test]
fn parse_error_messages() {
    let msg = |s: &str| match Selector::parse(s) {
        Ok(sel) => panic!("{s:?} parsed as {sel}"),
        Err(e) => e.to_string(),
    };
    assert_eq!(msg("a in x"), "unable to parse requirement: found 'x' expected: '('");
    assert_eq!(msg("a b"), "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt");
    assert_eq!(msg("x=a b"), "found 'b', expected: ',' or 'end of string'");
    assert_eq!(msg("x,,y"), "found ',', expected: identifier after ','");
    assert_eq!(msg(",x"), "found ',', expected: !, identifier, or 'end of string'");
    assert_eq!(msg("a in (xyz abc)"), "unable to parse requirement: found 'abc', expected: ',' or ')'");
    assert_eq!(msg("a notin("), "unable to parse requirement: found '', expected: ',', ')' or identifier");
    assert_eq!(msg("a in (x,=)"), "unable to parse requirement: found '=', expected: ',', or identifier");
    assert_eq!(msg("a in (x"), "unable to parse requirement: found '', expected: ',' or ')'");
    assert_eq!(msg("!!a"), "unable to parse requirement: found '!', expected: identifier");
    assert_eq!(msg("!=a"), "found '!=', expected: !, identifier, or 'end of string'");
    assert_eq!(
        msg("x/y/z"),
        "unable to parse requirement: <nil>: Invalid value: \"x/y/z\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
    );
    assert_eq!(
        msg("x=a@b"),
        "unable to parse requirement: values[0][x]: Invalid value: \"a@b\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
    );
    assert_eq!(
        msg("x<a"),
        r#"unable to parse requirement: values[0]: Invalid value: "a": for 'Gt', 'Lt' operators, the value must be an integer"#
    );
    let with_path = Selector::parse_with_path("x=a@b", &crate::validation::Path::new("labelSelector"));
    assert!(
        matches!(&with_path, Err(ParseError::InvalidRequirement(list)) if list[0].field == "labelSelector.values[0][x]")
    );
}

// Upstream's TestAdd.
#[test]
fn add_keeps_key_order() {
    let s = Selector::everything().add([req("key", Operator::In, &["value"])]);
    assert_eq!(s, Selector::Requirements(vec![req("key", Operator::In, &["value"])]));
    let s = s.add([req("key2", Operator::Equals, &["value2"])]);
    assert_eq!(s.to_string(), "key in (value),key2=value2");
    let s = s.add([req("a", Operator::Exists, &[])]);
    assert_eq!(s.to_string(), "a,key in (value),key2=value2");
    assert_eq!(Selector::Nothing.add([req("a", Operator::Exists, &[])]), Selector::Nothing);
}

// Upstream's TestRequiresExactMatch.
#[test]
fn requires_exact_match() {
    let u = |k: &str, op: Operator, v: &[&str]| {
        Requirement::new_unchecked(k, op, v.iter().map(|s| s.to_string()).collect())
    };
    let sel = |rs: Vec<Requirement>| Selector::Requirements(rs);
    assert_eq!(sel(vec![u("key", Operator::In, &["value"])]).requires_exact_match("key"), Some("value"));
    assert_eq!(sel(vec![u("key", Operator::In, &["value", "value2"])]).requires_exact_match("key"), None);
    assert_eq!(
        sel(vec![u("key", Operator::In, &["value", "value1"]), u("key2", Operator::In, &["value2"])])
            .requires_exact_match("key2"),
        Some("value2")
    );
    assert_eq!(sel(vec![u("key", Operator::Equals, &["value"])]).requires_exact_match("key"), Some("value"));
    assert_eq!(sel(vec![u("key", Operator::DoubleEquals, &["value"])]).requires_exact_match("key"), Some("value"));
    assert_eq!(sel(vec![u("key", Operator::NotEquals, &["value"])]).requires_exact_match("key"), None);
    assert_eq!(Selector::Nothing.requires_exact_match("key"), None);
}

// Upstream's TestValidatedSelectorFromSet.
#[test]
fn validated_from_set() {
    let s = Selector::validated_from_set(&set(&[("key", "val")]));
    assert_eq!(s, Ok(Selector::Requirements(vec![req("key", Operator::Equals, &["val"])])));
    let bad = "axahm2EJ8Phiephe2eixohbee9eGeiyees1thuozi1xoh0GiuH3diewi8iem7Nui";
    let errs = Selector::validated_from_set(&set(&[("Key", bad)])).err().unwrap_or_default();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].field, "values[0][Key]");
    assert_eq!(errs[0].bad_value.to_string(), format!("{bad:?}"));
}

// Upstream's TestMatchesNothing.
#[test]
fn matches_nothing() {
    assert!(Selector::Nothing.matches_nothing());
    assert!(!Selector::everything().matches_nothing());
    assert!(!Selector::from_set(&set(&[("key", "value")])).matches_nothing());
    for s in ["", "a", "!a", "a=b", "a!=b", "a in (b)", "a notin (b)", "a,!a", "a=b,a!=b", "a in (b),a notin (b)"] {
        assert!(!parse(s).matches_nothing(), "{s}");
    }
}

#[test]
fn from_label_selector() {
    let expr = |key: &str, op: &str, values: Option<&[&str]>| LabelSelectorRequirement {
        key: key.into(),
        operator: op.into(),
        values: values.map(|v| v.iter().map(|s| s.to_string()).collect()),
    };
    let ls = LabelSelector {
        match_labels: Some(set(&[("app", "web")])),
        match_expressions: Some(vec![
            expr("tier", "In", Some(&["fe", "be"])),
            expr("env", "NotIn", Some(&["dev"])),
            expr("canary", "Exists", None),
            expr("legacy", "DoesNotExist", Some(&[])),
        ]),
    };
    let s = Selector::from_label_selector(Some(&ls)).unwrap_or(Selector::Nothing);
    assert_eq!(s.to_string(), "app=web,canary,env notin (dev),!legacy,tier in (be,fe)");
    assert!(s.matches(&set(&[("app", "web"), ("tier", "fe"), ("canary", "")])));
    assert!(!s.matches(&set(&[("app", "web"), ("tier", "fe")])));

    let empty = LabelSelector { match_labels: Some(BTreeMap::new()), match_expressions: Some(vec![]) };
    assert_eq!(Selector::from_label_selector(Some(&empty)), Ok(Selector::everything()));
    assert_eq!(Selector::from_label_selector(None), Ok(Selector::Nothing));

    let bad_op = LabelSelector { match_expressions: Some(vec![expr("a", "Gt", Some(&["1"]))]), ..Default::default() };
    assert_eq!(
        Selector::from_label_selector(Some(&bad_op)).map_err(|e| e.to_string()),
        Err(r#""Gt" is not a valid label selector operator"#.to_string())
    );
    let no_values = LabelSelector { match_expressions: Some(vec![expr("a", "In", None)]), ..Default::default() };
    assert_eq!(
        Selector::from_label_selector(Some(&no_values)).map_err(|e| e.to_string()),
        Err("values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty".to_string())
    );
    let bad_label = LabelSelector { match_labels: Some(set(&[("a", "b c")])), ..Default::default() };
    assert!(matches!(
        Selector::from_label_selector(Some(&bad_label)),
        Err(LabelSelectorError::InvalidRequirement(list)) if list[0].field == "values[0][a]"
    ));
}

#[test]
fn node_affinity_operators() {
    assert_eq!(Operator::from_node_selector_operator("Gt"), Some(Operator::GreaterThan));
    assert_eq!(Operator::from_node_selector_operator("Lt"), Some(Operator::LessThan));
    assert_eq!(Operator::from_node_selector_operator("In"), Some(Operator::In));
    assert_eq!(Operator::from_label_selector_operator("Gt"), None);
    assert_eq!(Operator::NotIn.as_str(), "notin");
}

// Upstream's labels_test.go: FormatLabels and Conflicts.
#[test]
fn label_helpers() {
    assert_eq!(format_labels(&set(&[])), "<none>");
    assert_eq!(format_labels(&set(&[("foo", "bar"), ("baz", "qup")])), "baz=qup,foo=bar");
    assert_eq!(format_labels(&set(&[("a", "2"), ("a.b", "1")])), "a.b=1,a=2");
    assert!(conflicts(&set(&[("a", "1")]), &set(&[("a", "2")])));
    assert!(!conflicts(&set(&[("a", "1")]), &set(&[("a", "1"), ("b", "2")])));
    assert!(!conflicts(&set(&[("a", "1")]), &set(&[("b", "1")])));
}
