//! What happens to WeChat's `session_key`: by default nothing reads it, so it is not stored at
//! all. A deployment that will decrypt user data later configures a 256-bit key
//! (`WX_SESSION_KEY_ENCRYPTION_KEY`, 64 hex digits), and the `session_key` is then stored
//! encrypted with XChaCha20-Poly1305 (RustCrypto's `chacha20poly1305`), a random 192-bit nonce
//! per login, and the openid as associated data, so a stored value cannot be moved to another
//! user's record.
//!
//! Stored form: `xc1:` + hex(nonce ‖ ciphertext ‖ tag).

use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

use crate::login::SessionKey;
use crate::token::RandomnessError;

/// Prefix of a sealed value, naming the format so it can change later.
const SEALED_PREFIX: &str = "xc1:";
/// XChaCha20's nonce length.
const NONCE_BYTES: usize = 24;

/// The 256-bit key that encrypts `session_key` at rest. `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct SealingKey([u8; 32]);

impl SealingKey {
    /// Parses 64 hex digits. The error never repeats the input.
    pub fn from_hex(text: &str) -> Result<SealingKey, SealingError> {
        let bytes = decode_hex(text.trim()).ok_or(SealingError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| SealingError::BadKey)?;
        Ok(SealingKey(key))
    }
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealingKey(<redacted>)")
    }
}

/// Why a key or a sealed value could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SealingError {
    /// The configured key is not 64 hex digits.
    #[error("the session_key encryption key must be 64 hex digits (32 bytes)")]
    BadKey,
    /// No randomness for the nonce.
    #[error(transparent)]
    Randomness(#[from] RandomnessError),
    /// Encryption failed (only on absurd lengths) or a stored value does not open with this
    /// key and openid.
    #[error("the stored session_key could not be encrypted or decrypted")]
    Crypto,
}

/// The policy in force: discard, or seal with a key.
#[derive(Clone)]
pub struct SessionKeyPolicy(Option<XChaCha20Poly1305>);

impl fmt::Debug for SessionKeyPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "SessionKeyPolicy(encrypted)"
        } else {
            "SessionKeyPolicy(not stored)"
        })
    }
}

impl SessionKeyPolicy {
    /// Seals with `key`, or discards when there is none.
    pub fn new(key: Option<&SealingKey>) -> SessionKeyPolicy {
        SessionKeyPolicy(key.map(|key| XChaCha20Poly1305::new(Key::from_slice(&key.0))))
    }

    /// Whether `session_key` is stored at all.
    pub fn stores(&self) -> bool {
        self.0.is_some()
    }

    /// What to store for `openid`'s fresh `session_key`: `None` when it is not stored.
    pub fn seal(
        &self,
        openid: &str,
        session_key: &SessionKey,
    ) -> Result<Option<SessionKey>, SealingError> {
        let Some(cipher) = &self.0 else {
            return Ok(None);
        };
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).map_err(|_| SealingError::Crypto)?;
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: session_key.expose().as_bytes(),
                    aad: openid.as_bytes(),
                },
            )
            .map_err(|_| SealingError::Crypto)?;
        let mut text = String::from(SEALED_PREFIX);
        text.push_str(&encode_hex(&nonce));
        text.push_str(&encode_hex(&sealed));
        Ok(Some(SessionKey::new(text)))
    }

    /// The `session_key` behind a stored value for `openid`: `None` when nothing was stored
    /// (or the policy is "not stored").
    pub fn open(
        &self,
        openid: &str,
        stored: &SessionKey,
    ) -> Result<Option<SessionKey>, SealingError> {
        let (Some(cipher), Some(hex)) = (&self.0, stored.expose().strip_prefix(SEALED_PREFIX))
        else {
            return Ok(None);
        };
        let bytes = decode_hex(hex).ok_or(SealingError::Crypto)?;
        if bytes.len() <= NONCE_BYTES {
            return Err(SealingError::Crypto);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let plain = cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: openid.as_bytes(),
                },
            )
            .map_err(|_| SealingError::Crypto)?;
        String::from_utf8(plain)
            .map(|text| Some(SessionKey::new(text)))
            .map_err(|_| SealingError::Crypto)
    }
}

fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn not_stored_without_a_key() {
        let policy = SessionKeyPolicy::new(None);
        assert!(!policy.stores());
        assert!(policy.seal("o1", &SessionKey::new("sk")).unwrap().is_none());
    }

    #[test]
    fn sealed_keys_open_only_for_their_openid() {
        let key = SealingKey::from_hex(KEY).unwrap();
        let policy = SessionKeyPolicy::new(Some(&key));
        let sealed = policy
            .seal("o1", &SessionKey::new("tiihtNczf5v6AKRyjwEUhQ=="))
            .unwrap()
            .unwrap();
        assert!(sealed.expose().starts_with(SEALED_PREFIX));
        assert!(!sealed.expose().contains("tiihtNczf5v6AKRyjwEUhQ=="));
        let opened = policy.open("o1", &sealed).unwrap().unwrap();
        assert_eq!(opened.expose(), "tiihtNczf5v6AKRyjwEUhQ==");
        assert!(policy.open("o2", &sealed).is_err());
        // Two seals of the same key differ (fresh nonce).
        let again = policy
            .seal("o1", &SessionKey::new("tiihtNczf5v6AKRyjwEUhQ=="))
            .unwrap()
            .unwrap();
        assert_ne!(again, sealed);
        let other = SessionKeyPolicy::new(Some(&SealingKey::from_hex(&"ab".repeat(32)).unwrap()));
        assert!(other.open("o1", &sealed).is_err());
    }

    #[test]
    fn bad_keys_are_refused_without_echo() {
        for bad in ["", "abc", &"zz".repeat(32), &"ab".repeat(31)] {
            let error = SealingKey::from_hex(bad).unwrap_err();
            assert!(bad.is_empty() || !error.to_string().contains(bad));
        }
        assert!(!format!("{:?}", SealingKey::from_hex(KEY).unwrap()).contains("0001"));
    }
}
