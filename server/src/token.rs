//! Session tokens and the other random identifiers the server hands out.
//!
//! A token is 256 bits from the operating system's random source, written as 64 lowercase hex
//! digits. It carries no meaning of its own: everything it stands for lives in the session store,
//! so revoking a token is deleting a record, and a leaked store dump of token *digests* (see
//! [`Token::digest`]) cannot be replayed.

use std::fmt;

use sha2::{Digest, Sha256};

/// How many random bytes make a token (256 bits).
const TOKEN_BYTES: usize = 32;

/// The operating system's random source failed. Nothing sensible can be issued without it, so
/// callers turn this into a 500 rather than falling back to a weaker generator.
#[derive(Debug, thiserror::Error)]
#[error("the operating system's random source failed: {0}")]
pub struct RandomnessError(getrandom::Error);

/// A bearer token as issued by [`Token::generate`] or accepted by [`Token::parse`].
///
/// `Debug` is redacted so a token cannot end up in a log line by accident; the only way to the
/// text is [`Token::as_str`], used when writing the login response.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Token(String);

impl Token {
    /// Draws a fresh token from the OS random source.
    pub fn generate() -> Result<Token, RandomnessError> {
        random_hex(TOKEN_BYTES).map(Token)
    }

    /// Accepts exactly the shape this server issues (64 lowercase hex digits) and nothing else,
    /// so a garbled header is reported as malformed instead of looked up.
    pub fn parse(text: &str) -> Option<Token> {
        let well_formed = text.len() == TOKEN_BYTES * 2
            && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        well_formed.then(|| Token(text.to_owned()))
    }

    /// The token text, for the one place that must send it: the login response.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// SHA-256 of the token in hex. Stores outside the process (Redis) key records by this
    /// digest, so whoever can read the store still cannot present a valid token.
    pub fn digest(&self) -> String {
        hex(&Sha256::digest(self.0.as_bytes()))
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// `bytes` random bytes from the OS, as lowercase hex. Also used for uids and dev login codes.
pub fn random_hex(bytes: usize) -> Result<String, RandomnessError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(RandomnessError)?;
    Ok(hex(&buf))
}

/// Lowercase hex of `bytes`; written out here rather than pulling in a crate for ten lines.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_64_hex_digits_and_parse_back() {
        let token = Token::generate().unwrap();
        assert_eq!(token.as_str().len(), 64);
        assert_eq!(Token::parse(token.as_str()), Some(token.clone()));
        assert_ne!(
            Token::generate().unwrap(),
            token,
            "two draws of 256 bits collided"
        );
    }

    #[test]
    fn parse_rejects_anything_else() {
        for bad in [
            "",
            "abc",
            &"A".repeat(64),
            &"g".repeat(64),
            &"a".repeat(63),
            &"a".repeat(65),
        ] {
            assert_eq!(Token::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn debug_does_not_show_the_token() {
        let token = Token::generate().unwrap();
        assert!(!format!("{token:?}").contains(token.as_str()));
    }

    #[test]
    fn digest_is_sha256_hex() {
        let token = Token::parse(&"0".repeat(64)).unwrap();
        // sha256 of 64 ASCII '0's.
        assert_eq!(token.digest().len(), 64);
        assert_ne!(token.digest(), token.as_str());
        assert_eq!(hex(&[0x00, 0xff, 0x1a]), "00ff1a");
    }
}
