//! `ghops pr-bridge` as the real binary: exit codes, ignored events, refusals, dry-run.

use ghops_test_support::{MockGitHub, fixture_json};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::util::{ghops, run, stderr, stdout};

const R: &str = "/repos/Codertocat/Hello-World";
const HEAD: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
const BASE: &str = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e";
const MERGE: &str = "9049f1265b7d61be4a8904a9a27120d2064dab3b";

fn event_file(dir: &tempfile::TempDir, body: &str, user: &str) -> std::path::PathBuf {
    let mut v = fixture_json("issue_comment.created.on-pr.derived.json");
    v["comment"]["body"] = json!(body);
    v["comment"]["user"]["login"] = json!(user);
    let p = dir.path().join("event.json");
    std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
    p
}

fn config(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let p = dir.path().join("ghops.toml");
    std::fs::write(
        &p,
        "[pr_bridge]\nrun_wait_secs = 0\nmergeable_delay_ms = 1\n",
    )
    .unwrap();
    p
}

#[tokio::test]
async fn ignored_comments_need_no_token_and_make_no_call() {
    let d = tempfile::tempdir().unwrap();
    let ev = event_file(&d, "Looks good to me", "maintainer");
    let mut c = ghops();
    c.args(["pr-bridge", "trigger", "--event"]).arg(&ev);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "ignored: no /test-this-pr line in the comment"
    );
}

#[tokio::test]
async fn a_malformed_event_is_exit_2_naming_the_field() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("event.json");
    std::fs::write(&p, r#"{"action": "created", "issue": {"number": 1}}"#).unwrap();
    let mut c = ghops();
    c.args(["pr-bridge", "trigger", "--event"]).arg(&p);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("event.json"), "{}", stderr(&out));
}

#[tokio::test]
async fn unauthorised_is_exit_3_and_missing_token_exit_2() {
    let gh = MockGitHub::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/collaborators/reader/permission")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"permission": "read", "role_name": "read"})),
        )
        .mount(&gh.server)
        .await;
    let d = tempfile::tempdir().unwrap();
    let ev = event_file(&d, "/test-this-pr sha=ec26c3e", "reader");
    let mut c = ghops();
    c.args(["pr-bridge", "trigger", "--no-reply", "--event"])
        .arg(&ev)
        .args(["--api-url", &gh.uri()])
        .env("GH_TOKEN", "ghp_e2e_bridge_token");
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("not authorised"), "{}", stderr(&out));
    gh.assert_no_writes().await;

    let mut c = ghops();
    c.args(["pr-bridge", "trigger", "--event"])
        .arg(&ev)
        .args(["--api-url", &gh.uri()]);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no GitHub credentials"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn dry_run_prints_the_writes_and_sends_none() {
    let gh = MockGitHub::start().await;
    let ok = |v: Value| ResponseTemplate::new(200).set_body_json(v);
    for (p, v) in [
        ("/user".to_owned(), json!({"login": "ghops-bot"})),
        (
            format!("{R}/collaborators/maintainer/permission"),
            json!({"permission": "admin", "role_name": "admin"}),
        ),
        (
            format!("{R}/pulls/1"),
            json!({
                "number": 1, "state": "open", "title": "Fix", "user": {"login": "forker", "id": 9},
                "head": {"ref": "fix", "sha": HEAD, "repo": {"id": 2, "name": "Hello-World", "full_name": "forker/Hello-World", "owner": {"login": "forker", "id": 9}}},
                "base": {"ref": "main", "sha": BASE}, "mergeable": true, "merge_commit_sha": MERGE
            }),
        ),
        (
            format!("{R}/git/commits/{MERGE}"),
            json!({"sha": MERGE, "parents": [{"sha": BASE}, {"sha": HEAD}]}),
        ),
        (format!("{R}/pulls/1/files"), json!([])),
        (format!("{R}/issues/1/comments"), json!([])),
    ] {
        Mock::given(method("GET"))
            .and(path(p))
            .respond_with(ok(v))
            .mount(&gh.server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path(format!("{R}/git/ref/heads/test-this-pr/1")))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .mount(&gh.server)
        .await;
    let d = tempfile::tempdir().unwrap();
    let ev = event_file(&d, "/test-this-pr sha=ec26c3e", "maintainer");
    let mut c = ghops();
    c.args(["pr-bridge", "trigger", "--dry-run", "--json", "--event"])
        .arg(&ev)
        .arg("--config")
        .arg(config(&d))
        .args(["--api-url", &gh.uri()])
        .env("GH_TOKEN", "ghp_e2e_bridge_token");
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["outcome"], "started");
    assert_eq!(v["branch_action"], "dry_run");
    let e = stderr(&out);
    assert!(e.contains(&format!("dry-run: would POST {R}/git/refs {{\"ref\":\"refs/heads/test-this-pr/1\",\"sha\":\"{MERGE}\"}}")), "{e}");
    gh.assert_no_writes().await;
}
