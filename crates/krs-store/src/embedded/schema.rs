//! The SQLite file: its schema, the pragmas every connection runs with, and the checks that
//! refuse a foreign or damaged file at open instead of silently recreating it.
//!
//! The schema is a revision log in the manner of kine, with a table of current keys beside it:
//!
//! - `log` holds every version of every key until compaction removes it. Its integer primary key
//!   encodes the revision and the position of the write within its transaction
//!   ([`log_id`]), so the log is ordered by revision without a separate index, and a watch replays
//!   history with a primary-key range scan. `log_key (key, id)` serves reads at past revisions.
//! - `current` maps each live key to the log row of its latest version, so latest gets and ranges
//!   never scan history. It also carries the key's lease, indexed, to find a lease's keys.
//! - `meta` is a single row with the store revision and the compaction point. It is updated in the
//!   same SQLite transaction as the log rows, so the revision survives a crash exactly as the
//!   writes do, and it survives compaction even when the newest log rows are removed.
//! - `lease` holds the granted leases and their TTLs; their deadlines live in memory.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::{Revision, StoreError};

/// `PRAGMA application_id` of a krs store ("krs1" in ASCII): marks the file as ours.
pub(crate) const APPLICATION_ID: i32 = 0x6b72_7331;

/// `PRAGMA user_version`: the schema version this code reads and writes.
pub(crate) const SCHEMA_VERSION: i32 = 1;

/// Bits of a log id below the revision: a transaction can write up to 2^20 keys, which leaves
/// 2^43 revisions.
pub(crate) const SUB_BITS: u32 = 20;

/// The largest number of writes one revision can hold.
pub(crate) const MAX_WRITES_PER_REVISION: i64 = 1 << SUB_BITS;

/// The log id of the `sub`-th write of revision `rev`.
pub(crate) fn log_id(rev: Revision, sub: i64) -> i64 {
    (rev << SUB_BITS) | sub
}

/// The revision of a log id.
pub(crate) fn revision_of(id: i64) -> Revision {
    id >> SUB_BITS
}

/// An upper bound for keys: no UTF-8 string contains the byte 0xff, so it sorts after every key.
pub(crate) const KEY_MAX: &[u8] = &[0xff];

/// The exclusive end of the key range of a prefix.
pub(crate) fn range_end(prefix: &str) -> Vec<u8> {
    crate::prefix_end(prefix.as_bytes()).unwrap_or_else(|| KEY_MAX.to_vec())
}

const CREATE_SCHEMA: &str = "
CREATE TABLE meta (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    revision INTEGER NOT NULL,
    compact_revision INTEGER NOT NULL
);
INSERT INTO meta (id, revision, compact_revision) VALUES (0, 0, 0);
CREATE TABLE log (
    id INTEGER PRIMARY KEY,
    key BLOB NOT NULL,
    deleted INTEGER NOT NULL,
    create_revision INTEGER NOT NULL,
    version INTEGER NOT NULL,
    lease INTEGER NOT NULL,
    prev_id INTEGER,
    value BLOB NOT NULL
);
CREATE INDEX log_key ON log (key, id);
CREATE TABLE current (
    key BLOB PRIMARY KEY,
    id INTEGER NOT NULL,
    lease INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX current_lease ON current (lease) WHERE lease <> 0;
CREATE TABLE lease (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ttl INTEGER NOT NULL
);
";

/// The tables a krs store must have; checked at open so that a file with our application id but
/// a damaged catalogue is refused.
const TABLES: [&str; 4] = ["meta", "log", "current", "lease"];

fn corrupt(path: &Path, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt { path: path.display().to_string(), reason: reason.into() }
}

/// Maps a SQLite error met while opening `path` to a typed error: the codes that mean "this is
/// not a usable database" become [`StoreError::Corrupt`].
fn open_error(path: &Path, err: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    match err.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => corrupt(path, format!("not a SQLite database ({err})")),
        Some(ErrorCode::DatabaseCorrupt) => corrupt(path, format!("damaged database ({err})")),
        _ => StoreError::Unavailable(format!("database {}: {err}", path.display())),
    }
}

/// Takes an exclusive advisory lock (`flock`) on the database file for the life of the store: two
/// stores writing one file would each count revisions on their own. The lock is independent of
/// SQLite's own locks and released when the returned file is closed or the process dies.
pub(crate) fn lock(path: &Path) -> Result<std::fs::File, StoreError> {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| StoreError::Unavailable(format!("database {}: {e}", path.display())))?;
    // SAFETY: flock on a descriptor this function owns; no memory is involved.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let err = std::io::Error::last_os_error();
        return Err(StoreError::Unavailable(format!(
            "database {} is already open in another store ({err})",
            path.display()
        )));
    }
    Ok(file)
}

/// Runs the pragmas every connection needs. `busy_timeout` covers the short moments where WAL
/// bookkeeping makes a reader wait for the writer.
fn configure(conn: &Connection, cache_kib: i64) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // Plans that do not depend on bound values: without this, SQLite (built with STAT4)
    // re-prepares a cached statement whenever a parameter changes, on every write.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    conn.pragma_update(None, "cache_size", -cache_kib)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(())
}

/// The size a WAL that a burst made larger is cut back to when it is reused: 64 MiB.
const WAL_SIZE_LIMIT: i64 = 64 << 20;

/// Opens the write connection: validates the file (or initialises an empty one) and sets WAL
/// mode with full synchronous commits, so a commit is on disk when it returns.
pub(crate) fn open_writer(path: &Path, verify: bool) -> Result<Connection, StoreError> {
    let existed = std::fs::metadata(path).map(|m| m.len() > 0).unwrap_or(false);
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| open_error(path, e))?;
    // The first statement reads the header: a file that is not SQLite fails here.
    let application_id: i32 =
        conn.pragma_query_value(None, "application_id", |r| r.get(0)).map_err(|e| open_error(path, e))?;
    let version: i32 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(|e| open_error(path, e))?;
    let objects: i64 =
        conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0)).map_err(|e| open_error(path, e))?;

    if application_id == 0 && version == 0 && objects == 0 {
        // A new or empty file: only a file that holds nothing is initialised.
        initialise(&conn).map_err(|e| open_error(path, e))?;
    } else if application_id != APPLICATION_ID {
        return Err(corrupt(
            path,
            format!(
                "not a krs store: SQLite database of another application (application_id {application_id:#x}, {objects} schema objects)"
            ),
        ));
    } else if version != SCHEMA_VERSION {
        return Err(corrupt(
            path,
            format!("krs store schema version {version}, this build reads version {SCHEMA_VERSION}"),
        ));
    } else {
        check_tables(&conn, path)?;
        if verify && existed {
            quick_check(&conn, path)?;
        }
    }

    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)).map_err(|e| open_error(path, e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Unavailable(format!(
            "database {}: cannot use write-ahead logging (journal mode {mode})",
            path.display()
        )));
    }
    conn.pragma_update(None, "synchronous", "FULL").map_err(|e| open_error(path, e))?;
    // No checkpoint inside the writer's commits: `checkpoint.rs` runs them on a connection of
    // their own. The WAL file is cut back to 64 MiB when it is reused if a burst made it larger.
    conn.pragma_update(None, "wal_autocheckpoint", 0).map_err(|e| open_error(path, e))?;
    conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT).map_err(|e| open_error(path, e))?;
    // A small page cache for the writer: its pages are mostly the b-trees' hot edges, and SQLite
    // scans the whole cache's hash table at the end of many transactions.
    configure(&conn, 8 * 1024).map_err(|e| open_error(path, e))?;
    Ok(conn)
}

/// Opens the connection that checkpoints (`checkpoint.rs`): read-write, with `synchronous=FULL`
/// so that a checkpoint syncs the WAL before copying it and the database before the WAL can be
/// reused. A checkpoint copies frames through its own buffer, so the page cache stays small.
pub(crate) fn open_checkpointer(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| open_error(path, e))?;
    conn.pragma_update(None, "synchronous", "FULL").map_err(|e| open_error(path, e))?;
    conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT).map_err(|e| open_error(path, e))?;
    configure(&conn, 1024).map_err(|e| open_error(path, e))?;
    Ok(conn)
}

/// Opens a read connection. WAL lets it read while the writer commits; each read transaction
/// sees one consistent snapshot.
pub(crate) fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| open_error(path, e))?;
    configure(&conn, 16 * 1024).map_err(|e| open_error(path, e))?;
    // Reading through a memory map saves a copy per page on large ranges.
    conn.pragma_update(None, "mmap_size", 1i64 << 30).map_err(|e| open_error(path, e))?;
    Ok(conn)
}

fn initialise(conn: &Connection) -> rusqlite::Result<()> {
    // auto_vacuum must be chosen before the first table exists. INCREMENTAL lets compaction give
    // freed pages back to the file system in bounded steps.
    conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
    conn.execute_batch(&format!(
        "BEGIN IMMEDIATE;
         {CREATE_SCHEMA}
         PRAGMA application_id = {APPLICATION_ID};
         PRAGMA user_version = {SCHEMA_VERSION};
         COMMIT;"
    ))
}

fn check_tables(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    for table in TABLES {
        let found: Option<String> = conn
            .query_row("SELECT name FROM sqlite_schema WHERE type = 'table' AND name = ?1", [table], |r| r.get(0))
            .optional()
            .map_err(|e| open_error(path, e))?;
        if found.is_none() {
            return Err(corrupt(path, format!("krs store without its table {table:?}")));
        }
    }
    let meta_rows: i64 =
        conn.query_row("SELECT count(*) FROM meta", [], |r| r.get(0)).map_err(|e| open_error(path, e))?;
    if meta_rows != 1 {
        return Err(corrupt(path, format!("krs store with {meta_rows} meta rows instead of 1")));
    }
    Ok(())
}

/// SQLite's own consistency check of every page: finds truncated files and damaged b-trees that
/// would otherwise only fail when a damaged page is first read.
fn quick_check(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let mut stmt = conn.prepare("PRAGMA quick_check(5)").map_err(|e| open_error(path, e))?;
    let problems: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .and_then(|rows| rows.collect())
        .map_err(|e| open_error(path, e))?;
    if problems.len() == 1 && problems[0] == "ok" {
        Ok(())
    } else {
        Err(corrupt(path, format!("damaged database: {}", problems.join("; "))))
    }
}

/// The store revision and compaction point, read inside the caller's transaction.
pub(crate) fn read_meta(conn: &Connection) -> rusqlite::Result<(Revision, Revision)> {
    conn.prepare_cached("SELECT revision, compact_revision FROM meta WHERE id = 0")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
}
