//! Conversions at the JavaScript boundary: options objects in, results and `Error`s out.
//! Options are read field by field (not through serde) so a wrong one is named precisely and the
//! module stays small.

use js_sys::{Object, JSON};
use wasm_bindgen::{JsCast, JsValue};

use crate::error::SessionError;
use crate::json::Json;
use crate::platform::Refresh;
use crate::protocol::ProtocolSpec;
use crate::protocol_options::{override_token_header, protocol_spec};
use crate::session::{LoginOutcome, LogoutOutcome, ServerRevocation, SessionConfig};
use crate::wx::{get, set};

/// Longest timeout `wx.request` allows.
const MAX_TIMEOUT_MS: f64 = 60_000.0;

/// Everything `init(options)` configures.
pub struct InitOptions {
    /// The developer server.
    pub base_url: String,
    /// Per-call timeout in ms.
    pub timeout_ms: u32,
    /// The session's tunables.
    pub config: SessionConfig,
    /// How the server speaks.
    pub protocol: ProtocolSpec,
}

/// Option names `init` understands; anything else is a typo worth reporting (`baseURL`...).
const INIT_OPTIONS: [&str; 10] = [
    "baseUrl",
    "wasmPath",
    "protocol",
    "loginLoadingText",
    "logoutLoadingText",
    "timeoutMs",
    "checkTrustMs",
    "tokenHeader",
    "tokenPrefix",
    "reloginLimit",
];

/// Reads and validates `init(options)`.
pub fn init_options(options: &JsValue) -> Result<InitOptions, SessionError> {
    let object = options
        .dyn_ref::<Object>()
        .filter(|_| !options.is_function())
        .ok_or_else(|| SessionError::invalid_option("options", "init needs an options object such as { baseUrl }"))?;
    for key in Object::keys(object).iter() {
        let key = key.as_string().unwrap_or_default();
        if !INIT_OPTIONS.contains(&key.as_str()) {
            return Err(SessionError::InvalidOptions { reason: "unknown option".to_owned(), option: key });
        }
    }
    let base_url = string_option(object, "baseUrl")?
        .ok_or_else(|| SessionError::invalid_option("baseUrl", "required: the developer server, e.g. https://api.example.com"))?;
    check_base_url(&base_url)?;
    let mut config = SessionConfig::default();
    if let Some(text) = string_option(object, "loginLoadingText")? {
        config.login_loading_text = text;
    }
    if let Some(text) = string_option(object, "logoutLoadingText")? {
        config.logout_loading_text = text;
    }
    if let Some(ms) = number_option(object, "checkTrustMs", 0.0, 24.0 * 3600.0 * 1000.0)? {
        config.check_trust_ms = ms as u64;
    }
    if let Some(limit) = number_option(object, "reloginLimit", 0.0, 5.0)? {
        config.relogin_limit = limit as u32;
    }
    let timeout_ms = number_option(object, "timeoutMs", 1.0, MAX_TIMEOUT_MS)?.unwrap_or(15_000.0) as u32;
    let base_url = base_url.trim_end_matches('/').to_owned();
    let mut protocol = protocol_spec(&get(object, "protocol"), &base_url)?;
    override_token_header(&mut protocol, string_option(object, "tokenHeader")?, string_option(object, "tokenPrefix")?);
    Ok(InitOptions { base_url, timeout_ms, config, protocol })
}

fn check_base_url(url: &str) -> Result<(), SessionError> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    let host = rest.and_then(|r| r.split(['/', '?', '#']).next()).unwrap_or("");
    if host.is_empty() || url.contains(['?', '#', ' ']) {
        return Err(SessionError::invalid_option("baseUrl", "must be an http(s) URL without query or fragment, e.g. https://api.example.com"));
    }
    Ok(())
}

fn string_option(object: &Object, name: &str) -> Result<Option<String>, SessionError> {
    let value = get(object, name);
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    value.as_string().map(Some).ok_or_else(|| SessionError::invalid_option(name, "must be a string"))
}

fn number_option(object: &Object, name: &str, min: f64, max: f64) -> Result<Option<f64>, SessionError> {
    let value = get(object, name);
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    match value.as_f64() {
        Some(n) if n >= min && n <= max => Ok(Some(n)),
        _ => Err(SessionError::invalid_option(name, "must be a number in the documented range")),
    }
}

/// Reads `logout(options)`: `{ reLaunch?: '/pages/...', refresh?: boolean }`.
pub fn logout_options(options: &JsValue) -> Result<Refresh, SessionError> {
    if options.is_undefined() || options.is_null() {
        return Ok(Refresh::TopPageOnShow);
    }
    let object = options.dyn_ref::<Object>().ok_or_else(|| SessionError::invalid_option("options", "logout takes an options object"))?;
    for key in Object::keys(object).iter() {
        let key = key.as_string().unwrap_or_default();
        if key != "reLaunch" && key != "refresh" {
            return Err(SessionError::InvalidOptions { reason: "unknown option".to_owned(), option: key });
        }
    }
    let refresh = get(object, "refresh");
    if !refresh.is_undefined() && refresh.as_bool().is_none() {
        return Err(SessionError::invalid_option("refresh", "must be a boolean"));
    }
    if let Some(url) = string_option(object, "reLaunch")? {
        if !url.starts_with('/') {
            return Err(SessionError::invalid_option("reLaunch", "must be an absolute page path such as /pages/index/index"));
        }
        return Ok(Refresh::ReLaunch(url));
    }
    Ok(if refresh.as_bool() == Some(false) { Refresh::Nothing } else { Refresh::TopPageOnShow })
}

/// A JS `Error` carrying `code`, and where known `status`, `serverCode`, `serverMessage`, `option`.
pub fn error_value(error: &SessionError) -> JsValue {
    let value = js_sys::Error::new(&error.message());
    set(&value, "code", &JsValue::from_str(error.code()));
    if let Some(status) = error.status() {
        set(&value, "status", &JsValue::from(status));
    }
    if let Some(said) = error.server_message() {
        if let Some(code) = &said.code {
            set(&value, "serverCode", &JsValue::from_str(code));
        }
        if let Some(message) = &said.message {
            set(&value, "serverMessage", &JsValue::from_str(message));
        }
    }
    if let SessionError::InvalidOptions { option, .. } = error {
        set(&value, "option", &JsValue::from_str(option));
    }
    value.into()
}

/// `{ token, uid?, userInfo?, expiresAt? }`.
pub fn login_value(outcome: &LoginOutcome) -> JsValue {
    let object = Object::new();
    let session = &outcome.session;
    set(&object, "token", &JsValue::from_str(session.token.as_str()));
    for (name, json) in [("uid", &session.uid), ("userInfo", &session.user_info)] {
        if let Some(value) = json.as_ref().and_then(|j| JSON::parse(&j.to_text()).ok()) {
            set(&object, name, &value);
        }
    }
    if let Some(at) = session.expires_at_ms {
        set(&object, "expiresAt", &JsValue::from(at as f64));
    }
    object.into()
}

/// `{ wasLoggedIn, serverConfirmed, server }`.
pub fn logout_value(outcome: &LogoutOutcome) -> JsValue {
    let object = Object::new();
    let server = match outcome.server {
        ServerRevocation::Revoked => "revoked",
        ServerRevocation::AlreadyInvalid => "alreadyInvalid",
        ServerRevocation::Unconfirmed => "unconfirmed",
        ServerRevocation::Nothing => "none",
    };
    set(&object, "wasLoggedIn", &JsValue::from_bool(outcome.was_logged_in));
    set(&object, "serverConfirmed", &JsValue::from_bool(outcome.server_confirmed()));
    set(&object, "server", &JsValue::from_str(server));
    object.into()
}

/// Reads `request(options)`: `url` required (a path such as `/orders` is resolved against
/// `baseUrl`), `loadingText` optional; everything else goes to `wx.request` as it is.
pub fn request_options(options: &JsValue, base_url: &str) -> Result<(Object, Option<String>), SessionError> {
    let object = options
        .dyn_ref::<Object>()
        .filter(|_| !options.is_function())
        .ok_or_else(|| SessionError::invalid_option("options", "request takes wx.request's options object"))?;
    let url = string_option(object, "url")?.ok_or_else(|| SessionError::invalid_option("url", "required"))?;
    let call = Object::assign(&Object::new(), object);
    if url.starts_with('/') {
        let mut absolute = base_url.to_owned();
        absolute.push_str(&url);
        set(&call, "url", &JsValue::from_str(&absolute));
    } else if crate::protocol::origin(&url).is_none() {
        return Err(SessionError::invalid_option("url", "must be an absolute http(s) URL or a path starting with '/'"));
    }
    let loading = string_option(object, "loadingText")?;
    Ok((call, loading))
}

/// Reads `login(options)`: `{ fields?: { ...extra login fields... } }`.
pub fn login_options(options: &JsValue) -> Result<Vec<(String, Json)>, SessionError> {
    if options.is_undefined() || options.is_null() {
        return Ok(Vec::new());
    }
    let object = options.dyn_ref::<Object>().ok_or_else(|| SessionError::invalid_option("options", "login takes an options object"))?;
    for key in Object::keys(object).iter() {
        let key = key.as_string().unwrap_or_default();
        if key != "fields" {
            return Err(SessionError::InvalidOptions { reason: "unknown option".to_owned(), option: key });
        }
    }
    let fields = get(object, "fields");
    if fields.is_undefined() || fields.is_null() {
        return Ok(Vec::new());
    }
    let text = JSON::stringify(&fields).ok().and_then(|s| s.as_string());
    match text.as_deref().map(Json::parse) {
        Some(Ok(Json::Object(members))) => Ok(members),
        _ => Err(SessionError::invalid_option("fields", "must be a plain object of JSON values")),
    }
}
