//! `ghops pr-bridge`: authorised "test this PR" for fork pull requests. The options, gates,
//! decisions and progress texts are pr-bridge's; this parses the flags, prints and maps exits.

mod args;

use gh_core::ExitCode;
use gh_core::events::{IssueCommentEvent, WorkflowRunEvent, load_event};
use pr_bridge::render::Verdict;
use pr_bridge::{Offline, Options, RunOutcome, TriggerOutcome, Wait};

pub use args::PrBridgeCmd;
use args::{BridgeFlags, CleanupArgs, ReportArgs, TriggerArgs};

use crate::ctx::{Ctx, Failure};
use crate::output::outln;

fn options(ctx: &Ctx, f: &BridgeFlags) -> Result<Options, Failure> {
    Ok(Options::from_config_with(&ctx.config()?, &f.into())?)
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
    let repo = match pr_bridge::comment_offline(&event, &opts, ctx.global.repo.as_deref())? {
        Offline::Ignored(reason) => {
            return ignored(ctx, reason, |reason| TriggerOutcome::Ignored { reason });
        }
        Offline::Act(repo) => repo,
    };
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

async fn run_report(a: ReportArgs, ctx: &Ctx) -> Result<ExitCode, Failure> {
    let opts = options(ctx, &a.flags)?;
    let wait = Wait {
        timeout: a.timeout,
        no_run_timeout: a.no_run_timeout,
        poll: a.poll,
    };
    let (repo, pr) = if let Some(path) = &a.event {
        let ev: WorkflowRunEvent = load_event(Some(path))?;
        // No client (no token minted) for a run that is not on one of our branches.
        let repo = match pr_bridge::run_offline(&ev, &opts)? {
            Offline::Ignored(reason) => {
                return ignored(ctx, reason, |reason| RunOutcome::Ignored { reason });
            }
            Offline::Act(repo) => repo,
        };
        let gh = ctx.client(&repo).await?;
        match pr_bridge::on_workflow_run(&gh, &repo, &ev, &opts).await? {
            RunOutcome::Ignored { reason } => {
                return ignored(ctx, reason, |reason| RunOutcome::Ignored { reason });
            }
            RunOutcome::Reported(out) => return render_report(ctx, &out),
            // Other runs for the merge commit are still going: wait for them here (bounded),
            // so that the report does not depend on which workflow triggered this one.
            RunOutcome::Pending { pr, .. } => (repo, pr),
        }
    } else if let Some(b) = &a.branch {
        (ctx.repo()?, opts.pr_of_branch_arg(b)?)
    } else if let Some(pr) = a.pr {
        (ctx.repo()?, pr)
    } else {
        return Err(Failure::usage("pass --pr N, --branch B or --event FILE"));
    };
    let gh = ctx.client(&repo).await?;
    let progress = crate::output::Progress::new(ctx.global.quiet);
    // In Actions, the run this job belongs to (it may be one of the runs being reported).
    let this_run = pr_bridge::this_run_from_env(a.this_run_result.clone());
    let on_progress = |p: &pr_bridge::Progress<'_>| progress.update(&p.state(), &p.line(pr));
    let out =
        pr_bridge::report_in_run(&gh, &repo, pr, &opts, wait, this_run.as_ref(), &on_progress)
            .await;
    progress.finish();
    render_report(ctx, &out?)
}

/// An event ghops does not act on: `ignored: <reason>`, or its outcome as JSON.
fn ignored<T: serde::Serialize>(
    ctx: &Ctx,
    reason: String,
    outcome: fn(String) -> T,
) -> Result<ExitCode, Failure> {
    if ctx.global.json {
        ctx.print_json(&outcome(reason))?;
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
