//! `ghops serve`'s arguments.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

/// Arguments of `ghops serve`.
#[derive(Args, Debug)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "The webhook secret comes from $GHOPS_WEBHOOK_SECRET or --webhook-secret-file.\n\nExamples:\n  GHOPS_APP_ID=123 GHOPS_APP_PRIVATE_KEY=\"$(cat app.pem)\" GHOPS_WEBHOOK_SECRET=... \\\n      ghops serve --bind 0.0.0.0:8080\n  ghops serve --bind 0.0.0.0:8080 --metrics-bind 0.0.0.0:9090\n  ghops serve manifests --namespace ghops > serve.yaml"
)]
pub struct ServeArgs {
    #[command(subcommand)]
    pub(super) cmd: Option<ServeCmd>,
    /// Address to listen on (TLS is the ingress's job).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub(super) bind: SocketAddr,
    /// Serve /metrics, /healthz and /readyz on this address instead of on --bind (keeps them
    /// off the public webhook port).
    #[arg(long, value_name = "ADDR")]
    pub(super) metrics_bind: Option<SocketAddr>,
    /// File holding the webhook secret.
    ///
    /// [env: GHOPS_WEBHOOK_SECRET (the secret itself)]
    #[arg(long, value_name = "FILE")]
    pub(super) webhook_secret_file: Option<PathBuf>,
    /// Deliveries that may wait for a worker before new ones get 503.
    #[arg(long, default_value_t = 1024)]
    pub(super) queue_capacity: usize,
    /// Deliveries handled at once.
    #[arg(long, default_value_t = 4)]
    pub(super) workers: usize,
    /// Seconds between redelivery passes over the App's failed deliveries (0: off).
    #[arg(long, default_value_t = 600)]
    pub(super) redeliver_interval: u64,
    /// Redeliveries requested per pass at most.
    #[arg(long, default_value_t = 50)]
    pub(super) redeliver_max: usize,
    /// Several replicas: only the holder of the Lease `ghops-runners` (in --lease-namespace,
    /// identity $POD_NAME) runs the redelivery pass and the runner reconcile loop; every
    /// replica handles deliveries.
    #[arg(long)]
    pub(super) leader_election: bool,
    /// Namespace of the leader-election Lease.
    #[arg(long, env = "POD_NAMESPACE", default_value = "ghops")]
    pub(super) lease_namespace: String,
    /// Seconds shutdown waits for open connections and queued and running work (connections
    /// still open then are closed).
    #[arg(long, default_value_t = 30)]
    pub(super) drain_timeout: u64,
    /// Largest accepted webhook body, in bytes (GitHub caps payloads at 25 MB).
    #[arg(long, value_name = "BYTES", default_value_t = ghops_serve::DEFAULT_BODY_LIMIT)]
    pub(super) body_limit: usize,
    /// Webhook body bytes being received at once, across all requests (past it: 503).
    #[arg(long, value_name = "BYTES", default_value_t = ghops_serve::DEFAULT_MAX_INFLIGHT_BODY_BYTES)]
    pub(super) max_inflight_body_bytes: usize,
    /// Connections open at once (more wait in the listen backlog).
    #[arg(long, default_value_t = ghops_serve::DEFAULT_MAX_CONNECTIONS)]
    pub(super) max_connections: usize,
    /// Seconds a client has to send a request's headers (also the keep-alive idle timeout).
    #[arg(long, value_name = "SECS", default_value_t = ghops_serve::DEFAULT_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub(super) header_timeout: u64,
    /// Seconds a client has to send a request's body once its headers are in (408 after).
    #[arg(long, value_name = "SECS", default_value_t = ghops_serve::DEFAULT_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub(super) request_timeout: u64,
}

#[derive(Subcommand, Debug)]
pub(super) enum ServeCmd {
    /// Print Kubernetes manifests (Deployment, Service, ServiceAccount, Secret template).
    #[command(
        after_help = "Examples:\n  ghops serve manifests --namespace ghops > serve.yaml\n  ghops serve manifests --namespace ghops | kubectl apply -f -"
    )]
    Manifests {
        /// Namespace.
        #[arg(long, default_value = "ghops")]
        namespace: String,
        /// Container image (default: this version's; never `latest`).
        #[arg(long, default_value_t = gh_core::dist::default_image())]
        image: String,
    },
}

impl ServeArgs {
    /// The webhook server (a daemon), not `serve manifests`.
    pub fn is_daemon(&self) -> bool {
        self.cmd.is_none()
    }
}

impl ServeArgs {
    /// The server limits and timeouts these flags set.
    pub(super) fn apply(&self, c: &mut ghops_serve::ServeConfig) {
        c.queue_capacity = self.queue_capacity;
        c.workers = self.workers;
        c.drain_timeout = Duration::from_secs(self.drain_timeout);
        c.body_limit = self.body_limit;
        c.max_inflight_body_bytes = self.max_inflight_body_bytes;
        c.max_connections = self.max_connections;
        c.header_timeout = Duration::from_secs(self.header_timeout);
        c.request_timeout = Duration::from_secs(self.request_timeout);
    }

    /// `--redeliver-interval` and `--redeliver-max`.
    pub(super) fn redelivery(&self) -> ghops_serve::Redelivery {
        ghops_serve::Redelivery {
            every: Duration::from_secs(self.redeliver_interval),
            max: self.redeliver_max,
        }
    }
}
