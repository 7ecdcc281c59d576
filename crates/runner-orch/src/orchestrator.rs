//! Decisions: a `workflow_job` event (a hint) or a reconcile pass (the truth) lead to at most
//! one runner per (repository, job id, run attempt).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use gh_core::events::WorkflowJobEvent;
use gh_core::{GitHub, RepoRef};
use serde::Serialize;

use crate::backend::{Backend, LaunchSpec, Launched, Live};
use crate::clients::Clients;
use crate::config::{PoolConfig, RunnersConfig};
use crate::error::{OrchError, Result};
use crate::github::{self, JitOutcome, Runner};
use crate::naming::{self, ParsedName};

/// What was decided for one job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// A runner was launched.
    Launched {
        /// Runner and Job name.
        name: String,
        /// Pool.
        pool: String,
    },
    /// `--dry-run`: the calls and manifests were reported (not sent).
    DryRun {
        /// Runner name.
        name: String,
    },
    /// The runner exists already (duplicate delivery, or the other path launched it).
    AlreadyLaunched {
        /// Runner name.
        name: String,
    },
    /// The pool is full: the job waits for a later reconcile pass (it is not lost).
    AtCapacity {
        /// Pool.
        pool: String,
    },
    /// The job is no longer queued (completed, cancelled, taken): nothing launched.
    NotQueued {
        /// Its status now.
        status: String,
    },
    /// No pool serves this repository with these labels: not ours.
    NoPool {
        /// Why.
        reason: String,
    },
    /// The unused runner of a job that finished without it was removed.
    Cleaned {
        /// Runner name.
        name: String,
    },
    /// Nothing to do for this event.
    Ignored {
        /// Why.
        reason: String,
    },
}

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
}

impl Metrics {
    /// Prometheus text exposition.
    pub fn render(&self, gh: Option<&GitHub>) -> String {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut s = String::new();
        for (name, kind, help, v) in [
            (
                "ghops_runners_launched_total",
                "counter",
                "Runners launched.",
                g(&self.launched),
            ),
            (
                "ghops_runners_duplicate_total",
                "counter",
                "Launches that found the runner already there.",
                g(&self.duplicates),
            ),
            (
                "ghops_runners_failures_total",
                "counter",
                "Launch failures.",
                g(&self.failures),
            ),
            (
                "ghops_runners_reaped_total",
                "counter",
                "Runners removed (never registered, unused, leftovers).",
                g(&self.reaped),
            ),
            (
                "ghops_runners_queued_jobs",
                "gauge",
                "Queued jobs at the last reconcile pass.",
                g(&self.queued),
            ),
            (
                "ghops_runners_waiting_jobs",
                "gauge",
                "Queued jobs waiting for capacity.",
                g(&self.waiting),
            ),
        ] {
            s.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}\n"
            ));
        }
        if let Some(gh) = gh {
            s.push_str(&format!(
                "# HELP ghops_github_requests_total GitHub API requests sent.\n# TYPE ghops_github_requests_total counter\nghops_github_requests_total {}\n",
                gh.request_count()
            ));
            if let Some(r) = gh.rate_limit() {
                s.push_str(&format!(
                    "# HELP ghops_github_rate_limit_remaining GitHub API budget left.\n# TYPE ghops_github_rate_limit_remaining gauge\nghops_github_rate_limit_remaining {}\n",
                    r.remaining
                ));
            }
        }
        s
    }
}

/// What a reconcile pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReconcileReport {
    /// Decisions for queued jobs and warm runners, as (runner name, decision).
    pub decisions: Vec<(String, Decision)>,
    /// Runners removed, with the reason.
    pub reaped: Vec<(String, String)>,
    /// Queued jobs beyond capacity, by pool.
    pub waiting: BTreeMap<String, u64>,
}

/// The orchestrator: configuration, backend and the in-memory dedupe state. One per process;
/// share it behind an `Arc` between the webhook handler and the reconcile loop.
#[derive(Debug)]
pub struct Orchestrator {
    config: RunnersConfig,
    backend: Backend,
    inflight: Mutex<HashSet<String>>,
    launched: Mutex<HashSet<String>>,
    suspects: Mutex<BTreeMap<String, HashSet<String>>>,
    /// Counters.
    pub metrics: Metrics,
    /// A runner launched less than this long ago is never reaped as unused (it may be
    /// serving a job queued after the pass listed jobs). Default 2 minutes.
    pub grace: Duration,
}

struct InflightGuard<'a>(&'a Mutex<HashSet<String>>, String, &'a AtomicU64);

impl Drop for InflightGuard<'_> {
    fn drop(&mut self) {
        self.0.lock().expect("lock").remove(&self.1);
        self.2.fetch_sub(1, Ordering::Relaxed);
    }
}

fn is_live(l: &Live) -> bool {
    !l.finished
}

impl Orchestrator {
    /// An orchestrator; validate the config first ([`RunnersConfig::validate`]).
    pub fn new(config: RunnersConfig, backend: Backend) -> Self {
        Self {
            config,
            backend,
            inflight: Mutex::new(HashSet::new()),
            launched: Mutex::new(HashSet::new()),
            suspects: Mutex::new(BTreeMap::new()),
            metrics: Metrics::default(),
            grace: Duration::from_secs(120),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RunnersConfig {
        &self.config
    }

    /// The backend.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Handles one `workflow_job` event: `queued` launches (after re-checking the job is still
    /// queued), `completed` removes the runner of a job that finished without it; other actions
    /// are ignored. Idempotent: duplicates and redeliveries never launch a second runner.
    pub async fn handle_event(&self, gh: &GitHub, ev: &WorkflowJobEvent) -> Result<Decision> {
        let repo: RepoRef = ev.repository.full_name.parse()?;
        let job = &ev.workflow_job;
        let Some(pool) = self.config.select_pool(&repo, &job.labels) else {
            return Ok(Decision::NoPool {
                reason: format!("no pool serves {repo} with runs-on {:?}", job.labels),
            });
        };
        let attempt = job.run_attempt.max(1);
        match ev.action.as_str() {
            "queued" => self.launch_job(gh, pool, &repo, job.id, attempt).await,
            "completed" => {
                let name = naming::runner_name(&repo.to_string(), job.id, attempt);
                if job.runner_name.as_deref() == Some(name.as_str()) {
                    return Ok(Decision::Ignored {
                        reason: "our runner ran the job; it removes itself".into(),
                    });
                }
                self.clean_unused(gh, pool, &repo, &name).await
            }
            other => Ok(Decision::Ignored {
                reason: format!("action {other}"),
            }),
        }
    }

    /// Removes the runner `name` of a job that no longer needs it, unless it is busy.
    async fn clean_unused(
        &self,
        gh: &GitHub,
        pool: &PoolConfig,
        repo: &RepoRef,
        name: &str,
    ) -> Result<Decision> {
        let scope = pool.scope_for(repo);
        let runner = github::find_runner(gh, &scope, name).await?;
        if runner.as_ref().is_some_and(|r| r.busy) {
            return Ok(Decision::Ignored {
                reason: format!("runner {name} is busy"),
            });
        }
        let exists = self.backend.get(pool, name).await?.is_some();
        if !exists && runner.is_none() {
            return Ok(Decision::Ignored {
                reason: "no runner was launched".into(),
            });
        }
        if exists {
            self.backend.delete(pool, name).await?;
        }
        if let Some(r) = runner {
            github::delete_runner(gh, &scope, r.id).await?;
        }
        self.launched.lock().expect("lock").remove(name);
        self.metrics.reaped.fetch_add(1, Ordering::Relaxed);
        Ok(Decision::Cleaned {
            name: name.to_owned(),
        })
    }

    /// Launches the runner of one queued job: dedupe (memory, then backend), capacity,
    /// re-check the job is queued (`GET actions/jobs/{id}`), JIT config, backend launch.
    /// GitHub calls per launch: 2.
    pub async fn launch_job(
        &self,
        gh: &GitHub,
        pool: &PoolConfig,
        repo: &RepoRef,
        job_id: u64,
        attempt: u64,
    ) -> Result<Decision> {
        let name = naming::runner_name(&repo.to_string(), job_id, attempt);
        if self.launched.lock().expect("lock").contains(&name) {
            self.metrics.duplicates.fetch_add(1, Ordering::Relaxed);
            return Ok(Decision::AlreadyLaunched { name });
        }
        let _guard = {
            let mut inflight = self.inflight.lock().expect("lock");
            if !inflight.insert(name.clone()) {
                self.metrics.duplicates.fetch_add(1, Ordering::Relaxed);
                return Ok(Decision::AlreadyLaunched { name });
            }
            self.metrics.launching.fetch_add(1, Ordering::Relaxed);
            InflightGuard(&self.inflight, name.clone(), &self.metrics.launching)
        };
        let live = self.backend.list(pool).await?;
        if live.iter().any(|l| l.name == name) {
            self.launched.lock().expect("lock").insert(name.clone());
            self.metrics.duplicates.fetch_add(1, Ordering::Relaxed);
            return Ok(Decision::AlreadyLaunched { name });
        }
        let in_use = live.iter().filter(|l| is_live(l)).count() as u64
            + self.inflight.lock().expect("lock").len().saturating_sub(1) as u64;
        if in_use >= u64::from(pool.max) {
            return Ok(Decision::AtCapacity {
                pool: pool.name.clone(),
            });
        }
        match github::get_job(gh, repo, job_id).await? {
            Some(j) if j.status == "queued" && j.run_attempt.max(1) == attempt => {}
            Some(j) => {
                return Ok(Decision::NotQueued {
                    status: if j.run_attempt.max(1) != attempt {
                        format!("superseded by attempt {}", j.run_attempt)
                    } else {
                        j.status
                    },
                });
            }
            None => {
                return Ok(Decision::NotQueued {
                    status: "not found".into(),
                });
            }
        }
        let spec = LaunchSpec {
            name: name.clone(),
            repo: repo.to_string(),
            job_id: Some(job_id),
            attempt,
        };
        self.launch(gh, pool, &pool.scope_for(repo), spec).await
    }

    async fn launch(
        &self,
        gh: &GitHub,
        pool: &PoolConfig,
        scope: &crate::config::Scope,
        spec: LaunchSpec,
    ) -> Result<Decision> {
        let name = spec.name.clone();
        // A pod has its own disk; local processes share the runner's directory, so each gets
        // a workspace of its own (concurrent jobs must not check out into one `_work`).
        let work_folder = match pool.backend {
            crate::config::BackendKind::Process => format!("_work/{name}"),
            crate::config::BackendKind::Kubernetes => "_work".to_owned(),
        };
        let mut cleaned = false;
        let jit = loop {
            match github::generate_jit(
                gh,
                scope,
                &name,
                pool.runner_group_id,
                &pool.labels,
                &work_folder,
            )
            .await
            {
                Ok(JitOutcome::Created(j)) => break Some(j),
                Ok(JitOutcome::DryRun) => break None,
                Ok(JitOutcome::NameTaken) if !cleaned => {
                    // Our name is registered already. If the backend has the runner, another
                    // path launched it; otherwise it is left by a crash between the JIT call
                    // and the launch: deregister it (never when busy) and try once more.
                    if self.backend.get(pool, &name).await?.is_some() {
                        self.launched.lock().expect("lock").insert(name.clone());
                        self.metrics.duplicates.fetch_add(1, Ordering::Relaxed);
                        return Ok(Decision::AlreadyLaunched { name });
                    }
                    match github::find_runner(gh, scope, &name).await? {
                        Some(r) if r.busy => {
                            return Ok(Decision::AlreadyLaunched { name });
                        }
                        Some(r) => {
                            tracing::info!(runner = %name, id = r.id, "removing our stale runner registration");
                            github::delete_runner(gh, scope, r.id).await?;
                        }
                        None => {}
                    }
                    cleaned = true;
                }
                Ok(JitOutcome::NameTaken) => {
                    self.metrics.failures.fetch_add(1, Ordering::Relaxed);
                    return Err(gh_core::Error::Api {
                        method: "POST".into(),
                        path: format!("{}/actions/runners/generate-jitconfig", scope.api_prefix()),
                        status: 409,
                        message: format!(
                            "runner name {name} still taken after removing the stale registration"
                        ),
                        hint: None,
                    }
                    .into());
                }
                Err(e) => {
                    self.metrics.failures.fetch_add(1, Ordering::Relaxed);
                    return Err(e);
                }
            }
        };
        let encoded = jit.as_ref().map(|j| j.encoded.as_str()).unwrap_or("");
        match self.backend.launch(pool, &spec, encoded).await {
            Ok(Launched::Created) => {
                self.launched.lock().expect("lock").insert(name.clone());
                self.metrics.launched.fetch_add(1, Ordering::Relaxed);
                tracing::info!(runner = %name, pool = %pool.name, "launched runner");
                Ok(Decision::Launched {
                    name,
                    pool: pool.name.clone(),
                })
            }
            Ok(Launched::DryRun) => Ok(Decision::DryRun { name }),
            Ok(Launched::AlreadyExists) => {
                // Another path created the Job between our check and our create. Its pod
                // carries its own JIT config; if that registration is gone, the runner never
                // comes online and the registration timeout replaces it.
                self.launched.lock().expect("lock").insert(name.clone());
                self.metrics.duplicates.fetch_add(1, Ordering::Relaxed);
                Ok(Decision::AlreadyLaunched { name })
            }
            Err(e) => {
                self.metrics.failures.fetch_add(1, Ordering::Relaxed);
                // Never leave a registered runner without a pod.
                if let Some(j) = &jit
                    && let Err(de) = github::delete_runner(gh, scope, j.runner_id).await
                {
                    tracing::warn!(runner = %name, error = %de, "could not deregister the unused runner");
                }
                Err(e)
            }
        }
    }

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
        self.metrics.running.store(running, Ordering::Relaxed);
        // Bound the dedupe memory to what exists (duplicates of anything older find the
        // backend runner, or a job that is no longer queued).
        self.launched
            .lock()
            .expect("lock")
            .retain(|n| seen.contains(n));
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
            for j in github::queued_jobs(clients.for_repo(&repo), &repo).await? {
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
            for r in github::list_runners(clients.for_scope(&scope), &scope).await? {
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
            self.launched.lock().expect("lock").remove(name);
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
            self.launched.lock().expect("lock").remove(name);
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
                .launch_job(
                    clients.for_repo(repo),
                    pool,
                    repo,
                    j.id,
                    j.run_attempt.max(1),
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

    /// Runs reconcile passes every `interval` until `shutdown` resolves. A failed pass is
    /// logged and retried at the next tick (the loop never dies on an API error). With a
    /// `leader` check, passes run only while it answers true.
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
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tick.tick() => {}
            }
            if !is_leader().await {
                continue;
            }
            match self.reconcile(clients).await {
                Ok(r) => tracing::info!(
                    launched = r
                        .decisions
                        .iter()
                        .filter(|(_, d)| matches!(d, Decision::Launched { .. }))
                        .count(),
                    reaped = r.reaped.len(),
                    "reconcile pass done"
                ),
                Err(e) => tracing::error!(error = %e, "reconcile pass failed"),
            }
        }
    }
}

/// One pool in `ghops runners status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoolStatus {
    /// Pool name.
    pub pool: String,
    /// `kubernetes` or `process`.
    pub backend: String,
    /// Capacity.
    pub max: u32,
    /// Warm runners wanted.
    pub min_idle: u32,
    /// Queued jobs this pool serves.
    pub queued: u64,
    /// Backend runners not finished (counting against `max`).
    pub live: u64,
    /// Backend runners finished and not yet cleaned up.
    pub finished: u64,
    /// Registered runners of our naming that are running a job.
    pub busy: u64,
    /// Registered, online and idle.
    pub idle: u64,
    /// Registered but offline (starting, or leftovers).
    pub offline: u64,
}

impl Orchestrator {
    /// Pools, queued jobs and runners by state (reads only).
    pub async fn status(&self, clients: &Clients) -> Result<Vec<PoolStatus>> {
        let mut out = Vec::new();
        for pool in &self.config.pools {
            let mut queued = 0;
            for repo in pool.repo_refs() {
                queued += github::queued_jobs(clients.for_repo(&repo), &repo)
                    .await?
                    .iter()
                    .filter(|j| {
                        self.config
                            .select_pool(&repo, &j.labels)
                            .is_some_and(|p| p.name == pool.name)
                    })
                    .count() as u64;
            }
            let live = self.backend.list(pool).await?;
            let names: BTreeSet<&str> = live.iter().map(|l| l.name.as_str()).collect();
            let (mut busy, mut idle, mut offline) = (0, 0, 0);
            for scope in pool.scopes() {
                for r in github::list_runners(clients.for_scope(&scope), &scope).await? {
                    if naming::parse_name(&r.name).is_none() {
                        continue;
                    }
                    if !names.contains(r.name.as_str()) && r.status == "online" && !r.busy {
                        continue;
                    }
                    if r.busy {
                        busy += 1;
                    } else if r.status == "online" {
                        idle += 1;
                    } else {
                        offline += 1;
                    }
                }
            }
            out.push(PoolStatus {
                pool: pool.name.clone(),
                backend: format!("{:?}", pool.backend).to_ascii_lowercase(),
                max: pool.max,
                min_idle: pool.min_idle,
                queued,
                live: live.iter().filter(|l| !l.finished).count() as u64,
                finished: live.iter().filter(|l| l.finished).count() as u64,
                busy,
                idle,
                offline,
            });
        }
        Ok(out)
    }
}
