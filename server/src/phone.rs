//! `POST /user/phone {"code"}`: the code from `<button open-type="getPhoneNumber">`
//! (`e.detail.code`) becomes the user's phone number, stored with the user and answered masked.
//!
//! With WeChat: `POST {base}/wxa/business/getuserphonenumber?access_token=…` with `{"code"}`,
//! answered `{errcode, errmsg, phone_info: {phoneNumber, purePhoneNumber, countryCode, …}}`.
//! The access token comes from [`crate::access_token`]; if WeChat calls it invalid, it is
//! replaced and the call made once more. Errcodes map as code2Session's do (40029 → 400
//! `INVALID_CODE`, 45011 → 429 `RATE_LIMITED`, -1 → 503 `WECHAT_BUSY`, others → 502
//! `WECHAT_ERROR`; no answer → 502 `WECHAT_UNAVAILABLE`).
//!
//! In development mode no code can be exchanged, so any non-empty code stands for a made-up,
//! deterministic number of the logged-in user: `138`, then four digits from the SHA-256 of the
//! user's openid, then `0000` — masked, always `138****0000`; unmasked, the same for the same
//! user across logins and restarts, and different between most users.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::access_token::{is_token_errcode, unavailable, AccessToken, AccessTokens, SharedCache};
use crate::accounts::AccountError;
use crate::config::{AppSecret, WeChatConfig};
use crate::error::ApiError;
use crate::extract::{BearerToken, JsonBody};
use crate::login::ExchangeError;
use crate::profile::{profile_json, MediaBase};
use crate::routes::{active_session, AppState};
use crate::store::SessionStore;
use crate::wechat::{read_capped, scrub, CappedReadError, MAX_BODY_BYTES};

/// Longest phone code accepted; WeChat's are 64 characters or so.
const MAX_CODE_CHARS: usize = 256;

/// Idle connections kept to WeChat for phone numbers and access tokens; these calls are rare.
const PHONE_MAX_IDLE: usize = 4;

/// Who turns a phone code into a number.
#[derive(Debug)]
pub enum PhoneExchange {
    /// The development stand-in (see the module doc).
    Dev,
    /// WeChat's getuserphonenumber (boxed: the client is large and there is one per server).
    WeChat(Box<PhoneClient>),
}

impl PhoneExchange {
    /// The WeChat client for `config`, sharing its access token through `shared`.
    pub fn wechat(
        config: &WeChatConfig,
        shared: SharedCache,
    ) -> Result<PhoneExchange, reqwest::Error> {
        PhoneClient::new(config, shared).map(|client| PhoneExchange::WeChat(Box::new(client)))
    }

    /// The phone number behind `code`, for the user `openid`.
    pub async fn phone_number(&self, code: &str, openid: &str) -> Result<String, ExchangeError> {
        match self {
            PhoneExchange::Dev => Ok(dev_phone_number(openid)),
            PhoneExchange::WeChat(client) => client.phone_number(code).await,
        }
    }
}

/// The development stand-in's number for `openid`.
pub fn dev_phone_number(openid: &str) -> String {
    let digest = Sha256::digest(openid.as_bytes());
    let middle = u16::from_be_bytes([digest[0], digest[1]]) % 10_000;
    format!("138{middle:04}0000")
}

/// Calls getuserphonenumber.
#[derive(Debug)]
pub struct PhoneClient {
    http: reqwest::Client,
    /// `{api_base}/wxa/business/getuserphonenumber`.
    endpoint: String,
    tokens: AccessTokens,
    /// Only to scrub WeChat's `errmsg`.
    secret: AppSecret,
}

/// getuserphonenumber's answer.
#[derive(Deserialize)]
struct PhoneReply {
    errcode: Option<i64>,
    errmsg: Option<String>,
    phone_info: Option<PhoneInfo>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhoneInfo {
    phone_number: Option<String>,
    pure_phone_number: Option<String>,
}

/// One call's outcome: a number, a refused access token, or another failure.
enum Attempt {
    Number(String),
    TokenRefused,
    Failed(ExchangeError),
}

impl PhoneClient {
    /// Same client settings as code2Session's (`wechat::http_client`): timeout, no redirects
    /// (they would carry the access token elsewhere), no proxy from the environment.
    pub fn new(config: &WeChatConfig, shared: SharedCache) -> Result<PhoneClient, reqwest::Error> {
        let http = crate::wechat::http_client(config, PHONE_MAX_IDLE)?;
        Ok(PhoneClient {
            endpoint: format!(
                "{}/wxa/business/getuserphonenumber",
                config.api_base.trim_end_matches('/')
            ),
            tokens: AccessTokens::new(http.clone(), config, shared),
            http,
            secret: config.secret.clone(),
        })
    }

    /// Exchanges `code`, replacing the access token once if WeChat refuses it.
    pub async fn phone_number(&self, code: &str) -> Result<String, ExchangeError> {
        for _ in 0..2 {
            let token = self.tokens.get().await?;
            match self.attempt(code, &token).await {
                Attempt::Number(number) => return Ok(number),
                Attempt::Failed(error) => return Err(error),
                Attempt::TokenRefused => self.tokens.invalidate(&token).await,
            }
        }
        Err(ExchangeError::Rejected {
            errcode: 40001,
            errmsg: "WeChat refused a freshly fetched access token".into(),
        })
    }

    async fn attempt(&self, code: &str, token: &AccessToken) -> Attempt {
        let sent = self
            .http
            .post(&self.endpoint)
            .query(&[("access_token", token.expose())])
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(json!({"code": code}).to_string())
            .send()
            .await;
        let mut response = match sent {
            Ok(response) => response,
            Err(error) => {
                return Attempt::Failed(unavailable("getuserphonenumber", error.without_url()))
            }
        };
        let status = response.status();
        if !status.is_success() {
            return Attempt::Failed(ExchangeError::Unavailable(format!(
                "getuserphonenumber: HTTP status {status}"
            )));
        }
        let body = match read_capped(&mut response).await {
            Ok(body) => body,
            Err(CappedReadError::TooLarge) => {
                return Attempt::Failed(ExchangeError::Unavailable(format!(
                    "getuserphonenumber: answer is larger than {MAX_BODY_BYTES} bytes"
                )))
            }
            Err(CappedReadError::Transport(error)) => {
                return Attempt::Failed(unavailable("getuserphonenumber", error.without_url()))
            }
        };
        let reply: PhoneReply = match serde_json::from_slice(&body) {
            Ok(reply) => reply,
            Err(error) => {
                return Attempt::Failed(ExchangeError::Unavailable(format!(
                    "getuserphonenumber: answer is not the expected JSON: {error}"
                )))
            }
        };
        match reply.errcode {
            Some(errcode) if is_token_errcode(errcode) => Attempt::TokenRefused,
            Some(errcode) if errcode != 0 => {
                // WeChat's errmsg could quote the access token as it quotes other input.
                let errmsg = reply
                    .errmsg
                    .unwrap_or_default()
                    .replace(token.expose(), "<redacted>");
                Attempt::Failed(ExchangeError::from_errcode(
                    errcode,
                    scrub(errmsg, &self.secret),
                ))
            }
            _ => {
                let info = reply.phone_info;
                let number = info
                    .as_ref()
                    .and_then(|info| info.phone_number.clone())
                    .or_else(|| info.and_then(|info| info.pure_phone_number))
                    .filter(|number| !number.trim().is_empty());
                match number {
                    Some(number) => Attempt::Number(number.trim().to_owned()),
                    None => Attempt::Failed(ExchangeError::Unavailable(
                        "getuserphonenumber: answer has no phone_info.phoneNumber".into(),
                    )),
                }
            }
        }
    }
}

/// Body of `POST /user/phone`.
#[derive(Deserialize)]
pub(crate) struct PhoneRequest {
    code: Option<String>,
}

/// `POST /user/phone`.
pub(crate) async fn bind<S: SessionStore>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    BearerToken(token): BearerToken,
    JsonBody(request): JsonBody<PhoneRequest>,
) -> Result<Json<Value>, ApiError> {
    let session = active_session(&state, &token).await?;
    let code = request.code.as_deref().map(str::trim).unwrap_or_default();
    if code.is_empty() {
        return Err(ApiError::BadRequest(
            "field 'code' is missing or empty".into(),
        ));
    }
    if code.chars().count() > MAX_CODE_CHARS {
        return Err(ApiError::BadRequest("field 'code' is too long".into()));
    }
    let accounts = &state.accounts;
    let number = accounts
        .phone
        .phone_number(code, &session.openid)
        .await
        .map_err(AccountError::Phone)?;
    let user = accounts
        .users
        .set_phone(&session.uid, &number)
        .await
        .map_err(AccountError::Database)?
        .ok_or(AccountError::UnknownUser)?;
    crate::audit::account_changed(&session.uid, "phone");
    Ok(Json(profile_json(
        &user,
        &MediaBase::new(accounts, &headers),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_numbers_are_deterministic_and_masked_alike() {
        let alice = dev_phone_number("dev_openid_alice");
        assert_eq!(alice, dev_phone_number("dev_openid_alice"));
        assert_eq!(alice.len(), 11);
        assert!(alice.starts_with("138") && alice.ends_with("0000"));
        assert_ne!(alice, dev_phone_number("dev_openid_bob"));
        assert_eq!(crate::profile::mask_phone(&alice), "138****0000");
    }
}
