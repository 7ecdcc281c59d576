//! `ghops agent`: a pull-based deploy agent on GitHub Deployments.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use deploy_agent::create::NewDeployment;
use deploy_agent::{AgentOptions, Journal, Policy, Target, TargetState, run_once};
use gh_core::config::parse_duration;
use gh_core::{ExitCode, RepoRef};
use serde::Deserialize;

use crate::ctx::{Ctx, Failure};

/// `ghops agent` subcommands.
#[derive(Subcommand, Debug)]
pub enum AgentCmd {
    /// Watch deployments of one or more (repo, environment) targets and run hooks.
    #[command(
        after_help = "Examples:\n  ghops agent run --repo org/app --environment production --hooks-dir /etc/ghops/hooks\n  ghops agent run --once --repo org/app --environment staging --policy queue\n  ghops agent run --config /etc/ghops/ghops.toml      # [[agent.targets]]"
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
        /// Image.
        #[arg(long, default_value = "ghcr.io/example/ghops:latest")]
        image: String,
    },
}

/// `ghops agent run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Environment (with --repo; repeatable, paired in order with --repo... use [[agent.targets]] for several).
    #[arg(long)]
    environment: Option<String>,
    /// Hooks directory.
    #[arg(long, default_value = "hooks")]
    hooks_dir: PathBuf,
    /// latest (newest runs, older superseded) or queue (all, oldest first).
    #[arg(long, default_value = "latest")]
    policy: Policy,
    /// Poll interval.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    interval: Duration,
    /// One pass, then exit.
    #[arg(long)]
    once: bool,
    /// Identity written in statuses [default: host name].
    #[arg(long)]
    agent_id: Option<String>,
    /// Per-hook timeout.
    #[arg(long, default_value = "30m", value_parser = parse_duration)]
    hook_timeout: Duration,
    /// Between TERM and KILL.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    grace: Duration,
    /// Journal directory (crash safety).
    #[arg(long, default_value = ".ghops-agent/state")]
    state_dir: PathBuf,
    /// Per-deployment hook logs.
    #[arg(long, default_value = ".ghops-agent/logs")]
    log_dir: PathBuf,
    /// Status log_url: {id}, {repo}, {environment} are replaced.
    #[arg(long)]
    log_url_template: Option<String>,
    /// Also set the original github-deploy-agent's GITHUB_* variables (they clash with Actions' reserved names).
    #[arg(long)]
    legacy_env: bool,
    /// Run this deployment again even though it finished.
    #[arg(long, value_name = "ID")]
    redeploy: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetConfig {
    repo: String,
    environment: String,
    #[serde(default)]
    hooks_dir: Option<PathBuf>,
    #[serde(default)]
    policy: Option<Policy>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct AgentSection {
    targets: Vec<TargetConfig>,
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
            print!("{}", manifests(&namespace, &image));
            Ok(ExitCode::Success)
        }
    }
}

async fn run_agent(a: RunArgs, ctx: &Ctx) -> Result<ExitCode, Failure> {
    let section: AgentSection = ctx.config()?.section("agent")?.unwrap_or_default();
    let mut targets = Vec::new();
    if let Some(env) = &a.environment {
        targets.push(Target {
            repo: ctx.repo()?,
            environment: env.clone(),
            hooks_dir: a.hooks_dir.clone(),
            policy: a.policy,
        });
    }
    for (i, t) in section.targets.iter().enumerate() {
        targets.push(Target {
            repo: t.repo.parse().map_err(|e: gh_core::Error| {
                Failure::usage(format!("[[agent.targets]][{i}].repo: {e}"))
            })?,
            environment: t.environment.clone(),
            hooks_dir: t.hooks_dir.clone().unwrap_or_else(|| a.hooks_dir.clone()),
            policy: t.policy.unwrap_or(a.policy),
        });
    }
    if targets.is_empty() {
        return Err(Failure::usage(
            "no target: pass --repo and --environment, or [[agent.targets]] in ghops.toml",
        ));
    }
    let agent_id = a
        .agent_id
        .clone()
        .unwrap_or_else(deploy_agent::agent::default_agent_id);
    let (stop, cancel) = tokio::sync::watch::channel(false);
    let opts = AgentOptions {
        agent_id,
        hook_timeout: a.hook_timeout,
        grace: a.grace,
        log_dir: a.log_dir.clone(),
        log_cap: 10 * 1024 * 1024,
        log_url_template: a.log_url_template.clone(),
        legacy_env: a.legacy_env,
        redeploy: a.redeploy,
        cancel,
    };
    let journal = Arc::new(tokio::sync::Mutex::new(
        Journal::open(&a.state_dir).map_err(|e| Failure::usage(format!("--state-dir: {e}")))?,
    ));
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return,
            };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        eprintln!(
            "ghops agent: shutting down (running hooks get TERM, then KILL after the grace period)"
        );
        let _ = stop.send(true);
    });
    let mut tasks = Vec::new();
    for t in targets {
        let gh = ctx.client(&t.repo).await?;
        let (opts, journal, once, every) = (opts.clone(), journal.clone(), a.once, a.interval);
        tasks.push(tokio::spawn(async move {
            let mut st = TargetState::default();
            let mut cancel = opts.cancel.clone();
            loop {
                let r = {
                    let mut j = journal.lock().await;
                    run_once(&gh, &t, &opts, &mut j, &mut st).await
                };
                match &r {
                    Ok(rep) => {
                        for (id, state) in &rep.ran {
                            eprintln!("{} {}: deployment {id} -> {state}", t.repo, t.environment);
                        }
                        if rep.shutdown {
                            return Ok(());
                        }
                    }
                    Err(e) => eprintln!("{} {}: pass failed: {e}", t.repo, t.environment),
                }
                if once {
                    return r.map(|_| ());
                }
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = cancel.changed() => return Ok(()),
                }
            }
        }));
    }
    let mut code = ExitCode::Success;
    for t in tasks {
        match t.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                eprintln!("error: {e}");
                code = gh_core::ExitStatus::exit_code(&e);
            }
            Err(e) => {
                eprintln!("error: {e}");
                code = ExitCode::Failed;
            }
        }
    }
    Ok(code)
}

async fn create(a: CreateArgs, ctx: &Ctx) -> Result<ExitCode, Failure> {
    let repo: RepoRef = ctx.repo()?;
    let payload = match &a.payload {
        None => serde_json::json!({}),
        Some(p) => {
            let text = match p.strip_prefix('@') {
                Some(f) => std::fs::read_to_string(f)
                    .map_err(|e| Failure::usage(format!("--payload @{f}: {e}")))?,
                None => p.clone(),
            };
            serde_json::from_str(&text)
                .map_err(|e| Failure::usage(format!("--payload: not JSON: {e}")))?
        }
    };
    let d = NewDeployment {
        ref_name: a.ref_name,
        environment: a.environment,
        task: a.task,
        payload,
        transient_environment: a.transient,
        production_environment: a.production,
        required_contexts: a.required_contexts.map(|c| {
            c.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        }),
        auto_merge: false,
    };
    let gh = ctx.client(&repo).await?;
    let id = deploy_agent::create::create(&gh, &repo, &d, 5, Duration::from_secs(3)).await?;
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
    let state =
        deploy_agent::create::wait(&gh, &repo, id, a.timeout, Duration::from_secs(5)).await?;
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
    let list: Vec<serde_json::Value> = gh
        .get(&format!(
            "{}/deployments?environment={}&per_page={}",
            repo.api_path(),
            gh_core::repo::encode_query(environment),
            limit.clamp(1, 100)
        ))
        .await?;
    let mut rows = Vec::new();
    for d in &list {
        let id = d["id"].as_u64().unwrap_or_default();
        let s: Vec<serde_json::Value> = gh
            .get(&format!(
                "{}/deployments/{id}/statuses?per_page=1",
                repo.api_path()
            ))
            .await?;
        let latest = s.first().cloned().unwrap_or_default();
        rows.push(serde_json::json!({
            "id": id,
            "ref": d["ref"], "sha": d["sha"], "task": d["task"],
            "creator": d["creator"]["login"], "created_at": d["created_at"],
            "state": latest["state"].as_str().unwrap_or("pending"),
            "description": latest["description"],
        }));
    }
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
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            t.add_row([
                r["id"].to_string(),
                s("ref"),
                s("state"),
                s("creator"),
                s("created_at"),
                s("description"),
            ]);
        }
        println!("{t}");
    }
    Ok(ExitCode::Success)
}

fn manifests(namespace: &str, image: &str) -> String {
    format!(
        r#"# ghops agent: pull-based deploy agent. One replica: the journal on the volume keeps a crash from repeating a deploy.
apiVersion: v1
kind: ServiceAccount
metadata:
  name: ghops-agent
  namespace: {namespace}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: ghops-agent-state
  namespace: {namespace}
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests: {{storage: 1Gi}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ghops-agent
  namespace: {namespace}
spec:
  replicas: 1
  strategy: {{type: Recreate}}
  selector:
    matchLabels: {{app.kubernetes.io/name: ghops-agent}}
  template:
    metadata:
      labels: {{app.kubernetes.io/name: ghops-agent}}
    spec:
      serviceAccountName: ghops-agent
      terminationGracePeriodSeconds: 60
      securityContext: {{runAsNonRoot: true, runAsUser: 65532, fsGroup: 65532}}
      containers:
        - name: agent
          image: {image}
          args: ["agent", "run", "--config", "/etc/ghops/ghops.toml", "--state-dir", "/var/lib/ghops/state", "--log-dir", "/var/lib/ghops/logs", "--hooks-dir", "/etc/ghops/hooks"]
          env:
            - name: GH_TOKEN
              valueFrom: {{secretKeyRef: {{name: ghops-agent, key: token}}}}
          volumeMounts:
            - {{name: state, mountPath: /var/lib/ghops}}
            - {{name: config, mountPath: /etc/ghops}}
          securityContext: {{allowPrivilegeEscalation: false, capabilities: {{drop: [ALL]}}}}
      volumes:
        - name: state
          persistentVolumeClaim: {{claimName: ghops-agent-state}}
        - name: config
          configMap: {{name: ghops-agent, defaultMode: 0755}}
"#
    )
}

/// For `ghops serve`: when `[[agent.targets]]` are configured, runs the agent loop of each
/// target in the server's process and returns the notifier a `deployment` webhook uses to wake
/// them early. `None` when no target is configured.
pub async fn spawn_for_serve(
    ctx: &Ctx,
    base: &gh_core::client::ClientConfig,
) -> Result<Option<Arc<tokio::sync::Notify>>, Failure> {
    let section: AgentSection = ctx.config()?.section("agent")?.unwrap_or_default();
    if section.targets.is_empty() {
        return Ok(None);
    }
    let wake = Arc::new(tokio::sync::Notify::new());
    let journal = Arc::new(tokio::sync::Mutex::new(
        Journal::open(std::path::Path::new(".ghops-agent/state"))
            .map_err(|e| Failure::usage(format!("agent state: {e}")))?,
    ));
    // On SIGTERM (serve drains its queue meanwhile) running hooks get TERM, then KILL.
    let (stop, cancel) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            term.recv().await;
            let _ = stop.send(true);
        }
    });
    let opts = AgentOptions {
        agent_id: deploy_agent::agent::default_agent_id(),
        hook_timeout: Duration::from_secs(1800),
        grace: Duration::from_secs(10),
        log_dir: PathBuf::from(".ghops-agent/logs"),
        log_cap: 10 * 1024 * 1024,
        log_url_template: None,
        legacy_env: false,
        redeploy: None,
        cancel,
    };
    for (i, t) in section.targets.iter().enumerate() {
        let repo: RepoRef = t.repo.parse().map_err(|e: gh_core::Error| {
            Failure::usage(format!("[[agent.targets]][{i}].repo: {e}"))
        })?;
        let mut cfg = base.clone();
        if matches!(cfg.credentials, gh_core::auth::Credentials::App { .. }) {
            cfg.installation = Some(gh_core::client::InstallationTarget::Repo(repo.clone()));
        }
        let gh = gh_core::GitHub::connect(cfg).await?;
        let target = Target {
            repo,
            environment: t.environment.clone(),
            hooks_dir: t
                .hooks_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from("hooks")),
            policy: t.policy.unwrap_or_default(),
        };
        tokio::spawn(deploy_agent::agent::run_loop(
            gh,
            target,
            opts.clone(),
            journal.clone(),
            Duration::from_secs(30),
            wake.clone(),
        ));
    }
    Ok(Some(wake))
}
