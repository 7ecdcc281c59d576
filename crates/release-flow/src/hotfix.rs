//! `ghops release publish-hook` (a published release gets its `release/{version}` branch)
//! and `ghops release hotfix` (each push to `release/X.Y.Z` publishes the next patch and keeps
//! ONE reintegration PR back to main open).

use gh_core::pulls::PullRequest;
use gh_core::repo::{encode_query, encode_ref};
use gh_core::retry::Idempotency;
use gh_core::{GitHub, RepoRef, git};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::changelog::{self, BodyVars};
use crate::config::DrafterConfig;
use crate::error::ReleaseError;
use crate::github::{CompareStatus, compare, list_releases, merged_prs, reachable};
use crate::version::{Increment, next_hotfix, parse_tag, render_version, version_info};

/// The commit a tag points at (annotated tags peeled).
pub async fn tag_commit(gh: &GitHub, repo: &RepoRef, tag: &str) -> Result<String, ReleaseError> {
    git::tag_commit(gh, repo, tag)
        .await?
        .ok_or_else(|| ReleaseError::Config(format!("tag {tag} does not exist")))
}

/// What publish-hook did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct BranchResult {
    /// The branch.
    pub branch: String,
    /// The commit.
    pub sha: String,
    /// `created`, `unchanged`, `skipped` (a patch cut from a release branch of its line) or
    /// `dry_run`.
    pub action: String,
    /// The release branch of the line the tag was cut from (`skipped`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cut_from: Option<String>,
}

/// Creates `release/{version}` at the commit of the published `tag` (prefix stripped); an
/// existing branch at that commit is success, one elsewhere is refused (never moved).
///
/// A patch release (`X.Y.Z`, `Z > 0`) whose commit a release branch of its line
/// (`release/X.Y.*`) already holds was cut from that branch (a hotfix, published with a
/// token that fires `release: published`): it gets no branch of its own (`skipped`, with
/// `cut_from`), so each release line keeps one branch and one reintegration PR.
pub async fn publish_hook(
    gh: &GitHub,
    repo: &RepoRef,
    cfg: &DrafterConfig,
    tag: &str,
) -> Result<BranchResult, ReleaseError> {
    let v = parse_tag(tag, &cfg.tag_prefix)
        .ok_or_else(|| ReleaseError::Config(format!("tag {tag:?} is not a semver tag")))?;
    if !v.pre.is_empty() {
        return Err(ReleaseError::Refused(format!(
            "{tag} is a prerelease: no release branch"
        )));
    }
    let sha = tag_commit(gh, repo, tag).await?;
    let branch = format!("release/{v}");
    if v.patch > 0 {
        let line = line_branches(gh, repo, (v.major, v.minor)).await?;
        // Re-run after the branch was created: it is this tag's branch, nothing to do.
        let own = line
            .iter()
            .find(|(b, _)| *b == branch)
            .is_some_and(|(_, at)| at.eq_ignore_ascii_case(&sha));
        if !own {
            for (other, _) in line.iter().filter(|(b, _)| *b != branch) {
                if reachable(gh, repo, tag, other).await? {
                    tracing::info!(
                        tag,
                        branch = other.as_str(),
                        "a hotfix of the line: no branch"
                    );
                    return Ok(BranchResult {
                        branch,
                        sha,
                        action: "skipped".into(),
                        cut_from: Some(other.clone()),
                    });
                }
            }
        }
    }
    let action = match git::ensure_ref(
        gh,
        repo,
        &format!("heads/{branch}"),
        &sha,
        git::OnOther::Keep,
    )
    .await?
    {
        git::RefWrite::Created => "created",
        git::RefWrite::Unchanged | git::RefWrite::Moved => "unchanged",
        git::RefWrite::DryRun => "dry_run",
        git::RefWrite::Elsewhere(other) => {
            return Err(ReleaseError::Refused(format!(
                "{branch} exists at {other} (not {sha}): release branches are never moved"
            )));
        }
    };
    Ok(BranchResult {
        branch,
        sha,
        action: action.into(),
        cut_from: None,
    })
}

#[derive(Deserialize)]
struct MatchedRef {
    #[serde(rename = "ref")]
    name: String,
    object: git::RefObject,
}

/// The `release/X.Y.Z` branches of the line `(X, Y)` with their heads, oldest version first
/// (one prefix search `git/matching-refs/heads/release/X.Y.`, names re-checked as versions).
async fn line_branches(
    gh: &GitHub,
    repo: &RepoRef,
    line: (u64, u64),
) -> Result<Vec<(String, String)>, ReleaseError> {
    let refs: Vec<MatchedRef> = gh
        .get_all(
            &format!(
                "{}/git/matching-refs/{}",
                repo.api_path(),
                encode_ref(&format!("heads/release/{}.{}.", line.0, line.1))
            ),
            None,
        )
        .await?;
    let mut out: Vec<(semver::Version, String, String)> = refs
        .into_iter()
        .filter_map(|r| {
            let b = r.name.strip_prefix("refs/heads/")?.to_owned();
            let v = release_line_version(&b)?;
            ((v.major, v.minor) == line).then_some((v, b, r.object.sha))
        })
        .collect();
    out.sort();
    Ok(out.into_iter().map(|(_, b, sha)| (b, sha)).collect())
}

/// The version of a `release/X.Y.Z` branch name (no prerelease), else `None`.
fn release_line_version(branch: &str) -> Option<semver::Version> {
    branch
        .strip_prefix("release/")
        .and_then(|v| semver::Version::parse(v).ok())
        .filter(|v| v.pre.is_empty() && v.build.is_empty())
}

/// What a hotfix run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct HotfixResult {
    /// The release branch.
    pub branch: String,
    /// The published version, or `None` when nothing changed since the last tag.
    pub version: Option<String>,
    /// The tag.
    pub tag: Option<String>,
    /// The reintegration PR number.
    pub reintegration_pr: Option<u64>,
    /// `created`, `updated` (title or body rewritten), `unchanged` (already current, opened by
    /// a concurrent run, or the line's PR of another branch) or `dry_run` for the PR.
    pub pr_action: Option<String>,
    /// Whether this run added the reintegration label (to a PR it created or found without it).
    pub labelled: bool,
    /// The branch's previous tag: the highest tag of its line reachable from it (after a
    /// replay that published nothing, the tag a previous run published).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_tag: Option<String>,
    /// Why the PR is not this branch's own, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Publishes the next patch of `branch` (`release/X.Y.Z`) and opens or updates its one
/// reintegration PR into `main_branch`, labelled `reintegration_label` so main's changelog
/// leaves it out.
pub async fn hotfix(
    gh: &GitHub,
    repo: &RepoRef,
    cfg: &DrafterConfig,
    branch: &str,
    main_branch: &str,
    reintegration_label: &str,
) -> Result<HotfixResult, ReleaseError> {
    // Checked before anything is written: the reintegration PR needs the same line.
    let line = release_line_version(branch)
        .ok_or_else(|| ReleaseError::Config(format!("{branch:?} is not release/X.Y.Z")))?;
    let releases = list_releases(gh, repo).await?;
    let published: Vec<semver::Version> = releases
        .iter()
        .filter(|r| !r.draft)
        .filter_map(|r| parse_tag(&r.tag_name, &cfg.tag_prefix))
        .collect();
    let mut line_tags: Vec<(semver::Version, &str)> = releases
        .iter()
        .filter(|r| !r.draft)
        .filter_map(|r| parse_tag(&r.tag_name, &cfg.tag_prefix).map(|v| (v, r.tag_name.as_str())))
        .filter(|(v, _)| v.pre.is_empty() && (v.major, v.minor) == (line.major, line.minor))
        .collect();
    line_tags.sort_by(|a, b| b.0.cmp(&a.0));
    // The branch's previous tag: the highest of its line reachable from it (a patch of the
    // same line published from main or another branch is not this branch's baseline).
    let mut prev: Option<(semver::Version, String, CompareStatus)> = None;
    for (v, t) in line_tags.iter().take(20) {
        if let Some(status) = compare(gh, repo, t, branch)
            .await?
            .filter(|s| s.contains_base())
        {
            prev = Some((v.clone(), (*t).to_owned(), status));
            break;
        }
    }
    if prev.is_none()
        && let Some((v, t)) = line_tags.first()
    {
        tracing::warn!(
            tag = t,
            branch,
            "no tag of the line is reachable from the branch"
        );
        prev = Some((v.clone(), (*t).to_owned(), CompareStatus::Diverged));
    }
    let prev_tag = prev.as_ref().map(|(_, t, _)| t.clone());
    let mut result = HotfixResult {
        branch: branch.to_owned(),
        version: None,
        tag: None,
        reintegration_pr: None,
        pr_action: None,
        labelled: false,
        previous_tag: prev_tag.clone(),
        note: None,
    };
    // Nothing since the branch's previous tag: nothing to publish (replay-safe).
    if let Some((v, t, status)) = &prev
        && *status == CompareStatus::Identical
    {
        // A replay after a run that published the hotfix but failed before its PR: open
        // (or update) it when the branch still has commits main lacks.
        if v.patch > 0 {
            // The branch has commits main lacks.
            let m = compare(gh, repo, main_branch, branch).await?;
            if m.is_some_and(|m| matches!(m, CompareStatus::Ahead | CompareStatus::Diverged)) {
                ensure_reintegration(
                    gh,
                    repo,
                    branch,
                    main_branch,
                    t,
                    reintegration_label,
                    &mut result,
                )
                .await?;
            }
        }
        return Ok(result);
    }
    let next = next_hotfix((line.major, line.minor), &published);
    let version = render_version(cfg, &next);
    let tag = cfg.tag_for(&version);
    let head = git::get_ref(gh, repo, &format!("heads/{branch}"))
        .await?
        .ok_or_else(|| ReleaseError::Config(format!("branch {branch} does not exist")))?
        .sha;
    let merged = merged_prs(gh, repo, prev_tag.as_deref(), branch).await?;
    let counted = changelog::counted(cfg, &merged.prs);
    let info = version_info(cfg, None, Some(&next), Increment::None);
    let body = changelog::body(
        cfg,
        &BodyVars {
            prs: &counted,
            commits: &merged.commits,
            previous_tag: prev_tag.as_deref(),
            info: &info,
            owner: &repo.owner,
            repository: &repo.name,
        },
    );
    gh.post::<Value>(
        &format!("{}/releases", repo.api_path()),
        &json!({
            "tag_name": tag,
            "target_commitish": head,
            "name": cfg.name_for(&version),
            "body": body,
            "draft": false,
            "prerelease": false,
            "make_latest": "legacy",
        }),
        Idempotency::NonIdempotent,
    )
    .await
    .map_err(|e| {
        // Two runs raced on the same push: the other one published this tag.
        if e.is_status(422) && e.to_string().contains("already_exists") {
            ReleaseError::Refused(format!("{tag} was just published by a concurrent run"))
        } else {
            e.into()
        }
    })?;
    result.version = Some(version.clone());
    result.tag = Some(tag.clone());

    ensure_reintegration(
        gh,
        repo,
        branch,
        main_branch,
        &tag,
        reintegration_label,
        &mut result,
    )
    .await?;
    Ok(result)
}

/// The title and body of `branch`'s reintegration PR after `tag`.
pub fn reintegration_text(
    branch: &str,
    main_branch: &str,
    tag: &str,
    reintegration_label: &str,
) -> (String, String) {
    (
        format!("Reintegrate {branch} ({tag}) into {main_branch}"),
        format!(
            "Brings the hotfixes published as {tag} back into `{main_branch}`.\n\nLabelled `{reintegration_label}`: these changes are already in {tag}'s notes.\n\n<!-- ghops:reintegration branch={branch} -->"
        ),
    )
}

/// The open reintegration PRs of `line` into `main_branch`: PRs whose head is a
/// `release/X.Y.*` branch of the line **in this repository** (a fork's branch of the same
/// name never is), the one of `branch` first, then the oldest.
async fn open_reintegrations(
    gh: &GitHub,
    repo: &RepoRef,
    line: (u64, u64),
    branch: &str,
    main_branch: &str,
) -> Result<Vec<PullRequest>, ReleaseError> {
    let all: Vec<PullRequest> = gh
        .get_all(
            &format!(
                "{}/pulls?state=open&base={}&sort=created&direction=asc&per_page=100",
                repo.api_path(),
                encode_query(main_branch)
            ),
            None,
        )
        .await?;
    let full = format!("{}/{}", repo.owner, repo.name);
    let mut mine: Vec<PullRequest> = all
        .into_iter()
        .filter(|p| {
            p.head
                .repo
                .as_ref()
                .is_some_and(|r| r.full_name.eq_ignore_ascii_case(&full))
                && release_line_version(&p.head.ref_name)
                    .is_some_and(|v| (v.major, v.minor) == line)
        })
        .collect();
    mine.sort_by_key(|p| (p.head.ref_name != branch, p.number));
    Ok(mine)
}

/// ONE reintegration PR per release line into `main_branch`, labelled `reintegration_label`.
/// The line's open PR (found by the line of its head branch, not only by `branch`) is kept:
/// its title and body are rewritten only when they differ and only when it is `branch`'s own
/// (never another branch's), and the label is added when missing. Else one is opened and
/// labelled; when GitHub says it already exists (a concurrent run) or the create's answer is
/// lost (5xx, timeout), the PR is looked up again and reused.
async fn ensure_reintegration(
    gh: &GitHub,
    repo: &RepoRef,
    branch: &str,
    main_branch: &str,
    tag: &str,
    reintegration_label: &str,
    result: &mut HotfixResult,
) -> Result<(), ReleaseError> {
    let line = release_line_version(branch)
        .map(|v| (v.major, v.minor))
        .ok_or_else(|| ReleaseError::Config(format!("{branch:?} is not release/X.Y.Z")))?;
    let (title, pr_body) = reintegration_text(branch, main_branch, tag, reintegration_label);
    let open = open_reintegrations(gh, repo, line, branch, main_branch).await?;
    if let Some(p) = open.first() {
        if open.len() > 1 {
            tracing::warn!(
                count = open.len(),
                kept = p.number,
                "more than one open reintegration PR of the line"
            );
        }
        result.reintegration_pr = Some(p.number);
        let action = if p.head.ref_name != branch {
            result.note = Some(format!(
                "#{} ({}) is the open reintegration PR of the {}.{} line: no second one for {branch}",
                p.number, p.head.ref_name, line.0, line.1
            ));
            "unchanged"
        } else if p.title == title && p.body.as_deref().unwrap_or("") == pr_body {
            "unchanged"
        } else {
            let r = gh
                .patch::<Value>(
                    &format!("{}/pulls/{}", repo.api_path(), p.number),
                    &json!({"title": title, "body": pr_body}),
                )
                .await?;
            if r.is_some() { "updated" } else { "dry_run" }
        };
        result.pr_action = Some(action.into());
        if !p.labels.iter().any(|l| l.name == reintegration_label) {
            add_label(gh, repo, p.number, reintegration_label, result).await?;
        }
        return Ok(());
    }
    let created: Result<Option<PullRequest>, gh_core::Error> = gh
        .post(
            &format!("{}/pulls", repo.api_path()),
            &json!({"title": title, "head": branch, "base": main_branch, "body": pr_body}),
            Idempotency::NonIdempotent,
        )
        .await;
    let created = match created {
        Err(e) if reusable(&e) => {
            // A concurrent run opened it between our list and our create, or GitHub created
            // it and the answer was lost: find it and reuse it.
            let again = open_reintegrations(gh, repo, line, branch, main_branch).await?;
            let Some(p) = again.first() else {
                return Err(e.into());
            };
            result.reintegration_pr = Some(p.number);
            result.pr_action = Some("unchanged".into());
            if !p.labels.iter().any(|l| l.name == reintegration_label) {
                add_label(gh, repo, p.number, reintegration_label, result).await?;
            }
            return Ok(());
        }
        other => other?,
    };
    match created {
        Some(p) => {
            result.reintegration_pr = Some(p.number);
            result.pr_action = Some("created".into());
            add_label(gh, repo, p.number, reintegration_label, result).await?;
        }
        None => result.pr_action = Some("dry_run".into()),
    }
    Ok(())
}

/// A failed create worth looking up again: "already exists" (a concurrent run), or an answer
/// that may have been lost after GitHub acted (5xx, timeout, transport).
fn reusable(e: &gh_core::Error) -> bool {
    (e.is_status(422) && e.to_string().contains("already exists"))
        || e.status().is_some_and(|s| s >= 500)
        || matches!(
            e,
            gh_core::Error::Timeout(_) | gh_core::Error::Transport { .. }
        )
}

async fn add_label(
    gh: &GitHub,
    repo: &RepoRef,
    number: u64,
    label: &str,
    result: &mut HotfixResult,
) -> Result<(), ReleaseError> {
    let r = gh
        .post::<Value>(
            &format!("{}/issues/{number}/labels", repo.api_path()),
            &json!({"labels": [label]}),
            Idempotency::Idempotent,
        )
        .await?;
    // `--dry-run` reports the write without sending it.
    result.labelled = r.is_some();
    Ok(())
}
