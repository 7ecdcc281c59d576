//! The health listener every ghops daemon shares (`--metrics-bind`): `GET /metrics`
//! (Prometheus text), `GET /healthz` (200 while [`Probe::alive`]), `GET /readyz` (200 while
//! [`Probe::ready`]), answered from any [`Probe`] — the webhook server's, the deploy agent's,
//! the runner reconcile loop's.
//!
//! ```no_run
//! use std::sync::Arc;
//! use gh_core::metrics::Probe;
//! use gh_core::prometheus::{Kind, Text};
//!
//! struct Loop;
//! impl Probe for Loop {
//!     fn metrics(&self) -> String {
//!         let mut t = Text::new();
//!         t.single("my_passes_total", Kind::Counter, "Passes.", 1);
//!         t.finish()
//!     }
//!     fn ready(&self) -> bool { true }
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let (_stop, stopped) = tokio::sync::watch::channel(false);
//! let listening = ghops_serve::health::listen(
//!     "127.0.0.1:9090".parse().unwrap(),
//!     Arc::new(Loop),
//!     ghops_serve::health::on_stop(stopped),
//! )
//! .await?;
//! println!("metrics on http://{}/metrics", listening.addr);
//! # Ok(()) }
//! ```

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use gh_core::metrics::{CONTENT_TYPE, Probe};
use hyper_util::service::TowerToHyperService;

pub use crate::listener::Limits;

/// The three routes, answered from `probe` (merge them into another router, or [`listen`]).
pub fn router(probe: Arc<dyn Probe>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(probe)
}

/// A running listener.
#[derive(Debug)]
pub struct Listening {
    /// The bound address (the real port when asked for port 0).
    pub addr: SocketAddr,
    /// Ends after `shutdown` resolved and open requests finished.
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Binds `bind` (an error when it cannot: a daemon asked for metrics should not start without
/// them) and serves [`router`] until `shutdown` resolves.
pub async fn listen(
    bind: SocketAddr,
    probe: Arc<dyn Probe>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<Listening> {
    let listener = tokio::net::TcpListener::bind(bind).await?;
    serve(listener, probe, shutdown)
}

/// Serves [`router`] on a listener bound beforehand (bind first, so that a taken port fails
/// before the daemon starts working; then build the probe) until `shutdown` resolves, with
/// the webhook server's default [`Limits`].
pub fn serve(
    listener: tokio::net::TcpListener,
    probe: Arc<dyn Probe>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<Listening> {
    serve_with(listener, probe, Limits::default(), shutdown)
}

/// [`serve`] with these limits. The listener is the webhook server's (the same accept loop):
/// at most `max_connections` open, `header_timeout` for a request's headers and between
/// keep-alive requests (a client that trickles its headers is dropped), and on shutdown a
/// drain that closes what is still open at `drain_timeout`.
pub fn serve_with(
    listener: tokio::net::TcpListener,
    probe: Arc<dyn Probe>,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<Listening> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "health and metrics listening (/metrics, /healthz, /readyz)");
    let router = router(probe);
    let task = tokio::spawn(async move {
        let make = move || TowerToHyperService::new(router.clone());
        crate::listener::serve(listener, limits, make, shutdown).await;
        Ok(())
    });
    Ok(Listening { addr, task })
}

/// A shutdown future for [`listen`]/[`serve`]: resolves when `stop` turns true (or its sender
/// is dropped) — the same watch channel that stops the daemon's loop.
pub async fn on_stop(mut stop: tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

fn text(ok: bool, yes: &'static str, no: &'static str) -> Response {
    if ok {
        (StatusCode::OK, yes).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, no).into_response()
    }
}

async fn healthz(State(p): State<Arc<dyn Probe>>) -> Response {
    text(p.alive(), "ok\n", "stalled\n")
}

async fn readyz(State(p): State<Arc<dyn Probe>>) -> Response {
    text(p.ready(), "ready\n", "not ready\n")
}

async fn metrics(State(p): State<Arc<dyn Probe>>) -> Response {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], p.metrics()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    #[derive(Default)]
    struct Flags {
        ready: AtomicBool,
        alive: AtomicBool,
    }
    impl Probe for Flags {
        fn metrics(&self) -> String {
            "x 1\n".into()
        }
        fn ready(&self) -> bool {
            self.ready.load(Ordering::Relaxed)
        }
        fn alive(&self) -> bool {
            self.alive.load(Ordering::Relaxed)
        }
    }

    async fn get(addr: SocketAddr, path: &str) -> (u16, String, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        let status = out[9..12].parse().unwrap();
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        (status, head.to_ascii_lowercase(), body.to_owned())
    }

    #[tokio::test]
    async fn answers_from_the_probe_and_stops_on_shutdown() {
        let p = Arc::new(Flags::default());
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let l = listen("127.0.0.1:0".parse().unwrap(), p.clone(), on_stop(stopped))
            .await
            .unwrap();
        assert_eq!(get(l.addr, "/readyz").await.0, 503);
        assert_eq!(get(l.addr, "/healthz").await.0, 503);
        p.ready.store(true, Ordering::Relaxed);
        p.alive.store(true, Ordering::Relaxed);
        assert_eq!(get(l.addr, "/readyz").await.0, 200);
        assert_eq!(get(l.addr, "/healthz").await.0, 200);
        let (status, head, body) = get(l.addr, "/metrics").await;
        assert_eq!(status, 200);
        assert!(
            head.contains("content-type: text/plain; version=0.0.4"),
            "{head}"
        );
        assert_eq!(body, "x 1\n");
        assert_eq!(get(l.addr, "/nope").await.0, 404);
        stop.send(true).unwrap();
        l.task.await.unwrap().unwrap();
    }

    fn limits(max_connections: usize, header_timeout: Duration) -> Limits {
        Limits {
            max_connections,
            header_timeout,
            drain_timeout: Duration::from_secs(5),
        }
    }

    /// A client that trickles its headers is dropped at the header timeout (plain
    /// `axum::serve` kept it open for ever).
    #[tokio::test]
    async fn a_slow_loris_client_is_dropped() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let p = Arc::new(Flags::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let l = serve_with(
            listener,
            p,
            limits(8, Duration::from_millis(300)),
            std::future::pending(),
        )
        .unwrap();
        let mut s = tokio::net::TcpStream::connect(l.addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        let mut out = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
        assert!(read.is_ok(), "the connection is still open");
        assert!(
            !String::from_utf8_lossy(&out).contains("200 OK"),
            "{}",
            String::from_utf8_lossy(&out)
        );
    }

    /// At most `max_connections` open: the next one waits in the backlog until one closes.
    #[tokio::test]
    async fn the_connection_cap_holds() {
        let p = Arc::new(Flags::default());
        p.alive.store(true, Ordering::Relaxed);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let l = serve_with(
            listener,
            p,
            limits(1, Duration::from_secs(30)),
            on_stop(stopped),
        )
        .unwrap();
        // The only slot: an idle connection (accepted, no request yet).
        let idle = tokio::net::TcpStream::connect(l.addr).await.unwrap();
        let addr = l.addr;
        let mut second = tokio::spawn(async move { get(addr, "/healthz").await.0 });
        assert!(
            tokio::time::timeout(Duration::from_millis(300), &mut second)
                .await
                .is_err(),
            "a second connection was served while the only slot was taken"
        );
        drop(idle);
        let status = tokio::time::timeout(Duration::from_secs(10), second)
            .await
            .expect("served once the slot is free")
            .unwrap();
        assert_eq!(status, 200);
        stop.send(true).unwrap();
        l.task.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn a_taken_address_is_an_error() {
        let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let err = listen(
            taken.local_addr().unwrap(),
            Arc::new(Flags::default()),
            async {},
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    }
}
