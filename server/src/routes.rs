//! The HTTP surface: routes, handlers, and the layers around them.
//!
//! ```text
//! POST /auth/login   {"code"}            → {"token", "uid", "userInfo"?, "expiresIn"}
//! GET  /auth/check   Bearer token        → {"valid": true, "uid", "expiresIn"}
//! POST /auth/logout  Bearer token        → {"revoked": true}
//! GET  /healthz                          → {"ok": true}
//! POST /dev/code     {"user"?}           → {"code"}        (development mode only)
//! /wx/…              litemall's dialect of the same three (development mode only, litemall.rs)
//! /user/…, /media/…  profile, avatar, phone number (profile.rs)
//! ```
//!
//! Handlers are thin: read the request, call [`start_session`], [`active_session`] or
//! [`end_session`] (the rules every dialect shares), shape the answer. Layers, outermost first:
//! request log, panic catcher, CORS, body limit.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{Any, CorsLayer};

use crate::accounts::{AccountError, Accounts};
use crate::dev::{MintError, DEVTOOLS_USER};
use crate::error::ApiError;
use crate::extract::{BearerToken, JsonBody, JsonBodyOrDefault, BODY_LIMIT};
use crate::litemall;
use crate::login::{CodeExchange, UserInfo};
use crate::profile::{self, MediaBase};
use crate::store::{ActiveSession, NewSession, SessionStore};
use crate::token::Token;
use crate::users::User;

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
            accounts: Arc::clone(&self.accounts),
        }
    }
}

/// The complete application for one store type.
pub fn router<S: SessionStore>(state: AppState<S>) -> Router {
    let mut routes = Router::new()
        .route("/auth/login", post(login::<S>))
        .route("/auth/check", get(check::<S>))
        .route("/auth/logout", post(logout::<S>))
        .route("/healthz", get(healthz))
        .merge(profile::routes::<S>(state.accounts.avatar_max_bytes));
    let mut token_headers = vec![header::AUTHORIZATION, header::CONTENT_TYPE];
    if state.exchange.dev().is_some() {
        routes = routes
            .route("/dev/code", post(mint_dev_code::<S>))
            .merge(litemall::routes::<S>());
        token_headers.push(litemall::TOKEN_HEADER);
    }

    // The browser preview is served from another origin. Tokens travel in headers, not cookies,
    // so allowing any origin exposes nothing a caller does not already hold.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::OPTIONS])
        .allow_headers(token_headers)
        .max_age(Duration::from_secs(600));

    routes
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(cors)
        .layer(CatchPanicLayer::custom(|_panic| {
            ApiError::Internal("a handler panicked".into()).into_response()
        }))
        .layer(middleware::from_fn(log_request))
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

    let identity = state.exchange.exchange(code).await?;
    // The uid comes from the user database, not the session store: sessions may be forgotten
    // (memory, a Redis restart), users must not be.
    let user = state
        .accounts
        .users
        .login(&identity.openid, identity.unionid.as_deref())
        .await
        .map_err(AccountError::Database)?;
    let uid = user.uid.clone();
    let token = Token::generate()?;
    state
        .store
        .start(
            &token,
            NewSession {
                openid: identity.openid,
                uid: uid.clone(),
                session_key: identity.session_key,
            },
            state.token_ttl,
        )
        .await?;
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
    if state.store.revoke(token).await? {
        Ok(())
    } else {
        Err(ApiError::LogoutSessionInvalid)
    }
}

async fn healthz() -> Json<Value> {
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

/// Logs one line per request: method, path, status, latency. Never headers or bodies — they
/// carry tokens and codes — and path segments long enough to be a token or code are masked,
/// in case a client puts one in the URL.
async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = loggable_path(request.uri().path());
    let response = next.run(request).await;
    let status = response.status().as_u16();
    // Whole microseconds, shown as milliseconds with three decimals.
    let latency_ms = started.elapsed().as_micros() as f64 / 1000.0;
    if response.status().is_server_error() {
        tracing::warn!(%method, %path, status, latency_ms, "request");
    } else {
        tracing::info!(%method, %path, status, latency_ms, "request");
    }
    response
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
    fn long_path_segments_are_masked() {
        let token = "a".repeat(64);
        assert_eq!(
            loggable_path(&format!("/auth/check/{token}")),
            "/auth/check/<redacted>"
        );
        assert_eq!(loggable_path("/auth/login"), "/auth/login");
    }
}
