//! `ghops init`: reusable least-privilege workflows and thin callers (issue #6).
//!
//! Every generated workflow declares `permissions: {}` at the top and per-job permissions
//! within the least-privilege table of `docs/environments.md`, pins third-party actions by
//! commit SHA, passes event fields through `env:`, and never uses `pull_request_target`.
//!
//! ```
//! use release_flow::init::{InitOptions, generate};
//!
//! let files = generate(&InitOptions::default()).unwrap();
//! assert!(files.iter().any(|f| f.path == ".github/workflows/feature.yml"));
//!
//! // `ghops init feature`: only that workflow's files, and a ghops.toml scaffold.
//! let only = release_flow::init::generate_selected(&InitOptions::default(), &["feature".into()]).unwrap();
//! let paths: Vec<&str> = only.iter().map(|f| f.path.as_str()).collect();
//! assert_eq!(paths, [".github/workflows/feature.yml", ".github/workflows/ghops-feature.yml", "ghops.toml"]);
//! ```

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::ReleaseError;

/// Options for the generated workflows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitOptions {
    /// The ghops release tag the workflows install (`v0.1.0`; default: this version's).
    pub ghops_version: String,
    /// The main branch.
    pub main_branch: String,
    /// The commit of the setup action (`OWNER/ghops@SHA`) the workflows pin; default
    /// [`gh_core::dist::SETUP_ACTION_SHA`].
    pub setup_action_sha: String,
}

impl Default for InitOptions {
    fn default() -> Self {
        Self {
            ghops_version: concat!("v", env!("CARGO_PKG_VERSION")).into(),
            main_branch: "main".into(),
            setup_action_sha: gh_core::dist::SETUP_ACTION_SHA.into(),
        }
    }
}

impl InitOptions {
    /// Whether the setup action commit is the placeholder of an unreleased ghops (the
    /// generated workflows cannot run until it is replaced: `--setup-action-sha`).
    pub fn setup_action_is_placeholder(&self) -> bool {
        self.setup_action_sha == gh_core::dist::SETUP_ACTION_SHA_PLACEHOLDER
    }
}

/// The install step every generated workflow uses, after its `- name: Install ghops` line:
/// the setup action pinned by commit (the version as a comment, as Dependabot and Renovate
/// write it) and the release it installs.
const INSTALL_STEP: &str =
    "uses: @GHOPS_ACTION@\n        with:\n          version: @GHOPS_VERSION@\n";

fn render(text: &str, opts: &InitOptions) -> String {
    let action = format!(
        "{} # {}",
        gh_core::dist::setup_action(&opts.setup_action_sha),
        opts.ghops_version
    );
    text.replace("@GHOPS_ACTION@", &action)
        .replace("@GHOPS_VERSION@", &opts.ghops_version)
        .replace("@MAIN@", &opts.main_branch)
}

/// The install step as it reads in a workflow generated with `opts` (the example workflows
/// under `examples/` hold it for the default options).
pub fn install_step(opts: &InitOptions) -> String {
    render(INSTALL_STEP, opts)
}

/// One generated file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct GeneratedFile {
    /// Path relative to the repository root (`.github/workflows/feature.yml`).
    pub path: String,
    /// Contents.
    pub contents: String,
}

/// The templates: (file name, text with `@GHOPS_ACTION@` / `@GHOPS_VERSION@` / `@MAIN@`
/// placeholders). The pr-bridge and deploy-plan workflows are their examples verbatim, with
/// the install step of the default options (replaced by [`generate`]): `templates/` links to
/// them in the repository's `examples/` (symbolic links, which `cargo package` stores as the
/// files, so the published crate builds on its own).
pub const TEMPLATES: &[(&str, &str)] = &[
    ("feature.yml", include_str!("templates/feature.yml")),
    (
        "ghops-feature.yml",
        include_str!("templates/ghops-feature.yml"),
    ),
    ("main.yml", include_str!("templates/main.yml")),
    ("ghops-main.yml", include_str!("templates/ghops-main.yml")),
    ("release.yml", include_str!("templates/release.yml")),
    (
        "ghops-release.yml",
        include_str!("templates/ghops-release.yml"),
    ),
    ("hotfix-pr.yml", include_str!("templates/hotfix-pr.yml")),
    (
        "hotfix-release.yml",
        include_str!("templates/hotfix-release.yml"),
    ),
    (
        "ghops-hotfix-release.yml",
        include_str!("templates/ghops-hotfix-release.yml"),
    ),
    (
        "test-this-pr.yml",
        include_str!("templates/test-this-pr.yml"),
    ),
    (
        "ci-with-secrets.yml",
        include_str!("templates/ci-with-secrets.yml"),
    ),
    (
        "pr-bridge-report.yml",
        include_str!("templates/pr-bridge-report.yml"),
    ),
    ("deploy-hubs.yml", include_str!("templates/deploy-hubs.yml")),
    (
        "deploy-plan-comment.yml",
        include_str!("templates/deploy-plan-comment.yml"),
    ),
];

/// One workflow `ghops init` can write: a name to select it by and its files (a thin caller
/// and the reusable workflow it calls, or stand-alone workflows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Workflow {
    /// The name given to `ghops init` (`feature`).
    pub name: &'static str,
    /// Its files under `.github/workflows/`.
    pub files: &'static [&'static str],
    /// What triggers it.
    pub trigger: &'static str,
    /// What it does.
    pub summary: &'static str,
}

/// Every workflow `ghops init` can write, in the order it writes them.
pub const WORKFLOWS: &[Workflow] = &[
    Workflow {
        name: "feature",
        files: &["feature.yml", "ghops-feature.yml"],
        trigger: "pull_request into any branch but release/**",
        summary: "build, test; preview / QA environments by label, undeploy what the PR deployed",
    },
    Workflow {
        name: "main",
        files: &["main.yml", "ghops-main.yml"],
        trigger: "push to the main branch",
        summary: "build, test, release draft, dev deploy",
    },
    Workflow {
        name: "release",
        files: &["release.yml", "ghops-release.yml"],
        trigger: "release: published, workflow_dispatch",
        summary: "release branch, image promotion, staging; production by gated dispatch",
    },
    Workflow {
        name: "hotfix-pr",
        files: &["hotfix-pr.yml", "ghops-feature.yml"],
        trigger: "pull_request into release/**",
        summary: "build, test; the shared hotfix environment by label (one PR at a time)",
    },
    Workflow {
        name: "hotfix-release",
        files: &["hotfix-release.yml", "ghops-hotfix-release.yml"],
        trigger: "push to release/**",
        summary: "build, test, then the next patch release and one reintegration PR (App token)",
    },
    Workflow {
        name: "pr-bridge",
        files: &[
            "test-this-pr.yml",
            "ci-with-secrets.yml",
            "pr-bridge-report.yml",
        ],
        trigger: "issue_comment, pull_request, workflow_run",
        summary: "/test-this-pr: fork PRs tested with secrets after a maintainer's approval",
    },
    Workflow {
        name: "deploy-plan",
        files: &["deploy-hubs.yml", "deploy-plan-comment.yml"],
        trigger: "push, pull_request, workflow_run",
        summary: "deploy-plan matrices and the plan comment (deploys run ./deployer on push)",
    },
];

/// The names standing for several workflows: `pipeline` (the release pipeline: feature,
/// main, release, hotfix-pr, hotfix-release) and `all`.
pub const GROUPS: &[(&str, &[&str])] = &[
    (
        "pipeline",
        &["feature", "main", "release", "hotfix-pr", "hotfix-release"],
    ),
    (
        "all",
        &[
            "feature",
            "main",
            "release",
            "hotfix-pr",
            "hotfix-release",
            "pr-bridge",
            "deploy-plan",
        ],
    ),
];

/// The workflows `names` select (group names expanded, each once, in [`WORKFLOWS`] order);
/// an unknown name is an error listing the known ones.
pub fn select(names: &[String]) -> Result<Vec<&'static Workflow>, ReleaseError> {
    if names.is_empty() {
        return Err(ReleaseError::Config(format!(
            "name the workflows to write: {} (or {}); `ghops init --list` describes them",
            WORKFLOWS
                .iter()
                .map(|w| w.name)
                .collect::<Vec<_>>()
                .join(", "),
            GROUPS.iter().map(|g| g.0).collect::<Vec<_>>().join(", ")
        )));
    }
    let mut wanted: Vec<&str> = Vec::new();
    for n in names {
        if let Some((_, members)) = GROUPS.iter().find(|g| g.0 == n) {
            wanted.extend(members.iter());
        } else if WORKFLOWS.iter().any(|w| w.name == n) {
            wanted.push(n);
        } else {
            return Err(ReleaseError::Config(format!(
                "unknown workflow `{n}`: one of {}, {}",
                WORKFLOWS
                    .iter()
                    .map(|w| w.name)
                    .collect::<Vec<_>>()
                    .join(", "),
                GROUPS.iter().map(|g| g.0).collect::<Vec<_>>().join(", ")
            )));
        }
    }
    Ok(WORKFLOWS
        .iter()
        .filter(|w| wanted.contains(&w.name))
        .collect())
}

/// The path of the configuration scaffold `ghops init` writes.
pub const CONFIG_PATH: &str = "ghops.toml";

/// The `ghops.toml` scaffold for `workflows`: `[release]` for the release pipeline (its
/// default bump **minor**, so the `X.Y` line of a published release belongs to its release
/// branch and hotfixes never race main's draft for `X.Y.Z+1`) and `[env]` for the
/// environments (the defaults plus the shared, exclusive `hotfix` slot).
pub fn config_scaffold(workflows: &[&Workflow]) -> String {
    let has = |n: &str| workflows.iter().any(|w| w.name == n);
    let mut out = String::from(
        "# Generated by `ghops init`: the configuration the generated workflows read. Edit freely\n# (docs/release-flow.md, docs/environments.md).\n",
    );
    if has("main") || has("release") || has("hotfix-release") {
        out.push_str(RELEASE_SCAFFOLD);
    }
    if has("feature") || has("hotfix-pr") || has("release") || has("main") {
        out.push_str(ENV_SCAFFOLD);
        if has("hotfix-pr") {
            out.push_str(HOTFIX_SLOT_SCAFFOLD);
        }
        out.push_str(ENV_POLICY_SCAFFOLD);
    }
    out
}

const RELEASE_SCAFFOLD: &str = r#"
# Release drafts, release branches and hotfixes (release-drafter's keys).
[release]
exclude-labels = ["skip-changelog"]
categories = [
  { title = "Features", labels = ["feature", "enhancement"] },
  { title = "Bug fixes", labels = ["bug", "fix"] },
]

[release.version-resolver]
# Minor by default: main's next release is X.Y+1.0 while release/X.Y.Z publishes X.Y.Z+1.
default = "minor"
major = { labels = ["breaking"] }
minor = { labels = ["feature", "enhancement"] }
patch = { labels = ["bug", "fix", "chore"] }
"#;

const ENV_SCAFFOLD: &str = r#"
# Label-driven environments (env sync), first match wins.
[env]
allow_forks = false

[[env.labels]]
label = "deploy"
environment = "preview-{branch}"
transient = true

[[env.labels]]
label = "deploy/qa{N}"
environment = "qa{N}"
exclusive = true
"#;

const HOTFIX_SLOT_SCAFFOLD: &str = r#"
# Hotfix PRs share one hotfix environment, one PR at a time: labelling another PR hands it
# over; closing a PR that does not hold it tears nothing down.
[[env.labels]]
label = "deploy/hotfix"
environment = "hotfix"
exclusive = true
"#;

const ENV_POLICY_SCAFFOLD: &str = r#"
[env.policy]
min_permission = "write"

[env.gate]
min_permission = "maintain"
"#;

/// The runner version the generated workflows need: the `uses: $/…` self-repository syntax
/// of the thin callers.
pub const MIN_RUNNER_VERSION: &str = "2.336.0";

fn safe(flag: &str, v: &str) -> Result<(), ReleaseError> {
    let ok = !v.is_empty()
        && v.len() <= 100
        && !v.starts_with(['-', '/', '.'])
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'/' | b'+'));
    if ok {
        Ok(())
    } else {
        Err(ReleaseError::Config(format!(
            "{flag}: `{v}` must be letters, digits and . - _ / + only"
        )))
    }
}

/// Every workflow file `ghops init` can write, under `.github/workflows/` (no
/// configuration; see [`generate_selected`]). The version, branch and setup action commit
/// are checked (they are written into YAML).
pub fn generate(opts: &InitOptions) -> Result<Vec<GeneratedFile>, ReleaseError> {
    check(opts)?;
    let (default_step, step) = (install_step(&InitOptions::default()), install_step(opts));
    Ok(TEMPLATES
        .iter()
        .map(|(name, text)| GeneratedFile {
            path: format!(".github/workflows/{name}"),
            contents: render(&text.replace(&default_step, &step), opts),
        })
        .collect())
}

/// The files of the workflows `names` select ([`select`]), each once, then the
/// `ghops.toml` scaffold ([`config_scaffold`], at [`CONFIG_PATH`]).
pub fn generate_selected(
    opts: &InitOptions,
    names: &[String],
) -> Result<Vec<GeneratedFile>, ReleaseError> {
    let chosen = select(names)?;
    let all = generate(opts)?;
    let mut out: Vec<GeneratedFile> = Vec::new();
    for w in &chosen {
        for f in w.files.iter() {
            let path = format!(".github/workflows/{f}");
            if out.iter().any(|o| o.path == path) {
                continue;
            }
            if let Some(g) = all.iter().find(|g| g.path == path) {
                out.push(g.clone());
            }
        }
    }
    out.push(GeneratedFile {
        path: CONFIG_PATH.into(),
        contents: config_scaffold(&chosen),
    });
    Ok(out)
}

fn check(opts: &InitOptions) -> Result<(), ReleaseError> {
    safe("--ghops-version", &opts.ghops_version)?;
    safe("--main-branch", &opts.main_branch)?;
    let sha = &opts.setup_action_sha;
    if sha.len() != 40 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ReleaseError::Config(format!(
            "--setup-action-sha: `{sha}` must be a full 40-hex commit id"
        )));
    }
    Ok(())
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WriteResult {
    /// Written (new).
    Created,
    /// Overwritten (`--force`).
    Overwritten,
    /// Already identical.
    Unchanged,
    /// Exists with other contents; not overwritten without `--force`.
    Kept,
}

/// One file `ghops init --json` wrote (or kept): its path and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Written {
    /// Path relative to the repository root.
    pub path: String,
    /// What happened to it.
    pub result: WriteResult,
}

/// Writes `files` under `root`; existing different files are kept unless `force`.
pub fn write_files(
    root: &Path,
    files: &[GeneratedFile],
    force: bool,
) -> Result<Vec<(String, WriteResult)>, ReleaseError> {
    let mut out = Vec::new();
    for f in files {
        let p: PathBuf = root.join(&f.path);
        let io = |e: std::io::Error| ReleaseError::Config(format!("{}: {e}", p.display()));
        let r = match std::fs::read_to_string(&p) {
            Ok(old) if old == f.contents => WriteResult::Unchanged,
            Ok(_) if !force => WriteResult::Kept,
            Ok(_) => WriteResult::Overwritten,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => WriteResult::Created,
            Err(e) => return Err(io(e)),
        };
        if matches!(r, WriteResult::Created | WriteResult::Overwritten) {
            if let Some(d) = p.parent() {
                std::fs::create_dir_all(d).map_err(io)?;
            }
            std::fs::write(&p, &f.contents).map_err(io)?;
        }
        out.push((f.path.clone(), r));
    }
    Ok(out)
}
