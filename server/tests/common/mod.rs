//! Shared by every integration test: start the real application on 127.0.0.1 with an ephemeral
//! port, pick the store from the environment, and talk to it over real HTTP.
//!
//! Store selection: the in-memory store by default; Redis when `REDIS_URL` is set (a Redis
//! Cluster node when `WX_SESSION_REDIS_CLUSTER=1` too). Every server started here gets its own
//! random key prefix, so tests never see each other's keys.
//!
//! Users: SQLite in a fresh temporary data directory per server by default; PostgreSQL when
//! `DATABASE_URL` is set (one database shared by every server of the run, so tests that look at a
//! profile use user names of their own — see [`unique_user`]). Avatars always go to the
//! temporary directory.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use wx_session_server::accounts::DEFAULT_DATA_DIR;
use wx_session_server::{build_app, serve, Config, RedisConfig, StoreConfig};

/// A running application and a client for it. Dropping it shuts the server down.
pub struct TestServer {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// Plain HTTP client; proxies disabled so loopback traffic never leaves the machine.
    pub http: reqwest::Client,
    /// The configuration the server runs with, store included (for the Redis key prefix).
    pub config: Config,
    /// Dropping this resolves the server's shutdown future.
    _shutdown: oneshot::Sender<()>,
    /// The data directory, removed when the server is dropped (unless the test chose its own).
    _data_dir: tempfile::TempDir,
}

/// A reply: status, headers and the body parsed as JSON (`Value::Null` if it was not JSON).
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// A header's value, lower-cased ("" when absent or not text).
    pub fn header_lower(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase()
    }

    /// `error.code` of an error reply.
    pub fn error_code(&self) -> &str {
        self.body["error"]["code"]
            .as_str()
            .unwrap_or("<no error code>")
    }

    /// Asserts the standard error shape with this status and code.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        assert_eq!(self.error_code(), code, "body: {}", self.text);
        assert!(
            self.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "error without message: {}",
            self.text
        );
        let content_type = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok());
        assert_eq!(
            content_type,
            Some("application/json"),
            "body: {}",
            self.text
        );
    }
}

/// A plain HTTP client for loopback.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client")
}

/// Dev mode, for servers the tests start themselves: a login code for `user` from `/dev/code`.
pub async fn dev_code(http: &reqwest::Client, base: &str, user: &str) -> String {
    let reply: Value = http
        .post(format!("{base}/dev/code"))
        .json(&json!({"user": user}))
        .send()
        .await
        .expect("POST /dev/code")
        .json()
        .await
        .expect("/dev/code answers JSON");
    reply["code"].as_str().expect("code").to_owned()
}

/// `POST /auth/login` with `code`; the reply as it came (status and headers included).
pub async fn login_with(http: &reqwest::Client, base: &str, code: &str) -> reqwest::Response {
    http.post(format!("{base}/auth/login"))
        .json(&json!({"code": code}))
        .send()
        .await
        .expect("POST /auth/login")
}

/// Dev mode: mints a code for `user` and logs in with it ([`dev_code`], [`login_with`]).
pub async fn dev_login(http: &reqwest::Client, base: &str, user: &str) -> reqwest::Response {
    let code = dev_code(http, base, user).await;
    login_with(http, base, &code).await
}

/// `config` with the store chosen by the environment (see the module doc).
pub fn with_test_store(mut config: Config) -> Config {
    // A test that chose its own Redis (a private one, or another server's prefix) keeps it.
    if !matches!(config.store, StoreConfig::Memory) {
        return config;
    }
    if let Ok(url) = std::env::var("REDIS_URL") {
        if !url.trim().is_empty() {
            let random = wx_session_server::token::random_hex(6).expect("randomness");
            config.store = StoreConfig::Redis(RedisConfig {
                url,
                prefix: format!("wxs-test:{random}:"),
                cluster: std::env::var("WX_SESSION_REDIS_CLUSTER").is_ok_and(|v| v == "1"),
            });
        }
    }
    config
}

/// `config` with a data directory in `data` (unless the test set one) and the user database
/// from the environment.
pub fn with_test_accounts(mut config: Config, data: &std::path::Path) -> Config {
    if config.accounts.data_dir == std::path::Path::new(DEFAULT_DATA_DIR) {
        config.accounts.data_dir = data.to_owned();
    }
    if config.accounts.database_url.is_none() {
        config.accounts.database_url = database_url();
    }
    config
}

/// `DATABASE_URL` when set and not empty.
pub fn database_url() -> Option<String> {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// A dev user name no other test (nor an earlier run on the same PostgreSQL) uses: `prefix`
/// and 8 random hex digits.
pub fn unique_user(prefix: &str) -> String {
    format!(
        "{prefix}_{}",
        wx_session_server::token::random_hex(4).expect("randomness")
    )
}

/// Which store the suite runs against, for messages.
pub fn store_name() -> &'static str {
    if std::env::var("REDIS_URL").is_ok_and(|u| !u.trim().is_empty()) {
        "redis"
    } else {
        "memory"
    }
}

impl TestServer {
    /// Starts the application for `config` (store taken from the environment).
    pub async fn start(config: Config) -> TestServer {
        let data_dir = tempfile::tempdir().expect("temporary data directory");
        let config = with_test_accounts(with_test_store(config), data_dir.path());
        let app = build_app(&config)
            .await
            .unwrap_or_else(|e| panic!("building the app ({} store): {e}", store_name()));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let address = listener.local_addr().expect("local address");
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(serve(listener, app, async {
            let _ = stopped.await;
        }));
        TestServer {
            base: format!("http://{address}"),
            http: http_client(),
            config,
            _shutdown: shutdown,
            _data_dir: data_dir,
        }
    }

    /// A development-mode server with default settings.
    pub async fn dev() -> TestServer {
        TestServer::start(Config::dev()).await
    }

    /// Sends `request` and reads the reply.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("request reached the server");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("reply body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    /// `METHOD path` with no body.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    /// POST `path` with a JSON body.
    pub async fn post_json(&self, path: &str, body: Value) -> Reply {
        self.send(self.request(reqwest::Method::POST, path).json(&body))
            .await
    }

    /// POST /auth/login {"code": code}.
    pub async fn login(&self, code: &str) -> Reply {
        self.post_json("/auth/login", json!({"code": code})).await
    }

    /// GET /auth/check with the token.
    pub async fn check(&self, token: &str) -> Reply {
        self.send(
            self.request(reqwest::Method::GET, "/auth/check")
                .bearer_auth(token),
        )
        .await
    }

    /// POST /auth/logout with the token.
    pub async fn logout(&self, token: &str) -> Reply {
        self.send(
            self.request(reqwest::Method::POST, "/auth/logout")
                .bearer_auth(token),
        )
        .await
    }

    /// Dev mode: mints a code for `user`.
    pub async fn mint(&self, user: &str) -> String {
        let reply = self.post_json("/dev/code", json!({"user": user})).await;
        assert_eq!(reply.status, StatusCode::OK, "minting: {}", reply.text);
        reply.body["code"].as_str().expect("code").to_owned()
    }

    /// Dev mode: mints a code for `user` and logs in with it; returns the login reply body.
    pub async fn login_as(&self, user: &str) -> Value {
        let code = self.mint(user).await;
        let reply = self.login(&code).await;
        assert_eq!(reply.status, StatusCode::OK, "login: {}", reply.text);
        reply.body
    }

    /// The browser's CORS preflight for `method path` from the preview's origin
    /// (`http://127.0.0.1:5173`), asking for the headers the module sends.
    pub async fn preflight(&self, method: &str, path: &str) -> Reply {
        self.send(
            self.request(reqwest::Method::OPTIONS, path)
                .header("origin", "http://127.0.0.1:5173")
                .header("access-control-request-method", method)
                .header(
                    "access-control-request-headers",
                    "authorization, content-type",
                ),
        )
        .await
    }

    /// Asserts the server still answers normally (used after every abuse).
    pub async fn assert_healthy(&self) {
        let reply = self
            .send(self.request(reqwest::Method::GET, "/healthz"))
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.body, json!({"ok": true}));
    }
}

/// The `token` field of a login reply.
pub fn token_of(login: &Value) -> String {
    login["token"]
        .as_str()
        .expect("token in login reply")
        .to_owned()
}

/// The server executable started as a child process (the binary tests): the address it announced
/// on stderr (`listening on http://ADDR`) and everything it writes there. Dropping it kills the
/// process, so a failing test leaves no server behind.
pub struct ServerProcess {
    child: Child,
    /// `host:port` from the "listening on" line.
    pub address: String,
    /// `http://` and the address.
    pub base: String,
    output: Arc<Mutex<String>>,
    reader: Option<JoinHandle<()>>,
}

impl ServerProcess {
    /// Spawns `command` (stdout discarded, stderr collected) and waits up to 20 s for its
    /// "listening on" line; panics with the output so far if it never comes.
    pub fn start(mut command: Command) -> ServerProcess {
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the server binary");
        let stderr = child.stderr.take().unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        let (found, listening) = mpsc::channel();
        let sink = Arc::clone(&output);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let address: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
                    let _ = found.send(address);
                }
                let mut sink = sink.lock().unwrap();
                sink.push_str(&line);
                sink.push('\n');
            }
        });
        let mut server = ServerProcess {
            child,
            address: String::new(),
            base: String::new(),
            output,
            reader: Some(reader),
        };
        match listening.recv_timeout(Duration::from_secs(20)) {
            Ok(address) => {
                server.base = format!("http://{address}");
                server.address = address;
                server
            }
            Err(_) => panic!("server did not start; output:\n{}", server.kill()),
        }
    }

    /// Stops it with SIGKILL; its complete output.
    pub fn kill(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.drained_output()
    }

    /// Stops it with SIGTERM (a graceful shutdown); its exit status and complete output.
    pub fn terminate(mut self) -> (ExitStatus, String) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        let status = self.child.wait().expect("wait for the server");
        (status, self.drained_output())
    }

    /// The output once the process has exited: the reader ends when the pipe closes.
    fn drained_output(&mut self) -> String {
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.output.lock().unwrap().clone()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
