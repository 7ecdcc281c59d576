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

    /// Backoff before retry number `attempt` (1-based): jitter over
    /// `min(max_delay, base * 2^(attempt-1))` (the [`Backoff`] of [`RetryPolicy::schedule`]).
    pub fn backoff(&self, attempt: u32) -> Duration {
        self.schedule().delay(attempt)
    }

    /// The schedule of the waits between retries: doubling from `base_delay`, capped at
    /// `max_delay`, jittered, at most `max_attempts - 1` waits.
    pub fn schedule(&self) -> Backoff {
        Backoff::exponential(self.base_delay, 2)
            .capped(self.max_delay)
            .jittered()
            .at_most(self.max_attempts.saturating_sub(1))
    }
}

/// How a [`Backoff`]'s delay grows from one wait to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Growth {
    /// Every wait is `initial` (a fixed poll interval).
    Fixed,
    /// Wait `n` is `n × initial` (2 s, 4 s, 6 s…).
    Linear,
    /// Wait `n` is `initial × factor^(n-1)` (factor 2: 1 s, 2 s, 4 s…).
    Exponential(u32),
}

/// A pure poll/backoff schedule: the delay before each new check (or retry) of a loop.
///
/// Wait `n` (1-based) is `initial` grown by [`Growth`], capped at `max_delay`; with `jitter`
/// it is drawn in `[d/2, d]` (never below half, so waits keep spreading out); `max_waits`
/// bounds the number of waits (`None`: only a deadline ends the loop). A deadline is the
/// caller's: [`Pacer`] (pure, the caller says how long it has been) and [`poll_until`]
/// (async, tokio's clock) clip every wait at it, so a timeout is honoured to the check.
///
/// ```
/// use std::time::Duration;
/// use gh_core::retry::Backoff;
/// let s = |n| Duration::from_secs(n);
/// let b = Backoff::exponential(s(10), 2).capped(s(60));
/// assert_eq!(b.delays().take(5).collect::<Vec<_>>(), [s(10), s(20), s(40), s(60), s(60)]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay.
    pub initial: Duration,
    /// How the delay grows.
    pub growth: Growth,
    /// Cap on one delay.
    pub max_delay: Duration,
    /// Draw each delay in `[d/2, d]`.
    pub jitter: bool,
    /// Bound on the number of waits (`None`: unbounded).
    pub max_waits: Option<u32>,
}

impl Backoff {
    /// Every wait `interval`, unbounded, no jitter.
    pub const fn fixed(interval: Duration) -> Self {
        Self {
            initial: interval,
            growth: Growth::Fixed,
            max_delay: Duration::MAX,
            jitter: false,
            max_waits: None,
        }
    }

    /// Wait `n` is `n × step`.
    pub const fn linear(step: Duration) -> Self {
        Self {
            growth: Growth::Linear,
            ..Self::fixed(step)
        }
    }

    /// Wait `n` is `initial × factor^(n-1)`.
    pub const fn exponential(initial: Duration, factor: u32) -> Self {
        Self {
            growth: Growth::Exponential(factor),
            ..Self::fixed(initial)
        }
    }

    /// With one delay capped at `max`.
    pub const fn capped(self, max: Duration) -> Self {
        Self {
            max_delay: max,
            ..self
        }
    }

    /// With jitter (each delay drawn in `[d/2, d]`).
    pub const fn jittered(self) -> Self {
        Self {
            jitter: true,
            ..self
        }
    }

    /// With at most `waits` waits.
    pub const fn at_most(self, waits: u32) -> Self {
        Self {
            max_waits: Some(waits),
            ..self
        }
    }

    /// Wait `n` (1-based; 0 counts as 1) before jitter: grown and capped.
    pub fn nominal(&self, n: u32) -> Duration {
        let n = n.max(1);
        let grown = match self.growth {
            Growth::Fixed => self.initial,
            Growth::Linear => self.initial.saturating_mul(n),
            Growth::Exponential(f) => self.initial.saturating_mul(f.saturating_pow(n - 1)),
        };
        grown.min(self.max_delay)
    }

    /// Wait `n` (1-based): [`Backoff::nominal`], jittered when asked.
    pub fn delay(&self, n: u32) -> Duration {
        let d = self.nominal(n);
        if !self.jitter || d.is_zero() {
            return d;
        }
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rand::rng().random_range(ns / 2..=ns))
    }

    /// The nominal delays in order, as many as `max_waits` allows.
    pub fn delays(&self) -> impl Iterator<Item = Duration> + '_ {
        (1..=self.max_waits.unwrap_or(u32::MAX)).map(|n| self.nominal(n))
    }
}

/// `delay` clipped at a deadline `elapsed` into the wait: `None` once the deadline is reached
/// (check no more), else the delay or the time left, whichever is shorter.
pub fn clip(delay: Duration, elapsed: Duration, deadline: Duration) -> Option<Duration> {
    deadline
        .checked_sub(elapsed)
        .filter(|left| !left.is_zero())
        .map(|left| delay.min(left))
}

/// A [`Backoff`] under way: counts the waits and clips them at an optional deadline. Pure —
/// the caller says how long it has been polling — so a loop with its own checks (progress
/// lines, distinct errors per bound) keeps them and takes only its pacing from here.
#[derive(Debug, Clone)]
pub struct Pacer {
    backoff: Backoff,
    deadline: Option<Duration>,
    waits: u32,
}

impl Pacer {
    /// Paces `backoff`, never past `deadline` (time since polling started).
    pub fn new(backoff: Backoff, deadline: Option<Duration>) -> Self {
        Self {
            backoff,
            deadline,
            waits: 0,
        }
    }

    /// Moves the deadline (a loop whose bound depends on what it has seen).
    pub fn set_deadline(&mut self, deadline: Option<Duration>) {
        self.deadline = deadline;
    }

    /// Waits handed out so far.
    pub fn waits(&self) -> u32 {
        self.waits
    }

    /// The next wait, `elapsed` into polling: `None` when the waits are used up or the
    /// deadline is reached; else the schedule's next delay, clipped at the deadline.
    pub fn next_wait(&mut self, elapsed: Duration) -> Option<Duration> {
        if self.backoff.max_waits.is_some_and(|m| self.waits >= m) {
            return None;
        }
        let d = self.backoff.delay(self.waits + 1);
        let d = match self.deadline {
            Some(deadline) => clip(d, elapsed, deadline)?,
            None => d,
        };
        self.waits += 1;
        Some(d)
    }
}

/// Calls `check` until it returns `Some`, waiting between calls as `backoff` says and never
/// past `deadline` (from the first call, on tokio's clock): the last check is at the deadline
/// at the latest, so a timeout is honoured within a check's own duration. `Ok(None)` when the
/// deadline or the schedule's waits ran out first; an error of `check` ends the polling.
#[cfg(feature = "client")]
pub async fn poll_until<T, E, F, Fut>(
    deadline: Option<Duration>,
    backoff: Backoff,
    check: F,
) -> Result<Option<T>, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, E>>,
{
    let start = tokio::time::Instant::now();
    poll_on_clock(
        deadline,
        backoff,
        check,
        || start.elapsed(),
        tokio::time::sleep,
    )
    .await
}

/// [`poll_until`] on any clock: `elapsed` says how long it has been polling, `sleep` waits
/// (tests drive it with a fake clock).
#[cfg(feature = "client")]
async fn poll_on_clock<T, E, F, Fut, S, SFut>(
    deadline: Option<Duration>,
    backoff: Backoff,
    mut check: F,
    elapsed: impl Fn() -> Duration,
    mut sleep: S,
) -> Result<Option<T>, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, E>>,
    S: FnMut(Duration) -> SFut,
    SFut: std::future::Future<Output = ()>,
{
    let mut pacer = Pacer::new(backoff, deadline);
    loop {
        if let Some(v) = check().await? {
            return Ok(Some(v));
        }
        match pacer.next_wait(elapsed()) {
            Some(d) => sleep(d).await,
            None => return Ok(None),
        }
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

    #[test]
    fn schedules_of_the_poll_loops() {
        let s = Duration::from_secs;
        let take = |b: Backoff, n| b.delays().take(n).collect::<Vec<_>>();
        // pr-bridge report: doubling from the poll interval up to 60 s.
        assert_eq!(
            take(Backoff::exponential(s(10), 2).capped(s(60)), 6),
            [s(10), s(20), s(40), s(60), s(60), s(60)]
        );
        // pr-bridge trigger mergeability: doubling, 5 attempts = 4 waits.
        assert_eq!(
            take(Backoff::exponential(s(2), 2).at_most(4), 9),
            [s(2), s(4), s(8), s(16)]
        );
        // deploy-agent create on 202: linear.
        assert_eq!(take(Backoff::linear(s(3)), 3), [s(3), s(6), s(9)]);
        // runner-orch on a 403 quota refusal: 2 s, 8 s, 30 s.
        assert_eq!(
            take(Backoff::exponential(s(2), 4).capped(s(30)).at_most(3), 9),
            [s(2), s(8), s(30)]
        );
        assert_eq!(take(Backoff::fixed(s(5)), 2), [s(5), s(5)]);
        assert!(take(Backoff::fixed(s(5)).at_most(0), 2).is_empty());
    }

    #[test]
    fn pacer_clips_at_the_deadline_and_stops_there() {
        let s = Duration::from_secs;
        // `--timeout 5s` with a 10 s poll: one wait of 5 s, then no more.
        let mut p = Pacer::new(Backoff::fixed(s(10)), Some(s(5)));
        assert_eq!(p.next_wait(Duration::ZERO), Some(s(5)));
        assert_eq!(p.next_wait(s(5)), None);
        assert_eq!(p.waits(), 1);
        let mut p = Pacer::new(Backoff::fixed(s(5)), Some(s(7)));
        assert_eq!(p.next_wait(Duration::ZERO), Some(s(5)));
        assert_eq!(p.next_wait(s(5)), Some(s(2)));
        assert_eq!(p.next_wait(s(7)), None);
        let mut p = Pacer::new(Backoff::fixed(s(1)).at_most(2), None);
        assert_eq!(p.next_wait(s(1000)), Some(s(1)));
        assert_eq!(p.next_wait(s(1000)), Some(s(1)));
        assert_eq!(p.next_wait(s(1000)), None);
        assert_eq!(clip(s(3), s(10), s(9)), None);
    }

    #[cfg(feature = "client")]
    #[tokio::test]
    async fn poll_until_stops_at_the_answer_the_waits_or_the_deadline() {
        let calls = std::cell::Cell::new(0u32);
        let ms = Duration::from_millis;
        let r: Result<Option<u32>, ()> = poll_until(None, Backoff::fixed(ms(1)), || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move { Ok((n == 3).then_some(n)) }
        })
        .await;
        assert_eq!((r, calls.get()), (Ok(Some(3)), 3));
        calls.set(0);
        let r: Result<Option<u32>, ()> = poll_until(None, Backoff::fixed(ms(1)).at_most(2), || {
            calls.set(calls.get() + 1);
            async { Ok(None) }
        })
        .await;
        assert_eq!((r, calls.get()), (Ok(None), 3));
        calls.set(0);
        // A deadline already reached: one check, no wait.
        let r: Result<Option<u32>, ()> = poll_until(
            Some(Duration::ZERO),
            Backoff::fixed(Duration::from_secs(3600)),
            || {
                calls.set(calls.get() + 1);
                async { Ok(None) }
            },
        )
        .await;
        assert_eq!((r, calls.get()), (Ok(None), 1));
        let r: Result<Option<u32>, &str> =
            poll_until(None, Backoff::fixed(ms(1)), || async { Err("boom") }).await;
        assert_eq!(r, Err("boom"));
    }

    /// A fake clock: checks cost `check` each, sleeps advance it; returns the times each
    /// check started and the sleeps.
    #[cfg(feature = "client")]
    fn on_fake_clock(
        deadline: Duration,
        backoff: Backoff,
        check: Duration,
        ready_at: Option<Duration>,
    ) -> (Option<Duration>, Vec<Duration>, Vec<Duration>) {
        use std::cell::{Cell, RefCell};
        let now = Cell::new(Duration::ZERO);
        let checks = RefCell::new(Vec::new());
        let sleeps = RefCell::new(Vec::new());
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let r: Result<Option<Duration>, ()> = rt.block_on(poll_on_clock(
            Some(deadline),
            backoff,
            || {
                let t = now.get();
                checks.borrow_mut().push(t);
                now.set(t + check);
                std::future::ready(Ok(ready_at.filter(|r| t >= *r).map(|_| t)))
            },
            || now.get(),
            |d| {
                sleeps.borrow_mut().push(d);
                now.set(now.get() + d);
                std::future::ready(())
            },
        ));
        (r.unwrap(), checks.into_inner(), sleeps.into_inner())
    }

    #[cfg(feature = "client")]
    #[test]
    fn poll_until_never_sleeps_past_the_deadline() {
        let s = Duration::from_secs;
        // `--timeout 5s`, 10 s poll: one check, a 5 s wait, the last check at 5 s.
        let (r, checks, sleeps) = on_fake_clock(s(5), Backoff::fixed(s(10)), Duration::ZERO, None);
        assert_eq!((r, checks, sleeps), (None, vec![s(0), s(5)], vec![s(5)]));
        // Doubling to 60 s in a 2-minute wait: checks at 0, 10, 30, 70, 120 s.
        let b = Backoff::exponential(s(10), 2).capped(s(60));
        let (r, checks, sleeps) = on_fake_clock(s(120), b, Duration::ZERO, None);
        assert_eq!(r, None);
        assert_eq!(checks, [s(0), s(10), s(30), s(70), s(120)]);
        assert_eq!(sleeps, [s(10), s(20), s(40), s(50)]);
        // The answer ends the polling at once.
        let (r, checks, _) = on_fake_clock(s(120), b, Duration::ZERO, Some(s(25)));
        assert_eq!((r, checks.len()), (Some(s(30)), 3));
    }

    proptest::proptest! {
        #[test]
        fn paced_waits_respect_the_cap_the_count_and_the_deadline(
            initial_ms in 0u64..5_000,
            growth in 0u8..3,
            factor in 1u32..5,
            cap_ms in 1u64..120_000,
            jitter: bool,
            max_waits in proptest::option::of(0u32..20),
            deadline_ms in proptest::option::of(0u64..600_000),
            check_ms in 0u64..3_000,
        ) {
            let ms = Duration::from_millis;
            let mut b = Backoff::exponential(ms(initial_ms), factor).capped(ms(cap_ms));
            b.growth = [Growth::Fixed, Growth::Linear, Growth::Exponential(factor)][growth as usize];
            b.jitter = jitter;
            b.max_waits = max_waits;
            for n in 1..30 {
                proptest::prop_assert!(b.delay(n) <= ms(cap_ms));
                proptest::prop_assert!(b.nominal(n) <= b.nominal(n + 1));
            }
            let mut p = Pacer::new(b, deadline_ms.map(ms));
            // Simulate the loop: each check takes `check_ms`, then the pacer's wait.
            let mut elapsed = ms(check_ms);
            let mut waits = 0u32;
            while let Some(w) = p.next_wait(elapsed) {
                proptest::prop_assert!(w <= ms(cap_ms));
                waits += 1;
                elapsed += w;
                if let Some(d) = deadline_ms {
                    // The wait is clipped: the next check starts at the deadline at the latest.
                    proptest::prop_assert!(elapsed <= ms(d));
                }
                elapsed += ms(check_ms);
                if waits > 2_000 { break; }
            }
            if let Some(m) = max_waits {
                proptest::prop_assert!(waits <= m);
            }
            #[cfg(feature = "client")]
            // (Bounded in steps: a zero delay with a zero-cost check would never reach it.)
            if let Some(d) = deadline_ms.filter(|d| b.nominal(1) + ms(check_ms) >= ms(d / 1_000 + 1)) {
                // The async loop on a fake clock: no check starts after the deadline, and
                // without a count bound polling ends only once it is reached.
                let (_, checks, _) = on_fake_clock(ms(d), b, ms(check_ms), None);
                let last = *checks.last().unwrap();
                if checks.len() > 1 {
                    proptest::prop_assert!(last <= ms(d), "{checks:?}");
                }
                if max_waits.is_none() && !b.nominal(1).is_zero() {
                    proptest::prop_assert!(last + ms(check_ms) >= ms(d), "{checks:?}");
                }
            }
            if let (Some(d), None) = (deadline_ms, max_waits) {
                // Without a count bound the loop ends only at the deadline.
                if waits <= 2_000 {
                    proptest::prop_assert!(elapsed >= ms(d));
                }
            }
        }
    }
}
