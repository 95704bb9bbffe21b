//! Reads the options of `init`, `login` and `logout` — and the `protocol` description inside
//! `init`. The top-level objects arrive as derived structs (serde-wasm-bindgen reads them straight
//! from the JS objects); the nested `protocol` description arrives as a [`Json`] value and is
//! checked field by field here. Pure Rust, so every rule is tested natively and every mistake is
//! reported with its full option path (`protocol.login.path`).

use serde::Deserialize;

use crate::error::SessionError;
use crate::json::Json;
use crate::platform::{Method, Refresh};
use crate::protocol::presets;
use crate::protocol::spec::{BodyFormat, Endpoint, FieldMatch, ProtocolSpec, TokenPlacement};
use crate::session::SessionConfig;

/// Longest timeout `wx.request` allows, in ms.
const MAX_TIMEOUT_MS: u64 = 60_000;

/// The keys `init(options)` accepts. serde reads only the fields it declares, so an unknown key
/// (`baseURL`) is caught by comparing the object's own keys with this list.
pub const INIT_KEYS: [&str; 10] = [
    "baseUrl", "wasmPath", "protocol", "loginLoadingText", "logoutLoadingText", "timeoutMs",
    "checkTrustMs", "tokenHeader", "tokenPrefix", "reloginLimit",
];
/// The keys `login(options)` accepts.
pub const LOGIN_KEYS: [&str; 1] = ["fields"];
/// The keys `logout(options)` accepts.
pub const LOGOUT_KEYS: [&str; 2] = ["reLaunch", "refresh"];

/// Every options object of the JS API — `init`, `login`, `logout`, `request`/`uploadFile` — as one
/// derived struct: serde-wasm-bindgen's generic reading code is then compiled once rather than
/// once per call, which the 56 KB budget needs (README, "Dependencies"). Which keys each call
/// accepts is checked explicitly ([`INIT_KEYS`], [`LOGIN_KEYS`], [`LOGOUT_KEYS`]); `request`'s
/// object also carries `wx.request`'s own keys, which serde leaves alone. `protocol` is read
/// apart, as a [`Json`] value: it may hold the `adaptAnswer` function, which is no JSON value.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OptionsInput {
    /// init: the developer server.
    pub base_url: Option<String>,
    /// init: where the module lives in the package (used by the JS loader; accepted here).
    pub wasm_path: Option<String>,
    /// init: loading text during login.
    pub login_loading_text: Option<String>,
    /// init: loading text during logout.
    pub logout_loading_text: Option<String>,
    /// init: per-call timeout in ms.
    pub timeout_ms: Option<f64>,
    /// init: how long a server check is trusted, in ms.
    pub check_trust_ms: Option<f64>,
    /// init: header carrying the token.
    pub token_header: Option<String>,
    /// init: text before the token in that header.
    pub token_prefix: Option<String>,
    /// init: re-login rounds per request.
    pub relogin_limit: Option<f64>,
    /// login: extra login fields for the server.
    pub fields: Option<Json>,
    /// logout: page to `wx.reLaunch` to afterwards.
    pub re_launch: Option<String>,
    /// logout: `false` refreshes no page.
    pub refresh: Option<bool>,
    /// request/uploadFile: absolute URL, or a path resolved against `baseUrl`.
    pub url: Option<String>,
    /// request/uploadFile: loading title while the call (and any re-login) runs.
    pub loading_text: Option<String>,
}

/// What an option of [`OptionsInput`] must be, in JavaScript's words (for error messages; `None`
/// for keys it does not declare).
pub fn expected_type(key: &str) -> Option<&'static str> {
    Some(match key {
        "baseUrl" | "wasmPath" | "loginLoadingText" | "logoutLoadingText" | "tokenHeader" | "tokenPrefix"
        | "reLaunch" | "url" | "loadingText" => "a string",
        "timeoutMs" | "checkTrustMs" | "reloginLimit" => "a number",
        "refresh" => "true or false",
        "fields" => "a JSON value",
        _ => return None,
    })
}

/// Everything `init(options)` configures.
#[derive(Debug, Clone, PartialEq)]
pub struct InitOptions {
    /// Per-call timeout in ms.
    pub timeout_ms: u32,
    /// The session's tunables.
    pub config: SessionConfig,
    /// How the server speaks (its base URL included).
    pub protocol: ProtocolSpec,
}

/// Rejects keys outside `known`: a typo must not silently fall back to a default.
pub fn only_known(keys: &[String], known: &[&str]) -> Result<(), SessionError> {
    match keys.iter().find(|k| !known.contains(&k.as_str())) {
        Some(key) => Err(SessionError::invalid_option(key, "unknown option")),
        None => Ok(()),
    }
}

/// A whole number within `min..=max`, named `option` in errors.
fn whole(value: Option<f64>, option: &str, min: u64, max: u64) -> Result<Option<u64>, SessionError> {
    match value {
        None => Ok(None),
        Some(n) if n.fract() != 0.0 => Err(SessionError::invalid_option(option, "must be a whole number")),
        Some(n) if n >= min as f64 && n <= max as f64 => Ok(Some(n as u64)),
        Some(_) => Err(SessionError::invalid_option(option, "is out of the documented range")),
    }
}

/// Validates `init(options)`: `input` holds the declared keys, `keys` every key the object had,
/// `protocol` the `protocol` option.
pub fn init_options(input: OptionsInput, keys: &[String], protocol: Option<&Json>) -> Result<InitOptions, SessionError> {
    only_known(keys, &INIT_KEYS)?;
    let base_url = input
        .base_url
        .ok_or_else(|| SessionError::invalid_option("baseUrl", "required: the developer server, e.g. https://api.example.com"))?;
    if crate::protocol::origin(&base_url).is_none() || base_url.contains(['?', '#', ' ']) {
        return Err(SessionError::invalid_option(
            "baseUrl",
            "must be an http(s) URL without query or fragment, e.g. https://api.example.com",
        ));
    }
    let base_url = base_url.trim_end_matches('/');
    let mut config = SessionConfig::default();
    if let Some(text) = input.login_loading_text {
        config.login_loading_text = text;
    }
    if let Some(text) = input.logout_loading_text {
        config.logout_loading_text = text;
    }
    if let Some(ms) = whole(input.check_trust_ms, "checkTrustMs", 0, 24 * 3600 * 1000)? {
        config.check_trust_ms = ms;
    }
    if let Some(limit) = whole(input.relogin_limit, "reloginLimit", 0, 5)? {
        config.relogin_limit = limit as u32;
    }
    let timeout_ms = whole(input.timeout_ms, "timeoutMs", 1, MAX_TIMEOUT_MS)?.unwrap_or(15_000) as u32;
    let mut protocol = protocol_spec(protocol, base_url)?;
    if input.token_header.is_some() || input.token_prefix.is_some() {
        let (old_name, old_prefix) = match &protocol.token {
            TokenPlacement::Header { name, prefix } => (name.clone(), prefix.clone()),
            _ => ("Authorization".to_owned(), String::new()),
        };
        protocol.token = TokenPlacement::Header {
            name: input.token_header.unwrap_or(old_name),
            prefix: input.token_prefix.unwrap_or(old_prefix),
        };
    }
    Ok(InitOptions { timeout_ms, config, protocol })
}

/// Validates `logout(options)`: `{ reLaunch?: '/pages/...', refresh?: boolean }`.
pub fn logout_options(input: OptionsInput, keys: &[String]) -> Result<Refresh, SessionError> {
    only_known(keys, &LOGOUT_KEYS)?;
    if let Some(url) = input.re_launch {
        if !url.starts_with('/') {
            return Err(SessionError::invalid_option("reLaunch", "must be an absolute page path such as /pages/index/index"));
        }
        return Ok(Refresh::ReLaunch(url));
    }
    Ok(if input.refresh == Some(false) { Refresh::Nothing } else { Refresh::TopPageOnShow })
}

/// Validates `login(options)`: `{ fields?: { ...extra login fields... } }`.
pub fn login_fields(input: OptionsInput, keys: &[String]) -> Result<Vec<(String, Json)>, SessionError> {
    only_known(keys, &LOGIN_KEYS)?;
    match input.fields {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Object(members)) => Ok(members),
        Some(_) => Err(SessionError::invalid_option("fields", "must be a plain object of JSON values")),
    }
}

/// Builds the protocol from the `protocol` option (absent: the default protocol).
pub fn protocol_spec(value: Option<&Json>, base_url: &str) -> Result<ProtocolSpec, SessionError> {
    let value = match value {
        None | Some(Json::Null) => return Ok(presets::default(base_url)),
        Some(Json::String(name)) => return presets::preset(name, base_url).ok_or_else(|| unknown_preset("protocol")),
        Some(value) => value,
    };
    let custom = Fields::of(value, "protocol")?;
    custom.only(&[
        "preset", "format", "login", "tokenPath", "uidPath", "userInfoPath", "expiresInPath", "success",
        "notRegistered", "invalidSession", "check", "logout", "token", "adaptAnswer",
    ])?;
    let preset = custom.string("preset")?.unwrap_or_else(|| "default".to_owned());
    let mut spec = presets::preset(&preset, base_url).ok_or_else(|| unknown_preset("protocol.preset"))?;
    match custom.string("format")?.as_deref() {
        None => {}
        Some("json") => spec.format = BodyFormat::Json,
        Some("form") => spec.format = BodyFormat::Form,
        Some(_) => return Err(custom.bad("format", "must be 'json' or 'form'")),
    }
    if let Some(login) = custom.child("login")? {
        login.only(&["method", "path", "codeField", "codeIn", "fields"])?;
        login.endpoint(&mut spec.login)?;
        if let Some(field) = login.string("codeField")? {
            spec.code_field = field;
        }
        match login.string("codeIn")?.as_deref() {
            None => {}
            Some("body") => spec.code_in_query = false,
            Some("query") => spec.code_in_query = true,
            Some(_) => return Err(login.bad("codeIn", "must be 'body' or 'query'")),
        }
        if let Some(fields) = login.child("fields")? {
            spec.login_fields = fields.members.to_vec();
        }
    }
    if let Some(path) = custom.string("tokenPath")? {
        spec.token_path = path;
    }
    for (name, slot) in [
        ("uidPath", &mut spec.uid_path),
        ("userInfoPath", &mut spec.user_info_path),
        ("expiresInPath", &mut spec.expires_in_path),
    ] {
        if custom.value(name).is_some() {
            *slot = custom.string(name)?;
        }
    }
    for (name, slot) in [("success", &mut spec.success), ("notRegistered", &mut spec.not_registered)] {
        if custom.value(name).is_some() {
            *slot = custom.child(name)?.map(|m| m.field_match()).transpose()?;
        }
    }
    if let Some(invalid) = custom.child("invalidSession")? {
        invalid.only(&["statuses", "path", "values", "message"])?;
        if let Some(statuses) = invalid.statuses("statuses")? {
            spec.invalid_statuses = statuses;
        }
        spec.invalid_field = if invalid.value("path").is_some() { Some(invalid.field_match()?) } else { None };
        if invalid.value("message").is_some() {
            spec.invalid_message = match invalid.child("message")? {
                None => None,
                Some(message) => {
                    message.only(&["statuses", "text"])?;
                    let text = message.string("text")?.ok_or_else(|| message.bad("text", "required: the words that mean the session is invalid"))?;
                    Some((message.statuses("statuses")?.unwrap_or_default(), text))
                }
            };
        }
    }
    if custom.value("check").is_some() {
        spec.check = match custom.child("check")? {
            None => None,
            Some(check) => {
                check.only(&["method", "path", "valid"])?;
                let mut endpoint = spec.check.clone().unwrap_or(Endpoint { method: Method::Get, path: String::new() });
                check.endpoint(&mut endpoint)?;
                if endpoint.path.is_empty() {
                    return Err(check.bad("path", "required when the preset has no check endpoint"));
                }
                if check.value("valid").is_some() {
                    spec.check_valid = check.child("valid")?.map(|m| m.field_match()).transpose()?;
                }
                Some(endpoint)
            }
        };
    }
    if let Some(logout) = custom.child("logout")? {
        logout.only(&["method", "path", "alreadyInvalidStatuses", "revokes"])?;
        logout.endpoint(&mut spec.logout)?;
        match logout.value("revokes") {
            None | Some(Json::Null) => {}
            Some(Json::Bool(revokes)) => spec.logout_revokes = *revokes,
            Some(_) => return Err(logout.bad("revokes", "must be a boolean")),
        }
        if let Some(statuses) = logout.statuses("alreadyInvalidStatuses")? {
            spec.logout_invalid_statuses = statuses;
        }
    }
    if let Some(token) = custom.child("token")? {
        spec.token = token.placement()?;
        spec.logout_token = None;
    }
    let in_form = spec.format == BodyFormat::Form || spec.code_in_query || spec.login.method == Method::Get;
    if in_form && !spec.login_fields.iter().all(|(_, v)| v.is_scalar()) {
        return Err(custom.bad("login.fields", crate::protocol::spec::SCALARS_ONLY));
    }
    Ok(spec)
}

fn unknown_preset(option: &str) -> SessionError {
    SessionError::invalid_option(option, "must be default, egg, apifm, litemall, or an object describing the protocol")
}

/// The members of one options object, and its option path for error messages.
struct Fields<'a> {
    members: &'a [(String, Json)],
    at: String,
}

impl<'a> Fields<'a> {
    // Not inlined: protocol_spec calls these dozens of times, and one copy each is what fits the
    // size budget.
    #[inline(never)]
    fn of(value: &'a Json, at: &str) -> Result<Fields<'a>, SessionError> {
        match value {
            Json::Object(members) => Ok(Fields { members, at: at.to_owned() }),
            _ => Err(SessionError::invalid_option(at, "must be an object")),
        }
    }

    #[inline(never)]
    fn path(&self, name: &str) -> String {
        if self.at == "options" {
            return name.to_owned();
        }
        let mut path = self.at.clone();
        path.push('.');
        path.push_str(name);
        path
    }

    #[inline(never)]
    fn bad(&self, name: &str, reason: &str) -> SessionError {
        SessionError::InvalidOptions { option: self.path(name), reason: reason.to_owned() }
    }

    /// The member, if present (a `null` is present: it switches a preset's feature off).
    #[inline(never)]
    fn value(&self, name: &str) -> Option<&'a Json> {
        self.members.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// Rejects keys outside `known`: a typo must not silently fall back to a default.
    #[inline(never)]
    fn only(&self, known: &[&str]) -> Result<(), SessionError> {
        match self.members.iter().find(|(k, _)| !known.contains(&k.as_str())) {
            Some((key, _)) => Err(self.bad(key, "unknown option")),
            None => Ok(()),
        }
    }

    #[inline(never)]
    fn string(&self, name: &str) -> Result<Option<String>, SessionError> {
        match self.value(name) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(self.bad(name, "must be a string")),
        }
    }

    #[inline(never)]
    fn child(&self, name: &str) -> Result<Option<Fields<'a>>, SessionError> {
        match self.value(name) {
            None | Some(Json::Null) => Ok(None),
            Some(value) => Fields::of(value, &self.path(name)).map(Some),
        }
    }

    #[inline(never)]
    fn endpoint(&self, endpoint: &mut Endpoint) -> Result<(), SessionError> {
        match self.string("method")?.map(|m| m.to_ascii_uppercase()).as_deref() {
            None => {}
            Some("GET") => endpoint.method = Method::Get,
            Some("POST") => endpoint.method = Method::Post,
            Some(_) => return Err(self.bad("method", "must be 'GET' or 'POST'")),
        }
        if let Some(path) = self.string("path")? {
            // An absolute URL puts the endpoint on another host (API工厂's logout): naming it here
            // is what allows the token to go there.
            if !path.starts_with('/') && crate::protocol::origin(&path).is_none() {
                return Err(self.bad("path", "must start with '/' (appended to baseUrl) or be an absolute http(s) URL"));
            }
            endpoint.path = path;
        }
        Ok(())
    }

    #[inline(never)]
    fn field_match(&self) -> Result<FieldMatch, SessionError> {
        let path = self.string("path")?.ok_or_else(|| self.bad("path", "required: the field to look at, e.g. 'code'"))?;
        match self.value("values") {
            Some(Json::Array(values)) if !values.is_empty() && values.iter().all(Json::is_scalar) => {
                Ok(FieldMatch { path, values: values.clone() })
            }
            _ => Err(self.bad("values", "required: a non-empty array of accepted values, e.g. [0]")),
        }
    }

    #[inline(never)]
    fn statuses(&self, name: &str) -> Result<Option<Vec<u16>>, SessionError> {
        let Some(value) = self.value(name) else { return Ok(None) };
        let Json::Array(items) = value else { return Err(self.bad(name, "must be an array of HTTP statuses")) };
        items
            .iter()
            .map(|item| item.as_u64().filter(|s| (100..600).contains(s)).map(|s| s as u16))
            .collect::<Option<Vec<u16>>>()
            .map(Some)
            .ok_or_else(|| self.bad(name, "must hold HTTP statuses (100-599)"))
    }

    #[inline(never)]
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::DeserializeOwned;

    #[test]
    fn every_option_outside_protocol_has_an_expected_type() {
        for key in INIT_KEYS.iter().chain(LOGIN_KEYS.iter()).chain(LOGOUT_KEYS.iter()).chain(["url", "loadingText"].iter()) {
            if *key != "protocol" {
                assert!(expected_type(key).is_some(), "{key}");
            }
        }
        assert_eq!(expected_type("protocol"), None);
        assert_eq!(expected_type("baseURL"), None);
    }

    /// What the bridge does with a JS object, with serde_json in serde-wasm-bindgen's place.
    fn read<T: DeserializeOwned>(text: &str) -> Result<(T, Vec<String>, Json), SessionError> {
        let json: Json = serde_json::from_str(text).unwrap();
        let Json::Object(members) = &json else { return Err(SessionError::invalid_option("options", "must be an object")) };
        let keys = members.iter().map(|(k, _)| k.clone()).collect();
        let input = serde_json::from_str(text).map_err(|e| SessionError::invalid_option("?", &e.to_string()))?;
        Ok((input, keys, json))
    }

    fn init(text: &str) -> Result<InitOptions, SessionError> {
        let (input, keys, json) = read::<OptionsInput>(text)?;
        init_options(input, &keys, json.get("protocol"))
    }

    fn bad_option(text: &str) -> String {
        match init(text).unwrap_err() {
            SessionError::InvalidOptions { option, .. } => option,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults_need_only_a_base_url() {
        let o = init(r#"{"baseUrl":"https://api.example.com/","wasmPath":"/session/x.wasm.br"}"#).unwrap();
        assert_eq!(o.protocol, presets::default("https://api.example.com"));
        assert_eq!((o.timeout_ms, o.config.relogin_limit), (15_000, 1));
        assert_eq!((o.config.login_loading_text.as_str(), o.config.logout_loading_text.as_str()), ("登录中", "正在退出"));
    }

    #[test]
    fn every_mistake_is_named() {
        assert_eq!(bad_option("{}"), "baseUrl");
        assert_eq!(bad_option(r#"{"baseURL":"https://a.b"}"#), "baseURL");
        assert_eq!(bad_option(r#"{"baseUrl":"https://a.b@c"}"#), "baseUrl");
        assert_eq!(bad_option(r#"{"baseUrl":"https://a.b","timeoutMs":60001}"#), "timeoutMs");
        assert_eq!(bad_option(r#"{"baseUrl":"https://a.b","reloginLimit":1.5}"#), "reloginLimit");
        assert_eq!(bad_option(r#"{"baseUrl":"https://a.b","protocol":{"check":{"valid":{"path":"ok","values":[]}}}}"#), "protocol.check.valid.values");
        assert_eq!(bad_option(r#"{"baseUrl":"https://a.b","protocol":{"logout":{"alreadyInvalidStatuses":[400,"401"]}}}"#), "protocol.logout.alreadyInvalidStatuses");
        assert_eq!(bad_option(r#"{"baseUrl":"https://a.b","protocol":{"preset":"egg","check":{"method":"GET"}}}"#), "protocol.check.path");
        assert_eq!(bad_option(r#"{"baseUrl":"https://a.b","protocol":{"format":"form","login":{"fields":{"a":{"b":1}}}}}"#), "protocol.login.fields");
        assert_eq!(bad_option(r#"{"baseUrl":"https://a.b","protocol":{"logout":{"path":"common.apifm.com/x"}}}"#), "protocol.logout.path");
        assert_eq!(bad_option(r#"{"baseUrl":"https://a.b","protocol":{"logout":{"revokes":"no"}}}"#), "protocol.logout.revokes");
        assert_eq!(bad_option(r#"{"baseUrl":"https://a.b","protocol":{"invalidSession":{"message":{"statuses":[400]}}}}"#), "protocol.invalidSession.message.text");
        assert_eq!(bad_option(r#"[]"#), "options");
    }

    #[test]
    fn a_custom_protocol_overrides_its_preset() {
        let o = init(
            r#"{"baseUrl":"https://a.b","tokenHeader":"X-Token","protocol":{"preset":"apifm","uidPath":null,
                "login":{"codeIn":"query","fields":{"type":3}},"check":null}}"#,
        )
        .unwrap();
        let p = o.protocol;
        assert_eq!(p.uid_path, None);
        assert!(p.code_in_query && p.check.is_none());
        assert_eq!(p.login_fields, vec![("type".to_owned(), Json::Number(3.0))]);
        assert_eq!(p.token, TokenPlacement::Header { name: "X-Token".into(), prefix: String::new() });
        assert_eq!(p.not_registered, presets::apifm("https://a.b").not_registered);
    }

    #[test]
    fn endpoints_on_other_hosts_and_servers_that_cannot_revoke() {
        let o = init(
            r#"{"baseUrl":"https://api.it120.cc/shop","protocol":{"preset":"apifm","logout":{"path":"https://common.apifm.com/shop/user/loginout","revokes":false},
                "invalidSession":{"message":{"statuses":[400],"text":"登陆状态已失效"}}}}"#,
        )
        .unwrap();
        let p = o.protocol;
        assert_eq!(p.logout.path, "https://common.apifm.com/shop/user/loginout");
        assert!(!p.logout_revokes);
        assert_eq!(p.invalid_message, Some((vec![400], "登陆状态已失效".to_owned())));
        // The preset alone reaches the same host for the documented baseUrl.
        assert_eq!(presets::apifm("https://api.it120.cc/shop").logout.path, "https://common.apifm.com/shop/user/loginout");
        assert_eq!(presets::apifm("https://apifm.example.com/shop").logout.path, "/user/loginout");
    }

    #[test]
    fn logout_and_login_options() {
        let logout = |t: &str| read::<OptionsInput>(t).and_then(|(i, k, _)| logout_options(i, &k));
        let login = |t: &str| read::<OptionsInput>(t).and_then(|(i, k, _)| login_fields(i, &k));
        assert_eq!(logout_options(OptionsInput::default(), &[]), Ok(Refresh::TopPageOnShow));
        assert_eq!(logout(r#"{"refresh":false}"#), Ok(Refresh::Nothing));
        assert_eq!(logout(r#"{"reLaunch":"/pages/index/index"}"#), Ok(Refresh::ReLaunch("/pages/index/index".into())));
        assert!(logout(r#"{"reLaunch":"pages/index"}"#).is_err());
        assert!(logout(r#"{"refresh":"no"}"#).is_err());
        assert!(logout(r#"{"refrsh":false}"#).is_err());
        assert_eq!(login(r#"{"fields":{"a":1}}"#).unwrap().len(), 1);
        assert!(login(r#"{"fields":[1]}"#).is_err());
        assert!(login(r#"{"field":{}}"#).is_err());
    }
}
