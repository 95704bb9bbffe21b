//! The HTTP surface: routes, handlers, and the layers around them.
//!
//! ```text
//! POST /auth/login   {"code"}            → {"token", "uid", "userInfo"?, "expiresIn"}
//! GET  /auth/check   Bearer token        → {"valid": true, "uid", "expiresIn"}
//! POST /auth/logout  Bearer token        → {"revoked": true}
//! GET  /healthz                          → {"ok": true}  (503 if the store or user database is down)
//! GET  /livez                            → {"ok": true}  (the process answers)
//! POST /dev/code     {"user"?}           → {"code"}        (development mode only)
//! /wx/…              litemall's dialect of the same three (development mode only, litemall.rs)
//! /user/…, /media/…  profile, avatar, phone number (profile.rs)
//! ```
//!
//! Handlers are thin: read the request, call [`start_session`], [`active_session`] or
//! [`end_session`] (the rules every dialect shares), shape the answer. Layers, outermost first:
//! request id (ours unless a trusted proxy sent one), trace span and request log (tower-http),
//! `Cache-Control: no-store` (unless the handler set its own, as `/media/avatars/…` does), CORS
//! (only for configured origins), request time limit, audit context, panic catcher, body limit
//! (16 KiB; `/user/avatar` has its own, sized by `--avatar-max-size`); and on `/auth/login` the
//! per-address login limit.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::accounts::{AccountError, Accounts};
use crate::audit;
use crate::dev::{MintError, DEVTOOLS_USER};
use crate::error::ApiError;
use crate::extract::{BearerToken, JsonBody, JsonBodyOrDefault, BODY_LIMIT};
use crate::limits::{RequestTimeLimit, DEFAULT_REQUEST_TIMEOUT};
use crate::litemall;
use crate::login::{CodeExchange, UserInfo};
use crate::profile::{self, MediaBase};
use crate::sealing::SessionKeyPolicy;
use crate::store::{ActiveSession, NewSession, SessionStore};
use crate::throttle::{client_ip, LoginRateLimiter};
use crate::token::Token;
use crate::users::User;

/// The request id header, set on every request and answer.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest request id accepted from a trusted proxy.
const MAX_REQUEST_ID_CHARS: usize = 64;

/// Longest login code accepted; WeChat's are 32 characters.
const MAX_CODE_CHARS: usize = 256;

/// What every handler shares.
pub struct AppState<S> {
    /// Where sessions live.
    pub store: Arc<S>,
    /// Who turns codes into openids.
    pub exchange: Arc<CodeExchange>,
    /// Lifetime of new tokens.
    pub token_ttl: Duration,
    /// Per-client-address limit on `/auth/login`; `None` when off.
    pub login_limiter: Option<Arc<LoginRateLimiter>>,
    /// Take the client address from `X-Forwarded-For` (and accept its request id).
    pub trust_proxy: bool,
    /// Whether and how `session_key` is stored.
    pub session_keys: Arc<SessionKeyPolicy>,
    /// Browser origins CORS allows (besides loopback ones in development mode).
    pub cors_origins: Arc<Vec<String>>,
    /// The user store and the account routes' settings.
    pub accounts: Arc<Accounts>,
}

// Derived Clone would demand `S: Clone`; only the Arcs are cloned.
impl<S> Clone for AppState<S> {
    fn clone(&self) -> Self {
        AppState {
            store: Arc::clone(&self.store),
            exchange: Arc::clone(&self.exchange),
            token_ttl: self.token_ttl,
            login_limiter: self.login_limiter.clone(),
            trust_proxy: self.trust_proxy,
            session_keys: Arc::clone(&self.session_keys),
            cors_origins: Arc::clone(&self.cors_origins),
            accounts: Arc::clone(&self.accounts),
        }
    }
}

/// The complete application for one store type.
pub fn router<S: SessionStore>(state: AppState<S>) -> Router {
    let dev = state.exchange.dev().is_some();
    let mut routes = Router::new()
        .route(
            "/auth/login",
            post(login::<S>).route_layer(middleware::from_fn_with_state(
                state.clone(),
                limit_logins::<S>,
            )),
        )
        .route("/auth/check", get(check::<S>))
        .route("/auth/logout", post(logout::<S>))
        .route("/healthz", get(healthz::<S>))
        .route("/livez", get(livez))
        .merge(profile::routes::<S>(state.accounts.avatar_max_bytes));
    let mut token_headers = vec![header::AUTHORIZATION, header::CONTENT_TYPE];
    if dev {
        routes = routes
            .route("/dev/code", post(mint_dev_code::<S>))
            .merge(litemall::routes::<S>());
        token_headers.push(litemall::TOKEN_HEADER);
    }

    // A mini-program needs no CORS at all; only a browser page on another origin does (the
    // preview). So: the configured origins, plus loopback ones in development mode. Tokens
    // travel in headers, not cookies, so CORS protects no credentials here; keeping it closed
    // just avoids offering the API to every web page.
    let origins: Vec<HeaderValue> = state
        .cors_origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin.trim_end_matches('/')).ok())
        .collect();
    let cors = (dev || !origins.is_empty()).then(|| {
        CorsLayer::new()
            .allow_origin(AllowOrigin::predicate(move |origin, _| {
                origins.contains(origin) || (dev && is_loopback_origin(origin))
            }))
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::OPTIONS])
            .allow_headers(token_headers)
            .expose_headers([REQUEST_ID])
            .max_age(Duration::from_secs(600))
    });

    let trust_proxy = state.trust_proxy;
    let app = routes
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state)
        .layer(DefaultBodyLimit::max(BODY_LIMIT));
    with_serving_layers(app, trust_proxy, cors)
}

/// What wraps every route: request ids, tracing, `no-store`, CORS, the time limit, the audit
/// context and the panic catcher.
fn with_serving_layers(app: Router, trust_proxy: bool, cors: Option<CorsLayer>) -> Router {
    app
        // Outermost first. Everything that answers (time limit, panic catcher, handlers) is
        // inside the trace span, `no-store` and CORS.
        .layer(
            ServiceBuilder::new()
                .layer(middleware::map_request(move |request: Request| {
                    untrusted_request_id_removed(request, trust_proxy)
                }))
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(move |request: &Request| request_span(request, trust_proxy))
                        .on_request(())
                        .on_response(log_response)
                        .on_failure(()),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                // Answers carry tokens; no cache, shared or private, may keep one. Only a handler
                // that sets its own policy keeps it: `/media/avatars/…` (public, immutable files).
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("no-store"),
                ))
                .option_layer(cors)
                .layer(middleware::from_fn(time_limit))
                .layer(middleware::from_fn(move |request: Request, next: Next| {
                    audit_scope(request, next, trust_proxy)
                }))
                // A bug in one handler answers that request 500 and leaves the process serving
                // the others; needs panics to unwind (see the guard in lib.rs).
                .layer(CatchPanicLayer::custom(|_panic| {
                    ApiError::Internal("a handler panicked".into()).into_response()
                })),
        )
}

/// `http://127.0.0.1:<port>`, `http://localhost:<port>` or `http://[::1]:<port>`: the browser
/// preview's origins, allowed in development mode.
fn is_loopback_origin(origin: &HeaderValue) -> bool {
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let Some(host_port) = origin.strip_prefix("http://") else {
        return false;
    };
    let host = match host_port.strip_prefix("[::1]") {
        Some(rest) => return rest.is_empty() || rest.starts_with(':'),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    host == "localhost"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Drops a client's own `x-request-id` unless a trusted proxy set it (and it is short and
/// plain), so what appears in the log as the request id is ours.
async fn untrusted_request_id_removed(mut request: Request, trust_proxy: bool) -> Request {
    let acceptable = trust_proxy
        && request.headers().get(&REQUEST_ID).is_some_and(|value| {
            let bytes = value.as_bytes();
            !bytes.is_empty()
                && bytes.len() <= MAX_REQUEST_ID_CHARS
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        });
    if !acceptable {
        request.headers_mut().remove(&REQUEST_ID);
    }
    request
}

/// The span every log line of a request is in: method, masked path, request id, client.
fn request_span(request: &Request, trust_proxy: bool) -> tracing::Span {
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("-");
    let client =
        client_ip(request, trust_proxy).map_or_else(|| "-".to_owned(), |ip| ip.to_string());
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %loggable_path(request.uri().path()),
        request_id,
        client_ip = %client,
    )
}

/// One line per answered request: status and latency (the span adds method, path and ids).
/// Never headers or bodies — they carry tokens and codes.
fn log_response<B>(response: &Response<B>, latency: Duration, _span: &tracing::Span) {
    let status = response.status().as_u16();
    // Whole microseconds, shown as milliseconds with three decimals.
    let latency_ms = latency.as_micros() as f64 / 1000.0;
    if response.status().is_server_error() {
        tracing::warn!(status, latency_ms, "request");
    } else {
        tracing::info!(status, latency_ms, "request");
    }
}

/// Bounds the whole request by its [`RequestTimeLimit`] (set by the accept loop; the default
/// when the router is served otherwise). Inside the trace span, so the 408 is logged with the
/// request id.
async fn time_limit(request: Request, next: Next) -> Response {
    let limit = request
        .extensions()
        .get::<RequestTimeLimit>()
        .map_or(DEFAULT_REQUEST_TIMEOUT, |limit| limit.0);
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!("request timed out");
            ApiError::RequestTimeout.into_response()
        }
    }
}

/// Makes the client address and request id available to [`audit`] events for this request.
async fn audit_scope(request: Request, next: Next, trust_proxy: bool) -> Response {
    let context = audit::RequestContext {
        client_ip: client_ip(&request, trust_proxy),
        request_id: request
            .headers()
            .get(&REQUEST_ID)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("-")
            .to_owned(),
    };
    audit::scope(context, next.run(request)).await
}

/// The per-client-address login limit, before anything reaches code2Session.
async fn limit_logins<S: SessionStore>(
    State(state): State<AppState<S>>,
    request: Request,
    next: Next,
) -> Response {
    // Without a client address (the router served by something other than
    // `limits::serve_with_limits`, which tags every request) there is nothing to key on.
    if let (Some(limiter), Some(ip)) =
        (&state.login_limiter, client_ip(&request, state.trust_proxy))
    {
        if let Err(wait) = limiter.check(ip) {
            audit::login_failed("TOO_MANY_LOGINS");
            return ApiError::TooManyLogins {
                retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            }
            .into_response();
        }
    }
    next.run(request).await
}

/// Body of `POST /auth/login`. Other fields (some clients send `userInfo`) are ignored.
#[derive(Deserialize)]
struct LoginRequest {
    code: Option<String>,
}

async fn login<S: SessionStore>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    JsonBody(request): JsonBody<LoginRequest>,
) -> Result<Json<Value>, ApiError> {
    let started = start_session(&state, request.code.as_deref()).await?;
    let mut body = json!({
        "token": started.token.as_str(),
        "uid": started.uid,
        "expiresIn": whole_seconds(started.ttl),
    });
    // The stored profile first, the dev user's made-up one for what is not set.
    let media = MediaBase::new(&state.accounts, &headers);
    if let Some(user_info) =
        profile::login_user_info(&started.user, started.user_info.as_ref(), &media)
    {
        body["userInfo"] = user_info;
    }
    Ok(Json(body))
}

async fn check<S: SessionStore>(
    State(state): State<AppState<S>>,
    BearerToken(token): BearerToken,
) -> Result<Json<Value>, ApiError> {
    let session = active_session(&state, &token).await?;
    Ok(Json(json!({
        "valid": true,
        "uid": session.uid,
        "expiresIn": whole_seconds(session.expires_in),
    })))
}

async fn logout<S: SessionStore>(
    State(state): State<AppState<S>>,
    BearerToken(token): BearerToken,
) -> Result<Json<Value>, ApiError> {
    end_session(&state, &token).await?;
    Ok(Json(json!({"revoked": true})))
}

// The three operations behind login, check and logout, apart from any wire format, so that every
// dialect (this module's, and `litemall.rs` in development mode) shares one set of rules: code
// checks, the exchange, single sign-on and expiry.

/// A session [`start_session`] has just begun: what any dialect's login answer is made of.
pub(crate) struct StartedSession {
    /// The new token, the user's only valid one from now on.
    pub token: Token,
    /// The user's stable uid.
    pub uid: String,
    /// The token's lifetime.
    pub ttl: Duration,
    /// Display data, for dev users only.
    pub user_info: Option<UserInfo>,
    /// The user as stored, after recording this login.
    pub user: User,
}

/// Validates `code`, exchanges it for an identity and starts that user's session, ending any
/// earlier one (single sign-on).
pub(crate) async fn start_session<S: SessionStore>(
    state: &AppState<S>,
    code: Option<&str>,
) -> Result<StartedSession, ApiError> {
    let code = code.map(str::trim).unwrap_or_default();
    if code.is_empty() {
        return Err(ApiError::BadRequest(
            "field 'code' is missing or empty".into(),
        ));
    }
    if code.chars().count() > MAX_CODE_CHARS {
        return Err(ApiError::BadRequest("field 'code' is too long".into()));
    }

    let identity = match state.exchange.exchange(code).await {
        Ok(identity) => identity,
        Err(error) => {
            let error = ApiError::from(error);
            audit::login_failed(error.code());
            return Err(error);
        }
    };
    // The uid comes from the user database, not the session store: sessions may be forgotten
    // (memory, a Redis restart), users must not be. This also records the login time.
    let user = match state
        .accounts
        .users
        .login(&identity.openid, identity.unionid.as_deref())
        .await
    {
        Ok(user) => user,
        Err(error) => {
            let error = ApiError::from(AccountError::Database(error));
            audit::login_failed(error.code());
            return Err(error);
        }
    };
    let uid = user.uid.clone();
    let token = Token::generate()?;
    let session_key = state
        .session_keys
        .seal(&identity.openid, &identity.session_key)
        .map_err(|error| ApiError::Internal(error.to_string()))?;
    let replaced = state
        .store
        .start(
            &token,
            NewSession {
                openid: identity.openid,
                uid: uid.clone(),
                session_key,
            },
            state.token_ttl,
        )
        .await?;
    audit::login(&uid);
    if replaced {
        audit::sso_replacement(&uid);
    }
    Ok(StartedSession {
        token,
        uid,
        ttl: state.token_ttl,
        user_info: identity.user_info,
        user,
    })
}

/// The session behind `token`, or [`ApiError::SessionInvalid`].
pub(crate) async fn active_session<S: SessionStore>(
    state: &AppState<S>,
    token: &Token,
) -> Result<ActiveSession, ApiError> {
    state
        .store
        .check(token)
        .await?
        .ok_or(ApiError::SessionInvalid)
}

/// Ends the session behind `token`, or [`ApiError::LogoutSessionInvalid`] if none was valid.
pub(crate) async fn end_session<S: SessionStore>(
    state: &AppState<S>,
    token: &Token,
) -> Result<(), ApiError> {
    match state.store.revoke(token).await? {
        Some(uid) => {
            audit::logout(&uid);
            Ok(())
        }
        None => Err(ApiError::LogoutSessionInvalid),
    }
}

/// Readiness: 200 only while the session store and the user database answer, so a load
/// balancer stops sending logins to an instance whose Redis or database is gone.
async fn healthz<S: SessionStore>(
    State(state): State<AppState<S>>,
) -> Result<Json<Value>, ApiError> {
    state.store.ping().await?;
    state
        .accounts
        .users
        .ping()
        .await
        .map_err(AccountError::Database)?;
    Ok(Json(json!({"ok": true})))
}

/// Liveness: the process answers, whatever the store does.
async fn livez() -> Json<Value> {
    Json(json!({"ok": true}))
}

/// Body of `POST /dev/code`; an empty body means the DevTools user.
#[derive(Deserialize, Default)]
struct DevCodeRequest {
    user: Option<String>,
}

async fn mint_dev_code<S: SessionStore>(
    State(state): State<AppState<S>>,
    JsonBodyOrDefault(request): JsonBodyOrDefault<DevCodeRequest>,
) -> Result<Json<Value>, ApiError> {
    // The route only exists in dev mode; this is for the type checker.
    let dev = state.exchange.dev().ok_or(ApiError::NotFound)?;
    let user = request.user.as_deref().unwrap_or(DEVTOOLS_USER);
    let code = dev.mint(user).map_err(|error| match error {
        MintError::BadUser => ApiError::BadRequest(error.to_string()),
        MintError::Randomness(error) => error.into(),
    })?;
    Ok(Json(json!({"code": code})))
}

/// Seconds for `expiresIn`, rounded up so a session with 0.4 s left is not reported as expired.
fn whole_seconds(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

/// The path with every segment longer than 24 characters replaced by `<redacted>`.
fn loggable_path(path: &str) -> String {
    let path: String = path.chars().take(256).collect();
    path.split('/')
        .map(|segment| {
            if segment.chars().count() > 24 {
                "<redacted>"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_seconds_rounds_up() {
        assert_eq!(whole_seconds(Duration::from_millis(400)), 1);
        assert_eq!(whole_seconds(Duration::from_secs(7)), 7);
        assert_eq!(whole_seconds(Duration::ZERO), 0);
    }

    #[test]
    fn loopback_origins() {
        for yes in [
            "http://127.0.0.1:8788",
            "http://localhost:3000",
            "http://[::1]:8788",
            "http://127.0.0.1",
        ] {
            assert!(is_loopback_origin(&HeaderValue::from_static(yes)), "{yes}");
        }
        for no in [
            "https://evil.example",
            "http://127.0.0.1.evil.example",
            "http://10.0.0.1:80",
            "null",
        ] {
            assert!(!is_loopback_origin(&HeaderValue::from_static(no)), "{no}");
        }
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_and_the_next_request_is_served() {
        use axum::body::{to_bytes, Body};
        use axum::http::StatusCode;
        use axum::routing::get;
        use tower::ServiceExt;

        async fn bug() -> &'static str {
            panic!("a bug in a handler")
        }

        let app = with_serving_layers(
            Router::new()
                .route("/bug", get(bug))
                .route("/fine", get(|| async { "fine" })),
            false,
            None,
        );
        let request = |path: &str| Request::get(path).body(Body::empty()).unwrap();

        let bug = app.clone().oneshot(request("/bug")).await.unwrap();
        assert_eq!(bug.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = to_bytes(bug.into_body(), 4096).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["code"], "INTERNAL_ERROR", "{body}");
        // The panic's own text is for the log, never for the client.
        assert!(!body.to_string().contains("a bug in a handler"), "{body}");

        let fine = app.oneshot(request("/fine")).await.unwrap();
        assert_eq!(fine.status(), StatusCode::OK);
    }

    #[test]
    fn long_path_segments_are_masked() {
        let token = "a".repeat(64);
        assert_eq!(
            loggable_path(&format!("/auth/check/{token}")),
            "/auth/check/<redacted>"
        );
        assert_eq!(loggable_path("/auth/login"), "/auth/login");
    }
}
