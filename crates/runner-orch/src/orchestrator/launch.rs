//! A `workflow_job` event and the launch of one runner: dedupe (memory, then backend),
//! capacity, the re-check, the JIT config, the backend.

use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::Utc;
use gh_core::events::WorkflowJobEvent;
use gh_core::{GitHub, RepoRef};

use super::Decision;
use super::{InflightGuard, Orchestrator, is_live};
use crate::backend::{LaunchSpec, Launched};
use crate::config::PoolConfig;
use crate::error::Result;
use crate::github::{self, JitOutcome};
use crate::naming;

/// What re-checking a job came to.
enum Recheck {
    /// Not asked (the job was just listed as queued).
    Skipped,
    /// The job as GitHub has it now.
    Found(github::Job),
    /// No such job.
    Gone,
}

/// A job created less than [`FRESH`] ago (and not in the future by more than that: clocks
/// differ) is taken to be still queued when its `queued` event arrives: the event is news,
/// not a redelivery of an old one, and the re-check call is skipped. Were it cancelled in
/// that minute, its runner would be removed by the `completed` event or the next pass.
pub const FRESH: Duration = Duration::from_secs(60);

fn fresh(created_at: Option<&str>, now: chrono::DateTime<Utc>) -> bool {
    let Some(t) = created_at.and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok()) else {
        return false;
    };
    let age = now.signed_duration_since(t.with_timezone(&Utc));
    let fresh = chrono::Duration::from_std(FRESH).unwrap_or_default();
    age < fresh && age > -fresh
}

/// `GET actions/jobs/{id}` when `recheck`.
async fn recheck_job(gh: &GitHub, repo: &RepoRef, id: u64, recheck: bool) -> Result<Recheck> {
    if !recheck {
        return Ok(Recheck::Skipped);
    }
    Ok(match github::get_job(gh, repo, id).await? {
        Some(j) => Recheck::Found(j),
        None => Recheck::Gone,
    })
}

impl Orchestrator {
    /// Handles one `workflow_job` event: `queued` launches (after re-checking the job is still
    /// queued, unless the event is fresh: see [`FRESH`]), `completed` removes the runner of a job that finished without it; other actions
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
            "queued" => {
                let recheck = !fresh(job.created_at.as_deref(), Utc::now());
                self.launch_queued(gh, pool, &repo, job.id, attempt, recheck)
                    .await
            }
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
        self.launched.remove(name);
        self.metrics.reaped.fetch_add(1, Ordering::Relaxed);
        Ok(Decision::Cleaned {
            name: name.to_owned(),
        })
    }

    /// Launches the runner of one queued job: dedupe (memory, then backend), capacity,
    /// re-check the job is queued (`GET actions/jobs/{id}`: a webhook may be an old
    /// redelivery), JIT config, backend launch. GitHub calls per launch: 2.
    pub async fn launch_job(
        &self,
        gh: &GitHub,
        pool: &PoolConfig,
        repo: &RepoRef,
        job_id: u64,
        attempt: u64,
    ) -> Result<Decision> {
        self.launch_queued(gh, pool, repo, job_id, attempt, true)
            .await
    }

    /// [`Orchestrator::launch_job`]; without `recheck` (a reconcile pass has just listed the
    /// job as queued) the launch costs the JIT call only.
    pub(super) async fn launch_queued(
        &self,
        gh: &GitHub,
        pool: &PoolConfig,
        repo: &RepoRef,
        job_id: u64,
        attempt: u64,
        recheck: bool,
    ) -> Result<Decision> {
        let name = naming::runner_name(&repo.to_string(), job_id, attempt);
        if self.launched.contains(&name) {
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
            self.launched.insert(&name);
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
        match recheck_job(gh, repo, job_id, recheck).await? {
            Recheck::Skipped => {}
            Recheck::Found(j) if j.status == "queued" && j.run_attempt.max(1) == attempt => {}
            Recheck::Found(j) => {
                return Ok(Decision::NotQueued {
                    status: if j.run_attempt.max(1) != attempt {
                        format!("superseded by attempt {}", j.run_attempt)
                    } else {
                        j.status
                    },
                });
            }
            Recheck::Gone => {
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

    pub(super) async fn launch(
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
                        self.launched.insert(&name);
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
                self.launched.insert(&name);
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
                self.launched.insert(&name);
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_job_created_within_a_minute_skips_the_recheck() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-05T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert!(fresh(Some("2026-12-05T11:59:30Z"), now));
        assert!(fresh(Some("2026-12-05T12:00:20Z"), now), "a clock ahead");
        assert!(!fresh(Some("2026-12-05T11:58:59Z"), now));
        assert!(!fresh(Some("2026-12-05T12:01:01Z"), now));
        assert!(!fresh(Some("not a time"), now));
        assert!(!fresh(None, now));
    }
}
