//! `ghops runners`: ephemeral self-hosted Actions runners, one per queued job (runner-orch).

use std::path::PathBuf;
use std::time::Duration;

use clap::Subcommand;
use gh_core::ExitCode;
use gh_core::client::{GitHub, InstallationTarget};
use runner_orch::manifests::{ManifestOptions, manifests, render};
use runner_orch::{Clients, Decision, Orchestrator, Role, RunnersConfig};

use crate::ctx::{Ctx, Failure};
use crate::output::{out, outln};

/// Runner orchestration commands.
#[derive(Subcommand, Debug)]
pub enum RunnersCmd {
    /// One reconcile pass (or a loop with --watch): launch runners for queued jobs within each
    /// pool's max, keep min_idle warm runners, reap runners that never registered and
    /// leftovers. Never touches a busy runner.
    #[command(
        after_help = "Examples:\n  ghops runners reconcile --dry-run\n  ghops runners reconcile --watch --interval 30s --leader-election"
    )]
    Reconcile {
        /// Keep running, one pass per --interval.
        #[arg(long)]
        watch: bool,
        /// Time between passes [default: [runners].interval, else 60s].
        #[arg(long, value_parser = gh_core::config::parse_duration)]
        interval: Option<Duration>,
        /// Only the holder of the Lease launches and reaps (for several replicas).
        #[arg(long)]
        leader_election: bool,
        /// Namespace of the leader-election Lease.
        #[arg(long, env = "POD_NAMESPACE", default_value = "ghops")]
        lease_namespace: String,
        /// With --watch: serve /metrics, /healthz and /readyz on this address.
        #[arg(long, value_name = "ADDR")]
        metrics_bind: Option<std::net::SocketAddr>,
        #[command(flatten)]
        kube: KubeArgs,
    },
    /// Handle one `workflow_job` event from a file: launch or clean up its runner, with the
    /// same decision `ghops serve` makes per delivery. Kubernetes pools only: a process pool's
    /// runners belong to the one long-lived ghops process running them (serve or reconcile
    /// --watch), so handle refuses them (exit 3) except with --dry-run.
    #[command(after_help = "Example:\n  ghops runners handle --event workflow_job.json --json")]
    Handle {
        /// The event payload [default: $GITHUB_EVENT_PATH].
        #[arg(long, value_name = "FILE")]
        event: Option<PathBuf>,
        #[command(flatten)]
        kube: KubeArgs,
    },
    /// Pools, queued jobs and runners by state, as a table or --json.
    Status {
        #[command(flatten)]
        kube: KubeArgs,
    },
    /// Print the Kubernetes manifests: namespace-scoped Roles with only the verbs used,
    /// ServiceAccounts, the Deployment (serve + reconcile), a Secret template and, with
    /// --cronjob, a CronJob running one reconcile pass per tick (concurrencyPolicy: Forbid).
    #[command(
        after_help = "Example:\n  ghops runners manifests --namespace ghops --cronjob > runners.yaml"
    )]
    Manifests {
        /// Namespace of the orchestrator.
        #[arg(long, default_value = "ghops")]
        namespace: String,
        /// The ghops image (default: this version's; never `latest`).
        #[arg(long, default_value_t = gh_core::dist::default_image())]
        image: String,
        /// Also print a CronJob running `ghops runners reconcile`.
        #[arg(long)]
        cronjob: bool,
        /// CronJob schedule.
        #[arg(long, default_value = "* * * * *")]
        schedule: String,
    },
}

/// How to reach Kubernetes.
#[derive(clap::Args, Debug)]
pub struct KubeArgs {
    /// Kubernetes API server URL with no authentication (kubectl proxy) [default: in-cluster,
    /// else $KUBECONFIG / ~/.kube/config].
    #[arg(long, env = "GHOPS_KUBE_URL", value_name = "URL")]
    kube_url: Option<String>,
}

async fn setup(ctx: &Ctx, kube: &KubeArgs, role: Role) -> Result<Orchestrator, Failure> {
    let file = ctx.config()?;
    let orch =
        runner_orch::from_config_as(&file, ctx.global.dry_run, kube.kube_url.as_deref(), role)
            .await?;
    if orch.config().pools.is_empty() {
        return Err(Failure::usage(
            "no [[runners.pools]] in the configuration (see docs/runner-orch.md)",
        ));
    }
    Ok(orch)
}

fn note_dry_run(gh: &GitHub) {
    if gh.is_dry_run() {
        crate::output::say(
            crate::output::Kind::Info,
            "dry-run: reads are performed, writes are printed and not sent",
        );
    }
}

/// Clients for every account the pools serve (a GitHub App: one installation each).
async fn all_clients(ctx: &Ctx, orch: &Orchestrator) -> Result<Clients, Failure> {
    let clients = Clients::connect(ctx.client_config(None)?, orch.config()).await?;
    note_dry_run(clients.default_client());
    Ok(clients)
}

fn decision_line(name: &str, d: &Decision) -> String {
    match d {
        Decision::Launched { pool, .. } => format!("launched   {name} (pool {pool})"),
        Decision::DryRun { .. } => format!("would launch {name}"),
        Decision::AlreadyLaunched { .. } => format!("exists     {name}"),
        Decision::AtCapacity { pool } => format!("waiting    {name}: pool {pool} at max"),
        Decision::NotQueued { status } => format!("skipped    {name}: job is {status}"),
        Decision::NoPool { reason } => format!("not ours   {reason}"),
        Decision::Cleaned { .. } => format!("removed    {name}"),
        Decision::Ignored { reason } => format!("ignored    {name}: {reason}"),
    }
}

/// Runs `ghops runners`.
pub async fn run(cmd: RunnersCmd, ctx: &Ctx) -> Result<ExitCode, Failure> {
    match cmd {
        RunnersCmd::Manifests {
            namespace,
            image,
            cronjob,
            schedule,
        } => {
            let file = ctx.config()?;
            let cfg = RunnersConfig::from_file(&file)?;
            let config_text = file
                .path
                .as_ref()
                .and_then(|p| std::fs::read_to_string(p).ok());
            let o = ManifestOptions {
                config_text,
                namespace,
                image,
                cronjob,
                schedule,
                ..ManifestOptions::default()
            };
            let docs = manifests(&cfg, &o);
            if ctx.global.json {
                ctx.print_json(&docs)?;
            } else {
                out!("{}", render(&docs));
            }
            Ok(ExitCode::Success)
        }
        RunnersCmd::Handle { event, kube } => {
            let ev: gh_core::events::WorkflowJobEvent =
                gh_core::events::load_event(event.as_deref())?;
            let orch = setup(ctx, &kube, Role::OneShot).await?;
            // Only the event's account is needed: a GitHub App acts as its installation.
            let target = ev
                .repository
                .full_name
                .parse()
                .ok()
                .map(InstallationTarget::Repo);
            let gh = GitHub::connect(ctx.client_config(target)?).await?;
            note_dry_run(&gh);
            let d = orch.handle_event(&gh, &ev).await?;
            if ctx.global.json {
                ctx.print_json(&d)?;
            } else {
                let name = runner_orch::naming::runner_name(
                    &ev.repository.full_name,
                    ev.workflow_job.id,
                    ev.workflow_job.run_attempt.max(1),
                );
                outln!("{}", decision_line(&name, &d));
            }
            Ok(ExitCode::Success)
        }
        RunnersCmd::Status { kube } => {
            let orch = setup(ctx, &kube, Role::ReadOnly).await?;
            let st = orch.status(&all_clients(ctx, &orch).await?).await?;
            if ctx.global.json {
                ctx.print_json(&st)?;
            } else {
                let mut t = comfy_table::Table::new();
                t.set_header([
                    "pool", "backend", "queued", "live", "max", "min idle", "busy", "idle",
                    "offline", "finished",
                ]);
                for p in &st {
                    t.add_row([
                        p.pool.clone(),
                        p.backend.clone(),
                        p.queued.to_string(),
                        p.live.to_string(),
                        p.max.to_string(),
                        p.min_idle.to_string(),
                        p.busy.to_string(),
                        p.idle.to_string(),
                        p.offline.to_string(),
                        p.finished.to_string(),
                    ]);
                }
                outln!(
                    "{}",
                    crate::output::render_table(
                        t,
                        crate::output::TableMode::for_stdout(ctx.global.color)
                    )
                );
            }
            Ok(ExitCode::Success)
        }
        RunnersCmd::Reconcile {
            watch,
            interval,
            leader_election,
            lease_namespace,
            metrics_bind,
            kube,
        } => {
            let role = if watch { Role::Daemon } else { Role::OneShot };
            let orch = setup(ctx, &kube, role).await?;
            let clients = all_clients(ctx, &orch).await?;
            if !watch {
                let r = orch.reconcile(&clients).await?;
                if ctx.global.json {
                    ctx.print_json(&r)?;
                } else {
                    for (name, d) in &r.decisions {
                        outln!("{}", decision_line(name, d));
                    }
                    for (name, why) in &r.reaped {
                        outln!("reaped     {name}: {why}");
                    }
                    for (pool, n) in &r.waiting {
                        outln!("waiting    {n} queued job(s) in pool {pool} (at max)");
                    }
                }
                return Ok(ExitCode::Success);
            }
            let leadership = if leader_election {
                runner_orch::leader::elect(&lease_namespace, kube.kube_url.as_deref()).await?
            } else {
                runner_orch::leader::Leadership::always()
            };
            // SIGTERM (Kubernetes, systemd) like Ctrl-C: finish cleanly, exit 0.
            let (stop, stopped) = tokio::sync::watch::channel(false);
            gh_core::shutdown::stop_on_signal(stop, || {});
            if let Some(bind) = metrics_bind {
                let l = ghops_serve::health::listen(
                    bind,
                    orch.metrics.clone(),
                    ghops_serve::health::on_stop(stopped.clone()),
                )
                .await
                .map_err(|e| {
                    Failure::usage(format!("--metrics-bind: cannot listen on {bind}: {e}"))
                })?;
                crate::output::say(
                    crate::output::Kind::Info,
                    &format!("ghops runners: metrics and health on http://{}", l.addr),
                );
            }
            runner_orch::watch(
                &orch,
                &clients,
                interval,
                leadership,
                ghops_serve::health::on_stop(stopped),
            )
            .await;
            Ok(ExitCode::Success)
        }
    }
}

impl RunnersCmd {
    /// `runners reconcile --watch`: a daemon.
    pub fn is_daemon(&self) -> bool {
        matches!(self, RunnersCmd::Reconcile { watch: true, .. })
    }
}
