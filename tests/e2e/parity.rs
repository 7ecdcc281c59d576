//! CLI ↔ serve parity (issue 14): the same real webhook payload, once through the CLI command
//! that handles it from a file (`--event`) and once as a signed delivery to a running
//! `ghops serve`, each against its own fresh MockGitHub with the same mocks. Both must reach
//! the same decision and send the same write requests (method, path, body), in the same order.
//!
//! Both paths act with the same personal token (a server built on one token acts as that
//! account), so the only requests that may differ are reads: the writes are the decision.

use std::future::Future;

use ghops_test_support::{MockGitHub, Seen, fixture_json};
use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::serve::Serve;
use crate::util::{ghops, run, stderr, valid_json};

const TOKEN: &str = "ghp_parityE2Etoken0123456789";
const R: &str = "/repos/Codertocat/Hello-World";

/// What one path decided.
#[derive(Debug, Clone)]
enum Decision {
    /// Nothing to do: the reason when the path gives one. The CLI prints
    /// `{"outcome": "ignored", "reason"}` with --json; the server logs the library's outcome (`{"kind"|"outcome": "ignored", "reason"}`, or
    /// `null` for handlers that return `None`).
    Ignored(Option<String>),
    /// Acted (or chose to do nothing) and said so: the library's outcome, as JSON.
    Done(Value),
    /// Refused (exit 3 for the CLI, a `refused` log line for the server).
    Refused,
}

impl PartialEq for Decision {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            // A reason on each side must match; `null` (no reason) matches any.
            (Decision::Ignored(a), Decision::Ignored(b)) => match (a, b) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            },
            (Decision::Done(a), Decision::Done(b)) => a == b,
            (Decision::Refused, Decision::Refused) => true,
            _ => false,
        }
    }
}

impl Decision {
    /// A library outcome: `ignored` ones (and `null`) become [`Decision::Ignored`].
    fn of(v: Value) -> Decision {
        if v.is_null() {
            return Decision::Ignored(None);
        }
        let kind = v.get("kind").or_else(|| v.get("outcome"));
        if kind.and_then(Value::as_str) == Some("ignored") {
            return Decision::Ignored(v["reason"].as_str().map(str::to_owned));
        }
        Decision::Done(v)
    }
}

/// One parity case: an event, the CLI arguments that handle it from a file, the config.
struct Case {
    event: &'static str,
    payload: Value,
    /// Arguments after `ghops --json`; `--event FILE` is appended.
    cli: &'static [&'static str],
    config: &'static str,
}

fn writes(seen: Vec<Seen>) -> Vec<(String, String, Value)> {
    seen.into_iter()
        .filter(Seen::is_write)
        .map(|s| (s.method, s.path, s.body))
        .collect()
}

async fn via_cli<M, F>(case: &Case, mocks: &M) -> (Decision, Vec<(String, String, Value)>)
where
    M: Fn(MockGitHub) -> F,
    F: Future<Output = MockGitHub>,
{
    let gh = mocks(MockGitHub::start().await).await;
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(&event, case.payload.to_string()).unwrap();
    let cfg = dir.path().join("ghops.toml");
    std::fs::write(&cfg, case.config).unwrap();
    let mut c = ghops();
    c.arg("--json")
        .args(case.cli)
        .arg("--event")
        .arg(&event)
        .env("GHOPS_CONFIG", &cfg)
        .env("GITHUB_API_URL", gh.uri())
        .env("GH_TOKEN", TOKEN);
    let out = run(c).await;
    let decision = match out.status.code() {
        Some(0) => {
            // With --json every path prints JSON, an ignored event included, and it matches
            // the command's `ghops schema` (`pr-bridge trigger` → `pr-bridge-trigger`).
            let schema = case
                .cli
                .iter()
                .take_while(|a| !a.starts_with('-'))
                .copied()
                .collect::<Vec<_>>()
                .join("-");
            Decision::of(valid_json(&schema, &out))
        }
        Some(3) => Decision::Refused,
        other => panic!("CLI {:?} exited {other:?}: {}", case.cli, stderr(&out)),
    };
    (decision, writes(gh.seen().await))
}

async fn via_serve<M, F>(case: &Case, mocks: &M) -> (Decision, Vec<(String, String, Value)>)
where
    M: Fn(MockGitHub) -> F,
    F: Future<Output = MockGitHub>,
{
    let gh = mocks(MockGitHub::start().await).await;
    let uri = gh.uri();
    let body = serde_json::to_vec(&case.payload).unwrap();
    let (event, config) = (case.event, case.config);
    let (code, err) = tokio::task::spawn_blocking(move || {
        let s = Serve::start_with(
            &uri,
            config,
            &[],
            &[
                ("GH_TOKEN", TOKEN),
                ("RUST_LOG", "info"),
                ("GHOPS_LOG_FORMAT", "json"),
            ],
        );
        let (st, text) = s.deliver(event, "parity-1", &body, None);
        assert_eq!(st, 202, "{text}");
        let done = [
            format!("{{event=\"{event}\",outcome=\"handled\"}} 1"),
            format!("{{event=\"{event}\",outcome=\"failed\"}} 1"),
        ];
        s.wait_for("the delivery handled", || {
            let m = s.http("GET", "/metrics", &[], b"").1;
            done.iter().any(|d| m.contains(d.as_str()))
        });
        s.stop()
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0), "{err}");
    // One JSON object per line (GHOPS_LOG_FORMAT=json): the route's `handled` / `refused`.
    let logged: Vec<Value> = err
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| {
            l["target"] == "ghops_serve::app"
                && matches!(l["fields"]["message"].as_str(), Some("handled" | "refused"))
        })
        .collect();
    assert_eq!(logged.len(), 1, "one decision logged: {err}");
    let decision = match logged[0]["fields"]["message"].as_str() {
        Some("handled") => {
            let o = logged[0]["fields"]["outcome"].as_str().unwrap();
            Decision::of(serde_json::from_str(o).unwrap())
        }
        _ => Decision::Refused,
    };
    (decision, writes(gh.seen().await))
}

/// Runs `case` both ways and asserts they agree; returns the shared decision and writes.
async fn parity<M, F>(case: Case, mocks: M) -> (Decision, Vec<(String, String, Value)>)
where
    M: Fn(MockGitHub) -> F,
    F: Future<Output = MockGitHub>,
{
    let cli = via_cli(&case, &mocks).await;
    let serve = via_serve(&case, &mocks).await;
    assert_eq!(cli.0, serve.0, "{}: CLI vs serve decision", case.event);
    assert_eq!(cli.1, serve.1, "{}: CLI vs serve writes", case.event);
    cli
}

// ---------------------------------------------------------------------------------------
// pr-bridge: issue_comment

const HEAD: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
const BASE: &str = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e";
const MERGE: &str = "9049f1265b7d61be4a8904a9a27120d2064dab3b";
const WF: &str = "1111111111111111111111111111111111111111";

/// GitHub for a fork PR #1 that merges cleanly; the commenter holds `permission`.
async fn pr_mocks(gh: MockGitHub, permission: &'static str) -> MockGitHub {
    let ok = |v: Value| ResponseTemplate::new(200).set_body_json(v);
    Mock::given(method("GET"))
        .and(path(format!("{R}/collaborators/maintainer/permission")))
        .respond_with(ok(
            json!({"permission": permission, "role_name": permission}),
        ))
        .mount(&gh.server)
        .await;
    let no_comments =
        json!({"pageInfo": {"hasPreviousPage": false, "startCursor": null}, "nodes": []});
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_string_contains("qualifiedName"))
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
        .respond_with(ok(
            json!({"data": {"repository": {"pullRequest": {"comments": no_comments}}}}),
        ))
        .with_priority(10)
        .mount(&gh.server)
        .await;
    for p in [
        format!("{R}/issues/comments/492700400/reactions"),
        format!("{R}/git/refs"),
        format!("{R}/issues/1/comments"),
    ] {
        Mock::given(method("POST"))
            .and(path(p))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({
                "id": 5000, "body": "x", "user": {"login": "ghops-e2e[bot]", "id": 3}
            })))
            .mount(&gh.server)
            .await;
    }
    gh
}

fn trigger_comment() -> Value {
    let mut ev = fixture_json("issue_comment.created.on-pr.derived.json");
    ev["comment"]["body"] = json!(format!("/test-this-pr sha={HEAD}"));
    ev["comment"]["user"]["login"] = json!("maintainer");
    ev
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_comment_trigger_creates_the_same_branch_and_comment() {
    let (decision, w) = parity(
        Case {
            event: "issue_comment",
            payload: trigger_comment(),
            cli: &["pr-bridge", "trigger"],
            config: "[pr_bridge]\nrun_wait_secs = 0\n",
        },
        |gh| pr_mocks(gh, "write"),
    )
    .await;
    let Decision::Done(d) = decision else {
        panic!("{decision:?}")
    };
    assert_eq!(
        (&d["outcome"], &d["merge_sha"], &d["branch_action"]),
        (&json!("started"), &json!(MERGE), &json!("created"))
    );
    let lines: Vec<String> = w.iter().map(|(m, p, _)| format!("{m} {p}")).collect();
    assert_eq!(
        lines,
        [
            format!("POST {R}/git/refs"),
            format!("POST {R}/issues/comments/492700400/reactions"),
            format!("POST {R}/issues/1/comments"),
        ]
    );
    assert_eq!(
        w[0].2,
        json!({"ref": "refs/heads/test-this-pr/1", "sha": MERGE})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_comment_from_a_reader_is_refused_alike_with_one_reply() {
    let (decision, w) = parity(
        Case {
            event: "issue_comment",
            payload: trigger_comment(),
            cli: &["pr-bridge", "trigger"],
            config: "",
        },
        |gh| pr_mocks(gh, "read"),
    )
    .await;
    assert_eq!(decision, Decision::Refused);
    let lines: Vec<String> = w.iter().map(|(m, p, _)| format!("{m} {p}")).collect();
    assert_eq!(lines, [format!("POST {R}/issues/1/comments")]);
    assert!(
        w[0].2["body"].as_str().unwrap().contains("not authorised"),
        "{w:?}"
    );
}

// ---------------------------------------------------------------------------------------
// release-flow: pull_request (environments), push

async fn no_mocks(gh: MockGitHub) -> MockGitHub {
    gh
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_request_labeled_plans_the_same_environments() {
    let mut ev = fixture_json("pull_request.labeled.json");
    ev["label"] = json!({"name": "deploy"});
    ev["pull_request"]["labels"] = json!([{"name": "deploy"}]);
    let (decision, w) = parity(
        Case {
            event: "pull_request",
            payload: ev,
            cli: &["env", "sync"],
            config: "",
        },
        no_mocks,
    )
    .await;
    let Decision::Done(plan) = decision else {
        panic!("{decision:?}")
    };
    assert_eq!(
        plan["deploy"][0]["environment"], "preview-changes",
        "{plan}"
    );
    assert!(w.is_empty(), "{w:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_of_a_deleted_tag_is_ignored_alike() {
    let (decision, w) = parity(
        Case {
            event: "push",
            payload: fixture_json("push.tag-deleted.json"),
            cli: &["release", "hotfix"],
            config: "",
        },
        no_mocks,
    )
    .await;
    let Decision::Ignored(Some(reason)) = decision else {
        panic!("{decision:?}")
    };
    assert_eq!(reason, "refs/tags/simple-tag is not a branch");
    assert!(w.is_empty(), "{w:?}");
}

const TAG_SHA: &str = "6dcb09b5b57875f334f61aebed695e2e4193db5e";

/// GitHub where tag v1.2.0 points at [`TAG_SHA`] and no release branch exists yet.
async fn tag_mocks(gh: MockGitHub) -> MockGitHub {
    Mock::given(method("GET"))
        .and(path(format!("{R}/git/ref/tags/v1.2.0")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ref": "refs/tags/v1.2.0", "object": {"type": "commit", "sha": TAG_SHA}
        })))
        .mount(&gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{R}/git/refs")))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "ref": "refs/heads/release/1.2.0", "object": {"type": "commit", "sha": TAG_SHA}
        })))
        .mount(&gh.server)
        .await;
    gh
}

fn release_event(tag: &str, prerelease: bool, draft: bool) -> Value {
    let mut ev = fixture_json("release.published.json");
    ev["release"]["tag_name"] = json!(tag);
    ev["release"]["prerelease"] = json!(prerelease);
    ev["release"]["draft"] = json!(draft);
    ev
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_published_creates_the_same_release_branch() {
    let (decision, w) = parity(
        Case {
            event: "release",
            payload: release_event("v1.2.0", false, false),
            cli: &["release", "publish-hook"],
            config: "",
        },
        tag_mocks,
    )
    .await;
    assert_eq!(
        decision,
        Decision::Done(json!({"branch": "release/1.2.0", "sha": TAG_SHA, "action": "created"}))
    );
    assert_eq!(
        w,
        [(
            "POST".to_owned(),
            format!("{R}/git/refs"),
            json!({"ref": "refs/heads/release/1.2.0", "sha": TAG_SHA})
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prereleases_and_drafts_get_no_branch_either_way() {
    for (pre, draft) in [(true, false), (false, true)] {
        let (decision, w) = parity(
            Case {
                event: "release",
                payload: release_event("v1.2.0", pre, draft),
                cli: &["release", "publish-hook"],
                config: "",
            },
            tag_mocks,
        )
        .await;
        assert!(matches!(decision, Decision::Ignored(_)), "{decision:?}");
        assert!(w.is_empty(), "{w:?}");
    }
}

// ---------------------------------------------------------------------------------------
// pr-bridge: workflow_run

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflow_run_on_another_branch_is_ignored_alike_without_a_call() {
    let (decision, w) = parity(
        Case {
            event: "workflow_run",
            payload: fixture_json("workflow_run.completed.json"),
            cli: &["pr-bridge", "report"],
            config: "",
        },
        no_mocks,
    )
    .await;
    let Decision::Ignored(Some(reason)) = decision else {
        panic!("{decision:?}")
    };
    assert!(
        reason.contains("not a test-this-pr/<pr> branch"),
        "{reason}"
    );
    assert!(w.is_empty(), "{w:?}");
}

/// GitHub where PR #1 carries no pr-bridge status comment.
async fn no_status_comment(gh: MockGitHub) -> MockGitHub {
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": {"repository": {
                "pullRequest": {"comments": {
                    "pageInfo": {"hasPreviousPage": false, "startCursor": null}, "nodes": []
                }}
            }}})),
        )
        .mount(&gh.server)
        .await;
    gh
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflow_run_on_a_test_branch_without_a_status_comment_is_ignored_alike() {
    let mut ev = fixture_json("workflow_run.completed.json");
    ev["workflow_run"]["head_branch"] = json!("test-this-pr/1");
    let (decision, w) = parity(
        Case {
            event: "workflow_run",
            payload: ev,
            cli: &["pr-bridge", "report"],
            config: "",
        },
        no_status_comment,
    )
    .await;
    let Decision::Ignored(Some(reason)) = decision else {
        panic!("{decision:?}")
    };
    assert_eq!(reason, "PR #1 has no pr-bridge status comment");
    assert!(w.is_empty(), "{w:?}");
}
