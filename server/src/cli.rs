//! Command-line options, their environment fallbacks, and the optional JSON config file, turned
//! into a checked [`Config`].
//!
//! The AppSecret is deliberately not an option: command lines are visible to every user of the
//! machine (`ps`) and end up in shell history. It comes from `WX_APPSECRET` or the config file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::Parser;
use serde::Deserialize;

use crate::accounts::{AccountsConfig, DEFAULT_DATA_DIR};
use crate::config::{
    AppSecret, Config, LoginMode, RedisConfig, StoreConfig, WeChatConfig, DEFAULT_DEV_CODE_TTL,
    DEFAULT_REDIS_PREFIX, DEFAULT_WECHAT_API_BASE, DEFAULT_WECHAT_TIMEOUT,
};

/// Longest token lifetime accepted; beyond a year a token is effectively a password.
const MAX_TOKEN_TTL: Duration = Duration::from_secs(366 * 24 * 60 * 60);

const AFTER_HELP: &str = "\
WeChat credentials (required unless --dev):
  WX_APPID       the mini-program's AppID
  WX_APPSECRET   the mini-program's AppSecret (never accepted as a flag)
  or a --config JSON file: {\"appid\": \"wx…\", \"appsecret\": \"…\"}; the variables win over the file.

Logging: RUST_LOG (default \"info\"), e.g. RUST_LOG=wx_session_server=debug.";

/// Reference server for wx-session: exchanges WeChat mini-program login codes for session
/// tokens, and checks and revokes them.
#[derive(Debug, Parser)]
#[command(name = "wx-session-server", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Address and port to listen on.
    #[arg(long, env = "WX_SESSION_LISTEN", default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,

    /// Development mode: a built-in stand-in for code2Session (POST /dev/code mints codes; codes
    /// from WeChat DevTools log in the user "devtools"). Needs no AppID. Never use in production.
    #[arg(long, env = "WX_SESSION_DEV", value_parser = BoolishValueParser::new(), default_value_t = false)]
    pub dev: bool,

    /// Lifetime of a session token: seconds, or a number with s, m, h or d (e.g. 7d, 12h).
    #[arg(long, env = "WX_SESSION_TOKEN_TTL", default_value = "7d", value_parser = parse_ttl)]
    pub token_ttl: Duration,

    /// Keep sessions in Redis at this URL (redis://[user:password@]host:port[/db]) instead of in
    /// memory.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// Prefix for every Redis key.
    #[arg(long, env = "WX_SESSION_REDIS_PREFIX", default_value = DEFAULT_REDIS_PREFIX)]
    pub redis_prefix: String,

    /// Treat --redis-url as a seed node of a Redis Cluster.
    #[arg(long, env = "WX_SESSION_REDIS_CLUSTER", value_parser = BoolishValueParser::new(), default_value_t = false)]
    pub redis_cluster: bool,

    /// Base URL of the WeChat API (code2Session is {base}/sns/jscode2session).
    #[arg(long, env = "WX_SESSION_WECHAT_API_BASE", default_value = DEFAULT_WECHAT_API_BASE)]
    pub wechat_api_base: String,

    /// JSON file with the WeChat credentials: {"appid": "...", "appsecret": "..."}.
    #[arg(long, env = "WX_SESSION_CONFIG")]
    pub config: Option<PathBuf>,

    /// Directory for the SQLite user database (users.db) and uploaded avatars (avatars/);
    /// created if missing.
    #[arg(long, env = "WX_SESSION_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,

    /// Keep users in PostgreSQL at this URL (postgres://user:password@host:port/db) instead of
    /// SQLite under --data-dir. Avatars stay under --data-dir.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// The URL clients reach this server at (https://api.example.com), for absolute avatar URLs;
    /// without it they are built from each request's Host header.
    #[arg(long, env = "WX_SESSION_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Largest avatar upload: bytes, or a number with K or M (KiB, MiB), e.g. 2M.
    #[arg(long, env = "WX_SESSION_AVATAR_MAX_SIZE", default_value = "2M", value_parser = parse_size)]
    pub avatar_max_size: usize,
}

/// Why the options do not make a runnable server. Messages say how to fix it and never contain
/// the secret.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Not in dev mode and no AppID or AppSecret.
    #[error(
        "WeChat credentials missing ({missing}). Set WX_APPID and WX_APPSECRET, or pass \
         --config <file.json> containing {{\"appid\": \"...\", \"appsecret\": \"...\"}}; \
         or start with --dev (WX_SESSION_DEV=1) to use the built-in code2Session stand-in"
    )]
    MissingCredentials {
        /// Which of the two is missing.
        missing: &'static str,
    },
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The config file is not the expected JSON. Only the position is reported: serde's message
    /// may quote a value, and the value may be the secret.
    #[error(
        "config file {path} is not valid: {problem} at line {line} column {column} \
         (expected {{\"appid\": \"...\", \"appsecret\": \"...\"}})"
    )]
    ParseFile {
        /// The file.
        path: PathBuf,
        /// The kind of problem.
        problem: &'static str,
        /// Where.
        line: usize,
        /// Where.
        column: usize,
    },
    /// `--wechat-api-base` is not an http(s) URL.
    #[error("--wechat-api-base must start with https:// or http://, got {0:?}")]
    BadApiBase(String),
    /// `--public-url` is not an http(s) URL.
    #[error("--public-url must start with https:// or http://, got {0:?}")]
    BadPublicUrl(String),
    /// `--database-url` names no supported database. Only the scheme is quoted: the rest may
    /// hold a password.
    #[error(
        "--database-url (DATABASE_URL) must start with postgres://, postgresql:// or sqlite:, \
         got a URL starting {0:?}"
    )]
    BadDatabaseUrl(String),
}

/// The config file's shape. Unknown keys are refused so a typo does not silently drop the secret.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    appid: Option<String>,
    appsecret: Option<String>,
}

impl Cli {
    /// Checks the options and reads the credentials. `env` looks up an environment variable;
    /// tests pass a fake one.
    pub fn to_config(&self, env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let store = match &self.redis_url {
            Some(url) if !url.trim().is_empty() => StoreConfig::Redis(RedisConfig {
                url: url.trim().to_owned(),
                prefix: self.redis_prefix.clone(),
                cluster: self.redis_cluster,
            }),
            _ => StoreConfig::Memory,
        };

        let login = if self.dev {
            LoginMode::Dev
        } else {
            let file = match &self.config {
                Some(path) => read_config_file(path)?,
                None => ConfigFile::default(),
            };
            let non_empty = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
            let appid = non_empty(env("WX_APPID")).or(non_empty(file.appid));
            let secret = non_empty(env("WX_APPSECRET")).or(non_empty(file.appsecret));
            let (appid, secret) = match (appid, secret) {
                (Some(appid), Some(secret)) => (appid, secret),
                (None, Some(_)) => {
                    return Err(ConfigError::MissingCredentials {
                        missing: "no AppID",
                    })
                }
                (Some(_), None) => {
                    return Err(ConfigError::MissingCredentials {
                        missing: "no AppSecret",
                    })
                }
                (None, None) => {
                    return Err(ConfigError::MissingCredentials {
                        missing: "no AppID, no AppSecret",
                    })
                }
            };
            let api_base = self.wechat_api_base.trim().to_owned();
            if !(api_base.starts_with("https://") || api_base.starts_with("http://")) {
                return Err(ConfigError::BadApiBase(api_base));
            }
            LoginMode::WeChat(WeChatConfig {
                appid: appid.trim().to_owned(),
                secret: AppSecret::new(secret.trim()),
                api_base,
                timeout: DEFAULT_WECHAT_TIMEOUT,
            })
        };

        Ok(Config {
            login,
            token_ttl: self.token_ttl,
            dev_code_ttl: DEFAULT_DEV_CODE_TTL,
            store,
            accounts: self.accounts_config()?,
        })
    }
}

impl Cli {
    /// The account settings, checked.
    fn accounts_config(&self) -> Result<AccountsConfig, ConfigError> {
        let non_empty = |value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let public_url = non_empty(&self.public_url);
        if let Some(url) = &public_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(ConfigError::BadPublicUrl(url.clone()));
            }
        }
        let database_url = non_empty(&self.database_url);
        if let Some(url) = &database_url {
            let supported = ["postgres://", "postgresql://", "sqlite:"]
                .iter()
                .any(|scheme| url.starts_with(scheme));
            if !supported {
                let scheme: String = url.chars().take_while(|c| *c != ':').take(16).collect();
                return Err(ConfigError::BadDatabaseUrl(scheme));
            }
        }
        Ok(AccountsConfig {
            data_dir: self.data_dir.clone(),
            database_url,
            public_url,
            avatar_max_bytes: self.avatar_max_size,
        })
    }
}

/// Parses `2097152`, `512K` or `2M` (binary units) into a byte count between 1 KiB and 64 MiB.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let (number, multiplier) = match text.char_indices().last() {
        Some((i, c)) if c.eq_ignore_ascii_case(&'k') => (&text[..i], 1024),
        Some((i, c)) if c.eq_ignore_ascii_case(&'m') => (&text[..i], 1024 * 1024),
        _ => (text, 1),
    };
    let number: usize = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number with an optional K or M unit"))?;
    let bytes = number.checked_mul(multiplier).ok_or("too large")?;
    if !(1024..=64 * 1024 * 1024).contains(&bytes) {
        return Err("must be between 1K and 64M".into());
    }
    Ok(bytes)
}

fn read_config_file(path: &Path) -> Result<ConfigFile, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
        path: path.to_owned(),
        source,
    })?;
    warn_if_readable_by_others(path);
    serde_json::from_str(&text).map_err(|e| ConfigError::ParseFile {
        path: path.to_owned(),
        problem: match e.classify() {
            serde_json::error::Category::Data => "unknown key or a value that is not a string",
            serde_json::error::Category::Eof => "unexpected end of file",
            serde_json::error::Category::Syntax | serde_json::error::Category::Io => {
                "JSON syntax error"
            }
        },
        line: e.line(),
        column: e.column(),
    })
}

/// A secret in a world-readable file is a secret shared with every account on the machine.
#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(metadata) = std::fs::metadata(path) {
        if metadata.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "config file holding the AppSecret is readable by other users; chmod 600 it");
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

/// Parses `604800`, `30s`, `15m`, `12h` or `7d` into a duration between 1 s and 366 days.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c.to_ascii_lowercase()),
        _ => (text, 's'),
    };
    let multiplier: u64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 60 * 60,
        'd' => 24 * 60 * 60,
        _ => return Err(format!("unknown unit '{unit}': use s, m, h or d")),
    };
    let number: u64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number with an optional s/m/h/d unit"))?;
    let seconds = number.checked_mul(multiplier).ok_or("too large")?;
    let ttl = Duration::from_secs(seconds);
    if ttl.is_zero() || ttl > MAX_TOKEN_TTL {
        return Err("must be between 1 second and 366 days".into());
    }
    Ok(ttl)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn cli(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("wx-session-server").chain(args.iter().copied()))
            .unwrap()
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn ttl_units() {
        assert_eq!(parse_ttl("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ttl("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_ttl("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_ttl("12h"), Ok(Duration::from_secs(43_200)));
        assert_eq!(parse_ttl("7d"), Ok(Duration::from_secs(604_800)));
        for bad in [
            "",
            "0",
            "d",
            "-5",
            "1w",
            "400d",
            "1.5h",
            "99999999999999999999",
        ] {
            assert!(parse_ttl(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn refuses_to_run_without_credentials_outside_dev_mode() {
        let error = cli(&[]).to_config(no_env).unwrap_err();
        assert!(matches!(error, ConfigError::MissingCredentials { .. }));
        assert!(error.to_string().contains("WX_APPSECRET"));

        let only_id = |name: &str| (name == "WX_APPID").then(|| "wx123".to_owned());
        assert!(cli(&[]).to_config(only_id).is_err());
    }

    #[test]
    fn dev_mode_needs_no_credentials() {
        assert!(cli(&["--dev"]).to_config(no_env).unwrap().is_dev());
    }

    #[test]
    fn credentials_from_env() {
        let env = |name: &str| match name {
            "WX_APPID" => Some("wx123".to_owned()),
            "WX_APPSECRET" => Some("topsecret".to_owned()),
            _ => None,
        };
        let config = cli(&[]).to_config(env).unwrap();
        let LoginMode::WeChat(wechat) = config.login else {
            panic!("not WeChat mode")
        };
        assert_eq!(wechat.appid, "wx123");
        assert_eq!(wechat.secret.expose(), "topsecret");
    }

    #[test]
    fn credentials_from_file_and_env_wins() {
        let dir = std::env::temp_dir().join(format!("wxs-cli-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.json");
        std::fs::write(&path, r#"{"appid": "wxfile", "appsecret": "filesecret"}"#).unwrap();
        let path_arg = path.to_str().unwrap();

        let config = cli(&["--config", path_arg]).to_config(no_env).unwrap();
        let LoginMode::WeChat(wechat) = config.login else {
            panic!("not WeChat mode")
        };
        assert_eq!(
            (wechat.appid.as_str(), wechat.secret.expose()),
            ("wxfile", "filesecret")
        );

        let env = |name: &str| (name == "WX_APPID").then(|| "wxenv".to_owned());
        let config = cli(&["--config", path_arg]).to_config(env).unwrap();
        let LoginMode::WeChat(wechat) = config.login else {
            panic!("not WeChat mode")
        };
        assert_eq!(wechat.appid, "wxenv");

        std::fs::write(&path, r#"{"appid": "wxfile", "appsecert": "filesecret"}"#).unwrap();
        let error = cli(&["--config", path_arg]).to_config(no_env).unwrap_err();
        assert!(!error.to_string().contains("filesecret"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn redis_url_selects_the_redis_store() {
        let config = cli(&[
            "--dev",
            "--redis-url",
            "redis://127.0.0.1:6379",
            "--redis-prefix",
            "x:",
        ])
        .to_config(no_env)
        .unwrap();
        let StoreConfig::Redis(redis) = config.store else {
            panic!("not Redis")
        };
        assert_eq!(redis.prefix, "x:");
    }
}
