//! What storage may hold: `wx_session::store::decode` (the keys `token` and `wxSession`) and
//! `wx_session::revocations::decode` (the pending-revocation queue).
//!
//! Input: up to three parts separated by byte 0xFF (never part of UTF-8 text), for `token`,
//! `wxSession` and the revocation queue, in that order; a missing part is `Missing`. Each part is
//! one tag byte then the text (UTF-8, lossy): `t` → `Text`, `j` → `Json` (read by serde_json into
//! the same `Json` the module gets from storage; text it refuses → `Unreadable`), `u` →
//! `Unreadable`, `m` or an empty part → `Missing`; any other tag byte picks a variant by its value
//! modulo 4. E.g. `tTOKEN-1\xffj{"token":"TOKEN-1","uid":42}\xffj["a"]`.
//!
//! Properties:
//! - nothing panics; `store::decode` reads only the two session keys;
//! - no token → `Ok(None)`; a decoded session's token passes `Token::parse` and is the stored text,
//!   its uid is a string or number, its user info an object;
//! - a decoded session written back the way `store::save` writes it decodes to the same session;
//! - every token of a decoded queue passes `Token::parse`, its tries stay within the bound, and the
//!   queue written back the way `revocations` writes it decodes to the same entries; a missing
//!   queue is empty.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wx_session::json::Json;
use wx_session::platform::StoredValue;
use wx_session::revocations;
use wx_session::store::{self, Token, KEY_SESSION, KEY_TOKEN};

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|b| *b == 0xFF).map(stored_value);
    let mut next = || parts.next().unwrap_or(StoredValue::Missing);
    let (token, record, queue) = (next(), next(), next());
    let read = |key: &str| match key {
        KEY_TOKEN => token.clone(),
        KEY_SESSION => record.clone(),
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
            let saved = StoredValue::Json(store::record(&session));
            let again = store::decode(|key| if key == KEY_TOKEN { token.clone() } else { saved.clone() });
            assert_eq!(again, Ok(Some(session)), "a decoded session does not survive save + decode");
        }
        Ok(None) => assert_eq!(token, StoredValue::Missing, "a stored token was ignored"),
        Err(store::Malformed) => {}
    }

    match revocations::decode(&queue) {
        Some(entries) => {
            if queue == StoredValue::Missing {
                assert!(entries.is_empty());
            }
            for entry in &entries {
                assert!(Token::parse(entry.token.as_str()).is_some(), "queued token does not parse again");
                assert!(entry.tries <= revocations::MAX_TRIES, "tries beyond the bound: {}", entry.tries);
            }
            let written = if entries.is_empty() { StoredValue::Missing } else { StoredValue::Json(revocations::encode(&entries)) };
            assert_eq!(revocations::decode(&written), Some(entries), "queue does not survive write + decode");
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
        2 => serde_json::from_str::<Json>(&text).map_or(StoredValue::Unreadable, StoredValue::Json),
        3 => StoredValue::Unreadable,
        _ => StoredValue::Missing,
    }
}
