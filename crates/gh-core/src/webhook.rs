//! Webhook signature verification (`X-Hub-Signature-256`, HMAC-SHA256, constant time), and
//! the small vocabulary workflow crates use to offer their webhook routes to a server
//! ([`RouteSpec`], [`Handled`]).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Why a signature was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `X-Hub-Signature-256` header.
    #[error("missing X-Hub-Signature-256 header")]
    Missing,
    /// Not `sha256=<64 hex>` (e.g. a `sha1=` signature).
    #[error("malformed X-Hub-Signature-256 header (expected sha256=<64 hex digits>)")]
    Malformed,
    /// The HMAC does not match.
    #[error("webhook signature does not match")]
    Mismatch,
    /// The configured secret is empty.
    #[error("webhook secret is empty")]
    EmptySecret,
}

/// A webhook route a workflow offers: the event it handles and the App installation
/// permissions its token needs (a server narrows each delivery's token to these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteSpec {
    /// The `X-GitHub-Event` name.
    pub event: &'static str,
    /// `(permission, level)` pairs, e.g. `("contents", "write")`.
    pub permissions: &'static [(&'static str, &'static str)],
}

/// What a workflow made of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// It acted, or found nothing to do: a one-line summary for the log.
    Done(String),
    /// Policy refused it (not authorised, not mergeable, ...): an answer, not a failure, so
    /// a server neither retries it nor asks GitHub to redeliver it.
    Refused(String),
}

impl Handled {
    /// [`Handled::Done`] with an outcome serialised as one line of JSON (stable field names,
    /// never a `Debug` string).
    pub fn done<T: serde::Serialize>(outcome: &T) -> Self {
        Handled::Done(serde_json::to_string(outcome).unwrap_or_default())
    }
}

/// Computes `sha256=<hex>` for a body, as GitHub does.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Verifies a delivery's `X-Hub-Signature-256` header against the exact body bytes.
/// The comparison is constant-time (`hmac`'s `verify_slice`).
pub fn verify(secret: &[u8], body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
    if secret.is_empty() {
        return Err(SignatureError::EmptySecret);
    }
    let header = header.ok_or(SignatureError::Missing)?;
    let hex_sig = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed)?;
    if hex_sig.len() != 64 {
        return Err(SignatureError::Malformed);
    }
    let expected = hex::decode(hex_sig).map_err(|_| SignatureError::Malformed)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"It's a Secret to Everybody";
    const GOOD: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn github_known_answer() {
        assert_eq!(sign(SECRET, b"Hello, World!"), GOOD);
        assert_eq!(verify(SECRET, b"Hello, World!", Some(GOOD)), Ok(()));
    }

    #[test]
    fn rejections() {
        let body = b"Hello, World!";
        assert_eq!(verify(SECRET, body, None), Err(SignatureError::Missing));
        assert_eq!(
            verify(
                SECRET,
                body,
                Some("sha1=0a4d55a8d778e5022fab701977c5d840bbc486d0")
            ),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(SECRET, body, Some("sha256=zz")),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(
                SECRET,
                body,
                Some(&GOOD.replace("sha256=", "sha256=g")[..71])
            ),
            Err(SignatureError::Malformed)
        );
        let mut bad = GOOD.to_owned();
        bad.replace_range(70..71, "0");
        assert_eq!(
            verify(SECRET, body, Some(&bad)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, b"Hello, World?", Some(GOOD)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"", body, Some(GOOD)),
            Err(SignatureError::EmptySecret)
        );
    }
}
