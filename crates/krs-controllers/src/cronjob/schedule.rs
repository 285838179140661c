//! Cron schedules as Kubernetes parses them (robfig/cron's standard parser): five fields
//! (minute hour day-of-month month day-of-week) with lists, ranges, steps, names and `?`, the
//! @yearly/@annually/@monthly/@weekly/@daily/@midnight/@hourly macros, and @every DURATION.
//! Times are computed in an IANA time zone.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

#[derive(Clone, Debug, PartialEq)]
pub enum Schedule {
    Fields(Fields),
    Every(i64),
}

/// Bit sets of allowed values; `*_star` records an unrestricted field (`*` or `?`), which
/// changes how day-of-month and day-of-week combine.
#[derive(Clone, Debug, PartialEq)]
pub struct Fields {
    minute: u64,
    hour: u64,
    dom: u64,
    month: u64,
    dow: u64,
    dom_star: bool,
    dow_star: bool,
}

const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

fn value(s: &str, names: &[&str], offset: u32) -> Result<u32, String> {
    if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
        return Ok(i as u32 + offset);
    }
    s.parse::<u32>().map_err(|_| format!("failed to parse int from {s}: strconv.Atoi: parsing {s:?}: invalid syntax"))
}

/// One field: returns its bits and whether it was `*`/`?`.
fn field(expr: &str, min: u32, max: u32, names: &[&str], offset: u32) -> Result<(u64, bool), String> {
    let mut bits = 0u64;
    let mut star = false;
    for part in expr.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, Some(s.parse::<u32>().map_err(|_| format!("failed to parse int from {s}"))?)),
            None => (part, None),
        };
        let (mut lo, mut hi, mut is_star) = if range == "*" || range == "?" {
            (min, max, true)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, names, offset)?, value(b, names, offset)?, false)
        } else {
            let v = value(range, names, offset)?;
            (v, v, false)
        };
        if let Some(s) = step {
            if s == 0 {
                return Err(format!("step of range should be a positive number: {part}"));
            }
            // "N/step" means N through the maximum.
            if !is_star && !range.contains('-') {
                hi = max;
            }
            if s > 1 {
                is_star = false;
            }
            if lo < min || hi > max || lo > hi {
                return Err(format!("end of range ({hi}) above maximum ({max}): {part}"));
            }
            let mut v = lo;
            while v <= hi {
                bits |= 1 << v;
                v += s;
            }
        } else {
            if lo < min {
                return Err(format!("beginning of range ({lo}) below minimum ({min}): {part}"));
            }
            if hi > max {
                return Err(format!("end of range ({hi}) above maximum ({max}): {part}"));
            }
            if lo > hi {
                return Err(format!("beginning of range ({lo}) beyond end of range ({hi}): {part}"));
            }
            for v in lo..=hi {
                bits |= 1 << v;
            }
            lo = hi;
            let _ = lo;
        }
        star |= is_star;
    }
    Ok((bits, star))
}

pub fn parse(spec: &str) -> Result<Schedule, String> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Err("empty spec string".into());
    }
    let expanded = match spec {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        other => {
            if let Some(d) = other.strip_prefix("@every ") {
                return parse_duration(d.trim()).map(Schedule::Every);
            }
            if other.starts_with('@') {
                return Err(format!("unrecognized descriptor: {other}"));
            }
            other
        }
    };
    let parts: Vec<&str> = expanded.split_whitespace().collect();
    if parts.len() != 5 {
        return Err(format!("expected exactly 5 fields, found {}: {spec}", parts.len()));
    }
    let (minute, _) = field(parts[0], 0, 59, &[], 0)?;
    let (hour, _) = field(parts[1], 0, 23, &[], 0)?;
    let (dom, dom_star) = field(parts[2], 1, 31, &[], 0)?;
    let (month, _) = field(parts[3], 1, 12, &MONTHS, 1)?;
    let (dow, dow_star) = field(parts[4], 0, 6, &DAYS, 0)?;
    Ok(Schedule::Fields(Fields { minute, hour, dom, month, dow, dom_star, dow_star }))
}

/// Go's time.ParseDuration for the units @every accepts (h, m, s, ms), rounded to seconds.
fn parse_duration(s: &str) -> Result<i64, String> {
    let mut total_ms: i64 = 0;
    let mut rest = s;
    if rest.is_empty() {
        return Err(format!("failed to parse duration @every {s}"));
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let n: i64 = rest[..digits].parse().map_err(|_| format!("failed to parse duration @every {s}"))?;
        rest = &rest[digits..];
        let (unit_ms, len) = if rest.starts_with("ms") {
            (1, 2)
        } else if rest.starts_with('h') {
            (3_600_000, 1)
        } else if rest.starts_with('m') {
            (60_000, 1)
        } else if rest.starts_with('s') {
            (1000, 1)
        } else {
            return Err(format!("failed to parse duration @every {s}"));
        };
        total_ms += n * unit_ms;
        rest = &rest[len..];
    }
    // robfig rounds @every intervals below a second up to one second.
    Ok((total_ms / 1000).max(1))
}

impl Fields {
    fn day_matches(&self, dt: DateTime) -> bool {
        let dom = self.dom & (1 << dt.day()) != 0;
        let dow = self.dow & (1 << dt.weekday().to_sunday_zero_offset()) != 0;
        if self.dom_star || self.dow_star { dom && dow } else { dom || dow }
    }
}

impl Schedule {
    /// The first activation strictly after `after`, in `tz`; None if there is none within
    /// five years (an impossible date like February 30).
    pub fn next(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        match self {
            Schedule::Every(secs) => {
                // robfig: the next whole second after `after` plus the interval.
                let base = Timestamp::from_second(after.as_second()).ok()?;
                base.checked_add(jiff::SignedDuration::from_secs(*secs)).ok()
            }
            Schedule::Fields(f) => {
                let start = after.to_zoned(tz.clone());
                // Whole minutes, strictly after.
                let mut dt = start
                    .datetime()
                    .with()
                    .second(0)
                    .subsec_nanosecond(0)
                    .build()
                    .ok()?
                    .checked_add(1.minute())
                    .ok()?;
                let limit = dt.year() + 5;
                while dt.year() <= limit {
                    if f.month & (1 << dt.month()) == 0 {
                        dt = dt.first_of_month().checked_add(1.month()).ok()?.with().hour(0).minute(0).build().ok()?;
                        continue;
                    }
                    if !f.day_matches(dt) {
                        dt = dt.date().checked_add(1.day()).ok()?.to_datetime(jiff::civil::Time::midnight());
                        continue;
                    }
                    if f.hour & (1 << dt.hour()) == 0 {
                        dt = dt.with().minute(0).build().ok()?.checked_add(1.hour()).ok()?;
                        continue;
                    }
                    if f.minute & (1 << dt.minute()) == 0 {
                        dt = dt.checked_add(1.minute()).ok()?;
                        continue;
                    }
                    let ts = tz.to_ambiguous_timestamp(dt).compatible().ok()?;
                    if ts > after {
                        return Some(ts);
                    }
                    dt = dt.checked_add(1.minute()).ok()?;
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap_or_default()
    }

    #[test]
    fn standard_fields_and_macros() {
        let utc = TimeZone::UTC;
        let s = parse("*/15 9-17 * * mon-fri").unwrap_or(Schedule::Every(0));
        // Saturday 2024-06-01 → Monday 09:00.
        assert_eq!(s.next(ts("2024-06-01T12:00:00Z"), &utc), Some(ts("2024-06-03T09:00:00Z")));
        assert_eq!(s.next(ts("2024-06-03T09:00:00Z"), &utc), Some(ts("2024-06-03T09:15:00Z")));
        let y = parse("@yearly").unwrap_or(Schedule::Every(0));
        assert_eq!(y.next(ts("2024-06-01T00:00:00Z"), &utc), Some(ts("2025-01-01T00:00:00Z")));
        assert!(parse("61 * * * *").is_err());
        assert!(parse("* * *").is_err());
        assert!(parse("@fortnightly").is_err());
    }

    #[test]
    fn day_of_month_and_week_combine_with_or_when_both_are_restricted() {
        let utc = TimeZone::UTC;
        // The 13th, or any Friday.
        let s = parse("0 0 13 * 5").unwrap_or(Schedule::Every(0));
        assert_eq!(s.next(ts("2024-06-01T00:00:00Z"), &utc), Some(ts("2024-06-07T00:00:00Z")));
        assert_eq!(s.next(ts("2024-06-08T00:00:00Z"), &utc), Some(ts("2024-06-13T00:00:00Z")));
    }

    #[test]
    fn time_zones_shift_the_activation() {
        let ny = TimeZone::get("America/New_York").unwrap_or(TimeZone::UTC);
        let s = parse("0 9 * * *").unwrap_or(Schedule::Every(0));
        // 09:00 in New York is 13:00 UTC in summer.
        assert_eq!(s.next(ts("2024-06-01T00:00:00Z"), &ny), Some(ts("2024-06-01T13:00:00Z")));
        let every = parse("@every 1h30m").unwrap_or(Schedule::Every(0));
        assert_eq!(every.next(ts("2024-06-01T00:00:00Z"), &ny), Some(ts("2024-06-01T01:30:00Z")));
    }
}
