//! The ledger's SQLite connection, and the one thread that writes to it in
//! the background.
//!
//! The connection lives in a [`Store`] behind a mutex. Rows reach it in one
//! of two ways:
//! - Queued for the writer thread, already safe in the journal (see
//!   `journal`) or with nobody waiting. Batching needs no timer: the thread
//!   sleeps on the queue, then takes everything already queued (up to
//!   [`MAX_BATCH`] rows) and commits it as one transaction, with the journal
//!   mark of the last, so under heavy load commits grow and their cost is
//!   shared. (Waiting 1–10 ms for rows to gather was tried: it raised
//!   throughput at 64 in flight by a sixth but added 20–80 µs at one in
//!   flight, bench/README.md.)
//! - A request that must wait for its row to be committed (no usable
//!   journal, see [`super::Ledger::record_durably`]) commits it itself when
//!   the store is free. Waking the writer thread and then being woken by it
//!   costs more than the commit itself (on the bench machine, about 55 µs
//!   against 15 µs for a lone row). When the store is busy the row is queued.
//!
//! Flushes and report queries go through the queue too, in order, so a report
//! always sees every row recorded before it was asked for. A process killed
//! mid-way loses only rows nobody waited for that were still queued or in the
//! open transaction; journaled rows are committed at the next open.
//!
//! Checkpoints (copying the WAL back into the database) sync the disk and take
//! milliseconds, so only the writer thread runs them, every
//! [`CHECKPOINT_ROWS`] rows, on a second connection and without holding the
//! store: requests go on committing meanwhile. The WAL starts over only when
//! a write begins after a checkpoint copied all of it; under load that never
//! pauses that does not happen, so past [`WAL_FRAMES_MAX`] frames the
//! checkpoint is finished with the store held.

use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::{broadcast, oneshot};

use super::journal::{self, Journal, Mark};
use super::{LedgerError, LedgerEvent, RequestRow, schema};

/// Rows per transaction at most, so a long backlog still commits in steps.
const MAX_BATCH: usize = 512;

/// Rows committed between two checkpoints. One-row commits write a few pages
/// each, so this keeps the WAL near SQLite's default limit of 1,000 pages.
const CHECKPOINT_ROWS: usize = 256;

/// WAL frames (pages) past which a checkpoint holds the store to finish.
/// About 8 MB; SQLite's own limit is 1,000.
const WAL_FRAMES_MAX: i64 = 2_000;

pub(super) enum Command {
    /// A row, and who to tell once it is committed (if anyone waits).
    Record(RequestRow, Option<oneshot::Sender<()>>),
    /// A row already in the journal, up to the mark.
    Journaled(RequestRow, Mark),
    /// Commit everything queued before this, then answer.
    Flush(SyncSender<Result<(), LedgerError>>),
    /// Commit everything queued before this, then run the query.
    Read(Box<dyn FnOnce(&Connection) + Send>),
    /// Commit what is pending and checkpoint if due, as after any batch: a
    /// caller committed (or failed to commit) outside the thread.
    Commit,
    /// Commit everything queued before this and end the thread.
    Stop,
}

/// The connection and the rows not yet in it.
pub(super) struct Store {
    conn: Connection,
    /// Rows received but not yet committed. A failed commit (disk full, file
    /// locked too long) keeps them here and the next batch retries them:
    /// rows are never dropped, and a transaction that failed wrote nothing,
    /// so a retry cannot duplicate.
    pending: Vec<RequestRow>,
    /// Told when the rows queued with them are committed.
    waiting: Vec<oneshot::Sender<()>>,
    /// The journal mark of the newest pending journaled row.
    pending_mark: Option<Mark>,
    /// The newest journal mark committed, until the journal starts over.
    committed_mark: Option<Mark>,
    /// Rows committed since the last checkpoint.
    uncheckpointed: usize,
    events: broadcast::Sender<LedgerEvent>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl Store {
    pub(super) fn new(conn: Connection, events: broadcast::Sender<LedgerEvent>) -> Store {
        Store {
            conn,
            pending: Vec::new(),
            waiting: Vec::new(),
            pending_mark: None,
            committed_mark: None,
            uncheckpointed: 0,
            events,
        }
    }

    /// Commits `row` with whatever is pending, without waiting for another
    /// process's lock: for a caller that must not block for long. `committed`
    /// is told once the row is in, here or later by the writer thread.
    /// Returns whether the thread must be sent [`Command::Commit`]: the
    /// commit failed (the file is locked or the write failed, and the row
    /// stays pending for the thread to retry) or a checkpoint is due.
    pub(super) fn commit_here(&mut self, row: RequestRow, committed: oneshot::Sender<()>) -> bool {
        self.pending.push(row);
        self.waiting.push(committed);
        if self.conn.busy_timeout(Duration::ZERO).is_err() {
            return true;
        }
        let saved = self.commit();
        if let Err(e) = self.conn.busy_timeout(schema::BUSY_WAIT) {
            tracing::warn!("cannot restore the usage ledger's lock timeout: {e}");
        }
        saved.is_err() || self.uncheckpointed >= CHECKPOINT_ROWS
    }

    fn commit(&mut self) -> Result<(), LedgerError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let saved = (|| {
            let tx = self.conn.transaction()?;
            for row in &self.pending {
                schema::insert(&tx, row)?;
            }
            if let Some(mark) = self.pending_mark {
                journal::save_mark(&tx, mark)?;
            }
            tx.commit()
        })();
        match saved {
            Ok(()) => {
                self.uncheckpointed += self.pending.len();
                self.pending.clear();
                self.committed_mark = self.pending_mark.take().or(self.committed_mark);
                for waiter in self.waiting.drain(..) {
                    // The waiter may have given up; the row is saved all the same.
                    let _ = waiter.send(());
                }
                // No subscriber is fine: nobody is looking at the dashboard.
                let _ = self.events.send(LedgerEvent::Changed);
                Ok(())
            }
            Err(e) => Err(LedgerError::WriteFailed {
                pending: self.pending.len(),
                message: e.to_string(),
            }),
        }
    }

    fn commit_or_log(&mut self) {
        if let Err(e) = self.commit() {
            tracing::error!("{e}");
        }
    }

    /// Whether enough rows went in for a checkpoint; if so, counts afresh.
    fn take_checkpoint_due(&mut self) -> bool {
        let due = self.uncheckpointed >= CHECKPOINT_ROWS;
        if due {
            self.uncheckpointed = 0;
        }
        due
    }
}

/// Copies the WAL into the database while requests go on committing, and
/// finishes with the store held if the WAL has grown too long to wait for a
/// pause.
fn checkpoint(store: &Mutex<Store>, checkpointer: &Connection) {
    // Copying all of it is not enough for the WAL to start over: the next
    // write must also begin after the copy, which load that never pauses
    // does not allow (a commit is always under way).
    if passive_checkpoint(checkpointer).is_some_and(|frames| frames > WAL_FRAMES_MAX) {
        let _store = lock(store);
        passive_checkpoint(checkpointer);
    }
}

/// PASSIVE: copies what no reader still needs and never waits. Returns the
/// frames in the WAL.
fn passive_checkpoint(checkpointer: &Connection) -> Option<i64> {
    match checkpointer.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1)) {
        Ok(frames) => Some(frames),
        Err(e) => {
            tracing::warn!("usage ledger checkpoint failed: {e}");
            None
        }
    }
}

/// Locks the store. Its state stays consistent even if a holder panicked:
/// rows move to the database only in a committed transaction.
fn lock(store: &Mutex<Store>) -> MutexGuard<'_, Store> {
    store.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The store, if no one else holds it (see [`lock`] on poisoning).
pub(super) fn try_lock(store: &Mutex<Store>) -> Option<MutexGuard<'_, Store>> {
    match store.try_lock() {
        Ok(store) => Some(store),
        Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

/// Starts the writer thread. `checkpointer` is a second connection to the
/// same file; `None` for an in-memory ledger, which has no WAL.
pub(super) fn spawn(
    store: Arc<Mutex<Store>>,
    checkpointer: Option<Connection>,
    journal: Option<Arc<Mutex<Journal>>>,
    commands: Receiver<Command>,
) -> Result<JoinHandle<()>, LedgerError> {
    std::thread::Builder::new()
        .name("clawrouter-ledger".into())
        .spawn(move || {
            schedule_as_batch_work();
            run(&store, checkpointer.as_ref(), journal.as_deref(), &commands);
        })
        .map_err(LedgerError::Spawn)
}

/// Has Linux schedule this thread as batch work (`SCHED_BATCH`): it keeps
/// its fair share of the CPU, but waking it does not preempt a running
/// thread. Its commits are background work (a journaled row is already
/// safe, and a request that waits for its commit makes it on its own thread
/// when it can), so on busy cores the requests' threads go first, and the
/// commits gather more rows each (bench/README.md).
#[cfg(target_os = "linux")]
fn schedule_as_batch_work() {
    use thread_priority::{
        NormalThreadSchedulePolicy, ThreadPriority, ThreadPriorityOsValue, ThreadSchedulePolicy,
    };
    if let Err(e) = thread_priority::set_thread_priority_and_policy(
        thread_priority::thread_native_id(),
        // Niceness 0, as threads start with.
        ThreadPriority::Os(ThreadPriorityOsValue::default()),
        ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Batch),
    ) {
        tracing::debug!("the usage ledger's writer is not scheduled as batch work: {e}");
    }
}

#[cfg(not(target_os = "linux"))]
fn schedule_as_batch_work() {}

fn run(
    shared: &Mutex<Store>,
    checkpointer: Option<&Connection>,
    journal: Option<&Mutex<Journal>>,
    commands: &Receiver<Command>,
) {
    while let Ok(first) = commands.recv() {
        let mut store = lock(shared);
        let mut next = Some(first);
        while let Some(command) = next {
            if apply(&mut store, command) == Flow::Stop {
                return;
            }
            next = if store.pending.len() < MAX_BATCH {
                commands.try_recv().ok()
            } else {
                None
            };
        }
        store.commit_or_log();
        let due = store.take_checkpoint_due();
        // Known from the store, so the journal (which requests lock to
        // append) is locked only when it is time.
        let journal_full = store.committed_mark.is_some_and(Mark::past_restart_size);
        drop(store);
        if let Some(journal) = journal.filter(|_| journal_full)
            && restart_journal(shared, journal, commands) == Flow::Stop
        {
            return;
        }
        if let Some(checkpointer) = checkpointer.filter(|_| due) {
            checkpoint(shared, checkpointer);
        }
    }
    // The queue closed without a Stop; still save what arrived.
    lock(shared).commit_or_log();
}

#[derive(PartialEq)]
enum Flow {
    Go,
    Stop,
}

/// Takes one command into the store: queues a row, or commits and answers.
fn apply(store: &mut Store, command: Command) -> Flow {
    match command {
        Command::Record(row, committed) => {
            store.pending.push(row);
            store.waiting.extend(committed);
        }
        Command::Journaled(row, mark) => {
            store.pending.push(row);
            store.pending_mark = Some(mark);
        }
        Command::Flush(done) => {
            // The flusher may have given up waiting; nothing to do then.
            let _ = done.send(store.commit());
        }
        Command::Read(query) => {
            store.commit_or_log();
            query(&store.conn);
        }
        // Done after the batch.
        Command::Commit => {}
        Command::Stop => {
            store.commit_or_log();
            return Flow::Stop;
        }
    }
    Flow::Go
}

/// Starts the (full) journal over once every row in it is committed. Under
/// load that never pauses, rows may always be appended while a batch
/// commits, so the journal is held (appends wait, once per megabyte or so)
/// while the rows queued up to it are committed.
fn restart_journal(
    shared: &Mutex<Store>,
    journal: &Mutex<Journal>,
    commands: &Receiver<Command>,
) -> Flow {
    let mut journal = journal::lock(journal);
    let mut store = lock(shared);
    let mut flow = Flow::Go;
    // Rows are queued under the journal's lock, so every row appended is
    // in the queue now.
    while flow == Flow::Go
        && let Ok(command) = commands.try_recv()
    {
        flow = apply(&mut store, command);
    }
    store.commit_or_log();
    if store.committed_mark.take() == Some(journal.mark()) {
        journal.restart();
    }
    flow
}

#[cfg(test)]
mod tests {
    #[cfg(target_os = "linux")]
    #[test]
    fn the_writer_thread_is_scheduled_as_batch_work() {
        let ledger = crate::ledger::Ledger::open_in_memory().unwrap();
        // Read on the writer thread, about itself.
        let stat = ledger
            .read(|_| Ok(std::fs::read_to_string("/proc/thread-self/stat").ok()))
            .unwrap()
            .unwrap();
        // proc(5): field 41 is the scheduling policy, 3 is SCHED_BATCH.
        // Fields are counted from the pid; the name (field 2) is in
        // parentheses and may hold spaces, so count on from after it.
        let (_, after_name) = stat.rsplit_once(')').unwrap();
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        assert_eq!(fields[41 - 3], "3", "{stat}");
    }
}
