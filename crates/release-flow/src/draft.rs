//! `ghops release draft`: one draft release per target branch, kept current, with
//! release-drafter v7's choice of the last release, PRs, version, name, tag and body.

use std::cmp::Ordering;

use gh_core::retry::Idempotency;
use gh_core::{GitHub, RepoRef};
use semver::Version;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::changelog::{self, BodyVars, MergedPr};
use crate::config::DrafterConfig;
use crate::error::ReleaseError;
use crate::github::{Fetch, Release, list_releases, merged_prs_with, reachable};
use crate::template::fill_with;
use crate::version::{
    Increment, compare_tags, in_range, past_published, range_filter, release_version, version_info,
};

/// The hidden marker that identifies the draft of `target` (with `draft-marker`).
pub fn draft_marker(target: &str) -> String {
    format!("<!-- ghops:release-draft target={target} -->")
}

/// `refs/heads/main` and `main` name the same branch (release-drafter compares them so).
fn short_ref(r: &str) -> &str {
    r.strip_prefix("refs/heads/").unwrap_or(r)
}

/// release-drafter's `version`, `tag` and `name` inputs: the first one holding a version is
/// used as is (no increment); `tag` and `name` also replace the templates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DraftInput {
    /// The version.
    pub version: Option<String>,
    /// The tag (a template: version variables are filled).
    pub tag: Option<String>,
    /// The name (a template).
    pub name: Option<String>,
}

/// What the draft will say.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DraftPlan {
    /// `$RESOLVED_VERSION` (rendered with `version-template`).
    pub version: String,
    /// Major part of the resolved version.
    pub major_version: u64,
    /// Minor part.
    pub minor_version: u64,
    /// Patch part.
    pub patch_version: u64,
    /// The tag.
    pub tag: String,
    /// The release name.
    pub name: String,
    /// The body.
    pub body: String,
    /// The target branch.
    pub target: String,
    /// The last release's tag.
    pub previous_tag: Option<String>,
    /// The increment applied.
    pub increment: Increment,
    /// The PRs that count, in changelog order.
    pub prs: Vec<MergedPr>,
    /// Prerelease.
    pub prerelease: bool,
    /// `make_latest` sent (`true`, `false`, `legacy`).
    pub make_latest: String,
    /// The draft's page (after a write, or of the unchanged draft).
    pub html_url: Option<String>,
    /// The draft's asset upload URL.
    pub upload_url: Option<String>,
    /// What ghops did not do as the configuration asks, or noticed.
    pub warnings: Vec<String>,
}

/// `ghops release draft --json`: the plan and what was done with the draft. Fields in
/// alphabetical order (the order they print in).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct DraftReport {
    /// The release notes.
    pub body: String,
    /// The draft's page (after a write, or of the unchanged draft).
    pub html_url: Option<String>,
    /// The increment applied.
    pub increment: Increment,
    /// `make_latest` sent (`true`, `false`, `legacy`).
    pub make_latest: String,
    /// The release name.
    pub name: String,
    /// The last release's tag.
    pub previous_tag: Option<String>,
    /// Prerelease.
    pub prerelease: bool,
    /// The numbers of the PRs that count, in changelog order.
    pub prs: Vec<u64>,
    /// What was done with the draft.
    pub result: DraftOutcome,
    /// The tag.
    pub tag: String,
    /// The resolved version.
    pub version: String,
    /// Warnings (also logged).
    pub warnings: Vec<String>,
}

impl DraftPlan {
    /// What `ghops release draft --json` prints for this plan and `outcome`.
    pub fn report(&self, outcome: DraftOutcome) -> DraftReport {
        DraftReport {
            body: self.body.clone(),
            html_url: self.html_url.clone(),
            increment: self.increment,
            make_latest: self.make_latest.clone(),
            name: self.name.clone(),
            previous_tag: self.previous_tag.clone(),
            prerelease: self.prerelease,
            prs: self.prs.iter().map(|p| p.number).collect(),
            result: outcome,
            tag: self.tag.clone(),
            version: self.version.clone(),
            warnings: self.warnings.clone(),
        }
    }

    /// release-drafter's Actions outputs: `id`, `name`, `tag_name`, `body`, `html_url`,
    /// `upload_url`, `resolved_version`, `major_version`, `minor_version`, `patch_version`.
    /// Like release-drafter, the release's own outputs (`id`, URLs, `name`, `tag_name`) are
    /// written only when there is a release (not on a dry run).
    pub fn outputs(&self, outcome: DraftOutcome) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        if let Some(id) = outcome.id() {
            v.push(("id", id.to_string()));
            if let Some(u) = &self.html_url {
                v.push(("html_url", u.clone()));
            }
            if let Some(u) = &self.upload_url {
                v.push(("upload_url", u.clone()));
            }
            if !self.tag.is_empty() {
                v.push(("tag_name", self.tag.clone()));
            }
            if !self.name.is_empty() {
                v.push(("name", self.name.clone()));
            }
        }
        v.push(("resolved_version", self.version.clone()));
        v.push(("major_version", self.major_version.to_string()));
        v.push(("minor_version", self.minor_version.to_string()));
        v.push(("patch_version", self.patch_version.to_string()));
        v.push(("body", self.body.clone()));
        v
    }

    /// A Markdown step summary of the draft.
    pub fn summary(&self, outcome: DraftOutcome) -> String {
        let what = match outcome {
            DraftOutcome::Created(_) => "created",
            DraftOutcome::Updated(_) => "updated",
            DraftOutcome::Unchanged(_) => "already current",
            DraftOutcome::DryRun => "dry run, not written",
        };
        let title = if self.name.is_empty() {
            self.version.as_str()
        } else {
            self.name.as_str()
        };
        let link = match &self.html_url {
            Some(u) => format!(" ([draft]({u}))"),
            None => String::new(),
        };
        format!(
            "## Release draft {what}: {title}{link}\n\nTag `{}` · version {} · {} since {} · target `{}`\n\n{}\n",
            if self.tag.is_empty() {
                "(none)"
            } else {
                &self.tag
            },
            self.version,
            gh_core::output::count(self.prs.len(), "PR", "PRs"),
            self.previous_tag.as_deref().unwrap_or("the beginning"),
            self.target,
            self.body
        )
    }
}

/// What happened to the draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
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

impl DraftOutcome {
    /// The release id, when there is one.
    pub fn id(self) -> Option<u64> {
        match self {
            DraftOutcome::Created(i) | DraftOutcome::Updated(i) | DraftOutcome::Unchanged(i) => {
                Some(i)
            }
            DraftOutcome::DryRun => None,
        }
    }
}

/// `draft 12 created`, `draft 12 updated`, `draft 12 already current`, or
/// `dry-run, nothing written`.
impl std::fmt::Display for DraftOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DraftOutcome::Created(id) => write!(f, "draft {id} created"),
            DraftOutcome::Updated(id) => write!(f, "draft {id} updated"),
            DraftOutcome::Unchanged(id) => write!(f, "draft {id} already current"),
            DraftOutcome::DryRun => f.write_str("dry-run, nothing written"),
        }
    }
}

/// The releases release-drafter considers: of the target when `filter-by-commitish`, with
/// the tag prefix when one is set.
fn considered<'a>(cfg: &DrafterConfig, releases: &'a [Release], target: &str) -> Vec<&'a Release> {
    releases
        .iter()
        .filter(|r| {
            !cfg.filter_by_commitish
                || short_ref(r.target_commitish.as_deref().unwrap_or("")) == short_ref(target)
        })
        .filter(|r| cfg.tag_prefix.is_empty() || r.tag_name.starts_with(&cfg.tag_prefix))
        .collect()
}

fn strip_prefix<'a>(cfg: &DrafterConfig, tag: &'a str) -> &'a str {
    if cfg.tag_prefix.is_empty() {
        tag
    } else {
        tag.strip_prefix(cfg.tag_prefix.as_str()).unwrap_or(tag)
    }
}

/// release-drafter's release order: by version (compare-versions on the tag without its
/// prefix), by creation time when one of the two is not a version. The comparison is not
/// transitive when versions and non-versions mix, so the order is built the way V8 sorts
/// (binary insertion), never panicking.
fn sort_releases<'a>(cfg: &DrafterConfig, list: Vec<&'a Release>) -> Vec<&'a Release> {
    let cmp = |a: &Release, b: &Release| {
        compare_tags(
            strip_prefix(cfg, &a.tag_name),
            strip_prefix(cfg, &b.tag_name),
        )
        .unwrap_or_else(|| a.created_at.cmp(&b.created_at))
    };
    let mut out: Vec<&Release> = Vec::with_capacity(list.len());
    for r in list {
        let (mut lo, mut hi) = (0, out.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if cmp(r, out[mid]) == Ordering::Less {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        out.insert(lo, r);
    }
    out
}

/// The last release: the highest published release (prereleases too when drafting a
/// prerelease or with `include-pre-releases`) within `filter-by-range`, whose tag is
/// reachable from the target (ghops: a hotfix tag on `release/*` is never main's baseline).
async fn last_release<'a>(
    gh: &GitHub,
    repo: &RepoRef,
    cfg: &DrafterConfig,
    releases: &'a [Release],
    target: &str,
) -> Result<Option<&'a Release>, ReleaseError> {
    let range = range_filter(&cfg.filter_by_range);
    let published: Vec<&Release> = considered(cfg, releases, target)
        .into_iter()
        .filter(|r| !r.draft)
        .filter(|r| cfg.prerelease || cfg.include_pre_releases || !r.prerelease)
        .filter(|r| match &range {
            Some(reqs) => release_version(&r.tag_name, r.name.as_deref(), &cfg.tag_prefix)
                .is_some_and(|v| in_range(reqs, &v)),
            None => true,
        })
        .collect();
    let sorted = sort_releases(cfg, published);
    // Usually the first candidate is reachable; a hotfix tag on release/* is not.
    for r in sorted.into_iter().rev().take(50) {
        if reachable(gh, repo, &r.tag_name, target).await? {
            return Ok(Some(r));
        }
    }
    Ok(None)
}

/// The draft to update: with `draft-marker`, the newest draft carrying the target's marker;
/// otherwise release-drafter's rule, the first draft (API order) among the considered
/// releases whose prerelease flag is the one drafted.
fn existing_drafts<'a>(
    cfg: &DrafterConfig,
    releases: &'a [Release],
    target: &str,
) -> Vec<&'a Release> {
    if cfg.draft_marker {
        let m = draft_marker(target);
        let mut v: Vec<&Release> = releases
            .iter()
            .filter(|r| r.draft && r.body.as_deref().is_some_and(|b| b.contains(&m)))
            .collect();
        v.sort_by_key(|r| std::cmp::Reverse(r.id));
        return v;
    }
    considered(cfg, releases, target)
        .into_iter()
        .filter(|r| r.draft && r.prerelease == cfg.prerelease)
        .collect()
}

/// Computes the draft for `target` (reads only).
pub async fn plan_draft(
    gh: &GitHub,
    repo: &RepoRef,
    cfg: &DrafterConfig,
    target: &str,
    releases: &[Release],
    input: &DraftInput,
) -> Result<DraftPlan, ReleaseError> {
    let mut warnings = Vec::new();
    let last = last_release(gh, repo, cfg, releases, target).await?;
    // `filter-by-commitish` filters releases only: release-drafter (6.1.0 run, v7 source)
    // keeps every merged PR associated with the range's commits, whatever its base.
    let fetch = Fetch {
        base_branch: None,
        files: cfg.needs_files(),
        pr_limit: cfg.pull_request_limit,
    };
    let merged = merged_prs_with(
        gh,
        repo,
        last.map(|r| r.tag_name.as_str()),
        short_ref(target),
        &fetch,
    )
    .await?;
    // `initial-commits-since`: a first release lists only what was merged since then.
    let mut merged = merged;
    if let (None, Some(since)) = (last, cfg.initial_commits_since) {
        merged.prs.retain(|p| {
            p.merged_at
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .is_none_or(|t| t >= since)
        });
    }
    let counted = changelog::counted(cfg, &merged.prs);
    let increment = changelog::increment(cfg, &counted);
    let last_version =
        last.and_then(|r| release_version(&r.tag_name, r.name.as_deref(), &cfg.tag_prefix));
    let input_text = input
        .version
        .as_deref()
        .or(input.tag.as_deref())
        .or(input.name.as_deref())
        .filter(|s| !s.is_empty());
    let input_version = input_text.and_then(|t| {
        let v = release_version(t, None, &cfg.tag_prefix);
        if v.is_none() {
            warnings.push(format!(
                "version input {t:?} holds no version: resolved from the last release"
            ));
        }
        v
    });
    let mut info = version_info(
        cfg,
        last_version.as_ref(),
        input_version.as_ref(),
        increment,
    );
    if input_version.is_none() {
        let published: Vec<Version> = releases
            .iter()
            .filter(|r| !r.draft)
            .filter(|r| cfg.tag_prefix.is_empty() || r.tag_name.starts_with(&cfg.tag_prefix))
            .filter_map(|r| release_version(&r.tag_name, None, &cfg.tag_prefix))
            .collect();
        let moved = past_published(info.resolved.clone(), &published);
        if moved != info.resolved {
            warnings.push(format!(
                "{} is already published: drafting {moved} instead",
                info.resolved
            ));
            let mut again = version_info(cfg, last_version.as_ref(), Some(&moved), increment);
            again.vars.retain(|(k, _)| k != "INPUT_VERSION");
            info = again;
        }
    }
    let vars = |k: &str| info.get(k);
    let pick = |given: &Option<String>, template: &str| -> String {
        let t = match given {
            Some(g) => g.as_str(),
            None if template.is_empty() && cfg.fill_empty_name => "v$RESOLVED_VERSION",
            None => template,
        };
        fill_with(t, vars)
    };
    let tag = pick(&input.tag, &cfg.tag_template);
    let name = pick(&input.name, &cfg.name_template);
    if !tag.is_empty() && releases.iter().any(|r| !r.draft && r.tag_name == tag) {
        return Err(ReleaseError::Refused(format!(
            "{tag} is already published: refusing to draft it again"
        )));
    }
    let body = changelog::body(
        cfg,
        &BodyVars {
            prs: &counted,
            commits: &merged.commits,
            previous_tag: last.map(|r| r.tag_name.as_str()),
            info: &info,
            owner: &repo.owner,
            repository: &repo.name,
        },
    );
    let body = if cfg.draft_marker {
        format!("{}\n\n{}", body.trim_end(), draft_marker(target))
    } else {
        body
    };
    Ok(DraftPlan {
        version: info.get("RESOLVED_VERSION").unwrap_or_default().to_owned(),
        major_version: info.resolved.major,
        minor_version: info.resolved.minor,
        patch_version: info.resolved.patch,
        tag,
        name,
        body,
        target: short_ref(target).to_owned(),
        previous_tag: last.map(|r| r.tag_name.clone()),
        increment,
        prs: counted.into_iter().cloned().collect(),
        prerelease: cfg.prerelease,
        make_latest: cfg.make_latest(),
        html_url: None,
        upload_url: None,
        warnings,
    })
}

/// Upserts THE draft of `target` with no inputs (see [`draft_with`]).
pub async fn draft(
    gh: &GitHub,
    repo: &RepoRef,
    cfg: &DrafterConfig,
    target: &str,
) -> Result<(DraftPlan, DraftOutcome), ReleaseError> {
    draft_with(gh, repo, cfg, target, &DraftInput::default()).await
}

fn urls(plan: &mut DraftPlan, v: &Value) {
    plan.html_url = v["html_url"].as_str().map(str::to_owned);
    plan.upload_url = v["upload_url"].as_str().map(str::to_owned);
}

/// Upserts THE draft of `target`: updates it in place (no write when it is already current),
/// or creates it. With `draft-marker`, duplicates a concurrent run created are removed (the
/// newest wins); otherwise only exact duplicates of the draft just created are.
pub async fn draft_with(
    gh: &GitHub,
    repo: &RepoRef,
    cfg: &DrafterConfig,
    target: &str,
    input: &DraftInput,
) -> Result<(DraftPlan, DraftOutcome), ReleaseError> {
    let releases = list_releases(gh, repo).await?;
    let mut plan = plan_draft(gh, repo, cfg, target, &releases, input).await?;
    let path = format!("{}/releases", repo.api_path());
    let existing = existing_drafts(cfg, &releases, target);
    if let Some(current) = existing.first() {
        if cfg.draft_marker {
            for dup in &existing[1..] {
                gh.delete(&format!("{path}/{}", dup.id)).await?;
            }
        } else if existing.len() > 1 {
            plan.warnings.push(format!(
                "{} drafts match; updating the first one GitHub lists ({})",
                existing.len(),
                current.tag_name
            ));
        }
        let name = if plan.name.is_empty() {
            current.name.clone().unwrap_or_default()
        } else {
            plan.name.clone()
        };
        let tag = if plan.tag.is_empty() {
            current.tag_name.clone()
        } else {
            plan.tag.clone()
        };
        // What the draft says after this run (an empty template keeps the draft's own),
        // hence the `name`/`tag_name` outputs, as release-drafter reads them back.
        plan.name.clone_from(&name);
        plan.tag.clone_from(&tag);
        let same = current.tag_name == tag
            && current.name.as_deref().unwrap_or("") == name
            && current.body.as_deref().unwrap_or("") == plan.body
            && current.prerelease == plan.prerelease
            && current.target_commitish.as_deref().map(short_ref) == Some(plan.target.as_str());
        if same {
            plan.html_url = current.html_url.clone();
            plan.upload_url = current.upload_url.clone();
            return Ok((plan, DraftOutcome::Unchanged(current.id)));
        }
        let mut payload = Map::new();
        payload.insert("body".into(), json!(plan.body));
        payload.insert("draft".into(), json!(true));
        payload.insert("prerelease".into(), json!(plan.prerelease));
        payload.insert("make_latest".into(), json!(plan.make_latest));
        if !name.is_empty() {
            payload.insert("name".into(), json!(name));
        }
        if !tag.is_empty() {
            payload.insert("tag_name".into(), json!(tag));
        }
        payload.insert("target_commitish".into(), json!(plan.target));
        let out = gh
            .patch::<Value>(&format!("{path}/{}", current.id), &Value::Object(payload))
            .await?;
        return Ok(match out {
            Some(v) => {
                urls(&mut plan, &v);
                (plan, DraftOutcome::Updated(current.id))
            }
            None => (plan, DraftOutcome::DryRun),
        });
    }
    let payload = json!({
        "target_commitish": plan.target,
        "name": plan.name,
        "tag_name": plan.tag,
        "body": plan.body,
        "draft": true,
        "prerelease": plan.prerelease,
        "make_latest": plan.make_latest,
    });
    let created: Option<Value> = gh.post(&path, &payload, Idempotency::NonIdempotent).await?;
    let Some(created) = created else {
        return Ok((plan, DraftOutcome::DryRun));
    };
    urls(&mut plan, &created);
    let mut kept = created["id"].as_u64().unwrap_or_default();
    if cfg.draft_marker {
        // A concurrent run may have created one too: keep the newest, delete the rest.
        let again = list_releases(gh, repo).await?;
        let mine = existing_drafts(cfg, &again, target);
        if let Some(newest) = mine.first() {
            kept = newest.id;
            for dup in &mine[1..] {
                gh.delete(&format!("{path}/{}", dup.id)).await?;
            }
        }
    }
    Ok((plan, DraftOutcome::Created(kept)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_text() {
        let t = |o: DraftOutcome| o.to_string();
        assert_eq!(t(DraftOutcome::Created(7)), "draft 7 created");
        assert_eq!(t(DraftOutcome::Updated(7)), "draft 7 updated");
        assert_eq!(t(DraftOutcome::Unchanged(7)), "draft 7 already current");
        assert_eq!(t(DraftOutcome::DryRun), "dry-run, nothing written");
    }

    fn plan() -> DraftPlan {
        DraftPlan {
            version: "1.2.0".into(),
            major_version: 1,
            minor_version: 2,
            patch_version: 0,
            tag: "v1.2.0".into(),
            name: "Release 1.2.0".into(),
            body: "* X (#1) @dev".into(),
            target: "main".into(),
            previous_tag: Some("v1.1.0".into()),
            increment: Increment::Minor,
            prs: Vec::new(),
            prerelease: false,
            make_latest: "true".into(),
            html_url: Some("https://github.com/o/r/releases/tag/v1.2.0".into()),
            upload_url: Some("https://uploads.github.com/repos/o/r/releases/7/assets".into()),
            warnings: Vec::new(),
        }
    }

    /// The step summary counts PRs in the right number (it said "1 PRs").
    #[test]
    fn the_summary_counts_prs_in_the_right_number() {
        let mut p = plan();
        let line = |p: &DraftPlan| {
            p.summary(DraftOutcome::Updated(7))
                .lines()
                .nth(2)
                .unwrap()
                .to_owned()
        };
        assert_eq!(
            line(&p),
            "Tag `v1.2.0` · version 1.2.0 · 0 PRs since v1.1.0 · target `main`"
        );
        p.prs.push(crate::changelog::MergedPr::default());
        assert_eq!(
            line(&p),
            "Tag `v1.2.0` · version 1.2.0 · 1 PR since v1.1.0 · target `main`"
        );
    }

    #[test]
    fn outputs_are_release_drafters_and_a_dry_run_has_no_release_outputs() {
        let keys = |o: DraftOutcome| -> Vec<&str> {
            plan().outputs(o).into_iter().map(|(k, _)| k).collect()
        };
        assert_eq!(
            keys(DraftOutcome::Updated(7)),
            [
                "id",
                "html_url",
                "upload_url",
                "tag_name",
                "name",
                "resolved_version",
                "major_version",
                "minor_version",
                "patch_version",
                "body"
            ]
        );
        // release-drafter writes the release's id, URLs, name and tag only for a release.
        assert_eq!(
            keys(DraftOutcome::DryRun),
            [
                "resolved_version",
                "major_version",
                "minor_version",
                "patch_version",
                "body"
            ]
        );
        let out = plan().outputs(DraftOutcome::Created(9));
        assert_eq!(out[0], ("id", "9".to_owned()));
        assert_eq!(out[4], ("name", "Release 1.2.0".to_owned()));
    }
}
