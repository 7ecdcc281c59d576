//! Counters for `/metrics` and `ghops runners status`.

use std::sync::atomic::{AtomicU64, Ordering};

use gh_core::GitHub;

/// Counters for `/metrics` and `ghops runners status`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Runners launched.
    pub launched: AtomicU64,
    /// Launch decisions that found the runner already there.
    pub duplicates: AtomicU64,
    /// Launch failures.
    pub failures: AtomicU64,
    /// Runners reaped (never registered, unused, leftovers).
    pub reaped: AtomicU64,
    /// Queued jobs seen by the last reconcile pass.
    pub queued: AtomicU64,
    /// Jobs left waiting by capacity in the last pass.
    pub waiting: AtomicU64,
    /// Unfinished runners at the last pass.
    pub running: AtomicU64,
    /// Launches in progress right now.
    pub launching: AtomicU64,
    /// Reconcile reads answered `304 Not Modified` (no rate-limit unit spent).
    pub not_modified: AtomicU64,
}

/// What `runners reconcile --watch --metrics-bind` serves: the runner figures on `/metrics`;
/// ready and alive while the process runs (the loop logs and retries its own failures).
impl gh_core::metrics::Probe for Metrics {
    fn metrics(&self) -> String {
        self.render(None)
    }
    fn ready(&self) -> bool {
        true
    }
}

impl Metrics {
    /// Prometheus text exposition (gh-core's renderer); with `gh`, that client's request
    /// count and remaining rate limit too (leave it out where the server reports its own).
    pub fn render(&self, gh: Option<&GitHub>) -> String {
        use gh_core::prometheus::{Kind, Text};
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut t = Text::new();
        for (name, kind, help, v) in [
            (
                "ghops_runners_launched_total",
                Kind::Counter,
                "Runners launched.",
                g(&self.launched),
            ),
            (
                "ghops_runners_duplicate_total",
                Kind::Counter,
                "Launches that found the runner already there.",
                g(&self.duplicates),
            ),
            (
                "ghops_runners_failures_total",
                Kind::Counter,
                "Launch failures.",
                g(&self.failures),
            ),
            (
                "ghops_runners_reaped_total",
                Kind::Counter,
                "Runners removed (never registered, unused, leftovers).",
                g(&self.reaped),
            ),
            (
                "ghops_runners_queued_jobs",
                Kind::Gauge,
                "Queued jobs at the last reconcile pass.",
                g(&self.queued),
            ),
            (
                "ghops_runners_waiting_jobs",
                Kind::Gauge,
                "Queued jobs waiting for capacity.",
                g(&self.waiting),
            ),
            (
                "ghops_runners_not_modified_total",
                Kind::Counter,
                "Reconcile reads answered 304 Not Modified (no rate-limit unit spent).",
                g(&self.not_modified),
            ),
        ] {
            t.single(name, kind, help, v);
        }
        if let Some(gh) = gh {
            t.single(
                "ghops_github_requests_total",
                Kind::Counter,
                "GitHub API requests sent.",
                gh.request_count(),
            );
            if let Some(r) = gh.rate_limit() {
                t.single(
                    "ghops_github_rate_limit_remaining",
                    Kind::Gauge,
                    "GitHub API budget left.",
                    r.remaining,
                );
            }
        }
        t.finish()
    }
}
