//! Tokens whose revocation the server has not confirmed yet, kept apart from the session under
//! storage key `wxSessionPendingRevocations` (an array of strings) until a retry succeeds.
//! The user who tapped 退出 is logged out at once; this queue makes sure the token dies on the
//! server too, even if the network was down at that moment or the app was closed.

use crate::json::Json;
use crate::platform::{Platform, StoredValue};
use crate::store::Token;

/// Storage key of the queue.
pub const KEY_PENDING: &str = "wxSessionPendingRevocations";

/// At most this many tokens are kept; the oldest are dropped first (they expire on the server
/// anyway, and storage is not for hoarding).
const MAX_PENDING: usize = 8;

/// The queued tokens, oldest first. A malformed queue is dropped.
pub fn pending(platform: &impl Platform) -> Vec<Token> {
    decode(&platform.read(KEY_PENDING)).unwrap_or_else(|| {
        platform.remove(KEY_PENDING);
        Vec::new()
    })
}

/// Decodes a stored queue; `None` if it is malformed. Pure, so it is fuzzed directly.
pub fn decode(value: &StoredValue) -> Option<Vec<Token>> {
    match value {
        StoredValue::Missing => Some(Vec::new()),
        StoredValue::Json(Json::Array(items)) => {
            Some(items.iter().filter_map(|i| i.as_str().and_then(Token::parse)).collect())
        }
        StoredValue::Json(_) => None,
        StoredValue::Text(_) | StoredValue::Unreadable => None,
    }
}

/// Whether anything is queued (one storage read; no parsing when the key is absent).
pub fn has_pending(platform: &impl Platform) -> bool {
    platform.read(KEY_PENDING) != StoredValue::Missing
}

/// Adds a token to the queue (once).
pub fn queue(platform: &impl Platform, token: &Token) {
    let mut tokens = pending(platform);
    if !tokens.contains(token) {
        tokens.push(token.clone());
    }
    let excess = tokens.len().saturating_sub(MAX_PENDING);
    tokens.drain(..excess);
    write(platform, &tokens);
}

/// Removes a token the server has now revoked (or called invalid).
pub fn settle(platform: &impl Platform, token: &Token) {
    let mut tokens = pending(platform);
    tokens.retain(|t| t != token);
    write(platform, &tokens);
}

fn write(platform: &impl Platform, tokens: &[Token]) {
    if tokens.is_empty() {
        platform.remove(KEY_PENDING);
        return;
    }
    let list = Json::Array(tokens.iter().map(|t| Json::String(t.as_str().to_owned())).collect());
    // If storage is full the queue is lost; the tokens still expire on the server by their TTL.
    let _ = platform.write(KEY_PENDING, &StoredValue::Json(list));
}
