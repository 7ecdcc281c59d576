//! Health and metrics of a long-running ghops process, without an HTTP server or a metrics
//! framework: the [`Probe`] trait a daemon implements (what `/metrics`, `/healthz` and `/readyz`
//! answer). Its `/metrics` text is written with [`crate::prometheus::Text`], the one
//! Prometheus text-format renderer every daemon uses.
//!
//! The HTTP listener that serves a [`Probe`] is `ghops_serve::health` (`--metrics-bind`).

/// What a daemon's health endpoints answer. Implementations are cheap to call (atomics or a
/// short lock): a scrape or a probe never waits for work in progress.
pub trait Probe: Send + Sync {
    /// `/metrics`: the Prometheus text exposition (build it with [`crate::prometheus::Text`]).
    fn metrics(&self) -> String;
    /// `/readyz`: ready for work (e.g. after its first successful pass, or while not draining).
    fn ready(&self) -> bool;
    /// `/healthz`: alive (e.g. its loop made progress recently). Default: always.
    fn alive(&self) -> bool {
        true
    }
}

/// The content type of a `/metrics` answer (Prometheus text format 0.0.4).
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4";
