//! The ledger's SQLite file: connection settings, versioned migrations and
//! the mapping between [`RequestRow`] and the `requests` table.
//!
//! The schema version lives in `PRAGMA user_version`. [`MIGRATIONS`] is the
//! whole history: entry `i` takes a database from version `i` to `i + 1`.
//! Changing the schema means appending an entry, never editing an old one
//! (databases already at that version would never see the edit).

use std::path::Path;
use std::sync::LazyLock;

use rusqlite::ToSql;
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::{LedgerError, RequestRow};
use crate::catalog::{Category, Tier, TokenUsage};
use crate::money::Usd;

pub(super) const MIGRATIONS: &[&str] = &[
    // v1: one row per request to a model.
    "CREATE TABLE requests (
        id INTEGER PRIMARY KEY,
        at_ms INTEGER NOT NULL,
        client TEXT NOT NULL,
        route TEXT NOT NULL,
        requested_model TEXT NOT NULL,
        tier TEXT,
        category TEXT,
        model TEXT NOT NULL,
        profile_id TEXT NOT NULL,
        input_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        cache_read_tokens INTEGER NOT NULL,
        cache_write_tokens INTEGER NOT NULL,
        cost_usd REAL NOT NULL,
        latency_ms INTEGER NOT NULL,
        ttft_ms INTEGER,
        status INTEGER NOT NULL,
        error_kind TEXT
    );
    CREATE INDEX requests_at_ms ON requests (at_ms);",
    // v2: exact money. Cost in whole picodollars (INTEGER sums are exact;
    // REAL ones are f64 sums), existing rows converted to the nearest
    // picodollar; and the 1-hour part of cache writes, priced apart.
    "ALTER TABLE requests ADD COLUMN cost_pusd INTEGER NOT NULL DEFAULT 0;
    UPDATE requests SET cost_pusd = CAST(round(cost_usd * 1e12) AS INTEGER);
    ALTER TABLE requests DROP COLUMN cost_usd;
    ALTER TABLE requests ADD COLUMN cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0;",
    // v3: savings, in picodollars. What the same tokens would have cost on
    // the top tier's model, and what cache reads saved against uncached
    // input. Older rows claim no saving: their top-tier cost is their cost,
    // their cache saving zero.
    "ALTER TABLE requests ADD COLUMN top_tier_cost_pusd INTEGER NOT NULL DEFAULT 0;
    UPDATE requests SET top_tier_cost_pusd = cost_pusd;
    ALTER TABLE requests ADD COLUMN cache_saved_pusd INTEGER NOT NULL DEFAULT 0;",
    // v4: whether the cost is known. A discovered model (not in the catalog)
    // has no price: its rows keep cost_pusd 0, which sums leave unchanged,
    // and say so here rather than pretending the request was free.
    "ALTER TABLE requests ADD COLUMN price_known INTEGER NOT NULL DEFAULT 1;",
    // v5: the router's reason for the tier and model (`auto` requests;
    // older rows have none and the dashboard derives one).
    "ALTER TABLE requests ADD COLUMN reason TEXT;",
    // v6: facts about the ledger as a whole; `demo` marks generated sample
    // traffic, so the dashboard labels it.
    "CREATE TABLE ledger_facts (name TEXT PRIMARY KEY, value TEXT NOT NULL);",
];

/// The `ledger_facts` entry marking a ledger filled with sample traffic.
pub(super) const DEMO_FACT: &str = "demo";

/// The columns [`read_row`] expects, in its order.
pub(super) const ROW_COLUMNS: &str = "at_ms, client, route, requested_model, tier, category, \
     model, profile_id, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, \
     cost_pusd, latency_ms, ttft_ms, status, error_kind, cache_write_1h_tokens, \
     top_tier_cost_pusd, cache_saved_pusd, price_known, reason";

/// How long a write waits for another process's lock before failing.
pub(super) const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Opens (creating if needed) the ledger file and brings its schema up to date.
pub(super) fn open(path: &Path) -> Result<Connection, LedgerError> {
    let open_error = open_error(path);
    let mut conn = Connection::open(path).map_err(open_error)?;
    // WAL: readers (the CLI, the UI) never block the writer, and a commit is
    // one append. synchronous=NORMAL: a commit survives the process being
    // killed (it is in the OS cache); only a power cut can lose the last
    // commits, which is acceptable for usage accounting and saves an fsync
    // per batch. busy_timeout: another process (the CLI) may hold the lock
    // for a moment, e.g. while migrating. wal_autocheckpoint off: a
    // checkpoint syncs the disk (milliseconds), so the writer thread runs
    // them on a connection of their own (see `writer`) rather than in
    // whichever commit crosses the limit, which may be a request's own.
    conn.busy_timeout(BUSY_WAIT).map_err(open_error)?;
    conn.pragma_update(None, "wal_autocheckpoint", 0)
        .map_err(open_error)?;
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))
        .map_err(open_error)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(open_error)?;
    migrate(&mut conn, MIGRATIONS, path)?;
    Ok(conn)
}

/// A second connection to an opened ledger file, for checkpoints only: a
/// checkpoint on it copies the WAL into the database while the main
/// connection goes on committing.
pub(super) fn open_checkpointer(path: &Path) -> Result<Connection, LedgerError> {
    Connection::open(path).map_err(open_error(path))
}

/// Names the file in a failure to open or set up a connection to it.
fn open_error(path: &Path) -> impl Fn(rusqlite::Error) -> LedgerError + Copy + '_ {
    |source| LedgerError::Open {
        path: path.to_owned(),
        source,
    }
}

pub(super) fn open_in_memory() -> Result<Connection, LedgerError> {
    let path = Path::new(":memory:");
    let mut conn = Connection::open_in_memory().map_err(open_error(path))?;
    migrate(&mut conn, MIGRATIONS, path)?;
    Ok(conn)
}

/// Applies the migrations the database has not seen, each in the same
/// transaction as its version bump, so a crash leaves a whole version.
/// `BEGIN IMMEDIATE` makes a second process opening at the same time wait
/// and then see the new version instead of migrating twice.
pub(super) fn migrate(
    conn: &mut Connection,
    migrations: &[&str],
    path: &Path,
) -> Result<(), LedgerError> {
    let supported = migrations.len();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: usize = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > supported {
        return Err(LedgerError::NewerSchema {
            path: path.to_owned(),
            found,
            supported,
        });
    }
    for (version, sql) in migrations.iter().enumerate().skip(found) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version + 1)?;
    }
    tx.commit()?;
    Ok(())
}

/// The number of [`ROW_COLUMNS`].
pub(super) const ROW_WIDTH: usize = 22;

pub(super) fn insert(tx: &Transaction<'_>, row: &RequestRow) -> rusqlite::Result<()> {
    static INSERT_ROW: LazyLock<String> = LazyLock::new(|| insert_sql(ROW_COLUMNS, ROW_WIDTH));
    execute_insert(tx, &INSERT_ROW, row_values(row).map(ToSqlOutput::Borrowed))
}

/// Inserts one row given as the values of `columns`: some of
/// [`ROW_COLUMNS`], as a journal written by this or an older build names
/// them (columns added since take their defaults).
pub(super) fn insert_values(
    tx: &Transaction<'_>,
    columns: &str,
    values: &[Value],
) -> rusqlite::Result<()> {
    execute_insert(tx, &insert_sql(columns, values.len()), values)
}

fn execute_insert(
    tx: &Transaction<'_>,
    sql: &str,
    values: impl IntoIterator<Item = impl ToSql>,
) -> rusqlite::Result<()> {
    tx.prepare_cached(sql)?
        .execute(rusqlite::params_from_iter(values))?;
    Ok(())
}

fn insert_sql(columns: &str, width: usize) -> String {
    let placeholders = vec!["?"; width].join(", ");
    format!("INSERT INTO requests ({columns}) VALUES ({placeholders})")
}

/// `row` as the values of [`ROW_COLUMNS`], in their order: what is stored,
/// and what the journal (see `journal`) writes.
pub(super) fn row_values(row: &RequestRow) -> [ValueRef<'_>; ROW_WIDTH] {
    fn text(s: &str) -> ValueRef<'_> {
        ValueRef::Text(s.as_bytes())
    }
    fn opt_text(s: Option<&str>) -> ValueRef<'_> {
        s.map_or(ValueRef::Null, text)
    }
    fn int(n: u64) -> ValueRef<'static> {
        ValueRef::Integer(saturating_i64(n))
    }
    [
        ValueRef::Integer(row.at_ms),
        text(&row.client),
        text(&row.route),
        text(&row.requested_model),
        opt_text(row.tier.map(Tier::as_str)),
        opt_text(row.category.map(Category::as_str)),
        text(&row.model),
        text(&row.profile_id),
        int(row.usage.input),
        int(row.usage.output),
        int(row.usage.cache_read),
        int(row.usage.cache_write),
        ValueRef::Integer(row.cost_usd.unwrap_or(Usd::ZERO).picodollars()),
        int(row.latency_ms),
        row.ttft_ms.map_or(ValueRef::Null, int),
        ValueRef::Integer(i64::from(row.status)),
        opt_text(row.error_kind.as_deref()),
        int(row.usage.cache_write_1h),
        ValueRef::Integer(row.top_tier_cost_usd.picodollars()),
        ValueRef::Integer(row.cache_saved_usd.picodollars()),
        ValueRef::Integer(i64::from(row.cost_usd.is_some())),
        opt_text(row.reason.as_deref()),
    ]
}

/// Reads a row selected as [`ROW_COLUMNS`]. Unknown tier or category names
/// (written by a newer build) read as `None` rather than failing the report.
pub(super) fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RequestRow> {
    let tier: Option<String> = r.get(4)?;
    let category: Option<String> = r.get(5)?;
    Ok(RequestRow {
        at_ms: r.get(0)?,
        client: r.get(1)?,
        route: r.get(2)?,
        requested_model: r.get(3)?,
        tier: tier.and_then(|t| Tier::ALL.into_iter().find(|k| k.as_str() == t)),
        category: category.and_then(|c| Category::ALL.into_iter().find(|k| k.as_str() == c)),
        model: r.get(6)?,
        profile_id: r.get(7)?,
        usage: TokenUsage {
            input: r.get(8)?,
            output: r.get(9)?,
            cache_read: r.get(10)?,
            cache_write: r.get(11)?,
            cache_write_1h: r.get(17)?,
        },
        cost_usd: r
            .get::<_, bool>(20)?
            .then_some(Usd::from_picodollars(r.get(12)?)),
        top_tier_cost_usd: Usd::from_picodollars(r.get(18)?),
        cache_saved_usd: Usd::from_picodollars(r.get(19)?),
        latency_ms: r.get(13)?,
        ttft_ms: r.get(14)?,
        status: r.get(15)?,
        error_kind: r.get(16)?,
        reason: r.get(21)?,
    })
}

/// SQLite integers are signed; counts past `i64::MAX` cannot happen in
/// practice, and saturating beats failing the whole batch.
fn saturating_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    fn version(conn: &Connection) -> usize {
        conn.pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap()
    }

    fn count(conn: &Connection) -> u64 {
        conn.query_row("SELECT count(*) FROM requests", [], |r| r.get(0))
            .unwrap()
    }

    pub(in crate::ledger) fn row(at_ms: i64) -> RequestRow {
        RequestRow {
            at_ms,
            client: "test".into(),
            route: "/v1/messages".into(),
            requested_model: "auto".into(),
            tier: Some(Tier::Mid),
            category: Some(Category::SimpleChat),
            model: "bedrock/claude-sonnet-4-5".into(),
            profile_id: "us.anthropic.claude-sonnet-4-5-20250929-v1:0".into(),
            usage: TokenUsage {
                input: 1,
                output: 2,
                cache_read: 3,
                cache_write: 4,
                cache_write_1h: 1,
            },
            cost_usd: Some(Usd::from_picodollars(250_000_000_000)),
            top_tier_cost_usd: Usd::from_picodollars(900_000_000_000),
            cache_saved_usd: Usd::from_picodollars(1_000_000),
            latency_ms: 5,
            ttft_ms: Some(6),
            status: 200,
            error_kind: None,
            reason: Some("simple chat → mid tier".into()),
        }
    }

    fn write(conn: &mut Connection, rows: &[RequestRow]) {
        let tx = conn.transaction().unwrap();
        for r in rows {
            insert(&tx, r).unwrap();
        }
        tx.commit().unwrap();
    }

    #[test]
    fn row_width_counts_the_row_columns() {
        assert_eq!(ROW_COLUMNS.split(',').count(), ROW_WIDTH);
    }

    #[test]
    fn row_round_trips_through_the_table() {
        let mut conn = open_in_memory().unwrap();
        let mut failed = row(7);
        failed.tier = None;
        failed.category = None;
        failed.ttft_ms = None;
        failed.status = 499;
        failed.error_kind = Some("client_disconnected".into());
        // A discovered model's price is unknown, and stays unknown, not $0.
        failed.cost_usd = None;
        failed.reason = None;
        write(&mut conn, &[row(1), failed.clone()]);
        let mut stmt = conn
            .prepare(&format!("SELECT {ROW_COLUMNS} FROM requests ORDER BY id"))
            .unwrap();
        let back: Vec<RequestRow> = stmt
            .query_map([], read_row)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(back, vec![row(1), failed]);
    }

    #[test]
    fn a_new_migration_upgrades_an_existing_database_and_keeps_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite3");
        let mut conn = open(&path).unwrap();
        assert_eq!(version(&conn), MIGRATIONS.len());
        write(&mut conn, &[row(1), row(2)]);
        drop(conn);

        let mut next: Vec<&str> = MIGRATIONS.to_vec();
        next.push("ALTER TABLE requests ADD COLUMN region TEXT;");
        let mut conn = Connection::open(&path).unwrap();
        migrate(&mut conn, &next, &path).unwrap();
        assert_eq!(version(&conn), MIGRATIONS.len() + 1);
        assert_eq!(count(&conn), 2);
        let region: Option<String> = conn
            .query_row("SELECT region FROM requests LIMIT 1", [], |r| r.get(0))
            .unwrap();
        assert_eq!(region, None);
        // Re-running is a no-op, not a second ALTER.
        migrate(&mut conn, &next, &path).unwrap();
        assert_eq!(version(&conn), MIGRATIONS.len() + 1);
    }

    /// A row inserted by `insert_sql` into a database at `version`, read back
    /// after opening it (which migrates it to the latest version).
    fn upgraded_row(version: usize, insert_sql: &str) -> RequestRow {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite3");
        let mut conn = Connection::open(&path).unwrap();
        migrate(&mut conn, &MIGRATIONS[..version], &path).unwrap();
        conn.execute(insert_sql, []).unwrap();
        drop(conn);
        let conn = open(&path).unwrap();
        let mut stmt = conn
            .prepare(&format!("SELECT {ROW_COLUMNS} FROM requests"))
            .unwrap();
        stmt.query_row([], read_row).unwrap()
    }

    #[test]
    fn version_1_costs_become_exact_picodollars() {
        let back = upgraded_row(
            1,
            "INSERT INTO requests (at_ms, client, route, requested_model, model, profile_id,
                input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd,
                latency_ms, status)
             VALUES (1, 'c', '/v1/messages', 'auto', 'm', 'p', 1, 2, 3, 4, 0.00011, 5, 200)",
        );
        assert_eq!(back.cost_usd, Some(Usd::from_picodollars(110_000_000)));
        assert_eq!(back.usage.cache_write_1h, 0);
    }

    #[test]
    fn version_2_rows_claim_no_saving() {
        let back = upgraded_row(
            2,
            "INSERT INTO requests (at_ms, client, route, requested_model, tier, model, profile_id,
                input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_pusd,
                latency_ms, status)
             VALUES (1, 'c', '/v1/messages', 'auto', 'low', 'm', 'p', 1, 2, 3, 4, 110000000, 5, 200)",
        );
        assert_eq!(Some(back.top_tier_cost_usd), back.cost_usd);
        assert_eq!(back.saved_by_routing(), Usd::ZERO);
        assert_eq!(back.cache_saved_usd, Usd::ZERO);
    }

    #[test]
    fn a_database_from_a_newer_build_is_refused_not_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite3");
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", MIGRATIONS.len() + 1)
            .unwrap();
        drop(conn);
        let err = open(&path).unwrap_err();
        assert!(
            matches!(err, LedgerError::NewerSchema { found, supported, .. }
                if found == MIGRATIONS.len() + 1 && supported == MIGRATIONS.len()),
            "{err}"
        );
        let conn = Connection::open(&path).unwrap();
        assert_eq!(version(&conn), MIGRATIONS.len() + 1);
    }
}
