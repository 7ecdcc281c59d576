//! The pure part of a sync: which environments a PR's labels name.

use std::collections::BTreeMap;

use gh_core::events::PullRequestEvent;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::config::{EnvConfig, LabelRule};

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
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

pub(super) fn target(
    rule: &LabelRule,
    n: Option<&str>,
    label: &str,
    ev: &PullRequestEvent,
) -> EnvTarget {
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

pub(super) fn is_fork(ev: &PullRequestEvent) -> bool {
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
