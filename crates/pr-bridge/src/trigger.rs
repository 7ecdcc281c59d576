//! `ghops pr-bridge trigger`: from an authorised trigger comment to a branch at the PR's
//! verified merge commit, with one status comment.

use std::time::Duration;

use gh_core::comments::Upserted;
use gh_core::events::IssueCommentEvent;
use gh_core::repo::{encode_query, encode_segment};
use gh_core::retry::{Backoff, Idempotency, Pacer, poll_until};
use gh_core::{GitHub, RepoRef};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::BridgeError;
use crate::gate::{Gate, Triggered, gate};
use crate::github::{self, Own, Pr};
use crate::merge_ref::{
    MergeProblem, PinnedMerge, VerifiedMerge, push_test_branch, verify_pinned_merge,
};
use crate::options::Options;
use crate::render::{self, RunLink, State};

/// What happened to the branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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

/// For people: `created`, `force-updated`, `unchanged`, `dry run` (`ghops pr-bridge trigger`).
impl std::fmt::Display for BranchAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BranchAction::Created => "created",
            BranchAction::Updated => "force-updated",
            BranchAction::Unchanged => "unchanged",
            BranchAction::DryRun => "not written (dry run)",
        })
    }
}

/// The result of a trigger.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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

/// Replies on the PR with ONE refusal comment (upserted), then returns the error. `own` is
/// ghops's comments when already read.
async fn refuse(
    gh: &GitHub,
    repo: &RepoRef,
    pr: u64,
    own: Option<Own>,
    reason: String,
    err: BridgeError,
) -> Result<TriggerOutcome, BridgeError> {
    let marker = render::refusal_marker();
    let own = match own {
        Some(o) => o,
        None => github::own_comments(gh, repo, pr, &marker).await?,
    };
    github::upsert(gh, repo, pr, &marker, &render::refusal(&reason), own).await?;
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
            "{}/actions/runs?branch={}&head_sha={}&per_page=100",
            repo.api_path(),
            encode_query(branch),
            encode_query(sha)
        ))
        .await?;
    Ok(r.of_repo(repo))
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

/// Whether `s` is a full lowercase-or-uppercase hex SHA-1.
pub(crate) fn is_full_sha(s: &str) -> bool {
    s.len() == crate::gate::PIN_LEN && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The reply and the error for a [`MergeProblem`]; `Err` for a problem that gets no reply.
fn refusal_of(
    problem: MergeProblem,
    pr: u64,
    base_ref_name: &str,
    base_ref_oid: &str,
    head_ref_oid: &str,
    opts: &Options,
) -> Result<(String, BridgeError), BridgeError> {
    Ok(match problem {
        MergeProblem::PinMismatch { pin, head } => (
            format!(
                "The PR's head is now `{head}`, not the `sha={pin}` that was reviewed. Review the new commits, then trigger again with `sha=` set to the new head."
            ),
            BridgeError::Refused(format!(
                "pinned sha {pin} does not match head {head}"
            )),
        ),
        // The exact line to paste, with the head's full SHA (read from the API, so nothing
        // from the comment is echoed), in a code block of its own.
        MergeProblem::PinMissing { head } => (
            format!(
                "A bare `{t}` is not enough: pin the commit you reviewed by its full SHA, so that nothing pushed after your review is tested. If you reviewed the PR's current head, comment:\n\n```\n{t} sha={head}\n```\n\nIf the PR has changed since, review the new commits and pin the new head instead.",
                t = opts.trigger
            ),
            BridgeError::Input("sha= is required".into()),
        ),
        MergeProblem::Conflicting => (
            format!("This PR conflicts with `{base_ref_name}`: please rebase; nothing was tested."),
            BridgeError::Refused(format!(
                "PR #{pr} does not merge cleanly"
            )),
        ),
        MergeProblem::MergeableUnknown => (
            "GitHub has not finished checking whether this PR merges cleanly; nothing was tested. Try again in a minute.".into(),
            BridgeError::Timeout(format!(
                "mergeable still unknown after {} reads",
                opts.mergeable_attempts
            )),
        ),
        MergeProblem::NoMergeCommit => {
            return Err(BridgeError::Refused(format!(
                "PR #{pr} has no merge commit"
            )));
        }
        MergeProblem::Unjoined { merge, parents } => (
            "The PR or its base changed while the test was being prepared (the merge commit does not join the reviewed head and the base's tip); nothing was tested. Trigger again.".into(),
            BridgeError::Refused(format!(
                "merge commit {merge} has parents {}; expected base {base_ref_oid} and head {}",
                parents.join(", "),
                head_ref_oid.to_ascii_lowercase()
            )),
        ),
    })
}

/// Handles an `issue_comment` event: the gate, authorisation of the comment's author, the PR
/// checks (open, fork, pinned SHA, mergeable, verified merge commit, workflow files), the
/// branch, one reaction, the status comment and (optionally) a pending commit status.
///
/// API calls for a successful first trigger: the permission check, ONE GraphQL read (the PR,
/// its test merge commit and parents, the workflow trees, the test branch, ghops's own
/// comments), the branch write, one 🚀 reaction, the status comment create and one GraphQL read
/// that makes concurrent creates converge: 6. A later trigger updates the comment in place
/// (5). `--commit-status` adds one; `run_wait_secs > 0` adds one runs read per poll.
pub async fn trigger(
    gh: &GitHub,
    repo: &RepoRef,
    event: &IssueCommentEvent,
    opts: &Options,
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
        let (reply, err) = if decision.check_failed {
            (
                format!(
                    "Sorry, ghops could not check your permission to run `{}` (GitHub's API failed); nothing was tested. Please try again in a few minutes.",
                    opts.trigger
                ),
                BridgeError::Unavailable(format!(
                    "could not check whether {} is authorised",
                    t.user
                )),
            )
        } else {
            (
                format!(
                    "Sorry, you are not authorised to run `{}` on this repository.",
                    opts.trigger
                ),
                BridgeError::Refused(format!("{} is not authorised", t.user)),
            )
        };
        if opts.reply_on_refusal {
            return refuse(gh, repo, pr, None, reply, err).await;
        }
        return Err(err);
    }
    if let Some(problem) = &t.args.problem {
        return refuse(
            gh,
            repo,
            pr,
            None,
            format!("{problem}. Usage: `{} sha=<full head sha>`.", opts.trigger),
            BridgeError::Input(problem.clone()),
        )
        .await;
    }

    // The PR, with mergeability computed (bounded backoff), in one read.
    let branch = opts.branch(pr);
    let (mut pull, mut current) = github::read_pr(gh, repo, pr, &branch).await?;
    let mut pacer = Pacer::new(opts.mergeable_schedule(), None);
    while pull.state == "OPEN"
        && pull.mergeable.as_deref().is_none_or(|m| m == "UNKNOWN")
        && let Some(delay) = pacer.next_wait(Duration::ZERO)
    {
        tokio::time::sleep(delay).await;
        (pull, current) = github::read_pr(gh, repo, pr, &branch).await?;
    }
    let Pr {
        state,
        head_ref_oid,
        base_ref_oid,
        base_ref_name,
        is_cross_repository,
        head_repository,
        mergeable,
        potential_merge_commit,
        comments,
    } = pull;
    let own = Own::from_conn(comments);
    if state != "OPEN" {
        return refuse(
            gh,
            repo,
            pr,
            Some(own),
            "This pull request is closed; nothing was tested.".into(),
            BridgeError::Refused(format!("PR #{pr} is {}", state.to_ascii_lowercase())),
        )
        .await;
    }
    let Some(head_repo) = head_repository else {
        return refuse(
            gh,
            repo,
            pr,
            Some(own),
            "The PR's source repository no longer exists; nothing was tested.".into(),
            BridgeError::Refused(format!("PR #{pr} has no head repository")),
        )
        .await;
    };
    let same_repo = !is_cross_repository
        || head_repo
            .name_with_owner
            .eq_ignore_ascii_case(&repo.to_string());
    if same_repo && !opts.allow_same_repo {
        tracing::info!(
            pr,
            "PR from this repository: its CI already runs with secrets"
        );
        return Ok(TriggerOutcome::SameRepo { pr });
    }
    // The pinned merge: the head is the reviewed one, and GitHub's merge commit joins it and
    // the base's tip (merge_ref).
    let parents: Vec<&str> = potential_merge_commit
        .as_ref()
        .map(|m| m.parents.nodes.iter().map(|p| p.oid.as_str()).collect())
        .unwrap_or_default();
    let verified = verify_pinned_merge(&PinnedMerge {
        head: &head_ref_oid,
        base: &base_ref_oid,
        pin: t.args.sha.as_deref(),
        require_pin: opts.require_sha,
        mergeable: mergeable.as_deref(),
        merge: potential_merge_commit.as_ref().map(|m| m.oid.as_str()),
        parents: &parents,
    });
    let VerifiedMerge { head, merge_sha } = match verified {
        Ok(v) => v,
        Err(problem) => {
            let (reply, err) = refusal_of(
                problem,
                pr,
                &base_ref_name,
                &base_ref_oid,
                &head_ref_oid,
                opts,
            )?;
            return refuse(gh, repo, pr, Some(own), reply, err).await;
        }
    };
    let Some(merge) = potential_merge_commit else {
        return Err(BridgeError::Refused(format!(
            "PR #{pr} has no merge commit"
        )));
    };

    // Workflow files: the branch runs the merge commit's workflows with secrets. Comparing the
    // `.github/workflows` tree of the merge commit with the base's is exact, however many
    // files the PR changes (the files API stops at 3,000).
    let workflows_of = |f: &Option<github::Oid>| f.as_ref().map(|o| o.oid.to_ascii_lowercase());
    let touches_workflows = workflows_of(&merge.file) != workflows_of(&merge.parents.nodes[0].file);
    let mut warnings = Vec::new();
    if touches_workflows {
        if opts.refuse_workflow_changes {
            return refuse(
                gh,
                repo,
                pr,
                Some(own),
                "This PR changes `.github/workflows/`, and this repository refuses to run changed workflows with secrets; nothing was tested.".into(),
                BridgeError::Refused(format!("PR #{pr} changes workflow files")),
            )
            .await;
        }
        warnings.push(
            "This PR changes files under `.github/workflows/`: the test branch runs the PR's own workflow definitions, with this repository's secrets.".to_owned(),
        );
    }

    let branch_action = match push_test_branch(gh, repo, &branch, &merge_sha, current.as_deref())
        .await
    {
        Ok(a) => a,
        Err(e) if is_workflow_scope_error(&e) => {
            return refuse(
                    gh,
                    repo,
                    pr,
                    Some(own),
                    "ghops's token cannot push commits that change workflow files: it lacks the `workflow` scope (a personal token) or the Workflows: write permission (a GitHub App). Nothing was tested.".into(),
                    BridgeError::Refused(e.to_string()),
                )
                .await;
        }
        Err(e) => return Err(e.into()),
    };
    react(gh, repo, t.comment_id, "rocket").await;

    // Link the run(s) the push started, when asked to wait for them (bounded).
    let mut runs = Vec::new();
    if branch_action != BranchAction::DryRun && opts.run_wait_secs > 0 {
        runs = poll_until(
            Some(Duration::from_secs(opts.run_wait_secs)),
            Backoff::fixed(Duration::from_millis(opts.run_poll_ms)),
            || async {
                let runs = runs_for(gh, repo, &branch, &merge_sha).await?;
                Ok::<_, BridgeError>((!runs.is_empty()).then_some(runs))
            },
        )
        .await?
        .unwrap_or_default();
    }
    let state = State {
        branch: branch.clone(),
        head_sha: head.clone(),
        merge_sha: merge_sha.clone(),
        base: base_ref_name,
    };
    let body = render::started(&state, &t.user, &runs, &warnings);
    let comment = github::upsert(gh, repo, pr, &render::status_marker(), &body, own).await?;
    if opts.commit_status {
        let target = runs.first().and_then(|r| r.html_url.clone());
        gh.post::<Value>(
            &format!("{}/statuses/{}", repo.api_path(), encode_segment(&head)),
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
