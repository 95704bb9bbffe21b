//! The audit log: one structured event per login, failed login, logout, single-sign-on
//! replacement and account change (nickname, avatar, phone number), each with the uid (when
//! there is one), the client address and the request id. Never a token, a code, an openid, a key
//! or the changed value itself.
//!
//! Events go through `tracing` with target `audit` at level INFO, so they land in the same log
//! as everything else and can be filtered (`RUST_LOG=audit=info`) or routed by target. Every line
//! is inside the request's span from the trace layer, which carries the request id too.
//!
//! The handlers and the shared session functions in `routes.rs` do not pass the client address
//! and request id around: [`scope`] (a middleware) puts them in a task-local for the duration of
//! the request, and the functions here read it.

use std::future::Future;
use std::net::IpAddr;

/// Who is asking, for the audit events of the current request.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The client address (see `throttle::client_ip`), if known.
    pub client_ip: Option<IpAddr>,
    /// The request id, as in the `x-request-id` response header.
    pub request_id: String,
}

tokio::task_local! {
    static CONTEXT: RequestContext;
}

/// Runs `future` (the rest of the request) with `context` available to the audit events.
pub async fn scope<F: Future>(context: RequestContext, future: F) -> F::Output {
    CONTEXT.scope(context, future).await
}

/// The current request's client address and id, as log field values ("-" outside a request).
fn who() -> (String, String) {
    CONTEXT
        .try_with(|context| {
            (
                context
                    .client_ip
                    .map_or_else(|| "-".to_owned(), |ip| ip.to_string()),
                context.request_id.clone(),
            )
        })
        .unwrap_or_else(|_| ("-".to_owned(), "-".to_owned()))
}

/// A session was started for `uid`.
pub fn login(uid: &str) {
    let (client_ip, request_id) = who();
    tracing::info!(target: "audit", event = "login", uid, client_ip, request_id, "audit");
}

/// Starting `uid`'s new session ended (revoked) the one it had before: single sign-on.
pub fn sso_replacement(uid: &str) {
    let (client_ip, request_id) = who();
    tracing::info!(
        target: "audit",
        event = "sso_replacement",
        uid,
        revoked = true,
        client_ip,
        request_id,
        "audit"
    );
}

/// A login failed before any session existed; `reason` is the stable error code.
pub fn login_failed(reason: &'static str) {
    let (client_ip, request_id) = who();
    tracing::info!(target: "audit", event = "login_failed", reason, client_ip, request_id, "audit");
}

/// `uid` ended its session (the token is revoked).
pub fn logout(uid: &str) {
    let (client_ip, request_id) = who();
    tracing::info!(
        target: "audit",
        event = "logout",
        uid,
        revoked = true,
        client_ip,
        request_id,
        "audit"
    );
}

/// `uid` changed `what` of its account: `"nickname"`, `"avatar"` or `"phone"` (the value itself
/// is not logged: a phone number is personal data).
pub fn account_changed(uid: &str, what: &'static str) {
    let (client_ip, request_id) = who();
    tracing::info!(
        target: "audit",
        event = "account_changed",
        uid,
        what,
        client_ip,
        request_id,
        "audit"
    );
}
