//! `env record`: one Deployment per (environment, SHA) and its statuses, idempotently.

use gh_core::{GitHub, RepoRef};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::deployments::{
    add_status, create_deployment, current_deployment, deactivate, latest_status,
};
use crate::error::ReleaseError;

/// A deployment state `env record` may set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeployState {
    /// Deploying.
    InProgress,
    /// Deployed.
    Success,
    /// Failed.
    Failure,
    /// Undeployed.
    Inactive,
}

impl DeployState {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeployState::InProgress => "in_progress",
            DeployState::Success => "success",
            DeployState::Failure => "failure",
            DeployState::Inactive => "inactive",
        }
    }
}

impl std::str::FromStr for DeployState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "in_progress" => DeployState::InProgress,
            "success" => DeployState::Success,
            "failure" => DeployState::Failure,
            "inactive" => DeployState::Inactive,
            o => {
                return Err(format!(
                    "unknown state `{o}` (in_progress|success|failure|inactive)"
                ));
            }
        })
    }
}

/// What `env record` is asked to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRequest {
    /// Environment.
    pub environment: String,
    /// State.
    pub state: DeployState,
    /// Commit SHA (40 hex).
    pub sha: String,
    /// Branch (kept in the payload).
    pub git_ref: String,
    /// PR number, when deploying a PR.
    pub pr: Option<u64>,
    /// Who triggered it.
    pub actor: String,
    /// Transient (preview) environment.
    pub transient: bool,
    /// Environment URL.
    pub url: Option<String>,
    /// Log URL.
    pub log_url: Option<String>,
}

/// What `env record` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct RecordOutcome {
    /// The deployment (`None` in `--dry-run` when it would be created, or nothing to do).
    pub deployment_id: Option<u64>,
    /// A deployment was created.
    pub created: bool,
    /// A status was added.
    pub status_added: bool,
    /// Deployments made inactive (state `inactive`).
    pub deactivated: Vec<u64>,
}

/// Checks a value for the `--sha` flag.
pub fn validate_sha(sha: &str) -> Result<(), ReleaseError> {
    if sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(ReleaseError::Config(format!(
            "--sha: `{sha}` is not a 40-character commit SHA"
        )))
    }
}

fn check_url(flag: &str, u: &Option<String>) -> Result<(), ReleaseError> {
    match u {
        Some(u) if !(u.starts_with("https://") || u.starts_with("http://")) => Err(
            ReleaseError::Config(format!("{flag}: `{u}` is not an http(s) URL")),
        ),
        _ => Ok(()),
    }
}

/// GitHub answers `""` for a URL never given: the same as none.
fn nonempty(u: &Option<String>) -> Option<&str> {
    u.as_deref().filter(|u| !u.is_empty())
}

/// `ghops env record`: one deployment per deploy (the environment's newest deployment is
/// continued when it is of the same SHA, else one is created: a rollback to an older SHA is
/// a new deployment), and a status unless the latest already says the same; `inactive` deactivates every deployment
/// of the environment (of the PR when given).
pub async fn record(
    gh: &GitHub,
    repo: &RepoRef,
    req: &RecordRequest,
) -> Result<RecordOutcome, ReleaseError> {
    validate_sha(&req.sha)?;
    check_url("--url", &req.url)?;
    check_url("--log-url", &req.log_url)?;
    let mut out = RecordOutcome {
        deployment_id: None,
        created: false,
        status_added: false,
        deactivated: Vec::new(),
    };
    if req.state == DeployState::Inactive {
        out.deactivated = deactivate(gh, repo, &req.environment, req.pr).await?;
        return Ok(out);
    }
    let existing = current_deployment(gh, repo, &req.environment, &req.sha, req.pr).await?;
    let dep = match existing {
        Some(d) => d,
        None => {
            let payload = json!({
                "pr": req.pr,
                "sha": req.sha,
                "ref": req.git_ref,
                "actor": req.actor,
            });
            out.created = true;
            match create_deployment(gh, repo, &req.environment, &req.sha, req.transient, payload)
                .await?
            {
                Some(d) => d,
                None => return Ok(out), // dry-run
            }
        }
    };
    out.deployment_id = Some(dep.id);
    if !out.created
        && let Some(s) = latest_status(gh, repo, dep.id).await?
        && s.state == req.state.as_str()
        && nonempty(&s.environment_url) == req.url.as_deref()
        && nonempty(&s.log_url) == req.log_url.as_deref()
    {
        return Ok(out);
    }
    let mut body = json!({ "state": req.state.as_str(), "auto_inactive": !req.transient });
    if let Some(u) = &req.url {
        body["environment_url"] = json!(u);
    }
    if let Some(u) = &req.log_url {
        body["log_url"] = json!(u);
    }
    add_status(gh, repo, dep.id, &body).await?;
    out.status_added = true;
    Ok(out)
}
