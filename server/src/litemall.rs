//! litemall's dialect of login, check and logout, served under `/wx/…` in development mode only.
//!
//! The library's `litemall` protocol can then be tried end to end against this server. Only the
//! wire format is litemall's; the rules are the default protocol's, through the same
//! [`start_session`], [`active_session`] and [`end_session`] over the same store and code
//! exchange — so a litemall login and a default login of the same user end each other's sessions.
//!
//! ```text
//! POST /wx/auth/login_by_weixin  {"code", "userInfo"}   → {"errno": 0, "data": {"token", "userInfo"}, "errmsg": "成功"}
//! GET  /wx/user/index            X-Litemall-Token       → {"errno": 0, "data": {"order": {…}}, "errmsg": "成功"}
//! POST /wx/auth/logout           X-Litemall-Token       → {"errno": 0, "errmsg": "成功"}
//! ```
//!
//! As litemall does, every answer of these handlers is HTTP 200 and failures are told by `errno`
//! (see [`errno`]): 501 `请登录` for a missing, unknown, expired or replaced token.
//!
//! The format is litemall's current one (`litemall-wx-api`, `WxAuthController`): the login's
//! `data` is `{token, userInfo}` — `tokenExpire` was removed from it in 2019 — and `userInfo` is
//! the object the client sent, echoed back (litemall's `UserInfo` has no `userId`). Where this
//! server does more than litemall is in the rules, not the format: litemall's tokens are
//! stateless JWTs valid for two hours and its logout revokes nothing; here logout revokes the
//! token and a new login ends the previous session.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderName};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::routes::{active_session, end_session, start_session, AppState};
use crate::store::SessionStore;
use crate::token::Token;

/// The header litemall's mini-program sends the token in (lowercase: HTTP/2 and `HeaderName`).
pub const TOKEN_HEADER: HeaderName = HeaderName::from_static("x-litemall-token");

/// litemall's `errmsg` for "not logged in"; the library only looks at errno 501, people read this.
const NOT_LOGGED_IN_MESSAGE: &str = "请登录";

/// The `/wx/…` routes, merged into the main router in development mode.
pub fn routes<S: SessionStore>() -> Router<AppState<S>> {
    Router::new()
        .route("/wx/auth/login_by_weixin", post(login::<S>))
        .route("/wx/user/index", get(user_index::<S>))
        .route("/wx/auth/logout", post(logout::<S>))
}

/// Body of `POST /wx/auth/login_by_weixin`. litemall refuses a login without `userInfo` (errno
/// 401), so this does too (a client that forgets it here would fail against a real litemall);
/// the answer echoes it, as litemall's does.
#[derive(Deserialize)]
struct LoginRequest {
    code: Option<String>,
    #[serde(rename = "userInfo")]
    user_info: Option<Value>,
}

async fn login<S: SessionStore>(
    State(state): State<AppState<S>>,
    body: Result<JsonBody<LoginRequest>, ApiError>,
) -> Answer {
    let result = async {
        let JsonBody(request) = body?;
        if !request.user_info.as_ref().is_some_and(Value::is_object) {
            return Err(ApiError::BadRequest(
                "field 'userInfo' is missing or not an object (litemall requires it)".into(),
            ));
        }
        let started = start_session(&state, request.code.as_deref()).await?;
        Ok(json!({
            "token": started.token.as_str(),
            "userInfo": request.user_info,
        }))
    };
    Answer(result.await.map(Some))
}

/// litemall's check is its user page: order counts for a logged-in user. This server has no
/// orders, so they are all zero; only `errno` matters to the library.
async fn user_index<S: SessionStore>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
) -> Answer {
    let result = async {
        active_session(&state, &token(&headers)?).await?;
        Ok(json!({"order": {"unpaid": 0, "unship": 0, "unrecv": 0, "uncomment": 0}}))
    };
    Answer(result.await.map(Some))
}

async fn logout<S: SessionStore>(State(state): State<AppState<S>>, headers: HeaderMap) -> Answer {
    let result = async { end_session(&state, &token(&headers)?).await };
    Answer(result.await.map(|()| None))
}

/// The token from `X-Litemall-Token`. litemall treats a missing or unknown token alike (errno
/// 501), and so does [`errno`]; the distinction stays in the error for the log.
fn token(headers: &HeaderMap) -> Result<Token, ApiError> {
    let value = headers.get(TOKEN_HEADER).ok_or(ApiError::MissingToken)?;
    let text = value.to_str().map_err(|_| ApiError::MalformedToken)?;
    Token::parse(text.trim()).ok_or(ApiError::MalformedToken)
}

/// A litemall answer: always HTTP 200 (as litemall's controllers and its global exception
/// handler answer); `errno` 0 with `data` when there is some, else `errno` and `errmsg`.
struct Answer(Result<Option<Value>, ApiError>);

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let body = match self.0 {
            Ok(Some(data)) => json!({"errno": 0, "data": data, "errmsg": "成功"}),
            Ok(None) => json!({"errno": 0, "errmsg": "成功"}),
            Err(error) => {
                error.log();
                let errno = errno(&error);
                let errmsg = if errno == 501 {
                    NOT_LOGGED_IN_MESSAGE.to_owned()
                } else {
                    error.client_message()
                };
                json!({"errno": errno, "errmsg": errmsg})
            }
        };
        Json(body).into_response()
    }
}

/// litemall's errno for a failure (its `ResponseUtil`): 501 not logged in; 401 bad argument;
/// -1 for a failed code exchange (what `login_by_weixin` answers when code2Session gives no
/// openid); 502 for the server's own failures. `errmsg` keeps the default protocol's message,
/// which says more than litemall's fixed texts.
fn errno(error: &ApiError) -> i64 {
    match error {
        ApiError::MissingToken
        | ApiError::MalformedToken
        | ApiError::SessionInvalid
        | ApiError::LogoutSessionInvalid => 501,
        ApiError::BadRequest(_)
        | ApiError::PayloadTooLarge { .. }
        | ApiError::UnsupportedMediaType => 401,
        ApiError::Exchange(_) => -1,
        // Not produced by these handlers (routing answers those), but listed so that a new
        // variant has to be placed here on purpose.
        ApiError::NotFound
        | ApiError::MethodNotAllowed
        | ApiError::Store(_)
        | ApiError::Internal(_)
        | ApiError::Account(_) => 502,
    }
}
