//! pr-bridge's webhook routes, for a server such as `ghops serve`: the events it handles, the
//! installation permissions each needs, and the handlers (which serialise per PR, see
//! [`crate::lock_pr`], inside [`on_issue_comment`] and [`on_workflow_run`]).

use gh_core::events::Event;
use gh_core::webhook::{Handled, RouteSpec};
use gh_core::{GitHub, RepoRef};

use crate::{BridgeError, Options, on_issue_comment, on_workflow_run};

/// `issue_comment` → trigger.
pub const ISSUE_COMMENT: RouteSpec = RouteSpec {
    event: "issue_comment",
    permissions: &[
        ("contents", "write"),
        ("pull_requests", "read"),
        ("issues", "write"),
        ("metadata", "read"),
        ("members", "read"),
        ("actions", "read"),
        ("statuses", "write"),
    ],
};

/// `workflow_run` (completed) → report.
pub const WORKFLOW_RUN: RouteSpec = RouteSpec {
    event: "workflow_run",
    permissions: &[
        ("contents", "write"),
        // ghops's own comments are read through the PR (GraphQL).
        ("pull_requests", "read"),
        ("issues", "write"),
        ("metadata", "read"),
        ("actions", "read"),
        ("statuses", "write"),
    ],
};

/// The raw-body pre-filter of the `issue_comment` route: `false` for comments the gate
/// refuses without an API call (see [`crate::hooks::wants_issue_comment`]).
pub fn wants_issue_comment(body: &[u8], opts: &Options) -> bool {
    crate::hooks::wants_issue_comment(body, opts)
}

fn repo_of(full_name: &str) -> Result<RepoRef, String> {
    full_name.parse().map_err(|e: gh_core::Error| e.to_string())
}

fn handled<T: serde::Serialize>(r: Result<T, BridgeError>) -> Result<Handled, String> {
    match r {
        Ok(o) => Ok(Handled::done(&o)),
        Err(BridgeError::Refused(m)) => Ok(Handled::Refused(m)),
        Err(e) => Err(e.to_string()),
    }
}

/// Handles an `issue_comment` delivery (other events: nothing to do).
pub async fn issue_comment(gh: &GitHub, event: &Event, opts: &Options) -> Result<Handled, String> {
    let Event::IssueComment(ev) = event else {
        return Ok(Handled::Done("not an issue_comment".into()));
    };
    let repo = repo_of(&ev.repository.full_name)?;
    // The gate comes first inside: most comments cost no API call.
    handled(on_issue_comment(gh, &repo, ev, opts).await)
}

/// Handles a `workflow_run` delivery. Never waits inside a worker: the last run to complete
/// reports.
pub async fn workflow_run(gh: &GitHub, event: &Event, opts: &Options) -> Result<Handled, String> {
    let Event::WorkflowRun(ev) = event else {
        return Ok(Handled::Done("not a workflow_run".into()));
    };
    let repo = repo_of(&ev.repository.full_name)?;
    handled(on_workflow_run(gh, &repo, ev, opts).await)
}
