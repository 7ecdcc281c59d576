//! `ghops release`: draft releases, release branches and hotfixes.

mod args;

use args::ConfigArgs;
pub use args::ReleaseCmd;
use gh_core::ExitCode;
use gh_core::actions::{ActionsFiles, RunEnv};
use gh_core::events::{PushEvent, ReleaseEvent, load_event};
use release_flow::draft::{DraftInput, DraftOutcome, DraftPlan, draft_with};
use release_flow::push::PushOutcome;
use release_flow::resolve::{self, HotfixTarget, LocalConfig};

use crate::ctx::{Ctx, Failure};
use crate::output::outln;

/// Configuration warnings, from a release-drafter file or from `[release]` of `ghops.toml`
/// alike: `warning: …` on stderr and, under Actions, a `::warning` annotation (each names
/// its file).
fn warn_all(warnings: &[String]) {
    for w in warnings {
        crate::ctx::warn(w, None, None);
    }
}

fn local_config(ctx: &Ctx, a: &ConfigArgs) -> Result<LocalConfig, Failure> {
    let local = LocalConfig::read(a.drafter_config.as_deref(), || ctx.config())?;
    warn_all(&local.warnings);
    Ok(local)
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
            let mut local = local_config(ctx, &config)?;
            let repo = ctx.repo()?;
            ctx.warn_actions_token("releases, tags and branches");
            let gh = ctx.client(&repo).await?;
            warn_all(&local.resolve_extends(&gh, &repo).await?);
            let mut cfg = local.config;
            cfg.apply_overrides(inputs.into());
            warn_all(&cfg.draft_warnings("config"));
            let run = RunEnv::from_env();
            let target = resolve::draft_target(&gh, &repo, &cfg, target, &run).await?;
            let input = DraftInput {
                version: release_version,
                tag,
                name,
            };
            let (plan, outcome) = draft_with(&gh, &repo, &cfg, &target, &input).await?;
            warn_all(&plan.warnings);
            let actions = ActionsFiles::from_env();
            for (k, v) in plan.outputs(outcome) {
                actions.set_output(k, &v)?;
            }
            actions.append_summary(&plan.summary(outcome))?;
            if ctx.global.json {
                return print_draft_json(ctx, &plan, outcome);
            }
            let or_empty = |s: &str| if s.is_empty() { "(empty)" } else { s }.to_owned();
            outln!(
                "{}: tag {}, name {} ({} since {}): {outcome}",
                plan.version,
                or_empty(&plan.tag),
                or_empty(&plan.name),
                gh_core::output::count(plan.prs.len(), "PR", "PRs"),
                plan.previous_tag.as_deref().unwrap_or("the beginning"),
            );
            if ctx.global.dry_run {
                outln!("\n{}", plan.body);
            }
            Ok(ExitCode::Success)
        }
        ReleaseCmd::PublishHook { tag, event, config } => {
            let cfg = local_config(ctx, &config)?.config;
            let (repo, tag) = match tag {
                Some(t) => (ctx.repo()?, t),
                None => {
                    let ev: ReleaseEvent = load_event(event.as_deref())?;
                    match release_flow::push::release_target(&ev)? {
                        Ok(target) => target,
                        Err(why) => return ignored(ctx, &why),
                    }
                }
            };
            ctx.warn_actions_token("releases, tags and branches");
            let gh = ctx.client(&repo).await?;
            let r = release_flow::hotfix::publish_hook(&gh, &repo, &cfg, &tag).await?;
            if ctx.global.json {
                ctx.print_json(&r)?;
            } else if let Some(from) = &r.cut_from {
                outln!("{tag} was cut from {from}: a hotfix gets no branch of its own");
            } else {
                outln!("{} at {}: {}", r.branch, r.sha, r.action);
            }
            Ok(ExitCode::Success)
        }
        ReleaseCmd::Hotfix {
            branch,
            event,
            main,
            config,
        } => {
            let cfg = local_config(ctx, &config)?.config;
            let target = match branch {
                Some(b) => HotfixTarget::new(ctx.repo()?, b, main, &cfg),
                None => {
                    let ev: PushEvent = load_event(event.as_deref())?;
                    match HotfixTarget::from_event(&cfg, &ev, main)? {
                        Ok(t) => t,
                        Err(why) => return ignored(ctx, &why),
                    }
                }
            };
            ctx.warn_actions_token("releases, tags and branches");
            let gh = ctx.client(&target.repo).await?;
            let main = target.main(&gh).await?;
            let (repo, branch) = (&target.repo, &target.branch);
            let out = release_flow::push::hotfix_then_draft(&gh, repo, &cfg, branch, &main).await?;
            if ctx.global.json {
                ctx.print_json(&out)?;
            } else {
                print_hotfix(out, branch, &main);
            }
            Ok(ExitCode::Success)
        }
    }
}

fn ignored(ctx: &Ctx, why: &str) -> Result<ExitCode, Failure> {
    ctx.print_ignored(why)?;
    Ok(ExitCode::Success)
}

fn print_draft_json(
    ctx: &Ctx,
    plan: &DraftPlan,
    outcome: DraftOutcome,
) -> Result<ExitCode, Failure> {
    ctx.print_json(&plan.report(outcome))?;
    Ok(ExitCode::Success)
}

fn print_hotfix(out: PushOutcome, branch: &str, main: &str) {
    let PushOutcome::Hotfix {
        hotfix: r,
        main_draft,
        note,
    } = out
    else {
        return;
    };
    if let Some(t) = &r.tag {
        let pr = r.reintegration_pr.map_or("-".into(), |n| n.to_string());
        let action = r.pr_action.as_deref().unwrap_or("-");
        outln!("{branch}: published {t}; reintegration PR #{pr} ({action})");
    } else {
        outln!("{branch}: nothing new since the last tag of its line");
    }
    if let Some(n) = &r.note {
        outln!("{branch}: {n}");
    }
    if let Some(d) = main_draft {
        outln!(
            "{main}: draft {} ({}): {}",
            d.tag,
            gh_core::output::count(d.prs.len(), "PR", "PRs"),
            d.result
        );
    } else if let Some(n) = note.filter(|_| r.tag.is_some()) {
        let m = format!("{main}'s draft not refreshed: {n}");
        crate::output::say(crate::output::Kind::Warning, &m);
    }
}
