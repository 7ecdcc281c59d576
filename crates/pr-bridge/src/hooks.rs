//! Entry points for webhook deliveries (`ghops serve`): one function per event, each taking an
//! already-built client, the repository, the parsed event and the [`Options`], and returning
//! an outcome enum. Both are idempotent, so a repeated delivery is harmless.
//!
//! ```no_run
//! use gh_core::{GitHub, RepoRef, events::{IssueCommentEvent, WorkflowRunEvent}};
//! use pr_bridge::{Options, on_issue_comment, on_workflow_run};
//!
//! # async fn handle(gh: &GitHub, c: IssueCommentEvent, r: WorkflowRunEvent)
//! #     -> Result<(), pr_bridge::BridgeError> {
//! let opts = Options::default();
//! let repo: RepoRef = c.repository.full_name.parse()?;
//! println!("{:?}", on_issue_comment(gh, &repo, &c, &opts).await?);
//! println!("{:?}", on_workflow_run(gh, &repo, &r, &opts).await?);
//! # Ok(()) }
//! ```

use gh_core::events::{IssueCommentEvent, WorkflowRunEvent};
use gh_core::{GitHub, RepoRef};
use serde::Serialize;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use crate::error::BridgeError;
use crate::gate::{Gate, gate, gate_raw};
use crate::options::Options;
use crate::render::RunLink;
use crate::report::{ReportOutcome, finish, recorded_state, verdict_of};
use crate::trigger::{TriggerOutcome, runs_for, trigger};

type Locks = Mutex<HashMap<(String, u64), Weak<tokio::sync::Mutex<()>>>>;

fn locks() -> &'static Locks {
    static LOCKS: std::sync::OnceLock<Locks> = std::sync::OnceLock::new();
    LOCKS.get_or_init(Default::default)
}

/// Serialises work on one PR inside this process: [`on_issue_comment`] and
/// [`on_workflow_run`] hold this lock while they read and write the PR's branch and status
/// comment, so two deliveries for the same PR (a webhook server runs them concurrently) never
/// interleave. Deliveries for other PRs are not held up. Across processes the status comment
/// upsert converges on its own (the later writer deletes its duplicate).
pub async fn lock_pr(repo: &RepoRef, pr: u64) -> tokio::sync::OwnedMutexGuard<()> {
    let key = (repo.to_string().to_ascii_lowercase(), pr);
    let lock = {
        let mut map = locks().lock().unwrap_or_else(|e| e.into_inner());
        match map.get(&key).and_then(Weak::upgrade) {
            Some(l) => l,
            None => {
                // Forget the locks nobody holds any more (bounded memory).
                map.retain(|_, w| w.strong_count() > 0);
                let l = Arc::new(tokio::sync::Mutex::new(()));
                map.insert(key, Arc::downgrade(&l));
                l
            }
        }
    };
    lock.lock_owned().await
}

/// `issue_comment` (any action): [`trigger`], holding the PR's [`lock_pr`] lock. Ignored
/// comments return [`TriggerOutcome::Ignored`] without an API call or a lock; a refused or
/// failed trigger is an error whose [`gh_core::ExitStatus`] says which (3 refused, 5 timed
/// out, 4 API or a check that could not be made). With `run_wait_secs` above 0 the call also
/// waits up to that long for the push's workflow run to link it; the default (0) leaves that
/// to [`on_workflow_run`].
pub async fn on_issue_comment(
    gh: &GitHub,
    repo: &RepoRef,
    event: &IssueCommentEvent,
    opts: &Options,
) -> Result<TriggerOutcome, BridgeError> {
    let Gate::Triggered(t) = gate(event, &opts.trigger, crate::render::OWN_COMMENT) else {
        return trigger(gh, repo, event, opts).await;
    };
    let _serialised = lock_pr(repo, t.pr).await;
    trigger(gh, repo, event, opts).await
}

/// Whether an `issue_comment` delivery needs [`on_issue_comment`] at all, read from the raw
/// body (no full decode, no API call): `false` only when the gate would ignore it (not a new
/// comment on a PR carrying the trigger, or a bot's or ghops's own). A body the gate cannot
/// read answers `true`, so the full parse reports it.
///
/// ```
/// let opts = pr_bridge::Options::default();
/// let body = br#"{"action":"created","issue":{"number":1,"pull_request":{}},
///     "comment":{"id":2,"body":"LGTM","user":{"login":"octocat","type":"User"}}}"#;
/// assert!(!pr_bridge::hooks::wants_issue_comment(body, &opts));
/// ```
pub fn wants_issue_comment(body: &[u8], opts: &Options) -> bool {
    match gate_raw(body, &opts.trigger, crate::render::OWN_COMMENT) {
        Ok(Gate::Ignored(_)) => false,
        Ok(Gate::Triggered(_)) | Err(_) => true,
    }
}

/// What [`on_workflow_run`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RunOutcome {
    /// Not ours, not completed, or not the SHA the status comment records (the reason, one
    /// line). No write was made.
    Ignored {
        /// Why.
        reason: String,
    },
    /// This run completed but others for the same merge commit have not: the last one to
    /// complete reports.
    Pending {
        /// The PR.
        pr: u64,
        /// Runs still queued or in progress.
        pending: usize,
    },
    /// Every run for the merge commit completed: the status comment (and commit status) say
    /// how, and the branch is deleted if it still points at that commit.
    Reported(ReportOutcome),
}

/// What an event decides on its own, before any API call (so no client is built and no
/// token minted for an event that is not for ghops).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Offline {
    /// Nothing to do: why, one line.
    Ignored(String),
    /// To act on, in this repository.
    Act(RepoRef),
}

/// The API-free part of `trigger` on an `issue_comment` event: ignored comments (not a new
/// trigger comment on a PR, or ghops's own), else the event's repository, which must be the
/// one `repo_flag` (`--repo`) names when given (an [`BridgeError::Input`] otherwise).
pub fn comment_offline(
    event: &IssueCommentEvent,
    opts: &Options,
    repo_flag: Option<&str>,
) -> Result<Offline, BridgeError> {
    if let Gate::Ignored(reason) = gate(event, &opts.trigger, crate::render::OWN_COMMENT) {
        return Ok(Offline::Ignored(reason));
    }
    let full_name = &event.repository.full_name;
    let repo: RepoRef = full_name.parse()?;
    if let Some(r) = repo_flag
        && !r.eq_ignore_ascii_case(full_name)
    {
        return Err(BridgeError::Input(format!(
            "--repo {r} differs from the event's repository {full_name}"
        )));
    }
    Ok(Offline::Act(repo))
}

/// The API-free part of `report` on a `workflow_run` event ([`workflow_run_gate`]): a run
/// that is not a completed run of this repository's own test branch is ignored.
pub fn run_offline(event: &WorkflowRunEvent, opts: &Options) -> Result<Offline, BridgeError> {
    let repo: RepoRef = event.repository.full_name.parse()?;
    Ok(match workflow_run_gate(event, opts) {
        Ok(_) => Offline::Act(repo),
        Err(reason) => Offline::Ignored(reason),
    })
}

/// The `workflow_run` event gate, no API call: `Ok(pr)` for a completed run of this
/// repository's own `<prefix>/<pr>` branch, else `Err(reason)` (one line).
pub fn workflow_run_gate(event: &WorkflowRunEvent, opts: &Options) -> Result<u64, String> {
    let run = &event.workflow_run;
    let branch = run.head_branch.as_deref().unwrap_or_default();
    let Some(pr) = opts.pr_of_branch(branch) else {
        return Err(format!(
            "run {} on {branch:?}, not a {}/<pr> branch",
            run.id, opts.branch_prefix
        ));
    };
    if event.action != "completed" {
        return Err(format!("run {} is {}, not completed", run.id, event.action));
    }
    // A run on our branch name from a fork would carry another head repository: only runs
    // of this repository's own branch count.
    if let Some(h) = &run.head_repository
        && !h
            .full_name
            .eq_ignore_ascii_case(&event.repository.full_name)
    {
        return Err(format!(
            "run {} is for {}'s branch, not this repository's",
            run.id, h.full_name
        ));
    }
    Ok(pr)
}

/// `workflow_run`: when a run on a `<prefix>/<pr>` branch completes, and it ran on the merge
/// commit the PR's status comment records, and no other run for that commit is still going,
/// reports the result on the PR and deletes the branch (only while it still points at that
/// commit). A cancelled run is reported as failed. Never waits: a run that never started is
/// `ghops pr-bridge report`'s job (its "no workflow ran" wait).
///
/// API calls: none for an ignored event; otherwise ghops's own comments (one GraphQL read;
/// no login lookup), the runs for the branch and SHA, then (when reporting) the branch lookup,
/// its deletion, a re-read of the comments, the comment update and the optional status. Holds
/// the PR's [`lock_pr`] lock.
pub async fn on_workflow_run(
    gh: &GitHub,
    repo: &RepoRef,
    event: &WorkflowRunEvent,
    opts: &Options,
) -> Result<RunOutcome, BridgeError> {
    let ignored = |reason: String| Ok(RunOutcome::Ignored { reason });
    let pr = match workflow_run_gate(event, opts) {
        Ok(pr) => pr,
        Err(reason) => return ignored(reason),
    };
    let run = &event.workflow_run;
    let branch = run.head_branch.as_deref().unwrap_or_default();
    let _serialised = lock_pr(repo, pr).await;
    let Some(state) = recorded_state(gh, repo, pr, opts).await? else {
        return ignored(format!("PR #{pr} has no pr-bridge status comment"));
    };
    if state.branch != branch || !state.merge_sha.eq_ignore_ascii_case(&run.head_sha) {
        return ignored(format!(
            "run {} ran on {}, not the merge commit {} the status comment records",
            run.id, run.head_sha, state.merge_sha
        ));
    }
    let mut runs = runs_for(gh, repo, &state.branch, &state.merge_sha).await?;
    // The listing can lag behind the event: the event's own run counts as it says.
    let this = RunLink {
        id: run.id,
        name: run.name.clone(),
        html_url: run.html_url.clone(),
        status: run.status.clone(),
        conclusion: run.conclusion.clone(),
    };
    match runs.iter_mut().find(|r| r.id == run.id) {
        Some(r) => *r = this,
        None => runs.push(this),
    }
    let Some(verdict) = verdict_of(&runs) else {
        let pending = runs
            .iter()
            .filter(|r| r.status.as_deref() != Some("completed"))
            .count();
        return Ok(RunOutcome::Pending { pr, pending });
    };
    Ok(RunOutcome::Reported(
        finish(gh, repo, pr, opts, state, verdict, runs).await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    // `ghops serve` spawns these on a multi-threaded runtime: their futures must be `Send`.
    #[allow(dead_code)]
    fn futures_are_send(
        gh: &GitHub,
        repo: &RepoRef,
        c: &IssueCommentEvent,
        r: &WorkflowRunEvent,
        o: &Options,
    ) {
        assert_send(&on_issue_comment(gh, repo, c, o));
        assert_send(&on_workflow_run(gh, repo, r, o));
    }

    fn on_pr_with_body(body: &str) -> Vec<u8> {
        crate::gate::tests::delivery("created", Some(true), body, "octocat", "User")
    }

    #[test]
    fn only_trigger_comments_and_unreadable_bodies_are_wanted() {
        let o = Options::default();
        assert!(wants_issue_comment(&on_pr_with_body("/test-this-pr"), &o));
        assert!(wants_issue_comment(
            &on_pr_with_body("ok\r\n/test-this-pr sha=abc1234"),
            &o
        ));
        assert!(!wants_issue_comment(&on_pr_with_body("LGTM"), &o));
        // A real comment on an issue (not a PR): the gate ignores it.
        let issue = include_bytes!("../../../testdata/webhooks/issue_comment.created.json");
        assert!(!wants_issue_comment(issue, &o));
        // Not the gate's shape: left to the full parse, which rejects it with a 400.
        assert!(wants_issue_comment(b"{\"action\":\"created\"}", &o));
        assert!(wants_issue_comment(b"not json", &o));
    }

    #[test]
    fn a_comment_decides_offline_whether_to_act_and_where() {
        let o = Options::default();
        let ev = |body: &str| -> IssueCommentEvent {
            serde_json::from_slice(&on_pr_with_body(body)).unwrap()
        };
        let trigger = ev("/test-this-pr");
        let name = trigger.repository.full_name.clone();
        assert_eq!(
            comment_offline(&trigger, &o, None).unwrap(),
            Offline::Act(name.parse().unwrap())
        );
        assert_eq!(
            comment_offline(&trigger, &o, Some(&name.to_uppercase())).unwrap(),
            Offline::Act(name.parse().unwrap())
        );
        let e = comment_offline(&trigger, &o, Some("other/repo")).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("--repo other/repo differs from the event's repository {name}")
        );
        // An ignored comment needs no repository check at all.
        assert!(matches!(
            comment_offline(&ev("LGTM"), &o, Some("other/repo")).unwrap(),
            Offline::Ignored(_)
        ));
    }
}
