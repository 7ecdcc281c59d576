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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GeneratedFile {
    /// Path relative to the repository root (`.github/workflows/feature.yml`).
    pub path: String,
    /// Contents.
    pub contents: String,
}

/// The templates: (file name, text with `@GHOPS_ACTION@` / `@GHOPS_VERSION@` / `@MAIN@`
/// placeholders). The pr-bridge and deploy-plan workflows are their examples verbatim, with
/// the install step of the default options (replaced by [`generate`]).
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
        "ghops-hotfix-pr.yml",
        include_str!("templates/ghops-hotfix-pr.yml"),
    ),
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
        include_str!("../../../../examples/pr-bridge/test-this-pr.yml"),
    ),
    (
        "ci-with-secrets.yml",
        include_str!("../../../../examples/pr-bridge/ci-with-secrets.yml"),
    ),
    (
        "pr-bridge-report.yml",
        include_str!("../../../../examples/pr-bridge/report.yml"),
    ),
    (
        "deploy-hubs.yml",
        include_str!("../../../../examples/deploy-plan/deploy-hubs.yml"),
    ),
    (
        "deploy-plan-comment.yml",
        include_str!("../../../../examples/deploy-plan/plan-comment.yml"),
    ),
];

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

/// Every workflow `ghops init` writes, under `.github/workflows/`. The version, branch and
/// setup action commit are checked (they are written into YAML).
pub fn generate(opts: &InitOptions) -> Result<Vec<GeneratedFile>, ReleaseError> {
    safe("--ghops-version", &opts.ghops_version)?;
    safe("--main-branch", &opts.main_branch)?;
    let sha = &opts.setup_action_sha;
    if sha.len() != 40 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ReleaseError::Config(format!(
            "--setup-action-sha: `{sha}` must be a full 40-hex commit id"
        )));
    }
    let (default_step, step) = (install_step(&InitOptions::default()), install_step(opts));
    Ok(TEMPLATES
        .iter()
        .map(|(name, text)| GeneratedFile {
            path: format!(".github/workflows/{name}"),
            contents: render(&text.replace(&default_step, &step), opts),
        })
        .collect())
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
