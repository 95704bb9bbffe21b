//! Request extractors whose failures are [`ApiError`]s.
//!
//! axum's own `Json` rejects in plain text and does not distinguish the cases clients should see
//! apart, so bodies and bearer tokens are read here instead.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::limits::{BodyTimeout, DEFAULT_BODY_TIMEOUT};
use crate::token::Token;

/// Largest accepted request body. Login bodies are a few dozen bytes; 16 KiB leaves room for
/// clients that send extra fields and still bounds what one request can make the server buffer.
pub const BODY_LIMIT: usize = 16 * 1024;

/// A required JSON body: empty body → `BAD_REQUEST`, wrong content type → 415, too large → 413,
/// unparsable or wrong shape → `BAD_REQUEST`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

/// Like [`JsonBody`], but an empty body means `T::default()` (for `POST /dev/code`).
#[derive(Debug)]
pub struct JsonBodyOrDefault<T>(pub T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match read_json(req, state).await? {
            Some(value) => Ok(JsonBody(value)),
            None => Err(ApiError::BadRequest("request body is missing".into())),
        }
    }
}

impl<T, S> FromRequest<S> for JsonBodyOrDefault<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Ok(JsonBodyOrDefault(
            read_json(req, state).await?.unwrap_or_default(),
        ))
    }
}

/// Reads and parses the body; `None` when it is empty.
async fn read_json<T, S>(req: Request, state: &S) -> Result<Option<T>, ApiError>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    let json_type = is_json_content_type(req.headers());
    // A declared non-JSON type is refused before reading anything.
    if json_type == Some(false) {
        return Err(ApiError::UnsupportedMediaType);
    }
    // A declared length over the limit is refused before waiting for a byte of it.
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > BODY_LIMIT as u64) {
        return Err(ApiError::PayloadTooLarge { limit: BODY_LIMIT });
    }
    let timeout = req
        .extensions()
        .get::<BodyTimeout>()
        .map_or(DEFAULT_BODY_TIMEOUT, |timeout| timeout.0);
    let body = tokio::time::timeout(timeout, Bytes::from_request(req, state))
        .await
        .map_err(|_| ApiError::RequestTimeout)?
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge { limit: BODY_LIMIT }
            } else {
                ApiError::BadRequest("could not read the request body".into())
            }
        })?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if json_type.is_none() {
        return Err(ApiError::UnsupportedMediaType);
    }
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))
}

/// `None` without a Content-Type, else whether it is `application/json` or `…+json`
/// (parameters such as `charset=utf-8` allowed).
fn is_json_content_type(headers: &HeaderMap) -> Option<bool> {
    let value = headers.get(header::CONTENT_TYPE)?;
    let Ok(value) = value.to_str() else {
        return Some(false);
    };
    let mime = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    Some(
        mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json")),
    )
}

/// The token from `Authorization: Bearer <token>` (scheme case-insensitive, as HTTP says).
#[derive(Debug)]
pub struct BearerToken(pub Token);

impl<S> FromRequestParts<S> for BearerToken
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or(ApiError::MissingToken)?
            .to_str()
            .map_err(|_| ApiError::MalformedToken)?;
        let (scheme, credentials) = value
            .trim()
            .split_once(' ')
            .ok_or(ApiError::MalformedToken)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(ApiError::MalformedToken);
        }
        Token::parse(credentials.trim())
            .map(BearerToken)
            .ok_or(ApiError::MalformedToken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn json_content_types() {
        let check = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(value).unwrap());
            is_json_content_type(&headers)
        };
        assert_eq!(check("application/json"), Some(true));
        assert_eq!(check("Application/JSON; charset=utf-8"), Some(true));
        assert_eq!(check("application/vnd.api+json"), Some(true));
        assert_eq!(check("text/plain"), Some(false));
        assert_eq!(check("application/x-www-form-urlencoded"), Some(false));
        assert_eq!(is_json_content_type(&HeaderMap::new()), None);
    }
}
