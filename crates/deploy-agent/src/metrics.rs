//! The running agent's metrics and health ([`AgentMetrics`], a [`Probe`]): what
//! `ghops agent run --metrics-bind` serves on `/metrics`, `/healthz` and `/readyz`.
//!
//! - ready once every target has completed a successful pass;
//! - alive while every target makes progress: a pass started or ended, or a deployment
//!   started, within its stall budget (the poll interval plus one deployment's worst case:
//!   three hooks, each up to its timeout and the kill grace, plus five minutes of API time).
//!   A queue of deployments in one pass is progress at each deployment, so a long queue is
//!   never mistaken for a stall.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gh_core::metrics::Probe;
use gh_core::prometheus::{Kind, Text};

use crate::agent::PassReport;

/// API time allowed on top of the hooks in the stall budget.
const API_SLACK: Duration = Duration::from_secs(5 * 60);

/// The stall budget of a target: `interval` plus one deployment's worst case (three hooks,
/// each up to `hook_timeout` and `grace`, plus API time).
pub fn stall_budget(interval: Duration, hook_timeout: Duration, grace: Duration) -> Duration {
    interval + (hook_timeout + grace) * 3 + API_SLACK
}

/// One target's figures.
#[derive(Debug)]
pub struct TargetMetrics {
    repo: String,
    environment: String,
    stall: Duration,
    epoch: Instant,
    /// Milliseconds since `epoch` of the last progress.
    progress_ms: AtomicU64,
    passes_ok: AtomicU64,
    passes_failed: AtomicU64,
    /// Unix seconds of the last successful pass; 0 before the first.
    last_success: AtomicU64,
    deployments: Mutex<BTreeMap<String, u64>>,
}

impl TargetMetrics {
    /// A target's figures, alive for `stall` from now.
    pub fn new(repo: &str, environment: &str, stall: Duration) -> Self {
        TargetMetrics {
            repo: repo.to_owned(),
            environment: environment.to_owned(),
            stall,
            epoch: Instant::now(),
            progress_ms: AtomicU64::new(0),
            passes_ok: AtomicU64::new(0),
            passes_failed: AtomicU64::new(0),
            last_success: AtomicU64::new(0),
            deployments: Mutex::new(BTreeMap::new()),
        }
    }

    /// The loop made progress (a pass or a deployment started).
    pub fn touch(&self) {
        let ms = self.epoch.elapsed().as_millis() as u64;
        self.progress_ms.store(ms, Ordering::Relaxed);
    }

    /// A pass completed: counts it and its deployments by outcome (each run's final state,
    /// `superseded`, `recovered`).
    pub fn pass_ok(&self, r: &PassReport) {
        self.touch();
        self.passes_ok.fetch_add(1, Ordering::Relaxed);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.last_success.store(now.max(1), Ordering::Relaxed);
        let mut d = self.deployments.lock().expect("lock");
        let mut add = |outcome: &str| *d.entry(outcome.to_owned()).or_default() += 1;
        r.ran.iter().for_each(|(_, state)| add(state));
        r.superseded.iter().for_each(|_| add("superseded"));
        r.recovered.iter().for_each(|_| add("recovered"));
    }

    /// A pass failed (retried at the next one).
    pub fn pass_failed(&self) {
        self.touch();
        self.passes_failed.fetch_add(1, Ordering::Relaxed);
    }

    /// Completed passes, (successful, failed).
    pub fn passes(&self) -> (u64, u64) {
        (
            self.passes_ok.load(Ordering::Relaxed),
            self.passes_failed.load(Ordering::Relaxed),
        )
    }

    fn stalled_for(&self) -> Duration {
        let last = Duration::from_millis(self.progress_ms.load(Ordering::Relaxed));
        self.epoch.elapsed().saturating_sub(last)
    }

    fn alive(&self) -> bool {
        self.stalled_for() < self.stall
    }
}

/// The agent's metrics: one [`TargetMetrics`] per target, in the order of the targets.
#[derive(Debug, Default)]
pub struct AgentMetrics {
    targets: Vec<std::sync::Arc<TargetMetrics>>,
}

impl AgentMetrics {
    /// Over these targets' figures.
    pub fn new(targets: Vec<std::sync::Arc<TargetMetrics>>) -> Self {
        AgentMetrics { targets }
    }

    /// Each target's figures.
    pub fn targets(&self) -> &[std::sync::Arc<TargetMetrics>] {
        &self.targets
    }
}

impl Probe for AgentMetrics {
    fn metrics(&self) -> String {
        let mut out = Text::new();
        const PASSES: &str = "ghops_agent_passes_total";
        out.family(
            PASSES,
            Kind::Counter,
            "Completed agent passes by target and outcome.",
        );
        for t in &self.targets {
            let (ok, failed) = t.passes();
            let l = |o| {
                [
                    ("repo", &*t.repo),
                    ("environment", &*t.environment),
                    ("outcome", o),
                ]
            };
            out.sample(PASSES, &l("ok"), ok);
            out.sample(PASSES, &l("failed"), failed);
        }
        const DEPLOYS: &str = "ghops_agent_deployments_total";
        out.family(
            DEPLOYS,
            Kind::Counter,
            "Deployments handled by target and outcome (final state, superseded, recovered).",
        );
        for t in &self.targets {
            for (o, n) in t.deployments.lock().expect("lock").iter() {
                let l = [
                    ("repo", &*t.repo),
                    ("environment", &*t.environment),
                    ("outcome", o),
                ];
                out.sample(DEPLOYS, &l, n);
            }
        }
        const LAST: &str = "ghops_agent_last_successful_pass_timestamp_seconds";
        out.family(
            LAST,
            Kind::Gauge,
            "Unix time of the target's last successful pass.",
        );
        for t in &self.targets {
            let at = t.last_success.load(Ordering::Relaxed);
            if at > 0 {
                out.sample(
                    LAST,
                    &[("repo", &*t.repo), ("environment", &*t.environment)],
                    at,
                );
            }
        }
        const STALLED: &str = "ghops_agent_seconds_since_progress";
        out.family(
            STALLED,
            Kind::Gauge,
            "Seconds since the target's loop last made progress.",
        );
        for t in &self.targets {
            let l = [("repo", &*t.repo), ("environment", &*t.environment)];
            out.sample(STALLED, &l, t.stalled_for().as_secs());
        }
        out.finish()
    }

    fn ready(&self) -> bool {
        self.targets.iter().all(|t| t.passes().0 > 0)
    }

    fn alive(&self) -> bool {
        self.targets.iter().all(|t| t.alive())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn ready_after_every_target_passed_once_and_alive_until_the_budget() {
        let a = Arc::new(TargetMetrics::new("o/r", "prod", Duration::from_secs(60)));
        let b = Arc::new(TargetMetrics::new("o/r", "qa", Duration::ZERO));
        let m = AgentMetrics::new(vec![a.clone(), b.clone()]);
        assert!(!m.ready());
        a.pass_ok(&PassReport::default());
        b.pass_failed();
        assert!(!m.ready(), "b has not passed yet");
        b.pass_ok(&PassReport::default());
        assert!(m.ready());
        assert!(!m.alive(), "b's budget is zero: stalled");
        let m = AgentMetrics::new(vec![a]);
        assert!(m.alive());
    }

    #[test]
    fn renders_passes_deployments_and_last_success() {
        let t = Arc::new(TargetMetrics::new("o/r", "prod", Duration::from_secs(60)));
        let m = AgentMetrics::new(vec![t.clone()]);
        t.pass_failed();
        t.pass_ok(&PassReport {
            ran: vec![
                (1, "success".into()),
                (2, "failure".into()),
                (3, "success".into()),
            ],
            superseded: vec![4],
            recovered: vec![5],
            ..Default::default()
        });
        let text = m.metrics();
        for line in [
            r#"ghops_agent_passes_total{repo="o/r",environment="prod",outcome="ok"} 1"#,
            r#"ghops_agent_passes_total{repo="o/r",environment="prod",outcome="failed"} 1"#,
            r#"ghops_agent_deployments_total{repo="o/r",environment="prod",outcome="failure"} 1"#,
            r#"ghops_agent_deployments_total{repo="o/r",environment="prod",outcome="recovered"} 1"#,
            r#"ghops_agent_deployments_total{repo="o/r",environment="prod",outcome="success"} 2"#,
            r#"ghops_agent_deployments_total{repo="o/r",environment="prod",outcome="superseded"} 1"#,
            r#"ghops_agent_seconds_since_progress{repo="o/r",environment="prod"} 0"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        let last = text
            .lines()
            .find(|l| l.starts_with("ghops_agent_last_successful_pass_timestamp_seconds{"))
            .expect("last success");
        let at: u64 = last.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(at > 1_700_000_000, "{last}");
    }

    #[test]
    fn the_stall_budget_covers_three_hooks_and_the_interval() {
        assert_eq!(
            stall_budget(
                Duration::from_secs(30),
                Duration::from_secs(1800),
                Duration::from_secs(10)
            ),
            Duration::from_secs(30 + 3 * 1810 + 300)
        );
    }
}
