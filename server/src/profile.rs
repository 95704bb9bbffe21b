//! The user's profile: `GET /user/profile`, `PUT /user/profile`, the account routes' router, and
//! the profile as login answers show it.
//!
//! ```text
//! GET  /user/profile                 Bearer token  → profile
//! PUT  /user/profile {"nickname"}    Bearer token  → profile
//! POST /user/avatar  multipart 'file' Bearer token → profile        (avatar.rs)
//! POST /user/phone   {"code"}        Bearer token  → profile        (phone.rs)
//! GET  /media/avatars/<file>                       → the image      (avatar.rs)
//!
//! profile = {"uid", "nickname", "avatarUrl", "phone", "createdAt", "lastLoginAt"}
//! ```
//!
//! Without a valid session these answer exactly as `/auth/check` does (401 `MISSING_TOKEN`,
//! `MALFORMED_TOKEN` or `SESSION_INVALID`), so the client library logs in again and replays.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::accounts::{AccountError, Accounts};
use crate::avatar::{self, MEDIA_PATH, MULTIPART_OVERHEAD};
use crate::error::ApiError;
use crate::extract::{BearerToken, JsonBody};
use crate::login::UserInfo;
use crate::phone;
use crate::routes::{active_session, AppState};
use crate::store::SessionStore;
use crate::users::User;

/// Longest nickname, in characters (Unicode scalar values) after trimming. WeChat's own nickname
/// input allows about this much; the page lays it out on one line.
pub const MAX_NICKNAME_CHARS: usize = 32;

/// The account routes. `avatar_max_bytes` sets the upload route's own body limit (the rest of
/// the server keeps its 16 KiB one).
pub fn routes<S: SessionStore>(avatar_max_bytes: usize) -> Router<AppState<S>> {
    Router::new()
        .route("/user/profile", get(get_profile::<S>).put(put_profile::<S>))
        .route("/user/phone", post(phone::bind::<S>))
        .route(
            "/user/avatar",
            post(avatar::upload::<S>).layer(DefaultBodyLimit::max(
                avatar_max_bytes.saturating_add(MULTIPART_OVERHEAD),
            )),
        )
        .route(&format!("{MEDIA_PATH}{{name}}"), get(avatar::serve::<S>))
}

/// How avatar URLs start: `--public-url` when configured, else `http(s)://<Host>` of the
/// request (https when a proxy says `X-Forwarded-Proto: https`), else a root-relative path.
#[derive(Debug, Clone)]
pub struct MediaBase(String);

impl MediaBase {
    /// The base for answers to a request with these headers.
    pub fn new(accounts: &Accounts, headers: &HeaderMap) -> MediaBase {
        if let Some(url) = &accounts.public_url {
            return MediaBase(url.clone());
        }
        let host = headers
            .get(header::HOST)
            .and_then(|value| value.to_str().ok())
            .filter(|host| is_plausible_host(host));
        let Some(host) = host else {
            return MediaBase(String::new());
        };
        let https = headers
            .get("x-forwarded-proto")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
        MediaBase(format!("{}://{host}", if https { "https" } else { "http" }))
    }

    /// The URL of stored avatar file `name`.
    pub fn avatar_url(&self, name: &str) -> String {
        format!("{}{MEDIA_PATH}{name}", self.0)
    }
}

/// A `Host` header that can go into a URL as it is: host name or address and optional port,
/// nothing that could add a path, a query or a user.
fn is_plausible_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

/// The profile answer shared by every account route.
pub fn profile_json(user: &User, media: &MediaBase) -> Value {
    json!({
        "uid": user.uid,
        "nickname": user.nickname,
        "avatarUrl": user.avatar.as_deref().map(|name| media.avatar_url(name)),
        "phone": user.phone.as_deref().map(mask_phone),
        "createdAt": rfc3339(user.created_at),
        "lastLoginAt": rfc3339(user.last_login_at),
    })
}

/// The `userInfo` of a login answer: the stored nickname and avatar, falling back field by
/// field to the development user's made-up ones; `None` when there is neither.
pub(crate) fn login_user_info(
    user: &User,
    dev: Option<&UserInfo>,
    media: &MediaBase,
) -> Option<Value> {
    let mut info = Map::new();
    if let Some(nickname) = user
        .nickname
        .clone()
        .or_else(|| dev.map(|dev| dev.nick_name.clone()))
    {
        info.insert("nickName".into(), nickname.into());
    }
    if let Some(url) = user
        .avatar
        .as_deref()
        .map(|name| media.avatar_url(name))
        .or_else(|| dev.map(|dev| dev.avatar_url.clone()))
    {
        info.insert("avatarUrl".into(), url.into());
    }
    (!info.is_empty()).then_some(Value::Object(info))
}

/// `13800001234` → `138****1234`: the first three and last four characters around four stars.
/// Shorter numbers (none are issued in China) keep only their last two.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() >= 8 {
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}****{tail}")
    } else {
        let tail: String = chars[chars.len().saturating_sub(2)..].iter().collect();
        format!("****{tail}")
    }
}

/// Unix milliseconds as RFC 3339 in UTC with exactly three fractional digits
/// (`2026-12-01T12:00:00.120Z`): a fixed width, so the texts sort as the times do.
fn rfc3339(ms: i64) -> Value {
    let seconds = OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|time| time.format(&Rfc3339).ok());
    match seconds.as_deref().and_then(|text| text.strip_suffix('Z')) {
        Some(text) => Value::String(format!("{text}.{:03}Z", ms.rem_euclid(1000))),
        None => Value::Null,
    }
}

async fn get_profile<S: SessionStore>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    BearerToken(token): BearerToken,
) -> Result<Json<Value>, ApiError> {
    let session = active_session(&state, &token).await?;
    let user = state
        .accounts
        .users
        .get(&session.uid)
        .await
        .map_err(AccountError::Database)?
        .ok_or(AccountError::UnknownUser)?;
    Ok(Json(profile_json(
        &user,
        &MediaBase::new(&state.accounts, &headers),
    )))
}

/// Body of `PUT /user/profile`. A JSON value rather than a string, so a number or a null is
/// an `INVALID_NICKNAME` with a clear message rather than a generic JSON error.
#[derive(Deserialize)]
struct ProfileUpdate {
    nickname: Option<Value>,
}

async fn put_profile<S: SessionStore>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    BearerToken(token): BearerToken,
    JsonBody(update): JsonBody<ProfileUpdate>,
) -> Result<Json<Value>, ApiError> {
    let session = active_session(&state, &token).await?;
    let nickname = match update.nickname {
        Some(Value::String(text)) => valid_nickname(&text)?.to_owned(),
        Some(_) => return Err(AccountError::InvalidNickname("'nickname' must be a string").into()),
        None => return Err(AccountError::InvalidNickname("field 'nickname' is missing").into()),
    };
    let user = state
        .accounts
        .users
        .set_nickname(&session.uid, &nickname)
        .await
        .map_err(AccountError::Database)?
        .ok_or(AccountError::UnknownUser)?;
    Ok(Json(profile_json(
        &user,
        &MediaBase::new(&state.accounts, &headers),
    )))
}

/// The nickname to store: `text` trimmed, 1–32 characters, none of them a control character, a
/// line or paragraph separator, or an invisible format character (bidirectional overrides,
/// zero-width spaces, BOM…) that could make one name look like another.
pub fn valid_nickname(text: &str) -> Result<&str, AccountError> {
    let nickname = text.trim();
    let length = nickname.chars().count();
    if length == 0 {
        return Err(AccountError::InvalidNickname("nickname is empty"));
    }
    if length > MAX_NICKNAME_CHARS {
        return Err(AccountError::InvalidNickname(
            "nickname is longer than 32 characters",
        ));
    }
    if nickname
        .chars()
        .any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') || is_format_char(c))
    {
        return Err(AccountError::InvalidNickname(
            "nickname contains a control or invisible formatting character",
        ));
    }
    Ok(nickname)
}

/// Unicode general category Cf (format), written out because std has no category lookup —
/// except the joiners U+200C/U+200D and the tag characters U+E0020–E007F, which emoji sequences
/// (👨‍👩‍👧, subdivision flags) and Persian and Indic names need.
fn is_format_char(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B
            | 0x200E..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nickname_bounds() {
        assert_eq!(valid_nickname("  小明 🐼 ").unwrap(), "小明 🐼");
        assert_eq!(valid_nickname(&"名".repeat(32)).unwrap(), "名".repeat(32));
        assert!(valid_nickname("👨\u{200D}👩\u{200D}👧").is_ok());
        for bad in [
            String::new(),
            "   ".into(),
            "名".repeat(33),
            "a\nb".into(),
            "a\tb".into(),
            "evil\u{202E}gnp.exe".into(),
            "zero\u{200B}width".into(),
            "\u{FEFF}bom".into(),
            "line\u{2028}sep".into(),
        ] {
            assert!(
                matches!(valid_nickname(&bad), Err(AccountError::InvalidNickname(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn phones_are_masked() {
        assert_eq!(mask_phone("13800001234"), "138****1234");
        assert_eq!(mask_phone("+12025550123"), "+12****0123");
        assert_eq!(mask_phone("12345"), "****45");
    }

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), json!("1970-01-01T00:00:00.000Z"));
        assert_eq!(
            rfc3339(1_700_000_000_123),
            json!("2023-11-14T22:13:20.123Z")
        );
        assert_eq!(
            rfc3339(1_700_000_000_100),
            json!("2023-11-14T22:13:20.100Z")
        );
        // Fixed width: the texts sort as the times do.
        assert!(rfc3339(1_700_000_000_100).as_str() < rfc3339(1_700_000_000_120).as_str());
        assert!(rfc3339(1_700_000_000_000).as_str() < rfc3339(1_700_000_000_001).as_str());
    }

    #[test]
    fn hosts_that_could_change_the_url_are_refused() {
        assert!(is_plausible_host("127.0.0.1:8787"));
        assert!(is_plausible_host("[::1]:8787"));
        assert!(is_plausible_host("api.example.com"));
        for bad in ["", "a/b", "evil.com@x", "a b", "x?y"] {
            assert!(!is_plausible_host(bad), "{bad:?}");
        }
    }
}
