//! The client for WeChat's code2Session
//! (`GET {base}/sns/jscode2session?appid&secret&js_code&grant_type=authorization_code`).
//!
//! The request URL carries the AppSecret, so three rules hold here: redirects are not followed
//! (they would resend the secret to another host), errors from the HTTP client are stripped of
//! their URL before they are logged, and whatever WeChat writes in `errmsg` is scrubbed of the
//! secret before it can reach a response.
//!
//! And because the secret must not travel in clear text: the base URL must be `https://`
//! (plain `http://` only to a loopback address, as tests use, or with an explicit flag), and
//! the environment's `HTTP(S)_PROXY` is ignored unless a proxy is configured explicitly.
//! Answers are read up to [`MAX_BODY_BYTES`]; every call passes the [`UpstreamGuard`]
//! (negative cache, back-off, in-flight cap) first.

use std::net::IpAddr;

use serde::Deserialize;

use crate::config::{AppSecret, WeChatConfig};
use crate::login::{ExchangeError, Identity, SessionKey};
use crate::throttle::{ThrottleConfig, UpstreamGuard};

/// Longest `errmsg` passed on to a client; WeChat's are short, anything longer is noise.
const MAX_ERRMSG_CHARS: usize = 200;

/// Largest answer read from WeChat's API; a real code2Session one is under 200 bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Why a WeChat API base URL or proxy is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiBaseError {
    /// Neither `https://` nor `http://`.
    #[error("the WeChat API base must start with https:// (got {0:?})")]
    NotHttp(String),
    /// `http://` to a host that is not a loopback address, without the explicit flag.
    #[error(
        "the WeChat API base {0:?} is plain http:// to a non-loopback host: the AppSecret would \
         travel in clear text. Use https://, or pass --allow-insecure-wechat-api if this is \
         really intended"
    )]
    Insecure(String),
    /// The configured proxy URL is not usable.
    #[error("the WeChat proxy URL is not valid")]
    BadProxy,
}

/// Checks `base`: `https://` always; `http://` only to a loopback address (127.0.0.0/8, ::1,
/// `localhost`) unless `allow_insecure`.
pub fn check_api_base(base: &str, allow_insecure: bool) -> Result<(), ApiBaseError> {
    if base.starts_with("https://") {
        return Ok(());
    }
    let Some(rest) = base.strip_prefix("http://") else {
        return Err(ApiBaseError::NotHttp(base.to_owned()));
    };
    if allow_insecure {
        return Ok(());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(bracketed) = host_port.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(ApiBaseError::Insecure(base.to_owned()))
    }
}

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
    /// Negative cache, back-off and in-flight cap.
    guard: UpstreamGuard,
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
    /// Builds the client. Fails if the TLS backend cannot initialise or the configured proxy
    /// is unusable. The base URL is expected to have passed [`check_api_base`].
    pub fn new(
        config: &WeChatConfig,
        throttle: &ThrottleConfig,
    ) -> Result<WeChatClient, reqwest::Error> {
        // Idle upstream connections beyond the in-flight cap are of no use.
        let http = http_client(config, throttle.wechat_max_in_flight)?;
        Ok(WeChatClient {
            http,
            endpoint: format!(
                "{}/sns/jscode2session",
                config.api_base.trim_end_matches('/')
            ),
            appid: config.appid.clone(),
            secret: config.secret.clone(),
            guard: UpstreamGuard::new(throttle),
        })
    }

    /// Exchanges one login code, through the guards. See the module doc for how the secret is
    /// kept out of errors.
    pub async fn code_to_session(&self, code: &str) -> Result<Identity, ExchangeError> {
        let admitted = self.guard.admit(code)?;
        let outcome = self.call(code).await;
        self.guard.record(admitted, &outcome);
        outcome
    }

    /// The guards, for tests that look at what they remember.
    pub fn guard(&self) -> &UpstreamGuard {
        &self.guard
    }

    /// One code2Session call.
    async fn call(&self, code: &str) -> Result<Identity, ExchangeError> {
        let mut response = self
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
        let body = read_capped(&mut response)
            .await
            .map_err(|error| match error {
                CappedReadError::TooLarge => too_large(),
                CappedReadError::Transport(error) => unavailable(error.without_url()),
            })?;
        let reply: Code2SessionReply = serde_json::from_slice(&body).map_err(|e| {
            ExchangeError::Unavailable(format!("answer is not the expected JSON: {e}"))
        })?;

        match reply.errcode {
            Some(errcode) if errcode != 0 => {
                let errmsg = scrub(reply.errmsg.unwrap_or_default(), &self.secret);
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
}

/// Removes the secret from text WeChat sent back and bounds its length (code2Session here, the
/// access token and phone-number calls in `access_token`/`phone`).
pub(crate) fn scrub(text: String, secret: &AppSecret) -> String {
    let secret = secret.expose();
    let text = if secret.is_empty() {
        text
    } else {
        text.replace(secret, "<redacted>")
    };
    text.chars().take(MAX_ERRMSG_CHARS).collect()
}

/// The HTTP client every call to WeChat's API uses (code2Session here, the access token and
/// phone number in `access_token.rs` and `phone.rs`): a timeout, no redirects (they would resend
/// the AppSecret or access token elsewhere), and no proxy from the environment (a proxy sees the
/// query string) — only the one configured with `--wechat-proxy`.
pub(crate) fn http_client(
    config: &WeChatConfig,
    max_idle_per_host: usize,
) -> Result<reqwest::Client, reqwest::Error> {
    let mut builder = reqwest::Client::builder()
        .timeout(config.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("wx-session-server/", env!("CARGO_PKG_VERSION")))
        .no_proxy()
        .pool_max_idle_per_host(max_idle_per_host);
    if let Some(proxy) = &config.proxy {
        builder = builder.proxy(reqwest::Proxy::all(proxy.as_str())?);
    }
    builder.build()
}

/// Why [`read_capped`] gave up.
#[derive(Debug)]
pub(crate) enum CappedReadError {
    /// The answer is larger than [`MAX_BODY_BYTES`].
    TooLarge,
    /// The connection failed while reading.
    Transport(reqwest::Error),
}

/// Reads an answer's body chunk by chunk up to [`MAX_BODY_BYTES`]: a broken or hostile upstream
/// must not make us buffer megabytes.
pub(crate) async fn read_capped(
    response: &mut reqwest::Response,
) -> Result<Vec<u8>, CappedReadError> {
    if response
        .content_length()
        .is_some_and(|length| length > MAX_BODY_BYTES as u64)
    {
        return Err(CappedReadError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(CappedReadError::Transport)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(CappedReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The answer was larger than [`MAX_BODY_BYTES`].
fn too_large() -> ExchangeError {
    ExchangeError::Unavailable(format!("answer is larger than {MAX_BODY_BYTES} bytes"))
}

/// Wraps a transport error (already stripped of its URL) for the log.
fn unavailable(error: reqwest::Error) -> ExchangeError {
    ExchangeError::Unavailable(transport_error(&error))
}

/// What went wrong on the way to WeChat, with its causes (no URL: callers strip it first).
pub(crate) fn transport_error(error: &reqwest::Error) -> String {
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
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http_bases_are_accepted() {
        for ok in [
            "https://api.weixin.qq.com",
            "http://127.0.0.1:9000",
            "http://127.8.0.1",
            "http://localhost:1/x",
            "http://[::1]:8080",
        ] {
            assert_eq!(check_api_base(ok, false), Ok(()), "{ok}");
        }
        for insecure in [
            "http://api.weixin.qq.com",
            "http://10.0.0.1:80",
            "http://127.0.0.1.evil.example",
            "http://localhost@evil.example",
        ] {
            assert!(
                matches!(
                    check_api_base(insecure, false),
                    Err(ApiBaseError::Insecure(_))
                ),
                "{insecure}"
            );
            assert_eq!(check_api_base(insecure, true), Ok(()));
        }
        assert!(matches!(
            check_api_base("ftp://x", true),
            Err(ApiBaseError::NotHttp(_))
        ));
    }
}
