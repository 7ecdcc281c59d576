//! `ghops release publish-hook` (a published release gets its `release/{version}` branch)
//! and `ghops release hotfix` (each push to `release/X.Y.Z` publishes the next patch and keeps
//! ONE reintegration PR back to main open).

use gh_core::repo::{encode_query, encode_ref};
use gh_core::retry::Idempotency;
use gh_core::{GitHub, RepoRef, git};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::changelog::{self, BodyVars};
use crate::config::DrafterConfig;
use crate::error::ReleaseError;
use crate::github::{list_releases, merged_prs};
use crate::version::{Increment, next_hotfix, parse_tag, render_version, version_info};

/// The commit a tag points at (annotated tags peeled).
pub async fn tag_commit(gh: &GitHub, repo: &RepoRef, tag: &str) -> Result<String, ReleaseError> {
    git::tag_commit(gh, repo, tag)
        .await?
        .ok_or_else(|| ReleaseError::Config(format!("tag {tag} does not exist")))
}

/// What publish-hook did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BranchResult {
    /// The branch.
    pub branch: String,
    /// The commit.
    pub sha: String,
    /// `created`, `unchanged` or `dry_run`.
    pub action: String,
}

/// Creates `release/{version}` at the commit of the published `tag` (prefix stripped); an
/// existing branch at that commit is success, one elsewhere is refused (never moved).
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
    })
}

/// What a hotfix run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HotfixResult {
    /// The release branch.
    pub branch: String,
    /// The published version, or `None` when nothing changed since the last tag.
    pub version: Option<String>,
    /// The tag.
    pub tag: Option<String>,
    /// The reintegration PR number.
    pub reintegration_pr: Option<u64>,
    /// `created`, `updated`, `unchanged` (a concurrent run opened it) or `dry_run` for the PR.
    pub pr_action: Option<String>,
}

#[derive(Deserialize)]
struct Compare {
    status: String,
}

#[derive(Deserialize)]
struct Pull {
    number: u64,
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
    let line = branch
        .strip_prefix("release/")
        .and_then(|v| semver::Version::parse(v).ok())
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
    let mut prev: Option<(semver::Version, String, String)> = None;
    for (v, t) in line_tags.iter().take(20) {
        let c: Option<Compare> = gh
            .get_opt(&format!(
                "{}/compare/{}...{}?per_page=1",
                repo.api_path(),
                encode_ref(t),
                encode_ref(branch)
            ))
            .await?;
        if let Some(c) = c.filter(|c| c.status == "ahead" || c.status == "identical") {
            prev = Some((v.clone(), (*t).to_owned(), c.status));
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
        prev = Some((v.clone(), (*t).to_owned(), "diverged".into()));
    }
    let prev_tag = prev.as_ref().map(|(_, t, _)| t.clone());
    let mut result = HotfixResult {
        branch: branch.to_owned(),
        version: None,
        tag: None,
        reintegration_pr: None,
        pr_action: None,
    };
    // Nothing since the branch's previous tag: nothing to publish (replay-safe).
    if let Some((v, t, status)) = &prev
        && status == "identical"
    {
        // A replay after a run that published the hotfix but failed before its PR: open
        // (or update) it when the branch still has commits main lacks.
        if v.patch > 0 {
            let m: Option<Compare> = gh
                .get_opt(&format!(
                    "{}/compare/{}...{}?per_page=1",
                    repo.api_path(),
                    encode_ref(main_branch),
                    encode_ref(branch)
                ))
                .await?;
            if m.is_some_and(|m| m.status == "ahead" || m.status == "diverged") {
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

/// ONE reintegration PR `branch → main_branch`: the open one is updated, else one is opened
/// and labelled (a concurrent run's PR, reported by GitHub as already existing, is reused).
async fn ensure_reintegration(
    gh: &GitHub,
    repo: &RepoRef,
    branch: &str,
    main_branch: &str,
    tag: &str,
    reintegration_label: &str,
    result: &mut HotfixResult,
) -> Result<(), ReleaseError> {
    let title = format!("Reintegrate {branch} ({tag}) into {main_branch}");
    let pr_body = format!(
        "Brings the hotfixes published as {tag} back into `{main_branch}`.\n\nLabelled `{reintegration_label}`: these changes are already in {tag}'s notes.\n\n<!-- ghops:reintegration branch={branch} -->"
    );
    let open_path = format!(
        "{}/pulls?state=open&head={}&base={}&per_page=10",
        repo.api_path(),
        encode_query(&format!("{}:{branch}", repo.owner)),
        encode_query(main_branch)
    );
    let open: Vec<Pull> = gh.get(&open_path).await?;
    if let Some(p) = open.first() {
        let r = gh
            .patch::<Value>(
                &format!("{}/pulls/{}", repo.api_path(), p.number),
                &json!({"title": title, "body": pr_body}),
            )
            .await?;
        result.reintegration_pr = Some(p.number);
        result.pr_action = Some(if r.is_some() { "updated" } else { "dry_run" }.into());
        return Ok(());
    }
    let created: Result<Option<Pull>, gh_core::Error> = gh
        .post(
            &format!("{}/pulls", repo.api_path()),
            &json!({"title": title, "head": branch, "base": main_branch, "body": pr_body}),
            Idempotency::NonIdempotent,
        )
        .await;
    let created = match created {
        Err(e) if e.is_status(422) && e.to_string().contains("already exists") => {
            // A concurrent run opened it between our list and our create: reuse it.
            let again: Vec<Pull> = gh.get(&open_path).await?;
            let Some(p) = again.first() else {
                return Err(e.into());
            };
            result.reintegration_pr = Some(p.number);
            result.pr_action = Some("unchanged".into());
            return Ok(());
        }
        other => other?,
    };
    match created {
        Some(p) => {
            gh.post::<Value>(
                &format!("{}/issues/{}/labels", repo.api_path(), p.number),
                &json!({"labels": [reintegration_label]}),
                Idempotency::Idempotent,
            )
            .await?;
            result.reintegration_pr = Some(p.number);
            result.pr_action = Some("created".into());
        }
        None => result.pr_action = Some("dry_run".into()),
    }
    Ok(())
}
