//! Conversions at the JavaScript boundary: JS values in — read by serde-wasm-bindgen into the
//! option structs of [`crate::options`] and into [`Json`] — and results and `Error`s out. No JSON
//! text crosses here in either direction.

use js_sys::{Object, Reflect};
use serde::de::DeserializeOwned;
use wasm_bindgen::{JsCast, JsValue};

use crate::error::SessionError;
use crate::json::Json;
use crate::session::{LogoutOutcome, ServerRevocation};
use crate::store::StoredSession;
use crate::wx::{get, get_any, set};

/// Reads an options argument into `T` and lists the keys the object had (for the unknown-key
/// check: serde reads only the fields `T` declares). `undefined`/`null` read as `T::default()`.
pub fn read_options<T: DeserializeOwned + Default>(options: &JsValue) -> Result<(T, Vec<String>), SessionError> {
    if options.is_undefined() || options.is_null() {
        return Ok((T::default(), Vec::new()));
    }
    // `is_object` (typeof "object", not null) rather than `instanceof Object`: an object from
    // another realm (a page's, a test's) is still an object; functions and arrays are refused.
    if !options.is_object() || js_sys::Array::is_array(options) {
        return Err(SessionError::invalid_option("options", "must be an object"));
    }
    let object: &Object = options.unchecked_ref();
    let keys: Vec<String> = Object::keys(object).iter().filter_map(|k| k.as_string()).collect();
    match serde_wasm_bindgen::from_value::<T>(options.clone()) {
        Ok(input) => Ok((input, keys)),
        Err(error) => Err(name_the_option::<T>(options, &keys).unwrap_or_else(|| {
            SessionError::invalid_option("options", &error.to_string())
        })),
    }
}

/// serde's error does not say which field it was reading: try the keys one at a time (every
/// declared field is optional, so a one-key object fails only if that key is at fault). The
/// reason is told in JavaScript's terms (`must be a number, not the string "30s"`) rather than
/// serde's (`expected f64`) wherever the option's type is known.
fn name_the_option<T: DeserializeOwned>(options: &JsValue, keys: &[String]) -> Option<SessionError> {
    keys.iter().find_map(|key| {
        let value = get(options, key);
        let one = Object::new();
        set(&one, key, &value);
        serde_wasm_bindgen::from_value::<T>(one.into()).err().map(|error| {
            let reason = match crate::options::expected_type(key) {
                Some(expected) => crate::json::join(&["must be ", expected, ", not ", &describe_value(&value)]),
                None => error.to_string(),
            };
            SessionError::invalid_option(key, &reason)
        })
    })
}

/// A JS value as an error message shows it: `the string "30s"`, `the number 5`, `true`, `null`,
/// `an array`… (strings cut at 40 characters).
fn describe_value(value: &JsValue) -> String {
    if let Some(text) = value.as_string() {
        let cut: String = text.chars().take(40).collect();
        let more = if cut.len() < text.len() { "…" } else { "" };
        return crate::json::join(&["the string \"", &cut, more, "\""]);
    }
    if let Some(n) = value.as_f64() {
        return crate::json::join(&["the number ", &crate::json::number_text(n)]);
    }
    let kind = match value.as_bool() {
        Some(true) => "true",
        Some(false) => "false",
        None if value.is_null() => "null",
        None if value.is_undefined() => "undefined",
        None if value.is_function() => "a function",
        None if js_sys::Array::is_array(value) => "an array",
        None => "an object",
    };
    kind.to_owned()
}

/// The `protocol` option as a [`Json`] value (a preset name or a description object), without
/// its `adaptAnswer` function, which [`adapt_answer_hook`] takes.
pub fn protocol_option(options: &JsValue) -> Result<Option<Json>, SessionError> {
    let protocol = get(options, "protocol");
    if protocol.is_undefined() || protocol.is_null() {
        return Ok(None);
    }
    let value = match protocol.dyn_ref::<Object>() {
        Some(object) if !protocol.is_function() && !js_sys::Array::is_array(&protocol) => {
            let copy = Object::assign(&Object::new(), object);
            let _ = Reflect::delete_property(&copy, &JsValue::from_str("adaptAnswer"));
            copy.into()
        }
        _ => protocol,
    };
    serde_wasm_bindgen::from_value::<Json>(value).map(Some).map_err(|error| {
        SessionError::invalid_option("protocol", &crate::json::join(&["must be a preset name or an object: ", &error.to_string()]))
    })
}

/// A [`Json`] value as a plain JS value. Built with js-sys rather than serde-wasm-bindgen's
/// `to_value`: its generic serializer costs ~700 B brotli of the 56 KB budget for what these
/// twenty lines do (measured; README "Dependencies").
pub fn to_js(value: &Json) -> JsValue {
    match value {
        Json::Null => JsValue::NULL,
        Json::Bool(b) => JsValue::from_bool(*b),
        Json::Number(n) => JsValue::from_f64(*n),
        Json::String(s) => JsValue::from_str(s),
        Json::Array(items) => items.iter().map(to_js).collect::<js_sys::Array>().into(),
        Json::Object(members) => {
            let object = Object::new();
            for (key, member) in members {
                set(&object, key, &to_js(member));
            }
            object.into()
        }
    }
}

/// A JS `Error` carrying `code`, and where known `status`, `serverCode`, `serverMessage`, `option`.
pub fn error_value(error: &SessionError) -> JsValue {
    let value = js_sys::Error::new(&error.to_string());
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

/// `{ token, uid?, userInfo?, expiresAt? }`: what `login()` resolves with and `getSession()` returns.
pub fn session_value(session: &StoredSession) -> JsValue {
    let object = Object::new();
    set(&object, "token", &JsValue::from_str(session.token.as_str()));
    if let Some(uid) = &session.uid {
        set(&object, "uid", &to_js(uid));
    }
    if let Some(info) = &session.user_info {
        set(&object, "userInfo", &to_js(info));
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
        ServerRevocation::NotRevocable => "notRevocable",
    };
    set(&object, "wasLoggedIn", &JsValue::from_bool(outcome.was_logged_in));
    set(&object, "serverConfirmed", &JsValue::from_bool(outcome.server_confirmed()));
    set(&object, "server", &JsValue::from_str(server));
    object.into()
}

/// Reads `request(options)` / `uploadFile(options)`: `url` required (a path such as `/orders` is
/// resolved against `baseUrl`), `loadingText` optional; everything else goes to `wx` as it is.
/// Returns a copy of the options with the absolute URL, and the loading text.
pub fn call_options(options: &JsValue, base_url: &str) -> Result<(Object, Option<String>), SessionError> {
    let object = options
        .dyn_ref::<Object>()
        .filter(|_| !options.is_function())
        .ok_or_else(|| SessionError::invalid_option("options", "must be an object"))?;
    let (input, _) = read_options::<crate::options::OptionsInput>(options)?;
    let url = input.url.ok_or_else(|| SessionError::invalid_option("url", "required"))?;
    let call = Object::assign(&Object::new(), object);
    if url.starts_with('/') {
        set(&call, "url", &JsValue::from_str(&crate::json::join(&[base_url, &url])));
    } else if crate::protocol::origin(&url).is_none() {
        return Err(SessionError::invalid_option("url", "must be an absolute http(s) URL or a path starting with '/'"));
    } else {
        set(&call, "url", &JsValue::from_str(&url));
    }
    Ok((call, input.loading_text))
}

/// `options.protocol.adaptAnswer`, the one JS callback for backends configuration cannot describe.
pub fn adapt_answer_hook(options: &JsValue) -> Result<Option<js_sys::Function>, SessionError> {
    let hook = get_any(&get(options, "protocol"), "adaptAnswer");
    if hook.is_undefined() {
        return Ok(None);
    }
    hook.dyn_into::<js_sys::Function>()
        .map(Some)
        .map_err(|_| SessionError::invalid_option("protocol.adaptAnswer", "must be a function"))
}
