//! `ghops serve` as a process: a GitHub App webhook server against a wiremock GitHub.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use ghops_test_support::{MockGitHub, TEST_APP_KEY, sign};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::util::ghops;

pub const SECRET: &str = "e2e-webhook-secret";

/// A running `ghops serve`, stopped with SIGTERM when dropped.
pub struct Serve {
    pub child: Child,
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Serve {
    /// Starts `ghops serve` as GitHub App 12 against `api_url`, with `config` as ghops.toml.
    pub fn start(api_url: &str, config: &str, extra: &[&str]) -> Serve {
        Serve::start_with(
            api_url,
            config,
            extra,
            &[
                ("GHOPS_APP_ID", "12"),
                ("GHOPS_APP_PRIVATE_KEY", TEST_APP_KEY),
            ],
        )
    }

    /// Like [`Serve::start`], with `env` as the credentials (and any other variables) instead
    /// of App 12's.
    pub fn start_with(api_url: &str, config: &str, extra: &[&str], env: &[(&str, &str)]) -> Serve {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("ghops.toml");
        std::fs::write(&cfg, config).unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let mut c = ghops();
        c.args([
            "serve",
            "--bind",
            &addr.to_string(),
            "--redeliver-interval",
            "0",
        ])
        .args(extra)
        .env("GHOPS_CONFIG", &cfg)
        .env("GITHUB_API_URL", api_url)
        .envs(env.iter().copied())
        .env("GHOPS_WEBHOOK_SECRET", SECRET)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
        let child = c.spawn().expect("spawn ghops serve");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "ghops serve never listened on {addr}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Serve {
            child,
            addr,
            _dir: dir,
        }
    }

    /// One HTTP/1.1 request; returns (status, body).
    pub fn http(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String) {
        http_to(self.addr, method, path, headers, body)
    }

    /// POSTs a webhook delivery, signed with [`SECRET`] unless `signature` is given.
    pub fn deliver(
        &self,
        event: &str,
        id: &str,
        body: &[u8],
        signature: Option<&str>,
    ) -> (u16, String) {
        let sig = signature
            .map(str::to_owned)
            .unwrap_or_else(|| sign(SECRET.as_bytes(), body));
        self.http(
            "POST",
            "/webhook",
            &[
                ("Content-Type", "application/json"),
                ("X-GitHub-Event", event),
                ("X-GitHub-Delivery", id),
                ("X-Hub-Signature-256", &sig),
            ],
            body,
        )
    }

    /// Polls until `f` holds (bounded).
    pub fn wait_for(&self, what: &str, mut f: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !f() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then the exit status and stderr.
    pub fn stop(mut self) -> (Option<i32>, String) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                break self.child.wait().unwrap();
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        (status.code(), err)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request to `addr`; returns (status, body).
pub fn http_to(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
        addr,
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|x| x.1)
        .unwrap_or("")
        .to_owned();
    (status, body)
}

/// The App's own endpoints: `/app` (readiness) and installation 77's token.
pub async fn mount_app(gh: &MockGitHub) {
    Mock::given(method("GET"))
        .and(path("/app"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": 12, "slug": "ghops-e2e"})),
        )
        .mount(&gh.server)
        .await;
}

#[tokio::test]
async fn serve_verifies_reports_health_and_drains_on_sigterm() {
    let gh = MockGitHub::start().await;
    mount_app(&gh).await;
    let uri = gh.uri();
    let body = ghops_test_support::fixture_bytes("issue_comment.created.json");
    let (code, err) = tokio::task::spawn_blocking(move || {
        let s = Serve::start(&uri, "", &[]);
        assert_eq!(s.http("GET", "/healthz", &[], b"").0, 200);
        s.wait_for("readyz 200 once the App JWT reads /app", || {
            s.http("GET", "/readyz", &[], b"").0 == 200
        });
        // Tampered signature: 401, nothing handled.
        let bad = sign(b"not-the-secret", &body);
        assert_eq!(s.deliver("issue_comment", "d-1", &body, Some(&bad)).0, 401);
        // sha1-only: 401.
        assert_eq!(
            s.deliver(
                "issue_comment",
                "d-2",
                &body,
                Some("sha1=0123456789abcdef0123456789abcdef01234567")
            )
            .0,
            401
        );
        // Valid, a comment that is no trigger: acknowledged from the raw body, no token minted.
        let (st, text) = s.deliver("issue_comment", "d-0", &body, None);
        assert_eq!((st, text.trim()), (202, "nothing to do"));
        // Valid, for an event nobody handles: acknowledged.
        let (st, body) = s.deliver("star", "d-3", b"{\"action\":\"created\"}", None);
        assert_eq!((st, body.trim()), (202, "no handler for this event"));
        // The same delivery again: a no-op 200.
        assert_eq!(
            s.deliver("star", "d-3", b"{\"action\":\"created\"}", None)
                .0,
            200
        );
        let (_, metrics) = s.http("GET", "/metrics", &[], b"");
        assert!(
            metrics.contains("ghops_webhook_deliveries_total"),
            "{metrics}"
        );
        assert!(
            metrics.contains("outcome=\"bad_signature\"} 2"),
            "{metrics}"
        );
        assert!(
            metrics.contains("{event=\"issue_comment\",outcome=\"skipped\"} 1"),
            "{metrics}"
        );
        s.stop()
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("draining"), "{err}");
    // The only calls: the readiness check (no installation token for the skipped comment).
    gh.assert_no_writes().await;
}

/// `--metrics-bind`: the probes and metrics answer on their own port (the webhook port then
/// answers `/webhook` only), and deliveries on the webhook port still work and are counted.
#[tokio::test]
async fn metrics_bind_serves_the_probes_on_their_own_port() {
    let gh = MockGitHub::start().await;
    mount_app(&gh).await;
    let uri = gh.uri();
    let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let (code, err) = tokio::task::spawn_blocking(move || {
        let m = metrics.to_string();
        let s = Serve::start(&uri, "", &["--metrics-bind", &m]);
        let probe = |p: &str| http_to(metrics, "GET", p, &[], b"");
        s.wait_for("the metrics port", || TcpStream::connect(metrics).is_ok());
        assert_eq!(probe("/healthz").0, 200);
        s.wait_for("readyz 200 on the metrics port", || {
            probe("/readyz").0 == 200
        });
        for p in ["/healthz", "/readyz", "/metrics"] {
            assert_eq!(s.http("GET", p, &[], b"").0, 404, "{p} on the webhook port");
        }
        let (st, body) = s.deliver("star", "m-1", b"{\"action\":\"created\"}", None);
        assert_eq!((st, body.trim()), (202, "no handler for this event"));
        assert_eq!(http_to(metrics, "POST", "/webhook", &[], b"{}").0, 404);
        let (st, text) = probe("/metrics");
        assert_eq!(st, 200);
        assert!(
            text.contains("ghops_webhook_deliveries_total{event=\"star\",outcome=\"ignored\"} 1"),
            "{text}"
        );
        s.stop()
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains(&format!("metrics and health on http://{metrics}")),
        "{err}"
    );
    gh.assert_no_writes().await;
}

/// A taken `--metrics-bind` port stops the start with exit 2, before anything runs.
#[tokio::test]
async fn a_taken_metrics_port_is_a_usage_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let mut c = ghops();
    c.args(["serve", "--bind", "127.0.0.1:0", "--metrics-bind", &addr])
        .env("GH_TOKEN", "ghp_x")
        .env("GHOPS_WEBHOOK_SECRET", SECRET);
    let o = crate::util::run(c).await;
    assert_eq!(o.status.code(), Some(2));
    let err = crate::util::stderr(&o);
    assert!(
        err.contains(&format!("--metrics-bind: cannot listen on {addr}")),
        "{err}"
    );
}

/// The pr-bridge happy path through the App: a signed `issue_comment` delivery in, a branch
/// at the verified merge commit out, acting with an installation token narrowed to the
/// route's permissions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_issue_comment_creates_the_test_branch() {
    const R: &str = "/repos/Codertocat/Hello-World";
    const HEAD: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
    const BASE: &str = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e";
    const MERGE: &str = "9049f1265b7d61be4a8904a9a27120d2064dab3b";
    let gh = MockGitHub::start().await;
    mount_app(&gh).await;
    let ok = |v: serde_json::Value| ResponseTemplate::new(200).set_body_json(v);
    let get = |p: String, v: serde_json::Value| {
        Mock::given(method("GET")).and(path(p)).respond_with(ok(v))
    };
    get("/app/installations/1".into(), json!({"id": 1, "app_slug": "ghops-e2e", "permissions": {
        "contents": "write", "pull_requests": "write", "issues": "write", "metadata": "read", "actions": "read"
    }}))
    .mount(&gh.server)
    .await;
    Mock::given(method("POST"))
        .and(path("/app/installations/1/access_tokens"))
        .and(wiremock::matchers::body_json(json!({"permissions": {
            "actions": "read", "contents": "write", "issues": "write", "metadata": "read", "pull_requests": "read"
        }})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "token": "ghs_e2eNarrowedInstallationToken", "expires_at": "2999-01-01T00:00:00Z"
        })))
        .expect(1)
        .mount(&gh.server)
        .await;
    let auth =
        || wiremock::matchers::header("authorization", "Bearer ghs_e2eNarrowedInstallationToken");
    Mock::given(method("GET"))
        .and(path(format!("{R}/collaborators/maintainer/permission")))
        .and(auth())
        .respond_with(ok(json!({"permission": "write", "role_name": "maintain"})))
        .mount(&gh.server)
        .await;
    // pr-bridge's reads are GraphQL: the PR query (PR, merge commit, workflow trees, branch,
    // ghops's own comments), then the comments query after creating the status comment.
    const WF: &str = "1111111111111111111111111111111111111111";
    let no_comments =
        json!({"pageInfo": {"hasPreviousPage": false, "startCursor": null}, "nodes": []});
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(auth())
        .and(wiremock::matchers::body_string_contains("qualifiedName"))
        .respond_with(ok(json!({"data": {"repository": {"ref": null, "pullRequest": {
            "state": "OPEN", "headRefOid": HEAD, "baseRefOid": BASE, "baseRefName": "main",
            "isCrossRepository": true, "headRepository": {"nameWithOwner": "forker/Hello-World"},
            "mergeable": "MERGEABLE",
            "potentialMergeCommit": {"oid": MERGE, "file": {"oid": WF}, "parents": {"nodes": [
                {"oid": BASE, "file": {"oid": WF}}, {"oid": HEAD, "file": {"oid": WF}}]}},
            "comments": no_comments.clone()
        }}}})))
        .mount(&gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(auth())
        .respond_with(ok(
            json!({"data": {"repository": {"pullRequest": {"comments": no_comments}}}}),
        ))
        .with_priority(10)
        .mount(&gh.server)
        .await;
    for (m, p) in [
        ("POST", format!("{R}/issues/comments/492700400/reactions")),
        ("POST", format!("{R}/git/refs")),
        ("POST", format!("{R}/issues/1/comments")),
    ] {
        Mock::given(method(m))
            .and(path(p))
            .and(auth())
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({
                "id": 5000, "body": "x", "user": {"login": "ghops-e2e[bot]", "id": 3}
            })))
            .mount(&gh.server)
            .await;
    }
    let mut ev = ghops_test_support::fixture_json("issue_comment.created.on-pr.derived.json");
    ev["comment"]["body"] = json!(format!("/test-this-pr sha={HEAD}"));
    ev["comment"]["user"]["login"] = json!("maintainer");
    let body = serde_json::to_vec(&ev).unwrap();
    let uri = gh.uri();
    let s = tokio::task::spawn_blocking(move || {
        let s = Serve::start(&uri, "[pr_bridge]\nrun_wait_secs = 0\n", &[]);
        let (st, _) = s.deliver("issue_comment", "e2e-delivery-1", &body, None);
        assert_eq!(st, 202);
        s
    })
    .await
    .unwrap();
    // The status comment.
    gh.wait_for_requests(1, |w| {
        w.method == "POST" && w.path == format!("{R}/issues/1/comments")
    })
    .await;
    let (code, err) = tokio::task::spawn_blocking(move || s.stop()).await.unwrap();
    assert_eq!(code, Some(0), "{err}");
    let writes: Vec<String> = gh.writes().await.iter().map(|w| w.line()).collect();
    assert_eq!(
        writes,
        [
            "POST /app/installations/1/access_tokens".to_owned(),
            format!("POST {R}/git/refs"),
            format!("POST {R}/issues/comments/492700400/reactions"),
            format!("POST {R}/issues/1/comments"),
        ]
    );
    let refs = gh
        .writes()
        .await
        .into_iter()
        .find(|w| w.path == format!("{R}/git/refs"))
        .unwrap();
    assert_eq!(
        refs.body,
        json!({"ref": "refs/heads/test-this-pr/1", "sha": MERGE})
    );
    let comment = gh
        .writes()
        .await
        .into_iter()
        .find(|w| w.path == format!("{R}/issues/1/comments"))
        .unwrap();
    assert!(
        comment.body["body"]
            .as_str()
            .unwrap()
            .contains("`test-this-pr/1`")
    );
}

/// Peak resident memory of a process (`VmHWM`), in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status");
    kb * 1024
}

/// Issue 19, finding 2: the unauthenticated `X-GitHub-Event` header never becomes a metrics
/// label of its own. 5,000 requests with 8 KB event names (refused 415 and 401) leave
/// `/metrics` as it was but for the `other` lines.
#[tokio::test]
async fn huge_event_names_do_not_grow_metrics() {
    let gh = MockGitHub::start().await;
    mount_app(&gh).await;
    let uri = gh.uri();
    tokio::task::spawn_blocking(move || {
        let s = Serve::start(&uri, "", &[]);
        let before = s.http("GET", "/metrics", &[], b"").1.len();
        let pad = "x".repeat(8 * 1024);
        for i in 0..5000 {
            let event = format!("{pad}{i}");
            let ctype = if i % 2 == 0 {
                "text/plain"
            } else {
                "application/json"
            };
            let (st, _) = s.http(
                "POST",
                "/webhook",
                &[
                    ("Content-Type", ctype),
                    ("X-GitHub-Event", &event),
                    ("X-GitHub-Delivery", &format!("h-{i}")),
                    ("X-Hub-Signature-256", &sign(b"not-the-secret", b"{}")),
                ],
                b"{}",
            );
            assert!(st == 415 || st == 401, "{st}");
        }
        let (_, metrics) = s.http("GET", "/metrics", &[], b"");
        assert!(
            metrics.len() < before + 512,
            "/metrics grew from {before} to {} bytes",
            metrics.len()
        );
        for line in [
            "{event=\"other\",outcome=\"bad_content_type\"} 2500",
            "{event=\"other\",outcome=\"bad_signature\"} 2500",
        ] {
            assert!(metrics.contains(line), "{line} in {metrics}");
        }
        s.stop()
    })
    .await
    .unwrap();
}

/// Issue 19, finding 3: ten parallel 25 MiB bodies with a well-formed but wrong signature are
/// not all buffered at once: the in-flight body budget (64 MiB by default) refuses what does
/// not fit with 503 before reading it, and the process stays far below the manifest's 256 Mi.
#[tokio::test]
async fn parallel_big_bad_signature_bodies_stay_bounded() {
    let gh = MockGitHub::start().await;
    mount_app(&gh).await;
    let uri = gh.uri();
    tokio::task::spawn_blocking(move || {
        let s = Serve::start(&uri, "", &[]);
        let addr = s.addr;
        let body = std::sync::Arc::new(vec![b' '; 25 * 1024 * 1024]);
        let bad = "sha256=0000000000000000000000000000000000000000000000000000000000000000";
        let clients: Vec<_> = (0..10)
            .map(|i| {
                let body = body.clone();
                std::thread::spawn(move || {
                    let mut c = TcpStream::connect(addr).unwrap();
                    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                    let head = format!(
                        "POST /webhook HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nX-GitHub-Event: issue_comment\r\nX-GitHub-Delivery: big-{i}\r\nX-Hub-Signature-256: {bad}\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    );
                    // The server may answer (503) and close before the body is sent: a write
                    // error is one of the expected outcomes.
                    let _ = c.write_all(head.as_bytes()).and_then(|()| c.write_all(&body));
                    let mut out = Vec::new();
                    let _ = c.read_to_end(&mut out);
                })
            })
            .collect();
        for c in clients {
            c.join().unwrap();
        }
        let peak = peak_rss(s.child.id());
        let (_, metrics) = s.http("GET", "/metrics", &[], b"");
        let count = |outcome: &str| -> u64 {
            metrics
                .lines()
                .find_map(|l| {
                    l.strip_prefix(&format!(
                        "ghops_webhook_deliveries_total{{event=\"issue_comment\",outcome=\"{outcome}\"}} "
                    ))
                })
                .map_or(0, |n| n.parse().unwrap())
        };
        assert_eq!(
            count("bad_signature") + count("busy"),
            10,
            "every body refused, read or not: {metrics}"
        );
        assert!(count("busy") >= 1, "some refused unread: {metrics}");
        assert!(
            peak < 160 * 1024 * 1024,
            "peak RSS {} MiB",
            peak / 1024 / 1024
        );
        s.stop()
    })
    .await
    .unwrap();
}

/// The pr-bridge options are validated by the library for `ghops serve` as for the CLI: an
/// empty trigger (every comment a trigger) stops the server at start, naming the table.
#[tokio::test]
async fn serve_refuses_pr_bridge_options_the_cli_refuses() {
    for (cfg, args) in [
        (
            "[pr_bridge]\ntrigger = \"  \"\n",
            vec!["serve", "--bind", "127.0.0.1:0"],
        ),
        (
            "[pr_bridge]\ntrigger = \"  \"\n",
            vec!["pr-bridge", "trigger", "--event", "/nonexistent.json"],
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ghops.toml");
        std::fs::write(&path, cfg).unwrap();
        let mut c = ghops();
        c.args(&args)
            .env("GHOPS_CONFIG", &path)
            .env("GITHUB_API_URL", "http://127.0.0.1:9")
            .env("GH_TOKEN", "ghp_e2e_serve_validation")
            .env("GHOPS_WEBHOOK_SECRET", SECRET)
            .env("GITHUB_REPOSITORY", "o/r");
        let out = crate::util::run(c).await;
        let err = crate::util::stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("[pr_bridge].trigger and branch_prefix must not be empty"),
            "{args:?}: {err}"
        );
    }
}

/// Start and stop are logged once each (not a plain line beside a log line), and with
/// `GHOPS_LOG_FORMAT=json` every stderr line is JSON with the routes as a plain
/// comma-separated string (no Rust `Debug` list).
#[tokio::test]
async fn start_and_stop_are_one_line_each_with_stable_fields() {
    let gh = MockGitHub::start().await;
    mount_app(&gh).await;
    let uri = gh.uri();
    let (text, json) = tokio::task::spawn_blocking(move || {
        let creds = [
            ("GHOPS_APP_ID", "12"),
            ("GHOPS_APP_PRIVATE_KEY", TEST_APP_KEY),
        ];
        let text = Serve::start_with(&uri, "", &[], &creds).stop();
        let mut env = creds.to_vec();
        env.push(("GHOPS_LOG_FORMAT", "json"));
        let json = Serve::start_with(&uri, "", &[], &env).stop();
        (text, json)
    })
    .await
    .unwrap();
    let (code, err) = text;
    assert_eq!(code, Some(0), "{err}");
    let count = |s: &str| err.lines().filter(|l| l.contains(s)).count();
    assert_eq!(count("listening on http://"), 1, "{err}");
    assert_eq!(count("draining"), 1, "{err}");
    assert!(
        err.contains("routes=issue_comment,pull_request,push,release,workflow_run"),
        "{err}"
    );
    let (code, err) = json;
    assert_eq!(code, Some(0), "{err}");
    let lines = crate::util::json_lines(&err);
    let start: Vec<_> = lines
        .iter()
        .filter(|l| {
            l["fields"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("listening on")
        })
        .collect();
    assert_eq!(start.len(), 1, "{err}");
    assert_eq!(
        start[0]["fields"]["routes"],
        "issue_comment,pull_request,push,release,workflow_run"
    );
    assert!(
        start[0]["fields"]["bind"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    let stop = lines
        .iter()
        .filter(|l| {
            l["fields"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("draining")
        })
        .count();
    assert_eq!(stop, 1, "{err}");
}
