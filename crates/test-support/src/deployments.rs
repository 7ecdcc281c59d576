//! A stateful GitHub Deployments fake for agent tests: deployment statuses that are really
//! stored (a POST is seen by every later GET, by any process), ids that grow like GitHub's,
//! and injected faults — a POST refused before it applies, or applied and then answered 502
//! (the "write landed, answer lost" case).
//!
//! ```no_run
//! # async fn t() {
//! use ghops_test_support::{MockGitHub, deployments::Deployments};
//! let gh = MockGitHub::start().await;
//! let d = Deployments::mount(&gh, "octo/app").await;
//! d.add(serde_json::json!({"id": 7, "sha": "abc", "ref": "main", "environment": "staging"}));
//! // ... run agents against gh.uri() ...
//! assert_eq!(d.states(7), ["in_progress", "success"]);
//! # }
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

use crate::MockGitHub;

/// A fault injected into the next status POST that matches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// Only POSTs of this state (`None`: any).
    pub state: Option<String>,
    /// Applied before the 502 (the answer is lost) or not applied at all.
    pub applied: bool,
}

#[derive(Default)]
struct State {
    deployments: Vec<Value>,
    statuses: BTreeMap<u64, Vec<Value>>,
    next_status: u64,
    faults: VecDeque<Fault>,
    post_delay: BTreeMap<String, Duration>,
    stale_latest: BTreeMap<u64, usize>,
}

/// The fake (cheap to clone; clones share the state).
#[derive(Clone, Default)]
pub struct Deployments {
    state: Arc<Mutex<State>>,
}

struct Responder {
    state: Arc<Mutex<State>>,
}

fn id_in(path: &str) -> Option<u64> {
    let mut parts = path.split('/');
    parts.find(|p| *p == "deployments")?;
    parts.next()?.parse().ok()
}

fn per_page(r: &Request) -> usize {
    r.url
        .query_pairs()
        .find(|(k, _)| k == "per_page")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(30)
}

impl Respond for Responder {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        let mut s = self.state.lock().expect("lock");
        let path = r.url.path();
        let is_statuses = path.ends_with("/statuses");
        match (r.method.as_str(), is_statuses) {
            ("GET", false) => {
                let env = r
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == "environment")
                    .map(|(_, v)| v.into_owned());
                let page: usize = r
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == "page")
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(1);
                let n = per_page(r);
                let list: Vec<Value> = s
                    .deployments
                    .iter()
                    .rev()
                    .filter(|d| env.as_deref().is_none_or(|e| d["environment"] == e))
                    .skip((page - 1) * n)
                    .take(n)
                    .cloned()
                    .collect();
                ResponseTemplate::new(200).set_body_json(list)
            }
            ("GET", true) => {
                let Some(id) = id_in(path) else {
                    return ResponseTemplate::new(404);
                };
                if per_page(r) == 1
                    && let Some(n) = s.stale_latest.get_mut(&id)
                    && *n > 0
                {
                    *n -= 1;
                    return ResponseTemplate::new(200).set_body_json(json!([]));
                }
                let list: Vec<Value> = s
                    .statuses
                    .get(&id)
                    .map(|v| v.iter().rev().take(per_page(r)).cloned().collect())
                    .unwrap_or_default();
                ResponseTemplate::new(200).set_body_json(list)
            }
            ("POST", true) => {
                let Some(id) = id_in(path) else {
                    return ResponseTemplate::new(404);
                };
                let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
                let state = body["state"].as_str().unwrap_or_default().to_owned();
                let fault = s
                    .faults
                    .iter()
                    .position(|f| f.state.as_deref().is_none_or(|st| st == state))
                    .and_then(|i| s.faults.remove(i));
                if fault.as_ref().is_some_and(|f| !f.applied) {
                    return ResponseTemplate::new(502);
                }
                s.next_status += 1;
                let status = json!({
                    "id": s.next_status,
                    "state": state,
                    "description": body["description"],
                    "environment_url": body["environment_url"],
                    "log_url": body["log_url"],
                });
                s.statuses.entry(id).or_default().push(status.clone());
                if fault.is_some() {
                    return ResponseTemplate::new(502);
                }
                let t = ResponseTemplate::new(201).set_body_json(status);
                match s.post_delay.get(&state) {
                    Some(d) => t.set_delay(*d),
                    None => t,
                }
            }
            ("POST", false) => {
                let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
                let id = s
                    .deployments
                    .iter()
                    .filter_map(|d| d["id"].as_u64())
                    .max()
                    .unwrap_or(0)
                    + 1;
                let d = json!({
                    "id": id,
                    "sha": "5ca1ab1e0123456789abcdef0123456789abcdef",
                    "ref": body["ref"],
                    "task": body["task"],
                    "environment": body["environment"],
                    "payload": body["payload"],
                    "transient_environment": body["transient_environment"],
                    "production_environment": body["production_environment"],
                    "creator": {"login": "octocat", "id": 1},
                });
                s.deployments.push(d.clone());
                ResponseTemplate::new(201).set_body_json(d)
            }
            _ => ResponseTemplate::new(405),
        }
    }
}

impl Deployments {
    /// Mounts the fake for `owner/name` on `gh` (deployments: list and create; statuses: list
    /// and create), at
    /// a low priority: a test's own mocks (default priority) answer first.
    pub async fn mount(gh: &MockGitHub, repo: &str) -> Self {
        let d = Self::default();
        Mock::given(method("GET"))
            .and(path_regex(format!(
                "^/repos/{repo}/deployments(/[0-9]+/statuses)?$"
            )))
            .respond_with(Responder {
                state: d.state.clone(),
            })
            .with_priority(10)
            .mount(&gh.server)
            .await;
        Mock::given(method("POST"))
            .and(path_regex(format!(
                "^/repos/{repo}/deployments(/[0-9]+/statuses)?$"
            )))
            .respond_with(Responder {
                state: d.state.clone(),
            })
            .with_priority(10)
            .mount(&gh.server)
            .await;
        d
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("lock")
    }

    /// Adds a deployment (the newest).
    pub fn add(&self, deployment: Value) {
        self.lock().deployments.push(deployment);
    }

    /// Stores a status of deployment `id` (as if posted earlier).
    pub fn preload(&self, id: u64, status: Value) {
        let mut s = self.lock();
        s.next_status += 1;
        let mut status = status;
        status["id"] = json!(s.next_status);
        s.statuses.entry(id).or_default().push(status);
    }

    /// Injects a fault into the next status POST that matches.
    pub fn fault(&self, fault: Fault) {
        self.lock().faults.push_back(fault);
    }

    /// Answers status POSTs of `state` only after `delay` (applied at once): makes two
    /// agents' claims land before either sees its answer.
    pub fn delay_posts(&self, state: &str, delay: Duration) {
        self.lock().post_delay.insert(state.to_owned(), delay);
    }

    /// Answers the next `n` reads of deployment `id`'s latest status (`per_page=1`) with no
    /// status at all, as
    /// a read made just before another agent's claim landed would be: two agents that both
    /// get it both claim, deterministically.
    pub fn stale_latest_reads(&self, id: u64, n: usize) {
        self.lock().stale_latest.insert(id, n);
    }

    /// The stored statuses of deployment `id`, oldest first.
    pub fn statuses(&self, id: u64) -> Vec<Value> {
        self.lock().statuses.get(&id).cloned().unwrap_or_default()
    }

    /// The states of deployment `id`'s statuses, oldest first.
    pub fn states(&self, id: u64) -> Vec<String> {
        self.statuses(id)
            .iter()
            .map(|s| s["state"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// How many of deployment `id`'s statuses are terminal (success, failure, error,
    /// inactive).
    pub fn terminal_count(&self, id: u64) -> usize {
        self.states(id)
            .iter()
            .filter(|s| matches!(s.as_str(), "success" | "failure" | "error" | "inactive"))
            .count()
    }

    /// How many of deployment `id`'s statuses are `in_progress`.
    pub fn in_progress_count(&self, id: u64) -> usize {
        self.states(id)
            .iter()
            .filter(|s| *s == "in_progress")
            .count()
    }
}
