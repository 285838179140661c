//! Text forms of the types whose JSON differs from their protobuf message: RFC 3339 times
//! (metav1.Time, metav1.MicroTime) and Go durations (metav1.Duration).

use crate::error::ErrorKind;

/// Unix seconds of Go's zero `time.Time` (0001-01-01T00:00:00Z), which JSON writes as null.
pub(crate) const GO_ZERO_TIME_SECONDS: i64 = -62_135_596_800;

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Formats Unix time in UTC as Go's RFC 3339 layouts do: seconds only
/// ("2006-01-02T15:04:05Z", metav1.Time) or with six fractional digits (metav1.MicroTime).
pub(crate) fn format_time(seconds: i64, micros: Option<u32>) -> Result<String, ErrorKind> {
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    // Four-digit years are all RFC 3339 can express.
    if !(0..=9999).contains(&year) {
        return Err(ErrorKind::TimeOutOfRange(seconds));
    }
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    Ok(match micros {
        None => format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z"),
        Some(us) => format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{us:06}Z"),
    })
}

/// Parses an RFC 3339 time (as Go's `time.Parse(time.RFC3339, ..)`, which also takes a
/// fractional second) into Unix seconds and nanoseconds.
pub(crate) fn parse_time(text: &str) -> Result<(i64, u32), ErrorKind> {
    let bad = || ErrorKind::InvalidTime(text.to_owned());
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Result<u32, ErrorKind> {
        let digits = b.get(range).ok_or_else(bad)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        Ok(digits.iter().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')))
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return Err(bad());
    }
    let year = i64::from(num(0..4)?);
    let (month, day) = (num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(bad());
    }
    let mut i = 19;
    let mut nanos = 0u32;
    if b.get(i) == Some(&b'.') || b.get(i) == Some(&b',') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 9 {
                nanos = nanos * 10 + u32::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return Err(bad());
        }
        for _ in (i - start)..9 {
            nanos *= 10;
        }
    }
    let offset = match &b[i..] {
        b"Z" => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if oh > 23 || om > 59 {
                return Err(bad());
            }
            let o = i64::from(oh * 3600 + om * 60);
            if *sign == b'-' { -o } else { o }
        }
        _ => return Err(bad()),
    };
    let seconds = days_from_civil(year, month, day) * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset;
    Ok((seconds, nanos))
}

/// Formats nanoseconds as Go's `time.Duration.String` does ("1h2m3.5s", "1.5ms", "0s").
pub(crate) fn format_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    if nanos < 0 {
        out.push('-');
    }
    let u = nanos.unsigned_abs();
    if u < 1_000_000_000 {
        let (digits, unit) = match u {
            0..1_000 => (0, "ns"),
            1_000..1_000_000 => (3, "µs"),
            _ => (6, "ms"),
        };
        push_with_fraction(&mut out, u, digits);
        out.push_str(unit);
        return out;
    }
    let secs = u / 1_000_000_000;
    let (h, m) = (secs / 3600, secs / 60 % 60);
    if h > 0 {
        out.push_str(&format!("{h}h{m}m"));
    } else if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    push_with_fraction(&mut out, (secs % 60) * 1_000_000_000 + u % 1_000_000_000, 9);
    out.push('s');
    out
}

/// Appends `v / 10^digits` with its fraction, trailing zeros (and a bare point) trimmed.
fn push_with_fraction(out: &mut String, v: u64, digits: u32) {
    let scale = 10u64.pow(digits);
    out.push_str(&(v / scale).to_string());
    let frac = v % scale;
    if frac != 0 {
        let text = format!("{frac:0width$}", width = digits as usize);
        out.push('.');
        out.push_str(text.trim_end_matches('0'));
    }
}

/// Parses a Go duration string (`time.ParseDuration`): "300ms", "-1.5h", "2h45m", "0".
pub(crate) fn parse_duration(text: &str) -> Result<i64, ErrorKind> {
    let bad = || ErrorKind::InvalidDuration(text.to_owned());
    let mut s = text;
    let negative = s.starts_with('-');
    if let Some(rest) = s.strip_prefix('-').or_else(|| s.strip_prefix('+')) {
        s = rest;
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(bad());
    }
    let mut total: u128 = 0;
    while !s.is_empty() {
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, rest) = s.split_at(int_len);
        let (frac_part, rest) = match rest.strip_prefix('.') {
            Some(r) => {
                let n = r.bytes().take_while(u8::is_ascii_digit).count();
                r.split_at(n)
            }
            None => ("", rest),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(bad());
        }
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let (unit, rest) = rest.split_at(unit_len);
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(bad()),
        };
        let mut value: u128 = 0;
        for d in int_part.bytes() {
            value = value * 10 + u128::from(d - b'0');
            if value > u128::from(u64::MAX) {
                return Err(bad());
            }
        }
        total += value * scale;
        // Fractions beyond nanosecond resolution are dropped, as Go does.
        let mut frac_scale = scale;
        for d in frac_part.bytes() {
            frac_scale /= 10;
            if frac_scale == 0 {
                break;
            }
            total += u128::from(d - b'0') * frac_scale;
        }
        if total > 1u128 << 63 {
            return Err(bad());
        }
        s = rest;
    }
    if negative { Ok((-(total as i128)) as i64) } else { i64::try_from(total).map_err(|_| bad()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip() {
        for (text, secs) in [
            ("1970-01-01T00:00:00Z", 0),
            ("2024-02-29T23:59:59Z", 1_709_251_199),
            ("0001-01-01T00:00:00Z", GO_ZERO_TIME_SECONDS),
            ("1969-12-31T23:59:59Z", -1),
        ] {
            assert_eq!(parse_time(text), Ok((secs, 0)), "{text}");
            assert_eq!(format_time(secs, None).as_deref(), Ok(text));
        }
        assert_eq!(parse_time("2024-01-02T03:04:05.123456789+01:30"), Ok((1_704_164_645 - 5400, 123_456_789)));
        assert_eq!(format_time(1_704_164_645, Some(1)).as_deref(), Ok("2024-01-02T03:04:05.000001Z"));
        for bad in [
            "",
            "2024-01-02",
            "2024-13-02T03:04:05Z",
            "2023-02-29T00:00:00Z",
            "2024-01-02T03:04:05",
            "2024-01-02T03:04:05.Z",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_like_go() {
        for (nanos, text) in [
            (0, "0s"),
            (1, "1ns"),
            (1_500, "1.5µs"),
            (1_500_000, "1.5ms"),
            (1_500_000_000, "1.5s"),
            (60_000_000_000, "1m0s"),
            (3_723_000_000_000, "1h2m3s"),
            (-90_000_000_000, "-1m30s"),
            (i64::MIN, "-2562047h47m16.854775808s"),
        ] {
            assert_eq!(format_duration(nanos), text);
            assert_eq!(parse_duration(text), Ok(nanos), "{text}");
        }
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("1.5h"), Ok(5_400_000_000_000));
        assert_eq!(parse_duration("2h45m"), Ok(9_900_000_000_000));
        assert_eq!(parse_duration("300us"), Ok(300_000));
        for bad in ["", "1", "1x", "h", ".s", "-", "9999999999999999999h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
