//! `env sync`: the plan for a `pull_request` event, with exclusive-slot hand-overs.

use gh_core::comments::{marker, upsert_comment};
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use gh_core::events::{PullRequestEvent, User};
use gh_core::repo::encode_segment;
use gh_core::{GitHub, RepoRef};
use serde::Deserialize;
use serde_json::Value;

use super::config::EnvConfig;
use super::deployments::{deactivate, pr_deployed, slot_holder};
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
///
/// On every event (not only `labeled`), an exclusive slot is deployed only when the person
/// who added its label passes `[env].policy` and this PR may hold the slot: it already holds
/// it (its deployment there is active, from the recorded Deployments), or its label is the
/// newest authorised one among the open PRs carrying it. Undeploys name only environments
/// this PR has deployed and not yet given up.
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
        // those of its labels; each needs an active deployment recorded for this PR.
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
    let mut seen = Lookups::default();
    // Exclusive slots first: a refused label on a `labeled` event writes nothing at all.
    for t in deploy {
        if !t.exclusive {
            plan.deploy.push(t);
            continue;
        }
        match claim(gh, repo, cfg, ev, &t, &mut seen).await? {
            Claim::Deploy(h) => {
                plan.handovers.extend(h);
                plan.deploy.push(t);
            }
            Claim::Skip(why) => plan.skipped.push(why),
        }
    }
    // Undeploy only what this PR has deployed (an evicted slot is another PR's now).
    for t in undeploy {
        if pr_deployed(gh, repo, &t.environment, pr.number).await? {
            plan.undeploy.push(t);
        }
    }
    Ok(plan)
}

/// What `sync` decided for one exclusive slot.
enum Claim {
    /// Deploy; these PRs were evicted.
    Deploy(Vec<Handover>),
    /// Not deployed, and why.
    Skip(String),
}

/// Reads made once per sync: issue events per PR, ghops's own login.
#[derive(Default)]
struct Lookups {
    events: BTreeMap<u64, Vec<IssueEvent>>,
    login: Option<String>,
}

impl Lookups {
    /// Who last added `label` to issue `n`, and when (`None`: no such event visible yet).
    async fn labeling(
        &mut self,
        gh: &GitHub,
        repo: &RepoRef,
        n: u64,
        label: &str,
    ) -> Result<Option<(User, DateTime<Utc>)>, ReleaseError> {
        if let std::collections::btree_map::Entry::Vacant(e) = self.events.entry(n) {
            let v: Vec<IssueEvent> = gh
                .get_all(
                    &format!("{}/issues/{n}/events?per_page=100", repo.api_path()),
                    None,
                )
                .await?;
            e.insert(v);
        }
        Ok(self.events[&n]
            .iter()
            .filter(|e| e.event == "labeled" && e.label.as_ref().is_some_and(|l| l.name == label))
            .max_by_key(|e| e.created_at)
            .map(|e| {
                (
                    e.actor.clone().unwrap_or_else(|| User {
                        login: String::new(),
                        id: 0,
                        user_type: None,
                        avatar_url: None,
                        html_url: None,
                    }),
                    e.created_at,
                )
            }))
    }

    /// ghops's own login (one lookup per sync, however many PRs are evicted).
    async fn login(&mut self, gh: &GitHub) -> Result<String, ReleaseError> {
        if self.login.is_none() {
            self.login = Some(gh.login().await?);
        }
        Ok(self.login.clone().unwrap_or_default())
    }
}

#[derive(Deserialize)]
struct IssueEvent {
    event: String,
    #[serde(default)]
    label: Option<gh_core::events::Label>,
    #[serde(default)]
    actor: Option<User>,
    created_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct IssueLite {
    number: u64,
    user: User,
    #[serde(default)]
    pull_request: Option<Value>,
}

/// Checks the labeller of `t.label` against `[env].policy`: on the `labeled` event itself
/// (`adding`) a refusal is an error (exit 3); later, the reason the slot is skipped.
async fn authorise(
    cfg: &EnvConfig,
    gh: &GitHub,
    repo: &RepoRef,
    labeller: &User,
    t: &EnvTarget,
    adding: bool,
) -> Result<Result<(), String>, ReleaseError> {
    let d = cfg
        .policy
        .authorize(gh, repo, &labeller.login, labeller.user_type.as_deref())
        .await;
    if d.allowed {
        return Ok(Ok(()));
    }
    if adding {
        return Err(ReleaseError::Refused(format!(
            "{} may not take {}: {}",
            labeller.login, t.environment, d.reason
        )));
    }
    Ok(Err(format!(
        "`{}` was added to #{} by {}, who may not take {}: {}",
        t.label, t.pr, labeller.login, t.environment, d.reason
    )))
}

/// Decides whether PR `t.pr` may deploy the exclusive slot `t.environment`, evicting the
/// PRs it takes it from. The labeller must pass `[env].policy` (on the `labeled` event
/// itself a refusal is an error, exit 3); the holder is read from the recorded Deployments;
/// among the open PRs carrying the label, the newest authorised label wins (two runs for two
/// PRs labelled at once reach the same verdict).
async fn claim(
    gh: &GitHub,
    repo: &RepoRef,
    cfg: &EnvConfig,
    ev: &PullRequestEvent,
    t: &EnvTarget,
    seen: &mut Lookups,
) -> Result<Claim, ReleaseError> {
    let adding = ev.action == "labeled" && ev.label.as_ref().is_some_and(|l| l.name == t.label);
    if adding {
        // Authorised before anything else is read: a refusal writes nothing, reads little.
        // (`adding` turns a refusal into an error, so the inner result is always Ok.)
        let _ = authorise(cfg, gh, repo, &ev.sender, t, true).await?;
    }
    let ours = seen.labeling(gh, repo, t.pr, &t.label).await?;
    let our_at = match (adding, ours) {
        // The label was just added by the sender (the events index may lag behind).
        (true, o) => o.map_or_else(Utc::now, |(_, at)| at),
        (false, Some((labeller, at))) => {
            if let Err(why) = authorise(cfg, gh, repo, &labeller, t, false).await? {
                return Ok(Claim::Skip(why));
            }
            at
        }
        (false, None) => {
            return Ok(Claim::Skip(format!(
                "who added `{}` to #{} is not known yet: {} not deployed",
                t.label, t.pr, t.environment
            )));
        }
    };
    let holder = slot_holder(gh, repo, &t.environment).await?;
    if holder == Some(t.pr) {
        return Ok(Claim::Deploy(Vec::new()));
    }
    let live: Vec<IssueLite> = gh
        .get_all(
            &format!(
                "{}/issues?state=open&labels={}&per_page=100",
                repo.api_path(),
                encode_segment(&t.label)
            ),
            None,
        )
        .await?;
    let live: Vec<IssueLite> = live
        .into_iter()
        .filter(|h| h.pull_request.is_some())
        .collect();
    if !adding && !live.iter().any(|h| h.number == t.pr) {
        return Ok(Claim::Skip(format!(
            "`{}` is no longer on #{}: {} not deployed",
            t.label, t.pr, t.environment
        )));
    }
    let others: Vec<&IssueLite> = live.iter().filter(|h| h.number != t.pr).collect();
    for h in &others {
        // A holder whose labelling is not visible counts as the oldest.
        let Some((by, at)) = seen.labeling(gh, repo, h.number, &t.label).await? else {
            continue;
        };
        if (at, h.number) > (our_at, t.pr)
            && cfg
                .policy
                .authorize(gh, repo, &by.login, by.user_type.as_deref())
                .await
                .allowed
        {
            return Ok(Claim::Skip(if holder == Some(h.number) {
                format!(
                    "#{} holds {} (`{}` added there after #{}): not deployed",
                    h.number, t.environment, t.label, t.pr
                )
            } else {
                format!(
                    "`{}` was also just given to #{}, later: #{} takes {} (the newest label wins)",
                    t.label, h.number, h.number, t.environment
                )
            }));
        }
    }
    let mut out = Vec::new();
    if let Some(h) = holder
        && !others.iter().any(|o| o.number == h)
    {
        // The recorded holder no longer carries the label (closed, or the label was
        // removed while its deployment stayed active): its deployment ends here.
        out.push(Handover {
            environment: t.environment.clone(),
            label: t.label.clone(),
            from_pr: h,
            to_pr: t.pr,
            deactivated: deactivate(gh, repo, &t.environment, Some(h)).await?,
        });
    }
    for h in others {
        // Deactivate, tell, then remove the label: a failure part-way leaves the label in
        // place, so a re-run finds the PR again and finishes.
        let deactivated = deactivate(gh, repo, &t.environment, Some(h.number)).await?;
        let body = format!(
            "@{} this PR's deployment in `{}` was replaced by #{} (label `{}` moved there), so the `{}` label was removed and the deployment marked inactive. Add the label again to take the environment back.",
            h.user.login, t.environment, t.pr, t.label, t.label
        );
        let me = seen.login(gh).await?;
        upsert_comment(
            gh,
            repo,
            h.number,
            &marker(&format!("env-slot:{}", t.environment)),
            &body,
            &me,
        )
        .await?;
        gh.delete(&format!(
            "{}/issues/{}/labels/{}",
            repo.api_path(),
            h.number,
            encode_segment(&t.label)
        ))
        .await?;
        out.push(Handover {
            environment: t.environment.clone(),
            label: t.label.clone(),
            from_pr: h.number,
            to_pr: t.pr,
            deactivated,
        });
    }
    Ok(Claim::Deploy(out))
}
