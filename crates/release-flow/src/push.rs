//! The `push` webhook entry point for `ghops serve`: a push to the draft branch (the config's
//! `commitish`, else the repository's default branch) refreshes its draft; a push to
//! `release/X.Y.Z` publishes the next hotfix, keeps one reintegration PR, and then refreshes
//! the main draft so it stays correct. Everything else is ignored. A `release: published`
//! event creates the release branch ([`on_release`]).

use gh_core::events::{PushEvent, ReleaseEvent};
use gh_core::{GitHub, RepoRef};
use serde::Serialize;

use crate::config::DrafterConfig;
use crate::draft::{DraftOutcome, draft};
use crate::error::ReleaseError;
use crate::hotfix::{BranchResult, HotfixResult, hotfix, publish_hook};

/// A refreshed draft, summarised.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct DraftSummary {
    /// The branch the draft targets.
    pub target: String,
    /// The drafted tag.
    pub tag: String,
    /// PR numbers in its changelog.
    pub prs: Vec<u64>,
    /// What happened to the draft release.
    pub result: DraftOutcome,
}

/// What a `push` event led to.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PushOutcome {
    /// Not a release-flow push (tag, deleted branch, other branch).
    Ignored {
        /// Why.
        reason: String,
    },
    /// The draft of the main branch was refreshed.
    Draft(DraftSummary),
    /// A hotfix run on a release branch.
    Hotfix {
        /// The hotfix result.
        hotfix: HotfixResult,
        /// Main's draft after the hotfix (`None` when nothing was published since the line's
        /// release, or when the refresh was refused; the reason is then in `note`).
        main_draft: Option<DraftSummary>,
        /// Why main's draft was not refreshed, if it was not.
        note: Option<String>,
    },
}

/// The branch whose draft is kept: `commitish` from the config, else the default branch.
pub fn draft_branch<'a>(cfg: &'a DrafterConfig, event: &'a PushEvent) -> &'a str {
    if !cfg.commitish.is_empty() {
        return &cfg.commitish;
    }
    event.repository.default_branch.as_deref().unwrap_or("main")
}

async fn refresh(
    gh: &GitHub,
    repo: &RepoRef,
    cfg: &DrafterConfig,
    target: &str,
) -> Result<DraftSummary, ReleaseError> {
    let (plan, result) = draft(gh, repo, cfg, target).await?;
    Ok(DraftSummary {
        target: target.to_owned(),
        tag: plan.tag,
        prs: plan.prs.iter().map(|p| p.number).collect(),
        result,
    })
}

/// Handles one `push` event (the entry point `ghops serve` calls). The caller checks the
/// webhook signature and the installation's permissions (`contents: write`,
/// `pull-requests: write`); this function only acts on the repository named in the event.
/// A refusal (e.g. the next tag is already published) is an `Err(ReleaseError::Refused)`.
pub async fn on_push(
    gh: &GitHub,
    cfg: &DrafterConfig,
    event: &PushEvent,
) -> Result<PushOutcome, ReleaseError> {
    match push_target(cfg, event)? {
        PushTarget::Ignored(reason) => Ok(PushOutcome::Ignored { reason }),
        PushTarget::Draft { repo, branch } => {
            Ok(PushOutcome::Draft(refresh(gh, &repo, cfg, &branch).await?))
        }
        PushTarget::Hotfix { repo, branch, main } => {
            hotfix_then_draft(gh, &repo, cfg, &branch, &main).await
        }
    }
}

/// What a `push` event asks of release-flow, decided without an API call: the one rule
/// `ghops serve` ([`on_push`]) and `ghops release hotfix --event` both follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushTarget {
    /// Refresh the draft of the default (or `commitish`) branch.
    Draft {
        /// The repository.
        repo: RepoRef,
        /// The branch drafted for.
        branch: String,
    },
    /// Publish the next patch of a `release/*` branch, reintegrating into `main`.
    Hotfix {
        /// The repository.
        repo: RepoRef,
        /// The `release/*` branch.
        branch: String,
        /// The branch the reintegration PR targets.
        main: String,
    },
    /// Nothing to do (why: a tag, a deleted branch, another branch).
    Ignored(String),
}

/// Decides [`PushTarget`] for `event`.
pub fn push_target(cfg: &DrafterConfig, event: &PushEvent) -> Result<PushTarget, ReleaseError> {
    let Some(branch) = event.ref_name.strip_prefix("refs/heads/") else {
        return Ok(PushTarget::Ignored(format!(
            "{} is not a branch",
            event.ref_name
        )));
    };
    if event.deleted {
        return Ok(PushTarget::Ignored(format!("{branch} was deleted")));
    }
    let repo: RepoRef = event.repository.full_name.parse()?;
    let main = draft_branch(cfg, event);
    if branch == main {
        return Ok(PushTarget::Draft {
            repo,
            branch: branch.to_owned(),
        });
    }
    if !branch.starts_with("release/") {
        return Ok(PushTarget::Ignored(format!(
            "{branch} is neither {main} nor release/*"
        )));
    }
    Ok(PushTarget::Hotfix {
        repo,
        branch: branch.to_owned(),
        main: main.to_owned(),
    })
}

/// What a `release` event asks of release-flow: `Ok((repo, tag))` for a published release
/// that is neither a draft nor a prerelease (it gets its `release/{version}` branch), else
/// `Err(why not)`. The one rule [`on_release`] and `ghops release publish-hook --event`
/// follow.
pub fn release_target(
    event: &ReleaseEvent,
) -> Result<std::result::Result<(RepoRef, String), String>, ReleaseError> {
    if event.action != "published" {
        return Ok(Err(format!("release {}", event.action)));
    }
    if event.release.draft {
        return Ok(Err("a draft release".into()));
    }
    if event.release.prerelease {
        return Ok(Err(format!(
            "{} is a prerelease (prereleases get no release branch)",
            event.release.tag_name
        )));
    }
    let repo: RepoRef = event.repository.full_name.parse()?;
    Ok(Ok((repo, event.release.tag_name.clone())))
}

/// `ghops release hotfix`: publishes the next patch of `branch` with its one reintegration
/// PR into `main`, then recomputes `main`'s draft (a new published tag may collide with the
/// drafted version) when something was published **or** when nothing new was but the
/// branch's last tag is a hotfix (`X.Y.Z`, `Z > 0`): a replay after a run that published and
/// stopped before the refresh (a lost answer, a crash) must not leave main's draft holding a
/// tag that is now published. A refused draft refresh is reported in `note`, not as an
/// error: the hotfix itself succeeded.
pub async fn hotfix_then_draft(
    gh: &GitHub,
    repo: &RepoRef,
    cfg: &DrafterConfig,
    branch: &str,
    main: &str,
) -> Result<PushOutcome, ReleaseError> {
    let h = hotfix(gh, repo, cfg, branch, main, &cfg.reintegration_label).await?;
    let after_hotfix = h
        .previous_tag
        .as_deref()
        .and_then(|t| crate::version::parse_tag(t, &cfg.tag_prefix))
        .is_some_and(|v| v.patch > 0);
    if h.tag.is_none() && !after_hotfix {
        return Ok(PushOutcome::Hotfix {
            hotfix: h,
            main_draft: None,
            note: Some("nothing published".into()),
        });
    }
    let (main_draft, note) = match refresh(gh, repo, cfg, main).await {
        Ok(d) => (Some(d), None),
        Err(ReleaseError::Refused(m)) => (None, Some(m)),
        Err(e) => return Err(e),
    };
    Ok(PushOutcome::Hotfix {
        hotfix: h,
        main_draft,
        note,
    })
}

/// Handles one `release` event (the entry point `ghops serve` calls): a published,
/// non-prerelease release gets its `release/{version}` branch ([`publish_hook`]); `Ok(None)`
/// for any other action, drafts and prereleases. Needs `contents: write`.
pub async fn on_release(
    gh: &GitHub,
    cfg: &DrafterConfig,
    event: &ReleaseEvent,
) -> Result<Option<BranchResult>, ReleaseError> {
    let Ok((repo, tag)) = release_target(event)? else {
        return Ok(None);
    };
    publish_hook(gh, &repo, cfg, &tag).await.map(Some)
}
