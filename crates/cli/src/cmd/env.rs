//! `ghops env` (label-driven preview/QA environments), `ghops gate` (approval gates).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use gh_core::ExitCode;
use gh_core::actions::ActionsFiles;
use gh_core::events::{PullRequestEvent, load_event};
use release_flow::env::{DeployState, EnvConfig, RecordRequest};
use release_flow::gate::GateRequest;

use crate::ctx::{Ctx, Failure};
use crate::output::outln;

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

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn actor(flag: Option<String>) -> Result<String, Failure> {
    flag.or_else(|| env_var("GITHUB_TRIGGERING_ACTOR"))
        .or_else(|| env_var("GITHUB_ACTOR"))
        .ok_or_else(|| Failure::usage("--actor: not given and $GITHUB_ACTOR is not set"))
}

fn sha(flag: Option<String>) -> Result<String, Failure> {
    flag.or_else(|| env_var("GITHUB_SHA"))
        .ok_or_else(|| Failure::usage("--sha: not given and $GITHUB_SHA is not set"))
}

fn env_config(ctx: &Ctx) -> Result<EnvConfig, Failure> {
    Ok(EnvConfig::load(&ctx.config()?)?)
}

fn run_log_url() -> Option<String> {
    Some(format!(
        "{}/{}/actions/runs/{}",
        env_var("GITHUB_SERVER_URL")?,
        env_var("GITHUB_REPOSITORY")?,
        env_var("GITHUB_RUN_ID")?
    ))
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
                        "{}: taken from #{} by #{} ({} deployment(s) made inactive)",
                        h.environment,
                        h.from_pr,
                        h.to_pr,
                        h.deactivated.len()
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
            let req = RecordRequest {
                environment: a.environment,
                state: a.state,
                sha: sha(a.sha)?,
                git_ref: a
                    .git_ref
                    .or_else(|| env_var("GITHUB_HEAD_REF"))
                    .or_else(|| env_var("GITHUB_REF_NAME"))
                    .unwrap_or_default(),
                pr: a.pr,
                actor: actor(a.actor)?,
                transient: a.transient,
                url: a.url,
                log_url: a.log_url.or_else(run_log_url),
            };
            let gh = ctx.client(&repo).await?;
            let out = release_flow::env::record(&gh, &repo, &req).await?;
            if ctx.global.json {
                ctx.print_json(&out)?;
            } else if req.state == DeployState::Inactive {
                outln!(
                    "{}: {} deployment(s) made inactive",
                    req.environment,
                    out.deactivated.len()
                );
            } else {
                outln!(
                    "{}: deployment {} {}{}",
                    req.environment,
                    out.deployment_id
                        .map_or("(dry-run)".to_owned(), |i| i.to_string()),
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
            sha: s,
            git_ref,
            actor: a,
            run_id,
        } => {
            let mut req = GateRequest::now(
                &environment,
                &sha(s)?,
                &git_ref
                    .or_else(|| env_var("GITHUB_REF_NAME"))
                    .unwrap_or_default(),
                &actor(a)?,
            );
            req.run_id = match run_id {
                Some(r) => Some(r),
                None => env_var("GITHUB_RUN_ID").and_then(|r| r.parse().ok()),
            };
            let gh = ctx.client(&repo).await?;
            let r = release_flow::gate::check(&gh, &repo, &cfg.gate, &cfg.promote, &req).await;
            ActionsFiles::from_env()
                .append_summary(&release_flow::gate::summary(&environment, &r))?;
            let o = r?;
            if ctx.global.json {
                ctx.print_json(&o)?;
            } else {
                outln!(
                    "{environment}: approved by {} at {} ({})",
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
            let who = actor(a)?;
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
