//! The one SQLite database of the local stack (`<data-dir>/sesload.db`) and its writer.
//!
//! Every write of the running stack — ingest inserts, receives, deletes, visibility changes,
//! dead letters, ledger claims — goes through ONE writer thread that drains whatever is pending,
//! runs it in one `BEGIN IMMEDIATE` transaction (each job inside its own savepoint, so one failing
//! job cannot undo the others) and commits once: group commit. A caller is answered only after
//! that commit returned, so an answered write is durable.
//!
//! Durability: WAL with `synchronous=FULL`. With FULL the WAL is fsync'd at every commit, so an
//! acknowledged message survives a kill -9 *and* an OS crash or power cut. NORMAL would survive
//! kill -9 too (the WAL is in the page cache) but could lose the last commits on power loss, which
//! would break "200 means durably queued". Group commit makes FULL affordable: one fsync per batch
//! of concurrent requests, not per request.
//!
//! Reads (stats, customer lookups, DLQ listing) use a small pool of read connections; in WAL mode
//! they never block the writer.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{mpsc, oneshot};

/// Database errors; messages name the operation and the cause.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DbError {
    #[error("sqlite error in {op}: {message}")]
    Sqlite { op: &'static str, message: String },
    #[error("commit failed: {0}")]
    Commit(String),
    #[error("the database writer has stopped")]
    WriterGone,
    #[error("cannot open database {path}: {message}")]
    Open { path: String, message: String },
}

impl DbError {
    pub fn sql(op: &'static str) -> impl FnOnce(rusqlite::Error) -> DbError {
        move |e| DbError::Sqlite {
            op,
            message: e.to_string(),
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub(crate) fn dur_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS messages(
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    campaign TEXT NOT NULL DEFAULT '',
    unique_code TEXT,
    sent_at INTEGER NOT NULL,
    visible_at INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    first_receive_at INTEGER,
    receipt TEXT,
    park_count INTEGER NOT NULL DEFAULT 0,
    park_reason TEXT
);
CREATE INDEX IF NOT EXISTS messages_visible ON messages(visible_at, seq);
CREATE TABLE IF NOT EXISTS accepted(
    message_id TEXT PRIMARY KEY,
    unique_code TEXT,
    campaign TEXT NOT NULL DEFAULT '',
    accepted_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS accepted_campaign ON accepted(campaign);
CREATE TABLE IF NOT EXISTS campaigns(
    campaign TEXT PRIMARY KEY,
    accepted INTEGER NOT NULL DEFAULT 0,
    first_accepted_at INTEGER,
    last_accepted_at INTEGER
);
CREATE TABLE IF NOT EXISTS dlq(
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    source_message_id TEXT NOT NULL,
    body TEXT NOT NULL,
    campaign TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    dead_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dlq_reason ON dlq(reason);
CREATE TABLE IF NOT EXISTS customers(
    user_id TEXT PRIMARY KEY,
    attributes TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ledger(
    unique_code TEXT PRIMARY KEY,
    message_id TEXT,
    lease_until INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 1,
    claimed_at INTEGER NOT NULL,
    sent_at INTEGER,
    token TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS schedule(
    name TEXT PRIMARY KEY,
    next_slot_us INTEGER NOT NULL
) WITHOUT ROWID;
"#;

/// Open a connection with the stack's pragmas and make sure the schema exists.
pub fn open_connection(path: &Path) -> Result<Connection, DbError> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| DbError::Open {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| DbError::Open {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    // The writer alone runs some twenty distinct statements; the default cache holds 16.
    conn.set_prepared_statement_cache_capacity(64);
    conn.busy_timeout(Duration::from_secs(30))
        .map_err(DbError::sql("busy_timeout"))?;
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-16000;",
    )
    .map_err(DbError::sql("pragmas"))?;
    conn.execute_batch(SCHEMA).map_err(DbError::sql("schema"))?;
    migrate(&conn)?;
    Ok(conn)
}

/// Columns added since a data directory may have been created: added in place.
fn migrate(conn: &Connection) -> Result<(), DbError> {
    add_column(conn, "ledger", "token", "TEXT NOT NULL DEFAULT ''")?;
    add_column(conn, "messages", "park_count", "INTEGER NOT NULL DEFAULT 0")?;
    add_column(conn, "messages", "park_reason", "TEXT")?;
    crate::campaigns::migrate(conn)?;
    Ok(())
}

pub(crate) fn add_column(
    conn: &Connection,
    table: &str,
    column: &str,
    decl: &str,
) -> Result<(), DbError> {
    let exists: bool = conn
        .prepare("SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2")
        .and_then(|mut s| s.exists([table, column]))
        .map_err(DbError::sql("migrate"))?;
    if !exists {
        conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {decl}"))
            .map_err(DbError::sql("migrate"))?;
    }
    Ok(())
}

type Finisher = Box<dyn FnOnce(Result<(), String>) + Send>;
type Job = Box<dyn FnOnce(&Connection) -> Finisher + Send>;

struct Inner {
    path: PathBuf,
    jobs: mpsc::UnboundedSender<Job>,
    readers: Mutex<Vec<Connection>>,
    /// Transactions committed by the writer and jobs they carried (for stats/benchmarks).
    commits: std::sync::atomic::AtomicU64,
    jobs_done: std::sync::atomic::AtomicU64,
}

/// Handle to the database: cheap to clone.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

impl Db {
    /// Open (creating if needed) the database and start its writer thread.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, DbError> {
        let path = path.as_ref().to_path_buf();
        let conn = open_connection(&path)?;
        let (tx, rx) = mpsc::unbounded_channel::<Job>();
        let inner = Arc::new(Inner {
            path: path.clone(),
            jobs: tx,
            readers: Mutex::new(Vec::new()),
            commits: Default::default(),
            jobs_done: Default::default(),
        });
        let weak = Arc::downgrade(&inner);
        std::thread::Builder::new()
            .name("sesload-db-writer".into())
            .spawn(move || writer_loop(conn, rx, weak))
            .map_err(|e| DbError::Open {
                path: path.display().to_string(),
                message: format!("cannot start writer thread: {e}"),
            })?;
        Ok(Self { inner })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// (commits, jobs) so far: jobs/commits is the group-commit factor.
    pub fn commit_stats(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (
            self.inner.commits.load(Relaxed),
            self.inner.jobs_done.load(Relaxed),
        )
    }

    /// Run `f` inside the writer's next group transaction; resolves after the commit.
    pub async fn write<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, DbError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<T, DbError>>();
        let job: Job = Box::new(move |conn: &Connection| {
            let r = run_in_savepoint(conn, f);
            Box::new(move |commit: Result<(), String>| {
                let out = match commit {
                    Ok(()) => r,
                    Err(e) => Err(DbError::Commit(e)),
                };
                let _ = tx.send(out);
            })
        });
        self.inner.jobs.send(job).map_err(|_| DbError::WriterGone)?;
        rx.await.map_err(|_| DbError::WriterGone)?
    }

    /// Run a read-only closure on a pooled read connection (on the blocking pool).
    pub async fn read<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, DbError> + Send + 'static,
    {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.read_blocking(f))
            .await
            .map_err(|e| DbError::Sqlite {
                op: "read",
                message: e.to_string(),
            })?
    }

    /// Blocking variant of [`Db::read`].
    pub fn read_blocking<T, F>(&self, f: F) -> Result<T, DbError>
    where
        F: FnOnce(&Connection) -> Result<T, DbError>,
    {
        let conn = self.inner.readers.lock().ok().and_then(|mut v| v.pop());
        let conn = match conn {
            Some(c) => c,
            None => open_connection(&self.inner.path)?,
        };
        let r = f(&conn);
        if let Ok(mut v) = self.inner.readers.lock()
            && v.len() < 8
        {
            v.push(conn);
        }
        r
    }
}

fn run_in_savepoint<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, DbError>,
) -> Result<T, DbError> {
    // Prepared once per connection: parsing these per job showed in profiles.
    let exec = |sql: &str| conn.prepare_cached(sql).and_then(|mut s| s.execute([]));
    exec("SAVEPOINT job").map_err(DbError::sql("savepoint"))?;
    match f(conn) {
        Ok(v) => {
            exec("RELEASE job").map_err(DbError::sql("release savepoint"))?;
            Ok(v)
        }
        Err(e) => {
            let _ = exec("ROLLBACK TO job");
            let _ = exec("RELEASE job");
            Err(e)
        }
    }
}

fn writer_loop(
    conn: Connection,
    mut rx: mpsc::UnboundedReceiver<Job>,
    inner: std::sync::Weak<Inner>,
) {
    use std::sync::atomic::Ordering::Relaxed;
    const MAX_GROUP: usize = 8192;
    while let Some(first) = rx.blocking_recv() {
        let mut jobs = Vec::with_capacity(64);
        jobs.push(first);
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        // BEGIN IMMEDIATE waits (busy_timeout) for another process (seed, dlq redrive).
        let mut attempt = 0u32;
        while let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            attempt += 1;
            tracing::warn!(error = %e, attempt, "database busy; retrying BEGIN");
            std::thread::sleep(Duration::from_millis(50));
        }
        let n = jobs.len() as u64;
        let finishers: Vec<Finisher> = jobs.into_iter().map(|j| j(&conn)).collect();
        let commit = conn.execute_batch("COMMIT").map_err(|e| {
            let _ = conn.execute_batch("ROLLBACK");
            e.to_string()
        });
        if let Some(inner) = inner.upgrade() {
            inner.commits.fetch_add(1, Relaxed);
            inner.jobs_done.fetch_add(n, Relaxed);
        }
        for f in finishers {
            f(commit.clone());
        }
    }
}
