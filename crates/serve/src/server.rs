//! The axum application, the accept loop with its limits, the bounded queue and its workers.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::BytesMut;
use gh_core::events::Event;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::Service as _;
use hyper_util::service::TowerToHyperService;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tracing::Instrument;

use crate::metrics::Metrics;
use gh_core::dedupe::Dedupe;

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
    /// Largest accepted body (GitHub caps payloads at 25 MB; the default, 25 MiB, is above
    /// that whichever unit GitHub means).
    pub body_limit: usize,
    /// Body bytes buffered at once across all requests still being read or verified; a
    /// request whose body would go past it is answered 503 before its body is read (raised to
    /// `body_limit` when set lower, so that one largest delivery always fits).
    pub max_inflight_body_bytes: usize,
    /// Connections open at once; more wait in the kernel's listen backlog.
    pub max_connections: usize,
    /// Time a client has to send a request's headers; also how long an idle keep-alive
    /// connection is kept open waiting for its next request.
    pub header_timeout: Duration,
    /// Time a client has to send a request's body once its headers are in (408 after it).
    pub request_timeout: Duration,
    /// How long shutdown waits for open connections and for queued and running work; open
    /// connections are closed at the end of it.
    pub drain_timeout: Duration,
    /// `/readyz` answers 200 while this is true.
    pub ready: Arc<AtomicBool>,
    /// The metrics (shared with handlers that record API usage).
    pub metrics: Arc<Metrics>,
    /// Whether the webhook port also answers `/metrics`, `/healthz` and `/readyz` (default);
    /// off when they are served on a port of their own ([`Server::probe`], `--metrics-bind`).
    pub health_routes: bool,
}

impl std::fmt::Debug for ServeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeConfig")
            .field("secret", &"[REDACTED]")
            .field("handlers", &self.handlers.keys().collect::<Vec<_>>())
            .field("queue_capacity", &self.queue_capacity)
            .field("workers", &self.workers)
            .field("body_limit", &self.body_limit)
            .field("max_inflight_body_bytes", &self.max_inflight_body_bytes)
            .field("max_connections", &self.max_connections)
            .field("header_timeout", &self.header_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("drain_timeout", &self.drain_timeout)
            .field("health_routes", &self.health_routes)
            .finish_non_exhaustive()
    }
}

/// Default [`ServeConfig::body_limit`]: 25 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 25 * 1024 * 1024;
/// Default [`ServeConfig::max_inflight_body_bytes`]: 64 MiB (two largest deliveries at once;
/// with the process's own ~20 MiB this stays well inside the manifest's 256 Mi limit).
pub const DEFAULT_MAX_INFLIGHT_BODY_BYTES: usize = 64 * 1024 * 1024;
/// Default [`ServeConfig::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// Default [`ServeConfig::header_timeout`] and [`ServeConfig::request_timeout`]: 10 s, the
/// time GitHub itself waits for a delivery's response.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

impl ServeConfig {
    /// Defaults: queue 1024, 4 workers, 10,000 remembered ids, 25 MiB bodies, 64 MiB of
    /// bodies in flight, 512 connections, 10 s for headers and 10 s for the body, 30 s drain,
    /// ready.
    pub fn new(secret: Vec<u8>) -> Self {
        Self {
            secret,
            handlers: HashMap::new(),
            queue_capacity: 1024,
            workers: 4,
            dedupe_capacity: 10_000,
            body_limit: DEFAULT_BODY_LIMIT,
            max_inflight_body_bytes: DEFAULT_MAX_INFLIGHT_BODY_BYTES,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_timeout: DEFAULT_TIMEOUT,
            request_timeout: DEFAULT_TIMEOUT,
            drain_timeout: Duration::from_secs(30),
            ready: Arc::new(AtomicBool::new(true)),
            metrics: Arc::new(Metrics::default()),
            health_routes: true,
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
    body_limit: usize,
    /// Permits are body bytes.
    body_budget: Arc<Semaphore>,
    request_timeout: Duration,
}

impl AppState {
    /// The metrics label for an `X-GitHub-Event` value: a GitHub event name or a configured
    /// route, `other` for anything else (the header is unauthenticated when it is counted).
    fn label<'a>(&'a self, event: &str) -> &'a str {
        crate::metrics::known_event(event)
            .or_else(|| self.handlers.get_key_value(event).map(|(k, _)| k.as_str()))
            .unwrap_or(crate::metrics::OTHER)
    }
}

/// The webhook server.
pub struct Server {
    state: Arc<AppState>,
    rx: Mutex<Option<mpsc::Receiver<Delivery>>>,
    workers: usize,
    limits: crate::listener::Limits,
    health_routes: bool,
}

impl Server {
    /// Builds the server (nothing runs until [`Server::run`] or [`Server::start_workers`]).
    pub fn new(config: ServeConfig) -> Self {
        let (tx, rx) = mpsc::channel(config.queue_capacity.max(1));
        // Body sizes are reserved as semaphore permits (u32 per acquisition).
        let body_limit = config.body_limit.min(u32::MAX as usize);
        let budget = config
            .max_inflight_body_bytes
            .max(body_limit)
            .min(Semaphore::MAX_PERMITS);
        Self {
            state: Arc::new(AppState {
                secret: config.secret,
                tx: Mutex::new(Some(tx)),
                dedupe: Dedupe::new(config.dedupe_capacity),
                metrics: config.metrics,
                handlers: config.handlers,
                ready: config.ready,
                body_limit,
                body_budget: Arc::new(Semaphore::new(budget)),
                request_timeout: config.request_timeout,
            }),
            rx: Mutex::new(Some(rx)),
            workers: config.workers.max(1),
            limits: crate::listener::Limits {
                max_connections: config.max_connections,
                header_timeout: config.header_timeout,
                drain_timeout: config.drain_timeout,
            },
            health_routes: config.health_routes,
        }
    }

    /// The connection limits of the webhook listener (what a health listener beside it
    /// reuses).
    pub fn limits(&self) -> crate::listener::Limits {
        self.limits
    }

    /// The metrics.
    pub fn metrics(&self) -> Arc<Metrics> {
        self.state.metrics.clone()
    }

    /// Readiness and metrics as a [`gh_core::metrics::Probe`]: serve them on a separate port
    /// with [`crate::health::listen`] (e.g. a `--metrics-bind` kept off the public webhook port).
    pub fn probe(&self) -> Arc<dyn gh_core::metrics::Probe> {
        self.state.clone()
    }

    /// The HTTP routes (without the connection limits and timeouts of [`Server::run`]).
    pub fn router(&self) -> Router {
        let r = Router::new()
            .route("/webhook", post(webhook))
            .with_state(self.state.clone());
        if self.health_routes {
            r.merge(crate::health::router(self.state.clone()))
        } else {
            r
        }
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

    /// Serves HTTP/1.1 on `listener` until `shutdown` completes, then stops accepting
    /// connections, lets open ones finish their request in progress, closes the queue and
    /// waits for queued and running work. Everything shares one deadline, the drain timeout:
    /// connections still open when it passes are closed.
    ///
    /// Limits while serving: at most `max_connections` connections (more wait in the listen
    /// backlog), `header_timeout` to send headers (and between requests on a keep-alive
    /// connection), `request_timeout` to send the body.
    pub async fn run(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let workers = self.start_workers();
        let router = self.router();
        let state = self.state.clone();
        // The webhook, the hot path, is called directly; the router serves the rest.
        let make = move || {
            let (router, state) = (router.clone(), state.clone());
            hyper::service::service_fn(move |req: Request<Incoming>| {
                let (router, state) = (router.clone(), state.clone());
                async move {
                    if req.method() == Method::POST && req.uri().path() == "/webhook" {
                        Ok(webhook(State(state), req.map(Body::new)).await)
                    } else {
                        TowerToHyperService::new(router).call(req).await
                    }
                }
            })
        };
        let deadline = crate::listener::serve(listener, self.limits, make, shutdown).await;
        self.close_queue();
        match tokio::time::timeout_at(deadline, workers).await {
            Ok(_) => tracing::info!("queue drained"),
            Err(_) => tracing::warn!(
                timeout_s = self.limits.drain_timeout.as_secs(),
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
    let id = d.id.clone();
    let event = state.label(&d.event);
    let start = Instant::now();
    let result = h.handle(d).instrument(span.clone()).await;
    state.metrics.handler_latency(event, start.elapsed());
    let _g = span.enter();
    match result {
        Ok(()) => {
            state.metrics.delivery(event, "handled");
            tracing::info!(elapsed_ms = start.elapsed().as_millis() as u64, "handled");
        }
        Err(e) => {
            // Forgotten, so that GitHub's redelivery of this id (manual or by the redelivery
            // pass) is handled again instead of being answered "duplicate".
            state.dedupe.remove(&id);
            state.metrics.delivery(event, "failed");
            tracing::warn!(error = %e, "handler failed");
        }
    }
}

fn text(status: StatusCode, msg: &'static str) -> Response {
    (status, msg).into_response()
}

fn busy(msg: &'static str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "5")],
        msg,
    )
        .into_response()
}

/// `sha256=` and 64 hex digits, as [`gh_core::webhook::verify`] requires: anything else is
/// refused before the body is read.
fn signature_well_formed(v: Option<&str>) -> bool {
    v.and_then(|v| v.trim().strip_prefix("sha256="))
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Why a body was not read in full.
enum BodyError {
    TooLarge,
    Busy,
    Timeout,
    Broken,
}

/// Reads a body of at most `body_limit` bytes within the request timeout, holding its size in
/// the in-flight body budget (the permit returned) until the caller drops it. A declared
/// `Content-Length` is reserved before anything is read.
async fn read_body(
    s: &AppState,
    mut body: Body,
    declared: Option<usize>,
) -> Result<(Bytes, Option<OwnedSemaphorePermit>), BodyError> {
    let deadline = tokio::time::Instant::now() + s.request_timeout;
    let reserve = |n: usize| {
        s.body_budget
            .clone()
            .try_acquire_many_owned(n as u32)
            .map_err(|_| BodyError::Busy)
    };
    let mut reserved = declared.unwrap_or(0);
    let mut permit = match reserved {
        0 => None,
        n => Some(reserve(n)?),
    };
    // One chunk (the common case) is kept as is; more are copied into one buffer.
    let mut first: Option<Bytes> = None;
    let mut buf = BytesMut::new();
    let mut total = 0usize;
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return Err(BodyError::Timeout),
            Ok(None) => break,
            Ok(Some(Err(_))) => return Err(BodyError::Broken),
            Ok(Some(Ok(f))) => f,
        };
        let Ok(chunk) = frame.into_data() else {
            continue; // trailers
        };
        total += chunk.len();
        if total > s.body_limit {
            return Err(BodyError::TooLarge);
        }
        if total > reserved {
            let more = reserve(total - reserved)?;
            match &mut permit {
                Some(p) => p.merge(more),
                None => permit = Some(more),
            }
            reserved = total;
        }
        if first.is_none() && buf.is_empty() {
            first = Some(chunk);
        } else {
            if let Some(f) = first.take() {
                buf.reserve(reserved.max(total));
                buf.extend_from_slice(&f);
            }
            buf.extend_from_slice(&chunk);
        }
    }
    Ok((first.unwrap_or_else(|| buf.freeze()), permit))
}

async fn webhook(State(s): State<Arc<AppState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let headers = &parts.headers;
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
    let event = h("x-github-event").unwrap_or("");
    let label = s.label(event);
    // Everything that can be decided from the headers is, before a byte of the body is read.
    let ctype = h("content-type").unwrap_or("");
    if !ctype
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
    {
        s.metrics.delivery(label, "bad_content_type");
        return text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content type must be application/json\n",
        );
    }
    // Refusals of unauthenticated requests are counted in the metrics and logged at debug
    // level only: a flood of them must not become a flood of log lines.
    let signature = h("x-hub-signature-256");
    if !signature_well_formed(signature) {
        s.metrics.delivery(label, "bad_signature");
        tracing::debug!("rejected delivery: missing or malformed X-Hub-Signature-256");
        return text(StatusCode::UNAUTHORIZED, "invalid signature\n");
    }
    let Some(id) = h("x-github-delivery").filter(|v| !v.is_empty() && v.len() <= 128) else {
        s.metrics.delivery(label, "bad_request");
        return text(StatusCode::BAD_REQUEST, "missing X-GitHub-Delivery\n");
    };
    if event.is_empty() {
        s.metrics.delivery(label, "bad_request");
        return text(StatusCode::BAD_REQUEST, "missing X-GitHub-Event\n");
    }
    let declared = match headers.get(header::CONTENT_LENGTH).map(|v| {
        v.to_str()
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .and_then(|n| usize::try_from(n).ok())
    }) {
        None => None,
        Some(Some(n)) if n <= s.body_limit => Some(n),
        Some(_) => {
            s.metrics.delivery(label, "too_large");
            return text(StatusCode::PAYLOAD_TOO_LARGE, "body too large\n");
        }
    };
    let (body, _reserved) = match read_body(&s, body, declared).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => {
            s.metrics.delivery(label, "too_large");
            return text(StatusCode::PAYLOAD_TOO_LARGE, "body too large\n");
        }
        Err(BodyError::Busy) => {
            s.metrics.delivery(label, "busy");
            tracing::debug!("in-flight body budget exhausted; answering 503");
            return busy("too many bodies in flight, redeliver later\n");
        }
        Err(BodyError::Timeout) => {
            s.metrics.delivery(label, "timeout");
            return text(StatusCode::REQUEST_TIMEOUT, "body not received in time\n");
        }
        Err(BodyError::Broken) => {
            s.metrics.delivery(label, "bad_request");
            return text(StatusCode::BAD_REQUEST, "unreadable body\n");
        }
    };
    if let Err(e) = gh_core::webhook::verify(&s.secret, &body, signature) {
        s.metrics.delivery(label, "bad_signature");
        tracing::debug!(error = %e, "rejected delivery");
        return text(StatusCode::UNAUTHORIZED, "invalid signature\n");
    }
    // Verified: the event name is GitHub's from here on.
    if !s.dedupe.insert(id) {
        s.metrics.delivery(label, "duplicate");
        return text(StatusCode::OK, "duplicate delivery\n");
    }
    let Some(handler) = s.handlers.get(event) else {
        s.metrics.delivery(label, "ignored");
        return text(StatusCode::ACCEPTED, "no handler for this event\n");
    };
    if !handler.wants(&body) {
        s.metrics.delivery(label, "skipped");
        return text(StatusCode::ACCEPTED, "nothing to do\n");
    }
    let payload = match Event::parse(event, &body) {
        Ok(p) => p,
        Err(e) => {
            s.dedupe.remove(id);
            s.metrics.delivery(label, "bad_payload");
            tracing::warn!(delivery = id, error = %e, "bad payload");
            return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response();
        }
    };
    let delivery = Delivery {
        id: id.to_owned(),
        event: event.to_owned(),
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
            s.metrics.delivery(label, "accepted");
            text(StatusCode::ACCEPTED, "accepted\n")
        }
        Err(()) => {
            // Not remembered: GitHub's redelivery of this id must be accepted.
            s.dedupe.remove(id);
            s.metrics.delivery(label, "queue_full");
            tracing::warn!(delivery = id, "queue full or closing; answering 503");
            busy("busy, redeliver later\n")
        }
    }
}

impl gh_core::metrics::Probe for AppState {
    fn metrics(&self) -> String {
        self.metrics.render()
    }
    fn ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }
}
