//! Native tests of the session logic against [`FakeWx`]: every path, no JavaScript.

use crate::platform::{Refresh, SessionEvent, StoredValue};
use crate::protocol::presets;
use crate::revocations::KEY_PENDING;
use crate::session::{ServerRevocation, Session, SessionConfig};
use crate::testing::{block_on, body_text, json, Fault, FakeWx};

fn session() -> Session<FakeWx> {
    let fake = FakeWx::default();
    fake.now.set(1_000_000);
    Session::new(fake, presets::default("https://api.test"), SessionConfig::default())
}

fn text(s: &str) -> StoredValue {
    StoredValue::Text(s.to_owned())
}

#[test]
fn login_stores_token_uid_user_info_and_expiry() {
    let s = session();
    let outcome = block_on(s.login(&[])).unwrap();
    let wx = s.platform();
    assert_eq!(outcome.session.token.as_str(), "tok-1");
    assert_eq!(wx.stored("token"), text("tok-1"));
    assert_eq!(
        wx.stored("wxSession"),
        StoredValue::Json(json(r#"{"token":"tok-1","uid":42,"userInfo":{"nickName":"测试用户 🐼"},"expiresAt":4600000}"#))
    );
    assert_eq!(wx.keys(), ["token", "wxSession"]);
    assert_eq!(*wx.loading.borrow(), ["show:登录中", "hide"]);
    assert_eq!(wx.requests.borrow()[0].body.as_ref().map(body_text).as_deref(), Some(r#"{"code":"code-1"}"#));
    assert!(matches!(wx.events.borrow()[0], SessionEvent::Login { .. }));
    assert_eq!(s.token().unwrap().as_str(), "tok-1");
}

#[test]
fn failed_logins_leave_storage_as_it_was_and_hide_loading() {
    type Arrange = Box<dyn Fn(&FakeWx)>;
    let cases: Vec<(&str, Arrange)> = vec![
        ("WX_LOGIN_FAILED", Box::new(|wx| wx.login_fails.set(true))),
        ("NETWORK", Box::new(|wx| wx.fail_next(Fault::Network))),
        ("SERVER_ERROR", Box::new(|wx| wx.fail_next(Fault::Status(500, "oops")))),
        ("BAD_RESPONSE", Box::new(|wx| wx.fail_next(Fault::Status(200, "<html>hi</html>")))),
        ("BAD_RESPONSE", Box::new(|wx| wx.fail_next(Fault::Status(200, "{\"token\":")))),
        ("SERVER_REJECTED", Box::new(|wx| wx.fail_next(Fault::Status(400, r#"{"error":{"code":"CODE_USED","message":"used"}}"#)))),
        ("STORAGE_FAILED", Box::new(|wx| wx.storage_full.set(true))),
    ];
    for (code, arrange) in cases {
        let s = session();
        let wx = s.platform();
        wx.put("token", text("old-token"));
        wx.put("wxSession", StoredValue::Json(json(r#"{"token":"old-token","uid":"old-uid"}"#)));
        arrange(wx);
        let error = block_on(s.login(&[])).unwrap_err();
        assert_eq!(error.code(), code);
        assert_eq!(wx.keys(), ["token", "wxSession"], "{code}");
        assert_eq!(wx.stored("wxSession"), StoredValue::Json(json(r#"{"token":"old-token","uid":"old-uid"}"#)), "{code}");
        assert_eq!(wx.stored("token"), text("old-token"), "{code}");
        assert!(wx.loading_balanced(), "{code}: loading left open");
        assert!(wx.events.borrow().is_empty(), "{code}");
    }
}

#[test]
fn a_partly_failed_save_is_rolled_back() {
    // The new record fits, then storage fills up before the token: nothing half-written may remain.
    let s = session();
    let wx = s.platform();
    let old = StoredValue::Json(json(r#"{"token":"old-token","userInfo":{"nickName":"旧"}}"#));
    wx.put("token", text("old-token"));
    wx.put("wxSession", old.clone());
    // The record is written, then the token write is refused.
    wx.refuse_key.replace(Some("token"));
    assert_eq!(block_on(s.login(&[])).unwrap_err().code(), "STORAGE_FAILED");
    assert_eq!(wx.keys(), ["token", "wxSession"]);
    assert_eq!(wx.stored("token"), text("old-token"));
    assert_eq!(wx.stored("wxSession"), old);
}

#[test]
fn check_without_token_makes_no_call() {
    let s = session();
    assert_eq!(block_on(s.check_has_logined()), Ok(false));
    let wx = s.platform();
    assert_eq!(wx.check_sessions.get(), 0);
    assert!(wx.requests.borrow().is_empty());
}

#[test]
fn check_asks_wechat_then_the_server() {
    let s = session();
    let wx = s.platform();
    wx.live_tokens.borrow_mut().insert("stored".into());
    wx.put("token", text("stored"));
    assert_eq!(block_on(s.check_has_logined()), Ok(true));
    assert_eq!(wx.check_sessions.get(), 1);
    assert_eq!(wx.requests.borrow().len(), 1);
    // Trusted afterwards: no more calls within the window.
    assert_eq!(block_on(s.check_has_logined()), Ok(true));
    assert_eq!(wx.requests.borrow().len(), 1);
    // After the window the server is asked again, but WeChat only once per launch.
    wx.now.set(wx.now.get() + 5 * 60 * 1000);
    assert_eq!(block_on(s.check_has_logined()), Ok(true));
    assert_eq!((wx.check_sessions.get(), wx.requests.borrow().len()), (1, 2));
}

#[test]
fn check_session_failure_removes_the_token() {
    let s = session();
    let wx = s.platform();
    wx.put("token", text("stored"));
    wx.put("wxSession", StoredValue::Json(json(r#"{"token":"stored","uid":"u"}"#)));
    wx.wechat_session_invalid.set(true);
    assert_eq!(block_on(s.check_has_logined()), Ok(false));
    assert!(wx.keys().is_empty());
    assert!(wx.requests.borrow().is_empty());
    assert_eq!(*wx.events.borrow(), [SessionEvent::Invalidated]);
}

#[test]
fn a_rejected_token_is_removed() {
    let s = session();
    let wx = s.platform();
    wx.put("token", text("revoked-elsewhere"));
    assert_eq!(block_on(s.check_has_logined()), Ok(false));
    assert!(wx.keys().is_empty());
}

#[test]
fn an_unreachable_server_is_not_logged_out() {
    for fault in [Fault::Network, Fault::Status(502, "<html>bad gateway</html>"), Fault::Status(200, "garbage")] {
        let s = session();
        let wx = s.platform();
        wx.put("token", text("stored"));
        wx.fail_next(fault.clone());
        let error = block_on(s.check_has_logined()).unwrap_err();
        assert!(["NETWORK", "SERVER_ERROR", "BAD_RESPONSE"].contains(&error.code()), "{fault:?}");
        assert_eq!(wx.stored("token"), text("stored"), "{fault:?}");
    }
}

#[test]
fn an_expired_token_is_absent_without_any_call() {
    let s = session();
    let wx = s.platform();
    wx.put("token", text("stored"));
    wx.put("wxSession", StoredValue::Json(json(r#"{"token":"stored","expiresAt":999999}"#)));
    assert_eq!(block_on(s.check_has_logined()), Ok(false));
    assert!(wx.keys().is_empty());
    assert_eq!((wx.check_sessions.get(), wx.requests.borrow().len()), (0, 0));
    assert_eq!(*wx.events.borrow(), [SessionEvent::Expired]);
}

#[test]
fn corrupted_storage_means_logged_out_and_is_cleaned() {
    let record = |text: &str| StoredValue::Json(json(text));
    let cases = [
        ("token", record(r#"{"skey":"x"}"#)),
        ("token", record("12345")),
        ("token", text("has spaces in it")),
        ("token", StoredValue::Unreadable),
        ("wxSession", text("{\"token\":")),
        ("wxSession", record("[1,2]")),
        ("wxSession", record(r#"{"token":"good","uid":{}}"#)),
        ("wxSession", record(r#"{"token":"good","userInfo":"x"}"#)),
        ("wxSession", record(r#"{"token":"good","expiresAt":"tomorrow"}"#)),
        ("wxSession", StoredValue::Unreadable),
    ];
    for (key, value) in cases {
        let s = session();
        let wx = s.platform();
        wx.put("token", text("good"));
        wx.put("other-app", text("keep me"));
        wx.put(key, value.clone());
        assert_eq!(block_on(s.check_has_logined()), Ok(false), "{key} = {value:?}");
        assert_eq!(wx.keys(), ["other-app"], "{key} = {value:?}");
        assert!(s.token().is_none());
    }
}

#[test]
fn a_token_set_by_other_code_counts_without_a_record() {
    let s = session();
    let wx = s.platform();
    block_on(s.login(&[])).unwrap();
    // A page writes a token of its own: the record (of tok-1) says nothing about it.
    wx.put("token", text("set-by-page"));
    let stored = s.current().unwrap();
    assert_eq!((stored.token.as_str(), stored.uid), ("set-by-page", None));
}

#[test]
fn reads_once_per_call_while_the_token_is_unchanged() {
    let s = session();
    block_on(s.login(&[])).unwrap();
    let wx = s.platform();
    wx.reads.set(0);
    assert_eq!(block_on(s.check_has_logined()), Ok(true));
    assert!(s.token().is_some());
    assert_eq!(wx.reads.get(), 2, "one read of `token` per call inside the trust window");
}

#[test]
fn logout_revokes_clears_and_refreshes() {
    let s = session();
    block_on(s.login(&[])).unwrap();
    let wx = s.platform();
    let outcome = block_on(s.logout(&Refresh::TopPageOnShow));
    assert_eq!(outcome.server, ServerRevocation::Revoked);
    assert!(outcome.was_logged_in && outcome.server_confirmed());
    assert!(wx.keys().is_empty());
    assert!(wx.live_tokens.borrow().is_empty());
    assert_eq!(wx.loading.borrow()[2..], ["show:正在退出".to_owned(), "hide".to_owned()]);
    assert_eq!(*wx.refreshes.borrow(), [Refresh::TopPageOnShow]);
    assert_eq!(wx.events.borrow().last(), Some(&SessionEvent::Logout));
}

#[test]
fn logout_of_an_already_invalid_token_is_confirmed() {
    let s = session();
    let wx = s.platform();
    wx.put("token", text("dead"));
    let outcome = block_on(s.logout(&Refresh::Nothing));
    assert_eq!(outcome.server, ServerRevocation::AlreadyInvalid);
    assert!(outcome.server_confirmed());
    assert!(wx.keys().is_empty());
}

#[test]
fn offline_logout_still_logs_out_and_queues_the_revocation() {
    let s = session();
    block_on(s.login(&[])).unwrap();
    let wx = s.platform();
    wx.fail_next(Fault::Network);
    let outcome = block_on(s.logout(&Refresh::ReLaunch("/pages/index/index".into())));
    assert_eq!(outcome.server, ServerRevocation::Unconfirmed);
    assert!(!outcome.server_confirmed());
    assert_eq!(wx.keys(), [KEY_PENDING]);
    assert!(wx.loading_balanced());
    assert_eq!(*wx.refreshes.borrow(), [Refresh::ReLaunch("/pages/index/index".into())]);
    // Still offline: stays queued. Back online: revoked and the queue is gone.
    wx.fail_next(Fault::Network);
    assert_eq!(block_on(s.retry_revocations()), 1);
    assert_eq!(wx.live_tokens.borrow().len(), 1);
    assert_eq!(block_on(s.retry_revocations()), 0);
    assert!(wx.live_tokens.borrow().is_empty());
    assert!(wx.keys().is_empty());
}

#[test]
fn a_revocation_the_server_refuses_for_good_is_given_up_not_retried() {
    let s = session();
    block_on(s.login(&[])).unwrap();
    let wx = s.platform();
    wx.fail_next(Fault::Status(404, "<html>404</html>"));
    let outcome = block_on(s.logout(&Refresh::Nothing));
    assert_eq!(outcome.server, ServerRevocation::Unconfirmed);
    assert!(wx.keys().is_empty(), "nothing queued: asking again would get the same 404");
    assert_eq!(wx.events.borrow().last(), Some(&SessionEvent::RevocationAbandoned { reason: "refused" }));
}

#[test]
fn retries_back_off_and_end() {
    let s = session();
    let wx = s.platform();
    // No expiry: the token would otherwise die (and be given up as expired) within the hour.
    wx.login_body.replace(Some(r#"{"token":"tok-1"}"#.into()));
    block_on(s.login(&[])).unwrap();
    wx.fail_next(Fault::Status(503, "busy"));
    block_on(s.logout(&Refresh::Nothing));
    let mut tries = 1;
    let mut waited = Vec::new();
    loop {
        // Find the moment the entry becomes due, a second at a time.
        let start = wx.now.get();
        let sent = wx.requests.borrow().len();
        while wx.requests.borrow().len() == sent && wx.keys().contains(&KEY_PENDING.to_owned()) {
            wx.now.set(wx.now.get() + 1000);
            wx.fail_next(Fault::Status(503, "busy"));
            block_on(s.retry_revocations());
            if wx.requests.borrow().len() == sent {
                wx.faults.borrow_mut().clear();
            }
        }
        waited.push((wx.now.get() - start) / 1000);
        tries += 1;
        if !wx.keys().contains(&KEY_PENDING.to_owned()) {
            break;
        }
        assert!(tries <= 20, "never gave up");
    }
    assert_eq!(tries, crate::revocations::MAX_TRIES as usize, "the logout and seven retries");
    assert_eq!(waited, [30, 60, 120, 240, 480, 960, 1920]);
    assert_eq!(wx.events.borrow().last(), Some(&SessionEvent::RevocationAbandoned { reason: "tooManyTries" }));
    assert_eq!(wx.live_tokens.borrow().len(), 1, "the token is left to expire on the server");
}

#[test]
fn an_expired_token_is_not_revoked_any_more() {
    let s = session();
    block_on(s.login(&[])).unwrap();
    let wx = s.platform();
    wx.fail_next(Fault::Network);
    block_on(s.logout(&Refresh::Nothing));
    wx.now.set(wx.now.get() + 3600 * 1000);
    let sent = wx.requests.borrow().len();
    assert_eq!(block_on(s.retry_revocations()), 0);
    assert_eq!(wx.requests.borrow().len(), sent);
    assert_eq!(wx.events.borrow().last(), Some(&SessionEvent::RevocationAbandoned { reason: "expired" }));
}

#[test]
fn a_server_that_cannot_revoke_says_so() {
    let fake = FakeWx::default();
    fake.now.set(1_000_000);
    let s = Session::new(fake, presets::litemall("https://mall.test/wx"), SessionConfig::default());
    let wx = s.platform();
    wx.fail_next(Fault::Status(200, r#"{"errno":0,"data":{"token":"jwt-1","userInfo":{}},"errmsg":"成功"}"#));
    block_on(s.login(&[])).unwrap();
    wx.fail_next(Fault::Status(200, r#"{"errno":0,"errmsg":"成功"}"#));
    let outcome = block_on(s.logout(&Refresh::Nothing));
    assert_eq!(outcome.server, ServerRevocation::NotRevocable);
    assert!(!outcome.server_confirmed(), "the token lives on the server until it expires");
    assert!(wx.keys().is_empty(), "nothing to retry");
}

#[test]
fn logout_when_logged_out_calls_no_server() {
    let s = session();
    let outcome = block_on(s.logout(&Refresh::TopPageOnShow));
    assert_eq!(outcome.server, ServerRevocation::Nothing);
    assert!(!outcome.was_logged_in);
    assert!(s.platform().requests.borrow().is_empty());
    assert!(s.platform().loading.borrow().is_empty());
}

#[test]
fn empty_loading_text_shows_no_loading() {
    let fake = FakeWx::default();
    let config = SessionConfig { login_loading_text: String::new(), ..SessionConfig::default() };
    let s = Session::new(fake, presets::default("https://api.test"), config);
    block_on(s.login(&[])).unwrap();
    assert!(s.platform().loading.borrow().is_empty());
}

// ---------------------------------------------------------------- request()

use crate::protocol::{origin, same_origin};
use crate::testing::TestCall;

fn call(url: &str) -> TestCall {
    TestCall(url.to_owned())
}

#[test]
fn the_token_goes_only_to_the_servers_own_origin() {
    let s = session();
    block_on(s.login(&[])).unwrap();
    let wx = s.platform();
    block_on(s.request(&call("https://api.test/api/orders"), None)).unwrap();
    let _ = block_on(s.request(&call("https://cdn.example.com/api/x"), None));
    let _ = block_on(s.request(&call("https://api.test.evil.com/api/x"), None));
    let requests = wx.requests.borrow();
    assert_eq!(requests[1].headers, vec![("Authorization".to_owned(), "Bearer tok-1".to_owned())]);
    assert!(requests[2].headers.is_empty(), "token leaked to another host");
    assert!(requests[3].headers.is_empty(), "token leaked to a look-alike host");
}

#[test]
fn origins_are_compared_strictly() {
    assert_eq!(origin("HTTPS://API.Test:8443/x?y").as_deref(), Some("https://api.test:8443"));
    assert_eq!(origin("https://api.test@evil.example/"), None);
    assert_eq!(origin("ftp://api.test/"), None);
    assert_eq!(origin("/relative"), None);
    assert_eq!(origin("https:api.test"), None);
    assert_eq!(origin("https:/api.test"), None);
    assert_eq!(origin("x:https://api.test"), None);
    assert_eq!(origin("api.test:8443/https://x"), None);
    assert_eq!(origin("http://api.test:80/a://b").as_deref(), Some("http://api.test:80"));
    assert!(same_origin("https://api.test/a", "https://api.test"));
    assert!(!same_origin("http://api.test/a", "https://api.test"));
    assert!(!same_origin("https://api.test:444/a", "https://api.test"));
}

#[test]
fn an_expired_session_re_logs_in_once_and_replays() {
    let s = session();
    let wx = s.platform();
    wx.put("token", text("expired-on-server"));
    let reply = block_on(s.request(&call("https://api.test/api/orders"), Some("加载中"))).unwrap();
    assert_eq!(reply.status, 200);
    let log: Vec<String> = wx.requests.borrow().iter().map(|r| r.url.replace("https://api.test", "")).collect();
    assert_eq!(log, ["/api/orders", "/auth/login", "/api/orders"]);
    assert_eq!(wx.wx_logins.get(), 1);
    assert_eq!(wx.stored("token"), text("tok-1"));
    assert!(wx.loading_balanced());
}

#[test]
fn a_server_that_keeps_rejecting_ends_with_session_invalid_not_a_loop() {
    let s = session();
    let wx = s.platform();
    wx.put("token", text("expired-on-server"));
    // Every login succeeds, but the app endpoint keeps answering 401.
    for _ in 0..10 {
        wx.fail_next(Fault::Status(401, r#"{"error":{"code":"SESSION_INVALID","message":"登陆状态已失效"}}"#));
    }
    wx.faults.borrow_mut().insert(1, Fault::Status(200, r#"{"token":"tok-x"}"#));
    let error = block_on(s.request(&call("https://api.test/api/orders"), None)).unwrap_err();
    assert_eq!(error.code(), "SESSION_INVALID");
    assert_eq!(error.status(), Some(401));
    assert_eq!(wx.requests.borrow().len(), 3, "one request, one login, one replay");
    assert!(s.token().is_none());
}

#[test]
fn request_errors_carry_status_and_server_message() {
    let s = session();
    let wx = s.platform();
    wx.fail_next(Fault::Status(503, r#"{"error":{"code":"MAINTENANCE","message":"维护中"}}"#));
    let error = block_on(s.request(&call("https://api.test/api/orders"), None)).unwrap_err();
    assert_eq!((error.code(), error.status()), ("SERVER_ERROR", Some(503)));
    assert_eq!(error.server_message().and_then(|m| m.message.as_deref()), Some("维护中"));
    wx.fail_next(Fault::Network);
    assert_eq!(block_on(s.request(&call("https://api.test/api/orders"), None)).unwrap_err().code(), "NETWORK");
}
