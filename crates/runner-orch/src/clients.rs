//! The GitHub clients the orchestrator acts with, one per account.
//!
//! A token acts for every account it can reach, so one client serves every pool. A GitHub App
//! is installed per account (organisation or user): pools in `org-a` and `org-b` need a client
//! of each installation, or the reconcile pass of one of them fails with 404s.

use std::collections::HashMap;

use gh_core::RepoRef;
use gh_core::client::{GitHub, InstallationTarget, Installations};

use crate::config::{RunnersConfig, Scope};

/// GitHub clients by account (case-insensitive login), with a default for accounts not
/// listed (the only client when acting with a token).
#[derive(Clone)]
pub struct Clients {
    default: GitHub,
    by_owner: HashMap<String, GitHub>,
}

impl std::fmt::Debug for Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clients")
            .field("accounts", &self.by_owner.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Clients {
    /// One client for every account (a token, or a single installation).
    pub fn single(gh: &GitHub) -> Self {
        Self {
            default: gh.clone(),
            by_owner: HashMap::new(),
        }
    }

    /// The clients the pools of `cfg` need. With GitHub App credentials, one installation per
    /// account the pools serve (`GET /orgs/{org}/installation` for an organisation scope, else
    /// `GET /repos/{owner}/{repo}/installation` for the account's first listed repository), in
    /// pool order, the first being the default; otherwise the one client of a token (or of
    /// the App itself). The clients come from `installations` (and stay in its cache).
    pub async fn connect(
        installations: &Installations,
        cfg: &RunnersConfig,
    ) -> gh_core::Result<Self> {
        let targets = installation_targets(cfg);
        if !installations.is_app() || targets.is_empty() {
            return Ok(Self::single(&installations.client(None).await?));
        }
        let mut by_owner = HashMap::new();
        let mut default = None;
        for (owner, target) in targets {
            let gh = installations.for_target(target).await?;
            default.get_or_insert_with(|| gh.clone());
            by_owner.insert(owner, gh);
        }
        Ok(Self {
            default: default.expect("at least one target"),
            by_owner,
        })
    }

    /// The client for an account.
    pub fn for_owner(&self, owner: &str) -> &GitHub {
        self.by_owner
            .get(&owner.to_ascii_lowercase())
            .unwrap_or(&self.default)
    }

    /// The client for a repository's account.
    pub fn for_repo(&self, repo: &RepoRef) -> &GitHub {
        self.for_owner(&repo.owner)
    }

    /// The client for a runner scope's account.
    pub fn for_scope(&self, scope: &Scope) -> &GitHub {
        match scope {
            Scope::Org(o) => self.for_owner(o),
            Scope::Repo(r) => self.for_repo(r),
        }
    }

    /// Requests sent so far by all the clients (each retry counts, a 304 too).
    pub fn request_count(&self) -> u64 {
        if self.by_owner.is_empty() {
            self.default.request_count()
        } else {
            // The default is one of them.
            self.by_owner.values().map(GitHub::request_count).sum()
        }
    }

    /// The lowest rate-limit budget any of the clients saw (the one that runs out first).
    pub fn lowest_rate_limit(&self) -> Option<gh_core::client::RateLimit> {
        std::iter::once(&self.default)
            .chain(self.by_owner.values())
            .filter_map(GitHub::rate_limit)
            .min_by_key(|r| r.remaining)
    }

    /// The default client (the first account's, or the only one).
    pub fn default_client(&self) -> &GitHub {
        &self.default
    }
}

/// One installation target per account the pools serve (lower-case login), in pool order: the
/// organisation when a pool registers runners there, else the account's first repository
/// (a user account has no `/orgs/{org}/installation`).
pub fn installation_targets(cfg: &RunnersConfig) -> Vec<(String, InstallationTarget)> {
    let mut out: Vec<(String, InstallationTarget)> = Vec::new();
    let mut add = |owner: &str, t: InstallationTarget| {
        let key = owner.to_ascii_lowercase();
        match out.iter_mut().find(|(o, _)| *o == key) {
            // An organisation scope names the account's installation most directly.
            Some((_, existing @ InstallationTarget::Repo(_)))
                if matches!(t, InstallationTarget::Org(_)) =>
            {
                *existing = t;
            }
            Some(_) => {}
            None => out.push((key, t)),
        }
    };
    for pool in &cfg.pools {
        for scope in pool.scopes() {
            match scope {
                Scope::Org(o) => add(&o.clone(), InstallationTarget::Org(o)),
                Scope::Repo(r) => add(&r.owner.clone(), InstallationTarget::Repo(r)),
            }
        }
        for r in pool.repo_refs() {
            add(&r.owner.clone(), InstallationTarget::Repo(r));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(toml: &str) -> RunnersConfig {
        let file = gh_core::config::ConfigFile::parse(toml, None).unwrap();
        RunnersConfig::from_file(&file).unwrap()
    }

    #[test]
    fn one_target_per_account_preferring_the_organisation() {
        let c = cfg(r#"
[[runners.pools]]
name = "a"
labels = ["self-hosted"]
repos = ["Octo-Org/app", "someuser/tool", "octo-org/lib"]

[[runners.pools]]
name = "b"
labels = ["self-hosted", "gpu"]
org = "octo-org"
repos = ["ml"]

[[runners.pools]]
name = "c"
labels = ["self-hosted", "big"]
repos = ["other/x"]
"#);
        let t = installation_targets(&c);
        assert_eq!(
            t,
            vec![
                (
                    "octo-org".to_owned(),
                    InstallationTarget::Org("octo-org".into())
                ),
                (
                    "someuser".to_owned(),
                    InstallationTarget::Repo("someuser/tool".parse().unwrap())
                ),
                (
                    "other".to_owned(),
                    InstallationTarget::Repo("other/x".parse().unwrap())
                ),
            ]
        );
    }
}
