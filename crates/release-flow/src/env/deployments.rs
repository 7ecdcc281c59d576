//! The Deployments API: list, find, create, statuses, deactivation.

use gh_core::deployments::{self, NewDeployment};
use gh_core::{GitHub, RepoRef};
use serde_json::{Value, json};

use crate::error::ReleaseError;

pub use gh_core::deployments::{Deployment, DeploymentStatus};

/// The PR whose deploy `d` records (`payload.pr`, set by `env record`), if any.
pub fn recorded_pr(d: &Deployment) -> Option<u64> {
    d.payload_object()["pr"].as_u64()
}

/// Every deployment of `environment`, newest first (all pages).
pub async fn list_deployments(
    gh: &GitHub,
    repo: &RepoRef,
    environment: &str,
) -> Result<Vec<Deployment>, ReleaseError> {
    Ok(deployments::list(gh, repo, environment).await?)
}

/// The latest status of a deployment (`None`: no status yet).
pub async fn latest_status(
    gh: &GitHub,
    repo: &RepoRef,
    id: u64,
) -> Result<Option<DeploymentStatus>, ReleaseError> {
    Ok(deployments::latest_status(gh, repo, id).await?)
}

/// States of a deployment that holds its environment (deployed or being deployed).
pub const ACTIVE_STATES: &[&str] = &["success", "in_progress", "queued", "pending"];

/// The PR holding `environment` by the recorded Deployments: the PR of the newest deployment
/// whose latest status is active ([`ACTIVE_STATES`]). `None`: nobody (or not a PR).
pub async fn slot_holder(
    gh: &GitHub,
    repo: &RepoRef,
    environment: &str,
) -> Result<Option<u64>, ReleaseError> {
    for d in list_deployments(gh, repo, environment).await? {
        match latest_status(gh, repo, d.id).await? {
            Some(s) if ACTIVE_STATES.contains(&s.state.as_str()) => return Ok(recorded_pr(&d)),
            _ => continue,
        }
    }
    Ok(None)
}

/// Has `pr` a deployment in `environment` that succeeded and is not `inactive` since (so
/// something of it runs there and undeploying it is this PR's to do)?
pub async fn pr_deployed(
    gh: &GitHub,
    repo: &RepoRef,
    environment: &str,
    pr: u64,
) -> Result<bool, ReleaseError> {
    for d in list_deployments(gh, repo, environment).await? {
        if recorded_pr(&d) != Some(pr) {
            continue;
        }
        let statuses = deployments::all_statuses(gh, repo, d.id).await?;
        // Newest first: an `inactive` latest status means undeployed or replaced.
        if statuses.first().is_some_and(|s| s.state != "inactive")
            && statuses.iter().any(|s| s.state == "success")
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Marks `inactive` every deployment of `environment` (only those of PR `pr` when given),
/// paging through ALL of them and skipping those already inactive. Returns the ids changed.
pub async fn deactivate(
    gh: &GitHub,
    repo: &RepoRef,
    environment: &str,
    pr: Option<u64>,
) -> Result<Vec<u64>, ReleaseError> {
    let mut done = Vec::new();
    for d in list_deployments(gh, repo, environment).await? {
        if pr.is_some() && recorded_pr(&d) != pr {
            continue;
        }
        match latest_status(gh, repo, d.id).await? {
            Some(s) if s.state == "inactive" => continue,
            _ => {}
        }
        add_status(
            gh,
            repo,
            d.id,
            &json!({ "state": "inactive", "description": "undeployed by ghops" }),
        )
        .await?;
        done.push(d.id);
    }
    Ok(done)
}

/// Adds a status to deployment `id` once: a status is not idempotent (a repeat is a second
/// status), so an ambiguous failure (a 5xx or a lost answer) is not retried blindly: the
/// latest status is read and the write repeated (once) only when it did not land.
pub async fn add_status(
    gh: &GitHub,
    repo: &RepoRef,
    id: u64,
    body: &Value,
) -> Result<(), ReleaseError> {
    let first = deployments::create_status(gh, repo, id, body).await;
    let e = match first {
        Ok(_) => return Ok(()),
        Err(e) if e.is_ambiguous() => e,
        Err(e) => return Err(e.into()),
    };
    let landed = latest_status(gh, repo, id).await?.is_some_and(|s| {
        Some(s.state.as_str()) == body["state"].as_str()
            && s.environment_url.as_deref().unwrap_or("")
                == body["environment_url"].as_str().unwrap_or("")
            && s.description.as_deref().unwrap_or("") == body["description"].as_str().unwrap_or("")
    });
    if landed {
        return Ok(());
    }
    tracing::debug!(error = %e, "deployment status not recorded; sending it again");
    deployments::create_status(gh, repo, id, body).await?;
    Ok(())
}

/// The deployment a new record of `sha` (by PR `pr`) in `environment` continues: the
/// environment's newest deployment when it is of `sha` and of the same PR (the same deploy,
/// re-run or moving on to its next state), else `None`: a deploy of a SHA that ran there
/// before (a rollback), or another PR's deploy of the same commit, is a new deployment, so
/// the newest deployment is always the newest deploy (`env status`, GitHub's Environments
/// panel) and names the PR that made it. One read.
pub async fn current_deployment(
    gh: &GitHub,
    repo: &RepoRef,
    environment: &str,
    sha: &str,
    pr: Option<u64>,
) -> Result<Option<Deployment>, ReleaseError> {
    Ok(deployments::newest(gh, repo, environment, 1)
        .await?
        .into_iter()
        .next()
        .filter(|d| d.sha.eq_ignore_ascii_case(sha) && recorded_pr(d) == pr))
}

/// Finds a deployment of (environment, SHA), the newest, if any.
pub async fn find_deployment(
    gh: &GitHub,
    repo: &RepoRef,
    environment: &str,
    sha: &str,
) -> Result<Option<Deployment>, ReleaseError> {
    Ok(deployments::list_of_sha(gh, repo, environment, sha)
        .await?
        .into_iter()
        .find(|d| d.sha.eq_ignore_ascii_case(sha)))
}

/// Is this a production environment (`production`, `prod`, `production-eu`, ...)?
pub fn is_production(environment: &str) -> bool {
    let e = environment.to_ascii_lowercase();
    e == "prod" || e == "production" || e.starts_with("production-") || e.starts_with("prod-")
}

/// Creates the deployment of (environment, SHA) with `payload` (`production_environment`
/// set by [`is_production`]).
pub async fn create_deployment(
    gh: &GitHub,
    repo: &RepoRef,
    environment: &str,
    sha: &str,
    transient: bool,
    payload: Value,
) -> Result<Option<Deployment>, ReleaseError> {
    let new = NewDeployment {
        ref_name: sha.to_owned(),
        environment: environment.to_owned(),
        task: None,
        auto_merge: false,
        required_contexts: Some(Vec::new()),
        transient_environment: transient,
        production_environment: is_production(environment),
        payload,
        description: Some("ghops".to_owned()),
    };
    Ok(deployments::create(gh, repo, &new).await?)
}
