//! End-to-end tests: the real `ghops` binary against wiremock GitHub (exact requests) and the
//! Prism contract server (GitHub's official OpenAPI description). One test binary; one module
//! per workflow.

mod util;

mod agent;
mod auth;
mod contract;
mod plan;
mod pr_bridge;
mod release;
mod runners;
mod serve;
