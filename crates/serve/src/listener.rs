//! The accept loop every ghops HTTP listener uses (the webhook port and the `--metrics-bind`
//! health port): HTTP/1.1 with a connection cap, a header timeout (also the keep-alive idle
//! timeout), and a drain on shutdown that ends with a hard close of connections still open.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::response::Response;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{Semaphore, watch};

/// The limits of one listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections open at once; more wait in the kernel's listen backlog.
    pub max_connections: usize,
    /// Time a client has to send a request's headers; also how long an idle keep-alive
    /// connection is kept open waiting for its next request.
    pub header_timeout: Duration,
    /// How long shutdown waits for open connections to finish their request in progress
    /// before closing them.
    pub drain_timeout: Duration,
}

impl Default for Limits {
    /// [`crate::DEFAULT_MAX_CONNECTIONS`] connections, [`crate::DEFAULT_TIMEOUT`] for headers,
    /// 30 s drain: the webhook server's defaults.
    fn default() -> Self {
        Self {
            max_connections: crate::DEFAULT_MAX_CONNECTIONS,
            header_timeout: crate::DEFAULT_TIMEOUT,
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// What open connections are told to do.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Stop {
    Running,
    /// Finish the request in progress, then close.
    Graceful,
    /// Close now (the drain deadline has passed).
    Now,
}

/// Serves HTTP/1.1 on `listener` with a service from `make` per connection until `shutdown`
/// completes; then stops accepting, lets open connections finish their request in progress
/// and closes those still open at the drain deadline, which it returns (the caller may spend
/// what is left of it on other work).
pub(crate) async fn serve<S, F>(
    listener: tokio::net::TcpListener,
    limits: Limits,
    make: impl Fn() -> S,
    shutdown: impl Future<Output = ()>,
) -> tokio::time::Instant
where
    S: hyper::service::Service<
            Request<Incoming>,
            Response = Response,
            Error = Infallible,
            Future = F,
        > + Send
        + 'static,
    F: Future<Output = Result<Response, Infallible>> + Send + 'static,
{
    let max = limits.max_connections.clamp(1, u32::MAX as usize);
    let conns = Arc::new(Semaphore::new(max));
    let (stop_tx, _) = watch::channel(Stop::Running);
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = conns.clone().acquire_owned() => p.expect("never closed"),
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let conn = http.serve_connection(TokioIo::new(stream), make());
        let mut stop = stop_tx.subscribe();
        tokio::spawn(async move {
            let _permit = permit;
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => return,
                _ = stop.wait_for(|s| *s != Stop::Running) => {}
            }
            conn.as_mut().graceful_shutdown();
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop.wait_for(|s| *s == Stop::Now) => {
                    tracing::debug!("drain deadline: closing a connection");
                }
            }
        });
    }
    drop(listener);
    let deadline = tokio::time::Instant::now() + limits.drain_timeout;
    stop_tx.send_replace(Stop::Graceful);
    // Every permit back: every connection closed.
    if tokio::time::timeout_at(deadline, conns.acquire_many(max as u32))
        .await
        .is_err()
    {
        tracing::warn!(
            open = max - conns.available_permits(),
            "shutdown deadline reached with connections open; closing them"
        );
        stop_tx.send_replace(Stop::Now);
    }
    deadline
}
