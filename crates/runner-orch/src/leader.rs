//! Leader election over a `coordination.k8s.io/v1` Lease: with `--leader-election`, replicas
//! take the Lease; only the holder runs the reconcile loop (and, under `ghops serve`, the
//! redelivery pass). All replicas accept webhooks (which only launch through the same
//! idempotent path). [`Leadership`] keeps the answer current in the background.

#[cfg(feature = "kubernetes")]
use std::time::Duration;

#[cfg(feature = "kubernetes")]
use chrono::Utc;
#[cfg(feature = "kubernetes")]
use k8s_openapi::api::coordination::v1::Lease;
#[cfg(feature = "kubernetes")]
use kube::api::{Api, PostParams};
#[cfg(feature = "kubernetes")]
use serde_json::json;

#[cfg(feature = "kubernetes")]
use crate::error::{OrchError, Result};

/// The name of the leader-election Lease (`ghops runners reconcile --leader-election`); the
/// manifests' Role grants `get`/`update` on this name only.
pub const LEASE_NAME: &str = "ghops-runners";

/// One replica's view of a Lease.
#[cfg(feature = "kubernetes")]
pub struct LeaderElector {
    api: Api<Lease>,
    name: String,
    identity: String,
    /// How long a holder's claim lasts without renewal.
    pub lease_duration: Duration,
}

#[cfg(feature = "kubernetes")]
impl LeaderElector {
    /// A candidate `identity` (e.g. the pod name) for Lease `name` in `namespace`.
    pub fn new(client: kube::Client, namespace: &str, name: &str, identity: &str) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            name: name.to_owned(),
            identity: identity.to_owned(),
            lease_duration: Duration::from_secs(30),
        }
    }

    /// Takes or renews the Lease; true when this replica holds it. A conflict (another
    /// replica wrote first) is "not leader", never an error.
    pub async fn try_acquire(&self) -> Result<bool> {
        let now = Utc::now();
        let now_s = now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let dur = self.lease_duration.as_secs() as i32;
        let pp = PostParams::default();
        let existing = self
            .api
            .get_opt(&self.name)
            .await
            .map_err(|e| OrchError::from_kube(format!("get Lease {}", self.name), e))?;
        let Some(mut lease) = existing else {
            let l: Lease = serde_json::from_value(json!({
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": { "name": self.name },
                "spec": {
                    "holderIdentity": self.identity,
                    "leaseDurationSeconds": dur,
                    "acquireTime": now_s,
                    "renewTime": now_s,
                    "leaseTransitions": 0,
                },
            }))
            .map_err(|e| OrchError::Kube {
                action: "build Lease".into(),
                message: e.to_string(),
            })?;
            return match self.api.create(&pp, &l).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.is_already_exists() || s.is_conflict() => Ok(false),
                Err(e) => Err(OrchError::from_kube(
                    format!("create Lease {}", self.name),
                    e,
                )),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let expired = spec.renew_time.as_ref().is_none_or(|t| {
            let renewed =
                chrono::DateTime::<Utc>::from_timestamp(t.0.as_second(), 0).unwrap_or_default();
            let d = i64::from(spec.lease_duration_seconds.unwrap_or(dur));
            now > renewed + chrono::Duration::seconds(d)
        });
        // An empty holder is a released Lease ([`LeaderElector::release`]): free at once.
        if !holder.is_empty() && holder != self.identity && !expired {
            return Ok(false);
        }
        let mut v = serde_json::to_value(&lease).unwrap_or_default();
        v["spec"]["holderIdentity"] = json!(self.identity);
        v["spec"]["leaseDurationSeconds"] = json!(dur);
        v["spec"]["renewTime"] = json!(now_s);
        if holder != self.identity {
            v["spec"]["acquireTime"] = json!(now_s);
            let t = spec.lease_transitions.unwrap_or(0) + 1;
            v["spec"]["leaseTransitions"] = json!(t);
        }
        lease = serde_json::from_value(v).map_err(|e| OrchError::Kube {
            action: "build Lease".into(),
            message: e.to_string(),
        })?;
        // `replace` sends the resourceVersion we read: a concurrent writer gets 409.
        match self.api.replace(&self.name, &pp, &lease).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.is_conflict() => Ok(false),
            Err(e) => Err(OrchError::from_kube(
                format!("update Lease {}", self.name),
                e,
            )),
        }
    }
}

#[cfg(feature = "kubernetes")]
impl LeaderElector {
    /// Gives the Lease up if this replica holds it, as client-go's `ReleaseOnCancel` does: an
    /// empty `holderIdentity`, `leaseDurationSeconds: 1`, `acquireTime` and `renewTime` now,
    /// `leaseTransitions` kept, so that a follower takes it at its next try instead of after
    /// the lease duration. True when released; false when another replica holds it (or wrote
    /// first: the `resourceVersion` read is sent back, so a concurrent writer wins).
    pub async fn release(&self) -> Result<bool> {
        let Some(lease) = self
            .api
            .get_opt(&self.name)
            .await
            .map_err(|e| OrchError::from_kube(format!("get Lease {}", self.name), e))?
        else {
            return Ok(false);
        };
        let holder = lease
            .spec
            .as_ref()
            .and_then(|s| s.holder_identity.clone())
            .unwrap_or_default();
        if holder != self.identity {
            return Ok(false);
        }
        let now = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let mut v = serde_json::to_value(&lease).unwrap_or_default();
        v["spec"]["holderIdentity"] = json!("");
        v["spec"]["leaseDurationSeconds"] = json!(1);
        v["spec"]["acquireTime"] = json!(now);
        v["spec"]["renewTime"] = json!(now);
        let lease: Lease = serde_json::from_value(v).map_err(|e| OrchError::Kube {
            action: "build Lease".into(),
            message: e.to_string(),
        })?;
        match self
            .api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.is_conflict() => Ok(false),
            Err(e) => Err(OrchError::from_kube(
                format!("release Lease {}", self.name),
                e,
            )),
        }
    }
}

/// [`Leadership::elect`] over the Lease [`LEASE_NAME`] in `namespace`, as
/// [`default_identity`], with the Kubernetes client from `kube_url` (no authentication) or
/// else the environment (in-cluster service account, then `$KUBECONFIG`).
#[cfg(feature = "kubernetes")]
pub async fn elect(namespace: &str, kube_url: Option<&str>) -> Result<Leadership> {
    let kube = match kube_url {
        Some(u) => crate::backend::KubeBackend::for_url(u, false)?,
        None => crate::backend::KubeBackend::infer(false).await?,
    };
    let elector = LeaderElector::new(kube.client(), namespace, LEASE_NAME, &default_identity());
    Ok(Leadership::elect(elector))
}

/// [`elect`] when `enabled` (`--leader-election`), else [`Leadership::always`] (one replica).
#[cfg(feature = "kubernetes")]
pub async fn elect_if(
    enabled: bool,
    namespace: &str,
    kube_url: Option<&str>,
) -> Result<Leadership> {
    if enabled {
        elect(namespace, kube_url).await
    } else {
        Ok(Leadership::always())
    }
}

/// This replica's identity: `$POD_NAME`, else the host name.
#[cfg(feature = "kubernetes")]
pub fn default_identity() -> String {
    std::env::var("POD_NAME")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| {
            hostname::get()
                .ok()
                .map(|h| h.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "ghops".into())
}

/// Whether this replica may run the singleton work (reconcile passes, the redelivery pass):
/// always ([`Leadership::always`], one replica), or while it holds the Lease
/// ([`Leadership::elect`]). Cheap to clone and to ask.
#[derive(Clone, Debug)]
pub struct Leadership {
    held: std::sync::Arc<std::sync::atomic::AtomicBool>,
    renewal: Option<std::sync::Arc<Renewal>>,
}

struct Renewal {
    task: tokio::task::JoinHandle<()>,
    #[cfg(feature = "kubernetes")]
    elector: std::sync::Arc<LeaderElector>,
}

impl std::fmt::Debug for Renewal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renewal").finish_non_exhaustive()
    }
}

impl Drop for Renewal {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Leadership {
    /// A single replica: always the leader.
    pub fn always() -> Self {
        Self::fixed(true)
    }

    /// A fixed answer (tests, or a replica told it is a follower).
    pub fn fixed(leader: bool) -> Self {
        Self {
            held: std::sync::Arc::new(std::sync::atomic::AtomicBool::new(leader)),
            renewal: None,
        }
    }

    /// Takes and renews the Lease in the background, every third of its duration (so two
    /// renewals may fail before it lapses). A failed renewal makes this replica a follower at
    /// once; it is the leader again only after taking the Lease again. Stops when the last
    /// clone is dropped.
    #[cfg(feature = "kubernetes")]
    pub fn elect(elector: LeaderElector) -> Self {
        let held = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = held.clone();
        let every = (elector.lease_duration / 3).max(Duration::from_secs(1));
        let elector = std::sync::Arc::new(elector);
        let shared = elector.clone();
        let task = tokio::spawn(async move {
            loop {
                let now = match elector.try_acquire().await {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::warn!(error = %e, "leader election failed");
                        false
                    }
                };
                let was = flag.swap(now, std::sync::atomic::Ordering::SeqCst);
                if now != was {
                    tracing::info!(
                        lease = %elector.name,
                        identity = %elector.identity,
                        leader = now,
                        "{}",
                        if now { "became the leader" } else { "no longer the leader" }
                    );
                }
                tokio::time::sleep(every).await;
            }
        });
        Self {
            held,
            renewal: Some(std::sync::Arc::new(Renewal {
                task,
                elector: shared,
            })),
        }
    }

    /// On graceful shutdown: stops renewing and, when this replica holds the Lease, gives it
    /// up ([`LeaderElector::release`]) so that a follower takes over at its next try (within
    /// seconds) instead of after the lease duration. After it, [`Leadership::is_leader`] is
    /// false. A failed release is logged (the Lease then simply expires). Nothing to do for
    /// [`Leadership::always`] / [`Leadership::fixed`].
    pub async fn release(&self) {
        let Some(r) = &self.renewal else {
            return;
        };
        r.task.abort();
        let was = self.held.swap(false, std::sync::atomic::Ordering::SeqCst);
        #[cfg(feature = "kubernetes")]
        if was {
            match r.elector.release().await {
                Ok(true) => tracing::info!(
                    lease = %r.elector.name,
                    identity = %r.elector.identity,
                    "released the Lease"
                ),
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "releasing the Lease failed; it expires"),
            }
        }
        #[cfg(not(feature = "kubernetes"))]
        let _ = was;
    }

    /// True while this replica may run the singleton work.
    pub fn is_leader(&self) -> bool {
        self.held.load(std::sync::atomic::Ordering::SeqCst)
    }
}
