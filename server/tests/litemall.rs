//! The litemall dialect under `/wx/…` (development mode): login, check and logout in litemall's
//! wire format (HTTP 200, errno/errmsg, `X-Litemall-Token`), over the same store and rules as the
//! default protocol — single sign-on holds across the two dialects. Store from the environment.

mod common;

use common::{token_of, Reply, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use wx_session_server::{AppSecret, Config, LoginMode, WeChatConfig};

const NOT_LOGGED_IN: &str = r#"{"errno":501,"errmsg":"请登录"}"#;

/// POST /wx/auth/login_by_weixin with `body`.
async fn lm_login_body(server: &TestServer, body: Value) -> Reply {
    server.post_json("/wx/auth/login_by_weixin", body).await
}

/// The `userInfo` a litemall mini-program sends (what `wx.getUserProfile` gave, before 2022).
fn client_user_info(user: &str) -> Value {
    json!({"nickName": format!("{user} 的微信"), "avatarUrl": "https://thirdwx.qlogo.cn/x/132", "gender": 0})
}

/// Mints a code for `user` and logs in through litemall, as the library sends it; returns `data`.
async fn lm_login_as(server: &TestServer, user: &str) -> Value {
    let code = server.mint(user).await;
    let body = json!({"code": code, "userInfo": client_user_info(user)});
    let reply = lm_login_body(server, body).await;
    assert_litemall(&reply, 0);
    assert_eq!(reply.body["errmsg"], "成功");
    reply.body["data"].clone()
}

/// `METHOD /wx/<path>` with `X-Litemall-Token: token` (no header when `None`).
async fn lm_send(server: &TestServer, method: Method, path: &str, token: Option<&str>) -> Reply {
    let mut request = server.request(method, path);
    if let Some(token) = token {
        request = request.header("X-Litemall-Token", token);
    }
    server.send(request).await
}

async fn lm_check(server: &TestServer, token: &str) -> Reply {
    lm_send(server, Method::GET, "/wx/user/index", Some(token)).await
}

async fn lm_logout(server: &TestServer, token: &str) -> Reply {
    lm_send(server, Method::POST, "/wx/auth/logout", Some(token)).await
}

/// litemall answers HTTP 200 and JSON whatever happened; `errno` tells.
#[track_caller]
fn assert_litemall(reply: &Reply, errno: i64) {
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.text);
    assert_eq!(reply.body["errno"], errno, "body: {}", reply.text);
    assert!(
        reply.body["errmsg"].as_str().is_some_and(|m| !m.is_empty()),
        "errmsg: {}",
        reply.text
    );
}

/// Exactly `{"errno":501,"errmsg":"请登录"}`, as litemall answers a request without a session.
#[track_caller]
fn assert_not_logged_in(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.text);
    assert_eq!(
        reply.body,
        serde_json::from_str::<Value>(NOT_LOGGED_IN).unwrap()
    );
}

fn lm_token(data: &Value) -> String {
    data["token"].as_str().expect("data.token").to_owned()
}

#[tokio::test]
async fn login_check_logout() {
    let server = TestServer::dev().await;
    let data = lm_login_as(&server, "alice").await;

    let token = lm_token(&data);
    assert_eq!(token.len(), 64);
    // litemall's data is exactly {token, userInfo}, userInfo being the client's own object
    // echoed back: no tokenExpire (gone since 2019), no userId.
    assert_eq!(
        data,
        json!({"token": token, "userInfo": client_user_info("alice")})
    );

    // The same session seen through the default protocol.
    let check = server.check(&token).await;
    assert_eq!(check.status, StatusCode::OK, "{}", check.text);

    let index = lm_check(&server, &token).await;
    assert_litemall(&index, 0);
    assert!(index.body["data"]["order"].is_object(), "{}", index.text);

    let logout = lm_logout(&server, &token).await;
    assert_eq!(logout.status, StatusCode::OK);
    assert_eq!(logout.body, json!({"errno": 0, "errmsg": "成功"}));

    assert_not_logged_in(&lm_check(&server, &token).await);
    server
        .check(&token)
        .await
        .assert_error(401, "SESSION_INVALID");
}

#[tokio::test]
async fn logout_when_already_invalid_is_errno_501() {
    let server = TestServer::dev().await;
    let token = lm_token(&lm_login_as(&server, "bob").await);
    assert_litemall(&lm_logout(&server, &token).await, 0);

    assert_not_logged_in(&lm_logout(&server, &token).await);
    assert_not_logged_in(&lm_logout(&server, &"0".repeat(64)).await);
    assert_not_logged_in(&lm_send(&server, Method::POST, "/wx/auth/logout", None).await);
}

#[tokio::test]
async fn check_without_a_valid_token_is_errno_501() {
    let server = TestServer::dev().await;
    assert_not_logged_in(&lm_send(&server, Method::GET, "/wx/user/index", None).await);
    assert_not_logged_in(&lm_check(&server, "not-a-token").await);
    assert_not_logged_in(&lm_check(&server, &"0".repeat(64)).await);
    // The default protocol's header means nothing here.
    let token = lm_token(&lm_login_as(&server, "carol").await);
    let bearer = server
        .send(
            server
                .request(Method::GET, "/wx/user/index")
                .bearer_auth(&token),
        )
        .await;
    assert_not_logged_in(&bearer);
    assert_litemall(&lm_check(&server, &token).await, 0);
}

#[tokio::test]
async fn single_sign_on_holds_across_the_two_dialects() {
    let server = TestServer::dev().await;

    // litemall first, then the default protocol: the litemall token is replaced.
    let litemall = lm_login_as(&server, "dave").await;
    let default = server.login_as("dave").await;
    assert_not_logged_in(&lm_check(&server, &lm_token(&litemall)).await);
    assert_eq!(
        server.check(&token_of(&default)).await.status,
        StatusCode::OK
    );
    // Same store, same user: the default token is valid in the litemall dialect too.
    assert_litemall(&lm_check(&server, &token_of(&default)).await, 0);
    let uid = default["uid"].as_str().unwrap();

    // And the other way round.
    let again = lm_login_as(&server, "dave").await;
    server
        .check(&token_of(&default))
        .await
        .assert_error(401, "SESSION_INVALID");
    assert_not_logged_in(&lm_logout(&server, &token_of(&default)).await);
    assert_litemall(&lm_check(&server, &lm_token(&again)).await, 0);
    let again_check = server.check(&lm_token(&again)).await;
    assert_eq!(again_check.body["uid"], uid, "same user, same uid");

    // A logout in one dialect ends the session for the other.
    assert_eq!(
        server.logout(&lm_token(&again)).await.status,
        StatusCode::OK
    );
    assert_not_logged_in(&lm_check(&server, &lm_token(&again)).await);

    // Other users are not affected by any of this.
    let erin = lm_login_as(&server, "erin").await;
    assert_litemall(&lm_check(&server, &lm_token(&erin)).await, 0);
    let erin_check = server.check(&lm_token(&erin)).await;
    assert_ne!(erin_check.body["uid"], uid, "another user");
}

#[tokio::test]
async fn login_failures_are_http_200_with_an_errno() {
    let server = TestServer::dev().await;

    // litemall's badArgument (401): no userInfo, no code, not an object, not JSON.
    let code = server.mint("frank").await;
    for body in [
        json!({"code": code}),
        json!({"code": code, "userInfo": null}),
        json!({"code": code, "userInfo": "frank"}),
        json!({"userInfo": {}}),
        json!({"code": "", "userInfo": {}}),
    ] {
        let reply = lm_login_body(&server, body.clone()).await;
        assert_litemall(&reply, 401);
        assert!(reply.body.get("data").is_none(), "{body}: {}", reply.text);
    }
    let not_json = server
        .send(
            server
                .request(Method::POST, "/wx/auth/login_by_weixin")
                .header("content-type", "application/json")
                .body("{"),
        )
        .await;
    assert_litemall(&not_json, 401);

    // The code was not used by any of those; once used, a failed exchange is errno -1 (litemall's
    // fail()), with the default protocol's message.
    let first = lm_login_body(&server, json!({"code": code, "userInfo": {}})).await;
    assert_litemall(&first, 0);
    let used = lm_login_body(&server, json!({"code": code, "userInfo": {}})).await;
    assert_litemall(&used, -1);
    assert!(used.text.contains("40163"), "{}", used.text);
    let unknown = lm_login_body(&server, json!({"code": "devcode_x", "userInfo": {}})).await;
    assert_litemall(&unknown, -1);
    assert!(unknown.text.contains("40029"), "{}", unknown.text);
    server.assert_healthy().await;
}

#[tokio::test]
async fn the_browser_preview_may_send_the_litemall_header() {
    let server = TestServer::dev().await;
    let reply = server
        .send(
            server
                .request(Method::OPTIONS, "/wx/user/index")
                .header("origin", "http://127.0.0.1:5173")
                .header("access-control-request-method", "GET")
                .header("access-control-request-headers", "x-litemall-token"),
        )
        .await;
    assert!(reply.status.is_success(), "{}", reply.status);
    let allowed = reply
        .headers
        .get("access-control-allow-headers")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(allowed.contains("x-litemall-token"), "{allowed}");
}

#[tokio::test]
async fn the_litemall_dialect_exists_only_in_dev_mode() {
    let wechat = WeChatConfig {
        // Never contacted by this test.
        api_base: "http://127.0.0.1:9".into(),
        ..WeChatConfig::new("wx0000", AppSecret::new("unused"))
    };
    let server = TestServer::start(Config::new(LoginMode::WeChat(wechat))).await;
    server
        .post_json(
            "/wx/auth/login_by_weixin",
            json!({"code": "x", "userInfo": {}}),
        )
        .await
        .assert_error(404, "NOT_FOUND");
    let index = lm_send(
        &server,
        Method::GET,
        "/wx/user/index",
        Some(&"0".repeat(64)),
    )
    .await;
    index.assert_error(404, "NOT_FOUND");
}
