//! What the server binary logs about the account routes, at the most verbose level: never the
//! AppSecret (sent to stable_token), WeChat's access token (in getuserphonenumber's URL), a phone
//! code, an unmasked phone number or a session token — even when WeChat echoes them back.

mod common;

use std::collections::HashMap;
use std::process::Command;

use axum::extract::Query;
use axum::routing::{get, post};
use axum::{Json, Router};
use common::{http_client, token_of, ServerProcess};
use reqwest::StatusCode;
use serde_json::{json, Value};

const BINARY: &str = env!("CARGO_BIN_EXE_wx-session-server");
const SECRET: &str = "LOG-SECRET-41c7e09b";
const ACCESS_TOKEN: &str = "ACCESSTOKEN-77e1d2";
const NUMBER: &str = "13812345678";

/// A fake WeChat: code2Session for any code; stable_token hands out [`ACCESS_TOKEN`];
/// getuserphonenumber answers [`NUMBER`] for `phone-ok-1a2b` and otherwise an error quoting the
/// secret and the access token it was given.
async fn start_fake_wechat() -> String {
    let app = Router::new()
        .route(
            "/sns/jscode2session",
            get(|| async { Json(json!({"openid": "OPENID-3f9a", "session_key": "SK-0b1c"})) }),
        )
        .route(
            "/cgi-bin/stable_token",
            post(|| async { Json(json!({"access_token": ACCESS_TOKEN, "expires_in": 7200})) }),
        )
        .route(
            "/wxa/business/getuserphonenumber",
            post(
                |Query(query): Query<HashMap<String, String>>, body: String| async move {
                    if body.contains("phone-ok-1a2b") {
                        Json(json!({"errcode": 0, "phone_info": {"phoneNumber": NUMBER}}))
                    } else {
                        let token = query.get("access_token").cloned().unwrap_or_default();
                        Json(json!({"errcode": 40013, "errmsg": format!("bad {SECRET} {token}")}))
                    }
                },
            ),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

#[test]
fn phone_and_profile_requests_leave_no_secret_in_the_log() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = runtime.block_on(start_fake_wechat());
    let data = tempfile::tempdir().unwrap();

    let mut command = Command::new(BINARY);
    command
        .args([
            "--listen",
            "127.0.0.1:0",
            "--wechat-api-base",
            &fake,
            "--data-dir",
        ])
        .arg(data.path())
        .env("WX_APPID", "wxlogs0c0ffee")
        .env("WX_APPSECRET", SECRET)
        .env("RUST_LOG", "trace")
        .env_remove("WX_SESSION_DEV")
        .env_remove("WX_SESSION_CONFIG")
        .env(
            "WX_SESSION_REDIS_PREFIX",
            format!(
                "wxs-test:{}:",
                wx_session_server::token::random_hex(6).unwrap()
            ),
        );
    let server = ServerProcess::start(command);
    let base = server.base.clone();

    let token = runtime.block_on(async {
        let http = http_client();
        let login: Value = http
            .post(format!("{base}/auth/login"))
            .json(&json!({"code": "login-code-9d8e"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = token_of(&login);
        let phone = |code: &'static str| {
            http.post(format!("{base}/user/phone"))
                .bearer_auth(&token)
                .json(&json!({"code": code}))
                .send()
        };
        let ok = phone("phone-ok-1a2b").await.unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
        let refused = phone("phone-echo-5c6d").await.unwrap();
        assert_eq!(refused.status(), StatusCode::BAD_GATEWAY);
        let text = refused.text().await.unwrap();
        assert!(
            !text.contains(SECRET) && !text.contains(ACCESS_TOKEN),
            "{text}"
        );
        let profile = http
            .get(format!("{base}/user/profile"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(profile.status(), StatusCode::OK);
        token
    });

    let (exit, output) = server.terminate();
    assert!(exit.success());
    assert!(
        output.contains("/user/phone"),
        "requests are logged:\n{output}"
    );
    assert!(
        output.contains("phone number exchange failed"),
        "the operator sees the failure:\n{output}"
    );
    for secret in [
        SECRET,
        ACCESS_TOKEN,
        NUMBER,
        "phone-ok-1a2b",
        "phone-echo-5c6d",
        "login-code-9d8e",
        token.as_str(),
    ] {
        assert!(
            !output.contains(secret),
            "{secret:?} appears in the log:\n{output}"
        );
    }
}
