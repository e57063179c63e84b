//! The usage ledger: one SQLite row per request to a model, cost included,
//! kept across restarts, for the dashboard, `clawrouter usage` and budgets.
//!
//! The server calls [`Ledger::record_durably`] after every upstream call,
//! whatever its outcome, and finishes its answer once the row is safe: in
//! the journal (see `journal`), a file a killed process leaves behind and the
//! next one replays. One writer thread (see `writer`) commits rows to SQLite
//! promptly in batches and runs the slow disk work (checkpoints). Reports go
//! through the writer thread, after the rows queued before them, so they
//! always include everything already recorded.
//! Budget totals are kept in memory (see `budget`) so the pre-request check is
//! cheap. Days and months are UTC throughout.
//!
//! [`Ledger::flush`], [`Ledger::summary`], [`Ledger::daily_spend`] and
//! [`Ledger::recent`] block until the writer thread answers; from async code
//! call them in `tokio::task::spawn_blocking`.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::catalog::{Category, Model, Tier, TokenUsage};
use crate::money::Usd;

mod budget;
mod clients;
mod journal;
mod report;
mod schema;
mod utc;
mod writer;

pub use budget::{BudgetExceeded, BudgetGuard, BudgetPeriod, PeriodSpend, WARNING_FRACTION};
pub use clients::client_name;
pub use report::{
    ClientSpend, DaySpend, ModelSpend, PeriodTotals, Periods, Spend, TierSpend, UsageSummary,
};

/// One request to a model, as it is recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRow {
    /// Unix ms when the request started; decides its UTC day and month.
    pub at_ms: i64,
    /// The client's user agent, e.g. `claude-cli/2.1`; cut to
    /// [`CLIENT_MAX_CHARS`] when recorded.
    pub client: String,
    /// `/v1/chat/completions` or `/v1/messages`.
    pub route: String,
    /// The model the client asked for (`auto`, `claude-sonnet-4-5`, ...).
    pub requested_model: String,
    pub tier: Option<Tier>,
    pub category: Option<Category>,
    /// Catalog name of the model that answered (or was tried last).
    pub model: String,
    /// The Bedrock inference profile id called.
    pub profile_id: String,
    pub usage: TokenUsage,
    /// Exact; see [`RequestRow::priced`]. `None`: the model's price is
    /// unknown (a discovered model), so the request is in no sum or budget
    /// and is counted as unpriced instead.
    pub cost_usd: Option<Usd>,
    /// What the same token counts would have cost on the top tier's model
    /// (see [`RequestRow::against_top_tier`]); equal to the cost when
    /// nothing is known to compare with.
    pub top_tier_cost_usd: Usd,
    /// What cache reads saved against the same tokens as uncached input.
    pub cache_saved_usd: Usd,
    pub latency_ms: u64,
    /// Time to first token, for streams.
    pub ttft_ms: Option<u64>,
    /// HTTP status returned to the client; 499 when the client went away.
    pub status: u16,
    /// e.g. `throttled`, `validation`, `client_disconnected`.
    pub error_kind: Option<String>,
    /// Why the router chose this tier and model (`auto` requests), and any
    /// fallback to another model; `None` for a named model.
    pub reason: Option<String>,
}

/// Longest `client` kept: user agents are free text from the network.
pub const CLIENT_MAX_CHARS: usize = 200;

/// What the tray and the dashboard are told.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LedgerEvent {
    /// Spend in a period reached [`WARNING_FRACTION`] of its cap; sent once
    /// per period (per process, and again if the cap is changed).
    BudgetWarning {
        period: BudgetPeriod,
        spent_usd: Usd,
        limit_usd: Usd,
    },
    /// Spend in a period reached its cap; requests are now refused by
    /// [`BudgetGuard::check`]. Sent once per period, like the warning.
    BudgetExceeded {
        period: BudgetPeriod,
        spent_usd: Usd,
        limit_usd: Usd,
    },
    /// Rows were committed: summaries have changed. At most one per batch.
    Changed,
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("{}: cannot create the folder for the usage ledger: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: cannot create the usage ledger user-only: {source}", path.display())]
    CreateFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: cannot open the usage ledger: {source}", path.display())]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "{}: the usage ledger is at schema version {found} but this ClawRouter knows only up to \
         {supported}; it was written by a newer ClawRouter, update this one",
        path.display()
    )]
    NewerSchema {
        path: PathBuf,
        found: usize,
        supported: usize,
    },
    #[error("usage ledger: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(
        "usage ledger: cannot save {pending} usage rows ({message}); they are kept in memory and \
         retried with the next ones"
    )]
    WriteFailed { pending: usize, message: String },
    #[error("{}: cannot use the usage ledger's journal: {source}", path.display())]
    Journal {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start the usage ledger's writer thread: {0}")]
    Spawn(std::io::Error),
    #[error("the usage ledger's writer thread has stopped")]
    WriterStopped,
}

/// A handle to the ledger; clones share one database and writer thread,
/// which stops (after committing what is queued) when the last clone drops.
#[derive(Debug, Clone)]
pub struct Ledger {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Unbounded on purpose: `record` must neither block a request nor drop
    /// a row. A row is a few hundred bytes and the writer commits thousands
    /// per second, far above any request rate a Bedrock proxy sees, so the
    /// queue only grows while the disk is stalled, and then memory is the
    /// cheaper thing to spend than stalled requests or lost accounting.
    commands: Sender<writer::Command>,
    /// Shared by the writer thread and callers that commit their own row.
    store: Arc<Mutex<writer::Store>>,
    /// `None` in memory, or when another process keeps the file's journal.
    journal: Option<Arc<Mutex<journal::Journal>>>,
    writer: Option<JoinHandle<()>>,
    accounts: Mutex<budget::Accounts>,
    events: broadcast::Sender<LedgerEvent>,
}

/// Undelivered events kept for a slow subscriber before it sees `Lagged`.
const EVENT_CAPACITY: usize = 64;

impl Ledger {
    /// Opens the ledger at `path` (creating it and its folder), migrating an
    /// older schema, and starts its writer thread.
    ///
    /// What was asked and spent is the user's business only: the folder is
    /// made 0700 and the files 0600 on unix (SQLite gives its `-wal` and
    /// `-shm` files the database file's mode; the journal, `-rows.jsonl`, is
    /// made so), older files included.
    pub fn open(path: &Path) -> Result<Ledger, LedgerError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::private_files::create_dir(dir).map_err(|source| LedgerError::CreateDir {
                path: dir.to_owned(),
                source,
            })?;
        }
        crate::private_files::create_file(path).map_err(|source| LedgerError::CreateFile {
            path: path.to_owned(),
            source,
        })?;
        let mut conn = schema::open(path)?;
        let journal = journal::open(path, &mut conn)?;
        let checkpointer = schema::open_checkpointer(path)?;
        Self::start(conn, Some(checkpointer), journal)
    }

    /// A ledger that lives as long as its handles, for tests.
    pub fn open_in_memory() -> Result<Ledger, LedgerError> {
        Self::start(schema::open_in_memory()?, None, None)
    }

    fn start(
        conn: Connection,
        checkpointer: Option<Connection>,
        journal: Option<journal::Journal>,
    ) -> Result<Ledger, LedgerError> {
        // Budget totals need this month's days; last month's too, so a ledger
        // opened just after midnight on the 1st still has yesterday.
        let today = utc::day_of(now_ms());
        let since = utc::month_start(utc::month_start(today) - 1);
        let accounts = budget::Accounts::from_days(report::day_totals(&conn, since)?);
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let (commands, queue) = mpsc::channel();
        let store = Arc::new(Mutex::new(writer::Store::new(conn, events.clone())));
        let journal = journal.map(|j| Arc::new(Mutex::new(j)));
        let writer = writer::spawn(Arc::clone(&store), checkpointer, journal.clone(), queue)?;
        Ok(Ledger {
            inner: Arc::new(Inner {
                commands,
                store,
                journal,
                writer: Some(writer),
                accounts: Mutex::new(accounts),
                events,
            }),
        })
    }

    /// Queues `row` for the writer thread and updates the budget totals at
    /// once. Never waits for the disk.
    pub fn record(&self, row: RequestRow) {
        let row = self.accounted(row);
        if self.send(writer::Command::Record(row, None)).is_err() {
            // Only if the writer thread panicked; it has no panicking code.
            tracing::error!("usage ledger writer thread has stopped; a usage row was not saved");
        }
    }

    /// Like [`Ledger::record`], and resolves once the row survives the
    /// process being killed: hold back the last byte of an answer until
    /// then, and a client that has the whole answer always finds it in the
    /// ledger.
    ///
    /// The row is appended to the journal (one write) and queued for the
    /// writer thread. Without a usable journal (in memory, or another process
    /// keeps it) the row is committed first: right here, on the caller's
    /// thread, when the store is free (tens of µs; a checkpoint never runs
    /// here), else in the writer thread's next batch.
    pub async fn record_durably(&self, row: RequestRow) -> Result<(), LedgerError> {
        let row = self.accounted(row);
        let Some(row) = self.journaled(row) else {
            return Ok(());
        };
        let (committed, mut wait) = tokio::sync::oneshot::channel();
        if !self.commit_or_queue(row, committed) {
            // No thread to retry: the row is in only if it went in here.
            return wait.try_recv().map_err(|_| LedgerError::WriterStopped);
        }
        wait.await.map_err(|_| LedgerError::WriterStopped)
    }

    /// Appends `row` to the journal and queues it; gives it back if there is
    /// no usable journal.
    fn journaled(&self, row: RequestRow) -> Option<RequestRow> {
        let Some(journal) = &self.inner.journal else {
            return Some(row);
        };
        let Some(line) = journal::line(&row) else {
            return Some(row);
        };
        let mut journal = journal::lock(journal);
        let Some(mark) = journal.append(&line) else {
            return Some(row);
        };
        // Sent under the lock, so the writer thread gets rows in journal order.
        if self.send(writer::Command::Journaled(row, mark)).is_err() {
            // Only if the writer thread panicked; the next start replays the row.
            tracing::error!(
                "usage ledger writer thread has stopped; a usage row waits in the journal"
            );
        }
        None
    }

    /// Commits `row` here if the store is free, else queues it; `committed`
    /// is told when it is in. False if the writer thread was needed and has
    /// stopped.
    fn commit_or_queue(
        &self,
        row: RequestRow,
        committed: tokio::sync::oneshot::Sender<()>,
    ) -> bool {
        let Some(mut store) = writer::try_lock(&self.inner.store) else {
            return self
                .send(writer::Command::Record(row, Some(committed)))
                .is_ok();
        };
        let nudge = store.commit_here(row, committed);
        drop(store);
        !nudge || self.send(writer::Command::Commit).is_ok()
    }

    /// Cuts the row's client name to size and adds its cost to the budget
    /// totals, telling subscribers of any budget event.
    fn accounted(&self, mut row: RequestRow) -> RequestRow {
        if let Some((cut, _)) = row.client.char_indices().nth(CLIENT_MAX_CHARS) {
            row.client.truncate(cut);
        }
        let events = self
            .accounts()
            .add(row.at_ms, row.cost_usd.unwrap_or(Usd::ZERO));
        for event in events {
            // No subscriber is fine: no tray is listening.
            let _ = self.inner.events.send(event);
        }
        row
    }

    /// Returns once every row recorded before the call is committed.
    pub fn flush(&self) -> Result<(), LedgerError> {
        let (done, wait) = mpsc::sync_channel(1);
        self.send(writer::Command::Flush(done))?;
        wait.recv().map_err(|_| LedgerError::WriterStopped)?
    }

    /// Spend per model and tier and in total, as of `now_ms`.
    pub fn summary(&self, now_ms: i64) -> Result<UsageSummary, LedgerError> {
        self.read(move |conn| report::summary(conn, now_ms))
    }

    /// The last `days` UTC days ending with today, oldest first, zero-filled.
    pub fn daily_spend(&self, now_ms: i64, days: u32) -> Result<Vec<DaySpend>, LedgerError> {
        self.read(move |conn| report::daily_spend(conn, now_ms, days))
    }

    /// The newest `limit` rows, newest first.
    pub fn recent(&self, limit: usize) -> Result<Vec<RequestRow>, LedgerError> {
        self.read(move |conn| report::recent(conn, limit))
    }

    /// Today's and this month's spend (UTC) from the in-memory totals: cheap
    /// enough for every request.
    pub fn period_spend(&self, now_ms: i64) -> PeriodSpend {
        self.accounts().period_spend(now_ms)
    }

    /// Marks this ledger as holding generated sample traffic (`make demo`),
    /// so reports say it is not the user's.
    pub fn mark_demo(&self) -> Result<(), LedgerError> {
        self.read(|conn| {
            conn.execute(
                "INSERT OR REPLACE INTO ledger_facts (name, value) VALUES (?1, '1')",
                [schema::DEMO_FACT],
            )?;
            Ok(())
        })
    }

    /// Whether [`Ledger::mark_demo`] was called on this ledger file.
    pub fn is_demo(&self) -> Result<bool, LedgerError> {
        self.read(|conn| {
            let marked: Option<String> = conn
                .query_row(
                    "SELECT value FROM ledger_facts WHERE name = ?1",
                    [schema::DEMO_FACT],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(marked.is_some())
        })
    }

    /// Budget events and change ticks from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<LedgerEvent> {
        self.inner.events.subscribe()
    }

    /// Runs `query` on the writer thread's connection, after what is queued is
    /// committed (reads see every row recorded before them). The one write
    /// outside a batch, [`Ledger::mark_demo`], goes this way too.
    fn read<T: Send + 'static>(
        &self,
        query: impl FnOnce(&Connection) -> Result<T, LedgerError> + Send + 'static,
    ) -> Result<T, LedgerError> {
        let (answer, wait) = mpsc::sync_channel(1);
        self.send(writer::Command::Read(Box::new(move |conn| {
            let _ = answer.send(query(conn));
        })))?;
        wait.recv().map_err(|_| LedgerError::WriterStopped)?
    }

    fn send(&self, command: writer::Command) -> Result<(), LedgerError> {
        self.inner
            .commands
            .send(command)
            .map_err(|_| LedgerError::WriterStopped)
    }

    fn accounts(&self) -> MutexGuard<'_, budget::Accounts> {
        // The totals stay consistent even if a holder panicked: every update
        // is a single addition.
        self.inner
            .accounts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl RequestRow {
    /// Sets `cost_usd` to what `usage` costs on `profile_id` at `model`'s
    /// price (regional premium, long-context tier and 1-hour cache writes
    /// included) and `cache_saved_usd` to what its cache reads saved there;
    /// `top_tier_cost_usd` starts equal to the cost (no saving claimed).
    /// A discovered model's price is unknown: no cost, no saving.
    pub fn priced(mut self, model: &Model) -> Self {
        if model.discovered {
            self.cost_usd = None;
            self.cache_saved_usd = Usd::ZERO;
            self.top_tier_cost_usd = Usd::ZERO;
            return self;
        }
        let cost = model.cost(&self.profile_id, self.usage);
        self.cost_usd = Some(cost);
        self.cache_saved_usd = model.price.cache_read_saving(&self.profile_id, self.usage);
        self.top_tier_cost_usd = cost;
        self
    }

    /// Sets `top_tier_cost_usd` to what the same token counts cost at
    /// `top`'s prices, on the same kind of profile (global or regional) as
    /// the request, so the regional premium is not counted as a saving.
    pub fn against_top_tier(mut self, top: &Model) -> Self {
        if self.cost_usd.is_some() {
            self.top_tier_cost_usd = top.cost(&self.profile_id, self.usage);
        }
        self
    }

    /// What routing saved on this request: the top tier's cost minus the
    /// cost; zero for a request that named its model (nothing was routed).
    pub fn saved_by_routing(&self) -> Usd {
        match (self.tier, self.cost_usd) {
            (Some(_), Some(cost)) => self.top_tier_cost_usd - cost,
            _ => Usd::ZERO,
        }
    }
}

/// Dropping the last handle commits what is queued and waits for the writer,
/// so a reopen right after sees every row.
impl Drop for Inner {
    fn drop(&mut self) {
        let _ = self.commands.send(writer::Command::Stop);
        if let Some(writer) = self.writer.take()
            && writer.join().is_err()
        {
            tracing::error!("usage ledger writer thread panicked");
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
