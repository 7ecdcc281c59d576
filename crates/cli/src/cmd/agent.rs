//! `ghops agent`: a pull-based deploy agent on GitHub Deployments.

use std::path::PathBuf;

use deploy_agent::{AgentConfig, AgentSection};
use gh_core::{ExitCode, RepoRef};

use super::daemon;
use crate::ctx::{Ctx, Failure, note_dry_run};
use crate::output::{Kind, out, outln, say};

mod args;
pub use args::{AgentCmd, CreateArgs, RunArgs};

/// Runs `ghops agent`.
pub async fn run(cmd: AgentCmd, ctx: &Ctx) -> Result<ExitCode, Failure> {
    match cmd {
        AgentCmd::Run(a) => run_agent(a, ctx).await,
        AgentCmd::Create(a) => create(a, ctx).await,
        AgentCmd::Status { environment, limit } => status(ctx, &environment, limit).await,
        AgentCmd::Manifests { namespace, image } => {
            out!(
                "{}",
                deploy_agent::manifests::kubernetes(&namespace, &image)
            );
            Ok(ExitCode::Success)
        }
    }
}

async fn run_agent(a: RunArgs, ctx: &Ctx) -> Result<ExitCode, Failure> {
    let section: AgentSection = ctx.config()?.load_section()?;
    let repo = match (&a.repository, a.environment.is_empty()) {
        (Some(r), _) => Some(r.parse::<RepoRef>()?),
        (None, false) => Some(ctx.repo()?),
        (None, true) => None,
    };
    let metrics_bind = a.metrics_bind;
    let flags = a.flags(repo);
    let (stop, cancel) = tokio::sync::watch::channel(false);
    let cfg = AgentConfig::resolve(&section, &flags, &cwd()?, cancel)?.require_targets()?;
    let health = daemon::bind_metrics(metrics_bind).await?;
    let stopped = cfg.options.cancel.clone();
    deploy_agent::service::stop_on_signal(stop, || {
        say(
            Kind::Info,
            "ghops agent: shutting down (running hooks get TERM, then KILL after the grace period)",
        )
    });
    let installations = ctx.installations()?;
    note_dry_run(installations.base_config().dry_run);
    let agent = cfg.start(&installations).await?;
    daemon::serve_metrics(health, agent.metrics(), stopped, "agent")?;
    let summaries = agent.summaries().await;
    let mut code = ExitCode::Success;
    for s in &summaries {
        if let Some(e) = &s.error {
            say(Kind::Error, &format!("{} {}: {e}", s.repo, s.environment));
            code = ExitCode::Failed;
        }
    }
    if ctx.global.json {
        ctx.print_json(&summaries)?;
    }
    Ok(code)
}

/// The working directory, against which relative paths resolve.
pub fn cwd() -> Result<PathBuf, Failure> {
    std::env::current_dir()
        .map_err(|e| Failure::usage(format!("the working directory is unreadable: {e}")))
}

async fn create(a: CreateArgs, ctx: &Ctx) -> Result<ExitCode, Failure> {
    let repo: RepoRef = ctx.repo()?;
    let d = a.deployment()?;
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
            ctx.print_json(&deploy_agent::create::Created { id, state: None })?;
        } else {
            outln!("deployment {id} created");
        }
        return Ok(ExitCode::Success);
    }
    let progress = crate::output::Progress::new(ctx.global.quiet);
    let state = deploy_agent::create::wait_with_progress(
        &gh,
        &repo,
        id,
        a.timeout,
        deploy_agent::config::CREATE_WAIT_POLL,
        &|p| {
            use gh_core::config::format_duration;
            let state = match (p.state, p.description) {
                (None, _) => "no status yet".to_owned(),
                (Some(s), None) => s.to_owned(),
                (Some(s), Some(d)) => format!("{s} ({d})"),
            };
            progress.update(
                &state,
                &format!(
                    "deployment {}: {state}; waited {}, next check in {}",
                    p.id,
                    format_duration(std::time::Duration::from_secs(p.waited.as_secs())),
                    format_duration(std::time::Duration::from_secs(
                        p.next_poll.as_secs_f64().round().max(1.0) as u64
                    ))
                ),
            );
        },
    )
    .await;
    progress.finish();
    let state = state?;
    if ctx.global.json {
        ctx.print_json(&deploy_agent::create::Created {
            id,
            state: Some(state.clone()),
        })?;
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
    ctx.config()?; // a typo in ghops.toml is an error here too
    let repo = ctx.repo()?;
    let gh = ctx.client(&repo).await?;
    let rows = deploy_agent::status::recent(&gh, &repo, environment, limit).await?;
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
        outln!(
            "{}",
            crate::output::render_table(t, crate::output::TableMode::for_stdout(ctx.global.color))
        );
    }
    Ok(ExitCode::Success)
}
