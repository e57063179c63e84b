//! The one thread that owns the ledger's SQLite connection.
//!
//! Every database access goes through its queue, in order: rows to insert,
//! flush requests and report queries. So a report always sees every row
//! recorded before it was asked for, and the request path only ever pays
//! for a channel send.
//!
//! Batching needs no timer: the thread sleeps on the queue, then takes
//! everything already queued (up to [`MAX_BATCH`] rows) and commits it as one
//! transaction. Under light load that is one row per commit, committed as
//! soon as it arrives; under heavy load commits grow and their cost is shared.
//! A process killed mid-way loses only rows still queued or in the open
//! transaction.

use std::sync::mpsc::{Receiver, SyncSender};
use std::thread::JoinHandle;

use rusqlite::Connection;
use tokio::sync::{broadcast, oneshot};

use super::{LedgerError, LedgerEvent, RequestRow, schema};

/// Rows per transaction at most, so a long backlog still commits in steps.
const MAX_BATCH: usize = 512;

#[expect(
    clippy::large_enum_variant,
    reason = "nearly every command is a Record; boxing it would allocate per row for nothing"
)]
pub(super) enum Command {
    /// A row, and who to tell once it is committed (if anyone waits).
    Record(RequestRow, Option<oneshot::Sender<()>>),
    /// Commit everything queued before this, then answer.
    Flush(SyncSender<Result<(), LedgerError>>),
    /// Commit everything queued before this, then run the query.
    Read(Box<dyn FnOnce(&Connection) + Send>),
    /// Commit everything queued before this and end the thread.
    Stop,
}

pub(super) fn spawn(
    conn: Connection,
    events: broadcast::Sender<LedgerEvent>,
    commands: Receiver<Command>,
) -> Result<JoinHandle<()>, LedgerError> {
    let writer = Writer {
        conn,
        pending: Vec::new(),
        waiting: Vec::new(),
        events,
    };
    std::thread::Builder::new()
        .name("clawrouter-ledger".into())
        .spawn(move || writer.run(&commands))
        .map_err(LedgerError::Spawn)
}

struct Writer {
    conn: Connection,
    /// Rows received but not yet committed. A failed commit (disk full, file
    /// locked too long) keeps them here and the next batch retries them:
    /// rows are never dropped, and a transaction that failed wrote nothing,
    /// so a retry cannot duplicate.
    pending: Vec<RequestRow>,
    /// Told when the rows queued with them are committed.
    waiting: Vec<oneshot::Sender<()>>,
    events: broadcast::Sender<LedgerEvent>,
}

impl Writer {
    fn run(mut self, commands: &Receiver<Command>) {
        while let Ok(first) = commands.recv() {
            let mut next = Some(first);
            while let Some(command) = next {
                match command {
                    Command::Record(row, committed) => {
                        self.pending.push(row);
                        self.waiting.extend(committed);
                    }
                    Command::Flush(done) => {
                        // The flusher may have given up waiting; nothing to do then.
                        let _ = done.send(self.commit());
                    }
                    Command::Read(query) => {
                        self.commit_or_log();
                        query(&self.conn);
                    }
                    Command::Stop => {
                        self.commit_or_log();
                        return;
                    }
                }
                next = if self.pending.len() < MAX_BATCH {
                    commands.try_recv().ok()
                } else {
                    None
                };
            }
            self.commit_or_log();
        }
        // The queue closed without a Stop; still save what arrived.
        self.commit_or_log();
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
            tx.commit()
        })();
        match saved {
            Ok(()) => {
                self.pending.clear();
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
}
