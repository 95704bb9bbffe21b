//! The only place that knows `wx.*`: [`WxPlatform`] implements [`Platform`] over the mini-program
//! runtime through js-sys, turning `success`/`fail` callbacks into futures.
//!
//! Every `wx` function is looked up at call time through `Reflect`, so a missing API (an old base
//! library, a test page without it) becomes a `WX_UNAVAILABLE` error instead of a thrown
//! `ReferenceError` deep in the glue.

use std::cell::RefCell;

use gloo_utils::errors::JsError;
use js_sys::{Array, Function, Object, Promise, Reflect, JSON};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::bridge::to_js;
use crate::error::SessionError;
use crate::json::Json;
use crate::platform::{
    AppCall, Body, Credentials, HttpRequest, HttpResponse, LoginCode, Payload, Platform, Purpose, Refresh, SessionEvent,
    StoredValue, TokenOnRequest,
};
use crate::protocol::append_query;
use crate::protocol::spec::percent_encode;

/// Keys of `request(options)` / `uploadFile(options)` that belong to the session, not to `wx`.
pub const SESSION_REQUEST_KEYS: [&str; 4] = ["loadingText", "success", "fail", "complete"];

/// One of the app's own calls: `wx.request`'s or `wx.uploadFile`'s options, URL made absolute.
#[derive(Debug)]
pub struct WxCall {
    /// The options, a copy of the app's object.
    pub options: Object,
    /// `wx.uploadFile` rather than `wx.request`.
    pub upload: bool,
}

impl AppCall for WxCall {
    fn url(&self) -> String {
        get(&self.options, "url").as_string().unwrap_or_default()
    }
}

/// `wx.login` gives up after this long: WeChat's own default can leave the promise hanging.
const WX_LOGIN_TIMEOUT_MS: u32 = 10_000;

/// The session's view of the real mini-program runtime.
pub struct WxPlatform {
    wx: Object,
    /// The runtime's `getCurrentPages`, for refreshing the top page after logout.
    pages: Option<Function>,
    /// Timeout for each server call, in ms.
    timeout_ms: u32,
    /// The JS function that fans events out to `onChange` listeners.
    listener: RefCell<Option<Function>>,
    /// `protocol.adaptAnswer`: rewrites a server answer before the protocol judges it.
    adapter: Option<Function>,
}

impl WxPlatform {
    /// Binds to the runtime's `wx` and `getCurrentPages` as the loader hands them over (it sees
    /// them in its own scope; bundlers such as Taro's replace the global object, so the module does
    /// not search for them). `adapter` is the `protocol.adaptAnswer` hook, if any.
    pub fn new(
        wx: Option<Object>,
        pages: Option<Function>,
        timeout_ms: u32,
        adapter: Option<Function>,
    ) -> Result<WxPlatform, SessionError> {
        let wx = wx.ok_or_else(|| unavailable("*", "the global `wx` object is missing"))?;
        Ok(WxPlatform { wx, pages, timeout_ms, listener: RefCell::new(None), adapter })
    }

    /// Runs the `adaptAnswer` hook: `{purpose, status, body}` in, `{status?, body?}` out. The
    /// protocol then judges the adapted answer, so a backend the configuration cannot describe is
    /// made to look like one it can. A hook that throws makes the answer `BAD_RESPONSE`.
    fn adapt(&self, purpose: Purpose, status: u16, body: String) -> Result<(u16, String), SessionError> {
        let Some(adapter) = &self.adapter else { return Ok((status, body)) };
        let given = Object::new();
        set(&given, "purpose", &JsValue::from_str(purpose.as_str()));
        set(&given, "status", &JsValue::from(status));
        set(&given, "body", &JsValue::from_str(&body));
        let adapted = adapter
            .call1(&JsValue::UNDEFINED, &given)
            .map_err(|e| SessionError::BadResponse { status, detail: describe(&e) })?;
        let new_status = get_any(&adapted, "status");
        let new_body = get_any(&adapted, "body");
        Ok((
            new_status.as_f64().filter(|s| (0.0..1000.0).contains(s)).map_or(status, |s| s as u16),
            if new_body.is_undefined() { body } else { text_of(&new_body) },
        ))
    }

    /// A whole server answer, adapted if the app asked for it, its body parsed by the JS engine.
    fn answer(&self, purpose: Purpose, reply: &JsValue) -> Result<HttpResponse, SessionError> {
        let (status, body) = self.adapt(purpose, status_of(reply), text_of(&get(reply, "data")))?;
        Ok(HttpResponse { status, payload: parse_payload(body) })
    }

    /// Sets the function that receives change events.
    pub fn set_listener(&self, listener: Option<Function>) {
        *self.listener.borrow_mut() = listener;
    }

    /// Registers `listener` with `wx.onNetworkStatusChange`; false if the API is missing.
    pub fn on_network_change(&self, listener: &Function) -> bool {
        self.call("onNetworkStatusChange", &[listener]).is_ok()
    }

    fn api(&self, name: &str) -> Result<Function, SessionError> {
        get(&self.wx, name)
            .dyn_into::<Function>()
            .map_err(|_| unavailable(name, "not a function in this base library"))
    }

    /// Calls a synchronous `wx` API.
    fn call(&self, name: &str, args: &[&JsValue]) -> Result<JsValue, SessionError> {
        let function = self.api(name)?;
        let args: Array = args.iter().copied().collect();
        function.apply(&self.wx, &args).map_err(|e| unavailable(name, &describe(&e)))
    }

    /// Calls a callback-style `wx` API: resolves with what `success` got, fails with what `fail` got.
    async fn call_async(&self, name: &str, options: &Object) -> Result<JsValue, JsValue> {
        let function = self.api(name).map_err(|e| JsValue::from_str(&e.to_string()))?;
        let promise = Promise::new(&mut |resolve, reject| {
            set(options, "success", &resolve);
            set(options, "fail", &reject);
            if let Err(thrown) = function.call1(&self.wx, options) {
                let _ = reject.call1(&JsValue::UNDEFINED, &thrown);
            }
        });
        JsFuture::from(promise).await
    }
}

impl Platform for WxPlatform {
    type Call = WxCall;
    type Reply = JsValue;

    async fn send_call(&self, call: &WxCall, credentials: Option<&Credentials>) -> Result<JsValue, SessionError> {
        // A copy: the app's options object is never modified.
        let options = Object::assign(&Object::new(), &call.options);
        for key in SESSION_REQUEST_KEYS {
            let _ = Reflect::delete_property(&options, &JsValue::from_str(key));
        }
        let header = Object::new();
        if let Ok(given) = get(&call.options, "header").dyn_into::<Object>() {
            Object::assign(&header, &given);
        }
        if let Some(credentials) = credentials {
            for (name, value) in &credentials.headers {
                let taken = Object::keys(&header).iter().any(|k| k.as_string().is_some_and(|k| k.eq_ignore_ascii_case(name)));
                if !taken {
                    set(&header, name, &JsValue::from_str(value));
                }
            }
            let method = get(&options, "method").as_string().unwrap_or_default().to_ascii_uppercase();
            let has_body = call.upload || !matches!(method.as_str(), "" | "GET" | "HEAD");
            match &credentials.token {
                Some(TokenOnRequest::Header(name, value)) => set(&header, name, &JsValue::from_str(value)),
                Some(TokenOnRequest::Field(name, value)) if has_body => add_field(&options, call.upload, name, value),
                Some(TokenOnRequest::Query(name, value) | TokenOnRequest::Field(name, value)) => {
                    let mut pair = String::new();
                    percent_encode(name, &mut pair);
                    pair.push('=');
                    percent_encode(value, &mut pair);
                    set(&options, "url", &JsValue::from_str(&append_query(&call.url(), &pair)));
                }
                None => {}
            }
        }
        set(&options, "header", &header);
        if get(&options, "timeout").is_undefined() {
            set(&options, "timeout", &JsValue::from(self.timeout_ms));
        }
        let api = if call.upload { "uploadFile" } else { "request" };
        let reply = self.call_async(api, &options).await.map_err(|e| SessionError::Network(describe(&e)))?;
        if call.upload {
            // wx.uploadFile hands the body back as text; the app gets it parsed when it is JSON, as
            // wx.request's default dataType would.
            if let Some(text) = get(&reply, "data").as_string() {
                if let Ok(parsed) = JSON::parse(&text) {
                    set(&reply, "data", &parsed);
                }
            }
        }
        Ok(reply)
    }

    fn reply_status(&self, reply: &JsValue) -> u16 {
        status_of(reply)
    }

    fn reply_summary(&self, reply: &JsValue, paths: &[&str]) -> HttpResponse {
        if self.adapter.is_some() {
            // An adapter that throws here leaves the reply as it was: the app gets its answer either way.
            if let Ok(adapted) = self.answer(Purpose::Request, reply) {
                return adapted;
            }
        }
        let status = status_of(reply);
        if paths.is_empty() {
            return HttpResponse { status, payload: Payload::Text(String::new()) };
        }
        let mut data = get(reply, "data");
        if let Some(text) = data.as_string() {
            // The app asked for text (or the body is not JSON): parse it only because we must look.
            match JSON::parse(&text) {
                Ok(parsed) => data = parsed,
                // An HTML error page: only a protocol that reads text ("" among the paths) gets it.
                Err(_) if paths.contains(&"") => return HttpResponse { status, payload: Payload::Text(text) },
                Err(_) => data = JsValue::UNDEFINED,
            }
        }
        HttpResponse { status, payload: Payload::Json(pick(&data, paths)) }
    }

    async fn login_code(&self) -> Result<LoginCode, SessionError> {
        let options = Object::new();
        set(&options, "timeout", &JsValue::from(WX_LOGIN_TIMEOUT_MS));
        let answer = self.call_async("login", &options).await.map_err(|e| SessionError::WxLoginFailed(describe(&e)))?;
        match get(&answer, "code").as_string() {
            Some(code) if !code.is_empty() => Ok(LoginCode(code)),
            _ => Err(SessionError::WxLoginFailed("wx.login succeeded without a code".to_owned())),
        }
    }

    async fn wechat_session_valid(&self) -> bool {
        self.call_async("checkSession", &Object::new()).await.is_ok()
    }

    async fn send(&self, request: &HttpRequest) -> Result<HttpResponse, SessionError> {
        let options = Object::new();
        set(&options, "url", &JsValue::from_str(&request.url));
        set(&options, "method", &JsValue::from_str(request.method.as_str()));
        // Text back, parsed below by JSON.parse: what is not JSON (an HTML error page, a bare-text
        // token) stays text for the protocol to judge instead of being mangled or dropped.
        set(&options, "dataType", &JsValue::from_str("text"));
        set(&options, "responseType", &JsValue::from_str("text"));
        set(&options, "timeout", &JsValue::from(self.timeout_ms));
        let header = Object::new();
        for (name, value) in &request.headers {
            set(&header, name, &JsValue::from_str(value));
        }
        if let Some(body) = &request.body {
            if !request.headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("content-type")) {
                set(&header, "Content-Type", &JsValue::from_str(body.content_type()));
            }
            let data = match body {
                Body::Json(value) => JSON::stringify(&to_js(value)).map(JsValue::from).unwrap_or(JsValue::UNDEFINED),
                Body::Form(text) => JsValue::from_str(text),
            };
            set(&options, "data", &data);
        }
        set(&options, "header", &header);
        let answer = self.call_async("request", &options).await.map_err(|e| SessionError::Network(describe(&e)))?;
        self.answer(request.purpose, &answer)
    }

    fn read(&self, key: &str) -> StoredValue {
        match self.call("getStorageSync", &[&JsValue::from_str(key)]) {
            Err(_) => StoredValue::Unreadable,
            Ok(value) => stored_value(&value),
        }
    }

    fn write(&self, key: &str, value: &StoredValue) -> Result<(), SessionError> {
        let js = match value {
            StoredValue::Text(text) => JsValue::from_str(text),
            StoredValue::Json(json) => to_js(json),
            StoredValue::Missing | StoredValue::Unreadable => {
                self.remove(key);
                return Ok(());
            }
        };
        self.call("setStorageSync", &[&JsValue::from_str(key), &js])
            .map(|_| ())
            .map_err(|e| SessionError::StorageFailed(e.to_string()))
    }

    fn remove(&self, key: &str) {
        let _ = self.call("removeStorageSync", &[&JsValue::from_str(key)]);
    }

    fn show_loading(&self, title: &str) {
        let options = Object::new();
        set(&options, "title", &JsValue::from_str(title));
        // The mask stops a second tap while the first is being handled.
        set(&options, "mask", &JsValue::TRUE);
        let _ = self.call("showLoading", &[&options]);
    }

    fn hide_loading(&self) {
        let _ = self.call("hideLoading", &[]);
    }

    fn now_ms(&self) -> u64 {
        js_sys::Date::now() as u64
    }

    fn refresh(&self, how: &Refresh) {
        match how {
            Refresh::Nothing => {}
            Refresh::ReLaunch(url) => {
                let options = Object::new();
                set(&options, "url", &JsValue::from_str(url));
                let _ = self.call("reLaunch", &[&options]);
            }
            Refresh::TopPageOnShow => {
                let pages = self
                    .pages
                    .as_ref()
                    .and_then(|f| f.call0(&JsValue::UNDEFINED).ok())
                    .and_then(|p| p.dyn_into::<Array>().ok());
                let Some(page) = pages.and_then(|p| p.at(-1).dyn_into::<Object>().ok()) else { return };
                if let Ok(on_show) = get(&page, "onShow").dyn_into::<Function>() {
                    let _ = on_show.call0(&page);
                }
            }
        }
    }

    fn emit(&self, event: &SessionEvent) {
        let Some(listener) = self.listener.borrow().clone() else { return };
        let _ = listener.call1(&JsValue::UNDEFINED, &event_object(event));
    }
}

/// The JS object handed to `onChange` listeners.
fn event_object(event: &SessionEvent) -> Object {
    let object = Object::new();
    let kind = match event {
        SessionEvent::Login { uid, user_info } => {
            for (name, value) in [("uid", uid), ("userInfo", user_info)] {
                if let Some(value) = value {
                    set(&object, name, &to_js(value));
                }
            }
            "login"
        }
        SessionEvent::Logout => "logout",
        SessionEvent::Expired => "expired",
        SessionEvent::Invalidated => "invalidated",
        SessionEvent::RevocationAbandoned { reason } => {
            set(&object, "reason", &JsValue::from_str(reason));
            "revocationAbandoned"
        }
    };
    set(&object, "type", &JsValue::from_str(kind));
    object
}

/// Adds `name=value` to a request's body (`data`, or `formData` for an upload): a field of an
/// object, or one more pair of a form-encoded string. The app's own objects are copied, not changed.
fn add_field(options: &Object, upload: bool, name: &str, value: &str) {
    let key = if upload { "formData" } else { "data" };
    let data = get(options, key);
    if let Some(text) = data.as_string() {
        let mut pair = String::new();
        percent_encode(name, &mut pair);
        pair.push('=');
        percent_encode(value, &mut pair);
        let joined = if text.is_empty() { pair } else { crate::json::join(&[&text, "&", &pair]) };
        set(options, key, &JsValue::from_str(&joined));
        return;
    }
    let fields = Object::new();
    if let Some(given) = data.dyn_ref::<Object>().filter(|_| !js_sys::Array::is_array(&data)) {
        Object::assign(&fields, given);
    }
    set(&fields, name, &JsValue::from_str(value));
    set(options, key, &fields);
}

/// What a storage read returned, in the session's terms.
fn stored_value(value: &JsValue) -> StoredValue {
    if value.is_undefined() || value.is_null() {
        return StoredValue::Missing;
    }
    if let Some(text) = value.as_string() {
        return if text.is_empty() { StoredValue::Missing } else { StoredValue::Text(text) };
    }
    match serde_wasm_bindgen::from_value::<Json>(value.clone()) {
        Ok(json) => StoredValue::Json(json),
        Err(_) => StoredValue::Unreadable,
    }
}

/// A body as the protocol sees it: JSON when the JS engine can parse it, else the text itself.
fn parse_payload(body: String) -> Payload {
    match JSON::parse(&body).ok().map(serde_wasm_bindgen::from_value::<Json>) {
        Some(Ok(json)) => Payload::Json(json),
        _ => Payload::Text(body),
    }
}

/// Just the dotted `paths` of a reply's body, as one small object (what the verdict on an app's
/// reply reads), instead of converting a whole body the app may have asked for in megabytes.
fn pick(data: &JsValue, paths: &[&str]) -> Json {
    let mut picked = Json::Object(Vec::new());
    for path in paths.iter().filter(|p| !p.is_empty()) {
        let mut value = data.clone();
        for key in path.split('.') {
            value = if value.is_object() { get(&value, key) } else { JsValue::UNDEFINED };
        }
        if value.is_undefined() {
            continue;
        }
        if let Ok(leaf) = serde_wasm_bindgen::from_value::<Json>(value) {
            insert(&mut picked, path, leaf);
        }
    }
    picked
}

/// Puts `value` at the dotted `path` inside `root`, creating objects on the way.
fn insert(root: &mut Json, path: &str, value: Json) {
    let Json::Object(members) = root else { return };
    let (head, rest) = match path.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (path, None),
    };
    let Some(rest) = rest else {
        members.push((head.to_owned(), value));
        return;
    };
    let at = match members.iter().position(|(k, _)| k == head) {
        Some(at) => at,
        None => {
            members.push((head.to_owned(), Json::Object(Vec::new())));
            members.len() - 1
        }
    };
    if let Some((_, child)) = members.get_mut(at) {
        insert(child, rest, value);
    }
}

/// `statusCode` of a `wx.request` answer (0 when absent or absurd).
fn status_of(answer: &JsValue) -> u16 {
    get(answer, "statusCode").as_f64().filter(|s| (0.0..1000.0).contains(s)).unwrap_or(0.0) as u16
}

/// A response body as text: `wx.request` hands back a string when asked for text, but a runtime
/// (or DevTools) may still parse JSON for us, so objects are turned back into JSON text.
fn text_of(data: &JsValue) -> String {
    if data.is_undefined() || data.is_null() {
        return String::new();
    }
    data.as_string()
        .or_else(|| JSON::stringify(data).ok().and_then(|s| s.as_string()))
        .unwrap_or_default()
}

/// `value[name]`, or `undefined`. For values known to be objects: on anything else `Reflect.get`
/// throws (answered here with `undefined` too, but an exception costs JavaScriptCore's interpreter
/// a stack trace), so callers holding a value of unknown type use [`get_any`].
pub(crate) fn get(value: &JsValue, name: &str) -> JsValue {
    Reflect::get(value, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// [`get`] for a value that may be `undefined`, a string or a number (an app's option or hook
/// result): `undefined` unless it is an object or a function.
pub(crate) fn get_any(value: &JsValue, name: &str) -> JsValue {
    if value.is_object() || value.is_function() {
        get(value, name)
    } else {
        JsValue::UNDEFINED
    }
}

/// `object[name] = value`, ignoring frozen objects.
pub(crate) fn set(object: &JsValue, name: &str, value: &JsValue) {
    let _ = Reflect::set(object, &JsValue::from_str(name), value);
}

/// A readable text for whatever a `wx` callback or a throw handed us: WeChat's `errMsg`, a thrown
/// `Error`'s message (read by gloo-utils' `JsError`), or the value itself.
pub(crate) fn describe(value: &JsValue) -> String {
    if let Some(text) = get(value, "errMsg").as_string() {
        return text;
    }
    if let Ok(error) = JsError::try_from(value.clone()) {
        return error.message;
    }
    get(value, "message").as_string().or_else(|| value.as_string()).unwrap_or_else(|| "unknown error".to_owned())
}

fn unavailable(api: &str, detail: &str) -> SessionError {
    SessionError::WxUnavailable { api: api.to_owned(), detail: detail.to_owned() }
}
