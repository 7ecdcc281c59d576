//! `ghops agent`: a pull-based deploy agent on GitHub Deployments.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use deploy_agent::create::NewDeployment;
use deploy_agent::{Agent, AgentHandle, AgentOptions, Journal, Policy, Schedule, Target};
use gh_core::config::parse_duration;
use gh_core::{ExitCode, RepoRef};
use serde::Deserialize;

use crate::ctx::{Ctx, Failure};
use crate::output::{out, outln};

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
        after_help = "Examples:\n  ghops agent create --repo org/app --ref v1.2.0 --environment production \\\n      --payload '{\"replicas\": 3}' --wait"
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

/// `ghops agent run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Environment of --repo to serve (repeatable: one target each); other repositories go in
    /// `[[agent.targets]]`.
    #[arg(long)]
    environment: Vec<String>,
    /// Hooks directory.
    #[arg(long, default_value = "hooks")]
    hooks_dir: PathBuf,
    /// latest (newest runs, older superseded) or queue (all, oldest first).
    #[arg(long, default_value = "latest")]
    policy: Policy,
    /// Poll interval [default: `[agent] interval`, else 30s].
    #[arg(long, value_parser = parse_duration)]
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
    /// Between TERM and KILL.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    grace: Duration,
    /// Journal directory (crash safety) [default: `[agent] state_dir`, else .ghops-agent/state].
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Per-deployment hook logs [default: `[agent] log_dir`, else .ghops-agent/logs].
    #[arg(long)]
    log_dir: Option<PathBuf>,
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
    /// Per-hook timeout of this target (`30m`).
    #[serde(default)]
    hook_timeout: Option<String>,
}

/// `[agent]` in ghops.toml (flags win over it; `ghops serve` uses it alone).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct AgentSection {
    targets: Vec<TargetConfig>,
    agent_id: Option<String>,
    interval: Option<String>,
    hook_timeout: Option<String>,
    state_dir: Option<PathBuf>,
    log_dir: Option<PathBuf>,
    log_url_template: Option<String>,
    /// Run hooks as this user (`name`, `uid` or `uid:gid`; the agent runs as root to switch).
    user: Option<String>,
}

/// `[agent] user` resolved: hooks run as that account (the production setting).
fn hook_user(section: &AgentSection) -> Result<Option<gh_core::hardening::RunAs>, Failure> {
    section
        .user
        .as_deref()
        .map(|u| {
            gh_core::hardening::RunAs::resolve(u)
                .map_err(|e| Failure::usage(format!("ghops.toml [agent] user: {e}")))
        })
        .transpose()
}

fn duration(field: &str, v: &Option<String>) -> Result<Option<Duration>, Failure> {
    v.as_deref()
        .map(|s| parse_duration(s).map_err(|e| Failure::usage(format!("ghops.toml {field}: {e}"))))
        .transpose()
}

fn config_targets(
    section: &AgentSection,
    default_hooks: &std::path::Path,
    default_policy: Policy,
) -> Result<Vec<Target>, Failure> {
    let mut out = Vec::new();
    for (i, t) in section.targets.iter().enumerate() {
        out.push(Target {
            repo: t.repo.parse().map_err(|e: gh_core::Error| {
                Failure::usage(format!("ghops.toml [[agent.targets]][{i}].repo: {e}"))
            })?,
            environment: t.environment.clone(),
            hooks_dir: t
                .hooks_dir
                .clone()
                .unwrap_or_else(|| default_hooks.to_path_buf()),
            policy: t.policy.unwrap_or(default_policy),
            hook_timeout: duration(
                &format!("[[agent.targets]][{i}].hook_timeout"),
                &t.hook_timeout,
            )?,
        });
    }
    Ok(out)
}

fn shutdown_on_signal(stop: tokio::sync::watch::Sender<bool>, say: bool) {
    tokio::spawn(async move {
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        if say {
            eprintln!(
                "ghops agent: shutting down (running hooks get TERM, then KILL after the grace period)"
            );
        }
        let _ = stop.send(true);
    });
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
            out!("{}", manifests(&namespace, &image));
            Ok(ExitCode::Success)
        }
    }
}

async fn run_agent(a: RunArgs, ctx: &Ctx) -> Result<ExitCode, Failure> {
    let section: AgentSection = ctx.config()?.section("agent")?.unwrap_or_default();
    let mut targets = Vec::new();
    for env in &a.environment {
        targets.push(Target {
            repo: ctx.repo()?,
            environment: env.clone(),
            hooks_dir: a.hooks_dir.clone(),
            policy: a.policy,
            hook_timeout: None,
        });
    }
    targets.extend(config_targets(&section, &a.hooks_dir, a.policy)?);
    if targets.is_empty() {
        return Err(Failure::usage(
            "no target: pass --repo and --environment, or [[agent.targets]] in ghops.toml",
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for t in &targets {
        if !seen.insert((t.repo.to_string().to_lowercase(), t.environment.clone())) {
            return Err(Failure::usage(format!(
                "target {} {} is listed twice (one deploy at a time per target)",
                t.repo, t.environment
            )));
        }
    }
    let agent_id = a
        .agent_id
        .clone()
        .or(section.agent_id.clone())
        .unwrap_or_else(deploy_agent::agent::default_agent_id);
    let (stop, cancel) = tokio::sync::watch::channel(false);
    let opts = AgentOptions {
        agent_id,
        hook_timeout: match a.hook_timeout {
            Some(t) => t,
            None => duration("[agent] hook_timeout", &section.hook_timeout)?
                .unwrap_or(Duration::from_secs(1800)),
        },
        grace: a.grace,
        log_dir: a
            .log_dir
            .clone()
            .or(section.log_dir.clone())
            .unwrap_or_else(|| PathBuf::from(".ghops-agent/logs")),
        log_cap: 10 * 1024 * 1024,
        log_url_template: a
            .log_url_template
            .clone()
            .or(section.log_url_template.clone()),
        legacy_env: a.legacy_env,
        redeploy: a.redeploy,
        cancel,
        run_as: hook_user(&section)?,
    };
    let state_dir = a
        .state_dir
        .clone()
        .or(section.state_dir.clone())
        .unwrap_or_else(|| PathBuf::from(".ghops-agent/state"));
    let journal = Journal::open(&state_dir)
        .map_err(|e| Failure::usage(format!("state dir {}: {e}", state_dir.display())))?;
    shutdown_on_signal(stop, true);
    let mut with_clients = Vec::new();
    for t in targets {
        with_clients.push((ctx.client(&t.repo).await?, t));
    }
    let schedule = if a.once {
        Schedule::Once
    } else {
        Schedule::Every(match a.interval {
            Some(i) => i,
            None => {
                duration("[agent] interval", &section.interval)?.unwrap_or(Duration::from_secs(30))
            }
        })
    };
    let agent = Agent::spawn(with_clients, opts, journal, schedule);
    let mut code = ExitCode::Success;
    for (target, e) in agent.join().await {
        eprintln!("error: {target}: {e}");
        code = gh_core::ExitStatus::exit_code(&e);
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
            outln!("deployment {id} created");
        }
        return Ok(ExitCode::Success);
    }
    let state =
        deploy_agent::create::wait(&gh, &repo, id, a.timeout, Duration::from_secs(5)).await?;
    if ctx.global.json {
        ctx.print_json(&serde_json::json!({"id": id, "state": state}))?;
    } else {
        outln!("deployment {id}: {state}");
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
        t.set_header([
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
        outln!(
            "{}",
            crate::output::render_table(t, crate::output::TableMode::for_stdout(ctx.global.color))
        );
    }
    Ok(ExitCode::Success)
}

fn manifests(namespace: &str, image: &str) -> String {
    format!(
        r#"# ghops agent: pull-based deploy agent. One replica: the journal on the volume keeps a crash from repeating a deploy.
# Hooks run in the agent's container as its (non-root) user: ghops is non-dumpable and keeps
# no credential in its environment, and no credential is on disk here (GH_TOKEN comes from the
# Secret as a variable), so a hook cannot take it. See docs/security.md.
apiVersion: v1
kind: ServiceAccount
metadata:
  name: ghops-agent
  namespace: {namespace}
automountServiceAccountToken: false
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
      # The agent talks to GitHub only; hooks that need the cluster get their own credentials.
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 60
      securityContext: {{runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: {{type: RuntimeDefault}}}}
      containers:
        - name: agent
          image: {image}
          args: ["agent", "run", "--config", "/etc/ghops/ghops.toml", "--state-dir", "/var/lib/ghops/state", "--log-dir", "/var/lib/ghops/logs", "--hooks-dir", "/etc/ghops/hooks"]
          env:
            - name: GH_TOKEN
              valueFrom: {{secretKeyRef: {{name: ghops-agent, key: token}}}}
          volumeMounts:
            - {{name: state, mountPath: /var/lib/ghops}}
            - {{name: config, mountPath: /etc/ghops, readOnly: true}}
            - {{name: tmp, mountPath: /tmp}}
          securityContext: {{allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {{drop: [ALL]}}}}
          # Hooks run in this container and count against these: size them for your hooks.
          resources:
            requests: {{cpu: 50m, memory: 64Mi}}
            limits: {{cpu: "1", memory: 512Mi}}
      volumes:
        - name: state
          persistentVolumeClaim: {{claimName: ghops-agent-state}}
        - name: config
          configMap: {{name: ghops-agent, defaultMode: 0755}}
        - name: tmp
          emptyDir: {{sizeLimit: 1Gi}}
"#
    )
}

/// For `ghops serve`: like [`spawn_for_serve`], returning the agent's handle; route a
/// `deployment` event with `handle.on_event(&event)`.
pub async fn spawn_agent_for_serve(
    ctx: &Ctx,
    base: &gh_core::client::ClientConfig,
) -> Result<Option<AgentHandle>, Failure> {
    let section: AgentSection = ctx.config()?.section("agent")?.unwrap_or_default();
    let targets = config_targets(&section, std::path::Path::new("hooks"), Policy::default())?;
    if targets.is_empty() {
        return Ok(None);
    }
    let state_dir = section
        .state_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(".ghops-agent/state"));
    let journal = Journal::open(&state_dir).map_err(|e| {
        Failure::usage(format!(
            "ghops.toml [agent] state_dir {}: {e}",
            state_dir.display()
        ))
    })?;
    // On SIGTERM (serve drains its queue meanwhile) running hooks get TERM, then KILL.
    let (stop, cancel) = tokio::sync::watch::channel(false);
    shutdown_on_signal(stop, false);
    let opts = AgentOptions {
        agent_id: section
            .agent_id
            .clone()
            .unwrap_or_else(deploy_agent::agent::default_agent_id),
        hook_timeout: duration("[agent] hook_timeout", &section.hook_timeout)?
            .unwrap_or(Duration::from_secs(1800)),
        grace: Duration::from_secs(10),
        log_dir: section
            .log_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(".ghops-agent/logs")),
        log_cap: 10 * 1024 * 1024,
        log_url_template: section.log_url_template.clone(),
        legacy_env: false,
        redeploy: None,
        cancel,
        run_as: hook_user(&section)?,
    };
    let interval =
        duration("[agent] interval", &section.interval)?.unwrap_or(Duration::from_secs(30));
    let mut with_clients = Vec::new();
    for target in targets {
        let mut cfg = base.clone();
        if matches!(cfg.credentials, gh_core::auth::Credentials::App { .. }) {
            cfg.installation = Some(gh_core::client::InstallationTarget::Repo(
                target.repo.clone(),
            ));
        }
        with_clients.push((gh_core::GitHub::connect(cfg).await?, target));
    }
    let agent = Agent::spawn(with_clients, opts, journal, Schedule::Every(interval));
    let handle = agent.handle();
    tokio::spawn(async move {
        for (target, e) in agent.join().await {
            tracing::error!(%target, error = %e, "deploy agent stopped");
        }
    });
    Ok(Some(handle))
}
