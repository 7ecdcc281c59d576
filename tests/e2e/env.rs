//! `ghops env`, `ghops gate`, `ghops init` against wiremock: outputs, exact writes, exit codes.

use std::process::Command;

use ghops_test_support::{MockGitHub, fixture_json};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::util::{ghops, run, stderr, stdout, valid_json};

const TOKEN: &str = "ghp_envE2Etoken0123456789SECRET";

fn cmd(gh: &MockGitHub) -> Command {
    let mut c = ghops();
    for k in [
        "GITHUB_ACTOR",
        "GITHUB_TRIGGERING_ACTOR",
        "GITHUB_SHA",
        "GITHUB_HEAD_REF",
        "GITHUB_REF_NAME",
        "GITHUB_RUN_ID",
        "GITHUB_SERVER_URL",
    ] {
        c.env_remove(k);
    }
    c.env("GH_TOKEN", TOKEN).args(["--api-url", &gh.uri()]);
    c
}

async fn get(gh: &MockGitHub, p: &str, body: Value) {
    Mock::given(method("GET"))
        .and(path(p))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&gh.server)
        .await;
}

#[tokio::test]
async fn sync_writes_matrices_to_github_output() {
    let gh = MockGitHub::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut ev = fixture_json("pull_request.labeled.json");
    ev["label"] = json!({"name": "deploy"});
    ev["pull_request"]["labels"] = json!([{"name": "deploy"}]);
    ev["pull_request"]["head"]["ref"] = json!("feature/$(id)");
    let event = dir.path().join("event.json");
    std::fs::write(&event, ev.to_string()).unwrap();
    let output = dir.path().join("output");
    std::fs::write(&output, "").unwrap();
    let mut c = cmd(&gh);
    c.args(["env", "sync", "--json", "--event"])
        .arg(&event)
        .env("GITHUB_OUTPUT", &output);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let plan = valid_json("env-sync", &out);
    assert_eq!(plan["deploy"][0]["environment"], "preview-feature-id");
    assert_eq!(plan["deploy"][0]["ref"], "feature/$(id)");
    let o = std::fs::read_to_string(&output).unwrap();
    assert!(
        o.contains("deploy-envs<<") && o.contains("\"environment\":\"preview-feature-id\""),
        "{o}"
    );
    assert!(o.contains("has-deploy<<"), "{o}");
    assert!(gh.lines().await.is_empty());
    assert!(!stderr(&out).contains(TOKEN) && !stdout(&out).contains(TOKEN));
}

#[tokio::test]
async fn record_creates_one_deployment_and_status() {
    let gh = MockGitHub::start().await;
    let sha = "a".repeat(40);
    get(&gh, "/repos/octo/app/deployments", json!([])).await;
    Mock::given(method("POST"))
        .and(path("/repos/octo/app/deployments"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"id": 42, "sha": sha, "ref": sha, "environment": "qa1"})),
        )
        .mount(&gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/octo/app/deployments/42/statuses"))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"id": 1, "state": "success"})),
        )
        .mount(&gh.server)
        .await;
    let mut c = cmd(&gh);
    c.args([
        "env",
        "record",
        "--repo",
        "octo/app",
        "--environment",
        "qa1",
        "--state",
        "success",
        "--url",
        "https://qa1.example.com",
        "--sha",
        &sha,
        "--ref",
        "feature/x",
        "--pr",
        "7",
        "--actor",
        "dev",
        "--json",
    ]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let v = valid_json("env-record", &out);
    assert_eq!(v["deployment_id"], 42);
    gh.assert_writes(&[
        "POST /repos/octo/app/deployments",
        "POST /repos/octo/app/deployments/42/statuses",
    ])
    .await;
    let w = gh.writes().await;
    assert_eq!(
        w[0].body["payload"],
        json!({"pr": 7, "sha": sha, "ref": "feature/x", "actor": "dev"})
    );
    assert_eq!(
        w[1].body,
        json!({"state": "success", "auto_inactive": true, "environment_url": "https://qa1.example.com"})
    );
}

#[tokio::test]
async fn record_rejects_a_bad_state_with_usage_exit() {
    let gh = MockGitHub::start().await;
    let mut c = cmd(&gh);
    c.args([
        "env",
        "record",
        "--repo",
        "octo/app",
        "--environment",
        "qa1",
        "--state",
        "done",
        "--sha",
        &"a".repeat(40),
        "--actor",
        "x",
    ]);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(gh.lines().await.is_empty());
}

#[tokio::test]
async fn gate_refuses_a_read_only_actor_with_exit_3_and_summary() {
    let gh = MockGitHub::start().await;
    get(
        &gh,
        "/repos/octo/app/collaborators/reader/permission",
        json!({"permission": "read", "role_name": "read"}),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    std::fs::write(&summary, "").unwrap();
    let mut c = cmd(&gh);
    c.args([
        "gate",
        "check",
        "--repo",
        "octo/app",
        "--environment",
        "production",
        "--sha",
        &"f".repeat(40),
    ])
    .env("GITHUB_ACTOR", "reader")
    .env("GITHUB_STEP_SUMMARY", &summary);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let s = std::fs::read_to_string(&summary).unwrap();
    assert!(s.contains("refused") && s.contains("reader"), "{s}");
    gh.assert_no_writes().await;
}

#[tokio::test]
async fn init_writes_only_the_chosen_workflows_then_keeps_without_force() {
    let gh = MockGitHub::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut c = cmd(&gh);
    c.args(["init", "feature", "--dir"]).arg(dir.path());
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let mut written: Vec<String> = std::fs::read_dir(dir.path().join(".github/workflows"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(written, ["feature.yml", "ghops-feature.yml"]);
    let config = dir.path().join("ghops.toml");
    assert!(std::fs::read_to_string(&config).unwrap().contains("[env]"));
    let feature = dir.path().join(".github/workflows/feature.yml");
    std::fs::write(&feature, "# mine\n").unwrap();
    std::fs::write(&config, "# my config\n").unwrap();
    let mut c = cmd(&gh);
    c.args(["init", "feature", "--dir"]).arg(dir.path());
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("feature.yml: exists and differs"),
        "{}",
        stdout(&out)
    );
    assert_eq!(std::fs::read_to_string(&feature).unwrap(), "# mine\n");
    // --force replaces workflows, never the user's ghops.toml (kept is not a failure).
    let mut c = cmd(&gh);
    c.args(["init", "feature", "--force", "--dir"])
        .arg(dir.path());
    let out = run(c).await;
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).contains("ghops.toml: exists: kept"));
    assert_ne!(std::fs::read_to_string(&feature).unwrap(), "# mine\n");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), "# my config\n");
    // --dry-run writes nothing.
    let empty = tempfile::tempdir().unwrap();
    let mut c = cmd(&gh);
    c.args(["init", "pipeline", "--dry-run", "--dir"])
        .arg(empty.path());
    let out = run(c).await;
    assert!(out.status.success());
    assert!(stdout(&out).contains("permissions:"));
    assert!(std::fs::read_dir(empty.path()).unwrap().next().is_none());
    // No workflow named: a usage error naming them; `--list` shows them.
    let mut c = cmd(&gh);
    c.args(["init", "--dir"]).arg(empty.path());
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let mut c = cmd(&gh);
    c.args(["init", "nope", "--dir"]).arg(empty.path());
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("hotfix-release"), "{}", stderr(&out));
    let mut c = cmd(&gh);
    c.args(["init", "--list"]);
    let out = run(c).await;
    assert!(out.status.success());
    insta::assert_snapshot!("init_list", stdout(&out));
    for w in [
        "feature",
        "main",
        "release",
        "hotfix-pr",
        "hotfix-release",
        "pr-bridge",
        "deploy-plan",
    ] {
        assert!(stdout(&out).contains(&format!("{w}\n")), "{}", stdout(&out));
    }
    assert!(std::fs::read_dir(empty.path()).unwrap().next().is_none());
    assert!(gh.lines().await.is_empty());
}

/// A QA slot hand-over under --dry-run: reads happen, the three writes are printed, none sent.
#[tokio::test]
async fn sync_hand_over_dry_run_sends_no_write() {
    const PR: u64 = 2;
    let gh = MockGitHub::start().await;
    get(
        &gh,
        "/repos/Codertocat/Hello-World/collaborators/Codertocat/permission",
        json!({"permission": "write", "role_name": "write"}),
    )
    .await;
    get(
        &gh,
        "/repos/Codertocat/Hello-World/issues",
        json!([{"number": 10, "user": {"login": "alice"}, "pull_request": {}}]),
    )
    .await;
    get(
        &gh,
        "/repos/Codertocat/Hello-World/deployments",
        json!([{"id": 100, "sha": "c".repeat(40), "ref": "c".repeat(40), "environment": "qa1", "payload": {"pr": 10}}]),
    )
    .await;
    get(
        &gh,
        "/repos/Codertocat/Hello-World/deployments/100/statuses",
        json!([{"id": 101, "state": "success"}]),
    )
    .await;
    // #10 got the label before this PR did: this PR takes the slot.
    for (n, at) in [(10, "2026-12-01T09:00:00Z"), (PR, "2026-12-04T09:00:00Z")] {
        get(
            &gh,
            &format!("/repos/Codertocat/Hello-World/issues/{n}/events"),
            json!([{"id": n, "event": "labeled", "label": {"name": "deploy/qa1"}, "created_at": at}]),
        )
        .await;
    }
    get(&gh, "/user", json!({"login": "ghops-bot", "type": "User"})).await;
    get(
        &gh,
        "/repos/Codertocat/Hello-World/issues/10/comments",
        json!([]),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut ev = fixture_json("pull_request.labeled.json");
    ev["label"] = json!({"name": "deploy/qa1"});
    ev["pull_request"]["labels"] = json!([{"name": "deploy/qa1"}]);
    let event = dir.path().join("event.json");
    std::fs::write(&event, ev.to_string()).unwrap();
    let mut c = cmd(&gh);
    c.args(["env", "sync", "--dry-run", "--json", "--event"])
        .arg(&event);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    gh.assert_no_writes().await;
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "would POST {}/repos/Codertocat/Hello-World/deployments/100/statuses",
            gh.base_path()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "would DELETE {}/repos/Codertocat/Hello-World/issues/10/labels/deploy%2Fqa1",
            gh.base_path()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "would POST {}/repos/Codertocat/Hello-World/issues/10/comments",
            gh.base_path()
        )),
        "{err}"
    );
    let plan = valid_json("env-sync", &out);
    assert_eq!(plan["handovers"][0]["from_pr"], 10);
    assert_eq!(plan["deploy"][0]["environment"], "qa1");
}

#[tokio::test]
async fn status_prints_a_table() {
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
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let s = stdout(&out);
    assert!(
        s.starts_with("ENVIRONMENT")
            && s.contains("qa1")
            && s.contains("#11")
            && s.contains("https://qa1.example.com"),
        "{s}"
    );
    gh.assert_no_writes().await;
}
