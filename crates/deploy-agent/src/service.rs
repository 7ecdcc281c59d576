//! The long-running agent: one task per target (targets in parallel, strictly one deploy at a
//! time per target), polling every interval, woken early by `deployment` webhooks through an
//! [`AgentHandle`].

use std::sync::Arc;
use std::time::Duration;

use gh_core::GitHub;
use gh_core::events::Event;
use serde::Serialize;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::agent::{AgentOptions, PassReport, Target, TargetState, run_once};
use crate::error::AgentError;
use crate::journal::Journal;
use crate::metrics::{AgentMetrics, TargetMetrics, stall_budget};

/// When passes happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// One pass per target, then the target's task ends (`--once`); a failed pass is an error.
    Once,
    /// A pass every interval (or earlier on a wake-up) until shutdown; a failed pass is logged
    /// and retried at the next one.
    Every(Duration),
}

struct Slot {
    repo: String,
    environment: String,
    wake: Notify,
}

/// Wakes the targets of a running [`Agent`]. Cheap to clone; what `ghops serve` keeps to
/// route `deployment` webhooks. A wake-up only shortens the wait: polling stays the truth, and
/// a wake-up that arrives during a pass makes the next pass start right after it.
#[derive(Clone)]
pub struct AgentHandle {
    slots: Arc<Vec<Slot>>,
}

impl std::fmt::Debug for AgentHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(
                self.slots
                    .iter()
                    .map(|s| format!("{}#{}", s.repo, s.environment)),
            )
            .finish()
    }
}

impl AgentHandle {
    /// Wakes the target (`owner/name`, case-insensitive; environment exact). Returns whether
    /// one matched.
    pub fn wake(&self, repo: &str, environment: &str) -> bool {
        let mut hit = false;
        for s in self.slots.iter() {
            if s.repo.eq_ignore_ascii_case(repo) && s.environment == environment {
                s.wake.notify_one();
                hit = true;
            }
        }
        hit
    }

    /// Wakes every target.
    pub fn wake_all(&self) {
        for s in self.slots.iter() {
            s.wake.notify_one();
        }
    }

    /// Routes a webhook event: a `deployment` event wakes the target of its repository and
    /// environment. Returns whether a target was woken. Nothing in the event is trusted beyond
    /// "look now": the pass reads the deployments from the API.
    pub fn on_event(&self, event: &Event) -> bool {
        match event {
            Event::Deployment(e) => self.wake(&e.repository.full_name, &e.deployment.environment),
            _ => false,
        }
    }

    /// The targets, as `owner/name#environment`.
    pub fn targets(&self) -> Vec<String> {
        self.slots
            .iter()
            .map(|s| format!("{}#{}", s.repo, s.environment))
            .collect()
    }
}

/// A running agent: one task per target.
#[derive(Debug)]
pub struct Agent {
    metrics: Arc<AgentMetrics>,
    handle: AgentHandle,
    tasks: Vec<(Target, JoinHandle<TargetEnd>)>,
}

/// How a target's task ended: its last pass (none when it never completed one), or its error.
pub type TargetEnd = Result<Option<PassReport>, AgentError>;

/// How one target's task ended: its last pass, or its error (`ghops agent run --once --json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TargetSummary {
    /// `owner/name`.
    pub repo: String,
    /// Environment.
    pub environment: String,
    /// Deployments run, with their final state.
    pub ran: Vec<Ran>,
    /// Deployments marked superseded.
    pub superseded: Vec<u64>,
    /// Deployments left for another time, with why.
    pub skipped: Vec<Skipped>,
    /// Journal entries settled.
    pub recovered: Vec<u64>,
    /// Something must be retried next pass.
    pub retry: bool,
    /// Why the target's pass failed.
    pub error: Option<String>,
}

/// A deployment that ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Ran {
    /// Deployment id.
    pub deployment: u64,
    /// Final state.
    pub state: String,
}

/// A deployment left for another time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Skipped {
    /// Deployment id.
    pub deployment: u64,
    /// Why.
    pub reason: String,
}

impl TargetSummary {
    fn new(t: &Target, r: TargetEnd) -> Self {
        let (r, error) = match r {
            Ok(r) => (r.unwrap_or_default(), None),
            Err(e) => (PassReport::default(), Some(e.to_string())),
        };
        TargetSummary {
            repo: t.repo.to_string(),
            environment: t.environment.clone(),
            ran: r
                .ran
                .into_iter()
                .map(|(deployment, state)| Ran { deployment, state })
                .collect(),
            superseded: r.superseded,
            skipped: r
                .skipped
                .into_iter()
                .map(|(deployment, reason)| Skipped { deployment, reason })
                .collect(),
            recovered: r.recovered,
            retry: r.retry,
            error,
        }
    }
}

impl Agent {
    /// Starts one task per target (each with its own client, e.g. an App installation token
    /// for its repository). Shutdown is `opts.cancel` turning true: running hooks get TERM, then
    /// KILL after the grace period, their deployments `error` "agent shut down".
    pub fn spawn(
        targets: Vec<(GitHub, Target)>,
        opts: AgentOptions,
        journal: Journal,
        schedule: Schedule,
    ) -> Agent {
        let slots: Arc<Vec<Slot>> = Arc::new(
            targets
                .iter()
                .map(|(_, t)| Slot {
                    repo: t.repo.to_string(),
                    environment: t.environment.clone(),
                    wake: Notify::new(),
                })
                .collect(),
        );
        let handle = AgentHandle { slots };
        let interval = match schedule {
            Schedule::Once => Duration::ZERO,
            Schedule::Every(i) => i,
        };
        let per_target: Vec<Arc<TargetMetrics>> = targets
            .iter()
            .map(|(_, t)| {
                let hook_timeout = t.hook_timeout.unwrap_or(opts.hook_timeout);
                let stall = stall_budget(interval, hook_timeout, opts.grace);
                Arc::new(TargetMetrics::new(
                    &t.repo.to_string(),
                    &t.environment,
                    stall,
                ))
            })
            .collect();
        let tasks = targets
            .into_iter()
            .zip(per_target.iter().cloned())
            .enumerate()
            .map(|(i, ((gh, t), m))| {
                let (opts, journal, handle) = (opts.clone(), journal.clone(), handle.clone());
                let target = t.clone();
                let task = tokio::spawn(async move {
                    target_loop(gh, t, opts, journal, schedule, &handle.slots[i].wake, m).await
                });
                (target, task)
            })
            .collect();
        let metrics = Arc::new(AgentMetrics::new(per_target));
        Agent {
            metrics,
            handle,
            tasks,
        }
    }

    /// Metrics and health (a [`gh_core::metrics::Probe`]: serve it with
    /// `ghops_serve::health::listen`).
    pub fn metrics(&self) -> Arc<AgentMetrics> {
        self.metrics.clone()
    }

    /// The handle that wakes targets.
    pub fn handle(&self) -> AgentHandle {
        self.handle.clone()
    }

    /// Leaves the agent running in the background (its targets' errors are logged when their
    /// tasks end) and returns the handle that wakes it: what a webhook server keeps.
    pub fn detach(self) -> AgentHandle {
        let handle = self.handle();
        tokio::spawn(async move {
            for (target, e) in self.join().await {
                tracing::error!(%target, error = %e, "deploy agent stopped");
            }
        });
        handle
    }

    /// Waits for every target's task; the errors, named by target (`owner/name environment`).
    pub async fn join(self) -> Vec<(String, AgentError)> {
        self.finish()
            .await
            .into_iter()
            .filter_map(|(t, r)| {
                r.err()
                    .map(|e| (format!("{} {}", t.repo, t.environment), e))
            })
            .collect()
    }

    /// Waits for every target's task; each target's last pass or error.
    pub async fn finish(self) -> Vec<(Target, TargetEnd)> {
        let mut out = Vec::new();
        for (target, t) in self.tasks {
            let r = match t.await {
                Ok(r) => r,
                Err(e) => Err(AgentError::Failed(format!("agent task: {e}"))),
            };
            out.push((target, r));
        }
        out
    }

    /// Waits for every target's task; a summary per target (errors included).
    pub async fn summaries(self) -> Vec<TargetSummary> {
        self.finish()
            .await
            .into_iter()
            .map(|(t, r)| TargetSummary::new(&t, r))
            .collect()
    }
}

/// Reports a pass's decisions as [`gh_core::output::AGENT`] events (the CLI prints them).
fn report_pass(t: &Target, r: &PassReport) {
    use gh_core::output::AGENT;
    let (repo, environment) = (&t.repo, &t.environment);
    for id in &r.recovered {
        tracing::info!(target: AGENT, %repo, %environment, deployment = id, outcome = "recovered", "deployment settled from the journal");
    }
    for id in &r.superseded {
        tracing::info!(target: AGENT, %repo, %environment, deployment = id, outcome = "superseded", "deployment superseded");
    }
    for (id, reason) in &r.skipped {
        tracing::info!(target: AGENT, %repo, %environment, deployment = id, outcome = "skipped", %reason, "deployment skipped");
    }
    for (id, state) in &r.ran {
        tracing::info!(target: AGENT, %repo, %environment, deployment = id, outcome = "ran", %state, "deployment ran");
    }
}

/// How often an idle target says it is alive (one INFO line; idle passes log nothing else).
pub const HEARTBEAT: Duration = Duration::from_secs(10 * 60);

fn active(r: &PassReport) -> bool {
    !(r.ran.is_empty()
        && r.superseded.is_empty()
        && r.skipped.is_empty()
        && r.recovered.is_empty()
        && !r.retry)
}

async fn target_loop(
    gh: GitHub,
    target: Target,
    opts: AgentOptions,
    journal: Journal,
    schedule: Schedule,
    wake: &Notify,
    metrics: Arc<TargetMetrics>,
) -> TargetEnd {
    use gh_core::output::AGENT;
    let mut state = TargetState::observed(metrics.clone());
    let mut cancel = opts.cancel.clone();
    let (repo, environment) = (&target.repo, &target.environment);
    let mut last = None;
    let mut idle_since: Option<(std::time::Instant, u64)> = None;
    let mut last_heartbeat: Option<std::time::Instant> = None;
    loop {
        match run_once(&gh, &target, &opts, &journal, &mut state).await {
            Ok(rep) => {
                metrics.pass_ok(&rep);
                report_pass(&target, &rep);
                if let Some(f) = &opts.heartbeat_file {
                    // Liveness: touched after every pass that completed.
                    if let Err(e) = std::fs::write(f, b"") {
                        tracing::warn!(file = %f.display(), error = %e, "heartbeat file not written");
                    }
                }
                if active(&rep) {
                    idle_since = None;
                    tracing::info!(target: AGENT, %repo, %environment, outcome = "pass",
                        ran = rep.ran.len(), superseded = rep.superseded.len(),
                        skipped = rep.skipped.len(), recovered = rep.recovered.len(),
                        retry = rep.retry,
                        "pass: {} ran, {} superseded, {} skipped, {} settled from the journal{}",
                        rep.ran.len(), rep.superseded.len(), rep.skipped.len(),
                        rep.recovered.len(), if rep.retry { "; retried next pass" } else { "" });
                } else {
                    let (since, n) = idle_since.get_or_insert((std::time::Instant::now(), 0));
                    *n += 1;
                    if last_heartbeat.is_none_or(|t| t.elapsed() >= HEARTBEAT) {
                        last_heartbeat = Some(std::time::Instant::now());
                        tracing::info!(target: AGENT, %repo, %environment, outcome = "idle",
                            passes = *n, idle_secs = since.elapsed().as_secs(),
                            "idle: nothing to deploy (polled {}x in {}s)", n, since.elapsed().as_secs());
                    }
                }
                let shutdown = rep.shutdown;
                last = Some(rep);
                if shutdown {
                    return Ok(last);
                }
            }
            Err(e) if schedule == Schedule::Once => {
                metrics.pass_failed();
                return Err(e);
            }
            Err(e) => {
                metrics.pass_failed();
                tracing::warn!(target: AGENT, %repo, %environment, outcome = "pass_failed", error = %e, "agent pass failed; retried next poll");
            }
        }
        let Schedule::Every(interval) = schedule else {
            return Ok(last);
        };
        if *cancel.borrow() {
            return Ok(last);
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = wake.notified() => {}
            _ = cancel.changed() => return Ok(last),
        }
    }
}

/// Turns `stop` true on SIGTERM or SIGINT (after calling `on_signal`): what shuts an agent
/// down, running hooks getting TERM, then KILL after the grace period. The daemons' one
/// signal helper, [`gh_core::shutdown::stop_on_signal`].
pub use gh_core::shutdown::stop_on_signal;
