//! # gh-core
//!
//! What every ghops workflow shares:
//!
//! - [`client::GitHub`]: an octocrab-backed GitHub client with token or GitHub App auth
//!   (installation tokens minted and refreshed), GHES base URLs, bounded retries with
//!   backoff and jitter that honour rate limits ([`retry`]), pagination, conditional GETs
//!   and `--dry-run` (GETs performed, writes reported and recorded, none sent).
//!   [`client::Installations`] is the one factory of App installation clients (by id,
//!   repository or organisation, optionally with a token narrowed to a permission set and
//!   to some repositories; cached, one mint per installation for concurrent callers):
//!   `ghops serve`, the runner reconcile loop, the deploy agent and the CLI all take their
//!   clients from it.
//! - [`auth`]: credential resolution in the gh CLI's order; secrets never printed.
//! - [`permission`]: authorisation policies (minimum permission, teams, allow/deny, bots),
//!   failing closed.
//! - [`webhook`]: constant-time `X-Hub-Signature-256` verification.
//! - [`events`]: tolerant typed webhook payloads with errors naming the missing field.
//! - [`pulls`]: the one pull-request type (REST answers and webhooks alike).
//! - [`deployments`]: the one deployment and deployment-status types (REST answers and
//!   webhooks alike).
//! - [`comments`]: one comment per purpose, upserted by a hidden marker.
//! - [`actions`]: `$GITHUB_OUTPUT`, `$GITHUB_STEP_SUMMARY`, annotations, `::add-mask::`, and the
//!   run's `GITHUB_*` defaults ([`actions::RunEnv`]).
//! - [`config`]: `ghops.toml` sections: each workflow's table implements `config::Section`
//!   (name, checks) and loads with `ConfigFile::load_section`, so unknown keys, did-you-mean,
//!   file/line in errors and absent-table defaults behave the same in every workflow.
//! - [`hardening`]: the binary's start-up hardening (non-dumpable, credentials out of its
//!   environment) and [`hardening::RunAs`] for children run as another user.
//! - [`dist`]: where ghops is published (repository, image, setup action), from Cargo.
//! - [`error`]: the shared error type and the documented exit codes.
//! - [`output`]: the `tracing` targets of user-facing report events (libraries never print).
//!
//! ```no_run
//! use gh_core::{auth::CredentialInputs, client::{ClientConfig, GitHub}, repo::RepoRef};
//! use gh_core::comments::{marker, upsert_comment};
//!
//! # async fn run() -> gh_core::Result<()> {
//! let creds = CredentialInputs::from_env().resolve()?;
//! let gh = GitHub::connect(ClientConfig::new(creds)).await?;
//! let repo: RepoRef = "octo-org/hello".parse()?;
//! let me = gh.identity().await?.login;
//! upsert_comment(&gh, &repo, 42, &marker("deployment-plan"), "Plan: nothing to do", &me).await?;
//! # Ok(()) }
//! ```
//!
//! ## Features
//!
//! All on by default; with `default-features = false` each part comes with its feature, and the
//! rest is always there: [`error`], [`events`], [`repo`], [`dedupe`], [`dist`], [`metrics`],
//! [`prometheus`], [`output`] and `config`'s did-you-mean and duration helpers (serde,
//! serde_json, thiserror, tracing: 19 crates, proc-macros included).
//!
//! | feature | what | pulls | crates alone |
//! |---|---|---|---|
//! | `client` | [`client`], `auth`, `comments`, `git`, `identity`, `permission`, `hardening`, `shutdown`, `signal`; implies `retry` and `actions` | octocrab, tokio, rustls, nix, schemars | 182 |
//! | `retry` | [`retry`]: backoff with jitter, rate-limit waits | http, rand | 29 |
//! | `actions` | [`actions`]: `$GITHUB_OUTPUT`, summaries, annotations, masks | rand | 27 |
//! | `webhook` | [`webhook`]: `X-Hub-Signature-256` verification | hmac, sha2, hex | 30 |
//! | `toml` | [`config::ConfigFile`]: the `ghops.toml` loader | toml | 28 |
//! | `yaml` | [`config::parse_yaml`]: bounded YAML for untrusted files | serde-saphyr | 30 |
//!
//! (`cargo tree -p ghops-core --no-default-features --features F -e normal --prefix none |
//! sed 's/ (.*//' | sort -u | wc -l`; `scripts/check-deps` keeps the pure figure.)
//!
//! What it does **not** do: hold any workflow's policy (which PR to test, what to deploy,
//! which version comes next: those live in the workflow crates), write to a local clone (refs,
//! comments and statuses go through the REST and GraphQL APIs; [`repo`] only reads the
//! current checkout's `origin` to find the repository), print (it reports through `tracing`
//! and return values) or log a credential.

#![deny(clippy::print_stdout, clippy::print_stderr)]

#[cfg(feature = "actions")]
pub mod actions;
#[cfg(feature = "client")]
pub mod auth;
#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "client")]
pub mod comments;
pub mod config;
pub mod dedupe;
pub mod deployments;
pub mod dist;
pub mod error;
pub mod events;
#[cfg(feature = "client")]
pub mod git;
#[cfg(feature = "client")]
pub mod hardening;
#[cfg(feature = "client")]
pub mod identity;
pub mod metrics;
pub mod output;
#[cfg(feature = "client")]
pub mod permission;
pub mod prometheus;
pub mod pulls;
pub mod repo;
#[cfg(feature = "retry")]
pub mod retry;
#[cfg(feature = "client")]
pub mod shutdown;
#[cfg(feature = "client")]
pub mod signal;
#[cfg(feature = "webhook")]
pub mod webhook;

#[cfg(feature = "client")]
pub use client::GitHub;
pub use error::{Error, ExitCode, ExitStatus, Result};
pub use repo::RepoRef;
