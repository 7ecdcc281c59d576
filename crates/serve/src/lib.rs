//! # ghops-serve
//!
//! The webhook server behind `ghops serve`: one GitHub App endpoint for every workflow.
//!
//! - `POST /webhook` refuses on the headers first, before reading the body (content type 415,
//!   missing or malformed signature 401, missing delivery id or event 400, declared length over
//!   25 MiB 413, in-flight body budget exhausted 503), then verifies `X-Hub-Signature-256`
//!   (constant time) over the exact body before parsing anything, drops duplicate
//!   `X-GitHub-Delivery` ids (bounded memory; a delivery whose handler fails is forgotten so
//!   its redelivery runs), and hands the delivery to a bounded worker queue; a full queue
//!   answers 503 so GitHub records a failed delivery that can be redelivered: nothing is
//!   dropped silently. Metrics label only GitHub event names and routes (`other` otherwise).
//! - [`Server::run`]: HTTP/1.1 with a connection cap, header and body timeouts, and a hard
//!   close of connections still open at the end of the drain deadline.
//! - Workers route each delivery to the [`Handler`] registered for its event. A handler may
//!   look at the raw body first ([`Handler::wants`]) so that deliveries needing no work are
//!   answered 202 without the full decode, the queue or a token.
//! - `GET /healthz`, `GET /readyz`, `GET /metrics` (Prometheus text); [`health`] serves the
//!   same three routes for any daemon's [`gh_core::metrics::Probe`] (`--metrics-bind`).
//! - [`redeliver`]: asks GitHub to redeliver failed deliveries it has not redelivered yet.
//! - Graceful shutdown drains connections and the queue within one deadline.
//!
//! ```no_run
//! use std::sync::Arc;
//! use ghops_serve::{Server, ServeConfig, Handler, Delivery, HandlerFuture};
//!
//! struct Log;
//! impl Handler for Log {
//!     fn handle(&self, d: Delivery) -> HandlerFuture {
//!         Box::pin(async move { println!("{} {}", d.event, d.id); Ok(()) })
//!     }
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let mut config = ServeConfig::new(b"webhook-secret".to_vec());
//! config.handlers.insert("issue_comment".into(), Arc::new(Log));
//! let server = Server::new(config);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! server.run(listener, async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```
//!
//! What it does **not** do: terminate TLS (the ingress does), hold workflow logic (each
//! workflow crate exports its routes and their permissions; [`App::workflows`] wires them), or
//! persist deliveries: a delivery refused or lost in a crash is recovered by GitHub's
//! redelivery ([`redeliver`]), and the workflows' reconcile loops stay the truth.

#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod app;
pub mod health;
mod listener;
pub mod manifests;
mod metrics;
pub mod redeliver;
mod server;
mod setup;

pub use app::{App, Redelivery, Routes, shutdown_signal};
pub use gh_core::client::installations::{Installations, Permissions, narrow, perms};
pub use gh_core::dedupe::Dedupe;
pub use listener::Limits;
pub use metrics::Metrics;
pub use server::{
    DEFAULT_BODY_LIMIT, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_INFLIGHT_BODY_BYTES, DEFAULT_TIMEOUT,
    Delivery, Handler, HandlerFuture, ServeConfig, Server,
};
pub use setup::{AppError, Setup, bind, webhook_secret};
