//! release-flow's webhook routes, for a server such as `ghops serve`: `push` (draft on the
//! default branch, hotfix on `release/*`), `release` (published → release branch) and
//! `pull_request` (label-driven environments), with the installation permissions each needs.
//! The handlers are the library's own event handlers, so the CLI's `--event` paths and the
//! server decide alike.

use gh_core::GitHub;
use gh_core::events::Event;
use gh_core::webhook::{Handled, RouteSpec};

use crate::ReleaseError;
use crate::config::DrafterConfig;
use crate::env::EnvConfig;

const RELEASE_PERMISSIONS: &[(&str, &str)] = &[
    ("contents", "write"),
    ("pull_requests", "write"),
    ("metadata", "read"),
];

/// `push` → draft / hotfix.
pub const PUSH: RouteSpec = RouteSpec {
    event: "push",
    permissions: RELEASE_PERMISSIONS,
};

/// `release` → release branch on publish.
pub const RELEASE: RouteSpec = RouteSpec {
    event: "release",
    permissions: RELEASE_PERMISSIONS,
};

/// `pull_request` → environments.
pub const PULL_REQUEST: RouteSpec = RouteSpec {
    event: "pull_request",
    permissions: &[
        ("deployments", "write"),
        ("pull_requests", "write"),
        ("issues", "write"),
        ("contents", "read"),
        ("metadata", "read"),
    ],
};

fn handled<T: serde::Serialize>(r: Result<T, ReleaseError>) -> Result<Handled, String> {
    match r {
        Ok(o) => Ok(Handled::done(&o)),
        Err(ReleaseError::Refused(m)) => Ok(Handled::Refused(m)),
        Err(e) => Err(e.to_string()),
    }
}

/// Handles a `push` delivery.
pub async fn push(gh: &GitHub, event: &Event, cfg: &DrafterConfig) -> Result<Handled, String> {
    let Event::Push(ev) = event else {
        return Ok(Handled::Done("not a push".into()));
    };
    handled(crate::push::on_push(gh, cfg, ev).await)
}

/// Handles a `release` delivery (drafts and prereleases are skipped by the library).
pub async fn release(gh: &GitHub, event: &Event, cfg: &DrafterConfig) -> Result<Handled, String> {
    let Event::Release(ev) = event else {
        return Ok(Handled::Done("not a release".into()));
    };
    handled(crate::push::on_release(gh, cfg, ev).await)
}

/// Handles a `pull_request` delivery.
pub async fn pull_request(gh: &GitHub, event: &Event, cfg: &EnvConfig) -> Result<Handled, String> {
    let Event::PullRequest(ev) = event else {
        return Ok(Handled::Done("not a pull_request".into()));
    };
    handled(crate::env::on_pull_request(gh, cfg, ev).await)
}
