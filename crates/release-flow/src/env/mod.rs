//! Label-driven preview/QA environments recorded as GitHub Deployments (issue #6).
//!
//! - [`EnvConfig`]: the `[env]` section of `ghops.toml`: which PR label deploys to which
//!   environment (default `deploy` → `preview-<branch>`, transient; `deploy/qa{N}` → `qa{N}`,
//!   shared and exclusive).
//! - [`sync`] / [`on_pull_request`]: on a `pull_request` event, which environments to deploy
//!   and undeploy (only what the PR deployed), QA slot exclusivity on every event (the holder
//!   from the recorded Deployments, the labeller authorised), hand-over (the previous
//!   holder's deployment made `inactive`, its author told why, its label removed).
//! - [`record`]: one Deployment per deploy and its statuses, idempotently;
//!   [`deactivate`] pages through every deployment of an environment.
//! - [`status`]: what runs where; [`table`] / [`render_table`] its table.
//! - [`RecordInputs`] / [`GateInputs`]: a command's flags with the workflow run's defaults
//!   (`GITHUB_SHA`, `GITHUB_TRIGGERING_ACTOR` / `GITHUB_ACTOR`, the run's log URL) filled in.
//!
//! Files: `config` (the `[env]` section), `inputs` (flags and the run's defaults), `plan` (labels → targets, pure), `deployments`
//! (the Deployments API), `sync`, `record`, `status`, `table`.
//!
//! ```no_run
//! use release_flow::env::{EnvConfig, on_pull_request};
//!
//! # async fn run(gh: gh_core::GitHub, body: &[u8]) -> Result<(), release_flow::ReleaseError> {
//! let event: gh_core::events::PullRequestEvent = gh_core::events::decode("webhook", body)?;
//! if let Some(plan) = on_pull_request(&gh, &EnvConfig::default(), &event).await? {
//!     println!("deploy {:?}, undeploy {:?}", plan.deploy, plan.undeploy);
//! }
//! # Ok(()) }
//! ```

mod config;
mod deployments;
mod inputs;
mod plan;
mod record;
mod status;
mod sync;
mod table;

pub use config::{EnvConfig, LabelRule};
pub use deployments::{
    ACTIVE_STATES, Deployment, DeploymentStatus, add_status, create_deployment, current_deployment,
    deactivate, find_deployment, is_production, latest_status, list_deployments, pr_deployed,
    recorded_pr, slot_holder,
};
pub use inputs::{GateInputs, RecordInputs, actor, sha};
pub use plan::{
    EnvTarget, Handover, NAMESPACE_PREFIX, SYNC_ACTIONS, SyncPlan, plan_open, preview_namespace,
    sanitise_branch,
};
pub use record::{DeployState, RecordOutcome, RecordRequest, record, validate_sha};
pub use status::{EnvRow, age, status};
pub use sync::{on_pull_request, sync};
pub use table::{render_table, table, table_now};

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    #[test]
    fn sanitises_branches() {
        assert_eq!(sanitise_branch("feature/Login-Page"), "feature-login-page");
        assert_eq!(sanitise_branch("--$(rm -rf)/${{x}}"), "rm-rf-x");
        assert_eq!(sanitise_branch("///"), "branch");
        let long = sanitise_branch(&"a".repeat(100));
        assert_eq!(long.len(), 40);
        assert_ne!(long, sanitise_branch(&"a".repeat(101)));
    }

    #[test]
    fn namespaces_are_prefixed() {
        // Issue 19 #15: a branch named kube-system gave the namespace kube-system.
        assert_eq!(preview_namespace("kube-system"), "preview-kube-system");
        assert_eq!(preview_namespace("default"), "preview-default");
        assert_eq!(preview_namespace("///"), "preview-branch");
        assert_eq!(preview_namespace(&"a".repeat(100)).len(), 48);
    }

    #[test]
    fn matches_labels() {
        let c = EnvConfig::default();
        assert_eq!(c.match_label("deploy").unwrap().1, None);
        assert_eq!(
            c.match_label("deploy/qa12").unwrap().1.as_deref(),
            Some("12")
        );
        assert!(c.match_label("deploy/qa").is_none());
        assert!(c.match_label("deploy/qa1x").is_none());
        assert!(c.match_label("bug").is_none());
    }

    #[test]
    fn validates_rules() {
        let mut c = EnvConfig::default();
        c.labels[0].environment = "x-{N}".into();
        let e = c.validate("ghops.toml").unwrap_err().to_string();
        assert!(e.contains("ghops.toml [env].labels[0]"), "{e}");
    }

    #[test]
    fn production_names() {
        assert!(
            is_production("production") && is_production("Prod") && is_production("production-eu")
        );
        assert!(!is_production("preview-production-fix") && !is_production("qa1"));
    }

    #[test]
    fn ages() {
        let now = DateTime::parse_from_rfc3339("2026-01-02T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(age("2026-01-01T23:59:30Z", now).as_deref(), Some("30s"));
        assert_eq!(age("2026-01-01T21:00:00Z", now).as_deref(), Some("3h"));
        assert_eq!(age("2025-12-30T00:00:00Z", now).as_deref(), Some("3d"));
        assert_eq!(age("garbage", now), None);
    }
}
