//! The Redis session store.
//!
//! Keys (all under the configured prefix, default `wx-session:`):
//!
//! | key | type | holds | TTL |
//! |---|---|---|---|
//! | `login:<openid>` | hash | `token` (SHA-256 digest), `uid`, `openid`, `session_key` (only when configured, and then encrypted) | token TTL |
//! | `token:<digest>` | string | the openid, so a token can find its `login:` record | token TTL |
//!
//! A token is valid exactly when its index exists **and** the openid's `login:` record names
//! its digest. Single sign-on is therefore one atomic step: a Lua script replaces the `login:`
//! record, and every older token of that openid stops matching at once, however many logins
//! race. The stale `token:` entry of the replaced token is deleted right after (best effort:
//! if that fails it is harmless and expires on its own).
//!
//! Every command and every script touches exactly one key, so nothing crosses hash slots: the
//! layout works unchanged on Redis Cluster and on managed "cluster mode" services. Only digests of
//! tokens are stored, so reading Redis does not yield a usable token.

use std::time::Duration;

use redis::aio::ConnectionLike;
use redis::Script;

use super::{ActiveSession, NewSession, SessionStore, StoreError};
use crate::login::SessionKey;
use crate::token::Token;

/// Replaces the login record KEYS[1] (ARGV: digest, uid, openid, ttl in ms, and the sealed
/// session_key if it is stored) and returns the digest it replaced, if any.
const START_SCRIPT: &str = r"
local previous = redis.call('HGET', KEYS[1], 'token')
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'token', ARGV[1], 'uid', ARGV[2], 'openid', ARGV[3])
if ARGV[5] then redis.call('HSET', KEYS[1], 'session_key', ARGV[5]) end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return previous
";

/// If login record KEYS[1] names digest ARGV[1], returns {uid, openid, session_key, ms left}.
const CHECK_SCRIPT: &str = r"
local record = redis.call('HMGET', KEYS[1], 'token', 'uid', 'openid', 'session_key')
if record[1] ~= ARGV[1] then return false end
local left = redis.call('PTTL', KEYS[1])
if left <= 0 then return false end
return {record[2], record[3], record[4], left}
";

/// Deletes login record KEYS[1] if it names digest ARGV[1]; returns its uid if it did.
const REVOKE_SCRIPT: &str = r"
local record = redis.call('HMGET', KEYS[1], 'token', 'uid')
if record[1] == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return record[2]
end
return false
";

/// See the module doc. Generic over the connection so the same code drives a single server
/// (`ConnectionManager`, which reconnects by itself) and a cluster (`ClusterConnection`).
pub struct RedisStore<C> {
    /// A multiplexed connection; cloned per call, which is cheap.
    conn: C,
    /// Prepended to every key.
    prefix: String,
    start_script: Script,
    check_script: Script,
    revoke_script: Script,
}

impl<C> std::fmt::Debug for RedisStore<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl<C> RedisStore<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    /// A store on an established connection. Scripts are loaded lazily (EVALSHA, falling back
    /// to loading them on `NOSCRIPT`), so a Redis restart does not break anything.
    pub fn new(conn: C, prefix: impl Into<String>) -> RedisStore<C> {
        RedisStore {
            conn,
            prefix: prefix.into(),
            start_script: Script::new(START_SCRIPT),
            check_script: Script::new(CHECK_SCRIPT),
            revoke_script: Script::new(REVOKE_SCRIPT),
        }
    }

    /// Round-trips a PING, so a wrong URL fails at startup rather than at the first login.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        redis::cmd("PING").query_async::<String>(&mut conn).await?;
        Ok(())
    }

    fn login_key(&self, openid: &str) -> String {
        format!("{}login:{openid}", self.prefix)
    }

    fn token_key(&self, digest: &str) -> String {
        format!("{}token:{digest}", self.prefix)
    }

    /// The openid a token was issued to, if its index entry still exists.
    async fn openid_of(&self, digest: &str) -> Result<Option<String>, StoreError> {
        let mut conn = self.conn.clone();
        let openid: Option<String> = redis::cmd("GET")
            .arg(self.token_key(digest))
            .query_async(&mut conn)
            .await?;
        Ok(openid)
    }

    /// Deletes a token's index entry. Failures are only logged: validity never depends on it.
    async fn forget_token(&self, digest: &str) {
        let mut conn = self.conn.clone();
        let deleted: Result<i64, _> = redis::cmd("DEL")
            .arg(self.token_key(digest))
            .query_async(&mut conn)
            .await;
        if let Err(error) = deleted {
            tracing::warn!(%error, "could not delete a stale token index entry; it will expire");
        }
    }
}

impl<C> SessionStore for RedisStore<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    async fn start(
        &self,
        token: &Token,
        session: NewSession,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let digest = token.digest();
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut conn = self.conn.clone();

        // The index first: once the login record names this digest, the index must exist.
        redis::cmd("SET")
            .arg(self.token_key(&digest))
            .arg(&session.openid)
            .arg("PX")
            .arg(ttl_ms)
            .query_async::<()>(&mut conn)
            .await?;

        let mut invocation = self.start_script.key(self.login_key(&session.openid));
        invocation
            .arg(&digest)
            .arg(&session.uid)
            .arg(&session.openid)
            .arg(ttl_ms);
        if let Some(session_key) = &session.session_key {
            invocation.arg(session_key.expose());
        }
        let previous: Option<String> = invocation.invoke_async(&mut conn).await?;

        let replaced = previous.filter(|p| *p != digest);
        if let Some(previous) = &replaced {
            self.forget_token(previous).await;
        }
        Ok(replaced.is_some())
    }

    async fn check(&self, token: &Token) -> Result<Option<ActiveSession>, StoreError> {
        let digest = token.digest();
        let Some(openid) = self.openid_of(&digest).await? else {
            return Ok(None);
        };
        let mut conn = self.conn.clone();
        let found: Option<(String, String, Option<String>, u64)> = self
            .check_script
            .key(self.login_key(&openid))
            .arg(&digest)
            .invoke_async(&mut conn)
            .await?;
        Ok(
            found.map(|(uid, openid, session_key, ms_left)| ActiveSession {
                openid,
                uid,
                session_key: session_key.map(SessionKey::new),
                expires_in: Duration::from_millis(ms_left),
            }),
        )
    }

    async fn revoke(&self, token: &Token) -> Result<Option<String>, StoreError> {
        let digest = token.digest();
        let Some(openid) = self.openid_of(&digest).await? else {
            return Ok(None);
        };
        let mut conn = self.conn.clone();
        let revoked: Option<String> = self
            .revoke_script
            .key(self.login_key(&openid))
            .arg(&digest)
            .invoke_async(&mut conn)
            .await?;
        self.forget_token(&digest).await;
        Ok(revoked)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        RedisStore::ping(self).await
    }
}
