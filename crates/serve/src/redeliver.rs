//! Missed deliveries: list the App's recent deliveries and ask GitHub to redeliver the failed
//! ones that were neither redelivered already nor delivered successfully later.
//!
//! `GET /app/hook/deliveries` and `POST /app/hook/deliveries/{id}/attempts` need the App's JWT
//! (a client built from App credentials without an installation).

use std::collections::BTreeMap;

use gh_core::GitHub;
use gh_core::retry::Idempotency;
use serde::{Deserialize, Serialize};

/// One delivery attempt as `GET /app/hook/deliveries` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HookDelivery {
    /// Attempt id (what `/attempts` takes).
    pub id: u64,
    /// Delivery GUID (`X-GitHub-Delivery`), shared by a delivery and its redeliveries.
    pub guid: String,
    /// When it was sent.
    #[serde(default)]
    pub delivered_at: String,
    /// True for a redelivery.
    #[serde(default)]
    pub redelivery: bool,
    /// HTTP status our endpoint answered (0 when unreachable).
    #[serde(default)]
    pub status_code: u16,
    /// Event name.
    #[serde(default)]
    pub event: String,
}

/// What a pass did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RedeliveryReport {
    /// Attempt ids GitHub was asked to redeliver.
    pub requested: Vec<u64>,
    /// Failed deliveries left for the next pass (over the per-pass bound).
    pub deferred: usize,
}

/// Chooses, per GUID, the newest failed attempt of deliveries that never succeeded and were
/// never redelivered, oldest delivery first, at most `max`.
pub fn select(deliveries: &[HookDelivery], max: usize) -> (Vec<u64>, usize) {
    let mut by_guid: BTreeMap<&str, Vec<&HookDelivery>> = BTreeMap::new();
    for d in deliveries {
        by_guid.entry(d.guid.as_str()).or_default().push(d);
    }
    let mut failed: Vec<&HookDelivery> = by_guid
        .values()
        .filter(|attempts| {
            !attempts
                .iter()
                .any(|a| a.redelivery || (200..300).contains(&a.status_code))
        })
        .filter_map(|attempts| {
            attempts
                .iter()
                .max_by_key(|a| (a.delivered_at.clone(), a.id))
                .copied()
        })
        .collect();
    failed.sort_by_key(|a| (a.delivered_at.clone(), a.id));
    let deferred = failed.len().saturating_sub(max);
    (
        failed.into_iter().take(max).map(|a| a.id).collect(),
        deferred,
    )
}

/// One pass: reads up to `pages` pages of recent deliveries and requests at most `max`
/// redeliveries.
pub async fn redeliver_failed(
    app: &GitHub,
    pages: usize,
    max: usize,
) -> gh_core::Result<RedeliveryReport> {
    let mut pager = app.pages("/app/hook/deliveries", None);
    let mut all = Vec::new();
    for _ in 0..pages.max(1) {
        match pager.next_page::<HookDelivery>().await? {
            Some(p) => all.extend(p),
            None => break,
        }
    }
    let (ids, deferred) = select(&all, max);
    let mut report = RedeliveryReport {
        requested: Vec::new(),
        deferred,
    };
    for id in ids {
        app.post::<serde_json::Value>(
            &format!("/app/hook/deliveries/{id}/attempts"),
            &serde_json::json!({}),
            Idempotency::NonIdempotent,
        )
        .await?;
        report.requested.push(id);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(id: u64, guid: &str, at: &str, redelivery: bool, status: u16) -> HookDelivery {
        HookDelivery {
            id,
            guid: guid.into(),
            delivered_at: at.into(),
            redelivery,
            status_code: status,
            event: "issue_comment".into(),
        }
    }

    #[test]
    fn only_failed_not_yet_redelivered() {
        let list = vec![
            d(1, "a", "2026-01-01T00:00:01Z", false, 503), // failed, never retried -> pick
            d(2, "b", "2026-01-01T00:00:02Z", false, 500), // failed, redelivered already
            d(3, "b", "2026-01-01T00:00:03Z", true, 500),
            d(4, "c", "2026-01-01T00:00:04Z", false, 202), // fine
            d(5, "e", "2026-01-01T00:00:05Z", false, 0),   // unreachable -> pick
            d(6, "f", "2026-01-01T00:00:06Z", false, 401), // pick, but over the bound
        ];
        assert_eq!(select(&list, 2), (vec![1, 5], 1));
        assert_eq!(select(&list, 10), (vec![1, 5, 6], 0));
        assert_eq!(select(&[], 10), (vec![], 0));
    }
}
