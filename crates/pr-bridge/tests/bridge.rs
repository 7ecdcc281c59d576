//! pr-bridge against a wiremock GitHub: every scenario asserts the exact requests made and
//! that no other write happened; every comment body is snapshotted.

use std::time::Duration;

use gh_core::auth::{Credentials, SecretString, TokenSource};
use gh_core::client::ClientConfig;
use gh_core::events::{IssueCommentEvent, WorkflowRunEvent};
use gh_core::retry::RetryPolicy;
use gh_core::{GitHub, RepoRef};
use ghops_test_support::{MockGitHub, Seen, fixture_json, insta_settings};
use pr_bridge::render::Verdict;
use pr_bridge::{BranchAction, BridgeError, Options, RunOutcome, TriggerOutcome, Wait};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

const HEAD: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
const BASE: &str = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e";
const MERGE: &str = "9049f1265b7d61be4a8904a9a27120d2064dab3b";
const OTHER: &str = "0123456789abcdef0123456789abcdef01234567";
const R: &str = "/repos/Codertocat/Hello-World";
const ME: &str = "ghops-bot";
const COMMENT_ID: u64 = 492700400;

fn repo() -> RepoRef {
    "Codertocat/Hello-World".parse().unwrap()
}

fn event(body: &str, user: &str, action: &str) -> IssueCommentEvent {
    let mut v = fixture_json("issue_comment.created.on-pr.derived.json");
    v["action"] = json!(action);
    v["comment"]["body"] = json!(body);
    v["comment"]["user"]["login"] = json!(user);
    serde_json::from_value(v).unwrap()
}

fn on_issue(body: &str) -> IssueCommentEvent {
    let mut v = fixture_json("issue_comment.created.json");
    v["comment"]["body"] = json!(body);
    serde_json::from_value(v).unwrap()
}

fn opts() -> Options {
    Options {
        mergeable_delay_ms: 1,
        run_wait_secs: 0,
        run_poll_ms: 1,
        ..Options::default()
    }
}

async fn client(gh: &MockGitHub, dry_run: bool) -> GitHub {
    let mut c = ClientConfig::new(Credentials::Token {
        token: SecretString::from("ghp_bridgeTESTtoken0123456789".to_owned()),
        source: TokenSource::Flag,
    });
    c.api_url = gh.uri();
    c.retry = RetryPolicy::fast();
    c.dry_run = dry_run;
    GitHub::connect(c).await.unwrap()
}

fn pull(mergeable: Value, state: &str, head: &str) -> Value {
    json!({
        "number": 1, "state": state, "title": "Fix", "user": {"login": "forker", "id": 9},
        "head": {"ref": "fix", "sha": head, "repo": {"id": 2, "name": "Hello-World", "full_name": "forker/Hello-World", "owner": {"login": "forker", "id": 9}, "fork": true}},
        "base": {"ref": "main", "sha": BASE, "repo": {"id": 1, "name": "Hello-World", "full_name": "Codertocat/Hello-World", "owner": {"login": "Codertocat", "id": 1}}},
        "mergeable": mergeable, "merge_commit_sha": MERGE, "merged": false
    })
}

fn ok(v: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(v)
}

struct World {
    gh: MockGitHub,
}

impl World {
    async fn new() -> Self {
        Self {
            gh: MockGitHub::start().await,
        }
    }

    async fn get(&self, p: &str, v: Value) {
        Mock::given(method("GET"))
            .and(path(format!("{R}{p}")))
            .respond_with(ok(v))
            .mount(&self.gh.server)
            .await;
    }

    async fn permission(&self, user: &str, role: &str) {
        self.get(
            &format!("/collaborators/{user}/permission"),
            json!({"permission": role, "role_name": role, "user": {"login": user}}),
        )
        .await;
    }

    async fn pr(&self, v: Value) {
        self.get("/pulls/1", v).await;
    }

    async fn merge_commit(&self, parents: [&str; 2]) {
        self.get(
            &format!("/git/commits/{MERGE}"),
            json!({"sha": MERGE, "parents": [{"sha": parents[0]}, {"sha": parents[1]}]}),
        )
        .await;
    }

    async fn files(&self, names: &[&str]) {
        let v: Vec<Value> = names.iter().map(|n| json!({"filename": n})).collect();
        self.get("/pulls/1/files", json!(v)).await;
    }

    async fn branch_at(&self, branch: &str, sha: Option<&str>) {
        let m = Mock::given(method("GET")).and(path(format!("{R}/git/ref/heads/{branch}")));
        match sha {
            Some(s) => m.respond_with(ok(json!({"ref": format!("refs/heads/{branch}"), "object": {"sha": s, "type": "commit"}}))),
            None => m.respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"}))),
        }
        .mount(&self.gh.server)
        .await;
    }

    async fn writes_ok(&self) {
        for (m, p, status) in [
            (
                "POST",
                format!("{R}/issues/comments/{COMMENT_ID}/reactions"),
                201,
            ),
            ("POST", format!("{R}/git/refs"), 201),
            ("PATCH", format!("{R}/git/refs/heads/test-this-pr/1"), 200),
            ("POST", format!("{R}/statuses/{HEAD}"), 201),
            ("DELETE", format!("{R}/git/refs/heads/test-this-pr/1"), 204),
        ] {
            Mock::given(method(m))
                .and(path(p))
                .respond_with(ResponseTemplate::new(status).set_body_json(json!({"ok": true})))
                .mount(&self.gh.server)
                .await;
        }
    }

    async fn comments(&self, existing: Value) {
        self.get("/issues/1/comments", existing).await;
        Mock::given(method("POST"))
            .and(path(format!("{R}/issues/1/comments")))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({
                "id": 5000, "body": "x", "user": {"login": ME, "id": 3},
                "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
            })))
            .mount(&self.gh.server)
            .await;
        Mock::given(method("PATCH"))
            .and(path(format!("{R}/issues/comments/5000")))
            .respond_with(ok(json!({"id": 5000})))
            .mount(&self.gh.server)
            .await;
    }

    async fn runs(&self, runs: Value) {
        Mock::given(method("GET"))
            .and(path(format!("{R}/actions/runs")))
            .and(query_param("head_sha", MERGE))
            .respond_with(ok(json!({"total_count": 1, "workflow_runs": runs})))
            .mount(&self.gh.server)
            .await;
    }

    async fn writes(&self) -> Vec<Seen> {
        self.gh.writes().await
    }

    /// The body of the only comment POST or PATCH.
    async fn comment_body(&self) -> String {
        let w = self.writes().await;
        let c: Vec<&Seen> = w
            .iter()
            .filter(|s| {
                s.path.contains("/issues/1/comments") || s.path.contains("/issues/comments/5000")
            })
            .collect();
        assert_eq!(c.len(), 1, "{w:?}");
        c[0].body["body"].as_str().unwrap().to_owned()
    }

    async fn happy(&self) {
        self.permission("maintainer", "write").await;
        self.pr(pull(json!(true), "open", HEAD)).await;
        self.merge_commit([BASE, HEAD]).await;
        self.files(&["src/lib.rs"]).await;
        self.writes_ok().await;
        self.comments(json!([])).await;
        self.runs(json!([{"id": 77, "name": "CI", "html_url": "https://github.com/Codertocat/Hello-World/actions/runs/77", "status": "queued"}]))
            .await;
    }
}

fn trigger_body() -> String {
    "LGTM!\n/test-this-pr sha=ec26c3e".to_owned()
}

async fn trigger(
    w: &World,
    ev: &IssueCommentEvent,
    o: &Options,
) -> Result<TriggerOutcome, BridgeError> {
    let c = client(&w.gh, false).await;
    pr_bridge::trigger(&c, &repo(), ev, o, &pr_bridge::Me::known(ME)).await
}

#[tokio::test]
async fn authorised_maintainer_on_a_fork_pr_happy_path() {
    let w = World::new().await;
    w.happy().await;
    w.branch_at("test-this-pr/1", None).await;
    let out = trigger(
        &w,
        &event(&trigger_body(), "maintainer", "created"),
        &opts(),
    )
    .await
    .unwrap();
    match &out {
        TriggerOutcome::Started {
            branch_action,
            runs,
            branch,
            ..
        } => {
            assert_eq!(*branch_action, BranchAction::Created);
            assert_eq!(branch, "test-this-pr/1");
            assert_eq!(runs.len(), 1);
        }
        o => panic!("{o:?}"),
    }
    w.gh.assert_lines(&[
        &format!("GET {R}/collaborators/maintainer/permission"),
        &format!("POST {R}/issues/comments/{COMMENT_ID}/reactions"),
        &format!("GET {R}/pulls/1"),
        &format!("GET {R}/git/commits/{MERGE}"),
        &format!("GET {R}/pulls/1/files?per_page=100"),
        &format!("GET {R}/git/ref/heads/test-this-pr/1"),
        &format!("POST {R}/git/refs"),
        &format!("POST {R}/issues/comments/{COMMENT_ID}/reactions"),
        &format!("GET {R}/actions/runs?branch=test-this-pr%2F1&head_sha={MERGE}&per_page=100"),
        &format!("GET {R}/issues/1/comments?per_page=100"),
        &format!("POST {R}/issues/1/comments"),
    ])
    .await;
    let writes = w.writes().await;
    assert_eq!(writes[0].body, json!({"content": "eyes"}));
    assert_eq!(
        writes[1].body,
        json!({"ref": "refs/heads/test-this-pr/1", "sha": MERGE})
    );
    assert_eq!(writes[2].body, json!({"content": "rocket"}));
    let _g = insta_settings(None).bind_to_scope();
    insta::assert_snapshot!("status_started", w.comment_body().await);
}

#[tokio::test]
async fn read_and_triage_collaborators_and_the_author_are_refused_with_no_write_but_one_reply() {
    for (user, role) in [
        ("reader", "read"),
        ("triager", "triage"),
        ("forker", "none"),
    ] {
        let w = World::new().await;
        w.permission(user, role).await;
        w.comments(json!([])).await;
        let e = trigger(&w, &event(&trigger_body(), user, "created"), &opts())
            .await
            .unwrap_err();
        assert!(matches!(e, BridgeError::Refused(_)), "{e}");
        w.gh.assert_lines(&[
            &format!("GET {R}/collaborators/{user}/permission"),
            &format!("GET {R}/issues/1/comments?per_page=100"),
            &format!("POST {R}/issues/1/comments"),
        ])
        .await;
        let body = w.comment_body().await;
        assert!(!body.contains(role), "the reply reveals nothing: {body}");
        let _g = insta_settings(None).bind_to_scope();
        insta::assert_snapshot!("refusal_not_authorised", body);
    }
    // With replies off: zero writes.
    let w = World::new().await;
    w.permission("reader", "read").await;
    let o = Options {
        reply_on_refusal: false,
        ..opts()
    };
    trigger(&w, &event(&trigger_body(), "reader", "created"), &o)
        .await
        .unwrap_err();
    w.gh.assert_no_writes().await;
}

#[tokio::test]
async fn ignored_events_make_no_api_call() {
    let w = World::new().await;
    for ev in [
        event(&trigger_body(), "maintainer", "edited"),
        event(&trigger_body(), "maintainer", "deleted"),
        on_issue(&trigger_body()),
        event("> /test-this-pr sha=ec26c3e", "maintainer", "created"),
        event(
            "```\n/test-this-pr sha=ec26c3e\n```",
            "maintainer",
            "created",
        ),
        event("please /test-this-pr", "maintainer", "created"),
        event(&trigger_body(), "dependabot[bot]", "created"),
        event(
            &format!("<!-- ghops:pr-bridge -->\n{}", trigger_body()),
            "maintainer",
            "created",
        ),
    ] {
        let out = trigger(&w, &ev, &opts()).await.unwrap();
        assert!(matches!(out, TriggerOutcome::Ignored { .. }), "{out:?}");
    }
    assert!(w.gh.seen().await.is_empty());
}

async fn refused_after_pr_read(w: &World, body: &str, expect: &str) -> String {
    let e = trigger(w, &event(body, "maintainer", "created"), &opts())
        .await
        .unwrap_err();
    assert!(e.to_string().contains(expect), "{e}");
    // Only the eyes reaction and the one refusal reply were written.
    let writes: Vec<String> = w.writes().await.iter().map(Seen::line).collect();
    assert_eq!(
        writes,
        [
            format!("POST {R}/issues/comments/{COMMENT_ID}/reactions"),
            format!("POST {R}/issues/1/comments"),
        ]
    );
    w.comment_body().await
}

#[tokio::test]
async fn pinned_sha_absent_short_non_hex_or_stale_is_refused() {
    let _g = insta_settings(None).bind_to_scope();
    for (body, expect, snap) in [
        ("/test-this-pr", "sha= is required", "refusal_sha_missing"),
        (
            "/test-this-pr sha=ec26c3",
            "7 to 40 hexadecimal",
            "refusal_sha_short",
        ),
        (
            "/test-this-pr sha=zzzzzzzz",
            "7 to 40 hexadecimal",
            "refusal_sha_non_hex",
        ),
        (
            "/test-this-pr sha=abcdef1",
            "does not match head",
            "refusal_sha_stale",
        ),
    ] {
        let w = World::new().await;
        w.happy().await;
        let c = refused_after_pr_read(&w, body, expect).await;
        insta::assert_snapshot!(snap, c);
    }
}

#[tokio::test]
async fn head_moved_between_pr_read_and_merge_commit_read_is_refused() {
    let w = World::new().await;
    w.permission("maintainer", "write").await;
    w.pr(pull(json!(true), "open", HEAD)).await;
    // The merge commit was recomputed for a newer head.
    w.merge_commit([BASE, OTHER]).await;
    w.writes_ok().await;
    w.comments(json!([])).await;
    let c = refused_after_pr_read(&w, &trigger_body(), "parents").await;
    let _g = insta_settings(None).bind_to_scope();
    insta::assert_snapshot!("refusal_parents", c);
}

#[tokio::test]
async fn closed_pr_and_conflicting_pr_with_a_stale_merge_ref_are_refused() {
    let w = World::new().await;
    w.permission("maintainer", "write").await;
    w.pr(pull(json!(true), "closed", HEAD)).await;
    w.writes_ok().await;
    w.comments(json!([])).await;
    refused_after_pr_read(&w, &trigger_body(), "is closed").await;

    let w = World::new().await;
    w.permission("maintainer", "write").await;
    // mergeable false, merge_commit_sha still present (a stale test merge): never used.
    w.pr(pull(json!(false), "open", HEAD)).await;
    w.writes_ok().await;
    w.comments(json!([])).await;
    let c = refused_after_pr_read(&w, &trigger_body(), "does not merge cleanly").await;
    assert!(c.contains("conflicts with `main`"), "{c}");
    assert!(!w.gh.lines().await.iter().any(|l| l.contains("/git/")));
}

#[tokio::test]
async fn mergeable_null_null_true_proceeds_after_backoff_and_null_forever_times_out() {
    let w = World::new().await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/pulls/1")))
        .respond_with(ok(pull(Value::Null, "open", HEAD)))
        .up_to_n_times(2)
        .mount(&w.gh.server)
        .await;
    w.happy().await;
    w.branch_at("test-this-pr/1", None).await;
    trigger(
        &w,
        &event(&trigger_body(), "maintainer", "created"),
        &opts(),
    )
    .await
    .unwrap();
    let reads =
        w.gh.lines()
            .await
            .iter()
            .filter(|l| *l == &format!("GET {R}/pulls/1"))
            .count();
    assert_eq!(reads, 3);

    let w = World::new().await;
    w.permission("maintainer", "write").await;
    w.pr(pull(Value::Null, "open", HEAD)).await;
    w.writes_ok().await;
    w.comments(json!([])).await;
    let e = trigger(
        &w,
        &event(&trigger_body(), "maintainer", "created"),
        &opts(),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, BridgeError::Timeout(_)), "{e}");
    let reads =
        w.gh.lines()
            .await
            .iter()
            .filter(|l| *l == &format!("GET {R}/pulls/1"))
            .count();
    assert_eq!(reads, 5);
    let _g = insta_settings(None).bind_to_scope();
    insta::assert_snapshot!("refusal_mergeable_unknown", w.comment_body().await);
}

#[tokio::test]
async fn branch_already_at_the_merge_commit_writes_nothing_new_and_no_second_comment() {
    let w = World::new().await;
    w.happy().await;
    w.branch_at("test-this-pr/1", Some(MERGE)).await;
    // ghops's own status comment exists already with this very body: unchanged.
    let o = opts();
    let st = pr_bridge::render::State {
        branch: "test-this-pr/1".into(),
        head_sha: HEAD.into(),
        merge_sha: MERGE.into(),
        base: "main".into(),
    };
    let runs: Vec<pr_bridge::render::RunLink> = vec![serde_json::from_value(json!({"id": 77, "name": "CI", "html_url": "https://github.com/Codertocat/Hello-World/actions/runs/77", "status": "queued"})).unwrap()];
    let existing = pr_bridge::render::started(&st, "maintainer", &runs, &[]);
    Mock::given(method("GET"))
        .and(path(format!("{R}/issues/1/comments")))
        .respond_with(ok(
            json!([{"id": 5000, "body": existing, "user": {"login": ME, "id": 3}}]),
        ))
        .with_priority(1)
        .mount(&w.gh.server)
        .await;
    let out = trigger(&w, &event(&trigger_body(), "maintainer", "created"), &o)
        .await
        .unwrap();
    assert!(
        matches!(
            out,
            TriggerOutcome::Started {
                branch_action: BranchAction::Unchanged,
                ..
            }
        ),
        "{out:?}"
    );
    // Only the (idempotent) reactions: no ref write, no comment write.
    w.gh.assert_writes(&[
        &format!("POST {R}/issues/comments/{COMMENT_ID}/reactions"),
        &format!("POST {R}/issues/comments/{COMMENT_ID}/reactions"),
    ])
    .await;
}

#[tokio::test]
async fn branch_at_another_sha_is_force_updated() {
    let w = World::new().await;
    w.happy().await;
    w.branch_at("test-this-pr/1", Some(OTHER)).await;
    let out = trigger(
        &w,
        &event(&trigger_body(), "maintainer", "created"),
        &opts(),
    )
    .await
    .unwrap();
    assert!(matches!(
        out,
        TriggerOutcome::Started {
            branch_action: BranchAction::Updated,
            ..
        }
    ));
    let writes = w.writes().await;
    let patch = writes.iter().find(|s| s.method == "PATCH").unwrap();
    assert_eq!(patch.path, format!("{R}/git/refs/heads/test-this-pr/1"));
    assert_eq!(patch.body, json!({"sha": MERGE, "force": true}));
}

#[tokio::test]
async fn an_exact_ref_lookup_not_a_prefix_search() {
    // test-this-pr/12 exists; PR #1 must get test-this-pr/1 created (matching-refs would have
    // matched test-this-pr/12 as a prefix).
    let w = World::new().await;
    w.happy().await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/git/matching-refs/heads/test-this-pr/1")))
        .respond_with(ok(
            json!([{"ref": "refs/heads/test-this-pr/12", "object": {"sha": OTHER}}]),
        ))
        .mount(&w.gh.server)
        .await;
    w.branch_at("test-this-pr/1", None).await;
    let out = trigger(
        &w,
        &event(&trigger_body(), "maintainer", "created"),
        &opts(),
    )
    .await
    .unwrap();
    assert!(matches!(
        out,
        TriggerOutcome::Started {
            branch_action: BranchAction::Created,
            ..
        }
    ));
    assert!(
        !w.gh
            .lines()
            .await
            .iter()
            .any(|l| l.contains("matching-refs"))
    );
}

#[tokio::test]
async fn a_502_on_the_comment_post_then_success_leaves_one_comment() {
    let w = World::new().await;
    w.permission("maintainer", "write").await;
    w.pr(pull(json!(true), "open", HEAD)).await;
    w.merge_commit([BASE, HEAD]).await;
    w.files(&["src/lib.rs"]).await;
    w.writes_ok().await;
    w.branch_at("test-this-pr/1", None).await;
    w.runs(json!([])).await;
    // First list: none. The POST answers 502 (GitHub did create it). The re-list finds it.
    Mock::given(method("GET"))
        .and(path(format!("{R}/issues/1/comments")))
        .respond_with(ok(json!([])))
        .up_to_n_times(1)
        .mount(&w.gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{R}/issues/1/comments")))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .mount(&w.gh.server)
        .await;
    let created = pr_bridge::render::started(
        &pr_bridge::render::State {
            branch: "test-this-pr/1".into(),
            head_sha: HEAD.into(),
            merge_sha: MERGE.into(),
            base: "main".into(),
        },
        "maintainer",
        &[],
        &[],
    );
    Mock::given(method("GET"))
        .and(path(format!("{R}/issues/1/comments")))
        .respond_with(ok(
            json!([{"id": 5000, "body": created, "user": {"login": ME, "id": 3}}]),
        ))
        .mount(&w.gh.server)
        .await;
    trigger(
        &w,
        &event(&trigger_body(), "maintainer", "created"),
        &opts(),
    )
    .await
    .unwrap();
    let posts = w
        .writes()
        .await
        .iter()
        .filter(|s| s.path == format!("{R}/issues/1/comments"))
        .count();
    assert_eq!(posts, 1, "the POST was not re-sent blindly");
}

#[tokio::test]
async fn secondary_rate_limit_is_waited_out() {
    let w = World::new().await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/collaborators/maintainer/permission")))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("retry-after", "0")
                .set_body_json(json!({"message": "You have exceeded a secondary rate limit"})),
        )
        .up_to_n_times(1)
        .mount(&w.gh.server)
        .await;
    w.happy().await;
    w.branch_at("test-this-pr/1", None).await;
    trigger(
        &w,
        &event(&trigger_body(), "maintainer", "created"),
        &opts(),
    )
    .await
    .unwrap();
    let perm =
        w.gh.lines()
            .await
            .iter()
            .filter(|l| l.contains("/permission"))
            .count();
    assert_eq!(perm, 2);
}

#[tokio::test]
async fn prs_touching_workflows_warn_or_are_refused() {
    let w = World::new().await;
    w.happy().await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/pulls/1/files")))
        .respond_with(ok(json!([{"filename": ".github/workflows/ci.yml"}])))
        .with_priority(1)
        .mount(&w.gh.server)
        .await;
    w.branch_at("test-this-pr/1", None).await;
    trigger(
        &w,
        &event(&trigger_body(), "maintainer", "created"),
        &opts(),
    )
    .await
    .unwrap();
    let _g = insta_settings(None).bind_to_scope();
    insta::assert_snapshot!("status_started_workflow_warning", w.comment_body().await);

    let w = World::new().await;
    w.happy().await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/pulls/1/files")))
        .respond_with(ok(
            json!([{"filename": "x", "previous_filename": ".github/workflows/ci.yml"}]),
        ))
        .with_priority(1)
        .mount(&w.gh.server)
        .await;
    let o = Options {
        refuse_workflow_changes: true,
        ..opts()
    };
    let e = trigger(&w, &event(&trigger_body(), "maintainer", "created"), &o)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("workflow"), "{e}");
    assert!(
        !w.writes()
            .await
            .iter()
            .any(|s| s.path.contains("/git/refs"))
    );
}

#[tokio::test]
async fn a_token_without_workflow_scope_is_named() {
    let w = World::new().await;
    Mock::given(method("POST"))
        .and(path(format!("{R}/git/refs")))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "message": "refusing to allow a Personal Access Token to create or update workflow `.github/workflows/ci.yml` without `workflow` scope"
        })))
        .with_priority(1)
        .mount(&w.gh.server)
        .await;
    w.happy().await;
    w.branch_at("test-this-pr/1", None).await;
    let e = trigger(
        &w,
        &event(&trigger_body(), "maintainer", "created"),
        &opts(),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, BridgeError::Refused(_)));
    assert!(
        w.comment_body()
            .await
            .contains("lacks the `workflow` scope")
    );
}

#[tokio::test]
async fn dry_run_performs_only_gets() {
    let w = World::new().await;
    w.happy().await;
    w.branch_at("test-this-pr/1", None).await;
    let c = client(&w.gh, true).await;
    let out = pr_bridge::trigger(
        &c,
        &repo(),
        &event(&trigger_body(), "maintainer", "created"),
        &opts(),
        &pr_bridge::Me::known(ME),
    )
    .await
    .unwrap();
    assert!(
        matches!(
            out,
            TriggerOutcome::Started {
                branch_action: BranchAction::DryRun,
                ..
            }
        ),
        "{out:?}"
    );
    w.gh.assert_no_writes().await;
    let planned: Vec<String> = c
        .planned_writes()
        .iter()
        .map(|p| format!("{} {}", p.method, p.path))
        .collect();
    assert_eq!(
        planned,
        [
            format!("POST {R}/issues/comments/{COMMENT_ID}/reactions"),
            format!("POST {R}/git/refs"),
            format!("POST {R}/issues/comments/{COMMENT_ID}/reactions"),
            format!("POST {R}/issues/1/comments"),
        ]
    );
}

#[tokio::test]
async fn a_401_leaks_no_token() {
    let w = World::new().await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/collaborators/maintainer/permission")))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"message": "Bad credentials"})),
        )
        .mount(&w.gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/issues/1/comments")))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"message": "Bad credentials"})),
        )
        .mount(&w.gh.server)
        .await;
    let e = trigger(
        &w,
        &event(&trigger_body(), "maintainer", "created"),
        &opts(),
    )
    .await
    .unwrap_err();
    let all = format!("{e} {e:?}");
    assert!(!all.contains("ghp_bridgeTESTtoken"), "{all}");
    w.gh.assert_no_writes().await;
}

// ------------------------------------------------------------------ report and cleanup

async fn with_state_comment(w: &World, merge: &str) {
    let st = pr_bridge::render::State {
        branch: "test-this-pr/1".into(),
        head_sha: HEAD.into(),
        merge_sha: merge.into(),
        base: "main".into(),
    };
    let body = pr_bridge::render::started(&st, "maintainer", &[], &[]);
    w.comments(json!([
        {"id": 4999, "body": body.clone(), "user": {"login": "impostor", "id": 66}},
        {"id": 5000, "body": body, "user": {"login": ME, "id": 3}}
    ]))
    .await;
}

fn wait() -> Wait {
    Wait {
        timeout: Duration::from_secs(5),
        no_run_timeout: Duration::from_millis(30),
        poll: Duration::from_millis(5),
    }
}

#[tokio::test]
async fn report_success_failure_cancelled_and_no_run() {
    let _g = insta_settings(None).bind_to_scope();
    for (conclusion, verdict, snap) in [
        (Some("success"), Verdict::Passed, "report_passed"),
        (Some("failure"), Verdict::Failed, "report_failed"),
        (Some("cancelled"), Verdict::Failed, "report_cancelled"),
        (None, Verdict::NoRun, "report_no_run"),
    ] {
        let w = World::new().await;
        with_state_comment(&w, MERGE).await;
        w.writes_ok().await;
        w.branch_at("test-this-pr/1", Some(MERGE)).await;
        w.runs(match conclusion {
            Some(c) => json!([{"id": 77, "name": "CI", "html_url": "https://github.com/Codertocat/Hello-World/actions/runs/77", "status": "completed", "conclusion": c}]),
            None => json!([]),
        })
        .await;
        let c = client(&w.gh, false).await;
        let o = Options {
            commit_status: true,
            ..opts()
        };
        let out = pr_bridge::report(&c, &repo(), 1, &o, wait(), ME)
            .await
            .unwrap();
        assert_eq!(out.verdict, Some(verdict));
        assert!(out.branch_deleted);
        let writes: Vec<String> = w.writes().await.iter().map(Seen::line).collect();
        assert_eq!(
            writes,
            [
                format!("DELETE {R}/git/refs/heads/test-this-pr/1"),
                format!("PATCH {R}/issues/comments/5000"),
                format!("POST {R}/statuses/{HEAD}"),
            ]
        );
        insta::assert_snapshot!(snap, w.comment_body().await);
    }
}

#[tokio::test]
async fn report_leaves_a_branch_re_pointed_by_a_newer_trigger() {
    let w = World::new().await;
    with_state_comment(&w, MERGE).await;
    w.writes_ok().await;
    w.branch_at("test-this-pr/1", Some(OTHER)).await;
    w.runs(json!([{"id": 77, "status": "completed", "conclusion": "success"}]))
        .await;
    let c = client(&w.gh, false).await;
    let out = pr_bridge::report(&c, &repo(), 1, &opts(), wait(), ME)
        .await
        .unwrap();
    assert!(!out.branch_deleted);
    w.gh.assert_writes(&[&format!("PATCH {R}/issues/comments/5000")])
        .await;
}

#[tokio::test]
async fn cleanup_deletes_only_vouched_for_branches_of_closed_prs() {
    let w = World::new().await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/git/matching-refs/heads/test-this-pr/")))
        .respond_with(ok(json!([
            {"ref": "refs/heads/test-this-pr/1", "object": {"sha": MERGE}},
            {"ref": "refs/heads/test-this-pr/notes", "object": {"sha": OTHER}}
        ])))
        .mount(&w.gh.server)
        .await;
    w.get(
        "/pulls/1",
        json!({"state": "closed", "updated_at": "2026-01-01T00:00:00Z"}),
    )
    .await;
    w.writes_ok().await;
    w.branch_at("test-this-pr/1", Some(MERGE)).await;
    // The comment vouches for another SHA (a newer trigger re-pointed the branch): refused.
    with_state_comment(&w, OTHER).await;
    let c = client(&w.gh, false).await;
    let items = pr_bridge::cleanup(&c, &repo(), &opts(), Duration::from_secs(7 * 86400), ME)
        .await
        .unwrap();
    assert_eq!(items[0].action, "skipped", "{items:?}");
    assert_eq!(items[1].action, "skipped");
    w.gh.assert_no_writes().await;

    let w = World::new().await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/git/matching-refs/heads/test-this-pr/")))
        .respond_with(ok(
            json!([{"ref": "refs/heads/test-this-pr/1", "object": {"sha": MERGE}}]),
        ))
        .mount(&w.gh.server)
        .await;
    w.get(
        "/pulls/1",
        json!({"state": "closed", "updated_at": "2026-01-01T00:00:00Z"}),
    )
    .await;
    w.writes_ok().await;
    w.branch_at("test-this-pr/1", Some(MERGE)).await;
    with_state_comment(&w, MERGE).await;
    let c = client(&w.gh, false).await;
    let items = pr_bridge::cleanup(&c, &repo(), &opts(), Duration::from_secs(7 * 86400), ME)
        .await
        .unwrap();
    assert_eq!(items[0].action, "deleted", "{items:?}");
    w.gh.assert_writes(&[&format!("DELETE {R}/git/refs/heads/test-this-pr/1")])
        .await;
}

#[tokio::test]
async fn body_matchers_are_exact_for_the_branch_creation() {
    // The POST body is exactly {ref, sha}: a body_json matcher that would 404 otherwise.
    let w = World::new().await;
    Mock::given(method("POST"))
        .and(path(format!("{R}/git/refs")))
        .and(body_json(
            json!({"ref": "refs/heads/test-this-pr/1", "sha": MERGE}),
        ))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"ref": "refs/heads/test-this-pr/1"})),
        )
        .expect(1)
        .with_priority(1)
        .mount(&w.gh.server)
        .await;
    w.happy().await;
    w.branch_at("test-this-pr/1", None).await;
    trigger(
        &w,
        &event(&trigger_body(), "maintainer", "created"),
        &opts(),
    )
    .await
    .unwrap();
}

// ------------------------------------------------------------------ workflow_run (ghops serve)

fn run_event(branch: &str, sha: &str, action: &str, conclusion: Option<&str>) -> WorkflowRunEvent {
    let mut v = fixture_json("workflow_run.completed.json");
    v["action"] = json!(action);
    v["repository"]["full_name"] = json!("Codertocat/Hello-World");
    let r = &mut v["workflow_run"];
    r["id"] = json!(77);
    r["name"] = json!("CI");
    r["html_url"] = json!("https://github.com/Codertocat/Hello-World/actions/runs/77");
    r["head_branch"] = json!(branch);
    r["head_sha"] = json!(sha);
    r["head_repository"]["full_name"] = json!("Codertocat/Hello-World");
    r["status"] = json!(if action == "completed" {
        "completed"
    } else {
        "in_progress"
    });
    r["conclusion"] = json!(conclusion);
    serde_json::from_value(v).unwrap()
}

fn run77(status: &str, conclusion: Option<&str>) -> Value {
    json!({"id": 77, "name": "CI", "html_url": "https://github.com/Codertocat/Hello-World/actions/runs/77", "status": status, "conclusion": conclusion})
}

async fn me_is_ghops(w: &World) {
    Mock::given(method("GET"))
        .and(path("/user"))
        .respond_with(ok(json!({"login": ME, "id": 3, "type": "User"})))
        .mount(&w.gh.server)
        .await;
}

#[tokio::test]
async fn workflow_run_events_that_are_not_ours_make_no_api_call() {
    let cases = [
        (
            run_event("master", MERGE, "completed", Some("success")),
            "run 77 on \"master\", not a test-this-pr/<pr> branch",
        ),
        (
            run_event("test-this-pr/1", MERGE, "in_progress", None),
            "run 77 is in_progress, not completed",
        ),
        (
            {
                let mut e = run_event("test-this-pr/1", MERGE, "completed", Some("success"));
                e.workflow_run.head_repository.as_mut().unwrap().full_name =
                    "forker/Hello-World".into();
                e
            },
            "run 77 is for forker/Hello-World's branch, not this repository's",
        ),
    ];
    for (ev, reason) in cases {
        let w = World::new().await;
        let c = client(&w.gh, false).await;
        let out = pr_bridge::on_workflow_run(&c, &repo(), &ev, &opts())
            .await
            .unwrap();
        assert_eq!(
            out,
            RunOutcome::Ignored {
                reason: reason.into()
            }
        );
        assert!(w.gh.seen().await.is_empty(), "{:?}", w.gh.lines().await);
    }
}

#[tokio::test]
async fn workflow_run_for_a_superseded_merge_commit_is_ignored_without_writes() {
    let w = World::new().await;
    me_is_ghops(&w).await;
    with_state_comment(&w, OTHER).await;
    let c = client(&w.gh, false).await;
    let ev = run_event("test-this-pr/1", MERGE, "completed", Some("success"));
    let out = pr_bridge::on_workflow_run(&c, &repo(), &ev, &opts())
        .await
        .unwrap();
    assert!(
        matches!(&out, RunOutcome::Ignored { reason } if reason.contains("not the merge commit")),
        "{out:?}"
    );
    w.gh.assert_lines(&[
        "GET /user",
        &format!("GET {R}/issues/1/comments?per_page=100"),
    ])
    .await;
}

#[tokio::test]
async fn workflow_run_completed_waits_for_the_last_run_then_reports_once() {
    // Another run for the merge commit is still going: nothing is written.
    let w = World::new().await;
    me_is_ghops(&w).await;
    with_state_comment(&w, MERGE).await;
    w.writes_ok().await;
    w.branch_at("test-this-pr/1", Some(MERGE)).await;
    // The listing lags: it still shows run 77 in progress; the event says it completed.
    w.runs(json!([run77("in_progress", None), {"id": 78, "name": "Deploy", "status": "queued"}]))
        .await;
    let c = client(&w.gh, false).await;
    let ev = run_event("test-this-pr/1", MERGE, "completed", Some("success"));
    let out = pr_bridge::on_workflow_run(&c, &repo(), &ev, &opts())
        .await
        .unwrap();
    assert_eq!(out, RunOutcome::Pending { pr: 1, pending: 1 });
    w.gh.assert_no_writes().await;

    // The last run completed (cancelled): reported as failed, branch deleted, one comment.
    let w = World::new().await;
    me_is_ghops(&w).await;
    with_state_comment(&w, MERGE).await;
    w.writes_ok().await;
    w.branch_at("test-this-pr/1", Some(MERGE)).await;
    w.runs(json!([run77("in_progress", None), {"id": 78, "name": "Deploy", "status": "completed", "conclusion": "success"}]))
        .await;
    let c = client(&w.gh, false).await;
    let ev = run_event("test-this-pr/1", MERGE, "completed", Some("cancelled"));
    let out = pr_bridge::on_workflow_run(&c, &repo(), &ev, &opts())
        .await
        .unwrap();
    let RunOutcome::Reported(r) = out else {
        panic!("{out:?}")
    };
    assert_eq!(r.verdict, Some(Verdict::Failed));
    assert!(r.branch_deleted);
    w.gh.assert_lines(&[
        "GET /user",
        &format!("GET {R}/issues/1/comments?per_page=100"),
        &format!("GET {R}/actions/runs?branch=test-this-pr%2F1&head_sha={MERGE}&per_page=100"),
        &format!("GET {R}/git/ref/heads/test-this-pr/1"),
        &format!("DELETE {R}/git/refs/heads/test-this-pr/1"),
        // Re-read: has a newer trigger taken the status comment over meanwhile?
        &format!("GET {R}/issues/1/comments?per_page=100"),
        &format!("GET {R}/issues/1/comments?per_page=100"),
        &format!("PATCH {R}/issues/comments/5000"),
    ])
    .await;
    let _g = insta_settings(None).bind_to_scope();
    insta::assert_snapshot!("workflow_run_reported_cancelled", w.comment_body().await);
}

#[tokio::test]
async fn a_repeated_workflow_run_delivery_writes_nothing() {
    let w = World::new().await;
    me_is_ghops(&w).await;
    let st = pr_bridge::render::State {
        branch: "test-this-pr/1".into(),
        head_sha: HEAD.into(),
        merge_sha: MERGE.into(),
        base: "main".into(),
    };
    let runs: Vec<pr_bridge::render::RunLink> =
        serde_json::from_value(json!([run77("completed", Some("success"))])).unwrap();
    let done = pr_bridge::render::reported(&st, Verdict::Passed, &runs, true);
    w.comments(json!([{"id": 5000, "body": done, "user": {"login": ME, "id": 3}}]))
        .await;
    w.writes_ok().await;
    // The first delivery deleted the branch.
    w.branch_at("test-this-pr/1", None).await;
    w.runs(json!([run77("completed", Some("success"))])).await;
    let c = client(&w.gh, false).await;
    let ev = run_event("test-this-pr/1", MERGE, "completed", Some("success"));
    let out = pr_bridge::on_workflow_run(&c, &repo(), &ev, &opts())
        .await
        .unwrap();
    assert!(
        matches!(&out, RunOutcome::Reported(r) if r.verdict == Some(Verdict::Passed) && r.branch_deleted),
        "{out:?}"
    );
    w.gh.assert_no_writes().await;
}

#[tokio::test]
async fn a_forks_run_on_a_same_named_branch_at_the_merge_commit_does_not_count() {
    // A fork can push the (public) merge commit to its own branch `test-this-pr/1` and open a
    // PR: its run matches `branch=` and `head_sha=` but is not ours.
    let w = World::new().await;
    with_state_comment(&w, MERGE).await;
    w.writes_ok().await;
    w.branch_at("test-this-pr/1", Some(MERGE)).await;
    w.runs(json!([
        {"id": 66, "name": "Evil", "status": "completed", "conclusion": "failure", "event": "pull_request",
         "head_repository": {"full_name": "forker/Hello-World"}},
        {"id": 77, "name": "CI", "status": "completed", "conclusion": "success", "event": "push",
         "head_repository": {"full_name": "Codertocat/Hello-World"}}
    ]))
    .await;
    let c = client(&w.gh, false).await;
    let out = pr_bridge::report(&c, &repo(), 1, &opts(), wait(), ME)
        .await
        .unwrap();
    assert_eq!(out.verdict, Some(Verdict::Passed));
    assert_eq!(
        out.runs.iter().map(|r| r.id).collect::<Vec<_>>(),
        [77],
        "{out:?}"
    );
}

#[tokio::test]
async fn a_merged_pr_is_refused_like_a_closed_one() {
    let w = World::new().await;
    w.permission("maintainer", "write").await;
    let mut p = pull(json!(null), "closed", HEAD);
    p["merged"] = json!(true);
    w.pr(p).await;
    w.writes_ok().await;
    w.comments(json!([])).await;
    let c = refused_after_pr_read(&w, &trigger_body(), "is closed").await;
    assert!(c.contains("This pull request is closed"), "{c}");
    // Never re-read for mergeability, never a git call.
    let lines = w.gh.lines().await;
    assert_eq!(lines.iter().filter(|l| l.ends_with("/pulls/1")).count(), 1);
    assert!(!lines.iter().any(|l| l.contains("/git/")), "{lines:?}");
}

#[tokio::test]
async fn cleanup_deletes_idle_prs_branches_keeps_active_ones_and_dry_run_sends_nothing() {
    let now = chrono::Utc::now().to_rfc3339();
    for dry_run in [false, true] {
        let w = World::new().await;
        Mock::given(method("GET"))
            .and(path(format!("{R}/git/matching-refs/heads/test-this-pr/")))
            .respond_with(ok(json!([
                {"ref": "refs/heads/test-this-pr/2", "object": {"sha": MERGE}},
                {"ref": "refs/heads/test-this-pr/3", "object": {"sha": OTHER}}
            ])))
            .mount(&w.gh.server)
            .await;
        w.get(
            "/pulls/2",
            json!({"state": "open", "updated_at": "2026-01-01T00:00:00Z"}),
        )
        .await;
        w.get("/pulls/3", json!({"state": "open", "updated_at": now}))
            .await;
        let st = pr_bridge::render::State {
            branch: "test-this-pr/2".into(),
            head_sha: HEAD.into(),
            merge_sha: MERGE.into(),
            base: "main".into(),
        };
        w.get(
            "/issues/2/comments",
            json!([{"id": 6000, "body": pr_bridge::render::started(&st, "maintainer", &[], &[]), "user": {"login": ME, "id": 3}}]),
        )
        .await;
        w.branch_at("test-this-pr/2", Some(MERGE)).await;
        Mock::given(method("DELETE"))
            .and(path(format!("{R}/git/refs/heads/test-this-pr/2")))
            .respond_with(ResponseTemplate::new(204))
            .mount(&w.gh.server)
            .await;
        let c = client(&w.gh, dry_run).await;
        let items = pr_bridge::cleanup(&c, &repo(), &opts(), Duration::from_secs(7 * 86400), ME)
            .await
            .unwrap();
        let got: Vec<(&str, &str)> = items
            .iter()
            .map(|i| (i.branch.as_str(), i.action.as_str()))
            .collect();
        let deleted = if dry_run { "would_delete" } else { "deleted" };
        assert_eq!(
            got,
            [("test-this-pr/2", deleted), ("test-this-pr/3", "kept")],
            "{items:?}"
        );
        assert!(items[0].reason.starts_with("PR #2 idle for "), "{items:?}");
        if dry_run {
            w.gh.assert_no_writes().await;
        } else {
            w.gh.assert_writes(&[&format!("DELETE {R}/git/refs/heads/test-this-pr/2")])
                .await;
        }
    }
}

#[tokio::test]
async fn a_report_superseded_by_a_newer_trigger_leaves_its_status_comment_alone() {
    // Read at the start: the comment records MERGE. Meanwhile a newer trigger re-points the
    // branch to OTHER and rewrites the comment: the older report must not overwrite it.
    let w = World::new().await;
    let state = |merge: &str| pr_bridge::render::State {
        branch: "test-this-pr/1".into(),
        head_sha: HEAD.into(),
        merge_sha: merge.into(),
        base: "main".into(),
    };
    let comment = |merge: &str| json!([{"id": 5000, "body": pr_bridge::render::started(&state(merge), "maintainer", &[], &[]), "user": {"login": ME, "id": 3}}]);
    Mock::given(method("GET"))
        .and(path(format!("{R}/issues/1/comments")))
        .respond_with(ok(comment(MERGE)))
        .up_to_n_times(1)
        .mount(&w.gh.server)
        .await;
    w.comments(comment(OTHER)).await;
    w.writes_ok().await;
    w.branch_at("test-this-pr/1", Some(OTHER)).await;
    w.runs(json!([run77("completed", Some("success"))])).await;
    let c = client(&w.gh, false).await;
    let o = Options {
        commit_status: true,
        ..opts()
    };
    let out = pr_bridge::report(&c, &repo(), 1, &o, wait(), ME)
        .await
        .unwrap();
    assert!(!out.branch_deleted);
    assert!(out.message.contains("superseded"), "{out:?}");
    w.gh.assert_no_writes().await;
}
