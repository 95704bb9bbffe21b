//! WeChat's server-side access token (`POST {base}/cgi-bin/stable_token`), which
//! getuserphonenumber needs: fetched when first needed, cached until shortly before it expires,
//! and shared through Redis when sessions are kept there, so that several instances reuse one
//! token instead of each fetching its own.
//!
//! * **Cache.** The token is kept for `expires_in` (7200 s) minus a margin (5 minutes, or half
//!   the lifetime for very short ones), so it is replaced before WeChat stops accepting it.
//!   Concurrent requests that find no token wait for one fetch instead of each fetching.
//! * **Sharing.** With Redis, one key `<prefix>wechat:access_token:<appid>` holds
//!   `<expiry in Unix ms>:<token>` with the same TTL; only single-key commands (GET, SET PX,
//!   DEL), so Redis Cluster works. A Redis failure only costs a fetch; it never fails a request.
//! * **Invalid token.** When WeChat says the token is invalid or expired (errcode 40001, 42001,
//!   40014), the caller [`invalidate`](AccessTokens::invalidate)s it and asks again once. The
//!   new fetch uses stable_token's normal mode, not `force_refresh`, which WeChat limits to a few
//!   calls a day and which would invalidate the token every other instance holds.
//!
//! The AppSecret goes only into the stable_token request body; the token only into
//! getuserphonenumber's query string. Neither is logged, and transport errors are stripped of
//! their URL before they are.

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::ConnectionLike;
use serde::Deserialize;
use serde_json::json;

use crate::config::{AppSecret, WeChatConfig};
use crate::login::ExchangeError;
use crate::wechat::{read_capped, scrub, transport_error, CappedReadError, MAX_BODY_BYTES};

/// Refresh this long before WeChat's expiry.
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// Where several instances share the token.
#[derive(Clone, Default)]
pub enum SharedCache {
    /// Nowhere: each instance fetches its own (sessions in memory means one instance anyway).
    #[default]
    Local,
    /// A single Redis server (the session store's connection), keys under `prefix`.
    Redis {
        /// The connection.
        conn: redis::aio::ConnectionManager,
        /// The session store's key prefix.
        prefix: String,
    },
    /// A Redis Cluster.
    Cluster {
        /// The connection.
        conn: redis::cluster_async::ClusterConnection,
        /// The session store's key prefix.
        prefix: String,
    },
}

impl fmt::Debug for SharedCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SharedCache::Local => "SharedCache::Local",
            SharedCache::Redis { .. } => "SharedCache::Redis",
            SharedCache::Cluster { .. } => "SharedCache::Cluster",
        })
    }
}

/// An access token. `Debug` is redacted; [`AccessToken::expose`] is for the request URL only.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl AccessToken {
    /// The token text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

/// A token and when to stop using it (Unix ms).
#[derive(Clone)]
struct Cached {
    token: AccessToken,
    use_until_ms: u64,
}

/// The access token source for one mini-program. See the module doc.
pub struct AccessTokens {
    http: reqwest::Client,
    /// `{api_base}/cgi-bin/stable_token`.
    endpoint: String,
    appid: String,
    secret: AppSecret,
    shared: SharedCache,
    cached: Mutex<Option<Cached>>,
    /// Held while fetching, so concurrent requests share one fetch.
    fetching: tokio::sync::Mutex<()>,
}

impl fmt::Debug for AccessTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessTokens")
            .field("endpoint", &self.endpoint)
            .field("appid", &self.appid)
            .field("shared", &self.shared)
            .finish_non_exhaustive()
    }
}

/// stable_token's answer.
#[derive(Deserialize)]
struct StableTokenReply {
    access_token: Option<String>,
    expires_in: Option<u64>,
    errcode: Option<i64>,
    errmsg: Option<String>,
}

impl AccessTokens {
    /// A token source using `http` (the phone client's, which does not follow redirects).
    pub fn new(http: reqwest::Client, config: &WeChatConfig, shared: SharedCache) -> AccessTokens {
        AccessTokens {
            http,
            endpoint: format!(
                "{}/cgi-bin/stable_token",
                config.api_base.trim_end_matches('/')
            ),
            appid: config.appid.clone(),
            secret: config.secret.clone(),
            shared,
            cached: Mutex::new(None),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    /// A token that WeChat should still accept: this process's, else the shared one, else a
    /// fresh one.
    pub async fn get(&self) -> Result<AccessToken, ExchangeError> {
        if let Some(token) = self.local() {
            return Ok(token);
        }
        let _fetching = self.fetching.lock().await;
        // Someone may have fetched while this request waited.
        if let Some(token) = self.local() {
            return Ok(token);
        }
        if let Some(cached) = self.shared_get().await {
            let token = cached.token.clone();
            *self.lock() = Some(cached);
            return Ok(token);
        }
        let cached = self.fetch().await?;
        self.shared_set(&cached).await;
        let token = cached.token.clone();
        *self.lock() = Some(cached);
        Ok(token)
    }

    /// Forgets `token` after WeChat refused it, here and in Redis (if Redis still holds it),
    /// so the next [`get`](AccessTokens::get) fetches another.
    pub async fn invalidate(&self, token: &AccessToken) {
        {
            let mut cached = self.lock();
            if cached.as_ref().is_some_and(|c| c.token == *token) {
                *cached = None;
            }
        }
        if self.shared_get().await.is_some_and(|c| c.token == *token) {
            self.shared_del().await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Cached>> {
        // Only plain assignments happen under this lock; a poisoned one is still consistent.
        self.cached.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// This process's token if it is still in its usable window.
    fn local(&self) -> Option<AccessToken> {
        let now = now_ms();
        self.lock()
            .as_ref()
            .filter(|cached| cached.use_until_ms > now)
            .map(|cached| cached.token.clone())
    }

    /// Calls stable_token.
    async fn fetch(&self) -> Result<Cached, ExchangeError> {
        let mut response = self
            .http
            .post(&self.endpoint)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(
                json!({
                    "grant_type": "client_credential",
                    "appid": self.appid,
                    "secret": self.secret.expose(),
                    "force_refresh": false,
                })
                .to_string(),
            )
            .send()
            .await
            .map_err(|e| unavailable("stable_token", e.without_url()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(ExchangeError::Unavailable(format!(
                "stable_token: HTTP status {status}"
            )));
        }
        let body = read_capped(&mut response)
            .await
            .map_err(|error| match error {
                CappedReadError::TooLarge => ExchangeError::Unavailable(format!(
                    "stable_token: answer is larger than {MAX_BODY_BYTES} bytes"
                )),
                CappedReadError::Transport(error) => {
                    unavailable("stable_token", error.without_url())
                }
            })?;
        let reply: StableTokenReply = serde_json::from_slice(&body).map_err(|e| {
            ExchangeError::Unavailable(format!(
                "stable_token: answer is not the expected JSON: {e}"
            ))
        })?;
        match (reply.errcode, reply.access_token, reply.expires_in) {
            (Some(errcode), _, _) if errcode != 0 => Err(ExchangeError::from_errcode(
                errcode,
                scrub(reply.errmsg.unwrap_or_default(), &self.secret),
            )),
            (_, Some(token), Some(expires_in)) if !token.is_empty() && expires_in > 0 => {
                let lifetime = Duration::from_secs(expires_in);
                let usable = lifetime - REFRESH_MARGIN.min(lifetime / 2);
                let usable_ms = u64::try_from(usable.as_millis()).unwrap_or(u64::MAX);
                Ok(Cached {
                    token: AccessToken(token),
                    use_until_ms: now_ms().saturating_add(usable_ms),
                })
            }
            _ => Err(ExchangeError::Unavailable(
                "stable_token: answer has neither errcode nor access_token and expires_in".into(),
            )),
        }
    }

    fn shared_key(prefix: &str, appid: &str) -> String {
        format!("{prefix}wechat:access_token:{appid}")
    }

    async fn shared_get(&self) -> Option<Cached> {
        let found = match &self.shared {
            SharedCache::Local => return None,
            SharedCache::Redis { conn, prefix } => {
                redis_get(conn.clone(), Self::shared_key(prefix, &self.appid)).await
            }
            SharedCache::Cluster { conn, prefix } => {
                redis_get(conn.clone(), Self::shared_key(prefix, &self.appid)).await
            }
        };
        let text = found
            .map_err(|error| tracing::warn!(%error, "reading the shared access token failed"))
            .ok()
            .flatten()?;
        let (until, token) = text.split_once(':')?;
        let use_until_ms: u64 = until.parse().ok()?;
        (use_until_ms > now_ms() && !token.is_empty()).then(|| Cached {
            token: AccessToken(token.to_owned()),
            use_until_ms,
        })
    }

    async fn shared_set(&self, cached: &Cached) {
        let value = format!("{}:{}", cached.use_until_ms, cached.token.expose());
        let ttl_ms = cached.use_until_ms.saturating_sub(now_ms()).max(1);
        let result = match &self.shared {
            SharedCache::Local => return,
            SharedCache::Redis { conn, prefix } => {
                redis_set(
                    conn.clone(),
                    Self::shared_key(prefix, &self.appid),
                    value,
                    ttl_ms,
                )
                .await
            }
            SharedCache::Cluster { conn, prefix } => {
                redis_set(
                    conn.clone(),
                    Self::shared_key(prefix, &self.appid),
                    value,
                    ttl_ms,
                )
                .await
            }
        };
        if let Err(error) = result {
            tracing::warn!(%error, "sharing the access token through Redis failed");
        }
    }

    async fn shared_del(&self) {
        let result = match &self.shared {
            SharedCache::Local => return,
            SharedCache::Redis { conn, prefix } => {
                redis_del(conn.clone(), Self::shared_key(prefix, &self.appid)).await
            }
            SharedCache::Cluster { conn, prefix } => {
                redis_del(conn.clone(), Self::shared_key(prefix, &self.appid)).await
            }
        };
        if let Err(error) = result {
            tracing::warn!(%error, "removing the shared access token failed");
        }
    }
}

async fn redis_get<C: ConnectionLike>(
    mut conn: C,
    key: String,
) -> redis::RedisResult<Option<String>> {
    redis::cmd("GET").arg(key).query_async(&mut conn).await
}

async fn redis_set<C: ConnectionLike>(
    mut conn: C,
    key: String,
    value: String,
    ttl_ms: u64,
) -> redis::RedisResult<()> {
    redis::cmd("SET")
        .arg(key)
        .arg(value)
        .arg("PX")
        .arg(ttl_ms)
        .query_async(&mut conn)
        .await
}

async fn redis_del<C: ConnectionLike>(mut conn: C, key: String) -> redis::RedisResult<()> {
    redis::cmd("DEL").arg(key).query_async(&mut conn).await
}

/// Whether a WeChat errcode means "this access token is not (or no longer) valid".
pub fn is_token_errcode(errcode: i64) -> bool {
    matches!(errcode, 40001 | 42001 | 40014)
}

/// A transport error (already stripped of its URL) as `Unavailable`, naming the call.
pub(crate) fn unavailable(call: &str, error: reqwest::Error) -> ExchangeError {
    ExchangeError::Unavailable(format!("{call}: {}", transport_error(&error)))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}
