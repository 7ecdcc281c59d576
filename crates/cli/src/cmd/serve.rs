//! `ghops serve`: the GitHub App webhook server (a thin layer over `ghops-serve` and the
//! workflow libraries).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use gh_core::ExitCode;
use ghops_serve::{App, Redelivery, Setup, shutdown_signal};

use crate::ctx::{Ctx, Failure};
use crate::output::{Kind, out, say};

/// Arguments of `ghops serve`.
#[derive(Args, Debug)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "The webhook secret comes from $GHOPS_WEBHOOK_SECRET or --webhook-secret-file.\n\nExamples:\n  GHOPS_APP_ID=123 GHOPS_APP_PRIVATE_KEY=\"$(cat app.pem)\" GHOPS_WEBHOOK_SECRET=... \\\n      ghops serve --bind 0.0.0.0:8080\n  ghops serve --bind 0.0.0.0:8080 --metrics-bind 0.0.0.0:9090\n  ghops serve manifests --namespace ghops > serve.yaml"
)]
pub struct ServeArgs {
    #[command(subcommand)]
    cmd: Option<ServeCmd>,
    /// Address to listen on (TLS is the ingress's job).
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// Serve /metrics, /healthz and /readyz on this address instead of on --bind (keeps them
    /// off the public webhook port).
    #[arg(long, value_name = "ADDR")]
    metrics_bind: Option<SocketAddr>,
    /// File holding the webhook secret.
    ///
    /// [env: GHOPS_WEBHOOK_SECRET (the secret itself)]
    #[arg(long, value_name = "FILE")]
    webhook_secret_file: Option<PathBuf>,
    /// Deliveries that may wait for a worker before new ones get 503.
    #[arg(long, default_value_t = 1024)]
    queue_capacity: usize,
    /// Deliveries handled at once.
    #[arg(long, default_value_t = 4)]
    workers: usize,
    /// Seconds between redelivery passes over the App's failed deliveries (0: off).
    #[arg(long, default_value_t = 600)]
    redeliver_interval: u64,
    /// Redeliveries requested per pass at most.
    #[arg(long, default_value_t = 50)]
    redeliver_max: usize,
    /// Several replicas: only the holder of the Lease `ghops-runners` (in --lease-namespace,
    /// identity $POD_NAME) runs the redelivery pass and the runner reconcile loop; every
    /// replica handles deliveries.
    #[arg(long)]
    leader_election: bool,
    /// Namespace of the leader-election Lease.
    #[arg(long, env = "POD_NAMESPACE", default_value = "ghops")]
    lease_namespace: String,
    /// Seconds shutdown waits for open connections and queued and running work (connections
    /// still open then are closed).
    #[arg(long, default_value_t = 30)]
    drain_timeout: u64,
    /// Largest accepted webhook body, in bytes (GitHub caps payloads at 25 MB).
    #[arg(long, value_name = "BYTES", default_value_t = ghops_serve::DEFAULT_BODY_LIMIT)]
    body_limit: usize,
    /// Webhook body bytes being received at once, across all requests (past it: 503).
    #[arg(long, value_name = "BYTES", default_value_t = ghops_serve::DEFAULT_MAX_INFLIGHT_BODY_BYTES)]
    max_inflight_body_bytes: usize,
    /// Connections open at once (more wait in the listen backlog).
    #[arg(long, default_value_t = ghops_serve::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// Seconds a client has to send a request's headers (also the keep-alive idle timeout).
    #[arg(long, value_name = "SECS", default_value_t = ghops_serve::DEFAULT_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout: u64,
    /// Seconds a client has to send a request's body once its headers are in (408 after).
    #[arg(long, value_name = "SECS", default_value_t = ghops_serve::DEFAULT_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    request_timeout: u64,
}

#[derive(Subcommand, Debug)]
enum ServeCmd {
    /// Print Kubernetes manifests (Deployment, Service, ServiceAccount, Secret template).
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

/// Runs `ghops serve`.
pub async fn run(args: ServeArgs, ctx: &Ctx) -> Result<ExitCode, Failure> {
    if let Some(ServeCmd::Manifests { namespace, image }) = &args.cmd {
        out!("{}", ghops_serve::manifests::kubernetes(namespace, image));
        return Ok(ExitCode::Success);
    }
    let secret = ghops_serve::webhook_secret(args.webhook_secret_file.as_deref())?;
    let health = super::daemon::bind_metrics(args.metrics_bind).await?;
    let setup = Setup {
        dry_run: ctx.global.dry_run,
        kube_url: std::env::var("GHOPS_KUBE_URL").ok(),
        lease_namespace: args.leader_election.then(|| args.lease_namespace.clone()),
        cwd: None,
    };
    let file = ctx.config()?;
    let mut app = App::from_config(secret, ctx.client_config(None)?, &file, &setup).await?;
    let c = app.config_mut();
    c.queue_capacity = args.queue_capacity;
    c.workers = args.workers;
    c.drain_timeout = Duration::from_secs(args.drain_timeout);
    c.body_limit = args.body_limit;
    c.max_inflight_body_bytes = args.max_inflight_body_bytes;
    c.max_connections = args.max_connections;
    c.header_timeout = Duration::from_secs(args.header_timeout);
    c.request_timeout = Duration::from_secs(args.request_timeout);
    app.redelivery(Redelivery {
        every: Duration::from_secs(args.redeliver_interval),
        max: args.redeliver_max,
    });
    let listener = ghops_serve::bind(args.bind).await?;
    say(
        Kind::Info,
        &format!("ghops serve: listening on http://{}", args.bind),
    );
    if let Some(l) = health {
        let addr = l
            .local_addr()
            .map_err(|e| Failure::usage(format!("--metrics-bind: {e}")))?;
        app.health_listener(l);
        let line = format!("ghops serve: metrics and health on http://{addr} (not on --bind)");
        say(Kind::Info, &line);
    }
    let shutdown = async {
        shutdown_signal().await;
        say(Kind::Info, "ghops serve: shutting down, draining the queue");
    };
    app.run(listener, shutdown)
        .await
        .map_err(|e| Failure::new(ExitCode::Failed, format!("server error: {e}")))?;
    Ok(ExitCode::Success)
}
