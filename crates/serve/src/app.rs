//! The webhook application behind `ghops serve`: a builder that registers workflow routes
//! (each with the installation permissions its token is narrowed to), runs the readiness
//! check and the redelivery pass beside the server, and stops on SIGTERM or SIGINT.
//!
//! [`App::workflows`] wires every workflow crate's own routes as the `[serve]` table of
//! `ghops.toml` enables them; a program that wants only some routes, or routes of its own,
//! calls [`App::route`] / [`App::route_prefiltered`] directly.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use gh_core::GitHub;
use gh_core::client::ClientConfig;
use gh_core::config::ConfigFile;
use gh_core::events::Event;
use gh_core::webhook::{Handled, RouteSpec};
use serde::Deserialize;

use crate::{
    AppError, Delivery, Handler, HandlerFuture, Installations, Metrics, Permissions, ServeConfig,
    Server, perms,
};

/// Pages of `/app/hook/deliveries` (100 each) one redelivery pass reads: the last few hundred
/// deliveries, which covers an outage of a busy App by several hours.
pub const REDELIVERY_PAGES: usize = 3;

/// How often a follower replica checks whether it became the leader.
const FOLLOWER_CHECK: Duration = Duration::from_secs(5);

impl gh_core::config::Section for Routes {
    const NAME: &'static str = "serve";
    type Error = AppError;
}

/// `[serve]` in ghops.toml: which workflows the server routes to (all by default).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Routes {
    /// `issue_comment` → pr-bridge trigger.
    pub pr_bridge: bool,
    /// `workflow_run` completed → pr-bridge report.
    pub pr_bridge_report: bool,
    /// `workflow_job` → runner-orch.
    pub runners: bool,
    /// `pull_request` labeled/unlabeled/closed → environments.
    pub environments: bool,
    /// `push` to main / `release/*` → draft / hotfix; `release` published → release branch.
    pub releases: bool,
    /// `deployment` → wake deploy-agent targets.
    pub deployments: bool,
}

impl Default for Routes {
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

/// How often the redelivery pass runs and how much it may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redelivery {
    /// Time between passes (the first runs at start).
    pub every: Duration,
    /// Redeliveries requested per pass at most.
    pub max: usize,
}

/// The webhook application: a [`ServeConfig`] plus the installation clients its routes use.
pub struct App {
    config: ServeConfig,
    installations: Arc<Installations>,
    redelivery: Option<Redelivery>,
    leadership: runner_orch::leader::Leadership,
    orchestrators: Vec<Arc<runner_orch::Orchestrator>>,
    background: Vec<tokio::task::JoinHandle<()>>,
    health: Option<tokio::net::TcpListener>,
}

impl App {
    /// An application with no routes yet, verifying deliveries with `secret` and acting with
    /// installation clients built from `base` (App credentials, or a token for one account).
    pub fn new(secret: Vec<u8>, base: ClientConfig) -> Self {
        Self {
            config: ServeConfig::new(secret),
            installations: Arc::new(Installations::new(base)),
            redelivery: None,
            leadership: runner_orch::leader::Leadership::always(),
            orchestrators: Vec::new(),
            background: Vec::new(),
            health: None,
        }
    }

    /// With several replicas: the redelivery pass and the runner reconcile loop run only
    /// while `leadership` says this replica is the leader (every replica handles
    /// deliveries). Set it before [`App::workflows`]. Default: always the leader.
    pub fn leadership(&mut self, leadership: runner_orch::leader::Leadership) -> &mut Self {
        self.leadership = leadership;
        self
    }

    /// The server settings (limits, timeouts, workers), to adjust before [`App::run`].
    pub fn config_mut(&mut self) -> &mut ServeConfig {
        &mut self.config
    }

    /// The installation clients the routes use.
    pub fn installations(&self) -> Arc<Installations> {
        self.installations.clone()
    }

    /// The events routed so far, sorted.
    pub fn events(&self) -> Vec<String> {
        let mut e: Vec<String> = self.config.handlers.keys().cloned().collect();
        e.sort();
        e
    }

    /// Serves `/metrics`, `/healthz` and `/readyz` on `listener` (bound beforehand, e.g.
    /// `--metrics-bind`) with the webhook listener's limits, instead of on the webhook port,
    /// which then answers `/webhook` only. It stops once the server has drained.
    pub fn health_listener(&mut self, listener: tokio::net::TcpListener) -> &mut Self {
        self.config.health_routes = false;
        self.health = Some(listener);
        self
    }

    /// Asks GitHub to redeliver failed deliveries (App credentials only; a no-op otherwise).
    pub fn redelivery(&mut self, r: Redelivery) -> &mut Self {
        self.redelivery = Some(r);
        self
    }

    /// Routes `spec.event` to `f`, which gets a client of the delivery's installation whose
    /// token is narrowed to `spec.permissions`. A [`Handled::Refused`] is logged, not an error.
    pub fn route<F, Fut>(&mut self, spec: &RouteSpec, f: F) -> &mut Self
    where
        F: Fn(GitHub, Arc<Event>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Handled, String>> + Send + 'static,
    {
        let route = self.handler(spec, f);
        self.config.handlers.insert(spec.event.to_owned(), route);
        self
    }

    /// Like [`App::route`], with a pre-filter on the raw body (see [`Handler::wants`]):
    /// deliveries it does not want are answered without the full decode, the queue or a token.
    pub fn route_prefiltered<W, F, Fut>(&mut self, spec: &RouteSpec, wants: W, f: F) -> &mut Self
    where
        W: Fn(&[u8]) -> bool + Send + Sync + 'static,
        F: Fn(GitHub, Arc<Event>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Handled, String>> + Send + 'static,
    {
        let inner = self.handler(spec, f);
        self.config.handlers.insert(
            spec.event.to_owned(),
            Arc::new(Prefiltered { inner, wants }),
        );
        self
    }

    /// The handler behind a route: `f` with a narrowed installation client.
    fn handler<F, Fut>(&self, spec: &RouteSpec, f: F) -> Arc<dyn Handler>
    where
        F: Fn(GitHub, Arc<Event>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Handled, String>> + Send + 'static,
    {
        Arc::new(Route {
            event: spec.event,
            installations: self.installations.clone(),
            permissions: Arc::new(perms(spec.permissions)),
            metrics: self.config.metrics.clone(),
            f: Arc::new(f),
        })
    }

    /// Routes every workflow the `[serve]` table enables to its crate's webhook handlers.
    /// `dry_run` and `kube_url` reach runner-orch's backend. The `deployment` route starts the
    /// deploy agent of `[agent]` (relative paths against `cwd`) when it has targets
    /// ([`deploy_agent::webhook::start_for_webhooks`]) and wakes it per delivery.
    pub async fn workflows(
        &mut self,
        routes: &Routes,
        file: &ConfigFile,
        dry_run: bool,
        kube_url: Option<&str>,
        cwd: &std::path::Path,
    ) -> Result<(), AppError> {
        if routes.pr_bridge || routes.pr_bridge_report {
            let opts = Arc::new(
                pr_bridge::Options::from_config(file)
                    .map_err(|e| AppError::Config(e.to_string()))?,
            );
            if routes.pr_bridge {
                let (o, g) = (opts.clone(), opts.clone());
                self.route_prefiltered(
                    &pr_bridge::webhook::ISSUE_COMMENT,
                    move |body| pr_bridge::webhook::wants_issue_comment(body, &g),
                    move |gh, ev| {
                        let o = o.clone();
                        async move { pr_bridge::webhook::issue_comment(&gh, &ev, &o).await }
                    },
                );
            }
            if routes.pr_bridge_report {
                let o = opts.clone();
                self.route(&pr_bridge::webhook::WORKFLOW_RUN, move |gh, ev| {
                    let o = o.clone();
                    async move { pr_bridge::webhook::workflow_run(&gh, &ev, &o).await }
                });
            }
        }
        if routes.releases {
            let (cfg, warnings) = release_flow::config::DrafterConfig::from_ghops_toml(file)
                .map_err(|e| AppError::Config(e.to_string()))?;
            for w in warnings {
                tracing::warn!(warning = %w, "release-flow config");
            }
            let cfg = Arc::new(cfg);
            let c = cfg.clone();
            self.route(&release_flow::webhook::PUSH, move |gh, ev| {
                let c = c.clone();
                async move { release_flow::webhook::push(&gh, &ev, &c).await }
            });
            self.route(&release_flow::webhook::RELEASE, move |gh, ev| {
                let c = cfg.clone();
                async move { release_flow::webhook::release(&gh, &ev, &c).await }
            });
        }
        if routes.environments {
            let cfg = Arc::new(
                release_flow::env::EnvConfig::load(file)
                    .map_err(|e| AppError::Config(e.to_string()))?,
            );
            self.route(&release_flow::webhook::PULL_REQUEST, move |gh, ev| {
                let c = cfg.clone();
                async move { release_flow::webhook::pull_request(&gh, &ev, &c).await }
            });
        }
        if routes.runners {
            let cfg = runner_orch::config::RunnersConfig::from_file(file)
                .map_err(|e| AppError::Config(e.to_string()))?;
            if !cfg.pools.is_empty() {
                let orch = Arc::new(
                    runner_orch::from_config(file, dry_run, kube_url)
                        .await
                        .map_err(|e| AppError::Client(e.to_string()))?,
                );
                // The reconcile loop (the truth) runs in this process too; webhooks are hints.
                // It acts with one installation per account the pools serve.
                let reconcile = runner_orch::Clients::connect(&self.installations, &cfg)
                    .await
                    .map_err(|e| AppError::Client(e.to_string()))?;
                let (o, every) = (orch.clone(), orch.config().interval);
                let leader = self.leadership.clone();
                self.background.push(tokio::spawn(async move {
                    o.run_loop(
                        &reconcile,
                        every,
                        || {
                            let l = leader.is_leader();
                            async move { l }
                        },
                        std::future::pending::<()>(),
                    )
                    .await;
                }));
                self.orchestrators.push(orch.clone());
                // The runner figures on the server's /metrics (its own API figures are there).
                let m = orch.clone();
                self.config
                    .metrics
                    .add_source(Box::new(move || m.metrics.render(None)));
                self.route(&runner_orch::webhook::WORKFLOW_JOB, move |gh, ev| {
                    let o = orch.clone();
                    async move { runner_orch::webhook::workflow_job(&gh, &ev, &o).await }
                });
            }
        }
        if routes.deployments {
            let section: deploy_agent::AgentSection = file.load_section()?;
            if let Some(agent) =
                deploy_agent::webhook::start_for_webhooks(&section, cwd, &self.installations)
                    .await?
            {
                // Polling stays the truth; the webhook only wakes the target it names.
                self.route(&deploy_agent::webhook::DEPLOYMENT, move |_gh, event| {
                    let handled = deploy_agent::webhook::deployment(&agent, &event);
                    async move { Ok(handled) }
                });
            }
        }
        Ok(())
    }

    /// Serves on `listener` until `shutdown` completes, then drains. Beside the server: the
    /// readiness check (`/readyz` turns ready once the credentials work) and, when set, the
    /// redelivery pass.
    pub async fn run(
        mut self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let bind = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let routes = self.events().join(",");
        tracing::info!(bind = %bind, routes = %routes, "listening on http://{bind}");
        let ready = Arc::new(AtomicBool::new(false));
        self.config.ready = ready.clone();
        let inst = self.installations.clone();
        let readiness = tokio::spawn(async move {
            loop {
                let ok = match inst.app_client().await {
                    Ok(c) if c.is_app() => c.get::<serde_json::Value>("/app").await.is_ok(),
                    Ok(c) => c.identity().await.is_ok(),
                    Err(_) => false,
                };
                if ok {
                    ready.store(true, Ordering::Relaxed);
                    tracing::info!("ready: the credentials work");
                    break;
                }
                tokio::time::sleep(Duration::from_secs(10)).await;
            }
        });
        let redelivery = match self.redelivery {
            Some(r)
                if r.every > Duration::ZERO
                    && matches!(
                        self.installations.base_config().credentials,
                        gh_core::auth::Credentials::App { .. }
                    ) =>
            {
                let inst = self.installations.clone();
                let leader = self.leadership.clone();
                Some(tokio::spawn(async move {
                    loop {
                        if leader.is_leader() {
                            redelivery_pass(&inst, r.max).await;
                            tokio::time::sleep(r.every).await;
                        } else {
                            // A follower checks often, so a new leader starts at once.
                            tokio::time::sleep(r.every.min(FOLLOWER_CHECK)).await;
                        }
                    }
                }))
            }
            _ => None,
        };
        let server = Server::new(self.config);
        let (stop_health, health_stopped) = tokio::sync::watch::channel(false);
        if let Some(l) = self.health.take() {
            let stop = crate::health::on_stop(health_stopped);
            crate::health::serve_with(l, server.probe(), server.limits(), stop)?;
        }
        let result = server.run(listener, shutdown).await;
        let _ = stop_health.send(true);
        readiness.abort();
        if let Some(r) = redelivery {
            r.abort();
        }
        for b in &self.background {
            b.abort();
        }
        // The singleton work has stopped: a follower may take over at once.
        self.leadership.release().await;
        // Local (process) runners end with the server, their whole process groups.
        for o in &self.orchestrators {
            o.shutdown().await;
        }
        result
    }
}

async fn redelivery_pass(inst: &Installations, max: usize) {
    match inst.app_client().await {
        Ok(app) => match crate::redeliver::redeliver_failed(&app, REDELIVERY_PAGES, max).await {
            Ok(r) => tracing::info!(
                requested = r.requested.len(),
                deferred = r.deferred,
                "redelivery pass"
            ),
            Err(e) => tracing::warn!(error = %e, "redelivery pass failed"),
        },
        Err(e) => tracing::warn!(error = %e, "redelivery pass: no App client"),
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C), whichever comes first
/// ([`gh_core::shutdown::signal`]), then logs that the server drains its queue.
pub async fn shutdown_signal() {
    gh_core::shutdown::signal().await;
    tracing::info!("shutting down: draining the queue");
}

/// A route: runs `f` with a client of the delivery's installation whose token is narrowed to
/// the permissions the workflow needs; records the API calls it made.
struct Route<F> {
    event: &'static str,
    installations: Arc<Installations>,
    permissions: Arc<Permissions>,
    metrics: Arc<Metrics>,
    f: Arc<F>,
}

impl<F, Fut> Handler for Route<F>
where
    F: Fn(GitHub, Arc<Event>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Handled, String>> + Send + 'static,
{
    fn handle(&self, d: Delivery) -> HandlerFuture {
        let inst = self.installations.clone();
        let permissions = self.permissions.clone();
        let f = self.f.clone();
        let metrics = self.metrics.clone();
        let event = self.event;
        Box::pin(async move {
            let gh = inst
                .client_with(d.installation_id, &permissions)
                .await
                .map_err(|e| format!("no client for installation {:?}: {e}", d.installation_id))?;
            let before = gh.request_count();
            let r = f(gh.clone(), d.payload).await;
            metrics.api(
                gh.request_count() - before,
                gh.rate_limit().map(|r| r.remaining),
            );
            match r? {
                Handled::Done(summary) => {
                    tracing::info!(event, delivery = %d.id, outcome = %summary, "handled")
                }
                Handled::Refused(reason) => {
                    tracing::info!(event, delivery = %d.id, %reason, "refused")
                }
            }
            Ok(())
        })
    }
}

struct Prefiltered<W> {
    inner: Arc<dyn Handler>,
    wants: W,
}

impl<W: Fn(&[u8]) -> bool + Send + Sync + 'static> Handler for Prefiltered<W> {
    fn handle(&self, d: Delivery) -> HandlerFuture {
        self.inner.handle(d)
    }

    fn wants(&self, body: &[u8]) -> bool {
        (self.wants)(body)
    }
}
