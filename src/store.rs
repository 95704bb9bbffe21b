//! What the session keeps in `wx` storage, under which key, and how it is read back tolerantly.
//!
//! | key         | value                                                                      |
//! |-------------|----------------------------------------------------------------------------|
//! | `token`     | the token, a plain string (pages written for the seeds read and clear it)  |
//! | `wxSession` | `{token, uid?, userInfo?, expiresAt?}`: the rest of the session, which counts only while its `token` equals the `token` key |
//!
//! Two keys rather than one per field: every `*StorageSync` call crosses WeChat's native bridge on
//! a phone, so a login writes two keys and a check reads one. (The unreleased first version kept
//! `uid`, `userInfo` and `tokenExpiresAt` under keys of their own; nothing reads them now.)
//!
//! Anything unexpected under these keys — a non-string token, a malformed value, another
//! program's data — means "not logged in": the keys are removed and nothing crashes.

use crate::error::SessionError;
use crate::json::Json;
use crate::platform::{Platform, StoredValue};

/// Storage key of the token.
pub const KEY_TOKEN: &str = "token";
/// Storage key of the rest of the session.
pub const KEY_SESSION: &str = "wxSession";
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

/// Marker for a storage value the session cannot trust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// Reads the session. `known` is the session this module last saw (the session keeps it in
/// memory): when the `token` key still holds its token, that one read is all it takes.
/// Malformed storage is removed.
pub fn load(platform: &impl Platform, known: Option<&StoredSession>) -> Loaded {
    let token = match decode_token(platform.read(KEY_TOKEN)) {
        Ok(Some(token)) => token,
        Ok(None) => return Loaded::Empty,
        Err(Malformed) => {
            clear(platform);
            return Loaded::Cleaned;
        }
    };
    if let Some(known) = known.filter(|k| k.token == token) {
        return Loaded::Session(known.clone());
    }
    match decode_rest(token, platform.read(KEY_SESSION)) {
        Ok(session) => Loaded::Session(session),
        Err(Malformed) => {
            clear(platform);
            Loaded::Cleaned
        }
    }
}

/// Decodes the session from whatever `read` returns for each key: `Ok(None)` without a token,
/// `Err(Malformed)` if any key holds something unexpected. Pure, so it is fuzzed directly.
pub fn decode(read: impl Fn(&str) -> StoredValue) -> Result<Option<StoredSession>, Malformed> {
    match decode_token(read(KEY_TOKEN))? {
        Some(token) => decode_rest(token, read(KEY_SESSION)).map(Some),
        None => Ok(None),
    }
}

fn decode_token(value: StoredValue) -> Result<Option<Token>, Malformed> {
    match value {
        StoredValue::Missing => Ok(None),
        StoredValue::Text(text) => Token::parse(&text).map(Some).ok_or(Malformed),
        StoredValue::Json(_) | StoredValue::Unreadable => Err(Malformed),
    }
}

/// The rest of the session for a stored `token`, from its `wxSession` record — or the token
/// alone when the record belongs to another token or is missing (the page wrote `token` itself).
fn decode_rest(token: Token, record: StoredValue) -> Result<StoredSession, Malformed> {
    let record = match record {
        StoredValue::Missing => None,
        StoredValue::Json(record @ Json::Object(_)) => Some(record),
        StoredValue::Json(_) | StoredValue::Text(_) | StoredValue::Unreadable => return Err(Malformed),
    };
    match record.filter(|r| r.get("token").and_then(Json::as_str) == Some(token.as_str())) {
        Some(record) => Ok(StoredSession {
            token,
            uid: uid(record.get("uid"))?,
            user_info: user_info(record.get("userInfo"))?,
            expires_at_ms: expiry(record.get("expiresAt"))?,
        }),
        None => Ok(StoredSession { token, uid: None, user_info: None, expires_at_ms: None }),
    }
}

/// A uid is a string or a number; `null` counts as absent.
fn uid(value: Option<&Json>) -> Result<Option<Json>, Malformed> {
    match value {
        None | Some(Json::Null) => Ok(None),
        Some(id @ (Json::String(_) | Json::Number(_))) => Ok(Some(id.clone())),
        Some(_) => Err(Malformed),
    }
}

fn user_info(value: Option<&Json>) -> Result<Option<Json>, Malformed> {
    match value {
        None | Some(Json::Null) => Ok(None),
        Some(info @ Json::Object(_)) => Ok(Some(info.clone())),
        Some(_) => Err(Malformed),
    }
}

fn expiry(value: Option<&Json>) -> Result<Option<u64>, Malformed> {
    match value {
        None | Some(Json::Null) => Ok(None),
        Some(at) => at.as_u64().map(Some).ok_or(Malformed),
    }
}

/// The `wxSession` record of a session, as [`save`] writes it.
pub fn record(session: &StoredSession) -> Json {
    let mut members = vec![("token".to_owned(), Json::String(session.token.as_str().to_owned()))];
    if let Some(uid) = &session.uid {
        members.push(("uid".to_owned(), uid.clone()));
    }
    if let Some(info) = &session.user_info {
        members.push(("userInfo".to_owned(), info.clone()));
    }
    if let Some(at) = session.expires_at_ms {
        members.push(("expiresAt".to_owned(), Json::Number(at as f64)));
    }
    Json::Object(members)
}

fn write_record(platform: &impl Platform, session: &StoredSession) -> Result<(), SessionError> {
    platform.write(KEY_SESSION, &StoredValue::Json(record(session)))
}

/// Stores a session (record first, then the token that makes it count), or — if a write fails —
/// puts back what was there and reports `STORAGE_FAILED`. `known` is the session last seen, which
/// spares reading the old record back when it is still the stored one.
pub fn save(platform: &impl Platform, session: &StoredSession, known: Option<&StoredSession>) -> Result<(), SessionError> {
    let old_token = platform.read(KEY_TOKEN);
    // The old record matters only while a token makes it count.
    let old_record = match &old_token {
        StoredValue::Text(text) => match known.filter(|k| k.token.as_str() == text) {
            Some(known) => StoredValue::Json(record(known)),
            None => platform.read(KEY_SESSION),
        },
        _ => StoredValue::Missing,
    };
    write_record(platform, session)?;
    if let Err(error) = platform.write(KEY_TOKEN, &StoredValue::Text(session.token.as_str().to_owned())) {
        // The token key is as it was; put the record back to match it.
        platform.remove(KEY_SESSION);
        if matches!(old_record, StoredValue::Json(_)) {
            // What fitted before fits again; if not, the old token alone still reads as logged in.
            let _ = platform.write(KEY_SESSION, &old_record);
        }
        return Err(error);
    }
    Ok(())
}

/// Removes every session key.
pub fn clear(platform: &impl Platform) {
    platform.remove(KEY_TOKEN);
    platform.remove(KEY_SESSION);
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
