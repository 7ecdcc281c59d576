//! runner-orch against wiremock standing in for GitHub AND the Kubernetes API server (a real
//! `kube` client pointed at it). Every test asserts the exact calls made.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gh_core::auth::{Credentials, SecretString, TokenSource};
use gh_core::client::{ClientConfig, GitHub};
use gh_core::config::ConfigFile;
use gh_core::events::WorkflowJobEvent;
use gh_core::retry::RetryPolicy;
use ghops_test_support::{MockGitHub, fixture_json};
use runner_orch::Clients;
use runner_orch::backend::{Backend, KubeBackend};
use runner_orch::config::RunnersConfig;
use runner_orch::naming::runner_name;
use runner_orch::orchestrator::{Decision, Orchestrator};
use serde_json::{Value, json};
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const REPO: &str = "lineville/elastic-machines-testing";
const JOB: u64 = 12877621891;
const TOKEN: &str = "ghp_testtoken_never_in_a_pod";
const JIT: &str = "JIT-CONFIG-ENCODED";
const NS: &str = "runners";

fn config(extra: &str) -> RunnersConfig {
    let max = if extra.contains("max =") {
        ""
    } else {
        "max = 4"
    };
    let text = format!(
        r#"
[runners]
[[runners.pools]]
name = "k8s"
repos = ["{REPO}"]
labels = ["self-hosted", "k8s", "linux"]
{max}
{extra}
[runners.pools.kubernetes]
namespace = "{NS}"
image = "ghcr.io/actions/actions-runner:2.321.0"
service_account = "ghops-runner"
node_selector = {{ "kubernetes.io/os" = "linux" }}
resources = {{ limits = {{ cpu = "2", memory = "4Gi" }} }}
"#
    );
    RunnersConfig::from_file(&ConfigFile::parse(&text, None).unwrap()).unwrap()
}

async fn client(gh: &MockGitHub) -> GitHub {
    GitHub::connect(ClientConfig {
        api_url: gh.uri(),
        retry: RetryPolicy::fast(),
        ..ClientConfig::new(Credentials::Token {
            token: SecretString::from(TOKEN.to_owned()),
            source: TokenSource::Flag,
        })
    })
    .await
    .unwrap()
}

// ------------------------------------------------------------------ a stateful Kubernetes fake

#[derive(Default)]
struct KState {
    jobs: BTreeMap<String, Value>,
    secrets: BTreeMap<String, Value>,
    /// Answer this many Job creates with 403 (quota).
    forbid: u32,
    /// Answer Job creates with 422.
    invalid: bool,
}

#[derive(Clone, Default)]
struct KubeFake(Arc<Mutex<KState>>);

fn status(code: u16, reason: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(code).set_body_json(json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": code,
    }))
}

impl Respond for KubeFake {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut st = self.0.lock().unwrap();
        let p = req.url.path().to_owned();
        let jobs = format!("/apis/batch/v1/namespaces/{NS}/jobs");
        let secrets = format!("/api/v1/namespaces/{NS}/secrets");
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let m = req.method.as_str();
        if p == jobs && m == "POST" {
            let name = body["metadata"]["name"].as_str().unwrap().to_owned();
            if st.forbid > 0 {
                st.forbid -= 1;
                return status(
                    403,
                    "Forbidden",
                    "exceeded quota: runners, requested: pods=1",
                );
            }
            if st.invalid {
                return status(
                    422,
                    "Invalid",
                    "Job.batch is invalid: spec.template.spec.containers[0].image: Required value",
                );
            }
            if st.jobs.contains_key(&name) {
                return status(
                    409,
                    "AlreadyExists",
                    &format!("jobs.batch \"{name}\" already exists"),
                );
            }
            let mut j = body.clone();
            j["metadata"]["uid"] = json!(format!("uid-{name}"));
            j["metadata"]["creationTimestamp"] =
                json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            st.jobs.insert(name, j.clone());
            return ResponseTemplate::new(201).set_body_json(j);
        }
        if p == jobs && m == "GET" {
            let items: Vec<Value> = st.jobs.values().cloned().collect();
            return ResponseTemplate::new(200).set_body_json(json!({
                "kind": "JobList", "apiVersion": "batch/v1", "metadata": {}, "items": items,
            }));
        }
        if let Some(name) = p.strip_prefix(&format!("{jobs}/")) {
            return match m {
                "GET" => match st.jobs.get(name) {
                    Some(j) => ResponseTemplate::new(200).set_body_json(j),
                    None => status(404, "NotFound", "not found"),
                },
                "DELETE" => match st.jobs.remove(name) {
                    Some(_) => {
                        st.secrets.remove(name); // ownerReference garbage collection
                        ResponseTemplate::new(200).set_body_json(json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}))
                    }
                    None => status(404, "NotFound", "not found"),
                },
                _ => status(405, "MethodNotAllowed", m),
            };
        }
        if p == secrets && m == "POST" {
            let name = body["metadata"]["name"].as_str().unwrap().to_owned();
            if st.secrets.contains_key(&name) {
                return status(409, "AlreadyExists", "exists");
            }
            st.secrets.insert(name, body.clone());
            return ResponseTemplate::new(201).set_body_json(body);
        }
        if let Some(name) = p.strip_prefix(&format!("{secrets}/"))
            && m == "DELETE"
        {
            st.secrets.remove(name);
            return ResponseTemplate::new(200).set_body_json(
                json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}),
            );
        }
        status(404, "NotFound", &format!("no route {m} {p}"))
    }
}

struct Env {
    gh: MockGitHub,
    kube: MockServer,
    fake: KubeFake,
    client: GitHub,
}

impl Env {
    async fn new() -> Self {
        let gh = MockGitHub::start().await;
        let kube = MockServer::start().await;
        let fake = KubeFake::default();
        Mock::given(any())
            .respond_with(fake.clone())
            .mount(&kube)
            .await;
        let client = client(&gh).await;
        Self {
            gh,
            kube,
            fake,
            client,
        }
    }

    /// The one token client for every account.
    fn clients(&self) -> Clients {
        Clients::single(&self.client)
    }

    fn orch(&self, cfg: RunnersConfig) -> Orchestrator {
        let mut k = KubeBackend::for_url(&self.kube.uri(), false).unwrap();
        k.forbidden_backoff = gh_core::retry::Backoff::fixed(Duration::from_millis(5)).at_most(3);
        Orchestrator::new(cfg, Backend::kubernetes(k))
    }

    async fn kube_lines(&self) -> Vec<String> {
        self.kube
            .received_requests()
            .await
            .unwrap()
            .iter()
            .map(ghops_test_support::method_path)
            .collect()
    }

    async fn kube_bodies(&self) -> Vec<Value> {
        self.kube
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.method.as_str() == "POST")
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect()
    }

    fn job_names(&self) -> Vec<String> {
        self.fake.0.lock().unwrap().jobs.keys().cloned().collect()
    }

    async fn mock_job(&self, id: u64, status: &str) {
        Mock::given(method("GET"))
            .and(path(format!("/repos/{REPO}/actions/jobs/{id}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "id": id, "run_id": 4747967848u64, "run_attempt": 1, "status": status,
                "labels": ["self-hosted", "k8s"], "runner_name": null,
            })))
            .mount(&self.gh.server)
            .await;
    }

    async fn mock_jit(&self) {
        Mock::given(method("POST"))
            .and(path(format!(
                "/repos/{REPO}/actions/runners/generate-jitconfig"
            )))
            .respond_with(|r: &Request| {
                let b: Value = serde_json::from_slice(&r.body).unwrap();
                ResponseTemplate::new(201).set_body_json(json!({
                    "runner": {"id": 900, "name": b["name"], "status": "offline", "busy": false},
                    "encoded_jit_config": JIT,
                }))
            })
            .mount(&self.gh.server)
            .await;
    }

    async fn mock_runners(&self, runners: Value) {
        Mock::given(method("GET"))
            .and(path(format!("/repos/{REPO}/actions/runners")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "total_count": runners.as_array().map(|a| a.len()).unwrap_or(0),
                "runners": runners,
            })))
            .mount(&self.gh.server)
            .await;
    }

    /// One queued run holding `jobs` (id, status); no in-progress runs.
    async fn mock_runs(&self, jobs: &[(u64, &str)]) {
        Mock::given(method("GET"))
            .and(path(format!("/repos/{REPO}/actions/runs")))
            .and(wiremock::matchers::query_param("status", "queued"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "total_count": 1, "workflow_runs": [{"id": 55}],
            })))
            .mount(&self.gh.server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("/repos/{REPO}/actions/runs")))
            .and(wiremock::matchers::query_param("status", "in_progress"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "total_count": 0, "workflow_runs": [],
            })))
            .mount(&self.gh.server)
            .await;
        let js: Vec<Value> = jobs
            .iter()
            .map(|(id, s)| json!({"id": id, "run_id": 55, "run_attempt": 1, "status": s, "labels": ["self-hosted", "k8s"]}))
            .collect();
        Mock::given(method("GET"))
            .and(path(format!("/repos/{REPO}/actions/runs/55/jobs")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "total_count": js.len(), "jobs": js,
            })))
            .mount(&self.gh.server)
            .await;
    }
}

fn event(action: &str) -> WorkflowJobEvent {
    let mut v = fixture_json("workflow_job.queued.self-hosted.json");
    v["action"] = json!(action);
    serde_json::from_value(v).unwrap()
}

fn name() -> String {
    runner_name(REPO, JOB, 1)
}

fn jit_path() -> String {
    format!("POST /repos/{REPO}/actions/runners/generate-jitconfig")
}

// ------------------------------------------------------------------ scenarios

#[tokio::test]
async fn single_job_launches_one_runner_with_exact_manifests() {
    let env = Env::new().await;
    env.mock_job(JOB, "queued").await;
    env.mock_jit().await;
    let o = env.orch(config(""));
    let d = o.handle_event(&env.client, &event("queued")).await.unwrap();
    assert_eq!(
        d,
        Decision::Launched {
            name: name(),
            pool: "k8s".into()
        }
    );
    env.gh
        .assert_lines(&[
            &format!("GET /repos/{REPO}/actions/jobs/{JOB}"),
            &jit_path(),
        ])
        .await;
    let w = env.gh.writes().await;
    assert_eq!(
        w[0].body,
        json!({"name": name(), "runner_group_id": 1, "labels": ["self-hosted", "k8s", "linux"], "work_folder": "_work"})
    );
    assert_eq!(
        env.kube_lines().await,
        vec![
            format!("GET /apis/batch/v1/namespaces/{NS}/jobs"),
            format!("POST /apis/batch/v1/namespaces/{NS}/jobs"),
            format!("POST /api/v1/namespaces/{NS}/secrets"),
        ]
    );
    let bodies = env.kube_bodies().await;
    let job = serde_json::to_string(&bodies[0]).unwrap();
    assert!(!job.contains(JIT) && !job.contains(TOKEN), "{job}");
    let secret = serde_json::to_string(&bodies[1]).unwrap();
    assert!(secret.contains(JIT) && !secret.contains(TOKEN));
    ghops_test_support::insta_settings(None).bind(|| {
        insta::assert_json_snapshot!("job_manifest", bodies[0]);
        insta::assert_json_snapshot!("secret_manifest", bodies[1]);
    });
}

/// A YAML pod template adds a mount to the runner container (merged by name, the JIT env
/// kept), a sidecar, a volume and tolerations; the rest of the Job is as without it. The file
/// is read at start, not per launch.
#[tokio::test]
async fn pod_template_yaml_merges_into_the_runner_pod() {
    let env = Env::new().await;
    env.mock_job(JOB, "queued").await;
    env.mock_jit().await;
    let dir = tempfile::tempdir().unwrap();
    let tpl = dir.path().join("pod.yaml");
    std::fs::write(
        &tpl,
        r#"# extra pod spec for the k8s pool
containers:
  - name: runner
    volumeMounts:
      - {name: work, mountPath: /home/runner/_work}
    env:
      - {name: RUNNER_FEATURE, value: "on"}
  - name: dind
    image: docker:27-dind
    securityContext: {privileged: true}
volumes:
  - name: work
    emptyDir: {}
tolerations:
  - {key: ci, operator: Exists, effect: NoSchedule}
"#,
    )
    .unwrap();
    let mut cfg = config("");
    cfg.pools[0].kubernetes.pod_template = Some(tpl.clone());
    cfg.load_pod_templates().unwrap();
    // Read once at start: a launch needs the file no more.
    std::fs::remove_file(&tpl).unwrap();
    let plain = runner_orch::backend::job_manifest(
        &cfg.pools[0],
        &runner_orch::backend::LaunchSpec {
            name: name(),
            repo: REPO.into(),
            job_id: Some(JOB),
            attempt: 1,
        },
        None,
    );
    let o = env.orch(cfg);
    o.handle_event(&env.client, &event("queued")).await.unwrap();
    let job = env.kube_bodies().await.remove(0);
    let pod = &job["spec"]["template"]["spec"];
    let mut expected = plain["spec"]["template"]["spec"].clone();
    let runner = &mut expected["containers"][0];
    runner["volumeMounts"] = json!([{"name": "work", "mountPath": "/home/runner/_work"}]);
    runner["env"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "RUNNER_FEATURE", "value": "on"}));
    expected["containers"].as_array_mut().unwrap().push(json!({
        "name": "dind", "image": "docker:27-dind", "securityContext": {"privileged": true}
    }));
    expected["volumes"] = json!([{"name": "work", "emptyDir": {}}]);
    expected["tolerations"] = json!([{"key": "ci", "operator": "Exists", "effect": "NoSchedule"}]);
    assert_eq!(pod, &expected);
    assert_eq!(job["metadata"], plain["metadata"]);
    assert_eq!(
        pod["containers"][0]["env"][0]["name"],
        "ACTIONS_RUNNER_INPUT_JITCONFIG"
    );
}

/// A pod template that would hand the pod a token, restart a runner or replace the JIT
/// config, or that is not YAML, stops `from_config` with the file (and line) named.
#[tokio::test]
async fn unsafe_or_broken_pod_templates_are_config_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (text, says) in [
        (
            "automountServiceAccountToken: true\n",
            "automountServiceAccountToken must stay false",
        ),
        (
            "restartPolicy: OnFailure\n",
            "restartPolicy must stay Never",
        ),
        (
            "containers:\n  - name: runner\n    env:\n      - {name: ACTIONS_RUNNER_INPUT_JITCONFIG, value: x}\n",
            "ACTIONS_RUNNER_INPUT_JITCONFIG is set by ghops",
        ),
        ("- not\n- a mapping\n", "must be a mapping"),
        ("tolerations: [\n  {key: a\n", "pod.yaml:"),
    ] {
        let tpl = dir.path().join("pod.yaml");
        std::fs::write(&tpl, text).unwrap();
        let toml = format!(
            "[[runners.pools]]\nname = \"k8s\"\nrepos = [\"{REPO}\"]\nlabels = [\"self-hosted\"]\nbackend = \"process\"\n[runners.pools.process]\ncommand = [\"/bin/true\"]\n[runners.pools.kubernetes]\npod_template = {:?}\n",
            tpl.display().to_string()
        );
        let file = ConfigFile::parse(&toml, None).unwrap();
        let e = runner_orch::from_config(&file, true, None)
            .await
            .unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("pools.k8s.kubernetes.pod_template"), "{msg}");
        assert!(msg.contains(says), "{text:?}: {msg}");
    }
}

/// No `[[runners.pools]]`: a usage error naming the table, for every role.
#[tokio::test]
async fn a_configuration_without_pools_is_refused() {
    use gh_core::ExitStatus;
    let file = ConfigFile::parse("[runners]\ninterval = \"30s\"\n", None).unwrap();
    for role in [
        runner_orch::Role::Daemon,
        runner_orch::Role::OneShot,
        runner_orch::Role::ReadOnly,
    ] {
        let e = runner_orch::from_config_as(&file, false, None, role)
            .await
            .unwrap_err();
        assert!(matches!(e, runner_orch::OrchError::NoPools), "{e}");
        assert_eq!(e.exit_code(), gh_core::ExitCode::Usage);
        assert_eq!(
            e.to_string(),
            "no [[runners.pools]] in the configuration (see docs/runner-orch.md)"
        );
    }
}

#[tokio::test]
async fn duplicate_delivery_and_a_second_replica_launch_nothing_more() {
    let env = Env::new().await;
    env.mock_job(JOB, "queued").await;
    env.mock_jit().await;
    let o = env.orch(config(""));
    o.handle_event(&env.client, &event("queued")).await.unwrap();
    let d = o.handle_event(&env.client, &event("queued")).await.unwrap();
    assert_eq!(d, Decision::AlreadyLaunched { name: name() });
    // A restarted process (no memory) sees the Job and makes no GitHub call.
    let o2 = env.orch(config(""));
    let d = o2
        .handle_event(&env.client, &event("queued"))
        .await
        .unwrap();
    assert_eq!(d, Decision::AlreadyLaunched { name: name() });
    env.gh.assert_writes(&[&jit_path()]).await;
    assert_eq!(env.job_names(), vec![name()]);
}

#[tokio::test]
async fn redelivery_after_completion_launches_nothing() {
    let env = Env::new().await;
    env.mock_job(JOB, "completed").await;
    let o = env.orch(config(""));
    let d = o.handle_event(&env.client, &event("queued")).await.unwrap();
    assert_eq!(
        d,
        Decision::NotQueued {
            status: "completed".into()
        }
    );
    env.gh.assert_no_writes().await;
    assert!(env.job_names().is_empty());
    assert!(!env.kube_lines().await.iter().any(|l| !l.starts_with("GET")));
}

#[tokio::test]
async fn webhook_and_reconcile_race_to_one_job() {
    let env = Env::new().await;
    env.mock_job(JOB, "queued").await;
    env.mock_jit().await;
    env.mock_runs(&[(JOB, "queued")]).await;
    env.mock_runners(json!([])).await;
    let o = env.orch(config(""));
    let ev = event("queued");
    let clients = env.clients();
    let (a, b) = tokio::join!(o.handle_event(&env.client, &ev), o.reconcile(&clients));
    a.unwrap();
    b.unwrap();
    assert_eq!(env.job_names(), vec![name()]);
    let posts = env
        .kube_lines()
        .await
        .iter()
        .filter(|l| l.starts_with("POST /apis"))
        .count();
    assert_eq!(posts, 1);
    env.gh.assert_writes(&[&jit_path()]).await;
}

#[tokio::test]
async fn receiver_down_reconcile_launches_the_two_still_queued() {
    let env = Env::new().await;
    for id in [101, 102] {
        env.mock_job(id, "queued").await;
    }
    env.mock_jit().await;
    env.mock_runs(&[(101, "queued"), (102, "queued"), (103, "completed")])
        .await;
    env.mock_runners(json!([])).await;
    let o = env.orch(config(""));
    let r = o.reconcile(&env.clients()).await.unwrap();
    let launched = r
        .decisions
        .iter()
        .filter(|(_, d)| matches!(d, Decision::Launched { .. }))
        .count();
    assert_eq!(launched, 2);
    let mut want = vec![runner_name(REPO, 101, 1), runner_name(REPO, 102, 1)];
    want.sort();
    assert_eq!(env.job_names(), want);
    env.gh.assert_writes(&[&jit_path(), &jit_path()]).await;
    // A second pass changes nothing.
    let r = o.reconcile(&env.clients()).await.unwrap();
    assert!(
        r.decisions
            .iter()
            .all(|(_, d)| matches!(d, Decision::AlreadyLaunched { .. })),
        "{r:?}"
    );
    env.gh.assert_writes(&[&jit_path(), &jit_path()]).await;
}

#[tokio::test]
async fn jit_502_twice_then_success() {
    let env = Env::new().await;
    env.mock_job(JOB, "queued").await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/repos/{REPO}/actions/runners/generate-jitconfig"
        )))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(2)
        .mount(&env.gh.server)
        .await;
    env.mock_jit().await;
    let o = env.orch(config(""));
    let d = o.handle_event(&env.client, &event("queued")).await.unwrap();
    assert!(matches!(d, Decision::Launched { .. }));
    env.gh
        .assert_writes(&[&jit_path(), &jit_path(), &jit_path()])
        .await;
    assert_eq!(env.job_names(), vec![name()]);
}

#[tokio::test]
async fn rate_limited_jit_waits_for_reset() {
    let env = Env::new().await;
    env.mock_job(JOB, "queued").await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/repos/{REPO}/actions/runners/generate-jitconfig"
        )))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("retry-after", "1")
                .insert_header("x-ratelimit-remaining", "0")
                .set_body_json(json!({"message": "API rate limit exceeded"})),
        )
        .up_to_n_times(1)
        .mount(&env.gh.server)
        .await;
    env.mock_jit().await;
    let o = env.orch(config(""));
    let t = std::time::Instant::now();
    let d = o.handle_event(&env.client, &event("queued")).await.unwrap();
    assert!(matches!(d, Decision::Launched { .. }));
    assert!(t.elapsed() >= Duration::from_millis(900));
    env.gh.assert_writes(&[&jit_path(), &jit_path()]).await;
}

#[tokio::test]
async fn kubernetes_quota_refusal_retries_then_deregisters() {
    let env = Env::new().await;
    // The shipped pacing of the retries: 2 s, 8 s, 30 s (the tests use 5 ms waits).
    let s = Duration::from_secs;
    let k = KubeBackend::for_url(&env.kube.uri(), false).unwrap();
    assert_eq!(
        k.forbidden_backoff.delays().collect::<Vec<_>>(),
        [s(2), s(8), s(30)]
    );
    env.mock_job(JOB, "queued").await;
    env.mock_jit().await;
    // Refused twice, then admitted.
    env.fake.0.lock().unwrap().forbid = 2;
    let o = env.orch(config(""));
    let d = o.handle_event(&env.client, &event("queued")).await.unwrap();
    assert!(matches!(d, Decision::Launched { .. }));
    // Refused for good: the JIT runner is deregistered, the error says why.
    let env = Env::new().await;
    env.mock_job(JOB, "queued").await;
    env.mock_jit().await;
    env.fake.0.lock().unwrap().forbid = 100;
    let o = env.orch(config(""));
    let e = o
        .handle_event(&env.client, &event("queued"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("exceeded quota"), "{e}");
    assert_eq!(gh_core::ExitStatus::exit_code(&e), gh_core::ExitCode::Api);
    env.gh
        .assert_writes(&[
            &jit_path(),
            &format!("DELETE /repos/{REPO}/actions/runners/900"),
        ])
        .await;
    assert!(env.job_names().is_empty());
}

#[tokio::test]
async fn kubernetes_invalid_fails_fast() {
    let env = Env::new().await;
    env.mock_job(JOB, "queued").await;
    env.mock_jit().await;
    env.fake.0.lock().unwrap().invalid = true;
    let o = env.orch(config(""));
    let e = o
        .handle_event(&env.client, &event("queued"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("invalid"), "{e}");
    assert_eq!(gh_core::ExitStatus::exit_code(&e), gh_core::ExitCode::Usage);
    let creates = env
        .kube_lines()
        .await
        .iter()
        .filter(|l| l.starts_with("POST /apis"))
        .count();
    assert_eq!(creates, 1, "422 is not retried");
    env.gh
        .assert_writes(&[
            &jit_path(),
            &format!("DELETE /repos/{REPO}/actions/runners/900"),
        ])
        .await;
}

#[tokio::test]
async fn runner_that_never_registers_is_reaped_and_replaced() {
    let env = Env::new().await;
    env.mock_job(JOB, "queued").await;
    env.mock_jit().await;
    env.mock_runs(&[(JOB, "queued")]).await;
    env.mock_runners(json!([{"id": 900, "name": name(), "status": "offline", "busy": false}]))
        .await;
    let o = env.orch(config("registration_timeout = \"1s\""));
    o.handle_event(&env.client, &event("queued")).await.unwrap();
    // Age the Job past the registration timeout.
    {
        let mut st = env.fake.0.lock().unwrap();
        let j = st.jobs.get_mut(&name()).unwrap();
        j["metadata"]["creationTimestamp"] = json!("2020-01-01T00:00:00Z");
    }
    let r = o.reconcile(&env.clients()).await.unwrap();
    assert_eq!(r.reaped.len(), 1, "{r:?}");
    assert!(r.reaped[0].1.contains("not registered"), "{r:?}");
    assert!(env.job_names().is_empty());
    env.gh
        .assert_writes(&[
            &jit_path(),
            &format!("DELETE /repos/{REPO}/actions/runners/900"),
        ])
        .await;
    // The job is still queued: the next pass launches a replacement (same name).
    let r = o.reconcile(&env.clients()).await.unwrap();
    assert!(
        matches!(r.decisions[0].1, Decision::Launched { .. })
            || matches!(r.decisions[0].1, Decision::AlreadyLaunched { .. }),
        "{r:?}"
    );
}

#[tokio::test]
async fn cancelled_before_start_removes_job_and_runner() {
    let env = Env::new().await;
    env.mock_job(JOB, "queued").await;
    env.mock_jit().await;
    let o = env.orch(config(""));
    o.handle_event(&env.client, &event("queued")).await.unwrap();
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/actions/runners")))
        .and(wiremock::matchers::query_param("name", name()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "total_count": 1, "runners": [{"id": 900, "name": name(), "status": "offline", "busy": false}],
        })))
        .mount(&env.gh.server)
        .await;
    let d = o
        .handle_event(&env.client, &event("completed"))
        .await
        .unwrap();
    assert_eq!(d, Decision::Cleaned { name: name() });
    assert!(env.job_names().is_empty());
    env.gh
        .assert_writes(&[
            &jit_path(),
            &format!("DELETE /repos/{REPO}/actions/runners/900"),
        ])
        .await;
}

#[tokio::test]
async fn ten_queued_with_max_four() {
    let env = Env::new().await;
    let jobs: Vec<(u64, &str)> = (1..=10).map(|i| (i, "queued")).collect();
    for (id, _) in &jobs {
        env.mock_job(*id, "queued").await;
    }
    env.mock_jit().await;
    env.mock_runs(&jobs).await;
    env.mock_runners(json!([])).await;
    let o = env.orch(config(""));
    let r = o.reconcile(&env.clients()).await.unwrap();
    assert_eq!(env.job_names().len(), 4);
    assert_eq!(r.waiting.get("k8s"), Some(&6));
    // The lowest job ids first.
    let mut want: Vec<String> = (1..=4).map(|i| runner_name(REPO, i, 1)).collect();
    want.sort();
    assert_eq!(env.job_names(), want);
    // A webhook for job 7 waits too (not lost: reconcile launches it when capacity frees).
    let mut ev = event("queued");
    ev.workflow_job.id = 7;
    let d = o.handle_event(&env.client, &ev).await.unwrap();
    assert_eq!(d, Decision::AtCapacity { pool: "k8s".into() });
    assert_eq!(env.gh.writes().await.len(), 4);
}

#[tokio::test]
async fn scale_to_zero_and_min_idle() {
    let env = Env::new().await;
    env.mock_jit().await;
    env.mock_runs(&[]).await;
    env.mock_runners(json!([])).await;
    let o = env.orch(config("max = 0"));
    let r = o.reconcile(&env.clients()).await.unwrap();
    assert!(r.decisions.is_empty());
    env.gh.assert_no_writes().await;
    assert!(env.job_names().is_empty());

    let env = Env::new().await;
    env.mock_jit().await;
    env.mock_runs(&[]).await;
    env.mock_runners(json!([])).await;
    let o = env.orch(config("min_idle = 2"));
    o.reconcile(&env.clients()).await.unwrap();
    assert_eq!(env.job_names().len(), 2);
    // Idempotent.
    o.reconcile(&env.clients()).await.unwrap();
    assert_eq!(env.job_names().len(), 2);
    env.gh.assert_writes(&[&jit_path(), &jit_path()]).await;
}

#[tokio::test]
async fn label_mismatch_and_unlisted_repo_are_not_ours() {
    let env = Env::new().await;
    let o = env.orch(config(""));
    let mut ev = event("queued");
    ev.workflow_job.labels = vec!["self-hosted".into(), "gpu".into()];
    assert!(matches!(
        o.handle_event(&env.client, &ev).await.unwrap(),
        Decision::NoPool { .. }
    ));
    let mut ev = event("queued");
    ev.repository.full_name = "lineville/other".into();
    assert!(matches!(
        o.handle_event(&env.client, &ev).await.unwrap(),
        Decision::NoPool { .. }
    ));
    assert!(env.gh.seen().await.is_empty());
    assert!(env.kube_lines().await.is_empty());
}

#[tokio::test]
async fn crash_between_jit_and_job_create_is_cleaned_and_retried() {
    let env = Env::new().await;
    env.mock_job(JOB, "queued").await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/repos/{REPO}/actions/runners/generate-jitconfig"
        )))
        .respond_with(ResponseTemplate::new(409).set_body_json(
            json!({"message": "Already exists - A runner with the name already exists."}),
        ))
        .up_to_n_times(1)
        .mount(&env.gh.server)
        .await;
    env.mock_jit().await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/actions/runners")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "total_count": 1, "runners": [{"id": 899, "name": name(), "status": "offline", "busy": false}],
        })))
        .mount(&env.gh.server)
        .await;
    let o = env.orch(config(""));
    let d = o.handle_event(&env.client, &event("queued")).await.unwrap();
    assert!(matches!(d, Decision::Launched { .. }), "{d:?}");
    env.gh
        .assert_writes(&[
            &jit_path(),
            &format!("DELETE /repos/{REPO}/actions/runners/899"),
            &jit_path(),
        ])
        .await;
    assert_eq!(env.job_names(), vec![name()]);
}

#[tokio::test]
async fn offline_leftover_registration_removed_on_second_sighting_busy_never() {
    let env = Env::new().await;
    env.mock_runs(&[]).await;
    let left = runner_name(REPO, 1, 1);
    let busy = runner_name(REPO, 2, 1);
    env.mock_runners(json!([
        {"id": 11, "name": left, "status": "offline", "busy": false},
        {"id": 12, "name": busy, "status": "online", "busy": true},
        {"id": 13, "name": "someone-elses-runner", "status": "offline", "busy": false},
    ]))
    .await;
    let o = env.orch(config(""));
    let r = o.reconcile(&env.clients()).await.unwrap();
    assert!(r.reaped.is_empty(), "{r:?}");
    env.gh.assert_no_writes().await;
    let r = o.reconcile(&env.clients()).await.unwrap();
    assert_eq!(r.reaped.len(), 1, "{r:?}");
    env.gh
        .assert_writes(&[&format!("DELETE /repos/{REPO}/actions/runners/11")])
        .await;
}

#[tokio::test]
async fn dry_run_reads_but_creates_nothing() {
    let env = Env::new().await;
    env.mock_job(JOB, "queued").await;
    let gh = GitHub::connect(ClientConfig {
        api_url: env.gh.uri(),
        retry: RetryPolicy::fast(),
        dry_run: true,
        ..ClientConfig::new(Credentials::Token {
            token: SecretString::from(TOKEN.to_owned()),
            source: TokenSource::Flag,
        })
    })
    .await
    .unwrap();
    let k = KubeBackend::for_url(&env.kube.uri(), true).unwrap();
    let o = Orchestrator::new(config(""), Backend::kubernetes(k));
    let d = o.handle_event(&gh, &event("queued")).await.unwrap();
    assert_eq!(d, Decision::DryRun { name: name() });
    env.gh.assert_no_writes().await;
    assert_eq!(gh.planned_writes().len(), 1);
    assert_eq!(
        gh.planned_writes()[0].path,
        format!("/repos/{REPO}/actions/runners/generate-jitconfig")
    );
    assert!(env.kube_lines().await.iter().all(|l| l.starts_with("GET")));
    let planned = o.backend().kube().unwrap().planned();
    assert_eq!(planned.len(), 2);
    assert_eq!(planned[0]["kind"], "Job");
    assert_eq!(
        planned[1]["stringData"]["jitconfig"],
        "<redacted JIT config>"
    );
}

#[tokio::test]
async fn process_backend_passes_only_the_jit_config() {
    let env = Env::new().await;
    env.mock_job(JOB, "queued").await;
    env.mock_jit().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("env.txt");
    let text = format!(
        r#"
[[runners.pools]]
name = "local"
repos = ["{REPO}"]
labels = ["self-hosted", "k8s"]
max = 1
backend = "process"
[runners.pools.process]
command = ["/usr/bin/env"]
"#
    );
    let mut cfg = RunnersConfig::from_file(&ConfigFile::parse(&text, None).unwrap()).unwrap();
    cfg.pools[0].process.command = vec![
        "/bin/sh".into(),
        "-c".into(),
        format!("/usr/bin/env > {}", out.display()),
    ];
    let o = Orchestrator::new(cfg, Backend::default());
    let d = o.handle_event(&env.client, &event("queued")).await.unwrap();
    assert_eq!(
        d,
        Decision::Launched {
            name: name(),
            pool: "local".into()
        }
    );
    // Same identity rules: a duplicate is not a second process.
    let d = o.handle_event(&env.client, &event("queued")).await.unwrap();
    assert_eq!(d, Decision::AlreadyLaunched { name: name() });
    // Local runners share one runner directory: each gets its own work folder.
    assert_eq!(
        env.gh.writes().await[0].body,
        json!({"name": name(), "runner_group_id": 1, "labels": ["self-hosted", "k8s"],
               "work_folder": format!("_work/{}", name())})
    );
    ghops_test_support::wait_until("the runner's environment dump", || {
        std::fs::read_to_string(&out).is_ok_and(|t| t.contains("GHOPS_RUNNER_NAME"))
    })
    .await;
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains(&format!("ACTIONS_RUNNER_INPUT_JITCONFIG={JIT}")),
        "{text}"
    );
    assert!(!text.contains(TOKEN), "{text}");
    let keys: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k))
        .collect();
    for k in keys {
        assert!(
            [
                "PATH",
                "HOME",
                "LANG",
                "TMPDIR",
                "ACTIONS_RUNNER_INPUT_JITCONFIG",
                "GHOPS_RUNNER_NAME",
                "PWD",
                "SHLVL",
                "_"
            ]
            .contains(&k),
            "unexpected variable {k} in the runner's environment"
        );
    }
}

#[tokio::test]
async fn process_backend_runs_the_runner_as_the_pool_user() {
    // Issue 19 #1: job code ran as ghops's user (it could read the key file and state).
    let root = nix::unistd::geteuid().is_root();
    let text = |user: &str| {
        format!(
            "[[runners.pools]]\nname = \"local\"\nrepos = [\"{REPO}\"]\nlabels = [\"self-hosted\", \"k8s\"]\nmax = 1\nbackend = \"process\"\n[runners.pools.process]\ncommand = [\"/bin/true\"]\nuser = \"{user}\"\n"
        )
    };
    let load = |t: &str| RunnersConfig::from_file(&ConfigFile::parse(t, None).unwrap());
    let e = load(&text("root")).unwrap_err().to_string();
    assert!(
        e.contains("pools[0].process.user") && e.contains("root"),
        "{e}"
    );
    let e = load(&text("no-such-user-ghops")).unwrap_err().to_string();
    assert!(e.contains("no such user"), "{e}");
    if !root {
        // Only root can switch users: refused at load, not at the first launch.
        let e = load(&text("65534:65534")).unwrap_err().to_string();
        assert!(e.contains("run as root"), "{e}");
        return;
    }
    let env = Env::new().await;
    env.mock_job(JOB, "queued").await;
    env.mock_jit().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = dir.path().join("id.txt");
    let secret = dir.path().join("app-key.pem");
    std::fs::write(&secret, "-----BEGIN PRIVATE KEY-----").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut cfg = load(&text("65534:65534")).unwrap();
    assert_eq!(
        cfg.pools[0].process.run_as.as_ref().map(|r| (r.uid, r.gid)),
        Some((65534, 65534))
    );
    cfg.pools[0].process.command = vec![
        "/bin/sh".into(),
        "-c".into(),
        format!(
            "{{ id -u; id -g; id -G; cat {} || echo denied; }} > {}.tmp 2>/dev/null; mv {o}.tmp {o}",
            secret.display(),
            out.display(),
            o = out.display()
        ),
    ];
    let o = Orchestrator::new(cfg, Backend::default());
    let d = o.handle_event(&env.client, &event("queued")).await.unwrap();
    assert!(matches!(d, Decision::Launched { .. }), "{d:?}");
    ghops_test_support::wait_until("the runner's output", || {
        std::fs::read_to_string(&out).is_ok_and(|t| !t.is_empty())
    })
    .await;
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text, "65534\n65534\n65534\ndenied\n");
}

#[tokio::test]
async fn leader_election_takes_a_free_lease_and_respects_a_held_one() {
    use runner_orch::leader::LeaderElector;
    let kube = MockServer::start().await;
    let lease = "/apis/coordination.k8s.io/v1/namespaces/ghops/leases";
    Mock::given(method("GET"))
        .and(path(format!("{lease}/ghops-runners")))
        .respond_with(status(404, "NotFound", "not found"))
        .up_to_n_times(1)
        .mount(&kube)
        .await;
    Mock::given(method("POST"))
        .and(path(lease))
        .respond_with(|r: &Request| ResponseTemplate::new(201).set_body_bytes(r.body.clone()))
        .mount(&kube)
        .await;
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    Mock::given(method("GET"))
        .and(path(format!("{lease}/ghops-runners")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "ghops-runners", "resourceVersion": "7"},
            "spec": {"holderIdentity": "replica-a", "leaseDurationSeconds": 30, "renewTime": now},
        })))
        .mount(&kube)
        .await;
    let client = KubeBackend::for_url(&kube.uri(), false).unwrap().client();
    let a = LeaderElector::new(client.clone(), "ghops", "ghops-runners", "replica-a");
    let b = LeaderElector::new(client, "ghops", "ghops-runners", "replica-b");
    assert!(a.try_acquire().await.unwrap(), "free lease taken");
    assert!(!b.try_acquire().await.unwrap(), "held lease respected");
    let lines: Vec<String> = kube
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(ghops_test_support::method_path)
        .collect();
    assert_eq!(
        lines,
        [
            format!("GET {lease}/ghops-runners"),
            format!("POST {lease}"),
            format!("GET {lease}/ghops-runners"),
        ]
    );
}

/// The Lease as the API server returns it: held by `holder`, renewed just now.
fn held_lease(holder: &str, transitions: i32) -> Value {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "ghops-runners", "namespace": "ghops", "resourceVersion": "7"},
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": 30, "acquireTime": now,
                 "renewTime": now, "leaseTransitions": transitions},
    })
}

/// Graceful shutdown gives the Lease up as client-go's ReleaseOnCancel does (empty holder,
/// 1 s duration, times now, transitions kept, the read resourceVersion sent back); a Lease
/// another replica holds is left alone; a released Lease is free at once for a follower.
#[tokio::test]
async fn leader_election_releases_the_lease_and_a_follower_takes_it_at_once() {
    use runner_orch::leader::LeaderElector;
    let lease = "/apis/coordination.k8s.io/v1/namespaces/ghops/leases/ghops-runners";
    let kube = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(lease))
        .respond_with(ResponseTemplate::new(200).set_body_json(held_lease("replica-a", 3)))
        .mount(&kube)
        .await;
    Mock::given(method("PUT"))
        .and(path(lease))
        .respond_with(|r: &Request| ResponseTemplate::new(200).set_body_bytes(r.body.clone()))
        .mount(&kube)
        .await;
    let client = KubeBackend::for_url(&kube.uri(), false).unwrap().client();
    let a = LeaderElector::new(client.clone(), "ghops", "ghops-runners", "replica-a");
    let b = LeaderElector::new(client, "ghops", "ghops-runners", "replica-b");
    assert!(!b.release().await.unwrap(), "not b's to release");
    assert!(a.release().await.unwrap(), "released");
    let reqs = kube.received_requests().await.unwrap();
    let lines: Vec<String> = reqs.iter().map(ghops_test_support::method_path).collect();
    assert_eq!(
        lines,
        [
            format!("GET {lease}"),
            format!("GET {lease}"),
            format!("PUT {lease}")
        ]
    );
    let put: Value = serde_json::from_slice(&reqs[2].body).unwrap();
    let spec = &put["spec"];
    assert_eq!(spec["holderIdentity"], "", "{put}");
    assert_eq!(spec["leaseDurationSeconds"], 1, "{put}");
    assert_eq!(spec["leaseTransitions"], 3, "{put}");
    assert_eq!(spec["acquireTime"], spec["renewTime"], "{put}");
    assert_ne!(
        spec["renewTime"],
        held_lease("replica-a", 3)["spec"]["renewTime"]
    );
    assert_eq!(put["metadata"]["resourceVersion"], "7", "{put}");

    // The released Lease (empty holder, still within its second) is free for a follower.
    let kube = MockServer::start().await;
    let mut released = held_lease("", 3);
    released["spec"]["leaseDurationSeconds"] = json!(1);
    Mock::given(method("GET"))
        .and(path(lease))
        .respond_with(ResponseTemplate::new(200).set_body_json(released))
        .mount(&kube)
        .await;
    Mock::given(method("PUT"))
        .and(path(lease))
        .respond_with(|r: &Request| ResponseTemplate::new(200).set_body_bytes(r.body.clone()))
        .mount(&kube)
        .await;
    let client = KubeBackend::for_url(&kube.uri(), false).unwrap().client();
    let b = LeaderElector::new(client, "ghops", "ghops-runners", "replica-b");
    assert!(
        b.try_acquire().await.unwrap(),
        "a released Lease is free at once"
    );
    let reqs = kube.received_requests().await.unwrap();
    let put: Value = serde_json::from_slice(&reqs.last().unwrap().body).unwrap();
    assert_eq!(put["spec"]["holderIdentity"], "replica-b");
    assert_eq!(put["spec"]["leaseTransitions"], 4);
}

/// `Leadership::release` (what `runners reconcile --watch` and `ghops serve` call on SIGTERM
/// or SIGINT): the holder stops renewing and gives the Lease up; it is no longer the leader.
#[tokio::test]
async fn leadership_release_gives_up_a_held_lease() {
    use runner_orch::leader::{LeaderElector, Leadership};
    let leases = "/apis/coordination.k8s.io/v1/namespaces/ghops/leases";
    let lease = format!("{leases}/ghops-runners");
    let kube = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(&lease))
        .respond_with(status(404, "NotFound", "not found"))
        .up_to_n_times(1)
        .mount(&kube)
        .await;
    Mock::given(method("POST"))
        .and(path(leases))
        .respond_with(|r: &Request| ResponseTemplate::new(201).set_body_bytes(r.body.clone()))
        .mount(&kube)
        .await;
    Mock::given(method("GET"))
        .and(path(&lease))
        .respond_with(ResponseTemplate::new(200).set_body_json(held_lease("replica-a", 0)))
        .mount(&kube)
        .await;
    Mock::given(method("PUT"))
        .and(path(&lease))
        .respond_with(|r: &Request| ResponseTemplate::new(200).set_body_bytes(r.body.clone()))
        .mount(&kube)
        .await;
    let client = KubeBackend::for_url(&kube.uri(), false).unwrap().client();
    let l = Leadership::elect(LeaderElector::new(
        client,
        "ghops",
        "ghops-runners",
        "replica-a",
    ));
    ghops_test_support::wait_until("leadership", || l.is_leader()).await;
    l.release().await;
    assert!(!l.is_leader());
    let reqs = kube.received_requests().await.unwrap();
    let lines: Vec<String> = reqs.iter().map(ghops_test_support::method_path).collect();
    assert_eq!(
        lines,
        [
            format!("GET {lease}"),
            format!("POST {leases}"),
            format!("GET {lease}"),
            format!("PUT {lease}"),
        ]
    );
    let put: Value = serde_json::from_slice(&reqs[3].body).unwrap();
    assert_eq!(put["spec"]["holderIdentity"], "", "{put}");
    assert_eq!(put["spec"]["leaseDurationSeconds"], 1, "{put}");
}

#[test]
fn metrics_render_prometheus_text() {
    let o = Orchestrator::new(config(""), Backend::default());
    o.metrics
        .launched
        .fetch_add(3, std::sync::atomic::Ordering::Relaxed);
    let t = o.metrics.render(None);
    assert!(
        t.contains("# TYPE ghops_runners_launched_total counter\nghops_runners_launched_total 3\n"),
        "{t}"
    );
    assert!(t.contains("ghops_runners_waiting_jobs 0"));
}

#[tokio::test]
async fn status_counts_queued_and_runners_by_state() {
    let env = Env::new().await;
    env.mock_job(101, "queued").await;
    env.mock_jit().await;
    env.mock_runs(&[(101, "queued"), (102, "queued"), (103, "in_progress")])
        .await;
    let o = env.orch(config(""));
    let mut ev = event("queued");
    ev.workflow_job.id = 101;
    o.handle_event(&env.client, &ev).await.unwrap();
    env.mock_runners(json!([
        {"id": 1, "name": runner_name(REPO, 101, 1), "status": "offline", "busy": false},
        {"id": 2, "name": runner_name(REPO, 103, 1), "status": "online", "busy": true},
        {"id": 3, "name": "not-ours", "status": "online", "busy": true},
    ]))
    .await;
    let before = env.gh.writes().await.len();
    let st = o.status(&env.clients()).await.unwrap();
    assert_eq!(st.len(), 1);
    let p = &st[0];
    assert_eq!(
        (p.queued, p.live, p.busy, p.offline, p.idle),
        (2, 1, 1, 1, 0),
        "{p:?}"
    );
    assert_eq!(env.gh.writes().await.len(), before, "status only reads");
    ghops_test_support::insta_settings(None).bind(|| insta::assert_json_snapshot!("status", st));
}

#[tokio::test]
async fn warm_runner_past_idle_ttl_is_recycled_busy_one_kept() {
    let env = Env::new().await;
    env.mock_jit().await;
    env.mock_runs(&[]).await;
    let idle0 = runner_orch::naming::idle_name("k8s", 0);
    let idle1 = runner_orch::naming::idle_name("k8s", 1);
    env.mock_runners(json!([
        {"id": 20, "name": idle0, "status": "online", "busy": false},
        {"id": 21, "name": idle1, "status": "online", "busy": true},
    ]))
    .await;
    let o = env.orch(config("min_idle = 2\nidle_ttl = \"1m\""));
    o.reconcile(&env.clients()).await.unwrap();
    assert_eq!(env.job_names().len(), 2);
    for j in env.fake.0.lock().unwrap().jobs.values_mut() {
        j["metadata"]["creationTimestamp"] = json!("2020-01-01T00:00:00Z");
    }
    let r = o.reconcile(&env.clients()).await.unwrap();
    assert_eq!(
        r.reaped,
        vec![(
            idle0.clone(),
            "warm runner idle longer than idle_ttl".to_owned()
        )]
    );
    assert_eq!(env.job_names(), vec![idle1]);
    env.gh
        .assert_writes(&[
            &jit_path(),
            &jit_path(),
            &format!("DELETE /repos/{REPO}/actions/runners/20"),
        ])
        .await;
}

#[tokio::test]
async fn unused_runner_of_a_job_served_elsewhere_is_reaped_busy_one_never() {
    let env = Env::new().await;
    for id in [201, 202] {
        env.mock_job(id, "queued").await;
    }
    env.mock_jit().await;
    let o = env.orch(config(""));
    for id in [201, 202] {
        let mut ev = event("queued");
        ev.workflow_job.id = id;
        o.handle_event(&env.client, &ev).await.unwrap();
    }
    // Both jobs left the queue: 201 taken by another runner, 202 by ours (busy).
    env.mock_runs(&[(201, "in_progress"), (202, "in_progress")])
        .await;
    env.mock_runners(json!([
        {"id": 31, "name": runner_name(REPO, 201, 1), "status": "online", "busy": false},
        {"id": 32, "name": runner_name(REPO, 202, 1), "status": "online", "busy": true},
    ]))
    .await;
    for j in env.fake.0.lock().unwrap().jobs.values_mut() {
        j["metadata"]["creationTimestamp"] = json!("2020-01-01T00:00:00Z");
    }
    let r = o.reconcile(&env.clients()).await.unwrap();
    assert_eq!(r.reaped.len(), 1, "{r:?}");
    assert_eq!(r.reaped[0].0, runner_name(REPO, 201, 1));
    assert_eq!(env.job_names(), vec![runner_name(REPO, 202, 1)]);
    env.gh
        .assert_writes(&[
            &jit_path(),
            &jit_path(),
            &format!("DELETE /repos/{REPO}/actions/runners/31"),
        ])
        .await;
}

/// With a GitHub App, pools in two accounts reconcile with each account's installation: an
/// organisation's via `/orgs/{org}/installation`, a user's via its repository; every read goes
/// out with the token of the account it reads (a wrong token finds no mock and fails the pass).
#[tokio::test]
async fn app_pools_in_two_accounts_use_each_installation() {
    let env = Env::new().await;
    let text = format!(
        r#"
[[runners.pools]]
name = "org"
org = "Org-A"
repos = ["app"]
labels = ["self-hosted", "linux"]
[runners.pools.kubernetes]
namespace = "{NS}"

[[runners.pools]]
name = "user"
repos = ["user-b/tool"]
labels = ["self-hosted", "gpu"]
[runners.pools.kubernetes]
namespace = "{NS}"
"#
    );
    let cfg = RunnersConfig::from_file(&ConfigFile::parse(&text, None).unwrap()).unwrap();
    let ok = |v: Value| ResponseTemplate::new(200).set_body_json(v);
    for (lookup, id, token) in [
        ("/orgs/Org-A/installation", 11, "ghs_org_a"),
        ("/repos/user-b/tool/installation", 22, "ghs_user_b"),
    ] {
        Mock::given(method("GET"))
            .and(path(lookup))
            .respond_with(ok(json!({"id": id, "app_slug": "ghops"})))
            .mount(&env.gh.server)
            .await;
        Mock::given(method("POST"))
            .and(path(format!("/app/installations/{id}/access_tokens")))
            .respond_with(
                ResponseTemplate::new(201)
                    .set_body_json(json!({"token": token, "expires_at": "2999-01-01T00:00:00Z", "permissions": {"actions": "read"}})),
            )
            .expect(1)
            .mount(&env.gh.server)
            .await;
    }
    let auth =
        |t: &str| wiremock::matchers::header("authorization", format!("Bearer {t}").as_str());
    for (p, token, v) in [
        (
            "/repos/Org-A/app/actions/runs",
            "ghs_org_a",
            json!({"total_count": 0, "workflow_runs": []}),
        ),
        (
            "/orgs/Org-A/actions/runners",
            "ghs_org_a",
            json!({"total_count": 0, "runners": []}),
        ),
        (
            "/repos/user-b/tool/actions/runs",
            "ghs_user_b",
            json!({"total_count": 0, "workflow_runs": []}),
        ),
        (
            "/repos/user-b/tool/actions/runners",
            "ghs_user_b",
            json!({"total_count": 0, "runners": []}),
        ),
    ] {
        Mock::given(method("GET"))
            .and(path(p))
            .and(auth(token))
            .respond_with(ok(v))
            .mount(&env.gh.server)
            .await;
    }
    let mut base = ClientConfig::new(Credentials::App {
        app_id: 7,
        private_key: SecretString::from(ghops_test_support::TEST_APP_KEY.to_owned()),
    });
    base.api_url = env.gh.uri();
    base.retry = RetryPolicy::fast();
    let clients = Clients::connect(&gh_core::client::Installations::new(base), &cfg)
        .await
        .unwrap();
    let o = env.orch(cfg);
    let r = o.reconcile(&clients).await.unwrap();
    assert!(r.decisions.is_empty() && r.reaped.is_empty(), "{r:?}");
    let lines = env.gh.lines().await;
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    assert_eq!(
        lines,
        [
            "GET /orgs/Org-A/installation",
            "GET /repos/user-b/tool/installation",
            "POST /app/installations/11/access_tokens",
            "GET /repos/Org-A/app/actions/runs?status=queued&per_page=100",
            "GET /repos/Org-A/app/actions/runs?status=in_progress&per_page=100",
            "GET /orgs/Org-A/actions/runners?per_page=100",
            "POST /app/installations/22/access_tokens",
            "GET /repos/user-b/tool/actions/runs?status=queued&per_page=100",
            "GET /repos/user-b/tool/actions/runs?status=in_progress&per_page=100",
            "GET /repos/user-b/tool/actions/runners?per_page=100",
        ]
    );
}

// ------------------------------------------------------------------ process groups (issue 20 #6)

/// A process pool whose runner is `sh -c script` (`$PIDFILE` is where the script writes the
/// pid of the child it forks, as actions/runner's `run.sh` starts the listener).
fn process_pool(script: &str) -> RunnersConfig {
    let text = format!(
        "[[runners.pools]]\nname = \"local\"\nrepos = [\"{REPO}\"]\nlabels = [\"self-hosted\", \"k8s\"]\nmax = 2\nbackend = \"process\"\n[runners.pools.process]\ncommand = [\"/bin/true\"]\n"
    );
    let mut cfg = RunnersConfig::from_file(&ConfigFile::parse(&text, None).unwrap()).unwrap();
    cfg.pools[0].process.command = vec!["/bin/sh".into(), "-c".into(), script.into()];
    cfg
}

/// The pid the runner stub wrote, once it did.
async fn forked_pid(file: &std::path::Path) -> i32 {
    for _ in 0..250 {
        if let Ok(t) = std::fs::read_to_string(file)
            && let Ok(p) = t.trim().parse()
        {
            return p;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the runner stub never wrote {}", file.display());
}

/// Gone: no such process, or a zombie (killed, waiting for a reaper that is not ours).
fn gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => s
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X')),
    }
}

async fn wait_gone(pid: i32) -> bool {
    for _ in 0..100 {
        if gone(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn cancelled_job_kills_the_runners_whole_process_group() {
    let env = Env::new().await;
    env.mock_job(JOB, "queued").await;
    env.mock_jit().await;
    env.mock_runners(json!([])).await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/actions/runners")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"total_count": 0, "runners": []})),
        )
        .mount(&env.gh.server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("listener.pid");
    let o = Orchestrator::new(
        process_pool(&format!(
            "sleep 300 & echo $! > {}; wait",
            pidfile.display()
        )),
        Backend::default(),
    );
    let d = o.handle_event(&env.client, &event("queued")).await.unwrap();
    assert!(matches!(d, Decision::Launched { .. }), "{d:?}");
    let listener = forked_pid(&pidfile).await;
    assert!(!gone(listener));
    // Cancelled before it started: the runner is removed, and with it what run.sh started.
    let d = o
        .handle_event(&env.client, &event("completed"))
        .await
        .unwrap();
    assert_eq!(d, Decision::Cleaned { name: name() });
    assert!(
        wait_gone(listener).await,
        "the runner's child {listener} survived"
    );
}

#[tokio::test]
async fn a_runner_that_exits_leaves_no_process_behind() {
    let env = Env::new().await;
    env.mock_job(JOB, "queued").await;
    env.mock_jit().await;
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("leftover.pid");
    // run.sh's job left a background process and the runner exited.
    let o = Orchestrator::new(
        process_pool(&format!(
            "sleep 300 & echo $! > {}; exit 0",
            pidfile.display()
        )),
        Backend::default(),
    );
    o.handle_event(&env.client, &event("queued")).await.unwrap();
    let leftover = forked_pid(&pidfile).await;
    let pool = &o.config().pools[0];
    let mut finished = false;
    for _ in 0..100 {
        finished = o.backend().list(pool).await.unwrap()[0].finished;
        if finished {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(finished);
    assert!(wait_gone(leftover).await, "{leftover} outlived its runner");
}

#[tokio::test]
async fn shutdown_ends_every_runner_group_even_one_ignoring_sigterm() {
    let env = Env::new().await;
    env.mock_job(JOB, "queued").await;
    env.mock_jit().await;
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("stubborn.pid");
    let mut backend = runner_orch::backend::ProcessBackend::new(false);
    backend.shutdown_grace = Duration::from_millis(200);
    let o = Orchestrator::new(
        process_pool(&format!(
            "trap '' TERM; sleep 300 & echo $! > {}; wait",
            pidfile.display()
        )),
        Backend::new(None, backend),
    );
    o.handle_event(&env.client, &event("queued")).await.unwrap();
    let child = forked_pid(&pidfile).await;
    o.shutdown().await;
    assert!(wait_gone(child).await, "{child} survived shutdown");
    let pool = &o.config().pools[0];
    assert!(o.backend().list(pool).await.unwrap()[0].finished);
}

// ------------------------------------------------------------------ bounded memory (issue 20 #8)

fn event_for(job: u64) -> WorkflowJobEvent {
    let mut v = fixture_json("workflow_job.queued.self-hosted.json");
    v["workflow_job"]["id"] = json!(job);
    serde_json::from_value(v).unwrap()
}

#[tokio::test]
async fn finished_process_runners_and_their_names_are_forgotten() {
    let env = Env::new().await;
    env.mock_jit().await;
    env.mock_runs(&[]).await;
    env.mock_runners(json!([])).await;
    let jobs = [JOB, JOB + 1, JOB + 2];
    for id in jobs {
        env.mock_job(id, "queued").await;
    }
    let mut process = runner_orch::backend::ProcessBackend::new(false);
    // Long enough that no runner is forgotten before all three ran, even on a loaded machine.
    process.finished_retention = Duration::from_secs(3);
    let o = Orchestrator::new(process_pool("exit 0"), Backend::new(None, process));
    let pool = o.config().pools[0].clone();
    // Each runner exits at once; the next job is launched once it has (max = 2: a third
    // launch while two still run would wait at capacity).
    let all_finished = || async {
        for _ in 0..500 {
            if o.backend()
                .list(&pool)
                .await
                .unwrap()
                .iter()
                .all(|l| l.finished)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the runners never finished");
    };
    for id in jobs {
        let d = o.handle_event(&env.client, &event_for(id)).await.unwrap();
        assert!(matches!(d, Decision::Launched { .. }), "{d:?}");
        all_finished().await;
    }
    assert_eq!(o.remembered(), 3);
    // Finished runners stay listed for the retention (a reconcile pass may relaunch a job
    // whose runner died), then the list and the dedupe memory let go of them.
    assert_eq!(o.backend().process().len(), 3);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    o.reconcile(&env.clients()).await.unwrap();
    assert_eq!(o.backend().process().len(), 0);
    assert_eq!(o.remembered(), 0);
}

// ------------------------------------------------------------------ cost at rest (issue 20 #9)

/// A list endpoint with an ETag: answers 304 (no body) to a matching `If-None-Match`, as
/// GitHub does (and then charges no rate-limit unit).
struct Etagged(Value, Arc<std::sync::atomic::AtomicU64>);

impl Respond for Etagged {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.0.to_string().hash(&mut h);
        let tag = format!("W/\"{:x}\"", h.finish());
        if req
            .headers
            .get("if-none-match")
            .is_some_and(|v| v.to_str().unwrap() == tag)
        {
            self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return ResponseTemplate::new(304).insert_header("etag", tag.as_str());
        }
        ResponseTemplate::new(200)
            .insert_header("etag", tag.as_str())
            .set_body_json(&self.0)
    }
}

async fn mock_etagged(env: &Env, jobs: &[u64]) -> Arc<std::sync::atomic::AtomicU64> {
    let n = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let runs = if jobs.is_empty() {
        json!([])
    } else {
        json!([{"id": 55}])
    };
    let lists = [
        (
            format!("/repos/{REPO}/actions/runs"),
            Some("queued"),
            json!({"total_count": runs.as_array().unwrap().len(), "workflow_runs": runs}),
        ),
        (
            format!("/repos/{REPO}/actions/runs"),
            Some("in_progress"),
            json!({"total_count": 0, "workflow_runs": []}),
        ),
        (
            format!("/repos/{REPO}/actions/runs/55/jobs"),
            None,
            json!({"total_count": jobs.len(), "jobs": jobs.iter().map(|id| json!({"id": id, "run_id": 55, "run_attempt": 1, "status": "queued", "labels": ["self-hosted", "k8s"]})).collect::<Vec<_>>()}),
        ),
        (
            format!("/repos/{REPO}/actions/runners"),
            None,
            json!({"total_count": 0, "runners": []}),
        ),
    ];
    for (p, status, body) in lists {
        let m = Mock::given(method("GET")).and(path(p));
        let m = match status {
            Some(s) => m.and(wiremock::matchers::query_param("status", s)),
            None => m,
        };
        m.respond_with(Etagged(body, n.clone()))
            .mount(&env.gh.server)
            .await;
    }
    n
}

#[tokio::test]
async fn an_idle_pool_costs_no_rate_limit_after_the_first_pass() {
    let env = Env::new().await;
    let not_modified = mock_etagged(&env, &[]).await;
    let o = env.orch(config(""));
    o.reconcile(&env.clients()).await.unwrap();
    let first = env.gh.lines().await;
    assert_eq!(first.len(), 3, "{first:?}");
    for _ in 0..3 {
        o.reconcile(&env.clients()).await.unwrap();
    }
    let reqs = env.gh.server.received_requests().await.unwrap();
    // Every later read was conditional, and every one was answered 304.
    assert_eq!(reqs.len(), 12);
    assert!(
        reqs[3..]
            .iter()
            .all(|r| r.headers.contains_key("if-none-match"))
    );
    assert_eq!(not_modified.load(std::sync::atomic::Ordering::Relaxed), 9);
    assert_eq!(
        o.metrics
            .not_modified
            .load(std::sync::atomic::Ordering::Relaxed),
        9
    );
}

#[tokio::test]
async fn a_runner_launched_by_reconcile_costs_one_call_and_unchanged_lists_are_reused() {
    let env = Env::new().await;
    env.mock_jit().await;
    let not_modified = mock_etagged(&env, &[JOB]).await;
    let o = env.orch(config(""));
    let r = o.reconcile(&env.clients()).await.unwrap();
    assert_eq!(
        r.decisions,
        vec![(
            name(),
            Decision::Launched {
                name: name(),
                pool: "k8s".into()
            }
        )]
    );
    // The pass had just listed the job as queued: no re-check, only the JIT call.
    let lines = env.gh.lines().await;
    assert_eq!(
        lines
            .iter()
            .filter(|l| !l.starts_with("GET ") || l.contains("/actions/jobs/"))
            .collect::<Vec<_>>(),
        vec![&jit_path()],
        "{lines:?}"
    );
    // Unchanged lists: the stored answer (the job still queued) is used, the runner found.
    let r = o.reconcile(&env.clients()).await.unwrap();
    assert_eq!(r.decisions, vec![]);
    assert_eq!(not_modified.load(std::sync::atomic::Ordering::Relaxed), 4);
    assert_eq!(env.job_names(), vec![name()]);
}

#[tokio::test]
async fn a_fresh_queued_event_launches_with_the_jit_call_only() {
    let env = Env::new().await;
    env.mock_jit().await;
    let o = env.orch(config(""));
    let mut ev = event("queued");
    ev.workflow_job.created_at = Some(chrono::Utc::now().to_rfc3339());
    let d = o.handle_event(&env.client, &ev).await.unwrap();
    assert_eq!(
        d,
        Decision::Launched {
            name: name(),
            pool: "k8s".into()
        }
    );
    assert_eq!(env.gh.lines().await, vec![jit_path()]);
}

// ------------------------------------------------------------------ dind (issue 20 #10)

#[tokio::test]
async fn dind_pool_launches_a_runner_with_a_privileged_native_sidecar() {
    let env = Env::new().await;
    env.mock_job(JOB, "queued").await;
    env.mock_jit().await;
    let mut cfg = config("");
    cfg.pools[0].kubernetes.docker = runner_orch::config::DockerMode::Dind;
    let o = env.orch(cfg);
    let d = o.handle_event(&env.client, &event("queued")).await.unwrap();
    assert!(matches!(d, Decision::Launched { .. }), "{d:?}");
    let job = env.kube_bodies().await.remove(0);
    ghops_test_support::insta_settings(None).bind(|| {
        insta::assert_json_snapshot!("dind_job_manifest", job);
    });
    let pod = &job["spec"]["template"]["spec"];
    // Only the sidecar is privileged; the runner keeps its restricted context.
    assert_eq!(pod["containers"].as_array().unwrap().len(), 1);
    assert_eq!(
        pod["containers"][0]["securityContext"],
        json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}})
    );
    assert_eq!(pod["initContainers"][1]["restartPolicy"], "Always");
    assert_eq!(
        pod["initContainers"][1]["securityContext"]["privileged"],
        true
    );
    assert_eq!(pod["automountServiceAccountToken"], false);
}

#[test]
fn a_dind_pools_namespace_enforces_privileged_and_still_audits_restricted() {
    let text = format!(
        "[[runners.pools]]\nname = \"plain\"\nrepos = [\"{REPO}\"]\nlabels = [\"self-hosted\"]\n[runners.pools.kubernetes]\nnamespace = \"plain\"\n\n[[runners.pools]]\nname = \"docker\"\nrepos = [\"{REPO}\"]\nlabels = [\"self-hosted\", \"docker\"]\n[runners.pools.kubernetes]\nnamespace = \"docker\"\ndocker = \"dind\"\n"
    );
    let cfg = RunnersConfig::from_file(&ConfigFile::parse(&text, None).unwrap()).unwrap();
    let docs = runner_orch::manifests::manifests(&cfg, &Default::default());
    let ns = |n: &str| {
        docs.iter()
            .find(|d| d["kind"] == "Namespace" && d["metadata"]["name"] == n)
            .unwrap()["metadata"]["labels"]
            .clone()
    };
    assert_eq!(
        ns("plain")["pod-security.kubernetes.io/enforce"],
        "restricted"
    );
    assert_eq!(
        ns("docker")["pod-security.kubernetes.io/enforce"],
        "privileged"
    );
    assert_eq!(
        ns("docker")["pod-security.kubernetes.io/audit"],
        "restricted"
    );
    assert_eq!(
        ns("docker")["pod-security.kubernetes.io/warn"],
        "restricted"
    );
}

// ------------------------------------------------------------------ replicas (issue 20)

/// A Lease API with optimistic concurrency (a PUT of a stale resourceVersion gets 409).
#[derive(Clone, Default)]
struct LeaseFake(Arc<Mutex<(Option<Value>, u64)>>);

impl Respond for LeaseFake {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut st = self.0.lock().unwrap();
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        match req.method.as_str() {
            "GET" => match &st.0 {
                Some(l) => ResponseTemplate::new(200).set_body_json(l),
                None => status(404, "NotFound", "not found"),
            },
            "POST" if st.0.is_some() => status(409, "AlreadyExists", "exists"),
            "PUT" if body["metadata"]["resourceVersion"] != json!(st.1.to_string()) => {
                status(409, "Conflict", "the object has been modified")
            }
            "POST" | "PUT" => {
                st.1 += 1;
                let mut l = body;
                l["metadata"]["resourceVersion"] = json!(st.1.to_string());
                st.0 = Some(l.clone());
                ResponseTemplate::new(if req.method.as_str() == "POST" {
                    201
                } else {
                    200
                })
                .set_body_json(l)
            }
            _ => status(405, "MethodNotAllowed", "no"),
        }
    }
}

#[tokio::test]
async fn of_two_replicas_exactly_one_leads_and_the_other_takes_over_when_it_stops() {
    use runner_orch::leader::{LeaderElector, Leadership};
    let kube = MockServer::start().await;
    Mock::given(wiremock::matchers::path_regex(
        "^/apis/coordination.k8s.io/v1/namespaces/ghops/leases",
    ))
    .respond_with(LeaseFake::default())
    .mount(&kube)
    .await;
    let client = KubeBackend::for_url(&kube.uri(), false).unwrap().client();
    let elect = |id: &str| {
        let mut e = LeaderElector::new(client.clone(), "ghops", "ghops-runners", id);
        e.lease_duration = Duration::from_secs(1);
        Leadership::elect(e)
    };
    let a = elect("replica-a");
    let b = elect("replica-b");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !(a.is_leader() || b.is_leader()) {
        assert!(std::time::Instant::now() < deadline, "nobody leads");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Over several renewals, never both.
    for _ in 0..60 {
        assert!(!(a.is_leader() && b.is_leader()), "two leaders");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let (leader, follower) = if a.is_leader() { (a, b) } else { (b, a) };
    assert!(!follower.is_leader());
    // The leader's replica dies: its Lease lapses and the other takes it.
    drop(leader);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !follower.is_leader() {
        assert!(std::time::Instant::now() < deadline, "no takeover");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_follower_runs_no_reconcile_pass() {
    let env = Env::new().await;
    let o = env.orch(config(""));
    let asked = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let (a, b) = (asked.clone(), asked.clone());
    o.run_loop(
        &env.clients(),
        Duration::from_millis(10),
        move || {
            a.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { false }
        },
        // Stops once the loop asked three times whether it leads.
        async move {
            while b.load(std::sync::atomic::Ordering::SeqCst) < 3 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        },
    )
    .await;
    assert!(asked.load(std::sync::atomic::Ordering::SeqCst) >= 3);
    assert_eq!(env.gh.lines().await, Vec::<String>::new());
    assert_eq!(env.kube_lines().await, Vec::<String>::new());
}

/// A list longer than a page is read through one walk (the first page conditional, then its
/// `Link`), its first page never twice, and is not stored: the next read walks it again.
#[tokio::test]
async fn a_list_longer_than_a_page_is_walked_once_by_its_links_and_not_stored() {
    let gh = MockGitHub::start().await;
    let base = gh.uri();
    let runners = |ids: std::ops::Range<u64>| json!({"total_count": 150, "runners": ids.map(|id| json!({"id": id, "name": format!("r{id}"), "status": "online", "busy": false, "labels": []})).collect::<Vec<_>>()});
    let p = format!("/repos/{REPO}/actions/runners");
    Mock::given(method("GET"))
        .and(path(p.as_str()))
        .and(wiremock::matchers::query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(runners(100..150)))
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path(p.as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"v1\"")
                .insert_header(
                    "link",
                    format!("<{base}{p}?per_page=100&page=2>; rel=\"next\"").as_str(),
                )
                .set_body_json(runners(0..100)),
        )
        .mount(&gh.server)
        .await;
    let c = client(&gh).await;
    let cache = runner_orch::github::ListCache::default();
    for _ in 0..2 {
        let all: Vec<Value> = cache.list(&c, &p, "runners").await.unwrap();
        assert_eq!(all.len(), 150);
        assert_eq!(
            (all[0]["id"].clone(), all[149]["id"].clone()),
            (json!(0), json!(149))
        );
        assert!(cache.is_empty());
    }
    let first = format!("GET {p}?per_page=100");
    let second = format!("GET {p}?per_page=100&page=2");
    gh.assert_lines(&[&first, &second, &first, &second]).await;
    let reqs = gh.server.received_requests().await.unwrap();
    assert!(
        reqs.iter()
            .all(|r| !r.headers.contains_key("if-none-match"))
    );
}
