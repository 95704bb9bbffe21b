//! The `wx-session-server` executable itself: its `--help`, its refusal to start without WeChat
//! credentials outside development mode, its development-mode banner, and that its log output
//! (at the most verbose level) never contains the AppSecret, a token, a login code or a
//! session_key.

mod common;

use std::process::Command;

use axum::extract::Query;
use axum::routing::get;
use axum::{Json, Router};
use common::{http_client, token_of, ServerProcess};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::HashMap;

const BINARY: &str = env!("CARGO_BIN_EXE_wx-session-server");
const SECRET: &str = "BIN-SECRET-7c4e2a91";

/// The binary with a clean environment for everything it reads, except the store selection
/// (`REDIS_URL`), which gets a private key prefix, and the user database (`DATABASE_URL`); its
/// data directory is a fresh one under cargo's temporary directory for integration tests.
fn command(args: &[&str]) -> Command {
    let mut command = Command::new(BINARY);
    command.args(args);
    for name in [
        "WX_APPID",
        "WX_APPSECRET",
        "WX_SESSION_DEV",
        "WX_SESSION_CONFIG",
        "WX_SESSION_LISTEN",
        "WX_SESSION_TOKEN_TTL",
        "WX_SESSION_WECHAT_API_BASE",
        "WX_SESSION_PUBLIC_URL",
        "WX_SESSION_AVATAR_MAX_SIZE",
        "RUST_LOG",
    ] {
        command.env_remove(name);
    }
    let data_dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "binary-data-{}",
        wx_session_server::token::random_hex(6).unwrap()
    ));
    command.env("WX_SESSION_DATA_DIR", data_dir);
    let prefix = format!(
        "wxs-test:{}:",
        wx_session_server::token::random_hex(6).unwrap()
    );
    command.env("WX_SESSION_REDIS_PREFIX", prefix);
    command
}

#[test]
fn help_documents_every_option() {
    let output = command(&["--help"]).output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for needle in [
        "--listen",
        "--dev",
        "--token-ttl",
        "--redis-url",
        "REDIS_URL",
        "--redis-prefix",
        "--redis-cluster",
        "--wechat-api-base",
        "--config",
        "--data-dir",
        "--database-url",
        "DATABASE_URL",
        "--public-url",
        "--avatar-max-size",
        "WX_APPID",
        "WX_APPSECRET",
        "WX_SESSION_DEV",
    ] {
        assert!(
            help.contains(needle),
            "--help does not mention {needle}:\n{help}"
        );
    }
    assert!(
        !help.contains("--appsecret") && !help.contains("--secret"),
        "the secret must not be a flag"
    );
}

#[test]
fn refuses_to_start_without_credentials_outside_dev_mode() {
    let output = command(&["--listen", "127.0.0.1:0"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for needle in ["WX_APPID", "WX_APPSECRET", "--dev"] {
        assert!(
            stderr.contains(needle),
            "message should mention {needle}: {stderr}"
        );
    }

    // An AppID alone is not enough.
    let output = command(&["--listen", "127.0.0.1:0"])
        .env("WX_APPID", "wx1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));

    // Nor is a config file that does not exist.
    let output = command(&[
        "--listen",
        "127.0.0.1:0",
        "--config",
        "/nonexistent/wx.json",
    ])
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/wx.json"));
}

#[test]
fn dev_mode_from_the_environment_starts_with_a_warning() {
    let mut command = command(&["--listen", "127.0.0.1:0"]);
    command.env("WX_SESSION_DEV", "1");
    let server = ServerProcess::start(command);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let status = runtime.block_on(async {
        http_client()
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, StatusCode::OK);
    let (exit, output) = server.terminate();
    assert!(
        exit.success(),
        "graceful shutdown on SIGTERM: {exit:?}\n{output}"
    );
    assert!(output.contains("DEVELOPMENT MODE"), "{output}");
}

#[test]
fn logs_never_contain_secrets_tokens_codes_or_session_keys() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // A fake code2Session that echoes the secret back in its error message.
    let fake = runtime.block_on(async {
        let app = Router::new().route(
            "/sns/jscode2session",
            get(|Query(q): Query<HashMap<String, String>>| async move {
                let code = q.get("js_code").cloned().unwrap_or_default();
                if code == "code-ok-5f1e" {
                    Json(json!({"openid": "OPENID-d41d8c", "session_key": "SESSIONKEY-98ab"}))
                } else {
                    Json(json!({"errcode": 40125, "errmsg": format!("bad secret {}", q["secret"])}))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        base
    });

    let mut command = command(&["--listen", "127.0.0.1:0", "--wechat-api-base", &fake]);
    command
        .env("WX_APPID", "wx5eedc0ffee")
        .env("WX_APPSECRET", SECRET)
        .env("RUST_LOG", "trace");
    let server = ServerProcess::start(command);

    let token = runtime.block_on(async {
        let http = http_client();
        let post = |code: &str| {
            http.post(format!("{}/auth/login", server.base))
                .json(&json!({"code": code}))
                .send()
        };
        let failed = post("code-bad-0c3a").await.unwrap();
        assert_eq!(failed.status(), StatusCode::BAD_GATEWAY);
        let login: Value = post("code-ok-5f1e").await.unwrap().json().await.unwrap();
        let token = token_of(&login);
        for path in ["/auth/check", "/auth/check", "/auth/logout"] {
            let request = if path.ends_with("check") {
                http.get(format!("{}{path}", server.base))
            } else {
                http.post(format!("{}{path}", server.base))
            };
            request.bearer_auth(&token).send().await.unwrap();
        }
        // A token in the path must not be logged either.
        http.get(format!("{}/auth/check/{token}", server.base))
            .send()
            .await
            .unwrap();
        token
    });

    let (_, output) = server.terminate();
    assert!(
        output.contains("/auth/login"),
        "requests are logged:\n{output}"
    );
    for secret in [
        SECRET,
        token.as_str(),
        "code-ok-5f1e",
        "code-bad-0c3a",
        "SESSIONKEY-98ab",
    ] {
        assert!(
            !output.contains(secret),
            "{secret:?} appears in the log:\n{output}"
        );
    }
}
