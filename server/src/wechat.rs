//! The client for WeChat's code2Session
//! (`GET {base}/sns/jscode2session?appid&secret&js_code&grant_type=authorization_code`).
//!
//! The request URL carries the AppSecret, so three rules hold here: redirects are not followed
//! (they would resend the secret to another host), errors from the HTTP client are stripped of
//! their URL before they are logged, and whatever WeChat writes in `errmsg` is scrubbed of the
//! secret before it can reach a response.

use serde::Deserialize;

use crate::config::{AppSecret, WeChatConfig};
use crate::login::{ExchangeError, Identity, SessionKey};

/// Longest `errmsg` passed on to a client; WeChat's are short, anything longer is noise.
const MAX_ERRMSG_CHARS: usize = 200;

/// Calls code2Session for one mini-program.
#[derive(Debug)]
pub struct WeChatClient {
    /// Shared connection pool; cheap to use from many requests at once.
    http: reqwest::Client,
    /// `{api_base}/sns/jscode2session`, computed once.
    endpoint: String,
    /// The mini-program's AppID.
    appid: String,
    /// The mini-program's AppSecret.
    secret: AppSecret,
}

/// code2Session's JSON answer. Every field is optional because a failed call carries only
/// `errcode`/`errmsg`, and a successful one may carry no `errcode` at all.
#[derive(Deserialize)]
struct Code2SessionReply {
    openid: Option<String>,
    session_key: Option<String>,
    unionid: Option<String>,
    errcode: Option<i64>,
    errmsg: Option<String>,
}

impl WeChatClient {
    /// Builds the client; fails only if the TLS backend cannot initialise.
    pub fn new(config: &WeChatConfig) -> Result<WeChatClient, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("wx-session-server/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(WeChatClient {
            http,
            endpoint: format!(
                "{}/sns/jscode2session",
                config.api_base.trim_end_matches('/')
            ),
            appid: config.appid.clone(),
            secret: config.secret.clone(),
        })
    }

    /// Exchanges one login code. See the module doc for how the secret is kept out of errors.
    pub async fn code_to_session(&self, code: &str) -> Result<Identity, ExchangeError> {
        let response = self
            .http
            .get(&self.endpoint)
            .query(&[
                ("appid", self.appid.as_str()),
                ("secret", self.secret.expose()),
                ("js_code", code),
                ("grant_type", "authorization_code"),
            ])
            .send()
            .await
            .map_err(|e| unavailable(e.without_url()))?;

        let status = response.status();
        if !status.is_success() {
            return Err(ExchangeError::Unavailable(format!("HTTP status {status}")));
        }
        // WeChat has been seen answering JSON as text/plain, so the body is parsed whatever its
        // content type says.
        let body = response
            .bytes()
            .await
            .map_err(|e| unavailable(e.without_url()))?;
        let reply: Code2SessionReply = serde_json::from_slice(&body).map_err(|e| {
            ExchangeError::Unavailable(format!("answer is not the expected JSON: {e}"))
        })?;

        match reply.errcode {
            Some(errcode) if errcode != 0 => {
                let errmsg = self.scrub(reply.errmsg.unwrap_or_default());
                Err(ExchangeError::from_errcode(errcode, errmsg))
            }
            _ => match (reply.openid, reply.session_key) {
                (Some(openid), Some(session_key))
                    if !openid.is_empty() && !session_key.is_empty() =>
                {
                    Ok(Identity {
                        openid,
                        session_key: SessionKey::new(session_key),
                        user_info: None,
                        unionid: reply.unionid.filter(|id| !id.is_empty()),
                    })
                }
                _ => Err(ExchangeError::Unavailable(
                    "answer has neither errcode nor openid and session_key".into(),
                )),
            },
        }
    }

    /// Removes the secret from text WeChat sent back and bounds its length.
    fn scrub(&self, text: String) -> String {
        let secret = self.secret.expose();
        let text = if secret.is_empty() {
            text
        } else {
            text.replace(secret, "<redacted>")
        };
        text.chars().take(MAX_ERRMSG_CHARS).collect()
    }
}

/// Wraps a transport error (already stripped of its URL) for the log.
fn unavailable(error: reqwest::Error) -> ExchangeError {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    // The causes (e.g. "tcp connect error: Connection refused") say what to fix; like the error
    // itself they no longer carry the URL.
    let mut text = format!("{kind}: {error}");
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    ExchangeError::Unavailable(text)
}
