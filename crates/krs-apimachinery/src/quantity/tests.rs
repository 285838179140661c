//! Upstream's quantity_test.go tables, as facts about this port.

use super::*;
use Format::{BinarySI, DecimalExponent, DecimalSI};

/// `i × 10^exp` in `format` (upstream's `decQuantity`/`intQuantity`).
fn q(i: i64, exp: i64, format: Format) -> Quantity {
    Quantity { value: Decimal::from_i64(i, exp), format, cached: None }
}

fn parse(s: &str) -> Quantity {
    match Quantity::parse(s) {
        Ok(q) => q,
        Err(e) => panic!("{s:?} should parse: {e}"),
    }
}

const MAX: i64 = i64::MAX;
const MIN: i64 = i64::MIN;

/// Upstream's TestQuantityParse table: (input, value, format).
fn parse_table() -> Vec<(&'static str, Quantity)> {
    vec![
        ("0", q(0, 0, DecimalSI)),
        ("0n", q(0, 0, DecimalSI)),
        ("0u", q(0, 0, DecimalSI)),
        ("0m", q(0, 0, DecimalSI)),
        ("0Ki", q(0, 0, BinarySI)),
        ("0k", q(0, 0, DecimalSI)),
        ("0Mi", q(0, 0, BinarySI)),
        ("0M", q(0, 0, DecimalSI)),
        ("0Gi", q(0, 0, BinarySI)),
        ("0G", q(0, 0, DecimalSI)),
        ("0Ti", q(0, 0, BinarySI)),
        ("0T", q(0, 0, DecimalSI)),
        ("1", q(1, 0, DecimalSI)),
        ("1Ki", q(1024, 0, BinarySI)),
        ("8Ki", q(8 * 1024, 0, BinarySI)),
        ("7Mi", q(7 << 20, 0, BinarySI)),
        ("6Gi", q(6 << 30, 0, BinarySI)),
        ("5Ti", q(5 << 40, 0, BinarySI)),
        ("4Pi", q(4 << 50, 0, BinarySI)),
        ("3Ei", q(3 << 60, 0, BinarySI)),
        ("10Ti", q(10 << 40, 0, BinarySI)),
        ("100Ti", q(100 << 40, 0, BinarySI)),
        ("5n", q(5, -9, DecimalSI)),
        ("4u", q(4, -6, DecimalSI)),
        ("3m", q(3, -3, DecimalSI)),
        ("9", q(9, 0, DecimalSI)),
        ("8k", q(8, 3, DecimalSI)),
        ("50k", q(5, 4, DecimalSI)),
        ("7M", q(7, 6, DecimalSI)),
        ("6G", q(6, 9, DecimalSI)),
        ("5T", q(5, 12, DecimalSI)),
        ("40T", q(4, 13, DecimalSI)),
        ("300T", q(3, 14, DecimalSI)),
        ("2P", q(2, 15, DecimalSI)),
        ("1E", q(1, 18, DecimalSI)),
        ("1E-3", q(1, -3, DecimalExponent)),
        ("1e3", q(1, 3, DecimalExponent)),
        ("1E6", q(1, 6, DecimalExponent)),
        ("1e9", q(1, 9, DecimalExponent)),
        ("1E12", q(1, 12, DecimalExponent)),
        ("1e15", q(1, 15, DecimalExponent)),
        ("1E18", q(1, 18, DecimalExponent)),
        ("1e14", q(1, 14, DecimalExponent)),
        ("1e13", q(1, 13, DecimalExponent)),
        ("100.035k", q(100035, 0, DecimalSI)),
        ("0.001", q(1, -3, DecimalSI)),
        ("0.0005k", q(5, -1, DecimalSI)),
        ("0.005", q(5, -3, DecimalSI)),
        ("0.05", q(5, -2, DecimalSI)),
        ("0.5", q(5, -1, DecimalSI)),
        ("0.00050k", q(5, -1, DecimalSI)),
        ("0.00500", q(5, -3, DecimalSI)),
        ("0.05000", q(5, -2, DecimalSI)),
        ("0.50000", q(5, -1, DecimalSI)),
        ("0.5e0", q(5, -1, DecimalExponent)),
        ("0.5e-1", q(5, -2, DecimalExponent)),
        ("0.5e-2", q(5, -3, DecimalExponent)),
        ("10.035M", q(10035, 3, DecimalSI)),
        ("1.2e3", q(12, 2, DecimalExponent)),
        ("1.3E+6", q(13, 5, DecimalExponent)),
        ("1.40e9", q(14, 8, DecimalExponent)),
        ("1.53E12", q(153, 10, DecimalExponent)),
        ("1.6e15", q(16, 14, DecimalExponent)),
        ("1.7E18", q(17, 17, DecimalExponent)),
        ("9.01", q(901, -2, DecimalSI)),
        ("8.1k", q(81, 2, DecimalSI)),
        ("7.123456M", q(7123456, 0, DecimalSI)),
        ("6.987654321G", q(6987654321, 0, DecimalSI)),
        ("5.444T", q(5444, 9, DecimalSI)),
        ("40.1T", q(401, 11, DecimalSI)),
        ("300.2T", q(3002, 11, DecimalSI)),
        ("2.5P", q(25, 14, DecimalSI)),
        ("1.01E", q(101, 16, DecimalSI)),
        ("3.001n", q(4, -9, DecimalSI)),
        ("1.1E-9", q(2, -9, DecimalExponent)),
        ("0.0000000001", q(1, -9, DecimalSI)),
        ("0.0000000005", q(1, -9, DecimalSI)),
        ("0.00000000050", q(1, -9, DecimalSI)),
        ("0.5e-9", q(1, -9, DecimalExponent)),
        ("0.9n", q(1, -9, DecimalSI)),
        ("0.00000012345", q(124, -9, DecimalSI)),
        ("0.00000012354", q(124, -9, DecimalSI)),
        ("9Ei", q(MAX, 0, BinarySI)),
        ("9223372036854775807Ki", q(MAX, 0, BinarySI)),
        ("12E", q(12, 18, DecimalSI)),
        ("100.035Ki", q(10243584, -2, BinarySI)),
        ("0.5Mi", q(512 * 1024, 0, BinarySI)),
        ("0.05Gi", q(536870912, -1, BinarySI)),
        ("0.025Ti", q(274877906944, -1, BinarySI)),
        ("0.000000000001Ki", q(2, -9, DecimalSI)),
        (".001", q(1, -3, DecimalSI)),
        (".0001k", q(100, -3, DecimalSI)),
        ("1.", q(1, 0, DecimalSI)),
        ("1.G", q(1, 9, DecimalSI)),
    ]
}

#[test]
fn parse_values_and_formats() {
    assert_eq!(Quantity::parse(""), Err(QuantityError::FormatWrong));
    for (input, want) in parse_table() {
        let got = parse(input);
        assert_eq!(got, want, "{input}: got {got}, want {want}");
        assert_eq!(got.format(), want.format(), "{input}");
        // The same with a sign: the value negates, the notation stays.
        let negative = parse(&format!("-{input}"));
        assert_eq!(negative, -want.clone(), "-{input}");
        assert_eq!(negative.format(), want.format(), "-{input}");
        let positive = parse(&format!("+{input}"));
        assert_eq!(positive, want, "+{input}");
        assert_eq!(positive.format(), want.format(), "+{input}");
    }
}

#[test]
fn parse_errors() {
    for bad in ["1.1.M", "1+1.0M", "0.1mi", "0.1am", "aoeu", ".5i", "1i", "-3.01i", "-3.01e-", " 1", "1 "] {
        assert!(Quantity::parse(bad).is_err(), "{bad:?} parsed");
    }
    let msg = |s: &str| Quantity::parse(s).map(|q| q.to_string()).map_err(|e| e.to_string());
    assert_eq!(
        msg("1 "),
        Err("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'".to_string())
    );
    assert_eq!(msg("1mi"), Err("unable to parse quantity's suffix".to_string()));
    assert_eq!(msg("1e"), Err("unable to parse quantity's suffix".to_string()));
    assert_eq!(msg("1ee3"), Err("unable to parse quantity's suffix".to_string()));
    // A number without digits is zero on the fast path, and an error where upstream needs to
    // parse it as a decimal (tiny exponents, large binary suffixes).
    assert_eq!(msg("."), Ok("0".to_string()));
    assert_eq!(msg("+"), Ok("0".to_string()));
    assert_eq!(msg("Ki"), Ok("0".to_string()));
    assert_eq!(msg(".e-10"), Err("unable to parse numeric part of quantity".to_string()));
    assert_eq!(msg("Pi"), Err("unable to parse numeric part of quantity".to_string()));
}

// Upstream's TestQuantityRoundUp.
#[test]
fn round_up() {
    let cases = [
        ("9.01", -3, q(901, -2, DecimalSI), true),
        ("9.01", -2, q(901, -2, DecimalSI), true),
        ("9.01", -1, q(91, -1, DecimalSI), false),
        ("9.01", 0, q(10, 0, DecimalSI), false),
        ("9.01", 1, q(10, 0, DecimalSI), false),
        ("9.01", 2, q(100, 0, DecimalSI), false),
        ("-9.01", -3, q(-901, -2, DecimalSI), true),
        ("-9.01", -2, q(-901, -2, DecimalSI), true),
        ("-9.01", -1, q(-91, -1, DecimalSI), false),
        ("-9.01", 0, q(-10, 0, DecimalSI), false),
        ("-9.01", 1, q(-10, 0, DecimalSI), false),
        ("-9.01", 2, q(-100, 0, DecimalSI), false),
    ];
    for (input, scale, want, exact) in cases {
        let mut got = parse(input);
        assert_eq!(got.round_up(Scale(scale)), exact, "{input} at {scale}");
        assert_eq!(got, want, "{input} at {scale}: {got}");
    }
}

// Upstream's TestQuantityCmpInt64AndDec and TestQuantityCmp.
#[test]
fn compare() {
    let e18 = 1_000_000_000_000_000_000;
    let cases = [
        (q(901, -2, DecimalSI), q(901, -2, DecimalSI), Ordering::Equal),
        (q(90, -1, DecimalSI), q(901, -2, DecimalSI), Ordering::Less),
        (q(901, -2, DecimalSI), q(900, -2, DecimalSI), Ordering::Greater),
        (q(0, 0, DecimalSI), q(0, 0, DecimalSI), Ordering::Equal),
        (q(0, 1, DecimalSI), q(0, -1, DecimalSI), Ordering::Equal),
        (q(0, -1, DecimalSI), q(0, 1, DecimalSI), Ordering::Equal),
        (q(800, -3, DecimalSI), q(1, 0, DecimalSI), Ordering::Less),
        (q(800, -3, DecimalSI), q(79, -2, DecimalSI), Ordering::Greater),
        (q(MAX, 0, DecimalSI), q(1, -1, DecimalSI), Ordering::Greater),
        (q(MAX, 1, DecimalSI), q(1, 0, DecimalSI), Ordering::Greater),
        (q(MAX, 1, DecimalSI), q(1, 1, DecimalSI), Ordering::Greater),
        (q(MAX, 1, DecimalSI), q(0, 1, DecimalSI), Ordering::Greater),
        (q(MAX, -16, DecimalSI), q(1, 3, DecimalSI), Ordering::Less),
        (q(MIN, 0, DecimalSI), q(0, 0, DecimalSI), Ordering::Less),
        (q(MIN, -18, DecimalSI), q(-1, 0, DecimalSI), Ordering::Less),
        (q(MIN, -19, DecimalSI), q(-1, 0, DecimalSI), Ordering::Greater),
        (q(e18, -17, DecimalSI), q(1, 1, DecimalSI), Ordering::Equal),
        (q(e18, -17, DecimalSI), q(-10, 0, DecimalSI), Ordering::Greater),
        (q(-e18, -17, DecimalSI), q(-10, 0, DecimalSI), Ordering::Equal),
        (q(e18, -17, DecimalSI), q(1, 0, DecimalSI), Ordering::Greater),
        (q(e18 + 1, -17, DecimalSI), q(1, 1, DecimalSI), Ordering::Greater),
        (q(e18 - 1, -17, DecimalSI), q(1, 1, DecimalSI), Ordering::Less),
    ];
    for (a, b, want) in cases {
        assert_eq!(a.cmp(&b), want, "{a} vs {b}");
        assert_eq!(b.cmp(&a), want.reverse(), "{b} vs {a}");
    }
    for (x, y, want) in [
        ("0", "0", Ordering::Equal),
        ("100m", "50m", Ordering::Greater),
        ("50m", "100m", Ordering::Less),
        ("10000T", "100Gi", Ordering::Greater),
    ] {
        assert_eq!(parse(x).cmp(&parse(y)), want, "{x} vs {y}");
    }
    assert_eq!(parse("1Ki"), parse("1024"));
    assert_eq!(parse("1500m").cmp_i64(1), Ordering::Greater);
    assert_eq!(parse("-1500m").cmp_i64(-1), Ordering::Less);
}

/// Upstream's TestQuantityString table: (quantity, canonical string, an alternate spelling).
fn string_table() -> Vec<(Quantity, &'static str, &'static str)> {
    vec![
        (q(1 << 30, 0, BinarySI), "1Gi", "1024Mi"),
        (q(300 << 20, 0, BinarySI), "300Mi", "307200Ki"),
        (q(6 * 1024, 0, BinarySI), "6Ki", ""),
        (q(1001 << 30, 0, BinarySI), "1001Gi", "1025024Mi"),
        (q(1 << 40, 0, BinarySI), "1Ti", "1024Gi"),
        (q(5, 0, BinarySI), "5", "5000m"),
        (q(500, -3, BinarySI), "500m", "0.5"),
        (q(1, 9, DecimalSI), "1G", "1000M"),
        (q(1000, 6, DecimalSI), "1G", "0.001T"),
        (q(1000000, 3, DecimalSI), "1G", ""),
        (q(1000000000, 0, DecimalSI), "1G", ""),
        (q(1, -3, DecimalSI), "1m", "1000u"),
        (q(80, -3, DecimalSI), "80m", ""),
        (q(1080, -3, DecimalSI), "1080m", "1.08"),
        (q(108, -2, DecimalSI), "1080m", "1080000000n"),
        (q(10800, -4, DecimalSI), "1080m", ""),
        (q(300, 6, DecimalSI), "300M", ""),
        (q(1, 12, DecimalSI), "1T", ""),
        (q(1234567, 6, DecimalSI), "1234567M", ""),
        (q(1234567, -3, BinarySI), "1234567m", ""),
        (q(3, 3, DecimalSI), "3k", ""),
        (q(1025, 0, BinarySI), "1025", ""),
        (q(0, 0, DecimalSI), "0", ""),
        (q(0, 0, BinarySI), "0", ""),
        (q(1, 9, DecimalExponent), "1e9", ".001e12"),
        (q(1, -3, DecimalExponent), "1e-3", "0.001e0"),
        (q(1, -9, DecimalExponent), "1e-9", "1000e-12"),
        (q(80, -3, DecimalExponent), "80e-3", ""),
        (q(300, 6, DecimalExponent), "300e6", ""),
        (q(1, 12, DecimalExponent), "1e12", ""),
        (q(1, 3, DecimalExponent), "1e3", ""),
        (q(3, 3, DecimalExponent), "3e3", ""),
        (q(3, 3, DecimalSI), "3k", ""),
        (q(0, 0, DecimalExponent), "0", "00"),
        (q(1, -9, DecimalSI), "1n", ""),
        (q(80, -9, DecimalSI), "80n", ""),
        (q(1080, -9, DecimalSI), "1080n", ""),
        (q(108, -8, DecimalSI), "1080n", ""),
        (q(10800, -10, DecimalSI), "1080n", ""),
        (q(1, -6, DecimalSI), "1u", ""),
        (q(80, -6, DecimalSI), "80u", ""),
        (q(1080, -6, DecimalSI), "1080u", ""),
    ]
}

#[test]
fn canonical_strings() {
    for (quantity, want, alternate) in string_table() {
        assert_eq!(quantity.to_string(), want);
        // The canonical text parses to itself and is kept verbatim.
        let reparsed = parse(want);
        assert_eq!(reparsed.cached.as_deref(), Some(want), "{want} should be kept verbatim");
        if !alternate.is_empty() {
            let alt = parse(alternate);
            assert_eq!(alt.cached, None, "{alternate} should not be kept");
            assert_eq!(alt.to_string(), want, "{alternate}");
        }
        if !quantity.is_zero() {
            assert_eq!((-quantity).to_string(), format!("-{want}"));
        }
    }
}

// Upstream's TestQuantityParseEmit.
#[test]
fn parse_then_emit() {
    let cases = [
        ("1Ki", "1Ki"),
        ("1Mi", "1Mi"),
        ("1Gi", "1Gi"),
        ("1024Mi", "1Gi"),
        ("1000M", "1G"),
        (".001Ki", "1024m"),
        (".000001Ki", "1024u"),
        (".000000001Ki", "1024n"),
        (".000000000001Ki", "2n"),
    ];
    for (input, want) in cases {
        assert_eq!(parse(input).to_string(), want, "{input}");
        assert_eq!(parse(&format!("-{input}")).to_string(), format!("-{want}"), "-{input}");
    }
}

// The forms the brief and users rely on.
#[test]
fn canonical_examples() {
    let cases = [
        ("1.5Gi", "1536Mi"),
        ("1000", "1k"),
        ("0.1", "100m"),
        ("1e3", "1e3"),
        ("1.5", "1500m"),
        ("100m", "100m"),
        ("2e-3", "2e-3"),
        ("0.1Ki", "102400m"),
        ("1.1Ki", "1126400m"),
        ("1536Ki", "1536Ki"),
        ("2048Ki", "2Mi"),
        ("12E", "12E"),
        ("1000E", "1e21"),
        ("1234e10", "12340e9"),
        ("-0", "0"),
        ("0.0Ki", "0"),
    ];
    for (input, want) in cases {
        assert_eq!(parse(input).to_string(), want, "{input}");
    }
    let mut sum = parse("1Gi");
    sum += &parse("512Mi");
    assert_eq!(sum.to_string(), "1536Mi");
    // Inputs that look canonical are echoed as written, as upstream's API server does.
    for verbatim in ["+1Ki", "1E3", "2E-3", "1.500k", "0100m", "1e+3", "-1Ki"] {
        let p = parse(verbatim);
        assert_eq!(p.to_string(), verbatim);
        assert_ne!(p.canonical_string(), "");
    }
    assert_eq!(parse("+1Ki").canonical_string(), "1Ki");
    assert_eq!(parse("1.500k").canonical_string(), "1500");
    assert_eq!(parse("1E3").canonical_string(), "1e3");
}

// Upstream's TestQuantityNeg and TestNeg.
#[test]
fn negation() {
    for source in [q(901, -2, DecimalSI), parse("9.01")] {
        let negated = -source.clone();
        assert_ne!(negated, source);
        assert_eq!(negated.to_string(), "-9010m");
    }
    assert_eq!(-q(0, 0, DecimalSI), q(0, 0, DecimalSI));
    assert_eq!(-Quantity::default(), Quantity::default());
    assert_eq!(-q(10, 0, BinarySI), q(-10, 0, BinarySI));
    assert_eq!(-q(-10, 0, BinarySI), q(10, 0, BinarySI));
    let mut double = parse("123.456789k");
    double.neg();
    double.neg();
    assert_eq!(double, parse("123.456789k"));
}

// Upstream's TestAdd, TestSub, TestQuantityAddZeroPreservesSuffix, TestQuantitySubZeroPreservesSuffix.
#[test]
fn add_and_sub() {
    let add = [
        (q(10, 0, DecimalSI), q(1, 1, DecimalSI), q(20, 0, DecimalSI)),
        (q(10, 0, DecimalSI), q(1, 0, BinarySI), q(11, 0, DecimalSI)),
        (q(10, 0, BinarySI), q(1, 0, DecimalSI), q(11, 0, BinarySI)),
        (Quantity::default(), q(50, 0, DecimalSI), q(50, 0, DecimalSI)),
        (q(50, 0, DecimalSI), Quantity::default(), q(50, 0, DecimalSI)),
        (Quantity::default(), Quantity::default(), q(0, 0, DecimalSI)),
    ];
    for (mut a, b, want) in add {
        a.add(&b);
        assert_eq!(a, want);
        assert_eq!(a.format(), want.format());
    }
    let sub = [
        (q(10, 0, DecimalSI), q(1, 1, DecimalSI), q(0, 0, DecimalSI)),
        (q(10, 0, DecimalSI), q(1, 0, BinarySI), q(9, 0, DecimalSI)),
        (q(10, 0, BinarySI), q(1, 0, DecimalSI), q(9, 0, BinarySI)),
        (Quantity::default(), q(50, 0, DecimalSI), q(-50, 0, DecimalSI)),
        (q(50, 0, DecimalSI), Quantity::default(), q(50, 0, DecimalSI)),
        (Quantity::default(), Quantity::default(), q(0, 0, DecimalSI)),
    ];
    for (mut a, b, want) in sub {
        a.sub(&b);
        assert_eq!(a, want);
    }
    for value in ["100m", "1Gi"] {
        let v = parse(value);
        let mut v1 = v.clone();
        v1 += &parse("0");
        assert_eq!(v1.to_string(), value);
        let mut v2 = parse("0");
        v2 += &v;
        assert_eq!(v2.to_string(), value);
        let mut v3 = v.clone();
        v3 -= &parse("0");
        assert_eq!(v3.to_string(), value);
        let mut v4 = parse("0");
        v4 -= &v;
        assert_eq!(v4.to_string(), (-v.clone()).to_string());
    }
    // Upstream's TestQuantityCanocicalizeZero: a sum that cancels prints 0, not 0m.
    let mut z = parse("1000m");
    z -= &parse("1");
    assert_eq!(z.to_string(), "0");
}

#[test]
fn add_sub_round_trip_across_scales() {
    // Upstream's TestAddSubRoundTrip(AcrossScales), with fixed pseudo-random values.
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 1) as i64
    };
    let values: Vec<(i64, i32)> = (0..200)
        .map(|_| {
            let v = next();
            (v, (v % 20 - 10) as i32)
        })
        .collect();
    let mut total = Quantity::default();
    for (v, s) in &values {
        total += &Quantity::new_scaled(*v, Scale(*s));
    }
    assert!(!total.is_zero());
    for (v, s) in &values {
        total -= &Quantity::new_scaled(*v, Scale(*s));
    }
    assert!(total.is_zero(), "{total}");
}

// Upstream's TestMul.
#[test]
fn multiply() {
    let big = |digits: &str, exp: i64| {
        Quantity::parse(&format!("{digits}e{exp}")).map(|mut x| {
            x.set_format(DecimalSI);
            x
        })
    };
    let cases: Vec<(Quantity, i64, Quantity, bool)> = vec![
        (q(10, 0, DecimalSI), 10, q(100, 0, DecimalSI), true),
        (q(10, 0, DecimalSI), 1, q(10, 0, DecimalSI), true),
        (q(10, 0, BinarySI), 1, q(10, 0, BinarySI), true),
        (Quantity::default(), 50, q(0, 0, DecimalSI), true),
        (q(50, 0, DecimalSI), 0, q(0, 0, DecimalSI), true),
        (Quantity::default(), 0, q(0, 0, DecimalSI), true),
        (q(10, 0, DecimalSI), -10, q(-100, 0, DecimalSI), true),
        (q(-10, 0, DecimalSI), 1, q(-10, 0, DecimalSI), true),
        (q(10, 0, BinarySI), -1, q(-10, 0, BinarySI), true),
        (q(-50, 0, DecimalSI), 0, q(0, 0, DecimalSI), true),
        (q(-50, 0, DecimalSI), -50, q(2500, 0, DecimalSI), true),
        (Quantity::default(), -50, q(0, 0, DecimalSI), true),
        (q(MAX, 0, DecimalSI), 0, q(0, 1, DecimalSI), true),
        (q(MAX, 0, DecimalSI), 1, q(MAX, 0, DecimalSI), true),
        (q(MAX, 0, DecimalSI), -1, q(-MAX, 0, DecimalSI), true),
        (q(MAX / 2, 0, DecimalSI), 2, q((MAX / 2) * 2, 0, DecimalSI), true),
        (q(MAX / -2, 0, DecimalSI), -2, q((MAX / 2) * 2, 0, DecimalSI), true),
        (q(MAX, 0, DecimalSI), 2, big("18446744073709551614", 0).unwrap_or_default(), false),
        (q(MAX, 0, DecimalSI), 10, q(MAX, 1, DecimalSI), false),
        (q(MAX, 0, DecimalSI), -10, q(-MAX, 1, DecimalSI), false),
        (q(MIN, 0, DecimalSI), 0, q(0, 1, DecimalSI), true),
        (q(MIN, 0, DecimalSI), 1, q(MIN, 0, DecimalSI), true),
        (q(MIN, 0, DecimalSI), -1, big("9223372036854775808", 0).unwrap_or_default(), false),
        (q(MIN / 2, 0, DecimalSI), 2, q(MIN, 0, DecimalSI), true),
        (q(MIN / -2, 0, DecimalSI), -2, q(MIN, 0, DecimalSI), true),
        (q(MIN, 0, DecimalSI), 2, -big("18446744073709551616", 0).unwrap_or_default(), false),
        (q(MIN, 0, DecimalSI), 10, q(MIN, 1, DecimalSI), false),
        (q(MIN, 0, DecimalSI), -10, big("9223372036854775808", 1).unwrap_or_default(), false),
    ];
    for (mut a, y, want, ok) in cases {
        let before = a.clone();
        assert_eq!(a.mul(y), ok, "{before} * {y}");
        assert_eq!(a, want, "{before} * {y}: {a}");
    }
}

// Upstream's TestMilliNewSet, TestNewSet, TestNewScaledSet, TestScaledValue.
#[test]
fn constructors_and_scaled_values() {
    for (value, format, want, exact) in [
        (1, DecimalSI, "1m", true),
        (1000, DecimalSI, "1", true),
        (1234000, DecimalSI, "1234", true),
        (1024, BinarySI, "1024m", false),
        (1000000, DecimalExponent, "1e3", true),
        (1024 * 1024, BinarySI, "1048576m", false),
    ] {
        let q = Quantity::new_milli(value, format);
        assert_eq!(q.to_string(), want);
        if exact {
            assert_eq!(parse(&q.to_string()).milli_value(), value);
        }
        let mut set = Quantity::new(0, format);
        set.set_milli(value);
        assert_eq!(set.to_string(), want);
    }
    for (value, format, want) in [
        (1, DecimalSI, "1"),
        (1000, DecimalSI, "1k"),
        (1234000, DecimalSI, "1234k"),
        (1024, BinarySI, "1Ki"),
        (1000000, DecimalExponent, "1e6"),
        (1024 * 1024, BinarySI, "1Mi"),
    ] {
        let q = Quantity::new(value, format);
        assert_eq!(q.to_string(), want);
        assert_eq!(parse(want).value(), value);
        let mut set = Quantity::new(0, format);
        set.set(value);
        assert_eq!(set.to_string(), want);
    }
    for (value, scale, want) in [
        (1, Scale::NANO, "1n"),
        (1000, Scale::NANO, "1u"),
        (1, Scale::MICRO, "1u"),
        (1000, Scale::MICRO, "1m"),
        (1, Scale::MILLI, "1m"),
        (1000, Scale::MILLI, "1"),
        (1, Scale::UNIT, "1"),
        (0, Scale::NANO, "0"),
        (0, Scale::MICRO, "0"),
        (0, Scale::MILLI, "0"),
        (0, Scale::UNIT, "0"),
    ] {
        let q = Quantity::new_scaled(value, scale);
        assert_eq!(q.to_string(), want);
        assert_eq!(parse(want).scaled_value(scale), value);
        let mut set = Quantity::new(0, DecimalSI);
        set.set_scaled(value, scale);
        assert_eq!(set, q);
    }
    for (from, to, want) in [
        (Scale::NANO, Scale::NANO, 1),
        (Scale::NANO, Scale::MICRO, 1),
        (Scale::NANO, Scale::MILLI, 1),
        (Scale::NANO, Scale::UNIT, 1),
        (Scale::MICRO, Scale::NANO, 1000),
        (Scale::MICRO, Scale::MICRO, 1),
        (Scale::MICRO, Scale::MILLI, 1),
        (Scale::MICRO, Scale::UNIT, 1),
        (Scale::MILLI, Scale::NANO, 1000 * 1000),
        (Scale::MILLI, Scale::MICRO, 1000),
        (Scale::MILLI, Scale::MILLI, 1),
        (Scale::MILLI, Scale::UNIT, 1),
        (Scale::UNIT, Scale::NANO, 1000 * 1000 * 1000),
        (Scale::UNIT, Scale::MICRO, 1000 * 1000),
        (Scale::UNIT, Scale::MILLI, 1000),
        (Scale::UNIT, Scale::UNIT, 1),
        (Scale(2), Scale(-2), 100 * 100),
    ] {
        assert_eq!(Quantity::new_scaled(1, from).scaled_value(to), want, "{from:?} -> {to:?}");
    }
}

#[test]
fn values_round_away_from_zero() {
    assert_eq!(parse("1.5").value(), 2);
    assert_eq!(parse("-1.5").value(), -2);
    assert_eq!(parse("1n").value(), 1);
    assert_eq!(parse("1.0001m").milli_value(), 2);
    assert_eq!(parse("2").milli_value(), 2000);
    assert_eq!(parse("250m").as_i64(), None);
    assert_eq!(parse("1k").as_i64(), Some(1000));
    assert_eq!(parse("9Ei").value(), MAX);
    // Beyond i64 the value saturates (upstream's result is unspecified there).
    assert_eq!(parse("100E").value(), MAX);
    assert_eq!(parse("-100E").value(), MIN);
    assert_eq!(parse("100E").checked_scaled_value(Scale::UNIT), None);
    assert_eq!(parse("9223372036854775807").milli_value(), MAX);
    assert_eq!(MAX_MILLI_VALUE, 9_223_372_036_854_775);
    assert_eq!(parse("-0.5").sign(), -1);
    assert_eq!(parse("0k").sign(), 0);
}

// Upstream's TestStringQuantityAsApproximateFloat64.
#[test]
fn floats() {
    for (input, want) in [("2Ki", 2048.0), ("1.1Ki", 1126.4), ("1Mi", 1.048576e+06), ("2Gi", 2.147483648e+09)] {
        assert_eq!(parse(input).as_approximate_f64(), want, "{input}");
    }
    assert_eq!(q(12, 500, DecimalSI).as_approximate_f64(), f64::INFINITY);
    assert_eq!(q(-12, 500, DecimalSI).as_approximate_f64(), f64::NEG_INFINITY);
    assert_eq!(q(12, 18, DecimalSI).as_approximate_f64(), 1.2e19);
    assert_eq!(q(7 * 1024 * 1024, -8, BinarySI).as_approximate_f64(), (7.0 * 1024.0 * 1024.0) / 100000000.0);
}

#[test]
fn serde_json() {
    let values: Vec<Quantity> = ["1Gi", "100m", "1.5", "+1Ki", "1e3", "0"].iter().map(|s| parse(s)).collect();
    let json = serde_json::to_string(&values).unwrap_or_default();
    assert_eq!(json, r#"["1Gi","100m","1500m","+1Ki","1e3","0"]"#);
    let back: Vec<Quantity> = serde_json::from_str(&json).unwrap_or_default();
    assert_eq!(back, values);
    // Upstream's TestJSONWhitespace, numbers and null.
    for (input, want) in [
        (r#"" 1""#, "1"),
        (r#""1 ""#, "1"),
        ("1", "1"),
        (" 1", "1"),
        ("1 ", "1"),
        ("10", "10"),
        ("-1", "-1"),
        (" -1", "-1"),
        ("0.5", "500m"),
        ("null", "0"),
    ] {
        let parsed: Result<Quantity, _> = serde_json::from_str(input);
        assert_eq!(parsed.map(|q| q.to_string()).ok(), Some(want.to_string()), "{input}");
    }
    let err = serde_json::from_str::<Quantity>(r#""1mi""#).map_err(|e| e.to_string());
    assert!(matches!(&err, Err(m) if m.starts_with("unable to parse quantity's suffix")), "{err:?}");
    // Upstream's TestQuantityValueSet: 1Mi is encoded as "1Mi".
    assert_eq!(serde_json::to_string(&parse("1Mi")).unwrap_or_default(), r#""1Mi""#);
}

#[test]
fn k8s_openapi_conversion() {
    let wire = k8s_openapi::apimachinery::pkg::api::resource::Quantity("1536Mi".into());
    let q = Quantity::try_from(&wire).unwrap_or_default();
    assert_eq!(q, parse("1.5Gi"));
    assert_eq!(k8s_openapi::apimachinery::pkg::api::resource::Quantity::from(&parse("1.5Gi")).0, "1536Mi");
}
