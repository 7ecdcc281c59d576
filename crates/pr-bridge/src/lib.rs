//! # pr-bridge
//!
//! Authorised "test this PR" for pull requests from forks, which get no repository secrets. A
//! maintainer comments `/test-this-pr sha=<head>`; if the comment's author is authorised
//! (gh-core's policy: permission level, teams, allow/deny; never `author_association`),
//! ghops checks that the PR is open, that its head is the commit the maintainer pinned, that it
//! merges cleanly and that its merge commit joins exactly that head and the base's tip, then
//! points `<prefix>/<n>` at the merge commit (so CI with secrets runs), links the run in ONE
//! status comment, later reports the result and deletes the branch — only while it still
//! points at the SHA ghops recorded.
//!
//! Webhook servers (`ghops serve`) call [`on_issue_comment`] and [`on_workflow_run`] (see
//! [`hooks`] and the ready-made routes in [`webhook`]); the CLI calls [`trigger()`], [`report()`]
//! and [`cleanup`]. The merge-ref branch creation inside [`trigger()`] is two reusable steps in
//! [`merge_ref`]: [`merge_ref::verify_pinned_merge`] (pure: is GitHub's test merge commit the
//! one the reviewer pinned?) and [`merge_ref::push_test_branch`] (point the test branch at it,
//! idempotently).
//!
//! What it does **not** do: run CI (the repository's own workflows run on the pushed branch,
//! with its secrets), merge or approve the PR, review code, or decide who may trigger beyond
//! gh-core's authorisation policy. It never pushes anything but GitHub's own merge commit.
//!
//! ```
//! use pr_bridge::merge_ref::{PinnedMerge, verify_pinned_merge};
//!
//! let (base, head, merge) = ("a".repeat(40), "b".repeat(40), "c".repeat(40));
//! let verified = verify_pinned_merge(&PinnedMerge {
//!     head: &head,
//!     base: &base,
//!     pin: Some(&head),
//!     require_pin: true,
//!     mergeable: Some("MERGEABLE"),
//!     merge: Some(&merge),
//!     parents: &[&base, &head],
//! })
//! .expect("the reviewed head, merged cleanly");
//! assert_eq!(verified.merge_sha, merge);
//! ```
//!
//! ```no_run
//! use gh_core::{GitHub, RepoRef, events::{IssueCommentEvent, load_event}};
//! use pr_bridge::{Options, trigger};
//!
//! # async fn run(gh: GitHub) -> Result<(), pr_bridge::BridgeError> {
//! let repo: RepoRef = "octo-org/hello".parse()?;
//! let event: IssueCommentEvent = load_event(None)?;
//! let outcome = trigger(&gh, &repo, &event, &Options::default()).await?;
//! println!("{outcome:?}");
//! # Ok(()) }
//! ```

#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod error;
pub mod gate;
pub mod github;
pub mod hooks;
pub mod merge_ref;
pub mod options;
pub mod render;
pub mod report;
pub mod trigger;
pub mod webhook;

pub use error::BridgeError;
pub use hooks::{
    Offline, RunOutcome, comment_offline, lock_pr, on_issue_comment, on_workflow_run, run_offline,
};
pub use merge_ref::{
    MergeProblem, PinnedMerge, VerifiedMerge, push_test_branch, verify_pinned_merge,
};
pub use options::{Options, Overrides};
pub use report::{
    CleanupItem, Progress, ReportOutcome, ThisRun, Wait, cleanup, report, report_in_run,
    this_run_from_env,
};
pub use trigger::{BranchAction, TriggerOutcome, trigger};
