//! `POST /user/phone` against a fake WeChat on loopback (not development mode): the requests the
//! server sends to stable_token and getuserphonenumber, the access token's reuse, its refresh
//! before expiry and after WeChat refuses it, its sharing through Redis between two instances,
//! the errcode mapping — and that neither the AppSecret nor the access token reaches a reply.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode as AxumStatus;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use common::{token_of, Reply, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use wx_session_server::{AppSecret, Config, LoginMode, StoreConfig, WeChatConfig};

const APPID: &str = "wxphone0c0ffee";
const SECRET: &str = "PHONE-SECRET-5d1e9a77";

/// What the fake has seen and how it behaves.
#[derive(Default)]
struct Fake {
    /// Bodies of stable_token calls.
    token_requests: Mutex<Vec<Value>>,
    /// (access_token, code) of getuserphonenumber calls.
    phone_requests: Mutex<Vec<(String, String)>>,
    /// Bumped on every stable_token call: the token handed out is `AT-<generation>`.
    generation: AtomicU64,
    /// `expires_in` handed out.
    expires_in: AtomicU64,
    /// stable_token answers after 3 s (longer than the server waits).
    slow: AtomicBool,
}

type Shared = Arc<Fake>;

async fn fake_code2session(Query(query): Query<HashMap<String, String>>) -> Response {
    let code = query.get("js_code").cloned().unwrap_or_default();
    let json = json!({"openid": format!("openid_{code}"), "session_key": "sk"});
    ([("content-type", "text/plain")], json.to_string()).into_response()
}

async fn fake_stable_token(State(fake): State<Shared>, body: String) -> Response {
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    fake.token_requests.lock().unwrap().push(body.clone());
    if fake.slow.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    if body["appid"] != APPID || body["secret"] != SECRET {
        return Json(json!({"errcode": 40125, "errmsg": "invalid appsecret"})).into_response();
    }
    let generation = fake.generation.fetch_add(1, Ordering::SeqCst) + 1;
    let expires_in = match fake.expires_in.load(Ordering::SeqCst) {
        0 => 7200,
        seconds => seconds,
    };
    Json(json!({"access_token": format!("AT-{generation}"), "expires_in": expires_in}))
        .into_response()
}

/// Answers by code: `ok_<digits>` → that number; `err_<n>` → errcode n; `stale` → 40001 unless
/// the token is the newest one handed out; `refused` → 40001 always; `echo` → an errmsg with the
/// secret and the access token in it; `http500`, `garbage`, `nothing` → broken answers. A token
/// the fake never issued is 40001.
async fn fake_phone(
    State(fake): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    body: String,
) -> Response {
    let token = query.get("access_token").cloned().unwrap_or_default();
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let code = body["code"].as_str().unwrap_or_default().to_owned();
    fake.phone_requests
        .lock()
        .unwrap()
        .push((token.clone(), code.clone()));
    let newest = format!("AT-{}", fake.generation.load(Ordering::SeqCst));
    let invalid = json!({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"});
    if !token.starts_with("AT-") || (code == "stale" && token != newest) || code == "refused" {
        return Json(invalid).into_response();
    }
    if let Some(digits) = code.strip_prefix("ok_") {
        return Json(json!({
            "errcode": 0, "errmsg": "ok",
            "phone_info": {"phoneNumber": digits, "purePhoneNumber": digits, "countryCode": "86",
                           "watermark": {"timestamp": 1_700_000_000, "appid": APPID}}
        }))
        .into_response();
    }
    if code == "stale" {
        return Json(json!({"errcode": 0, "phone_info": {"phoneNumber": "13912345678"}}))
            .into_response();
    }
    if let Some(errcode) = code.strip_prefix("err_") {
        return Json(
            json!({"errcode": errcode.parse::<i64>().unwrap(), "errmsg": "fake error, rid: 42"}),
        )
        .into_response();
    }
    match code.as_str() {
        "echo" => Json(json!({"errcode": 40013, "errmsg": format!("bad {SECRET} {token}")}))
            .into_response(),
        "http500" => (AxumStatus::INTERNAL_SERVER_ERROR, "oops").into_response(),
        "garbage" => "<html>bad gateway</html>".into_response(),
        "nothing" => Json(json!({"errcode": 0, "errmsg": "ok"})).into_response(),
        _ => Json(json!({"errcode": 40029, "errmsg": "invalid code"})).into_response(),
    }
}

/// Starts the fake; returns its base URL and its state.
async fn start_fake_wechat() -> (String, Shared) {
    let fake: Shared = Arc::default();
    let app = Router::new()
        .route("/sns/jscode2session", get(fake_code2session))
        .route("/cgi-bin/stable_token", post(fake_stable_token))
        .route("/wxa/business/getuserphonenumber", post(fake_phone))
        .with_state(fake.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, fake)
}

fn wechat_config(base: &str) -> Config {
    let mut wechat = WeChatConfig::new(APPID, AppSecret::new(SECRET));
    wechat.api_base = base.to_owned();
    wechat.timeout = Duration::from_secs(2);
    Config::new(LoginMode::WeChat(wechat))
}

/// Logs `user` in through the fake code2Session; returns the token.
async fn login(server: &TestServer, user: &str) -> String {
    let reply = server.login(user).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    token_of(&reply.body)
}

async fn phone(server: &TestServer, token: &str, code: &str) -> Reply {
    let reply = server
        .send(
            server
                .request(Method::POST, "/user/phone")
                .bearer_auth(token)
                .json(&json!({"code": code})),
        )
        .await;
    assert!(
        !reply.text.contains(SECRET),
        "secret in reply: {}",
        reply.text
    );
    assert!(
        !reply.text.contains("AT-"),
        "access token in reply: {}",
        reply.text
    );
    reply
}

fn tokens_fetched(fake: &Fake) -> usize {
    fake.token_requests.lock().unwrap().len()
}

#[tokio::test]
async fn a_phone_code_becomes_a_masked_number_and_the_access_token_is_reused() {
    let (base, fake) = start_fake_wechat().await;
    let server = TestServer::start(wechat_config(&base)).await;
    let token = login(&server, "alice").await;

    let reply = phone(&server, &token, "ok_13800001234").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["phone"], "138****1234");
    let reply = phone(&server, &token, "ok_13900005678").await;
    assert_eq!(reply.body["phone"], "139****5678");

    // One stable_token call, in WeChat's documented shape, for both numbers.
    let requests = fake.token_requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0]["grant_type"], "client_credential");
    assert_eq!(requests[0]["appid"], APPID);
    assert_eq!(requests[0]["force_refresh"], false);
    let calls = fake.phone_requests.lock().unwrap().clone();
    assert_eq!(
        calls,
        [
            ("AT-1".to_owned(), "ok_13800001234".to_owned()),
            ("AT-1".to_owned(), "ok_13900005678".to_owned())
        ]
    );
    let profile = server
        .send(
            server
                .request(Method::GET, "/user/profile")
                .bearer_auth(&token),
        )
        .await;
    assert_eq!(profile.body["phone"], "139****5678");
}

#[tokio::test]
async fn a_refused_access_token_is_replaced_once() {
    let (base, fake) = start_fake_wechat().await;
    let server = TestServer::start(wechat_config(&base)).await;
    let token = login(&server, "bob").await;
    assert_eq!(
        phone(&server, &token, "ok_13800000001").await.status,
        StatusCode::OK
    );

    // WeChat's newest token is not ours any more (someone else fetched one): 40001, one new
    // token, one retry, success.
    fake.generation.fetch_add(1, Ordering::SeqCst);
    let reply = phone(&server, &token, "stale").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["phone"], "139****5678");
    assert_eq!(tokens_fetched(&fake), 2);

    // Refused again and again: one retry only, then WECHAT_ERROR.
    let before = fake.phone_requests.lock().unwrap().len();
    phone(&server, &token, "refused")
        .await
        .assert_error(502, "WECHAT_ERROR");
    assert_eq!(fake.phone_requests.lock().unwrap().len() - before, 2);
    assert_eq!(tokens_fetched(&fake), 3);
}

#[tokio::test]
async fn the_access_token_is_refreshed_before_it_expires() {
    let (base, fake) = start_fake_wechat().await;
    // A 2-second token is used for 1 second (half its life; 5 minutes for real ones).
    fake.expires_in.store(2, Ordering::SeqCst);
    let server = TestServer::start(wechat_config(&base)).await;
    let token = login(&server, "carol").await;
    assert_eq!(
        phone(&server, &token, "ok_13800000002").await.status,
        StatusCode::OK
    );
    assert_eq!(
        phone(&server, &token, "ok_13800000003").await.status,
        StatusCode::OK
    );
    assert_eq!(tokens_fetched(&fake), 1, "reused while fresh");
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(
        phone(&server, &token, "ok_13800000004").await.status,
        StatusCode::OK
    );
    assert_eq!(tokens_fetched(&fake), 2, "replaced before WeChat's expiry");
    let calls = fake.phone_requests.lock().unwrap().clone();
    assert_eq!(calls.last().unwrap().0, "AT-2");
}

#[tokio::test]
async fn wechat_errors_are_mapped_like_code2session() {
    let (base, _fake) = start_fake_wechat().await;
    let server = TestServer::start(wechat_config(&base)).await;
    let token = login(&server, "dave").await;
    let cases = [
        ("err_40029", 400, "INVALID_CODE"),
        ("unknown", 400, "INVALID_CODE"),
        ("err_45011", 429, "RATE_LIMITED"),
        ("err_-1", 503, "WECHAT_BUSY"),
        ("err_40013", 502, "WECHAT_ERROR"),
        ("echo", 502, "WECHAT_ERROR"),
        ("http500", 502, "WECHAT_UNAVAILABLE"),
        ("garbage", 502, "WECHAT_UNAVAILABLE"),
        ("nothing", 502, "WECHAT_UNAVAILABLE"),
    ];
    for (code, status, error) in cases {
        let reply = phone(&server, &token, code).await;
        reply.assert_error(status, error);
        if code == "err_45011" {
            assert_eq!(reply.headers["retry-after"], "60");
        }
        if code == "echo" {
            assert!(reply.text.contains("<redacted>"), "{}", reply.text);
        }
    }
    // Nothing was stored by the failures.
    let profile = server
        .send(
            server
                .request(Method::GET, "/user/profile")
                .bearer_auth(&token),
        )
        .await;
    assert_eq!(profile.body["phone"], Value::Null);
}

#[tokio::test]
async fn a_wrong_appsecret_or_an_unreachable_wechat_is_a_gateway_error() {
    let (base, _fake) = start_fake_wechat().await;
    let mut config = wechat_config(&base);
    if let LoginMode::WeChat(wechat) = &mut config.login {
        wechat.secret = AppSecret::new("WRONG-SECRET-0000");
    }
    let server = TestServer::start(config).await;
    let token = login(&server, "erin").await;
    let reply = phone(&server, &token, "ok_13800000005").await;
    reply.assert_error(502, "WECHAT_ERROR");
    assert!(!reply.text.contains("WRONG-SECRET-0000"));

    // WeChat stops answering in time (the server's timeout is 2 s here): no token, no number.
    let (base, fake) = start_fake_wechat().await;
    let server = TestServer::start(wechat_config(&base)).await;
    let token = login(&server, "frank").await;
    fake.slow.store(true, Ordering::SeqCst);
    phone(&server, &token, "ok_13800000008")
        .await
        .assert_error(502, "WECHAT_UNAVAILABLE");
}

#[tokio::test]
async fn instances_sharing_redis_share_the_access_token() {
    let Some(url) = std::env::var("REDIS_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
    else {
        eprintln!("skipped: REDIS_URL is not set (scripts/test-server.sh runs this with Redis)");
        return;
    };
    let (base, fake) = start_fake_wechat().await;
    let first = TestServer::start(wechat_config(&base)).await;
    // The second instance uses the first one's Redis prefix: same deployment.
    let mut second_config = wechat_config(&base);
    second_config.store = first.config.store.clone();
    let StoreConfig::Redis(redis) = &second_config.store else {
        panic!("REDIS_URL={url} but the first server is not on Redis");
    };
    assert!(redis.prefix.starts_with("wxs-test:"));
    let second = TestServer::start(second_config).await;

    let token = login(&first, "grace").await;
    assert_eq!(
        phone(&first, &token, "ok_13800000006").await.status,
        StatusCode::OK
    );
    let token = login(&second, "heidi").await;
    assert_eq!(
        phone(&second, &token, "ok_13800000007").await.status,
        StatusCode::OK
    );
    assert_eq!(
        tokens_fetched(&fake),
        1,
        "the second instance used the shared token"
    );
    let calls = fake.phone_requests.lock().unwrap().clone();
    assert!(calls.iter().all(|(token, _)| token == "AT-1"), "{calls:?}");
}
