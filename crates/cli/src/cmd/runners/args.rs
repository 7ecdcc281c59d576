//! `ghops runners`'s arguments.

use std::path::PathBuf;
use std::time::Duration;

use clap::Subcommand;

/// Runner orchestration commands.
#[derive(Subcommand, Debug)]
pub enum RunnersCmd {
    /// One reconcile pass (or a loop with --watch): launch runners for queued jobs within each
    /// pool's max, keep min_idle warm runners, reap runners that never registered and
    /// leftovers. Never touches a busy runner.
    #[command(
        after_help = "Examples:\n  ghops runners reconcile --dry-run\n  ghops runners reconcile --watch --interval 30s --leader-election"
    )]
    Reconcile {
        /// Keep running, one pass per --interval.
        #[arg(long)]
        watch: bool,
        /// Time between passes [default: [runners].interval, else 60s].
        #[arg(long, value_parser = gh_core::config::parse_duration)]
        interval: Option<Duration>,
        /// Only the holder of the Lease launches and reaps (for several replicas).
        #[arg(long)]
        leader_election: bool,
        /// Namespace of the leader-election Lease.
        #[arg(long, env = "POD_NAMESPACE", default_value = "ghops")]
        lease_namespace: String,
        /// With --watch: serve /metrics, /healthz and /readyz on this address.
        #[arg(long, value_name = "ADDR")]
        metrics_bind: Option<std::net::SocketAddr>,
        #[command(flatten)]
        kube: KubeArgs,
    },
    /// Handle one `workflow_job` event from a file: launch or clean up its runner, with the
    /// same decision `ghops serve` makes per delivery. Kubernetes pools only: a process pool's
    /// runners belong to the one long-lived ghops process running them (serve or reconcile
    /// --watch), so handle refuses them (exit 3) except with --dry-run.
    #[command(after_help = "Example:\n  ghops runners handle --event workflow_job.json --json")]
    Handle {
        /// The event payload [default: $GITHUB_EVENT_PATH].
        #[arg(long, value_name = "FILE")]
        event: Option<PathBuf>,
        #[command(flatten)]
        kube: KubeArgs,
    },
    /// Pools, queued jobs and runners by state, as a table or --json.
    #[command(
        after_help = "Examples:\n  ghops runners status\n  ghops runners status --kube-url http://127.0.0.1:8001 --json"
    )]
    Status {
        #[command(flatten)]
        kube: KubeArgs,
    },
    /// Print the Kubernetes manifests: namespace-scoped Roles with only the verbs used,
    /// ServiceAccounts, the Deployment (serve + reconcile), a Secret template and, with
    /// --cronjob, a CronJob running one reconcile pass per tick (concurrencyPolicy: Forbid).
    #[command(
        after_help = "Example:\n  ghops runners manifests --namespace ghops --cronjob > runners.yaml"
    )]
    Manifests {
        /// Namespace of the orchestrator.
        #[arg(long, default_value = "ghops")]
        namespace: String,
        /// The ghops image (default: this version's; never `latest`).
        #[arg(long, default_value_t = gh_core::dist::default_image())]
        image: String,
        /// Also print a CronJob running `ghops runners reconcile`.
        #[arg(long)]
        cronjob: bool,
        /// CronJob schedule.
        #[arg(long, default_value = "* * * * *")]
        schedule: String,
    },
}

/// How to reach Kubernetes.
#[derive(clap::Args, Debug)]
pub struct KubeArgs {
    /// Kubernetes API server URL with no authentication (kubectl proxy) [default: in-cluster,
    /// else $KUBECONFIG / ~/.kube/config].
    #[arg(long, env = "GHOPS_KUBE_URL", value_name = "URL")]
    pub(super) kube_url: Option<String>,
}

impl RunnersCmd {
    /// `runners reconcile --watch`: a daemon.
    pub fn is_daemon(&self) -> bool {
        matches!(self, RunnersCmd::Reconcile { watch: true, .. })
    }
}
