//! runner-orch's webhook route, for a server such as `ghops serve`: `workflow_job` deliveries
//! are hints (reconcile is the truth), with the installation permissions they need.

use gh_core::GitHub;
use gh_core::events::Event;
use gh_core::webhook::{Handled, RouteSpec};

use crate::Orchestrator;

/// `workflow_job` → launch or clean up a runner.
pub const WORKFLOW_JOB: RouteSpec = RouteSpec {
    event: "workflow_job",
    permissions: &[
        ("actions", "read"),
        ("administration", "write"),
        ("organization_self_hosted_runners", "write"),
        ("metadata", "read"),
    ],
};

/// Handles a `workflow_job` delivery.
pub async fn workflow_job(
    gh: &GitHub,
    event: &Event,
    orch: &Orchestrator,
) -> Result<Handled, String> {
    let Event::WorkflowJob(ev) = event else {
        return Ok(Handled::Done("not a workflow_job".into()));
    };
    match orch.handle_event(gh, ev).await {
        Ok(d) => Ok(Handled::done(&d)),
        Err(e) => Err(e.to_string()),
    }
}
