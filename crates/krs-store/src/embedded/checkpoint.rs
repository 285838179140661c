//! Checkpoints on a thread of their own.
//!
//! SQLite's automatic checkpoint runs inside the commit that takes the WAL past its threshold,
//! on the writer: copying 32 MiB of WAL into the database file and syncing it held every write
//! for ~40 ms, several times a second under load. Here the writer's WAL hook only asks, and a
//! second connection checkpoints in PASSIVE mode (it copies what is committed and neither waits
//! for nor blocks the writer) while the writer goes on committing, round after round until a
//! round finds little new; the writer then copies those last frames itself after a commit, so
//! the WAL is wholly copied and the next transaction reuses it from the start (a WAL that is
//! never wholly copied is never reused and only grows). The checkpointing connection runs with
//! `synchronous=FULL`, so SQLite syncs the WAL before copying and the database before the WAL may
//! be reused: durability is what it was.
//!
//! A WAL that grows far past the threshold anyway (the checkpointer cannot keep up, or a reader
//! holds old frames) is checkpointed by the writer itself after its commit, as SQLite's
//! automatic checkpoint would.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;

use rusqlite::Connection;
use rusqlite::hooks::Wal;
use rusqlite::wal::CheckpointMode;

use super::schema;
use super::writer::Counters;
use crate::StoreError;

/// WAL pages (4 KiB) that make the writer ask for a checkpoint: 32 MiB. Pages written again and
/// again (the log's last leaf, index leaves, the meta row) are copied once per checkpoint, so
/// fewer checkpoints mean much less I/O.
pub(crate) const DEFAULT_PAGES: u32 = 8192;

/// How many times the threshold the WAL may reach before the writer checkpoints itself.
const BACKSTOP_FACTOR: u32 = 4;

/// A round that copied fewer frames than this leaves the rest to the writer: what was committed
/// during such a round is little, and the writer copies it in well under a millisecond.
const TAIL_FRAMES: i32 = 512;

/// Where a checkpoint of the WAL stands, shared by the writer's hook and the checkpointing thread.
const IDLE: u8 = 0;
/// The thread copies the WAL, round after round while the writer keeps committing.
const COPYING: u8 = 1;
/// The rounds caught up; the writer copies the last frames after its next commit, which lets it
/// reuse the WAL from the start at the transaction after.
const CAUGHT_UP: u8 = 2;

/// Starts the checkpointing thread for the store at `path` and hooks `writer` to it. The thread
/// ends when the writer connection (which holds the hook) is closed.
pub(crate) fn start(
    writer: &mut Connection,
    path: &Path,
    pages: u32,
    counters: Arc<Counters>,
) -> Result<JoinHandle<()>, StoreError> {
    let conn = schema::open_checkpointer(path)?;
    let state = Arc::new(AtomicU8::new(IDLE));
    let (ask, asked) = mpsc::sync_channel::<()>(1);
    let pages = pages.max(1);
    let backstop = pages.saturating_mul(BACKSTOP_FACTOR);
    let (hook_state, hook_counters) = (state.clone(), counters.clone());
    writer
        .wal_hook(Some(move |wal: &mut Wal, in_wal: std::ffi::c_int| {
            let in_wal = u32::try_from(in_wal).unwrap_or(0);
            let phase = hook_state.load(Ordering::Acquire);
            if in_wal >= backstop || phase == CAUGHT_UP {
                // PASSIVE, as SQLite's own automatic checkpoint: when the thread is copying at
                // this moment it returns busy, and the next commit tries again.
                if wal.checkpoint().is_ok() {
                    hook_counters.writer_checkpoints.fetch_add(1, Ordering::Relaxed);
                    hook_state.store(IDLE, Ordering::Release);
                }
            } else if phase == IDLE && in_wal >= pages {
                hook_state.store(COPYING, Ordering::Release);
                let _ = ask.try_send(());
            }
            Ok(())
        }))
        .map_err(|e| StoreError::Internal(format!("sqlite: cannot hook the WAL: {e}")))?;
    let path = path.display().to_string();
    std::thread::Builder::new()
        .name("krs-store-checkpoint".into())
        .spawn(move || run(conn, asked, state, counters, &path))
        .map_err(|e| StoreError::Internal(format!("cannot start store thread: {e}")))
}

/// Serves the writer's asks: copies the WAL in rounds until a round finds little new (what the
/// writer committed during the previous one), then hands the last frames to the writer.
fn run(conn: Connection, asked: mpsc::Receiver<()>, state: Arc<AtomicU8>, counters: Arc<Counters>, path: &str) {
    while asked.recv().is_ok() {
        let mut copied = 0;
        loop {
            match conn.wal_checkpoint_v2(None::<&str>, CheckpointMode::PASSIVE) {
                Ok((_, backfilled)) => {
                    counters.checkpoints.fetch_add(1, Ordering::Relaxed);
                    let this_round = backfilled - copied;
                    copied = backfilled;
                    if this_round < TAIL_FRAMES {
                        break;
                    }
                }
                Err(err) => {
                    tracing::warn!(%err, path, "checkpoint failed");
                    break;
                }
            }
        }
        state.store(CAUGHT_UP, Ordering::Release);
    }
}
