//! Compaction: removing history below the compaction point, in bounded steps.
//!
//! `compact(C)` moves the compaction point in one small write transaction; from then on reads
//! below `C` fail. The rows that are no longer needed are removed afterwards by the writer, one
//! step of at most [`STEP_ROWS`] log rows per transaction between batches of requests, so a large
//! compaction never stalls writers for more than a few milliseconds. A row below `C` goes when it
//! is a deletion or when a newer row of its key exists at or below `C` (etcd's rule: each key
//! keeps its latest version at `C` unless that is a deletion). Rows at `C` itself all stay, so
//! reads and watches starting exactly at `C` see the complete revision.
//!
//! Freed pages go to SQLite's free list and are reused by later writes; when a compaction leaves
//! more than a quarter of the file free, `incremental_vacuum` returns the excess to the file system,
//! again in bounded steps.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension};

use super::schema::log_id;
use crate::Revision;

/// Log rows examined per compaction step.
const STEP_ROWS: i64 = 2000;

/// Pages released per vacuum step.
const VACUUM_PAGES: i64 = 2048;

enum Phase {
    /// Removing rows with log ids from `next` up to the compaction point.
    Removing {
        next: i64,
    },
    Vacuuming,
}

pub(crate) struct Compaction {
    revision: Revision,
    phase: Phase,
}

impl Compaction {
    pub(crate) fn new(revision: Revision) -> Self {
        Compaction { revision, phase: Phase::Removing { next: 0 } }
    }

    /// Runs one step in its own transaction; true when the compaction is complete.
    pub(crate) fn step(&mut self, conn: &Connection) -> rusqlite::Result<bool> {
        match self.phase {
            Phase::Removing { next } => {
                let below = log_id(self.revision, 0);
                let upto = log_id(self.revision + 1, 0);
                let tx = conn.unchecked_transaction()?;
                let end: i64 = tx
                    .prepare_cached("SELECT id FROM log WHERE id >= ?1 AND id < ?2 ORDER BY id LIMIT 1 OFFSET ?3")?
                    .query_row((next, below, STEP_ROWS), |r| r.get(0))
                    .optional()?
                    .unwrap_or(below);
                tx.prepare_cached(
                    "DELETE FROM log WHERE id >= ?1 AND id < ?2
                       AND (deleted <> 0 OR EXISTS (
                         SELECT 1 FROM log n WHERE n.key = log.key AND n.id > log.id AND n.id < ?3))",
                )?
                .execute((next, end, upto))?;
                tx.commit()?;
                self.phase = if end >= below { Phase::Vacuuming } else { Phase::Removing { next: end } };
                Ok(false)
            }
            Phase::Vacuuming => {
                let free: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
                let total: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
                if free * 4 <= total {
                    return Ok(true);
                }
                let release = (free - total / 8).clamp(1, VACUUM_PAGES);
                conn.execute_batch(&format!("PRAGMA incremental_vacuum({release})"))?;
                Ok(false)
            }
        }
    }
}

/// Automatic compaction: every `interval`, compact to the newest revision that is at least
/// `retention` old. The revision is sampled on every maintenance tick.
pub(crate) struct AutoCompaction {
    interval: Duration,
    retention: Duration,
    samples: VecDeque<(Instant, Revision)>,
    last_run: Instant,
    last_target: Revision,
}

impl AutoCompaction {
    pub(crate) fn new(interval: Duration, retention: Duration, now: Instant) -> Self {
        AutoCompaction { interval, retention, samples: VecDeque::new(), last_run: now, last_target: 0 }
    }

    /// Records the current revision; returns the revision to compact to when one is due.
    pub(crate) fn tick(&mut self, now: Instant, revision: Revision) -> Option<Revision> {
        self.samples.push_back((now, revision));
        let cutoff = now.checked_sub(self.retention);
        // Keep only the newest sample older than the retention window, and those within it.
        while self.samples.len() > 1 && cutoff.is_some_and(|c| self.samples[1].0 <= c) {
            self.samples.pop_front();
        }
        if now.duration_since(self.last_run) < self.interval {
            return None;
        }
        self.last_run = now;
        let (at, target) = *self.samples.front()?;
        if cutoff.is_none_or(|c| at > c) || target <= self.last_target {
            return None;
        }
        self.last_target = target;
        Some(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_compaction_targets_the_revision_one_retention_ago() {
        let t0 = Instant::now();
        let mut auto = AutoCompaction::new(Duration::from_secs(10), Duration::from_secs(5), t0);
        let s = Duration::from_secs(1);
        // Revision r at second r.
        for r in 1..10 {
            assert_eq!(auto.tick(t0 + s * r as u32, r), None, "interval not elapsed at {r}s");
        }
        // At 10 s the newest sample at least 5 s old is the one taken at 5 s.
        assert_eq!(auto.tick(t0 + s * 10, 10), Some(5));
        assert_eq!(auto.tick(t0 + s * 11, 11), None);
        for r in 12..20 {
            auto.tick(t0 + s * r as u32, r);
        }
        assert_eq!(auto.tick(t0 + s * 20, 20), Some(15));
    }

    #[test]
    fn auto_compaction_skips_when_nothing_was_written() {
        let t0 = Instant::now();
        let mut auto = AutoCompaction::new(Duration::from_secs(1), Duration::ZERO, t0);
        let s = Duration::from_secs(1);
        assert_eq!(auto.tick(t0 + s, 7), Some(7));
        assert_eq!(auto.tick(t0 + s * 2, 7), None);
    }
}
