//! `ghops init`: the chosen least-privilege workflows and a `ghops.toml` scaffold.

use std::path::PathBuf;

use clap::Args;
use gh_core::ExitCode;
use release_flow::init::{CONFIG_PATH, InitOptions, WORKFLOWS, WriteResult, Written};

use crate::ctx::{Ctx, Failure};
use crate::output::outln;

/// Arguments of `ghops init`.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  ghops init --list\n  ghops init feature main --dry-run\n  ghops init pipeline\n  ghops init all --force --ghops-version v0.2.0 --setup-action-sha <commit of v0.2.0>"
)]
pub struct InitArgs {
    /// The workflows to write (`--list` shows them): feature, main, release, hotfix-pr,
    /// hotfix-release, pr-bridge, deploy-plan; `pipeline` for the first five, `all`.
    #[arg(value_name = "WORKFLOW")]
    workflows: Vec<String>,
    /// List the workflows and the files each one writes.
    #[arg(long)]
    list: bool,
    /// Repository root to write `.github/workflows/` and `ghops.toml` into.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// Overwrite existing workflow files that differ (an existing ghops.toml is always kept).
    #[arg(long)]
    force: bool,
    /// ghops release tag the workflows install (default: this binary's version).
    #[arg(long, default_value = concat!("v", env!("CARGO_PKG_VERSION")))]
    ghops_version: String,
    /// Commit of the setup action (OWNER/ghops) the workflows pin [default: the commit this
    /// binary was released from].
    #[arg(long, value_name = "SHA")]
    setup_action_sha: Option<String>,
    /// The main branch.
    #[arg(long, default_value = "main")]
    main_branch: String,
}

fn list(ctx: &Ctx) -> Result<ExitCode, Failure> {
    if ctx.global.json {
        ctx.print_json(&WORKFLOWS)?;
        return Ok(ExitCode::Success);
    }
    for w in WORKFLOWS {
        outln!("{}", w.name);
        outln!("    files:   {}", w.files.join(", "));
        outln!("    trigger: {}", w.trigger);
        outln!("    does:    {}", w.summary);
    }
    outln!("\npipeline = feature main release hotfix-pr hotfix-release; all = every workflow");
    outln!("Each selection also writes {CONFIG_PATH} (kept when it exists).");
    Ok(ExitCode::Success)
}

/// Runs `ghops init`.
pub async fn run(args: InitArgs, ctx: &Ctx) -> Result<ExitCode, Failure> {
    if args.list {
        return list(ctx);
    }
    if args.workflows.is_empty() {
        return Err(Failure::usage(
            "name the workflows to write, e.g. `ghops init feature main` (`ghops init --list` \
             shows them and the files each writes; `all` writes every one)",
        ));
    }
    let opts = InitOptions {
        ghops_version: args.ghops_version,
        main_branch: args.main_branch,
        // Default: the commit this binary was released from (its action.yml exists), else
        // the constant (a placeholder before the first release).
        setup_action_sha: args.setup_action_sha.unwrap_or_else(|| {
            gh_core::dist::setup_action_sha(env!("GHOPS_RELEASE_COMMIT")).to_owned()
        }),
    };
    let files = release_flow::init::generate_selected(&opts, &args.workflows)?;
    if opts.setup_action_is_placeholder() {
        crate::ctx::warn(
            &format!(
                "this ghops build pins the setup action ({}) at a placeholder commit (no \
                 release yet): pass --setup-action-sha SHA, the commit of the release you install",
                gh_core::dist::repository()
            ),
            None,
            None,
        );
    }
    if ctx.targets_ghes() {
        crate::ctx::warn(
            "GitHub Enterprise Server: the generated workflows use actions from github.com \
             pinned by commit and install ghops from its github.com release; enable GitHub \
             Connect (actions from GitHub.com) or mirror them, and check the runner version \
             (docs/ghes.md, \"Actions on GHES\")",
            None,
            None,
        );
    }
    if ctx.global.dry_run {
        if ctx.global.json {
            ctx.print_json(&files)?;
        } else {
            for f in &files {
                outln!("# ---- {} ----\n{}", f.path, f.contents);
            }
        }
        return Ok(ExitCode::Success);
    }
    // The configuration is a scaffold: an existing one is the user's and never replaced.
    let (config, workflows): (Vec<_>, Vec<_>) =
        files.into_iter().partition(|f| f.path == CONFIG_PATH);
    let mut results = release_flow::init::write_files(&args.dir, &workflows, args.force)?;
    results.extend(release_flow::init::write_files(&args.dir, &config, false)?);
    let kept = results
        .iter()
        .filter(|(p, r)| *r == WriteResult::Kept && p != CONFIG_PATH)
        .count();
    if ctx.global.json {
        let written: Vec<Written> = results
            .iter()
            .map(|(path, result)| Written {
                path: path.clone(),
                result: result.clone(),
            })
            .collect();
        ctx.print_json(&written)?;
    } else {
        for (p, r) in &results {
            let what = match r {
                WriteResult::Created => "created",
                WriteResult::Overwritten => "overwritten",
                WriteResult::Unchanged => "unchanged",
                WriteResult::Kept if p == CONFIG_PATH => {
                    "exists: kept (compare with `ghops init … --dry-run`)"
                }
                WriteResult::Kept => "exists and differs: kept (use --force to overwrite)",
            };
            outln!("{p}: {what}");
        }
    }
    Ok(if kept > 0 {
        ExitCode::Failed
    } else {
        ExitCode::Success
    })
}
