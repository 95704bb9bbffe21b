//! Reads `init({ protocol })`: a built-in name (`'apifm'`), or an object describing a custom
//! backend on top of a preset. Every mistake is reported with the full option path
//! (`protocol.login.path`), so a developer configuring a backend sees exactly what to fix.

use js_sys::{Array, Object, JSON};
use wasm_bindgen::{JsCast, JsValue};

use crate::error::SessionError;
use crate::json::Json;
use crate::platform::Method;
use crate::protocol::presets;
use crate::protocol::spec::{BodyFormat, Endpoint, FieldMatch, ProtocolSpec, TokenPlacement};
use crate::wx::get;

/// Builds the protocol from the `protocol` option (absent: the default protocol).
pub fn protocol_spec(value: &JsValue, base_url: &str) -> Result<ProtocolSpec, SessionError> {
    if value.is_undefined() || value.is_null() {
        return Ok(presets::default(base_url));
    }
    if let Some(name) = value.as_string() {
        return presets::preset(&name, base_url).ok_or_else(|| unknown_preset("protocol"));
    }
    let object = object_at(value, "protocol")?;
    let reader = Reader { object: object.clone(), at: "protocol".to_owned() };
    reader.only(&[
        "preset", "format", "login", "tokenPath", "uidPath", "userInfoPath", "expiresInPath", "success",
        "notRegistered", "invalidSession", "check", "logout", "token",
    ])?;
    let preset = reader.string("preset")?.unwrap_or_else(|| "default".to_owned());
    let mut spec = presets::preset(&preset, base_url).ok_or_else(|| unknown_preset("protocol.preset"))?;
    if let Some(format) = reader.string("format")? {
        spec.format = match format.as_str() {
            "json" => BodyFormat::Json,
            "form" => BodyFormat::Form,
            _ => return Err(reader.bad("format", "must be 'json' or 'form'")),
        };
    }
    if let Some(login) = reader.child("login")? {
        login.only(&["method", "path", "codeField", "codeIn", "fields"])?;
        login.endpoint(&mut spec.login)?;
        if let Some(field) = login.string("codeField")? {
            spec.code_field = field;
        }
        if let Some(place) = login.string("codeIn")? {
            spec.code_in_query = match place.as_str() {
                "body" => false,
                "query" => true,
                _ => return Err(login.bad("codeIn", "must be 'body' or 'query'")),
            };
        }
        if let Some(fields) = login.child("fields")? {
            spec.login_fields = fields.json_members()?;
        }
    }
    if let Some(path) = reader.string("tokenPath")? {
        spec.token_path = path;
    }
    for (name, slot) in [
        ("uidPath", &mut spec.uid_path),
        ("userInfoPath", &mut spec.user_info_path),
        ("expiresInPath", &mut spec.expires_in_path),
    ] {
        if reader.has(name) {
            *slot = reader.string(name)?;
        }
    }
    for (name, slot) in [("success", &mut spec.success), ("notRegistered", &mut spec.not_registered)] {
        if reader.has(name) {
            *slot = reader.child(name)?.map(|m| m.field_match()).transpose()?;
        }
    }
    if let Some(invalid) = reader.child("invalidSession")? {
        invalid.only(&["statuses", "path", "values"])?;
        if let Some(statuses) = invalid.statuses("statuses")? {
            spec.invalid_statuses = statuses;
        }
        spec.invalid_field = if invalid.has("path") { Some(invalid.field_match()?) } else { None };
    }
    if reader.has("check") {
        spec.check = match reader.child("check")? {
            None => None,
            Some(check) => {
                check.only(&["method", "path", "valid"])?;
                let mut endpoint = spec.check.clone().unwrap_or_else(|| Endpoint::new(Method::Get, ""));
                check.endpoint(&mut endpoint)?;
                if endpoint.path.is_empty() {
                    return Err(check.bad("path", "required when the preset has no check endpoint"));
                }
                if check.has("valid") {
                    spec.check_valid = check.child("valid")?.map(|m| m.field_match()).transpose()?;
                }
                Some(endpoint)
            }
        };
    }
    if let Some(logout) = reader.child("logout")? {
        logout.only(&["method", "path", "alreadyInvalidStatuses"])?;
        logout.endpoint(&mut spec.logout)?;
        if let Some(statuses) = logout.statuses("alreadyInvalidStatuses")? {
            spec.logout_invalid_statuses = statuses;
        }
    }
    if let Some(token) = reader.child("token")? {
        spec.token = token.placement()?;
        spec.logout_token = None;
    }
    Ok(spec)
}

/// Applies `tokenHeader` / `tokenPrefix` from `init`, the short way to rename the header.
pub fn override_token_header(spec: &mut ProtocolSpec, name: Option<String>, prefix: Option<String>) {
    if name.is_none() && prefix.is_none() {
        return;
    }
    let (old_name, old_prefix) = match &spec.token {
        TokenPlacement::Header { name, prefix } => (name.clone(), prefix.clone()),
        _ => ("Authorization".to_owned(), String::new()),
    };
    spec.token = TokenPlacement::Header { name: name.unwrap_or(old_name), prefix: prefix.unwrap_or(old_prefix) };
}

fn unknown_preset(option: &str) -> SessionError {
    let mut reason = String::from("must be one of ");
    reason.push_str(&presets::NAMES.join(", "));
    reason.push_str(", or an object describing the protocol");
    SessionError::invalid_option(option, &reason)
}

fn object_at<'a>(value: &'a JsValue, at: &str) -> Result<&'a Object, SessionError> {
    value
        .dyn_ref::<Object>()
        .filter(|_| !Array::is_array(value) && !value.is_function())
        .ok_or_else(|| SessionError::invalid_option(at, "must be an object"))
}

/// A JS object being read, and its option path for error messages.
struct Reader {
    object: Object,
    at: String,
}

impl Reader {
    fn path(&self, name: &str) -> String {
        let mut path = self.at.clone();
        path.push('.');
        path.push_str(name);
        path
    }

    fn bad(&self, name: &str, reason: &str) -> SessionError {
        SessionError::InvalidOptions { option: self.path(name), reason: reason.to_owned() }
    }

    fn value(&self, name: &str) -> JsValue {
        get(&self.object, name)
    }

    fn has(&self, name: &str) -> bool {
        !self.value(name).is_undefined()
    }

    /// Rejects keys outside `known` (a typo must not silently fall back to a default).
    fn only(&self, known: &[&str]) -> Result<(), SessionError> {
        for key in Object::keys(&self.object).iter() {
            let key = key.as_string().unwrap_or_default();
            if !known.contains(&key.as_str()) {
                return Err(self.bad(&key, "unknown option"));
            }
        }
        Ok(())
    }

    fn string(&self, name: &str) -> Result<Option<String>, SessionError> {
        let value = self.value(name);
        if value.is_undefined() || value.is_null() {
            return Ok(None);
        }
        value.as_string().map(Some).ok_or_else(|| self.bad(name, "must be a string"))
    }

    fn child(&self, name: &str) -> Result<Option<Reader>, SessionError> {
        let value = self.value(name);
        if value.is_undefined() || value.is_null() {
            return Ok(None);
        }
        let path = self.path(name);
        let object = value.dyn_into::<Object>().ok().filter(|o| !Array::is_array(o) && !o.is_function());
        match object {
            Some(object) => Ok(Some(Reader { object, at: path })),
            None => Err(SessionError::invalid_option(&path, "must be an object")),
        }
    }

    fn endpoint(&self, endpoint: &mut Endpoint) -> Result<(), SessionError> {
        if let Some(method) = self.string("method")? {
            endpoint.method = match method.to_ascii_uppercase().as_str() {
                "GET" => Method::Get,
                "POST" => Method::Post,
                _ => return Err(self.bad("method", "must be 'GET' or 'POST'")),
            };
        }
        if let Some(path) = self.string("path")? {
            if !path.starts_with('/') {
                return Err(self.bad("path", "must start with '/' (it is appended to baseUrl)"));
            }
            endpoint.path = path;
        }
        Ok(())
    }

    fn field_match(&self) -> Result<FieldMatch, SessionError> {
        let path = self.string("path")?.ok_or_else(|| self.bad("path", "required: the field to look at, e.g. 'code'"))?;
        let values = self.value("values");
        let values = values
            .dyn_ref::<Array>()
            .filter(|a| a.length() > 0)
            .ok_or_else(|| self.bad("values", "required: a non-empty array of accepted values, e.g. [0]"))?;
        let mut texts = Vec::new();
        for value in values.iter() {
            let text = JSON::stringify(&value).ok().and_then(|s| s.as_string());
            let normalised = text.as_deref().and_then(|t| Json::parse(t).ok()).map(|j| j.to_text());
            texts.push(normalised.ok_or_else(|| self.bad("values", "must hold JSON values (numbers, strings, booleans)"))?);
        }
        Ok(FieldMatch { path, values: texts })
    }

    fn statuses(&self, name: &str) -> Result<Option<Vec<u16>>, SessionError> {
        let value = self.value(name);
        if value.is_undefined() {
            return Ok(None);
        }
        let array = value.dyn_ref::<Array>().ok_or_else(|| self.bad(name, "must be an array of HTTP statuses"))?;
        let mut statuses = Vec::new();
        for item in array.iter() {
            match item.as_f64() {
                Some(n) if (100.0..600.0).contains(&n) && n.fract() == 0.0 => statuses.push(n as u16),
                _ => return Err(self.bad(name, "must hold HTTP statuses (100-599)")),
            }
        }
        Ok(Some(statuses))
    }

    fn json_members(&self) -> Result<Vec<(String, Json)>, SessionError> {
        let text = JSON::stringify(&self.object).ok().and_then(|s| s.as_string());
        match text.as_deref().map(Json::parse) {
            Some(Ok(Json::Object(members))) => Ok(members),
            _ => Err(SessionError::invalid_option(&self.at, "must be a plain object of JSON values")),
        }
    }

    fn placement(&self) -> Result<TokenPlacement, SessionError> {
        self.only(&["header", "prefix", "query", "body"])?;
        if let Some(name) = self.string("header")? {
            return Ok(TokenPlacement::Header { name, prefix: self.string("prefix")?.unwrap_or_default() });
        }
        if let Some(name) = self.string("query")? {
            return Ok(TokenPlacement::Query(name));
        }
        if let Some(name) = self.string("body")? {
            return Ok(TokenPlacement::Body(name));
        }
        Err(SessionError::invalid_option(&self.at, "needs one of header, query or body"))
    }
}
