//! # deploy-agent
//!
//! A pull-based deploy agent on GitHub Deployments: it watches a repository's deployments for
//! an environment, claims one with an `in_progress` status and reads the claims back before
//! running anything (the earliest claim since the last terminal status holds the deployment,
//! so two agents never both run it), runs the hooks (`pre_task`, `<task>`,
//! `post_success`/`post_failure`) as real processes with a timeout and a clean environment (no
//! token), and reports the result exactly once — never dropping a deploy (a failed claim is
//! retried next poll) and never repeating one (a journal on disk settles what a crash
//! interrupted without re-running hooks, after reading the deployment's latest status).
//!
//! [`AgentConfig::resolve`] turns the `[agent]` section of `ghops.toml` and command-line values
//! into targets and options (defaults, absolute paths, no target twice): what `ghops agent run`
//! and `ghops serve` both use. It does not create deployments for you beyond
//! [`create::create`], and it serves no HTTP itself (`ghops serve` routes `deployment` webhooks
//! to an [`AgentHandle`]; [`Agent::metrics`] is a [`gh_core::metrics::Probe`] that
//! `ghops_serve::health` serves on `--metrics-bind`).
//!
//! ```no_run
//! use deploy_agent::{AgentOptions, Journal, Policy, Target, TargetState, run_once};
//!
//! # async fn run(gh: gh_core::GitHub) -> Result<(), deploy_agent::AgentError> {
//! let (_stop, cancel) = tokio::sync::watch::channel(false);
//! let target = Target {
//!     repo: "octo-org/app".parse()?,
//!     environment: "production".into(),
//!     hooks_dir: "/etc/ghops/hooks".into(),
//!     policy: Policy::Latest,
//!     hook_timeout: None,
//! };
//! let opts = AgentOptions {
//!     agent_id: "deploy-1".into(),
//!     hook_timeout: std::time::Duration::from_secs(1800),
//!     grace: std::time::Duration::from_secs(10),
//!     log_dir: "/var/log/ghops".into(),
//!     log_cap: 10 << 20,
//!     log_url_template: None,
//!     legacy_env: false,
//!     legacy_cwd: None,
//!     redeploy: None,
//!     cancel,
//!     run_as: None, // production: Some(gh_core::hardening::RunAs::resolve("deploy")?)
//!     heartbeat_file: None,
//! };
//! let journal = Journal::open("/var/lib/ghops".as_ref())?;
//! let report = run_once(&gh, &target, &opts, &journal, &mut TargetState::default()).await?;
//! println!("{report:?}");
//!
//! // Or the long-running agent: targets in parallel, woken early by `deployment` webhooks.
//! let agent = deploy_agent::Agent::spawn(
//!     vec![(gh, target)],
//!     opts,
//!     journal,
//!     deploy_agent::Schedule::Every(std::time::Duration::from_secs(30)),
//! );
//! let handle = agent.handle(); // handle.on_event(&event) from a webhook server
//! handle.wake_all();
//! for (target, e) in agent.join().await {
//!     eprintln!("{target}: {e}");
//! }
//! # Ok(()) }
//! ```
//!
//! It does **not** build or ship artefacts (the hooks do), decide what to deploy (whoever
//! creates the deployment does) or hold credentials for the hooks: they run without the token.

#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod agent;
pub mod config;
pub mod create;
pub mod error;
pub mod hooks;
pub mod journal;
pub mod manifests;
pub mod metrics;
pub mod service;
pub mod status;
pub mod webhook;

pub use agent::{AgentOptions, Deployment, PassReport, Policy, Target, TargetState, run_once};
pub use config::{AgentConfig, AgentSection, Flags};
pub use error::AgentError;
pub use journal::Journal;
pub use metrics::AgentMetrics;
pub use service::{Agent, AgentHandle, Schedule, TargetSummary};
