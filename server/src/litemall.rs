//! litemall's dialect of login, check and logout, served under `/wx/…` in development mode only.
//!
//! The library's `litemall` protocol can then be tried end to end against this server. Only the
//! wire format is litemall's; the rules are the default protocol's, through the same
//! [`start_session`], [`active_session`] and [`end_session`] over the same store and code
//! exchange — so a litemall login and a default login of the same user end each other's sessions.
//!
//! ```text
//! POST /wx/auth/login_by_weixin  {"code", "userInfo"}   → {"errno": 0, "data": {"token", "tokenExpire", "userInfo"}, "errmsg": "成功"}
//! GET  /wx/user/index            X-Litemall-Token       → {"errno": 0, "data": {"order": {…}}, "errmsg": "成功"}
//! POST /wx/auth/logout           X-Litemall-Token       → {"errno": 0, "errmsg": "成功"}
//! ```
//!
//! As litemall does, every answer of these handlers is HTTP 200 and failures are told by `errno`
//! (see [`errno`]): 501 `请登录` for a missing, unknown, expired or replaced token.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::{HeaderMap, HeaderName};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

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

/// Body of `POST /wx/auth/login_by_weixin`. litemall refuses a login without `userInfo`, so this
/// does too (a client that forgets it here would fail against a real litemall); its content is
/// not used, the dev user's own `userInfo` is answered as on `/auth/login`.
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
        // Indexing a JSON null turns it into an object, so a session without userInfo still
        // answers {"userId": …}.
        let mut user_info = json!(started.user_info);
        user_info["userId"] = json!(user_id(&started.uid));
        Ok(json!({
            "token": started.token.as_str(),
            "tokenExpire": token_expire(SystemTime::now(), started.ttl),
            "userInfo": user_info,
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
        | ApiError::RequestTimeout
        | ApiError::TooManyLogins { .. } => 502,
    }
}

/// litemall's `userId` is a number, so it is derived from the uid (`u_` + 16 hex digits): the
/// first 13 hex digits read as an integer — 52 bits, exact as a JavaScript number, and as stable
/// as the uid. A uid of another shape (none is issued) falls back to 52 bits of its SHA-256.
pub fn user_id(uid: &str) -> u64 {
    uid.strip_prefix("u_")
        .filter(|hex| hex.len() >= 13)
        .and_then(|hex| u64::from_str_radix(&hex[..13], 16).ok())
        .unwrap_or_else(|| {
            let digest = Sha256::digest(uid.as_bytes());
            let mut first = [0u8; 8];
            first.copy_from_slice(&digest[..8]);
            u64::from_be_bytes(first) >> 12
        })
}

/// litemall's `tokenExpire`: a Java `LocalDateTime` as text, `2026-11-22T10:00:00`. It carries no
/// zone; this server writes UTC. The library does not read it (the token's validity is asked of
/// `/wx/user/index`), so it is for people.
fn token_expire(now: SystemTime, ttl: Duration) -> String {
    let seconds = (now + ttl)
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let (year, month, day) = civil_from_days(seconds / 86_400);
    let time = seconds % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        time / 3600,
        time / 60 % 60,
        time % 60
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`,
/// for non-negative days): written out rather than adding a date crate for one timestamp.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_id_is_the_uid_prefix_as_a_number_below_2_pow_53() {
        assert_eq!(user_id("u_0000000000001fff"), 1);
        assert_eq!(user_id("u_fffffffffffff000"), (1 << 52) - 1);
        assert_eq!(user_id("u_000000000000a123"), 10);
        let odd = user_id("someone");
        assert_eq!(odd, user_id("someone"), "stable");
        assert!(odd < 1 << 53);
    }

    #[test]
    fn token_expire_is_a_local_date_time_in_utc() {
        assert_eq!(
            token_expire(UNIX_EPOCH, Duration::ZERO),
            "1970-01-01T00:00:00"
        );
        assert_eq!(
            token_expire(UNIX_EPOCH, Duration::from_secs(1_700_000_000)),
            "2023-11-14T22:13:20"
        );
        // A leap day, and the last second of a year.
        assert_eq!(
            token_expire(
                UNIX_EPOCH + Duration::from_secs(951_782_400),
                Duration::ZERO
            ),
            "2000-02-29T00:00:00"
        );
        assert_eq!(
            token_expire(UNIX_EPOCH, Duration::from_secs(1_735_689_599)),
            "2024-12-31T23:59:59"
        );
    }
}
