//! One reconcile pass: demand (queued jobs), supply (backend runners and registrations),
//! reaping, then launches within capacity.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::atomic::Ordering;

use chrono::Utc;

use super::{Decision, ReconcileReport};
use super::{Orchestrator, is_live};
use crate::backend::{LaunchSpec, Live};
use crate::clients::Clients;
use crate::config::PoolConfig;
use crate::error::{OrchError, Result};
use crate::github::{self, Runner};
use crate::naming::{self, ParsedName};

impl Orchestrator {
    /// One reconcile pass over every pool: lists queued jobs (any branch, re-runs included)
    /// and launches the missing runners within `max`, keeps `min_idle` warm runners, reaps
    /// runners that never registered within `registration_timeout`, unused runners of jobs
    /// no longer queued, and offline registrations of our naming without a backend runner.
    /// A busy runner is never removed.
    pub async fn reconcile(&self, clients: &Clients) -> Result<ReconcileReport> {
        let mut report = ReconcileReport::default();
        let mut queued_total = 0u64;
        let mut seen = HashSet::new();
        let mut running = 0u64;
        for pool in &self.config.pools {
            queued_total += self.reconcile_pool(clients, pool, &mut report).await?;
            for l in self.backend.list(pool).await? {
                running += u64::from(!l.finished);
                seen.insert(l.name);
            }
        }
        self.cache.end_pass();
        self.metrics.not_modified.store(
            self.cache.not_modified.load(Ordering::Relaxed),
            Ordering::Relaxed,
        );
        self.metrics.running.store(running, Ordering::Relaxed);
        // Bound the dedupe memory to what exists (duplicates of anything older find the
        // backend runner, or a job that is no longer queued).
        self.launched.retain(|n| seen.contains(n));
        self.metrics.queued.store(queued_total, Ordering::Relaxed);
        self.metrics
            .waiting
            .store(report.waiting.values().sum(), Ordering::Relaxed);
        Ok(report)
    }

    async fn reconcile_pool(
        &self,
        clients: &Clients,
        pool: &PoolConfig,
        report: &mut ReconcileReport,
    ) -> Result<u64> {
        let started = Utc::now();
        // 1. Demand: queued jobs this pool serves, in job id order.
        let mut queued = Vec::new();
        for repo in pool.repo_refs() {
            for j in github::queued_jobs(clients.for_repo(&repo), &repo, &self.cache).await? {
                if self
                    .config
                    .select_pool(&repo, &j.labels)
                    .is_some_and(|p| p.name == pool.name)
                {
                    let name = naming::runner_name(&repo.to_string(), j.id, j.run_attempt.max(1));
                    queued.push((repo.clone(), j, name));
                }
            }
        }
        queued.sort_by_key(|(_, j, _)| j.id);
        let wanted: BTreeSet<&str> = queued.iter().map(|(_, _, n)| n.as_str()).collect();
        // 2. Supply: backend runners, then registrations (listed AFTER the jobs: a runner
        // that took a job is busy by now).
        let mut live = self.backend.list(pool).await?;
        let mut registered: BTreeMap<String, (crate::config::Scope, Runner)> = BTreeMap::new();
        for scope in pool.scopes() {
            for r in github::list_runners(clients.for_scope(&scope), &scope, &self.cache).await? {
                if naming::parse_name(&r.name).is_some() {
                    registered.insert(r.name.clone(), (scope.clone(), r));
                }
            }
        }
        let inflight: HashSet<String> = self.inflight.lock().expect("lock").clone();
        let idle_names: BTreeSet<String> = (0..pool.min_idle)
            .map(|s| naming::idle_name(&pool.name, s))
            .collect();
        let now = Utc::now();
        let age = |l: &Live| {
            l.created
                .map(|c| (now - c).to_std().unwrap_or_default())
                .unwrap_or_default()
        };
        // 3. Reap.
        let mut remove: Vec<(String, String)> = Vec::new();
        for l in &live {
            let reg = registered.get(&l.name).map(|(_, r)| r);
            if reg.is_some_and(|r| r.busy) || inflight.contains(&l.name) {
                continue;
            }
            let up = reg.is_some_and(Runner::is_up);
            let parsed = naming::parse_name(&l.name);
            let why = if l.finished {
                if matches!(parsed, Some(ParsedName::Idle { .. })) {
                    // Free the warm slot at once instead of waiting for the Job's TTL.
                    Some("warm runner finished".to_owned())
                } else {
                    // Failed or done: free the name for a relaunch if still queued.
                    wanted
                        .contains(l.name.as_str())
                        .then(|| "finished while its job is still queued".to_owned())
                }
            } else if !up && age(l) > pool.registration_timeout {
                Some(format!(
                    "not registered within {}s",
                    pool.registration_timeout.as_secs()
                ))
            } else if matches!(parsed, Some(ParsedName::Job { .. }))
                && !wanted.contains(l.name.as_str())
                && age(l) > self.grace
                && l.created.is_some_and(|c| c < started)
            {
                Some("its job is no longer queued and it is not running one".to_owned())
            } else if matches!(parsed, Some(ParsedName::Idle { .. }))
                && !idle_names.contains(&l.name)
            {
                Some("warm runner beyond min_idle".to_owned())
            } else if matches!(parsed, Some(ParsedName::Idle { .. }))
                && pool.idle_ttl.is_some_and(|t| age(l) > t)
            {
                Some("warm runner idle longer than idle_ttl".to_owned())
            } else {
                None
            };
            if let Some(why) = why {
                remove.push((l.name.clone(), why));
            }
        }
        for (name, why) in &remove {
            tracing::info!(runner = %name, reason = %why, "reaping runner");
            self.backend.delete(pool, name).await?;
            if let Some((scope, r)) = registered.remove(name) {
                github::delete_runner(clients.for_scope(&scope), &scope, r.id).await?;
            }
            self.launched.remove(name);
            self.metrics.reaped.fetch_add(1, Ordering::Relaxed);
            report.reaped.push((name.clone(), why.clone()));
        }
        live.retain(|l| !remove.iter().any(|(n, _)| n == &l.name));
        // Registrations of our naming with no backend runner, offline and idle: leftovers.
        // Removed when seen so in two consecutive passes (another replica may be between
        // its JIT call and its launch right now; GitHub gives no registration time).
        let live_names: BTreeSet<&str> = live.iter().map(|l| l.name.as_str()).collect();
        let mut suspects = Vec::new();
        for (name, (scope, r)) in &registered {
            if live_names.contains(name.as_str())
                || r.busy
                || r.status == "online"
                || inflight.contains(name)
            {
                continue;
            }
            let seen_before = self
                .suspects
                .lock()
                .expect("lock")
                .get(&pool.name)
                .is_some_and(|s| s.contains(name));
            if !seen_before {
                suspects.push(name.clone());
                continue;
            }
            github::delete_runner(clients.for_scope(scope), scope, r.id).await?;
            self.launched.remove(name);
            self.metrics.reaped.fetch_add(1, Ordering::Relaxed);
            report
                .reaped
                .push((name.clone(), "offline registration without a runner".into()));
        }
        self.suspects
            .lock()
            .expect("lock")
            .insert(pool.name.clone(), suspects.into_iter().collect());
        // 4. Launch within capacity: queued jobs first, then warm runners.
        let mut in_use = live.iter().filter(|l| is_live(l)).count() as u64;
        let max = u64::from(pool.max);
        let mut waiting = 0u64;
        for (repo, j, name) in &queued {
            if live_names.contains(name.as_str()) || remove.iter().any(|(n, _)| n == name) {
                continue;
            }
            if in_use >= max {
                waiting += 1;
                continue;
            }
            match self
                .launch_queued(
                    clients.for_repo(repo),
                    pool,
                    repo,
                    j.id,
                    j.run_attempt.max(1),
                    false,
                )
                .await
            {
                Ok(d) => {
                    if matches!(d, Decision::Launched { .. } | Decision::DryRun { .. }) {
                        in_use += 1;
                    }
                    report.decisions.push((name.clone(), d));
                }
                Err(e) => {
                    tracing::error!(runner = %name, error = %e, "launch failed");
                    report.decisions.push((
                        name.clone(),
                        Decision::Ignored {
                            reason: format!("launch failed: {e}"),
                        },
                    ));
                    if matches!(e, OrchError::KubeInvalid { .. } | OrchError::Config { .. }) {
                        return Err(e);
                    }
                }
            }
        }
        if waiting > 0 {
            report.waiting.insert(pool.name.clone(), waiting);
        }
        if let Some(first) = pool.repo_refs().first() {
            for name in &idle_names {
                if live_names.contains(name.as_str()) || remove.iter().any(|(n, _)| n == name) {
                    continue;
                }
                if in_use >= max {
                    break;
                }
                let spec = LaunchSpec {
                    name: name.clone(),
                    repo: first.to_string(),
                    job_id: None,
                    attempt: 0,
                };
                let scope = pool.scope_for(first);
                let d = self
                    .launch(clients.for_scope(&scope), pool, &scope, spec)
                    .await?;
                in_use += 1;
                report.decisions.push((name.clone(), d));
            }
        }
        Ok(queued.len() as u64)
    }
}
