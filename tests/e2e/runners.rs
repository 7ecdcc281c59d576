//! `ghops runners`: the real binary against wiremock GitHub and Kubernetes.

use ghops_test_support::{MockGitHub, fixture_path};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::util::{ghops, run, stderr, stdout, valid_json};

const REPO: &str = "lineville/elastic-machines-testing";
const JOB: u64 = 12877621891;
const TOKEN: &str = "ghp_e2e_token_never_in_a_pod";
const JIT: &str = "E2E-JIT-CONFIG";

pub(crate) fn write_config(dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join("ghops.toml");
    std::fs::write(
        &p,
        format!(
            r#"[runners]
[[runners.pools]]
name = "k8s"
repos = ["{REPO}"]
labels = ["self-hosted", "k8s"]
max = 2
[runners.pools.kubernetes]
namespace = "runners"
"#
        ),
    )
    .unwrap();
    p
}

pub(crate) async fn kube() -> MockServer {
    let k = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/apis/batch/v1/namespaces/runners/jobs"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "JobList", "apiVersion": "batch/v1", "metadata": {}, "items": [],
        })))
        .mount(&k)
        .await;
    Mock::given(method("POST"))
        .and(path("/apis/batch/v1/namespaces/runners/jobs"))
        .respond_with(|r: &wiremock::Request| {
            let mut b: Value = serde_json::from_slice(&r.body).unwrap();
            b["metadata"]["uid"] = json!("uid-1");
            ResponseTemplate::new(201).set_body_json(b)
        })
        .mount(&k)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/namespaces/runners/secrets"))
        .respond_with(|r: &wiremock::Request| {
            ResponseTemplate::new(201).set_body_bytes(r.body.clone())
        })
        .mount(&k)
        .await;
    k
}

#[tokio::test]
async fn handle_launches_one_runner_and_never_leaks_the_token() {
    let gh = MockGitHub::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/actions/jobs/{JOB}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": JOB, "run_id": 1, "run_attempt": 1, "status": "queued", "labels": ["self-hosted", "k8s"],
        })))
        .mount(&gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/repos/{REPO}/actions/runners/generate-jitconfig"
        )))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "runner": {"id": 5}, "encoded_jit_config": JIT,
        })))
        .mount(&gh.server)
        .await;
    let k = kube().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path());
    let mut c = ghops();
    c.args(["runners", "handle", "--json", "--event"])
        .arg(fixture_path("workflow_job.queued.self-hosted.json"))
        .arg("--config")
        .arg(&cfg)
        .args(["--api-url", &gh.uri(), "--kube-url", &k.uri()])
        .env("GH_TOKEN", TOKEN)
        .env("RUST_LOG", "trace");
    let o = run(c).await;
    let (out, err) = (stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    let v = valid_json("runners-handle", &o);
    assert_eq!(v["decision"], "launched", "{out}");
    gh.assert_writes(&[&format!(
        "POST /repos/{REPO}/actions/runners/generate-jitconfig"
    )])
    .await;
    let reqs = k.received_requests().await.unwrap();
    let lines: Vec<String> = reqs.iter().map(ghops_test_support::method_path).collect();
    assert_eq!(
        lines,
        [
            "GET /apis/batch/v1/namespaces/runners/jobs",
            "POST /apis/batch/v1/namespaces/runners/jobs",
            "POST /api/v1/namespaces/runners/secrets",
        ]
    );
    let job = String::from_utf8_lossy(&reqs[1].body).into_owned();
    assert!(!job.contains(TOKEN) && !job.contains(JIT), "{job}");
    let secret = String::from_utf8_lossy(&reqs[2].body).into_owned();
    assert!(secret.contains(JIT) && !secret.contains(TOKEN));
    // Not in the output or the (trace-level) log either.
    assert!(!out.contains(TOKEN) && !err.contains(TOKEN), "token leaked");
    assert!(
        !out.contains(JIT) && !err.contains(JIT),
        "JIT config leaked"
    );
}

/// With a GitHub App, `handle` acts as the installation of the event's repository, and looks
/// up no other account's, even when the first pool serves another account.
#[tokio::test]
async fn handle_with_an_app_uses_only_the_event_accounts_installation() {
    let gh = MockGitHub::start().await;
    let ok = |v: Value| ResponseTemplate::new(200).set_body_json(v);
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/installation")))
        .respond_with(ok(json!({"id": 77, "app_slug": "ghops-e2e"})))
        .mount(&gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/app/installations/77/access_tokens"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "token": "ghs_e2e_event_account", "expires_at": "2999-01-01T00:00:00Z", "permissions": {}
        })))
        .mount(&gh.server)
        .await;
    let auth = || wiremock::matchers::header("authorization", "Bearer ghs_e2e_event_account");
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/actions/jobs/{JOB}")))
        .and(auth())
        .respond_with(ok(json!({
            "id": JOB, "run_id": 1, "run_attempt": 1, "status": "queued", "labels": ["self-hosted", "k8s"],
        })))
        .mount(&gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/repos/{REPO}/actions/runners/generate-jitconfig"
        )))
        .and(auth())
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "runner": {"id": 5}, "encoded_jit_config": JIT,
        })))
        .mount(&gh.server)
        .await;
    let k = kube().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("ghops.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"[[runners.pools]]
name = "elsewhere"
org = "another-org"
repos = ["tool"]
labels = ["self-hosted", "gpu"]
[runners.pools.kubernetes]
namespace = "runners"

[[runners.pools]]
name = "k8s"
repos = ["{REPO}"]
labels = ["self-hosted", "k8s"]
[runners.pools.kubernetes]
namespace = "runners"
"#
        ),
    )
    .unwrap();
    let mut c = ghops();
    c.args(["runners", "handle", "--json", "--event"])
        .arg(fixture_path("workflow_job.queued.self-hosted.json"))
        .arg("--config")
        .arg(&cfg)
        .args(["--api-url", &gh.uri(), "--kube-url", &k.uri()])
        .env("GHOPS_APP_ID", "12")
        .env("GHOPS_APP_PRIVATE_KEY", ghops_test_support::TEST_APP_KEY);
    let o = run(c).await;
    let (out, err) = (stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    let v = valid_json("runners-handle", &o);
    assert_eq!(v["decision"], "launched", "{out}");
    gh.assert_lines(&[
        &format!("GET /repos/{REPO}/installation"),
        "POST /app/installations/77/access_tokens",
        &format!("GET /repos/{REPO}/actions/jobs/{JOB}"),
        &format!("POST /repos/{REPO}/actions/runners/generate-jitconfig"),
    ])
    .await;
}

#[tokio::test]
async fn manifests_and_bad_config() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path());
    let mut c = ghops();
    c.args(["runners", "manifests", "--cronjob", "--json", "--config"])
        .arg(&cfg);
    let o = run(c).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let docs: Vec<Value> = serde_json::from_value(valid_json("runners-manifests", &o)).unwrap();
    let cron = docs.iter().find(|d| d["kind"] == "CronJob").unwrap();
    assert_eq!(cron["spec"]["concurrencyPolicy"], "Forbid");
    let role = docs
        .iter()
        .find(|d| d["kind"] == "Role" && d["metadata"]["namespace"] == "runners")
        .unwrap();
    assert_eq!(
        role["rules"][0]["verbs"],
        json!(["get", "list", "create", "delete"])
    );
    assert_eq!(role["rules"].as_array().unwrap().len(), 2);

    std::fs::write(
        &cfg,
        "[runners]\n[[runners.pools]]\nname = \"x\"\nrepos = [\"nope\"]\nlabels = [\"a\"]\n",
    )
    .unwrap();
    let mut c = ghops();
    c.args(["runners", "reconcile", "--config"])
        .arg(&cfg)
        .env("GH_TOKEN", TOKEN);
    let o = run(c).await;
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("pools[0].repos[0]"), "{}", stderr(&o));
}

/// GitHub with one queued job (attempt 2) and no runners.
pub(crate) async fn one_queued_job() -> MockGitHub {
    let gh = MockGitHub::start().await;
    let ok = |v: Value| ResponseTemplate::new(200).set_body_json(v);
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/actions/runs")))
        .and(wiremock::matchers::query_param("status", "queued"))
        .respond_with(ok(json!({"total_count": 1, "workflow_runs": [{"id": 9}]})))
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/actions/runs")))
        .and(wiremock::matchers::query_param("status", "in_progress"))
        .respond_with(ok(json!({"total_count": 0, "workflow_runs": []})))
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/actions/runs/9/jobs")))
        .respond_with(ok(json!({"total_count": 1, "jobs": [
            {"id": JOB, "run_id": 9, "run_attempt": 2, "status": "queued", "labels": ["self-hosted", "k8s"]},
        ]})))
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/actions/jobs/{JOB}")))
        .respond_with(ok(
            json!({"id": JOB, "run_id": 9, "run_attempt": 2, "status": "queued"}),
        ))
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/actions/runners")))
        .respond_with(ok(json!({"total_count": 0, "runners": []})))
        .mount(&gh.server)
        .await;
    gh
}

#[tokio::test]
async fn reconcile_dry_run_prints_calls_and_manifests_and_sends_nothing() {
    let gh = one_queued_job().await;
    let k = kube().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path());
    let mut c = ghops();
    c.args(["runners", "reconcile", "--dry-run", "--json", "--config"])
        .arg(&cfg)
        .args(["--api-url", &gh.uri(), "--kube-url", &k.uri()])
        .env("GH_TOKEN", TOKEN);
    let o = run(c).await;
    let (out, err) = (stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    let v = valid_json("runners-reconcile", &o);
    assert_eq!(v["decisions"][0]["decision"], "dry_run", "{out}");
    assert_eq!(
        v["decisions"][0]["runner"],
        format!("ghops-65cf98e3-{JOB}-2"),
        "{out}"
    );
    assert!(err.contains(&format!("would POST {}/repos/lineville/elastic-machines-testing/actions/runners/generate-jitconfig", gh.base_path())), "{err}");
    assert!(err.contains("dry-run: would create {\n"), "{err}");
    assert!(err.contains("\"kind\": \"Job\""), "{err}");
    assert!(!err.contains(TOKEN) && !out.contains(TOKEN));
    gh.assert_no_writes().await;
    let reqs = k.received_requests().await.unwrap();
    assert!(
        reqs.iter().all(|r| r.method.as_str() == "GET"),
        "no Kubernetes writes"
    );
    // The same GitHub and cluster, read by `runners status --json`: one pool, one queued job.
    let mut c = ghops();
    c.args(["runners", "status", "--json", "--config"])
        .arg(&cfg)
        .args(["--api-url", &gh.uri(), "--kube-url", &k.uri()])
        .env("GH_TOKEN", TOKEN);
    let o = run(c).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = valid_json("runners-status", &o);
    assert_eq!(v[0]["pool"], "k8s", "{v}");
    assert_eq!(v[0]["queued"], 1, "{v}");
    gh.assert_no_writes().await;
}

/// GitHub with nothing queued and no runners registered.
async fn idle_github() -> MockGitHub {
    let gh = MockGitHub::start().await;
    let ok = |v: Value| ResponseTemplate::new(200).set_body_json(v);
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/actions/runs")))
        .respond_with(ok(json!({"total_count": 0, "workflow_runs": []})))
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/actions/runners")))
        .respond_with(ok(json!({"total_count": 0, "runners": []})))
        .mount(&gh.server)
        .await;
    gh
}

fn process_pool_config(dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join("ghops.toml");
    std::fs::write(
        &p,
        format!(
            r#"[runners]
lock_file = "{}"
[[runners.pools]]
name = "local"
repos = ["{REPO}"]
labels = ["self-hosted", "k8s"]
backend = "process"
[runners.pools.process]
command = ["/bin/sleep", "300"]
"#,
            dir.join("runners.lock").display()
        ),
    )
    .unwrap();
    p
}

/// Issue 20 #7: a second ghops process with the same process pool launched twice and deleted
/// the first's starting runners. Now one long-lived process owns the pools on the machine:
/// a second daemon is refused with the holder's pid, one-shot commands are refused.
#[tokio::test]
async fn a_process_pool_has_one_owner_per_machine() {
    let gh = idle_github().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = process_pool_config(dir.path());
    let mut first = ghops();
    first
        .args([
            "runners",
            "reconcile",
            "--watch",
            "--interval",
            "1s",
            "--config",
        ])
        .arg(&cfg)
        .args(["--api-url", &gh.uri()])
        .env("GH_TOKEN", TOKEN)
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let first = first.spawn().unwrap();
    // Its first pass has run once GitHub saw its reads.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while gh.server.received_requests().await.unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "no reconcile pass");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let pid = first.id();
    let second = |args: &[&str]| {
        let mut c = ghops();
        c.args(["runners"])
            .args(args)
            .arg("--config")
            .arg(&cfg)
            .args(["--api-url", &gh.uri()])
            .env("GH_TOKEN", TOKEN);
        c
    };
    let o = run(second(&["reconcile", "--watch"])).await;
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "another ghops process (pid {pid}) runs this machine's process pools"
        )),
        "{}",
        stderr(&o)
    );
    for args in [
        &["reconcile"][..],
        &[
            "handle",
            "--event",
            fixture_path("workflow_job.queued.self-hosted.json")
                .to_str()
                .unwrap(),
        ],
    ] {
        let o = run(second(args)).await;
        assert_eq!(o.status.code(), Some(3), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("pool local uses the process backend"),
            "{}",
            stderr(&o)
        );
    }
    // Nothing was written to GitHub by anyone.
    gh.assert_no_writes().await;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = tokio::task::spawn_blocking(move || first.wait_with_output().unwrap())
        .await
        .unwrap();
    // SIGTERM is handled like Ctrl-C: a clean stop, exit 0.
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("reconcile loop started"), "{err}");
    assert!(err.contains("reconcile loop stopping"), "{err}");
    // Released with its holder: the lock is free again.
    let f = std::fs::File::open(dir.path().join("runners.lock")).unwrap();
    nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusiveNonblock)
        .map_err(|(_, e)| e)
        .unwrap();
}

/// The loop logs (at INFO by default: it is a daemon) a start line, one line per pass that did
/// something (with its outcome and rate-limit units) and a stop line; `--metrics-bind` serves
/// the runner figures; SIGTERM ends it with exit 0.
#[tokio::test]
async fn reconcile_watch_logs_each_pass_with_its_outcome_and_stops_on_sigterm() {
    let gh = one_queued_job().await;
    let k = kube().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path());
    let mut c = ghops();
    c.args([
        "runners",
        "reconcile",
        "--watch",
        "--interval",
        "1h",
        "--dry-run",
        "--config",
    ])
    .arg(&cfg)
    .args(["--api-url", &gh.uri(), "--kube-url", &k.uri()])
    .args(["--metrics-bind", "127.0.0.1:0"])
    .env("GH_TOKEN", TOKEN)
    .env_remove("RUST_LOG")
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    // stderr, read as it comes.
    let log = crate::util::Log::follow(&mut child);
    log.wait_for(&mut child, "reconcile pass").await;
    let addr = log.metrics_addr(&mut child).await;
    assert_eq!(
        crate::util::http_get(addr, "/healthz").await,
        (200, "ok\n".into())
    );
    let (code, metrics) = crate::util::http_get(addr, "/metrics").await;
    assert_eq!(code, 200);
    assert!(
        metrics.contains("# TYPE ghops_runners_launched_total counter"),
        "{metrics}"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    let err = log.finish();
    assert_eq!(status.code(), Some(0), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("INFO")).collect();
    assert!(
        lines.iter().any(|l| l.contains("reconcile loop started")),
        "{err}"
    );
    let pass: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains("reconcile pass"))
        .collect();
    assert_eq!(pass.len(), 1, "{err}");
    assert!(
        pass[0].contains("launched=1") && pass[0].contains("api_units="),
        "{err}"
    );
    assert!(
        lines.iter().any(|l| l.contains("reconcile loop stopping")),
        "{err}"
    );
    gh.assert_no_writes().await;
}

/// `reconcile --watch --leader-election`: the replica takes the Lease, and on SIGTERM gives it
/// up (empty holder, 1 s duration) so that a follower takes over at once.
#[tokio::test]
async fn reconcile_watch_releases_the_lease_on_sigterm() {
    let gh = idle_github().await;
    let k = kube().await;
    let leases = "/apis/coordination.k8s.io/v1/namespaces/ghops/leases";
    let lease = format!("{leases}/ghops-runners");
    Mock::given(method("GET"))
        .and(path(&lease))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "kind": "Status", "apiVersion": "v1", "status": "Failure",
            "reason": "NotFound", "code": 404, "message": "not found",
        })))
        .up_to_n_times(1)
        .mount(&k)
        .await;
    Mock::given(method("POST"))
        .and(path(leases))
        .respond_with(|r: &wiremock::Request| {
            ResponseTemplate::new(201).set_body_bytes(r.body.clone())
        })
        .mount(&k)
        .await;
    let now = "2026-01-01T00:00:00.000000Z";
    Mock::given(method("GET"))
        .and(path(&lease))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "ghops-runners", "namespace": "ghops", "resourceVersion": "9"},
            "spec": {"holderIdentity": "replica-e2e", "leaseDurationSeconds": 30,
                     "acquireTime": now, "renewTime": now, "leaseTransitions": 0},
        })))
        .mount(&k)
        .await;
    Mock::given(method("PUT"))
        .and(path(&lease))
        .respond_with(|r: &wiremock::Request| {
            ResponseTemplate::new(200).set_body_bytes(r.body.clone())
        })
        .mount(&k)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path());
    let mut c = ghops();
    c.args(["runners", "reconcile", "--watch", "--interval", "1h"])
        .args(["--leader-election", "--config"])
        .arg(&cfg)
        .args(["--api-url", &gh.uri(), "--kube-url", &k.uri()])
        .env("GH_TOKEN", TOKEN)
        .env("POD_NAME", "replica-e2e")
        .env("POD_NAMESPACE", "ghops")
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    // A pass (it lists the pool's Jobs) runs only once this replica knows it leads.
    let passed = || async {
        k.received_requests()
            .await
            .unwrap()
            .iter()
            .any(|r| r.url.path() == "/apis/batch/v1/namespaces/runners/jobs")
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !passed().await {
        assert!(
            std::time::Instant::now() < deadline,
            "no pass as the leader"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = tokio::task::spawn_blocking(move || {
        let status = child.wait().unwrap();
        let mut err = String::new();
        use std::io::Read;
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        (status, err)
    })
    .await
    .unwrap();
    let (status, err) = out;
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.contains("released the Lease"), "{err}");
    let reqs = k.received_requests().await.unwrap();
    let on_lease: Vec<&wiremock::Request> = reqs
        .iter()
        .filter(|r| r.url.path().starts_with(leases))
        .collect();
    let lines: Vec<String> = on_lease
        .iter()
        .map(|r| ghops_test_support::method_path(r))
        .collect();
    assert_eq!(
        lines,
        [
            format!("GET {lease}"),
            format!("POST {leases}"),
            format!("GET {lease}"),
            format!("PUT {lease}"),
        ]
    );
    let put: Value = serde_json::from_slice(&on_lease[3].body).unwrap();
    assert_eq!(put["spec"]["holderIdentity"], "", "{put}");
    assert_eq!(put["spec"]["leaseDurationSeconds"], 1, "{put}");
    assert_eq!(put["metadata"]["resourceVersion"], "9", "{put}");
    gh.assert_no_writes().await;
}

/// No cluster, no kubeconfig, no `--kube-url`: a set-up problem (exit 2) whose message says
/// what to pass, not an API failure after retries (it was exit 4, "Kubernetes load in-cluster
/// config or kubeconfig failed: …").
#[tokio::test]
async fn no_kubernetes_configuration_is_a_usage_error_naming_kube_url() {
    let d = tempfile::tempdir().unwrap();
    let cfg = write_config(d.path());
    let mut c = ghops();
    c.args(["runners", "status", "--config"])
        .arg(&cfg)
        .env("HOME", d.path())
        .env("KUBECONFIG", d.path().join("no-such-kubeconfig"))
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .env_remove("GHOPS_KUBE_URL");
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with(
            "error: no Kubernetes configuration: not running in a cluster and no kubeconfig"
        ) && err.contains("--kube-url URL (GHOPS_KUBE_URL"),
        "{err}"
    );
}
