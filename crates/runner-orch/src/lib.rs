//! # runner-orch
//!
//! Ephemeral self-hosted GitHub Actions runners, one per queued job, never doubled, never
//! lost; on Kubernetes (a Job per runner) or as local processes.
//!
//! - Pools come from `[[runners.pools]]` in `ghops.toml` ([`config`]); a queued job is served
//!   by the pool whose labels contain all its `runs-on` labels (fewest labels wins, then file
//!   order), and only for allowlisted repositories.
//! - Identity is deterministic ([`naming`]): `ghops-<repo-hash>-<job id>-<attempt>` names the
//!   runner, the Kubernetes Job and its Secret, so a webhook, its duplicate delivery and a
//!   reconcile pass converge on one launch (`AlreadyExists` is success).
//! - A launch re-checks the job is queued, asks GitHub for a single-use JIT runner config and
//!   hands it to the runner only through a Secret owned by the Job ([`backend`]): no token ever
//!   enters a pod, a Job spec, an event or a log.
//! - `workflow_job` webhooks are hints ([`Orchestrator::handle_event`]); the reconcile loop is
//!   the truth ([`Orchestrator::reconcile`], [`Orchestrator::run_loop`]): it recovers lost
//!   webhooks, keeps `min_idle` warm runners within `max`, reaps runners that never register
//!   and leftovers, and never touches a busy runner.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use gh_core::{auth::CredentialInputs, client::{ClientConfig, GitHub}, config::ConfigFile};
//!
//! let gh = GitHub::connect(ClientConfig::new(CredentialInputs::from_env().resolve()?)).await?;
//! let orch = runner_orch::from_config(&ConfigFile::load(None)?, false, None).await?;
//! // A webhook delivery (e.g. from `ghops serve`):
//! let body = std::fs::read("event.json")?;
//! let decision = runner_orch::handle_webhook(&orch, &gh, &body).await?;
//! println!("{decision:?}");
//! // One reconcile pass (with a GitHub App: a client per account the pools serve, see
//! // [`Clients::connect`]):
//! let report = orch.reconcile(&runner_orch::Clients::single(&gh)).await?;
//! println!("{} decisions", report.decisions.len());
//! # Ok(()) }
//! ```

#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod backend;
pub mod clients;
pub mod config;
pub mod error;
pub mod github;
pub mod leader;
pub mod manifests;
pub mod naming;
pub mod orchestrator;
pub mod webhook;

pub use clients::Clients;
pub use config::RunnersConfig;
pub use error::{OrchError, Result};
pub use orchestrator::{Decision, Orchestrator, ReconcileReport};

#[cfg(feature = "kubernetes")]
use backend::KubeBackend;
use backend::{Backend, ProcessBackend};
use config::BackendKind;

/// Builds the orchestrator from `[runners]` of a `ghops.toml`. When a pool uses Kubernetes, the
/// client comes from `kube_url` (no authentication: `kubectl proxy`, tests) or else from the
/// environment (in-cluster service account, then `$KUBECONFIG` / `~/.kube/config`). In
/// `dry_run`, Kubernetes reads are made and creates/deletes reported as [`gh_core::output::DRY_RUN`] events instead.
pub async fn from_config(
    file: &gh_core::config::ConfigFile,
    dry_run: bool,
    kube_url: Option<&str>,
) -> Result<Orchestrator> {
    let mut cfg = RunnersConfig::from_file(file)?;
    cfg.load_pod_templates()?;
    let kube = if cfg
        .pools
        .iter()
        .any(|p| p.backend == BackendKind::Kubernetes)
    {
        #[cfg(not(feature = "kubernetes"))]
        {
            let _ = kube_url;
            return Err(OrchError::config(
                "runners.pools.backend",
                "kubernetes: this build has no Kubernetes backend (runner-orch's `kubernetes` feature is off)",
            ));
        }
        #[cfg(feature = "kubernetes")]
        Some(match kube_url {
            Some(u) => KubeBackend::for_url(u, dry_run)?,
            None => KubeBackend::infer(dry_run).await?,
        })
    } else {
        None
    };
    Ok(Orchestrator::new(
        cfg,
        Backend::new(kube, ProcessBackend::new(dry_run)),
    ))
}

/// The entry point for a `workflow_job` webhook delivery body (what `ghops serve` calls):
/// decodes it (errors name the missing field) and hands it to
/// [`Orchestrator::handle_event`].
pub async fn handle_webhook(
    orch: &Orchestrator,
    gh: &gh_core::GitHub,
    body: &[u8],
) -> Result<Decision> {
    let ev: gh_core::events::WorkflowJobEvent = gh_core::events::decode("webhook body", body)?;
    orch.handle_event(gh, &ev).await
}
