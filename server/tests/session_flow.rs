//! The session life cycle over real HTTP: login, check, logout, single sign-on, expiry, and
//! concurrent logins. Runs in development mode so no WeChat is involved; the store comes from the
//! environment (see `common`).

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{token_of, TestServer};
use reqwest::StatusCode;
use wx_session_server::Config;

#[tokio::test]
async fn login_check_logout() {
    let server = TestServer::dev().await;
    let login = server.login_as("alice").await;

    let token = token_of(&login);
    assert_eq!(token.len(), 64, "256 bits in hex");
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    let uid = login["uid"].as_str().expect("uid");
    assert!(
        uid.starts_with("u_") && !uid.contains("alice"),
        "uid must not be the openid: {uid}"
    );
    assert_eq!(login["expiresIn"], 7 * 24 * 3600);
    assert_eq!(login["userInfo"]["nickName"], "测试用户 alice 🐼");
    assert!(login["userInfo"]["avatarUrl"].is_string());
    assert!(login.get("session_key").is_none() && login.get("sessionKey").is_none());
    assert!(login.get("openid").is_none());

    let check = server.check(&token).await;
    assert_eq!(check.status, StatusCode::OK, "{}", check.text);
    assert_eq!(check.body["valid"], true);
    assert_eq!(check.body["uid"], uid);
    let left = check.body["expiresIn"].as_u64().expect("expiresIn");
    assert!(left > 7 * 24 * 3600 - 60 && left <= 7 * 24 * 3600, "{left}");

    let logout = server.logout(&token).await;
    assert_eq!(logout.status, StatusCode::OK, "{}", logout.text);
    assert_eq!(logout.body, serde_json::json!({"revoked": true}));

    server
        .check(&token)
        .await
        .assert_error(401, "SESSION_INVALID");
}

#[tokio::test]
async fn logout_with_an_invalid_token_is_400_like_the_seeds() {
    let server = TestServer::dev().await;
    let token = token_of(&server.login_as("bob").await);
    assert_eq!(server.logout(&token).await.status, StatusCode::OK);

    let again = server.logout(&token).await;
    again.assert_error(400, "SESSION_INVALID");
    assert_eq!(again.body["error"]["message"], "登陆状态已失效");

    // A well-formed token the server never issued gets the same answer.
    let unknown = server.logout(&"0".repeat(64)).await;
    unknown.assert_error(400, "SESSION_INVALID");
    assert_eq!(unknown.body["error"]["message"], "登陆状态已失效");
}

#[tokio::test]
async fn a_new_login_revokes_the_previous_token() {
    let server = TestServer::dev().await;
    let first = server.login_as("carol").await;
    let second = server.login_as("carol").await;
    let other_user = server.login_as("dave").await;

    assert_eq!(first["uid"], second["uid"], "uid is stable per openid");
    assert_ne!(
        first["uid"], other_user["uid"],
        "different users, different uids"
    );
    assert_ne!(token_of(&first), token_of(&second));

    server
        .check(&token_of(&first))
        .await
        .assert_error(401, "SESSION_INVALID");
    server
        .logout(&token_of(&first))
        .await
        .assert_error(400, "SESSION_INVALID");
    assert_eq!(
        server.check(&token_of(&second)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        server.check(&token_of(&other_user)).await.status,
        StatusCode::OK,
        "other users unaffected"
    );
}

#[tokio::test]
async fn tokens_expire_after_the_configured_ttl() {
    let server = TestServer::start(Config {
        token_ttl: Duration::from_secs(1),
        ..Config::dev()
    })
    .await;
    let login = server.login_as("erin").await;
    assert_eq!(login["expiresIn"], 1);
    let token = token_of(&login);
    assert_eq!(server.check(&token).await.status, StatusCode::OK);

    tokio::time::sleep(Duration::from_millis(1300)).await;
    server
        .check(&token)
        .await
        .assert_error(401, "SESSION_INVALID");
    server
        .logout(&token)
        .await
        .assert_error(400, "SESSION_INVALID");

    // The user can log in again, and keeps the uid.
    let again = server.login_as("erin").await;
    assert_eq!(again["uid"], login["uid"]);
    assert_eq!(server.check(&token_of(&again)).await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_logins_leave_exactly_one_valid_token() {
    let server = std::sync::Arc::new(TestServer::dev().await);
    let mut codes = Vec::new();
    for _ in 0..20 {
        codes.push(server.mint("frank").await);
    }

    let logins: Vec<_> = codes
        .into_iter()
        .map(|code| {
            let server = server.clone();
            tokio::spawn(async move { server.login(&code).await })
        })
        .collect();
    let mut tokens = Vec::new();
    for login in logins {
        let reply = login.await.expect("login task");
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        tokens.push(token_of(&reply.body));
    }
    assert_eq!(
        tokens.iter().collect::<HashSet<_>>().len(),
        20,
        "every login got its own token"
    );

    let mut valid = 0;
    for token in &tokens {
        let reply = server.check(token).await;
        match reply.status {
            StatusCode::OK => valid += 1,
            _ => reply.assert_error(401, "SESSION_INVALID"),
        }
    }
    assert_eq!(
        valid, 1,
        "single sign-on must leave exactly one valid token"
    );
}
