//! Malformed requests: every one gets the JSON error body with a fitting status, and the server
//! keeps serving afterwards.

mod common;

use common::{token_of, TestServer};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn login_bodies() {
    let server = TestServer::dev().await;
    let login = || server.request(Method::POST, "/auth/login");

    // No body at all.
    server.send(login()).await.assert_error(400, "BAD_REQUEST");
    // Empty body declared as JSON.
    server
        .send(login().header(CONTENT_TYPE, "application/json"))
        .await
        .assert_error(400, "BAD_REQUEST");
    // Not JSON.
    server
        .send(
            login()
                .header(CONTENT_TYPE, "application/json")
                .body("{\"code\": "),
        )
        .await
        .assert_error(400, "BAD_REQUEST");
    server
        .send(
            login()
                .header(CONTENT_TYPE, "application/json")
                .body("\u{0}\u{1}binary"),
        )
        .await
        .assert_error(400, "BAD_REQUEST");
    // JSON of the wrong shape, a missing, empty, blank, non-string or absurdly long code.
    for body in [
        json!([]),
        json!("code"),
        json!({}),
        json!({"code": ""}),
        json!({"code": "   "}),
        json!({"code": null}),
        json!({"code": 42}),
        json!({"code": {"nested": true}}),
        json!({"code": "x".repeat(300)}),
    ] {
        server
            .post_json("/auth/login", body)
            .await
            .assert_error(400, "BAD_REQUEST");
    }
    // Wrong content types, with and without a body.
    server
        .send(
            login()
                .header(CONTENT_TYPE, "text/plain")
                .body(r#"{"code":"abc"}"#),
        )
        .await
        .assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    server
        .send(
            login()
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body("code=abc"),
        )
        .await
        .assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    server
        .send(login().body(r#"{"code":"abc"}"#))
        .await
        .assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    // Over the 16 KiB limit, with and without an honest Content-Length.
    let huge = format!(r#"{{"code": "{}"}}"#, "a".repeat(20 * 1024));
    server
        .send(
            login()
                .header(CONTENT_TYPE, "application/json")
                .body(huge.clone()),
        )
        .await
        .assert_error(413, "PAYLOAD_TOO_LARGE");
    // Chunked, so the server cannot refuse on Content-Length and must count while reading.
    let (status, body) = raw_chunked_post(&server.base, "/auth/login", huge.as_bytes()).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("PAYLOAD_TOO_LARGE"), "{body}");

    server.assert_healthy().await;
    // Extra fields are fine, and charset parameters too.
    let code = server.mint("alice").await;
    let reply = server
        .send(
            login()
                .header(CONTENT_TYPE, "application/json; charset=utf-8")
                .body(json!({"code": code, "userInfo": {"nickName": "x"}}).to_string()),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

/// POSTs `body` as JSON in 4 KiB chunks over a raw connection (no Content-Length); returns the
/// status and the reply body.
async fn raw_chunked_post(base: &str, path: &str, body: &[u8]) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    for chunk in body.chunks(4096) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    // The server may answer and close before reading everything; that is fine.
    let _ = stream.write_all(&request).await;
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply).await;
    let reply = String::from_utf8_lossy(&reply).into_owned();
    let status = reply
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = reply
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn authorization_headers() {
    let server = TestServer::dev().await;
    let token = token_of(&server.login_as("alice").await);

    for path in ["/auth/check", "/auth/logout"] {
        let method = if path == "/auth/check" {
            Method::GET
        } else {
            Method::POST
        };
        let request = || server.request(method.clone(), path);

        server
            .send(request())
            .await
            .assert_error(401, "MISSING_TOKEN");
        for bad in [
            "".to_owned(),
            "Bearer".to_owned(),
            "Bearer ".to_owned(),
            token.clone(),
            format!("Basic {token}"),
            format!("Bearer {token} extra"),
            format!("Bearer {}", token.to_uppercase()),
            format!("Bearer {}", &token[..63]),
            "Bearer not-a-token".to_owned(),
        ] {
            let reply = server
                .send(request().header(AUTHORIZATION, bad.clone()))
                .await;
            reply.assert_error(401, "MALFORMED_TOKEN");
        }
        // Non-UTF-8 header bytes.
        let reply = server
            .send(request().header(
                AUTHORIZATION,
                reqwest::header::HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
            ))
            .await;
        reply.assert_error(401, "MALFORMED_TOKEN");
    }

    // A token in the query string is not a token.
    server
        .send(server.request(Method::GET, &format!("/auth/check?token={token}")))
        .await
        .assert_error(401, "MISSING_TOKEN");

    // The scheme is case-insensitive; the valid token survived all of the above.
    let reply = server
        .send(
            server
                .request(Method::GET, "/auth/check")
                .header(AUTHORIZATION, format!("bearer {token}")),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods() {
    let server = TestServer::dev().await;
    for path in [
        "/",
        "/auth",
        "/auth/login/extra",
        "/nope",
        "/auth/check/extra",
    ] {
        server
            .send(server.request(Method::GET, path))
            .await
            .assert_error(404, "NOT_FOUND");
    }
    for (method, path) in [
        (Method::GET, "/auth/login"),
        (Method::PUT, "/auth/login"),
        (Method::POST, "/auth/check"),
        (Method::DELETE, "/auth/logout"),
        (Method::GET, "/auth/logout"),
        (Method::POST, "/healthz"),
        (Method::GET, "/dev/code"),
    ] {
        let reply = server.send(server.request(method.clone(), path)).await;
        reply.assert_error(405, "METHOD_NOT_ALLOWED");
        assert!(
            reply.headers.contains_key("allow"),
            "{method} {path}: 405 names the allowed methods"
        );
    }
    server.assert_healthy().await;
}

#[tokio::test]
async fn cors_preflight_allows_the_browser_preview() {
    let server = TestServer::dev().await;
    let reply = server.preflight("GET", "/auth/check").await;
    assert!(reply.status.is_success(), "{}", reply.status);
    let header = |name: &str| reply.header_lower(name);
    // Development mode allows loopback origins (the preview), by name rather than "*".
    assert_eq!(
        header("access-control-allow-origin"),
        "http://127.0.0.1:5173"
    );
    assert!(header("access-control-allow-headers").contains("authorization"));
    assert!(header("access-control-allow-headers").contains("content-type"));
    for method in ["get", "post", "options"] {
        assert!(header("access-control-allow-methods").contains(method));
    }

    // Error replies carry the CORS header too, so the browser can read them.
    let reply = server
        .send(
            server
                .request(Method::GET, "/auth/check")
                .header("origin", "http://127.0.0.1:5173"),
        )
        .await;
    reply.assert_error(401, "MISSING_TOKEN");
    assert_eq!(
        reply.headers.get("access-control-allow-origin").unwrap(),
        "http://127.0.0.1:5173"
    );
}
