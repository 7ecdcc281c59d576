//! `env status`: what runs where.

use chrono::{DateTime, SecondsFormat, Utc};
use gh_core::{GitHub, RepoRef};
use serde::{Deserialize, Serialize};

use super::deployments::{latest_status, recorded_pr};
use crate::error::ReleaseError;

/// One row of `ghops env status` (its `--json` shape: full SHAs, RFC 3339 times).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct EnvRow {
    /// Environment.
    pub environment: String,
    /// PR number from the latest deployment's payload.
    pub pr: Option<u64>,
    /// Full SHA of the latest deployment.
    pub sha: Option<String>,
    /// Latest status (`none` when the deployment has none, `-` without a deployment).
    pub state: String,
    /// Environment URL.
    pub url: Option<String>,
    /// The latest deployment's id.
    pub deployment_id: Option<u64>,
    /// When the latest status (or, without one, the deployment) was created, RFC 3339 UTC.
    #[schemars(extend("format" = "date-time"))]
    pub updated_at: Option<String>,
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

/// A GitHub time as RFC 3339 UTC with seconds (`2026-01-01T21:00:00Z`); unparsable: as is.
fn rfc3339(t: &str) -> String {
    DateTime::parse_from_rfc3339(t).map_or_else(
        |_| t.to_owned(),
        |d| {
            d.with_timezone(&Utc)
                .to_rfc3339_opts(SecondsFormat::Secs, true)
        },
    )
}

/// `ghops env status`: for every environment of the repository, its latest deployment (the
/// latest deploy: `env record` makes one per deploy) and that deployment's latest status.
pub async fn status(gh: &GitHub, repo: &RepoRef) -> Result<Vec<EnvRow>, ReleaseError> {
    let envs: Vec<Environment> = gh
        .get_all(
            &format!("{}/environments?per_page=100", repo.api_path()),
            Some("environments"),
        )
        .await?;
    let mut rows = Vec::new();
    for e in envs {
        let latest = gh_core::deployments::newest(gh, repo, &e.name, 1).await?;
        let Some(d) = latest.into_iter().next() else {
            rows.push(EnvRow {
                environment: e.name,
                pr: None,
                sha: None,
                state: "-".into(),
                url: None,
                deployment_id: None,
                updated_at: None,
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
            pr: recorded_pr(&d),
            sha: Some(d.sha.clone()),
            state: s.as_ref().map_or("none".into(), |s| s.state.clone()),
            url: s.and_then(|s| s.environment_url).filter(|u| !u.is_empty()),
            deployment_id: Some(d.id),
            updated_at: when.map(|w| rfc3339(&w)),
        });
    }
    Ok(rows)
}
