//! Decisions: a `workflow_job` event (a hint) or a reconcile pass (the truth) lead to at most
//! one runner per (repository, job id, run attempt).
//!
//! By concern: [`decision`] (what was decided, and a pass's report), [`launch`] (events and
//! launches), [`reconcile`] (a pass), [`run_loop`] (the loop), [`status`] (reads for
//! `ghops runners status`), [`metrics`] (counters).

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use gh_core::dedupe::Dedupe;

use crate::backend::{Backend, Live};
use crate::config::RunnersConfig;
use crate::github::ListCache;

pub mod decision;
pub mod launch;
pub mod metrics;
pub mod reconcile;
pub mod run_loop;
pub mod status;

pub use decision::{Decision, DecisionLine, ReconcileReport};
pub use launch::FRESH;
pub use metrics::Metrics;
pub use run_loop::HEARTBEAT;
pub use status::PoolStatus;

/// Runner names the orchestrator remembers as launched (a duplicate delivery of one of them is
/// answered from memory, without a call). Older names are forgotten first; a duplicate of a
/// forgotten one finds the backend runner, or a job that is no longer queued.
pub const LAUNCH_MEMORY: usize = 4096;

/// The orchestrator: configuration, backend and the in-memory dedupe state. One per process;
/// share it behind an `Arc` between the webhook handler and the reconcile loop.
#[derive(Debug)]
pub struct Orchestrator {
    config: RunnersConfig,
    backend: Backend,
    inflight: Mutex<HashSet<String>>,
    launched: Dedupe,
    suspects: Mutex<BTreeMap<String, HashSet<String>>>,
    /// The reconcile pass's lists with their ETags (conditional reads).
    cache: ListCache,
    /// Counters.
    pub metrics: std::sync::Arc<Metrics>,
    /// A runner launched less than this long ago is never reaped as unused (it may be
    /// serving a job queued after the pass listed jobs). Default 2 minutes.
    pub grace: Duration,
}

struct InflightGuard<'a>(&'a Mutex<HashSet<String>>, String, &'a AtomicU64);

impl Drop for InflightGuard<'_> {
    fn drop(&mut self) {
        self.0.lock().expect("lock").remove(&self.1);
        self.2.fetch_sub(1, Ordering::Relaxed);
    }
}

fn is_live(l: &Live) -> bool {
    !l.finished
}

impl Orchestrator {
    /// An orchestrator; validate the config first ([`RunnersConfig::validate`]).
    pub fn new(config: RunnersConfig, backend: Backend) -> Self {
        Self {
            config,
            backend,
            inflight: Mutex::new(HashSet::new()),
            launched: Dedupe::new(LAUNCH_MEMORY),
            suspects: Mutex::new(BTreeMap::new()),
            cache: ListCache::default(),
            metrics: std::sync::Arc::default(),
            grace: Duration::from_secs(120),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RunnersConfig {
        &self.config
    }

    /// How many launched runner names are remembered (at most [`LAUNCH_MEMORY`]).
    pub fn remembered(&self) -> usize {
        self.launched.len()
    }

    /// The backend.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Ends the local runners this process started (the whole process group of each); call
    /// it when the process stops. Kubernetes runners are left to finish their jobs.
    pub async fn shutdown(&self) {
        self.backend.shutdown().await;
    }
}
