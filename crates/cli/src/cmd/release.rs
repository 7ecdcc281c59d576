//! `ghops release`: draft releases, release branches and hotfixes.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use gh_core::actions::ActionsFiles;
use gh_core::events::{PushEvent, ReleaseEvent, load_event};
use gh_core::{ExitCode, RepoRef};
use release_flow::config::DrafterConfig;
use release_flow::draft::DraftOutcome;
use release_flow::push::{PushOutcome, PushTarget};
use serde::Deserialize;

use crate::ctx::{Ctx, Failure};
use crate::output::outln;

/// `ghops release` subcommands.
#[derive(Subcommand, Debug)]
pub enum ReleaseCmd {
    /// Keep ONE draft release of a branch current: next version from PR labels, changelog.
    ///
    /// Needs: contents: write (releases), pull-requests: read.
    /// Under Actions, writes release-drafter's outputs to $GITHUB_OUTPUT (id, name, tag_name,
    /// body, html_url, upload_url, resolved_version, major/minor/patch_version) and the draft to
    /// the step summary.
    #[command(
        after_help = "Examples:\n  ghops release draft --dry-run\n  ghops release draft --target main --json\n  ghops release draft --release-version 2.0.0"
    )]
    Draft {
        /// The branch [default: `commitish` of the config, else under Actions the branch of
        /// GITHUB_REF, else the repository's default branch].
        #[arg(long)]
        target: Option<String>,
        /// Use this version instead of resolving one (release-drafter's `version` input).
        #[arg(long = "release-version", value_name = "VERSION")]
        release_version: Option<String>,
        /// The tag, overriding `tag-template` (release-drafter's `tag` input; version variables
        /// are filled, and a version in it is used as is).
        #[arg(long)]
        tag: Option<String>,
        /// The release name, overriding `name-template` (release-drafter's `name` input).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        inputs: DraftInputs,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// On `release: published`: create `release/{version}` at the tag's commit.
    ///
    /// A patch release that a `release/X.Y.*` branch of its line already holds (a hotfix) gets
    /// no branch of its own. Needs: contents: write.
    #[command(
        name = "publish-hook",
        after_help = "Examples:\n  ghops release publish-hook --tag v1.4.0\n  ghops release publish-hook --event \"$GITHUB_EVENT_PATH\""
    )]
    PublishHook {
        /// The published tag.
        #[arg(long, conflicts_with = "event")]
        tag: Option<String>,
        /// A `release` event [default: $GITHUB_EVENT_PATH].
        #[arg(long, value_name = "FILE")]
        event: Option<PathBuf>,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// On a push to `release/X.Y.Z`: publish the next patch, keep ONE reintegration PR, then
    /// refresh the main branch's draft.
    ///
    /// Needs: contents: write, pull-requests: write.
    #[command(
        after_help = "Examples:\n  ghops release hotfix --branch release/1.4.0\n  ghops release hotfix --event \"$GITHUB_EVENT_PATH\""
    )]
    Hotfix {
        /// The release branch.
        #[arg(long, conflicts_with = "event")]
        branch: Option<String>,
        /// A `push` event [default: $GITHUB_EVENT_PATH].
        #[arg(long, value_name = "FILE")]
        event: Option<PathBuf>,
        /// Where reintegration PRs go.
        /// [default: `commitish` of the config, else the repository's default branch]
        #[arg(long)]
        main: Option<String>,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

/// release-drafter's action inputs that override the config file.
#[derive(Args, Debug, Default)]
pub struct DraftInputs {
    /// Draft a prerelease (`prerelease`).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    prerelease: Option<bool>,
    /// Prerelease identifier (`prerelease-identifier`); turns `--prerelease` on, even with
    /// `--prerelease=false` (release-drafter v7).
    #[arg(long, value_name = "ID")]
    prerelease_identifier: Option<String>,
    /// Count published prereleases as the last release (`include-pre-releases`).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    include_pre_releases: Option<bool>,
    /// `make_latest` of the release (`latest`: true, false or legacy).
    #[arg(long, value_name = "WHEN", value_parser = ["true", "false", "legacy"])]
    latest: Option<String>,
    /// Text put before the body template (`header`; replaces the config's).
    #[arg(long, value_name = "TEXT")]
    header: Option<String>,
    /// Text put after the body template (`footer`; replaces the config's).
    #[arg(long, value_name = "TEXT")]
    footer: Option<String>,
}

impl DraftInputs {
    /// Applies the inputs over the config (inputs win, as in release-drafter).
    fn apply(self, cfg: &mut DrafterConfig) {
        cfg.apply_overrides(release_flow::config::Overrides {
            prerelease: self.prerelease,
            prerelease_identifier: self.prerelease_identifier,
            include_pre_releases: self.include_pre_releases,
            latest: self.latest,
            header: self.header,
            footer: self.footer,
        });
    }
}

/// Where the drafter configuration comes from.
#[derive(Args, Debug)]
pub struct ConfigArgs {
    /// release-drafter YAML [default: .github/release-drafter.yml if present, else `[release]`
    /// of ghops.toml].
    #[arg(long = "drafter-config", value_name = "FILE")]
    drafter_config: Option<PathBuf>,
}

fn warn(m: &str) {
    crate::ctx::warn(m, None, None);
}

/// The YAML file to read, if any: `--drafter-config`, else `.github/release-drafter.yml`.
fn drafter_file(a: &ConfigArgs) -> Option<PathBuf> {
    let default = PathBuf::from(".github/release-drafter.yml");
    a.drafter_config
        .clone()
        .or_else(|| default.exists().then_some(default))
}

/// Resolves `_extends` of the YAML config through the API (release-drafter's shared configs).
async fn resolve_extends(
    a: &ConfigArgs,
    cfg: DrafterConfig,
    gh: &gh_core::GitHub,
    repo: &RepoRef,
) -> Result<DrafterConfig, Failure> {
    let Some(f) = drafter_file(a).filter(|_| cfg.extends.is_some()) else {
        return Ok(cfg);
    };
    let text =
        std::fs::read_to_string(&f).map_err(|e| Failure::usage(format!("{}: {e}", f.display())))?;
    let name = f.display().to_string();
    let (cfg, warnings) =
        release_flow::config::load(gh, repo, &text, &name, ".github/release-drafter.yml").await?;
    for w in &warnings {
        warn(w);
    }
    Ok(cfg)
}

fn drafter_config(ctx: &Ctx, a: &ConfigArgs) -> Result<DrafterConfig, Failure> {
    if let Some(f) = drafter_file(a) {
        let text = std::fs::read_to_string(&f)
            .map_err(|e| Failure::usage(format!("{}: {e}", f.display())))?;
        let (cfg, warnings) = DrafterConfig::from_yaml(&text, &f.display().to_string())?;
        for w in warnings {
            warn(&w);
        }
        return Ok(cfg);
    }
    let (cfg, warnings) = DrafterConfig::from_ghops_toml(&ctx.config()?)?;
    for w in warnings {
        crate::output::say(crate::output::Kind::Warning, &w.to_string());
    }
    Ok(cfg)
}

#[derive(Deserialize)]
struct RepoInfo {
    default_branch: String,
}

fn outcome_text(o: DraftOutcome) -> String {
    match o {
        DraftOutcome::Created(id) => format!("draft {id} created"),
        DraftOutcome::Updated(id) => format!("draft {id} updated"),
        DraftOutcome::Unchanged(id) => format!("draft {id} already current"),
        DraftOutcome::DryRun => "dry-run, nothing written".into(),
    }
}

/// Runs `ghops release`.
pub async fn run(cmd: ReleaseCmd, ctx: &Ctx) -> Result<ExitCode, Failure> {
    match cmd {
        ReleaseCmd::Draft {
            target,
            release_version,
            tag,
            name,
            inputs,
            config,
        } => {
            let cfg = drafter_config(ctx, &config)?;
            let repo = ctx.repo()?;
            ctx.warn_actions_token("releases, tags and branches");
            let gh = ctx.client(&repo).await?;
            let mut cfg = resolve_extends(&config, cfg, &gh, &repo).await?;
            inputs.apply(&mut cfg);
            for w in cfg.draft_warnings("config") {
                warn(&w);
            }
            // Like release-drafter: `commitish`, else the branch the workflow runs for
            // (GITHUB_REF), else the default branch; never a tag.
            let from_actions = gh_core::actions::in_actions()
                .then(|| std::env::var("GITHUB_REF").ok())
                .flatten()
                .and_then(|r| r.strip_prefix("refs/heads/").map(str::to_owned));
            let target = match target
                .or_else(|| Some(cfg.commitish.clone()).filter(|c| !c.is_empty()))
                .filter(|t| !t.starts_with("refs/tags/"))
                .or(from_actions)
            {
                Some(t) => t,
                None => gh.get::<RepoInfo>(&repo.api_path()).await?.default_branch,
            };
            let input = release_flow::draft::DraftInput {
                version: release_version,
                tag,
                name,
            };
            let (plan, outcome) =
                release_flow::draft::draft_with(&gh, &repo, &cfg, &target, &input).await?;
            for w in &plan.warnings {
                warn(w);
            }
            let actions = ActionsFiles::from_env();
            for (k, v) in plan.outputs(outcome) {
                actions.set_output(k, &v)?;
            }
            actions.append_summary(&plan.summary(outcome))?;
            if ctx.global.json {
                ctx.print_json(&plan.report(outcome))?;
            } else {
                let or_none = |s: &str| {
                    if s.is_empty() {
                        "(empty)".to_owned()
                    } else {
                        s.to_owned()
                    }
                };
                outln!(
                    "{}: tag {}, name {} ({} PRs since {}): {}",
                    plan.version,
                    or_none(&plan.tag),
                    or_none(&plan.name),
                    plan.prs.len(),
                    plan.previous_tag.as_deref().unwrap_or("the beginning"),
                    outcome_text(outcome)
                );
                if ctx.global.dry_run {
                    outln!("\n{}", plan.body);
                }
            }
            Ok(ExitCode::Success)
        }
        ReleaseCmd::PublishHook { tag, event, config } => {
            let cfg = drafter_config(ctx, &config)?;
            let (repo, tag) = match tag {
                Some(t) => (ctx.repo()?, t),
                None => {
                    let ev: ReleaseEvent = load_event(event.as_deref())?;
                    match release_flow::push::release_target(&ev)? {
                        Ok(target) => target,
                        Err(why) => {
                            ctx.print_ignored(&why.to_string())?;
                            return Ok(ExitCode::Success);
                        }
                    }
                }
            };
            ctx.warn_actions_token("releases, tags and branches");
            let gh = ctx.client(&repo).await?;
            let r = release_flow::hotfix::publish_hook(&gh, &repo, &cfg, &tag).await?;
            if ctx.global.json {
                ctx.print_json(&r)?;
            } else {
                match &r.cut_from {
                    Some(from) => {
                        outln!("{tag} was cut from {from}: a hotfix gets no branch of its own")
                    }
                    None => outln!("{} at {}: {}", r.branch, r.sha, r.action),
                }
            }
            Ok(ExitCode::Success)
        }
        ReleaseCmd::Hotfix {
            branch,
            event,
            main,
            config,
        } => {
            let cfg = drafter_config(ctx, &config)?;
            let main = main.or_else(|| Some(cfg.commitish.clone()).filter(|c| !c.is_empty()));
            let (repo, branch, main) = match branch {
                Some(b) => (ctx.repo()?, b, main),
                None => {
                    let ev: PushEvent = load_event(event.as_deref())?;
                    match release_flow::push::push_target(&cfg, &ev)? {
                        PushTarget::Hotfix {
                            repo,
                            branch,
                            main: m,
                        } => (repo, branch, main.or(Some(m))),
                        PushTarget::Draft { branch, .. } => {
                            ctx.print_ignored(&format!(
                                "push to {branch}, not a release/* branch"
                            ))?;
                            return Ok(ExitCode::Success);
                        }
                        PushTarget::Ignored(why) => {
                            ctx.print_ignored(&why.to_string())?;
                            return Ok(ExitCode::Success);
                        }
                    }
                }
            };
            ctx.warn_actions_token("releases, tags and branches");
            let gh = ctx.client(&repo).await?;
            let main = match main {
                Some(m) => m,
                None => gh.get::<RepoInfo>(&repo.api_path()).await?.default_branch,
            };
            let out =
                release_flow::push::hotfix_then_draft(&gh, &repo, &cfg, &branch, &main).await?;
            if ctx.global.json {
                ctx.print_json(&out)?;
                return Ok(ExitCode::Success);
            }
            let PushOutcome::Hotfix {
                hotfix: r,
                main_draft,
                note,
            } = out
            else {
                return Ok(ExitCode::Success);
            };
            if let Some(t) = &r.tag {
                outln!(
                    "{branch}: published {t}; reintegration PR #{} ({})",
                    r.reintegration_pr
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| "-".into()),
                    r.pr_action.as_deref().unwrap_or("-")
                );
            } else {
                outln!("{branch}: nothing new since the last tag of its line");
            }
            if let Some(n) = &r.note {
                outln!("{branch}: {n}");
            }
            if let Some(d) = main_draft {
                outln!(
                    "{main}: draft {} ({} PRs): {}",
                    d.tag,
                    d.prs.len(),
                    outcome_text(d.result)
                );
            } else if let Some(n) = note.filter(|_| r.tag.is_some()) {
                crate::output::say(
                    crate::output::Kind::Warning,
                    &format!("{main}'s draft not refreshed: {n}"),
                );
            }
            Ok(ExitCode::Success)
        }
    }
}
