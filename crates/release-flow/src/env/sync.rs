//! `env sync`: the plan for a `pull_request` event, with exclusive-slot hand-overs.

use gh_core::comments::{marker, upsert_comment};
use gh_core::events::PullRequestEvent;
use gh_core::repo::encode_segment;
use gh_core::{GitHub, RepoRef};
use serde::Deserialize;
use serde_json::Value;

use super::config::EnvConfig;
use super::deployments::{deactivate, pr_deployed};
use super::plan::{EnvTarget, Handover, SYNC_ACTIONS, SyncPlan, is_fork, plan_open};
use crate::error::ReleaseError;

/// Reacts to a `pull_request` event (what `ghops serve` calls): `None` for actions env sync
/// ignores, else the plan, with QA slot hand-overs already carried out.
pub async fn on_pull_request(
    gh: &GitHub,
    cfg: &EnvConfig,
    event: &PullRequestEvent,
) -> Result<Option<SyncPlan>, ReleaseError> {
    if !SYNC_ACTIONS.contains(&event.action.as_str()) {
        return Ok(None);
    }
    let repo = RepoRef::new(&event.repository.owner.login, &event.repository.name)?;
    sync(gh, &repo, cfg, event).await.map(Some)
}

/// `ghops env sync`: the deploy/undeploy plan for a PR event, with exclusive-slot
/// hand-overs carried out (previous holder: deployment `inactive`, label removed, author told).
pub async fn sync(
    gh: &GitHub,
    repo: &RepoRef,
    cfg: &EnvConfig,
    ev: &PullRequestEvent,
) -> Result<SyncPlan, ReleaseError> {
    let pr = &ev.pull_request;
    let mut plan = SyncPlan {
        repo: repo.to_string(),
        pr: pr.number,
        action: ev.action.clone(),
        deploy: Vec::new(),
        undeploy: Vec::new(),
        handovers: Vec::new(),
        skipped: Vec::new(),
    };
    if ev.action == "closed" || pr.state == "closed" {
        // Only what this PR actually deployed: candidates are the fixed environments and
        // those of its labels; each needs a successful deployment recorded for this PR.
        let (deploy, undeploy) = plan_open(cfg, ev);
        for t in deploy.into_iter().chain(undeploy) {
            if pr_deployed(gh, repo, &t.environment, pr.number).await? {
                plan.undeploy.push(t);
            }
        }
        return Ok(plan);
    }
    if matches!(ev.action.as_str(), "labeled" | "unlabeled")
        && let Some(l) = &ev.label
        && cfg.match_label(&l.name).is_none()
    {
        // A label unrelated to environments changes nothing: no redeploy.
        plan.skipped
            .push(format!("label `{}` maps to no environment", l.name));
        return Ok(plan);
    }
    let (deploy, undeploy) = plan_open(cfg, ev);
    if is_fork(ev) && !cfg.allow_forks {
        // Never deployed, so nothing to undeploy (and a fork's token could not record it).
        plan.skipped.push(format!(
            "PR #{} comes from a fork: not deployed (set [env].allow_forks to allow)",
            pr.number
        ));
        return Ok(plan);
    }
    plan.undeploy = undeploy;
    // A slot is taken when its label is added; then the previous holder is evicted.
    let taking = match (&ev.label, ev.action.as_str()) {
        (Some(l), "labeled") => Some(l.name.clone()),
        _ => None,
    };
    let mut yielded: Vec<String> = Vec::new();
    for t in &deploy {
        if t.exclusive && taking.as_deref() == Some(t.label.as_str()) {
            let d = cfg
                .policy
                .authorize(gh, repo, &ev.sender.login, ev.sender.user_type.as_deref())
                .await;
            if !d.allowed {
                return Err(ReleaseError::Refused(format!(
                    "{} may not take {}: {}",
                    ev.sender.login, t.environment, d.reason
                )));
            }
            match hand_over(gh, repo, t).await? {
                Taken::Handovers(h) => plan.handovers.extend(h),
                Taken::Yielded { to_pr } => {
                    plan.skipped.push(format!(
                        "`{}` was also just given to #{to_pr}, later: #{to_pr} takes {} (the newest label wins)",
                        t.label, t.environment
                    ));
                    yielded.push(t.environment.clone());
                }
            }
        }
    }
    plan.deploy = deploy
        .into_iter()
        .filter(|t| !yielded.contains(&t.environment))
        .collect();
    Ok(plan)
}

/// What taking an exclusive slot came to.
enum Taken {
    /// This PR holds the slot; these PRs were evicted.
    Handovers(Vec<Handover>),
    /// Another PR got the label later than this one: it takes the slot (and its own run
    /// evicts this PR), so this run neither deploys nor evicts.
    Yielded { to_pr: u64 },
}

#[derive(Deserialize)]
struct IssueEvent {
    event: String,
    #[serde(default)]
    label: Option<gh_core::events::Label>,
    created_at: chrono::DateTime<chrono::Utc>,
}

/// When `label` was last added to issue `n` (`None`: no such event, e.g. not yet visible).
async fn labeled_at(
    gh: &GitHub,
    repo: &RepoRef,
    n: u64,
    label: &str,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, ReleaseError> {
    let events: Vec<IssueEvent> = gh
        .get_all(
            &format!("{}/issues/{n}/events?per_page=100", repo.api_path()),
            None,
        )
        .await?;
    Ok(events
        .into_iter()
        .filter(|e| e.event == "labeled" && e.label.as_ref().is_some_and(|l| l.name == label))
        .map(|e| e.created_at)
        .max())
}

#[derive(Deserialize)]
struct IssueLite {
    number: u64,
    user: gh_core::events::User,
    #[serde(default)]
    pull_request: Option<Value>,
}

/// Evicts every other open PR holding `t.label`, unless one of them got the label later than
/// this PR. Two PRs labelled at once both see each other; the label times (the issue events)
/// give both runs the same verdict, so exactly one of them takes the slot.
async fn hand_over(gh: &GitHub, repo: &RepoRef, t: &EnvTarget) -> Result<Taken, ReleaseError> {
    let holders: Vec<IssueLite> = gh
        .get_all(
            &format!(
                "{}/issues?state=open&labels={}&per_page=100",
                repo.api_path(),
                encode_segment(&t.label)
            ),
            None,
        )
        .await?;
    let others: Vec<IssueLite> = holders
        .into_iter()
        .filter(|h| h.number != t.pr && h.pull_request.is_some())
        .collect();
    if !others.is_empty() {
        // Ours not visible yet (the events index lags): it was just added, so it is the newest.
        let ours = labeled_at(gh, repo, t.pr, &t.label)
            .await?
            .unwrap_or_else(chrono::Utc::now);
        for h in &others {
            // A holder whose labelling is not visible counts as the oldest.
            let theirs = labeled_at(gh, repo, h.number, &t.label).await?;
            if theirs.is_some_and(|at| (at, h.number) > (ours, t.pr)) {
                return Ok(Taken::Yielded { to_pr: h.number });
            }
        }
    }
    let mut out = Vec::new();
    let mut identity: Option<String> = None;
    for h in others {
        let deactivated = deactivate(gh, repo, &t.environment, Some(h.number)).await?;
        gh.delete(&format!(
            "{}/issues/{}/labels/{}",
            repo.api_path(),
            h.number,
            encode_segment(&t.label)
        ))
        .await?;
        let me = match &identity {
            Some(i) => i.clone(),
            None => {
                let i = gh.identity().await?.login;
                identity = Some(i.clone());
                i
            }
        };
        let body = format!(
            "@{} this PR's deployment in `{}` was replaced by #{} (label `{}` moved there), so the `{}` label was removed and the deployment marked inactive. Add the label again to take the environment back.",
            h.user.login, t.environment, t.pr, t.label, t.label
        );
        upsert_comment(
            gh,
            repo,
            h.number,
            &marker(&format!("env-slot:{}", t.environment)),
            &body,
            &me,
        )
        .await?;
        out.push(Handover {
            environment: t.environment.clone(),
            label: t.label.clone(),
            from_pr: h.number,
            to_pr: t.pr,
            deactivated,
        });
    }
    Ok(Taken::Handovers(out))
}
