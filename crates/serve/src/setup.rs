//! What `ghops serve` does before serving: the webhook secret, the application built from
//! `ghops.toml`, the listener.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use gh_core::client::ClientConfig;
use gh_core::config::ConfigFile;
use gh_core::{ExitCode, ExitStatus};

use crate::app::{App, Routes};

/// Why the application could not be built or started.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A configuration table is invalid.
    #[error("{0}")]
    Config(String),
    /// A GitHub or Kubernetes client could not be built.
    #[error("{0}")]
    Client(String),
    /// `ghops.toml` could not be read, or a table of it is invalid (names the file and line).
    #[error(transparent)]
    File(#[from] gh_core::Error),
    /// The deploy agent (`[agent]`) could not start.
    #[error(transparent)]
    Agent(#[from] deploy_agent::AgentError),
    /// Leader election could not start.
    #[error(transparent)]
    Leader(#[from] runner_orch::OrchError),
    /// No webhook secret, or its file is unreadable.
    #[error("{0}")]
    Secret(String),
    /// The address cannot be listened on.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

impl ExitStatus for AppError {
    fn exit_code(&self) -> ExitCode {
        match self {
            AppError::Config(_) | AppError::Secret(_) | AppError::Listen { .. } => ExitCode::Usage,
            AppError::Client(_) => ExitCode::Api,
            AppError::File(e) => e.exit_code(),
            AppError::Agent(e) => e.exit_code(),
            AppError::Leader(e) => e.exit_code(),
        }
    }

    fn location(&self) -> Option<(String, Option<u64>)> {
        match self {
            AppError::File(e) => ExitStatus::location(e),
            AppError::Agent(e) => e.location(),
            AppError::Leader(e) => e.location(),
            _ => None,
        }
    }
}

/// The webhook secret `ghops serve` verifies deliveries with: the contents of `file` when
/// given, else `$GHOPS_WEBHOOK_SECRET` (moved out of the process environment at start, see
/// [`gh_core::hardening`]); trailing line ends are dropped. An empty secret is refused: every
/// delivery would be unverifiable.
pub fn webhook_secret(file: Option<&Path>) -> Result<Vec<u8>, AppError> {
    let s = match file {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| AppError::Secret(format!("--webhook-secret-file {}: {e}", p.display())))?,
        None => gh_core::hardening::secret_var("GHOPS_WEBHOOK_SECRET")
            .map(|s| gh_core::auth::ExposeSecret::expose_secret(&s).to_owned())
            .unwrap_or_default(),
    };
    let s = s.trim_end_matches(['\n', '\r']);
    if s.is_empty() {
        return Err(AppError::Secret(
            "no webhook secret: set GHOPS_WEBHOOK_SECRET or pass --webhook-secret-file".into(),
        ));
    }
    Ok(s.as_bytes().to_vec())
}

/// Binds the webhook listener (an [`AppError::Listen`] when the address is taken).
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, AppError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| AppError::Listen { addr, source })
}

/// How [`App::from_config`] builds the application beyond `ghops.toml`.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// Perform reads only; report writes (runner launches, API writes) instead of sending them.
    pub dry_run: bool,
    /// Kubernetes API URL without authentication (`kubectl proxy`, tests); else the
    /// in-cluster service account, then `$KUBECONFIG`.
    pub kube_url: Option<String>,
    /// With several replicas: leader election over the Lease
    /// [`runner_orch::leader::LEASE_NAME`] in this namespace ([`App::leadership`]).
    pub lease_namespace: Option<String>,
    /// Where relative paths of `[agent]` resolve [default: the working directory].
    pub cwd: Option<PathBuf>,
}

impl App {
    /// The application `ghops serve` runs: deliveries verified with `secret`, handled with
    /// installation clients built from `base`, routed to every workflow the `[serve]` table of
    /// `file` enables ([`App::workflows`]), with leader election when
    /// [`Setup::lease_namespace`] is set. Adjust limits with [`App::config_mut`], then
    /// [`App::run`].
    pub async fn from_config(
        secret: Vec<u8>,
        base: ClientConfig,
        file: &ConfigFile,
        setup: &Setup,
    ) -> Result<App, AppError> {
        let routes: Routes = file.load_section()?;
        let mut app = App::new(secret, base);
        let kube_url = setup.kube_url.as_deref().filter(|u| !u.is_empty());
        if let Some(ns) = &setup.lease_namespace {
            app.leadership(runner_orch::leader::elect(ns, kube_url).await?);
        }
        let cwd = match &setup.cwd {
            Some(c) => c.clone(),
            None => std::env::current_dir().map_err(|e| {
                AppError::Config(format!("the working directory is unreadable: {e}"))
            })?,
        };
        app.workflows(&routes, file, setup.dry_run, kube_url, &cwd)
            .await?;
        Ok(app)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_file_loses_its_line_end_and_an_empty_one_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("secret");
        std::fs::write(&f, "s3cret\r\n").unwrap();
        assert_eq!(webhook_secret(Some(&f)).unwrap(), b"s3cret");
        std::fs::write(&f, "\n").unwrap();
        let e = webhook_secret(Some(&f)).unwrap_err();
        assert_eq!(e.exit_code(), ExitCode::Usage);
        assert_eq!(
            e.to_string(),
            "no webhook secret: set GHOPS_WEBHOOK_SECRET or pass --webhook-secret-file"
        );
        let e = webhook_secret(Some(&d.path().join("missing"))).unwrap_err();
        assert!(e.to_string().starts_with("--webhook-secret-file "), "{e}");
        assert_eq!(e.exit_code(), ExitCode::Usage);
    }
}
