//! `ghops agent`: a pull-based deploy agent on GitHub Deployments.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use deploy_agent::config::Flags;
use deploy_agent::create::NewDeployment;
use deploy_agent::{AgentConfig, AgentHandle, AgentSection, Policy};
use gh_core::config::parse_duration;
use gh_core::{ExitCode, RepoRef};

use crate::ctx::{Ctx, Failure};

/// `ghops agent` subcommands.
#[derive(Subcommand, Debug)]
pub enum AgentCmd {
    /// Watch deployments of one or more (repo, environment) targets and run hooks.
    #[command(
        after_help = "Examples:\n  ghops agent run --repo org/app --environment production --hooks-dir /etc/ghops/hooks\n  ghops agent run --once --repo org/app --environment staging --environment qa --policy queue\n  ghops agent run --config /etc/ghops/ghops.toml      # [[agent.targets]]"
    )]
    Run(RunArgs),
    /// Create a deployment (and optionally follow it to the end).
    #[command(
        after_help = "Examples:\n  ghops agent create --repo org/app --ref v1.2.0 --environment production --payload '{\"replicas\": 3}' --wait"
    )]
    Create(CreateArgs),
    /// Recent deployments of a target with their latest status.
    Status {
        /// Environment.
        #[arg(long)]
        environment: String,
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Print Kubernetes manifests for running the agent.
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
    environment: Vec<String>,
    /// Repository (github-deploy-agent's name for --repo).
    #[arg(long, value_name = "OWNER/REPO", hide = true)]
    repository: Option<String>,
    /// Hooks directory, relative to the working directory or absolute [default: hooks].
    #[arg(long)]
    hooks_dir: Option<PathBuf>,
    /// latest (newest runs, older superseded) or queue (all, oldest first) [default: latest].
    #[arg(long)]
    policy: Option<Policy>,
    /// Poll interval (alias --sleep) [default: `[agent] interval`, else 30s].
    #[arg(long, alias = "sleep", value_parser = parse_duration)]
    interval: Option<Duration>,
    /// One pass, then exit.
    #[arg(long)]
    once: bool,
    /// Identity written in statuses [default: host name].
    #[arg(long)]
    agent_id: Option<String>,
    /// Per-hook timeout [default: `[agent] hook_timeout`, else 30m].
    #[arg(long, value_parser = parse_duration)]
    hook_timeout: Option<Duration>,
    /// Between TERM and KILL [default: 10s].
    #[arg(long, value_parser = parse_duration)]
    grace: Option<Duration>,
    /// Journal directory (crash safety) [default: `[agent] state_dir`, else .ghops-agent/state].
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Per-deployment hook logs [default: `[agent] log_dir`, else .ghops-agent/logs].
    #[arg(long)]
    log_dir: Option<PathBuf>,
    /// Status log_url: {id}, {repo}, {environment} are replaced.
    #[arg(long)]
    log_url_template: Option<String>,
    /// github-deploy-agent compatibility: its ten GITHUB_* hook variables (they clash with
    /// Actions' reserved names), hooks run from the agent's directory, a failing pre_task does
    /// not stop the deploy [default: `[agent] legacy_env`].
    #[arg(long)]
    legacy_env: bool,
    /// Run this deployment again even though it finished.
    #[arg(long, value_name = "ID")]
    redeploy: Option<u64>,
    /// Serve /metrics, /healthz (loop making progress) and /readyz (after each target's first
    /// successful pass) on this address, e.g. 0.0.0.0:9090.
    #[arg(long, value_name = "ADDR")]
    metrics_bind: Option<std::net::SocketAddr>,
}

/// `ghops agent create`.
#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Ref to deploy.
    #[arg(long = "ref")]
    ref_name: String,
    /// Environment.
    #[arg(long)]
    environment: String,
    /// Task.
    #[arg(long, default_value = "deploy")]
    task: String,
    /// Payload: JSON, or @file.
    #[arg(long)]
    payload: Option<String>,
    /// Transient environment.
    #[arg(long)]
    transient: bool,
    /// Production environment.
    #[arg(long)]
    production: bool,
    /// Required status contexts (comma-separated; empty = none).
    #[arg(long)]
    required_contexts: Option<String>,
    /// Follow the deployment to a terminal status.
    #[arg(long)]
    wait: bool,
    /// Bound for --wait.
    #[arg(long, default_value = "30m", value_parser = parse_duration)]
    timeout: Duration,
}

/// Runs `ghops agent`.
pub async fn run(cmd: AgentCmd, ctx: &Ctx) -> Result<ExitCode, Failure> {
    match cmd {
        AgentCmd::Run(a) => run_agent(a, ctx).await,
        AgentCmd::Create(a) => create(a, ctx).await,
        AgentCmd::Status { environment, limit } => status(ctx, &environment, limit).await,
        AgentCmd::Manifests { namespace, image } => {
            print!(
                "{}",
                deploy_agent::manifests::kubernetes(&namespace, &image)
            );
            Ok(ExitCode::Success)
        }
    }
}

async fn run_agent(a: RunArgs, ctx: &Ctx) -> Result<ExitCode, Failure> {
    let section: AgentSection = ctx.config()?.section("agent")?.unwrap_or_default();
    let repo = match (&a.repository, a.environment.is_empty()) {
        (Some(r), _) => Some(r.parse::<RepoRef>()?),
        (None, false) => Some(ctx.repo()?),
        (None, true) => None,
    };
    let flags = Flags {
        repo,
        environments: a.environment,
        hooks_dir: a.hooks_dir,
        policy: a.policy,
        interval: a.interval,
        once: a.once,
        agent_id: a.agent_id,
        hook_timeout: a.hook_timeout,
        grace: a.grace,
        state_dir: a.state_dir,
        log_dir: a.log_dir,
        log_url_template: a.log_url_template,
        legacy_env: a.legacy_env,
        redeploy: a.redeploy,
    };
    let (stop, cancel) = tokio::sync::watch::channel(false);
    let cfg = AgentConfig::resolve(&section, &flags, &cwd()?, cancel)?;
    if cfg.targets.is_empty() {
        return Err(Failure::usage(
            "no target: pass --repo and --environment, or [[agent.targets]] in ghops.toml",
        ));
    }
    // Bound before anything runs: a taken port fails the start, not a deploy.
    let health = match a.metrics_bind {
        Some(bind) => Some(tokio::net::TcpListener::bind(bind).await.map_err(|e| {
            Failure::usage(format!("--metrics-bind: cannot listen on {bind}: {e}"))
        })?),
        None => None,
    };
    let stopped = cfg.options.cancel.clone();
    deploy_agent::service::stop_on_signal(stop, || {
        eprintln!(
            "ghops agent: shutting down (running hooks get TERM, then KILL after the grace period)"
        )
    });
    let base = ctx.client_config(None)?;
    if base.dry_run {
        eprintln!("dry-run: reads are performed, writes are printed and not sent");
    }
    let agent = cfg.start(&base).await?;
    if let Some(listener) = health {
        let stop = ghops_serve::health::on_stop(stopped);
        let l = ghops_serve::health::serve(listener, agent.metrics(), stop)
            .map_err(|e| Failure::usage(format!("--metrics-bind: {e}")))?;
        eprintln!("ghops agent: metrics and health on http://{}", l.addr);
    }
    let summaries = agent.summaries().await;
    let mut code = ExitCode::Success;
    for s in &summaries {
        if let Some(e) = &s.error {
            eprintln!("error: {} {}: {e}", s.repo, s.environment);
            code = ExitCode::Failed;
        }
    }
    if ctx.global.json {
        ctx.print_json(&summaries)?;
    }
    Ok(code)
}

fn cwd() -> Result<PathBuf, Failure> {
    std::env::current_dir()
        .map_err(|e| Failure::usage(format!("the working directory is unreadable: {e}")))
}

async fn create(a: CreateArgs, ctx: &Ctx) -> Result<ExitCode, Failure> {
    let repo: RepoRef = ctx.repo()?;
    let d = NewDeployment {
        ref_name: a.ref_name,
        environment: a.environment,
        task: a.task,
        payload: deploy_agent::create::payload_arg(a.payload.as_deref())?,
        transient_environment: a.transient,
        production_environment: a.production,
        required_contexts: a
            .required_contexts
            .as_deref()
            .map(deploy_agent::create::contexts_arg),
        auto_merge: false,
    };
    let gh = ctx.client(&repo).await?;
    let id = deploy_agent::create::create(
        &gh,
        &repo,
        &d,
        deploy_agent::config::CREATE_ATTEMPTS,
        deploy_agent::config::CREATE_RETRY_DELAY,
    )
    .await?;
    let Some(id) = id else {
        return Ok(ExitCode::Success);
    };
    if !a.wait {
        if ctx.global.json {
            ctx.print_json(&serde_json::json!({"id": id}))?;
        } else {
            println!("deployment {id} created");
        }
        return Ok(ExitCode::Success);
    }
    let state = deploy_agent::create::wait(
        &gh,
        &repo,
        id,
        a.timeout,
        deploy_agent::config::CREATE_WAIT_POLL,
    )
    .await?;
    if ctx.global.json {
        ctx.print_json(&serde_json::json!({"id": id, "state": state}))?;
    } else {
        println!("deployment {id}: {state}");
    }
    Ok(if state == "success" {
        ExitCode::Success
    } else {
        ExitCode::Failed
    })
}

async fn status(ctx: &Ctx, environment: &str, limit: usize) -> Result<ExitCode, Failure> {
    let repo = ctx.repo()?;
    let gh = ctx.client(&repo).await?;
    let rows = deploy_agent::status::recent(&gh, &repo, environment, limit).await?;
    if ctx.global.json {
        ctx.print_json(&rows)?;
    } else {
        let mut t = comfy_table::Table::new();
        t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
            .set_header([
                "Id",
                "Ref",
                "State",
                "Creator",
                "Created",
                "Agent / description",
            ]);
        for r in &rows {
            let s = |v: &Option<String>| v.clone().unwrap_or_default();
            t.add_row([
                r.id.to_string(),
                r.ref_name.clone(),
                r.state.clone(),
                s(&r.creator),
                s(&r.created_at),
                s(&r.description),
            ]);
        }
        println!("{t}");
    }
    Ok(ExitCode::Success)
}

/// For `ghops serve`: the agent of `[agent]` (same constructor, defaults and invariants as
/// `agent run`), returning its handle; route a `deployment` event with
/// `handle.on_event(&event)`. `None` when no target is configured.
pub async fn spawn_agent_for_serve(
    ctx: &Ctx,
    base: &gh_core::client::ClientConfig,
) -> Result<Option<AgentHandle>, Failure> {
    let section: AgentSection = ctx.config()?.section("agent")?.unwrap_or_default();
    // On SIGTERM (serve drains its queue meanwhile) running hooks get TERM, then KILL.
    let (stop, cancel) = tokio::sync::watch::channel(false);
    let cfg = AgentConfig::resolve(&section, &Flags::default(), &cwd()?, cancel)?;
    if cfg.targets.is_empty() {
        return Ok(None);
    }
    deploy_agent::service::stop_on_signal(stop, || {});
    Ok(Some(cfg.start(base).await?.detach()))
}
