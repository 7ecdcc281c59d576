//! The agent's configuration: the `[agent]` section of `ghops.toml`, the flags that win over
//! it, the defaults, and the invariants — resolved once, by one constructor that `ghops agent
//! run` and `ghops serve` both use, into targets and options with **absolute** paths (hooks
//! run with the hooks directory as their working directory, so every path they are given must
//! not depend on it).

use std::path::{Path, PathBuf};
use std::time::Duration;

use gh_core::RepoRef;
use gh_core::client::{InstallationTarget, Installations};
use gh_core::config::parse_duration;
use serde::Deserialize;
use tokio::sync::watch;

use crate::agent::{AgentOptions, Policy, Target, default_agent_id};
use crate::error::AgentError;
use crate::journal::Journal;
use crate::service::Schedule;

/// Default poll interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
/// Default per-hook timeout.
pub const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Default time between TERM and KILL.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);
/// Default hooks directory (relative to the working directory).
pub const DEFAULT_HOOKS_DIR: &str = "hooks";
/// Default journal directory (relative to the working directory).
pub const DEFAULT_STATE_DIR: &str = ".ghops-agent/state";
/// Default hook log directory (relative to the working directory).
pub const DEFAULT_LOG_DIR: &str = ".ghops-agent/logs";
/// Hook log size cap per deployment.
pub const LOG_CAP: u64 = 10 * 1024 * 1024;
/// Tries of `agent create` while GitHub answers 202 (required contexts pending).
pub const CREATE_ATTEMPTS: u32 = 5;
/// First delay between those tries (grows linearly).
pub const CREATE_RETRY_DELAY: Duration = Duration::from_secs(3);
/// Poll interval of `agent create --wait`.
pub const CREATE_WAIT_POLL: Duration = Duration::from_secs(5);

/// One `[[agent.targets]]` entry.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// `owner/name`.
    pub repo: String,
    /// Environment.
    pub environment: String,
    /// Hooks directory (default: `--hooks-dir`).
    #[serde(default)]
    pub hooks_dir: Option<PathBuf>,
    /// Policy (default: `--policy`).
    #[serde(default)]
    pub policy: Option<Policy>,
    /// Per-hook timeout of this target (`30m`).
    #[serde(default)]
    pub hook_timeout: Option<String>,
}

/// Decoded alone: its checks need the command line's flags ([`AgentConfig::resolve`]).
impl gh_core::config::Section for AgentSection {
    const NAME: &'static str = "agent";
    type Error = AgentError;
}

/// `[agent]` in `ghops.toml` (flags win over it; `ghops serve` uses it alone).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct AgentSection {
    /// `[[agent.targets]]`.
    pub targets: Vec<TargetConfig>,
    /// Identity written in statuses (default: the host name).
    pub agent_id: Option<String>,
    /// Poll interval (`30s`).
    pub interval: Option<String>,
    /// Per-hook timeout (`30m`).
    pub hook_timeout: Option<String>,
    /// Journal directory.
    pub state_dir: Option<PathBuf>,
    /// Hook log directory.
    pub log_dir: Option<PathBuf>,
    /// Status `log_url`: `{id}`, `{repo}`, `{environment}` are replaced.
    pub log_url_template: Option<String>,
    /// Run hooks as this user (`name`, `uid` or `uid:gid`; the agent runs as root to switch).
    pub user: Option<String>,
    /// github-deploy-agent compatibility (see [`AgentOptions::legacy_env`]).
    pub legacy_env: Option<bool>,
}

/// What the command line sets; each field wins over `[agent]`.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// The repository of `environments`.
    pub repo: Option<RepoRef>,
    /// One target per environment of `repo`.
    pub environments: Vec<String>,
    /// Hooks directory (also the default of `[[agent.targets]]`).
    pub hooks_dir: Option<PathBuf>,
    /// Policy (also the default of `[[agent.targets]]`).
    pub policy: Option<Policy>,
    /// Poll interval.
    pub interval: Option<Duration>,
    /// One pass, then exit.
    pub once: bool,
    /// Identity.
    pub agent_id: Option<String>,
    /// Per-hook timeout.
    pub hook_timeout: Option<Duration>,
    /// Between TERM and KILL.
    pub grace: Option<Duration>,
    /// Journal directory.
    pub state_dir: Option<PathBuf>,
    /// Hook log directory.
    pub log_dir: Option<PathBuf>,
    /// Status `log_url` template.
    pub log_url_template: Option<String>,
    /// github-deploy-agent compatibility.
    pub legacy_env: bool,
    /// Run this deployment again.
    pub redeploy: Option<u64>,
}

/// A resolved agent: what [`crate::Agent::spawn`] takes.
#[derive(Debug)]
pub struct AgentConfig {
    /// The targets (no two with one repository and environment); may be empty.
    pub targets: Vec<Target>,
    /// The options (absolute paths).
    pub options: AgentOptions,
    /// The journal's directory (absolute).
    pub state_dir: PathBuf,
    /// When passes happen.
    pub schedule: Schedule,
}

fn duration(field: &str, v: &Option<String>) -> Result<Option<Duration>, AgentError> {
    v.as_deref()
        .map(|s| {
            parse_duration(s).map_err(|e| AgentError::Config(format!("ghops.toml {field}: {e}")))
        })
        .transpose()
}

fn absolute(cwd: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        // Lexically: `./hooks` → `<cwd>/hooks` (no symlink resolution; the folder may not
        // exist yet for state and logs).
        cwd.join(p.strip_prefix(".").unwrap_or(p))
    }
}

impl AgentConfig {
    /// Resolves `[agent]` and the flags against `cwd` (the agent's working directory): every
    /// relative path becomes absolute here, once. Refuses a target listed twice (one deploy at
    /// a time per repository and environment), a hooks directory that does not exist, a bad
    /// duration or user (each error names its place).
    pub fn resolve(
        section: &AgentSection,
        flags: &Flags,
        cwd: &Path,
        cancel: watch::Receiver<bool>,
    ) -> Result<AgentConfig, AgentError> {
        let default_hooks = flags
            .hooks_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_HOOKS_DIR));
        let default_policy = flags.policy.unwrap_or_default();
        let mut targets = Vec::new();
        if !flags.environments.is_empty() {
            let repo = flags.repo.clone().ok_or_else(|| {
                AgentError::Config("--environment needs --repo (or GITHUB_REPOSITORY)".into())
            })?;
            for env in &flags.environments {
                targets.push(Target {
                    repo: repo.clone(),
                    environment: env.clone(),
                    hooks_dir: absolute(cwd, &default_hooks),
                    policy: default_policy,
                    hook_timeout: None,
                });
            }
        }
        let key = |repo: &RepoRef, env: &str| (repo.to_string().to_lowercase(), env.to_owned());
        let from_flags: Vec<_> = targets
            .iter()
            .map(|t: &Target| key(&t.repo, &t.environment))
            .collect();
        for (i, t) in section.targets.iter().enumerate() {
            let repo: RepoRef = t.repo.parse().map_err(|e: gh_core::Error| {
                AgentError::Config(format!("ghops.toml [[agent.targets]][{i}].repo: {e}"))
            })?;
            if from_flags.contains(&key(&repo, &t.environment)) {
                // The flags name this target: they win over its entry in the file.
                continue;
            }
            targets.push(Target {
                repo,
                environment: t.environment.clone(),
                hooks_dir: absolute(cwd, t.hooks_dir.as_deref().unwrap_or(&default_hooks)),
                policy: t.policy.unwrap_or(default_policy),
                hook_timeout: duration(
                    &format!("[[agent.targets]][{i}].hook_timeout"),
                    &t.hook_timeout,
                )?,
            });
        }
        let mut seen = std::collections::BTreeSet::new();
        for t in &targets {
            if !seen.insert(key(&t.repo, &t.environment)) {
                return Err(AgentError::Config(format!(
                    "target {} {} is listed twice (one deploy at a time per target)",
                    t.repo, t.environment
                )));
            }
            if !t.hooks_dir.is_dir() {
                return Err(AgentError::Config(format!(
                    "hooks dir {} (target {} {}): not a directory",
                    t.hooks_dir.display(),
                    t.repo,
                    t.environment
                )));
            }
        }
        let run_as = section
            .user
            .as_deref()
            .map(|u| {
                gh_core::hardening::RunAs::resolve(u)
                    .map_err(|e| AgentError::Config(format!("ghops.toml [agent] user: {e}")))
            })
            .transpose()?;
        let hook_timeout = match flags.hook_timeout {
            Some(t) => t,
            None => duration("[agent] hook_timeout", &section.hook_timeout)?
                .unwrap_or(DEFAULT_HOOK_TIMEOUT),
        };
        let interval = match flags.interval {
            Some(i) => i,
            None => duration("[agent] interval", &section.interval)?.unwrap_or(DEFAULT_INTERVAL),
        };
        let path_or = |flag: &Option<PathBuf>, file: &Option<PathBuf>, default: &str| {
            absolute(
                cwd,
                flag.as_deref()
                    .or(file.as_deref())
                    .unwrap_or(Path::new(default)),
            )
        };
        let state_dir = path_or(&flags.state_dir, &section.state_dir, DEFAULT_STATE_DIR);
        let legacy_env = flags.legacy_env || section.legacy_env.unwrap_or(false);
        let options = AgentOptions {
            agent_id: flags
                .agent_id
                .clone()
                .or_else(|| section.agent_id.clone())
                .unwrap_or_else(default_agent_id),
            hook_timeout,
            grace: flags.grace.unwrap_or(DEFAULT_GRACE),
            log_dir: path_or(&flags.log_dir, &section.log_dir, DEFAULT_LOG_DIR),
            log_cap: LOG_CAP,
            log_url_template: flags
                .log_url_template
                .clone()
                .or_else(|| section.log_url_template.clone()),
            legacy_env,
            legacy_cwd: legacy_env.then(|| cwd.to_path_buf()),
            redeploy: flags.redeploy,
            cancel,
            run_as,
            heartbeat_file: Some(state_dir.join("heartbeat")),
        };
        Ok(AgentConfig {
            targets,
            options,
            state_dir,
            schedule: if flags.once {
                Schedule::Once
            } else {
                Schedule::Every(interval)
            },
        })
    }

    /// Refuses a configuration with no target (`ghops agent run` has nothing to do then;
    /// `ghops serve` simply runs no agent).
    pub fn require_targets(self) -> Result<Self, AgentError> {
        if self.targets.is_empty() {
            return Err(AgentError::Config(
                "no target: pass --repo and --environment, or [[agent.targets]] in ghops.toml"
                    .into(),
            ));
        }
        Ok(self)
    }

    /// Opens the journal, takes one client per target from `installations` (a GitHub App
    /// acts as its installation on the target's repository; a token's one client serves every
    /// target) and starts the agent: what `ghops agent run` and `ghops serve` both do once the
    /// configuration is resolved.
    pub async fn start(self, installations: &Installations) -> Result<crate::Agent, AgentError> {
        let journal = self.journal()?;
        let mut with_clients = Vec::new();
        for target in self.targets {
            let gh = installations
                .for_target(InstallationTarget::Repo(target.repo.clone()))
                .await?;
            with_clients.push((gh, target));
        }
        Ok(crate::Agent::spawn(
            with_clients,
            self.options,
            journal,
            self.schedule,
        ))
    }

    /// Opens the journal in [`AgentConfig::state_dir`].
    pub fn journal(&self) -> Result<Journal, AgentError> {
        Journal::open(&self.state_dir)
            .map_err(|e| AgentError::Config(format!("state dir {}: {e}", self.state_dir.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(toml_text: &str) -> AgentSection {
        gh_core::config::ConfigFile::parse(toml_text, None)
            .unwrap()
            .section("agent")
            .unwrap()
            .unwrap_or_default()
    }

    fn resolve(s: &AgentSection, f: &Flags, cwd: &Path) -> Result<AgentConfig, AgentError> {
        let (_tx, rx) = watch::channel(false);
        AgentConfig::resolve(s, f, cwd, rx)
    }

    #[test]
    fn no_target_is_refused_by_require_targets_only() {
        let d = tempfile::tempdir().unwrap();
        let c = resolve(&AgentSection::default(), &Flags::default(), d.path()).unwrap();
        assert!(c.targets.is_empty());
        let e = c.require_targets().unwrap_err();
        assert_eq!(
            e.to_string(),
            "no target: pass --repo and --environment, or [[agent.targets]] in ghops.toml"
        );
        assert!(matches!(e, AgentError::Config(_)));
    }

    #[test]
    fn relative_paths_become_absolute_once() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("hooks")).unwrap();
        let f = Flags {
            repo: Some("o/r".parse().unwrap()),
            environments: vec!["staging".into()],
            ..Flags::default()
        };
        let c = resolve(&AgentSection::default(), &f, d.path()).unwrap();
        assert_eq!(c.targets[0].hooks_dir, d.path().join("hooks"));
        assert_eq!(c.state_dir, d.path().join(".ghops-agent/state"));
        assert_eq!(c.options.log_dir, d.path().join(".ghops-agent/logs"));
        let f = Flags {
            hooks_dir: Some("./hooks".into()),
            log_dir: Some("logs".into()),
            ..f
        };
        let c = resolve(&AgentSection::default(), &f, d.path()).unwrap();
        assert_eq!(c.targets[0].hooks_dir, d.path().join("hooks"));
        assert_eq!(c.options.log_dir, d.path().join("logs"));
        assert_eq!(c.schedule, Schedule::Every(DEFAULT_INTERVAL));
        assert_eq!(c.options.hook_timeout, DEFAULT_HOOK_TIMEOUT);
    }

    #[test]
    fn a_target_listed_twice_is_refused_by_the_shared_constructor() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("hooks")).unwrap();
        // The config alone (what `ghops serve` resolves) …
        let s = section(
            "[agent]\n[[agent.targets]]\nrepo = \"o/r\"\nenvironment = \"prod\"\n\
             [[agent.targets]]\nrepo = \"O/R\"\nenvironment = \"prod\"\n",
        );
        let e = resolve(&s, &Flags::default(), d.path()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "target O/R prod is listed twice (one deploy at a time per target)"
        );
        // A flag target that the file lists too is one target: the flags win over the entry.
        let s = section(
            "[agent]\n[[agent.targets]]\nrepo = \"o/r\"\nenvironment = \"prod\"\npolicy = \"queue\"\n\
             [[agent.targets]]\nrepo = \"o/r\"\nenvironment = \"qa\"\n",
        );
        let f = Flags {
            repo: Some("O/R".parse().unwrap()),
            environments: vec!["prod".into()],
            ..Flags::default()
        };
        let c = resolve(&s, &f, d.path()).unwrap();
        let got: Vec<_> = c
            .targets
            .iter()
            .map(|t| (t.repo.to_string(), t.environment.as_str(), t.policy))
            .collect();
        assert_eq!(
            got,
            [
                ("O/R".to_owned(), "prod", Policy::Latest),
                ("o/r".to_owned(), "qa", Policy::Latest)
            ]
        );
    }

    #[test]
    fn errors_name_their_place() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("hooks")).unwrap();
        let s = section(
            "[agent]\n[[agent.targets]]\nrepo = \"o/r\"\nenvironment = \"prod\"\nhook_timeout = \"soon\"\n",
        );
        let e = resolve(&s, &Flags::default(), d.path()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("ghops.toml [[agent.targets]][0].hook_timeout: "),
            "{e}"
        );
        let s = section("[agent]\n[[agent.targets]]\nrepo = \"o/r\"\nenvironment = \"prod\"\n");
        let e = resolve(&s, &Flags::default(), &d.path().join("nowhere")).unwrap_err();
        assert!(e.to_string().contains("not a directory"), "{e}");
    }

    #[test]
    fn legacy_env_is_settable_in_the_file_and_runs_hooks_from_the_agents_directory() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("hooks")).unwrap();
        let s = section(
            "[agent]\nlegacy_env = true\n[[agent.targets]]\nrepo = \"o/r\"\nenvironment = \"prod\"\n",
        );
        let c = resolve(&s, &Flags::default(), d.path()).unwrap();
        assert!(c.options.legacy_env);
        assert_eq!(c.options.legacy_cwd.as_deref(), Some(d.path()));
        let c = resolve(&AgentSection::default(), &Flags::default(), d.path()).unwrap();
        assert!(!c.options.legacy_env && c.options.legacy_cwd.is_none());
    }
}
