//! # wx-session-server
//!
//! The reference server for the `wx-session` client library: it turns a WeChat mini-program
//! login code into a session token (`POST /auth/login`), says whether a token is still valid
//! (`GET /auth/check`), and revokes it (`POST /auth/logout`). See `server/README.md` for the
//! protocol and the error codes.
//!
//! How a login flows through the crate:
//!
//! ```text
//! routes.rs   POST /auth/login {"code"}          (extract.rs reads the body, error.rs answers failures)
//!    │
//!    ├── login.rs    CodeExchange: code → openid + session_key
//!    │      ├── wechat.rs   real code2Session over HTTPS
//!    │      └── dev.rs      development-mode stand-in
//!    │
//!    └── store/      SessionStore: uid for the openid, then start the session
//!           ├── memory.rs   one process, one mutex
//!           └── redis.rs    Redis, one key per script
//! ```
//!
//! In development mode `litemall.rs` also serves litemall's dialect of the same three routes
//! under `/wx/…`, on top of the same functions.
//!
//! Users themselves (openid → uid, profile, phone) live in a database, not in the session store
//! (`accounts.rs`, `users/`): SQLite under the data directory, or PostgreSQL. `profile.rs`,
//! `avatar.rs` and `phone.rs` serve `/user/…` and `/media/…` on top of it.
//!
//! Around it, against abuse: `limits.rs` (the accept loop: timeouts, connection caps),
//! `throttle.rs` (login limits in front of code2Session), `audit.rs` (who logged in and out),
//! `sealing.rs` (session_key not stored, or encrypted).
//!
//! `main.rs` is only the command line; [`build_app`], [`serve`] and [`serve_with_limits`] are
//! public so integration tests run the real application on an ephemeral port.

#![deny(missing_docs)]

// The router's panic catcher turns a bug in one handler into a 500 for that request; under
// `panic = "abort"` the same bug would end the process and every session request in flight.
#[cfg(panic = "abort")]
compile_error!(
    "build the server with panics that unwind (no `panic = \"abort\"` in the profile): its panic catcher needs them"
);

pub mod access_token;
pub mod accounts;
pub mod audit;
pub mod avatar;
pub mod cli;
pub mod config;
pub mod dev;
pub mod error;
pub mod extract;
pub mod limits;
pub mod litemall;
pub mod login;
pub mod phone;
pub mod profile;
pub mod routes;
pub mod sealing;
pub mod store;
pub mod throttle;
pub mod token;
pub mod users;
pub mod wechat;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;

pub use crate::access_token::SharedCache;
pub use crate::accounts::AccountsConfig;
use crate::accounts::{Accounts, AccountsStartupError};
pub use crate::config::{AppSecret, Config, LoginMode, RedisConfig, StoreConfig, WeChatConfig};
use crate::dev::DevLogin;
pub use crate::limits::{serve_with_limits, Limits};
use crate::login::CodeExchange;
use crate::routes::{router, AppState};
use crate::sealing::SessionKeyPolicy;
use crate::store::{MemoryStore, RedisStore, SessionStore, StoreError};
use crate::throttle::LoginRateLimiter;
pub use crate::throttle::ThrottleConfig;
use crate::wechat::{check_api_base, ApiBaseError, WeChatClient};

/// How long to wait for Redis to accept a connection or answer a command. Short, so a dead
/// Redis turns into a quick `STORE_UNAVAILABLE` rather than a client-side timeout.
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

/// Why the application could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// Redis is unreachable or the URL is wrong. `url` has its password redacted.
    #[error("cannot use Redis at {url}: {source}")]
    Redis {
        /// Where we tried.
        url: String,
        /// What went wrong.
        source: StoreError,
    },
    /// The HTTPS client for code2Session could not be created (or its proxy is unusable).
    #[error("cannot create the HTTPS client for code2Session: {0}")]
    HttpClient(#[from] reqwest::Error),
    /// The WeChat API base would send the AppSecret in clear text.
    #[error(transparent)]
    ApiBase(#[from] ApiBaseError),
    /// The user database or the data directory could not be set up.
    #[error(transparent)]
    Accounts(#[from] AccountsStartupError),
}

/// Builds the application for `config`: connects to the store, sets up the code exchange, and
/// returns the router ready to serve.
pub async fn build_app(config: &Config) -> Result<Router, StartupError> {
    let exchange = Arc::new(match &config.login {
        LoginMode::Dev => CodeExchange::Dev(DevLogin::new(config.dev_code_ttl)),
        LoginMode::WeChat(wechat) => {
            check_api_base(&wechat.api_base, wechat.allow_insecure)?;
            CodeExchange::WeChat(WeChatClient::new(wechat, &config.throttle)?)
        }
    });

    let redis = match &config.store {
        StoreConfig::Memory => {
            let accounts = Accounts::open(config, SharedCache::Local).await?;
            return Ok(app_with(MemoryStore::new(), exchange, config, accounts));
        }
        StoreConfig::Redis(redis) => redis,
    };
    let failed = |source: StoreError| StartupError::Redis {
        url: redis.redacted_url(),
        source,
    };
    if redis.cluster {
        let client = redis::cluster::ClusterClient::builder([redis.url.as_str()])
            .connection_timeout(REDIS_TIMEOUT)
            .response_timeout(REDIS_TIMEOUT)
            .build()
            .map_err(|e| failed(e.into()))?;
        let conn = client
            .get_async_connection()
            .await
            .map_err(|e| failed(e.into()))?;
        let shared = SharedCache::Cluster {
            conn: conn.clone(),
            prefix: redis.prefix.clone(),
        };
        let store = RedisStore::new(conn, redis.prefix.clone());
        store.ping().await.map_err(failed)?;
        let accounts = Accounts::open(config, shared).await?;
        Ok(app_with(store, exchange, config, accounts))
    } else {
        let client = redis::Client::open(redis.url.as_str()).map_err(|e| failed(e.into()))?;
        let manager_config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(2);
        let conn = client
            .get_connection_manager_with_config(manager_config)
            .await
            .map_err(|e| failed(e.into()))?;
        let shared = SharedCache::Redis {
            conn: conn.clone(),
            prefix: redis.prefix.clone(),
        };
        let store = RedisStore::new(conn, redis.prefix.clone());
        store.ping().await.map_err(failed)?;
        let accounts = Accounts::open(config, shared).await?;
        Ok(app_with(store, exchange, config, accounts))
    }
}

/// The router for one concrete store type.
fn app_with<S: SessionStore>(
    store: S,
    exchange: Arc<CodeExchange>,
    config: &Config,
    accounts: Accounts,
) -> Router {
    router(AppState {
        store: Arc::new(store),
        exchange,
        token_ttl: config.token_ttl,
        login_limiter: LoginRateLimiter::new(&config.throttle).map(Arc::new),
        trust_proxy: config.throttle.trust_proxy,
        session_keys: Arc::new(SessionKeyPolicy::new(
            config.session_key_encryption.as_ref(),
        )),
        cors_origins: Arc::new(config.cors_origins.clone()),
        accounts: Arc::new(accounts),
    })
}

/// Serves `app` on `listener` with the default [`Limits`] until `shutdown` completes, then lets
/// in-flight requests finish. See [`serve_with_limits`].
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_limits(listener, app, Limits::default(), shutdown).await
}
