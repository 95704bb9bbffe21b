//! Every built-in protocol's answer decoders (`wx_session::protocol::presets::NAMES`).
//!
//! Input: bytes 0-1 (big-endian) → HTTP status `100 + n % 500`; the rest → body (UTF-8, lossy),
//! read by serde_json into the same `Json` the module gets from `JSON.parse`, or kept as text.
//! So status 200 is `\x00\x64`, 401 is `\x01\x2d`, 503 is `\x01\x93`. Inputs shorter than two
//! bytes are skipped.
//!
//! Asserted for every preset — only what `spec.rs` guarantees by construction:
//! - nothing panics;
//! - `decode_login` is `Ok` only for 2xx; its token is non-empty visible ASCII of at most 4096 bytes
//!   (`Token::parse` accepts it again), its uid is a string or number, its user info an object;
//!   for a whole-body-token protocol (`token_path` empty) the token is the body's JSON string or
//!   its trimmed text, never a JSON object or number;
//! - `decode_check` says `Valid` only for 2xx; `Invalid` on a non-2xx answer only when the answer
//!   says the session is invalid (`says_session_invalid`) or the protocol's "not registered" field
//!   matched;
//! - `decode_logout` says `Revoked` only for 2xx; `AlreadyInvalid` only for the protocol's logout
//!   "already invalid" statuses, a 2xx, an answer that says the session is invalid, or "not
//!   registered";
//! - `says_session_invalid` holds only for the protocol's invalid statuses, its invalid field or its
//!   invalid message (egg: 登陆状态已失效 with a 400, in text or a JSON message), and
//!   then login is refused (`SERVER_REJECTED`), check says `Invalid` and logout `AlreadyInvalid`;
//! - errors on a 5xx answer are `SERVER_ERROR` unless the body said "invalid" / "not registered";
//!   every error has a code, a status equal to the answer's and a message.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wx_session::error::SessionError;
use wx_session::json::Json;
use wx_session::platform::{HttpResponse, Payload};
use wx_session::protocol::presets::{preset, NAMES};
use wx_session::protocol::{is_success, server_message, ProtocolSpec, Revocation, TokenStatus};
use wx_session::store::Token;

fuzz_target!(|data: &[u8]| {
    let [hi, lo, rest @ ..] = data else { return };
    let status = 100 + u16::from_be_bytes([*hi, *lo]) % 500;
    // As the wx layer hands answers over: parsed when the JS engine could parse it, else text.
    let text = String::from_utf8_lossy(rest).into_owned();
    let payload = match serde_json::from_str::<Json>(&text) {
        Ok(json) => Payload::Json(json),
        Err(_) => Payload::Text(text),
    };
    let response = HttpResponse { status, payload };
    for name in NAMES {
        let spec = preset(name, "https://api.example.com").expect("every name in NAMES is a preset");
        check_preset(name, &spec, &response);
    }
});

fn check_preset(name: &str, spec: &ProtocolSpec, response: &HttpResponse) {
    let ok_status = is_success(response.status);
    let body = response.payload.json();
    let not_registered = spec.not_registered.as_ref().and_then(|m| m.test(body)) == Some(true);
    let invalid_field = spec.invalid_field.as_ref().and_then(|m| m.test(body)) == Some(true);
    // The egg preset's rule: its words, in a text body or a JSON message, with one of its statuses.
    let invalid_message = spec.invalid_message.as_ref().is_some_and(|(statuses, words)| {
        statuses.contains(&response.status)
            && match &response.payload {
                Payload::Text(text) => text.contains(words.as_str()),
                Payload::Json(Json::String(text)) => text.contains(words.as_str()),
                Payload::Json(_) => server_message(&response.payload)
                    .and_then(|said| said.message)
                    .is_some_and(|said| said.contains(words.as_str())),
            }
    });

    let invalid = spec.says_session_invalid(response);
    let login = spec.decode_login(response);
    let check = spec.decode_check(response);
    let logout = spec.decode_logout(response);
    let ctx = format!("{name}: status {} body {:?}", response.status, response.payload);

    if invalid {
        assert!(
            spec.invalid_statuses.contains(&response.status) || invalid_field || invalid_message,
            "{ctx}: invalid without cause"
        );
        assert!(matches!(login, Err(SessionError::ServerRejected(_))), "{ctx}: invalid but login {login:?}");
        assert_eq!(check, Ok(TokenStatus::Invalid), "{ctx}: invalid but check");
        assert_eq!(logout, Ok(Revocation::AlreadyInvalid), "{ctx}: invalid but logout");
    }

    match &login {
        Ok(grant) => {
            assert!(ok_status, "{ctx}: login Ok on a non-2xx answer");
            let token = grant.token.as_str();
            assert!(!token.is_empty() && token.len() <= 4096, "{ctx}: token length {}", token.len());
            assert!(token.bytes().all(|b| b.is_ascii_graphic()), "{ctx}: token not visible ASCII: {token:?}");
            assert!(Token::parse(token).is_some(), "{ctx}: token does not parse again");
            if spec.token_path.is_empty() {
                let expected = match &response.payload {
                    Payload::Json(Json::String(s)) => s.as_str(),
                    Payload::Text(t) => t.trim(),
                    Payload::Json(other) => panic!("{ctx}: a token from a non-string JSON answer {other:?}"),
                };
                assert_eq!(token, expected, "{ctx}: whole-body token");
            }
            if let Some(uid) = &grant.uid {
                assert!(uid.id_text().is_some(), "{ctx}: uid {uid:?}");
            }
            if let Some(info) = &grant.user_info {
                assert!(info.is_object(), "{ctx}: userInfo {info:?}");
            }
        }
        Err(e) => check_error(&ctx, e, response, invalid || not_registered),
    }

    match &check {
        Ok(TokenStatus::Valid) => assert!(ok_status, "{ctx}: check Valid on a non-2xx answer"),
        Ok(TokenStatus::Invalid) => {
            assert!(ok_status || invalid || not_registered, "{ctx}: check Invalid without cause")
        }
        Err(e) => check_error(&ctx, e, response, false),
    }

    match &logout {
        Ok(Revocation::Revoked) => assert!(ok_status, "{ctx}: logout Revoked on a non-2xx answer"),
        Ok(Revocation::AlreadyInvalid) => assert!(
            spec.logout_invalid_statuses.contains(&response.status) || ok_status || invalid || not_registered,
            "{ctx}: logout AlreadyInvalid without cause"
        ),
        Err(e) => check_error(&ctx, e, response, false),
    }
}

/// `said_invalid`: the answer said "invalid" or "not registered", which outranks its status.
fn check_error(ctx: &str, e: &SessionError, response: &HttpResponse, said_invalid: bool) {
    assert!(!e.code().is_empty(), "{ctx}: error without code");
    assert_eq!(e.status(), Some(response.status), "{ctx}: error status of {e:?}");
    assert!(!e.to_string().is_empty(), "{ctx}: error without message");
    if (500..600).contains(&response.status) && !said_invalid {
        assert_eq!(e.code(), "SERVER_ERROR", "{ctx}: 5xx gave {e:?}");
    }
}
