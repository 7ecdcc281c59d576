//! The `[env]` section of `ghops.toml`: label → environment rules and policies.

use gh_core::permission::{Permission, Policy};
use serde::{Deserialize, Serialize};

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

impl gh_core::config::Section for EnvConfig {
    const NAME: &'static str = "env";
    type Error = ReleaseError;
    fn validate(&mut self, origin: &str) -> Result<(), ReleaseError> {
        EnvConfig::validate(self, origin)
    }
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
    /// What a promotion must prove besides the approver's permission (`[env.promote]`).
    pub promote: crate::gate::Promotion,
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
            promote: crate::gate::Promotion::default(),
        }
    }
}

impl EnvConfig {
    /// Loads `[env]` from a config file (defaults when absent) and validates it.
    pub fn load(file: &gh_core::config::ConfigFile) -> Result<Self, ReleaseError> {
        file.load_section()
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
