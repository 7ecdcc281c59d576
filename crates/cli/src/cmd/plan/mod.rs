//! `ghops plan`: path-to-job planning for multi-cluster Helm deployments. The inputs, rules
//! and renderings are deploy-plan's; this parses the flags, prints and maps errors.

mod args;

use std::path::{Path, PathBuf};

use deploy_plan::input::{self, ChangeSource};
use deploy_plan::render;
use deploy_plan::{PlanConfig, PlanError, TreePlan, comment, filter, plan_tree, pr};
use gh_core::ExitCode;
use gh_core::actions::{ActionsFiles, Level, annotation, in_actions};

pub use args::PlanArgs;
use args::{FilterFormat, Format, PlanCmd, PlanInput};

use crate::ctx::{Ctx, Failure};
use crate::output::{Kind, TableMode, out, outln, render_table, say};

/// A planning error as a failure: the library names the file and line it is about (the
/// `::error` annotation under Actions); the message is escaped (paths and names come from
/// the PR).
fn plan_failure(e: PlanError) -> Failure {
    let mut f = Failure::from(e);
    f.message = render::log_escape(&f.message);
    f
}

/// Runs `ghops plan`.
pub async fn run(args: PlanArgs, ctx: &Ctx) -> Result<ExitCode, Failure> {
    match args.cmd {
        Some(PlanCmd::Comment {
            pr,
            body,
            from_artifact,
            head_sha,
            event,
        }) => run_comment(ctx, pr, body, from_artifact, head_sha, event).await,
        Some(PlanCmd::Filter {
            jobs,
            failed,
            run_id,
            format,
            output_name,
        }) => run_filter(ctx, &jobs, failed.as_deref(), run_id, format, &output_name).await,
        None => run_plan(args.input, ctx).await,
    }
}

async fn run_plan(a: PlanInput, ctx: &Ctx) -> Result<ExitCode, Failure> {
    let source = ChangeSource::pick(
        a.changed_files.map(|f| (f, a.changed_files_format.into())),
        a.base.zip(a.head).map(|(b, h)| (b, h, a.default_branch)),
        a.pr,
    )?;
    let cfg = PlanConfig::from_config(&ctx.config()?)?
        .with_unknown_fields(a.allow_unknown_fields, a.strict);
    let mut labels = a.labels.as_deref().map(input::parse_labels).transpose()?;
    let paths = if let ChangeSource::Pr(n) = source {
        let repo = ctx.repo()?;
        let gh = ctx.client(&repo).await?;
        let ch = pr::pr_changes(&gh, &repo, n).await.map_err(plan_failure)?;
        labels.get_or_insert(ch.labels);
        ch.paths
    } else {
        source
            .read_local(&a.config_root, None)
            .map_err(plan_failure)?
    };
    let labels = labels.unwrap_or_default();
    // Only the cluster files the change can touch are read.
    let TreePlan { plan, warnings, .. } =
        plan_tree(&a.config_root, &cfg, &paths, &labels).map_err(plan_failure)?;
    let annotations = in_actions();
    for w in &warnings {
        if annotations {
            let line = (w.line > 0).then_some(w.line);
            crate::output::annotate(&annotation(
                Level::Warning,
                &w.to_string(),
                Some(&w.file),
                line,
            ));
        } else {
            say(Kind::Warning, &render::log_escape(&w.to_string()));
        }
    }
    for n in &plan.notes {
        say(Kind::Note, &render::log_escape(n));
    }
    let actions = ActionsFiles::from_env();
    let json = ctx.global.json;
    match a
        .format
        .unwrap_or(if json { Format::Json } else { Format::Table })
    {
        Format::Table => {
            let mode = TableMode::for_stdout(ctx.global.color);
            out!(
                "{}",
                render::to_tables_with(&plan, &|t| render_table(t, mode))
            )
        }
        Format::Json => outln!("{}", render::to_json(&plan)),
        Format::Markdown => out!("{}", render::to_markdown(&plan)),
        Format::Matrix => {
            let (outputs, warnings) =
                render::matrix_outputs(&plan, a.compat.into(), cfg.max_matrix_jobs);
            for w in &warnings {
                crate::ctx::warn(&render::log_escape(w), None, None);
            }
            for (k, v) in &outputs {
                if !actions.set_output(k, v).map_err(PlanError::from)? {
                    outln!("{k}={v}");
                }
            }
        }
    }
    actions
        .append_summary(&render::to_markdown(&plan))
        .map_err(PlanError::from)?;
    Ok(ExitCode::Success)
}

async fn run_comment(
    ctx: &Ctx,
    pr: Option<u64>,
    body: Option<String>,
    from_artifact: Option<PathBuf>,
    head_sha: Option<String>,
    event: Option<PathBuf>,
) -> Result<ExitCode, Failure> {
    let repo = ctx.repo()?;
    let outcome = if let Some(dir) = from_artifact {
        let artifact = comment::read_artifact(&dir)?;
        let sha = match head_sha {
            Some(s) => s,
            None => input::workflow_run_head_sha(event.as_deref())?,
        };
        let gh = ctx.client(&repo).await?;
        comment::comment_from_artifact(&gh, &repo, &artifact, &sha).await?
    } else {
        let (Some(pr), Some(body)) = (pr, body) else {
            return Err(Failure::usage("--pr and --body are required"));
        };
        let text = input::read_arg(&body, "--body")?;
        let gh = ctx.client(&repo).await?;
        comment::upsert_plan_comment(&gh, &repo, pr, &text).await?
    };
    if ctx.global.json {
        ctx.print_json(&outcome)?;
    } else {
        say(Kind::Info, &format!("plan comment: {outcome}"));
    }
    Ok(ExitCode::Success)
}

async fn run_filter(
    ctx: &Ctx,
    jobs: &str,
    failed: Option<&Path>,
    run_id: Option<u64>,
    format: FilterFormat,
    output_name: &str,
) -> Result<ExitCode, Failure> {
    let jobs_v = filter::parse_jobs(&input::read_arg(jobs, "--jobs")?, jobs)?;
    let failed = match (failed, run_id) {
        (Some(f), _) => filter::read_failed(f)?,
        (None, Some(id)) => {
            let repo = ctx.repo()?;
            let gh = ctx.client(&repo).await?;
            filter::failed_from_run(&gh, &repo, id).await?
        }
        (None, None) => return Err(Failure::usage("pass --failed FILE or --run-id ID")),
    };
    let (keep, dropped) = filter::filter_jobs(&jobs_v, &failed, jobs)?;
    for d in &dropped {
        say(Kind::Info, &filter::skip_note(d));
    }
    let out = serde_json::Value::Array(keep).to_string();
    match format {
        FilterFormat::Json => outln!("{out}"),
        FilterFormat::Matrix => {
            if !ActionsFiles::from_env()
                .set_output(output_name, &out)
                .map_err(PlanError::from)?
            {
                outln!("{output_name}={out}");
            }
        }
    }
    Ok(ExitCode::Success)
}
