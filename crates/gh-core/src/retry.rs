//! Retry policy: exponential backoff with full jitter, bounded in attempts and total time,
//! rate-limit aware (`Retry-After`, `x-ratelimit-remaining: 0` + `x-ratelimit-reset`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderMap;
use rand::Rng;

/// Whether a request may be sent again after an ambiguous failure (a 5xx or a dropped
/// connection, where GitHub may or may not have applied it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Safe to repeat (GET, PUT, PATCH, DELETE; a POST the caller made idempotent).
    Idempotent,
    /// Not safe: only retried when GitHub certainly did not apply it (429, rate-limit 403).
    NonIdempotent,
}

/// Bounds and timings of retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts, the first included (1 = never retry).
    pub max_attempts: u32,
    /// First backoff; doubles each attempt.
    pub base_delay: Duration,
    /// Cap on one backoff (not on a server-requested wait).
    pub max_delay: Duration,
    /// Cap on the time spent waiting across all retries of one request; a server-requested
    /// wait (rate limit) longer than what is left ends the retries.
    pub max_total: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_total: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The bounds the environment sets, over the defaults: `GHOPS_RETRY_MAX_ATTEMPTS`,
    /// `GHOPS_RETRY_BASE_MS`, `GHOPS_RETRY_MAX_DELAY_MS`, `GHOPS_RETRY_MAX_TOTAL_MS` (whole
    /// numbers; empty counts as unset; 0 attempts counts as 1). `None` when none is set.
    pub fn from_env() -> Result<Option<Self>, crate::Error> {
        Self::from_vars(|k| std::env::var(k).ok())
    }

    /// [`RetryPolicy::from_env`] over any source of variables (tests).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, crate::Error> {
        let get = |k: &str| -> Result<Option<u64>, crate::Error> {
            match var(k).filter(|v| !v.is_empty()) {
                Some(v) => v.parse().map(Some).map_err(|_| crate::Error::InvalidInput {
                    source_name: k.to_owned(),
                    message: format!("{v:?} is not a whole number"),
                }),
                None => Ok(None),
            }
        };
        let (a, b, m, t) = (
            get("GHOPS_RETRY_MAX_ATTEMPTS")?,
            get("GHOPS_RETRY_BASE_MS")?,
            get("GHOPS_RETRY_MAX_DELAY_MS")?,
            get("GHOPS_RETRY_MAX_TOTAL_MS")?,
        );
        if a.is_none() && b.is_none() && m.is_none() && t.is_none() {
            return Ok(None);
        }
        let d = Self::default();
        let ms = Duration::from_millis;
        Ok(Some(Self {
            max_attempts: a
                .map(|v| v.clamp(1, u64::from(u32::MAX)) as u32)
                .unwrap_or(d.max_attempts),
            base_delay: b.map(ms).unwrap_or(d.base_delay),
            max_delay: m.map(ms).unwrap_or(d.max_delay),
            max_total: t.map(ms).unwrap_or(d.max_total),
        }))
    }

    /// A fast policy for tests: same logic, millisecond delays.
    pub fn fast() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
            max_total: Duration::from_secs(10),
        }
    }

    /// Backoff before retry number `attempt` (1-based): full jitter over
    /// `min(max_delay, base * 2^(attempt-1))`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << (attempt.saturating_sub(1)).min(16));
        let cap = exp.min(self.max_delay);
        let ms = cap.as_millis() as u64;
        if ms == 0 {
            return Duration::ZERO;
        }
        // Full jitter, but never below half the cap, so retries keep spreading out.
        Duration::from_millis(rand::rng().random_range(ms / 2..=ms))
    }
}

/// What to do with a response or failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Done: hand the response to the caller (success or a final error).
    Final,
    /// Retry after backoff (transient failure).
    Backoff,
    /// Retry after the server-requested wait (rate limited; the request was not applied).
    RateLimited(Duration),
}

/// Reads the rate-limit wait a response asks for: `Retry-After` seconds, or the time until
/// `x-ratelimit-reset` when `x-ratelimit-remaining` is 0.
pub fn rate_limit_wait(headers: &HeaderMap) -> Option<Duration> {
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(secs) = h("retry-after").and_then(|v| v.parse::<u64>().ok()) {
        return Some(Duration::from_secs(secs));
    }
    if h("x-ratelimit-remaining") == Some("0") {
        let reset = h("x-ratelimit-reset")?.parse::<u64>().ok()?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        return Some(Duration::from_secs(reset.saturating_sub(now) + 1));
    }
    None
}

/// Classifies an HTTP answer.
pub fn classify(status: u16, headers: &HeaderMap, body: &[u8], idem: Idempotency) -> Verdict {
    let rate_limited_body = || {
        let b = String::from_utf8_lossy(&body[..body.len().min(2048)]).to_ascii_lowercase();
        b.contains("rate limit")
    };
    match status {
        429 => Verdict::RateLimited(rate_limit_wait(headers).unwrap_or(Duration::from_secs(60))),
        403 => match rate_limit_wait(headers) {
            Some(w) => Verdict::RateLimited(w),
            // Secondary rate limit without a header: GitHub says wait at least a minute.
            None if rate_limited_body() => Verdict::RateLimited(Duration::from_secs(60)),
            None => Verdict::Final,
        },
        500 | 502 | 503 | 504 if idem == Idempotency::Idempotent => Verdict::Backoff,
        _ => Verdict::Final,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_sets_retry_bounds_over_the_defaults() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(RetryPolicy::from_vars(vars(&[])).unwrap(), None);
        assert_eq!(
            RetryPolicy::from_vars(vars(&[("GHOPS_RETRY_BASE_MS", "")])).unwrap(),
            None
        );
        let p = RetryPolicy::from_vars(vars(&[
            ("GHOPS_RETRY_MAX_ATTEMPTS", "0"),
            ("GHOPS_RETRY_MAX_TOTAL_MS", "250"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(p.max_attempts, 1);
        assert_eq!(p.max_total, Duration::from_millis(250));
        assert_eq!(p.base_delay, RetryPolicy::default().base_delay);
        let e = RetryPolicy::from_vars(vars(&[("GHOPS_RETRY_BASE_MS", "5ms")])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid GHOPS_RETRY_BASE_MS: \"5ms\" is not a whole number"
        );
        assert_eq!(e.exit_code(), crate::ExitCode::Usage);
    }

    fn hm(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn classifies() {
        let none = HeaderMap::new();
        assert_eq!(
            classify(502, &none, b"", Idempotency::Idempotent),
            Verdict::Backoff
        );
        assert_eq!(
            classify(502, &none, b"", Idempotency::NonIdempotent),
            Verdict::Final
        );
        assert_eq!(
            classify(404, &none, b"", Idempotency::Idempotent),
            Verdict::Final
        );
        assert_eq!(
            classify(
                403,
                &none,
                b"{\"message\":\"Resource not accessible\"}",
                Idempotency::Idempotent
            ),
            Verdict::Final
        );
        assert_eq!(
            classify(
                403,
                &hm(&[("retry-after", "3")]),
                b"",
                Idempotency::NonIdempotent
            ),
            Verdict::RateLimited(Duration::from_secs(3))
        );
        assert_eq!(
            classify(
                403,
                &none,
                b"You have exceeded a secondary rate limit",
                Idempotency::NonIdempotent
            ),
            Verdict::RateLimited(Duration::from_secs(60))
        );
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let v = classify(
            403,
            &hm(&[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", &(now + 10).to_string()),
            ]),
            b"",
            Idempotency::Idempotent,
        );
        match v {
            Verdict::RateLimited(d) => {
                assert!(d >= Duration::from_secs(9) && d <= Duration::from_secs(12))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            max_total: Duration::from_secs(10),
        };
        for _ in 0..50 {
            let b1 = p.backoff(1);
            assert!(b1 >= Duration::from_millis(50) && b1 <= Duration::from_millis(100));
            let b3 = p.backoff(3);
            assert!(b3 >= Duration::from_millis(200) && b3 <= Duration::from_millis(400));
            assert!(p.backoff(30) <= Duration::from_millis(1000));
        }
    }
}
