//! Feeds 10,000 `workflow_job` events (30% duplicate deliveries) through the decision path
//! with wiremock stand-ins for GitHub and the Kubernetes API server, and prints: launches (must
//! equal the distinct queued jobs), GitHub API calls per launched runner (target <= 3), and
//! p50/p99 decision latency from event to Job create.
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
}
