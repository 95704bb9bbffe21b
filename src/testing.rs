//! Native test doubles: a [`Platform`] with in-memory storage and a scripted default-protocol
//! server, counting every call, and a minimal executor. Test-only.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use crate::error::SessionError;
use crate::json::Json;
use crate::platform::{
    AppCall, Body, Credentials, HttpRequest, HttpResponse, LoginCode, Method, Payload, Purpose, Platform, Refresh, SessionEvent, StoredValue,
    TokenOnRequest,
};

/// JSON text as a [`Json`] value (serde_json stands in for the JS engine's `JSON.parse`).
pub fn json(text: &str) -> Json {
    serde_json::from_str(text).unwrap()
}

/// An answer as the wx layer hands it over: the body parsed when it is JSON, else kept as text.
pub fn response(status: u16, body: &str) -> HttpResponse {
    let payload = match serde_json::from_str::<Json>(body) {
        Ok(json) => Payload::Json(json),
        Err(_) => Payload::Text(body.to_owned()),
    };
    HttpResponse { status, payload }
}

/// Compact JSON text of a value, whole numbers without a fraction (as `JSON.stringify` writes them).
pub fn json_text(value: &Json) -> String {
    fn plain(value: &Json) -> serde_json::Value {
        match value {
            Json::Null => serde_json::Value::Null,
            Json::Bool(b) => serde_json::Value::Bool(*b),
            Json::Number(n) if n.fract() == 0.0 && n.abs() < 9e15 => serde_json::Value::from(*n as i64),
            Json::Number(n) => serde_json::Value::from(*n),
            Json::String(s) => serde_json::Value::String(s.clone()),
            Json::Array(items) => serde_json::Value::Array(items.iter().map(plain).collect()),
            Json::Object(members) => serde_json::Value::Object(members.iter().map(|(k, v)| (k.clone(), plain(v))).collect()),
        }
    }
    plain(value).to_string()
}

/// A request body as the text `wx.request` would send.
pub fn body_text(body: &Body) -> String {
    match body {
        Body::Json(value) => json_text(value),
        Body::Form(text) => text.clone(),
    }
}

/// An app request in native tests: just a URL (GET).
pub struct TestCall(pub String);

impl AppCall for TestCall {
    fn url(&self) -> String {
        self.0.clone()
    }
}

/// Runs a future whose fakes never actually wait.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1000 {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
    panic!("future did not complete: a fake is waiting for something that never comes");
}

/// What the fake server does with the next request.
#[derive(Debug, Clone)]
pub enum Fault {
    Status(u16, &'static str),
    Network,
}

/// A fake `wx` plus a fake default-protocol server.
#[derive(Default)]
pub struct FakeWx {
    pub storage: RefCell<BTreeMap<String, StoredValue>>,
    pub storage_full: Cell<bool>,
    /// Total bytes (keys plus values) storage holds before writes fail (`None`: unlimited).
    pub capacity: Cell<Option<usize>>,
    pub login_fails: Cell<bool>,
    pub wx_logins: Cell<u32>,
    pub wechat_session_invalid: Cell<bool>,
    pub check_sessions: Cell<u32>,
    pub requests: RefCell<Vec<HttpRequest>>,
    pub faults: RefCell<VecDeque<Fault>>,
    pub live_tokens: RefCell<BTreeSet<String>>,
    pub issued: Cell<u32>,
    pub login_body: RefCell<Option<String>>,
    pub loading: RefCell<Vec<String>>,
    pub events: RefCell<Vec<SessionEvent>>,
    pub refreshes: RefCell<Vec<Refresh>>,
    pub now: Cell<u64>,
    /// Writes to this key fail as if storage were full.
    pub refuse_key: RefCell<Option<&'static str>>,
    /// Storage reads so far (each one a bridge call on a phone).
    pub reads: Cell<u32>,
}

impl FakeWx {
    pub fn put(&self, key: &str, value: StoredValue) {
        self.storage.borrow_mut().insert(key.to_owned(), value);
    }

    pub fn stored(&self, key: &str) -> StoredValue {
        self.storage.borrow().get(key).cloned().unwrap_or(StoredValue::Missing)
    }

    pub fn keys(&self) -> Vec<String> {
        self.storage.borrow().keys().cloned().collect()
    }

    pub fn fail_next(&self, fault: Fault) {
        self.faults.borrow_mut().push_back(fault);
    }

    pub fn loading_balanced(&self) -> bool {
        let log = self.loading.borrow();
        let shows = log.iter().filter(|l| l.starts_with("show:")).count();
        let hides = log.iter().filter(|l| *l == "hide").count();
        shows == hides
    }

    fn bearer(request: &HttpRequest) -> Option<String> {
        request
            .headers
            .iter()
            .find(|(k, _)| k == "Authorization")
            .and_then(|(_, v)| v.strip_prefix("Bearer ").map(str::to_owned))
    }

    fn serve(&self, request: &HttpRequest) -> HttpResponse {
        let path = request.url.split_once("//").map(|(_, r)| r).and_then(|r| r.find('/').map(|i| &r[i..])).unwrap_or("");
        let ok = |body: String| response(200, &body);
        match path {
            "/auth/login" => {
                let n = self.issued.get() + 1;
                self.issued.set(n);
                let token = format!("tok-{n}");
                self.live_tokens.borrow_mut().insert(token.clone());
                ok(self.login_body.borrow().clone().unwrap_or_else(|| {
                    format!(r#"{{"token":"{token}","uid":42,"userInfo":{{"nickName":"测试用户 🐼"}},"expiresIn":3600}}"#)
                }))
            }
            "/auth/check" => match Self::bearer(request) {
                Some(t) if self.live_tokens.borrow().contains(&t) => ok(r#"{"valid":true}"#.into()),
                _ => response(401, r#"{"error":{"code":"SESSION_INVALID","message":"登陆状态已失效"}}"#),
            },
            "/auth/logout" => match Self::bearer(request) {
                Some(t) if self.live_tokens.borrow_mut().remove(&t) => ok(r#"{"revoked":true}"#.into()),
                _ => response(400, r#"{"error":{"code":"SESSION_INVALID","message":"登陆状态已失效"}}"#),
            },
            // Any other path is an app endpoint that needs a live token.
            _ if path.starts_with("/api/") => match Self::bearer(request) {
                Some(t) if self.live_tokens.borrow().contains(&t) => ok(r#"{"ok":true}"#.into()),
                _ => response(401, r#"{"error":{"code":"SESSION_INVALID","message":"登陆状态已失效"}}"#),
            },
            _ => response(404, "<html>not found</html>"),
        }
    }
}

impl Platform for FakeWx {
    type Call = TestCall;
    type Reply = HttpResponse;

    async fn send_call(&self, call: &TestCall, credentials: Option<&Credentials>) -> Result<HttpResponse, SessionError> {
        let headers = match credentials.and_then(|c| c.token.as_ref()) {
            Some(TokenOnRequest::Header(name, value)) => vec![(name.clone(), value.clone())],
            _ => Vec::new(),
        };
        self.send(&HttpRequest { purpose: Purpose::Request, method: Method::Get, url: call.0.clone(), headers, body: None }).await
    }

    fn reply_status(&self, reply: &HttpResponse) -> u16 {
        reply.status
    }

    fn reply_summary(&self, reply: &HttpResponse, _paths: &[&str]) -> HttpResponse {
        reply.clone()
    }

    async fn login_code(&self) -> Result<LoginCode, SessionError> {
        self.wx_logins.set(self.wx_logins.get() + 1);
        if self.login_fails.get() {
            return Err(SessionError::WxLoginFailed("login:fail".into()));
        }
        Ok(LoginCode(format!("code-{}", self.wx_logins.get())))
    }

    async fn wechat_session_valid(&self) -> bool {
        self.check_sessions.set(self.check_sessions.get() + 1);
        !self.wechat_session_invalid.get()
    }

    async fn send(&self, request: &HttpRequest) -> Result<HttpResponse, SessionError> {
        self.requests.borrow_mut().push(request.clone());
        let fault = self.faults.borrow_mut().pop_front();
        match fault {
            Some(Fault::Network) => Err(SessionError::Network("request:fail timeout".into())),
            Some(Fault::Status(status, body)) => Ok(response(status, body)),
            None => Ok(self.serve(request)),
        }
    }

    fn read(&self, key: &str) -> StoredValue {
        self.reads.set(self.reads.get() + 1);
        self.stored(key)
    }

    fn write(&self, key: &str, value: &StoredValue) -> Result<(), SessionError> {
        let size = |k: &str, v: &StoredValue| match v {
            StoredValue::Text(t) => k.len() + t.len(),
            StoredValue::Json(j) => k.len() + json_text(j).len(),
            _ => 0,
        };
        let used: usize = self.storage.borrow().iter().filter(|(k, _)| *k != key).map(|(k, v)| size(k, v)).sum();
        let over = self.capacity.get().is_some_and(|cap| used + size(key, value) > cap);
        let refused = self.refuse_key.borrow().is_some_and(|k| k == key);
        if self.storage_full.get() || over || refused {
            return Err(SessionError::StorageFailed("setStorage:fail exceed storage max size".into()));
        }
        self.put(key, value.clone());
        Ok(())
    }

    fn remove(&self, key: &str) {
        self.storage.borrow_mut().remove(key);
    }

    fn show_loading(&self, title: &str) {
        self.loading.borrow_mut().push(format!("show:{title}"));
    }

    fn hide_loading(&self) {
        self.loading.borrow_mut().push("hide".into());
    }

    fn now_ms(&self) -> u64 {
        self.now.get()
    }

    fn refresh(&self, how: &Refresh) {
        self.refreshes.borrow_mut().push(how.clone());
    }

    fn emit(&self, event: &SessionEvent) {
        self.events.borrow_mut().push(event.clone());
    }
}
