//! Each workflow's e2e request set for the contract test: the real binary runs the workflow's
//! paths (the ones its e2e tests cover, writes included) against wiremock; the recorded
//! requests are then replayed against Prism (`super::replay`). Every recorder asserts that
//! its run succeeded and made the writes it should, so a recording can never be silently
//! empty or cut short.

use std::path::Path;
use std::process::Command;

use ghops_test_support::{MockGitHub, Seen, fixture_json, fixture_path};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::util::{ghops, run, stderr, stdout};

const TOKEN: &str = "ghp_contractRecording";

/// Every workflow's recorded requests, by workflow.
pub(super) async fn record_all() -> Vec<(&'static str, Vec<Seen>)> {
    let bridge = crate::pr_bridge::happy_path_requests().await;
    assert!(bridge.len() >= 14, "{bridge:?}");
    vec![
        ("pr-bridge", bridge),
        ("deploy-plan comment", plan_comment().await),
        ("release draft", release_draft().await),
        ("release publish-hook", release_publish().await),
        ("release hotfix", release_hotfix().await),
        ("env", env().await),
        ("gate", gate().await),
        ("agent", agent().await),
        ("runners", runners().await),
        ("serve token minting", serve_minting().await),
    ]
}

fn cmd(gh: &MockGitHub) -> Command {
    let mut c = ghops();
    for k in [
        "GITHUB_ACTOR",
        "GITHUB_TRIGGERING_ACTOR",
        "GITHUB_SHA",
        "GITHUB_REF",
        "GITHUB_HEAD_REF",
        "GITHUB_REF_NAME",
        "GITHUB_SERVER_URL",
    ] {
        c.env_remove(k);
    }
    c.env("GH_TOKEN", TOKEN).args(["--api-url", &gh.uri()]);
    c
}

/// Runs `c`; panics with its output unless it exits 0. Returns stdout.
async fn ok_run(what: &str, c: Command) -> String {
    let out = run(c).await;
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

fn ok(v: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(v)
}

async fn get(gh: &MockGitHub, p: &str, v: Value) {
    Mock::given(method("GET"))
        .and(path(p))
        .respond_with(ok(v))
        .mount(&gh.server)
        .await;
}

async fn write(gh: &MockGitHub, m: &str, p: &str, status: u16, v: Value) {
    Mock::given(method(m))
        .and(path(p))
        .respond_with(ResponseTemplate::new(status).set_body_json(v))
        .mount(&gh.server)
        .await;
}

fn comment(id: u64, body: &str) -> Value {
    json!({
        "id": id, "body": body, "user": {"login": "ghops-bot", "type": "Bot"},
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
    })
}

/// The writes among `seen`, as `"METHOD /path"`.
fn writes(seen: &[Seen]) -> Vec<String> {
    seen.iter()
        .filter(|s| s.is_write())
        .map(Seen::line)
        .collect()
}

// ------------------------------------------------------------------------------- plan

/// `ghops plan comment`: created when absent, updated in place when present.
async fn plan_comment() -> Vec<Seen> {
    let body = "<!-- deployment-plan -->\nMerging this PR will trigger nothing.\n";
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("plan.md");
    std::fs::write(&f, body).unwrap();
    let mut all = Vec::new();
    for existing in [
        json!([]),
        json!([comment(77, "<!-- deployment-plan -->\nold\n")]),
    ] {
        let gh = MockGitHub::start().await;
        get(&gh, "/user", json!({"login": "ghops-bot", "type": "Bot"})).await;
        get(&gh, "/repos/org/infra/issues/3/comments", existing).await;
        write(
            &gh,
            "POST",
            "/repos/org/infra/issues/3/comments",
            201,
            comment(77, body),
        )
        .await;
        write(
            &gh,
            "PATCH",
            "/repos/org/infra/issues/comments/77",
            200,
            comment(77, body),
        )
        .await;
        let mut c = cmd(&gh);
        c.args(["plan", "comment", "--pr", "3", "--body"])
            .arg(&f)
            .args(["--repo", "org/infra", "--json"]);
        ok_run("plan comment", c).await;
        all.extend(gh.seen().await);
    }
    assert_eq!(
        writes(&all),
        [
            "POST /repos/org/infra/issues/3/comments",
            "PATCH /repos/org/infra/issues/comments/77"
        ]
    );
    all
}

// ---------------------------------------------------------------------------- release

fn compare_data(nodes: Value) -> Value {
    json!({"data": {"repository": {"ref": {"compare": {"commits": {
        "pageInfo": {"hasNextPage": false}, "nodes": nodes
    }}}}}})
}

fn merged_pr(n: u64, base: &str, label: &str) -> Value {
    json!({"oid": format!("{n:040x}"), "associatedPullRequests": {"nodes": [{
        "number": n, "title": format!("Change {n}"), "merged": true, "baseRefName": base,
        "baseRepository": {"nameWithOwner": "octo/app"}, "mergedAt": "2026-11-20T10:00:00Z",
        "author": {"login": "dev"}, "labels": {"nodes": [{"name": label}]}
    }]}})
}

async fn release_mocks(gh: &MockGitHub, releases: Value) {
    get(gh, "/repos/octo/app/releases", releases).await;
    get(gh, "/repos/octo/app/pulls", json!([])).await;
    for head in ["release/1.4.0", "main"] {
        get(
            gh,
            &format!("/repos/octo/app/compare/v1.4.0...{head}"),
            json!({"status": "ahead"}),
        )
        .await;
    }
    for (head, node) in [
        ("release/1.4.0", merged_pr(40, "release/1.4.0", "bug")),
        ("main", merged_pr(11, "main", "feature")),
    ] {
        Mock::given(method("POST"))
            .and(path("/graphql"))
            .and(body_partial_json(
                json!({"variables": {"head": format!("refs/heads/{head}")}}),
            ))
            .respond_with(ok(compare_data(json!([node]))))
            .mount(&gh.server)
            .await;
    }
}

fn release_toml(dir: &Path) -> std::path::PathBuf {
    let toml = dir.join("ghops.toml");
    std::fs::write(
        &toml,
        "[release]\n[release.version-resolver]\ndefault = 'minor'\n",
    )
    .unwrap();
    toml
}

/// `ghops release draft`: the draft is created, then (a draft exists) updated.
async fn release_draft() -> Vec<Seen> {
    let d = tempfile::tempdir().unwrap();
    let cfg = d.path().join("release-drafter.yml");
    std::fs::write(
        &cfg,
        "version-resolver:\n  minor: {labels: [feature]}\ntemplate: |\n  $CHANGES\n",
    )
    .unwrap();
    let published = json!({"id": 6, "tag_name": "v1.4.0", "draft": false, "prerelease": false});
    let draft = json!({"id": 900, "tag_name": "v1.5.0", "name": "v1.5.0", "draft": true,
        "prerelease": false, "target_commitish": "main", "body": "old"});
    let mut all = Vec::new();
    for releases in [json!([published]), json!([draft, published])] {
        let gh = MockGitHub::start().await;
        release_mocks(&gh, releases).await;
        let created = json!({"id": 900, "tag_name": "v1.5.0", "draft": true,
            "html_url": "https://github.com/octo/app/releases/900",
            "upload_url": "https://uploads.github.com/repos/octo/app/releases/900/assets{?name,label}"});
        write(
            &gh,
            "POST",
            "/repos/octo/app/releases",
            201,
            created.clone(),
        )
        .await;
        write(&gh, "PATCH", "/repos/octo/app/releases/900", 200, created).await;
        let mut c = cmd(&gh);
        c.args(["release", "draft", "--target", "main", "--json"])
            .args(["--repo", "octo/app", "--drafter-config"])
            .arg(&cfg);
        ok_run("release draft", c).await;
        all.extend(gh.seen().await);
    }
    assert_eq!(
        writes(&all),
        [
            "POST /repos/octo/app/releases",
            "PATCH /repos/octo/app/releases/900"
        ]
    );
    all
}

/// `ghops release publish-hook`: `release/X.Y.Z` created at the published tag's commit.
async fn release_publish() -> Vec<Seen> {
    let gh = MockGitHub::start().await;
    let sha = "6dcb09b5b57875f334f61aebed695e2e4193db5e";
    let mut ev = fixture_json("release.published.json");
    ev["release"]["tag_name"] = json!("v2.0.0");
    ev["release"]["draft"] = json!(false);
    ev["release"]["prerelease"] = json!(false);
    let repo = ev["repository"]["full_name"].as_str().unwrap().to_owned();
    let r = format!("/repos/{repo}");
    get(
        &gh,
        &format!("{r}/git/ref/tags/v2.0.0"),
        json!({"ref": "refs/tags/v2.0.0", "object": {"sha": sha, "type": "commit"}}),
    )
    .await;
    get(&gh, &format!("{r}/commits/v2.0.0"), json!({"sha": sha})).await;
    write(
        &gh,
        "POST",
        &format!("{r}/git/refs"),
        201,
        json!({"ref": "refs/heads/release/2.0.0", "object": {"sha": sha, "type": "commit"}}),
    )
    .await;
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("event.json");
    std::fs::write(&f, ev.to_string()).unwrap();
    let mut c = cmd(&gh);
    c.args(["release", "publish-hook", "--json", "--config"])
        .arg(release_toml(d.path()))
        .arg("--event")
        .arg(&f);
    ok_run("release publish-hook", c).await;
    let seen = gh.seen().await;
    assert_eq!(writes(&seen), [format!("POST {r}/git/refs")]);
    seen
}

/// `ghops release hotfix`: the patch release published, one reintegration PR (labelled),
/// main's draft refreshed.
async fn release_hotfix() -> Vec<Seen> {
    let gh = MockGitHub::start().await;
    release_mocks(
        &gh,
        json!([{"id": 6, "tag_name": "v1.4.0", "draft": false, "prerelease": false}]),
    )
    .await;
    get(
        &gh,
        "/repos/octo/app/git/ref/heads/release/1.4.0",
        json!({"ref": "refs/heads/release/1.4.0", "object": {"sha": "abc123", "type": "commit"}}),
    )
    .await;
    for (m, p, v) in [
        (
            "POST",
            "/releases",
            json!({"id": 900, "tag_name": "v0", "draft": true}),
        ),
        (
            "POST",
            "/pulls",
            json!({"number": 78, "state": "open",
                   "head": {"ref": "release/1.4.0", "sha": "abc123"},
                   "base": {"ref": "main", "sha": "def456"}}),
        ),
        ("POST", "/issues/78/labels", json!([])),
    ] {
        write(&gh, m, &format!("/repos/octo/app{p}"), 201, v).await;
    }
    let d = tempfile::tempdir().unwrap();
    let mut c = cmd(&gh);
    c.args(["release", "hotfix", "--json", "--config"])
        .arg(release_toml(d.path()))
        .arg("--event")
        .arg(ghops_test_support::repo_root().join("testdata/release/push.release-1.4.0.json"));
    ok_run("release hotfix", c).await;
    let seen = gh.seen().await;
    assert_eq!(
        writes(&seen),
        [
            "POST /repos/octo/app/releases",
            "POST /repos/octo/app/pulls",
            "POST /repos/octo/app/issues/78/labels",
            "POST /repos/octo/app/releases",
        ]
    );
    seen
}

// -------------------------------------------------------------------------------- env

/// `ghops env record`, `env sync` (a hand-over: the slot's previous deployment made inactive,
/// its label removed, its PR told), `env status`.
async fn env() -> Vec<Seen> {
    let mut all = Vec::new();
    // record
    let gh = MockGitHub::start().await;
    let sha = "a".repeat(40);
    get(&gh, "/repos/octo/app/deployments", json!([])).await;
    write(
        &gh,
        "POST",
        "/repos/octo/app/deployments",
        201,
        json!({"id": 42, "sha": sha, "ref": sha, "environment": "qa1"}),
    )
    .await;
    write(
        &gh,
        "POST",
        "/repos/octo/app/deployments/42/statuses",
        201,
        json!({"id": 1, "state": "success"}),
    )
    .await;
    let mut c = cmd(&gh);
    c.args([
        "env",
        "record",
        "--repo",
        "octo/app",
        "--environment",
        "qa1",
    ])
    .args(["--state", "success", "--url", "https://qa1.example.com"])
    .args(["--sha", &sha, "--ref", "feature/x", "--pr", "7"])
    .args(["--actor", "dev", "--json"]);
    ok_run("env record", c).await;
    let seen = gh.seen().await;
    assert_eq!(writes(&seen).len(), 2, "{seen:?}");
    all.extend(seen);

    // sync, with a hand-over
    let gh = MockGitHub::start().await;
    let r = "/repos/Codertocat/Hello-World";
    get(
        &gh,
        &format!("{r}/collaborators/Codertocat/permission"),
        json!({"permission": "write", "role_name": "write"}),
    )
    .await;
    get(
        &gh,
        &format!("{r}/issues"),
        json!([{"number": 10, "user": {"login": "alice"}, "pull_request": {}}]),
    )
    .await;
    get(
        &gh,
        &format!("{r}/deployments"),
        json!([{"id": 100, "sha": "c".repeat(40), "ref": "c".repeat(40), "environment": "qa1", "payload": {"pr": 10}}]),
    )
    .await;
    get(
        &gh,
        &format!("{r}/deployments/100/statuses"),
        json!([{"id": 101, "state": "success"}]),
    )
    .await;
    for (n, at) in [(10, "2026-12-01T09:00:00Z"), (2, "2026-12-04T09:00:00Z")] {
        get(
            &gh,
            &format!("{r}/issues/{n}/events"),
            json!([{"id": n, "event": "labeled", "label": {"name": "deploy/qa1"}, "created_at": at}]),
        )
        .await;
    }
    get(&gh, "/user", json!({"login": "ghops-bot", "type": "User"})).await;
    get(&gh, &format!("{r}/issues/10/comments"), json!([])).await;
    write(
        &gh,
        "POST",
        &format!("{r}/deployments/100/statuses"),
        201,
        json!({"id": 2, "state": "inactive"}),
    )
    .await;
    write(
        &gh,
        "DELETE",
        &format!("{r}/issues/10/labels/deploy%2Fqa1"),
        200,
        json!([]),
    )
    .await;
    write(
        &gh,
        "POST",
        &format!("{r}/issues/10/comments"),
        201,
        comment(5, "x"),
    )
    .await;
    let d = tempfile::tempdir().unwrap();
    let mut ev = fixture_json("pull_request.labeled.json");
    ev["label"] = json!({"name": "deploy/qa1"});
    ev["pull_request"]["labels"] = json!([{"name": "deploy/qa1"}]);
    let event = d.path().join("event.json");
    std::fs::write(&event, ev.to_string()).unwrap();
    let mut c = cmd(&gh);
    c.args(["env", "sync", "--json", "--event"]).arg(&event);
    ok_run("env sync", c).await;
    let seen = gh.seen().await;
    assert_eq!(
        writes(&seen),
        [
            format!("POST {r}/deployments/100/statuses"),
            format!("POST {r}/issues/10/comments"),
            format!("DELETE {r}/issues/10/labels/deploy%2Fqa1"),
        ]
    );
    all.extend(seen);

    // status
    let gh = MockGitHub::start().await;
    get(
        &gh,
        "/repos/octo/app/environments",
        json!({"total_count": 1, "environments": [{"name": "qa1"}]}),
    )
    .await;
    get(
        &gh,
        "/repos/octo/app/deployments",
        json!([{"id": 5, "sha": "e".repeat(40), "ref": "e".repeat(40), "environment": "qa1", "payload": {"pr": 11}}]),
    )
    .await;
    get(
        &gh,
        "/repos/octo/app/deployments/5/statuses",
        json!([{"id": 6, "state": "success", "environment_url": "https://qa1.example.com"}]),
    )
    .await;
    let mut c = cmd(&gh);
    c.args(["env", "status", "--repo", "octo/app"]);
    ok_run("env status", c).await;
    all.extend(gh.seen().await);
    all
}

/// `ghops gate check` on staging (no promotion rule: production's need a release that
/// succeeded in staging first, covered by release-flow's gate story) (a maintainer: the deployment created with the approval; an existing
/// unapproved one gets a `queued` status; a reader refused, exit 3) and `gate approve`.
async fn gate() -> Vec<Seen> {
    let sha = "f".repeat(40);
    let mut all = Vec::new();
    let existing =
        json!([{"id": 31, "sha": sha, "ref": "main", "environment": "staging", "payload": {}}]);
    for deployments in [json!([]), existing] {
        let gh = MockGitHub::start().await;
        for (who, perm, role) in [
            ("maintainer", "write", "maintain"),
            ("reader", "read", "read"),
        ] {
            get(
                &gh,
                &format!("/repos/octo/app/collaborators/{who}/permission"),
                json!({"permission": perm, "role_name": role}),
            )
            .await;
        }
        get(&gh, "/repos/octo/app/deployments", deployments).await;
        get(&gh, "/repos/octo/app/deployments/31/statuses", json!([])).await;
        write(
            &gh,
            "POST",
            "/repos/octo/app/deployments",
            201,
            json!({"id": 31, "sha": sha, "ref": sha, "environment": "staging"}),
        )
        .await;
        write(
            &gh,
            "POST",
            "/repos/octo/app/deployments/31/statuses",
            201,
            json!({"id": 1, "state": "queued"}),
        )
        .await;
        for (who, code) in [("maintainer", 0), ("reader", 3)] {
            let mut c = cmd(&gh);
            c.args(["gate", "check", "--repo", "octo/app"])
                .args(["--environment", "staging", "--sha", &sha])
                .env("GITHUB_ACTOR", who);
            let out = run(c).await;
            assert_eq!(out.status.code(), Some(code), "{who}: {}", stderr(&out));
        }
        all.extend(gh.seen().await);
    }
    // approve
    let gh = MockGitHub::start().await;
    get(
        &gh,
        "/repos/octo/app/collaborators/maintainer/permission",
        json!({"permission": "write", "role_name": "maintain"}),
    )
    .await;
    get(
        &gh,
        "/repos/octo/app/actions/runs/55/pending_deployments",
        json!([{"environment": {"id": 161088068, "name": "production"},
            "current_user_can_approve": true, "wait_timer": 0, "reviewers": []}]),
    )
    .await;
    write(
        &gh,
        "POST",
        "/repos/octo/app/actions/runs/55/pending_deployments",
        200,
        json!([]),
    )
    .await;
    let mut c = cmd(&gh);
    c.args(["gate", "approve", "--repo", "octo/app", "--run-id", "55"])
        .args(["--environment", "production"])
        .env("GITHUB_ACTOR", "maintainer");
    ok_run("gate approve", c).await;
    all.extend(gh.seen().await);
    assert_eq!(
        writes(&all),
        [
            "POST /repos/octo/app/deployments",
            // the approval, recorded as a `queued` status "approved by @maintainer"
            "POST /repos/octo/app/deployments/31/statuses",
            // the existing deployment's approval
            "POST /repos/octo/app/deployments/31/statuses",
            "POST /repos/octo/app/actions/runs/55/pending_deployments",
        ]
    );
    all
}

// ------------------------------------------------------------------------------ agent

/// `ghops agent run --once` (a pending deployment deployed: in_progress, then success),
/// `agent create` and `agent status`.
async fn agent() -> Vec<Seen> {
    use std::os::unix::fs::PermissionsExt;
    // Stateful: the agent reads its claim back before it runs the hook (the claim lock).
    let gh = ghops_test_support::fake::FakeGitHub::start("octo/app").await;
    gh.add_raw_deployment(json!({
        "id": 11, "sha": "abcdef0123456789abcdef0123456789abcdef01", "ref": "main",
        "task": "deploy", "environment": "staging", "payload": {"x": 1}
    }));
    let d = tempfile::tempdir().unwrap();
    let hooks = d.path().join("hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    std::fs::write(hooks.join("deploy"), "#!/bin/sh\necho deploying\n").unwrap();
    std::fs::set_permissions(hooks.join("deploy"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut c = cmd(&gh);
    c.args(["agent", "run", "--once", "--repo", "octo/app"])
        .args(["--environment", "staging", "--agent-id", "contract"])
        .arg("--hooks-dir")
        .arg(&hooks)
        .arg("--state-dir")
        .arg(d.path().join("state"))
        .arg("--log-dir")
        .arg(d.path().join("logs"));
    ok_run("agent run", c).await;
    let seen = gh.seen().await;
    let states: Vec<&str> = seen
        .iter()
        .filter(|s| s.is_write())
        .filter_map(|s| s.body["state"].as_str())
        .collect();
    assert_eq!(states, ["in_progress", "success"], "{seen:?}");
    let mut all = seen;

    // create, then status
    let gh = MockGitHub::start().await;
    write(
        &gh,
        "POST",
        "/repos/octo/app/deployments",
        201,
        json!({"id": 12, "sha": "abcdef0123456789abcdef0123456789abcdef01", "ref": "main",
            "task": "deploy", "environment": "staging"}),
    )
    .await;
    get(
        &gh,
        "/repos/octo/app/deployments",
        json!([{"id": 12, "sha": "abcdef0123456789abcdef0123456789abcdef01", "ref": "main",
            "task": "deploy", "environment": "staging", "created_at": "2026-12-01T09:00:00Z",
            "creator": {"login": "dev"}, "payload": {}}]),
    )
    .await;
    get(
        &gh,
        "/repos/octo/app/deployments/12/statuses",
        json!([{"id": 1, "state": "success", "description": "ghops-agent contract: deployed",
            "created_at": "2026-12-01T09:01:00Z"}]),
    )
    .await;
    let mut c = cmd(&gh);
    c.args([
        "agent",
        "create",
        "--repo",
        "octo/app",
        "--environment",
        "staging",
    ])
    .args(["--ref", "main", "--payload", r#"{"x": 1}"#, "--json"]);
    ok_run("agent create", c).await;
    let mut c = cmd(&gh);
    c.args([
        "agent",
        "status",
        "--repo",
        "octo/app",
        "--environment",
        "staging",
    ]);
    ok_run("agent status", c).await;
    let seen = gh.seen().await;
    assert_eq!(writes(&seen), ["POST /repos/octo/app/deployments"]);
    all.extend(seen);
    all
}

// ---------------------------------------------------------------------------- runners

const RUNNER_REPO: &str = "lineville/elastic-machines-testing";
const JOB: u64 = 12877621891;

async fn kube() -> MockServer {
    let k = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/apis/batch/v1/namespaces/runners/jobs"))
        .respond_with(ok(json!({
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

/// `ghops runners handle` as a GitHub App (the installation's token minted, the job read, a
/// JIT runner generated) and `runners reconcile` (queued runs and their jobs listed, the
/// registered runners listed, a runner generated for the queued job; then a runner that never
/// came up reaped), and `handle` for an organisation's pool (the runner generated at the
/// organisation).
async fn runners() -> Vec<Seen> {
    let r = format!("/repos/{RUNNER_REPO}");
    let d = tempfile::tempdir().unwrap();
    let cfg = d.path().join("ghops.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[runners.pools]]\nname = \"k8s\"\nrepos = [\"{RUNNER_REPO}\"]\nlabels = [\"self-hosted\", \"k8s\"]\nmax = 2\n[runners.pools.kubernetes]\nnamespace = \"runners\"\n"
        ),
    )
    .unwrap();
    let jit = json!({"runner": {"id": 5}, "encoded_jit_config": "CONTRACT-JIT"});
    let mut all = Vec::new();

    // handle, as an App
    let gh = MockGitHub::start().await;
    get(
        &gh,
        &format!("{r}/installation"),
        json!({"id": 77, "app_slug": "ghops-contract"}),
    )
    .await;
    write(
        &gh,
        "POST",
        "/app/installations/77/access_tokens",
        201,
        json!({"token": "ghs_contract", "expires_at": "2999-01-01T00:00:00Z", "permissions": {}}),
    )
    .await;
    get(
        &gh,
        &format!("{r}/actions/jobs/{JOB}"),
        json!({"id": JOB, "run_id": 1, "run_attempt": 1, "status": "queued", "labels": ["self-hosted", "k8s"]}),
    )
    .await;
    write(
        &gh,
        "POST",
        &format!("{r}/actions/runners/generate-jitconfig"),
        201,
        jit.clone(),
    )
    .await;
    let k = kube().await;
    let mut c = ghops();
    c.args(["runners", "handle", "--json", "--event"])
        .arg(fixture_path("workflow_job.queued.self-hosted.json"))
        .arg("--config")
        .arg(&cfg)
        .args(["--api-url", &gh.uri(), "--kube-url", &k.uri()])
        .env("GHOPS_APP_ID", "12")
        .env("GHOPS_APP_PRIVATE_KEY", ghops_test_support::TEST_APP_KEY);
    let out = ok_run("runners handle", c).await;
    assert!(out.contains("\"launched\""), "{out}");
    let seen = gh.seen().await;
    assert_eq!(
        writes(&seen),
        [
            "POST /app/installations/77/access_tokens".to_owned(),
            format!("POST {r}/actions/runners/generate-jitconfig"),
        ]
    );
    all.extend(seen);

    // reconcile
    let gh = MockGitHub::start().await;
    for (status, runs) in [("queued", json!([{"id": 9}])), ("in_progress", json!([]))] {
        Mock::given(method("GET"))
            .and(path(format!("{r}/actions/runs")))
            .and(query_param("status", status))
            .respond_with(ok(
                json!({"total_count": runs.as_array().unwrap().len(), "workflow_runs": runs}),
            ))
            .mount(&gh.server)
            .await;
    }
    get(
        &gh,
        &format!("{r}/actions/runs/9/jobs"),
        json!({"total_count": 1, "jobs": [
            {"id": JOB, "run_id": 9, "run_attempt": 2, "status": "queued", "labels": ["self-hosted", "k8s"]},
        ]}),
    )
    .await;
    get(
        &gh,
        &format!("{r}/actions/jobs/{JOB}"),
        json!({"id": JOB, "run_id": 9, "run_attempt": 2, "status": "queued"}),
    )
    .await;
    get(
        &gh,
        &format!("{r}/actions/runners"),
        json!({"total_count": 0, "runners": []}),
    )
    .await;
    write(
        &gh,
        "POST",
        &format!("{r}/actions/runners/generate-jitconfig"),
        201,
        jit,
    )
    .await;
    let k = kube().await;
    let mut c = ghops();
    c.args(["runners", "reconcile", "--json", "--config"])
        .arg(&cfg)
        .args(["--api-url", &gh.uri(), "--kube-url", &k.uri()])
        .env("GH_TOKEN", TOKEN);
    ok_run("runners reconcile", c).await;
    let seen = gh.seen().await;
    assert_eq!(
        writes(&seen),
        [format!("POST {r}/actions/runners/generate-jitconfig")]
    );
    all.extend(seen);

    // reconcile reaps a runner that never came up (its Job is old, its registration offline)
    let gh = MockGitHub::start().await;
    let name = "ghops-65cf98e3-12877621891-1";
    for status in ["queued", "in_progress"] {
        Mock::given(method("GET"))
            .and(path(format!("{r}/actions/runs")))
            .and(query_param("status", status))
            .respond_with(ok(json!({"total_count": 0, "workflow_runs": []})))
            .mount(&gh.server)
            .await;
    }
    get(
        &gh,
        &format!("{r}/actions/runners"),
        json!({"total_count": 1, "runners": [{"id": 23, "name": name, "os": "linux",
            "status": "offline", "busy": false, "labels": []}]}),
    )
    .await;
    write(
        &gh,
        "DELETE",
        &format!("{r}/actions/runners/23"),
        204,
        json!({}),
    )
    .await;
    let k = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/apis/batch/v1/namespaces/runners/jobs"))
        .respond_with(ok(json!({
            "kind": "JobList", "apiVersion": "batch/v1", "metadata": {}, "items": [{
                "kind": "Job", "apiVersion": "batch/v1",
                "metadata": {"name": name, "namespace": "runners",
                    "creationTimestamp": "2020-01-01T00:00:00Z"},
                "spec": {"template": {"spec": {"containers": []}}}
            }],
        })))
        .mount(&k)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(ok(
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}),
        ))
        .mount(&k)
        .await;
    let mut c = ghops();
    c.args(["runners", "reconcile", "--json", "--config"])
        .arg(&cfg)
        .args(["--api-url", &gh.uri(), "--kube-url", &k.uri()])
        .env("GH_TOKEN", TOKEN);
    let out = ok_run("runners reconcile (reap)", c).await;
    let seen = gh.seen().await;
    assert_eq!(
        writes(&seen),
        [format!("DELETE {r}/actions/runners/23")],
        "{out}"
    );
    all.extend(seen);

    // handle, for a pool of the organisation's runners
    let gh = MockGitHub::start().await;
    let org_cfg = d.path().join("org.toml");
    std::fs::write(
        &org_cfg,
        "[[runners.pools]]\nname = \"org\"\norg = \"lineville\"\nrepos = [\"elastic-machines-testing\"]\nlabels = [\"self-hosted\", \"k8s\"]\n[runners.pools.kubernetes]\nnamespace = \"runners\"\n",
    )
    .unwrap();
    get(
        &gh,
        &format!("{r}/actions/jobs/{JOB}"),
        json!({"id": JOB, "run_id": 1, "run_attempt": 1, "status": "queued", "labels": ["self-hosted", "k8s"]}),
    )
    .await;
    write(
        &gh,
        "POST",
        "/orgs/lineville/actions/runners/generate-jitconfig",
        201,
        json!({"runner": {"id": 6}, "encoded_jit_config": "CONTRACT-JIT"}),
    )
    .await;
    let k = kube().await;
    let mut c = ghops();
    c.args(["runners", "handle", "--json", "--event"])
        .arg(fixture_path("workflow_job.queued.self-hosted.json"))
        .arg("--config")
        .arg(&org_cfg)
        .args(["--api-url", &gh.uri(), "--kube-url", &k.uri()])
        .env("GH_TOKEN", TOKEN);
    let out = ok_run("runners handle (organisation pool)", c).await;
    assert!(out.contains("\"launched\""), "{out}");
    let seen = gh.seen().await;
    assert_eq!(
        writes(&seen),
        ["POST /orgs/lineville/actions/runners/generate-jitconfig"]
    );
    all.extend(seen);
    all
}

// ------------------------------------------------------------------------------ serve

/// `ghops serve`: a signed delivery makes the App mint an installation token narrowed to the
/// route's permissions (then the route's own requests, under that token).
async fn serve_minting() -> Vec<Seen> {
    use crate::serve::{Serve, mount_app};
    let gh = MockGitHub::start().await;
    mount_app(&gh).await;
    get(
        &gh,
        "/app/installations/1",
        json!({"id": 1, "app_slug": "ghops-contract", "permissions": {
            "contents": "write", "pull_requests": "write", "issues": "write",
            "metadata": "read", "actions": "read"
        }}),
    )
    .await;
    write(
        &gh,
        "POST",
        "/app/installations/1/access_tokens",
        201,
        json!({"token": "ghs_contractInstallation", "expires_at": "2999-01-01T00:00:00Z"}),
    )
    .await;
    let r = "/repos/Codertocat/Hello-World";
    get(
        &gh,
        &format!("{r}/collaborators/reader/permission"),
        json!({"permission": "read", "role_name": "read"}),
    )
    .await;
    Mock::given(method("POST"))
        .and(path_prefix_any())
        .respond_with(ResponseTemplate::new(201).set_body_json(comment(5000, "x")))
        .with_priority(50)
        .mount(&gh.server)
        .await;
    let mut ev = fixture_json("issue_comment.created.on-pr.derived.json");
    ev["comment"]["body"] = json!("/test-this-pr");
    ev["comment"]["user"]["login"] = json!("reader");
    let body = serde_json::to_vec(&ev).unwrap();
    let uri = gh.uri();
    let s = tokio::task::spawn_blocking(move || {
        let s = Serve::start(&uri, "[pr_bridge]\nrun_wait_secs = 0\n", &[]);
        let (st, _) = s.deliver("issue_comment", "contract-delivery-1", &body, None);
        assert_eq!(st, 202);
        s
    })
    .await
    .unwrap();
    gh.wait_for_requests(1, |s| s.path.ends_with("/permission"))
        .await;
    let (code, err) = tokio::task::spawn_blocking(move || s.stop()).await.unwrap();
    assert_eq!(code, Some(0), "{err}");
    let seen = gh.seen().await;
    assert!(
        seen.iter()
            .any(|s| s.line() == "POST /app/installations/1/access_tokens"),
        "{seen:?}"
    );
    seen
}

fn path_prefix_any() -> wiremock::matchers::PathRegexMatcher {
    wiremock::matchers::path_regex("^/")
}
