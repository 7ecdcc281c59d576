//! # release-flow
//!
//! Release engineering on GitHub: one draft release per branch kept current with a changelog
//! from merged PRs and the next semver version from their labels (release-drafter's config
//! format), `release/{version}` branches for published releases, hotfix patch releases with
//! one reintegration PR (issue #5); label-driven preview/QA environments recorded as GitHub
//! Deployments, approval gates and generated least-privilege workflows (issue #6).
//!
//! Webhook entry points for `ghops serve`: [`push::on_push`] and [`push::on_release`].
//! What a command settles before it acts (which config file, its `_extends`, the draft's
//! branch, a hotfix's branches): [`resolve`].
//!
//! ```no_run
//! use release_flow::{config::DrafterConfig, draft::draft};
//!
//! # async fn run(gh: gh_core::GitHub) -> Result<(), release_flow::ReleaseError> {
//! let repo: gh_core::RepoRef = "octo-org/hello".parse()?;
//! let (cfg, warnings) = DrafterConfig::from_yaml(
//!     &std::fs::read_to_string(".github/release-drafter.yml").unwrap_or_default(),
//!     ".github/release-drafter.yml",
//! )?;
//! let (plan, outcome) = draft(&gh, &repo, &cfg, "main").await?;
//! println!("{} {:?} {warnings:?}", plan.version, outcome);
//! # Ok(()) }
//! ```
//!
//! What it does **not** do: build, sign or upload artefacts, publish packages, or merge the
//! reintegration PR it opens; for environments it records GitHub Deployments and plans
//! deploy/undeploy matrices, while the deploy itself is your workflow's (or deploy-agent's)
//! job. It never rewrites a published release or moves an existing `release/*` branch.

#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod changelog;
pub mod config;
pub mod draft;
pub mod env;
pub mod error;
pub mod gate;
pub mod github;
pub mod hotfix;
pub mod init;
pub mod push;
pub mod resolve;
pub mod template;
pub mod version;
pub mod webhook;

pub use error::ReleaseError;
