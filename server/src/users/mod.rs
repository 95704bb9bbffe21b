//! The user store: who each WeChat user is, kept in a real database so that it outlives the
//! process and the session store.
//!
//! Sessions may be forgotten (memory store, a Redis restart); users must not be: an openid gets a
//! uid at its first login and keeps it forever, with the profile (nickname, avatar, phone) and
//! the first and last login times.
//!
//! One code path for two databases: SQLite by default (a file under the data directory, nothing
//! to install) and PostgreSQL when `DATABASE_URL` says so. It goes through sqlx's `Any` driver
//! rather than a trait with one implementation per database because the queries are the same
//! text on both — `$1` placeholders (SQLite accepts `$N` too), `ON CONFLICT … DO UPDATE`,
//! `RETURNING` — and the columns use only types both share (TEXT, BIGINT), so a trait would only
//! duplicate every query. Migrations are embedded in the binary (`migrations/`) and applied at
//! start; sqlx records them in `_sqlx_migrations` and refuses a database whose applied
//! migrations differ from the embedded ones.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyPool, ConnectOptions, Executor, Row};

use crate::token::RandomnessError;

/// The SQLite file under the data directory when no `DATABASE_URL` is given.
pub const SQLITE_FILE: &str = "users.db";

/// How long a request waits for a database connection before failing with
/// `DATABASE_UNAVAILABLE`: short, like the Redis timeout, so a dead database is a quick 503.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// The columns every query returns, in [`User`]'s order.
const COLUMNS: &str = "uid, openid, unionid, nickname, avatar, phone, created_at, last_login_at";

/// Where the users live.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file (created if missing, with its directory).
    Sqlite(PathBuf),
    /// A database URL: `postgres://…` / `postgresql://…` (or `sqlite:…`). May hold a password,
    /// hence the custom `Debug`.
    Url(String),
}

impl Database {
    /// The database for a data directory and an optional `DATABASE_URL`.
    pub fn new(data_dir: &Path, url: Option<&str>) -> Database {
        match url.map(str::trim).filter(|url| !url.is_empty()) {
            Some(url) => Database::Url(url.to_owned()),
            None => Database::Sqlite(data_dir.join(SQLITE_FILE)),
        }
    }

    /// For logs and errors: the file, or the URL with any password masked.
    pub fn describe(&self) -> String {
        match self {
            Database::Sqlite(path) => format!("sqlite {}", path.display()),
            Database::Url(url) => crate::config::redact_url_credentials(url),
        }
    }
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// The database failed or could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    /// The database answered with an error or not at all.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The embedded migrations could not be applied.
    #[error("database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The SQLite file's directory could not be created.
    #[error("cannot create {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A uid could not be drawn.
    #[error(transparent)]
    Randomness(#[from] RandomnessError),
}

/// One user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Stable public id: `u_` + 16 random hex digits, never derived from the openid.
    pub uid: String,
    /// The WeChat user within this mini-program. Never sent to clients.
    pub openid: String,
    /// The WeChat user across the developer's apps, when code2Session gave one.
    pub unionid: Option<String>,
    /// Nickname chosen by the user (`PUT /user/profile`).
    pub nickname: Option<String>,
    /// File name of the avatar under `<data dir>/avatars/`.
    pub avatar: Option<String>,
    /// Phone number from WeChat, unmasked. Only ever sent masked.
    pub phone: Option<String>,
    /// First login, Unix milliseconds.
    pub created_at: i64,
    /// Latest login, Unix milliseconds.
    pub last_login_at: i64,
}

impl User {
    fn from_row(row: &AnyRow) -> Result<User, sqlx::Error> {
        Ok(User {
            uid: row.try_get("uid")?,
            openid: row.try_get("openid")?,
            unionid: row.try_get("unionid")?,
            nickname: row.try_get("nickname")?,
            avatar: row.try_get("avatar")?,
            phone: row.try_get("phone")?,
            created_at: row.try_get("created_at")?,
            last_login_at: row.try_get("last_login_at")?,
        })
    }
}

/// The user store; cheap to share (the pool is reference-counted inside).
pub struct Users {
    pool: AnyPool,
    database: Database,
}

impl fmt::Debug for Users {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Users")
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

impl Users {
    /// Connects (creating the SQLite file and its directory if needed) and applies the embedded
    /// migrations.
    pub async fn open(database: Database) -> Result<Users, UsersError> {
        sqlx::any::install_default_drivers();
        let (options, connections) = match &database {
            Database::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| UsersError::CreateDir {
                        path: dir.to_owned(),
                        source,
                    })?;
                }
                // Through SqliteConnectOptions so that any path (spaces, `?`, `#`) becomes a
                // correctly escaped URL, and the file is created if missing.
                let sqlite = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true);
                // SQLite serialises writers anyway; a few connections let reads run alongside.
                (AnyConnectOptions::from_url(&sqlite.to_url_lossy())?, 4)
            }
            Database::Url(url) => (url.parse::<AnyConnectOptions>()?, 8),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(connections)
            .min_connections(0)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    if conn.backend_name().eq_ignore_ascii_case("sqlite") {
                        // Readers do not block the writer, and a crash loses nothing committed.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Users { pool, database })
    }

    /// One round trip to the database, for readiness (`/healthz`).
    pub async fn ping(&self) -> Result<(), UsersError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Where the users are, for logs.
    pub fn database(&self) -> &Database {
        &self.database
    }

    /// The user behind `openid`, created at the first call with a fresh uid; every call records
    /// a login (last login time, and the unionid when WeChat gave one). One statement, so two
    /// first logins racing still end with one user and one uid.
    pub async fn login(&self, openid: &str, unionid: Option<&str>) -> Result<User, UsersError> {
        let candidate = new_uid()?;
        let now = now_ms();
        let row = sqlx::query(&format!(
            "INSERT INTO users (uid, openid, unionid, created_at, last_login_at) \
             VALUES ($1, $2, $3, $4, $4) \
             ON CONFLICT (openid) DO UPDATE SET \
               last_login_at = excluded.last_login_at, \
               unionid = COALESCE(excluded.unionid, users.unionid) \
             RETURNING {COLUMNS}"
        ))
        .bind(candidate)
        .bind(openid)
        .bind(unionid)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(User::from_row(&row)?)
    }

    /// The user with this uid, if any.
    pub async fn get(&self, uid: &str) -> Result<Option<User>, UsersError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE uid = $1"))
            .bind(uid)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(User::from_row).transpose()?)
    }

    /// Sets the nickname (already validated); `None` if there is no such user.
    pub async fn set_nickname(
        &self,
        uid: &str,
        nickname: &str,
    ) -> Result<Option<User>, UsersError> {
        self.set(uid, "nickname", nickname).await
    }

    /// Sets the avatar file name; `None` if there is no such user.
    pub async fn set_avatar(&self, uid: &str, file: &str) -> Result<Option<User>, UsersError> {
        self.set(uid, "avatar", file).await
    }

    /// Sets the phone number; `None` if there is no such user.
    pub async fn set_phone(&self, uid: &str, phone: &str) -> Result<Option<User>, UsersError> {
        self.set(uid, "phone", phone).await
    }

    /// `UPDATE users SET <column> = value`; `column` is one of the three literals above.
    async fn set(
        &self,
        uid: &str,
        column: &'static str,
        value: &str,
    ) -> Result<Option<User>, UsersError> {
        let row = sqlx::query(&format!(
            "UPDATE users SET {column} = $1 WHERE uid = $2 RETURNING {COLUMNS}"
        ))
        .bind(value)
        .bind(uid)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(User::from_row).transpose()?)
    }
}

/// Now as Unix milliseconds (0 if the clock is before 1970, which no server's is).
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        })
}

/// A fresh uid: `u_` and 64 random bits in hex.
fn new_uid() -> Result<String, RandomnessError> {
    Ok(format!("u_{}", crate::token::random_hex(8)?))
}
