//! The ledger's journal: a recorded row is in a plain file at once, so a
//! request need not wait for a SQLite commit to know its row survives the
//! process being killed.
//!
//! Why: the server holds back an answer's last byte until its row is safe, so
//! that a client holding a whole answer always finds it in the ledger, even
//! after a `kill -9`. A SQLite commit on the request's path cost tens of µs
//! per answer at one request in flight (bench/README.md). Appending one line
//! is one `write()` into the OS cache, which survives the process as a
//! commit with `synchronous=NORMAL` does (neither survives a power cut). The
//! row then reaches SQLite through the writer thread's batches, as before.
//!
//! The file, `<ledger>-rows.jsonl` (user-only), holds a header line, then one
//! JSON array per row: the row's [`ROW_COLUMNS`] values, money as integer
//! picodollars. Each commit also saves, in the same transaction, how far into
//! the journal its rows reach (a [`Mark`]). Opening the ledger commits the
//! rows past the saved mark, so a row is neither lost nor counted twice,
//! whenever the process died. Once every row in it is committed and it has
//! grown past [`RESTART_BYTES`], the file starts over under a new generation
//! number, so that a mark into an older generation is never read as a
//! position in the new one.
//!
//! One process keeps the journal at a time: it holds an exclusive lock on the
//! file while its ledger is open. Another process opening the same ledger
//! (`clawrouter usage` while the app runs) neither replays the file, which
//! would race the owner, nor appends to it; its rows are committed before
//! its calls resolve.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, OptionalExtension, Transaction};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use super::schema::{self, ROW_COLUMNS};
use super::{LedgerError, RequestRow};

/// Bytes past which a journal whose rows are all committed starts over:
/// about 4,000 rows.
const RESTART_BYTES: u64 = 1 << 20;

/// The `ledger_facts` entry holding the newest committed [`Mark`].
const MARK_FACT: &str = "journal_mark";

/// The journal of an open ledger, owned by this process.
#[derive(Debug)]
pub(super) struct Journal {
    path: PathBuf,
    /// Opened for appending, and locked.
    file: File,
    generation: u64,
    /// Bytes in the file: every append lands at the end, and only this
    /// process writes.
    end: u64,
    /// False after a failed append, which may have left part of a line:
    /// rows are then committed before their calls resolve, until the file
    /// starts over.
    usable: bool,
}

/// How far into which generation of the journal a row reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Mark {
    generation: u64,
    end: u64,
}

/// The journal's first line. `columns` names what the rows' values are, so
/// that a journal left by an older build replays into a newer schema.
#[derive(Serialize, Deserialize)]
struct Header {
    generation: u64,
    columns: String,
}

/// Where the journal of the ledger at `db` lives.
pub(super) fn path_for(db: &Path) -> PathBuf {
    let mut path = db.as_os_str().to_owned();
    path.push("-rows.jsonl");
    PathBuf::from(path)
}

/// Opens and locks the journal of the ledger at `db`, first committing into
/// `conn` the rows a killed process left in it. `None` if another process
/// keeps it.
pub(super) fn open(db: &Path, conn: &mut Connection) -> Result<Option<Journal>, LedgerError> {
    let path = path_for(db);
    let failed = |source| LedgerError::Journal {
        path: path.clone(),
        source,
    };
    crate::private_files::create_file(&path).map_err(failed)?;
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .open(&path)
        .map_err(failed)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Ok(None),
        Err(TryLockError::Error(e)) => return Err(failed(e)),
    }
    let mut text = Vec::new();
    (&file).read_to_end(&mut text).map_err(failed)?;
    let newest = replay(&path, &text, conn)?;
    let mut journal = Journal {
        path: path.clone(),
        file,
        generation: newest,
        end: 0,
        usable: false,
    };
    journal.start_over(newest + 1).map_err(failed)?;
    Ok(Some(journal))
}

/// Commits the rows of `text` (a journal) past the saved mark, with the mark
/// of the last. Returns the newest generation known, in the file or saved.
fn replay(path: &Path, text: &[u8], conn: &mut Connection) -> Result<u64, LedgerError> {
    let saved = saved_mark(conn)?;
    let saved_generation = saved.map_or(0, |m| m.generation);
    let mut lines = complete_lines(text);
    let Some((first, header_end)) = lines.next() else {
        return Ok(saved_generation);
    };
    let header = match serde_json::from_slice::<Header>(first) {
        Ok(header) if known_columns(&header.columns) => header,
        _ => {
            tracing::warn!(
                "{}: not a usage ledger journal this ClawRouter can read; its rows are not \
                 recovered",
                path.display()
            );
            return Ok(saved_generation);
        }
    };
    let resume = match saved {
        Some(mark) if mark.generation == header.generation => mark.end,
        _ => header_end,
    };
    let width = header.columns.split(',').count();
    let (mut recovered, mut unreadable, mut end) = (0, 0, resume);
    let tx = conn.transaction()?;
    for (line, line_end) in lines.filter(|&(_, line_end)| line_end > resume) {
        match decode(line, width) {
            Some(values) => {
                schema::insert_values(&tx, &header.columns, &values)?;
                recovered += 1;
            }
            None => unreadable += 1,
        }
        end = line_end;
    }
    save_mark(
        &tx,
        Mark {
            generation: header.generation,
            end,
        },
    )?;
    tx.commit()?;
    if recovered > 0 {
        tracing::info!("usage ledger: recovered {recovered} rows saved before the last exit");
    }
    if unreadable > 0 {
        tracing::warn!(
            "{}: {unreadable} unreadable rows were not recovered",
            path.display()
        );
    }
    Ok(header.generation.max(saved_generation))
}

/// The lines of `text` that end in a newline, each with the offset just past
/// it. A last line without one was cut short by the process dying mid-write;
/// its answer was never finished.
fn complete_lines(text: &[u8]) -> impl Iterator<Item = (&[u8], u64)> {
    let mut end = 0;
    text.split_inclusive(|&b| b == b'\n')
        .filter_map(move |piece| {
            end += piece.len() as u64;
            piece.strip_suffix(b"\n").map(|line| (line, end))
        })
}

/// Whether the columns named are distinct and each one this build stores
/// (an older build wrote fewer; a newer one may have added some this one
/// lacks). Only then are they put into SQL.
fn known_columns(columns: &str) -> bool {
    let known: Vec<&str> = ROW_COLUMNS.split(',').map(str::trim).collect();
    let mut named: Vec<&str> = columns.split(',').map(str::trim).collect();
    let all_known = named.iter().all(|c| known.contains(c));
    named.sort_unstable();
    named.dedup();
    all_known && named.len() == columns.split(',').count()
}

/// One row's values as written by [`Line`]; `None` if the line is not that.
fn decode(line: &[u8], width: usize) -> Option<Vec<Value>> {
    let items: Vec<serde_json::Value> = serde_json::from_slice(line).ok()?;
    if items.len() != width {
        return None;
    }
    items
        .into_iter()
        .map(|item| match item {
            serde_json::Value::Null => Some(Value::Null),
            serde_json::Value::Number(n) => n
                .as_i64()
                .map(Value::Integer)
                .or_else(|| n.as_f64().map(Value::Real)),
            serde_json::Value::String(s) => Some(Value::Text(s)),
            _ => None,
        })
        .collect()
}

/// A row's values as one JSON array.
struct Line<'a>(&'a [ValueRef<'a>]);

impl Serialize for Line<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for value in self.0 {
            match *value {
                ValueRef::Integer(n) => seq.serialize_element(&n)?,
                ValueRef::Real(x) => seq.serialize_element(&x)?,
                ValueRef::Text(t) => seq.serialize_element(&String::from_utf8_lossy(t))?,
                // `schema::row_values` gives no blobs.
                ValueRef::Null | ValueRef::Blob(_) => seq.serialize_element(&())?,
            }
        }
        seq.end()
    }
}

/// `row` as one journal line, newline included; made before the journal is
/// locked, so appends hold it only for their write.
pub(super) fn line(row: &RequestRow) -> Option<Vec<u8>> {
    let mut line = serde_json::to_vec(&Line(&schema::row_values(row))).ok()?;
    line.push(b'\n');
    Some(line)
}

impl Mark {
    /// Whether the journal has grown enough here to start over once its
    /// rows are all committed.
    pub(super) fn past_restart_size(self) -> bool {
        self.end >= RESTART_BYTES
    }
}

impl Journal {
    /// Appends one [`line`] in one write. Returns where it ends, or `None` if the
    /// journal cannot take it (the caller then commits the row instead).
    pub(super) fn append(&mut self, line: &[u8]) -> Option<Mark> {
        if !self.usable {
            return None;
        }
        if let Err(e) = (&self.file).write_all(line) {
            tracing::error!(
                "{}: cannot append a usage row: {e}; rows are committed before answers \
                 finish instead",
                self.path.display()
            );
            self.usable = false;
            return None;
        }
        self.end += line.len() as u64;
        Some(self.mark())
    }

    /// Where the last row appended ends.
    pub(super) fn mark(&self) -> Mark {
        Mark {
            generation: self.generation,
            end: self.end,
        }
    }

    /// Starts the file over under the next generation. Only once every row
    /// in it is committed, up to [`Journal::mark`].
    pub(super) fn restart(&mut self) {
        if let Err(e) = self.start_over(self.generation + 1) {
            tracing::error!(
                "{}: cannot start the journal over: {e}; rows are committed before answers \
                 finish instead",
                self.path.display()
            );
            self.usable = false;
        }
    }

    /// Empties the file and writes the header of `generation`.
    fn start_over(&mut self, generation: u64) -> io::Result<()> {
        self.file.set_len(0)?;
        let mut header = serde_json::to_vec(&Header {
            generation,
            columns: ROW_COLUMNS.to_owned(),
        })?;
        header.push(b'\n');
        (&self.file).write_all(&header)?;
        self.generation = generation;
        self.end = header.len() as u64;
        self.usable = true;
        Ok(())
    }
}

/// Locks the journal. A panicking holder cannot leave it inconsistent: an
/// append updates `end` only after its write.
pub(super) fn lock(journal: &Mutex<Journal>) -> MutexGuard<'_, Journal> {
    journal.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Saves, in the transaction committing rows, the mark of the last of them.
pub(super) fn save_mark(tx: &Transaction<'_>, mark: Mark) -> rusqlite::Result<()> {
    // An upsert changes the row in place. `INSERT OR REPLACE` deletes and
    // re-inserts it, which also rewrites the primary key's index page: one
    // more WAL page per commit, 4 instead of 3 when one row is committed.
    tx.prepare_cached(
        "INSERT INTO ledger_facts (name, value) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    )?
    .execute((MARK_FACT, format!("{}:{}", mark.generation, mark.end)))?;
    Ok(())
}

fn saved_mark(conn: &Connection) -> rusqlite::Result<Option<Mark>> {
    let saved: Option<String> = conn
        .query_row(
            "SELECT value FROM ledger_facts WHERE name = ?1",
            [MARK_FACT],
            |r| r.get(0),
        )
        .optional()?;
    Ok(saved.and_then(|text| {
        let (generation, end) = text.split_once(':')?;
        Some(Mark {
            generation: generation.parse().ok()?,
            end: end.parse().ok()?,
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::schema::tests::row;

    /// A ledger file and its journal, as `Ledger::open` sets them up.
    fn opened(db: &Path) -> (Connection, Option<Journal>) {
        let mut conn = schema::open(db).unwrap();
        let journal = open(db, &mut conn).unwrap();
        (conn, journal)
    }

    fn rows(conn: &Connection) -> Vec<RequestRow> {
        conn.prepare(&format!("SELECT {ROW_COLUMNS} FROM requests ORDER BY id"))
            .unwrap()
            .query_map([], schema::read_row)
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    fn append_raw(db: &Path, bytes: &[u8]) {
        OpenOptions::new()
            .append(true)
            .open(path_for(db))
            .unwrap()
            .write_all(bytes)
            .unwrap();
    }

    #[test]
    fn rows_left_in_the_journal_come_back_whole_and_a_torn_line_is_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ledger.sqlite3");
        let mut unpriced = row(2);
        unpriced.cost_usd = None;
        unpriced.tier = None;
        unpriced.ttft_ms = None;
        unpriced.reason = Some("quote \" and newline \n, ünïcode".into());
        {
            let (_conn, journal) = opened(&db);
            let mut journal = journal.unwrap();
            journal.append(&line(&row(1)).unwrap()).unwrap();
            journal.append(&line(&unpriced).unwrap()).unwrap();
            // Dropped without a commit, as a killed process leaves it.
        }
        append_raw(&db, br#"[1700000000000,"cut sho"#);
        let (conn, _journal) = opened(&db);
        assert_eq!(rows(&conn), vec![row(1), unpriced]);
    }

    #[test]
    fn only_one_opener_keeps_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ledger.sqlite3");
        let (_conn, first) = opened(&db);
        assert!(first.is_some());
        let (_conn, second) = opened(&db);
        assert!(second.is_none());
    }

    #[test]
    fn a_journal_from_an_older_build_fills_its_columns_and_a_newer_one_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ledger.sqlite3");
        drop(opened(&db));
        // As a build from before the `reason` column wrote it.
        let columns = ROW_COLUMNS.strip_suffix(", reason").unwrap();
        let older = row(3);
        let mut values = serde_json::to_value(Line(&schema::row_values(&older))).unwrap();
        values.as_array_mut().unwrap().pop();
        std::fs::write(
            path_for(&db),
            format!("{{\"generation\":9,\"columns\":\"{columns}\"}}\n{values}\n"),
        )
        .unwrap();
        let opened_once = opened(&db);
        assert_eq!(
            rows(&opened_once.0),
            vec![RequestRow {
                reason: None,
                ..older
            }]
        );
        drop(opened_once);

        std::fs::write(
            path_for(&db),
            format!("{{\"generation\":20,\"columns\":\"{ROW_COLUMNS}, mood\"}}\n{values}\n"),
        )
        .unwrap();
        let (conn, journal) = opened(&db);
        assert_eq!(rows(&conn).len(), 1);
        // Still usable: it started over past the newest generation seen.
        assert!(journal.unwrap().append(&line(&row(4)).unwrap()).is_some());
    }

    /// Frames (pages) in the WAL, after copying them all back.
    fn wal_frames(conn: &Connection) -> i64 {
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
            .unwrap()
    }

    #[test]
    fn saving_a_mark_again_rewrites_one_page() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ledger.sqlite3");
        let (mut conn, _journal) = opened(&db);
        let save = |conn: &mut Connection, end| {
            let tx = conn.transaction().unwrap();
            save_mark(&tx, Mark { generation: 1, end }).unwrap();
            tx.commit().unwrap();
        };
        save(&mut conn, 10);
        // All copied back, so the next commit starts the WAL over.
        wal_frames(&conn);
        save(&mut conn, 20);
        // Every commit at one request in flight pays this, beside its row.
        assert_eq!(wal_frames(&conn), 1);
        assert_eq!(
            saved_mark(&conn).unwrap(),
            Some(Mark {
                generation: 1,
                end: 20
            })
        );
    }
}
