//! Container logs in the CRI format (`<RFC3339Nano time> <stdout|stderr> <F|P> <content>`):
//! reading with tail, since, timestamps and limitBytes, following, and rotation.

use std::io::{BufRead, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// One parsed log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line<'a> {
    pub time: &'a str,
    pub stream: &'a str,
    /// A partial line: its content continues in the next line (no newline added).
    pub partial: bool,
    pub content: &'a str,
}

pub fn parse(line: &str) -> Option<Line<'_>> {
    let (time, rest) = line.split_once(' ')?;
    let (stream, rest) = rest.split_once(' ')?;
    let (tag, content) = match rest.split_once(' ') {
        Some((t, c)) => (t, c),
        None => (rest, ""),
    };
    Some(Line { time, stream, partial: tag.starts_with('P'), content })
}

/// The log's file and its rotated predecessors, oldest first (`0.log.20240101-000000`,
/// `0.log`).
pub fn files(path: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let (Some(dir), Some(name)) = (path.parent(), path.file_name()) {
        let prefix = format!("{}.", name.to_string_lossy());
        let mut rotated: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|d| {
                d.flatten()
                    .map(|e| e.path())
                    .filter(|p| {
                        p.file_name().is_some_and(|n| {
                            let n = n.to_string_lossy();
                            n.starts_with(&prefix) && !n.ends_with(".tmp") && !n.ends_with(".gz")
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        rotated.sort();
        out.extend(rotated);
    }
    out.push(path.to_path_buf());
    out
}

/// Options of a log read (the query parameters of containerLogs).
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub tail_lines: Option<usize>,
    /// Only lines at or after this time (RFC 3339).
    pub since: Option<jiff::Timestamp>,
    pub timestamps: bool,
    pub limit_bytes: Option<usize>,
}

fn line_time(l: &Line<'_>) -> Option<jiff::Timestamp> {
    l.time.parse::<jiff::Timestamp>().ok()
}

/// Formats one parsed line as the user sees it.
pub fn render(l: &Line<'_>, timestamps: bool, out: &mut Vec<u8>) {
    if timestamps {
        out.extend_from_slice(l.time.as_bytes());
        out.push(b' ');
    }
    out.extend_from_slice(l.content.as_bytes());
    if !l.partial {
        out.push(b'\n');
    }
}

/// Reads the current content of a container's log (all its files) with the options applied.
/// Returns the bytes and the position reached in the newest file (for following).
pub fn read(path: &Path, opts: &Options) -> std::io::Result<(Vec<u8>, u64)> {
    let mut lines: Vec<String> = Vec::new();
    let mut end = 0;
    for f in files(path) {
        let Ok(mut file) = std::fs::File::open(&f) else { continue };
        let mut text = String::new();
        file.read_to_string(&mut text)?;
        if f == path {
            end = text.len() as u64;
        }
        lines.extend(text.lines().map(str::to_owned));
    }
    let mut parsed: Vec<Line<'_>> = lines.iter().filter_map(|l| parse(l)).collect();
    if let Some(since) = opts.since {
        parsed.retain(|l| line_time(l).is_none_or(|t| t >= since));
    }
    if let Some(n) = opts.tail_lines {
        // Whole lines count: a partial line belongs with the full line that ends it.
        let mut full = 0;
        let mut start = parsed.len();
        for (i, l) in parsed.iter().enumerate().rev() {
            if !l.partial {
                if full == n {
                    break;
                }
                full += 1;
            }
            start = i;
        }
        parsed.drain(..start);
    }
    let mut out = Vec::new();
    for l in &parsed {
        render(l, opts.timestamps, &mut out);
    }
    if let Some(limit) = opts.limit_bytes {
        out.truncate(limit);
    }
    Ok((out, end))
}

/// The last `lines` lines' content, at most `max_bytes` from the end (termination messages
/// under FallbackToLogsOnError).
pub fn tail_messages(path: &Path, lines: usize, max_bytes: usize) -> std::io::Result<String> {
    let (bytes, _) = read(path, &Options { tail_lines: Some(lines), ..Default::default() })?;
    let start = bytes.len().saturating_sub(max_bytes);
    Ok(String::from_utf8_lossy(&bytes[start..]).into_owned())
}

/// Reads whole lines appended to `path` after `pos`; returns them and the new position. A
/// file that shrank was rotated: reading starts over.
pub fn read_from(path: &Path, pos: u64) -> std::io::Result<(Vec<String>, u64)> {
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let pos = if len < pos { 0 } else { pos };
    file.seek(SeekFrom::Start(pos))?;
    let mut reader = std::io::BufReader::new(file);
    let mut out = Vec::new();
    let mut consumed = pos;
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line)?;
        if n == 0 || !line.ends_with('\n') {
            break;
        }
        consumed += n as u64;
        line.pop();
        out.push(line);
    }
    Ok((out, consumed))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "2024-01-01T00:00:00.000000001Z stdout F one\n\
2024-01-01T00:00:01.000000000Z stderr P par\n\
2024-01-01T00:00:01.500000000Z stderr F tial\n\
2024-01-01T00:00:02.000000000Z stdout F three\n";

    #[test]
    fn parsing_and_options() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("0.log");
        std::fs::write(&p, LOG).expect("write");
        let all = read(&p, &Options::default()).map(|r| r.0).unwrap_or_default();
        assert_eq!(String::from_utf8_lossy(&all), "one\npartial\nthree\n");
        let tail = read(&p, &Options { tail_lines: Some(2), ..Default::default() }).map(|r| r.0).unwrap_or_default();
        assert_eq!(String::from_utf8_lossy(&tail), "partial\nthree\n");
        let since = "2024-01-01T00:00:01.5Z".parse().ok();
        let s = read(&p, &Options { since, ..Default::default() }).map(|r| r.0).unwrap_or_default();
        assert_eq!(String::from_utf8_lossy(&s), "tial\nthree\n");
        let ts = read(&p, &Options { timestamps: true, tail_lines: Some(1), ..Default::default() })
            .map(|r| r.0)
            .unwrap_or_default();
        assert_eq!(String::from_utf8_lossy(&ts), "2024-01-01T00:00:02.000000000Z three\n");
        let limited =
            read(&p, &Options { limit_bytes: Some(5), ..Default::default() }).map(|r| r.0).unwrap_or_default();
        assert_eq!(limited, b"one\np");
        // Rotated files come first.
        std::fs::write(dir.path().join("0.log.20231231-000000"), "2023-12-31T00:00:00Z stdout F zero\n")
            .expect("write");
        let all = read(&p, &Options::default()).map(|r| r.0).unwrap_or_default();
        assert!(String::from_utf8_lossy(&all).starts_with("zero\none\n"));
        assert_eq!(tail_messages(&p, 1, 3).ok().as_deref(), Some("ee\n"));
    }

    #[test]
    fn following() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("0.log");
        std::fs::write(&p, "a x F 1\nb x F 2\nc x F incompl").expect("write");
        let (lines, pos) = read_from(&p, 0).expect("read");
        assert_eq!(lines, vec!["a x F 1", "b x F 2"]);
        let (more, pos2) = read_from(&p, pos).expect("read");
        assert!(more.is_empty());
        assert_eq!(pos, pos2);
        std::fs::write(&p, "z x F new\n").expect("rotate");
        let (again, _) = read_from(&p, pos).expect("read");
        assert_eq!(again, vec!["z x F new"]);
    }
}
