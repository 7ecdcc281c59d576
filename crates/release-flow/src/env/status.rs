//! `env status`: what runs where.

use chrono::{DateTime, Utc};
use gh_core::repo::encode_segment;
use gh_core::{GitHub, RepoRef};
use serde::{Deserialize, Serialize};

use super::deployments::{Deployment, latest_status};
use crate::error::ReleaseError;

/// One row of `ghops env status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvRow {
    /// Environment.
    pub environment: String,
    /// PR number from the latest deployment's payload.
    pub pr: Option<u64>,
    /// SHA of the latest deployment.
    pub sha: Option<String>,
    /// Latest status (`none` when the deployment has none, `-` without a deployment).
    pub state: String,
    /// Environment URL.
    pub url: Option<String>,
    /// Age of the latest status (or deployment), e.g. `3h`.
    pub age: Option<String>,
}

#[derive(Deserialize)]
struct Environment {
    name: String,
}

/// A compact age: `45s`, `12m`, `3h`, `5d`.
pub fn age(since: &str, now: DateTime<Utc>) -> Option<String> {
    let t = DateTime::parse_from_rfc3339(since)
        .ok()?
        .with_timezone(&Utc);
    let s = (now - t).num_seconds().max(0);
    Some(match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    })
}

/// `ghops env status`: for every environment of the repository, its latest deployment.
pub async fn status(
    gh: &GitHub,
    repo: &RepoRef,
    now: DateTime<Utc>,
) -> Result<Vec<EnvRow>, ReleaseError> {
    let envs: Vec<Environment> = gh
        .get_all(
            &format!("{}/environments?per_page=100", repo.api_path()),
            Some("environments"),
        )
        .await?;
    let mut rows = Vec::new();
    for e in envs {
        let latest: Vec<Deployment> = gh
            .get(&format!(
                "{}/deployments?environment={}&per_page=1",
                repo.api_path(),
                encode_segment(&e.name)
            ))
            .await?;
        let Some(d) = latest.into_iter().next() else {
            rows.push(EnvRow {
                environment: e.name,
                pr: None,
                sha: None,
                state: "-".into(),
                url: None,
                age: None,
            });
            continue;
        };
        let s = latest_status(gh, repo, d.id).await?;
        let when = s
            .as_ref()
            .and_then(|s| s.created_at.clone())
            .or(d.created_at.clone());
        rows.push(EnvRow {
            environment: e.name,
            pr: d.pr(),
            sha: Some(d.sha.chars().take(7).collect()),
            state: s.as_ref().map_or("none".into(), |s| s.state.clone()),
            url: s.and_then(|s| s.environment_url),
            age: when.and_then(|w| age(&w, now)),
        });
    }
    Ok(rows)
}

/// [`status`] as of now.
pub async fn status_now(gh: &GitHub, repo: &RepoRef) -> Result<Vec<EnvRow>, ReleaseError> {
    status(gh, repo, Utc::now()).await
}
