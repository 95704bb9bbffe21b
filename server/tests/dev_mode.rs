//! Development mode's stand-in for code2Session: minted codes are single-use and expire like
//! WeChat's, foreign codes (WeChat DevTools' `wx.login`) log in the "devtools" user once, and the
//! `/dev` routes do not exist outside development mode.

mod common;

use std::time::Duration;

use common::{token_of, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::json;
use wx_session_server::{AppSecret, Config, LoginMode, WeChatConfig};

#[tokio::test]
async fn a_minted_code_works_once_then_is_code_used() {
    let server = TestServer::dev().await;
    let code = server.mint("alice").await;
    assert_eq!(server.login(&code).await.status, StatusCode::OK);

    let again = server.login(&code).await;
    again.assert_error(400, "CODE_USED");
}

#[tokio::test]
async fn a_minted_code_expires() {
    let server = TestServer::start(Config {
        dev_code_ttl: Duration::from_millis(300),
        ..Config::dev()
    })
    .await;
    let fresh = server.mint("alice").await;
    let stale = server.mint("alice").await;
    assert_eq!(server.login(&fresh).await.status, StatusCode::OK);

    tokio::time::sleep(Duration::from_millis(500)).await;
    server.login(&stale).await.assert_error(400, "INVALID_CODE");
    // A used code that has since expired is just invalid, as with WeChat.
    server.login(&fresh).await.assert_error(400, "INVALID_CODE");
}

#[tokio::test]
async fn a_code_the_server_did_not_mint_logs_in_devtools_once() {
    let server = TestServer::dev().await;
    let login = server.login("071AbCdEfGhIjKlMnOpQrStUvWx2").await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text);
    assert_eq!(login.body["userInfo"]["nickName"], "测试用户 devtools 🐼");
    assert_eq!(
        server.check(&token_of(&login.body)).await.status,
        StatusCode::OK
    );

    server
        .login("071AbCdEfGhIjKlMnOpQrStUvWx2")
        .await
        .assert_error(400, "CODE_USED");
    server
        .login("devcode_never_minted")
        .await
        .assert_error(400, "INVALID_CODE");
}

#[tokio::test]
async fn user_defaults_to_devtools_and_odd_names_are_refused() {
    let server = TestServer::dev().await;

    // No body at all, and an empty object: both mean the DevTools user.
    let no_body = server.send(server.request(Method::POST, "/dev/code")).await;
    assert_eq!(no_body.status, StatusCode::OK, "{}", no_body.text);
    let login = server.login(no_body.body["code"].as_str().unwrap()).await;
    assert_eq!(login.body["userInfo"]["nickName"], "测试用户 devtools 🐼");
    assert_eq!(
        server.post_json("/dev/code", json!({})).await.status,
        StatusCode::OK
    );

    for bad in [
        json!({"user": ""}),
        json!({"user": "a b"}),
        json!({"user": 5}),
        json!({"user": "x".repeat(40)}),
    ] {
        server
            .post_json("/dev/code", bad)
            .await
            .assert_error(400, "BAD_REQUEST");
    }
    server.assert_healthy().await;
}

#[tokio::test]
async fn the_openid_is_deterministic_per_dev_user() {
    let server = TestServer::dev().await;
    let first = server.login_as("grace").await;
    let second = server.login_as("grace").await;
    // Same openid means same uid, and single sign-on between the two.
    assert_eq!(first["uid"], second["uid"]);
    server
        .check(&token_of(&first))
        .await
        .assert_error(401, "SESSION_INVALID");
}

#[tokio::test]
async fn dev_routes_do_not_exist_outside_dev_mode() {
    let wechat = WeChatConfig {
        // Never contacted by this test.
        api_base: "http://127.0.0.1:9".into(),
        ..WeChatConfig::new("wx0000", AppSecret::new("unused"))
    };
    let server = TestServer::start(Config::new(LoginMode::WeChat(wechat))).await;
    server
        .post_json("/dev/code", json!({"user": "alice"}))
        .await
        .assert_error(404, "NOT_FOUND");
}
