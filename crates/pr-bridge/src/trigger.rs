//! `ghops pr-bridge trigger`: from an authorised trigger comment to a branch at the PR's
//! verified merge commit, with one status comment.

use std::time::{Duration, Instant};

use gh_core::comments::{Upserted, upsert_comment};
use gh_core::events::{IssueCommentEvent, PullRequest};
use gh_core::repo::encode_query;
use gh_core::retry::Idempotency;
use gh_core::{GitHub, RepoRef, git};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::BridgeError;
use crate::gate::{Gate, Triggered, gate};
use crate::options::Options;
use crate::render::{self, RunLink, State};

/// What happened to the branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BranchAction {
    /// Created at the merge commit.
    Created,
    /// Existed at another SHA: force-updated (a newer approval supersedes).
    Updated,
    /// Already at the merge commit: nothing written.
    Unchanged,
    /// `--dry-run`: nothing written.
    DryRun,
}

/// The result of a trigger.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum TriggerOutcome {
    /// Not a trigger (the reason, one line); no API call was made.
    Ignored {
        /// Why.
        reason: String,
    },
    /// Same-repository PR without `allow_same_repo`: nothing to bridge.
    SameRepo {
        /// The PR.
        pr: u64,
    },
    /// The branch is at the merge commit and the status comment says so.
    Started {
        /// The PR.
        pr: u64,
        /// The branch.
        branch: String,
        /// The approved head.
        head_sha: String,
        /// The merge commit.
        merge_sha: String,
        /// What happened to the branch.
        branch_action: BranchAction,
        /// Runs the push started (found within the wait).
        runs: Vec<RunLink>,
        /// The status comment.
        comment: Upserted,
        /// Warnings (also in the comment).
        warnings: Vec<String>,
    },
}

#[derive(Deserialize)]
struct GitCommit {
    sha: String,
    #[serde(default)]
    parents: Vec<Parent>,
}

#[derive(Deserialize)]
struct Parent {
    sha: String,
}

#[derive(Deserialize)]
struct PrFile {
    filename: String,
    #[serde(default)]
    previous_filename: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct Runs {
    #[serde(default)]
    workflow_runs: Vec<RawRun>,
}

#[derive(Deserialize)]
struct RawRun {
    #[serde(flatten)]
    link: RunLink,
    #[serde(default)]
    head_repository: Option<HeadRepo>,
}

#[derive(Deserialize)]
struct HeadRepo {
    full_name: String,
}

impl Runs {
    /// The runs of this repository's own branch. The runs list filters by branch NAME and
    /// SHA: a fork can open a PR from a branch named `<prefix>/<n>` holding the (public) merge
    /// commit, and its `pull_request` run would match both; it must not count.
    pub(crate) fn of_repo(self, repo: &RepoRef) -> Vec<RunLink> {
        let me = repo.to_string();
        self.workflow_runs
            .into_iter()
            .filter(|r| {
                r.head_repository
                    .as_ref()
                    .is_none_or(|h| h.full_name.eq_ignore_ascii_case(&me))
            })
            .map(|r| r.link)
            .collect()
    }
}

/// ghops's own login, given or resolved on first use (`GitHub::login`): an unauthorised or
/// ignored trigger never costs the lookup.
pub struct Me<'a> {
    known: Option<&'a str>,
    cell: tokio::sync::OnceCell<String>,
}

impl<'a> Me<'a> {
    /// A known login (e.g. a GitHub App's `<slug>[bot]`).
    pub fn known(login: &'a str) -> Self {
        Self {
            known: Some(login),
            cell: tokio::sync::OnceCell::new(),
        }
    }

    /// Resolved from the token when first needed.
    pub fn lazy() -> Self {
        Self {
            known: None,
            cell: tokio::sync::OnceCell::new(),
        }
    }

    /// The login.
    pub async fn get(&self, gh: &GitHub) -> Result<String, gh_core::Error> {
        if let Some(k) = self.known {
            return Ok(k.to_owned());
        }
        self.cell.get_or_try_init(|| gh.login()).await.cloned()
    }
}

/// Replies on the PR with ONE refusal comment (upserted), then returns the error.
async fn refuse(
    gh: &GitHub,
    repo: &RepoRef,
    pr: u64,
    me: &Me<'_>,
    reason: String,
    err: BridgeError,
) -> Result<TriggerOutcome, BridgeError> {
    let me = me.get(gh).await?;
    upsert_comment(
        gh,
        repo,
        pr,
        &render::refusal_marker(),
        &render::refusal(&reason),
        &me,
    )
    .await?;
    Err(err)
}

/// Runs for `branch` at `sha`.
pub(crate) async fn runs_for(
    gh: &GitHub,
    repo: &RepoRef,
    branch: &str,
    sha: &str,
) -> Result<Vec<RunLink>, BridgeError> {
    let r: Runs = gh
        .get(&format!(
            "{}/actions/runs?branch={}&head_sha={sha}&per_page=100",
            repo.api_path(),
            encode_query(branch)
        ))
        .await?;
    Ok(r.of_repo(repo))
}

async fn ensure_branch(
    gh: &GitHub,
    repo: &RepoRef,
    branch: &str,
    sha: &str,
) -> Result<BranchAction, gh_core::Error> {
    Ok(
        match git::ensure_ref(
            gh,
            repo,
            &format!("heads/{branch}"),
            sha,
            git::OnOther::Move,
        )
        .await?
        {
            git::RefWrite::Created => BranchAction::Created,
            git::RefWrite::Unchanged => BranchAction::Unchanged,
            git::RefWrite::DryRun => BranchAction::DryRun,
            git::RefWrite::Moved | git::RefWrite::Elsewhere(_) => BranchAction::Updated,
        },
    )
}

fn is_workflow_scope_error(e: &gh_core::Error) -> bool {
    let m = e.to_string().to_ascii_lowercase();
    (e.is_status(422) || e.is_status(403) || e.is_status(404))
        && m.contains("workflow")
        && (m.contains("scope") || m.contains("permission"))
}

async fn react(gh: &GitHub, repo: &RepoRef, comment_id: u64, content: &str) {
    let path = format!("{}/issues/comments/{comment_id}/reactions", repo.api_path());
    // A reaction is cosmetic: a failure is logged, never fatal. GitHub answers an existing
    // reaction with 200, so repeating it is harmless.
    if let Err(e) = gh
        .post::<Value>(&path, &json!({"content": content}), Idempotency::Idempotent)
        .await
    {
        tracing::warn!(error = %e, content, "could not add a reaction");
    }
}

/// Handles an `issue_comment` event: the gate, authorisation of the comment's author, the PR
/// checks (open, fork, pinned SHA, mergeable, verified merge commit), the branch, reactions,
/// the status comment and (optionally) a pending commit status.
///
/// `me` is ghops's own login (see [`Me`]), used to find its comments.
pub async fn trigger(
    gh: &GitHub,
    repo: &RepoRef,
    event: &IssueCommentEvent,
    opts: &Options,
    me: &Me<'_>,
) -> Result<TriggerOutcome, BridgeError> {
    let t: Triggered = match gate(event, &opts.trigger, render::OWN_COMMENT) {
        Gate::Ignored(reason) => return Ok(TriggerOutcome::Ignored { reason }),
        Gate::Triggered(t) => t,
    };
    let pr = t.pr;
    let decision = opts
        .policy()
        .authorize(gh, repo, &t.user, t.user_type.as_deref())
        .await;
    if !decision.allowed {
        tracing::info!(user = %t.user, reason = %decision.reason, "not authorised");
        let err = BridgeError::Refused(format!("{} is not authorised", t.user));
        if opts.reply_on_refusal {
            return refuse(
                gh,
                repo,
                pr,
                me,
                format!(
                    "Sorry, you are not authorised to run `{}` on this repository.",
                    opts.trigger
                ),
                err,
            )
            .await;
        }
        return Err(err);
    }
    react(gh, repo, t.comment_id, "eyes").await;
    if let Some(problem) = &t.args.problem {
        return refuse(
            gh,
            repo,
            pr,
            me,
            format!("{problem}. Usage: `{} sha=<head sha>`.", opts.trigger),
            BridgeError::Input(problem.clone()),
        )
        .await;
    }

    // The PR, with mergeability computed (bounded backoff).
    let pull_path = format!("{}/pulls/{pr}", repo.api_path());
    let mut pull: PullRequest = gh.get(&pull_path).await?;
    let mut delay = opts.mergeable_delay();
    let mut attempt = 1;
    while pull.state == "open" && pull.mergeable.is_none() && attempt < opts.mergeable_attempts {
        tokio::time::sleep(delay).await;
        delay *= 2;
        attempt += 1;
        pull = gh.get(&pull_path).await?;
    }
    if pull.state != "open" {
        return refuse(
            gh,
            repo,
            pr,
            me,
            "This pull request is closed; nothing was tested.".into(),
            BridgeError::Refused(format!("PR #{pr} is {}", pull.state)),
        )
        .await;
    }
    let Some(head_repo) = &pull.head.repo else {
        return refuse(
            gh,
            repo,
            pr,
            me,
            "The PR's source repository no longer exists; nothing was tested.".into(),
            BridgeError::Refused(format!("PR #{pr} has no head repository")),
        )
        .await;
    };
    if head_repo.full_name.eq_ignore_ascii_case(&repo.to_string()) && !opts.allow_same_repo {
        tracing::info!(
            pr,
            "PR from this repository: its CI already runs with secrets"
        );
        return Ok(TriggerOutcome::SameRepo { pr });
    }
    let head = pull.head.sha.to_ascii_lowercase();
    match &t.args.sha {
        Some(pin) if !head.starts_with(pin.as_str()) => {
            return refuse(
                gh,
                repo,
                pr,
                me,
                format!(
                    "The PR's head is now `{head}`, not the `sha={pin}` that was reviewed. Review the new commits, then trigger again with `sha=` set to the new head."
                ),
                BridgeError::Refused(format!("pinned sha {pin} does not match head {head}")),
            )
            .await;
        }
        None if opts.require_sha => {
            return refuse(
                gh,
                repo,
                pr,
                me,
                format!(
                    "Pin the commit you reviewed: `{} sha=<head sha>` (the head is `{head}`).",
                    opts.trigger
                ),
                BridgeError::Input("sha= is required".into()),
            )
            .await;
        }
        _ => {}
    }
    match pull.mergeable {
        None => {
            upsert_comment(
                gh,
                repo,
                pr,
                &render::refusal_marker(),
                &render::refusal(
                    "GitHub has not finished checking whether this PR merges cleanly; nothing was tested. Try again in a minute.",
                ),
                &me.get(gh).await?,
            )
            .await?;
            return Err(BridgeError::Timeout(format!(
                "mergeable still unknown after {} reads",
                opts.mergeable_attempts
            )));
        }
        Some(false) => {
            return refuse(
                gh,
                repo,
                pr,
                me,
                format!(
                    "This PR conflicts with `{}`: please rebase; nothing was tested.",
                    pull.base.ref_name
                ),
                BridgeError::Refused(format!("PR #{pr} does not merge cleanly")),
            )
            .await;
        }
        Some(true) => {}
    }
    let Some(merge_sha) = pull.merge_commit_sha.clone() else {
        return Err(BridgeError::Refused(format!(
            "PR #{pr} has no merge commit"
        )));
    };
    let commit: GitCommit = gh
        .get(&format!("{}/git/commits/{merge_sha}", repo.api_path()))
        .await?;
    let parents: Vec<&str> = commit.parents.iter().map(|p| p.sha.as_str()).collect();
    if parents.len() != 2
        || !parents[1].eq_ignore_ascii_case(&head)
        || !parents[0].eq_ignore_ascii_case(&pull.base.sha)
    {
        return refuse(
            gh,
            repo,
            pr,
            me,
            "The PR or its base changed while the test was being prepared (the merge commit does not join the reviewed head and the base's tip); nothing was tested. Trigger again.".into(),
            BridgeError::Refused(format!(
                "merge commit {} parents {parents:?} != [base {}, head {head}]",
                commit.sha, pull.base.sha
            )),
        )
        .await;
    }

    // Workflow files: the branch runs the PR's own workflows with secrets.
    let files: Vec<PrFile> = gh
        .get_all(
            &format!("{}/pulls/{pr}/files?per_page=100", repo.api_path()),
            None,
        )
        .await?;
    let touches_workflows = files.iter().any(|f| {
        std::iter::once(&f.filename)
            .chain(f.previous_filename.as_ref())
            .any(|p| p.starts_with(".github/workflows/"))
    });
    let mut warnings = Vec::new();
    if touches_workflows {
        if opts.refuse_workflow_changes {
            return refuse(
                gh,
                repo,
                pr,
                me,
                "This PR changes `.github/workflows/`, and this repository refuses to run changed workflows with secrets; nothing was tested.".into(),
                BridgeError::Refused(format!("PR #{pr} changes workflow files")),
            )
            .await;
        }
        warnings.push(
            "This PR changes files under `.github/workflows/`: the test branch runs the PR's own workflow definitions, with this repository's secrets.".to_owned(),
        );
    }

    let branch = opts.branch(pr);
    let branch_action = match ensure_branch(gh, repo, &branch, &merge_sha).await {
        Ok(a) => a,
        Err(e) if is_workflow_scope_error(&e) => {
            return refuse(
                gh,
                repo,
                pr,
                me,
                "ghops's token cannot push commits that change workflow files: it lacks the `workflow` scope (a personal token) or the Workflows: write permission (a GitHub App). Nothing was tested.".into(),
                BridgeError::Refused(e.to_string()),
            )
            .await;
        }
        Err(e) => return Err(e.into()),
    };
    react(gh, repo, t.comment_id, "rocket").await;

    // Link the run(s) the push started: bounded wait.
    let mut runs = Vec::new();
    if branch_action != BranchAction::DryRun {
        let deadline = Instant::now() + Duration::from_secs(opts.run_wait_secs);
        loop {
            runs = runs_for(gh, repo, &branch, &merge_sha).await?;
            if !runs.is_empty() || Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(opts.run_poll_ms)).await;
        }
    }
    let state = State {
        branch: branch.clone(),
        head_sha: head.clone(),
        merge_sha: merge_sha.clone(),
        base: pull.base.ref_name.clone(),
    };
    let body = render::started(&state, &t.user, &runs, &warnings);
    let comment = upsert_comment(
        gh,
        repo,
        pr,
        &render::status_marker(),
        &body,
        &me.get(gh).await?,
    )
    .await?;
    if opts.commit_status {
        let target = runs.first().and_then(|r| r.html_url.clone());
        gh.post::<Value>(
            &format!("{}/statuses/{head}", repo.api_path()),
            &json!({
                "state": "pending",
                "context": "ghops/pr-bridge",
                "description": format!("Testing with secrets on {branch}"),
                "target_url": target,
            }),
            Idempotency::Idempotent,
        )
        .await?;
    }
    Ok(TriggerOutcome::Started {
        pr,
        branch,
        head_sha: head,
        merge_sha,
        branch_action,
        runs,
        comment,
        warnings,
    })
}
