//! `ghops plan`: path-to-job planning for multi-cluster Helm deployments.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use deploy_plan::paths::{ListFormat, git_changed_or_default, is_null_rev, parse_list};
use deploy_plan::render::{self, Compat};
use deploy_plan::{PlanConfig, PlanError, TreePlan, comment, filter, plan_tree, pr};
use gh_core::ExitCode;
use gh_core::actions::{ActionsFiles, Level, annotation, in_actions};

use crate::ctx::{Ctx, Failure};
use crate::output::{Kind, TableMode, out, outln, render_table, say};

/// Arguments of `ghops plan`.
#[derive(Args, Debug)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  ghops plan --config-root examples/infrastructure \\\n      --changed-files examples/infrastructure/changed-files.txt\n  git diff --name-only origin/main... | ghops plan --changed-files - --format json\n  ghops plan --base origin/main --head HEAD --format matrix   # in Actions: $GITHUB_OUTPUT\n  ghops plan --pr 123 --repo org/infrastructure --format markdown\n  ghops plan filter --jobs prod.json --failed failed-clusters.txt\n  ghops plan comment --pr 123 --body plan.md"
)]
pub struct PlanArgs {
    #[command(subcommand)]
    cmd: Option<PlanCmd>,
    #[command(flatten)]
    input: PlanInput,
}

/// How the changed paths are given, and what is printed.
#[derive(Args, Debug)]
struct PlanInput {
    /// The config repository's root (holding config/clusters/ and helm-charts/).
    #[arg(long, default_value = ".", value_name = "DIR")]
    config_root: PathBuf,
    /// Changed paths: a file, or - for stdin (newline list, JSON array, or paths-filter CSV).
    #[arg(long, value_name = "FILE|-", conflicts_with_all = ["base", "pr"])]
    changed_files: Option<String>,
    /// Format of --changed-files.
    #[arg(long, value_enum, default_value_t = ChangedFilesFormat::Auto)]
    changed_files_format: ChangedFilesFormat,
    /// Base revision for a local git diff (merge base with --head; no API call, no file cap).
    #[arg(long, requires = "head", value_name = "REV")]
    base: Option<String>,
    /// Head revision for the local git diff.
    #[arg(long, requires = "base", value_name = "REV")]
    head: Option<String>,
    /// The default branch, for a --base of all zeros (a push that created the branch: the
    /// diff is then against the merge base with it). Default: the push event's
    /// repository.default_branch ($GITHUB_EVENT_PATH), else origin/HEAD.
    #[arg(long, requires = "base", value_name = "NAME")]
    default_branch: Option<String>,
    /// Read the changed paths and labels of this PR from the API.
    #[arg(long, value_name = "N", conflicts_with = "base")]
    pr: Option<u64>,
    /// PR labels: a JSON array or a comma-separated list (overrides the PR's with --pr).
    #[arg(long, value_name = "LABELS")]
    labels: Option<String>,
    /// Output: terminal tables, JSON, the Markdown comment, or Actions matrices.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Matrix shape: ghops's own, or 2i2c's 2024 output names and rows.
    #[arg(long, value_enum, default_value_t = CompatArg::Ghops)]
    compat: CompatArg,
    /// Accept unknown keys in cluster.yaml files without a warning.
    #[arg(long, conflicts_with = "strict")]
    allow_unknown_fields: bool,
    /// Refuse unknown keys in cluster.yaml files (default: a warning naming file:line).
    #[arg(long)]
    strict: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Table,
    Json,
    Markdown,
    Matrix,
}

/// `--changed-files-format` (the library's [`ListFormat`], listed in `--help`).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum ChangedFilesFormat {
    /// Detected from the content.
    Auto,
    /// One path per line.
    Lines,
    /// A JSON array of paths.
    Json,
    /// dorny/paths-filter's CSV (`list-files: csv`).
    Csv,
}

impl From<ChangedFilesFormat> for ListFormat {
    fn from(f: ChangedFilesFormat) -> Self {
        match f {
            ChangedFilesFormat::Auto => ListFormat::Auto,
            ChangedFilesFormat::Lines => ListFormat::Lines,
            ChangedFilesFormat::Json => ListFormat::Json,
            ChangedFilesFormat::Csv => ListFormat::Csv,
        }
    }
}

/// `--compat` (the library's [`Compat`], listed in `--help`).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum CompatArg {
    /// ghops's own output names and rows.
    Ghops,
    /// 2i2c's 2024 workflow: its output names and rows.
    #[value(name = "2i2c-v2024")]
    TwoI2cV2024,
}

impl From<CompatArg> for Compat {
    fn from(c: CompatArg) -> Self {
        match c {
            CompatArg::Ghops => Compat::Ghops,
            CompatArg::TwoI2cV2024 => Compat::TwoI2cV2024,
        }
    }
}

#[derive(Subcommand, Debug)]
enum PlanCmd {
    /// Upsert the plan as the PR's one deployment-plan comment.
    #[command(
        after_help = "Examples:\n  ghops plan comment --pr 123 --body plan.md\n  # in a workflow_run job:\n  ghops plan comment --from-artifact ./plan-artifact --event \"$GITHUB_EVENT_PATH\""
    )]
    Comment {
        /// The PR number.
        #[arg(
            long,
            required_unless_present = "from_artifact",
            conflicts_with = "from_artifact"
        )]
        pr: Option<u64>,
        /// The comment body (Markdown starting with the <!-- deployment-plan --> marker); - for stdin.
        #[arg(long, value_name = "FILE|-", required_unless_present = "from_artifact")]
        body: Option<String>,
        /// An artifact directory uploaded by an unprivileged (fork PR) plan job: pr-number and
        /// plan.json, rendered and escaped here (any comment.md is ignored). Treated as untrusted.
        #[arg(long, value_name = "DIR")]
        from_artifact: Option<PathBuf>,
        /// The triggering run's head SHA (default: workflow_run.head_sha of --event).
        #[arg(long, value_name = "SHA")]
        head_sha: Option<String>,
        /// The workflow_run event (default: $GITHUB_EVENT_PATH).
        #[arg(long, value_name = "FILE")]
        event: Option<PathBuf>,
    },
    /// Drop the staging/prod jobs of clusters whose support or staging job failed (exact
    /// cluster names).
    #[command(
        after_help = "Examples:\n  ghops plan filter --jobs prod.json --failed failed.txt\n  ghops plan filter --jobs prod.json --run-id \"$GITHUB_RUN_ID\" --format matrix"
    )]
    Filter {
        /// The jobs: a JSON array (file, or - for stdin) of rows with cluster_name.
        #[arg(long, value_name = "FILE|-")]
        jobs: String,
        /// Failed clusters: a JSON array or one name per line.
        #[arg(
            long,
            value_name = "FILE",
            required_unless_present = "run_id",
            conflicts_with = "run_id"
        )]
        failed: Option<PathBuf>,
        /// Read failed support/staging jobs of this workflow run from the API (job names
        /// `support: <cluster>` and `staging: <cluster>/<hub>`).
        #[arg(long, value_name = "ID")]
        run_id: Option<u64>,
        /// Output: JSON on stdout, or the $GITHUB_OUTPUT value named by --output-name.
        #[arg(long, value_enum, default_value = "json")]
        format: FilterFormat,
        /// The output name for --format matrix.
        #[arg(long, default_value = "prod-jobs")]
        output_name: String,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum FilterFormat {
    Json,
    Matrix,
}

fn read_input(arg: &str, what: &str) -> Result<String, Failure> {
    if arg == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Failure::usage(format!("{what}: cannot read stdin: {e}")))?;
        return Ok(s);
    }
    std::fs::read_to_string(arg).map_err(|e| Failure::usage(format!("{what} {arg}: {e}")))
}

fn plan_config(ctx: &Ctx, allow_unknown: bool, strict: bool) -> Result<PlanConfig, Failure> {
    let mut cfg: PlanConfig = ctx.config()?.section("plan")?.unwrap_or_default();
    cfg.allow_unknown_fields |= allow_unknown;
    cfg.strict |= strict;
    Ok(cfg)
}

/// A planning error as a failure naming the file and line it is about (the `::error`
/// annotation under Actions); the message is escaped (paths and names come from the PR).
fn plan_failure(e: PlanError) -> Failure {
    let location = match &e {
        PlanError::Yaml { file, line, .. } => Some((file.clone(), (*line > 0).then_some(*line))),
        PlanError::Invalid { file, .. } => Some((file.clone(), None)),
        _ => None,
    };
    let mut f = Failure::from(e);
    f.message = render::log_escape(&f.message);
    f.location = location.or(f.location);
    f
}

fn parse_labels(s: &str) -> Result<Vec<String>, Failure> {
    let t = s.trim();
    // `toJson(github.event.pull_request.labels.*.name)` outside a PR event.
    if t == "null" {
        return Ok(Vec::new());
    }
    if t.starts_with('[') {
        return serde_json::from_str::<Vec<String>>(t)
            .map_err(|e| Failure::usage(format!("--labels: not a JSON array of strings: {e}")));
    }
    Ok(t.split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
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
    if a.changed_files.is_none() && a.base.is_none() && a.pr.is_none() {
        return Err(Failure::usage(
            "no changed paths: pass --changed-files FILE|-, --base REV --head REV, or --pr N",
        ));
    }
    let cfg = plan_config(ctx, a.allow_unknown_fields, a.strict)?;
    let mut labels = match &a.labels {
        Some(l) => Some(parse_labels(l)?),
        None => None,
    };
    let paths = if let Some(f) = &a.changed_files {
        parse_list(
            &read_input(f, "--changed-files")?,
            a.changed_files_format.into(),
            f,
        )
        .map_err(plan_failure)?
    } else if let (Some(base), Some(head)) = (&a.base, &a.head) {
        // `github.event.before` of a push that created the branch is all zeros.
        let default_branch = match &a.default_branch {
            Some(b) => Some(b.clone()),
            None if is_null_rev(base) => gh_core::events::load_event::<serde_json::Value>(None)
                .ok()
                .and_then(|e| {
                    e.pointer("/repository/default_branch")
                        .and_then(|b| b.as_str())
                        .map(str::to_owned)
                }),
            None => None,
        };
        git_changed_or_default(&a.config_root, base, head, default_branch.as_deref())
            .map_err(plan_failure)?
    } else if let Some(n) = a.pr {
        let repo = ctx.repo()?;
        let gh = ctx.client(&repo).await?;
        let ch = pr::pr_changes(&gh, &repo, n).await.map_err(plan_failure)?;
        labels.get_or_insert(ch.labels);
        ch.paths
    } else {
        unreachable!("checked above")
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
    let format = a.format.unwrap_or(if ctx.global.json {
        Format::Json
    } else {
        Format::Table
    });
    match format {
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

fn head_sha_from_event(event: Option<&Path>) -> Result<String, Failure> {
    if event.is_none() && std::env::var_os("GITHUB_EVENT_PATH").is_none() {
        return Err(Failure::usage(
            "--from-artifact needs --head-sha or the workflow_run event (--event / $GITHUB_EVENT_PATH)",
        ));
    }
    let v: serde_json::Value = gh_core::events::load_event(event)?;
    v.pointer("/workflow_run/head_sha")
        .and_then(|s| s.as_str())
        .map(str::to_owned)
        .ok_or_else(|| {
            Failure::usage("--event: workflow_run.head_sha is missing (not a workflow_run event?)")
        })
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
            None => head_sha_from_event(event.as_deref())?,
        };
        let gh = ctx.client(&repo).await?;
        comment::comment_from_artifact(&gh, &repo, &artifact, &sha).await?
    } else {
        let (Some(pr), Some(body)) = (pr, body) else {
            return Err(Failure::usage("--pr and --body are required"));
        };
        let text = read_input(&body, "--body")?;
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
    let jobs_text = read_input(jobs, "--jobs")?;
    let jobs_v: serde_json::Value = serde_json::from_str(jobs_text.trim())
        .map_err(|e| Failure::usage(format!("--jobs {jobs}: not JSON: {e}")))?;
    let failed: BTreeSet<String> = match (failed, run_id) {
        (Some(f), _) => filter::parse_failed(
            &read_input(&f.to_string_lossy(), "--failed")?,
            &f.display().to_string(),
        )?,
        (None, Some(id)) => {
            let repo = ctx.repo()?;
            let gh = ctx.client(&repo).await?;
            filter::failed_from_run(&gh, &repo, id).await?
        }
        (None, None) => return Err(Failure::usage("pass --failed FILE or --run-id ID")),
    };
    let (keep, dropped) = filter::filter_jobs(&jobs_v, &failed, jobs)?;
    for d in &dropped {
        say(
            Kind::Info,
            &format!(
                "skipping {} {}: a support or staging job of this cluster failed",
                render::log_escape(d["cluster_name"].as_str().unwrap_or_default()),
                render::log_escape(
                    d.get("hub_name")
                        .and_then(|h| h.as_str())
                        .unwrap_or_default()
                )
            ),
        );
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
