//! Prometheus metrics in the text exposition format, kept without a metrics framework: a few
//! counters and a latency histogram behind one mutex.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use gh_core::metrics::Exposition;

/// The label counted for an `X-GitHub-Event` that is neither a GitHub event nor a route.
pub const OTHER: &str = "other";

/// GitHub's webhook event names (sorted): the only `event` labels besides configured routes
/// and [`OTHER`], so that unauthenticated requests cannot grow the metrics.
const KNOWN_EVENTS: [&str; 75] = [
    "branch_protection_configuration",
    "branch_protection_rule",
    "check_run",
    "check_suite",
    "code_scanning_alert",
    "commit_comment",
    "create",
    "custom_property",
    "custom_property_values",
    "delete",
    "dependabot_alert",
    "deploy_key",
    "deployment",
    "deployment_protection_rule",
    "deployment_review",
    "deployment_status",
    "discussion",
    "discussion_comment",
    "fork",
    "github_app_authorization",
    "gollum",
    "installation",
    "installation_repositories",
    "installation_target",
    "issue_comment",
    "issue_dependencies",
    "issues",
    "label",
    "marketplace_purchase",
    "member",
    "membership",
    "merge_group",
    "meta",
    "milestone",
    "org_block",
    "organization",
    "package",
    "page_build",
    "personal_access_token_request",
    "ping",
    "project",
    "project_card",
    "project_column",
    "projects_v2",
    "projects_v2_item",
    "projects_v2_status_update",
    "public",
    "pull_request",
    "pull_request_review",
    "pull_request_review_comment",
    "pull_request_review_thread",
    "push",
    "registry_package",
    "release",
    "repository",
    "repository_advisory",
    "repository_dispatch",
    "repository_import",
    "repository_ruleset",
    "repository_vulnerability_alert",
    "secret_scanning_alert",
    "secret_scanning_alert_location",
    "secret_scanning_scan",
    "security_advisory",
    "security_and_analysis",
    "sponsorship",
    "star",
    "status",
    "sub_issues",
    "team",
    "team_add",
    "watch",
    "workflow_dispatch",
    "workflow_job",
    "workflow_run",
];

/// `event` itself when it is one of GitHub's webhook event names.
pub(crate) fn known_event(event: &str) -> Option<&'static str> {
    KNOWN_EVENTS
        .binary_search(&event)
        .ok()
        .map(|i| KNOWN_EVENTS[i])
}

const BUCKETS: [f64; 10] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 120.0];

#[derive(Default)]
struct Hist {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// The server's metrics.
#[derive(Default)]
pub struct Metrics {
    deliveries: Mutex<BTreeMap<String, BTreeMap<String, u64>>>,
    latency: Mutex<BTreeMap<String, Hist>>,
    queue_depth: AtomicI64,
    api_remaining: AtomicI64,
    api_calls: AtomicI64,
}

impl Metrics {
    /// Counts a delivery of `event` with `outcome` (`accepted`, `duplicate`, `bad_signature`,
    /// `queue_full`, `handled`, `failed`, ...).
    pub fn delivery(&self, event: &str, outcome: &str) {
        let mut g = self.deliveries.lock().expect("lock");
        // No allocation once an (event, outcome) pair has been seen.
        if let Some(n) = g.get_mut(event).and_then(|m| m.get_mut(outcome)) {
            *n += 1;
            return;
        }
        *g.entry(event.to_owned())
            .or_default()
            .entry(outcome.to_owned())
            .or_default() += 1;
    }

    /// The count for (event, outcome).
    pub fn count(&self, event: &str, outcome: &str) -> u64 {
        self.deliveries
            .lock()
            .expect("lock")
            .get(event)
            .and_then(|m| m.get(outcome))
            .copied()
            .unwrap_or(0)
    }

    /// Records a handler's latency.
    pub fn handler_latency(&self, event: &str, d: Duration) {
        let s = d.as_secs_f64();
        let mut g = self.latency.lock().expect("lock");
        if !g.contains_key(event) {
            g.insert(event.to_owned(), Default::default());
        }
        let h = g.get_mut(event).expect("inserted above");
        for (i, b) in BUCKETS.iter().enumerate() {
            if s <= *b {
                h.counts[i] += 1;
            }
        }
        h.sum += s;
        h.count += 1;
    }

    /// Adds to the queue depth gauge.
    pub fn queue_add(&self, n: i64) {
        self.queue_depth.fetch_add(n, Ordering::Relaxed);
    }

    /// Records the GitHub API budget figures after handler work.
    pub fn api(&self, calls: u64, remaining: Option<u64>) {
        self.api_calls.fetch_add(calls as i64, Ordering::Relaxed);
        if let Some(r) = remaining {
            self.api_remaining.store(r as i64, Ordering::Relaxed);
        }
    }

    /// Renders the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = Exposition::default();
        out.family(
            "ghops_webhook_deliveries_total",
            "counter",
            "Webhook deliveries by event and outcome.",
        );
        for (e, m) in self.deliveries.lock().expect("lock").iter() {
            for (o, n) in m {
                out.sample(
                    "ghops_webhook_deliveries_total",
                    &[("event", e), ("outcome", o)],
                    n,
                );
            }
        }
        out.family(
            "ghops_queue_depth",
            "gauge",
            "Deliveries waiting for a worker.",
        );
        out.sample(
            "ghops_queue_depth",
            &[],
            self.queue_depth.load(Ordering::Relaxed),
        );
        out.family(
            "ghops_handler_seconds",
            "histogram",
            "Handler latency by event.",
        );
        for (e, h) in self.latency.lock().expect("lock").iter() {
            for (i, b) in BUCKETS.iter().enumerate() {
                out.sample(
                    "ghops_handler_seconds_bucket",
                    &[("event", e), ("le", &b.to_string())],
                    h.counts[i],
                );
            }
            out.sample(
                "ghops_handler_seconds_bucket",
                &[("event", e), ("le", "+Inf")],
                h.count,
            );
            out.sample("ghops_handler_seconds_sum", &[("event", e)], h.sum);
            out.sample("ghops_handler_seconds_count", &[("event", e)], h.count);
        }
        out.family(
            "ghops_github_api_calls_total",
            "counter",
            "GitHub API requests made by handlers.",
        );
        out.sample(
            "ghops_github_api_calls_total",
            &[],
            self.api_calls.load(Ordering::Relaxed),
        );
        let rem = self.api_remaining.load(Ordering::Relaxed);
        if rem > 0 {
            out.family(
                "ghops_github_rate_limit_remaining",
                "gauge",
                "Last reported core rate-limit budget.",
            );
            out.sample("ghops_github_rate_limit_remaining", &[], rem);
        }
        out.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_events_are_sorted_and_unique() {
        assert!(KNOWN_EVENTS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(known_event("issue_comment"), Some("issue_comment"));
        assert_eq!(known_event("issue_comment "), None);
        assert_eq!(known_event(""), None);
    }
}
