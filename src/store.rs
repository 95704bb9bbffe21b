//! What the session keeps in `wx` storage, under which key, and how it is read back tolerantly.
//!
//! | key              | value                                                        |
//! |------------------|--------------------------------------------------------------|
//! | `token`          | the token, a plain string (pages written for the seeds read it) |
//! | `uid`            | the user id as the server sent it (string or number)          |
//! | `userInfo`       | the user info object, if the server sent one                  |
//! | `tokenExpiresAt` | epoch milliseconds after which the token counts as expired    |
//!
//! Anything unexpected under these keys — a non-string token, a malformed value, an older format,
//! another program's data — means "not logged in": the keys are removed and nothing crashes.

use crate::error::SessionError;
use crate::json::Json;
use crate::platform::{Platform, StoredValue};

/// Storage key of the token.
pub const KEY_TOKEN: &str = "token";
/// Storage key of the uid.
pub const KEY_UID: &str = "uid";
/// Storage key of the user info.
pub const KEY_USER_INFO: &str = "userInfo";
/// Storage key of the expiry time.
pub const KEY_EXPIRES_AT: &str = "tokenExpiresAt";

/// Every key that belongs to the session, cleared together.
const SESSION_KEYS: [&str; 4] = [KEY_TOKEN, KEY_UID, KEY_USER_INFO, KEY_EXPIRES_AT];

/// Longest token accepted; real tokens are far shorter, and storage is limited.
const MAX_TOKEN_LEN: usize = 4096;

/// A session token as the server issued it: non-empty visible ASCII, so it fits in any header.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Accepts a token only if it can be sent back as it is.
    pub fn parse(text: &str) -> Option<Token> {
        let plausible = !text.is_empty()
            && text.len() <= MAX_TOKEN_LEN
            && text.bytes().all(|b| b.is_ascii_graphic());
        plausible.then(|| Token(text.to_owned()))
    }

    /// The token text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    // Tokens are never logged, not even through a Debug print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

/// A logged-in session as stored on the device.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSession {
    /// The token.
    pub token: Token,
    /// The uid (a JSON string or number), if known.
    pub uid: Option<Json>,
    /// The user info object, if known.
    pub user_info: Option<Json>,
    /// Epoch ms after which the token is expired, if the server said.
    pub expires_at_ms: Option<u64>,
}

impl StoredSession {
    /// Whether the token has passed its expiry at `now_ms`.
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expires_at_ms.is_some_and(|at| now_ms >= at)
    }
}

/// What reading storage found.
#[derive(Debug, Clone, PartialEq)]
pub enum Loaded {
    /// A well-formed session.
    Session(StoredSession),
    /// No session.
    Empty,
    /// Something malformed was there and has been removed.
    Cleaned,
}

/// Reads the session, removing every session key if any of them holds something unexpected.
pub fn load(platform: &impl Platform) -> Loaded {
    match decode(|key| platform.read(key)) {
        Ok(Some(session)) => Loaded::Session(session),
        Ok(None) => {
            // Leftovers without a token (a uid from an old session...) are stale: drop them.
            if SESSION_KEYS.iter().any(|k| platform.read(k) != StoredValue::Missing) {
                clear(platform);
                Loaded::Cleaned
            } else {
                Loaded::Empty
            }
        }
        Err(Malformed) => {
            clear(platform);
            Loaded::Cleaned
        }
    }
}

/// Marker for a storage value the session cannot trust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// Decodes the session from whatever `read` returns for each key: `Ok(None)` without a token,
/// `Err(Malformed)` if any key holds something unexpected. Pure, so it is fuzzed directly.
pub fn decode(read: impl Fn(&str) -> StoredValue) -> Result<Option<StoredSession>, Malformed> {
    let token = match read(KEY_TOKEN) {
        StoredValue::Missing => return Ok(None),
        StoredValue::Text(text) => Token::parse(&text).ok_or(Malformed)?,
        StoredValue::Json(_) | StoredValue::Unreadable => return Err(Malformed),
    };
    let uid = match read(KEY_UID) {
        StoredValue::Missing => None,
        StoredValue::Text(text) => Some(Json::String(text)),
        StoredValue::Json(text) => match Json::parse(&text) {
            Ok(number @ Json::Number(_)) => Some(number),
            _ => return Err(Malformed),
        },
        StoredValue::Unreadable => return Err(Malformed),
    };
    let user_info = match read(KEY_USER_INFO) {
        StoredValue::Missing => None,
        StoredValue::Json(text) => match Json::parse(&text) {
            Ok(object) if object.is_object() => Some(object),
            _ => return Err(Malformed),
        },
        StoredValue::Text(_) | StoredValue::Unreadable => return Err(Malformed),
    };
    let expires_at_ms = match read(KEY_EXPIRES_AT) {
        StoredValue::Missing => None,
        StoredValue::Json(text) => Some(Json::parse(&text).ok().and_then(|n| n.as_u64()).ok_or(Malformed)?),
        StoredValue::Text(_) | StoredValue::Unreadable => return Err(Malformed),
    };
    Ok(Some(StoredSession { token, uid, user_info, expires_at_ms }))
}

/// Stores a session under all its keys, or — if any write fails — puts back exactly what was
/// there before and reports `STORAGE_FAILED`.
pub fn save(platform: &impl Platform, session: &StoredSession) -> Result<(), SessionError> {
    let wanted = [
        (KEY_TOKEN, Some(StoredValue::Text(session.token.as_str().to_owned()))),
        (KEY_UID, session.uid.as_ref().map(stored_json)),
        (KEY_USER_INFO, session.user_info.as_ref().map(stored_json)),
        (KEY_EXPIRES_AT, session.expires_at_ms.map(|ms| StoredValue::Json(decimal(ms)))),
    ];
    // What each key held before we touched it: only touched keys are put back on failure, so a
    // write refused outright (storage full) leaves everything exactly as it was.
    let mut touched: Vec<(&str, StoredValue)> = Vec::with_capacity(wanted.len());
    for (key, value) in &wanted {
        let before = platform.read(key);
        let written = match value {
            Some(value) => platform.write(key, value),
            None => {
                platform.remove(key);
                Ok(())
            }
        };
        if let Err(error) = written {
            restore(platform, &touched);
            return Err(error);
        }
        touched.push((key, before));
    }
    Ok(())
}

fn stored_json(value: &Json) -> StoredValue {
    match value {
        Json::String(text) => StoredValue::Text(text.clone()),
        other => StoredValue::Json(other.to_text()),
    }
}

fn restore(platform: &impl Platform, touched: &[(&str, StoredValue)]) {
    // Remove first so the old values get back the room the new ones took.
    for (key, _) in touched {
        platform.remove(key);
    }
    for (key, value) in touched {
        if matches!(value, StoredValue::Text(_) | StoredValue::Json(_)) {
            // What fitted before fits again; if not, there is nothing better than leaving it out.
            let _ = platform.write(key, value);
        }
    }
}

/// Removes every session key.
pub fn clear(platform: &impl Platform) {
    for key in SESSION_KEYS {
        platform.remove(key);
    }
}

/// Removes the session only if it still holds `token` (a newer login must not be undone by a
/// late answer about an older token).
pub fn clear_if_token(platform: &impl Platform, token: &Token) -> bool {
    let same = matches!(platform.read(KEY_TOKEN), StoredValue::Text(t) if t == token.as_str());
    if same {
        clear(platform);
    }
    same
}

/// `u64` as decimal text without pulling in the formatting machinery.
pub fn decimal(mut n: u64) -> String {
    let mut digits = Vec::with_capacity(20);
    loop {
        digits.push(b'0' + (n % 10) as u8);
        n /= 10;
        if n == 0 {
            break;
        }
    }
    digits.iter().rev().map(|d| char::from(*d)).collect()
}
