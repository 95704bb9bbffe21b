//! Logins against a fake code2Session on loopback (not development mode): the request the server
//! sends, the success path, every errcode mapping, an unreachable or broken WeChat — and that the
//! AppSecret never appears in any reply.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode as AxumStatus;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use common::{token_of, Reply, TestServer};
use reqwest::StatusCode;
use serde_json::json;
use std::collections::HashMap;
use tokio::net::TcpListener;
use wx_session_server::{AppSecret, Config, LoginMode, WeChatConfig};

const APPID: &str = "wx5eedc0ffee";
const SECRET: &str = "TEST-SECRET-3b9f0c1d";

/// Query strings the fake received.
type Seen = Arc<Mutex<Vec<HashMap<String, String>>>>;

/// Answers code2Session by the `js_code` it gets:
/// `ok_<name>` → openid `openid_<name>`; `err_<n>` → errcode n; `echo_<n>` → errcode n with the
/// received secret in errmsg; `garbage`, `http500`, `nothing` (`{}`), `slow` (3 s) → broken answers.
async fn fake_code2session(
    State(seen): State<Seen>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    seen.lock().unwrap().push(query.clone());
    let code = query.get("js_code").cloned().unwrap_or_default();
    let secret = query.get("secret").cloned().unwrap_or_default();
    let json = |value: serde_json::Value| {
        // WeChat answers JSON as text/plain; the server must not care.
        ([("content-type", "text/plain")], value.to_string()).into_response()
    };
    if let Some(name) = code.strip_prefix("ok_") {
        return json(
            json!({"openid": format!("openid_{name}"), "session_key": format!("sk_{name}"), "unionid": "u1"}),
        );
    }
    if let Some(errcode) = code.strip_prefix("err_") {
        return json(
            json!({"errcode": errcode.parse::<i64>().unwrap(), "errmsg": "fake error, rid: 1234"}),
        );
    }
    if let Some(errcode) = code.strip_prefix("echo_") {
        return json(json!({"errcode": errcode.parse::<i64>().unwrap(),
                           "errmsg": format!("invalid appsecret {secret}, rid: 99")}));
    }
    match code.as_str() {
        "garbage" => "<html>502 bad gateway</html>".into_response(),
        "http500" => (AxumStatus::INTERNAL_SERVER_ERROR, "oops").into_response(),
        "nothing" => json(json!({})),
        "zero" => json(
            json!({"errcode": 0, "errmsg": "ok", "openid": "openid_zero", "session_key": "sk"}),
        ),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            json(json!({"openid": "late", "session_key": "late"}))
        }
        _ => json(json!({"errcode": 40029, "errmsg": "invalid code"})),
    }
}

/// Starts the fake on loopback; returns its base URL and what it has seen.
async fn start_fake_wechat() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route("/sns/jscode2session", get(fake_code2session))
        .with_state(seen.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, seen)
}

fn wechat_config(api_base: String) -> Config {
    let mut config = Config::new(LoginMode::WeChat(WeChatConfig {
        api_base,
        timeout: Duration::from_millis(500),
        ..WeChatConfig::new(APPID, AppSecret::new(SECRET))
    }));
    // These tests send every errcode in turn; the back-off after 45011 and -1 (tested in
    // abuse.rs) would answer the following ones itself.
    config.throttle.backoff_initial = Duration::ZERO;
    config.throttle.backoff_max = Duration::ZERO;
    config
}

#[track_caller]
fn assert_no_secret(reply: &Reply) {
    assert!(
        !reply.text.contains(SECRET),
        "secret leaked in body: {}",
        reply.text
    );
    for (name, value) in &reply.headers {
        assert!(
            !value
                .as_bytes()
                .windows(SECRET.len())
                .any(|w| w == SECRET.as_bytes()),
            "secret in header {name}"
        );
    }
}

#[tokio::test]
async fn a_valid_code_logs_in_and_the_request_is_well_formed() {
    let (base, seen) = start_fake_wechat().await;
    // A trailing slash on the base must not double the slash in the path.
    let server = TestServer::start(wechat_config(format!("{base}/"))).await;

    let login = server.login("ok_alice").await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text);
    assert_no_secret(&login);
    assert!(
        login.body.get("userInfo").is_none(),
        "real logins carry no userInfo"
    );
    assert!(!login.text.contains("sk_alice") && !login.text.contains("openid_alice"));
    assert_eq!(
        server.check(&token_of(&login.body)).await.status,
        StatusCode::OK
    );

    let query = seen.lock().unwrap()[0].clone();
    assert_eq!(query.get("appid").map(String::as_str), Some(APPID));
    assert_eq!(query.get("secret").map(String::as_str), Some(SECRET));
    assert_eq!(query.get("js_code").map(String::as_str), Some("ok_alice"));
    assert_eq!(
        query.get("grant_type").map(String::as_str),
        Some("authorization_code")
    );

    // errcode 0 with an openid is a success too.
    assert_eq!(server.login("zero").await.status, StatusCode::OK);
}

#[tokio::test]
async fn single_sign_on_applies_to_wechat_users() {
    let (base, _) = start_fake_wechat().await;
    let server = TestServer::start(wechat_config(base)).await;
    let first = server.login("ok_bob").await;
    let second = server.login("ok_bob").await;
    assert_eq!(first.body["uid"], second.body["uid"]);
    server
        .check(&token_of(&first.body))
        .await
        .assert_error(401, "SESSION_INVALID");
    assert_eq!(
        server.check(&token_of(&second.body)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn every_errcode_maps_to_its_status_and_code() {
    let (base, _) = start_fake_wechat().await;
    let server = TestServer::start(wechat_config(base)).await;
    let table = [
        ("err_40029", 400, "INVALID_CODE"),
        ("err_40163", 400, "CODE_USED"),
        ("err_45011", 429, "RATE_LIMITED"),
        ("err_40226", 403, "USER_BLOCKED"),
        ("err_-1", 503, "WECHAT_BUSY"),
        ("err_40013", 502, "WECHAT_ERROR"),
        ("err_40125", 502, "WECHAT_ERROR"),
    ];
    for (code, status, error) in table {
        let reply = server.login(code).await;
        reply.assert_error(status, error);
        assert_no_secret(&reply);
    }

    let other = server.login("err_40013").await;
    let message = other.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("40013"),
        "WECHAT_ERROR names the errcode: {message}"
    );

    let limited = server.login("err_45011").await;
    assert_eq!(limited.headers.get("retry-after").unwrap(), "60");
    server.assert_healthy().await;
}

#[tokio::test]
async fn a_secret_echoed_by_wechat_is_scrubbed() {
    let (base, _) = start_fake_wechat().await;
    let server = TestServer::start(wechat_config(base)).await;
    let reply = server.login("echo_40125").await;
    reply.assert_error(502, "WECHAT_ERROR");
    assert_no_secret(&reply);
    assert!(reply.text.contains("40125"));
}

#[tokio::test]
async fn a_broken_or_unreachable_wechat_is_wechat_unavailable() {
    let (base, _) = start_fake_wechat().await;
    let server = TestServer::start(wechat_config(base)).await;
    for code in ["garbage", "http500", "nothing", "slow"] {
        let reply = server.login(code).await;
        reply.assert_error(502, "WECHAT_UNAVAILABLE");
        assert_no_secret(&reply);
    }

    // A port nobody listens on: bind one, then free it.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_base = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let server = TestServer::start(wechat_config(closed_base)).await;
    let reply = server.login("ok_alice").await;
    reply.assert_error(502, "WECHAT_UNAVAILABLE");
    assert_no_secret(&reply);
    server.assert_healthy().await;
}
