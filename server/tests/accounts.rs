//! The account routes in development mode: profile (get, put, nickname bounds), avatar upload
//! (types by content, size bound, serving back, other users' tokens), the phone stand-in, the
//! profile in login answers, CORS for the browser preview, and the 401 answers without a
//! session. Sessions in the store from the environment, users in SQLite or PostgreSQL.

mod common;

use common::{token_of, unique_user, Reply, TestServer};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use wx_session_server::Config;

/// The smallest valid PNG: a 1×1 transparent pixel.
const PNG_1X1: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

/// A GIF header and a minimal body: enough for the magic-byte check.
const GIF_TINY: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";

/// `METHOD path` with the bearer token.
fn authed(server: &TestServer, method: Method, path: &str, token: &str) -> reqwest::RequestBuilder {
    server.request(method, path).bearer_auth(token)
}

async fn get_profile(server: &TestServer, token: &str) -> Reply {
    server
        .send(authed(server, Method::GET, "/user/profile", token))
        .await
}

async fn put_nickname(server: &TestServer, token: &str, body: Value) -> Reply {
    server
        .send(authed(server, Method::PUT, "/user/profile", token).json(&body))
        .await
}

/// POST /user/avatar with `bytes` in the `file` field, declared as `declared_type`, as
/// `wx.uploadFile({name: 'file'})` sends it.
async fn upload(server: &TestServer, token: &str, bytes: Vec<u8>, declared_type: &str) -> Reply {
    let part = Part::bytes(bytes)
        .file_name("tmp_avatar.png")
        .mime_str(declared_type)
        .unwrap();
    let form = Form::new().text("user", "ignored").part("file", part);
    server
        .send(authed(server, Method::POST, "/user/avatar", token).multipart(form))
        .await
}

async fn post_phone(server: &TestServer, token: &str, body: Value) -> Reply {
    server
        .send(authed(server, Method::POST, "/user/phone", token).json(&body))
        .await
}

/// Asserts the profile shape and returns it.
#[track_caller]
fn assert_profile(reply: &Reply) -> &Value {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let profile = &reply.body;
    let keys: Vec<&str> = profile
        .as_object()
        .expect("profile object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [
            "avatarUrl",
            "createdAt",
            "lastLoginAt",
            "nickname",
            "phone",
            "uid"
        ],
        "{}",
        reply.text
    );
    for time in ["createdAt", "lastLoginAt"] {
        let text = profile[time].as_str().expect("time as text");
        // RFC 3339 in UTC: 2026-12-01T12:00:00.123Z
        assert!(
            text.len() >= 20 && &text[10..11] == "T" && text.ends_with('Z'),
            "{time}: {text}"
        );
    }
    profile
}

#[tokio::test]
async fn a_new_user_has_an_empty_profile_and_can_set_a_nickname() {
    let server = TestServer::dev().await;
    let user = unique_user("nick");
    let login = server.login_as(&user).await;
    let token = token_of(&login);

    let reply = get_profile(&server, &token).await;
    let profile = assert_profile(&reply).clone();
    assert_eq!(profile["uid"], login["uid"]);
    assert_eq!(profile["nickname"], Value::Null);
    assert_eq!(profile["avatarUrl"], Value::Null);
    assert_eq!(profile["phone"], Value::Null);
    // Without a stored profile the dev user's made-up userInfo is what login shows.
    assert_eq!(login["userInfo"]["nickName"], format!("测试用户 {user} 🐼"));

    // Trimmed, stored, and shown by the next login instead of the made-up one.
    let reply = put_nickname(&server, &token, json!({"nickname": "  小明 🐼 "})).await;
    assert_eq!(assert_profile(&reply)["nickname"], "小明 🐼");
    assert_eq!(
        get_profile(&server, &token).await.body["nickname"],
        "小明 🐼"
    );

    let again = server.login_as(&user).await;
    assert_eq!(again["uid"], login["uid"]);
    assert_eq!(again["userInfo"]["nickName"], "小明 🐼");
    let reply = get_profile(&server, &token_of(&again)).await;
    let after = assert_profile(&reply);
    assert_eq!(after["createdAt"], profile["createdAt"], "created once");
    assert!(
        after["lastLoginAt"].as_str() >= profile["lastLoginAt"].as_str(),
        "last login moves forward: {} then {}",
        profile["lastLoginAt"],
        after["lastLoginAt"]
    );
}

#[tokio::test]
async fn nicknames_out_of_bounds_are_invalid_nickname() {
    let server = TestServer::dev().await;
    let token = token_of(&server.login_as(&unique_user("bounds")).await);
    let longest = "名".repeat(32);
    let reply = put_nickname(&server, &token, json!({"nickname": longest})).await;
    assert_eq!(assert_profile(&reply)["nickname"], longest);

    for bad in [
        json!({"nickname": ""}),
        json!({"nickname": "   "}),
        json!({"nickname": "名".repeat(33)}),
        json!({"nickname": "two\nlines"}),
        json!({"nickname": "tab\there"}),
        json!({"nickname": "abc\u{202E}gpj.exe"}),
        json!({"nickname": "zero\u{200B}width"}),
        json!({"nickname": 42}),
        json!({"nickname": null}),
        json!({}),
    ] {
        put_nickname(&server, &token, bad.clone())
            .await
            .assert_error(400, "INVALID_NICKNAME");
    }
    // Not JSON at all is the ordinary body error.
    let reply = server
        .send(
            authed(&server, Method::PUT, "/user/profile", &token)
                .header("content-type", "application/json")
                .body("{nickname"),
        )
        .await;
    reply.assert_error(400, "BAD_REQUEST");
    // Nothing was changed by the refused ones.
    assert_eq!(get_profile(&server, &token).await.body["nickname"], longest);
}

#[tokio::test]
async fn without_a_valid_session_every_account_route_answers_like_auth_check() {
    let server = TestServer::dev().await;
    let token = token_of(&server.login_as(&unique_user("noauth")).await);
    assert_eq!(server.logout(&token).await.status, StatusCode::OK);

    let routes = [
        (Method::GET, "/user/profile"),
        (Method::PUT, "/user/profile"),
        (Method::POST, "/user/avatar"),
        (Method::POST, "/user/phone"),
    ];
    for (method, path) in routes {
        let no_token = server.send(server.request(method.clone(), path)).await;
        no_token.assert_error(401, "MISSING_TOKEN");
        let malformed = server
            .send(server.request(method.clone(), path).bearer_auth("abc"))
            .await;
        malformed.assert_error(401, "MALFORMED_TOKEN");
        let revoked = server
            .send(
                authed(&server, method.clone(), path, &token)
                    .json(&json!({"nickname": "x", "code": "x"})),
            )
            .await;
        revoked.assert_error(401, "SESSION_INVALID");
    }
    // An upload without a session is refused before its body matters.
    upload(&server, &token, PNG_1X1.to_vec(), "image/png")
        .await
        .assert_error(401, "SESSION_INVALID");
}

#[tokio::test]
async fn an_avatar_is_stored_served_back_and_shown_at_login() {
    let server = TestServer::dev().await;
    let user = unique_user("avatar");
    let token = token_of(&server.login_as(&user).await);

    let reply = upload(
        &server,
        &token,
        PNG_1X1.to_vec(),
        "application/octet-stream",
    )
    .await;
    let profile = assert_profile(&reply).clone();
    // API answers are never cached; the content-addressed files below are, for a year.
    assert_eq!(
        reply
            .headers
            .get("cache-control")
            .map(|v| v.to_str().unwrap()),
        Some("no-store")
    );
    let url = profile["avatarUrl"].as_str().expect("avatarUrl").to_owned();
    let digest: String = Sha256::digest(PNG_1X1)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    // Absolute, from the request's Host, content-addressed.
    assert_eq!(url, format!("{}/media/avatars/{digest}.png", server.base));
    assert_eq!(get_profile(&server, &token).await.body["avatarUrl"], url);

    let image = server.http.get(&url).send().await.unwrap();
    assert_eq!(image.status(), StatusCode::OK);
    let header = |name: &str| {
        image
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("content-type"), "image/png");
    assert!(
        header("cache-control").contains("max-age=31536000"),
        "{}",
        header("cache-control")
    );
    assert!(header("cache-control").contains("immutable"));
    assert!(!header("cache-control").contains("no-store"));
    assert_eq!(image.bytes().await.unwrap().as_ref(), PNG_1X1);

    // A GIF replaces it; the login answer shows the stored avatar instead of the made-up one.
    let reply = upload(&server, &token, GIF_TINY.to_vec(), "image/png").await;
    let gif_url = assert_profile(&reply)["avatarUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(gif_url.ends_with(".gif"), "{gif_url}");
    let login = server.login_as(&user).await;
    assert_eq!(login["userInfo"]["avatarUrl"], gif_url);
    let served = server.http.get(&gif_url).send().await.unwrap();
    assert_eq!(
        served.headers()["content-type"].to_str().unwrap(),
        "image/gif"
    );
}

#[tokio::test]
async fn uploads_are_checked_by_content_and_size() {
    let server = TestServer::dev().await;
    let token = token_of(&server.login_as(&unique_user("upcheck")).await);

    // Declared as an image, but not one by its bytes.
    for bytes in [
        b"just some text, not an image".to_vec(),
        b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>".to_vec(),
        b"%PDF-1.7\n".to_vec(),
        Vec::new(),
    ] {
        upload(&server, &token, bytes, "image/png")
            .await
            .assert_error(415, "UNSUPPORTED_IMAGE");
    }

    // One byte over the 2 MiB default: refused while streaming. Far over: refused by the
    // route's body limit. Both say PAYLOAD_TOO_LARGE.
    let limit = 2 * 1024 * 1024;
    for size in [limit + 1, limit + 1024 * 1024] {
        let mut big = PNG_1X1.to_vec();
        big.resize(size, 0);
        upload(&server, &token, big, "image/png")
            .await
            .assert_error(413, "PAYLOAD_TOO_LARGE");
    }
    // Exactly the limit passes.
    let mut largest = PNG_1X1.to_vec();
    largest.resize(limit, 0);
    assert_profile(&upload(&server, &token, largest, "image/png").await);

    // Not multipart, and multipart without a `file` field.
    let reply = server
        .send(authed(&server, Method::POST, "/user/avatar", &token).json(&json!({"file": "x"})))
        .await;
    reply.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    let form = Form::new().part("image", Part::bytes(PNG_1X1.to_vec()));
    let reply = server
        .send(authed(&server, Method::POST, "/user/avatar", &token).multipart(form))
        .await;
    reply.assert_error(400, "BAD_REQUEST");
    server.assert_healthy().await;
}

#[tokio::test]
async fn the_upload_limit_is_configurable() {
    let mut config = Config::dev();
    config.accounts.avatar_max_bytes = 1024;
    let server = TestServer::start(config).await;
    let token = token_of(&server.login_as(&unique_user("small")).await);
    let mut big = PNG_1X1.to_vec();
    big.resize(1025, 0);
    upload(&server, &token, big, "image/png")
        .await
        .assert_error(413, "PAYLOAD_TOO_LARGE");
    assert_profile(&upload(&server, &token, PNG_1X1.to_vec(), "image/png").await);
}

#[tokio::test]
async fn a_token_only_ever_changes_its_own_users_avatar() {
    let server = TestServer::dev().await;
    let alice = token_of(&server.login_as(&unique_user("alice")).await);
    let bob_login = server.login_as(&unique_user("bob")).await;
    let bob = token_of(&bob_login);

    let alice_url = upload(&server, &alice, PNG_1X1.to_vec(), "image/png")
        .await
        .body["avatarUrl"]
        .clone();
    let bob_reply = upload(&server, &bob, GIF_TINY.to_vec(), "image/gif").await;
    assert_eq!(assert_profile(&bob_reply)["uid"], bob_login["uid"]);
    assert_ne!(bob_reply.body["avatarUrl"], alice_url);
    assert_eq!(
        get_profile(&server, &alice).await.body["avatarUrl"],
        alice_url
    );

    // Bob's nickname and phone do not land on Alice either.
    put_nickname(&server, &bob, json!({"nickname": "Bob"})).await;
    post_phone(&server, &bob, json!({"code": "bob-code"})).await;
    let alice_profile = get_profile(&server, &alice).await;
    assert_eq!(alice_profile.body["nickname"], Value::Null);
    assert_eq!(alice_profile.body["phone"], Value::Null);
}

#[tokio::test]
async fn media_names_are_checked() {
    let server = TestServer::dev().await;
    for path in [
        format!("/media/avatars/{}.png", "0".repeat(64)),
        "/media/avatars/..%2Fusers.db".to_owned(),
        "/media/avatars/users.db".to_owned(),
        format!("/media/avatars/{}.svg", "0".repeat(64)),
    ] {
        server
            .send(server.request(Method::GET, &path))
            .await
            .assert_error(404, "NOT_FOUND");
    }
}

#[tokio::test]
async fn avatar_urls_use_the_public_url_when_configured() {
    let mut config = Config::dev();
    config.accounts.public_url = Some("https://api.example.com/wx-session".into());
    let server = TestServer::start(config).await;
    let token = token_of(&server.login_as(&unique_user("public")).await);
    let reply = upload(&server, &token, PNG_1X1.to_vec(), "image/png").await;
    let url = assert_profile(&reply)["avatarUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        url.starts_with("https://api.example.com/wx-session/media/avatars/")
            && url.ends_with(".png"),
        "{url}"
    );
}

#[tokio::test]
async fn the_phone_stand_in_gives_a_deterministic_masked_number() {
    let server = TestServer::dev().await;
    let user = unique_user("phone");
    let token = token_of(&server.login_as(&user).await);

    post_phone(&server, &token, json!({}))
        .await
        .assert_error(400, "BAD_REQUEST");
    post_phone(&server, &token, json!({"code": " "}))
        .await
        .assert_error(400, "BAD_REQUEST");
    post_phone(&server, &token, json!({"code": "x".repeat(257)}))
        .await
        .assert_error(400, "BAD_REQUEST");

    let reply = post_phone(
        &server,
        &token,
        json!({"code": "fake-code-from-the-preview"}),
    )
    .await;
    assert_eq!(assert_profile(&reply)["phone"], "138****0000");
    assert!(!reply
        .text
        .contains(&wx_session_server::phone::dev_phone_number(&format!(
            "dev_openid_{user}"
        ))));
    // Kept across logins.
    let again = token_of(&server.login_as(&user).await);
    assert_eq!(
        get_profile(&server, &again).await.body["phone"],
        "138****0000"
    );
}

#[tokio::test]
async fn cors_preflight_allows_the_account_routes() {
    let server = TestServer::dev().await;
    for (method, path) in [
        ("PUT", "/user/profile"),
        ("POST", "/user/avatar"),
        ("POST", "/user/phone"),
    ] {
        let reply = server.preflight(method, path).await;
        assert!(reply.status.is_success(), "{path}: {}", reply.status);
        let header = |name: &str| reply.header_lower(name);
        // Development mode allows loopback origins, as the browser preview's; the origin is
        // echoed rather than `*`.
        assert_eq!(
            header("access-control-allow-origin"),
            "http://127.0.0.1:5173"
        );
        assert!(header("access-control-allow-methods").contains(&method.to_ascii_lowercase()));
        assert!(header("access-control-allow-headers").contains("authorization"));
        assert!(header("access-control-allow-headers").contains("content-type"));
    }
}
