//! # deploy-plan
//!
//! Path-to-job planning for multi-cluster Helm deployments (2i2c's infrastructure layout by
//! default): from the files a PR changes and a tree of `cluster.yaml` files, decide which
//! support charts, staging hubs and production hubs need a Helm upgrade, staging before prod,
//! and render the plan as JSON, GitHub Actions matrices, terminal tables and the PR comment.
//!
//! ```no_run
//! use deploy_plan::{Inventory, PlanConfig, Planner, paths, render};
//!
//! # fn main() -> Result<(), deploy_plan::PlanError> {
//! let config = PlanConfig::default();
//! let inventory = Inventory::load("examples/infrastructure".as_ref(), &config)?;
//! let changed = paths::parse_list(
//!     "config/clusters/uk/prod.values.yaml\n",
//!     paths::ListFormat::Auto,
//!     "--changed-files",
//! )?;
//! let plan = Planner::new(&inventory, &config)?.plan(&changed, &[]);
//! println!("{}", render::to_tables(&plan));
//! # Ok(()) }
//! ```
//!
//! [`plan_tree`] does the same from a config tree, reading only the cluster files the change
//! can touch ([`Changes::scope`]).
//!
//! Modules: [`inventory`] (untrusted YAML, bounded; 2i2c's schema, unknown keys as warnings),
//! [`charts`] (chart dependencies from each `Chart.yaml`'s `file://` dependencies),
//! [`paths`] (normalisation, list formats, git diff), [`input`] (where a command's changed
//! paths, labels and event fields come from), [`plan`] (the rules), [`render`] (and
//! the escaping of PR text for Markdown and log lines), [`filter`] (staging-failure filter),
//! [`comment`] (upsert and the untrusted-artifact path).
//!
//! What it does **not** do: run Helm, kubectl or anything against a cluster, read cluster
//! credentials, or deploy: it decides and renders, and the workflow's deploy jobs run what the
//! plan's matrices list. Its API calls are all in [`comment`] (the PR comment upsert and the
//! untrusted-artifact path).
//!
//! ## Features
//!
//! | feature | what | default |
//! |---|---|---|
//! | `github` | [`comment`], [`pr`], `filter::failed_from_run`: the API side, through gh-core's client (octocrab, tokio, rustls) | yes |
//! | `schemars` | `schemars::JsonSchema` for [`Plan`] and [`Job`] (what `ghops schema plan` prints) | yes |
//!
//! With `default-features = false` the crate is pure planning (inventory, rules, renderings,
//! the local git diff through the `git` CLI): 39 crates, proc-macros included (77 before the
//! features were split), with no octocrab, tokio, hyper or libgit2; `scripts/check-deps` keeps it
//! so.
//!
//! Planning is pure and needs no client, as this (compiled and run) example shows:
//!
//! ```
//! use deploy_plan::{PlanConfig, paths};
//!
//! let changed = paths::parse_list(
//!     "config/clusters/uk/prod.values.yaml\n",
//!     paths::ListFormat::Auto,
//!     "--changed-files",
//! )?;
//! assert_eq!(changed.len(), 1);
//! let _defaults = PlanConfig::default();
//! # Ok::<(), deploy_plan::PlanError>(())
//! ```

#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod charts;
#[cfg(feature = "github")]
pub mod comment;
pub mod config;
pub mod error;
pub mod filter;
pub mod input;
pub mod inventory;
pub mod paths;
pub mod plan;
#[cfg(feature = "github")]
pub mod pr;
pub mod render;
pub mod synth;

pub use charts::ChartDeps;
pub use config::PlanConfig;
pub use error::PlanError;
pub use inventory::{Inventory, Scope, Warning};
pub use plan::{Changes, Job, Plan, Planner, TreePlan, plan_tree};
