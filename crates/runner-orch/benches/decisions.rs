//! Feeds 10,000 `workflow_job` events (30% duplicate deliveries) through the decision path
//! with wiremock stand-ins for GitHub and the Kubernetes API server, and prints: launches (must
//! equal the distinct queued jobs), GitHub API calls per launched runner (target <= 3), and
//! p50/p99 decision latency from event to Job create.
//!
//! Then the cost of the reconcile loop against a stateful GitHub stand-in that answers
//! conditional requests as GitHub does (ETags; a 304 costs no rate-limit unit): rate-limit
//! units per idle pass (target 0), and GitHub calls (units) per launched runner including the
//! reconcile traffic, for webhook launches and for reconcile-only launches (target <= 2).
//!
//! `cargo bench -p ghops-runner-orch --bench decisions` (add `--profile dev` for a quick run).

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gh_core::auth::{Credentials, SecretString, TokenSource};
use gh_core::client::{ClientConfig, GitHub};
use gh_core::config::ConfigFile;
use gh_core::events::WorkflowJobEvent;
use gh_core::retry::RetryPolicy;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use runner_orch::backend::{Backend, KubeBackend};
use runner_orch::{Decision, Orchestrator, RunnersConfig};
use serde_json::{Value, json};
use wiremock::matchers::{any, method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const EVENTS: usize = 10_000;
const DUP_SHARE: f64 = 0.30;
const REPO: &str = "octo-org/app";

/// Kubernetes stand-in: Job creates (409 on a second create of a name), Secrets, and a list
/// holding the 50 newest Jobs (older ones finished and were cleaned by their TTL).
#[derive(Clone, Default)]
struct Kube(Arc<Mutex<(BTreeSet<String>, VecDeque<Value>)>>);

impl Respond for Kube {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut st = self.0.lock().unwrap();
        let p = req.url.path();
        match (
            req.method.as_str(),
            p.ends_with("/jobs"),
            p.ends_with("/secrets"),
        ) {
            ("GET", true, _) => ResponseTemplate::new(200).set_body_json(json!({
                "kind": "JobList", "apiVersion": "batch/v1", "metadata": {},
                "items": st.1.iter().collect::<Vec<_>>(),
            })),
            ("POST", true, _) => {
                let mut b: Value = serde_json::from_slice(&req.body).unwrap();
                let name = b["metadata"]["name"].as_str().unwrap().to_owned();
                if !st.0.insert(name.clone()) {
                    return ResponseTemplate::new(409).set_body_json(json!({
                        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                        "reason": "AlreadyExists", "code": 409, "message": "exists",
                    }));
                }
                b["metadata"]["uid"] = json!(format!("uid-{name}"));
                st.1.push_back(b.clone());
                if st.1.len() > 50 {
                    st.1.pop_front();
                }
                ResponseTemplate::new(201).set_body_json(b)
            }
            ("POST", _, true) => ResponseTemplate::new(201).set_body_bytes(req.body.clone()),
            _ => ResponseTemplate::new(404),
        }
    }
}

fn event(template: &Value, id: u64) -> WorkflowJobEvent {
    let mut v = template.clone();
    v["action"] = json!("queued");
    v["workflow_job"]["id"] = json!(id);
    v["workflow_job"]["run_attempt"] = json!(1);
    v["workflow_job"]["labels"] = json!(["self-hosted", "linux"]);
    v["repository"]["full_name"] = json!(REPO);
    serde_json::from_value(v).unwrap()
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let gh_mock = MockServer::builder()
        .disable_request_recording()
        .start()
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/repos/octo-org/app/actions/jobs/\d+$"))
        .respond_with(|r: &Request| {
            let id: u64 = r.url.path().rsplit('/').next().unwrap().parse().unwrap();
            ResponseTemplate::new(200).set_body_json(json!({
                "id": id, "run_id": 1, "run_attempt": 1, "status": "queued",
                "labels": ["self-hosted", "linux"],
            }))
        })
        .mount(&gh_mock)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(
            r"^/repos/octo-org/app/actions/runners/generate-jitconfig$",
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "runner": {"id": 1}, "encoded_jit_config": "JIT",
        })))
        .mount(&gh_mock)
        .await;
    let kube_mock = MockServer::builder()
        .disable_request_recording()
        .start()
        .await;
    Mock::given(any())
        .respond_with(Kube::default())
        .mount(&kube_mock)
        .await;

    let gh = GitHub::connect(ClientConfig {
        api_url: gh_mock.uri(),
        retry: RetryPolicy::fast(),
        ..ClientConfig::new(Credentials::Token {
            token: SecretString::from("ghp_bench".to_owned()),
            source: TokenSource::Flag,
        })
    })
    .await
    .unwrap();
    let cfg = RunnersConfig::from_file(
        &ConfigFile::parse(
            "[[runners.pools]]\nname = \"linux\"\nrepos = [\"octo-org/app\"]\nlabels = [\"self-hosted\", \"linux\"]\nmax = 100000\n",
            None,
        )
        .unwrap(),
    )
    .unwrap();
    let orch = Orchestrator::new(
        cfg,
        Backend::kubernetes(KubeBackend::for_url(&kube_mock.uri(), false).unwrap()),
    );

    // 7,000 distinct jobs; 3,000 duplicate deliveries, each within 200 events of its original.
    let mut rng = rand::rngs::StdRng::seed_from_u64(8);
    let distinct = (EVENTS as f64 * (1.0 - DUP_SHARE)) as u64;
    let mut ids: Vec<u64> = (1..=distinct).map(|i| 1_000_000 + i).collect();
    ids.shuffle(&mut rng);
    let mut seq = ids.clone();
    for _ in 0..(EVENTS as u64 - distinct) {
        let at = rng.random_range(0..seq.len());
        let pos = (at + rng.random_range(1..200)).min(seq.len());
        let id = seq[at];
        seq.insert(pos, id);
    }
    let template = ghops_test_support::fixture_json("workflow_job.queued.json");

    let calls_before = gh.request_count();
    let mut launch_lat = Vec::new();
    let mut dup_lat = Vec::new();
    let mut launches = 0u64;
    let start = Instant::now();
    for id in &seq {
        let ev = event(&template, *id);
        let t = Instant::now();
        let d = orch.handle_event(&gh, &ev).await.expect("decision");
        let el = t.elapsed();
        match d {
            Decision::Launched { .. } => {
                launches += 1;
                launch_lat.push(el);
            }
            Decision::AlreadyLaunched { .. } => dup_lat.push(el),
            other => panic!("unexpected decision {other:?}"),
        }
    }
    let total = start.elapsed();
    let calls = gh.request_count() - calls_before;
    launch_lat.sort();
    dup_lat.sort();
    println!("events:                      {}", seq.len());
    println!("distinct queued jobs:        {distinct}");
    println!(
        "launches:                    {launches}  ({})",
        if launches == distinct {
            "== distinct jobs: OK"
        } else {
            "MISMATCH"
        }
    );
    println!("duplicates absorbed:         {}", dup_lat.len());
    println!("GitHub API calls:            {calls}");
    println!(
        "GitHub calls per launch:     {:.2}  (target <= 3)",
        calls as f64 / launches.max(1) as f64
    );
    println!(
        "decision latency, launch:    p50 {:?}  p99 {:?}",
        pct(&launch_lat, 0.5),
        pct(&launch_lat, 0.99)
    );
    println!(
        "decision latency, duplicate: p50 {:?}  p99 {:?}",
        pct(&dup_lat, 0.5),
        pct(&dup_lat, 0.99)
    );
    println!(
        "total:                       {total:?} ({:.0} events/s)",
        seq.len() as f64 / total.as_secs_f64()
    );
    assert_eq!(
        launches, distinct,
        "every distinct queued job launched exactly once"
    );
    reconcile_cost(&template).await;
}

// ------------------------------------------------------------------ reconcile cost at rest

/// A GitHub stand-in holding runs, jobs and registered runners of one repository; list
/// endpoints carry ETags and answer a matching `If-None-Match` with 304.
#[derive(Default)]
struct Sim {
    /// run id -> job ids.
    runs: std::collections::BTreeMap<u64, Vec<u64>>,
    /// job id -> (run id, status).
    jobs: std::collections::BTreeMap<u64, (u64, &'static str)>,
    /// runner id -> (name, status, busy).
    runners: std::collections::BTreeMap<u64, (String, &'static str, bool)>,
    next_runner: u64,
    /// Responses other than 304 (each costs a rate-limit unit).
    units: u64,
    not_modified: u64,
}

impl Sim {
    fn run_status(&self, run: u64) -> &'static str {
        let st: Vec<&str> = self.runs[&run].iter().map(|j| self.jobs[j].1).collect();
        if st.iter().all(|s| *s == "completed") {
            "completed"
        } else if st.iter().all(|s| *s == "queued") {
            "queued"
        } else {
            "in_progress"
        }
    }

    fn job_json(&self, id: u64) -> Value {
        let (run, status) = self.jobs[&id];
        json!({"id": id, "run_id": run, "run_attempt": 1, "status": status,
               "labels": ["self-hosted", "linux"]})
    }

    fn list(&mut self, req: &Request, body: Value) -> ResponseTemplate {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        body.to_string().hash(&mut h);
        let tag = format!("W/\"{:x}\"", h.finish());
        if req
            .headers
            .get("if-none-match")
            .is_some_and(|v| v.to_str().unwrap_or("") == tag)
        {
            self.not_modified += 1;
            return ResponseTemplate::new(304).insert_header("etag", tag.as_str());
        }
        self.units += 1;
        ResponseTemplate::new(200)
            .insert_header("etag", tag.as_str())
            .set_body_json(body)
    }
}

#[derive(Clone, Default)]
struct SimGh(Arc<Mutex<Sim>>);

impl Respond for SimGh {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut st = self.0.lock().unwrap();
        let p = req
            .url
            .path()
            .trim_start_matches("/repos/octo-org/app/actions/");
        let seg: Vec<&str> = p.split('/').collect();
        let q = req.url.query().unwrap_or("");
        match (req.method.as_str(), seg.as_slice()) {
            ("GET", ["runs"]) => {
                let want = if q.contains("status=queued") {
                    "queued"
                } else {
                    "in_progress"
                };
                let runs: Vec<Value> = st
                    .runs
                    .keys()
                    .filter(|r| st.run_status(**r) == want)
                    .map(|r| json!({"id": r}))
                    .collect();
                st.list(
                    req,
                    json!({"total_count": runs.len(), "workflow_runs": runs}),
                )
            }
            ("GET", ["runs", run, "jobs"]) => {
                let run: u64 = run.parse().unwrap();
                let jobs: Vec<Value> = st.runs[&run].iter().map(|j| st.job_json(*j)).collect();
                st.list(req, json!({"total_count": jobs.len(), "jobs": jobs}))
            }
            ("GET", ["jobs", id]) => {
                st.units += 1;
                let id: u64 = id.parse().unwrap();
                ResponseTemplate::new(200).set_body_json(st.job_json(id))
            }
            ("GET", ["runners"]) => {
                let rs: Vec<Value> = st
                    .runners
                    .iter()
                    .map(|(id, (n, s, b))| json!({"id": id, "name": n, "status": s, "busy": b}))
                    .collect();
                st.list(req, json!({"total_count": rs.len(), "runners": rs}))
            }
            ("POST", ["runners", "generate-jitconfig"]) => {
                st.units += 1;
                let b: Value = serde_json::from_slice(&req.body).unwrap();
                let name = b["name"].as_str().unwrap().to_owned();
                if st.runners.values().any(|(n, _, _)| *n == name) {
                    return ResponseTemplate::new(409).set_body_json(json!({"message": "exists"}));
                }
                st.next_runner += 1;
                let id = st.next_runner;
                st.runners.insert(id, (name, "offline", false));
                ResponseTemplate::new(201)
                    .set_body_json(json!({"runner": {"id": id}, "encoded_jit_config": "JIT"}))
            }
            ("DELETE", ["runners", id]) => {
                st.units += 1;
                st.runners.remove(&id.parse::<u64>().unwrap());
                ResponseTemplate::new(204)
            }
            _ => ResponseTemplate::new(404),
        }
    }
}

impl SimGh {
    /// A new run with `n` queued jobs; returns their ids.
    fn queue(&self, run: u64, n: u64) -> Vec<u64> {
        let mut st = self.0.lock().unwrap();
        let ids: Vec<u64> = (0..n).map(|i| run * 1000 + i).collect();
        for id in &ids {
            st.jobs.insert(*id, (run, "queued"));
        }
        st.runs.insert(run, ids.clone());
        ids
    }

    /// The registered runners start and take their jobs; jobs already running complete and
    /// their (ephemeral) runners deregister; completed runs leave the lists.
    fn progress(&self) {
        let mut st = self.0.lock().unwrap();
        let running: Vec<u64> = st
            .jobs
            .iter()
            .filter(|(_, (_, s))| *s == "in_progress")
            .map(|(id, _)| *id)
            .collect();
        for id in running {
            st.jobs.get_mut(&id).unwrap().1 = "completed";
            let name = runner_orch::naming::runner_name(REPO, id, 1);
            st.runners.retain(|_, (n, _, _)| *n != name);
        }
        let names: Vec<(u64, String)> = st
            .runners
            .iter()
            .map(|(id, (n, _, _))| (*id, n.clone()))
            .collect();
        for (rid, n) in names {
            let job = st
                .jobs
                .iter()
                .find(|(id, (_, s))| {
                    *s == "queued" && runner_orch::naming::runner_name(REPO, **id, 1) == n
                })
                .map(|(id, _)| *id);
            if let Some(j) = job {
                st.jobs.get_mut(&j).unwrap().1 = "in_progress";
                st.runners.insert(rid, (n, "online", true));
            }
        }
        let done: Vec<u64> = st
            .runs
            .keys()
            .copied()
            .filter(|r| st.run_status(*r) == "completed")
            .collect();
        for r in done {
            for j in st.runs.remove(&r).unwrap() {
                st.jobs.remove(&j);
            }
        }
    }

    fn units(&self) -> (u64, u64) {
        let st = self.0.lock().unwrap();
        (st.units, st.not_modified)
    }
}

/// One scenario: `batches` runs of `per_batch` jobs, one per tick, each announced by webhook
/// (or not); a reconcile pass per tick; then ticks until the pool is idle again.
async fn workload(template: &Value, webhooks: bool, batches: u64, per_batch: u64) -> Cost {
    let sim = SimGh::default();
    let gh_mock = MockServer::builder()
        .disable_request_recording()
        .start()
        .await;
    Mock::given(any())
        .respond_with(sim.clone())
        .mount(&gh_mock)
        .await;
    let kube_mock = MockServer::builder()
        .disable_request_recording()
        .start()
        .await;
    Mock::given(any())
        .respond_with(Kube::default())
        .mount(&kube_mock)
        .await;
    let gh = GitHub::connect(ClientConfig {
        api_url: gh_mock.uri(),
        retry: RetryPolicy::fast(),
        ..ClientConfig::new(Credentials::Token {
            token: SecretString::from("ghp_bench".to_owned()),
            source: TokenSource::Flag,
        })
    })
    .await
    .unwrap();
    let cfg = RunnersConfig::from_file(
        &ConfigFile::parse(
            "[[runners.pools]]\nname = \"linux\"\nrepos = [\"octo-org/app\"]\nlabels = [\"self-hosted\", \"linux\"]\nmax = 100000\n",
            None,
        )
        .unwrap(),
    )
    .unwrap();
    let orch = Orchestrator::new(
        cfg,
        Backend::kubernetes(KubeBackend::for_url(&kube_mock.uri(), false).unwrap()),
    );
    let clients = runner_orch::Clients::single(&gh);
    // Warm-up: the first pass reads every list in full.
    orch.reconcile(&clients).await.unwrap();
    let (u0, _) = sim.units();
    const IDLE: u64 = 20;
    for _ in 0..IDLE {
        orch.reconcile(&clients).await.unwrap();
    }
    let (u1, _) = sim.units();
    let idle_units = (u1 - u0) as f64 / IDLE as f64;
    let mut launched = 0u64;
    for b in 0..batches {
        let ids = sim.queue(100 + b, per_batch);
        if webhooks {
            for id in ids {
                let mut ev = event(template, id);
                // News, not a redelivery: GitHub sends `queued` as the job is created.
                ev.workflow_job.created_at = Some(chrono::Utc::now().to_rfc3339());
                if let Decision::Launched { .. } = orch.handle_event(&gh, &ev).await.unwrap() {
                    launched += 1;
                }
            }
        }
        let r = orch.reconcile(&clients).await.unwrap();
        launched += r
            .decisions
            .iter()
            .filter(|(_, d)| matches!(d, Decision::Launched { .. }))
            .count() as u64;
        sim.progress();
    }
    // Drain: passes until every job completed, then one idle pass.
    for _ in 0..3 {
        orch.reconcile(&clients).await.unwrap();
        sim.progress();
    }
    orch.reconcile(&clients).await.unwrap();
    let (u2, not_modified) = sim.units();
    Cost {
        idle_units,
        launched,
        units: u2 - u1,
        not_modified,
    }
}

/// What a workload cost.
struct Cost {
    /// Rate-limit units per idle pass (after the first).
    idle_units: f64,
    /// Runners launched.
    launched: u64,
    /// Rate-limit units spent from the first job to idle again (reconcile traffic included).
    units: u64,
    /// Reads answered 304 over the whole run.
    not_modified: u64,
}

async fn reconcile_cost(template: &Value) {
    println!();
    println!("reconcile loop against a GitHub stand-in with ETags (304 = no rate-limit unit):");
    for (label, webhooks) in [("webhook + reconcile", true), ("reconcile only", false)] {
        let c = workload(template, webhooks, 20, 10).await;
        println!(
            "  {label:<20} idle pass: {:.2} rate-limit units (target 0); {} runners launched, {} units from first job to idle ({} reads answered 304): {:.2} calls per launched runner (target <= 2)",
            c.idle_units,
            c.launched,
            c.units,
            c.not_modified,
            c.units as f64 / c.launched.max(1) as f64
        );
        assert_eq!(c.launched, 200, "every job launched once");
    }
}
