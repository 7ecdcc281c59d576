//! Label-driven preview/QA environments recorded as GitHub Deployments (issue #6).
//!
//! - [`EnvConfig`]: the `[env]` section of `ghops.toml`: which PR label deploys to which
//!   environment (default `deploy` → `preview-<branch>`, transient; `deploy/qa{N}` → `qa{N}`,
//!   shared and exclusive).
//! - [`sync`] / [`on_pull_request`]: on a `pull_request` event, which environments to deploy
//!   and undeploy, QA slot hand-over (the previous holder's deployment made `inactive`, its
//!   label removed, its author told why).
//! - [`record`]: one Deployment per (environment, SHA) and its statuses, idempotently;
//!   [`deactivate`] pages through every deployment of an environment.
//! - [`status`]: what runs where.
//!
//! ```no_run
//! use release_flow::env::{EnvConfig, on_pull_request};
//!
//! # async fn run(gh: gh_core::GitHub, body: &[u8]) -> Result<(), release_flow::ReleaseError> {
//! let event: gh_core::events::PullRequestEvent = gh_core::events::decode("webhook", body)?;
//! if let Some(plan) = on_pull_request(&gh, &EnvConfig::default(), &event).await? {
//!     println!("deploy {:?}, undeploy {:?}", plan.deploy, plan.undeploy);
//! }
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use gh_core::comments::{marker, upsert_comment};
use gh_core::events::PullRequestEvent;
use gh_core::permission::{Permission, Policy};
use gh_core::repo::encode_segment;
use gh_core::retry::Idempotency;
use gh_core::{GitHub, RepoRef};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::ReleaseError;

/// One label → environment rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelRule {
    /// The PR label; may contain one `{N}` standing for a number (`deploy/qa{N}`).
    pub label: String,
    /// The environment name; `{branch}` is the sanitised head branch, `{N}` the label's number.
    pub environment: String,
    /// Transient (a per-PR preview torn down on close) rather than shared.
    #[serde(default)]
    pub transient: bool,
    /// Exclusive: one PR at a time; a PR taking the slot evicts the previous holder.
    #[serde(default)]
    pub exclusive: bool,
}

/// The `[env]` section of `ghops.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnvConfig {
    /// Label rules, first match wins.
    pub labels: Vec<LabelRule>,
    /// Deploy PRs whose head is in a fork (off by default: their code is untrusted).
    pub allow_forks: bool,
    /// Who may take an exclusive slot from another PR (default: write permission).
    pub policy: Policy,
    /// Who may pass `ghops gate check` / `gate approve` (default: maintain permission).
    pub gate: Policy,
}

impl Default for EnvConfig {
    fn default() -> Self {
        Self {
            labels: vec![
                LabelRule {
                    label: "deploy".into(),
                    environment: "preview-{branch}".into(),
                    transient: true,
                    exclusive: false,
                },
                LabelRule {
                    label: "deploy/qa{N}".into(),
                    environment: "qa{N}".into(),
                    transient: false,
                    exclusive: true,
                },
            ],
            allow_forks: false,
            policy: Policy::default(),
            gate: Policy {
                min_permission: Some(Permission::Maintain),
                ..Policy::default()
            },
        }
    }
}

impl EnvConfig {
    /// Loads `[env]` from a config file (defaults when absent) and validates it.
    pub fn load(file: &gh_core::config::ConfigFile) -> Result<Self, ReleaseError> {
        let cfg: Self = file.section("env")?.unwrap_or_default();
        let name = file
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| gh_core::config::DEFAULT_CONFIG.to_owned());
        cfg.validate(&name)?;
        Ok(cfg)
    }

    /// Checks every rule (at most one `{N}`, `{N}` in the environment only when in the label).
    pub fn validate(&self, origin: &str) -> Result<(), ReleaseError> {
        for (i, r) in self.labels.iter().enumerate() {
            let bad = |m: &str| ReleaseError::Config(format!("{origin} [env].labels[{i}]: {m}"));
            if r.label.trim().is_empty() || r.environment.trim().is_empty() {
                return Err(bad("label and environment must not be empty"));
            }
            let n = r.label.matches("{N}").count();
            if n > 1 {
                return Err(bad("at most one {N} in a label"));
            }
            if n == 0 && r.environment.contains("{N}") {
                return Err(bad("environment uses {N} but the label has none"));
            }
        }
        Ok(())
    }

    /// The rule matching `label` and the number `{N}` stood for.
    pub fn match_label(&self, label: &str) -> Option<(&LabelRule, Option<String>)> {
        self.labels
            .iter()
            .find_map(|r| match_rule(r, label).map(|n| (r, n)))
    }
}

fn match_rule(rule: &LabelRule, label: &str) -> Option<Option<String>> {
    match rule.label.split_once("{N}") {
        None => (rule.label == label).then_some(None),
        Some((pre, post)) => {
            let mid = label.strip_prefix(pre)?.strip_suffix(post)?;
            (!mid.is_empty() && mid.len() <= 6 && mid.bytes().all(|b| b.is_ascii_digit()))
                .then(|| Some(mid.to_owned()))
        }
    }
}

/// A DNS-label-safe name derived from a branch: lowercase `[a-z0-9-]`, at most 40 characters
/// (a hash suffix keeps long names distinct), never empty. The same branch name gives the
/// same namespace in every repository.
pub fn sanitise_branch(branch: &str) -> String {
    let mut out = String::new();
    for c in branch.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out = out.trim_matches('-').to_owned();
    if out.is_empty() {
        out = "branch".into();
    }
    if out.len() > 40 {
        // FNV-1a of the original name: stable, distinct for long names sharing a prefix.
        let mut h: u32 = 0x811c_9dc5;
        for b in branch.bytes() {
            h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
        }
        out.truncate(33);
        let trimmed = out.trim_end_matches('-').to_owned();
        out = format!("{trimmed}-{:06x}", h & 0xff_ffff);
    }
    out
}

/// Prefix of every preview namespace: a branch named `kube-system` (or `default`, or another
/// team's namespace) must not name an existing namespace a deploy job would then write into.
pub const NAMESPACE_PREFIX: &str = "preview-";

/// The namespace of a branch's environments: [`NAMESPACE_PREFIX`] and [`sanitise_branch`]
/// (a DNS label of at most 48 characters). The same branch name gives the same namespace in
/// every repository.
pub fn preview_namespace(branch: &str) -> String {
    format!("{NAMESPACE_PREFIX}{}", sanitise_branch(branch))
}

/// One environment a PR deploys to or undeploys from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvTarget {
    /// GitHub environment name.
    pub environment: String,
    /// Branch-derived namespace, `preview-<branch>` (shared by repositories using the same
    /// branch name; never a bare branch name).
    pub namespace: String,
    /// Head branch.
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// Head SHA.
    pub sha: String,
    /// PR number.
    pub pr: u64,
    /// The label that maps to this environment.
    pub label: String,
    /// Transient (preview) environment.
    pub transient: bool,
    /// Exclusive slot.
    pub exclusive: bool,
}

/// A QA slot taken from another PR.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Handover {
    /// The environment.
    pub environment: String,
    /// The label moved.
    pub label: String,
    /// The previous holder.
    pub from_pr: u64,
    /// The new holder.
    pub to_pr: u64,
    /// Deployment ids of the previous holder made inactive.
    pub deactivated: Vec<u64>,
}

/// What `ghops env sync` decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncPlan {
    /// `owner/name`.
    pub repo: String,
    /// PR number.
    pub pr: u64,
    /// The event action.
    pub action: String,
    /// Environments to deploy.
    pub deploy: Vec<EnvTarget>,
    /// Environments to undeploy.
    pub undeploy: Vec<EnvTarget>,
    /// Exclusive slots taken from other PRs.
    pub handovers: Vec<Handover>,
    /// Why something was not deployed (fork PR, ...).
    pub skipped: Vec<String>,
}

impl SyncPlan {
    /// The `$GITHUB_OUTPUT` values: `deploy-envs` and `undeploy-envs` as JSON matrices
    /// (`{"include": [...]}`), plus `has-deploy` / `has-undeploy`.
    pub fn outputs(&self) -> Vec<(String, String)> {
        let m = |v: &[EnvTarget]| json!({ "include": v }).to_string();
        vec![
            ("deploy-envs".into(), m(&self.deploy)),
            ("undeploy-envs".into(), m(&self.undeploy)),
            ("has-deploy".into(), (!self.deploy.is_empty()).to_string()),
            (
                "has-undeploy".into(),
                (!self.undeploy.is_empty()).to_string(),
            ),
        ]
    }
}

/// The pull_request actions `env sync` acts on.
pub const SYNC_ACTIONS: &[&str] = &[
    "labeled",
    "unlabeled",
    "synchronize",
    "reopened",
    "closed",
    "opened",
];

fn target(rule: &LabelRule, n: Option<&str>, label: &str, ev: &PullRequestEvent) -> EnvTarget {
    let pr = &ev.pull_request;
    let branch = sanitise_branch(&pr.head.ref_name);
    let namespace = preview_namespace(&pr.head.ref_name);
    let mut environment = rule.environment.replace("{branch}", &branch);
    if let Some(n) = n {
        environment = environment.replace("{N}", n);
    }
    EnvTarget {
        environment,
        namespace,
        git_ref: pr.head.ref_name.clone(),
        sha: pr.head.sha.clone(),
        pr: pr.number,
        label: label.to_owned(),
        transient: rule.transient,
        exclusive: rule.exclusive,
    }
}

fn is_fork(ev: &PullRequestEvent) -> bool {
    match &ev.pull_request.head.repo {
        Some(r) => !r.full_name.eq_ignore_ascii_case(&ev.repository.full_name),
        None => true, // head repository deleted: treat as untrusted
    }
}

/// The pure part of a sync for an open PR: every environment whose label is present is
/// deployed; every other environment the rules name (the fixed ones, plus the one whose label
/// this event removed) is undeployed. The two lists never share an environment.
pub fn plan_open(cfg: &EnvConfig, ev: &PullRequestEvent) -> (Vec<EnvTarget>, Vec<EnvTarget>) {
    let mut deploy: BTreeMap<String, EnvTarget> = BTreeMap::new();
    for l in &ev.pull_request.labels {
        if let Some((rule, n)) = cfg.match_label(&l.name) {
            let t = target(rule, n.as_deref(), &l.name, ev);
            deploy.entry(t.environment.clone()).or_insert(t);
        }
    }
    let mut undeploy: BTreeMap<String, EnvTarget> = BTreeMap::new();
    for rule in cfg.labels.iter().filter(|r| !r.label.contains("{N}")) {
        let t = target(rule, None, &rule.label, ev);
        if !deploy.contains_key(&t.environment) {
            undeploy.entry(t.environment.clone()).or_insert(t);
        }
    }
    if ev.action == "unlabeled"
        && let Some(l) = &ev.label
        && let Some((rule, n)) = cfg.match_label(&l.name)
    {
        let t = target(rule, n.as_deref(), &l.name, ev);
        if !deploy.contains_key(&t.environment) {
            undeploy.entry(t.environment.clone()).or_insert(t);
        }
    }
    (
        deploy.into_values().collect(),
        undeploy.into_values().collect(),
    )
}

/// A deployment as the API returns it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Deployment {
    /// Id.
    pub id: u64,
    /// SHA deployed.
    #[serde(default)]
    pub sha: String,
    /// Ref given at creation.
    #[serde(rename = "ref", default)]
    pub git_ref: String,
    /// Environment.
    #[serde(default)]
    pub environment: String,
    /// Payload (an object, or a JSON string for deployments made by other tools).
    #[serde(default)]
    pub payload: Value,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Creator.
    #[serde(default)]
    pub creator: Option<gh_core::events::User>,
}

impl Deployment {
    /// The payload as an object (string payloads are parsed).
    pub fn payload_obj(&self) -> Value {
        match &self.payload {
            Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
            v => v.clone(),
        }
    }

    /// The PR number recorded in the payload.
    pub fn pr(&self) -> Option<u64> {
        self.payload_obj()["pr"].as_u64()
    }
}

/// A deployment status.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct DeploymentStatus {
    /// Id.
    #[serde(default)]
    pub id: u64,
    /// `in_progress`, `success`, `failure`, `inactive`, ...
    pub state: String,
    /// Environment URL.
    #[serde(default)]
    pub environment_url: Option<String>,
    /// Log URL.
    #[serde(default)]
    pub log_url: Option<String>,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<String>,
}

fn deployments_path(repo: &RepoRef, environment: &str) -> String {
    format!(
        "{}/deployments?environment={}&per_page=100",
        repo.api_path(),
        encode_segment(environment)
    )
}

/// Every deployment of `environment`, newest first (all pages).
pub async fn list_deployments(
    gh: &GitHub,
    repo: &RepoRef,
    environment: &str,
) -> Result<Vec<Deployment>, ReleaseError> {
    Ok(gh
        .get_all(&deployments_path(repo, environment), None)
        .await?)
}

/// The latest status of a deployment (`None`: no status yet).
pub async fn latest_status(
    gh: &GitHub,
    repo: &RepoRef,
    id: u64,
) -> Result<Option<DeploymentStatus>, ReleaseError> {
    let v: Vec<DeploymentStatus> = gh
        .get(&format!(
            "{}/deployments/{id}/statuses?per_page=1",
            repo.api_path()
        ))
        .await?;
    Ok(v.into_iter().next())
}

/// Has `pr` a successful deployment in `environment`?
pub async fn pr_deployed(
    gh: &GitHub,
    repo: &RepoRef,
    environment: &str,
    pr: u64,
) -> Result<bool, ReleaseError> {
    for d in list_deployments(gh, repo, environment).await? {
        if d.pr() != Some(pr) {
            continue;
        }
        let statuses: Vec<DeploymentStatus> = gh
            .get_all(
                &format!(
                    "{}/deployments/{}/statuses?per_page=100",
                    repo.api_path(),
                    d.id
                ),
                None,
            )
            .await?;
        if statuses.iter().any(|s| s.state == "success") {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Marks `inactive` every deployment of `environment` (only those of PR `pr` when given),
/// paging through ALL of them and skipping those already inactive. Returns the ids changed.
pub async fn deactivate(
    gh: &GitHub,
    repo: &RepoRef,
    environment: &str,
    pr: Option<u64>,
) -> Result<Vec<u64>, ReleaseError> {
    let mut done = Vec::new();
    for d in list_deployments(gh, repo, environment).await? {
        if pr.is_some() && d.pr() != pr {
            continue;
        }
        match latest_status(gh, repo, d.id).await? {
            Some(s) if s.state == "inactive" => continue,
            _ => {}
        }
        gh.post::<Value>(
            &format!("{}/deployments/{}/statuses", repo.api_path(), d.id),
            &json!({ "state": "inactive", "description": "undeployed by ghops" }),
            Idempotency::Idempotent,
        )
        .await?;
        done.push(d.id);
    }
    Ok(done)
}

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

/// A deployment state `env record` may set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeployState {
    /// Deploying.
    InProgress,
    /// Deployed.
    Success,
    /// Failed.
    Failure,
    /// Undeployed.
    Inactive,
}

impl DeployState {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeployState::InProgress => "in_progress",
            DeployState::Success => "success",
            DeployState::Failure => "failure",
            DeployState::Inactive => "inactive",
        }
    }
}

impl std::str::FromStr for DeployState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "in_progress" => DeployState::InProgress,
            "success" => DeployState::Success,
            "failure" => DeployState::Failure,
            "inactive" => DeployState::Inactive,
            o => {
                return Err(format!(
                    "unknown state `{o}` (in_progress|success|failure|inactive)"
                ));
            }
        })
    }
}

/// What `env record` is asked to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRequest {
    /// Environment.
    pub environment: String,
    /// State.
    pub state: DeployState,
    /// Commit SHA (40 hex).
    pub sha: String,
    /// Branch (kept in the payload).
    pub git_ref: String,
    /// PR number, when deploying a PR.
    pub pr: Option<u64>,
    /// Who triggered it.
    pub actor: String,
    /// Transient (preview) environment.
    pub transient: bool,
    /// Environment URL.
    pub url: Option<String>,
    /// Log URL.
    pub log_url: Option<String>,
}

/// What `env record` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordOutcome {
    /// The deployment (`None` in `--dry-run` when it would be created, or nothing to do).
    pub deployment_id: Option<u64>,
    /// A deployment was created.
    pub created: bool,
    /// A status was added.
    pub status_added: bool,
    /// Deployments made inactive (state `inactive`).
    pub deactivated: Vec<u64>,
}

/// Checks a value for the `--sha` flag.
pub fn validate_sha(sha: &str) -> Result<(), ReleaseError> {
    if sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(ReleaseError::Config(format!(
            "--sha: `{sha}` is not a 40-character commit SHA"
        )))
    }
}

fn check_url(flag: &str, u: &Option<String>) -> Result<(), ReleaseError> {
    match u {
        Some(u) if !(u.starts_with("https://") || u.starts_with("http://")) => Err(
            ReleaseError::Config(format!("{flag}: `{u}` is not an http(s) URL")),
        ),
        _ => Ok(()),
    }
}

/// Finds the deployment of (environment, SHA), if any.
pub async fn find_deployment(
    gh: &GitHub,
    repo: &RepoRef,
    environment: &str,
    sha: &str,
) -> Result<Option<Deployment>, ReleaseError> {
    let v: Vec<Deployment> = gh
        .get_all(
            &format!(
                "{}/deployments?environment={}&sha={sha}&per_page=100",
                repo.api_path(),
                encode_segment(environment)
            ),
            None,
        )
        .await?;
    Ok(v.into_iter().find(|d| d.sha.eq_ignore_ascii_case(sha)))
}

/// Is this a production environment (`production`, `prod`, `production-eu`, ...)?
pub fn is_production(environment: &str) -> bool {
    let e = environment.to_ascii_lowercase();
    e == "prod" || e == "production" || e.starts_with("production-") || e.starts_with("prod-")
}

/// Creates the deployment of (environment, SHA) with `payload` (`production_environment`
/// set by [`is_production`]).
pub async fn create_deployment(
    gh: &GitHub,
    repo: &RepoRef,
    environment: &str,
    sha: &str,
    transient: bool,
    payload: Value,
) -> Result<Option<Deployment>, ReleaseError> {
    Ok(gh
        .post::<Deployment>(
            &format!("{}/deployments", repo.api_path()),
            &json!({
                "ref": sha,
                "environment": environment,
                "auto_merge": false,
                "required_contexts": [],
                "transient_environment": transient,
                "production_environment": is_production(environment),
                "payload": payload,
                "description": "ghops",
            }),
            Idempotency::NonIdempotent,
        )
        .await?)
}

/// GitHub answers `""` for a URL never given: the same as none.
fn nonempty(u: &Option<String>) -> Option<&str> {
    u.as_deref().filter(|u| !u.is_empty())
}

/// `ghops env record`: one deployment per (environment, SHA), created on first use, and a
/// status unless the latest already says the same; `inactive` deactivates every deployment
/// of the environment (of the PR when given).
pub async fn record(
    gh: &GitHub,
    repo: &RepoRef,
    req: &RecordRequest,
) -> Result<RecordOutcome, ReleaseError> {
    validate_sha(&req.sha)?;
    check_url("--url", &req.url)?;
    check_url("--log-url", &req.log_url)?;
    let mut out = RecordOutcome {
        deployment_id: None,
        created: false,
        status_added: false,
        deactivated: Vec::new(),
    };
    if req.state == DeployState::Inactive {
        out.deactivated = deactivate(gh, repo, &req.environment, req.pr).await?;
        return Ok(out);
    }
    let existing = find_deployment(gh, repo, &req.environment, &req.sha).await?;
    let dep = match existing {
        Some(d) => d,
        None => {
            let payload = json!({
                "pr": req.pr,
                "sha": req.sha,
                "ref": req.git_ref,
                "actor": req.actor,
            });
            out.created = true;
            match create_deployment(gh, repo, &req.environment, &req.sha, req.transient, payload)
                .await?
            {
                Some(d) => d,
                None => return Ok(out), // dry-run
            }
        }
    };
    out.deployment_id = Some(dep.id);
    if !out.created
        && let Some(s) = latest_status(gh, repo, dep.id).await?
        && s.state == req.state.as_str()
        && nonempty(&s.environment_url) == req.url.as_deref()
        && nonempty(&s.log_url) == req.log_url.as_deref()
    {
        return Ok(out);
    }
    let mut body = json!({ "state": req.state.as_str(), "auto_inactive": !req.transient });
    if let Some(u) = &req.url {
        body["environment_url"] = json!(u);
    }
    if let Some(u) = &req.log_url {
        body["log_url"] = json!(u);
    }
    gh.post::<Value>(
        &format!("{}/deployments/{}/statuses", repo.api_path(), dep.id),
        &body,
        Idempotency::Idempotent,
    )
    .await?;
    out.status_added = true;
    Ok(out)
}

/// One row of `ghops env status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvRow {
    /// Environment.
    pub environment: String,
    /// PR number from the latest deployment's payload.
    pub pr: Option<u64>,
    /// SHA of the latest deployment.
    pub sha: Option<String>,
    /// Latest status (`none` when the deployment has none, `-` without a deployment).
    pub state: String,
    /// Environment URL.
    pub url: Option<String>,
    /// Age of the latest status (or deployment), e.g. `3h`.
    pub age: Option<String>,
}

#[derive(Deserialize)]
struct Environment {
    name: String,
}

/// A compact age: `45s`, `12m`, `3h`, `5d`.
pub fn age(since: &str, now: DateTime<Utc>) -> Option<String> {
    let t = DateTime::parse_from_rfc3339(since)
        .ok()?
        .with_timezone(&Utc);
    let s = (now - t).num_seconds().max(0);
    Some(match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    })
}

/// `ghops env status`: for every environment of the repository, its latest deployment.
pub async fn status(
    gh: &GitHub,
    repo: &RepoRef,
    now: DateTime<Utc>,
) -> Result<Vec<EnvRow>, ReleaseError> {
    let envs: Vec<Environment> = gh
        .get_all(
            &format!("{}/environments?per_page=100", repo.api_path()),
            Some("environments"),
        )
        .await?;
    let mut rows = Vec::new();
    for e in envs {
        let latest: Vec<Deployment> = gh
            .get(&format!(
                "{}/deployments?environment={}&per_page=1",
                repo.api_path(),
                encode_segment(&e.name)
            ))
            .await?;
        let Some(d) = latest.into_iter().next() else {
            rows.push(EnvRow {
                environment: e.name,
                pr: None,
                sha: None,
                state: "-".into(),
                url: None,
                age: None,
            });
            continue;
        };
        let s = latest_status(gh, repo, d.id).await?;
        let when = s
            .as_ref()
            .and_then(|s| s.created_at.clone())
            .or(d.created_at.clone());
        rows.push(EnvRow {
            environment: e.name,
            pr: d.pr(),
            sha: Some(d.sha.chars().take(7).collect()),
            state: s.as_ref().map_or("none".into(), |s| s.state.clone()),
            url: s.and_then(|s| s.environment_url),
            age: when.and_then(|w| age(&w, now)),
        });
    }
    Ok(rows)
}

/// [`status`] as of now.
pub async fn status_now(gh: &GitHub, repo: &RepoRef) -> Result<Vec<EnvRow>, ReleaseError> {
    status(gh, repo, Utc::now()).await
}

/// Renders rows as an aligned text table.
pub fn render_table(rows: &[EnvRow]) -> String {
    let header = ["ENVIRONMENT", "PR", "SHA", "STATE", "URL", "AGE"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.environment.clone(),
                r.pr.map_or("-".into(), |p| format!("#{p}")),
                r.sha.clone().unwrap_or_else(|| "-".into()),
                r.state.clone(),
                r.url.clone().unwrap_or_else(|| "-".into()),
                r.age.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let mut w = header.map(str::len);
    for c in &cells {
        for (i, v) in c.iter().enumerate() {
            w[i] = w[i].max(v.chars().count());
        }
    }
    let line = |vals: [&str; 6]| {
        let mut s = String::new();
        for (i, v) in vals.iter().enumerate() {
            if i == 5 {
                s.push_str(v);
            } else {
                s.push_str(&format!("{v:<width$}  ", width = w[i]));
            }
        }
        s.trim_end().to_owned() + "\n"
    };
    let mut out = line(header);
    for c in &cells {
        out.push_str(&line([&c[0], &c[1], &c[2], &c[3], &c[4], &c[5]]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitises_branches() {
        assert_eq!(sanitise_branch("feature/Login-Page"), "feature-login-page");
        assert_eq!(sanitise_branch("--$(rm -rf)/${{x}}"), "rm-rf-x");
        assert_eq!(sanitise_branch("///"), "branch");
        let long = sanitise_branch(&"a".repeat(100));
        assert_eq!(long.len(), 40);
        assert_ne!(long, sanitise_branch(&"a".repeat(101)));
    }

    #[test]
    fn namespaces_are_prefixed() {
        // Issue 19 #15: a branch named kube-system gave the namespace kube-system.
        assert_eq!(preview_namespace("kube-system"), "preview-kube-system");
        assert_eq!(preview_namespace("default"), "preview-default");
        assert_eq!(preview_namespace("///"), "preview-branch");
        assert_eq!(preview_namespace(&"a".repeat(100)).len(), 48);
    }

    #[test]
    fn matches_labels() {
        let c = EnvConfig::default();
        assert_eq!(c.match_label("deploy").unwrap().1, None);
        assert_eq!(
            c.match_label("deploy/qa12").unwrap().1.as_deref(),
            Some("12")
        );
        assert!(c.match_label("deploy/qa").is_none());
        assert!(c.match_label("deploy/qa1x").is_none());
        assert!(c.match_label("bug").is_none());
    }

    #[test]
    fn validates_rules() {
        let mut c = EnvConfig::default();
        c.labels[0].environment = "x-{N}".into();
        let e = c.validate("ghops.toml").unwrap_err().to_string();
        assert!(e.contains("ghops.toml [env].labels[0]"), "{e}");
    }

    #[test]
    fn production_names() {
        assert!(
            is_production("production") && is_production("Prod") && is_production("production-eu")
        );
        assert!(!is_production("preview-production-fix") && !is_production("qa1"));
    }

    #[test]
    fn ages() {
        let now = DateTime::parse_from_rfc3339("2026-01-02T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(age("2026-01-01T23:59:30Z", now).as_deref(), Some("30s"));
        assert_eq!(age("2026-01-01T21:00:00Z", now).as_deref(), Some("3h"));
        assert_eq!(age("2025-12-30T00:00:00Z", now).as_deref(), Some("3d"));
        assert_eq!(age("garbage", now), None);
    }
}
