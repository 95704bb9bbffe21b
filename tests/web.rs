//! The session through its real JavaScript boundary, in headless Chromium: the exported `Session`
//! class, a fake `wx` on the global object and a fake server in the page (tests/support/fake_wx.js).
//! Every behaviour of login / checkHasLogined / logout / getToken and each failure path; after each,
//! storage holds exactly what it should and the loading toast is gone.

#![cfg(target_arch = "wasm32")]

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use wx_session::Session;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(module = "/tests/support/fake_wx.js")]
extern "C" {
    fn reset();
    fn uninstall();
    #[wasm_bindgen(js_name = wxObject)]
    fn wx_object() -> Object;
    #[wasm_bindgen(js_name = hostWx)]
    fn host_wx() -> Option<Object>;
    #[wasm_bindgen(js_name = hostPages)]
    fn host_pages() -> Option<js_sys::Function>;
    #[wasm_bindgen(js_name = baseUrl)]
    fn base_url() -> String;
    #[wasm_bindgen(js_name = setLoginFails)]
    fn set_login_fails(on: bool);
    #[wasm_bindgen(js_name = setCheckSessionFails)]
    fn set_check_session_fails(on: bool);
    #[wasm_bindgen(js_name = setStorageFull)]
    fn set_storage_full(on: bool);
    #[wasm_bindgen(js_name = setDelay)]
    fn set_delay(ms: u32);
    #[wasm_bindgen(js_name = failNextWithNetwork)]
    fn fail_next_with_network();
    #[wasm_bindgen(js_name = failNextWith)]
    fn fail_next_with(status: u16, body: &str);
    #[wasm_bindgen(js_name = putStorage)]
    fn put_storage(key: &str, value: &JsValue);
    #[wasm_bindgen(js_name = addLiveToken)]
    fn add_live_token(token: &str);
    #[wasm_bindgen(js_name = isLive)]
    fn is_live(token: &str) -> bool;
    #[wasm_bindgen(js_name = liveCount)]
    fn live_count() -> u32;
    fn count_of(name: &str) -> u32;
    #[wasm_bindgen(js_name = loadingVisible)]
    fn loading_visible() -> bool;
    #[wasm_bindgen(js_name = loadingTitles)]
    fn loading_titles() -> String;
    #[wasm_bindgen(js_name = reLaunched)]
    fn re_launched() -> String;
    #[wasm_bindgen(js_name = requestLog)]
    fn request_log() -> String;
    #[wasm_bindgen(js_name = lastRequestHeader)]
    fn last_request_header(name: &str) -> JsValue;
    #[wasm_bindgen(js_name = storageJson)]
    fn storage_json() -> String;
    #[wasm_bindgen(js_name = fireNetworkChange)]
    fn fire_network_change(connected: bool);
    fn recorder() -> Function;
    #[wasm_bindgen(js_name = revokeAll)]
    fn revoke_all();
    #[wasm_bindgen(js_name = requestsTo)]
    fn requests_to(path: &str) -> u32;
    #[wasm_bindgen(js_name = headersSentTo)]
    fn headers_sent_to(host: &str) -> String;
    fn events() -> String;
    #[wasm_bindgen(js_name = lastUpload)]
    fn last_upload() -> String;
    #[wasm_bindgen(js_name = requestUrls)]
    fn request_urls() -> String;
}

fn options(extra: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    set(&object, "baseUrl", &JsValue::from_str(&base_url()));
    for (k, v) in extra {
        set(&object, k, v);
    }
    object.into()
}

fn set(object: &JsValue, key: &str, value: &JsValue) {
    Reflect::set(object, &JsValue::from_str(key), value).unwrap();
}

fn get(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &JsValue::from_str(key)).unwrap()
}

fn fresh_session() -> Session {
    reset();
    let session = Session::new(options(&[]), host_wx(), host_pages()).unwrap();
    session.set_listener(Some(recorder()));
    session
}

async fn settle(promise: Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(promise).await
}

/// The rejection's `code`, after checking it is a real `Error` with a message.
fn code_of(error: &JsValue) -> String {
    assert!(error.is_instance_of::<js_sys::Error>(), "rejected with a non-Error: {error:?}");
    let message = get(error, "message").as_string().unwrap_or_default();
    assert!(!message.is_empty(), "error without a message");
    get(error, "code").as_string().expect("error without a code")
}

fn json(text: &str) -> JsValue {
    js_sys::JSON::parse(text).unwrap()
}

const LOGGED_IN_ELSEWHERE: &str = r#"{"token":"old-token","wxSession":{"token":"old-token","uid":"old-uid"}}"#;

// ---------------------------------------------------------------- login

#[wasm_bindgen_test]
async fn login_stores_the_session_and_resolves_it() {
    let session = fresh_session();
    let result = settle(session.login(JsValue::UNDEFINED)).await.unwrap();
    assert_eq!(get(&result, "token").as_string().as_deref(), Some("tok-1"));
    assert_eq!(get(&result, "uid").as_f64(), Some(42.0));
    assert_eq!(get(&get(&result, "userInfo"), "nickName").as_string().as_deref(), Some("测试用户 🐼"));
    assert!(get(&result, "expiresAt").as_f64().unwrap() > js_sys::Date::now());
    let stored = storage_json();
    // Two keys: the plain `token` the seeds' pages read, and the rest of the session in one record.
    assert!(stored.starts_with(r#"{"token":"tok-1","wxSession":{"token":"tok-1","uid":42,"userInfo":{"nickName":"测试用户 🐼","avatarUrl":""},"expiresAt":"#), "{stored}");
    assert_eq!(loading_titles(), "登录中");
    let current = session.get_session();
    assert_eq!(get(&current, "uid").as_f64(), Some(42.0));
    assert_eq!(get(&get(&current, "userInfo"), "nickName").as_string().as_deref(), Some("测试用户 🐼"));
    assert!(!loading_visible());
    assert_eq!((count_of("login"), request_log()), (1, "POST /auth/login".to_owned()));
    assert_eq!(session.get_token().as_deref(), Some("tok-1"));
    assert_eq!(events(), "login:测试用户 🐼");
}

async fn assert_login_fails(arrange: impl FnOnce(), expected: &str) -> JsValue {
    let session = fresh_session();
    put_storage("token", &JsValue::from_str("old-token"));
    put_storage("wxSession", &json(r#"{"token":"old-token","uid":"old-uid"}"#));
    arrange();
    let error = settle(session.login(JsValue::UNDEFINED)).await.unwrap_err();
    assert_eq!(code_of(&error), expected);
    assert_eq!(storage_json(), LOGGED_IN_ELSEWHERE, "{expected}: storage changed");
    assert!(!loading_visible(), "{expected}: loading left visible");
    assert_eq!(events(), "", "{expected}");
    error
}

#[wasm_bindgen_test]
async fn login_failures_reject_with_stable_codes_and_change_nothing() {
    assert_login_fails(|| set_login_fails(true), "WX_LOGIN_FAILED").await;
    assert_login_fails(fail_next_with_network, "NETWORK").await;
    let error = assert_login_fails(|| fail_next_with(500, "Internal Server Error"), "SERVER_ERROR").await;
    assert_eq!(get(&error, "status").as_f64(), Some(500.0));
    assert_login_fails(|| fail_next_with(200, "<!DOCTYPE html><html><body>维护中</body></html>"), "BAD_RESPONSE").await;
    assert_login_fails(|| fail_next_with(200, r#"{"token": "tok", "#), "BAD_RESPONSE").await;
    assert_login_fails(|| fail_next_with(200, r#"{"uid": 1}"#), "BAD_RESPONSE").await;
    let error = assert_login_fails(
        || fail_next_with(429, r#"{"error":{"code":"RATE_LIMITED","message":"操作太频繁"}}"#),
        "SERVER_REJECTED",
    )
    .await;
    assert_eq!(get(&error, "serverCode").as_string().as_deref(), Some("RATE_LIMITED"));
    assert_eq!(get(&error, "serverMessage").as_string().as_deref(), Some("操作太频繁"));
    assert_login_fails(|| set_storage_full(true), "STORAGE_FAILED").await;
}

#[wasm_bindgen_test]
async fn concurrent_logins_share_one_wx_login_and_one_server_login() {
    let session = fresh_session();
    set_delay(5);
    let calls: Vec<Promise> = (0..5).map(|_| session.login(JsValue::UNDEFINED)).collect();
    let mut tokens = Vec::new();
    for call in calls {
        tokens.push(get(&settle(call).await.unwrap(), "token").as_string().unwrap());
    }
    assert!(tokens.iter().all(|t| t == "tok-1"), "{tokens:?}");
    assert_eq!((count_of("login"), request_log()), (1, "POST /auth/login".to_owned()));
    assert_eq!(loading_titles(), "登录中");
}

// ---------------------------------------------------------------- checkHasLogined

#[wasm_bindgen_test]
async fn check_without_a_token_is_false_without_any_call() {
    let session = fresh_session();
    assert_eq!(settle(session.check_has_logined()).await.unwrap(), JsValue::FALSE);
    assert_eq!((count_of("checkSession"), count_of("request")), (0, 0));
}

#[wasm_bindgen_test]
async fn check_with_a_valid_token_asks_wechat_and_the_server() {
    let session = fresh_session();
    put_storage("token", &JsValue::from_str("stored-token"));
    add_live_token("stored-token");
    assert_eq!(settle(session.check_has_logined()).await.unwrap(), JsValue::TRUE);
    assert_eq!((count_of("checkSession"), request_log()), (1, "GET /auth/check".to_owned()));
    assert_eq!(last_request_header("Authorization").as_string().as_deref(), Some("Bearer stored-token"));
    assert_eq!(storage_json(), r#"{"token":"stored-token"}"#);
}

#[wasm_bindgen_test]
async fn check_session_failure_removes_the_token() {
    let session = fresh_session();
    put_storage("token", &JsValue::from_str("stored-token"));
    add_live_token("stored-token");
    set_check_session_fails(true);
    assert_eq!(settle(session.check_has_logined()).await.unwrap(), JsValue::FALSE);
    assert_eq!(storage_json(), "{}");
    assert_eq!(count_of("request"), 0);
    assert_eq!(events(), "invalidated");
}

#[wasm_bindgen_test]
async fn a_token_the_server_rejects_is_removed() {
    let session = fresh_session();
    put_storage("token", &JsValue::from_str("revoked-token"));
    put_storage("wxSession", &json(r#"{"token":"revoked-token","userInfo":{"nickName":"x"}}"#));
    assert_eq!(settle(session.check_has_logined()).await.unwrap(), JsValue::FALSE);
    assert_eq!(storage_json(), "{}");
    assert_eq!(session.get_token(), None);
}

#[wasm_bindgen_test]
async fn a_server_that_cannot_answer_is_not_a_logout() {
    for (arrange, expected) in [
        (Box::new(fail_next_with_network) as Box<dyn Fn()>, "NETWORK"),
        (Box::new(|| fail_next_with(502, "<html>502 Bad Gateway</html>")), "SERVER_ERROR"),
        (Box::new(|| fail_next_with(200, "OK")), "BAD_RESPONSE"),
    ] {
        let session = fresh_session();
        put_storage("token", &JsValue::from_str("stored-token"));
        arrange();
        let error = settle(session.check_has_logined()).await.unwrap_err();
        assert_eq!(code_of(&error), expected);
        assert_eq!(storage_json(), r#"{"token":"stored-token"}"#, "{expected}: token must stay");
    }
}

#[wasm_bindgen_test]
async fn corrupted_storage_is_logged_out_and_cleaned_up() {
    let cases: [(&str, JsValue); 10] = [
        ("token", json(r#"{"skey":"from-an-older-sdk","userinfo":{}}"#)),
        ("token", JsValue::from_f64(12345.0)),
        ("token", JsValue::TRUE),
        ("token", JsValue::from_str("two words")),
        ("wxSession", JsValue::from_str(r#"{"token": broken"#)),
        ("wxSession", json("[1,2,3]")),
        ("wxSession", json(r#"{"token":"good-token","uid":{"id":1}}"#)),
        ("wxSession", json(r#"{"token":"good-token","userInfo":"x"}"#)),
        ("wxSession", json(r#"{"token":"good-token","expiresAt":"tomorrow"}"#)),
        ("wxSession", js_sys::Function::new_no_args("").into()),
    ];
    for (key, value) in cases {
        let session = fresh_session();
        put_storage("token", &JsValue::from_str("good-token"));
        add_live_token("good-token");
        put_storage("theme", &JsValue::from_str("dark"));
        put_storage(key, &value);
        assert_eq!(settle(session.check_has_logined()).await.unwrap(), JsValue::FALSE, "{key}={value:?}");
        assert_eq!(storage_json(), r#"{"theme":"dark"}"#, "{key}={value:?}");
        assert_eq!(count_of("request"), 0, "{key}={value:?}");
        assert_eq!(session.get_token(), None);
    }
}

#[wasm_bindgen_test]
async fn concurrent_checks_share_one_server_check_and_are_then_trusted() {
    let session = fresh_session();
    put_storage("token", &JsValue::from_str("stored-token"));
    add_live_token("stored-token");
    set_delay(5);
    let calls: Vec<Promise> = (0..10).map(|_| session.check_has_logined()).collect();
    for call in calls {
        assert_eq!(settle(call).await.unwrap(), JsValue::TRUE);
    }
    for _ in 0..100 {
        assert_eq!(settle(session.check_has_logined()).await.unwrap(), JsValue::TRUE);
    }
    assert_eq!((count_of("checkSession"), count_of("request")), (1, 1));
}

// ---------------------------------------------------------------- logout

#[wasm_bindgen_test]
async fn logout_revokes_on_the_server_clears_storage_and_refreshes() {
    let session = fresh_session();
    settle(session.login(JsValue::UNDEFINED)).await.unwrap();
    put_storage("theme", &JsValue::from_str("dark"));
    let result = settle(session.logout(JsValue::UNDEFINED)).await.unwrap();
    assert_eq!(get(&result, "serverConfirmed"), JsValue::TRUE);
    assert_eq!(get(&result, "server").as_string().as_deref(), Some("revoked"));
    assert_eq!(get(&result, "wasLoggedIn"), JsValue::TRUE);
    assert!(!is_live("tok-1"));
    assert_eq!(storage_json(), r#"{"theme":"dark"}"#);
    assert_eq!(loading_titles(), "登录中|正在退出");
    assert!(session.get_session().is_null());
    assert!(!loading_visible());
    assert_eq!(count_of("onShow"), 1);
    assert_eq!(session.get_token(), None);
    assert_eq!(events(), "login:测试用户 🐼|logout");
}

#[wasm_bindgen_test]
async fn logout_can_relaunch_instead_of_refreshing() {
    let session = fresh_session();
    settle(session.login(JsValue::UNDEFINED)).await.unwrap();
    let options = json(r#"{"reLaunch":"/pages/index/index"}"#);
    settle(session.logout(options)).await.unwrap();
    assert_eq!((re_launched(), count_of("onShow")), ("/pages/index/index".to_owned(), 0));
}

#[wasm_bindgen_test]
async fn logout_with_an_already_invalid_token_is_confirmed_and_logged_out() {
    let session = fresh_session();
    put_storage("token", &JsValue::from_str("dead-token"));
    let result = settle(session.logout(JsValue::UNDEFINED)).await.unwrap();
    assert_eq!(get(&result, "server").as_string().as_deref(), Some("alreadyInvalid"));
    assert_eq!(get(&result, "serverConfirmed"), JsValue::TRUE);
    assert_eq!(storage_json(), "{}");
}

#[wasm_bindgen_test]
async fn logout_while_offline_still_logs_out_and_revokes_later() {
    let session = fresh_session();
    settle(session.login(JsValue::UNDEFINED)).await.unwrap();
    fail_next_with_network();
    let result = settle(session.logout(JsValue::UNDEFINED)).await.unwrap();
    assert_eq!(get(&result, "serverConfirmed"), JsValue::FALSE);
    assert_eq!(get(&result, "server").as_string().as_deref(), Some("unconfirmed"));
    let queued = storage_json();
    assert!(queued.starts_with(r#"{"wxSessionPendingRevocations":[{"token":"tok-1","expiresAt":"#), "{queued}");
    assert!(queued.ends_with(r#","tries":0,"nextAt":0}]}"#), "offline counts no try: {queued}");
    assert!(!loading_visible());
    assert_eq!(count_of("onShow"), 1);
    assert!(is_live("tok-1"));
    // A new launch retries: the server now confirms and the queue is gone.
    let relaunched = Session::new(options(&[]), host_wx(), host_pages()).unwrap();
    relaunched.start();
    for _ in 0..20 {
        if !is_live("tok-1") {
            break;
        }
        sleep(5).await;
    }
    assert!(!is_live("tok-1"));
    assert_eq!(storage_json(), "{}");
}

#[wasm_bindgen_test]
async fn a_double_tap_on_logout_makes_one_server_call() {
    let session = fresh_session();
    settle(session.login(JsValue::UNDEFINED)).await.unwrap();
    set_delay(5);
    let first = session.logout(JsValue::UNDEFINED);
    let second = session.logout(JsValue::UNDEFINED);
    settle(first).await.unwrap();
    settle(second).await.unwrap();
    assert_eq!(request_log(), "POST /auth/login|POST /auth/logout");
    assert_eq!(count_of("onShow"), 1);
}

#[wasm_bindgen_test]
async fn logout_during_login_ends_logged_out_and_revokes_the_late_token() {
    let session = fresh_session();
    set_delay(5);
    let login = session.login(JsValue::UNDEFINED);
    let logout = session.logout(JsValue::UNDEFINED);
    let error = settle(login).await.unwrap_err();
    assert_eq!(code_of(&error), "LOGGED_OUT");
    settle(logout).await.unwrap();
    assert_eq!(storage_json(), "{}");
    assert_eq!(live_count(), 0, "the late token must not stay live on the server");
    assert!(!loading_visible());
}

#[wasm_bindgen_test]
async fn invalid_logout_options_are_named() {
    let session = fresh_session();
    let error = settle(session.logout(json(r#"{"reLaunch":"pages/index"}"#))).await.unwrap_err();
    assert_eq!(code_of(&error), "INVALID_OPTIONS");
    assert_eq!(get(&error, "option").as_string().as_deref(), Some("reLaunch"));
}

// ---------------------------------------------------------------- init

#[wasm_bindgen_test]
fn init_options_are_validated_by_name() {
    reset();
    for (bad, option) in [
        (json("{}"), "baseUrl"),
        (json(r#"{"baseURL":"https://a.b"}"#), "baseURL"),
        (json(r#"{"baseUrl":"ftp://a.b"}"#), "baseUrl"),
        (json(r#"{"baseUrl":"https://a.b","timeoutMs":0}"#), "timeoutMs"),
        (json(r#"{"baseUrl":"https://a.b","loginLoadingText":5}"#), "loginLoadingText"),
        (JsValue::from_str("https://a.b"), "options"),
    ] {
        let Err(error) = Session::new(bad, host_wx(), host_pages()) else { panic!("accepted options for {option}") };
        assert_eq!(code_of(&error), "INVALID_OPTIONS");
        assert_eq!(get(&error, "option").as_string().as_deref(), Some(option));
    }
}

#[wasm_bindgen_test]
fn a_mistyped_option_is_explained_in_javascript_terms() {
    reset();
    for (bad, said) in [
        (r#"{"baseUrl":"https://a.b","timeoutMs":"30s"}"#, r#"must be a number, not the string "30s""#),
        (r#"{"baseUrl":"https://a.b","loginLoadingText":5}"#, "must be a string, not the number 5"),
        (r#"{"baseUrl":"https://a.b","tokenHeader":["X"]}"#, "must be a string, not an array"),
        (r#"{"baseUrl":true}"#, "must be a string, not true"),
    ] {
        let Err(error) = Session::new(json(bad), host_wx(), host_pages()) else { panic!("accepted {bad}") };
        assert_eq!(code_of(&error), "INVALID_OPTIONS");
        let message = get(&error, "message").as_string().unwrap_or_default();
        assert!(message.contains(said), "{bad}: {message}");
    }
}

#[wasm_bindgen_test]
fn a_runtime_without_wx_is_reported() {
    reset();
    uninstall();
    let Err(error) = Session::new(options(&[]), host_wx(), host_pages()) else { panic!("created a session without wx") };
    assert_eq!(code_of(&error), "WX_UNAVAILABLE");
}

#[wasm_bindgen_test]
async fn the_loader_can_hand_over_wx_when_the_global_object_lacks_it() {
    // What a bundler (Taro's webpack) does: the glue's global object is not the runtime's.
    reset();
    uninstall();
    let session = Session::new(options(&[]), Some(wx_object()), host_pages()).unwrap();
    settle(session.login(JsValue::UNDEFINED)).await.unwrap();
    assert_eq!(session.get_token().as_deref(), Some("tok-1"));
}

#[wasm_bindgen_test]
async fn loading_text_is_configurable() {
    reset();
    let session = Session::new(options(&[("loginLoadingText", JsValue::from_str(""))]), host_wx(), host_pages()).unwrap();
    settle(session.login(JsValue::UNDEFINED)).await.unwrap();
    assert_eq!(count_of("showLoading"), 0);
}

// ---------------------------------------------------------------- request(), races, events

fn app_request(url: &str) -> JsValue {
    let options = Object::new();
    set(&options, "url", &JsValue::from_str(url));
    options.into()
}

#[wasm_bindgen_test]
async fn twenty_concurrent_expired_requests_cause_one_login_and_twenty_replays() {
    let session = fresh_session();
    settle(session.login(JsValue::UNDEFINED)).await.unwrap();
    revoke_all(); // the server forgot every session: all 20 requests will be answered 401
    set_delay(3);
    let calls: Vec<Promise> = (0..20).map(|i| session.request(app_request(&format!("/api/item/{i}")))).collect();
    for call in calls {
        let reply = settle(call).await.unwrap();
        assert_eq!(get(&reply, "statusCode").as_f64(), Some(200.0));
    }
    assert_eq!(count_of("login"), 2, "one wx.login for the first login, one for the re-login");
    assert_eq!(requests_to("/auth/login"), 2);
    assert_eq!(count_of("request"), 2 + 20 + 20, "two logins, twenty first tries, twenty replays");
    assert_eq!(session.get_token().as_deref(), Some("tok-2"));
}

#[wasm_bindgen_test]
async fn upload_file_has_the_guarantees_of_request() {
    let session = fresh_session();
    settle(session.login(JsValue::UNDEFINED)).await.unwrap();
    revoke_all(); // the first try is answered 401: one re-login, one replay
    let options = json(r#"{"url":"/api/avatar","filePath":"wxfile://tmp/a.png","name":"file","formData":{"kind":"avatar"},"loadingText":"上传中"}"#);
    let reply = settle(session.upload_file(options.clone())).await.unwrap();
    assert_eq!(get(&reply, "statusCode").as_f64(), Some(200.0));
    // The text body came back parsed, as wx.request's default would give it.
    assert_eq!(get(&get(&reply, "data"), "path").as_string().as_deref(), Some("/api/avatar"));
    assert_eq!(count_of("uploadFile"), 2);
    assert_eq!(count_of("login"), 2);
    assert_eq!(last_upload(), r#"{"filePath":"wxfile://tmp/a.png","name":"file","data":{"kind":"avatar"}}"#);
    assert_eq!(last_request_header("Authorization").as_string().as_deref(), Some("Bearer tok-2"));
    assert_eq!(loading_titles(), "登录中|上传中|登录中");
    assert!(!loading_visible());
    // The app's options object is left as it was.
    assert_eq!(get(&options, "url").as_string().as_deref(), Some("/api/avatar"));
    // Errors are coded like request()'s.
    fail_next_with(413, r#"{"error":{"code":"PAYLOAD_TOO_LARGE","message":"too big"}}"#);
    let error = settle(session.upload_file(json(r#"{"url":"/api/avatar","filePath":"x","name":"file"}"#))).await.unwrap_err();
    assert_eq!((code_of(&error), get(&error, "status").as_f64()), ("SERVER_REJECTED".to_owned(), Some(413.0)));
    fail_next_with_network();
    let error = settle(session.upload_file(json(r#"{"url":"/api/avatar","filePath":"x","name":"file"}"#))).await.unwrap_err();
    assert_eq!(code_of(&error), "NETWORK");
    // Never to another host.
    let _ = settle(session.upload_file(json(r#"{"url":"https://cdn.example.com/up","filePath":"x","name":"file"}"#))).await;
    assert_eq!(headers_sent_to("https://cdn.example.com"), "[{}]");
}

#[wasm_bindgen_test]
async fn a_token_in_the_query_goes_before_the_fragment() {
    reset();
    let protocol = json(r#"{"token":{"query":"access_token"}}"#);
    let session = Session::new(options(&[("protocol", protocol)]), host_wx(), host_pages()).unwrap();
    settle(session.login(JsValue::UNDEFINED)).await.unwrap();
    let _ = settle(session.request(app_request("/api/x?a=1#top"))).await;
    assert!(request_urls().contains("|/api/x?a=1&access_token=tok-1#top"), "{}", request_urls());
}

#[wasm_bindgen_test]
fn options_that_refer_to_themselves_are_refused_not_a_crash() {
    reset();
    let protocol = json(r#"{"login":{"fields":{}}}"#);
    let fields = get(&get(&protocol, "login"), "fields");
    set(&fields, "self", &fields);
    let error = Session::new(options(&[("protocol", protocol)]), host_wx(), host_pages()).err().unwrap();
    assert_eq!((code_of(&error), get(&error, "option").as_string()), ("INVALID_OPTIONS".to_owned(), Some("protocol".to_owned())));
    // The module is still alive.
    assert!(Session::new(options(&[]), host_wx(), host_pages()).is_ok());
}

#[wasm_bindgen_test]
async fn the_token_never_goes_to_another_host() {
    let session = fresh_session();
    settle(session.login(JsValue::UNDEFINED)).await.unwrap();
    let _ = settle(session.request(app_request("https://cdn.example.com/api/x"))).await;
    let _ = settle(session.request(app_request("https://api.test.evil.example/api/x"))).await;
    assert_eq!(headers_sent_to("https://cdn.example.com"), "[{}]");
    assert_eq!(headers_sent_to("https://api.test.evil.example"), "[{}]");
    assert_eq!(count_of("login"), 1, "a foreign 401/404 must not trigger a re-login");
}

#[wasm_bindgen_test]
async fn request_shows_its_loading_text_and_reports_errors_with_status() {
    let session = fresh_session();
    let options = app_request("/api/orders");
    set(&options, "loadingText", &JsValue::from_str("加载中"));
    fail_next_with(503, r#"{"error":{"code":"MAINTENANCE","message":"维护中"}}"#);
    let error = settle(session.request(options)).await.unwrap_err();
    assert_eq!(code_of(&error), "SERVER_ERROR");
    assert_eq!(get(&error, "status").as_f64(), Some(503.0));
    assert_eq!(get(&error, "serverMessage").as_string().as_deref(), Some("维护中"));
    assert_eq!(loading_titles(), "加载中");
    assert!(!loading_visible());
    let error = settle(session.request(json(r#"{"method":"GET"}"#))).await.unwrap_err();
    assert_eq!((code_of(&error), get(&error, "option").as_string()), ("INVALID_OPTIONS".to_owned(), Some("url".to_owned())));
}

#[wasm_bindgen_test]
async fn a_request_in_flight_during_logout_never_logs_the_user_back_in() {
    let session = fresh_session();
    settle(session.login(JsValue::UNDEFINED)).await.unwrap();
    revoke_all(); // the request will come back 401 — after the user has logged out
    set_delay(5);
    let request = session.request(app_request("/api/orders"));
    let logout = session.logout(JsValue::UNDEFINED);
    settle(logout).await.unwrap();
    let error = settle(request).await.unwrap_err();
    assert_eq!(code_of(&error), "LOGGED_OUT");
    assert_eq!(count_of("login"), 1);
    assert_eq!(session.get_token(), None);
    assert_eq!(storage_json(), "{}");
}

#[wasm_bindgen_test]
async fn login_during_logout_ends_logged_in_with_a_fresh_token() {
    let session = fresh_session();
    settle(session.login(JsValue::UNDEFINED)).await.unwrap();
    set_delay(5);
    let logout = session.logout(JsValue::UNDEFINED);
    let login = session.login(JsValue::UNDEFINED);
    let result = settle(login).await.unwrap();
    settle(logout).await.unwrap();
    assert_eq!(get(&result, "token").as_string().as_deref(), Some("tok-2"));
    assert_eq!(session.get_token().as_deref(), Some("tok-2"));
    assert!(!is_live("tok-1") && is_live("tok-2"));
}

#[wasm_bindgen_test]
async fn on_change_hears_login_logout_expiry_and_invalidation() {
    let session = fresh_session();
    settle(session.login(JsValue::UNDEFINED)).await.unwrap();
    settle(session.logout(JsValue::UNDEFINED)).await.unwrap();
    put_storage("token", &JsValue::from_str("old"));
    put_storage("wxSession", &json(r#"{"token":"old","expiresAt":1}"#));
    assert_eq!(settle(session.check_has_logined()).await.unwrap(), JsValue::FALSE);
    put_storage("token", &JsValue::from_str("revoked-elsewhere"));
    assert_eq!(settle(session.check_has_logined()).await.unwrap(), JsValue::FALSE);
    assert_eq!(events(), "login:测试用户 🐼|logout|expired|invalidated");
}

#[wasm_bindgen_test]
async fn a_queued_revocation_is_sent_when_the_network_comes_back() {
    let session = fresh_session();
    session.start();
    settle(session.login(JsValue::UNDEFINED)).await.unwrap();
    fail_next_with_network();
    settle(session.logout(JsValue::UNDEFINED)).await.unwrap();
    assert!(is_live("tok-1"));
    fire_network_change(false);
    sleep(5).await;
    assert!(is_live("tok-1"), "offline: nothing to do yet");
    fire_network_change(true);
    for _ in 0..20 {
        if !is_live("tok-1") {
            break;
        }
        sleep(5).await;
    }
    assert!(!is_live("tok-1"));
    assert_eq!(storage_json(), "{}");
}

async fn sleep(ms: i32) {
    let promise = Promise::new(&mut |resolve, _| {
        web_sys_free_set_timeout(&resolve, ms);
    });
    JsFuture::from(promise).await.unwrap();
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn web_sys_free_set_timeout(callback: &Function, ms: i32);
}
