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
//! [`hooks`]); the CLI calls [`trigger`], [`report`] and [`cleanup`].
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
pub mod options;
pub mod render;
pub mod report;
pub mod trigger;
pub mod webhook;

pub use error::BridgeError;
pub use hooks::{RunOutcome, lock_pr, on_issue_comment, on_workflow_run};
pub use options::Options;
pub use report::{
    CleanupItem, Progress, ReportOutcome, ThisRun, Wait, cleanup, report, report_in_run,
    report_with_progress,
};
pub use trigger::{BranchAction, TriggerOutcome, trigger};
