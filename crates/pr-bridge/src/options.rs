//! Options of `ghops pr-bridge` (flags, or the `[pr_bridge]` table of `ghops.toml`).

use std::time::Duration;

use gh_core::permission::{Permission, Policy, Team};
use serde::Deserialize;

/// Every option, with the documented defaults.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Options {
    /// The trigger, at the start of a line of its own.
    pub trigger: String,
    /// Minimum repository permission of the comment's author (`none` turns the check off,
    /// leaving teams and the allow list).
    pub min_permission: Permission,
    /// Teams (`ORG/SLUG`) whose active members may trigger.
    pub teams: Vec<Team>,
    /// Logins always allowed.
    pub allow: Vec<String>,
    /// Logins never allowed.
    pub deny: Vec<String>,
    /// Branches are `<prefix>/<pr number>`.
    pub branch_prefix: String,
    /// Require `sha=<full head sha>` so the commit the maintainer reviewed is the one tested.
    pub require_sha: bool,
    /// Also act on PRs from branches of this repository (they already run with secrets).
    pub allow_same_repo: bool,
    /// Refuse PRs that change `.github/workflows/**` instead of warning.
    pub refuse_workflow_changes: bool,
    /// Reply "not authorised" to unauthorised triggers.
    pub reply_on_refusal: bool,
    /// Set a `pending` commit status on the head SHA linking the run.
    pub commit_status: bool,
    /// Re-reads of a PR whose `mergeable` is still being computed.
    pub mergeable_attempts: u32,
    /// First wait between those re-reads, in milliseconds (doubles each time).
    pub mergeable_delay_ms: u64,
    /// How long to look for the workflow run the push started, in seconds (0, the default:
    /// not at all; the report links the runs).
    pub run_wait_secs: u64,
    /// Interval between looks for runs, in milliseconds.
    pub run_poll_ms: u64,
}

impl Options {
    /// The `[pr_bridge]` table of a config file (defaults when absent), validated.
    pub fn from_config(file: &gh_core::config::ConfigFile) -> Result<Self, crate::BridgeError> {
        let o: Self = file.section("pr_bridge")?.unwrap_or_default();
        o.validate()?;
        Ok(o)
    }

    /// Refuses options no command can act on: an empty trigger or branch prefix (every
    /// comment would trigger; branches would land at the top level). Both the CLI and a
    /// server call it, so they cannot drift.
    pub fn validate(&self) -> Result<(), crate::BridgeError> {
        if self.trigger.trim().is_empty() || self.branch_prefix.trim_matches('/').is_empty() {
            return Err(crate::BridgeError::Input(
                "[pr_bridge].trigger and branch_prefix must not be empty".into(),
            ));
        }
        Ok(())
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            trigger: "/test-this-pr".into(),
            min_permission: Permission::Write,
            teams: Vec::new(),
            allow: Vec::new(),
            deny: Vec::new(),
            branch_prefix: "test-this-pr".into(),
            require_sha: true,
            allow_same_repo: false,
            refuse_workflow_changes: false,
            reply_on_refusal: true,
            commit_status: false,
            mergeable_attempts: 5,
            mergeable_delay_ms: 2000,
            run_wait_secs: 0,
            run_poll_ms: 5000,
        }
    }
}

impl Options {
    /// The branch for PR `n`.
    pub fn branch(&self, n: u64) -> String {
        format!("{}/{n}", self.branch_prefix.trim_end_matches('/'))
    }

    /// The PR number of a branch of ours (`<prefix>/<digits>` exactly).
    pub fn pr_of_branch(&self, branch: &str) -> Option<u64> {
        let rest = branch
            .strip_prefix("refs/heads/")
            .unwrap_or(branch)
            .strip_prefix(self.branch_prefix.trim_end_matches('/'))?
            .strip_prefix('/')?;
        if rest.is_empty() || rest.len() > 10 || !rest.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        rest.parse().ok()
    }

    /// The authorisation policy these options describe (bots are never authorised).
    pub fn policy(&self) -> Policy {
        Policy {
            min_permission: (self.min_permission != Permission::None)
                .then_some(self.min_permission),
            teams: self.teams.clone(),
            allow: self.allow.clone(),
            deny: self.deny.clone(),
            allow_bots: false,
        }
    }

    pub(crate) fn mergeable_delay(&self) -> Duration {
        Duration::from_millis(self.mergeable_delay_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branches() {
        let o = Options::default();
        assert_eq!(o.branch(12), "test-this-pr/12");
        assert_eq!(o.pr_of_branch("test-this-pr/12"), Some(12));
        assert_eq!(o.pr_of_branch("refs/heads/test-this-pr/1"), Some(1));
        assert_eq!(o.pr_of_branch("test-this-pr/1/x"), None);
        assert_eq!(o.pr_of_branch("test-this-pr-2/1"), None);
        assert_eq!(o.pr_of_branch("main"), None);
    }
}
