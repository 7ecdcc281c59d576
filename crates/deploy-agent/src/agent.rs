//! One pass over a target: recover from the journal, discover unhandled deployments, apply the
//! policy, claim, run the hooks, report.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use gh_core::client::Conditional;
use gh_core::repo::encode_query;
use gh_core::retry::Idempotency;
use gh_core::{GitHub, RepoRef};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::error::AgentError;
use crate::hooks::{HookEnd, HookRun, run_hook, task_refusal};
use crate::journal::{Journal, Phase, key};

/// Which deployments run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// The newest unhandled deployment runs; older unhandled ones are marked superseded.
    #[default]
    Latest,
    /// Every unhandled deployment runs, oldest first.
    Queue,
}

impl std::str::FromStr for Policy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "latest" => Ok(Policy::Latest),
            "queue" => Ok(Policy::Queue),
            o => Err(format!("unknown policy {o:?} (latest, queue)")),
        }
    }
}

/// A repository and environment the agent serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The repository.
    pub repo: RepoRef,
    /// The environment.
    pub environment: String,
    /// Where the hooks live.
    pub hooks_dir: PathBuf,
    /// The policy.
    pub policy: Policy,
    /// This target's per-hook timeout (default: [`AgentOptions::hook_timeout`]).
    pub hook_timeout: Option<Duration>,
}

/// How the agent behaves.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    /// Written into every status this agent posts.
    pub agent_id: String,
    /// Per-hook timeout.
    pub hook_timeout: Duration,
    /// Between TERM and KILL.
    pub grace: Duration,
    /// Per-deployment logs go here.
    pub log_dir: PathBuf,
    /// Log size cap per deployment.
    pub log_cap: u64,
    /// `log_url` of statuses: `{id}`, `{repo}`, `{environment}` are replaced.
    pub log_url_template: Option<String>,
    /// Also set the original agent's `GITHUB_*` variables.
    pub legacy_env: bool,
    /// Run this deployment again even if it finished.
    pub redeploy: Option<u64>,
    /// Becomes true on shutdown.
    pub cancel: watch::Receiver<bool>,
    /// Run hooks as this user (`[agent] user`): the production setting, so hook code cannot
    /// read the agent's key file or state. `None`: hooks run as the agent's user.
    pub run_as: Option<gh_core::hardening::RunAs>,
}

/// A deployment, as the API (and the `deployment` webhook) carries it.
pub use gh_core::events::Deployment;

#[derive(Debug, Clone, Deserialize)]
struct Status {
    state: String,
    #[serde(default)]
    description: Option<String>,
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PassReport {
    /// Deployments run, with their final state.
    pub ran: Vec<(u64, String)>,
    /// Deployments marked superseded.
    pub superseded: Vec<u64>,
    /// Deployments left for another time, with why.
    pub skipped: Vec<(u64, String)>,
    /// Journal entries settled after a restart.
    pub recovered: Vec<u64>,
    /// A step failed and must be retried next pass (the list's ETag must not short-cut it).
    pub retry: bool,
    /// The agent is shutting down.
    pub shutdown: bool,
}

const TERMINAL: &[&str] = &["success", "failure", "error", "inactive"];

fn claim_prefix(agent: &str) -> String {
    format!("ghops-agent {agent}:")
}

async fn post_status(
    gh: &GitHub,
    repo: &RepoRef,
    id: u64,
    state: &str,
    description: &str,
    environment_url: Option<&str>,
    log_url: Option<&str>,
) -> Result<(), gh_core::Error> {
    let mut body = json!({"state": state, "description": truncate(description, 140)});
    if let Some(u) = environment_url {
        body["environment_url"] = json!(u);
    }
    if let Some(u) = log_url {
        body["log_url"] = json!(u);
    }
    // A repeated status is harmless; a lost one is not: retried like a read.
    gh.post::<Value>(
        &format!("{}/deployments/{id}/statuses", repo.api_path()),
        &body,
        Idempotency::Idempotent,
    )
    .await
    .map(|_| ())
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_owned();
    }
    s.chars().take(n - 1).collect::<String>() + "…"
}

/// Per-target memory between passes (ETag of the deployments list).
#[derive(Debug, Default, Clone)]
pub struct TargetState {
    etag: Option<String>,
    retry: bool,
}

/// One pass over `target`.
pub async fn run_once(
    gh: &GitHub,
    target: &Target,
    opts: &AgentOptions,
    journal: &Journal,
    state: &mut TargetState,
) -> Result<PassReport, AgentError> {
    let repo = &target.repo;
    let env = &target.environment;
    let mut report = PassReport::default();
    let prefix = key(&repo.to_string(), env, 0);
    let prefix = prefix.trim_end_matches('0');

    // 1. Recovery.
    for (k, phase) in journal.pending(prefix) {
        let Some(id) = k.rsplit('#').next().and_then(|i| i.parse::<u64>().ok()) else {
            continue;
        };
        let r = match &phase {
            Phase::Running => {
                post_status(
                    gh,
                    repo,
                    id,
                    "error",
                    "agent restarted during deploy",
                    None,
                    None,
                )
                .await
            }
            Phase::Done {
                state,
                description,
                environment_url,
                log_url,
            } => {
                post_status(
                    gh,
                    repo,
                    id,
                    state,
                    description,
                    environment_url.as_deref(),
                    log_url.as_deref(),
                )
                .await
            }
        };
        match r {
            Ok(()) => {
                if !gh.is_dry_run() {
                    journal.clear(&k)?;
                }
                report.recovered.push(id);
            }
            Err(e) => {
                tracing::warn!(id, error = %e, "could not settle a journal entry; next pass retries");
                report.retry = true;
            }
        }
    }

    // 2. Discovery: newest first, until the first finished deployment.
    let base = format!(
        "{}/deployments?environment={}&per_page=100",
        repo.api_path(),
        encode_query(env)
    );
    let first: Vec<Deployment> = match gh
        .get_conditional::<Vec<Deployment>>(&base, state.etag.as_deref())
        .await?
    {
        Conditional::NotModified if !state.retry && opts.redeploy.is_none() => {
            state.retry = report.retry;
            return Ok(report);
        }
        Conditional::NotModified => gh.get(&base).await?,
        Conditional::Modified { value, etag } => {
            state.etag = etag;
            value
        }
    };
    let mut unhandled: Vec<Deployment> = Vec::new();
    let mut page = first;
    let mut page_no = 1;
    'pages: loop {
        let full = page.len() >= 100;
        for d in std::mem::take(&mut page) {
            let statuses: Vec<Status> = gh
                .get(&format!(
                    "{}/deployments/{}/statuses?per_page=1",
                    repo.api_path(),
                    d.id
                ))
                .await?;
            let redeploy = opts.redeploy == Some(d.id);
            match statuses.first() {
                Some(s) if TERMINAL.contains(&s.state.as_str()) && !redeploy => {
                    // Everything older was handled (or superseded) before this one finished,
                    // unless a redeploy of an older one was asked for.
                    let wanted_older = opts
                        .redeploy
                        .is_some_and(|r| r < d.id && !unhandled.iter().any(|u| u.id == r));
                    if !wanted_older {
                        break 'pages;
                    }
                }
                Some(s) if s.state == "in_progress" && !redeploy => {
                    let desc = s.description.as_deref().unwrap_or_default();
                    if desc.starts_with(&claim_prefix(&opts.agent_id)) {
                        // Claimed by us, hooks never started (the journal would say so).
                        unhandled.push(d);
                    } else {
                        report
                            .skipped
                            .push((d.id, format!("in progress elsewhere: {desc}")));
                    }
                }
                _ => unhandled.push(d),
            }
        }
        if !full || page_no >= 100 {
            break;
        }
        page_no += 1;
        page = gh.get(&format!("{base}&page={page_no}")).await?;
        if page.is_empty() {
            break;
        }
    }

    // 3. Policy.
    let to_run: Vec<Deployment> = match target.policy {
        Policy::Queue => unhandled.into_iter().rev().collect(),
        Policy::Latest => {
            let mut it = unhandled.into_iter();
            let newest = it.next();
            if let Some(n) = &newest {
                for old in it {
                    let transient = old.transient_environment.unwrap_or(false);
                    let (st, desc) = if transient {
                        ("inactive", format!("superseded by #{}", n.id))
                    } else {
                        ("error", format!("superseded by #{}", n.id))
                    };
                    match post_status(gh, repo, old.id, st, &desc, None, None).await {
                        Ok(()) => report.superseded.push(old.id),
                        Err(e) => {
                            tracing::warn!(id = old.id, error = %e, "could not mark superseded");
                            report.retry = true;
                        }
                    }
                }
            }
            newest.into_iter().collect()
        }
    };

    // 4. Run.
    for d in to_run {
        if *opts.cancel.borrow() {
            report.shutdown = true;
            break;
        }
        match deploy(gh, target, opts, journal, &d).await? {
            Some(st) => {
                let shut = st == "shutdown";
                report.ran.push((d.id, st));
                if shut {
                    report.shutdown = true;
                    break;
                }
            }
            None => {
                report.retry = true;
                report
                    .skipped
                    .push((d.id, "claim failed; retried next pass".into()));
            }
        }
    }
    state.retry = report.retry;
    Ok(report)
}

/// Claims and runs one deployment; `None` when the claim could not be posted (nothing ran).
async fn deploy(
    gh: &GitHub,
    target: &Target,
    opts: &AgentOptions,
    journal: &Journal,
    d: &Deployment,
) -> Result<Option<String>, AgentError> {
    let repo = &target.repo;
    let k = key(&repo.to_string(), &target.environment, d.id);
    let log_url = opts.log_url_template.as_ref().map(|t| {
        t.replace("{id}", &d.id.to_string())
            .replace("{repo}", &repo.to_string())
            .replace("{environment}", &target.environment)
    });
    let task = d.task.clone().unwrap_or_else(|| "deploy".into());
    if let Some(why) = task_refusal(&task) {
        post_status(gh, repo, d.id, "error", &why, None, log_url.as_deref()).await?;
        return Ok(Some("error".into()));
    }
    let claim = format!(
        "{} deploying {}",
        claim_prefix(&opts.agent_id),
        short(&d.sha)
    );
    if gh.is_dry_run() {
        // The claim is reported as a planned write; no hook runs and nothing is journalled.
        post_status(
            gh,
            repo,
            d.id,
            "in_progress",
            &claim,
            None,
            log_url.as_deref(),
        )
        .await?;
        return Ok(Some("dry-run (hooks not run)".into()));
    }
    if let Err(e) = post_status(
        gh,
        repo,
        d.id,
        "in_progress",
        &claim,
        None,
        log_url.as_deref(),
    )
    .await
    {
        tracing::warn!(id = d.id, error = %e, "claim failed: nothing runs; next pass retries");
        return Ok(None);
    }
    journal.set(&k, Phase::Running)?;

    let dir = opts.log_dir.join(format!("{}-{}", repo.name, d.id));
    tokio::fs::create_dir_all(&dir).await?;
    let payload_file = dir.join("payload.json");
    tokio::fs::write(&payload_file, serde_json::to_vec(&d.payload)?).await?;
    let log_file = dir.join("hooks.log");
    let mut env = BTreeMap::new();
    let creator = d.creator.as_ref();
    for (k, v) in [
        ("GHOPS_TASK", task.clone()),
        ("GHOPS_DEPLOYMENT_ID", d.id.to_string()),
        ("GHOPS_DEPLOYMENT_URL", d.url.clone().unwrap_or_default()),
        ("GHOPS_REF", d.ref_name.clone()),
        ("GHOPS_SHA", d.sha.clone()),
        ("GHOPS_OWNER", repo.owner.clone()),
        ("GHOPS_REPO", repo.name.clone()),
        (
            "GHOPS_CREATOR",
            creator.map(|c| c.login.clone()).unwrap_or_default(),
        ),
        (
            "GHOPS_CREATOR_AVATAR",
            creator
                .and_then(|c| c.avatar_url.clone())
                .unwrap_or_default(),
        ),
        ("GHOPS_ENVIRONMENT", d.environment.clone()),
        (
            "GHOPS_DEPLOYMENT_PAYLOAD",
            payload_file.display().to_string(),
        ),
    ] {
        env.insert(k.to_owned(), v);
    }
    if opts.legacy_env {
        for (legacy, ours) in [
            ("GITHUB_DEPLOYMENT_ID", "GHOPS_DEPLOYMENT_ID"),
            ("GITHUB_REF", "GHOPS_REF"),
            ("GITHUB_SHA", "GHOPS_SHA"),
            ("GITHUB_TASK", "GHOPS_TASK"),
            ("GITHUB_ENVIRONMENT", "GHOPS_ENVIRONMENT"),
            ("GITHUB_REPO_OWNER", "GHOPS_OWNER"),
            ("GITHUB_REPO_NAME", "GHOPS_REPO"),
            ("GITHUB_DEPLOYMENT_PAYLOAD", "GHOPS_DEPLOYMENT_PAYLOAD"),
        ] {
            let v = env[ours].clone();
            env.insert(legacy.to_owned(), v);
        }
    }
    let run = |name: &str| {
        let path = target.hooks_dir.join(name);
        let env = &env;
        let log_file = &log_file;
        let cancel = opts.cancel.clone();
        let prefix = format!("[{}#{} {name}]", repo.name, d.id);
        async move {
            run_hook(HookRun {
                path: &path,
                env,
                cwd: &target.hooks_dir,
                timeout: target.hook_timeout.unwrap_or(opts.hook_timeout),
                grace: opts.grace,
                log_file,
                log_cap: opts.log_cap,
                prefix: &prefix,
                cancel,
                run_as: opts.run_as.as_ref(),
            })
            .await
        }
    };
    let exists = |name: &str| target.hooks_dir.join(name).is_file();
    let outcome: (String, String, Option<String>) = if !exists(&task) {
        ("error".into(), "unknown task".into(), None)
    } else {
        let mut end = HookEnd::Success;
        let mut out = BTreeMap::new();
        let mut failed = "";
        for name in ["pre_task", task.as_str()] {
            if name == "pre_task" && !exists(name) {
                continue;
            }
            let (e, o) = run(name).await?;
            end = e;
            if end != HookEnd::Success {
                // Only what the failing hook itself reported describes the failure.
                out = o;
                failed = name;
                break;
            }
            out.extend(o);
        }
        let post = if end == HookEnd::Success {
            "post_success"
        } else {
            "post_failure"
        };
        if exists(post) && end != HookEnd::Cancelled {
            let _ = run(post).await?;
        }
        match end {
            HookEnd::Success => (
                "success".into(),
                out.get("description")
                    .cloned()
                    .unwrap_or_else(|| format!("deployed {}", short(&d.sha))),
                out.get("environment_url").cloned(),
            ),
            // The status description is public: never the hook's output (a last stderr line
            // can hold a secret), only what the hook chose to report in $GHOPS_OUTPUT.
            HookEnd::Failure(how) => (
                "failure".into(),
                out.get("description")
                    .cloned()
                    .unwrap_or_else(|| format!("hook {failed} {how}")),
                None,
            ),
            HookEnd::TimedOut(t) => ("failure".into(), format!("timed out after {t:?}"), None),
            HookEnd::Cancelled => ("error".into(), "agent shut down".into(), None),
        }
    };
    let shutdown = outcome.1 == "agent shut down";
    journal.set(
        &k,
        Phase::Done {
            state: outcome.0.clone(),
            description: outcome.1.clone(),
            environment_url: outcome.2.clone(),
            log_url: log_url.clone(),
        },
    )?;
    match post_status(
        gh,
        repo,
        d.id,
        &outcome.0,
        &outcome.1,
        outcome.2.as_deref(),
        log_url.as_deref(),
    )
    .await
    {
        Ok(()) => journal.clear(&k)?,
        Err(e) => {
            tracing::warn!(id = d.id, error = %e, "final status not posted; the next pass posts it (the hook is not re-run)")
        }
    }
    Ok(Some(if shutdown {
        "shutdown".into()
    } else {
        outcome.0
    }))
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(7)]
}

/// The default agent identity: the host name.
pub fn default_agent_id() -> String {
    hostname::get()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "ghops-agent".into())
}
