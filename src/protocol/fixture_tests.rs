//! Every built-in protocol against its hand-written fixtures (tests/fixtures/protocols/*.json):
//! the requests we build must match the recorded ones byte for byte, and each recorded answer
//! must decode to what the fixture expects.

use super::{presets, LoginGrant, Revocation, TokenStatus};
use crate::error::SessionError;
use crate::json::Json;
use crate::platform::{HttpRequest, HttpResponse, LoginCode};
use crate::store::Token;
use crate::testing::{body_text, json, json_text, response as answer_of};

const FIXTURES: [&str; 4] = [
    include_str!("../../tests/fixtures/protocols/default.json"),
    include_str!("../../tests/fixtures/protocols/egg.json"),
    include_str!("../../tests/fixtures/protocols/apifm.json"),
    include_str!("../../tests/fixtures/protocols/litemall.json"),
];

fn text<'a>(json: &'a Json, path: &str) -> Option<&'a str> {
    json.pointer(path).and_then(Json::as_str)
}

fn response(exchange: &Json) -> HttpResponse {
    let status = exchange.pointer("response.status").and_then(Json::as_u64).unwrap() as u16;
    answer_of(status, text(exchange, "response.body").unwrap())
}

fn assert_request_matches(name: &str, base: &str, built: &HttpRequest, exchange: &Json) {
    let Some(recorded) = exchange.get("request") else { return };
    // An endpoint on another host is recorded with its absolute URL (API工厂's logout).
    let url = match text(exchange, "absoluteUrl") {
        Some(absolute) => absolute.to_owned(),
        None => [base, text(recorded, "url").unwrap()].concat(),
    };
    assert_eq!(built.method.as_str(), text(recorded, "method").unwrap(), "{name}");
    assert_eq!(built.url, url, "{name}");
    assert_eq!(built.body.as_ref().map(body_text).as_deref(), text(recorded, "body"), "{name}");
    let is_content_type = |k: &str| k.eq_ignore_ascii_case("content-type");
    // The content type is the body's, or a header the protocol always sends (API工厂, even on GET).
    let content_type = built
        .headers
        .iter()
        .find(|(k, _)| is_content_type(k))
        .map(|(_, v)| v.as_str())
        .or(built.body.as_ref().map(|b| b.content_type()));
    assert_eq!(content_type, text(recorded, "contentType"), "{name}");
    let others: Vec<(String, String)> = built.headers.iter().filter(|(k, _)| !is_content_type(k)).cloned().collect();
    if let Some(Json::Array(header)) = recorded.get("header") {
        let pair = (header[0].as_str().unwrap().to_owned(), header[1].as_str().unwrap().to_owned());
        assert!(others.contains(&pair), "{name}: {others:?} lacks {pair:?}");
    } else {
        assert!(others.is_empty(), "{name}: unexpected headers {others:?}");
    }
}

fn assert_error(name: &str, error: &SessionError, expect: &Json) {
    assert_eq!(error.code(), text(expect, "error").unwrap(), "{name}");
    if let Some(code) = text(expect, "serverCode") {
        assert_eq!(error.server_message().and_then(|m| m.code.as_deref()), Some(code), "{name}");
    }
    if let Some(message) = text(expect, "serverMessage") {
        assert_eq!(error.server_message().and_then(|m| m.message.as_deref()), Some(message), "{name}");
    }
}

fn assert_grant(name: &str, grant: &LoginGrant, expect: &Json) {
    assert_eq!(grant.token.as_str(), text(expect, "token").unwrap(), "{name}");
    assert_eq!(grant.uid.as_ref().map(json_text).as_deref(), text(expect, "uid"), "{name}");
    let nick = grant.user_info.as_ref().and_then(|u| text(u, "nickName"));
    assert_eq!(nick, text(expect, "nickName"), "{name}");
    assert_eq!(grant.expires_in_s, expect.get("expiresIn").and_then(Json::as_u64), "{name}");
}

#[test]
fn every_protocol_matches_its_fixtures() {
    let token = Token::parse("TOKEN-1").unwrap();
    for fixture in FIXTURES {
        let fixture = json(fixture);
        let name = text(&fixture, "protocol").unwrap();
        let base = text(&fixture, "baseUrl").unwrap();
        let protocol = presets::preset(name, base).unwrap();
        let Some(Json::Object(exchanges)) = fixture.get("exchanges") else { panic!("{name}: no exchanges") };
        assert!(exchanges.len() >= 6, "{name}: too few fixtures");
        for (exchange_name, exchange) in exchanges {
            let label = format!("{name}/{exchange_name}");
            let expect = exchange.get("expect").unwrap();
            let answer = response(exchange);
            match exchange_name.split('_').next().unwrap() {
                "login" => {
                    assert_request_matches(&label, base, &protocol.login_request(&LoginCode("CODE-1".into()), &[]).unwrap(), exchange);
                    match protocol.decode_login(&answer) {
                        Ok(grant) => assert_grant(&label, &grant, expect),
                        Err(error) => assert_error(&label, &error, expect),
                    }
                }
                "check" => {
                    assert_request_matches(&label, base, &protocol.check_request(&token).unwrap(), exchange);
                    let expected = match text(expect, "check").unwrap() {
                        "valid" => TokenStatus::Valid,
                        _ => TokenStatus::Invalid,
                    };
                    assert_eq!(protocol.decode_check(&answer), Ok(expected), "{label}");
                }
                "logout" => {
                    assert_request_matches(&label, base, &protocol.logout_request(&token), exchange);
                    let expected = match text(expect, "logout").unwrap() {
                        // Accepted by a server that cannot revoke: the session reports notRevocable.
                        "notRevocable" => {
                            assert!(!protocol.logout_revokes(), "{label}");
                            Revocation::Revoked
                        }
                        "revoked" => Revocation::Revoked,
                        _ => Revocation::AlreadyInvalid,
                    };
                    assert_eq!(protocol.decode_logout(&answer), Ok(expected), "{label}");
                }
                "request" => {
                    let invalid = expect.get("sessionInvalid").and_then(Json::as_bool).unwrap();
                    assert_eq!(protocol.says_session_invalid(&answer), invalid, "{label}");
                }
                other => panic!("{label}: unknown exchange kind {other}"),
            }
        }
    }
}

#[test]
fn the_egg_server_has_no_check_endpoint() {
    let egg = presets::egg("https://egg.example.com");
    assert!(egg.check_request(&Token::parse("t").unwrap()).is_none());
}

#[test]
fn failures_common_to_every_protocol() {
    for name in presets::NAMES {
        let protocol = presets::preset(name, "https://x.example.com").unwrap();
        let at = |status: u16, body: &str| answer_of(status, body);
        let code = |r: HttpResponse| protocol.decode_login(&r).unwrap_err().code();
        assert_eq!(code(at(502, "<html>bad gateway</html>")), "SERVER_ERROR", "{name}");
        assert_eq!(code(at(200, "<html>login</html>")), "BAD_RESPONSE", "{name}");
        assert_eq!(code(at(200, "")), "BAD_RESPONSE", "{name}");
        assert_eq!(code(at(200, "{\"token\": [1]}")), "BAD_RESPONSE", "{name}");
        assert_eq!(protocol.decode_logout(&at(503, "")).unwrap_err().code(), "SERVER_ERROR", "{name}");
        if protocol.check_request(&Token::parse("t").unwrap()).is_some() {
            assert!(protocol.decode_check(&at(500, "")).is_err(), "{name}");
            assert!(protocol.decode_check(&at(200, "garbage")).is_err(), "{name}");
        }
    }
}
