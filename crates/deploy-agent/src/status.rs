//! `ghops agent status`: a target's recent deployments with their latest status.

use gh_core::deployments::{latest_status, newest};
use gh_core::{GitHub, RepoRef};
use serde::Serialize;

use crate::error::AgentError;

/// One deployment and its latest status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Recent {
    /// Deployment id.
    pub id: u64,
    /// Ref.
    #[serde(rename = "ref")]
    pub ref_name: String,
    /// Commit.
    pub sha: String,
    /// Task.
    pub task: Option<String>,
    /// Creator's login.
    pub creator: Option<String>,
    /// Created at (RFC 3339, as GitHub gives it).
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date-time")))]
    pub created_at: Option<String>,
    /// Latest status's state (`pending` when there is none).
    pub state: String,
    /// Latest status's description (the agent's claim names the agent).
    pub description: Option<String>,
}

/// The `limit` (1–100) most recent deployments of `environment`, newest first.
pub async fn recent(
    gh: &GitHub,
    repo: &RepoRef,
    environment: &str,
    limit: usize,
) -> Result<Vec<Recent>, AgentError> {
    let list = newest(gh, repo, environment, limit).await?;
    let mut rows = Vec::new();
    for d in list {
        let latest = latest_status(gh, repo, d.id).await?;
        rows.push(Recent {
            id: d.id,
            ref_name: d.ref_name,
            sha: d.sha,
            task: d.task,
            creator: d.creator.map(|c| c.login),
            created_at: d.created_at,
            state: latest
                .as_ref()
                .map_or_else(|| "pending".to_owned(), |s| s.state.clone()),
            description: latest.and_then(|s| s.description),
        });
    }
    Ok(rows)
}
