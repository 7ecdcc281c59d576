//! One pass over a target: recover from the journal, discover unhandled deployments, apply the
//! policy, claim, run the hooks, report.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use gh_core::client::Conditional;
use gh_core::{GitHub, RepoRef};
use serde::{Deserialize, Serialize};
use serde_json::json;
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
    /// github-deploy-agent compatibility: also set its ten `GITHUB_*` variables, run hooks from
    /// [`AgentOptions::legacy_cwd`], and deploy even when `pre_task` fails.
    pub legacy_env: bool,
    /// The hooks' working directory under `legacy_env` (the original ran them from the agent's
    /// own directory); `None`: the hooks directory.
    pub legacy_cwd: Option<PathBuf>,
    /// Run this deployment again even if it finished.
    pub redeploy: Option<u64>,
    /// Becomes true on shutdown.
    pub cancel: watch::Receiver<bool>,
    /// Run hooks as this user (`[agent] user`): the production setting, so hook code cannot
    /// read the agent's key file or state. `None`: hooks run as the agent's user.
    pub run_as: Option<gh_core::hardening::RunAs>,
    /// Touched after every completed pass (a liveness probe checks its age); `None`: none.
    pub heartbeat_file: Option<PathBuf>,
}

/// A deployment, as the API (and the `deployment` webhook) carries it.
pub use gh_core::deployments::Deployment;

use gh_core::deployments::{DeploymentStatus, is_terminal};

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

fn claim_prefix(agent: &str) -> String {
    format!("ghops-agent {agent}:")
}

/// Test-only fault injection: in a debug build, with `GHOPS_TEST_CRASH_AT=<phase>` in the
/// environment, the process aborts at that phase as if killed (no destructor, no status
/// posted). Release builds compile it out. Phases: `claimed`, `hook_started`, `hooks_done`,
/// `done_journalled`, `final_posted`, `recovery_posted`.
pub fn crash_point(phase: &str) {
    #[cfg(debug_assertions)]
    if std::env::var("GHOPS_TEST_CRASH_AT").is_ok_and(|p| p == phase) {
        tracing::error!(phase, "GHOPS_TEST_CRASH_AT: aborting");
        std::process::abort();
    }
    #[cfg(not(debug_assertions))]
    let _ = phase;
}

/// A deployment's statuses, newest first (at most 100: the claims since the last terminal
/// status are what matters, and there are never that many).
async fn statuses(
    gh: &GitHub,
    repo: &RepoRef,
    id: u64,
    n: u32,
) -> Result<Vec<DeploymentStatus>, gh_core::Error> {
    gh_core::deployments::statuses(gh, repo, id, n as usize).await
}

/// The claim that holds a deployment: the earliest `in_progress` status since its latest
/// terminal one (`statuses` newest first). GitHub numbers statuses in the order it stores
/// them, so every agent that reads the list after posting its claim agrees on the holder.
pub fn lock_holder(statuses: &[DeploymentStatus]) -> Option<&DeploymentStatus> {
    statuses
        .iter()
        .take_while(|s| !is_terminal(&s.state))
        .filter(|s| s.state == "in_progress")
        .last()
}

/// Whether `s` is this agent's claim: by status id when the claim's answer arrived, else by
/// the agent's identity in the description.
fn is_ours(s: &DeploymentStatus, agent_id: &str, our_status: Option<u64>) -> bool {
    match our_status {
        Some(id) => s.id == id,
        None => s
            .description
            .as_deref()
            .is_some_and(|d| d.starts_with(&claim_prefix(agent_id))),
    }
}

/// A status to post.
struct NewStatus<'a> {
    state: &'a str,
    description: String,
    environment_url: Option<&'a str>,
    log_url: Option<&'a str>,
}

/// Posts a status exactly once: the POST is never blindly repeated. When its answer is lost
/// (5xx, no answer) the statuses are read back: if the status is there (the write landed) it
/// is not posted again; if not, the POST is retried (a bounded number of times). A refusal
/// (4xx) is final. Returns the new status's id when known (`None` in `--dry-run` and when the
/// status was found by reading back).
async fn post_status_once(
    gh: &GitHub,
    repo: &RepoRef,
    id: u64,
    st: &NewStatus<'_>,
) -> Result<Option<u64>, gh_core::Error> {
    let description = truncate(&st.description, 140);
    let mut body = json!({"state": st.state, "description": description});
    if let Some(u) = st.environment_url {
        body["environment_url"] = json!(u);
    }
    if let Some(u) = st.log_url {
        body["log_url"] = json!(u);
    }
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let err = match gh_core::deployments::create_status(gh, repo, id, &body).await {
            Ok(s) => return Ok(s.map(|s| s.id)),
            Err(e) => e,
        };
        if matches!(&err, gh_core::Error::Api { status, .. } if (400..500).contains(status)) {
            return Err(err);
        }
        // The answer is lost: did the write land? Newest first, down to the latest terminal
        // status (a status before it is an older round's).
        let landed = match statuses(gh, repo, id, 100).await {
            Ok(list) => {
                let mut found = false;
                for s in &list {
                    if s.state == st.state && s.description.as_deref() == Some(&description) {
                        found = true;
                        break;
                    }
                    if is_terminal(&s.state) {
                        break;
                    }
                }
                found
            }
            Err(_) => return Err(err),
        };
        if landed {
            tracing::info!(
                id,
                state = st.state,
                "status answer lost but the status landed; not posted again"
            );
            return Ok(None);
        }
        if attempt >= 4 {
            return Err(err);
        }
        tracing::warn!(id, state = st.state, attempt, error = %err, "status not posted; retrying");
        tokio::time::sleep(gh.retry_policy().backoff(attempt)).await;
    }
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
    progress: Option<std::sync::Arc<crate::metrics::TargetMetrics>>,
}

impl TargetState {
    /// A fresh state whose passes report progress (pass and deployment starts) to `metrics`.
    pub fn observed(metrics: std::sync::Arc<crate::metrics::TargetMetrics>) -> Self {
        TargetState {
            progress: Some(metrics),
            ..Default::default()
        }
    }

    fn touch(&self) {
        if let Some(p) = &self.progress {
            p.touch();
        }
    }
}

/// Settles one journal entry: reads the deployment's latest status first, so a status that
/// landed before a crash is never posted twice. `Ok(true)`: settled (the entry is cleared).
async fn recover(
    gh: &GitHub,
    repo: &RepoRef,
    journal: &Journal,
    k: &str,
    id: u64,
    phase: &Phase,
) -> Result<bool, AgentError> {
    let latest = statuses(gh, repo, id, 1).await?;
    let settled = latest.first().is_some_and(|s| is_terminal(&s.state));
    if !settled {
        let st = match phase {
            Phase::Running => NewStatus {
                state: "error",
                description: "agent restarted during deploy".into(),
                environment_url: None,
                log_url: None,
            },
            Phase::Done {
                state,
                description,
                environment_url,
                log_url,
            } => NewStatus {
                state,
                description: description.clone(),
                environment_url: environment_url.as_deref(),
                log_url: log_url.as_deref(),
            },
        };
        post_status_once(gh, repo, id, &st).await?;
        crash_point("recovery_posted");
    }
    if gh.is_dry_run() {
        return Ok(false);
    }
    journal.clear(k)?;
    Ok(true)
}

/// An unhandled deployment, and whether this agent already holds its claim (posted before a
/// crash, hooks never started).
struct Pending {
    d: Deployment,
    claimed: bool,
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
    state.touch();
    let prefix = key(&repo.to_string(), env, 0);
    let prefix = prefix.trim_end_matches('0');

    // 1. Recovery. An entry that cannot be settled now stays: its deployment is never
    //    started again (discovery skips it), the next pass retries.
    let pending = journal.pending(prefix);
    for (k, phase) in &pending {
        let Some(id) = k.rsplit('#').next().and_then(|i| i.parse::<u64>().ok()) else {
            continue;
        };
        match recover(gh, repo, journal, k, id, phase).await {
            Ok(true) => report.recovered.push(id),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(id, error = %e, "could not settle a journal entry; next pass retries (the hook is never re-run)");
                report.retry = true;
            }
        }
    }
    let journalled: Vec<u64> = pending
        .iter()
        .filter_map(|(k, _)| k.rsplit('#').next().and_then(|i| i.parse().ok()))
        .collect();

    // 2. Discovery: newest first, until the first finished deployment. The list's ETag is
    //    kept only once the whole pass succeeded: a pass that failed half-way must not be
    //    short-cut by a 304 next time.
    //    One walk of gh-core's pager: the first page conditional, later pages by `Link`.
    let base = gh_core::deployments::list_path(repo, env, 100);
    let mut new_etag = state.etag.clone();
    let mut pager = gh.pages(&base, None);
    let first: Vec<Deployment> = match pager
        .first_page_if_none_match::<Deployment>(state.etag.as_deref())
        .await?
    {
        Conditional::NotModified if !state.retry && !report.retry && opts.redeploy.is_none() => {
            return Ok(report);
        }
        // Unchanged, but a retry or a redeploy needs the list: read it unconditionally.
        Conditional::NotModified => pager.next_page().await?.unwrap_or_default(),
        Conditional::Modified { value, etag } => {
            new_etag = etag;
            value
        }
    };
    let mut unhandled: Vec<Pending> = Vec::new();
    let mut page = first;
    let mut page_no = 1;
    'pages: loop {
        for d in std::mem::take(&mut page) {
            if journalled.contains(&d.id) {
                if !report.recovered.contains(&d.id) {
                    report
                        .skipped
                        .push((d.id, "journalled: settled by recovery, never re-run".into()));
                }
                continue;
            }
            let latest = statuses(gh, repo, d.id, 1).await?;
            let redeploy = opts.redeploy == Some(d.id);
            match latest.first() {
                Some(s) if is_terminal(&s.state) && !redeploy => {
                    // Everything older was handled (or superseded) before this one finished,
                    // unless a redeploy of an older one was asked for.
                    let wanted_older = opts
                        .redeploy
                        .is_some_and(|r| r < d.id && !unhandled.iter().any(|u| u.d.id == r));
                    if !wanted_older {
                        break 'pages;
                    }
                }
                Some(s) if s.state == "in_progress" && !redeploy => {
                    let all = statuses(gh, repo, d.id, 100).await?;
                    match lock_holder(&all) {
                        // Claimed by us before a restart, hooks never started (the journal
                        // would say so): the claim stands, it is not posted again.
                        Some(h) if is_ours(h, &opts.agent_id, None) => {
                            unhandled.push(Pending { d, claimed: true })
                        }
                        h => {
                            let desc = h.and_then(|h| h.description.clone()).unwrap_or_default();
                            report
                                .skipped
                                .push((d.id, format!("in progress elsewhere: {desc}")));
                        }
                    }
                }
                _ => unhandled.push(Pending { d, claimed: false }),
            }
        }
        if page_no >= 100 {
            break;
        }
        page_no += 1;
        match pager.next_page().await? {
            Some(p) if !p.is_empty() => page = p,
            _ => break,
        }
    }

    // 3. Policy. Under `latest` the older unhandled deployments are superseded by the agent
    //    that wins the newest one's lock (so two agents never both mark them).
    let (to_run, older): (Vec<Pending>, Vec<Deployment>) = match target.policy {
        Policy::Queue => (unhandled.into_iter().rev().collect(), Vec::new()),
        Policy::Latest => {
            let mut it = unhandled.into_iter();
            let newest = it.next();
            (newest.into_iter().collect(), it.map(|p| p.d).collect())
        }
    };

    // 4. Run.
    for p in to_run {
        if *opts.cancel.borrow() {
            report.shutdown = true;
            break;
        }
        state.touch();
        let sup = Supersede {
            older: &older,
            report: &mut report,
        };
        match deploy(gh, target, opts, journal, &p.d, p.claimed, sup).await? {
            Deployed::Ran(st) => {
                let shut = st == "shutdown";
                report.ran.push((p.d.id, st));
                if shut {
                    report.shutdown = true;
                    break;
                }
            }
            Deployed::ClaimFailed => {
                report.retry = true;
                report
                    .skipped
                    .push((p.d.id, "claim failed; retried next pass".into()));
            }
            Deployed::Lost(holder) => {
                report
                    .skipped
                    .push((p.d.id, format!("claimed first by another agent: {holder}")));
            }
        }
    }
    state.retry = report.retry;
    if !report.retry {
        state.etag = new_etag;
    }
    Ok(report)
}

/// What [`deploy`] did.
enum Deployed {
    /// Ran (or was refused) with this final state (`shutdown` when the agent stopped it).
    Ran(String),
    /// The claim could not be posted: nothing ran.
    ClaimFailed,
    /// Another agent's claim came first: nothing ran. Its description.
    Lost(String),
}

/// Older deployments that the one being deployed supersedes, and where to report them.
struct Supersede<'a> {
    older: &'a [Deployment],
    report: &'a mut PassReport,
}

impl Supersede<'_> {
    /// Marks each older deployment `inactive` (transient) or `error` "superseded by #N".
    async fn post(self, gh: &GitHub, repo: &RepoRef, newest: u64) {
        for old in self.older {
            let transient = old.transient_environment.unwrap_or(false);
            let st = NewStatus {
                state: if transient { "inactive" } else { "error" },
                description: format!("superseded by #{newest}"),
                environment_url: None,
                log_url: None,
            };
            match post_status_once(gh, repo, old.id, &st).await {
                Ok(_) => self.report.superseded.push(old.id),
                Err(e) => {
                    tracing::warn!(id = old.id, error = %e, "could not mark superseded");
                    self.report.retry = true;
                }
            }
        }
    }
}

/// Claims and runs one deployment; supersedes `sup.older` once it holds the deployment.
async fn deploy(
    gh: &GitHub,
    target: &Target,
    opts: &AgentOptions,
    journal: &Journal,
    d: &Deployment,
    claimed: bool,
    sup: Supersede<'_>,
) -> Result<Deployed, AgentError> {
    let repo = &target.repo;
    let k = key(&repo.to_string(), &target.environment, d.id);
    let log_url = opts.log_url_template.as_ref().map(|t| {
        t.replace("{id}", &d.id.to_string())
            .replace("{repo}", &repo.to_string())
            .replace("{environment}", &target.environment)
    });
    let task = d.task.clone().unwrap_or_else(|| "deploy".into());
    if let Some(why) = task_refusal(&task) {
        let st = NewStatus {
            state: "error",
            description: why,
            environment_url: None,
            log_url: log_url.as_deref(),
        };
        post_status_once(gh, repo, d.id, &st).await?;
        sup.post(gh, repo, d.id).await;
        return Ok(Deployed::Ran("error".into()));
    }
    let claim = NewStatus {
        state: "in_progress",
        description: format!(
            "{} deploying {}",
            claim_prefix(&opts.agent_id),
            short(&d.sha)
        ),
        environment_url: None,
        log_url: log_url.as_deref(),
    };
    if gh.is_dry_run() {
        // The claim is reported as a planned write; no hook runs and nothing is journalled.
        sup.post(gh, repo, d.id).await;
        post_status_once(gh, repo, d.id, &claim).await?;
        return Ok(Deployed::Ran("dry-run (hooks not run)".into()));
    }
    let mut ours = None;
    if !claimed {
        match post_status_once(gh, repo, d.id, &claim).await {
            Ok(id) => ours = id,
            Err(e) => {
                tracing::warn!(id = d.id, error = %e, "claim failed: nothing runs; next pass retries");
                return Ok(Deployed::ClaimFailed);
            }
        }
    }
    crash_point("claimed");
    // The lock: the earliest claim since the last terminal status holds the deployment. Read
    // after our claim landed, the list holds every claim posted before ours, so two agents
    // agree on the one that runs.
    let all = match statuses(gh, repo, d.id, 100).await {
        Ok(all) => all,
        Err(e) => {
            // Our claim stands; the next pass reads again and continues if it holds.
            tracing::warn!(id = d.id, error = %e, "could not read the claims back; next pass retries");
            return Ok(Deployed::ClaimFailed);
        }
    };
    match lock_holder(&all) {
        Some(h) if is_ours(h, &opts.agent_id, ours) => {}
        None if all.first().is_some_and(|s| is_terminal(&s.state)) => {
            // Finished since our claim: another agent's claim came first and it ran.
            return Ok(Deployed::Lost(format!(
                "finished meanwhile ({})",
                all[0].state
            )));
        }
        None => {
            // Our claim is not visible yet (a lagging read): the next pass reads again.
            tracing::warn!(id = d.id, "the claim is not visible yet; next pass retries");
            return Ok(Deployed::ClaimFailed);
        }
        Some(h) => {
            let desc = h.description.clone().unwrap_or_default();
            tracing::info!(id = d.id, holder = %desc, "another agent claimed this deployment first; not running it");
            return Ok(Deployed::Lost(desc));
        }
    }
    sup.post(gh, repo, d.id).await;
    journal.set(&k, Phase::Running)?;

    let outcome = run_hooks(target, opts, d, &task).await;
    crash_point("hooks_done");
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
    crash_point("done_journalled");
    let fin = NewStatus {
        state: &outcome.0,
        description: outcome.1.clone(),
        environment_url: outcome.2.as_deref(),
        log_url: log_url.as_deref(),
    };
    match post_status_once(gh, repo, d.id, &fin).await {
        Ok(_) => {
            crash_point("final_posted");
            journal.clear(&k)?
        }
        Err(e) => {
            tracing::warn!(id = d.id, error = %e, "final status not posted; the next pass posts it (the hook is not re-run)")
        }
    }
    Ok(Deployed::Ran(if shutdown {
        "shutdown".into()
    } else {
        outcome.0
    }))
}

/// Runs the hooks of a claimed deployment; never fails: whatever goes wrong becomes the
/// outcome `(state, description, environment_url)` that is reported.
async fn run_hooks(
    target: &Target,
    opts: &AgentOptions,
    d: &Deployment,
    task: &str,
) -> (String, String, Option<String>) {
    let repo = &target.repo;
    let dir = opts.log_dir.join(format!("{}-{}", repo.name, d.id));
    let payload_file = dir.join("payload.json");
    let prepared = async {
        tokio::fs::create_dir_all(&dir).await?;
        let payload = serde_json::to_vec(&d.payload).map_err(std::io::Error::other)?;
        tokio::fs::write(&payload_file, payload).await
    }
    .await;
    if let Err(e) = prepared {
        tracing::error!(target: gh_core::output::AGENT, repo = %repo, deployment = d.id, error = %e, "could not prepare the hook files");
        return (
            "error".into(),
            format!("agent could not prepare the hooks ({})", e.kind()),
            None,
        );
    }
    let log_file = dir.join("hooks.log");
    let env = hook_env(repo, d, task, &payload_file, opts.legacy_env);
    let cwd = if opts.legacy_env {
        opts.legacy_cwd
            .clone()
            .unwrap_or_else(|| target.hooks_dir.clone())
    } else {
        target.hooks_dir.clone()
    };
    let run = |name: &str| {
        let path = target.hooks_dir.join(name);
        let (env, log_file, cwd) = (&env, &log_file, &cwd);
        let cancel = opts.cancel.clone();
        let prefix = format!("[{}#{} {name}]", repo.name, d.id);
        let name = name.to_owned();
        async move {
            match run_hook(HookRun {
                path: &path,
                env,
                cwd,
                timeout: target.hook_timeout.unwrap_or(opts.hook_timeout),
                grace: opts.grace,
                log_file,
                log_cap: opts.log_cap,
                prefix: &prefix,
                cancel,
                run_as: opts.run_as.as_ref(),
            })
            .await
            {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(target: gh_core::output::AGENT, hook = %name, error = %e, "hook failed to run");
                    (
                        HookEnd::Failure(format!("failed to run ({})", e.kind())),
                        Default::default(),
                    )
                }
            }
        }
    };
    let exists = |name: &str| target.hooks_dir.join(name).is_file();
    if !exists(task) {
        return ("error".into(), "unknown task".into(), None);
    }
    let mut end = HookEnd::Success;
    let mut out = BTreeMap::new();
    let mut failed = "";
    for name in ["pre_task", task] {
        if name == "pre_task" && !exists(name) {
            continue;
        }
        let (e, o) = run(name).await;
        if name == "pre_task" && opts.legacy_env && matches!(e, HookEnd::Failure(_)) {
            // github-deploy-agent logs a failed pre_task and deploys anyway.
            tracing::warn!(target: gh_core::output::AGENT, repo = %repo, deployment = d.id, outcome = ?e, "pre_task failed; deploying anyway (--legacy-env)");
            continue;
        }
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
        // A post hook reports nothing: whatever it does (fail, not start), the outcome stands.
        let (e, _) = run(post).await;
        if e != HookEnd::Success {
            tracing::warn!(target: gh_core::output::AGENT, repo = %repo, deployment = d.id, hook = post, outcome = ?e, "post hook failed; the deployment's outcome stands");
        }
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
}

/// The variables a hook gets (besides `GHOPS_OUTPUT`). With `legacy`, also exactly the ten
/// variables github-deploy-agent sets, with its names and values.
pub fn hook_env(
    repo: &RepoRef,
    d: &Deployment,
    task: &str,
    payload_file: &std::path::Path,
    legacy: bool,
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    let creator = d.creator.as_ref();
    let login = creator.map(|c| c.login.clone()).unwrap_or_default();
    let avatar = creator
        .and_then(|c| c.avatar_url.clone())
        .unwrap_or_default();
    let url = d.url.clone().unwrap_or_default();
    for (k, v) in [
        ("GHOPS_TASK", task.to_owned()),
        ("GHOPS_DEPLOYMENT_ID", d.id.to_string()),
        ("GHOPS_DEPLOYMENT_URL", url.clone()),
        ("GHOPS_REF", d.ref_name.clone()),
        ("GHOPS_SHA", d.sha.clone()),
        ("GHOPS_OWNER", repo.owner.clone()),
        ("GHOPS_REPO", repo.name.clone()),
        ("GHOPS_CREATOR", login.clone()),
        ("GHOPS_CREATOR_AVATAR", avatar.clone()),
        ("GHOPS_ENVIRONMENT", d.environment.clone()),
        (
            "GHOPS_DEPLOYMENT_PAYLOAD",
            payload_file.display().to_string(),
        ),
    ] {
        env.insert(k.to_owned(), v);
    }
    if legacy {
        for (k, v) in [
            ("GITHUB_ENV", d.environment.clone()),
            ("GITHUB_TASK", task.to_owned()),
            ("GITHUB_DEPLOYMENT_ID", d.id.to_string()),
            ("GITHUB_DEPLOYMENT_URL", url),
            ("GITHUB_OWNER", repo.owner.clone()),
            ("GITHUB_REPO", repo.name.clone()),
            ("GITHUB_REF", d.ref_name.clone()),
            ("GITHUB_SHA", d.sha.clone()),
            ("GITHUB_CREATOR", login),
            ("GITHUB_CREATOR_AVATAR", avatar),
        ] {
            env.insert(k.to_owned(), v);
        }
    }
    env
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Statuses newest first, from `(id, state, description)` oldest first.
    fn list(oldest_first: &[(u64, &str, &str)]) -> Vec<DeploymentStatus> {
        oldest_first
            .iter()
            .rev()
            .map(|(id, state, d)| DeploymentStatus {
                id: *id,
                state: (*state).into(),
                description: Some((*d).into()),
                ..DeploymentStatus::default()
            })
            .collect()
    }

    #[test]
    fn the_earliest_claim_since_the_last_terminal_status_holds_the_lock() {
        let a = "ghops-agent a: deploying x";
        let b = "ghops-agent b: deploying x";
        assert!(lock_holder(&[]).is_none());
        let two = list(&[(1, "in_progress", a), (2, "in_progress", b)]);
        assert_eq!(lock_holder(&two).unwrap().id, 1);
        // Only claims after the latest terminal status count (a redeploy's new round).
        let redeploy = list(&[
            (1, "in_progress", a),
            (2, "success", "deployed x"),
            (3, "in_progress", b),
            (4, "in_progress", a),
        ]);
        assert_eq!(lock_holder(&redeploy).unwrap().id, 3);
        // Finished: nobody holds it.
        let done = list(&[
            (1, "in_progress", a),
            (2, "failure", "hook deploy exited 1"),
        ]);
        assert!(lock_holder(&done).is_none());
        // Other states (queued, pending) are not claims.
        let queued = list(&[(1, "queued", ""), (2, "in_progress", b)]);
        assert_eq!(lock_holder(&queued).unwrap().id, 2);
        // Ours by status id when known, else by the identity in the description.
        let h = lock_holder(&two).unwrap();
        assert!(is_ours(h, "a", None));
        assert!(is_ours(h, "b", Some(1)));
        assert!(!is_ours(h, "a", Some(2)));
        assert!(
            !is_ours(h, "ab", None),
            "an id that extends another is not it"
        );
    }
}
