//! Development mode's stand-in for code2Session.
//!
//! Without an AppID nothing can exchange a real `wx.login` code, and WeChat DevTools' test AppID
//! (`touristappid`) hands out codes no server can exchange. So in development mode:
//!
//! * `POST /dev/code {"user": "alice"}` mints a code for a named user. Like WeChat's, it is
//!   single-use (`CODE_USED` the second time, errcode 40163) and expires (`INVALID_CODE`,
//!   errcode 40029) after the configured code lifetime, five minutes by default.
//! * A code this server did not mint — DevTools' `wx.login` — logs in the fixed user
//!   [`DEVTOOLS_USER`] once; the same code again is `CODE_USED` for 24 hours.
//!
//! The openid of a dev user is `dev_openid_<user>`, so logging in as "alice" twice is the same
//! user (and single sign-on applies). State lives in memory: restarting forgets all codes.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::login::{ExchangeError, Identity, SessionKey, UserInfo};
use crate::token::{random_hex, RandomnessError};

/// The user a foreign (DevTools) code logs in, and the default for `POST /dev/code`.
pub const DEVTOOLS_USER: &str = "devtools";

/// Every code minted here starts with this, so an expired-and-forgotten one is recognised as
/// ours (`INVALID_CODE`) instead of being taken for a DevTools code.
const MINTED_PREFIX: &str = "devcode_";

/// How long a foreign code is remembered as used.
const FOREIGN_CODE_MEMORY: Duration = Duration::from_secs(24 * 60 * 60);

/// Longest accepted dev user name.
const MAX_USER_CHARS: usize = 32;

/// Why `POST /dev/code` refused.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    /// The user name would make an odd openid.
    #[error("user must be 1 to {MAX_USER_CHARS} characters of A-Z, a-z, 0-9, '_' or '-'")]
    BadUser,
    /// No randomness for the code.
    #[error(transparent)]
    Randomness(#[from] RandomnessError),
}

/// The stand-in's state: which codes exist and which were used.
#[derive(Debug)]
pub struct DevLogin {
    /// One lock for all codes: minting and exchanging are tiny, and the lock makes "use once"
    /// trivially atomic under concurrent logins.
    codes: Mutex<Codes>,
    /// How long a minted code stays usable.
    code_ttl: Duration,
}

#[derive(Debug, Default)]
struct Codes {
    /// Codes from `POST /dev/code`, until they expire.
    minted: HashMap<String, MintedCode>,
    /// Foreign codes already exchanged, with when; kept for [`FOREIGN_CODE_MEMORY`].
    foreign_used: HashMap<String, Instant>,
}

#[derive(Debug)]
struct MintedCode {
    /// Whose code it is.
    user: String,
    /// When it stops working.
    expires_at: Instant,
    /// Exchanged already; kept until expiry so a second use says `CODE_USED`.
    used: bool,
}

impl DevLogin {
    /// An empty stand-in whose minted codes live for `code_ttl`.
    pub fn new(code_ttl: Duration) -> DevLogin {
        DevLogin {
            codes: Mutex::new(Codes::default()),
            code_ttl,
        }
    }

    /// Mints a single-use code for `user`.
    pub fn mint(&self, user: &str) -> Result<String, MintError> {
        let valid = !user.is_empty()
            && user.chars().count() <= MAX_USER_CHARS
            && user
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid {
            return Err(MintError::BadUser);
        }
        let code = format!("{MINTED_PREFIX}{}", random_hex(16)?);
        let now = Instant::now();
        let mut codes = self.lock();
        codes.forget_expired(now);
        codes.minted.insert(
            code.clone(),
            MintedCode {
                user: user.to_owned(),
                expires_at: now + self.code_ttl,
                used: false,
            },
        );
        Ok(code)
    }

    /// Exchanges a code the way code2Session would (see the module doc).
    pub fn exchange(&self, code: &str) -> Result<Identity, ExchangeError> {
        let now = Instant::now();
        let mut codes = self.lock();
        codes.forget_expired(now);

        if code.starts_with(MINTED_PREFIX) {
            let minted = codes
                .minted
                .get_mut(code)
                .ok_or(ExchangeError::InvalidCode)?;
            if minted.used {
                return Err(ExchangeError::CodeUsed);
            }
            minted.used = true;
            return Ok(dev_identity(&minted.user));
        }

        if codes.foreign_used.contains_key(code) {
            return Err(ExchangeError::CodeUsed);
        }
        codes.foreign_used.insert(code.to_owned(), now);
        Ok(dev_identity(DEVTOOLS_USER))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Codes> {
        // Nothing panics while holding this lock, but if something ever did, the maps are still
        // consistent (every update is a single insert), so carry on rather than fail forever.
        self.codes.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Codes {
    /// Drops what can no longer matter, so the maps stay as small as the traffic of the last
    /// few minutes.
    fn forget_expired(&mut self, now: Instant) {
        self.minted.retain(|_, code| code.expires_at > now);
        self.foreign_used
            .retain(|_, used_at| now.duration_since(*used_at) < FOREIGN_CODE_MEMORY);
    }
}

/// The identity of dev user `user`: a deterministic openid, a placeholder session_key and a
/// Chinese nickname with an emoji, so clients get to render non-ASCII text from day one.
pub fn dev_identity(user: &str) -> Identity {
    Identity {
        openid: format!("dev_openid_{user}"),
        session_key: SessionKey::new(format!("dev_session_key_{user}")),
        user_info: Some(UserInfo {
            nick_name: format!("测试用户 {user} 🐼"),
            avatar_url: avatar_data_url(user),
        }),
        unionid: None,
    }
}

/// A 64×64 SVG: a coloured square (hue from the name) with the name's first letter. Works in a
/// browser `<img>` and needs no file server. `%` and `#` are escaped for the data: URL; the
/// user name is already restricted to URL-safe characters.
fn avatar_data_url(user: &str) -> String {
    // FNV-1a, only to spread hues; nothing depends on the exact value.
    let hue = user.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    }) % 360;
    let initial = user.chars().next().map_or('?', |c| c.to_ascii_uppercase());
    format!(
        "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='64' height='64'%3E\
         %3Crect width='64' height='64' fill='hsl({hue},60%25,55%25)'/%3E\
         %3Ctext x='32' y='43' font-size='30' text-anchor='middle' fill='white' \
         font-family='sans-serif'%3E{initial}%3C/text%3E%3C/svg%3E"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_codes_work_once() {
        let dev = DevLogin::new(Duration::from_secs(60));
        let code = dev.mint("alice").unwrap();
        let identity = dev.exchange(&code).unwrap();
        assert_eq!(identity.openid, "dev_openid_alice");
        assert!(matches!(dev.exchange(&code), Err(ExchangeError::CodeUsed)));
    }

    #[test]
    fn expired_and_unknown_minted_codes_are_invalid() {
        let dev = DevLogin::new(Duration::ZERO);
        let code = dev.mint("bob").unwrap();
        assert!(matches!(
            dev.exchange(&code),
            Err(ExchangeError::InvalidCode)
        ));
        assert!(matches!(
            dev.exchange("devcode_nope"),
            Err(ExchangeError::InvalidCode)
        ));
    }

    #[test]
    fn foreign_codes_log_in_devtools_once() {
        let dev = DevLogin::new(Duration::from_secs(60));
        let identity = dev.exchange("0a3xYz-from-wx-login").unwrap();
        assert_eq!(identity.openid, "dev_openid_devtools");
        assert!(matches!(
            dev.exchange("0a3xYz-from-wx-login"),
            Err(ExchangeError::CodeUsed)
        ));
    }

    #[test]
    fn odd_user_names_are_refused() {
        let dev = DevLogin::new(Duration::from_secs(60));
        for bad in ["", "a b", "名字", &"x".repeat(33), "a/b"] {
            assert!(matches!(dev.mint(bad), Err(MintError::BadUser)), "{bad:?}");
        }
    }

    #[test]
    fn dev_users_have_a_chinese_nickname_with_an_emoji() {
        let info = dev_identity("alice").user_info.unwrap();
        assert_eq!(info.nick_name, "测试用户 alice 🐼");
        assert!(info.avatar_url.starts_with("data:image/svg+xml,"));
    }
}
