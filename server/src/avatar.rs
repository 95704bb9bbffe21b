//! Avatars: `POST /user/avatar` (what `wx.uploadFile` sends after `chooseAvatar`) and
//! `GET /media/avatars/<file>`.
//!
//! The image type is decided by the file's first bytes (the `infer` crate), never by its name or
//! the part's declared type: only PNG, JPEG, WebP and GIF pass. Files are stored under
//! `<data dir>/avatars/` named by the SHA-256 of their content, so a name never changes meaning
//! — which is what lets them be served with a one-year immutable cache header — and two users
//! with the same picture share one file. Files are never deleted (a replaced avatar may still be
//! another user's); see the README.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::accounts::AccountError;
use crate::error::ApiError;
use crate::extract::BearerToken;
use crate::profile::{profile_json, MediaBase};
use crate::routes::{active_session, AppState};
use crate::store::SessionStore;

/// The multipart field `wx.uploadFile({name: 'file'})` puts the image in.
pub const FILE_FIELD: &str = "file";

/// Where avatar files are served from; the stored name follows.
pub const MEDIA_PATH: &str = "/media/avatars/";

/// Room for the multipart framing (boundaries, part headers, small extra form fields) on top of
/// the image itself, in the route's body limit.
pub const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// An accepted image type: its file extension and `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    /// PNG.
    Png,
    /// JPEG.
    Jpeg,
    /// WebP.
    Webp,
    /// GIF.
    Gif,
}

impl ImageKind {
    /// The type of `bytes` by their magic numbers, if it is one of the four.
    pub fn sniff(bytes: &[u8]) -> Option<ImageKind> {
        match infer::get(bytes)?.mime_type() {
            "image/png" => Some(ImageKind::Png),
            "image/jpeg" => Some(ImageKind::Jpeg),
            "image/webp" => Some(ImageKind::Webp),
            "image/gif" => Some(ImageKind::Gif),
            _ => None,
        }
    }

    /// The stored file's extension.
    pub fn extension(self) -> &'static str {
        match self {
            ImageKind::Png => "png",
            ImageKind::Jpeg => "jpg",
            ImageKind::Webp => "webp",
            ImageKind::Gif => "gif",
        }
    }

    /// The kind a stored file's extension stands for.
    fn from_extension(extension: &str) -> Option<ImageKind> {
        [
            ImageKind::Png,
            ImageKind::Jpeg,
            ImageKind::Webp,
            ImageKind::Gif,
        ]
        .into_iter()
        .find(|kind| kind.extension() == extension)
    }

    /// `Content-Type` to serve it with.
    pub fn mime_type(self) -> &'static str {
        match self {
            ImageKind::Png => "image/png",
            ImageKind::Jpeg => "image/jpeg",
            ImageKind::Webp => "image/webp",
            ImageKind::Gif => "image/gif",
        }
    }
}

/// The avatar directory could not be created at start.
#[derive(Debug)]
pub struct AvatarDirError {
    /// The directory.
    pub path: PathBuf,
    /// Why.
    pub source: std::io::Error,
}

/// `<data dir>/avatars/`.
#[derive(Debug)]
pub struct AvatarStore {
    dir: PathBuf,
}

impl AvatarStore {
    /// Creates the directory if missing.
    pub fn open(data_dir: &Path) -> Result<AvatarStore, AvatarDirError> {
        let dir = data_dir.join("avatars");
        std::fs::create_dir_all(&dir).map_err(|source| AvatarDirError {
            path: dir.clone(),
            source,
        })?;
        Ok(AvatarStore { dir })
    }

    /// Stores `bytes` and returns the file name (`<sha256 hex>.<ext>`). Written to a temporary
    /// file and renamed, so a reader never sees half a file.
    pub async fn save(&self, bytes: &[u8], kind: ImageKind) -> std::io::Result<String> {
        let digest = Sha256::digest(bytes);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let name = format!("{hex}.{}", kind.extension());
        let path = self.dir.join(&name);
        if tokio::fs::try_exists(&path).await? {
            return Ok(name);
        }
        let random = crate::token::random_hex(8)
            .map_err(|error| std::io::Error::other(error.to_string()))?;
        let temporary = self.dir.join(format!(".{name}.{random}.tmp"));
        tokio::fs::write(&temporary, bytes).await?;
        if let Err(error) = tokio::fs::rename(&temporary, &path).await {
            let _ = tokio::fs::remove_file(&temporary).await;
            return Err(error);
        }
        Ok(name)
    }

    /// The stored file `name` and its type; `None` for a name this store never produces or a
    /// file that is not there.
    pub async fn read(&self, name: &str) -> std::io::Result<Option<(Vec<u8>, ImageKind)>> {
        let Some(kind) = parse_name(name) else {
            return Ok(None);
        };
        match tokio::fs::read(self.dir.join(name)).await {
            Ok(bytes) => Ok(Some((bytes, kind))),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error),
        }
    }
}

/// The kind of a well-formed stored name (64 lowercase hex digits, a dot, a known extension).
/// Anything else — `..`, slashes, other names — is refused before touching the file system.
fn parse_name(name: &str) -> Option<ImageKind> {
    let (hex, extension) = name.split_once('.')?;
    let well_formed =
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    well_formed
        .then(|| ImageKind::from_extension(extension))
        .flatten()
}

/// `POST /user/avatar`: the session first (no body is read for a caller without one), then the
/// `file` field, bounded while it streams in.
pub(crate) async fn upload<S: SessionStore>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    BearerToken(token): BearerToken,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<Value>, ApiError> {
    let session = active_session(&state, &token).await?;
    let accounts = &state.accounts;
    let mut multipart = multipart.map_err(|_| AccountError::NotMultipart)?;
    let bytes = read_file_field(&mut multipart, accounts.avatar_max_bytes).await?;
    let kind = ImageKind::sniff(&bytes).ok_or(AccountError::UnsupportedImage)?;
    let name = accounts
        .avatars
        .save(&bytes, kind)
        .await
        .map_err(AccountError::Media)?;
    let user = accounts
        .users
        .set_avatar(&session.uid, &name)
        .await
        .map_err(AccountError::Database)?
        .ok_or(AccountError::UnknownUser)?;
    Ok(Json(profile_json(
        &user,
        &MediaBase::new(accounts, &headers),
    )))
}

/// The content of the first `file` field, at most `limit` bytes; other fields are skipped.
async fn read_file_field(multipart: &mut Multipart, limit: usize) -> Result<Vec<u8>, AccountError> {
    let too_large = AccountError::AvatarTooLarge { limit };
    // A body over the route's limit surfaces as a multipart error with status 413.
    let failed = |error: axum::extract::multipart::MultipartError| {
        if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AccountError::AvatarTooLarge { limit }
        } else {
            AccountError::BadUpload(format!("invalid multipart body: {}", error.body_text()))
        }
    };
    while let Some(mut field) = multipart.next_field().await.map_err(failed)? {
        if field.name() != Some(FILE_FIELD) {
            continue;
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(failed)? {
            if bytes.len() + chunk.len() > limit {
                return Err(too_large);
            }
            bytes.extend_from_slice(&chunk);
        }
        return Ok(bytes);
    }
    Err(AccountError::BadUpload(format!(
        "multipart body has no field named '{FILE_FIELD}'"
    )))
}

/// `GET /media/avatars/<file>`: public (an `<image>` sends no token), immutable by construction.
pub(crate) async fn serve<S: SessionStore>(
    State(state): State<AppState<S>>,
    UrlPath(name): UrlPath<String>,
) -> Result<Response, ApiError> {
    let (bytes, kind) = state
        .accounts
        .avatars
        .read(&name)
        .await
        .map_err(AccountError::Media)?
        .ok_or(ApiError::NotFound)?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(kind.mime_type()),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        Body::from(bytes),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_before_the_file_system() {
        let hex = "a".repeat(64);
        assert_eq!(parse_name(&format!("{hex}.png")), Some(ImageKind::Png));
        assert_eq!(parse_name(&format!("{hex}.jpg")), Some(ImageKind::Jpeg));
        for bad in [
            format!("{hex}.svg"),
            format!("{}.png", "A".repeat(64)),
            "../users.db".to_owned(),
            format!("{hex}.png.tmp"),
            format!(".{hex}.png"),
            String::new(),
        ] {
            assert_eq!(parse_name(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn sniffs_by_magic_bytes() {
        assert_eq!(
            ImageKind::sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some(ImageKind::Png)
        );
        assert_eq!(
            ImageKind::sniff(b"\xff\xd8\xff\xe0\0\x10JFIF"),
            Some(ImageKind::Jpeg)
        );
        assert_eq!(
            ImageKind::sniff(b"GIF89a\x01\0\x01\0"),
            Some(ImageKind::Gif)
        );
        assert_eq!(
            ImageKind::sniff(b"RIFF\x1a\0\0\0WEBPVP8 "),
            Some(ImageKind::Webp)
        );
        assert_eq!(
            ImageKind::sniff(b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
            None
        );
        assert_eq!(ImageKind::sniff(b""), None);
    }
}
