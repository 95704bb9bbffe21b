//! Native test doubles: a [`Platform`] with in-memory storage and a scripted default-protocol
//! server, counting every call, and a minimal executor. Test-only.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use crate::error::SessionError;
use crate::platform::{
    AppCall, HttpRequest, HttpResponse, LoginCode, Method, Purpose, Platform, Refresh, SessionEvent, StoredValue, TokenOnRequest,
};

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
}

impl FakeWx {
    pub fn used_bytes(&self) -> usize {
        self.storage.borrow().iter().map(|(k, v)| match v {
            StoredValue::Text(t) | StoredValue::Json(t) => k.len() + t.len(),
            _ => 0,
        }).sum()
    }

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
        let ok = |body: String| HttpResponse { status: 200, body };
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
                _ => HttpResponse { status: 401, body: r#"{"error":{"code":"SESSION_INVALID","message":"登陆状态已失效"}}"#.into() },
            },
            "/auth/logout" => match Self::bearer(request) {
                Some(t) if self.live_tokens.borrow_mut().remove(&t) => ok(r#"{"revoked":true}"#.into()),
                _ => HttpResponse { status: 400, body: r#"{"error":{"code":"SESSION_INVALID","message":"登陆状态已失效"}}"#.into() },
            },
            // Any other path is an app endpoint that needs a live token.
            _ if path.starts_with("/api/") => match Self::bearer(request) {
                Some(t) if self.live_tokens.borrow().contains(&t) => ok(r#"{"ok":true}"#.into()),
                _ => HttpResponse { status: 401, body: r#"{"error":{"code":"SESSION_INVALID","message":"登陆状态已失效"}}"#.into() },
            },
            _ => HttpResponse { status: 404, body: "<html>not found</html>".into() },
        }
    }
}

impl Platform for FakeWx {
    type Call = TestCall;
    type Reply = HttpResponse;

    async fn send_call(&self, call: &TestCall, token: Option<&TokenOnRequest>) -> Result<HttpResponse, SessionError> {
        let headers = match token {
            Some(TokenOnRequest::Header(name, value)) => vec![(name.clone(), value.clone())],
            _ => Vec::new(),
        };
        self.send(&HttpRequest { purpose: Purpose::Request, method: Method::Get, url: call.0.clone(), headers, body: None }).await
    }

    fn reply_summary(&self, reply: &HttpResponse) -> HttpResponse {
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
            Some(Fault::Status(status, body)) => Ok(HttpResponse { status, body: body.into() }),
            None => Ok(self.serve(request)),
        }
    }

    fn read(&self, key: &str) -> StoredValue {
        self.stored(key)
    }

    fn write(&self, key: &str, value: &StoredValue) -> Result<(), SessionError> {
        let size = |k: &str, v: &StoredValue| match v {
            StoredValue::Text(t) | StoredValue::Json(t) => k.len() + t.len(),
            _ => 0,
        };
        let used: usize = self.storage.borrow().iter().filter(|(k, _)| *k != key).map(|(k, v)| size(k, v)).sum();
        let over = self.capacity.get().is_some_and(|cap| used + size(key, value) > cap);
        if self.storage_full.get() || over {
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
