//! `--pr N`: the changed paths and labels of a pull request from the API (all pages; the
//! compare API when the files index lags; a clear error past GitHub's 3,000-file cap).

use std::collections::HashSet;

use gh_core::pulls::PullRequest;
use gh_core::{GitHub, RepoRef};
use serde::Deserialize;

use crate::error::PlanError;
use crate::paths::normalize;

/// GitHub lists at most this many files of a PR (files API and compare API alike).
pub const FILES_CAP: u64 = 3000;

#[derive(Deserialize)]
struct File {
    filename: String,
    #[serde(default)]
    previous_filename: Option<String>,
}

/// What a PR changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrChanges {
    /// Changed paths (both sides of renames), normalised, in API order.
    pub paths: Vec<String>,
    /// Label names.
    pub labels: Vec<String>,
}

fn push(out: &mut Vec<String>, seen: &mut HashSet<String>, files: Vec<File>) {
    for f in files {
        for p in std::iter::once(f.filename).chain(f.previous_filename) {
            let p = normalize(&p);
            if !p.is_empty() && seen.insert(p.clone()) {
                out.push(p);
            }
        }
    }
}

/// Reads PR `number`'s changed files and labels.
pub async fn pr_changes(gh: &GitHub, repo: &RepoRef, number: u64) -> Result<PrChanges, PlanError> {
    let pull: PullRequest = gh
        .get(&format!("{}/pulls/{number}", repo.api_path()))
        .await?;
    let expected = pull.changed_files.unwrap_or(0);
    if expected > FILES_CAP {
        return Err(PlanError::input(
            "--pr",
            format!(
                "PR #{number} changes {expected} files; GitHub's API lists at most {FILES_CAP}: plan from a clone with --base {} --head {} instead",
                pull.base.sha, pull.head.sha
            ),
        ));
    }
    let files: Vec<File> = gh
        .get_all(
            &format!("{}/pulls/{number}/files?per_page=100", repo.api_path()),
            None,
        )
        .await?;
    let listed = files.len() as u64;
    let mut paths = Vec::new();
    let mut seen = HashSet::new();
    push(&mut paths, &mut seen, files);
    if listed < expected {
        // The files index can lag behind a push: ask the compare API (base...head).
        tracing::warn!(
            listed,
            expected,
            "PR files API incomplete; using the compare API"
        );
        let files: Vec<File> = gh
            .get_all(
                &format!(
                    "{}/compare/{}...{}?per_page=100",
                    repo.api_path(),
                    pull.base.sha,
                    pull.head.sha
                ),
                Some("files"),
            )
            .await?;
        push(&mut paths, &mut seen, files);
    }
    Ok(PrChanges {
        paths,
        labels: pull.labels.into_iter().map(|l| l.name).collect(),
    })
}
