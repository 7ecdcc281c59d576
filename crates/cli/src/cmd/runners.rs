//! `ghops runners`: ephemeral self-hosted Actions runners, one per queued job (runner-orch).

use gh_core::ExitCode;
use gh_core::client::InstallationTarget;
use gh_core::events::WorkflowJobEvent;
use runner_orch::leader::elect_if;
use runner_orch::manifests::{ManifestOptions, manifests, render};
use runner_orch::{Clients, Orchestrator, Role, RunnersConfig};

use super::daemon;
use crate::ctx::{Ctx, Failure, note_dry_run};
use crate::output::{out, outln};

mod args;
pub use args::{KubeArgs, RunnersCmd};

async fn setup(ctx: &Ctx, kube: &KubeArgs, role: Role) -> Result<Orchestrator, Failure> {
    let file = ctx.config()?;
    let url = kube.kube_url.as_deref();
    Ok(runner_orch::from_config_as(&file, ctx.global.dry_run, url, role).await?)
}

/// Clients for every account the pools serve (a GitHub App: one installation each).
async fn all_clients(ctx: &Ctx, orch: &Orchestrator) -> Result<Clients, Failure> {
    let clients = Clients::connect(&ctx.installations()?, orch.config()).await?;
    note_dry_run(clients.default_client().is_dry_run());
    Ok(clients)
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
        }
        RunnersCmd::Handle { event, kube } => {
            let ev: WorkflowJobEvent = gh_core::events::load_event(event.as_deref())?;
            let orch = setup(ctx, &kube, Role::OneShot).await?;
            // Only the event's account is needed: a GitHub App acts as its installation.
            let target = ev.repository.full_name.parse().ok();
            let gh = ctx.connect(target.map(InstallationTarget::Repo)).await?;
            note_dry_run(gh.is_dry_run());
            let d = orch.handle_event(&gh, &ev).await?;
            if ctx.global.json {
                ctx.print_json(&d)?;
            } else {
                outln!("{}", d.line(&runner_orch::naming::event_runner_name(&ev)));
            }
        }
        RunnersCmd::Status { kube } => {
            let orch = setup(ctx, &kube, Role::ReadOnly).await?;
            let st = orch.status(&all_clients(ctx, &orch).await?).await?;
            if ctx.global.json {
                ctx.print_json(&st)?;
            } else {
                status_table(ctx, &st);
            }
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
                    out!("{r}");
                }
                return Ok(ExitCode::Success);
            }
            let url = kube.kube_url.as_deref();
            let leadership = elect_if(leader_election, &lease_namespace, url).await?;
            let health = daemon::bind_metrics(metrics_bind).await?;
            // SIGTERM (Kubernetes, systemd) like Ctrl-C: finish cleanly, exit 0.
            let (stop, stopped) = tokio::sync::watch::channel(false);
            gh_core::shutdown::stop_on_signal(stop, || {});
            let probe = orch.metrics.clone();
            daemon::serve_metrics(health, probe, stopped.clone(), "runners")?;
            let shutdown = ghops_serve::health::on_stop(stopped);
            runner_orch::watch(&orch, &clients, interval, leadership, shutdown).await;
        }
    }
    Ok(ExitCode::Success)
}

fn status_table(ctx: &Ctx, st: &[runner_orch::orchestrator::PoolStatus]) {
    let mut t = comfy_table::Table::new();
    t.set_header([
        "pool", "backend", "queued", "live", "max", "min idle", "busy", "idle", "offline",
        "finished",
    ]);
    for p in st {
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
    let mode = crate::output::TableMode::for_stdout(ctx.global.color);
    outln!("{}", crate::output::render_table(t, mode));
}
