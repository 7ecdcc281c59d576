//! Process hardening (issue 19 #1) against the real binary: ghops keeps no credential in its
//! environment (`/proc/<pid>/environ` is the environment a process *started* with), is not
//! dumpable (other processes of its user cannot read its `/proc` files), and a hook reading
//! `/proc/$PPID/environ` finds no credential, or is denied when it runs as another user.

use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use ghops_test_support::fake::FakeGitHub;
use ghops_test_support::{MockGitHub, TEST_APP_KEY, sign};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::util::{ghops, run, stderr};

const TOKEN: &str = "ghp_hardeningE2EtokenNEVERinPROC";
const WEBHOOK_SECRET: &str = "hardening-e2e-webhook-secret";

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// The PEM's first key line: present in the environment iff the key is.
fn key_line() -> &'static str {
    TEST_APP_KEY.lines().nth(1).unwrap()
}

fn assert_no_secret(text: &str) {
    for s in [TOKEN, WEBHOOK_SECRET, key_line()] {
        assert!(!text.contains(s), "a credential is readable:\n{text}");
    }
}

#[tokio::test]
async fn serve_keeps_no_credential_in_its_environment_and_is_not_dumpable() {
    let gh = MockGitHub::start().await;
    let api = gh.uri();
    tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let cfg = dir.path().join("ghops.toml");
        std::fs::write(&cfg, "").unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let mut c = ghops();
        c.args(["serve", "--bind", &addr.to_string(), "--redeliver-interval", "0"])
            .current_dir(dir.path())
            .env("GHOPS_CONFIG", &cfg)
            .env("GITHUB_API_URL", &api)
            .env("GHOPS_APP_ID", "12")
            .env("GHOPS_APP_PRIVATE_KEY", TEST_APP_KEY)
            .env("GH_TOKEN", TOKEN)
            .env("GHOPS_WEBHOOK_SECRET", WEBHOOK_SECRET)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // As root, ghops runs as nobody: a dumpable process's /proc files belong to its user.
        if is_root() {
            c.uid(65534).gid(65534);
        }
        let mut child = c.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "ghops serve never listened");
            std::thread::sleep(Duration::from_millis(50));
        }
        let environ = format!("/proc/{}/environ", child.id());
        // Non-dumpable: the kernel gives its /proc files to root, not to ghops's user.
        assert_eq!(std::fs::metadata(&environ).unwrap().uid(), 0);
        match std::fs::read(&environ) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes).replace('\0', "\n");
                assert_no_secret(&text);
                assert!(text.contains("GHOPS_SECRETS_FD="), "{text}");
                assert!(text.contains("GHOPS_APP_ID=12"), "{text}");
            }
            Err(e) => {
                assert!(!is_root());
                assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied);
            }
        }
        // The handed-over webhook secret is the one in use.
        let deliver = |sig: String| {
            use std::io::{Read, Write};
            let body = br#"{"action":"created"}"#;
            let mut s = TcpStream::connect(addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            write!(
                s,
                "POST /webhook HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nX-GitHub-Event: star\r\nX-GitHub-Delivery: d-{}\r\nX-Hub-Signature-256: {sig}\r\nContent-Length: {}\r\n\r\n",
                sig.len(),
                body.len()
            )
            .unwrap();
            s.write_all(body).unwrap();
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            out.split(' ').nth(1).unwrap_or("").to_owned()
        };
        let body = br#"{"action":"created"}"#;
        assert_eq!(deliver(sign(WEBHOOK_SECRET.as_bytes(), body)), "202");
        assert_eq!(deliver(sign(b"wrong", body)), "401");
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = child.wait();
    })
    .await
    .unwrap();
}

/// A fake GitHub with one deployment. Statuses are stored: the agent reads its claim back
/// before running anything.
async fn one_deployment(id: u64) -> FakeGitHub {
    let gh = FakeGitHub::start("octo/app").await;
    gh.add_raw_deployment(json!({
        "id": id, "sha": "abcdef0123456789abcdef0123456789abcdef01", "ref": "main",
        "task": "deploy", "environment": "staging", "payload": {}
    }));
    gh
}

/// Runs one agent pass whose `deploy` hook tries to read ghops's environment through
/// `/proc/$PPID/environ` and the App key file; returns what the hook saw.
async fn hook_reads_parent(user: Option<&str>) -> (String, String, String) {
    let gh = one_deployment(11).await;
    let d = tempfile::tempdir().unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let hooks = d.path().join("hooks");
    let seen = d.path().join("seen");
    for p in [&hooks, &seen] {
        std::fs::create_dir_all(p).unwrap();
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let key = d.path().join("app-key.pem");
    std::fs::write(&key, TEST_APP_KEY).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let s = seen.display();
    std::fs::write(
        hooks.join("deploy"),
        format!(
            "#!/bin/sh\ncat /proc/$PPID/comm > {s}/comm\n\
             tr '\\0' '\\n' < /proc/$PPID/environ > {s}/environ 2>&1 || echo denied >> {s}/environ\n\
             cat {key} > {s}/key 2>&1 || echo denied >> {s}/key\n",
            key = key.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(hooks.join("deploy"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = d.path().join("ghops.toml");
    std::fs::write(
        &config,
        match user {
            Some(u) => format!("[agent]\nuser = \"{u}\"\n"),
            None => String::new(),
        },
    )
    .unwrap();
    let mut c = ghops();
    c.args(["agent", "run", "--once", "--repo", "octo/app"])
        .args(["--environment", "staging", "--agent-id", "e2e"])
        .args(["--api-url", &gh.uri()])
        .arg("--config")
        .arg(&config)
        .arg("--hooks-dir")
        .arg(&hooks)
        .arg("--state-dir")
        .arg(d.path().join("state"))
        .arg("--log-dir")
        .arg(d.path().join("logs"))
        .env("GH_TOKEN", TOKEN)
        .env("GHOPS_WEBHOOK_SECRET", WEBHOOK_SECRET)
        .env("GHOPS_APP_PRIVATE_KEY", TEST_APP_KEY);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("deployment 11 -> success"),
        "{}",
        stderr(&out)
    );
    let read = |f: &str| std::fs::read_to_string(seen.join(f)).unwrap_or_default();
    (read("comm"), read("environ"), read("key"))
}

#[tokio::test]
async fn a_hook_finds_no_credential_in_the_agents_proc_environ() {
    let (comm, environ, _) = hook_reads_parent(None).await;
    assert_eq!(comm.trim(), "ghops", "the hook's parent is the agent");
    assert_no_secret(&environ);
    if is_root() {
        // Root may read a non-dumpable process's environ: it holds no credential.
        assert!(environ.contains("GHOPS_SECRETS_FD="), "{environ}");
    } else {
        assert!(environ.contains("denied"), "{environ}");
    }
}

#[tokio::test]
async fn a_hook_run_as_another_user_cannot_read_the_agents_proc_or_key_file() {
    if !is_root() {
        // Switching users needs root: refused at start with a usage error.
        let gh = MockGitHub::start().await;
        let d = tempfile::tempdir().unwrap();
        let config = d.path().join("ghops.toml");
        std::fs::write(&config, "[agent]\nuser = \"65534:65534\"\n").unwrap();
        let mut c = ghops();
        c.args(["agent", "run", "--once", "--repo", "octo/app"])
            .args(["--environment", "staging", "--api-url", &gh.uri()])
            .arg("--config")
            .arg(&config)
            .env("GH_TOKEN", TOKEN);
        let out = run(c).await;
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains("[agent] user"), "{}", stderr(&out));
        gh.assert_no_writes().await;
        return;
    }
    let (comm, environ, key) = hook_reads_parent(Some("65534:65534")).await;
    assert_eq!(comm.trim(), "ghops");
    assert!(environ.contains("denied"), "{environ}");
    assert!(key.contains("denied"), "{key}");
    assert_no_secret(&environ);
    assert_no_secret(&key);
}

#[tokio::test]
async fn agent_manifests_are_locked_down() {
    // Issue 19 #12: no service account token, read-only root filesystem, seccomp, limits.
    let mut c = ghops();
    c.args([
        "agent",
        "manifests",
        "--namespace",
        "ops",
        "--image",
        "ghcr.io/example/ghops:test",
    ]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = crate::util::stdout(&out);
    for needle in [
        "automountServiceAccountToken: false\n---",
        "      automountServiceAccountToken: false\n",
        "readOnlyRootFilesystem: true",
        "seccompProfile: {type: RuntimeDefault}",
        "limits: {cpu: \"1\", memory: 512Mi}",
        "- {name: tmp, mountPath: /tmp}",
    ] {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }
    ghops_test_support::insta_settings(None)
        .bind(|| insta::assert_snapshot!("agent_manifests", text));
}

#[tokio::test]
async fn a_process_runner_finds_no_credential_in_ghops_proc_environ() {
    // `ghops serve` with a process pool: its reconcile pass launches the runner for the queued
    // job, as a child of ghops, which stays up while the runner looks at /proc/$PPID.
    const REPO: &str = "octo/app";
    const JOB: u64 = 4242;
    let gh = MockGitHub::start().await;
    let ok = |v: serde_json::Value| ResponseTemplate::new(200).set_body_json(v);
    for (p, v) in [
        (format!("/repos/{REPO}/installation"), json!({"id": 77})),
        (
            format!("/repos/{REPO}/actions/runs/9/jobs"),
            json!({"total_count": 1, "jobs": [{"id": JOB, "run_id": 9, "run_attempt": 1,
                   "status": "queued", "labels": ["self-hosted", "local"]}]}),
        ),
        (
            format!("/repos/{REPO}/actions/jobs/{JOB}"),
            json!({"id": JOB, "run_id": 9, "run_attempt": 1, "status": "queued",
                   "labels": ["self-hosted", "local"]}),
        ),
        (
            format!("/repos/{REPO}/actions/runners"),
            json!({"total_count": 0, "runners": []}),
        ),
        ("/app".to_owned(), json!({"id": 12, "slug": "ghops-e2e"})),
    ] {
        Mock::given(method("GET"))
            .and(path(p))
            .respond_with(ok(v))
            .mount(&gh.server)
            .await;
    }
    for (status, runs) in [("queued", json!([{"id": 9}])), ("in_progress", json!([]))] {
        Mock::given(method("GET"))
            .and(path(format!("/repos/{REPO}/actions/runs")))
            .and(wiremock::matchers::query_param("status", status))
            .respond_with(ok(json!({"total_count": 1, "workflow_runs": runs})))
            .mount(&gh.server)
            .await;
    }
    Mock::given(method("POST"))
        .and(path("/app/installations/77/access_tokens"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "token": "ghs_e2e_installation", "expires_at": "2999-01-01T00:00:00Z", "permissions": {}
        })))
        .mount(&gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/repos/{REPO}/actions/runners/generate-jitconfig"
        )))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "runner": {"id": 5}, "encoded_jit_config": "E2E-JIT",
        })))
        .mount(&gh.server)
        .await;
    let api = gh.uri();
    let seen = tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        let seen = dir.path().join("seen");
        std::fs::create_dir_all(&seen).unwrap();
        let s = seen.display();
        let script = format!(
            "cat /proc/$PPID/comm > {s}/comm.tmp; tr '\\\\0' '\\\\n' < /proc/$PPID/environ > {s}/environ.tmp 2>&1 || echo denied >> {s}/environ.tmp; mv {s}/comm.tmp {s}/comm; mv {s}/environ.tmp {s}/environ"
        );
        let cfg = dir.path().join("ghops.toml");
        std::fs::write(
            &cfg,
            format!(
                "[runners]\ninterval = \"1h\"\nlock_file = {lock:?}\n[[runners.pools]]\nname = \"local\"\nrepos = [\"{REPO}\"]\nlabels = [\"self-hosted\", \"local\"]\nmax = 1\nbackend = \"process\"\n[runners.pools.process]\ncommand = [\"/bin/sh\", \"-c\", {script:?}]\n",
                lock = dir.path().join("runners.lock").display().to_string()
            ),
        )
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut c = ghops();
        c.args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .args(["--redeliver-interval", "0"])
            .current_dir(dir.path())
            .env("GHOPS_CONFIG", &cfg)
            .env("GITHUB_API_URL", &api)
            .env("GHOPS_APP_ID", "12")
            .env("GHOPS_APP_PRIVATE_KEY", TEST_APP_KEY)
            .env("GHOPS_WEBHOOK_SECRET", WEBHOOK_SECRET)
            .env("GH_TOKEN", TOKEN)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !seen.join("environ").exists() {
            if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
                let _ = child.kill();
                let out = child.wait_with_output().unwrap();
                panic!(
                    "the runner never ran:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let read = |f: &str| std::fs::read_to_string(seen.join(f)).unwrap();
        let seen = (read("comm"), read("environ"));
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = child.wait();
        seen
    })
    .await
    .unwrap();
    let (comm, environ) = seen;
    assert_eq!(comm.trim(), "ghops", "the runner's parent is ghops");
    assert_no_secret(&environ);
    if is_root() {
        assert!(environ.contains("GHOPS_SECRETS_FD="), "{environ}");
    } else {
        assert!(environ.contains("denied"), "{environ}");
    }
}
