//! The schedule syntax of CronJobs, checked as upstream checks it with `cron.ParseStandard`
//! (robfig/cron v3): five fields (minute, hour, day of month, month, day of week) with names,
//! ranges, lists and steps, or a descriptor (`@hourly`, `@every 1h30m`, ...), optionally after a
//! `TZ=`/`CRON_TZ=` prefix. Error messages are the library's.

use krs_apimachinery::validation::BadValue;

/// Go's `strconv.Quote`.
fn quote(s: &str) -> String {
    BadValue::String(s.to_owned()).to_string()
}

/// The bounds and names of one field.
struct Bounds {
    min: u64,
    max: u64,
    names: &'static [(&'static str, u64)],
}

const MINUTES: Bounds = Bounds { min: 0, max: 59, names: &[] };
const HOURS: Bounds = Bounds { min: 0, max: 23, names: &[] };
const DAYS_OF_MONTH: Bounds = Bounds { min: 1, max: 31, names: &[] };
const MONTHS: Bounds = Bounds {
    min: 1,
    max: 12,
    names: &[
        ("jan", 1),
        ("feb", 2),
        ("mar", 3),
        ("apr", 4),
        ("may", 5),
        ("jun", 6),
        ("jul", 7),
        ("aug", 8),
        ("sep", 9),
        ("oct", 10),
        ("nov", 11),
        ("dec", 12),
    ],
};
const DAYS_OF_WEEK: Bounds = Bounds {
    min: 0,
    max: 6,
    names: &[("sun", 0), ("mon", 1), ("tue", 2), ("wed", 3), ("thu", 4), ("fri", 5), ("sat", 6)],
};

/// Parses a schedule as `cron.ParseStandard` does; the error is the library's message.
pub(crate) fn parse_standard(spec: &str) -> Result<(), String> {
    if spec.is_empty() {
        return Err("empty spec string".to_owned());
    }
    let mut spec = spec;
    if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        let eq = spec.find('=').unwrap_or(0);
        let end = spec.find(' ').unwrap_or(spec.len());
        let location = &spec[(eq + 1).min(end)..end];
        if let Err(e) = super::cronjob::load_location(location) {
            return Err(format!("provided bad location {location}: {e}"));
        }
        spec = spec[end..].trim();
    }
    if spec.starts_with('@') {
        return parse_descriptor(spec);
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!("expected exactly 5 fields, found {}: [{}]", fields.len(), fields.join(" ")));
    }
    for (field, bounds) in fields.iter().zip([&MINUTES, &HOURS, &DAYS_OF_MONTH, &MONTHS, &DAYS_OF_WEEK]) {
        for expr in field.split(',').filter(|e| !e.is_empty()) {
            parse_range(expr, bounds)?;
        }
    }
    Ok(())
}

fn parse_descriptor(descriptor: &str) -> Result<(), String> {
    match descriptor {
        "@yearly" | "@annually" | "@monthly" | "@weekly" | "@daily" | "@midnight" | "@hourly" => Ok(()),
        _ => match descriptor.strip_prefix("@every ") {
            Some(duration) => {
                parse_go_duration(duration).map_err(|e| format!("failed to parse duration {descriptor}: {e}"))
            }
            None => Err(format!("unrecognized descriptor: {descriptor}")),
        },
    }
}

/// `number | number "-" number [ "/" number ]`, or `*`/`?` with an optional step.
fn parse_range(expr: &str, bounds: &Bounds) -> Result<(), String> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_and_high: Vec<&str> = range_and_step[0].split('-').collect();
    let single = low_and_high.len() == 1;
    let (start, mut end);
    if low_and_high[0] == "*" || low_and_high[0] == "?" {
        start = bounds.min;
        end = bounds.max;
    } else {
        start = parse_int_or_name(low_and_high[0], bounds)?;
        end = match low_and_high.len() {
            1 => start,
            2 => parse_int_or_name(low_and_high[1], bounds)?,
            _ => return Err(format!("too many hyphens: {expr}")),
        };
    }
    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            let step = parse_int(range_and_step[1])?;
            // "N/step" means "N-max/step".
            if single {
                end = bounds.max;
            }
            step
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
    if start < bounds.min {
        return Err(format!("beginning of range ({start}) below minimum ({}): {expr}", bounds.min));
    }
    if end > bounds.max {
        return Err(format!("end of range ({end}) above maximum ({}): {expr}", bounds.max));
    }
    if start > end {
        return Err(format!("beginning of range ({start}) beyond end of range ({end}): {expr}"));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    Ok(())
}

fn parse_int_or_name(expr: &str, bounds: &Bounds) -> Result<u64, String> {
    let lower = expr.to_lowercase();
    if let Some((_, n)) = bounds.names.iter().find(|(name, _)| *name == lower) {
        return Ok(*n);
    }
    parse_int(expr)
}

/// `strconv.Atoi` as the library reports its failures.
fn parse_int(expr: &str) -> Result<u64, String> {
    let digits = expr.strip_prefix(['+', '-']).unwrap_or(expr);
    let syntax_ok = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    if !syntax_ok {
        return Err(format!("failed to parse int from {expr}: strconv.Atoi: parsing {}: invalid syntax", quote(expr)));
    }
    let n: i64 = expr.parse().map_err(|_| {
        format!("failed to parse int from {expr}: strconv.Atoi: parsing {}: value out of range", quote(expr))
    })?;
    if n < 0 {
        return Err(format!("negative number ({n}) not allowed: {expr}"));
    }
    Ok(n.unsigned_abs())
}

/// Go's `time.ParseDuration`: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, with Go's error texts.
fn parse_go_duration(orig: &str) -> Result<(), String> {
    let invalid = || format!("time: invalid duration {}", quote(orig));
    let mut s = orig.strip_prefix(['-', '+']).unwrap_or(orig);
    if s == "0" {
        return Ok(());
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !s.is_empty() {
        let first = s.as_bytes()[0];
        if !(first == b'.' || first.is_ascii_digit()) {
            return Err(invalid());
        }
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let int_part: u128 = if int_len == 0 { 0 } else { s[..int_len].parse().map_err(|_| invalid())? };
        s = &s[int_len..];
        let mut frac = "";
        if let Some(rest) = s.strip_prefix('.') {
            let frac_len = rest.bytes().take_while(u8::is_ascii_digit).count();
            frac = &rest[..frac_len];
            s = &rest[frac_len..];
            if int_len == 0 && frac_len == 0 {
                return Err(invalid());
            }
        }
        let unit_len = s.find(|c: char| c == '.' || c.is_ascii_digit()).unwrap_or(s.len());
        if unit_len == 0 {
            return Err(format!("time: missing unit in duration {}", quote(orig)));
        }
        let unit = &s[..unit_len];
        s = &s[unit_len..];
        let nanos: u128 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!("time: unknown unit {} in duration {}", quote(unit), quote(orig)));
            }
        };
        total = total.saturating_add(int_part.saturating_mul(nanos));
        if !frac.is_empty() {
            let digits = frac.len().min(30) as u32;
            let frac_value: u128 = frac[..digits as usize].parse().unwrap_or(0);
            total = total.saturating_add(frac_value.saturating_mul(nanos) / 10u128.pow(digits));
        }
        if total > i64::MAX as u128 {
            return Err(invalid());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_schedules_parse() {
        for ok in [
            "*/5 * * * *",
            "0 0 * * 0",
            "30 2 1-15/2 jan-jun mon,fri",
            "0 0 * * SUN",
            "? * * * *",
            "@hourly",
            "@every 1h30m",
            "@annually",
        ] {
            assert_eq!(parse_standard(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn schedule_errors_are_the_librarys() {
        assert_eq!(parse_standard("* * * *"), Err("expected exactly 5 fields, found 4: [* * * *]".to_owned()));
        assert_eq!(parse_standard("60 * * * *"), Err("end of range (60) above maximum (59): 60".to_owned()));
        assert_eq!(parse_standard("* * 0 * *"), Err("beginning of range (0) below minimum (1): 0".to_owned()));
        assert_eq!(
            parse_standard("x * * * *"),
            Err("failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax".to_owned())
        );
        assert_eq!(
            parse_standard("5-1 * * * *"),
            Err("beginning of range (5) beyond end of range (1): 5-1".to_owned())
        );
        assert_eq!(parse_standard("*/0 * * * *"), Err("step of range should be a positive number: */0".to_owned()));
        assert_eq!(parse_standard("@sometimes"), Err("unrecognized descriptor: @sometimes".to_owned()));
        assert_eq!(
            parse_standard("@every 5x"),
            Err("failed to parse duration @every 5x: time: unknown unit \"x\" in duration \"5x\"".to_owned())
        );
    }
}
