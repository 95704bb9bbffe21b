//! The seam between the session and the outside world: everything the session needs from the
//! mini-program (a login code, WeChat's session check, storage, HTTP, loading UI, a clock, page
//! refresh, change events) as one trait. `wx::WxPlatform` implements it over the real `wx`; tests
//! implement it with fakes, so every failure path runs natively and deterministically.

use crate::error::SessionError;
use crate::json::Json;

/// A one-time code from `wx.login` (valid five minutes, usable once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginCode(pub String);

/// HTTP methods the protocols use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
}

impl Method {
    /// The method's name as `wx.request` expects it.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// What a request to the developer's server is for (told to an `adaptAnswer` hook).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Exchanging a `wx.login` code.
    Login,
    /// Asking whether a token is valid.
    Check,
    /// Revoking a token.
    Logout,
    /// One of the app's own requests.
    Request,
}

impl Purpose {
    /// The name JS sees.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Login => "login",
            Purpose::Check => "check",
            Purpose::Logout => "logout",
            Purpose::Request => "request",
        }
    }
}

/// One request to the developer's server, already fully built by a protocol.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    /// What it is for.
    pub purpose: Purpose,
    /// GET or POST.
    pub method: Method,
    /// Absolute URL.
    pub url: String,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<Body>,
}

/// A request body.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// An object sent as `application/json` (the JS engine writes the text).
    Json(Json),
    /// `a=1&b=2`, sent as `application/x-www-form-urlencoded`.
    Form(String),
}

impl Body {
    /// Its content type.
    pub fn content_type(&self) -> &'static str {
        match self {
            Body::Json(_) => "application/json",
            Body::Form(_) => "application/x-www-form-urlencoded",
        }
    }
}

/// A server's answer body. The JS engine parses it (`JSON.parse`); what is not JSON — an HTML
/// error page, garbage, a bare-text token — stays text for the protocol to judge.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// The body parsed as JSON.
    Json(Json),
    /// The body as it came (empty when there was none).
    Text(String),
}

impl Payload {
    /// The JSON value, if the body was JSON.
    pub fn json(&self) -> Option<&Json> {
        match self {
            Payload::Json(json) => Some(json),
            Payload::Text(_) => None,
        }
    }
}

/// The server's answer: decoding belongs to the protocol, which must cope with HTML error pages
/// and garbage.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    /// HTTP status code.
    pub status: u16,
    /// The body.
    pub payload: Payload,
}

/// What storage holds under one key, as far as the session cares.
#[derive(Debug, Clone, PartialEq)]
pub enum StoredValue {
    /// Nothing (`wx.getStorageSync` answers `''` for a missing key, so `''` is missing too).
    Missing,
    /// A string.
    Text(String),
    /// Any other JSON value (number, boolean, object, array).
    Json(Json),
    /// Something that could not be read or represented (a read that threw, a function...).
    Unreadable,
}

/// How to refresh the page after logout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refresh {
    /// Run the top page's `onShow` again (the seeds' `page.onShow()`).
    TopPageOnShow,
    /// `wx.reLaunch` to this page.
    ReLaunch(String),
    /// Leave the pages alone.
    Nothing,
}

/// A change of session state, delivered to `onChange` listeners.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent {
    /// A login stored a new token.
    Login {
        /// The uid, if the server sent one.
        uid: Option<Json>,
        /// The user info object, if the server sent one.
        user_info: Option<Json>,
    },
    /// The user logged out.
    Logout,
    /// The stored token passed its expiry and was cleared.
    Expired,
    /// The server (or WeChat's session check) said the session is no longer valid; it was cleared.
    Invalidated,
    /// A token the server never confirmed revoking is no longer retried: `"refused"` (the server
    /// answered a definitive 4xx), `"expired"` (it died on its own), `"tooManyTries"`.
    RevocationAbandoned {
        /// Why it was given up.
        reason: &'static str,
    },
}

/// How the token rides on one of the app's own requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenOnRequest {
    /// A header name and its full value (`Authorization`, `Bearer <t>`).
    Header(String, String),
    /// A query parameter name and the token.
    Query(String, String),
    /// A body field on POST and other methods with a body, a query parameter on GET (API工厂).
    Field(String, String),
}

/// What the session adds to one of the app's own requests to its server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Credentials {
    /// The token, when logged in.
    pub token: Option<TokenOnRequest>,
    /// Headers the protocol's requests carry, added unless the app set them.
    pub headers: Vec<(String, String)>,
}

/// One of the app's own requests as the platform holds it (for `wx`, the options object).
pub trait AppCall {
    /// The absolute URL it goes to.
    fn url(&self) -> String;
}

/// Everything the session needs from its environment.
///
/// Async methods never need `Send`: wasm is single-threaded and the session is too.
#[allow(async_fn_in_trait)]
pub trait Platform {
    /// The app's own request (`request(options)`), opaque to the session but for its URL.
    type Call: AppCall;
    /// The answer to it, handed back to the app untouched.
    type Reply;
    /// Sends one of the app's own requests, dressed with `credentials` when it goes to the
    /// developer's server (never elsewhere). `NETWORK` when nothing came back.
    async fn send_call(&self, call: &Self::Call, credentials: Option<&Credentials>) -> Result<Self::Reply, SessionError>;
    /// The HTTP status of a reply.
    fn reply_status(&self, reply: &Self::Reply) -> u16;
    /// Status and body of a reply for the protocol to judge, reading only the dotted `paths` of
    /// the body (the app keeps the whole reply; the session converts no more than it looks at).
    fn reply_summary(&self, reply: &Self::Reply, paths: &[&str]) -> HttpResponse;
    /// `wx.login`: a fresh one-time code, or why there is none (`WX_LOGIN_FAILED`/`WX_UNAVAILABLE`).
    async fn login_code(&self) -> Result<LoginCode, SessionError>;
    /// `wx.checkSession`: whether WeChat's own session (session_key) is still valid.
    async fn wechat_session_valid(&self) -> bool;
    /// `wx.request`: sends and returns the raw answer, or `NETWORK` when nothing came back.
    async fn send(&self, request: &HttpRequest) -> Result<HttpResponse, SessionError>;
    /// `wx.getStorageSync`.
    fn read(&self, key: &str) -> StoredValue;
    /// `wx.setStorageSync`; `Text` is stored as a string, `Json` as the value.
    fn write(&self, key: &str, value: &StoredValue) -> Result<(), SessionError>;
    /// `wx.removeStorageSync`.
    fn remove(&self, key: &str);
    /// `wx.showLoading` with this title.
    fn show_loading(&self, title: &str);
    /// `wx.hideLoading`.
    fn hide_loading(&self);
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
    /// Refreshes the pages after logout.
    fn refresh(&self, how: &Refresh);
    /// Tells listeners about a change.
    fn emit(&self, event: &SessionEvent);
}
