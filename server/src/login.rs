//! Turning a `wx.login` code into a WeChat identity.
//!
//! Two things can do it: WeChat's code2Session ([`crate::wechat`]) and, in development mode, the
//! built-in stand-in ([`crate::dev`]). Both answer with the same [`Identity`] and fail with the
//! same [`ExchangeError`], so the login handler cannot tell them apart — which is the point of the
//! stand-in.

use std::fmt;

use serde::Serialize;

use crate::dev::DevLogin;
use crate::wechat::WeChatClient;

/// Who logged in, as told by code2Session (or the stand-in).
#[derive(Debug, Clone)]
pub struct Identity {
    /// The user's id within this mini-program. Stable, but not shown to clients: the uid is.
    pub openid: String,
    /// WeChat's key for decrypting this user's encrypted data. Kept in the store, never sent.
    pub session_key: SessionKey,
    /// Display data. WeChat no longer provides any (2022 change), so only dev users have it.
    pub user_info: Option<UserInfo>,
    /// The user across the developer's apps, when code2Session gives one (the mini-program is
    /// bound to an Open Platform account). Stored with the user.
    pub unionid: Option<String>,
}

/// WeChat's `session_key`. `Debug` is redacted so it cannot reach a log line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKey(String);

impl SessionKey {
    /// Wraps the key received from code2Session.
    pub fn new(key: impl Into<String>) -> SessionKey {
        SessionKey(key.into())
    }

    /// The key itself, for storing it and for a future decrypt-user-data route.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKey(<redacted>)")
    }
}

/// The `userInfo` object of a login response, in the field names mini-program code expects.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    /// Nickname to show.
    pub nick_name: String,
    /// Avatar image URL (a `data:` URL for dev users).
    pub avatar_url: String,
}

/// Why a code could not be exchanged. The first five mirror code2Session's documented errcodes;
/// the stand-in reuses them so clients see the same failures in development.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ExchangeError {
    /// errcode 40029: the code is unknown or older than five minutes.
    #[error("invalid or expired login code")]
    InvalidCode,
    /// errcode 40163: the code was already exchanged once.
    #[error("login code already used")]
    CodeUsed,
    /// errcode 45011: more than 100 logins for this user in a minute.
    #[error("rate limited by WeChat")]
    RateLimited,
    /// errcode 40226: WeChat flags the user as high-risk.
    #[error("user blocked by WeChat")]
    UserBlocked,
    /// errcode -1: WeChat is busy; retrying later may work.
    #[error("WeChat is busy")]
    Busy,
    /// Any other errcode (bad AppID/secret, …). `errmsg` has already been scrubbed of the secret.
    #[error("code2Session errcode {errcode}: {errmsg}")]
    Rejected {
        /// WeChat's errcode.
        errcode: i64,
        /// WeChat's errmsg, secret removed and shortened.
        errmsg: String,
    },
    /// No usable answer at all: connection refused, timeout, non-2xx, not JSON, no openid.
    /// The text is for the server log only and never contains the request URL.
    #[error("code2Session unavailable: {0}")]
    Unavailable(String),
}

impl ExchangeError {
    /// Maps a non-zero code2Session errcode to its variant.
    pub fn from_errcode(errcode: i64, errmsg: String) -> ExchangeError {
        match errcode {
            40029 => ExchangeError::InvalidCode,
            40163 => ExchangeError::CodeUsed,
            45011 => ExchangeError::RateLimited,
            40226 => ExchangeError::UserBlocked,
            -1 => ExchangeError::Busy,
            _ => ExchangeError::Rejected { errcode, errmsg },
        }
    }
}

/// The configured way of exchanging codes. An enum rather than a trait object: there are exactly
/// two, and the dev routes need to reach the stand-in's state.
#[derive(Debug)]
pub enum CodeExchange {
    /// Real code2Session.
    WeChat(WeChatClient),
    /// Development stand-in.
    Dev(DevLogin),
}

impl CodeExchange {
    /// Exchanges `code` for the identity behind it.
    pub async fn exchange(&self, code: &str) -> Result<Identity, ExchangeError> {
        match self {
            CodeExchange::WeChat(client) => client.code_to_session(code).await,
            CodeExchange::Dev(dev) => dev.exchange(code),
        }
    }

    /// The stand-in, when in development mode.
    pub fn dev(&self) -> Option<&DevLogin> {
        match self {
            CodeExchange::Dev(dev) => Some(dev),
            CodeExchange::WeChat(_) => None,
        }
    }
}
