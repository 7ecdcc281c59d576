//! End-to-end tests: the real `ghops` binary against wiremock GitHub (exact requests) and the
//! Prism contract server (GitHub's official OpenAPI description). One test binary; one module
//! per workflow.

mod prism;
mod util;

mod agent;
mod auth;
mod cli;
mod contract;
mod docs;
mod docs_runnable;
mod env;
mod ghes;
mod hardening;
mod human_output;
mod json_schema;
mod parity;
mod plan;
mod pr_bridge;
mod release;
mod runners;
mod serve;
mod ship;
