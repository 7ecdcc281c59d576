//! The long-running agent: one task per target (targets in parallel, strictly one deploy at a
//! time per target), polling every interval, woken early by `deployment` webhooks through an
//! [`AgentHandle`].

use std::sync::Arc;
use std::time::Duration;

use gh_core::GitHub;
use gh_core::events::Event;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::agent::{AgentOptions, PassReport, Target, TargetState, run_once};
use crate::error::AgentError;
use crate::journal::Journal;

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
    handle: AgentHandle,
    tasks: Vec<(String, JoinHandle<Result<(), AgentError>>)>,
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
        let tasks = targets
            .into_iter()
            .enumerate()
            .map(|(i, (gh, t))| {
                let name = format!("{} {}", t.repo, t.environment);
                let (opts, journal, handle) = (opts.clone(), journal.clone(), handle.clone());
                let task = tokio::spawn(async move {
                    target_loop(gh, t, opts, journal, schedule, &handle.slots[i].wake).await
                });
                (name, task)
            })
            .collect();
        Agent { handle, tasks }
    }

    /// The handle that wakes targets.
    pub fn handle(&self) -> AgentHandle {
        self.handle.clone()
    }

    /// Waits for every target's task; the errors, named by target (`owner/name environment`).
    pub async fn join(self) -> Vec<(String, AgentError)> {
        let mut errors = Vec::new();
        for (name, t) in self.tasks {
            match t.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => errors.push((name, e)),
                Err(e) => errors.push((name, AgentError::Failed(format!("agent task: {e}")))),
            }
        }
        errors
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

async fn target_loop(
    gh: GitHub,
    target: Target,
    opts: AgentOptions,
    journal: Journal,
    schedule: Schedule,
    wake: &Notify,
) -> Result<(), AgentError> {
    let mut state = TargetState::default();
    let mut cancel = opts.cancel.clone();
    loop {
        match run_once(&gh, &target, &opts, &journal, &mut state).await {
            Ok(rep) => {
                report_pass(&target, &rep);
                if rep.shutdown {
                    return Ok(());
                }
            }
            Err(e) if schedule == Schedule::Once => return Err(e),
            Err(e) => {
                tracing::warn!(target: gh_core::output::AGENT, repo = %target.repo, environment = %target.environment, outcome = "pass_failed", error = %e, "agent pass failed; retried next poll");
            }
        }
        let Schedule::Every(interval) = schedule else {
            return Ok(());
        };
        if *cancel.borrow() {
            return Ok(());
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = wake.notified() => {}
            _ = cancel.changed() => return Ok(()),
        }
    }
}
