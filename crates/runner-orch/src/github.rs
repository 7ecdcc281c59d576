//! The GitHub calls runner orchestration makes, over gh-core's client (retries, rate limits,
//! pagination and `--dry-run` come from there).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use gh_core::client::Conditional;
use gh_core::retry::Idempotency;
use gh_core::{GitHub, RepoRef};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::config::Scope;
use crate::error::Result;

fn one() -> u64 {
    1
}

/// A workflow job as `GET actions/jobs/{id}` and `GET actions/runs/{id}/jobs` return it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Job id.
    pub id: u64,
    /// Run id.
    pub run_id: u64,
    /// Run attempt.
    #[serde(default = "one")]
    pub run_attempt: u64,
    /// `queued`, `in_progress`, `completed`, `waiting`, ...
    pub status: String,
    /// Conclusion once completed.
    #[serde(default)]
    pub conclusion: Option<String>,
    /// Job name.
    #[serde(default)]
    pub name: String,
    /// `runs-on` labels.
    #[serde(default)]
    pub labels: Vec<String>,
    /// The runner that took it.
    #[serde(default)]
    pub runner_name: Option<String>,
}

/// A registered self-hosted runner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Runner {
    /// Runner id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// `online` or `offline`.
    #[serde(default)]
    pub status: String,
    /// Running a job right now.
    #[serde(default)]
    pub busy: bool,
}

impl Runner {
    /// Online or busy: the runner process connected.
    pub fn is_up(&self) -> bool {
        self.busy || self.status == "online"
    }
}

/// A just-generated JIT runner config. `Debug` never shows the config.
#[derive(Clone)]
pub struct JitConfig {
    /// The registered runner's id.
    pub runner_id: u64,
    /// The base64 JIT config handed to the runner (secret: it registers a runner).
    pub encoded: String,
}

impl std::fmt::Debug for JitConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JitConfig")
            .field("runner_id", &self.runner_id)
            .field("encoded", &"<redacted>")
            .finish()
    }
}

/// `GET /repos/{o}/{r}/actions/jobs/{id}`; `None` when gone.
pub async fn get_job(gh: &GitHub, repo: &RepoRef, id: u64) -> Result<Option<Job>> {
    Ok(gh
        .get_opt(&format!("{}/actions/jobs/{id}", repo.api_path()))
        .await?)
}

/// The last answer of each list endpoint a reconcile pass reads, with its ETag: the next read
/// of the same list starts with a conditional request (`If-None-Match`, gh-core's
/// [`gh_core::client::Pager::first_page_if_none_match`]), and a `304 Not Modified`, which
/// costs no rate-limit unit, reuses the stored answer. An idle pool's pass is then all 304s.
/// A list longer than one page (100 items) is read to its end through the same walk and not
/// stored. Entries not read during a pass are dropped at its end ([`ListCache::end_pass`]),
/// so the cache holds one pass's lists at most.
#[derive(Debug, Default)]
pub struct ListCache {
    entries: Mutex<HashMap<String, Entry>>,
    /// Conditional reads answered 304 (no rate-limit unit spent).
    pub not_modified: AtomicU64,
}

#[derive(Debug)]
struct Entry {
    etag: String,
    items: Vec<Value>,
    used: bool,
}

const PAGE: usize = 100;

impl ListCache {
    /// Every item of the list at `path` (the array in `field`).
    pub async fn list<T: DeserializeOwned>(
        &self,
        gh: &GitHub,
        path: &str,
        field: &str,
    ) -> Result<Vec<T>> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let first = format!("{path}{sep}per_page={PAGE}");
        let etag = self
            .entries
            .lock()
            .expect("lock")
            .get(&first)
            .map(|e| e.etag.clone());
        let mut pager = gh.pages(&first, Some(field));
        let answer = pager
            .first_page_if_none_match::<Value>(etag.as_deref())
            .await?;
        let items = match answer {
            // More than one page: the rest of the walk, nothing stored.
            Conditional::Modified { value, .. } if pager.has_next() => {
                self.entries.lock().expect("lock").remove(&first);
                let mut all = value;
                while let Some(page) = pager.next_page::<Value>().await? {
                    all.extend(page);
                }
                all
            }
            answer => match self.store(&first, answer) {
                Some(items) => items,
                // A 304 for an entry dropped meanwhile: the walk still stands before the
                // first page, read it (and any next) unconditionally.
                None => {
                    let mut all = Vec::new();
                    while let Some(page) = pager.next_page::<Value>().await? {
                        all.extend(page);
                    }
                    all
                }
            },
        };
        serde_json::from_value(Value::Array(items)).map_err(|e| {
            gh_core::Error::Decode {
                method: "GET".into(),
                path: first,
                message: e.to_string(),
            }
            .into()
        })
    }

    /// Records a conditional answer of a one-page list; its items (`None` for a 304 whose
    /// entry is gone).
    fn store(&self, first: &str, answer: Conditional<Vec<Value>>) -> Option<Vec<Value>> {
        let mut entries = self.entries.lock().expect("lock");
        match answer {
            Conditional::NotModified => {
                self.not_modified.fetch_add(1, Ordering::Relaxed);
                // No ETag is sent without an entry, so there is one.
                entries.get_mut(first).map(|e| {
                    e.used = true;
                    e.items.clone()
                })
            }
            Conditional::Modified { value, etag } => match etag {
                Some(etag) => {
                    entries.insert(
                        first.to_owned(),
                        Entry {
                            etag,
                            items: value.clone(),
                            used: true,
                        },
                    );
                    Some(value)
                }
                None => {
                    entries.remove(first);
                    Some(value)
                }
            },
        }
    }

    /// Drops the lists not read since the last call (runs that ended, for instance).
    pub fn end_pass(&self) {
        let mut entries = self.entries.lock().expect("lock");
        entries.retain(|_, e| std::mem::take(&mut e.used));
    }

    /// Lists held now.
    pub fn len(&self) -> usize {
        self.entries.lock().expect("lock").len()
    }

    /// True when no list is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Queued jobs of `repo`: the jobs with status `queued` in its queued and in-progress runs
/// (a run with one job running and one waiting for a runner is `in_progress`), on any branch,
/// re-runs included (the jobs endpoint returns the latest attempt). Every list is read through
/// `cache` (conditional requests). No REST endpoint lists queued jobs for a whole
/// organisation, so this is per repository.
pub async fn queued_jobs(gh: &GitHub, repo: &RepoRef, cache: &ListCache) -> Result<Vec<Job>> {
    #[derive(Deserialize)]
    struct Run {
        id: u64,
    }
    let mut jobs = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for status in ["queued", "in_progress"] {
        let runs: Vec<Run> = cache
            .list(
                gh,
                &format!("{}/actions/runs?status={status}", repo.api_path()),
                "workflow_runs",
            )
            .await?;
        for run in runs {
            if !seen.insert(run.id) {
                continue;
            }
            let js: Vec<Job> = cache
                .list(
                    gh,
                    &format!("{}/actions/runs/{}/jobs", repo.api_path(), run.id),
                    "jobs",
                )
                .await?;
            jobs.extend(js.into_iter().filter(|j| j.status == "queued"));
        }
    }
    jobs.sort_by_key(|j| j.id);
    jobs.dedup_by_key(|j| j.id);
    Ok(jobs)
}

/// Every self-hosted runner registered in `scope` (one organisation-level list for an `org`
/// pool), read through `cache`.
pub async fn list_runners(gh: &GitHub, scope: &Scope, cache: &ListCache) -> Result<Vec<Runner>> {
    cache
        .list(
            gh,
            &format!("{}/actions/runners", scope.api_prefix()),
            "runners",
        )
        .await
}

/// The runner called `name` in `scope`, if registered.
pub async fn find_runner(gh: &GitHub, scope: &Scope, name: &str) -> Result<Option<Runner>> {
    let path = format!(
        "{}/actions/runners?name={}",
        scope.api_prefix(),
        gh_core::repo::encode_query(name)
    );
    let found: Vec<Runner> = gh.get_all(&path, Some("runners")).await?;
    Ok(found.into_iter().find(|r| r.name == name))
}

/// `DELETE {scope}/actions/runners/{id}` (404 counts as done).
pub async fn delete_runner(gh: &GitHub, scope: &Scope, id: u64) -> Result<()> {
    Ok(gh
        .delete(&format!("{}/actions/runners/{id}", scope.api_prefix()))
        .await?)
}

/// What generating a JIT config came to.
#[derive(Debug)]
pub enum JitOutcome {
    /// A fresh runner registration.
    Created(JitConfig),
    /// `--dry-run`: nothing was sent.
    DryRun,
    /// 409: a runner of that name is registered already.
    NameTaken,
}

/// `POST {scope}/actions/runners/generate-jitconfig` with the deterministic name, the pool's
/// group and labels, and the runner's work folder (relative to the runner's directory).
/// Retried on 5xx by gh-core: a repeat after an ambiguous failure is safe because GitHub
/// answers 409 for an existing name ([`JitOutcome::NameTaken`]).
pub async fn generate_jit(
    gh: &GitHub,
    scope: &Scope,
    name: &str,
    runner_group_id: u64,
    labels: &[String],
    work_folder: &str,
) -> Result<JitOutcome> {
    #[derive(Deserialize)]
    struct Answer {
        runner: RunnerId,
        encoded_jit_config: String,
    }
    #[derive(Deserialize)]
    struct RunnerId {
        id: u64,
    }
    let path = format!("{}/actions/runners/generate-jitconfig", scope.api_prefix());
    let body = json!({
        "name": name,
        "runner_group_id": runner_group_id,
        "labels": labels,
        "work_folder": work_folder,
    });
    match gh
        .post::<Answer>(&path, &body, Idempotency::Idempotent)
        .await
    {
        Ok(Some(a)) => Ok(JitOutcome::Created(JitConfig {
            runner_id: a.runner.id,
            encoded: a.encoded_jit_config,
        })),
        Ok(None) => Ok(JitOutcome::DryRun),
        Err(e) if e.is_status(409) => Ok(JitOutcome::NameTaken),
        Err(e) => Err(e.into()),
    }
}
