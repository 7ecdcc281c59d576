//! What the three daemons (`serve`, `agent run`, `runners reconcile --watch`) share on the
//! command line: the `--metrics-bind` listener.

use std::net::SocketAddr;
use std::sync::Arc;

use gh_core::metrics::Probe;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::ctx::Failure;
use crate::output::{Kind, say};

/// `--metrics-bind ADDR`, bound before the daemon starts working: a taken port fails the
/// start (exit 2), not a later pass.
pub async fn bind_metrics(bind: Option<SocketAddr>) -> Result<Option<TcpListener>, Failure> {
    let Some(bind) = bind else {
        return Ok(None);
    };
    TcpListener::bind(bind)
        .await
        .map(Some)
        .map_err(|e| Failure::usage(format!("--metrics-bind: cannot listen on {bind}: {e}")))
}

/// Serves `/metrics`, `/healthz` and `/readyz` from `probe` on `listener` (when bound) until
/// `stopped` turns true, and says where (`ghops <who>: metrics and health on http://…`).
pub fn serve_metrics(
    listener: Option<TcpListener>,
    probe: Arc<dyn Probe>,
    stopped: watch::Receiver<bool>,
    who: &str,
) -> Result<(), Failure> {
    let Some(listener) = listener else {
        return Ok(());
    };
    let stop = ghops_serve::health::on_stop(stopped);
    let l = ghops_serve::health::serve(listener, probe, stop)
        .map_err(|e| Failure::usage(format!("--metrics-bind: {e}")))?;
    say(
        Kind::Info,
        &format!("ghops {who}: metrics and health on http://{}", l.addr),
    );
    Ok(())
}
