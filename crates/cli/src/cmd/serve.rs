//! `ghops serve`: the GitHub App webhook server (a thin layer over `ghops-serve` and the
//! workflow libraries).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use clap::{Args, Subcommand};
use gh_core::ExitCode;
use ghops_serve::{Handler, Installations, Permissions, ServeConfig, Server, perms};
use serde::Deserialize;

use crate::ctx::{Ctx, Failure};

/// Arguments of `ghops serve`.
#[derive(Args, Debug)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "The webhook secret comes from $GHOPS_WEBHOOK_SECRET or --webhook-secret-file.\n\nExamples:\n  GHOPS_APP_ID=123 GHOPS_APP_PRIVATE_KEY=\"$(cat app.pem)\" GHOPS_WEBHOOK_SECRET=... ghops serve --bind 0.0.0.0:8080\n  ghops serve manifests --namespace ghops > serve.yaml"
)]
pub struct ServeArgs {
    #[command(subcommand)]
    cmd: Option<ServeCmd>,
    /// Address to listen on (TLS is the ingress's job).
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// File holding the webhook secret (instead of $GHOPS_WEBHOOK_SECRET).
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
    /// Seconds shutdown waits for queued and running work.
    #[arg(long, default_value_t = 30)]
    drain_timeout: u64,
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

/// `[serve]` in ghops.toml: which workflows the server routes to.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeSection {
    /// `issue_comment` → pr-bridge trigger.
    pub pr_bridge: bool,
    /// `workflow_run` completed → pr-bridge report.
    pub pr_bridge_report: bool,
    /// `workflow_job` → runner-orch.
    pub runners: bool,
    /// `pull_request` labeled/unlabeled/closed → environments.
    pub environments: bool,
    /// `push` to main / `release/*` → draft / hotfix.
    pub releases: bool,
    /// `deployment` → wake deploy-agent targets.
    pub deployments: bool,
}

impl Default for ServeSection {
    fn default() -> Self {
        Self {
            pr_bridge: true,
            pr_bridge_report: true,
            runners: true,
            environments: true,
            releases: true,
            deployments: true,
        }
    }
}

fn secret(args: &ServeArgs) -> Result<Vec<u8>, Failure> {
    let s = match &args.webhook_secret_file {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| Failure::usage(format!("--webhook-secret-file {}: {e}", p.display())))?,
        None => std::env::var("GHOPS_WEBHOOK_SECRET").unwrap_or_default(),
    };
    let s = s.trim_end_matches(['\n', '\r']);
    if s.is_empty() {
        return Err(Failure::usage(
            "no webhook secret: set GHOPS_WEBHOOK_SECRET or pass --webhook-secret-file",
        ));
    }
    Ok(s.as_bytes().to_vec())
}

/// Runs `ghops serve`.
pub async fn run(args: ServeArgs, ctx: &Ctx) -> Result<ExitCode, Failure> {
    if let Some(ServeCmd::Manifests { namespace, image }) = &args.cmd {
        print!("{}", manifests(namespace, image));
        return Ok(ExitCode::Success);
    }
    let secret = secret(&args)?;
    let section: ServeSection = ctx.config()?.section("serve")?.unwrap_or_default();
    let base = ctx.client_config(None)?;
    let installations = Arc::new(Installations::new(base.clone()));
    let ready = Arc::new(AtomicBool::new(false));
    let mut config = ServeConfig::new(secret);
    config.queue_capacity = args.queue_capacity;
    config.workers = args.workers;
    config.drain_timeout = Duration::from_secs(args.drain_timeout);
    config.ready = ready.clone();
    config.handlers =
        handlers(&section, installations.clone(), config.metrics.clone(), ctx).await?;
    let routes: Vec<&String> = config.handlers.keys().collect();
    tracing::info!(?routes, bind = %args.bind, "starting webhook server");
    let server = Server::new(config);
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .map_err(|e| Failure::usage(format!("cannot listen on {}: {e}", args.bind)))?;
    eprintln!("ghops serve: listening on http://{}", args.bind);

    // Ready once the credentials work (an App JWT can read /app; a token its identity).
    {
        let inst = installations.clone();
        let ready = ready.clone();
        tokio::spawn(async move {
            loop {
                let ok = match inst.app_client().await {
                    Ok(c) if c.is_app() => c.get::<serde_json::Value>("/app").await.is_ok(),
                    Ok(c) => c.identity().await.is_ok(),
                    Err(_) => false,
                };
                if ok {
                    ready.store(true, std::sync::atomic::Ordering::Relaxed);
                    break;
                }
                tokio::time::sleep(Duration::from_secs(10)).await;
            }
        });
    }
    if args.redeliver_interval > 0
        && matches!(base.credentials, gh_core::auth::Credentials::App { .. })
    {
        let inst = installations.clone();
        let every = Duration::from_secs(args.redeliver_interval);
        let max = args.redeliver_max;
        tokio::spawn(async move {
            loop {
                match inst.app_client().await {
                    Ok(app) => match ghops_serve::redeliver::redeliver_failed(&app, 3, max).await {
                        Ok(r) if !r.requested.is_empty() || r.deferred > 0 => {
                            tracing::info!(requested = ?r.requested, deferred = r.deferred, "redelivery pass")
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "redelivery pass failed"),
                    },
                    Err(e) => tracing::warn!(error = %e, "redelivery pass: no App client"),
                }
                tokio::time::sleep(every).await;
            }
        });
    }
    server
        .run(listener, shutdown_signal())
        .await
        .map_err(|e| Failure {
            code: ExitCode::Failed,
            message: format!("server error: {e}"),
        })?;
    Ok(ExitCode::Success)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    eprintln!("ghops serve: shutting down, draining the queue");
}

/// A route: runs `f` with a client of the delivery's installation whose token is narrowed to
/// the permissions the workflow needs.
struct Route<F> {
    installations: Arc<Installations>,
    permissions: Arc<Permissions>,
    metrics: Option<Arc<ghops_serve::Metrics>>,
    f: Arc<F>,
}

impl<F, Fut> Handler for Route<F>
where
    F: Fn(gh_core::GitHub, Arc<gh_core::events::Event>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    fn handle(&self, d: ghops_serve::Delivery) -> ghops_serve::HandlerFuture {
        let inst = self.installations.clone();
        let permissions = self.permissions.clone();
        let f = self.f.clone();
        let metrics = self.metrics.clone();
        Box::pin(async move {
            let gh = inst
                .client_with(d.installation_id, &permissions)
                .await
                .map_err(|e| format!("no client for installation {:?}: {e}", d.installation_id))?;
            let before = gh.request_count();
            let r = f(gh.clone(), d.payload).await;
            if let Some(m) = metrics {
                m.api(
                    gh.request_count() - before,
                    gh.rate_limit().map(|r| r.remaining),
                );
            }
            r
        })
    }
}

fn route<F, Fut>(
    installations: &Arc<Installations>,
    metrics: &Arc<ghops_serve::Metrics>,
    permissions: &[(&str, &str)],
    f: F,
) -> Arc<dyn Handler>
where
    F: Fn(gh_core::GitHub, Arc<gh_core::events::Event>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    Arc::new(Route {
        installations: installations.clone(),
        permissions: Arc::new(perms(permissions)),
        metrics: Some(metrics.clone()),
        f: Arc::new(f),
    })
}

/// A route that first looks at the raw body (see [`Handler::wants`]): deliveries it does not
/// want are answered without the full parse, the queue or an installation token.
struct Prefiltered<W> {
    inner: Arc<dyn Handler>,
    wants: W,
}

impl<W: Fn(&[u8]) -> bool + Send + Sync + 'static> Handler for Prefiltered<W> {
    fn handle(&self, d: ghops_serve::Delivery) -> ghops_serve::HandlerFuture {
        self.inner.handle(d)
    }

    fn wants(&self, body: &[u8]) -> bool {
        (self.wants)(body)
    }
}

fn prefiltered<W>(wants: W, inner: Arc<dyn Handler>) -> Arc<dyn Handler>
where
    W: Fn(&[u8]) -> bool + Send + Sync + 'static,
{
    Arc::new(Prefiltered { inner, wants })
}

fn repo_of(r: &gh_core::events::Repository) -> Result<gh_core::RepoRef, String> {
    r.full_name
        .parse()
        .map_err(|e: gh_core::Error| e.to_string())
}

/// The routes: event name → workflow handler, as `[serve]` enables them. Each route's token
/// is narrowed to the permissions its workflow needs.
async fn handlers(
    section: &ServeSection,
    installations: Arc<Installations>,
    metrics: Arc<ghops_serve::Metrics>,
    ctx: &Ctx,
) -> Result<HashMap<String, Arc<dyn Handler>>, Failure> {
    let mut map: HashMap<String, Arc<dyn Handler>> = HashMap::new();
    let bridge: Arc<pr_bridge::Options> =
        Arc::new(ctx.config()?.section("pr_bridge")?.unwrap_or_default());
    if section.pr_bridge {
        let opts = bridge.clone();
        let gate_opts = bridge.clone();
        map.insert(
            "issue_comment".into(),
            prefiltered(
                move |body| pr_bridge::hooks::wants_issue_comment(body, &gate_opts),
                route(
                    &installations,
                    &metrics,
                    &[
                        ("contents", "write"),
                        ("pull_requests", "read"),
                        ("issues", "write"),
                        ("metadata", "read"),
                        ("members", "read"),
                        ("actions", "read"),
                        ("statuses", "write"),
                    ],
                    move |gh, event| {
                        let opts = opts.clone();
                        async move {
                            let gh_core::events::Event::IssueComment(ev) = &*event else {
                                return Ok(());
                            };
                            let repo = repo_of(&ev.repository)?;
                            // The gate comes first inside: most comments cost no API call.
                            match pr_bridge::on_issue_comment(&gh, &repo, ev, &opts).await {
                                Ok(o) => {
                                    tracing::info!(outcome = ?o, "pr-bridge trigger");
                                    Ok(())
                                }
                                Err(pr_bridge::BridgeError::Refused(m)) => {
                                    tracing::info!(reason = %m, "pr-bridge: refused");
                                    Ok(())
                                }
                                Err(e) => Err(e.to_string()),
                            }
                        }
                    },
                ),
            ),
        );
    }
    if section.pr_bridge_report {
        let opts = bridge.clone();
        map.insert(
            "workflow_run".into(),
            route(
                &installations,
                &metrics,
                &[
                    ("contents", "write"),
                    ("issues", "write"),
                    ("metadata", "read"),
                    ("actions", "read"),
                    ("statuses", "write"),
                ],
                move |gh, event| {
                    let opts = opts.clone();
                    async move {
                        let gh_core::events::Event::WorkflowRun(ev) = &*event else {
                            return Ok(());
                        };
                        let repo = repo_of(&ev.repository)?;
                        // Never waits inside a worker: the last run to complete reports.
                        match pr_bridge::on_workflow_run(&gh, &repo, ev, &opts).await {
                            Ok(o) => {
                                tracing::info!(outcome = ?o, "pr-bridge report");
                                Ok(())
                            }
                            Err(pr_bridge::BridgeError::Refused(m)) => {
                                tracing::info!(reason = %m, "pr-bridge report: refused");
                                Ok(())
                            }
                            Err(e) => Err(e.to_string()),
                        }
                    }
                },
            ),
        );
    }
    if section.releases {
        let (cfg, warnings) = release_flow::config::DrafterConfig::from_ghops_toml(&ctx.config()?)
            .map_err(|e| Failure::usage(e.to_string()))?;
        for w in warnings {
            tracing::warn!("{w}");
        }
        let cfg = Arc::new(cfg);
        let perms = [
            ("contents", "write"),
            ("pull_requests", "write"),
            ("metadata", "read"),
        ];
        let c = cfg.clone();
        map.insert(
            "push".into(),
            route(&installations, &metrics, &perms, move |gh, event| {
                let cfg = c.clone();
                async move {
                    let gh_core::events::Event::Push(ev) = &*event else {
                        return Ok(());
                    };
                    match release_flow::push::on_push(&gh, &cfg, ev).await {
                        Ok(o) => {
                            tracing::info!(outcome = ?o, "release-flow push");
                            Ok(())
                        }
                        Err(release_flow::ReleaseError::Refused(m)) => {
                            tracing::info!(reason = %m, "release-flow: refused");
                            Ok(())
                        }
                        Err(e) => Err(e.to_string()),
                    }
                }
            }),
        );
        map.insert(
            "release".into(),
            route(&installations, &metrics, &perms, move |gh, event| {
                let cfg = cfg.clone();
                async move {
                    let gh_core::events::Event::Release(ev) = &*event else {
                        return Ok(());
                    };
                    match release_flow::push::on_release(&gh, &cfg, ev).await {
                        Ok(o) => {
                            tracing::info!(outcome = ?o, "release-flow publish-hook");
                            Ok(())
                        }
                        Err(release_flow::ReleaseError::Refused(m)) => {
                            tracing::info!(reason = %m, "release-flow: refused");
                            Ok(())
                        }
                        Err(e) => Err(e.to_string()),
                    }
                }
            }),
        );
    }
    if section.deployments
        && let Some(agent) =
            super::agent::spawn_agent_for_serve(ctx, &installations.base_config()).await?
    {
        map.insert(
            "deployment".into(),
            route(
                &installations,
                &metrics,
                &[("metadata", "read")],
                move |_gh, event| {
                    let agent = agent.clone();
                    async move {
                        // Polling stays the truth; the webhook only wakes the target it names.
                        agent.on_event(&event);
                        Ok(())
                    }
                },
            ),
        );
    }
    if section.environments {
        let cfg = Arc::new(
            release_flow::env::EnvConfig::load(&ctx.config()?)
                .map_err(|e| Failure::usage(e.to_string()))?,
        );
        map.insert(
            "pull_request".into(),
            route(
                &installations,
                &metrics,
                &[
                    ("deployments", "write"),
                    ("pull_requests", "write"),
                    ("issues", "write"),
                    ("contents", "read"),
                    ("metadata", "read"),
                ],
                move |gh, event| {
                    let cfg = cfg.clone();
                    async move {
                        let gh_core::events::Event::PullRequest(ev) = &*event else {
                            return Ok(());
                        };
                        match release_flow::env::on_pull_request(&gh, &cfg, ev).await {
                            Ok(Some(plan)) => {
                                tracing::info!(plan = ?plan, "environments");
                                Ok(())
                            }
                            Ok(None) => Ok(()),
                            Err(release_flow::ReleaseError::Refused(m)) => {
                                tracing::info!(reason = %m, "environments: refused");
                                Ok(())
                            }
                            Err(e) => Err(e.to_string()),
                        }
                    }
                },
            ),
        );
    }
    if section.runners {
        let file = ctx.config()?;
        let cfg = runner_orch::config::RunnersConfig::from_file(&file)?;
        if !cfg.pools.is_empty() {
            let kube_url = std::env::var("GHOPS_KUBE_URL")
                .ok()
                .filter(|u| !u.is_empty());
            let orch = Arc::new(
                runner_orch::from_config(&file, ctx.global.dry_run, kube_url.as_deref()).await?,
            );
            // The reconcile loop (the truth) runs in this process too; webhooks are hints. It
            // acts with one installation per account the pools serve.
            let reconcile =
                runner_orch::Clients::connect(installations.base_config(), &cfg).await?;
            let (o, every) = (orch.clone(), orch.config().interval);
            tokio::spawn(async move {
                o.run_loop(
                    &reconcile,
                    every,
                    || async { true },
                    std::future::pending::<()>(),
                )
                .await;
            });
            map.insert(
                "workflow_job".into(),
                route(
                    &installations,
                    &metrics,
                    &[
                        ("actions", "read"),
                        ("administration", "write"),
                        ("organization_self_hosted_runners", "write"),
                        ("metadata", "read"),
                    ],
                    move |gh, event| {
                        let orch = orch.clone();
                        async move {
                            let gh_core::events::Event::WorkflowJob(ev) = &*event else {
                                return Ok(());
                            };
                            match orch.handle_event(&gh, ev).await {
                                Ok(d) => {
                                    tracing::info!(decision = ?d, "runner-orch");
                                    Ok(())
                                }
                                Err(e) => Err(e.to_string()),
                            }
                        }
                    },
                ),
            );
        }
    }
    Ok(map)
}

fn manifests(namespace: &str, image: &str) -> String {
    format!(
        r#"# ghops serve: GitHub App webhook server. TLS terminates at your ingress.
apiVersion: v1
kind: ServiceAccount
metadata:
  name: ghops-serve
  namespace: {namespace}
---
# Fill and apply separately (or use your secret manager): never commit real values.
apiVersion: v1
kind: Secret
metadata:
  name: ghops-serve
  namespace: {namespace}
type: Opaque
stringData:
  GHOPS_APP_ID: "REPLACE_ME"
  GHOPS_APP_PRIVATE_KEY: "REPLACE_ME (PEM)"
  GHOPS_WEBHOOK_SECRET: "REPLACE_ME"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ghops-serve
  namespace: {namespace}
  labels: {{app.kubernetes.io/name: ghops-serve}}
spec:
  replicas: 1
  selector:
    matchLabels: {{app.kubernetes.io/name: ghops-serve}}
  template:
    metadata:
      labels: {{app.kubernetes.io/name: ghops-serve}}
    spec:
      serviceAccountName: ghops-serve
      automountServiceAccountToken: false
      securityContext: {{runAsNonRoot: true, runAsUser: 65532, seccompProfile: {{type: RuntimeDefault}}}}
      containers:
        - name: ghops
          image: {image}
          args: ["serve", "--bind", "0.0.0.0:8080"]
          envFrom:
            - secretRef: {{name: ghops-serve}}
          ports:
            - {{name: http, containerPort: 8080}}
          readinessProbe:
            httpGet: {{path: /readyz, port: http}}
          livenessProbe:
            httpGet: {{path: /healthz, port: http}}
          resources:
            requests: {{cpu: 50m, memory: 64Mi}}
            limits: {{memory: 256Mi}}
          securityContext: {{allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {{drop: [ALL]}}}}
---
apiVersion: v1
kind: Service
metadata:
  name: ghops-serve
  namespace: {namespace}
spec:
  selector: {{app.kubernetes.io/name: ghops-serve}}
  ports:
    - {{name: http, port: 80, targetPort: http}}
"#
    )
}
