//! One configurable description of a login protocol, and the decoders that follow it.
//!
//! Every built-in protocol (see `presets`) is a [`ProtocolSpec`] value, and a custom backend is
//! described with the same fields from `init({ protocol: {...} })`. One engine, many dialects: the
//! decoding rules are written (and fuzzed) once.

use super::{answer, append_query, failure, is_success, json_body, looks_like_html, LoginGrant, Revocation, TokenStatus};
use crate::error::{ServerAnswer, SessionError};
use crate::json::{number_text, Json};
use crate::platform::{Body, HttpRequest, HttpResponse, LoginCode, Method, Payload, Purpose};
use crate::store::Token;

/// Why an object or array cannot be a login field here.
pub const SCALARS_ONLY: &str = "a form or query string takes strings, numbers and booleans only";

/// How request bodies are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// `application/json`
    Json,
    /// `application/x-www-form-urlencoded` (API工厂)
    Form,
}

/// Where the token travels on a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenPlacement {
    /// A header: `name: prefix + token` (e.g. `Authorization: Bearer <t>`, `X-Litemall-Token: <t>`).
    Header {
        /// Header name.
        name: String,
        /// Text before the token.
        prefix: String,
    },
    /// A query parameter.
    Query(String),
    /// A body field (a query parameter on GET).
    Body(String),
}

/// A field of a JSON answer compared against accepted values (`0`, `10000`, `true`, `"ok"`).
/// Types must agree: the string `"0"` is not the number `0`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldMatch {
    /// Dotted path, e.g. `code`, `data.valid`.
    pub path: String,
    /// Accepted values.
    pub values: Vec<Json>,
}

impl FieldMatch {
    /// A match on `path` against numbers (API codes such as `0`, `2000`).
    pub fn numbers(path: &str, values: &[f64]) -> FieldMatch {
        FieldMatch { path: path.to_owned(), values: values.iter().map(|v| Json::Number(*v)).collect() }
    }

    /// A match on `path` against a boolean.
    pub fn boolean(path: &str, value: bool) -> FieldMatch {
        FieldMatch { path: path.to_owned(), values: vec![Json::Bool(value)] }
    }

    /// `Some(true)` on a match, `Some(false)` when the field holds something else, `None` when absent.
    pub fn test(&self, body: Option<&Json>) -> Option<bool> {
        let value = body?.pointer(&self.path)?;
        Some(self.values.contains(value))
    }
}

/// One endpoint of the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// GET or POST.
    pub method: Method,
    /// Path relative to the base URL.
    pub path: String,
}

impl Endpoint {
    /// An endpoint.
    pub fn new(method: Method, path: &str) -> Endpoint {
        Endpoint { method, path: path.to_owned() }
    }
}

/// Everything that distinguishes one server's login protocol from another's.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtocolSpec {
    /// The server, without a trailing slash.
    pub base_url: String,
    /// How bodies are encoded.
    pub format: BodyFormat,
    /// The login endpoint.
    pub login: Endpoint,
    /// Name of the field carrying the `wx.login` code.
    pub code_field: String,
    /// Send the code in the query string instead of the body.
    pub code_in_query: bool,
    /// Constant extra login fields (API工厂's `type=2`, litemall's `userInfo`), as JSON values.
    pub login_fields: Vec<(String, Json)>,
    /// Path of the token in the login answer; empty: the whole body is the token (the seeds' egg.js server).
    pub token_path: String,
    /// Path of the uid, if the server sends one.
    pub uid_path: Option<String>,
    /// Path of the user info object, if the server sends one.
    pub user_info_path: Option<String>,
    /// Path of the lifetime in seconds, if the server sends one.
    pub expires_in_path: Option<String>,
    /// For servers that answer 200 to everything: the field that says success (`code == 0`).
    pub success: Option<FieldMatch>,
    /// The answer that means "the WeChat user must register first" (`code == 10000`).
    pub not_registered: Option<FieldMatch>,
    /// HTTP statuses that mean "the session is invalid" (401).
    pub invalid_statuses: Vec<u16>,
    /// A field that means "the session is invalid" (`errno == 501`, `code == 2000`).
    pub invalid_field: Option<FieldMatch>,
    /// A message that means "the session is invalid" when it comes with one of these statuses:
    /// the seeds' egg.js server throws `400 登陆状态已失效`, as JSON (`{"message"}`) or, from
    /// egg-onerror in production, inside an HTML page — so it is looked for in the body either way.
    pub invalid_message: Option<(Vec<u16>, String)>,
    /// The endpoint that checks a token, if there is one.
    pub check: Option<Endpoint>,
    /// For the check answer: the field that says valid (`valid == true`); absent → success is enough.
    pub check_valid: Option<FieldMatch>,
    /// The endpoint that revokes a token.
    pub logout: Endpoint,
    /// HTTP statuses of a logout answer that mean "already invalid" (400 登陆状态已失效, 401).
    pub logout_invalid_statuses: Vec<u16>,
    /// Whether the logout endpoint ends the token on the server. litemall's tokens are stateless
    /// JWTs its logout cannot revoke: they live until they expire, and the app is told so.
    pub logout_revokes: bool,
    /// How the token is sent on check, logout and the app's own requests.
    pub token: TokenPlacement,
    /// How the token is sent on logout, when that differs (the seeds' egg.js server takes `{token}`).
    pub logout_token: Option<TokenPlacement>,
    /// Headers the app's own requests get unless they set them (API工厂's client sends every
    /// request form-encoded; egg-onerror answers HTML unless JSON is accepted).
    pub request_headers: Vec<(String, String)>,
}

/// What an answer amounts to under a spec.
enum Verdict<'a> {
    /// Success, with the body if it was JSON.
    Ok(Option<&'a Json>),
    /// The session is invalid.
    Invalid(ServerAnswer),
    /// The user must register.
    NotRegistered(ServerAnswer),
    /// Anything else that went wrong.
    Failed(SessionError),
}

impl ProtocolSpec {
    fn verdict<'a>(&self, response: &'a HttpResponse) -> Verdict<'a> {
        let body = response.payload.json();
        if self.invalid_statuses.contains(&response.status)
            || self.invalid_field.as_ref().and_then(|m| m.test(body)) == Some(true)
            || self.says_invalid_message(response)
        {
            return Verdict::Invalid(answer(response));
        }
        if self.not_registered.as_ref().and_then(|m| m.test(body)) == Some(true) {
            return Verdict::NotRegistered(answer(response));
        }
        if !is_success(response.status) {
            return Verdict::Failed(failure(response));
        }
        if let Some(success) = &self.success {
            if let Err(error) = json_body(response) {
                return Verdict::Failed(error);
            }
            match success.test(body) {
                Some(true) => {}
                Some(false) => return Verdict::Failed(SessionError::ServerRejected(answer(response))),
                None => return Verdict::Failed(bad(response, "the answer lacks the protocol's success field")),
            }
        }
        Verdict::Ok(body)
    }

    /// Whether the answer carries [`ProtocolSpec::invalid_message`] with one of its statuses.
    fn says_invalid_message(&self, response: &HttpResponse) -> bool {
        let Some((statuses, message)) = &self.invalid_message else { return false };
        statuses.contains(&response.status)
            && match &response.payload {
                Payload::Text(text) => text.contains(message.as_str()),
                Payload::Json(Json::String(text)) => text.contains(message.as_str()),
                Payload::Json(_) => super::server_message(&response.payload)
                    .and_then(|said| said.message)
                    .is_some_and(|said| said.contains(message.as_str())),
            }
    }

    fn request(&self, endpoint: &Endpoint, purpose: Purpose) -> RequestBuilder {
        RequestBuilder {
            purpose,
            method: endpoint.method,
            url: super::endpoint(&self.base_url, &endpoint.path),
            query: Vec::new(),
            fields: Vec::new(),
            // The protocol's own calls carry the headers its client always sends.
            headers: self.request_headers.clone(),
        }
    }

    fn with_token(&self, mut builder: RequestBuilder, placement: &TokenPlacement, token: &Token) -> RequestBuilder {
        let value = Json::String(token.as_str().to_owned());
        match placement {
            TokenPlacement::Header { name, prefix } => {
                let mut header = prefix.clone();
                header.push_str(token.as_str());
                builder.headers.push((name.clone(), header));
            }
            TokenPlacement::Query(name) => builder.query.push((name.clone(), value)),
            TokenPlacement::Body(name) if builder.method == Method::Get => builder.query.push((name.clone(), value)),
            TokenPlacement::Body(name) => builder.fields.push((name.clone(), value)),
        }
        builder
    }

}

fn bad(response: &HttpResponse, detail: &str) -> SessionError {
    SessionError::BadResponse { status: response.status, detail: detail.to_owned() }
}

/// One server's dialect of the login protocol: every built-in and configured protocol is a
/// [`ProtocolSpec`] read by these methods (one engine; no trait object, so the compiler drops what
/// no dialect uses).
impl ProtocolSpec {
    /// The server's base URL; the app's own requests get the token only on its origin.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The request that exchanges a `wx.login` code for a token; `fields` are the app's extra
    /// login fields, overriding the protocol's constants. `INVALID_OPTIONS` for fields the
    /// protocol cannot send (an object in a form).
    pub fn login_request(&self, code: &LoginCode, fields: &[(String, Json)]) -> Result<HttpRequest, SessionError> {
        let mut builder = self.request(&self.login, Purpose::Login);
        let code = (self.code_field.clone(), Json::String(code.0.clone()));
        let in_query = self.code_in_query || self.login.method == Method::Get;
        if in_query {
            builder.query.push(code);
        } else {
            builder.fields.push(code);
        }
        let constants = self.login_fields.iter().filter(|(name, _)| !fields.iter().any(|(given, _)| given == name));
        let extra: Vec<(String, Json)> = constants.chain(fields.iter()).filter(|(name, _)| *name != self.code_field).cloned().collect();
        if (in_query || self.format == BodyFormat::Form) && !extra.iter().all(|(_, v)| v.is_scalar()) {
            return Err(SessionError::invalid_option("fields", SCALARS_ONLY));
        }
        if in_query {
            builder.query.extend(extra);
        } else {
            builder.fields.extend(extra);
        }
        Ok(builder.build(self.format))
    }

    /// Decodes the login answer.
    pub fn decode_login(&self, response: &HttpResponse) -> Result<LoginGrant, SessionError> {
        let body = match self.verdict(response) {
            Verdict::Ok(body) => body,
            Verdict::Invalid(said) => return Err(SessionError::ServerRejected(said)),
            Verdict::NotRegistered(said) => return Err(SessionError::NotRegistered(said)),
            Verdict::Failed(error) => return Err(error),
        };
        let token = if self.token_path.is_empty() {
            // The whole answer is the token: a JSON string, or bare text — never an HTML page,
            // an object or a number.
            match &response.payload {
                Payload::Json(Json::String(text)) => Token::parse(text),
                Payload::Text(text) if !looks_like_html(text) => Token::parse(text.trim()),
                Payload::Json(_) | Payload::Text(_) => None,
            }
        } else {
            json_body(response)?.pointer(&self.token_path).and_then(Json::as_str).and_then(Token::parse)
        };
        let token = token.ok_or_else(|| bad(response, "the answer has no usable token"))?;
        let field = |path: &Option<String>| path.as_deref().and_then(|p| body?.pointer(p));
        Ok(LoginGrant {
            token,
            uid: field(&self.uid_path).filter(|u| u.id_text().is_some()).cloned(),
            user_info: field(&self.user_info_path).filter(|u| u.is_object()).cloned(),
            expires_in_s: field(&self.expires_in_path).and_then(Json::as_u64),
        })
    }

    /// The request that asks whether a token is valid; `None` if the server has no such endpoint.
    pub fn check_request(&self, token: &Token) -> Option<HttpRequest> {
        let endpoint = self.check.as_ref()?;
        Some(self.with_token(self.request(endpoint, Purpose::Check), &self.token, token).build(self.format))
    }

    /// Decodes the check answer. Errors mean "could not tell" — the token is kept.
    pub fn decode_check(&self, response: &HttpResponse) -> Result<TokenStatus, SessionError> {
        match (self.verdict(response), &self.check_valid) {
            (Verdict::Invalid(_) | Verdict::NotRegistered(_), _) => Ok(TokenStatus::Invalid),
            // A check field outranks the general success rule: API工厂's check-token answers every
            // token it does not accept with some non-zero `code`, and its client takes them all as
            // logged out. A 2xx that is not JSON, a 5xx, no answer: could not tell, the token stays.
            (_, Some(valid)) if is_success(response.status) => match valid.test(response.payload.json()) {
                Some(true) => Ok(TokenStatus::Valid),
                Some(false) => Ok(TokenStatus::Invalid),
                None => Err(json_body(response)
                    .err()
                    .unwrap_or_else(|| bad(response, "the answer does not say whether the token is valid"))),
            },
            (Verdict::Failed(error), _) => Err(error),
            (Verdict::Ok(_), _) => Ok(TokenStatus::Valid),
        }
    }

    /// The request that revokes a token.
    pub fn logout_request(&self, token: &Token) -> HttpRequest {
        let placement = self.logout_token.as_ref().unwrap_or(&self.token);
        self.with_token(self.request(&self.logout, Purpose::Logout), placement, token).build(self.format)
    }

    /// Whether an answer to one of the app's own requests says the session is invalid.
    pub fn says_session_invalid(&self, response: &HttpResponse) -> bool {
        matches!(self.verdict(response), Verdict::Invalid(_))
    }

    /// All the session reads of an app's reply with this status: the fields `says_session_invalid`
    /// looks at (`code` for API工厂; "" for the whole text body and the message fields under egg's
    /// message rule) and, on a failure, [`super::MESSAGE_PATHS`] for the error. Each path once.
    pub fn reply_paths(&self, status: u16) -> Vec<&str> {
        let mut paths: Vec<&str> = self.invalid_field.iter().map(|m| m.path.as_str()).collect();
        let message_rule = self.invalid_message.as_ref().is_some_and(|(statuses, _)| statuses.contains(&status));
        if message_rule {
            // "" asks for the whole body when it is text (egg-onerror's HTML page).
            paths.push("");
        }
        if message_rule || !is_success(status) {
            // API工厂's `code` and litemall's `errno` are message fields too: read them once.
            for path in super::MESSAGE_PATHS {
                if !paths.contains(&path) {
                    paths.push(path);
                }
            }
        }
        paths
    }

    /// Where the token travels on the app's own requests.
    pub fn token_placement(&self) -> &TokenPlacement {
        &self.token
    }

    /// Headers the app's own requests get unless they set them.
    pub fn request_headers(&self) -> &[(String, String)] {
        &self.request_headers
    }


    /// Whether a logout the server accepted ended the token there (litemall's cannot).
    pub fn logout_revokes(&self) -> bool {
        self.logout_revokes
    }

    /// Decodes the logout answer. Errors mean "not confirmed".
    pub fn decode_logout(&self, response: &HttpResponse) -> Result<Revocation, SessionError> {
        if self.logout_invalid_statuses.contains(&response.status) {
            return Ok(Revocation::AlreadyInvalid);
        }
        match self.verdict(response) {
            Verdict::Ok(_) => Ok(Revocation::Revoked),
            Verdict::Invalid(_) | Verdict::NotRegistered(_) => Ok(Revocation::AlreadyInvalid),
            Verdict::Failed(error) => Err(error),
        }
    }
}

/// Collects the parts of a request before encoding them in the protocol's format.
struct RequestBuilder {
    purpose: Purpose,
    method: Method,
    url: String,
    query: Vec<(String, Json)>,
    fields: Vec<(String, Json)>,
    headers: Vec<(String, String)>,
}

impl RequestBuilder {
    fn build(self, format: BodyFormat) -> HttpRequest {
        let mut url = self.url;
        if !self.query.is_empty() {
            url = append_query(&url, &form_encode(&self.query));
        }
        let body = match (self.fields.is_empty(), format) {
            (true, _) => None,
            (false, BodyFormat::Json) => Some(Body::Json(Json::Object(self.fields))),
            (false, BodyFormat::Form) => Some(Body::Form(form_encode(&self.fields))),
        };
        HttpRequest { purpose: self.purpose, method: self.method, url, headers: self.headers, body }
    }
}

/// `a=1&b=x%20y`: strings as they are, numbers and booleans as JavaScript prints them, `null` as
/// nothing (objects and arrays are refused before they get here).
pub fn form_encode(pairs: &[(String, Json)]) -> String {
    let mut out = String::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        percent_encode(name, &mut out);
        out.push('=');
        match value {
            Json::String(text) => percent_encode(text, &mut out),
            Json::Number(n) => percent_encode(&number_text(*n), &mut out),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Null | Json::Array(_) | Json::Object(_) => {}
        }
    }
    out
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn percent_encode(text: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX.get(usize::from(byte >> 4)).copied().unwrap_or(b'0')));
            out.push(char::from(HEX.get(usize::from(byte & 0xf)).copied().unwrap_or(b'0')));
        }
    }
}
