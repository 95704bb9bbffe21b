//! How one kind of server speaks: building the login / check / logout requests and decoding their
//! answers. Pure functions of answers in, values out — no `wx`, no JavaScript — so every decoder is
//! tested natively and fuzzed.

pub mod presets;
pub mod spec;

#[cfg(test)]
mod fixture_tests;

pub use spec::ProtocolSpec;

use crate::error::{ServerAnswer, ServerMessage, SessionError};
use crate::json::Json;
use crate::platform::{HttpResponse, Payload};
use crate::store::Token;

/// What a successful server login grants.
#[derive(Debug, Clone, PartialEq)]
pub struct LoginGrant {
    /// The new token.
    pub token: Token,
    /// The user's id (JSON string or number), if sent.
    pub uid: Option<Json>,
    /// The user's info object, if sent.
    pub user_info: Option<Json>,
    /// Seconds until the token expires, if the server said.
    pub expires_in_s: Option<u64>,
}

/// The server's verdict on a stored token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenStatus {
    /// Still valid.
    Valid,
    /// Unknown, expired or revoked: the device must forget it.
    Invalid,
}

/// The server's answer to a logout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// The server revoked the token just now.
    Revoked,
    /// The token was already invalid (the seeds' `400 登陆状态已失效`): nothing is left live.
    AlreadyInvalid,
}

/// Joins the configured base URL and an endpoint path; an endpoint given as an absolute URL (API
///工厂's logout lives on another host) is used as it is.
pub fn endpoint(base_url: &str, path: &str) -> String {
    if origin(path).is_some() {
        return path.to_owned();
    }
    let mut url = String::with_capacity(base_url.len() + path.len() + 1);
    url.push_str(base_url.trim_end_matches('/'));
    if !path.starts_with('/') {
        url.push('/');
    }
    url.push_str(path);
    url
}

/// Where error answers put their code and message: `{"error": {"code", "message"}}` (ours), or a
/// flat `{"code", "message"}` / `{"errno", "errmsg"}` / `{"msg"}` shape many servers use.
pub const MESSAGE_PATHS: [&str; 8] =
    ["error.code", "error.message", "code", "errno", "errcode", "message", "msg", "errmsg"];

/// Reads what the server said from an error answer (see [`MESSAGE_PATHS`]).
pub fn server_message(payload: &Payload) -> Option<ServerMessage> {
    let json = payload.json()?;
    let holder = json.get("error").filter(|e| e.is_object()).unwrap_or(json);
    let text = |keys: &[&str]| keys.iter().find_map(|k| holder.get(k).and_then(Json::id_text));
    let said = ServerMessage { code: text(&["code", "errno", "errcode"]), message: text(&["message", "msg", "errmsg"]) };
    (said.code.is_some() || said.message.is_some()).then_some(said)
}

/// The answer's status with whatever the server said.
pub fn answer(response: &HttpResponse) -> ServerAnswer {
    ServerAnswer { status: response.status, said: server_message(&response.payload) }
}

/// Turns a non-success answer into the error a caller can act on: 5xx → `SERVER_ERROR`,
/// 4xx → `SERVER_REJECTED`, anything else (1xx, 3xx) → `BAD_RESPONSE`.
pub fn failure(response: &HttpResponse) -> SessionError {
    match response.status {
        500..=599 => SessionError::ServerError(answer(response)),
        400..=499 => SessionError::ServerRejected(answer(response)),
        status => SessionError::BadResponse { status, detail: "unexpected HTTP status".to_owned() },
    }
}

/// A success body that must be JSON; HTML error pages and garbage become `BAD_RESPONSE`.
pub fn json_body(response: &HttpResponse) -> Result<&Json, SessionError> {
    match &response.payload {
        Payload::Json(json) => Ok(json),
        Payload::Text(text) => Err(SessionError::BadResponse {
            status: response.status,
            detail: if looks_like_html(text) {
                "the server answered HTML instead of JSON".to_owned()
            } else if text.trim().is_empty() {
                "the body is empty".to_owned()
            } else {
                "the body is not JSON".to_owned()
            },
        }),
    }
}

/// Whether a text answer is an HTML page (a proxy's error page, a login wall...).
pub fn looks_like_html(text: &str) -> bool {
    text.trim_start().starts_with('<')
}

/// `url` with `query` (already encoded) added: after any existing query, before any `#fragment`
/// (a token appended after the fragment would never reach the server).
pub fn append_query(url: &str, query: &str) -> String {
    let (base, fragment) = match url.find('#') {
        Some(at) => url.split_at(at),
        None => (url, ""),
    };
    let mut out = String::with_capacity(url.len() + query.len() + 1);
    out.push_str(base);
    if !query.is_empty() {
        if !base.contains('?') {
            out.push('?');
        } else if !base.ends_with(['?', '&']) {
            out.push('&');
        }
        out.push_str(query);
    }
    out.push_str(fragment);
    out
}

/// Whether the status is 2xx.
pub fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// `scheme://host[:port]` of an absolute http(s) URL, lower-cased; `None` for anything else.
pub fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    // user:pass@host would let `https://api.example.com@evil.example` pass a prefix check.
    if authority.is_empty() || authority.contains('@') || authority.contains('\\') {
        return None;
    }
    let mut origin = scheme;
    origin.push_str("://");
    origin.push_str(&authority.to_ascii_lowercase());
    Some(origin)
}

/// Whether `url` is on the same origin as `base_url` (the only place the token may go).
pub fn same_origin(url: &str, base_url: &str) -> bool {
    matches!((origin(url), origin(base_url)), (Some(a), Some(b)) if a == b)
}

#[cfg(test)]
mod tests {
    use super::{append_query, presets};

    #[test]
    fn a_reply_is_read_at_each_path_once() {
        for name in ["default", "egg", "apifm", "litemall"] {
            let spec = presets::preset(name, "https://a.b").unwrap();
            for status in [200, 400, 401, 500] {
                let paths = spec.reply_paths(status);
                let mut unique = paths.clone();
                unique.sort_unstable();
                unique.dedup();
                assert_eq!(unique.len(), paths.len(), "{name} {status}: {paths:?}");
                assert_eq!(paths.contains(&"error.message"), status != 200, "{name} {status}: {paths:?}");
            }
        }
    }

    #[test]
    fn a_query_goes_before_the_fragment() {
        assert_eq!(append_query("https://a.b/x", "t=1"), "https://a.b/x?t=1");
        assert_eq!(append_query("https://a.b/x?a=1", "t=1"), "https://a.b/x?a=1&t=1");
        assert_eq!(append_query("https://a.b/x?", "t=1"), "https://a.b/x?t=1");
        assert_eq!(append_query("https://a.b/x#top", "t=1"), "https://a.b/x?t=1#top");
        assert_eq!(append_query("https://a.b/x?a=1#p?q", "t=1"), "https://a.b/x?a=1&t=1#p?q");
        assert_eq!(append_query("https://a.b/x#top", ""), "https://a.b/x#top");
    }
}
