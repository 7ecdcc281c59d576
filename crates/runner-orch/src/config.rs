//! The `[runners]` section of `ghops.toml`: pools, their scope, labels, capacity and backend,
//! and which pool serves a queued job.

use std::collections::BTreeMap;
use std::time::Duration;

use gh_core::RepoRef;
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{OrchError, Result};

fn de_duration<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    gh_core::config::parse_duration(&s).map_err(serde::de::Error::custom)
}

fn de_opt_duration<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Duration>, D::Error> {
    let s = Option::<String>::deserialize(d)?;
    s.map(|s| gh_core::config::parse_duration(&s).map_err(serde::de::Error::custom))
        .transpose()
}

fn ser_duration<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{}s", d.as_secs()))
}

fn default_interval() -> Duration {
    Duration::from_secs(60)
}
fn default_registration_timeout() -> Duration {
    Duration::from_secs(600)
}
fn default_max() -> u32 {
    10
}
fn default_runner_group() -> u64 {
    1
}

impl gh_core::config::Section for RunnersConfig {
    const NAME: &'static str = "runners";
    type Error = OrchError;
    /// Checks every pool, then resolves each process pool's `process.user`.
    fn validate(&mut self, _origin: &str) -> Result<()> {
        RunnersConfig::validate(self)?;
        self.resolve_users()
    }
}

/// `[runners]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunnersConfig {
    /// Reconcile interval (`--interval` overrides), default 60s.
    #[serde(
        default = "default_interval",
        deserialize_with = "de_duration",
        serialize_with = "ser_duration"
    )]
    pub interval: Duration,
    /// `[[runners.pools]]`.
    #[serde(default)]
    pub pools: Vec<PoolConfig>,
    /// The file whose `flock` makes one ghops process per machine the owner of the process
    /// pools ([`crate::lock`]); default [`crate::lock::DEFAULT_LOCK_FILE`].
    #[serde(default)]
    pub lock_file: Option<std::path::PathBuf>,
}

impl Default for RunnersConfig {
    fn default() -> Self {
        Self {
            interval: default_interval(),
            pools: Vec::new(),
            lock_file: None,
        }
    }
}

/// Which backend runs a pool's runners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// A Kubernetes Job per runner.
    #[default]
    Kubernetes,
    /// A local process per runner.
    Process,
}

/// `[[runners.pools]]`: one pool of identical runners.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolConfig {
    /// Pool name (a Kubernetes label value: letters, digits, `-`, `_`, `.`).
    pub name: String,
    /// Organisation scope: runners registered on the organisation, serving `repos` (names
    /// without the owner). Without `org`, `repos` are `owner/name` and runners are
    /// registered per repository.
    #[serde(default)]
    pub org: Option<String>,
    /// Repositories served (the allowlist; a job from any other repository is never served).
    pub repos: Vec<String>,
    /// Runner labels; a job is served when its `runs-on` labels are all in this set.
    pub labels: Vec<String>,
    /// Runner group id (1 = Default).
    #[serde(default = "default_runner_group")]
    pub runner_group_id: u64,
    /// Warm runners kept registered and idle.
    #[serde(default)]
    pub min_idle: u32,
    /// At most this many live runners.
    #[serde(default = "default_max")]
    pub max: u32,
    /// Backend.
    #[serde(default)]
    pub backend: BackendKind,
    /// A runner not registered (online) within this is deleted, default 10m.
    #[serde(
        default = "default_registration_timeout",
        deserialize_with = "de_duration",
        serialize_with = "ser_duration"
    )]
    pub registration_timeout: Duration,
    /// Warm runners older than this and not busy are replaced (recycled); none by default.
    #[serde(default, deserialize_with = "de_opt_duration", skip_serializing)]
    pub idle_ttl: Option<Duration>,
    /// Kubernetes settings.
    #[serde(default)]
    pub kubernetes: KubeSettings,
    /// Process backend settings.
    #[serde(default)]
    pub process: ProcessSettings,
}

/// `[runners.pools.kubernetes]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubeSettings {
    /// Namespace (default `ghops-runners`).
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// Runner image.
    #[serde(default = "default_image")]
    pub image: String,
    /// The runner command in the image.
    #[serde(default = "default_kube_command")]
    pub command: Vec<String>,
    /// Container resources: `{ requests = { cpu = "1" }, limits = { memory = "4Gi" } }`.
    #[serde(default)]
    pub resources: BTreeMap<String, BTreeMap<String, String>>,
    /// Node selector.
    #[serde(default)]
    pub node_selector: BTreeMap<String, String>,
    /// Pod service account (should have no RBAC: job code runs in the pod).
    #[serde(default)]
    pub service_account: Option<String>,
    /// A YAML (or JSON) file with a pod `spec` fragment merged into each runner's pod (see
    /// [`PoolConfig::read_pod_template`]).
    #[serde(default)]
    pub pod_template: Option<std::path::PathBuf>,
    /// `pod_template` as read once at start ([`RunnersConfig::load_pod_templates`]), so a
    /// launch reads no file.
    #[serde(skip)]
    pub pod_overlay: Option<serde_json::Value>,
    /// `activeDeadlineSeconds` of the Job (default 6h, GitHub's job limit).
    #[serde(default = "default_deadline")]
    pub active_deadline_seconds: i64,
    /// `ttlSecondsAfterFinished` of the Job (default 300).
    #[serde(default = "default_ttl")]
    pub ttl_seconds_after_finished: i32,
    /// Docker for jobs with `container:` or `services:`: `none` (default) or `dind`, a
    /// privileged Docker-in-Docker sidecar (see [`DockerMode::Dind`]).
    #[serde(default)]
    pub docker: DockerMode,
    /// The image of the `dind` sidecar (pin it).
    #[serde(default = "default_dind_image")]
    pub dind_image: String,
}

/// `docker` of a Kubernetes pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DockerMode {
    /// No Docker: jobs with `container:` or `services:` fail. The pod meets Pod Security
    /// `restricted`.
    #[default]
    None,
    /// A Docker daemon in a privileged sidecar (a native sidecar: an init container with
    /// `restartPolicy: Always`, Kubernetes 1.29 or later, so the Job completes when the
    /// runner exits), reached by the runner over a Unix socket in a shared `emptyDir`. The
    /// runner container itself stays unprivileged, but job code can ask that daemon for a
    /// privileged container, i.e. root on the node: only for trusted code, on dedicated
    /// nodes, in a namespace whose Pod Security level allows `privileged`.
    Dind,
}

fn default_namespace() -> String {
    "ghops-runners".into()
}
fn default_image() -> String {
    "ghcr.io/actions/actions-runner:latest".into()
}
fn default_kube_command() -> Vec<String> {
    vec!["/home/runner/run.sh".into()]
}
fn default_dind_image() -> String {
    "docker:27.5.1-dind".into()
}
fn default_deadline() -> i64 {
    6 * 3600
}
fn default_ttl() -> i32 {
    300
}

impl Default for KubeSettings {
    fn default() -> Self {
        Self {
            namespace: default_namespace(),
            image: default_image(),
            command: default_kube_command(),
            resources: BTreeMap::new(),
            node_selector: BTreeMap::new(),
            service_account: None,
            pod_template: None,
            pod_overlay: None,
            active_deadline_seconds: default_deadline(),
            ttl_seconds_after_finished: default_ttl(),
            docker: DockerMode::None,
            dind_image: default_dind_image(),
        }
    }
}

/// `[runners.pools.process]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ProcessSettings {
    /// The command and arguments (e.g. `["/opt/runner/run.sh"]`); it receives the JIT config
    /// in `ACTIONS_RUNNER_INPUT_JITCONFIG` (which `run.sh` reads as `--jitconfig`).
    #[serde(default)]
    pub command: Vec<String>,
    /// Working directory.
    #[serde(default)]
    pub workdir: Option<std::path::PathBuf>,
    /// Run the runner as this user (`name`, `uid` or `uid:gid`; ghops runs as root to switch,
    /// the runner gets no supplementary groups). The production setting: job code running as
    /// ghops's user could read ghops's key file and state.
    #[serde(default)]
    pub user: Option<String>,
    /// `user` as resolved once at load ([`RunnersConfig::from_file`]).
    #[serde(skip)]
    pub run_as: Option<gh_core::hardening::RunAs>,
}

/// A pool's registration scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Runners registered on this repository.
    Repo(RepoRef),
    /// Runners registered on this organisation.
    Org(String),
}

impl Scope {
    /// The API prefix of the scope's runner endpoints (`/repos/o/r` or `/orgs/o`).
    pub fn api_prefix(&self) -> String {
        match self {
            Scope::Repo(r) => r.api_path(),
            Scope::Org(o) => format!("/orgs/{o}"),
        }
    }
}

impl PoolConfig {
    /// Reads the pod `spec` overlay of `kubernetes.pod_template` with the bounded YAML parser
    /// (JSON is YAML too). It is merged like a JSON merge patch, except that lists of named
    /// objects (`containers`, `env`, `volumeMounts`, `volumes`, ...) merge by `name` as in a
    /// Kubernetes strategic merge: `containers: [{name: runner, volumeMounts: [...]}]` adds to
    /// the runner container, another name adds a sidecar. It may not give the pod a service
    /// account token, change `restartPolicy`, or set the JIT config variable: errors name
    /// the file (and line for syntax). Only with the `kubernetes` feature.
    #[cfg(feature = "kubernetes")]
    pub fn read_pod_template(&self) -> Result<Option<serde_json::Value>> {
        let Some(path) = &self.kubernetes.pod_template else {
            return Ok(None);
        };
        let field = format!("pools.{}.kubernetes.pod_template", self.name);
        let bad = |m: String| OrchError::config(&field, format!("{}: {m}", path.display()));
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let v: serde_json::Value = gh_core::config::parse_yaml(&text, &path.display().to_string())
            .map_err(|e| OrchError::config(&field, e))?;
        if !v.is_object() {
            return Err(bad("must be a mapping (fields of a pod spec)".into()));
        }
        if v.get("automountServiceAccountToken")
            .is_some_and(|t| t != &serde_json::Value::Bool(false))
        {
            return Err(bad(
                "automountServiceAccountToken must stay false: job code runs in the pod".into(),
            ));
        }
        if v.get("restartPolicy").is_some_and(|r| r != "Never") {
            return Err(bad(
                "restartPolicy must stay Never: a runner is used once".into()
            ));
        }
        let containers = ["containers", "initContainers"]
            .iter()
            .filter_map(|k| v.get(*k).and_then(|c| c.as_array()))
            .flatten();
        for c in containers {
            let envs = c
                .get("env")
                .and_then(|e| e.as_array())
                .into_iter()
                .flatten();
            for e in envs {
                if e.get("name").and_then(|n| n.as_str()) == Some(crate::naming::JIT_ENV) {
                    return Err(bad(format!(
                        "{} is set by ghops from the Job's Secret",
                        crate::naming::JIT_ENV
                    )));
                }
            }
        }
        Ok(Some(v))
    }

    /// The repositories this pool serves.
    pub fn repo_refs(&self) -> Vec<RepoRef> {
        self.repos
            .iter()
            .filter_map(|r| match &self.org {
                Some(o) => RepoRef::new(o.clone(), r.clone()).ok(),
                None => r.parse().ok(),
            })
            .collect()
    }

    /// True when the pool serves jobs of `repo` (exact allowlist, case-insensitive).
    pub fn serves_repo(&self, repo: &RepoRef) -> bool {
        self.repo_refs().iter().any(|r| {
            r.owner.eq_ignore_ascii_case(&repo.owner) && r.name.eq_ignore_ascii_case(&repo.name)
        })
    }

    /// True when every `runs-on` label is one of the pool's (case-insensitive); an empty
    /// label list is never served.
    pub fn serves_labels(&self, labels: &[String]) -> bool {
        !labels.is_empty()
            && labels
                .iter()
                .all(|l| self.labels.iter().any(|p| p.eq_ignore_ascii_case(l)))
    }

    /// Where runners serving a job of `repo` are registered.
    pub fn scope_for(&self, repo: &RepoRef) -> Scope {
        match &self.org {
            Some(o) => Scope::Org(o.clone()),
            None => Scope::Repo(repo.clone()),
        }
    }

    /// Every registration scope of the pool (one org, or each repo).
    pub fn scopes(&self) -> Vec<Scope> {
        match &self.org {
            Some(o) => vec![Scope::Org(o.clone())],
            None => self.repo_refs().into_iter().map(Scope::Repo).collect(),
        }
    }
}

impl RunnersConfig {
    /// Reads every pool's `kubernetes.pod_template` into `kubernetes.pod_overlay`: a bad
    /// template fails here, at start, rather than at the first launch. Only with the
    /// `kubernetes` feature (without it a `kubernetes` pool is refused).
    #[cfg(feature = "kubernetes")]
    pub fn load_pod_templates(&mut self) -> Result<()> {
        for p in &mut self.pools {
            p.kubernetes.pod_overlay = p.read_pod_template()?;
        }
        Ok(())
    }

    /// Loads `[runners]` from a `ghops.toml` and validates it.
    pub fn from_file(file: &gh_core::config::ConfigFile) -> Result<Self> {
        file.load_section()
    }

    /// Resolves every process pool's `process.user` (the account must exist and ghops must
    /// be able to switch to it): a bad one fails at start, not at the first launch.
    pub fn resolve_users(&mut self) -> Result<()> {
        for (i, p) in self.pools.iter_mut().enumerate() {
            if let Some(u) = &p.process.user {
                let r = gh_core::hardening::RunAs::resolve(u)
                    .map_err(|e| OrchError::config(format!("pools[{i}].process.user"), e))?;
                p.process.run_as = Some(r);
            }
        }
        Ok(())
    }

    /// Checks names, scopes, labels and capacity; errors name the pool and field.
    pub fn validate(&self) -> Result<()> {
        let mut names = std::collections::BTreeSet::new();
        for (i, p) in self.pools.iter().enumerate() {
            let f = |k: &str| format!("pools[{i}].{k}");
            let label_ok = |s: &str| {
                !s.is_empty()
                    && s.len() <= 63
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            };
            if !label_ok(&p.name) {
                return Err(OrchError::config(
                    f("name"),
                    format!("{:?} must be 1-63 letters, digits, '-', '_' or '.'", p.name),
                ));
            }
            if !names.insert(p.name.clone()) {
                return Err(OrchError::config(
                    f("name"),
                    format!("duplicate pool {:?}", p.name),
                ));
            }
            if p.repos.is_empty() {
                return Err(OrchError::config(
                    f("repos"),
                    "list at least one repository (the allowlist)",
                ));
            }
            for (j, r) in p.repos.iter().enumerate() {
                let ok = match &p.org {
                    Some(o) => RepoRef::new(o.clone(), r.clone()).is_ok() && !r.contains('/'),
                    None => r.parse::<RepoRef>().is_ok(),
                };
                if !ok {
                    let want = if p.org.is_some() {
                        "a repository name (the org is given)"
                    } else {
                        "OWNER/NAME"
                    };
                    return Err(OrchError::config(
                        format!("pools[{i}].repos[{j}]"),
                        format!("{r:?} is not {want}"),
                    ));
                }
            }
            if p.labels.is_empty() {
                return Err(OrchError::config(f("labels"), "list the runner labels"));
            }
            if p.min_idle > p.max {
                return Err(OrchError::config(
                    f("min_idle"),
                    format!("min_idle {} exceeds max {}", p.min_idle, p.max),
                ));
            }
            if p.backend == BackendKind::Process && p.process.command.is_empty() {
                return Err(OrchError::config(
                    f("process.command"),
                    "the process backend needs a command",
                ));
            }
        }
        Ok(())
    }

    /// The pool serving a job of `repo` with `runs-on` `labels`: among pools that serve the
    /// repository and contain every label, the one with the fewest labels (the most specific),
    /// then the first in the file. `None` when no pool matches (the job is not ours).
    pub fn select_pool(&self, repo: &RepoRef, labels: &[String]) -> Option<&PoolConfig> {
        self.pools
            .iter()
            .enumerate()
            .filter(|(_, p)| p.serves_repo(repo) && p.serves_labels(labels))
            .min_by_key(|(i, p)| (p.labels.len(), *i))
            .map(|(_, p)| p)
    }

    /// The pool by name.
    pub fn pool(&self, name: &str) -> Option<&PoolConfig> {
        self.pools.iter().find(|p| p.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gh_core::config::ConfigFile;

    pub(crate) const SAMPLE: &str = r#"
[runners]
interval = "30s"

[[runners.pools]]
name = "linux"
repos = ["octo-org/hello", "octo-org/world"]
labels = ["self-hosted", "linux", "x64"]
max = 4

[[runners.pools]]
name = "linux-gpu"
repos = ["octo-org/hello"]
labels = ["self-hosted", "linux", "x64", "gpu"]

[[runners.pools]]
name = "org"
org = "octo-org"
repos = ["hello"]
labels = ["self-hosted", "linux", "x64"]
"#;

    fn cfg() -> RunnersConfig {
        RunnersConfig::from_file(&ConfigFile::parse(SAMPLE, None).unwrap()).unwrap()
    }

    fn l(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_with_defaults() {
        let c = cfg();
        assert_eq!(c.interval, Duration::from_secs(30));
        assert_eq!(c.pools[0].registration_timeout, Duration::from_secs(600));
        assert_eq!(c.pools[1].max, 10);
        assert_eq!(c.pools[0].kubernetes.namespace, "ghops-runners");
    }

    #[test]
    fn matching_and_ties() {
        let c = cfg();
        let hello: RepoRef = "octo-org/hello".parse().unwrap();
        let world: RepoRef = "octo-org/world".parse().unwrap();
        let other: RepoRef = "octo-org/secret".parse().unwrap();
        // Two pools (linux, org) have identical label sets: the first in the file wins.
        let p = c
            .select_pool(&hello, &l(&["self-hosted", "Linux"]))
            .unwrap();
        assert_eq!(p.name, "linux");
        // gpu only in linux-gpu.
        let p = c.select_pool(&hello, &l(&["self-hosted", "gpu"])).unwrap();
        assert_eq!(p.name, "linux-gpu");
        // linux-gpu does not serve world.
        assert!(c.select_pool(&world, &l(&["gpu"])).is_none());
        // Label mismatch.
        assert!(c.select_pool(&hello, &l(&["ubuntu-latest"])).is_none());
        assert!(c.select_pool(&hello, &[]).is_none());
        // Unlisted repo.
        assert!(c.select_pool(&other, &l(&["self-hosted"])).is_none());
        let p = c.pool("org").unwrap();
        assert_eq!(p.scope_for(&hello).api_prefix(), "/orgs/octo-org");
    }

    #[test]
    fn errors_name_the_field() {
        let bad = SAMPLE.replace("max = 4", "max = 4\nmin_idle = 5");
        let e = RunnersConfig::from_file(&ConfigFile::parse(&bad, None).unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("pools[0].min_idle"), "{e}");
        let bad = SAMPLE.replace("\"hello\"]", "\"octo-org/hello\"]");
        let e = RunnersConfig::from_file(&ConfigFile::parse(&bad, None).unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("pools[2].repos[0]"), "{e}");
        let bad = SAMPLE.replace("max = 4", "maxx = 4");
        let e = RunnersConfig::from_file(&ConfigFile::parse(&bad, None).unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("maxx"), "{e}");
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    const LABELS: [&str; 5] = ["self-hosted", "linux", "x64", "gpu", "arm64"];

    fn pool(i: usize, labels: Vec<String>, repos: Vec<String>) -> PoolConfig {
        let c: RunnersConfig = gh_core::config::ConfigFile::parse(
            &format!(
                "[[runners.pools]]\nname = \"p{i}\"\nrepos = {repos:?}\nlabels = {labels:?}\n"
            ),
            None,
        )
        .unwrap()
        .section("runners")
        .unwrap()
        .unwrap();
        c.pools.into_iter().next().unwrap()
    }

    fn label_set() -> impl Strategy<Value = Vec<String>> {
        proptest::sample::subsequence(LABELS.to_vec(), 1..=LABELS.len())
            .prop_map(|v| v.into_iter().map(str::to_owned).collect())
    }

    proptest! {
        /// The chosen pool serves the repo and every label; no serving pool is more specific
        /// (fewer labels) or, equally specific, earlier in the file; and a job no pool can
        /// serve is never matched.
        #[test]
        fn selection_is_sound_and_deterministic(
            pools in proptest::collection::vec((label_set(), proptest::bool::ANY), 1..6),
            job in label_set(),
            upper in proptest::bool::ANY,
        ) {
            let cfg = RunnersConfig {
                interval: Duration::from_secs(60),
                lock_file: None,
                pools: pools
                    .iter()
                    .enumerate()
                    .map(|(i, (l, listed))| {
                        let repos = if *listed { vec!["o/r".to_owned()] } else { vec!["o/other".to_owned()] };
                        pool(i, l.clone(), repos)
                    })
                    .collect(),
            };
            let repo: RepoRef = "o/r".parse().unwrap();
            let job: Vec<String> = if upper { job.iter().map(|l| l.to_uppercase()).collect() } else { job };
            let chosen = cfg.select_pool(&repo, &job);
            let serving: Vec<(usize, &PoolConfig)> = cfg
                .pools
                .iter()
                .enumerate()
                .filter(|(_, p)| p.serves_repo(&repo) && p.serves_labels(&job))
                .collect();
            match chosen {
                None => prop_assert!(serving.is_empty()),
                Some(c) => {
                    prop_assert!(c.serves_repo(&repo) && c.serves_labels(&job));
                    let ci = cfg.pools.iter().position(|p| p.name == c.name).unwrap();
                    for (i, p) in serving {
                        prop_assert!(
                            (c.labels.len(), ci) <= (p.labels.len(), i),
                            "pool {} beats the chosen {}", p.name, c.name
                        );
                    }
                }
            }
            prop_assert_eq!(cfg.select_pool(&repo, &job).map(|p| &p.name), chosen.map(|p| &p.name));
        }

        /// Names are valid DNS-1123 labels, parse back, and differ when any input differs.
        #[test]
        fn names_round_trip(owner in "[a-zA-Z0-9-]{1,39}", name in "[a-zA-Z0-9._-]{1,100}", job in proptest::num::u64::ANY, attempt in 1u64..1000) {
            let full = format!("{owner}/{name}");
            let n = crate::naming::runner_name(&full, job, attempt);
            prop_assert!(n.len() <= 63);
            prop_assert!(n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
            let parsed = crate::naming::parse_name(&n);
            let ok = matches!(parsed, Some(crate::naming::ParsedName::Job { job_id, attempt: a, .. }) if job_id == job && a == attempt);
            prop_assert!(ok);
            prop_assert_ne!(n.clone(), crate::naming::runner_name(&full, job, attempt + 1));
            prop_assert_ne!(n, crate::naming::runner_name(&full, job.wrapping_add(1), attempt));
        }
    }
}
