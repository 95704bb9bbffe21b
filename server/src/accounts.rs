//! Accounts that last: the settings, the shared state and the errors of the user routes.
//!
//! ```text
//! users/         the user store (SQLite or PostgreSQL): openid → uid, profile, login times
//! profile.rs     GET/PUT /user/profile, and the profile in login answers
//! avatar.rs      POST /user/avatar, GET /media/avatars/<file>
//! phone.rs       POST /user/phone: WeChat's getuserphonenumber, or the development stand-in
//! access_token.rs WeChat's access token for phone.rs, cached and shared through Redis
//! ```

use std::fmt;
use std::path::PathBuf;

use axum::http::StatusCode;

use crate::access_token::SharedCache;
use crate::avatar::AvatarStore;
use crate::config::{Config, LoginMode};
use crate::login::ExchangeError;
use crate::phone::PhoneExchange;
use crate::users::{Database, Users, UsersError};

/// Where the SQLite database and the avatars live unless `--data-dir` says otherwise (relative
/// to the working directory).
pub const DEFAULT_DATA_DIR: &str = "./data";

/// Largest avatar accepted unless `--avatar-max-size` says otherwise: 2 MiB, far above what
/// `chooseAvatar` produces (WeChat compresses it) and small enough to buffer.
pub const DEFAULT_AVATAR_MAX_BYTES: usize = 2 * 1024 * 1024;

/// Settings of the account features.
#[derive(Clone)]
pub struct AccountsConfig {
    /// Holds `users.db` (SQLite) and `avatars/`; created if missing.
    pub data_dir: PathBuf,
    /// `postgres://…` to keep users in PostgreSQL instead of SQLite. May hold a password.
    pub database_url: Option<String>,
    /// Scheme and host (and optional path prefix) clients reach this server at, for absolute
    /// avatar URLs; without it they are built from the request's `Host`.
    pub public_url: Option<String>,
    /// Largest avatar upload, in bytes.
    pub avatar_max_bytes: usize,
}

impl Default for AccountsConfig {
    fn default() -> AccountsConfig {
        AccountsConfig {
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            database_url: None,
            public_url: None,
            avatar_max_bytes: DEFAULT_AVATAR_MAX_BYTES,
        }
    }
}

impl AccountsConfig {
    /// The database these settings select.
    pub fn database(&self) -> Database {
        Database::new(&self.data_dir, self.database_url.as_deref())
    }
}

impl fmt::Debug for AccountsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountsConfig")
            .field("data_dir", &self.data_dir)
            .field("database", &self.database())
            .field("public_url", &self.public_url)
            .field("avatar_max_bytes", &self.avatar_max_bytes)
            .finish()
    }
}

/// What the user routes share.
#[derive(Debug)]
pub struct Accounts {
    /// The user store.
    pub users: Users,
    /// Avatar files.
    pub avatars: AvatarStore,
    /// See [`AccountsConfig::public_url`], without a trailing slash.
    pub public_url: Option<String>,
    /// See [`AccountsConfig::avatar_max_bytes`].
    pub avatar_max_bytes: usize,
    /// Who turns a `getPhoneNumber` code into a phone number.
    pub phone: PhoneExchange,
}

/// Why the account features could not start.
#[derive(Debug, thiserror::Error)]
pub enum AccountsStartupError {
    /// The database could not be opened or migrated.
    #[error("cannot use the user database ({database}): {source}")]
    Database {
        /// Which database, password masked.
        database: String,
        /// What went wrong.
        source: UsersError,
    },
    /// The data directory or its avatar directory could not be created.
    #[error("cannot create the directory {path}: {source}")]
    AvatarDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The HTTPS client for WeChat could not be created.
    #[error("cannot create the HTTPS client for WeChat: {0}")]
    HttpClient(#[from] reqwest::Error),
}

impl Accounts {
    /// Opens the database and the avatar directory and sets up the phone exchange; `shared` is
    /// where several instances share WeChat's access token (Redis, when sessions are there).
    pub async fn open(
        config: &Config,
        shared: SharedCache,
    ) -> Result<Accounts, AccountsStartupError> {
        let settings = &config.accounts;
        create_private_dir(&settings.data_dir).map_err(|source| {
            AccountsStartupError::AvatarDir {
                path: settings.data_dir.clone(),
                source,
            }
        })?;
        let database = settings.database();
        let users = Users::open(database.clone()).await.map_err(|source| {
            AccountsStartupError::Database {
                database: database.describe(),
                source,
            }
        })?;
        let avatars = AvatarStore::open(&settings.data_dir)?;
        let phone = match &config.login {
            LoginMode::Dev => PhoneExchange::Dev,
            LoginMode::WeChat(wechat) => PhoneExchange::wechat(wechat, shared)?,
        };
        Ok(Accounts {
            users,
            avatars,
            public_url: settings
                .public_url
                .as_deref()
                .map(|url| url.trim().trim_end_matches('/').to_owned()),
            avatar_max_bytes: settings.avatar_max_bytes,
            phone,
        })
    }
}

/// Creates the data directory if missing, readable by this user only: it holds phone numbers.
/// An existing directory keeps its permissions (the operator chose them).
fn create_private_dir(path: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path)
}

/// A failure of the user routes, rendered by [`crate::error::ApiError`] like every other one.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// `PUT /user/profile` with a nickname out of bounds; the text says which bound.
    #[error("invalid nickname: {0}")]
    InvalidNickname(&'static str),
    /// The upload is not a PNG, JPEG, WebP or GIF by its content.
    #[error("the file is not a PNG, JPEG, WebP or GIF image")]
    UnsupportedImage,
    /// The upload is larger than the limit.
    #[error("the avatar is larger than {limit} bytes")]
    AvatarTooLarge {
        /// The limit, for the message.
        limit: usize,
    },
    /// `POST /user/avatar` not sent as `multipart/form-data`.
    #[error("expected Content-Type: multipart/form-data with the image in a field named 'file'")]
    NotMultipart,
    /// The multipart body is broken or has no `file` field.
    #[error("{0}")]
    BadUpload(String),
    /// The session names a uid the database does not know (the database was replaced while
    /// sessions lived on in Redis). Answered like an invalid session, so the client logs in
    /// again, which creates the user.
    #[error("session user is unknown; log in again")]
    UnknownUser,
    /// The user database failed.
    #[error(transparent)]
    Database(#[from] UsersError),
    /// An avatar file could not be written or read.
    #[error("avatar storage: {0}")]
    Media(#[from] std::io::Error),
    /// The phone number exchange failed (WeChat's errcodes, mapped as for code2Session).
    #[error("getuserphonenumber: {0}")]
    Phone(ExchangeError),
}

impl AccountError {
    /// HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        match self {
            AccountError::InvalidNickname(_) | AccountError::BadUpload(_) => {
                StatusCode::BAD_REQUEST
            }
            AccountError::UnsupportedImage | AccountError::NotMultipart => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            AccountError::AvatarTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AccountError::UnknownUser => StatusCode::UNAUTHORIZED,
            AccountError::Database(_) => StatusCode::SERVICE_UNAVAILABLE,
            AccountError::Media(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AccountError::Phone(error) => match error {
                ExchangeError::InvalidCode | ExchangeError::CodeUsed => StatusCode::BAD_REQUEST,
                ExchangeError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
                ExchangeError::UserBlocked => StatusCode::FORBIDDEN,
                ExchangeError::Busy => StatusCode::SERVICE_UNAVAILABLE,
                ExchangeError::Rejected { .. } | ExchangeError::Unavailable(_) => {
                    StatusCode::BAD_GATEWAY
                }
            },
        }
    }

    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            AccountError::InvalidNickname(_) => "INVALID_NICKNAME",
            AccountError::UnsupportedImage => "UNSUPPORTED_IMAGE",
            AccountError::AvatarTooLarge { .. } => "PAYLOAD_TOO_LARGE",
            AccountError::NotMultipart => "UNSUPPORTED_MEDIA_TYPE",
            AccountError::BadUpload(_) => "BAD_REQUEST",
            AccountError::UnknownUser => "SESSION_INVALID",
            AccountError::Database(_) => "DATABASE_UNAVAILABLE",
            AccountError::Media(_) => "INTERNAL_ERROR",
            AccountError::Phone(error) => match error {
                ExchangeError::InvalidCode => "INVALID_CODE",
                ExchangeError::CodeUsed => "CODE_USED",
                ExchangeError::RateLimited => "RATE_LIMITED",
                ExchangeError::UserBlocked => "USER_BLOCKED",
                ExchangeError::Busy => "WECHAT_BUSY",
                ExchangeError::Rejected { .. } => "WECHAT_ERROR",
                ExchangeError::Unavailable(_) => "WECHAT_UNAVAILABLE",
            },
        }
    }

    /// `Retry-After` seconds, when retrying soon can help.
    pub fn retry_after(&self) -> Option<&'static str> {
        match self {
            AccountError::Database(_) | AccountError::Phone(ExchangeError::Busy) => Some("1"),
            AccountError::Phone(ExchangeError::RateLimited) => Some("60"),
            _ => None,
        }
    }

    /// Logs what the operator must see: server-side failures in detail, WeChat failures as
    /// warnings (a wrong AppSecret shows up here).
    pub(crate) fn log(&self) {
        match self {
            AccountError::Database(_) | AccountError::Media(_) => {
                tracing::error!(error = %self, "request failed")
            }
            AccountError::Phone(_) => tracing::warn!(error = %self, "phone number exchange failed"),
            _ => {}
        }
    }

    /// The text a client gets; server-side details stay in the log.
    pub(crate) fn client_message(&self) -> String {
        match self {
            AccountError::Database(_) => "user database is unavailable, retry shortly".into(),
            AccountError::Media(_) => "internal server error".into(),
            AccountError::Phone(error) => match error {
                ExchangeError::InvalidCode => {
                    "phone number code is invalid or expired (WeChat errcode 40029)".into()
                }
                ExchangeError::CodeUsed => "phone number code was already used".into(),
                ExchangeError::RateLimited => {
                    "too many phone number requests, retry in a minute (WeChat errcode 45011)"
                        .into()
                }
                ExchangeError::UserBlocked => "WeChat refused this user as high-risk".into(),
                ExchangeError::Busy => "WeChat is busy, retry shortly (errcode -1)".into(),
                ExchangeError::Rejected { errcode, errmsg } => {
                    format!("getuserphonenumber failed: errcode {errcode}: {errmsg}")
                }
                ExchangeError::Unavailable(_) => {
                    "could not get an answer from WeChat getuserphonenumber".into()
                }
            },
            other => other.to_string(),
        }
    }
}

impl From<crate::avatar::AvatarDirError> for AccountsStartupError {
    fn from(error: crate::avatar::AvatarDirError) -> AccountsStartupError {
        AccountsStartupError::AvatarDir {
            path: error.path,
            source: error.source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_password_is_redacted_in_debug() {
        let config = AccountsConfig {
            database_url: Some("postgres://wxs:hunter2@db:5432/wxs".into()),
            ..AccountsConfig::default()
        };
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("postgres://***@db:5432/wxs"), "{debug}");
    }
}
