//! The server's settings once they have been read and checked.
//!
//! `cli.rs` turns flags, environment variables and the optional config file into a [`Config`];
//! tests build one directly. Everything in here is already valid: the type of [`LoginMode`]
//! alone guarantees that a server which talks to WeChat has an AppID and an AppSecret.

use std::fmt;
use std::time::Duration;

/// How long a session token lives unless `--token-ttl` says otherwise.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// How long a development-mode login code stays usable: WeChat's own `wx.login` codes last five
/// minutes, and the stand-in behaves the same.
pub const DEFAULT_DEV_CODE_TTL: Duration = Duration::from_secs(5 * 60);

/// Where code2Session lives unless `--wechat-api-base` points elsewhere (a proxy, or a fake in
/// tests).
pub const DEFAULT_WECHAT_API_BASE: &str = "https://api.weixin.qq.com";

/// Prepended to every Redis key so several deployments (or test runs) can share one Redis.
pub const DEFAULT_REDIS_PREFIX: &str = "wx-session:";

/// How long one code2Session call may take before the login fails with `WECHAT_UNAVAILABLE`.
/// WeChat's client gives up after 60 s; answering well before that lets it show an error.
pub const DEFAULT_WECHAT_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything [`crate::build_app`] needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Who turns a login code into an openid: WeChat, or the development stand-in.
    pub login: LoginMode,
    /// Lifetime of a session token from the moment of login; also the `expiresIn` of a login.
    pub token_ttl: Duration,
    /// Lifetime of a code minted by `POST /dev/code`. Only used in development mode; tests
    /// shorten it to see codes expire without waiting five minutes.
    pub dev_code_ttl: Duration,
    /// Where sessions live.
    pub store: StoreConfig,
    /// Users, avatars and phone numbers: the data directory, the database, public URLs.
    pub accounts: crate::accounts::AccountsConfig,
}

impl Config {
    /// Development mode with the in-memory store and default lifetimes.
    pub fn dev() -> Config {
        Config::new(LoginMode::Dev)
    }

    /// The given login mode with the in-memory store and default lifetimes.
    pub fn new(login: LoginMode) -> Config {
        Config {
            login,
            token_ttl: DEFAULT_TOKEN_TTL,
            dev_code_ttl: DEFAULT_DEV_CODE_TTL,
            store: StoreConfig::Memory,
            accounts: crate::accounts::AccountsConfig::default(),
        }
    }

    /// Whether the `/dev` routes and the code2Session stand-in are active.
    pub fn is_dev(&self) -> bool {
        matches!(self.login, LoginMode::Dev)
    }
}

/// Who exchanges login codes.
#[derive(Debug, Clone)]
pub enum LoginMode {
    /// The built-in stand-in for code2Session (`--dev`). Never use it in production: anyone can
    /// mint a code for any user name.
    Dev,
    /// The real code2Session endpoint.
    WeChat(WeChatConfig),
}

/// What is needed to call code2Session.
#[derive(Debug, Clone)]
pub struct WeChatConfig {
    /// The mini-program's AppID (not secret: it is in every mini-program package).
    pub appid: String,
    /// The mini-program's AppSecret.
    pub secret: AppSecret,
    /// Scheme and host of the WeChat API, without the `/sns/jscode2session` path.
    pub api_base: String,
    /// Per-call timeout for code2Session.
    pub timeout: Duration,
}

impl WeChatConfig {
    /// Credentials with the default API base and timeout.
    pub fn new(appid: impl Into<String>, secret: AppSecret) -> WeChatConfig {
        WeChatConfig {
            appid: appid.into(),
            secret,
            api_base: DEFAULT_WECHAT_API_BASE.to_owned(),
            timeout: DEFAULT_WECHAT_TIMEOUT,
        }
    }
}

/// The AppSecret. It only ever leaves the process inside the code2Session request; `Debug`
/// prints a placeholder and there is deliberately no `Display` or `Serialize`.
#[derive(Clone)]
pub struct AppSecret(String);

impl AppSecret {
    /// Wraps the secret read from the environment or the config file.
    pub fn new(secret: impl Into<String>) -> AppSecret {
        AppSecret(secret.into())
    }

    /// The secret itself, for building the code2Session query and for scrubbing it out of
    /// anything WeChat echoes back.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AppSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AppSecret(<redacted>)")
    }
}

/// Where sessions are kept.
#[derive(Debug, Clone)]
pub enum StoreConfig {
    /// In this process: lost on restart, one instance only. The default.
    Memory,
    /// In Redis, shared by every instance pointed at it.
    Redis(RedisConfig),
}

/// How to reach Redis.
#[derive(Clone)]
pub struct RedisConfig {
    /// `redis://[user:password@]host:port[/db]`; may hold a password, hence the custom `Debug`.
    pub url: String,
    /// Prepended to every key.
    pub prefix: String,
    /// Treat `url` as one seed node of a Redis Cluster instead of a single server.
    pub cluster: bool,
}

impl RedisConfig {
    /// The URL with any password replaced, fit for logs and error messages.
    pub fn redacted_url(&self) -> String {
        redact_url_credentials(&self.url)
    }
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &self.redacted_url())
            .field("prefix", &self.prefix)
            .field("cluster", &self.cluster)
            .finish()
    }
}

/// `scheme://user:pass@host` → `scheme://***@host`; URLs without credentials are unchanged.
pub(crate) fn redact_url_credentials(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let authority_end = url[scheme_end..]
        .find('/')
        .map_or(url.len(), |i| scheme_end + i);
    match url[scheme_end..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &url[..scheme_end], &url[scheme_end + at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_debug() {
        let secret = AppSecret::new("s3cr3t-value");
        let config = Config::new(LoginMode::WeChat(WeChatConfig::new("wx123", secret)));
        assert!(!format!("{config:?}").contains("s3cr3t-value"));

        let redis = RedisConfig {
            url: "redis://user:hunter2@cache:6379/0".into(),
            prefix: "p:".into(),
            cluster: false,
        };
        assert!(!format!("{redis:?}").contains("hunter2"));
        assert_eq!(redis.redacted_url(), "redis://***@cache:6379/0");
    }

    #[test]
    fn urls_without_credentials_are_unchanged() {
        assert_eq!(
            redact_url_credentials("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
        assert_eq!(redact_url_credentials("no-scheme"), "no-scheme");
    }
}
