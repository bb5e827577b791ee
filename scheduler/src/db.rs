//! Connection and migrations.
//!
//! Why `sqlx::Any`: one code path and one migration script serve SQLite and PostgreSQL. Its
//! limits (only bool/integers/floats/text/bytes cross the boundary; `QueryBuilder` emits `?`
//! which PostgreSQL rejects) are met by storing times as unix seconds and ids as text, and by
//! writing `$1..$n` placeholders ourselves, which SQLite accepts too.

use std::borrow::Cow;
use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Connection, Executor};

use crate::error::Result;

/// Which database is behind the pool; a few statements (e.g. pragmas) differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Handle to the scheduler database. Cheap to clone (the pool is shared).
#[derive(Clone, Debug)]
pub struct Db {
    pub(crate) pool: AnyPool,
    backend: Backend,
    /// How long web sessions last (accounts.rs).
    pub(crate) sessions: crate::accounts::SessionPolicy,
}

fn migrator() -> Migrator {
    Migrator {
        migrations: Cow::Owned(vec![
            Migration::new(
                1,
                Cow::Borrowed("init"),
                MigrationType::Simple,
                Cow::Borrowed(include_str!("../migrations/0001_init.sql")),
                false,
            ),
            Migration::new(
                2,
                Cow::Borrowed("documents"),
                MigrationType::Simple,
                Cow::Borrowed(include_str!("../migrations/0002_documents.sql")),
                false,
            ),
            Migration::new(
                3,
                Cow::Borrowed("minutes"),
                MigrationType::Simple,
                Cow::Borrowed(include_str!("../migrations/0003_minutes.sql")),
                false,
            ),
            Migration::new(
                4,
                Cow::Borrowed("attendance"),
                MigrationType::Simple,
                Cow::Borrowed(include_str!("../migrations/0004_attendance.sql")),
                false,
            ),
            Migration::new(
                5,
                Cow::Borrowed("recordings"),
                MigrationType::Simple,
                Cow::Borrowed(include_str!("../migrations/0005_recordings.sql")),
                false,
            ),
            Migration::new(
                6,
                Cow::Borrowed("account state"),
                MigrationType::Simple,
                Cow::Borrowed(include_str!("../migrations/0006_account_state.sql")),
                false,
            ),
            Migration::new(
                7,
                Cow::Borrowed("minutes share"),
                MigrationType::Simple,
                Cow::Borrowed(include_str!("../migrations/0007_minutes_share.sql")),
                false,
            ),
        ]),
        ignore_missing: false,
        locking: true,
        no_tx: false,
    }
}

impl Db {
    /// `DATABASE_URL` if set (postgres://…), else SQLite at `DATA_DIR/bridge.db`.
    pub async fn open_default(data_dir: &Path) -> Result<Db> {
        match std::env::var("DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => Db::connect(url.trim()).await,
            _ => Db::open_sqlite_file(&data_dir.join("bridge.db")).await,
        }
    }

    /// SQLite file, created on first run together with its folder.
    pub async fn open_sqlite_file(path: &Path) -> Result<Db> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
        }
        Db::connect(&format!("sqlite://{}?mode=rwc", path.display())).await
    }

    /// Connects to `sqlite:` or `postgres:` URL and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Db> {
        install_default_drivers();
        let backend = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        };
        let max = if backend == Backend::Sqlite { 4 } else { 8 };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets dashboards read while a secretary writes; the busy timeout
                        // turns writer contention into waiting instead of SQLITE_BUSY errors.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        migrator().run(&pool).await?;
        Ok(Db {
            pool,
            backend,
            sessions: crate::accounts::SessionPolicy::default(),
        })
    }

    /// The raw pool, for benchmarks' bulk fixtures and diagnostics; application code uses
    /// the typed methods.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Checks the database answers (for health endpoints).
    pub async fn ping(&self) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        conn.ping().await?;
        Ok(())
    }

    /// Closes the pool; pending connections finish first.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
