//! The axum application, the bounded queue and its workers.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gh_core::events::Event;
use tokio::sync::{Semaphore, mpsc};
use tracing::Instrument;

use crate::dedupe::Dedupe;
use crate::metrics::Metrics;

/// What a handler returns: `Err` carries a message for the logs.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// Work for one event type (pr-bridge trigger, runner-orch, ...). Handlers must be
/// idempotent: GitHub may deliver an event more than once.
pub trait Handler: Send + Sync + 'static {
    /// Handles a verified, parsed delivery.
    fn handle(&self, delivery: Delivery) -> HandlerFuture;

    /// A cheap look at the verified raw body before it is parsed and queued: `false` means the
    /// delivery needs no work (answered 202, counted `skipped`). Most deliveries a route sees
    /// are of this kind (comments that are not a trigger); the default wants everything. It
    /// must answer `true` when unsure, so that an unreadable body reaches the full parse and
    /// its 400.
    fn wants(&self, _body: &[u8]) -> bool {
        true
    }
}

/// A verified delivery.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// `X-GitHub-Delivery`.
    pub id: String,
    /// `X-GitHub-Event`.
    pub event: String,
    /// The App installation it is for.
    pub installation_id: Option<u64>,
    /// The parsed payload.
    pub payload: Arc<Event>,
    /// The exact body bytes.
    pub body: Bytes,
}

/// Server settings.
pub struct ServeConfig {
    /// The webhook secret (bytes as configured).
    pub secret: Vec<u8>,
    /// Handlers by `X-GitHub-Event` name; events without one are acknowledged and ignored.
    pub handlers: HashMap<String, Arc<dyn Handler>>,
    /// Deliveries that may wait for a worker; past that, 503.
    pub queue_capacity: usize,
    /// Deliveries handled at once.
    pub workers: usize,
    /// Delivery ids remembered for de-duplication.
    pub dedupe_capacity: usize,
    /// Largest accepted body (GitHub caps payloads at 25 MiB).
    pub body_limit: usize,
    /// How long shutdown waits for queued and running work.
    pub drain_timeout: Duration,
    /// `/readyz` answers 200 while this is true.
    pub ready: Arc<AtomicBool>,
    /// The metrics (shared with handlers that record API usage).
    pub metrics: Arc<Metrics>,
}

impl std::fmt::Debug for ServeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeConfig")
            .field("secret", &"[REDACTED]")
            .field("handlers", &self.handlers.keys().collect::<Vec<_>>())
            .field("queue_capacity", &self.queue_capacity)
            .field("workers", &self.workers)
            .finish_non_exhaustive()
    }
}

impl ServeConfig {
    /// Defaults: queue 1024, 4 workers, 10,000 remembered ids, 25 MiB, 30 s drain, ready.
    pub fn new(secret: Vec<u8>) -> Self {
        Self {
            secret,
            handlers: HashMap::new(),
            queue_capacity: 1024,
            workers: 4,
            dedupe_capacity: 10_000,
            body_limit: 25 * 1024 * 1024,
            drain_timeout: Duration::from_secs(30),
            ready: Arc::new(AtomicBool::new(true)),
            metrics: Arc::new(Metrics::default()),
        }
    }
}

struct AppState {
    secret: Vec<u8>,
    tx: Mutex<Option<mpsc::Sender<Delivery>>>,
    dedupe: Dedupe,
    metrics: Arc<Metrics>,
    handlers: HashMap<String, Arc<dyn Handler>>,
    ready: Arc<AtomicBool>,
}

/// The webhook server.
pub struct Server {
    state: Arc<AppState>,
    rx: Mutex<Option<mpsc::Receiver<Delivery>>>,
    workers: usize,
    body_limit: usize,
    drain_timeout: Duration,
}

impl Server {
    /// Builds the server (nothing runs until [`Server::run`] or [`Server::start_workers`]).
    pub fn new(config: ServeConfig) -> Self {
        let (tx, rx) = mpsc::channel(config.queue_capacity.max(1));
        Self {
            state: Arc::new(AppState {
                secret: config.secret,
                tx: Mutex::new(Some(tx)),
                dedupe: Dedupe::new(config.dedupe_capacity),
                metrics: config.metrics,
                handlers: config.handlers,
                ready: config.ready,
            }),
            rx: Mutex::new(Some(rx)),
            workers: config.workers.max(1),
            body_limit: config.body_limit,
            drain_timeout: config.drain_timeout,
        }
    }

    /// The metrics.
    pub fn metrics(&self) -> Arc<Metrics> {
        self.state.metrics.clone()
    }

    /// The HTTP routes.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/webhook", post(webhook))
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/readyz", get(readyz))
            .route("/metrics", get(metrics))
            .layer(DefaultBodyLimit::max(self.body_limit))
            .with_state(self.state.clone())
    }

    /// Starts the workers; the returned task ends when the queue is closed and drained.
    pub fn start_workers(&self) -> tokio::task::JoinHandle<()> {
        let mut rx = self
            .rx
            .lock()
            .expect("lock")
            .take()
            .expect("workers started twice");
        let state = self.state.clone();
        let n = self.workers;
        tokio::spawn(async move {
            let sem = Arc::new(Semaphore::new(n));
            while let Some(d) = rx.recv().await {
                state.metrics.queue_add(-1);
                let permit = sem.clone().acquire_owned().await.expect("semaphore open");
                let state = state.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    dispatch(&state, d).await;
                });
            }
            // Wait for the running handlers.
            let _ = sem.acquire_many(n as u32).await;
        })
    }

    /// Stops accepting new deliveries into the queue (later ones get 503).
    pub fn close_queue(&self) {
        self.state.tx.lock().expect("lock").take();
    }

    /// Serves on `listener` until `shutdown` completes, then stops accepting connections,
    /// closes the queue and waits (up to the drain timeout) for queued and running work.
    pub async fn run(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let workers = self.start_workers();
        axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await?;
        self.close_queue();
        match tokio::time::timeout(self.drain_timeout, workers).await {
            Ok(_) => tracing::info!("queue drained"),
            Err(_) => tracing::warn!(
                timeout_s = self.drain_timeout.as_secs(),
                "shutdown deadline reached with work still queued or running"
            ),
        }
        Ok(())
    }
}

async fn dispatch(state: &AppState, d: Delivery) {
    let Some(h) = state.handlers.get(&d.event).cloned() else {
        return;
    };
    let span = tracing::info_span!("delivery", delivery = %d.id, event = %d.event);
    let event = d.event.clone();
    let start = Instant::now();
    let result = h.handle(d).instrument(span.clone()).await;
    state.metrics.handler_latency(&event, start.elapsed());
    let _g = span.enter();
    match result {
        Ok(()) => {
            state.metrics.delivery(&event, "handled");
            tracing::info!(elapsed_ms = start.elapsed().as_millis() as u64, "handled");
        }
        Err(e) => {
            state.metrics.delivery(&event, "failed");
            tracing::warn!(error = %e, "handler failed");
        }
    }
}

fn text(status: StatusCode, msg: &'static str) -> Response {
    (status, msg).into_response()
}

async fn webhook(State(s): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
    let event = h("x-github-event").unwrap_or("").to_owned();
    let ctype = h("content-type").unwrap_or("");
    if !ctype
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
    {
        s.metrics.delivery(&event, "bad_content_type");
        return text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content type must be application/json\n",
        );
    }
    if let Err(e) = gh_core::webhook::verify(&s.secret, &body, h("x-hub-signature-256")) {
        s.metrics.delivery(&event, "bad_signature");
        tracing::warn!(error = %e, "rejected delivery");
        return text(StatusCode::UNAUTHORIZED, "invalid signature\n");
    }
    let Some(id) = h("x-github-delivery").filter(|v| !v.is_empty() && v.len() <= 128) else {
        return text(StatusCode::BAD_REQUEST, "missing X-GitHub-Delivery\n");
    };
    if event.is_empty() {
        return text(StatusCode::BAD_REQUEST, "missing X-GitHub-Event\n");
    }
    if !s.dedupe.insert(id) {
        s.metrics.delivery(&event, "duplicate");
        return text(StatusCode::OK, "duplicate delivery\n");
    }
    let Some(handler) = s.handlers.get(&event) else {
        s.metrics.delivery(&event, "ignored");
        return text(StatusCode::ACCEPTED, "no handler for this event\n");
    };
    if !handler.wants(&body) {
        s.metrics.delivery(&event, "skipped");
        return text(StatusCode::ACCEPTED, "nothing to do\n");
    }
    let payload = match Event::parse(&event, &body) {
        Ok(p) => p,
        Err(e) => {
            s.dedupe.remove(id);
            s.metrics.delivery(&event, "bad_payload");
            tracing::warn!(delivery = id, error = %e, "bad payload");
            return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response();
        }
    };
    let delivery = Delivery {
        id: id.to_owned(),
        event: event.clone(),
        installation_id: payload.installation_id(),
        payload: Arc::new(payload),
        body,
    };
    let tx = s.tx.lock().expect("lock").clone();
    let sent = match tx {
        Some(tx) => tx.try_send(delivery).map_err(|_| ()),
        None => Err(()),
    };
    match sent {
        Ok(()) => {
            s.metrics.queue_add(1);
            s.metrics.delivery(&event, "accepted");
            text(StatusCode::ACCEPTED, "accepted\n")
        }
        Err(()) => {
            // Not remembered: GitHub's redelivery of this id must be accepted.
            s.dedupe.remove(id);
            s.metrics.delivery(&event, "queue_full");
            tracing::warn!(delivery = id, "queue full or closing; answering 503");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "5")],
                "busy, redeliver later\n",
            )
                .into_response()
        }
    }
}

async fn readyz(State(s): State<Arc<AppState>>) -> Response {
    if s.ready.load(Ordering::Relaxed) {
        text(StatusCode::OK, "ready\n")
    } else {
        text(StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}

async fn metrics(State(s): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
        .into_response()
}
