//! The crate's error type, mapped to the documented exit codes.

use gh_core::{ExitCode, ExitStatus};

/// Errors of runner orchestration. No variant ever carries a token or a JIT config.
#[derive(Debug, thiserror::Error)]
pub enum OrchError {
    /// A GitHub call failed (after gh-core's retries), or input was invalid.
    #[error(transparent)]
    GitHub(#[from] gh_core::Error),
    /// The `[runners]` configuration is invalid; names the file section and field.
    #[error("invalid ghops.toml [runners].{field}: {message}")]
    Config {
        /// The field (`pools[0].max`).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// Kubernetes refused a call (403: RBAC or a quota), after retries.
    #[error("Kubernetes refused {action}: {message}")]
    KubeForbidden {
        /// What was attempted (`create Job ns/name`).
        action: String,
        /// The API server's message.
        message: String,
    },
    /// Kubernetes rejected a manifest as invalid (422): a configuration problem, not retried.
    #[error(
        "Kubernetes rejected {action} as invalid (check the pool's kubernetes settings): {message}"
    )]
    KubeInvalid {
        /// What was attempted.
        action: String,
        /// The API server's message.
        message: String,
    },
    /// Another Kubernetes failure (unreachable, 5xx, undecodable answer).
    #[error("Kubernetes {action} failed: {message}")]
    Kube {
        /// What was attempted.
        action: String,
        /// What went wrong.
        message: String,
    },
    /// No Kubernetes API server to talk to: not in a cluster, no kubeconfig, no `--kube-url`
    /// (a set-up problem, exit 2, not an API failure).
    #[error(
        "no Kubernetes configuration: not running in a cluster and no kubeconfig ($KUBECONFIG, \
         ~/.kube/config); run in the cluster, set up a kubeconfig, or pass --kube-url URL \
         (GHOPS_KUBE_URL; e.g. `kubectl proxy`'s http://127.0.0.1:8001) ({0})"
    )]
    KubeConfig(String),
    /// The process backend could not start or stop a runner command.
    #[error("process backend: {0}")]
    Process(String),
    /// Another ghops process on this machine runs the process pools (see [`crate::lock`]).
    #[error(
        "another ghops process{} runs this machine's process pools (lock {}): one long-lived ghops process per machine runs them (`ghops serve` or `ghops runners reconcile --watch`); stop it, or use a Kubernetes pool for several processes",
        holder.map(|p| format!(" (pid {p})")).unwrap_or_default(),
        path.display()
    )]
    ProcessPoolsOwned {
        /// The lock file.
        path: std::path::PathBuf,
        /// The holder's pid, when it could write it.
        holder: Option<u32>,
    },
    /// The configuration has no `[[runners.pools]]`: nothing to orchestrate.
    #[error("no [[runners.pools]] in the configuration (see docs/runner-orch.md)")]
    NoPools,
    /// A one-shot command was asked to launch process runners.
    #[error(
        "pool {pool} uses the process backend, which only a long-lived `ghops serve` or `ghops runners reconcile --watch` runs: a one-shot command would leave runners no ghops process reaps, and beside a running one could launch a job twice (use --dry-run to preview)"
    )]
    ProcessPoolOneShot {
        /// The pool.
        pool: String,
    },
}

impl OrchError {
    /// A configuration error naming the field (e.g. `pools[0].labels`).
    pub fn config(field: impl std::fmt::Display, message: impl std::fmt::Display) -> Self {
        OrchError::Config {
            field: field.to_string(),
            message: message.to_string(),
        }
    }

    /// Maps a kube error for `action`.
    #[cfg(feature = "kubernetes")]
    pub fn from_kube(action: impl Into<String>, e: kube::Error) -> Self {
        let action = action.into();
        match e {
            kube::Error::Api(s) if s.code == 403 => OrchError::KubeForbidden {
                action,
                message: s.message.clone(),
            },
            kube::Error::Api(s) if s.code == 422 => OrchError::KubeInvalid {
                action,
                message: s.message.clone(),
            },
            kube::Error::Api(s) => OrchError::Kube {
                action,
                message: format!("{} ({})", s.message, s.code),
            },
            other => OrchError::Kube {
                action,
                message: other.to_string(),
            },
        }
    }
}

impl ExitStatus for OrchError {
    fn exit_code(&self) -> ExitCode {
        match self {
            OrchError::GitHub(e) => e.exit_code(),
            OrchError::Config { .. }
            | OrchError::KubeInvalid { .. }
            | OrchError::NoPools
            | OrchError::KubeConfig(_) => ExitCode::Usage,
            OrchError::KubeForbidden { .. } | OrchError::Kube { .. } => ExitCode::Api,
            OrchError::Process(_) => ExitCode::Failed,
            OrchError::ProcessPoolsOwned { .. } | OrchError::ProcessPoolOneShot { .. } => {
                ExitCode::Refused
            }
        }
    }
}

/// The crate's result type.
pub type Result<T, E = OrchError> = std::result::Result<T, E>;
