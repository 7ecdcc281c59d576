//! How long the reconcile loop waits before its next pass: the configured interval, stretched
//! to the rate-limit window's reset when the remaining budget runs low, so a long-running loop
//! slows down before GitHub starts refusing it (and refusing the webhook launches with it).

use std::time::Duration;

use gh_core::client::RateLimit;

/// The budget kept for webhook launches and other tools sharing the token: a tenth of the
/// window's limit, at least 50 requests.
pub fn reserve(limit: u64) -> u64 {
    (limit / 10).max(50)
}

/// The wait before the next pass, given the lowest rate-limit figures the clients saw
/// (`now`: Unix seconds). With the remaining budget at or below [`reserve`], the wait runs
/// to the window's reset (plus a second), and at most an hour; otherwise it is `interval`.
pub fn next_wait(interval: Duration, rate: Option<RateLimit>, now: u64) -> Duration {
    match rate {
        Some(r) if r.limit > 0 && r.remaining <= reserve(r.limit) => {
            let until_reset = Duration::from_secs(r.reset.saturating_sub(now) + 1);
            until_reset.min(Duration::from_secs(3600)).max(interval)
        }
        _ => interval,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(limit: u64, remaining: u64, reset: u64) -> Option<RateLimit> {
        Some(RateLimit {
            limit,
            remaining,
            reset,
        })
    }

    #[test]
    fn slows_down_to_the_reset_only_when_the_budget_is_low() {
        let i = Duration::from_secs(60);
        assert_eq!(next_wait(i, None, 1000), i);
        assert_eq!(next_wait(i, rate(5000, 501, 2000), 1000), i);
        assert_eq!(
            next_wait(i, rate(5000, 500, 2000), 1000),
            Duration::from_secs(1001)
        );
        // A reset that is near never makes the loop faster than its interval.
        assert_eq!(next_wait(i, rate(5000, 10, 1010), 1000), i);
        // A bogus reset far away is capped at an hour.
        assert_eq!(
            next_wait(i, rate(5000, 0, 1_000_000), 1000),
            Duration::from_secs(3600)
        );
        // Small windows keep at least 50 requests.
        assert_eq!(
            next_wait(i, rate(60, 50, 1100), 1000),
            Duration::from_secs(101)
        );
    }
}
