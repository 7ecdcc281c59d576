//! `ghops release draft`: one draft release per target branch, kept current.

use gh_core::retry::Idempotency;
use gh_core::{GitHub, RepoRef};
use semver::Version;
use serde::Serialize;
use serde_json::{Value, json};

use crate::changelog::{self, BodyVars, MergedPr};
use crate::config::DrafterConfig;
use crate::error::ReleaseError;
use crate::github::{Release, list_releases, merged_prs, reachable};
use crate::version::{Bump, bump_from_labels, next_version, parse_tag, render_version};

/// The hidden marker that identifies the draft of `target`.
pub fn draft_marker(target: &str) -> String {
    format!("<!-- ghops:release-draft target={target} -->")
}

/// `refs/heads/main` and `main` name the same branch (release-drafter compares them so).
fn short_ref(r: &str) -> &str {
    r.strip_prefix("refs/heads/").unwrap_or(r)
}

/// What the draft will say.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DraftPlan {
    /// The next version (rendered with `version-template`).
    pub version: String,
    /// The tag.
    pub tag: String,
    /// The release name.
    pub name: String,
    /// The body (marker included).
    pub body: String,
    /// The baseline tag.
    pub previous_tag: Option<String>,
    /// The bump applied.
    pub bump: Bump,
    /// The PRs in the changelog.
    pub prs: Vec<MergedPr>,
    /// Prerelease.
    pub prerelease: bool,
}

/// What happened to the draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "release_id", rename_all = "snake_case")]
pub enum DraftOutcome {
    /// Created.
    Created(u64),
    /// Updated in place.
    Updated(u64),
    /// Already current.
    Unchanged(u64),
    /// `--dry-run`.
    DryRun,
}

/// The published releases' versions (drafts excluded), and the baseline: the highest
/// published non-prerelease version whose tag is reachable from `target`.
async fn baseline(
    gh: &GitHub,
    repo: &RepoRef,
    cfg: &DrafterConfig,
    releases: &[Release],
    target: &str,
) -> Result<(Vec<Version>, Option<(Version, String)>), ReleaseError> {
    let published: Vec<(&Release, Version)> = releases
        .iter()
        .filter(|r| !r.draft)
        .filter_map(|r| parse_tag(&r.tag_name, &cfg.tag_prefix).map(|v| (r, v)))
        .collect();
    let versions: Vec<Version> = published.iter().map(|(_, v)| v.clone()).collect();
    let mut candidates: Vec<&(&Release, Version)> = published
        .iter()
        .filter(|(r, v)| !r.prerelease && v.pre.is_empty())
        .filter(|(r, _)| {
            !cfg.filter_by_commitish
                || r.target_commitish.as_deref().map(short_ref) == Some(short_ref(target))
        })
        .collect();
    candidates.sort_by(|a, b| b.1.cmp(&a.1));
    // Usually the first candidate is reachable; a hotfix tag on release/* is not.
    for (r, v) in candidates.into_iter().take(50) {
        if reachable(gh, repo, &r.tag_name, target).await? {
            return Ok((versions, Some((v.clone(), r.tag_name.clone()))));
        }
    }
    Ok((versions, None))
}

/// Computes the draft for `target` (reads only).
pub async fn plan_draft(
    gh: &GitHub,
    repo: &RepoRef,
    cfg: &DrafterConfig,
    target: &str,
    releases: &[Release],
) -> Result<DraftPlan, ReleaseError> {
    let (published, base) = baseline(gh, repo, cfg, releases, target).await?;
    let merged = merged_prs(gh, repo, base.as_ref().map(|(_, t)| t.as_str()), target).await?;
    let counted = changelog::counted(cfg, &merged.prs);
    let bump = bump_from_labels(
        cfg,
        counted
            .iter()
            .flat_map(|p| p.labels.iter().map(String::as_str)),
    );
    let pre = cfg.prerelease.then_some(cfg.prerelease_identifier.as_str());
    let v = next_version(base.as_ref().map(|(v, _)| v), bump, &published, pre);
    let version = render_version(cfg, &v);
    let tag = cfg.tag_for(&version);
    if releases.iter().any(|r| !r.draft && r.tag_name == tag) {
        return Err(ReleaseError::Refused(format!(
            "{tag} is already published: refusing to draft it again"
        )));
    }
    let body = changelog::body(
        cfg,
        &BodyVars {
            prs: &counted,
            commit_authors: &merged.commit_authors,
            previous_tag: base.as_ref().map(|(_, t)| t.as_str()),
            version: &v,
            baseline: base.as_ref().map(|(v, _)| v),
            owner: &repo.owner,
            repository: &repo.name,
        },
    );
    let body = format!("{}\n\n{}", body.trim_end(), draft_marker(target));
    Ok(DraftPlan {
        name: cfg.name_for(&version),
        version,
        tag,
        body,
        previous_tag: base.map(|(_, t)| t),
        bump,
        prs: counted.into_iter().cloned().collect(),
        prerelease: cfg.prerelease,
    })
}

fn ours<'a>(releases: &'a [Release], target: &str) -> Vec<&'a Release> {
    let m = draft_marker(target);
    let mut v: Vec<&Release> = releases
        .iter()
        .filter(|r| r.draft && r.body.as_deref().is_some_and(|b| b.contains(&m)))
        .collect();
    // Newest first: the newest marker wins.
    v.sort_by_key(|r| std::cmp::Reverse(r.id));
    v
}

/// Upserts THE draft of `target`: updates it in place, or creates it and then removes any
/// duplicate a concurrent run created (the newest wins).
pub async fn draft(
    gh: &GitHub,
    repo: &RepoRef,
    cfg: &DrafterConfig,
    target: &str,
) -> Result<(DraftPlan, DraftOutcome), ReleaseError> {
    let releases = list_releases(gh, repo).await?;
    let plan = plan_draft(gh, repo, cfg, target, &releases).await?;
    let path = format!("{}/releases", repo.api_path());
    let payload = json!({
        "tag_name": plan.tag,
        "target_commitish": target,
        "name": plan.name,
        "body": plan.body,
        "draft": true,
        "prerelease": plan.prerelease,
    });
    let existing = ours(&releases, target);
    if let Some(newest) = existing.first() {
        for dup in &existing[1..] {
            gh.delete(&format!("{path}/{}", dup.id)).await?;
        }
        let same = newest.tag_name == plan.tag
            && newest.name.as_deref() == Some(plan.name.as_str())
            && newest.body.as_deref() == Some(plan.body.as_str())
            && newest.prerelease == plan.prerelease;
        if same {
            return Ok((plan, DraftOutcome::Unchanged(newest.id)));
        }
        let out = gh
            .patch::<Value>(&format!("{path}/{}", newest.id), &payload)
            .await?;
        return Ok((
            plan,
            match out {
                Some(_) => DraftOutcome::Updated(newest.id),
                None => DraftOutcome::DryRun,
            },
        ));
    }
    let created: Option<Release> = gh.post(&path, &payload, Idempotency::NonIdempotent).await?;
    let Some(created) = created else {
        return Ok((plan, DraftOutcome::DryRun));
    };
    // A concurrent run may have created one too: keep the newest, delete the rest.
    let again = list_releases(gh, repo).await?;
    let mine = ours(&again, target);
    let mut kept = created.id;
    if let Some(newest) = mine.first() {
        kept = newest.id;
        for dup in &mine[1..] {
            gh.delete(&format!("{path}/{}", dup.id)).await?;
        }
    }
    Ok((plan, DraftOutcome::Created(kept)))
}
