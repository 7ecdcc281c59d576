//! Options of `ghops pr-bridge` (flags, or the `[pr_bridge]` table of `ghops.toml`).

use std::time::Duration;

use gh_core::permission::{Permission, Policy, Team};
use serde::Deserialize;

impl gh_core::config::Section for Options {
    const NAME: &'static str = "pr_bridge";
    type Error = crate::BridgeError;
    fn validate(&mut self, _origin: &str) -> Result<(), Self::Error> {
        Options::validate(self)
    }
}

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

/// Command-line choices on top of the `[pr_bridge]` table ([`Options::from_config_with`]):
/// each `Some` (or non-empty list, or `true`) replaces or turns on the file's setting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// [`Options::trigger`].
    pub trigger: Option<String>,
    /// [`Options::min_permission`].
    pub min_permission: Option<Permission>,
    /// [`Options::teams`] (replaces the file's list when not empty).
    pub teams: Vec<Team>,
    /// [`Options::branch_prefix`].
    pub branch_prefix: Option<String>,
    /// [`Options::require_sha`].
    pub require_sha: Option<bool>,
    /// Turns [`Options::allow_same_repo`] on.
    pub allow_same_repo: bool,
    /// Turns [`Options::refuse_workflow_changes`] on.
    pub refuse_workflow_changes: bool,
    /// Turns [`Options::commit_status`] on.
    pub commit_status: bool,
    /// Turns [`Options::reply_on_refusal`] off.
    pub no_reply: bool,
}

impl Options {
    /// The `[pr_bridge]` table of a config file (defaults when absent), validated: what
    /// `ghops serve` acts on.
    pub fn from_config(file: &gh_core::config::ConfigFile) -> Result<Self, crate::BridgeError> {
        Self::from_config_with(file, &Overrides::default())
    }

    /// The `[pr_bridge]` table with the command line's `overrides` applied, then validated
    /// ([`Options::validate`], the same check [`Options::from_config`] makes for a server):
    /// what `ghops pr-bridge` acts on.
    pub fn from_config_with(
        file: &gh_core::config::ConfigFile,
        overrides: &Overrides,
    ) -> Result<Self, crate::BridgeError> {
        let mut o: Self = file.decode()?;
        o.apply(overrides);
        o.validate()?;
        Ok(o)
    }

    /// Applies `f` (see [`Overrides`]); does not validate.
    pub fn apply(&mut self, f: &Overrides) {
        if let Some(t) = &f.trigger {
            self.trigger = t.clone();
        }
        if let Some(p) = f.min_permission {
            self.min_permission = p;
        }
        if !f.teams.is_empty() {
            self.teams = f.teams.clone();
        }
        if let Some(p) = &f.branch_prefix {
            self.branch_prefix = p.clone();
        }
        if let Some(r) = f.require_sha {
            self.require_sha = r;
        }
        self.allow_same_repo |= f.allow_same_repo;
        self.refuse_workflow_changes |= f.refuse_workflow_changes;
        self.commit_status |= f.commit_status;
        if f.no_reply {
            self.reply_on_refusal = false;
        }
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

    /// The PR number of a test branch named on the command line (`--branch`): an
    /// [`crate::BridgeError::Input`] naming the expected shape when it is not one of ours.
    pub fn pr_of_branch_arg(&self, branch: &str) -> Result<u64, crate::BridgeError> {
        self.pr_of_branch(branch).ok_or_else(|| {
            crate::BridgeError::Input(format!(
                "--branch {branch}: not a {}/<pr> branch",
                self.branch_prefix
            ))
        })
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

    /// The waits between reads of a PR whose mergeability GitHub has not computed yet:
    /// doubling from `mergeable_delay_ms`, `mergeable_attempts - 1` of them.
    pub(crate) fn mergeable_schedule(&self) -> gh_core::retry::Backoff {
        gh_core::retry::Backoff::exponential(Duration::from_millis(self.mergeable_delay_ms), 2)
            .at_most(self.mergeable_attempts.saturating_sub(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mergeability_rereads_double_and_are_bounded() {
        let s = Duration::from_secs;
        let waits = |o: Options| o.mergeable_schedule().delays().collect::<Vec<_>>();
        // 5 reads, 4 waits.
        assert_eq!(waits(Options::default()), [s(2), s(4), s(8), s(16)]);
        let once = Options {
            mergeable_attempts: 1,
            ..Options::default()
        };
        assert!(waits(once).is_empty());
        let never = Options {
            mergeable_attempts: 0,
            ..Options::default()
        };
        assert!(waits(never).is_empty());
    }

    #[test]
    fn branches() {
        let o = Options::default();
        assert_eq!(o.branch(12), "test-this-pr/12");
        assert_eq!(o.pr_of_branch("test-this-pr/12"), Some(12));
        assert_eq!(o.pr_of_branch("refs/heads/test-this-pr/1"), Some(1));
        assert_eq!(o.pr_of_branch("test-this-pr/1/x"), None);
        assert_eq!(o.pr_of_branch("test-this-pr-2/1"), None);
        assert_eq!(o.pr_of_branch("main"), None);
        assert_eq!(o.pr_of_branch_arg("test-this-pr/3").unwrap(), 3);
        assert_eq!(
            o.pr_of_branch_arg("main").unwrap_err().to_string(),
            "--branch main: not a test-this-pr/<pr> branch"
        );
    }

    fn file(toml: &str) -> gh_core::config::ConfigFile {
        gh_core::config::ConfigFile::parse(toml, None).unwrap()
    }

    #[test]
    fn flags_override_the_file_then_one_validation() {
        let f = file(
            "[pr_bridge]\ntrigger = \"/ci\"\nallow_same_repo = false\nreply_on_refusal = true\n",
        );
        let o = Options::from_config_with(
            &f,
            &Overrides {
                branch_prefix: Some("ci".into()),
                allow_same_repo: true,
                no_reply: true,
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(o.trigger, "/ci");
        assert_eq!(o.branch(7), "ci/7");
        assert!(o.allow_same_repo && !o.reply_on_refusal);
        // A flag can repair the file, and the CLI and a server refuse the same options.
        let empty = file("[pr_bridge]\ntrigger = \" \"\n");
        assert!(Options::from_config(&empty).is_err());
        let e = Options::from_config_with(&empty, &Overrides::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "[pr_bridge].trigger and branch_prefix must not be empty"
        );
        let repaired = Overrides {
            trigger: Some("/go".into()),
            ..Overrides::default()
        };
        assert_eq!(
            Options::from_config_with(&empty, &repaired)
                .unwrap()
                .trigger,
            "/go"
        );
        let no_prefix = Overrides {
            branch_prefix: Some("/".into()),
            ..Overrides::default()
        };
        assert!(Options::from_config_with(&file(""), &no_prefix).is_err());
        // A bad key keeps the file and line gh-core names (the `::error` annotation's).
        let e = Options::from_config(&file("[pr_bridge]\ntrigerr = \"/x\"\n")).unwrap_err();
        let (f, line) = gh_core::ExitStatus::location(&e).expect("a location");
        assert_eq!((f.as_str(), line), ("ghops.toml", Some(2)));
    }
}
