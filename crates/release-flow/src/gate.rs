//! Approval gates for promotions (issue #6).
//!
//! - [`check`]: for teams without Environment required reviewers, in a `workflow_dispatch`:
//!   the actor is authorised by a gh-core [`Policy`] BEFORE any write, the [`Promotion`]
//!   rules are verified (a released commit, succeeded in the previous environment first, an
//!   optional two-person rule), and the approval is recorded as a `queued` status.
//! - [`approve`]: with Environment protection, approve or reject a run's pending deployments
//!   (`pending_deployments` API) for an authorised caller.
//!
//! ```no_run
//! use release_flow::gate::{GateRequest, check};
//!
//! # async fn run(gh: gh_core::GitHub) -> Result<(), release_flow::ReleaseError> {
//! let repo: gh_core::RepoRef = "octo-org/hello".parse()?;
//! let cfg = release_flow::env::EnvConfig::default();
//! let mut req = GateRequest::now(
//!     "production",
//!     "0123456789abcdef0123456789abcdef01234567",
//!     "v1.4.0",
//!     "octocat",
//! );
//! req.run_id = Some(123456); // this workflow run: names a two-person request
//! let outcome = check(&gh, &repo, &cfg.gate, &cfg.promote, &req).await?;
//! println!("approved by {} (deployment {:?})", outcome.approved_by, outcome.deployment_id);
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, SecondsFormat, Utc};
use gh_core::permission::Policy;
use gh_core::repo::encode_segment;
use gh_core::retry::Idempotency;
use gh_core::{GitHub, RepoRef};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::env::{
    Deployment, DeploymentStatus, add_status, create_deployment, current_deployment,
    list_deployments, validate_sha,
};
use crate::error::ReleaseError;

/// The `[env.promote]` section of `ghops.toml`: what a promotion must prove besides the
/// approver's permission ([`check`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Promotion {
    /// Two-person rule: the approver is neither the person who requested the promotion nor
    /// the author of a commit being promoted.
    pub two_person: bool,
    /// Environment → the environment the same commit must have succeeded in first
    /// (default: `production` after `staging`).
    pub after: BTreeMap<String, String>,
    /// Environments that take only the commit of a published release (default: `production`).
    pub releases_only: Vec<String>,
}

impl Default for Promotion {
    fn default() -> Self {
        Self {
            two_person: false,
            after: BTreeMap::from([("production".to_owned(), "staging".to_owned())]),
            releases_only: vec!["production".to_owned()],
        }
    }
}

/// What `gate check` is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateRequest {
    /// Environment promoted to.
    pub environment: String,
    /// Commit SHA promoted.
    pub sha: String,
    /// Branch or tag (kept in the payload).
    pub git_ref: String,
    /// The actor asking (`$GITHUB_TRIGGERING_ACTOR` of the `workflow_dispatch`).
    pub actor: String,
    /// The actor's account type (`Bot` refuses unless the policy allows bots).
    pub actor_type: Option<String>,
    /// Approval time.
    pub now: DateTime<Utc>,
    /// This workflow run (`$GITHUB_RUN_ID`): under the two-person rule a request names its
    /// run, and the approver's run reads who started it from GitHub.
    pub run_id: Option<u64>,
}

impl GateRequest {
    /// A request approved (if authorised) now.
    pub fn now(environment: &str, sha: &str, git_ref: &str, actor: &str) -> Self {
        Self {
            environment: environment.to_owned(),
            sha: sha.to_owned(),
            git_ref: git_ref.to_owned(),
            actor: actor.to_owned(),
            actor_type: None,
            now: Utc::now(),
            run_id: None,
        }
    }
}

/// An approved gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct GateOutcome {
    /// Environment.
    pub environment: String,
    /// Who approved: the actor of this run (never read back from a payload).
    pub approved_by: String,
    /// When (RFC 3339): of the approval status, recorded once per approver.
    #[schemars(extend("format" = "date-time"))]
    pub approved_at: String,
    /// Why the actor is authorised.
    pub reason: String,
    /// Who requested the promotion (two-person rule), as GitHub reports the run's actor.
    pub requested_by: Option<String>,
    /// The published release whose commit this is (when the environment takes releases only).
    pub release: Option<String>,
    /// The environment the commit succeeded in first (when one is required).
    pub succeeded_in: Option<String>,
    /// The deployment (`None` in `--dry-run` when it would be created).
    pub deployment_id: Option<u64>,
    /// A deployment was created.
    pub created: bool,
    /// A status was written (`false` on a re-run with nothing new).
    pub recorded: bool,
}

/// `ghops gate check`: authorise `req.actor` (no write before that); verify what
/// `rules` ask (the commit of a published release; the same commit succeeded in the previous
/// environment; under the two-person rule, an approver other than the requester and the
/// promoted commits' authors); then record the approval as a `queued` status "approved by
/// @actor" on the deployment of (environment, SHA), creating it. Recorded approvals are
/// never trusted (payloads and statuses can be written by anyone with deployments write):
/// each run decides from GitHub's own facts. A re-run with nothing new writes nothing.
///
/// Under the two-person rule, a run with no valid request from someone else records this
/// run as the request (a `queued` status naming the run, once per requester) and is refused
/// ([`ReleaseError::Refused`], exit 3): a second person then runs the gate for the same SHA.
pub async fn check(
    gh: &GitHub,
    repo: &RepoRef,
    policy: &Policy,
    rules: &Promotion,
    req: &GateRequest,
) -> Result<GateOutcome, ReleaseError> {
    validate_sha(&req.sha)?;
    if req.environment.trim().is_empty() {
        return Err(ReleaseError::Config("--environment: empty".into()));
    }
    let d = policy
        .authorize(gh, repo, &req.actor, req.actor_type.as_deref())
        .await;
    if !d.allowed {
        return Err(ReleaseError::Refused(format!(
            "{} may not promote to {}: {}",
            req.actor, req.environment, d.reason
        )));
    }
    let refuse = |m: String| Err(ReleaseError::Refused(m));
    let mut out = GateOutcome {
        environment: req.environment.clone(),
        approved_by: req.actor.clone(),
        approved_at: req.now.to_rfc3339_opts(SecondsFormat::Secs, true),
        reason: d.reason,
        requested_by: None,
        release: None,
        succeeded_in: None,
        deployment_id: None,
        created: false,
        recorded: false,
    };
    if rules.releases_only.contains(&req.environment) {
        match release_of(gh, repo, &req.sha, &req.git_ref).await? {
            Some(tag) => out.release = Some(tag),
            None => {
                return refuse(format!(
                    "{} takes only released commits: {} is not the commit of a published release",
                    req.environment, req.sha
                ));
            }
        }
    }
    if let Some(prev) = rules.after.get(&req.environment) {
        if !succeeded_in(gh, repo, prev, &req.sha).await? {
            return refuse(format!(
                "{} has not succeeded in {prev}: promote it there first ([env.promote].after)",
                req.sha
            ));
        }
        out.succeeded_in = Some(prev.clone());
    }
    // Gate deployments carry no PR (a promotion is of a commit).
    let dep = current_deployment(gh, repo, &req.environment, &req.sha, None).await?;
    let statuses = match &dep {
        Some(d) => all_statuses(gh, repo, d.id).await?,
        None => Vec::new(),
    };
    if rules.two_person {
        if let Some(c) = promoted_by(gh, repo, &req.environment, &req.sha, &req.actor).await? {
            return refuse(format!(
                "two-person rule: {} wrote {c}, which this promotes; someone else must approve",
                req.actor
            ));
        }
        let requester = requester(gh, repo, &req.sha, &statuses, &req.actor).await?;
        match requester {
            Some(r) => out.requested_by = Some(r),
            None => {
                let Some(run) = req.run_id else {
                    return Err(ReleaseError::Config(
                        "two-person rule: this run's id is needed to record the request (set $GITHUB_RUN_ID)".into(),
                    ));
                };
                let note = format!("promotion requested by @{} in run {run}", req.actor);
                let mine = format!("promotion requested by @{} in run ", req.actor);
                if !statuses.iter().any(|s| description(s).starts_with(&mine)) {
                    let (id, _) = ensure_deployment(gh, repo, req, dep.as_ref()).await?;
                    if let Some(id) = id {
                        add_status(
                            gh,
                            repo,
                            id,
                            &json!({"state": "queued", "description": note}),
                        )
                        .await?;
                    }
                }
                return refuse(format!(
                    "two-person rule: {} requested this promotion of {}; another authorised person who wrote none of its commits must approve it (run the same workflow for the same commit)",
                    req.actor, req.sha
                ));
            }
        }
    }
    let approval = format!("approved by @{}", req.actor);
    if let Some(s) = statuses.iter().find(|s| description(s) == approval) {
        // Approved by this actor before: nothing new to record.
        out.deployment_id = dep.as_ref().map(|d| d.id);
        if let Some(at) = &s.created_at {
            out.approved_at = at.clone();
        }
        return Ok(out);
    }
    let (id, created) = ensure_deployment(gh, repo, req, dep.as_ref()).await?;
    out.deployment_id = id;
    out.created = created;
    if let Some(id) = id {
        add_status(
            gh,
            repo,
            id,
            &json!({"state": "queued", "description": approval}),
        )
        .await?;
        out.recorded = true;
    }
    Ok(out)
}

fn description(s: &DeploymentStatus) -> &str {
    s.description.as_deref().unwrap_or("")
}

/// The deployment of (environment, SHA): `dep` when there is one, else created (payload
/// `{sha, ref, actor}`). `(None, true)` in `--dry-run`.
async fn ensure_deployment(
    gh: &GitHub,
    repo: &RepoRef,
    req: &GateRequest,
    dep: Option<&Deployment>,
) -> Result<(Option<u64>, bool), ReleaseError> {
    if let Some(d) = dep {
        return Ok((Some(d.id), false));
    }
    let payload = json!({ "sha": req.sha, "ref": req.git_ref, "actor": req.actor });
    let d = create_deployment(gh, repo, &req.environment, &req.sha, false, payload).await?;
    Ok((d.map(|d| d.id), true))
}

async fn all_statuses(
    gh: &GitHub,
    repo: &RepoRef,
    id: u64,
) -> Result<Vec<DeploymentStatus>, ReleaseError> {
    Ok(gh_core::deployments::all_statuses(gh, repo, id).await?)
}

#[derive(Deserialize)]
struct Release {
    tag_name: String,
    #[serde(default)]
    draft: bool,
    #[serde(default)]
    prerelease: bool,
}

#[derive(Deserialize)]
struct GitObject {
    sha: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct RefObj {
    object: GitObject,
}

/// The tag of a published (not draft, not prerelease) release whose commit is `sha`: the
/// release named by `git_ref` first, then the newest hundred. Annotated tags are peeled.
async fn release_of(
    gh: &GitHub,
    repo: &RepoRef,
    sha: &str,
    git_ref: &str,
) -> Result<Option<String>, ReleaseError> {
    let releases: Vec<Release> = gh
        .get(&format!("{}/releases?per_page=100", repo.api_path()))
        .await?;
    let mut tags: Vec<&str> = releases
        .iter()
        .filter(|r| !r.draft && !r.prerelease)
        .map(|r| r.tag_name.as_str())
        .collect();
    tags.sort_by_key(|t| *t != git_ref);
    for tag in tags {
        let Some(r) = gh
            .get_opt::<RefObj>(&format!(
                "{}/git/ref/tags/{}",
                repo.api_path(),
                encode_segment(tag)
            ))
            .await?
        else {
            continue;
        };
        let mut obj = r.object;
        // Peel annotated tags (a tag of a tag is possible).
        for _ in 0..4 {
            if obj.kind != "tag" {
                break;
            }
            let t: Value = gh
                .get(&format!("{}/git/tags/{}", repo.api_path(), obj.sha))
                .await?;
            obj = serde_json::from_value(t["object"].clone())
                .map_err(|e| ReleaseError::Config(format!("tag {tag}: {e}")))?;
        }
        if obj.sha.eq_ignore_ascii_case(sha) {
            return Ok(Some(tag.to_owned()));
        }
    }
    Ok(None)
}

/// Has `sha` a deployment in `environment` with a `success` status?
async fn succeeded_in(
    gh: &GitHub,
    repo: &RepoRef,
    environment: &str,
    sha: &str,
) -> Result<bool, ReleaseError> {
    let deps = gh_core::deployments::list_of_sha(gh, repo, environment, sha).await?;
    for d in deps.iter().filter(|d| d.sha.eq_ignore_ascii_case(sha)) {
        if all_statuses(gh, repo, d.id)
            .await?
            .iter()
            .any(|s| s.state == "success")
        {
            return Ok(true);
        }
    }
    Ok(false)
}

#[derive(Deserialize)]
struct Login {
    login: String,
}

#[derive(Deserialize)]
struct CommitInfo {
    sha: String,
    #[serde(default)]
    author: Option<Login>,
}

#[derive(Deserialize)]
struct Compare {
    #[serde(default)]
    commits: Vec<CommitInfo>,
}

/// The first commit among those promoted (since the newest successful deploy of
/// `environment`, or `sha` alone for a first deploy) that `actor` authored, as
/// `commit <sha>`; `None` when they wrote none. Commits without a GitHub author are not
/// attributed to anyone.
async fn promoted_by(
    gh: &GitHub,
    repo: &RepoRef,
    environment: &str,
    sha: &str,
    actor: &str,
) -> Result<Option<String>, ReleaseError> {
    let mut base = None;
    for d in list_deployments(gh, repo, environment).await? {
        if all_statuses(gh, repo, d.id)
            .await?
            .iter()
            .any(|s| s.state == "success")
        {
            base = Some(d.sha);
            break;
        }
    }
    let commits: Vec<CommitInfo> = match base {
        Some(b) if b.eq_ignore_ascii_case(sha) => Vec::new(),
        Some(b) => {
            gh.get::<Compare>(&format!("{}/compare/{b}...{sha}", repo.api_path()))
                .await?
                .commits
        }
        None => vec![
            gh.get::<CommitInfo>(&format!("{}/commits/{sha}", repo.api_path()))
                .await?,
        ],
    };
    Ok(commits
        .into_iter()
        .find(|c| {
            c.author
                .as_ref()
                .is_some_and(|a| a.login.eq_ignore_ascii_case(actor))
        })
        .map(|c| format!("commit {}", c.sha)))
}

#[derive(Deserialize)]
struct Run {
    #[serde(default)]
    head_sha: String,
    #[serde(default)]
    actor: Option<Login>,
    #[serde(default)]
    triggering_actor: Option<Login>,
}

/// The person who requested this promotion, other than `actor`: from the "requested … in
/// run N" statuses on the deployment, each checked against GitHub's record of run N (who
/// started it, and that it ran `sha`). A status naming a run someone else started, or a run
/// of another commit, is ignored.
async fn requester(
    gh: &GitHub,
    repo: &RepoRef,
    sha: &str,
    statuses: &[DeploymentStatus],
    actor: &str,
) -> Result<Option<String>, ReleaseError> {
    let mut runs = BTreeSet::new();
    for s in statuses {
        if let Some(rest) = description(s).strip_prefix("promotion requested by @")
            && let Some((_, run)) = rest.split_once(" in run ")
            && let Ok(run) = run.trim().parse::<u64>()
        {
            runs.insert(run);
        }
    }
    for run in runs {
        let Some(r) = gh
            .get_opt::<Run>(&format!("{}/actions/runs/{run}", repo.api_path()))
            .await?
        else {
            continue;
        };
        let Some(who) = r.triggering_actor.or(r.actor).map(|l| l.login) else {
            continue;
        };
        if r.head_sha.eq_ignore_ascii_case(sha) && !who.eq_ignore_ascii_case(actor) {
            return Ok(Some(who));
        }
    }
    Ok(None)
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Markdown for `$GITHUB_STEP_SUMMARY` after a gate decision.
pub fn summary(environment: &str, result: &Result<GateOutcome, ReleaseError>) -> String {
    match result {
        Ok(o) => {
            let mut m = format!(
                "### Gate `{environment}`: approved\n\nApproved by @{} at {} ({}).\n",
                o.approved_by, o.approved_at, o.reason
            );
            if let Some(r) = &o.requested_by {
                m.push_str(&format!("Requested by @{r} (two-person rule).\n"));
            }
            if let Some(t) = &o.release {
                m.push_str(&format!("Release `{t}`.\n"));
            }
            if let Some(p) = &o.succeeded_in {
                m.push_str(&format!("Succeeded in `{p}` first.\n"));
            }
            m
        }
        Err(e) => format!("### Gate `{environment}`: refused\n\n{e}\n"),
    }
}

#[derive(Debug, Deserialize)]
struct PendingEnv {
    id: u64,
    #[serde(default)]
    name: String,
}

#[derive(Debug, Deserialize)]
struct Pending {
    environment: PendingEnv,
    #[serde(default)]
    current_user_can_approve: bool,
}

/// What `gate approve` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ApproveOutcome {
    /// Run id.
    pub run_id: u64,
    /// Environment.
    pub environment: String,
    /// `approved`, `rejected`, or `nothing pending`.
    pub result: String,
}

/// `ghops gate approve`: authorise `actor`, then approve (or reject) the deployment of `run_id`
/// waiting on `environment`. Nothing pending (already decided) is not an error. The recorded
/// comment is `COMMENT (by @ACTOR via ghops)`, or `by @ACTOR via ghops` when `comment` is blank.
#[allow(clippy::too_many_arguments)]
pub async fn approve(
    gh: &GitHub,
    repo: &RepoRef,
    policy: &Policy,
    run_id: u64,
    environment: &str,
    approve: bool,
    actor: &str,
    comment: &str,
) -> Result<ApproveOutcome, ReleaseError> {
    let d = policy.authorize(gh, repo, actor, None).await;
    if !d.allowed {
        return Err(ReleaseError::Refused(format!(
            "{actor} may not decide deployments to {environment}: {}",
            d.reason
        )));
    }
    let path = format!(
        "{}/actions/runs/{run_id}/pending_deployments",
        repo.api_path()
    );
    let pending: Vec<Pending> = gh.get(&path).await?;
    let mut out = ApproveOutcome {
        run_id,
        environment: environment.to_owned(),
        result: "nothing pending".into(),
    };
    let Some(p) = pending.iter().find(|p| p.environment.name == environment) else {
        return Ok(out);
    };
    if !p.current_user_can_approve {
        return Err(ReleaseError::Refused(format!(
            "the ghops token is not a required reviewer of {environment}"
        )));
    }
    let state = if approve { "approved" } else { "rejected" };
    let comment = match comment.trim() {
        "" => format!("by @{actor} via ghops"),
        c => format!("{c} (by @{actor} via ghops)"),
    };
    gh.post::<Value>(
        &path,
        &json!({
            "environment_ids": [p.environment.id],
            "state": state,
            "comment": truncate(&comment, 1000),
        }),
        Idempotency::Idempotent,
    )
    .await?;
    out.result = state.into();
    Ok(out)
}
