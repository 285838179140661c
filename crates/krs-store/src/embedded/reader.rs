//! Reads: a pool of read-only connections, each read one SQLite transaction, so that the
//! revision it reports and the rows it returns come from the same snapshot.
//!
//! Latest reads go through `current` (one row per live key). Reads at a past revision take, for
//! each key, its newest log row at or below that revision, through the `log_key (key, id)` index.

use std::path::PathBuf;

use bytes::Bytes;
use parking_lot::Mutex;
use rusqlite::{Connection, OptionalExtension, Row};

use super::schema::{self, log_id, range_end, revision_of};
use crate::{Event, EventKind, KeyValue, RangeRequest, RangeResponse, Revision, StoreError};

/// Connections kept for reuse; more are opened when more readers run at once.
const IDLE_CONNECTIONS: usize = 8;

pub(crate) fn sql_error(err: rusqlite::Error) -> StoreError {
    StoreError::Internal(format!("sqlite: {err}"))
}

/// Decodes a key column. Keys are written from Rust strings, so invalid UTF-8 means the file was
/// altered outside krs.
pub(crate) fn key_column(row: &Row<'_>, idx: usize) -> rusqlite::Result<String> {
    let bytes = row.get_ref(idx)?.as_blob()?;
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Blob, Box::new(e)))
}

/// Builds a key-value from the columns `id, create_revision, version, lease, value` starting at
/// `base`.
pub(crate) fn kv_columns(row: &Row<'_>, base: usize, key: String) -> rusqlite::Result<KeyValue> {
    let id: i64 = row.get(base)?;
    Ok(KeyValue {
        key,
        mod_revision: revision_of(id),
        create_revision: row.get(base + 1)?,
        version: row.get(base + 2)?,
        lease: row.get(base + 3)?,
        value: Bytes::copy_from_slice(row.get_ref(base + 4)?.as_blob()?),
    })
}

/// Which snapshot a read uses.
enum At {
    Latest,
    /// A past revision, strictly below the current one.
    Past(Revision),
}

/// Checks a requested revision against the snapshot's revision and compaction point.
fn resolve(requested: Option<Revision>, revision: Revision, compacted: Revision) -> Result<At, StoreError> {
    match requested {
        None => Ok(At::Latest),
        Some(r) if r <= 0 || r == revision => Ok(At::Latest),
        Some(r) if r > revision => Err(StoreError::FutureRevision { requested: r, current: revision }),
        Some(r) if r < compacted => Err(StoreError::Compacted { requested: r, compact_revision: compacted }),
        Some(r) => Ok(At::Past(r)),
    }
}

pub(crate) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    pub(crate) fn new(path: PathBuf) -> Self {
        Readers { path, idle: Mutex::new(Vec::new()) }
    }

    /// Runs `f` in one read transaction on a pooled connection.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&Connection) -> Result<R, StoreError>) -> Result<R, StoreError> {
        let pooled = self.idle.lock().pop();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => schema::open_reader(&self.path)?,
        };
        let result = (|| {
            let tx = conn.transaction().map_err(sql_error)?;
            let out = f(&tx)?;
            // Ending a read transaction releases its snapshot so the WAL can be checkpointed.
            tx.commit().map_err(sql_error)?;
            Ok(out)
        })();
        let mut idle = self.idle.lock();
        if idle.len() < IDLE_CONNECTIONS {
            idle.push(conn);
        }
        result
    }

    pub(crate) fn meta(&self) -> Result<(Revision, Revision), StoreError> {
        self.read(|conn| schema::read_meta(conn).map_err(sql_error))
    }

    pub(crate) fn get(
        &self,
        key: &str,
        requested: Option<Revision>,
    ) -> Result<(Option<KeyValue>, Revision), StoreError> {
        self.read(|conn| {
            let (revision, compacted) = schema::read_meta(conn).map_err(sql_error)?;
            match resolve(requested, revision, compacted)? {
                At::Latest => {
                    let kv = latest(conn, key).map_err(sql_error)?;
                    Ok((kv, revision))
                }
                At::Past(at) => {
                    let kv = conn
                        .prepare_cached(
                            "SELECT id, create_revision, version, lease, value, deleted FROM log
                             WHERE key = ?1 AND id < ?2 ORDER BY id DESC LIMIT 1",
                        )
                        .and_then(|mut stmt| {
                            stmt.query_row((key.as_bytes(), log_id(at + 1, 0)), |row| {
                                let deleted: bool = row.get(5)?;
                                if deleted { Ok(None) } else { kv_columns(row, 0, key.to_owned()).map(Some) }
                            })
                            .optional()
                        })
                        .map_err(sql_error)?
                        .flatten();
                    Ok((kv, at))
                }
            }
        })
    }

    pub(crate) fn range(&self, req: &RangeRequest) -> Result<RangeResponse, StoreError> {
        let start = req.start.as_deref().unwrap_or(&req.prefix).as_bytes();
        let end = range_end(&req.prefix);
        self.read(|conn| {
            let (revision, compacted) = schema::read_meta(conn).map_err(sql_error)?;
            let at = resolve(req.revision, revision, compacted)?;
            let read_revision = match at {
                At::Latest => revision,
                At::Past(r) => r,
            };
            let mut resp = RangeResponse { kvs: Vec::new(), revision: read_revision, remaining: 0 };
            if req.count_only {
                resp.remaining = count(conn, &at, start, &end).map_err(sql_error)?;
                return Ok(resp);
            }
            let limit = if req.limit == 0 { -1 } else { req.limit as i64 };
            resp.kvs = match at {
                At::Latest => select_latest(conn, start, &end, limit),
                At::Past(r) => select_past(conn, start, &end, r, limit),
            }
            .map_err(sql_error)?;
            if req.limit > 0
                && resp.kvs.len() == req.limit
                && let Some(last) = resp.kvs.last()
            {
                // Keys after the last returned one: start just past it.
                let mut after = last.key.as_bytes().to_vec();
                after.push(0);
                resp.remaining = count(conn, &at, &after, &end).map_err(sql_error)?;
            }
            Ok(resp)
        })
    }

    /// Log rows with ids in `[from, to)` whose key is in `[start, end)`, oldest first, as watch
    /// events with their previous values: about `limit` of them, but always whole revisions.
    /// Also returns where the next call continues, or `None` when the interval is exhausted.
    /// Fails with [`StoreError::Compacted`] when `from` is below the compaction point.
    pub(crate) fn events(
        &self,
        from: i64,
        to: i64,
        (start, end): (&[u8], &[u8]),
        limit: usize,
        requested: Revision,
    ) -> Result<(Vec<Event>, Option<i64>), StoreError> {
        self.read(|conn| {
            let (_, compacted) = schema::read_meta(conn).map_err(sql_error)?;
            if revision_of(from) < compacted {
                return Err(StoreError::Compacted { requested, compact_revision: compacted });
            }
            let mut events = select_events(conn, from, to, start, end, limit as i64).map_err(sql_error)?;
            if events.len() < limit {
                return Ok((events, None));
            }
            // The chunk may end inside a transaction: read the whole of its last revision, so a
            // batch never splits one.
            let last_rev = events.last().map_or(0, |e| e.kv.mod_revision);
            let next = log_id(last_rev + 1, 0);
            events.retain(|e| e.kv.mod_revision != last_rev);
            let rest = select_events(conn, log_id(last_rev, 0), next.min(to), start, end, -1).map_err(sql_error)?;
            events.extend(rest);
            Ok((events, (next < to).then_some(next)))
        })
    }

    /// How many log rows the file holds (history included).
    pub(crate) fn log_rows(&self) -> Result<i64, StoreError> {
        self.read(|conn| conn.query_row("SELECT count(*) FROM log", [], |r| r.get(0)).map_err(sql_error))
    }
}

/// The latest value of `key`, through the table of current keys.
pub(crate) fn latest(conn: &Connection, key: &str) -> rusqlite::Result<Option<KeyValue>> {
    conn.prepare_cached(
        "SELECT l.id, l.create_revision, l.version, l.lease, l.value
         FROM current c JOIN log l ON l.id = c.id WHERE c.key = ?1",
    )?
    .query_row([key.as_bytes()], |row| kv_columns(row, 0, key.to_owned()))
    .optional()
}

fn select_latest(conn: &Connection, start: &[u8], end: &[u8], limit: i64) -> rusqlite::Result<Vec<KeyValue>> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.key, l.id, l.create_revision, l.version, l.lease, l.value
         FROM current c JOIN log l ON l.id = c.id
         WHERE c.key >= ?1 AND c.key < ?2 ORDER BY c.key LIMIT ?3",
    )?;
    let rows = stmt.query_map((start, end, limit), |row| {
        let key = key_column(row, 0)?;
        kv_columns(row, 1, key)
    })?;
    rows.collect()
}

/// The live keys at revision `at`: for each key its newest row at or below `at`, unless that row
/// is a deletion.
const PAST_ROWS: &str = "FROM log l INDEXED BY log_key
     WHERE l.key >= ?1 AND l.key < ?2 AND l.id < ?3
       AND NOT EXISTS (SELECT 1 FROM log n WHERE n.key = l.key AND n.id > l.id AND n.id < ?3)
       AND l.deleted = 0";

fn select_past(
    conn: &Connection,
    start: &[u8],
    end: &[u8],
    at: Revision,
    limit: i64,
) -> rusqlite::Result<Vec<KeyValue>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT l.key, l.id, l.create_revision, l.version, l.lease, l.value {PAST_ROWS}
         ORDER BY l.key LIMIT ?4"
    ))?;
    let rows = stmt.query_map((start, end, log_id(at + 1, 0), limit), |row| {
        let key = key_column(row, 0)?;
        kv_columns(row, 1, key)
    })?;
    rows.collect()
}

fn count(conn: &Connection, at: &At, start: &[u8], end: &[u8]) -> rusqlite::Result<i64> {
    match at {
        At::Latest => conn
            .prepare_cached("SELECT count(*) FROM current WHERE key >= ?1 AND key < ?2")?
            .query_row((start, end), |r| r.get(0)),
        At::Past(r) => conn
            .prepare_cached(&format!("SELECT count(*) {PAST_ROWS}"))?
            .query_row((start, end, log_id(r + 1, 0)), |r| r.get(0)),
    }
}

fn select_events(
    conn: &Connection,
    from: i64,
    to: i64,
    start: &[u8],
    end: &[u8],
    limit: i64,
) -> rusqlite::Result<Vec<Event>> {
    // `+l.key` keeps the planner on the primary key: history is scanned in revision order and
    // filtered by key, rather than gathered by key and sorted.
    let mut stmt = conn.prepare_cached(
        "SELECT l.id, l.key, l.deleted, l.create_revision, l.version, l.lease, l.value,
                p.id, p.create_revision, p.version, p.lease, p.value
         FROM log l LEFT JOIN log p ON p.id = l.prev_id
         WHERE l.id >= ?1 AND l.id < ?2 AND +l.key >= ?3 AND +l.key < ?4
         ORDER BY l.id LIMIT ?5",
    )?;
    let rows = stmt.query_map((from, to, start, end, limit), |row| {
        let id: i64 = row.get(0)?;
        let key = key_column(row, 1)?;
        let deleted: bool = row.get(2)?;
        let prev = match row.get::<_, Option<i64>>(7)? {
            Some(_) => Some(kv_columns(row, 7, key.clone())?),
            None => None,
        };
        let (kind, kv) = if deleted {
            (EventKind::Delete, crate::deleted_kv(key, revision_of(id)))
        } else {
            (
                EventKind::Put,
                KeyValue {
                    key,
                    mod_revision: revision_of(id),
                    create_revision: row.get(3)?,
                    version: row.get(4)?,
                    lease: row.get(5)?,
                    value: Bytes::copy_from_slice(row.get_ref(6)?.as_blob()?),
                },
            )
        };
        Ok(Event { kind, kv, prev })
    })?;
    rows.collect()
}
