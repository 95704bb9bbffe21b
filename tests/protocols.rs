//! Every built-in protocol in headless Chromium, through the exported `Session`, against the
//! hand-written fixtures in tests/fixtures/protocols: the fake `wx.request` replays the recorded
//! answers and checks that each request matches its recording (method, URL, body, content type,
//! token placement).

#![cfg(target_arch = "wasm32")]

use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use wx_session::Session;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(module = "/tests/support/fake_wx.js")]
extern "C" {
    fn reset();
    #[wasm_bindgen(js_name = hostWx)]
    fn host_wx() -> Option<Object>;
    #[wasm_bindgen(js_name = hostPages)]
    fn host_pages() -> Option<js_sys::Function>;
    #[wasm_bindgen(js_name = useScript)]
    fn use_script(fixture: &str, names: &str);
    #[wasm_bindgen(js_name = scriptLeft)]
    fn script_left() -> u32;
    fn mismatches() -> String;
    #[wasm_bindgen(js_name = putStorage)]
    fn put_storage(key: &str, value: &JsValue);
    #[wasm_bindgen(js_name = storageJson)]
    fn storage_json() -> String;
    fn count_of(name: &str) -> u32;
    #[wasm_bindgen(js_name = lastRequestUrl)]
    fn last_request_url() -> String;
    #[wasm_bindgen(js_name = lastRequestHeader)]
    fn last_request_header(name: &str) -> JsValue;
    #[wasm_bindgen(js_name = lastRequestData)]
    fn last_request_data() -> JsValue;
    #[wasm_bindgen(js_name = answersOnly)]
    fn answers_only(fixture: &str) -> String;
    #[wasm_bindgen(js_name = exchangesOf)]
    fn exchanges_of(fixture: &str, prefix: &str) -> String;
    fn expected(fixture: &str, name: &str, key: &str) -> JsValue;
    fn recorder() -> js_sys::Function;
    fn events() -> String;
}

struct Protocol {
    name: &'static str,
    fixture: &'static str,
    base: &'static str,
}

const PROTOCOLS: [Protocol; 4] = [
    Protocol { name: "default", fixture: include_str!("fixtures/protocols/default.json"), base: "https://api.example.com" },
    Protocol { name: "egg", fixture: include_str!("fixtures/protocols/egg.json"), base: "https://egg.example.com" },
    Protocol { name: "apifm", fixture: include_str!("fixtures/protocols/apifm.json"), base: "https://api.it120.cc/demo" },
    Protocol { name: "litemall", fixture: include_str!("fixtures/protocols/litemall.json"), base: "https://mall.example.com/wx" },
];

fn get(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &JsValue::from_str(key)).unwrap()
}

fn session(protocol: &Protocol) -> Session {
    reset();
    let options = Object::new();
    Reflect::set(&options, &"baseUrl".into(), &protocol.base.into()).unwrap();
    Reflect::set(&options, &"protocol".into(), &protocol.name.into()).unwrap();
    Session::new(options.into(), host_wx(), host_pages()).unwrap()
}

async fn settle(promise: Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(promise).await
}

fn script(protocol: &Protocol, names: &str) {
    use_script(protocol.fixture, names);
}

fn assert_script_played(protocol: &Protocol, what: &str) {
    assert_eq!(mismatches(), "", "{}/{what}: requests differ from the fixtures", protocol.name);
    assert_eq!(script_left(), 0, "{}/{what}: not every recorded exchange was used", protocol.name);
}

#[wasm_bindgen_test]
async fn login_follows_each_protocol() {
    for protocol in &PROTOCOLS {
        let session = session(protocol);
        script(protocol, "login_ok");
        let result = settle(session.login(JsValue::UNDEFINED)).await.unwrap();
        assert_eq!(get(&result, "token").as_string().as_deref(), Some("TOKEN-1"), "{}", protocol.name);
        assert_script_played(protocol, "login");
        assert!(storage_json().starts_with(r#"{"token":"TOKEN-1""#), "{}: {}", protocol.name, storage_json());
    }
}

#[wasm_bindgen_test]
async fn login_failures_follow_each_protocol() {
    let cases = [
        ("default", "login_rejected", "SERVER_REJECTED"),
        ("default", "login_busy", "SERVER_ERROR"),
        ("egg", "login_rejected", "SERVER_ERROR"),
        ("egg", "login_garbage", "BAD_RESPONSE"),
        ("apifm", "login_not_registered", "NOT_REGISTERED"),
        ("apifm", "login_rejected", "SERVER_REJECTED"),
        ("litemall", "login_rejected", "SERVER_REJECTED"),
    ];
    for (name, exchange, code) in cases {
        let protocol = PROTOCOLS.iter().find(|p| p.name == name).unwrap();
        let session = session(protocol);
        script(protocol, exchange);
        let error = settle(session.login(JsValue::UNDEFINED)).await.unwrap_err();
        assert_eq!(get(&error, "code").as_string().as_deref(), Some(code), "{name}/{exchange}");
        assert_eq!(storage_json(), "{}", "{name}/{exchange}");
        assert_script_played(protocol, exchange);
    }
}

#[wasm_bindgen_test]
async fn the_not_registered_error_carries_the_servers_words() {
    let protocol = &PROTOCOLS[2];
    let session = session(protocol);
    script(protocol, "login_not_registered");
    let error = settle(session.login(JsValue::UNDEFINED)).await.unwrap_err();
    assert_eq!(get(&error, "serverCode").as_string().as_deref(), Some("10000"));
    assert_eq!(get(&error, "serverMessage").as_string().as_deref(), Some("MSG-10000"));
}

#[wasm_bindgen_test]
async fn check_follows_each_protocol() {
    for protocol in &PROTOCOLS {
        for exchange in exchanges_of(protocol.fixture, "check_").split(' ').filter(|e| !e.is_empty()) {
            let expected = expected(protocol.fixture, exchange, "check").as_string().as_deref() == Some("valid");
            let session = session(protocol);
            put_storage("token", &"TOKEN-1".into());
            let has_check = protocol.fixture.contains("\"check_valid\"");
            script(protocol, if has_check { exchange } else { "" });
            let result = settle(session.check_has_logined()).await.unwrap();
            // Without a check endpoint (egg) only WeChat's session and the expiry decide.
            let expected = if has_check { expected } else { true };
            assert_eq!(result.as_bool(), Some(expected), "{}/{exchange}", protocol.name);
            let stored = if expected { r#"{"token":"TOKEN-1"}"# } else { "{}" };
            assert_eq!(storage_json(), stored, "{}/{exchange}", protocol.name);
            assert_script_played(protocol, exchange);
        }
    }
}

#[wasm_bindgen_test]
async fn logout_follows_each_protocol() {
    for protocol in &PROTOCOLS {
        for exchange in exchanges_of(protocol.fixture, "logout_").split(' ') {
            let server = expected(protocol.fixture, exchange, "logout").as_string().unwrap();
            let session = session(protocol);
            put_storage("token", &"TOKEN-1".into());
            script(protocol, exchange);
            let result = settle(session.logout(JsValue::UNDEFINED)).await.unwrap();
            assert_eq!(get(&result, "server").as_string(), Some(server.clone()), "{}/{exchange}", protocol.name);
            // litemall's stateless tokens outlive its logout: never called confirmed.
            let confirmed = server != "notRevocable";
            assert_eq!(get(&result, "serverConfirmed"), JsValue::from_bool(confirmed), "{}/{exchange}", protocol.name);
            assert_eq!(storage_json(), "{}", "{}/{exchange}", protocol.name);
            assert_script_played(protocol, exchange);
        }
    }
}

#[wasm_bindgen_test]
async fn a_request_re_logs_in_and_replays_with_each_protocols_token() {
    for protocol in &PROTOCOLS {
        for invalid in exchanges_of(protocol.fixture, "request_").split(' ') {
            if expected(protocol.fixture, invalid, "sessionInvalid") != JsValue::TRUE {
                continue;
            }
            let session = session(protocol);
            put_storage("token", &"TOKEN-0".into());
            use_script(&answers_only(protocol.fixture), &format!("{invalid} login_ok request_ok"));
            let options = Object::new();
            Reflect::set(&options, &"url".into(), &"/orders".into()).unwrap();
            let reply = settle(session.request(options.into())).await.unwrap();
            let label = format!("{}/{invalid}", protocol.name);
            assert_eq!(get(&reply, "statusCode").as_f64(), Some(200.0), "{label}");
            assert_script_played(protocol, &label);
            assert_eq!(count_of("login"), 1, "{label}");
            let url = last_request_url();
            match protocol.name {
                "apifm" => assert_eq!(url, format!("{}/orders?token=TOKEN-1", protocol.base)),
                "litemall" => assert_eq!(last_request_header("X-Litemall-Token").as_string().as_deref(), Some("TOKEN-1")),
                "egg" => {
                    assert_eq!(last_request_header("token").as_string().as_deref(), Some("TOKEN-1"));
                    // So that egg-onerror answers JSON, not its production HTML page.
                    assert_eq!(last_request_header("Accept").as_string().as_deref(), Some("application/json"));
                }
                _ => assert_eq!(last_request_header("Authorization").as_string().as_deref(), Some("Bearer TOKEN-1")),
            }
        }
    }
}

#[wasm_bindgen_test]
async fn answers_that_are_not_about_the_session_are_not_taken_for_it() {
    for protocol in &PROTOCOLS {
        for exchange in exchanges_of(protocol.fixture, "request_").split(' ') {
            if expected(protocol.fixture, exchange, "sessionInvalid") != JsValue::FALSE {
                continue;
            }
            let session = session(protocol);
            put_storage("token", &"TOKEN-1".into());
            use_script(&answers_only(protocol.fixture), exchange);
            let options = Object::new();
            Reflect::set(&options, &"url".into(), &"/orders".into()).unwrap();
            let _ = settle(session.request(options.into())).await;
            let label = format!("{}/{exchange}", protocol.name);
            assert_eq!(count_of("login"), 0, "{label}: no re-login");
            assert_eq!(storage_json(), r#"{"token":"TOKEN-1"}"#, "{label}: the token stays");
            assert_script_played(protocol, &label);
        }
    }
}

#[wasm_bindgen_test]
async fn apifm_requests_carry_the_token_as_its_client_does() {
    let protocol = PROTOCOLS.iter().find(|p| p.name == "apifm").unwrap();
    let session = session(protocol);
    put_storage("token", &"TOKEN-1".into());
    // POST: a form field next to the app's own, form-encoded as apifm-wxapi sends every request.
    use_script(&answers_only(protocol.fixture), "request_ok");
    let options = js_sys::JSON::parse(r#"{"url":"/score/sign","method":"POST","data":{"a":"1"}}"#).unwrap();
    settle(session.request(options.clone())).await.unwrap();
    assert_eq!(js_sys::JSON::stringify(&last_request_data()).unwrap(), r#"{"a":"1","token":"TOKEN-1"}"#);
    assert_eq!(last_request_url(), format!("{}/score/sign", protocol.base));
    assert_eq!(last_request_header("content-type").as_string().as_deref(), Some("application/x-www-form-urlencoded"));
    assert_eq!(js_sys::JSON::stringify(&get(&options, "data")).unwrap(), r#"{"a":"1"}"#, "the app's object is not changed");
    // A form string gets one more pair.
    use_script(&answers_only(protocol.fixture), "request_ok");
    let options = js_sys::JSON::parse(r#"{"url":"/score/sign","method":"POST","data":"a=1"}"#).unwrap();
    settle(session.request(options)).await.unwrap();
    assert_eq!(last_request_data().as_string().as_deref(), Some("a=1&token=TOKEN-1"));
    // GET: the query, before any fragment.
    use_script(&answers_only(protocol.fixture), "request_ok");
    let options = js_sys::JSON::parse(r#"{"url":"/user/amount#x","method":"GET"}"#).unwrap();
    settle(session.request(options)).await.unwrap();
    assert_eq!(last_request_url(), format!("{}/user/amount?token=TOKEN-1#x", protocol.base));
}

#[wasm_bindgen_test]
async fn a_logout_endpoint_that_is_not_there_is_given_up_and_said_so() {
    let protocol = PROTOCOLS.iter().find(|p| p.name == "default").unwrap();
    let session = session(protocol);
    session.set_listener(Some(recorder()));
    put_storage("token", &"TOKEN-1".into());
    let fixture = r#"{"protocol":"default","baseUrl":"https://api.example.com","exchanges":{"logout_404":{"response":{"status":404,"body":"<html>Not Found</html>"}}}}"#;
    use_script(fixture, "logout_404");
    let result = settle(session.logout(JsValue::UNDEFINED)).await.unwrap();
    assert_eq!(get(&result, "server").as_string().as_deref(), Some("unconfirmed"));
    assert_eq!(storage_json(), "{}", "logged out, nothing queued");
    assert_eq!(events(), "logout|revocationAbandoned:refused");
}

#[wasm_bindgen_test]
async fn a_custom_protocol_is_configured_not_coded() {
    reset();
    let options = js_sys::JSON::parse(
        r#"{"baseUrl":"https://custom.example.com","protocol":{
            "format":"form",
            "login":{"path":"/v2/session","codeField":"js_code","fields":{"app":"shop"}},
            "tokenPath":"result.accessToken","uidPath":"result.user.id","userInfoPath":null,"expiresInPath":"result.ttl",
            "success":{"path":"status","values":["ok"]},
            "invalidSession":{"statuses":[401,419],"path":"status","values":["expired"]},
            "check":{"method":"GET","path":"/v2/session/check","valid":{"path":"status","values":["ok"]}},
            "logout":{"method":"POST","path":"/v2/session/end"},
            "token":{"header":"X-Session","prefix":"S "}}}"#,
    )
    .unwrap();
    let session = Session::new(options, host_wx(), host_pages()).unwrap();
    let fixture = r#"{"protocol":"custom","baseUrl":"https://custom.example.com","exchanges":{
        "login":{"request":{"method":"POST","url":"/v2/session","contentType":"application/x-www-form-urlencoded","body":"js_code=CODE-1&app=shop"},
                 "response":{"status":200,"body":"{\"status\":\"ok\",\"result\":{\"accessToken\":\"TOKEN-1\",\"user\":{\"id\":7},\"ttl\":60}}"}},
        "check":{"request":{"method":"GET","url":"/v2/session/check","header":["X-Session","S TOKEN-1"]},
                 "response":{"status":200,"body":"{\"status\":\"expired\"}"}}}}"#;
    use_script(fixture, "login");
    let result = settle(session.login(JsValue::UNDEFINED)).await.unwrap();
    assert_eq!(get(&result, "uid").as_f64(), Some(7.0));
    assert!(get(&result, "expiresAt").as_f64().is_some());
    assert_eq!(mismatches(), "");
    let session = Session::new(js_sys::JSON::parse(r#"{"baseUrl":"https://custom.example.com","protocol":{"check":{"path":"/v2/session/check","valid":{"path":"status","values":["ok"]}},"invalidSession":{"path":"status","values":["expired"]},"token":{"header":"X-Session","prefix":"S "}}}"#).unwrap(), host_wx(), host_pages()).unwrap();
    use_script(fixture, "check");
    assert_eq!(settle(session.check_has_logined()).await.unwrap(), JsValue::FALSE);
    assert_eq!(mismatches(), "");
    assert_eq!(storage_json(), "{}");
}

#[wasm_bindgen_test]
fn bad_protocol_configuration_names_the_option() {
    reset();
    for (protocol, option) in [
        (r#""strapi""#, "protocol"),
        (r#"{"preset":"nope"}"#, "protocol.preset"),
        (r#"{"login":{"path":"no-slash"}}"#, "protocol.login.path"),
        (r#"{"login":{"methd":"GET"}}"#, "protocol.login.methd"),
        (r#"{"success":{"path":"code"}}"#, "protocol.success.values"),
        (r#"{"invalidSession":{"statuses":[99]}}"#, "protocol.invalidSession.statuses"),
        (r#"{"token":{}}"#, "protocol.token"),
        (r#"{"format":"xml"}"#, "protocol.format"),
        (r#"[1]"#, "protocol"),
    ] {
        let options = js_sys::JSON::parse(&format!(r#"{{"baseUrl":"https://a.example.com","protocol":{protocol}}}"#)).unwrap();
        let Err(error) = Session::new(options, host_wx(), host_pages()) else { panic!("accepted {protocol}") };
        assert_eq!(get(&error, "code").as_string().as_deref(), Some("INVALID_OPTIONS"), "{protocol}");
        assert_eq!(get(&error, "option").as_string().as_deref(), Some(option), "{protocol}");
    }
}

#[wasm_bindgen_test]
async fn login_fields_reach_the_server_litemalls_user_info() {
    let protocol = &PROTOCOLS[3];
    let session = session(protocol);
    let fixture = r#"{"protocol":"litemall","baseUrl":"https://mall.example.com/wx","exchanges":{"login":{
        "request":{"method":"POST","url":"/auth/login_by_weixin","contentType":"application/json",
                   "body":"{\"code\":\"CODE-1\",\"userInfo\":{\"nickName\":\"小明 🐼\",\"avatarUrl\":\"\"}}"},
        "response":{"status":200,"body":"{\"errno\":0,\"data\":{\"token\":\"TOKEN-1\",\"userInfo\":{\"nickName\":\"小明 🐼\"}}}"}}}}"#;
    use_script(fixture, "login");
    let options = js_sys::JSON::parse(r#"{"fields":{"userInfo":{"nickName":"小明 🐼","avatarUrl":""}}}"#).unwrap();
    settle(session.login(options)).await.unwrap();
    assert_eq!(mismatches(), "");
    let error = settle(session.login(js_sys::JSON::parse(r#"{"fields":[1]}"#).unwrap())).await.unwrap_err();
    assert_eq!(get(&error, "option").as_string().as_deref(), Some("fields"));
}

#[wasm_bindgen_test]
async fn an_adapt_answer_hook_makes_an_odd_backend_speak_a_configured_protocol() {
    reset();
    // A backend answering login with the text "OK <token> <uid>" (or "NEW" for unknown users),
    // check with "1"/"0", and "RELOGIN" when a request needs a new session.
    let adapt = js_sys::Function::new_with_args(
        "a",
        r#"const json = (status, value) => ({ status, body: JSON.stringify(value) });
           if (a.purpose === 'login') {
             const [word, token, uid] = a.body.split(' ');
             if (word === 'NEW') return json(403, { error: { code: 'NOT_REGISTERED', message: '注册后再登录' } });
             if (word !== 'OK') throw new Error('unexpected login answer');
             return json(200, { token, uid: Number(uid), expiresIn: 60 });
           }
           if (a.purpose === 'check') return a.body === '1' ? json(200, { valid: true }) : json(401, {});
           if (a.purpose === 'request' && a.body === 'RELOGIN') return { status: 401 };
           return a;"#,
    );
    let options = js_sys::JSON::parse(
        r#"{"baseUrl":"https://text.example.com","checkTrustMs":0,"protocol":{"login":{"path":"/login"},
            "check":{"path":"/check"},"logout":{"path":"/logout"},
            "notRegistered":{"path":"error.code","values":["NOT_REGISTERED"]}}}"#,
    )
    .unwrap();
    Reflect::set(&get(&options, "protocol"), &"adaptAnswer".into(), &adapt).unwrap();
    let fixture = r#"{"protocol":"text","baseUrl":"https://text.example.com","exchanges":{
        "login":{"request":{"method":"POST","url":"/login","contentType":"application/json","body":"{\"code\":\"CODE-1\"}"},
                 "response":{"status":200,"body":"OK TOKEN-1 77"}},
        "login_again":{"response":{"status":200,"body":"OK TOKEN-2 77"}},
        "new_user":{"response":{"status":200,"body":"NEW"}},
        "garbage":{"response":{"status":200,"body":"<html>"}},
        "check_ok":{"request":{"method":"GET","url":"/check","header":["Authorization","Bearer TOKEN-1"]},"response":{"status":200,"body":"1"}},
        "check_no":{"response":{"status":200,"body":"0"}},
        "relogin":{"response":{"status":200,"body":"RELOGIN"}},
        "ok":{"response":{"status":200,"body":"{}"}}}}"#;
    let session = Session::new(options.clone(), host_wx(), host_pages()).unwrap();
    use_script(fixture, "login check_ok check_no");
    let result = settle(session.login(JsValue::UNDEFINED)).await.unwrap();
    assert_eq!(get(&result, "token").as_string().as_deref(), Some("TOKEN-1"));
    assert_eq!(get(&result, "uid").as_f64(), Some(77.0));
    assert_eq!(settle(session.check_has_logined()).await.unwrap(), JsValue::TRUE);
    assert_eq!(settle(session.check_has_logined()).await.unwrap(), JsValue::FALSE);
    assert_eq!(storage_json(), "{}");
    assert_eq!(mismatches(), "");

    use_script(fixture, "new_user garbage");
    let error = settle(session.login(JsValue::UNDEFINED)).await.unwrap_err();
    assert_eq!(get(&error, "code").as_string().as_deref(), Some("NOT_REGISTERED"));
    assert_eq!(get(&error, "serverMessage").as_string().as_deref(), Some("注册后再登录"));
    let error = settle(session.login(JsValue::UNDEFINED)).await.unwrap_err();
    assert_eq!(get(&error, "code").as_string().as_deref(), Some("BAD_RESPONSE"));

    use_script(fixture, "relogin login_again ok");
    let request = js_sys::JSON::parse(r#"{"url":"/orders"}"#).unwrap();
    let reply = settle(session.request(request)).await.unwrap();
    let data = js_sys::JSON::stringify(&get(&reply, "data")).unwrap();
    assert_eq!(data.as_string().as_deref(), Some("{}"), "the app gets the answer as it came");
    assert_eq!(script_left(), 0);
    assert_eq!(session.get_token().as_deref(), Some("TOKEN-2"));

    Reflect::set(&get(&options, "protocol"), &"adaptAnswer".into(), &"yes".into()).unwrap();
    let Err(error) = Session::new(options, host_wx(), host_pages()) else { panic!("accepted a hook that is not a function") };
    assert_eq!(get(&error, "option").as_string().as_deref(), Some("protocol.adaptAnswer"));
}
