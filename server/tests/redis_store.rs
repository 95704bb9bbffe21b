//! What the Redis store leaves in Redis: the documented key layout, TTLs, token digests instead
//! of tokens, and nothing left behind after logout (uids are in the user database). These tests only do something
//! when the suite runs with `REDIS_URL`; with the memory store they pass without checking (and
//! say so on stderr). The startup check against an unreachable Redis runs in both.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{token_of, TestServer};
use reqwest::StatusCode;
use wx_session_server::{build_app, Config, RedisConfig, StoreConfig};

/// A direct connection to the test Redis and the key prefix of `server`, or `None` with the
/// memory store.
async fn redis_of(server: &TestServer) -> Option<(redis::aio::MultiplexedConnection, String)> {
    let StoreConfig::Redis(config) = &server.config.store else {
        eprintln!("memory store: Redis layout not checked");
        return None;
    };
    let client = redis::Client::open(config.url.as_str()).unwrap();
    Some((
        client.get_multiplexed_async_connection().await.unwrap(),
        config.prefix.clone(),
    ))
}

async fn keys(conn: &mut redis::aio::MultiplexedConnection, prefix: &str) -> Vec<String> {
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(conn)
        .await
        .unwrap();
    keys.sort();
    keys
}

#[tokio::test]
async fn keys_follow_the_documented_layout() {
    let server = TestServer::start(Config {
        token_ttl: Duration::from_secs(600),
        ..Config::dev()
    })
    .await;
    let Some((mut conn, prefix)) = redis_of(&server).await else {
        return;
    };

    let login = server.login_as("alice").await;
    let token = token_of(&login);
    let all = keys(&mut conn, &prefix).await;
    let login_key = format!("{prefix}login:dev_openid_alice");
    // uids live in the user database now: no `uid:` key is written.
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(all.contains(&login_key), "{all:?}");
    assert!(!all.iter().any(|k| k.contains("uid:")), "{all:?}");
    let token_key = all
        .iter()
        .find(|k| k.starts_with(&format!("{prefix}token:")))
        .unwrap()
        .clone();

    // Only a digest of the token is stored, in key names and in values.
    assert!(all.iter().all(|k| !k.contains(&token)));
    let record: HashMap<String, String> = redis::cmd("HGETALL")
        .arg(&login_key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(record.values().all(|v| !v.contains(&token)), "{record:?}");
    assert_eq!(token_key, format!("{prefix}token:{}", record["token"]));
    // session_key is not stored unless an encryption key is configured (see abuse.rs).
    assert!(!record.contains_key("session_key"), "{record:?}");
    assert_eq!(record["uid"], login["uid"].as_str().unwrap());
    // Sessions expire on their own.
    for key in [&login_key, &token_key] {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(ttl > 590_000 && ttl <= 600_000, "{key}: {ttl}");
    }

    // A second login replaces the record and removes the old token's index entry.
    let second = server.login_as("alice").await;
    let all = keys(&mut conn, &prefix).await;
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(!all.contains(&token_key));

    // Logout leaves nothing.
    assert_eq!(
        server.logout(&token_of(&second)).await.status,
        StatusCode::OK
    );
    assert_eq!(keys(&mut conn, &prefix).await, Vec::<String>::new());
}

#[tokio::test]
async fn a_token_whose_record_was_replaced_behind_its_back_is_invalid() {
    let server = TestServer::dev().await;
    let Some((mut conn, prefix)) = redis_of(&server).await else {
        return;
    };
    let token = token_of(&server.login_as("bob").await);

    // Another instance's login for the same user, as Redis sees it: the record names a new digest.
    let _: () = redis::cmd("HSET")
        .arg(format!("{prefix}login:dev_openid_bob"))
        .arg("token")
        .arg("0".repeat(64))
        .query_async(&mut conn)
        .await
        .unwrap();
    server
        .check(&token)
        .await
        .assert_error(401, "SESSION_INVALID");
    server
        .logout(&token)
        .await
        .assert_error(400, "SESSION_INVALID");
}

#[tokio::test]
async fn an_unreachable_redis_stops_startup() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("redis://:hunter2@{}", closed.local_addr().unwrap());
    drop(closed);
    let config = Config {
        store: StoreConfig::Redis(RedisConfig {
            url,
            prefix: "x:".into(),
            cluster: false,
        }),
        ..Config::dev()
    };
    let error = build_app(&config).await.expect_err("startup must fail");
    let message = error.to_string();
    assert!(message.contains("Redis"), "{message}");
    assert!(!message.contains("hunter2"), "password in error: {message}");
}

/// A private `redis-server` on a free loopback port, killed on drop.
struct PrivateRedis {
    child: std::process::Child,
    port: u16,
}

impl PrivateRedis {
    async fn start(port: u16) -> PrivateRedis {
        let mut child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server on PATH (scripts/test-server.sh installs it)");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return PrivateRedis { child, port };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("redis-server did not start on port {port}");
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_redis_outage_is_503_and_the_server_recovers() {
    if std::env::var("REDIS_URL").is_err()
        || std::env::var("WX_SESSION_REDIS_CLUSTER").is_ok_and(|v| v == "1")
    {
        eprintln!("not a single-node Redis run: outage not simulated");
        return;
    }
    let free = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let redis = PrivateRedis::start(port).await;

    let config = Config {
        store: StoreConfig::Redis(RedisConfig {
            url: format!("redis://127.0.0.1:{}", redis.port),
            prefix: "outage:".into(),
            cluster: false,
        }),
        ..Config::dev()
    };
    // Users in a private data directory (or the run's PostgreSQL), not ./data.
    let data_dir = tempfile::tempdir().unwrap();
    let config = common::with_test_accounts(config, data_dir.path());
    let app = build_app(&config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(wx_session_server::serve(
        listener,
        app,
        std::future::pending(),
    ));
    let http = common::http_client();
    let login = || common::dev_login(&http, &base, "olga");

    let token = token_of(&login().await.json().await.unwrap());
    drop(redis);

    let reply = http
        .get(format!("{base}/auth/check"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.headers().get("retry-after").unwrap(), "1");
    let body: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(body["error"]["code"], "STORE_UNAVAILABLE");
    let reply = login().await;
    assert_eq!(reply.status(), StatusCode::SERVICE_UNAVAILABLE);
    // Readiness says so too, while liveness does not.
    let health = |path: &'static str| http.get(format!("{base}{path}")).send();
    let reply = health("/healthz").await.unwrap();
    assert_eq!(reply.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(body["error"]["code"], "STORE_UNAVAILABLE");
    assert_eq!(health("/livez").await.unwrap().status(), StatusCode::OK);

    // Redis comes back (empty: nothing was persisted); the server reconnects by itself.
    let _redis = PrivateRedis::start(port).await;
    let mut recovered = false;
    for _ in 0..50 {
        if login().await.status() == StatusCode::OK {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        recovered,
        "no successful login within 10 s of Redis coming back"
    );
    assert_eq!(health("/healthz").await.unwrap().status(), StatusCode::OK);
}
