//! The reconcile loop: passes every interval while this replica leads, slowed down when the
//! rate-limit budget runs low, logging one line per pass that did something and a heartbeat.

use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::Utc;

use super::Orchestrator;
use crate::clients::Clients;

impl Orchestrator {
    /// Runs reconcile passes every `interval` until `shutdown` resolves. A failed pass is
    /// logged and retried at the next tick (the loop never dies on an API error). With a
    /// `leader` check, passes run only while it answers true. When a client's rate-limit
    /// budget runs low, the next pass waits for the window's reset ([`crate::pace`]).
    ///
    /// Logs (INFO) one line per pass that launched, reaped or left jobs waiting, with its
    /// outcome and the rate-limit units it cost; idle passes log nothing but a heartbeat
    /// every [`HEARTBEAT`]; a failed pass logs an ERROR line.
    pub async fn run_loop<F, L, LF>(
        &self,
        clients: &Clients,
        interval: Duration,
        mut is_leader: L,
        shutdown: F,
    ) where
        F: std::future::Future<Output = ()>,
        L: FnMut() -> LF,
        LF: std::future::Future<Output = bool>,
    {
        tokio::pin!(shutdown);
        let mut wait = Duration::ZERO;
        let mut quiet = Quiet::new();
        loop {
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tokio::time::sleep(wait) => {}
            }
            if !is_leader().await {
                quiet.follower();
                // A follower asks again soon, so that a new leader starts at once.
                wait = interval.min(FOLLOWER_CHECK);
                continue;
            }
            let calls = clients.request_count();
            let not_modified = self.cache.not_modified.load(Ordering::Relaxed);
            let result = self.reconcile(clients).await;
            let units = (clients.request_count() - calls)
                .saturating_sub(self.cache.not_modified.load(Ordering::Relaxed) - not_modified);
            match result {
                Ok(r) if r.is_idle() => quiet.idle(units),
                Ok(r) => {
                    tracing::info!(
                        launched = r.launched(),
                        reaped = r.reaped.len(),
                        waiting = r.waiting.values().sum::<u64>(),
                        queued = self.metrics.queued.load(Ordering::Relaxed),
                        running = self.metrics.running.load(Ordering::Relaxed),
                        api_units = units,
                        "reconcile pass"
                    );
                    quiet = Quiet::new();
                }
                Err(e) => tracing::error!(error = %e, api_units = units, "reconcile pass failed"),
            }
            let rate = clients.lowest_rate_limit();
            let now = Utc::now().timestamp().max(0) as u64;
            wait = crate::pace::next_wait(interval, rate, now);
            if wait > interval
                && let Some(r) = rate
            {
                tracing::warn!(
                    remaining = r.remaining,
                    limit = r.limit,
                    wait_s = wait.as_secs(),
                    "GitHub rate limit low: next reconcile pass after the window resets"
                );
            }
        }
    }
}

/// How often a follower asks whether it became the leader.
pub const FOLLOWER_CHECK: Duration = Duration::from_secs(5);

/// How often an idle reconcile loop says it is alive.
pub const HEARTBEAT: Duration = Duration::from_secs(600);

/// Idle passes since the last line, for the heartbeat.
struct Quiet {
    since: std::time::Instant,
    passes: u64,
    units: u64,
    follower: u64,
}

impl Quiet {
    fn new() -> Self {
        Self {
            since: std::time::Instant::now(),
            passes: 0,
            units: 0,
            follower: 0,
        }
    }

    fn idle(&mut self, units: u64) {
        self.passes += 1;
        self.units += units;
        self.beat();
    }

    fn follower(&mut self) {
        self.follower += 1;
        self.beat();
    }

    fn beat(&mut self) {
        if self.since.elapsed() >= HEARTBEAT {
            tracing::info!(
                idle_passes = self.passes,
                api_units = self.units,
                follower_ticks = self.follower,
                "reconcile loop alive: nothing to do"
            );
            *self = Self::new();
        }
    }
}
