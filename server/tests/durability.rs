//! Users outlive the process and the session store: the same openid gets the same uid (and its
//! profile) after the server binary restarts on the same data directory, and after a Redis that
//! keeps nothing on disk restarts under a running server. Users in SQLite, or PostgreSQL when
//! `DATABASE_URL` is set.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{http_client, token_of, unique_user, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};
use wx_session_server::{Config, RedisConfig, StoreConfig};

const BINARY: &str = env!("CARGO_BIN_EXE_wx-session-server");

/// The server binary in development mode on an ephemeral port, sessions in memory.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(data_dir: &std::path::Path) -> Server {
        let mut command = Command::new(BINARY);
        command
            .args(["--dev", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env_remove("REDIS_URL")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        // DATABASE_URL, when set, is inherited: the restart is then on PostgreSQL.
        let mut child = command.spawn().expect("spawn the server binary");
        let stderr = child.stderr.take().unwrap();
        let (found, listening) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let address: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
                    let _ = found.send(address);
                }
            }
        });
        let address = listening
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!("server did not start")
            });
        Server {
            child,
            base: format!("http://{address}"),
        }
    }

    fn stop(mut self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(self.child.wait().unwrap().success());
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Value {
        let mut request = http_client()
            .post(format!("{}{path}", self.base))
            .json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.json().await.unwrap()
    }

    async fn login_as(&self, user: &str) -> Value {
        let code = self.post("/dev/code", None, json!({"user": user})).await;
        self.post("/auth/login", None, json!({"code": code["code"]}))
            .await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_uid_and_its_profile_survive_a_server_restart() {
    let data = tempfile::tempdir().unwrap();
    let user = unique_user("restart");

    let server = Server::start(data.path());
    let first = server.login_as(&user).await;
    let token = token_of(&first);
    let client = http_client();
    let put = client
        .put(format!("{}/user/profile", server.base))
        .bearer_auth(&token)
        .json(&json!({"nickname": "重启之前"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::OK);
    server
        .post("/user/phone", Some(&token), json!({"code": "c"}))
        .await;
    server.stop();

    let server = Server::start(data.path());
    // Sessions were in memory: the old token is gone, the user is not.
    let check = client
        .get(format!("{}/auth/check", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(check.status(), StatusCode::UNAUTHORIZED);
    let again = server.login_as(&user).await;
    assert_eq!(again["uid"], first["uid"]);
    assert_eq!(again["userInfo"]["nickName"], "重启之前");
    let profile: Value = client
        .get(format!("{}/user/profile", server.base))
        .bearer_auth(token_of(&again))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(profile["phone"], "138****0000");
    // Another user still gets another uid.
    let other = server.login_as(&unique_user("other")).await;
    assert_ne!(other["uid"], first["uid"]);
    server.stop();
    if common::database_url().is_none() {
        assert!(data.path().join("users.db").is_file());
    }
}

/// A throwaway redis-server on a free port, keeping nothing on disk.
struct PrivateRedis {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl PrivateRedis {
    fn start(port: u16, dir: tempfile::TempDir) -> PrivateRedis {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server on PATH (scripts/test-server.sh installs it)");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        PrivateRedis { child, port, dir }
    }

    /// Kills it (no save: the data is gone) and starts a new one on the same port.
    fn restart(mut self) -> PrivateRedis {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (port, dir) = (
            self.port,
            std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap()),
        );
        PrivateRedis::start(port, dir)
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn redis_server_available() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

#[tokio::test]
async fn a_uid_survives_a_redis_restart() {
    if !redis_server_available() {
        // The Redis passes of scripts/test-server.sh always have it; a bare `cargo test`
        // without Redis installed cannot run this one.
        assert!(
            std::env::var("REDIS_URL").is_err(),
            "REDIS_URL is set but redis-server is not on PATH"
        );
        eprintln!("skipped: redis-server is not installed");
        return;
    }
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let redis = PrivateRedis::start(port, tempfile::tempdir().unwrap());
    let mut config = Config::dev();
    config.store = StoreConfig::Redis(RedisConfig {
        url: format!("redis://127.0.0.1:{port}"),
        prefix: "wxs-durability:".into(),
        cluster: false,
    });
    let server = TestServer::start(config).await;
    let user = unique_user("redis");
    let first = server.login_as(&user).await;
    assert_eq!(server.check(&token_of(&first)).await.status, StatusCode::OK);

    let _redis = redis.restart();
    // The sessions are gone with Redis (the server reconnects on its own; allow it a moment).
    let started = Instant::now();
    let check = loop {
        let check = server.check(&token_of(&first)).await;
        if check.status != StatusCode::SERVICE_UNAVAILABLE
            || started.elapsed() > Duration::from_secs(10)
        {
            break check;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    check.assert_error(401, "SESSION_INVALID");
    // The user is not.
    let again = server.login_as(&user).await;
    assert_eq!(again["uid"], first["uid"]);
}
