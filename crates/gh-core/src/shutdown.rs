//! The one shutdown-signal helper of ghops's daemons: SIGTERM and SIGINT (Ctrl-C) mean the
//! same thing everywhere — stop taking work, finish or cancel what runs, exit 0.

use tokio::signal::unix::{Signal, SignalKind};

/// Resolves on the first SIGTERM or SIGINT.
pub async fn signal() {
    wait(tokio::signal::unix::signal(SignalKind::terminate()).ok()).await
}

async fn wait(term: Option<Signal>) {
    let term = async {
        match term {
            Some(mut s) => {
                s.recv().await;
            }
            // No SIGTERM handler could be installed: Ctrl-C still works.
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

/// Turns `stop` true on the first SIGTERM or SIGINT, after calling `on_signal` (e.g. a
/// "shutting down" line). A daemon's loops (and its health listener) watch the receiver. The
/// SIGTERM handler is installed before this returns (call it inside a Tokio runtime).
pub fn stop_on_signal(
    stop: tokio::sync::watch::Sender<bool>,
    on_signal: impl FnOnce() + Send + 'static,
) {
    let term = tokio::signal::unix::signal(SignalKind::terminate()).ok();
    tokio::spawn(async move {
        wait(term).await;
        on_signal();
        let _ = stop.send(true);
    });
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn sigterm_turns_stop_true() {
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let (said, heard) = tokio::sync::oneshot::channel();
        super::stop_on_signal(stop, move || {
            let _ = said.send(());
        });
        nix::sys::signal::raise(nix::sys::signal::Signal::SIGTERM).unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(5), stopped.wait_for(|s| *s))
            .await
            .expect("stop turned true")
            .unwrap();
        heard.await.unwrap();
    }
}
