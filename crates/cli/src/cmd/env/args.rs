//! `ghops env` and `ghops gate` arguments.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use release_flow::env::{DeployState, RecordInputs};

/// `ghops env` subcommands.
#[derive(Subcommand, Debug)]
pub enum EnvCmd {
    /// On a `pull_request` event: which environments to deploy and undeploy.
    ///
    /// Labels map to environments ([env] in ghops.toml; default `deploy` → preview-<branch>,
    /// `deploy/qa{N}` → qa{N}, exclusive). Writes the `deploy-envs` / `undeploy-envs`
    /// matrices (and `has-deploy` / `has-undeploy`) to $GITHUB_OUTPUT. Taking an exclusive
    /// slot evicts the previous PR (deployment inactive, label removed, author told).
    /// Needs: pull-requests: write, deployments: write.
    #[command(
        after_help = "Examples:\n  ghops env sync --event \"$GITHUB_EVENT_PATH\"\n  ghops env sync --event pr.json --json --dry-run"
    )]
    Sync {
        /// A `pull_request` event [default: $GITHUB_EVENT_PATH].
        #[arg(long)]
        event: Option<PathBuf>,
    },
    /// Record a deployment state: one Deployment per (environment, SHA) and its statuses.
    ///
    /// `inactive` marks every deployment of the environment (of --pr when given) inactive.
    /// Needs: deployments: write.
    #[command(
        after_help = "Examples:\n  ghops env record --environment preview-feat-x --state in_progress --pr 7 --transient\n  ghops env record --environment qa1 --state success --url https://qa1.example.com\n  ghops env record --environment preview-feat-x --state inactive --pr 7"
    )]
    Record(RecordArgs),
    /// What runs where: environment, PR, SHA, state, URL, age. Needs: deployments: read.
    #[command(after_help = "Examples:\n  ghops env status\n  ghops env status --json")]
    Status,
}

/// Arguments of `ghops env record`.
#[derive(Args, Debug)]
pub struct RecordArgs {
    /// Environment name.
    #[arg(long)]
    environment: String,
    /// in_progress | success | failure | inactive.
    #[arg(long)]
    state: DeployState,
    /// Environment URL.
    #[arg(long)]
    url: Option<String>,
    /// Log URL [default: this Actions run].
    #[arg(long)]
    log_url: Option<String>,
    /// Commit SHA [default: $GITHUB_SHA].
    #[arg(long)]
    sha: Option<String>,
    /// Branch [default: $GITHUB_HEAD_REF, else $GITHUB_REF_NAME].
    #[arg(long = "ref")]
    git_ref: Option<String>,
    /// PR number (recorded in the payload; limits `inactive` to this PR's deployments).
    #[arg(long)]
    pr: Option<u64>,
    /// Who deploys [default: $GITHUB_TRIGGERING_ACTOR, else $GITHUB_ACTOR].
    #[arg(long)]
    actor: Option<String>,
    /// A transient (preview) environment (`--transient`, or `--transient true|false`).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set, default_value_t = false)]
    transient: bool,
}

/// `ghops gate` subcommands.
#[derive(Subcommand, Debug)]
pub enum GateCmd {
    /// Approval gate without Environment reviewers: authorise the actor ([env.gate] policy,
    /// default maintain) before any write, verify [env.promote] (production: the commit of a
    /// published release that succeeded in staging first; optional two-person rule), then
    /// record the approval as a `queued` status.
    ///
    /// Refusal exits 3 with the reason in the step summary. Needs: deployments: write,
    /// contents: read (releases, tags, commits), actions: read (two-person rule).
    #[command(
        after_help = "Examples:\n  ghops gate check --environment production --sha \"$GITHUB_SHA\""
    )]
    Check {
        /// Environment promoted to.
        #[arg(long)]
        environment: String,
        /// Commit SHA [default: $GITHUB_SHA].
        #[arg(long)]
        sha: Option<String>,
        /// Branch or tag [default: $GITHUB_REF_NAME].
        #[arg(long = "ref")]
        git_ref: Option<String>,
        /// Who asks [default: $GITHUB_TRIGGERING_ACTOR, else $GITHUB_ACTOR].
        #[arg(long)]
        actor: Option<String>,
        /// This workflow run, named by a two-person request [default: $GITHUB_RUN_ID].
        #[arg(long)]
        run_id: Option<u64>,
    },
    /// Approve (or reject) a run's deployment waiting on a protected Environment, for an
    /// authorised caller. Needs a token of a required reviewer.
    #[command(
        after_help = "Examples:\n  ghops gate approve --run-id 123456 --environment production --actor octocat\n  ghops gate approve --run-id 123456 --environment production --actor octocat --reject"
    )]
    Approve {
        /// Workflow run id.
        #[arg(long)]
        run_id: u64,
        /// Environment.
        #[arg(long)]
        environment: String,
        /// Reject instead of approving.
        #[arg(long)]
        reject: bool,
        /// Comment recorded with the decision.
        #[arg(long, default_value = "")]
        comment: String,
        /// Who decides [default: $GITHUB_TRIGGERING_ACTOR, else $GITHUB_ACTOR].
        #[arg(long)]
        actor: Option<String>,
    },
}

impl From<RecordArgs> for RecordInputs {
    fn from(a: RecordArgs) -> Self {
        RecordInputs {
            environment: a.environment,
            state: a.state,
            url: a.url,
            log_url: a.log_url,
            sha: a.sha,
            git_ref: a.git_ref,
            pr: a.pr,
            actor: a.actor,
            transient: a.transient,
        }
    }
}
