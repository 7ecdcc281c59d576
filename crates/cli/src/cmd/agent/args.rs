//! `ghops agent`'s arguments, and their translation into deploy-agent's inputs.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use deploy_agent::Policy;
use deploy_agent::config::Flags;
use deploy_agent::create::NewDeployment;
use gh_core::RepoRef;
use gh_core::config::parse_duration;

use crate::ctx::Failure;

/// `ghops agent` subcommands.
#[derive(Subcommand, Debug)]
pub enum AgentCmd {
    /// Watch deployments of one or more (repo, environment) targets and run hooks.
    #[command(
        after_help = "Examples:\n  ghops agent run --repo org/app --environment production --hooks-dir /etc/ghops/hooks\n  ghops agent run --once --repo org/app --environment staging --environment qa --policy queue\n  ghops agent run --config /etc/ghops/ghops.toml      # [[agent.targets]]\n  ghops agent run --config /etc/ghops/ghops.toml --metrics-bind 0.0.0.0:9090"
    )]
    Run(RunArgs),
    /// Create a deployment (and optionally follow it to the end).
    #[command(
        after_help = "Examples:\n  ghops agent create --repo org/app --ref v1.2.0 --environment production \\\n      --payload '{\"replicas\": 3}' --wait"
    )]
    Create(CreateArgs),
    /// Recent deployments of a target with their latest status.
    #[command(
        after_help = "Examples:\n  ghops agent status --repo org/app --environment production\n  ghops agent status --repo org/app --environment staging --limit 5 --json"
    )]
    Status {
        /// Environment.
        #[arg(long)]
        environment: String,
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Print Kubernetes manifests for running the agent.
    #[command(
        after_help = "Examples:\n  ghops agent manifests --namespace ghops > agent.yaml\n  ghops agent manifests --namespace deploy | kubectl apply -f -"
    )]
    Manifests {
        /// Namespace.
        #[arg(long, default_value = "ghops")]
        namespace: String,
        /// Image (default: this version's agent image, with a shell for hooks; never `latest`).
        #[arg(long, default_value_t = gh_core::dist::default_agent_image())]
        image: String,
    },
}

/// `ghops agent run`. github-deploy-agent's flag names are accepted too: `--repository`,
/// `--env`, `--sleep`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Environment of --repo to serve (repeatable: one target each); other repositories go in
    /// `[[agent.targets]]`.
    #[arg(long, alias = "env")]
    pub(super) environment: Vec<String>,
    /// Repository (github-deploy-agent's name for --repo).
    #[arg(long, value_name = "OWNER/REPO", hide = true)]
    pub(super) repository: Option<String>,
    /// Hooks directory, relative to the working directory or absolute [default: hooks].
    #[arg(long)]
    pub(super) hooks_dir: Option<PathBuf>,
    /// latest (newest runs, older superseded) or queue (all, oldest first) [default: latest].
    #[arg(long)]
    pub(super) policy: Option<Policy>,
    /// Poll interval (alias --sleep) [default: `[agent] interval`, else 30s].
    #[arg(long, alias = "sleep", value_parser = parse_duration)]
    pub(super) interval: Option<Duration>,
    /// One pass, then exit.
    #[arg(long)]
    pub(super) once: bool,
    /// Identity written in statuses [default: host name].
    #[arg(long)]
    pub(super) agent_id: Option<String>,
    /// Per-hook timeout [default: `[agent] hook_timeout`, else 30m].
    #[arg(long, value_parser = parse_duration)]
    pub(super) hook_timeout: Option<Duration>,
    /// Between TERM and KILL [default: 10s].
    #[arg(long, value_parser = parse_duration)]
    pub(super) grace: Option<Duration>,
    /// Journal directory (crash safety) [default: `[agent] state_dir`, else .ghops-agent/state].
    #[arg(long)]
    pub(super) state_dir: Option<PathBuf>,
    /// Per-deployment hook logs [default: `[agent] log_dir`, else .ghops-agent/logs].
    #[arg(long)]
    pub(super) log_dir: Option<PathBuf>,
    /// Status log_url: {id}, {repo}, {environment} are replaced.
    #[arg(long)]
    pub(super) log_url_template: Option<String>,
    /// github-deploy-agent compatibility: its ten GITHUB_* hook variables (they clash with
    /// Actions' reserved names), hooks run from the agent's directory, a failing pre_task does
    /// not stop the deploy [default: `[agent] legacy_env`].
    #[arg(long)]
    pub(super) legacy_env: bool,
    /// Run this deployment again even though it finished.
    #[arg(long, value_name = "ID")]
    pub(super) redeploy: Option<u64>,
    /// Serve /metrics, /healthz (loop making progress) and /readyz (after each target's first
    /// successful pass) on this address, e.g. 0.0.0.0:9090.
    #[arg(long, value_name = "ADDR")]
    pub(super) metrics_bind: Option<std::net::SocketAddr>,
}

/// `ghops agent create`.
#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Ref to deploy.
    #[arg(long = "ref")]
    pub(super) ref_name: String,
    /// Environment.
    #[arg(long)]
    pub(super) environment: String,
    /// Task.
    #[arg(long, default_value = "deploy")]
    pub(super) task: String,
    /// Payload: JSON, or @file.
    #[arg(long)]
    pub(super) payload: Option<String>,
    /// Transient environment.
    #[arg(long)]
    pub(super) transient: bool,
    /// Production environment.
    #[arg(long)]
    pub(super) production: bool,
    /// Required status contexts (comma-separated; empty = none).
    #[arg(long)]
    pub(super) required_contexts: Option<String>,
    /// Follow the deployment to a terminal status.
    #[arg(long)]
    pub(super) wait: bool,
    /// Bound for --wait.
    #[arg(long, default_value = "30m", value_parser = parse_duration)]
    pub(super) timeout: Duration,
}

impl RunArgs {
    /// The flags for [`deploy_agent::AgentConfig::resolve`], with the repository of
    /// `--repo`/`--repository` (resolved by the caller).
    pub(super) fn flags(self, repo: Option<RepoRef>) -> Flags {
        Flags {
            repo,
            environments: self.environment,
            hooks_dir: self.hooks_dir,
            policy: self.policy,
            interval: self.interval,
            once: self.once,
            agent_id: self.agent_id,
            hook_timeout: self.hook_timeout,
            grace: self.grace,
            state_dir: self.state_dir,
            log_dir: self.log_dir,
            log_url_template: self.log_url_template,
            legacy_env: self.legacy_env,
            redeploy: self.redeploy,
        }
    }
}

impl CreateArgs {
    /// The deployment to create.
    pub(super) fn deployment(&self) -> Result<NewDeployment, Failure> {
        Ok(NewDeployment {
            ref_name: self.ref_name.clone(),
            environment: self.environment.clone(),
            task: self.task.clone(),
            payload: deploy_agent::create::payload_arg(self.payload.as_deref())?,
            transient_environment: self.transient,
            production_environment: self.production,
            required_contexts: self
                .required_contexts
                .as_deref()
                .map(deploy_agent::create::contexts_arg),
            auto_merge: false,
        })
    }
}

impl AgentCmd {
    /// `agent run` without `--once`: a daemon.
    pub fn is_daemon(&self) -> bool {
        matches!(self, AgentCmd::Run(a) if !a.once)
    }
}
