//! Where sessions live: the [`SessionStore`] trait and its two implementations.
//!
//! A session ties a token to a WeChat user (openid), that user's uid and WeChat `session_key`,
//! and an expiry. The store enforces the two rules that matter:
//!
//! * **single sign-on** — starting a session for an openid ends the previous one, atomically, so
//!   however many logins race, exactly one token per user is valid afterwards;
//! * **expiry** — a session is gone once its lifetime has passed, whether or not anyone looked.
//!
//! [`MemoryStore`] keeps everything in this process (default); [`RedisStore`] keeps it in Redis
//! (`REDIS_URL`) so several instances and restarts share it.

mod memory;
mod redis;

use std::future::Future;
use std::time::Duration;

pub use self::memory::MemoryStore;
pub use self::redis::RedisStore;
use crate::login::SessionKey;
use crate::token::{RandomnessError, Token};

/// What the login handler hands the store to start a session.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The WeChat user; at most one session per openid exists.
    pub openid: String,
    /// The user's uid (from the user database), returned again by checks.
    pub uid: String,
    /// What to keep of WeChat's `session_key`: `None` (the default policy) keeps nothing;
    /// otherwise the value sealed by `sealing.rs`. Never sent to a client.
    pub session_key: Option<SessionKey>,
}

/// A valid session found by [`SessionStore::check`].
#[derive(Debug, Clone)]
pub struct ActiveSession {
    /// The WeChat user.
    pub openid: String,
    /// The uid shown to the client.
    pub uid: String,
    /// WeChat's `session_key` from this login as stored (sealed; `None` when not stored). Open
    /// it with `SessionKeyPolicy::open` in routes that decrypt user data.
    pub session_key: Option<SessionKey>,
    /// Time left before the session expires.
    pub expires_in: Duration,
}

/// The store failed (Redis unreachable, or data in it that this server did not write).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Redis answered with an error or not at all.
    #[error("redis: {0}")]
    Redis(#[from] ::redis::RedisError),
    /// A uid could not be drawn.
    #[error(transparent)]
    Randomness(#[from] RandomnessError),
}

/// Session storage. Implementations must make [`start`](SessionStore::start) atomic with respect
/// to other calls for the same openid (single sign-on) and must never return an expired session.
///
/// Methods return `impl Future + Send` so the router can be generic over the store without boxing.
pub trait SessionStore: Send + Sync + 'static {
    /// Starts a session for `token` lasting `ttl`, ending any other session of the same openid.
    /// `true` when another session was ended that way (single sign-on replacement).
    fn start(
        &self,
        token: &Token,
        session: NewSession,
        ttl: Duration,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The session behind `token`, if it is still valid.
    fn check(
        &self,
        token: &Token,
    ) -> impl Future<Output = Result<Option<ActiveSession>, StoreError>> + Send;

    /// Ends the session behind `token` and returns its uid; `None` when there was no valid
    /// session to end.
    fn revoke(
        &self,
        token: &Token,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Whether the store answers at all, for the readiness check. The memory store always does.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send {
        async { Ok(()) }
    }
}
