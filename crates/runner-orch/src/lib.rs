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
//!   and leftovers, and never touches a busy runner. Its reads are conditional ([`github::ListCache`]):
//!   an idle pass costs no rate-limit unit; it slows down when the budget runs low ([`pace`]);
//!   with several replicas only the Lease holder runs it ([`leader::Leadership`]); [`watch`]
//!   is the loop as `ghops runners reconcile --watch` runs it.
//! - Local (process) runners each lead a process group that is ended as a whole; one
//!   long-lived process per machine owns the process pools ([`lock`], [`Role`]).
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
//!
//! ## Features
//!
//! | feature | what | default |
//! |---|---|---|
//! | `kubernetes` | the Kubernetes backend (a Job and its Secret per runner), leader election over a Lease, pod templates (kube, k8s-openapi, gh-core's `yaml`), **without** a Kubernetes API version: the program picks one (`k8s-openapi = { features = ["v1_33"] }`) | via `kubernetes-latest` |
//! | `kubernetes-latest` | `kubernetes` with k8s-openapi's `latest` API version (what ghops ships) | yes |
//!
//! Without them only the process backend exists and a `kubernetes` pool is a configuration
//! error: 192 crates (231 with Kubernetes), nearly all of them gh-core's client (octocrab).
//!
//! What it does **not** do: build runner images, run jobs itself, provision or scale the
//! cluster's nodes, or serve HTTP (`ghops serve` routes `workflow_job` deliveries to
//! [`webhook::workflow_job`]). It only ever creates runners for allowlisted repositories and
//! deletes the ones it named.

#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod backend;
pub mod clients;
pub mod config;
pub mod error;
pub mod github;
pub mod leader;
pub mod lock;
pub mod manifests;
pub mod naming;
pub mod orchestrator;
pub mod pace;
pub mod webhook;

pub use clients::Clients;
pub use config::RunnersConfig;
pub use error::{OrchError, Result};
pub use orchestrator::{Decision, Orchestrator, ReconcileReport};

#[cfg(feature = "kubernetes")]
use backend::KubeBackend;
use backend::{Backend, ProcessBackend};
use config::BackendKind;

/// What the process building an orchestrator does with it; decides how `process` pools are
/// treated (their runners are children of one ghops process, see [`lock`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A long-lived process that launches and reaps (`ghops serve`, `reconcile --watch`): it
    /// takes the machine's process-pool lock, and fails when another process holds it.
    Daemon,
    /// One delivery or one pass, then exit (`runners handle`, `runners reconcile`): refused
    /// when a pool uses the process backend (its runners would outlive their only owner),
    /// except in `dry_run`.
    OneShot,
    /// Reads only (`runners status`): no lock; process pools show no local runners.
    ReadOnly,
}

/// Builds the orchestrator from `[runners]` of a `ghops.toml` for a [`Role::Daemon`]; see
/// [`from_config_as`].
pub async fn from_config(
    file: &gh_core::config::ConfigFile,
    dry_run: bool,
    kube_url: Option<&str>,
) -> Result<Orchestrator> {
    from_config_as(file, dry_run, kube_url, Role::Daemon).await
}

/// Builds the orchestrator from `[runners]` of a `ghops.toml` ([`OrchError::NoPools`] when it
/// has no pool). When a pool uses Kubernetes, the
/// client comes from `kube_url` (no authentication: `kubectl proxy`, tests) or else from the
/// environment (in-cluster service account, then `$KUBECONFIG` / `~/.kube/config`). In
/// `dry_run`, Kubernetes reads are made and creates/deletes reported as [`gh_core::output::DRY_RUN`] events instead.
/// Process pools follow `role`.
pub async fn from_config_as(
    file: &gh_core::config::ConfigFile,
    dry_run: bool,
    kube_url: Option<&str>,
    role: Role,
) -> Result<Orchestrator> {
    #[cfg_attr(not(feature = "kubernetes"), allow(unused_mut))]
    let mut cfg = RunnersConfig::from_file(file)?;
    if cfg.pools.is_empty() {
        return Err(OrchError::NoPools);
    }
    #[cfg(feature = "kubernetes")]
    cfg.load_pod_templates()?;
    let mut process = ProcessBackend::new(dry_run);
    if let Some(p) = cfg.pools.iter().find(|p| p.backend == BackendKind::Process)
        && !dry_run
    {
        match role {
            Role::Daemon => {
                let path = cfg
                    .lock_file
                    .clone()
                    .unwrap_or_else(|| lock::DEFAULT_LOCK_FILE.into());
                process.hold(lock::MachineLock::acquire(&path)?);
            }
            Role::OneShot => {
                return Err(OrchError::ProcessPoolOneShot {
                    pool: p.name.clone(),
                });
            }
            Role::ReadOnly => {}
        }
    }
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
    Ok(Orchestrator::new(cfg, Backend::new(kube, process)))
}

/// The reconcile loop as `ghops runners reconcile --watch` runs it: passes every `interval`
/// (default `[runners].interval`) while `leadership` says this replica leads, until
/// `shutdown` resolves (give it [`gh_core::shutdown::signal`]: SIGTERM and SIGINT alike); then
/// the Lease is given up ([`leader::Leadership::release`]) and the local runners this process
/// started are ended ([`Orchestrator::shutdown`]). Logs a start and a stop line, and
/// what [`Orchestrator::run_loop`] logs.
pub async fn watch(
    orch: &Orchestrator,
    clients: &Clients,
    interval: Option<std::time::Duration>,
    leadership: leader::Leadership,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let interval = interval.unwrap_or(orch.config().interval);
    tracing::info!(
        pools = orch.config().pools.len(),
        interval_s = interval.as_secs(),
        "reconcile loop started"
    );
    orch.run_loop(
        clients,
        interval,
        || {
            let l = leadership.is_leader();
            async move { l }
        },
        shutdown,
    )
    .await;
    tracing::info!("reconcile loop stopping");
    // A follower takes over at once instead of after the lease duration.
    leadership.release().await;
    orch.shutdown().await;
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
