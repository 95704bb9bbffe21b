//! Tokens whose revocation the server has not confirmed yet, kept apart from the session under
//! storage key `wxSessionPendingRevocations` until a retry succeeds. The user who tapped 退出 is
//! logged out at once; this queue makes sure the token dies on the server too, even if the network
//! was down at that moment or the app was closed.
//!
//! Retries are bounded. While offline an entry waits for the next chance (a request, a reconnect,
//! a launch) and no try is counted. When the server answers but fails (5xx, 429), each failure
//! doubles the wait before it is asked again (30 s, 1 min, … up to 6 h). An entry is given up — and
//! the app told, with a `revocationAbandoned` event — when the server refuses it for good (a 4xx
//! such as 404: a logout endpoint that is not there will not appear by asking again), when the
//! token has expired anyway, or after [`MAX_TRIES`] server failures.
//!
//! Stored as an array of `{token, expiresAt?, tries, nextAt}`; a bare string (the first version's
//! entry) reads as a token never tried.

use crate::json::Json;
use crate::platform::{Platform, StoredValue};
use crate::store::Token;

/// Storage key of the queue.
pub const KEY_PENDING: &str = "wxSessionPendingRevocations";

/// At most this many tokens are kept; the oldest are dropped first (they expire on the server
/// anyway, and storage is not for hoarding).
const MAX_PENDING: usize = 8;

/// Failed tries after which a revocation is given up.
pub const MAX_TRIES: u32 = 8;

/// The first wait after a failure, and the longest.
const FIRST_WAIT_MS: u64 = 30_000;
const LONGEST_WAIT_MS: u64 = 6 * 3600 * 1000;

/// One queued revocation.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// The token to revoke.
    pub token: Token,
    /// When it expires on its own (epoch ms), if the server said.
    pub expires_at_ms: Option<u64>,
    /// Failed tries so far.
    pub tries: u32,
    /// Not to be tried again before this (epoch ms).
    pub next_at_ms: u64,
}

impl Pending {
    /// Whether the token has expired, so revoking it no longer matters.
    pub fn expired(&self, now_ms: u64) -> bool {
        self.expires_at_ms.is_some_and(|at| now_ms >= at)
    }

    /// Whether it may be tried at `now_ms`.
    pub fn due(&self, now_ms: u64) -> bool {
        now_ms >= self.next_at_ms
    }

    /// The entry after one more failure at `now_ms`.
    pub fn failed(&self, now_ms: u64) -> Pending {
        let wait = FIRST_WAIT_MS.saturating_mul(1u64 << self.tries.min(20)).min(LONGEST_WAIT_MS);
        Pending { tries: self.tries.saturating_add(1), next_at_ms: now_ms.saturating_add(wait), ..self.clone() }
    }
}

/// The queued revocations, oldest first. A malformed queue is dropped.
pub fn pending(platform: &impl Platform) -> Vec<Pending> {
    decode(&platform.read(KEY_PENDING)).unwrap_or_else(|| {
        platform.remove(KEY_PENDING);
        Vec::new()
    })
}

/// Decodes a stored queue; `None` if it is malformed. Pure, so it is fuzzed directly.
pub fn decode(value: &StoredValue) -> Option<Vec<Pending>> {
    match value {
        StoredValue::Missing => Some(Vec::new()),
        StoredValue::Json(Json::Array(items)) => Some(items.iter().filter_map(entry).collect()),
        StoredValue::Json(_) | StoredValue::Text(_) | StoredValue::Unreadable => None,
    }
}

/// One stored entry; entries that make no sense are skipped rather than poisoning the queue.
fn entry(item: &Json) -> Option<Pending> {
    if let Some(text) = item.as_str() {
        return Token::parse(text).map(|token| Pending { token, expires_at_ms: None, tries: 0, next_at_ms: 0 });
    }
    let token = Token::parse(item.get("token")?.as_str()?)?;
    let number = |key: &str| item.get(key).and_then(Json::as_u64);
    Some(Pending {
        token,
        expires_at_ms: number("expiresAt"),
        tries: number("tries").unwrap_or(0).min(u64::from(MAX_TRIES)) as u32,
        next_at_ms: number("nextAt").unwrap_or(0),
    })
}

/// The stored form of a queue.
pub fn encode(entries: &[Pending]) -> Json {
    Json::Array(
        entries
            .iter()
            .map(|p| {
                let mut members = vec![("token".to_owned(), Json::String(p.token.as_str().to_owned()))];
                if let Some(at) = p.expires_at_ms {
                    members.push(("expiresAt".to_owned(), Json::Number(at as f64)));
                }
                members.push(("tries".to_owned(), Json::Number(f64::from(p.tries))));
                members.push(("nextAt".to_owned(), Json::Number(p.next_at_ms as f64)));
                Json::Object(members)
            })
            .collect(),
    )
}

/// Whether anything is queued (one storage read; nothing decoded when the key is absent).
pub fn has_pending(platform: &impl Platform) -> bool {
    platform.read(KEY_PENDING) != StoredValue::Missing
}

/// Adds an entry (replacing one for the same token).
pub fn queue(platform: &impl Platform, entry: Pending) {
    let mut entries = pending(platform);
    entries.retain(|p| p.token != entry.token);
    entries.push(entry);
    let excess = entries.len().saturating_sub(MAX_PENDING);
    entries.drain(..excess);
    write(platform, &entries);
}

/// Removes a token's entry (revoked, called invalid, or given up).
pub fn settle(platform: &impl Platform, token: &Token) {
    let mut entries = pending(platform);
    entries.retain(|p| p.token != *token);
    write(platform, &entries);
}

fn write(platform: &impl Platform, entries: &[Pending]) {
    if entries.is_empty() {
        platform.remove(KEY_PENDING);
        return;
    }
    // If storage is full the queue is lost; the tokens still expire on the server by their TTL.
    let _ = platform.write(KEY_PENDING, &StoredValue::Json(encode(entries)));
}
