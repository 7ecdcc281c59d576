//! What a release command settles before it acts, the same way for every caller: which
//! drafter configuration applies (a release-drafter YAML file, else `[release]` of
//! `ghops.toml`) and its `_extends` chain, the branch a draft is for, and the branch a hotfix
//! reintegrates into. Warnings come back as values; the caller shows them.
//!
//! ```no_run
//! use release_flow::resolve::{LocalConfig, draft_target};
//!
//! # async fn run(gh: gh_core::GitHub, repo: gh_core::RepoRef) -> Result<(), release_flow::ReleaseError> {
//! let mut local = LocalConfig::read(None, || gh_core::config::ConfigFile::load(None)
//!     .map_err(release_flow::ReleaseError::from))?;
//! local.resolve_extends(&gh, &repo).await?;
//! let run = gh_core::actions::RunEnv::from_env();
//! let target = draft_target(&gh, &repo, &local.config, None, &run).await?;
//! println!("drafting for {target}; warnings: {:?}", local.warnings);
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};

use gh_core::actions::RunEnv;
use gh_core::config::ConfigFile;
use gh_core::events::PushEvent;
use gh_core::{GitHub, RepoRef};

use crate::config::{DrafterConfig, Source};
use crate::error::ReleaseError;
use crate::push::{PushTarget, push_target};

/// release-drafter's config file, relative to the repository root.
pub const DEFAULT_DRAFTER_FILE: &str = ".github/release-drafter.yml";

/// The release-drafter YAML to read, if any: `explicit`, else [`DEFAULT_DRAFTER_FILE`] when it
/// exists (relative to the current directory).
pub fn drafter_file(explicit: Option<&Path>) -> Option<PathBuf> {
    let default = PathBuf::from(DEFAULT_DRAFTER_FILE);
    explicit
        .map(Path::to_path_buf)
        .or_else(|| default.exists().then_some(default))
}

/// A drafter configuration read from local files, with the warnings about it (keys ghops
/// does not honour).
#[derive(Debug, Clone)]
pub struct LocalConfig {
    /// The configuration.
    pub config: DrafterConfig,
    /// Where it came from.
    pub source: Source,
    /// Every warning so far, in order.
    pub warnings: Vec<String>,
    /// The YAML file's name and text, for `_extends`.
    yaml: Option<(String, String)>,
}

impl LocalConfig {
    /// Reads the release-drafter YAML ([`drafter_file`] of `explicit`) or, when there is none,
    /// `[release]` of the `ghops.toml` that `ghops_toml` loads (only called then).
    pub fn read<E: From<ReleaseError>>(
        explicit: Option<&Path>,
        ghops_toml: impl FnOnce() -> Result<ConfigFile, E>,
    ) -> Result<Self, E> {
        match drafter_file(explicit) {
            Some(f) => Ok(Self::from_yaml_file(&f)?),
            None => Ok(Self::from_ghops_toml(&ghops_toml()?)?),
        }
    }

    /// Reads a release-drafter YAML file; an unreadable file is a config error naming it.
    pub fn from_yaml_file(path: &Path) -> Result<Self, ReleaseError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ReleaseError::Config(format!("{name}: {e}")))?;
        let (config, warnings) = DrafterConfig::from_yaml(&text, &name)?;
        Ok(Self {
            config,
            source: Source::ReleaseDrafter,
            warnings,
            yaml: Some((name, text)),
        })
    }

    /// Reads `[release]` of `ghops.toml` ([`DrafterConfig::from_ghops_toml`]).
    pub fn from_ghops_toml(file: &ConfigFile) -> Result<Self, ReleaseError> {
        let (config, warnings) = DrafterConfig::from_ghops_toml(file)?;
        Ok(Self {
            config,
            source: Source::Ghops,
            warnings,
            yaml: None,
        })
    }

    /// Resolves the YAML's `_extends` through the API ([`crate::config::load`]); nothing to do
    /// (and no request) without one. Returns the warnings not already in
    /// [`LocalConfig::warnings`] (the base's keys), which it also appends there.
    pub async fn resolve_extends(
        &mut self,
        gh: &GitHub,
        repo: &RepoRef,
    ) -> Result<Vec<String>, ReleaseError> {
        let Some((name, text)) = self.yaml.as_ref().filter(|_| self.config.extends.is_some())
        else {
            return Ok(Vec::new());
        };
        let (config, warnings) =
            crate::config::load(gh, repo, text, name, DEFAULT_DRAFTER_FILE).await?;
        self.config = config;
        let new: Vec<String> = warnings
            .into_iter()
            .filter(|w| !self.warnings.contains(w))
            .collect();
        self.warnings.extend(new.iter().cloned());
        Ok(new)
    }
}

/// The branch a draft is for without asking the API, as release-drafter picks it: `explicit`,
/// else the config's `commitish` (a tag is never a target), else under Actions the branch the
/// run is for. `None`: the repository's default branch ([`draft_target`] reads it).
pub fn local_draft_target(
    explicit: Option<String>,
    cfg: &DrafterConfig,
    run: &RunEnv,
) -> Option<String> {
    explicit
        .or_else(|| Some(cfg.commitish.clone()).filter(|c| !c.is_empty()))
        .filter(|t| !t.starts_with("refs/tags/"))
        .or_else(|| run.branch().map(str::to_owned))
}

/// [`local_draft_target`], else the repository's default branch (one read).
pub async fn draft_target(
    gh: &GitHub,
    repo: &RepoRef,
    cfg: &DrafterConfig,
    explicit: Option<String>,
    run: &RunEnv,
) -> Result<String, ReleaseError> {
    match local_draft_target(explicit, cfg, run) {
        Some(t) => Ok(t),
        None => crate::github::default_branch(gh, repo).await,
    }
}

/// Where `ghops release hotfix` acts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HotfixTarget {
    /// The repository.
    pub repo: RepoRef,
    /// The `release/*` branch.
    pub branch: String,
    /// Where the reintegration PR goes; `None`: the default branch ([`HotfixTarget::main`]).
    pub main: Option<String>,
}

impl HotfixTarget {
    /// A named branch: reintegration into `main`, else the config's `commitish`.
    pub fn new(repo: RepoRef, branch: String, main: Option<String>, cfg: &DrafterConfig) -> Self {
        let main = main.or_else(|| Some(cfg.commitish.clone()).filter(|c| !c.is_empty()));
        Self { repo, branch, main }
    }

    /// From a `push` event, by the rule `ghops serve` follows ([`push_target`]):
    /// `Ok(Err(why))` when the push is not to a `release/*` branch (or deleted, or a tag).
    /// Reintegration into `main`, else the config's `commitish`, else the event repository's
    /// default branch.
    pub fn from_event(
        cfg: &DrafterConfig,
        event: &PushEvent,
        main: Option<String>,
    ) -> Result<Result<Self, String>, ReleaseError> {
        Ok(match push_target(cfg, event)? {
            PushTarget::Hotfix {
                repo,
                branch,
                main: m,
            } => Ok(Self::new(repo, branch, main.or(Some(m)), cfg)),
            PushTarget::Draft { branch, .. } => {
                Err(format!("push to {branch}, not a release/* branch"))
            }
            PushTarget::Ignored(why) => Err(why),
        })
    }

    /// The branch reintegration goes to: [`HotfixTarget::main`] when set, else the
    /// repository's default branch (one read).
    pub async fn main(&self, gh: &GitHub) -> Result<String, ReleaseError> {
        match &self.main {
            Some(m) => Ok(m.clone()),
            None => crate::github::default_branch(gh, &self.repo).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(in_actions: bool, git_ref: &str) -> RunEnv {
        RunEnv {
            in_actions,
            git_ref: Some(git_ref.into()),
            ..RunEnv::default()
        }
    }

    #[test]
    fn draft_target_order() {
        let mut cfg = DrafterConfig::default();
        let dev = run(true, "refs/heads/develop");
        assert_eq!(
            local_draft_target(Some("x".into()), &cfg, &dev).as_deref(),
            Some("x")
        );
        assert_eq!(
            local_draft_target(None, &cfg, &dev).as_deref(),
            Some("develop")
        );
        assert_eq!(
            local_draft_target(None, &cfg, &run(false, "refs/heads/develop")),
            None
        );
        assert_eq!(
            local_draft_target(None, &cfg, &run(true, "refs/tags/v1")),
            None
        );
        cfg.commitish = "trunk".into();
        assert_eq!(
            local_draft_target(None, &cfg, &dev).as_deref(),
            Some("trunk")
        );
        // A tag is never a draft's target, given or configured.
        cfg.commitish = "refs/tags/v1".into();
        assert_eq!(
            local_draft_target(None, &cfg, &dev).as_deref(),
            Some("develop")
        );
    }

    #[test]
    fn hotfix_main_from_flag_then_commitish() {
        let mut cfg = DrafterConfig::default();
        let repo: RepoRef = "o/r".parse().unwrap();
        let t = HotfixTarget::new(repo.clone(), "release/1.0.0".into(), None, &cfg);
        assert_eq!(t.main, None);
        cfg.commitish = "trunk".into();
        let t = HotfixTarget::new(repo.clone(), "release/1.0.0".into(), None, &cfg);
        assert_eq!(t.main.as_deref(), Some("trunk"));
        let t = HotfixTarget::new(repo, "release/1.0.0".into(), Some("dev".into()), &cfg);
        assert_eq!(t.main.as_deref(), Some("dev"));
    }

    #[test]
    fn yaml_file_errors_name_the_file() {
        let e = LocalConfig::from_yaml_file(Path::new("/nonexistent/drafter.yml")).unwrap_err();
        assert!(
            matches!(&e, ReleaseError::Config(m) if m.starts_with("/nonexistent/drafter.yml: "))
        );
    }
}
