//! The arguments of `ghops pr-bridge` (clap definitions; the flags become the library's
//! [`Overrides`]).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use gh_core::config::parse_duration;
use gh_core::permission::{Permission, Team};
use pr_bridge::Overrides;

/// `ghops pr-bridge` subcommands.
#[derive(Subcommand, Debug)]
pub enum PrBridgeCmd {
    /// Handle an issue_comment event: authorise, verify, branch at the merge commit, comment.
    #[command(
        after_help = "Examples:\n  ghops pr-bridge trigger                      # in an issue_comment workflow ($GITHUB_EVENT_PATH)\n  ghops pr-bridge trigger --event comment.json --team my-org/maintainers --dry-run"
    )]
    Trigger(TriggerArgs),
    /// Wait for the test run of a PR, report it on the PR, delete the branch.
    #[command(
        after_help = "Examples:\n  ghops pr-bridge report --pr 42\n  ghops pr-bridge report --event \"$GITHUB_EVENT_PATH\"   # on workflow_run completed\n  # last job of the tested run:\n  ghops pr-bridge report --branch \"$GITHUB_REF_NAME\" --this-run-result \"$RESULT\""
    )]
    Report(ReportArgs),
    /// Delete test branches of closed or idle PRs (only those ghops's status comment vouches for).
    #[command(after_help = "Examples:\n  ghops pr-bridge cleanup --older-than 7d --dry-run")]
    Cleanup(CleanupArgs),
}

/// Options shared by the subcommands (flags override `[pr_bridge]` in ghops.toml).
#[derive(Args, Debug, Default)]
pub struct BridgeFlags {
    /// The trigger text, at the start of a line of its own [default: /test-this-pr].
    #[arg(long)]
    pub(super) trigger: Option<String>,
    /// Minimum permission of the comment's author [default: write].
    #[arg(long, value_parser = parse_permission)]
    pub(super) min_permission: Option<Permission>,
    /// A team (ORG/SLUG) whose active members may trigger; repeatable.
    #[arg(long = "team", value_name = "ORG/SLUG", value_parser = parse_team)]
    pub(super) teams: Vec<Team>,
    /// Branch prefix: branches are PREFIX/<pr> [default: test-this-pr].
    #[arg(long)]
    pub(super) branch_prefix: Option<String>,
    /// Require `sha=<full 40-character head sha>` in the trigger [default: true].
    #[arg(long, value_name = "BOOL")]
    pub(super) require_sha: Option<bool>,
    /// Also act on PRs from branches of this repository.
    #[arg(long)]
    pub(super) allow_same_repo: bool,
    /// Refuse PRs that change .github/workflows/ (default: warn).
    #[arg(long)]
    pub(super) refuse_workflow_changes: bool,
    /// Do not reply to refused triggers.
    #[arg(long)]
    pub(super) no_reply: bool,
    /// Set commit statuses (pending, then the result) on the PR's head SHA.
    #[arg(long)]
    pub(super) commit_status: bool,
}

fn parse_permission(s: &str) -> Result<Permission, String> {
    s.parse().map_err(|e: gh_core::Error| e.to_string())
}

fn parse_team(s: &str) -> Result<Team, String> {
    s.parse().map_err(|e: gh_core::Error| e.to_string())
}

/// `ghops pr-bridge trigger`.
#[derive(Args, Debug)]
pub struct TriggerArgs {
    /// The issue_comment event [default: $GITHUB_EVENT_PATH].
    #[arg(long, value_name = "FILE")]
    pub(super) event: Option<PathBuf>,
    #[command(flatten)]
    pub(super) flags: BridgeFlags,
}

/// `ghops pr-bridge report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The PR.
    #[arg(long, conflicts_with_all = ["branch", "event"])]
    pub(super) pr: Option<u64>,
    /// The test branch (PREFIX/<pr>).
    #[arg(long, conflicts_with = "event")]
    pub(super) branch: Option<String>,
    /// A workflow_run event (its head branch names the PR).
    #[arg(long, value_name = "FILE")]
    pub(super) event: Option<PathBuf>,
    /// Give up waiting for the runs to complete after this long (e.g. 90s, 1h30m).
    #[arg(long, default_value = "2h", value_parser = parse_duration)]
    pub(super) timeout: Duration,
    /// Report "no workflow ran" when no run appears within this long.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub(super) no_run_timeout: Duration,
    /// First poll interval; it doubles at each poll up to 60 s (an interval above 60 s stays
    /// as it is).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub(super) poll: Duration,
    /// When reporting from a job of the tested run itself ($GITHUB_RUN_ID is one of the test
    /// branch's runs): the result of the jobs it reports, `${{ needs.<job>.result }}`
    /// (success, failure, cancelled, skipped). Without it such a report is refused at once.
    #[arg(long, value_name = "RESULT")]
    pub(super) this_run_result: Option<String>,
    #[command(flatten)]
    pub(super) flags: BridgeFlags,
}

/// `ghops pr-bridge cleanup`.
#[derive(Args, Debug)]
pub struct CleanupArgs {
    /// Delete branches of open PRs idle for longer than this.
    #[arg(long, default_value = "7d", value_parser = parse_duration)]
    pub(super) older_than: Duration,
    #[command(flatten)]
    pub(super) flags: BridgeFlags,
}

impl From<&BridgeFlags> for Overrides {
    fn from(f: &BridgeFlags) -> Self {
        Overrides {
            trigger: f.trigger.clone(),
            min_permission: f.min_permission,
            teams: f.teams.clone(),
            branch_prefix: f.branch_prefix.clone(),
            require_sha: f.require_sha,
            allow_same_repo: f.allow_same_repo,
            refuse_workflow_changes: f.refuse_workflow_changes,
            commit_status: f.commit_status,
            no_reply: f.no_reply,
        }
    }
}
