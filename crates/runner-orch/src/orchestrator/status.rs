//! `ghops runners status`: pools, queued jobs and runners by state (reads only).

use std::collections::BTreeSet;

use serde::Serialize;

use super::Orchestrator;
use crate::clients::Clients;
use crate::error::Result;
use crate::github::{self, ListCache};
use crate::naming;

/// One pool in `ghops runners status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PoolStatus {
    /// Pool name.
    pub pool: String,
    /// `kubernetes` or `process`.
    pub backend: String,
    /// Capacity.
    pub max: u32,
    /// Warm runners wanted.
    pub min_idle: u32,
    /// Queued jobs this pool serves.
    pub queued: u64,
    /// Backend runners not finished (counting against `max`).
    pub live: u64,
    /// Backend runners finished and not yet cleaned up.
    pub finished: u64,
    /// Registered runners of our naming that are running a job.
    pub busy: u64,
    /// Registered, online and idle.
    pub idle: u64,
    /// Registered but offline (starting, or leftovers).
    pub offline: u64,
}

impl Orchestrator {
    /// Pools, queued jobs and runners by state (reads only).
    pub async fn status(&self, clients: &Clients) -> Result<Vec<PoolStatus>> {
        let mut out = Vec::new();
        // Plain reads: a status call must not disturb the reconcile pass's ETags.
        let cache = ListCache::default();
        for pool in &self.config.pools {
            let mut queued = 0;
            for repo in pool.repo_refs() {
                queued += github::queued_jobs(clients.for_repo(&repo), &repo, &cache)
                    .await?
                    .iter()
                    .filter(|j| {
                        self.config
                            .select_pool(&repo, &j.labels)
                            .is_some_and(|p| p.name == pool.name)
                    })
                    .count() as u64;
            }
            let live = self.backend.list(pool).await?;
            let names: BTreeSet<&str> = live.iter().map(|l| l.name.as_str()).collect();
            let (mut busy, mut idle, mut offline) = (0, 0, 0);
            for scope in pool.scopes() {
                for r in github::list_runners(clients.for_scope(&scope), &scope, &cache).await? {
                    if naming::parse_name(&r.name).is_none() {
                        continue;
                    }
                    if !names.contains(r.name.as_str()) && r.status == "online" && !r.busy {
                        continue;
                    }
                    if r.busy {
                        busy += 1;
                    } else if r.status == "online" {
                        idle += 1;
                    } else {
                        offline += 1;
                    }
                }
            }
            out.push(PoolStatus {
                pool: pool.name.clone(),
                backend: format!("{:?}", pool.backend).to_ascii_lowercase(),
                max: pool.max,
                min_idle: pool.min_idle,
                queued,
                live: live.iter().filter(|l| !l.finished).count() as u64,
                finished: live.iter().filter(|l| l.finished).count() as u64,
                busy,
                idle,
                offline,
            });
        }
        Ok(out)
    }
}
