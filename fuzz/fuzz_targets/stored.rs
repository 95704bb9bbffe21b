//! What storage may hold: `wx_session::store::decode` (the session's four keys) and
//! `wx_session::revocations::decode` (the pending-revocation queue).
//!
//! Input: up to five parts separated by byte 0xFF (never part of UTF-8 text), for the keys
//! `token`, `uid`, `userInfo`, `tokenExpiresAt` and the revocation queue, in that order; a missing
//! part is `Missing`. Each part is one tag byte then the text (UTF-8, lossy):
//! `t` → `Text`, `j` → `Json`, `u` → `Unreadable`, `m` or an empty part → `Missing`; any other tag
//! byte picks a variant by its value modulo 4. E.g. `tTOKEN-1\xffj42\xffj{}\xffj1700000000000\xffj["a"]`.
//!
//! Properties:
//! - nothing panics; `store::decode` reads only the four session keys;
//! - no token → `Ok(None)`; a decoded session's token passes `Token::parse` and is the stored text,
//!   its uid is a string or number, its user info an object;
//! - a decoded session written back the way `store::save` writes it decodes to the same session;
//! - every token of a decoded queue passes `Token::parse`, and the queue written back the way
//!   `revocations` writes it decodes to the same tokens; a missing queue is empty.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wx_session::json::Json;
use wx_session::platform::StoredValue;
use wx_session::store::{self, decimal, StoredSession, Token, KEY_EXPIRES_AT, KEY_TOKEN, KEY_UID, KEY_USER_INFO};
use wx_session::revocations;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|b| *b == 0xFF).map(stored_value);
    let mut next = || parts.next().unwrap_or(StoredValue::Missing);
    let (token, uid, user_info, expires_at, queue) = (next(), next(), next(), next(), next());
    let read = |key: &str| match key {
        KEY_TOKEN => token.clone(),
        KEY_UID => uid.clone(),
        KEY_USER_INFO => user_info.clone(),
        KEY_EXPIRES_AT => expires_at.clone(),
        other => panic!("store::decode read an unknown key {other:?}"),
    };

    match store::decode(read) {
        Ok(Some(session)) => {
            let text = session.token.as_str();
            assert!(Token::parse(text).is_some(), "decoded token does not parse again");
            assert_eq!(token, StoredValue::Text(text.to_owned()), "token is not the stored text");
            if let Some(uid) = &session.uid {
                assert!(matches!(uid, Json::String(_) | Json::Number(_)), "uid {uid:?}");
            }
            if let Some(info) = &session.user_info {
                assert!(info.is_object(), "userInfo {info:?}");
            }
            assert_eq!(session.expires_at_ms.is_some(), expires_at != StoredValue::Missing);
            let saved = saved_values(&session);
            let again = store::decode(|key| saved.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone()).expect("key"));
            assert_eq!(again, Ok(Some(session)), "a decoded session does not survive save + decode");
        }
        Ok(None) => assert_eq!(token, StoredValue::Missing, "a stored token was ignored"),
        Err(store::Malformed) => {}
    }

    match revocations::decode(&queue) {
        Some(tokens) => {
            if queue == StoredValue::Missing {
                assert!(tokens.is_empty());
            }
            for t in &tokens {
                assert!(Token::parse(t.as_str()).is_some(), "queued token does not parse again");
            }
            let list = Json::Array(tokens.iter().map(|t| Json::String(t.as_str().to_owned())).collect());
            let written = if tokens.is_empty() { StoredValue::Missing } else { StoredValue::Json(list.to_text()) };
            assert_eq!(revocations::decode(&written), Some(tokens), "queue does not survive write + decode");
        }
        None => assert!(matches!(queue, StoredValue::Text(_) | StoredValue::Json(_) | StoredValue::Unreadable)),
    }
});

fn stored_value(part: &[u8]) -> StoredValue {
    let Some((tag, text)) = part.split_first() else { return StoredValue::Missing };
    let text = String::from_utf8_lossy(text).into_owned();
    let variant = match tag {
        b't' => 1,
        b'j' => 2,
        b'u' => 3,
        b'm' => 0,
        other => other % 4,
    };
    match variant {
        1 => StoredValue::Text(text),
        2 => StoredValue::Json(text),
        3 => StoredValue::Unreadable,
        _ => StoredValue::Missing,
    }
}

/// The four keys as `store::save` writes a session (strings as text, everything else as JSON).
fn saved_values(session: &StoredSession) -> [(&'static str, StoredValue); 4] {
    let json = |value: &Option<Json>| match value {
        None => StoredValue::Missing,
        Some(Json::String(text)) => StoredValue::Text(text.clone()),
        Some(other) => StoredValue::Json(other.to_text()),
    };
    [
        (KEY_TOKEN, StoredValue::Text(session.token.as_str().to_owned())),
        (KEY_UID, json(&session.uid)),
        (KEY_USER_INFO, json(&session.user_info)),
        (KEY_EXPIRES_AT, session.expires_at_ms.map_or(StoredValue::Missing, |ms| StoredValue::Json(decimal(ms)))),
    ]
}
