//! `ghops pr-bridge`: authorised "test this PR" for fork pull requests.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use gh_core::config::{format_duration, parse_duration};
use gh_core::events::{IssueCommentEvent, WorkflowRunEvent, load_event};
use gh_core::permission::{Permission, Team};
use gh_core::{ExitCode, RepoRef};
use pr_bridge::render::Verdict;
use pr_bridge::{Options, RunOutcome, TriggerOutcome, Wait};

use crate::ctx::{Ctx, Failure};
use crate::output::outln;

/// `ghops pr-bridge` subcommands.
#[derive(Subcommand, Debug)]
pub enum PrBridgeCmd {
    /// Handle an issue_comment event: authorise, verify, branch at the merge commit, comment.
    #[command(
        after_help = "Examples:\n  ghops pr-bridge trigger                      # in an issue_comment workflow ($GITHUB_EVENT_PATH)\n  ghops pr-bridge trigger --event comment.json --team my-org/maintainers --dry-run"
    )]
    Trigger(TriggerArgs),
    /// Wait for the test run of a PR, report it on the PR, delete the branch.
    #[command(
        after_help = "Examples:\n  ghops pr-bridge report --pr 42\n  ghops pr-bridge report --event \"$GITHUB_EVENT_PATH\"   # on workflow_run completed\n  # last job of the tested run:\n  ghops pr-bridge report --branch \"$GITHUB_REF_NAME\" --this-run-result \"$RESULT\""
    )]
    Report(ReportArgs),
    /// Delete test branches of closed or idle PRs (only those ghops's status comment vouches for).
    #[command(after_help = "Examples:\n  ghops pr-bridge cleanup --older-than 7d --dry-run")]
    Cleanup(CleanupArgs),
}

/// Options shared by the subcommands (flags override `[pr_bridge]` in ghops.toml).
#[derive(Args, Debug, Default)]
pub struct BridgeFlags {
    /// The trigger text, at the start of a line of its own [default: /test-this-pr].
    #[arg(long)]
    trigger: Option<String>,
    /// Minimum permission of the comment's author [default: write].
    #[arg(long, value_parser = parse_permission)]
    min_permission: Option<Permission>,
    /// A team (ORG/SLUG) whose active members may trigger; repeatable.
    #[arg(long = "team", value_name = "ORG/SLUG", value_parser = parse_team)]
    teams: Vec<Team>,
    /// Branch prefix: branches are PREFIX/<pr> [default: test-this-pr].
    #[arg(long)]
    branch_prefix: Option<String>,
    /// Require `sha=<full 40-character head sha>` in the trigger [default: true].
    #[arg(long, value_name = "BOOL")]
    require_sha: Option<bool>,
    /// Also act on PRs from branches of this repository.
    #[arg(long)]
    allow_same_repo: bool,
    /// Refuse PRs that change .github/workflows/ (default: warn).
    #[arg(long)]
    refuse_workflow_changes: bool,
    /// Do not reply to refused triggers.
    #[arg(long)]
    no_reply: bool,
    /// Set commit statuses (pending, then the result) on the PR's head SHA.
    #[arg(long)]
    commit_status: bool,
}

fn parse_permission(s: &str) -> Result<Permission, String> {
    s.parse().map_err(|e: gh_core::Error| e.to_string())
}

fn parse_team(s: &str) -> Result<Team, String> {
    s.parse().map_err(|e: gh_core::Error| e.to_string())
}

/// `ghops pr-bridge trigger`.
#[derive(Args, Debug)]
pub struct TriggerArgs {
    /// The issue_comment event [default: $GITHUB_EVENT_PATH].
    #[arg(long, value_name = "FILE")]
    event: Option<PathBuf>,
    #[command(flatten)]
    flags: BridgeFlags,
}

/// `ghops pr-bridge report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The PR.
    #[arg(long, conflicts_with_all = ["branch", "event"])]
    pr: Option<u64>,
    /// The test branch (PREFIX/<pr>).
    #[arg(long, conflicts_with = "event")]
    branch: Option<String>,
    /// A workflow_run event (its head branch names the PR).
    #[arg(long, value_name = "FILE")]
    event: Option<PathBuf>,
    /// Give up waiting for the runs to complete after this long (e.g. 90s, 1h30m).
    #[arg(long, default_value = "2h", value_parser = parse_duration)]
    timeout: Duration,
    /// Report "no workflow ran" when no run appears within this long.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    no_run_timeout: Duration,
    /// First poll interval.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    poll: Duration,
    /// When reporting from a job of the tested run itself ($GITHUB_RUN_ID is one of the test
    /// branch's runs): the result of the jobs it reports, `${{ needs.<job>.result }}`
    /// (success, failure, cancelled, skipped). Without it such a report is refused at once.
    #[arg(long, value_name = "RESULT")]
    this_run_result: Option<String>,
    #[command(flatten)]
    flags: BridgeFlags,
}

/// `ghops pr-bridge cleanup`.
#[derive(Args, Debug)]
pub struct CleanupArgs {
    /// Delete branches of open PRs idle for longer than this.
    #[arg(long, default_value = "7d", value_parser = parse_duration)]
    older_than: Duration,
    #[command(flatten)]
    flags: BridgeFlags,
}

fn options(ctx: &Ctx, f: &BridgeFlags) -> Result<Options, Failure> {
    let mut o: Options = ctx.config()?.section("pr_bridge")?.unwrap_or_default();
    if let Some(t) = &f.trigger {
        o.trigger = t.clone();
    }
    if let Some(p) = f.min_permission {
        o.min_permission = p;
    }
    if !f.teams.is_empty() {
        o.teams = f.teams.clone();
    }
    if let Some(p) = &f.branch_prefix {
        o.branch_prefix = p.clone();
    }
    if let Some(r) = f.require_sha {
        o.require_sha = r;
    }
    o.allow_same_repo |= f.allow_same_repo;
    o.refuse_workflow_changes |= f.refuse_workflow_changes;
    o.commit_status |= f.commit_status;
    if f.no_reply {
        o.reply_on_refusal = false;
    }
    o.validate()?;
    Ok(o)
}

/// Runs `ghops pr-bridge`.
pub async fn run(cmd: PrBridgeCmd, ctx: &Ctx) -> Result<ExitCode, Failure> {
    match cmd {
        PrBridgeCmd::Trigger(a) => run_trigger(a, ctx).await,
        PrBridgeCmd::Report(a) => run_report(a, ctx).await,
        PrBridgeCmd::Cleanup(a) => run_cleanup(a, ctx).await,
    }
}

async fn run_trigger(a: TriggerArgs, ctx: &Ctx) -> Result<ExitCode, Failure> {
    let opts = options(ctx, &a.flags)?;
    let event: IssueCommentEvent = load_event(a.event.as_deref())?;
    // The gate needs no API call and no credentials.
    if let pr_bridge::gate::Gate::Ignored(reason) =
        pr_bridge::gate::gate(&event, &opts.trigger, pr_bridge::render::OWN_COMMENT)
    {
        if ctx.global.json {
            ctx.print_json(&TriggerOutcome::Ignored { reason })?;
        } else {
            outln!("ignored: {reason}");
        }
        return Ok(ExitCode::Success);
    }
    let repo: RepoRef = event.repository.full_name.parse()?;
    if let Some(r) = &ctx.global.repo
        && !r.eq_ignore_ascii_case(&event.repository.full_name)
    {
        return Err(Failure::usage(format!(
            "--repo {r} differs from the event's repository {}",
            event.repository.full_name
        )));
    }
    ctx.warn_actions_token("branches");
    let gh = ctx.client(&repo).await?;
    let outcome = pr_bridge::trigger(&gh, &repo, &event, &opts).await?;
    if ctx.global.json {
        ctx.print_json(&outcome)?;
    } else {
        match &outcome {
            TriggerOutcome::Ignored { reason } => outln!("ignored: {reason}"),
            TriggerOutcome::SameRepo { pr } => outln!(
                "ignored: PR #{pr} comes from this repository, whose CI already runs with secrets (--allow-same-repo to act anyway)"
            ),
            TriggerOutcome::Started {
                pr,
                branch,
                merge_sha,
                branch_action,
                runs,
                ..
            } => {
                outln!("PR #{pr}: {branch} at {merge_sha}, branch {branch_action}");
                for r in runs {
                    outln!("  run: {}", r.html_url.as_deref().unwrap_or("?"));
                }
            }
        }
    }
    Ok(ExitCode::Success)
}

fn render_report(ctx: &Ctx, out: &pr_bridge::ReportOutcome) -> Result<ExitCode, Failure> {
    if ctx.global.json {
        ctx.print_json(out)?;
    } else {
        outln!("{}", out.message);
    }
    Ok(match out.verdict {
        Some(Verdict::Passed) | None => ExitCode::Success,
        Some(_) => ExitCode::Failed,
    })
}

/// Progress of the wait for PR `pr`'s runs, through [`crate::output::Progress`]: an updating
/// line on a terminal, a line per change (or per minute) otherwise.
fn report_progress(
    progress: &crate::output::Progress,
    pr: u64,
) -> impl Fn(&pr_bridge::Progress<'_>) + Sync + '_ {
    move |p: &pr_bridge::Progress<'_>| {
        let done = p
            .runs
            .iter()
            .filter(|r| r.status.as_deref() == Some("completed"))
            .count();
        let state = if p.runs.is_empty() {
            "no run yet".to_owned()
        } else {
            let runs: Vec<String> = p
                .runs
                .iter()
                .map(|r| {
                    format!(
                        "{} {}",
                        r.name.as_deref().unwrap_or("run"),
                        r.status.as_deref().unwrap_or("queued")
                    )
                })
                .collect();
            format!(
                "{done}/{} runs completed ({})",
                p.runs.len(),
                runs.join(", ")
            )
        };
        progress.update(
            &state,
            &format!(
                "PR #{pr}: {state}; waited {}, next check in {}",
                format_duration(Duration::from_secs(p.waited.as_secs())),
                // Whole seconds (at least 1): a deadline-shortened wait is not `995ms`.
                format_duration(Duration::from_secs(
                    p.next_poll.as_secs_f64().round().max(1.0) as u64
                ))
            ),
        );
    }
}

async fn run_report(a: ReportArgs, ctx: &Ctx) -> Result<ExitCode, Failure> {
    let opts = options(ctx, &a.flags)?;
    let wait = Wait {
        timeout: a.timeout,
        no_run_timeout: a.no_run_timeout,
        poll: a.poll,
    };
    let (repo, pr) = if let Some(path) = &a.event {
        let ev: WorkflowRunEvent = load_event(Some(path))?;
        let repo: RepoRef = ev.repository.full_name.parse()?;
        // No client (no token minted) for a run that is not on one of our branches.
        if let Err(reason) = pr_bridge::hooks::workflow_run_gate(&ev, &opts) {
            return ignored_run(ctx, reason);
        }
        let gh = ctx.client(&repo).await?;
        match pr_bridge::on_workflow_run(&gh, &repo, &ev, &opts).await? {
            RunOutcome::Ignored { reason } => return ignored_run(ctx, reason),
            RunOutcome::Reported(out) => return render_report(ctx, &out),
            // Other runs for the merge commit are still going: wait for them here (bounded),
            // so that the report does not depend on which workflow triggered this one.
            RunOutcome::Pending { pr, .. } => (repo, pr),
        }
    } else if let Some(b) = &a.branch {
        let pr = opts.pr_of_branch(b).ok_or_else(|| {
            Failure::usage(format!(
                "--branch {b}: not a {}/<pr> branch",
                opts.branch_prefix
            ))
        })?;
        (ctx.repo()?, pr)
    } else if let Some(pr) = a.pr {
        (ctx.repo()?, pr)
    } else {
        return Err(Failure::usage("pass --pr N, --branch B or --event FILE"));
    };
    let gh = ctx.client(&repo).await?;
    let progress = crate::output::Progress::new(ctx.global.quiet);
    // In Actions, the run this job belongs to (it may be one of the runs being reported).
    let this_run = std::env::var("GITHUB_RUN_ID")
        .ok()
        .and_then(|id| id.parse().ok())
        .map(|id| pr_bridge::ThisRun {
            id,
            result: a.this_run_result.clone(),
        });
    let out = pr_bridge::report_in_run(
        &gh,
        &repo,
        pr,
        &opts,
        wait,
        this_run.as_ref(),
        &report_progress(&progress, pr),
    )
    .await;
    progress.finish();
    render_report(ctx, &out?)
}

fn ignored_run(ctx: &Ctx, reason: String) -> Result<ExitCode, Failure> {
    if ctx.global.json {
        ctx.print_json(&RunOutcome::Ignored { reason })?;
    } else {
        outln!("ignored: {reason}");
    }
    Ok(ExitCode::Success)
}

async fn run_cleanup(a: CleanupArgs, ctx: &Ctx) -> Result<ExitCode, Failure> {
    let opts = options(ctx, &a.flags)?;
    let repo = ctx.repo()?;
    let gh = ctx.client(&repo).await?;
    let items = pr_bridge::cleanup(&gh, &repo, &opts, a.older_than).await?;
    if ctx.global.json {
        ctx.print_json(&items)?;
    } else {
        for i in &items {
            outln!("{:8} {}: {}", i.action, i.branch, i.reason);
        }
        if items.is_empty() {
            outln!("no {}/* branches", opts.branch_prefix);
        }
    }
    Ok(ExitCode::Success)
}
