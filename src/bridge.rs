//! Conversions at the JavaScript boundary: options objects in (as JSON, read by `options`),
//! results and `Error`s out.

use js_sys::{Object, JSON};
use wasm_bindgen::{JsCast, JsValue};

use crate::error::SessionError;
use crate::json::Json;
use crate::session::{LoginOutcome, LogoutOutcome, ServerRevocation};
use crate::wx::{get, set};

/// An options argument as JSON, or `None` when it was not given. Functions and `undefined`
/// members vanish in `JSON.stringify`, as they would in any options object.
pub fn options_json(options: &JsValue) -> Result<Option<Json>, SessionError> {
    if options.is_undefined() || options.is_null() {
        return Ok(None);
    }
    if !options.is_object() || options.is_function() {
        return Err(SessionError::invalid_option("options", "must be an object"));
    }
    let text = JSON::stringify(options).ok().and_then(|s| s.as_string());
    text.as_deref()
        .and_then(|t| Json::parse(t).ok())
        .map(Some)
        .ok_or_else(|| SessionError::invalid_option("options", "must be a plain object of JSON values"))
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


fn string_option(object: &Object, name: &str) -> Result<Option<String>, SessionError> {
    let value = get(object, name);
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    value.as_string().map(Some).ok_or_else(|| SessionError::invalid_option(name, "must be a string"))
}

/// `options.protocol.adaptAnswer`, the one JS callback for backends configuration cannot describe.
pub fn adapt_answer_hook(options: &JsValue) -> Result<Option<js_sys::Function>, SessionError> {
    let hook = get(&get(options, "protocol"), "adaptAnswer");
    if hook.is_undefined() {
        return Ok(None);
    }
    hook.dyn_into::<js_sys::Function>()
        .map(Some)
        .map_err(|_| SessionError::invalid_option("protocol.adaptAnswer", "must be a function"))
}
