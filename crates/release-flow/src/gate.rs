//! Approval gates for promotions (issue #6).
//!
//! - [`check`]: for teams without Environment required reviewers, in a `workflow_dispatch`:
//!   the actor is authorised by a gh-core [`Policy`] BEFORE any write; on approval the
//!   deployment of (environment, SHA) carries `approved_by` / `approved_at` in its payload.
//! - [`approve`]: with Environment protection, approve or reject a run's pending deployments
//!   (`pending_deployments` API) for an authorised caller.
//!
//! ```no_run
//! use release_flow::gate::{GateRequest, check};
//!
//! # async fn run(gh: gh_core::GitHub) -> Result<(), release_flow::ReleaseError> {
//! let repo: gh_core::RepoRef = "octo-org/hello".parse()?;
//! let cfg = release_flow::env::EnvConfig::default();
//! let req = GateRequest {
//!     environment: "production".into(),
//!     sha: "0123456789abcdef0123456789abcdef01234567".into(),
//!     git_ref: "release/1.4.0".into(),
//!     actor: "octocat".into(),
//!     actor_type: None,
//!     now: chrono::Utc::now(),
//! };
//! let outcome = check(&gh, &repo, &cfg.gate, &req).await?;
//! println!("approved by {} (deployment {:?})", outcome.approved_by, outcome.deployment_id);
//! # Ok(()) }
//! ```

use chrono::{DateTime, SecondsFormat, Utc};
use gh_core::permission::Policy;
use gh_core::retry::Idempotency;
use gh_core::{GitHub, RepoRef};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::env::{create_deployment, find_deployment, validate_sha};
use crate::error::ReleaseError;

/// What `gate check` is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateRequest {
    /// Environment promoted to.
    pub environment: String,
    /// Commit SHA promoted.
    pub sha: String,
    /// Branch or tag (kept in the payload).
    pub git_ref: String,
    /// The actor asking (`$GITHUB_ACTOR` of the `workflow_dispatch`).
    pub actor: String,
    /// The actor's account type (`Bot` refuses unless the policy allows bots).
    pub actor_type: Option<String>,
    /// Approval time.
    pub now: DateTime<Utc>,
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
        }
    }
}

/// An approved gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GateOutcome {
    /// Environment.
    pub environment: String,
    /// Who approved (the original approver when the deployment was already approved).
    pub approved_by: String,
    /// When (RFC 3339).
    pub approved_at: String,
    /// Why the actor is authorised.
    pub reason: String,
    /// The deployment (`None` in `--dry-run` when it would be created).
    pub deployment_id: Option<u64>,
    /// A deployment was created.
    pub created: bool,
}

/// `ghops gate check`: authorise `req.actor` (no write before that), then record the approval
/// in the payload of the deployment of (environment, SHA), creating it; an existing approved
/// deployment is reused; an existing unapproved one gets a `queued` status naming the
/// approver (payloads cannot be edited). Refusal: [`ReleaseError::Refused`] (exit 3).
pub async fn check(
    gh: &GitHub,
    repo: &RepoRef,
    policy: &Policy,
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
    let at = req.now.to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut out = GateOutcome {
        environment: req.environment.clone(),
        approved_by: req.actor.clone(),
        approved_at: at.clone(),
        reason: d.reason,
        deployment_id: None,
        created: false,
    };
    match find_deployment(gh, repo, &req.environment, &req.sha).await? {
        Some(dep) => {
            out.deployment_id = Some(dep.id);
            let p = dep.payload_obj();
            if let Some(by) = p["approved_by"].as_str() {
                out.approved_by = by.to_owned();
                out.approved_at = p["approved_at"].as_str().unwrap_or_default().to_owned();
                return Ok(out);
            }
            gh.post::<Value>(
                &format!("{}/deployments/{}/statuses", repo.api_path(), dep.id),
                &json!({
                    "state": "queued",
                    "description": truncate(&format!("approved by {} at {at}", req.actor), 140),
                }),
                Idempotency::Idempotent,
            )
            .await?;
        }
        None => {
            let payload = json!({
                "sha": req.sha,
                "ref": req.git_ref,
                "actor": req.actor,
                "approved_by": req.actor,
                "approved_at": at,
            });
            out.created = true;
            out.deployment_id =
                create_deployment(gh, repo, &req.environment, &req.sha, false, payload)
                    .await?
                    .map(|d| d.id);
        }
    }
    Ok(out)
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Markdown for `$GITHUB_STEP_SUMMARY` after a gate decision.
pub fn summary(environment: &str, result: &Result<GateOutcome, ReleaseError>) -> String {
    match result {
        Ok(o) => format!(
            "### Gate `{environment}`: approved\n\nApproved by @{} at {} ({}).\n",
            o.approved_by, o.approved_at, o.reason
        ),
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApproveOutcome {
    /// Run id.
    pub run_id: u64,
    /// Environment.
    pub environment: String,
    /// `approved`, `rejected`, or `nothing pending`.
    pub result: String,
}

/// `ghops gate approve`: authorise `actor`, then approve (or reject) the deployment of `run_id`
/// waiting on `environment`. Nothing pending (already decided) is not an error.
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
    gh.post::<Value>(
        &path,
        &json!({
            "environment_ids": [p.environment.id],
            "state": state,
            "comment": truncate(&format!("{comment} (by @{actor} via ghops)"), 1000),
        }),
        Idempotency::Idempotent,
    )
    .await?;
    out.result = state.into();
    Ok(out)
}
