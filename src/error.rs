//! The one error type of the session boundary: a stable machine code for programs, a message for
//! people. Chinese UI text belongs to the pages; the library speaks in codes.

use std::fmt;

/// What a server said about an error, from its error body (`{"error": {"code", "message"}}` or the
/// protocol's equivalent).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerMessage {
    /// The server's own error code, e.g. `SESSION_INVALID` or `10000`.
    pub code: Option<String>,
    /// The server's readable message, e.g. `登陆状态已失效`.
    pub message: Option<String>,
}

impl ServerMessage {
    /// The message, or else the code.
    pub fn text(&self) -> &str {
        self.message.as_deref().or(self.code.as_deref()).unwrap_or("no details")
    }
}

/// An HTTP status and what the server said with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAnswer {
    /// The HTTP status code.
    pub status: u16,
    /// The decoded error body, when there was one.
    pub said: Option<ServerMessage>,
}

impl fmt::Display for ServerAnswer {
    /// `HTTP 400: 登陆状态已失效`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(said) = &self.said {
            write!(f, ": {}", said.text())?;
        }
        Ok(())
    }
}

/// Everything that can go wrong in the session. Each variant maps to one stable code
/// ([`SessionError::code`]) documented in the README and `index.d.ts`; its `Display` is the
/// English message JS sees as `error.message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// Options given to `init`/`login`/`logout`/`request` are wrong; names the option.
    #[error("invalid option `{option}`: {reason}")]
    InvalidOptions {
        /// The option at fault.
        option: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The global `wx`, or one of its APIs, is missing or threw.
    #[error("wx.{api} is not available: {detail}")]
    WxUnavailable {
        /// The API that was needed.
        api: String,
        /// What the runtime said.
        detail: String,
    },
    /// `wx.login` failed; carries WeChat's errMsg.
    #[error("wx.login failed: {0}")]
    WxLoginFailed(String),
    /// The server could not be reached (offline, timeout, DNS, interrupted).
    #[error("could not reach the server: {0}")]
    Network(String),
    /// The server answered with a 5xx.
    #[error("the server failed ({0})")]
    ServerError(ServerAnswer),
    /// The server refused the call for a reason other than an invalid session.
    #[error("the server refused the request ({0})")]
    ServerRejected(ServerAnswer),
    /// The answer is not what the protocol promises (HTML, malformed JSON, no token...).
    #[error("unexpected answer from the server: {detail} (HTTP {status})")]
    BadResponse {
        /// The HTTP status of the odd answer.
        status: u16,
        /// What was wrong with it.
        detail: String,
    },
    /// Storage refused a write (full); whatever was stored before is back in place.
    #[error("could not save the session: {0}")]
    StorageFailed(String),
    /// The server rejects the session even after the allowed re-logins.
    #[error("the server rejected the session ({0})")]
    SessionInvalid(ServerAnswer),
    /// The WeChat user is known to the server but must register first.
    #[error("the user must register before logging in ({0})")]
    NotRegistered(ServerAnswer),
    /// A logout happened while this login or request was in flight.
    #[error("logged out while the call was in flight")]
    LoggedOut,
}

impl SessionError {
    /// The stable machine code exposed to JavaScript as `error.code`.
    pub fn code(&self) -> &'static str {
        match self {
            SessionError::InvalidOptions { .. } => "INVALID_OPTIONS",
            SessionError::WxUnavailable { .. } => "WX_UNAVAILABLE",
            SessionError::WxLoginFailed(_) => "WX_LOGIN_FAILED",
            SessionError::Network(_) => "NETWORK",
            SessionError::ServerError(_) => "SERVER_ERROR",
            SessionError::ServerRejected(_) => "SERVER_REJECTED",
            SessionError::BadResponse { .. } => "BAD_RESPONSE",
            SessionError::StorageFailed(_) => "STORAGE_FAILED",
            SessionError::SessionInvalid(_) => "SESSION_INVALID",
            SessionError::NotRegistered(_) => "NOT_REGISTERED",
            SessionError::LoggedOut => "LOGGED_OUT",
        }
    }

    /// The HTTP status behind the error, when a server answer caused it.
    pub fn status(&self) -> Option<u16> {
        match self {
            SessionError::ServerError(a)
            | SessionError::ServerRejected(a)
            | SessionError::SessionInvalid(a)
            | SessionError::NotRegistered(a) => Some(a.status),
            SessionError::BadResponse { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// What the server said, when it said something.
    pub fn server_message(&self) -> Option<&ServerMessage> {
        match self {
            SessionError::ServerError(a)
            | SessionError::ServerRejected(a)
            | SessionError::SessionInvalid(a)
            | SessionError::NotRegistered(a) => a.said.as_ref(),
            _ => None,
        }
    }

    /// Shorthand for an invalid option.
    pub fn invalid_option(option: &str, reason: &str) -> SessionError {
        SessionError::InvalidOptions { option: option.to_owned(), reason: reason.to_owned() }
    }
}
