//! Every way a request can fail, as the client sees it.
//!
//! Each [`ApiError`] variant has an HTTP status and a stable machine code, and renders as
//! `{"error": {"code": "...", "message": "..."}}` — including the failures axum would otherwise
//! answer in plain text (bad JSON, wrong method, unknown route, oversized body). Clients branch on
//! `code`; `message` is for the developer reading the console. Failures on the server's side
//! (store, randomness) are logged in detail here and answered with a generic message.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::accounts::AccountError;
use crate::login::ExchangeError;
use crate::store::StoreError;
use crate::token::RandomnessError;

/// The seeds' server answers a logout with an already invalid token with exactly this text.
pub const SESSION_INVALID_MESSAGE: &str = "登陆状态已失效";

/// A request failure. See the README for the table of codes.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Body is not valid JSON, a required field is missing or empty, or a value is out of range.
    #[error("{0}")]
    BadRequest(String),
    /// Body larger than the limit.
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit, for the message.
        limit: usize,
    },
    /// Body sent without `Content-Type: application/json`.
    #[error("expected Content-Type: application/json")]
    UnsupportedMediaType,
    /// No `Authorization` header.
    #[error("missing header Authorization: Bearer <token>")]
    MissingToken,
    /// `Authorization` is present but is not `Bearer <token as issued by this server>`.
    #[error("Authorization must be 'Bearer <token>' with a token from /auth/login")]
    MalformedToken,
    /// The token is unknown, expired, or revoked (on `/auth/check`: 401).
    #[error("{SESSION_INVALID_MESSAGE}")]
    SessionInvalid,
    /// The same, on `/auth/logout`: 400 like the seeds' server.
    #[error("{SESSION_INVALID_MESSAGE}")]
    LogoutSessionInvalid,
    /// Login code exchange failed.
    #[error(transparent)]
    Exchange(#[from] ExchangeError),
    /// No route for this path.
    #[error("no such route")]
    NotFound,
    /// The path exists, the method does not.
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// The session store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Anything else that is the server's fault.
    #[error("internal error: {0}")]
    Internal(String),
    /// A failure of the account routes (profile, avatar, phone) or of the user database; they
    /// carry their own status and code (`accounts.rs`).
    #[error(transparent)]
    Account(#[from] AccountError),
}

impl From<RandomnessError> for ApiError {
    fn from(error: RandomnessError) -> ApiError {
        ApiError::Internal(error.to_string())
    }
}

impl ApiError {
    /// HTTP status of the response.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::LogoutSessionInvalid => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::MissingToken | ApiError::MalformedToken | ApiError::SessionInvalid => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::Exchange(error) => match error {
                ExchangeError::InvalidCode | ExchangeError::CodeUsed => StatusCode::BAD_REQUEST,
                ExchangeError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
                ExchangeError::UserBlocked => StatusCode::FORBIDDEN,
                ExchangeError::Busy => StatusCode::SERVICE_UNAVAILABLE,
                ExchangeError::Rejected { .. } | ExchangeError::Unavailable(_) => {
                    StatusCode::BAD_GATEWAY
                }
            },
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Account(error) => error.status(),
        }
    }

    /// The stable machine code clients branch on.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "BAD_REQUEST",
            ApiError::PayloadTooLarge { .. } => "PAYLOAD_TOO_LARGE",
            ApiError::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            ApiError::MissingToken => "MISSING_TOKEN",
            ApiError::MalformedToken => "MALFORMED_TOKEN",
            ApiError::SessionInvalid | ApiError::LogoutSessionInvalid => "SESSION_INVALID",
            ApiError::Exchange(error) => match error {
                ExchangeError::InvalidCode => "INVALID_CODE",
                ExchangeError::CodeUsed => "CODE_USED",
                ExchangeError::RateLimited => "RATE_LIMITED",
                ExchangeError::UserBlocked => "USER_BLOCKED",
                ExchangeError::Busy => "WECHAT_BUSY",
                ExchangeError::Rejected { .. } => "WECHAT_ERROR",
                ExchangeError::Unavailable(_) => "WECHAT_UNAVAILABLE",
            },
            ApiError::NotFound => "NOT_FOUND",
            ApiError::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ApiError::Store(_) => "STORE_UNAVAILABLE",
            ApiError::Internal(_) => "INTERNAL_ERROR",
            ApiError::Account(error) => error.code(),
        }
    }

    /// Logs what the server's operator must see: its own failures in detail, and failed code
    /// exchanges (a wrong AppSecret shows up here). Called once per answered failure, whatever
    /// the dialect of the answer.
    pub(crate) fn log(&self) {
        match self {
            ApiError::Store(_) | ApiError::Internal(_) => {
                tracing::error!(error = %self, "request failed")
            }
            ApiError::Exchange(_) => tracing::warn!(error = %self, "login code exchange failed"),
            ApiError::Account(error) => error.log(),
            _ => {}
        }
    }

    /// The text a client gets. Server-side details (store errors, transport errors) stay in
    /// the log; WeChat's own errcode and scrubbed errmsg are passed on because the developer
    /// needs them to fix a misconfigured AppID or secret.
    pub(crate) fn client_message(&self) -> String {
        match self {
            ApiError::Exchange(error) => match error {
                ExchangeError::InvalidCode => {
                    "login code is invalid or expired (WeChat errcode 40029)".into()
                }
                ExchangeError::CodeUsed => {
                    "login code was already used (WeChat errcode 40163)".into()
                }
                ExchangeError::RateLimited => {
                    "too many logins for this user, retry in a minute (WeChat errcode 45011)".into()
                }
                ExchangeError::UserBlocked => {
                    "WeChat refused this user as high-risk (errcode 40226)".into()
                }
                ExchangeError::Busy => "WeChat is busy, retry shortly (errcode -1)".into(),
                ExchangeError::Rejected { errcode, errmsg } => {
                    format!("code2Session failed: errcode {errcode}: {errmsg}")
                }
                ExchangeError::Unavailable(_) => {
                    "could not get an answer from WeChat code2Session".into()
                }
            },
            ApiError::Store(_) => "session store is unavailable, retry shortly".into(),
            ApiError::Internal(_) => "internal server error".into(),
            ApiError::Account(error) => error.client_message(),
            other => other.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        self.log();
        let body = json!({"error": {"code": self.code(), "message": self.client_message()}});
        let mut response = (status, Json(body)).into_response();
        let retry_after = match &self {
            ApiError::Exchange(ExchangeError::RateLimited) => Some("60"),
            ApiError::Exchange(ExchangeError::Busy) | ApiError::Store(_) => Some("1"),
            ApiError::Account(error) => error.retry_after(),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static(seconds));
        }
        response
    }
}
