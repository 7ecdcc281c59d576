//! The plan as one PR comment, upserted by its marker; and the untrusted-artifact path for
//! fork PRs (`--from-artifact`), where the privileged `workflow_run` job trusts nothing the
//! unprivileged plan job uploaded.

use std::path::Path;

use gh_core::comments::{Upserted, upsert_comment};
use gh_core::{GitHub, RepoRef};
use serde::Deserialize;

use crate::error::PlanError;
use crate::plan::Plan;
use crate::render::{COMMENT_MARKER, to_markdown};

/// Largest accepted comment body (GitHub's limit is 65,536 characters).
pub const MAX_BODY_BYTES: usize = 60_000;

/// Upserts the plan comment on PR `pr`. The body must start with the plan marker.
pub async fn upsert_plan_comment(
    gh: &GitHub,
    repo: &RepoRef,
    pr: u64,
    body: &str,
) -> Result<Upserted, PlanError> {
    check_body(body, "--body")?;
    let me = gh.login().await?;
    Ok(upsert_comment(gh, repo, pr, COMMENT_MARKER, body, &me).await?)
}

fn check_body(body: &str, origin: &str) -> Result<(), PlanError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(PlanError::Refused(format!(
            "{origin}: comment body is {} bytes, over the {MAX_BODY_BYTES}-byte cap",
            body.len()
        )));
    }
    if !body
        .trim_start_matches('\u{feff}')
        .starts_with(COMMENT_MARKER)
    {
        return Err(PlanError::Refused(format!(
            "{origin}: comment body does not start with the {COMMENT_MARKER} marker"
        )));
    }
    Ok(())
}

/// What the unprivileged job uploaded, after the local checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// The PR number.
    pub pr: u64,
    /// The comment body, rendered here from `plan.json` (every cell escaped here).
    pub body: String,
}

fn read_capped(dir: &Path, name: &str, cap: usize) -> Result<Option<String>, PlanError> {
    let path = dir.join(name);
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(PlanError::Io {
                path,
                message: e.to_string(),
            });
        }
    };
    if !meta.is_file() {
        return Err(PlanError::Refused(format!(
            "artifact {name}: not a regular file (symlinks are refused)"
        )));
    }
    if meta.len() as usize > cap {
        return Err(PlanError::Refused(format!(
            "artifact {name}: {} bytes, over the {cap}-byte cap",
            meta.len()
        )));
    }
    std::fs::read_to_string(&path)
        .map(Some)
        .map_err(|e| PlanError::Io {
            path,
            message: e.to_string(),
        })
}

#[derive(Deserialize)]
struct PlanFile {
    #[serde(default)]
    support: Vec<crate::plan::Job>,
    #[serde(default)]
    staging: Vec<crate::plan::Job>,
    #[serde(default)]
    prod: Vec<crate::plan::Job>,
}

/// Reads an artifact directory: the PR number in `pr-number` (or `pr-number.txt`, the name
/// 2i2c's plan job uses; both present must agree), digits only, and `plan.json`. Any other
/// file (a `comment.md`, 2i2c's `comment-body.txt`) is ignored.
pub fn read_artifact(dir: &Path) -> Result<Artifact, PlanError> {
    let mut pr = None;
    for name in ["pr-number", "pr-number.txt"] {
        if let Some(text) = read_capped(dir, name, 32)? {
            let n = pr_number(name, &text)?;
            if pr.is_some_and(|p| p != n) {
                return Err(PlanError::Refused(
                    "artifact pr-number and pr-number.txt disagree".into(),
                ));
            }
            pr = Some(n);
        }
    }
    let pr = pr.ok_or_else(|| {
        PlanError::Refused("artifact has no pr-number (or pr-number.txt) file".into())
    })?;
    // Only the plan's data is accepted, and rendered (escaped) here: a Markdown body from an
    // unprivileged job could carry mentions, links, images or forged markers.
    let json = read_capped(dir, "plan.json", 4 * 1024 * 1024)?.ok_or_else(|| {
        PlanError::Refused(
            "artifact has no plan.json (a comment.md or comment-body.txt is never posted: the \
             plan is rendered here from plan.json, written by `ghops plan --json`)"
                .into(),
        )
    })?;
    let f: PlanFile = serde_json::from_str(&json)
        .map_err(|e| PlanError::Refused(format!("artifact plan.json: {e}")))?;
    let body = to_markdown(&Plan {
        support: f.support,
        staging: f.staging,
        prod: f.prod,
        ..Plan::default()
    });
    check_body(&body, "artifact")?;
    Ok(Artifact { pr, body })
}

/// A PR number file's content: digits only, not 0.
fn pr_number(name: &str, text: &str) -> Result<u64, PlanError> {
    let t = text.trim();
    let bad = || PlanError::Refused(format!("artifact {name} {t:?} is not a PR number"));
    if t.is_empty() || t.len() > 10 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match t.parse::<u64>() {
        Ok(0) => Err(PlanError::Refused(format!("artifact {name} is 0"))),
        Ok(n) => Ok(n),
        Err(_) => Err(bad()),
    }
}

/// Checks the artifact's PR against the triggering run: the PR's head SHA must equal
/// `run_head_sha` (so a fork cannot aim the comment at another PR), then upserts.
pub async fn comment_from_artifact(
    gh: &GitHub,
    repo: &RepoRef,
    artifact: &Artifact,
    run_head_sha: &str,
) -> Result<Upserted, PlanError> {
    let pull: gh_core::pulls::PullRequest = gh
        .get(&format!("{}/pulls/{}", repo.api_path(), artifact.pr))
        .await?;
    if !pull.head.sha.eq_ignore_ascii_case(run_head_sha.trim()) {
        return Err(PlanError::Refused(format!(
            "artifact names PR #{} whose head is {}, but the triggering run built {}",
            artifact.pr, pull.head.sha, run_head_sha
        )));
    }
    upsert_plan_comment(gh, repo, artifact.pr, &artifact.body).await
}
