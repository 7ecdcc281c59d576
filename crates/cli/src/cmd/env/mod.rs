//! `ghops env` (label-driven preview/QA environments), `ghops gate` (approval gates).

mod args;

pub use args::{EnvCmd, GateCmd};
use gh_core::ExitCode;
use gh_core::actions::{ActionsFiles, RunEnv};
use gh_core::events::{PullRequestEvent, load_event};
use release_flow::env::{DeployState, EnvConfig, GateInputs, RecordInputs};

use crate::ctx::{Ctx, Failure};
use crate::output::outln;

fn env_config(ctx: &Ctx) -> Result<EnvConfig, Failure> {
    Ok(EnvConfig::load(&ctx.config()?)?)
}

/// Runs `ghops env`.
pub async fn run_env(cmd: EnvCmd, ctx: &Ctx) -> Result<ExitCode, Failure> {
    match cmd {
        EnvCmd::Sync { event } => {
            let cfg = env_config(ctx)?;
            let ev: PullRequestEvent = load_event(event.as_deref())?;
            let repo: gh_core::RepoRef = ev.repository.full_name.parse()?;
            let gh = ctx.client(&repo).await?;
            let Some(plan) = release_flow::env::on_pull_request(&gh, &cfg, &ev).await? else {
                ctx.print_ignored(&format!("pull_request {}", ev.action))?;
                return Ok(ExitCode::Success);
            };
            let files = ActionsFiles::from_env();
            for (k, v) in plan.outputs() {
                files.set_output(&k, &v)?;
            }
            if ctx.global.json {
                ctx.print_json(&plan)?;
            } else {
                for t in &plan.deploy {
                    outln!(
                        "deploy   {} (namespace {}, {})",
                        t.environment,
                        t.namespace,
                        t.sha
                    );
                }
                for t in &plan.undeploy {
                    outln!("undeploy {} (namespace {})", t.environment, t.namespace);
                }
                for h in &plan.handovers {
                    outln!(
                        "{}: taken from #{} by #{} ({} made inactive)",
                        h.environment,
                        h.from_pr,
                        h.to_pr,
                        gh_core::output::count(h.deactivated.len(), "deployment", "deployments")
                    );
                }
                for s in &plan.skipped {
                    outln!("skipped: {s}");
                }
                if plan.deploy.is_empty() && plan.undeploy.is_empty() {
                    outln!("nothing to deploy or undeploy for #{}", plan.pr);
                }
            }
            Ok(ExitCode::Success)
        }
        EnvCmd::Record(a) => {
            let repo = ctx.repo()?;
            let req = RecordInputs::from(a).resolve(&RunEnv::from_env())?;
            let gh = ctx.client(&repo).await?;
            let out = release_flow::env::record(&gh, &repo, &req).await?;
            if ctx.global.json {
                ctx.print_json(&out)?;
            } else if req.state == DeployState::Inactive {
                outln!(
                    "{}: {} made inactive",
                    req.environment,
                    gh_core::output::count(out.deactivated.len(), "deployment", "deployments")
                );
            } else if out.deployment_id.is_none() {
                // --dry-run, a deployment to create: its status would follow it.
                outln!(
                    "{}: would create a deployment with status {} (dry-run, not sent)",
                    req.environment,
                    req.state.as_str()
                );
            } else {
                outln!(
                    "{}: deployment {} {}{}",
                    req.environment,
                    out.deployment_id.map_or(String::new(), |i| i.to_string()),
                    if out.created { "created" } else { "exists" },
                    if out.status_added {
                        format!(", status {}", req.state.as_str())
                    } else {
                        ", status unchanged".into()
                    }
                );
            }
            Ok(ExitCode::Success)
        }
        EnvCmd::Status => {
            ctx.config()?; // a typo in ghops.toml is an error here too
            let repo = ctx.repo()?;
            let gh = ctx.client(&repo).await?;
            let rows = release_flow::env::status(&gh, &repo).await?;
            if ctx.global.json {
                ctx.print_json(&rows)?;
            } else {
                outln!(
                    "{}",
                    crate::output::render_table(
                        release_flow::env::table_now(&rows),
                        crate::output::TableMode::for_stdout(ctx.global.color)
                    )
                );
            }
            Ok(ExitCode::Success)
        }
    }
}

/// Runs `ghops gate`.
pub async fn run_gate(cmd: GateCmd, ctx: &Ctx) -> Result<ExitCode, Failure> {
    let cfg = env_config(ctx)?;
    let repo = ctx.repo()?;
    match cmd {
        GateCmd::Check {
            environment,
            sha,
            git_ref,
            actor,
            run_id,
        } => {
            let req = GateInputs {
                environment: environment.clone(),
                sha,
                git_ref,
                actor,
                run_id,
            }
            .resolve(&RunEnv::from_env())?;
            let gh = ctx.client(&repo).await?;
            let r = release_flow::gate::check(&gh, &repo, &cfg.gate, &cfg.promote, &req).await;
            ActionsFiles::from_env()
                .append_summary(&release_flow::gate::summary(&environment, &r))?;
            let o = r?;
            if ctx.global.json {
                ctx.print_json(&o)?;
            } else {
                outln!(
                    "{environment}: approved by {} at {}: {}",
                    o.approved_by,
                    o.approved_at,
                    o.reason
                );
            }
            Ok(ExitCode::Success)
        }
        GateCmd::Approve {
            run_id,
            environment,
            reject,
            comment,
            actor: a,
        } => {
            let who = release_flow::env::actor(a, &RunEnv::from_env())?;
            let gh = ctx.client(&repo).await?;
            let o = release_flow::gate::approve(
                &gh,
                &repo,
                &cfg.gate,
                run_id,
                &environment,
                !reject,
                &who,
                &comment,
            )
            .await?;
            if ctx.global.json {
                ctx.print_json(&o)?;
            } else {
                outln!("run {run_id} {environment}: {}", o.result);
            }
            Ok(ExitCode::Success)
        }
    }
}
