//! pr-bridge against a wiremock GitHub: every scenario asserts the exact requests made and
//! that no other write happened; every comment body is snapshotted. GraphQL reads appear in
//! request lists as `GRAPHQL pr` (the trigger's one read) and `GRAPHQL comments` (ghops's own
//! comments).

use std::time::Duration;

use gh_core::ExitStatus as _;
use gh_core::auth::{Credentials, SecretString, TokenSource};
use gh_core::client::ClientConfig;
use gh_core::events::{IssueCommentEvent, WorkflowRunEvent};
use gh_core::retry::RetryPolicy;
use gh_core::{GitHub, RepoRef};
use ghops_test_support::{MockGitHub, Seen, fixture_json, insta_settings};
use pr_bridge::render::Verdict;
use pr_bridge::{BranchAction, BridgeError, Options, RunOutcome, ThisRun, TriggerOutcome, Wait};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, body_string_contains, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

const HEAD: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
const BASE: &str = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e";
const MERGE: &str = "9049f1265b7d61be4a8904a9a27120d2064dab3b";
const OTHER: &str = "0123456789abcdef0123456789abcdef01234567";
const WF: &str = "1111111111111111111111111111111111111111";
const R: &str = "/repos/Codertocat/Hello-World";
const COMMENT_ID: u64 = 492700400;
/// Only the comments-only query declares exactly these variables.
const COMMENTS_QUERY: &str = "$number: Int!, $before: String)";

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

async fn client_with(gh: &MockGitHub, dry_run: bool, token: &str) -> GitHub {
    let mut c = ClientConfig::new(Credentials::Token {
        token: SecretString::from(token.to_owned()),
        source: TokenSource::Flag,
    });
    c.api_url = gh.uri();
    c.retry = RetryPolicy::fast();
    c.dry_run = dry_run;
    GitHub::connect(c).await.unwrap()
}

async fn client(gh: &MockGitHub, dry_run: bool) -> GitHub {
    client_with(gh, dry_run, "ghp_bridgeTESTtoken0123456789").await
}

/// A comment node as GraphQL returns it; `mine` is `viewerDidAuthor`.
fn comment(id: u64, body: &str, mine: bool) -> Value {
    json!({"fullDatabaseId": id.to_string(), "viewerDidAuthor": mine, "body": body})
}

fn conn(nodes: Value) -> Value {
    json!({"pageInfo": {"hasPreviousPage": false, "startCursor": null}, "nodes": nodes})
}

/// The PR as the trigger's GraphQL query returns it: a fork PR whose test merge commit joins
/// the base's tip and `head`, with the base's workflows.
fn pull(mergeable: &str, state: &str, head: &str) -> Value {
    json!({
        "state": state, "headRefOid": head, "baseRefOid": BASE, "baseRefName": "main",
        "isCrossRepository": true, "headRepository": {"nameWithOwner": "forker/Hello-World"},
        "mergeable": mergeable,
        "potentialMergeCommit": {
            "oid": MERGE, "file": {"oid": WF},
            "parents": {"nodes": [{"oid": BASE, "file": {"oid": WF}}, {"oid": head, "file": {"oid": WF}}]}
        },
        "comments": conn(json!([]))
    })
}

/// A pull request as `GET pulls/{n}` answers it (the fields GitHub always sends).
fn rest_pull(n: u64, state: &str, updated_at: &str) -> Value {
    json!({
        "number": n, "state": state, "updated_at": updated_at,
        "head": {"ref": "topic", "sha": HEAD}, "base": {"ref": "main", "sha": "b".repeat(40)}
    })
}

fn pr_data(p: Value, branch_at: Option<&str>) -> Value {
    json!({"data": {"repository": {
        "ref": branch_at.map(|s| json!({"target": {"oid": s}})),
        "pullRequest": p
    }}})
}

fn comments_data(nodes: Value) -> Value {
    json!({"data": {"repository": {"pullRequest": {"comments": conn(nodes)}}}})
}

fn ok(v: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(v)
}

/// Request lines, GraphQL reads named by their query.
fn line(s: &Seen) -> String {
    if s.path == "/graphql" {
        let q = s.body["query"].as_str().unwrap_or_default();
        if q.contains("qualifiedName") {
            "GRAPHQL pr".into()
        } else {
            "GRAPHQL comments".into()
        }
    } else {
        s.line()
    }
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

    async fn lines(&self) -> Vec<String> {
        self.gh.seen().await.iter().map(line).collect()
    }

    async fn assert_lines(&self, expected: &[&str]) {
        assert_eq!(self.lines().await, expected, "requests differ");
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

    /// The trigger's GraphQL read answers this PR (and the branch where it points).
    async fn pr(&self, p: Value, branch_at: Option<&str>) {
        self.pr_prio(p, branch_at, 5).await;
    }

    async fn pr_prio(&self, p: Value, branch_at: Option<&str>, priority: u8) {
        Mock::given(method("POST"))
            .and(path("/graphql"))
            .and(body_string_contains("qualifiedName"))
            .respond_with(ok(pr_data(p, branch_at)))
            .with_priority(priority)
            .mount(&self.gh.server)
            .await;
    }

    /// ghops's comments as the comments query answers them (the same list the PR query
    /// carries when it is built with [`pull_with_comments`]).
    async fn own(&self, nodes: Value) {
        Mock::given(method("POST"))
            .and(path("/graphql"))
            .and(body_string_contains(COMMENTS_QUERY))
            .respond_with(ok(comments_data(nodes)))
            .with_priority(10)
            .mount(&self.gh.server)
            .await;
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
            ("PATCH", format!("{R}/issues/comments/5000"), 200),
            ("DELETE", format!("{R}/issues/comments/5000"), 204),
            ("DELETE", format!("{R}/issues/comments/5001"), 204),
        ] {
            Mock::given(method(m))
                .and(path(p))
                .respond_with(ResponseTemplate::new(status).set_body_json(json!({"id": 5000})))
                .mount(&self.gh.server)
                .await;
        }
        Mock::given(method("POST"))
            .and(path(format!("{R}/issues/1/comments")))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({
                "id": 5000, "body": "x", "user": {"login": "ghops-app[bot]", "id": 3},
                "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
            })))
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
                s.method != "DELETE"
                    && (s.path.contains("/issues/1/comments")
                        || s.path.contains("/issues/comments/5000"))
            })
            .collect();
        assert_eq!(c.len(), 1, "{w:?}");
        c[0].body["body"].as_str().unwrap().to_owned()
    }

    /// A trigger that succeeds: write permission, an open mergeable fork PR, no branch yet, no
    /// comment yet.
    async fn happy(&self) {
        self.permission("maintainer", "write").await;
        self.pr(pull("MERGEABLE", "OPEN", HEAD), None).await;
        self.writes_ok().await;
        // The converge read after the create: only the comment just created.
        self.own(json!([comment(5000, "<!-- ghops:pr-bridge -->", true)]))
            .await;
        self.runs(json!([{"id": 77, "name": "CI", "html_url": "https://github.com/Codertocat/Hello-World/actions/runs/77", "status": "queued"}]))
            .await;
    }
}

fn trigger_body() -> String {
    format!("LGTM!\n/test-this-pr sha={HEAD}")
}

async fn trigger(
    w: &World,
    ev: &IssueCommentEvent,
    o: &Options,
) -> Result<TriggerOutcome, BridgeError> {
    let c = client(&w.gh, false).await;
    pr_bridge::trigger(&c, &repo(), ev, o).await
}

fn started(merge: &str, runs: &[pr_bridge::render::RunLink]) -> String {
    let st = pr_bridge::render::State {
        branch: "test-this-pr/1".into(),
        head_sha: HEAD.into(),
        merge_sha: merge.into(),
        base: "main".into(),
    };
    pr_bridge::render::started(&st, "maintainer", runs, &[])
}

#[tokio::test]
async fn authorised_maintainer_on_a_fork_pr_happy_path_in_six_calls() {
    let w = World::new().await;
    w.happy().await;
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
            comment,
            ..
        } => {
            assert_eq!(*branch_action, BranchAction::Created);
            assert_eq!(branch, "test-this-pr/1");
            assert!(runs.is_empty());
            assert_eq!(*comment, gh_core::comments::Upserted::Created(5000));
        }
        o => panic!("{o:?}"),
    }
    // The whole trigger: 6 calls, every check kept (authorisation, open fork PR, pinned head,
    // mergeable, merge commit parents, workflow trees, exact branch, one status comment).
    w.assert_lines(&[
        &format!("GET {R}/collaborators/maintainer/permission"),
        "GRAPHQL pr",
        &format!("POST {R}/git/refs"),
        &format!("POST {R}/issues/comments/{COMMENT_ID}/reactions"),
        &format!("POST {R}/issues/1/comments"),
        "GRAPHQL comments",
    ])
    .await;
    let seen = w.gh.seen().await;
    assert_eq!(
        seen[1].body["variables"],
        json!({"owner": "Codertocat", "name": "Hello-World", "number": 1, "before": null, "branch": "refs/heads/test-this-pr/1"})
    );
    let writes = w.writes().await;
    assert_eq!(
        writes[0].body,
        json!({"ref": "refs/heads/test-this-pr/1", "sha": MERGE})
    );
    assert_eq!(writes[1].body, json!({"content": "rocket"}));
    let _g = insta_settings(None).bind_to_scope();
    insta::assert_snapshot!("status_started", w.comment_body().await);
}

#[tokio::test]
async fn with_run_wait_the_run_is_linked_and_commit_status_set() {
    let w = World::new().await;
    w.happy().await;
    let o = Options {
        run_wait_secs: 5,
        commit_status: true,
        ..opts()
    };
    let out = trigger(&w, &event(&trigger_body(), "maintainer", "created"), &o)
        .await
        .unwrap();
    let TriggerOutcome::Started { runs, .. } = out else {
        panic!("{out:?}")
    };
    assert_eq!(runs.len(), 1);
    w.assert_lines(&[
        &format!("GET {R}/collaborators/maintainer/permission"),
        "GRAPHQL pr",
        &format!("POST {R}/git/refs"),
        &format!("POST {R}/issues/comments/{COMMENT_ID}/reactions"),
        &format!("GET {R}/actions/runs?branch=test-this-pr%2F1&head_sha={MERGE}&per_page=100"),
        &format!("POST {R}/issues/1/comments"),
        "GRAPHQL comments",
        &format!("POST {R}/statuses/{HEAD}"),
    ])
    .await;
    assert!(w.comment_body().await.contains("[CI #77]"));
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
        w.writes_ok().await;
        w.own(json!([])).await;
        let e = trigger(&w, &event(&trigger_body(), user, "created"), &opts())
            .await
            .unwrap_err();
        assert!(matches!(e, BridgeError::Refused(_)), "{e}");
        w.assert_lines(&[
            &format!("GET {R}/collaborators/{user}/permission"),
            "GRAPHQL comments",
            &format!("POST {R}/issues/1/comments"),
            "GRAPHQL comments",
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
async fn a_permission_api_outage_says_try_again_not_unauthorised() {
    let w = World::new().await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/collaborators/maintainer/permission")))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"message": "boom"})))
        .mount(&w.gh.server)
        .await;
    w.writes_ok().await;
    w.own(json!([])).await;
    let e = trigger(
        &w,
        &event(&trigger_body(), "maintainer", "created"),
        &opts(),
    )
    .await
    .unwrap_err();
    // Failed closed (nothing tested), as an API failure (exit 4), not a policy refusal.
    assert!(matches!(e, BridgeError::Unavailable(_)), "{e}");
    assert_eq!(gh_core::ExitStatus::exit_code(&e), gh_core::ExitCode::Api);
    let body = w.comment_body().await;
    assert!(body.contains("could not check your permission"), "{body}");
    assert!(body.contains("try again"), "{body}");
    assert!(!body.contains("not authorised"), "{body}");
    assert!(!w.lines().await.iter().any(|l| l == "GRAPHQL pr"));
    assert!(!w.lines().await.iter().any(|l| l.contains("/git/")));
}

#[tokio::test]
async fn ignored_events_make_no_api_call() {
    let w = World::new().await;
    for ev in [
        event(&trigger_body(), "maintainer", "edited"),
        event(&trigger_body(), "maintainer", "deleted"),
        on_issue(&trigger_body()),
        event(
            &format!("> /test-this-pr sha={HEAD}"),
            "maintainer",
            "created",
        ),
        event(
            &format!("```\n/test-this-pr sha={HEAD}\n```"),
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
        // Hidden from the rendered comment (issue 21): an HTML comment opened mid-line, a
        // multi-line attribute.
        event(
            &format!("LGTM <!--\n/test-this-pr sha={HEAD}\n-->"),
            "maintainer",
            "created",
        ),
        event(
            &format!("LGTM <img alt=\"\n/test-this-pr sha={HEAD}\n\" src=x>"),
            "maintainer",
            "created",
        ),
    ] {
        let out = trigger(&w, &ev, &opts()).await.unwrap();
        assert!(matches!(out, TriggerOutcome::Ignored { .. }), "{out:?}");
    }
    assert!(w.gh.seen().await.is_empty());
}

/// Refused after authorisation: the only write is the one refusal reply.
async fn refused_after_authorisation(w: &World, body: &str, expect: &str) -> String {
    let e = trigger(w, &event(body, "maintainer", "created"), &opts())
        .await
        .unwrap_err();
    assert!(e.to_string().contains(expect), "{e}");
    let writes: Vec<String> = w.writes().await.iter().map(Seen::line).collect();
    assert_eq!(writes, [format!("POST {R}/issues/1/comments")]);
    w.comment_body().await
}

#[tokio::test]
async fn pinned_sha_absent_short_non_hex_or_stale_is_refused() {
    let _g = insta_settings(None).bind_to_scope();
    let stale = format!("/test-this-pr sha={OTHER}");
    for (body, expect, snap) in [
        ("/test-this-pr", "sha= is required", "refusal_sha_missing"),
        // 7 characters of the real head: a prefix can be ground, so never accepted.
        (
            "/test-this-pr sha=ec26c3e",
            "full 40-character SHA",
            "refusal_sha_short",
        ),
        (
            "/test-this-pr sha=ec26c3e57ca3a959",
            "full 40-character SHA",
            "refusal_sha_short_16",
        ),
        (
            "/test-this-pr sha=zzzzzzzz",
            "full 40-character SHA",
            "refusal_sha_non_hex",
        ),
        (stale.as_str(), "does not match head", "refusal_sha_stale"),
    ] {
        let w = World::new().await;
        w.happy().await;
        w.own(json!([])).await;
        let c = refused_after_authorisation(&w, body, expect).await;
        if snap == "refusal_sha_missing" {
            // A bare trigger (mybinder's habit) stays refused, but the reply holds the exact
            // line to paste: the trigger with the head's full 40-hex SHA, in a code block of
            // its own (copyable, and never itself a trigger).
            let paste = format!("/test-this-pr sha={HEAD}");
            assert!(c.contains(&format!("\n```\n{paste}\n```\n")), "{c}");
        }
        insta::assert_snapshot!(snap, c);
    }
}

#[tokio::test]
async fn head_moved_between_pr_read_and_merge_commit_is_refused() {
    let w = World::new().await;
    w.happy().await;
    // The merge commit was computed for another head.
    let mut p = pull("MERGEABLE", "OPEN", HEAD);
    p["potentialMergeCommit"]["parents"]["nodes"][1]["oid"] = json!(OTHER);
    w.pr_prio(p, None, 1).await;
    // The parents rendered plainly (no Rust `Debug` list).
    let want = format!("has parents {BASE}, {OTHER}; expected base {BASE} and head {HEAD}");
    let c = refused_after_authorisation(&w, &trigger_body(), &want).await;
    let _g = insta_settings(None).bind_to_scope();
    insta::assert_snapshot!("refusal_parents", c);
}

#[tokio::test]
async fn closed_pr_and_conflicting_pr_with_a_stale_merge_commit_are_refused() {
    let w = World::new().await;
    w.happy().await;
    w.pr_prio(pull("MERGEABLE", "CLOSED", HEAD), None, 1).await;
    refused_after_authorisation(&w, &trigger_body(), "is closed").await;

    let w = World::new().await;
    w.happy().await;
    // CONFLICTING, a stale test merge commit still present: never used.
    w.pr_prio(pull("CONFLICTING", "OPEN", HEAD), None, 1).await;
    let c = refused_after_authorisation(&w, &trigger_body(), "does not merge cleanly").await;
    assert!(c.contains("conflicts with `main`"), "{c}");
    assert!(!w.lines().await.iter().any(|l| l.contains("/git/")));
}

#[tokio::test]
async fn a_merged_pr_is_refused_like_a_closed_one() {
    let w = World::new().await;
    w.happy().await;
    let mut p = pull("UNKNOWN", "MERGED", HEAD);
    p["potentialMergeCommit"] = Value::Null;
    w.pr_prio(p, None, 1).await;
    let c = refused_after_authorisation(&w, &trigger_body(), "is merged").await;
    assert!(c.contains("This pull request is closed"), "{c}");
    // Never re-read for mergeability, never a git call.
    let lines = w.lines().await;
    assert_eq!(lines.iter().filter(|l| *l == "GRAPHQL pr").count(), 1);
    assert!(!lines.iter().any(|l| l.contains("/git/")), "{lines:?}");
}

#[tokio::test]
async fn mergeable_unknown_twice_then_known_proceeds_and_unknown_forever_times_out() {
    let w = World::new().await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_string_contains("qualifiedName"))
        .respond_with(ok(pr_data(pull("UNKNOWN", "OPEN", HEAD), None)))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&w.gh.server)
        .await;
    w.happy().await;
    trigger(
        &w,
        &event(&trigger_body(), "maintainer", "created"),
        &opts(),
    )
    .await
    .unwrap();
    let reads = w
        .lines()
        .await
        .iter()
        .filter(|l| *l == "GRAPHQL pr")
        .count();
    assert_eq!(reads, 3);

    let w = World::new().await;
    w.happy().await;
    w.own(json!([])).await;
    let mut p = pull("UNKNOWN", "OPEN", HEAD);
    p["potentialMergeCommit"] = Value::Null;
    w.pr_prio(p, None, 1).await;
    let e = trigger(
        &w,
        &event(&trigger_body(), "maintainer", "created"),
        &opts(),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, BridgeError::Timeout(_)), "{e}");
    let reads = w
        .lines()
        .await
        .iter()
        .filter(|l| *l == "GRAPHQL pr")
        .count();
    assert_eq!(reads, 5);
    let _g = insta_settings(None).bind_to_scope();
    insta::assert_snapshot!("refusal_mergeable_unknown", w.comment_body().await);
}

#[tokio::test]
async fn branch_already_at_the_merge_commit_and_the_same_comment_write_only_the_reaction() {
    let w = World::new().await;
    w.happy().await;
    let mut p = pull("MERGEABLE", "OPEN", HEAD);
    p["comments"] = conn(json!([
        comment(4000, "LGTM", false),
        comment(5000, &started(MERGE, &[]), true)
    ]));
    w.pr_prio(p, Some(MERGE), 1).await;
    let out = trigger(
        &w,
        &event(&trigger_body(), "maintainer", "created"),
        &opts(),
    )
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
    // No ref read, no ref write, no comment write: the one GraphQL read knew both.
    w.assert_lines(&[
        &format!("GET {R}/collaborators/maintainer/permission"),
        "GRAPHQL pr",
        &format!("POST {R}/issues/comments/{COMMENT_ID}/reactions"),
    ])
    .await;
}

#[tokio::test]
async fn a_later_trigger_moves_the_branch_and_updates_the_comment_in_five_calls() {
    let w = World::new().await;
    w.happy().await;
    let mut p = pull("MERGEABLE", "OPEN", HEAD);
    p["comments"] = conn(json!([comment(5000, &started(OTHER, &[]), true)]));
    w.pr_prio(p, Some(OTHER), 1).await;
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
    w.assert_lines(&[
        &format!("GET {R}/collaborators/maintainer/permission"),
        "GRAPHQL pr",
        &format!("PATCH {R}/git/refs/heads/test-this-pr/1"),
        &format!("POST {R}/issues/comments/{COMMENT_ID}/reactions"),
        &format!("PATCH {R}/issues/comments/5000"),
    ])
    .await;
    let writes = w.writes().await;
    assert_eq!(writes[0].body, json!({"sha": MERGE, "force": true}));
    assert_eq!(writes[2].body["body"], json!(started(MERGE, &[])));
}

#[tokio::test]
async fn a_branch_created_meanwhile_is_read_on_422_and_settled() {
    let w = World::new().await;
    Mock::given(method("POST"))
        .and(path(format!("{R}/git/refs")))
        .respond_with(
            ResponseTemplate::new(422)
                .set_body_json(json!({"message": "Reference already exists"})),
        )
        .with_priority(1)
        .mount(&w.gh.server)
        .await;
    w.happy().await;
    w.branch_at("test-this-pr/1", Some(MERGE)).await;
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
            branch_action: BranchAction::Unchanged,
            ..
        }
    ));
    let lines = w.lines().await;
    assert_eq!(
        lines[2..4],
        [
            format!("POST {R}/git/refs"),
            format!("GET {R}/git/ref/heads/test-this-pr/1")
        ]
    );
    assert!(!lines.iter().any(|l| l.contains("matching-refs")));
}

#[tokio::test]
async fn a_502_on_the_comment_post_then_success_leaves_one_comment() {
    let w = World::new().await;
    Mock::given(method("POST"))
        .and(path(format!("{R}/issues/1/comments")))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&w.gh.server)
        .await;
    w.happy().await;
    // GitHub did create it: the re-read finds it.
    w.own(json!([comment(5000, &started(MERGE, &[]), true)]))
        .await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_string_contains(COMMENTS_QUERY))
        .respond_with(ok(comments_data(json!([comment(
            5000,
            &started(MERGE, &[]),
            true
        )]))))
        .with_priority(1)
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
async fn concurrent_creates_converge_the_later_writer_deletes_its_own_duplicate() {
    // Another delivery created the status comment (5000) between this trigger's read and its
    // create (5001): this writer is the later one, so it deletes 5001 and writes its body
    // into 5000.
    let w = World::new().await;
    Mock::given(method("POST"))
        .and(path(format!("{R}/issues/1/comments")))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 5001})))
        .with_priority(1)
        .mount(&w.gh.server)
        .await;
    w.happy().await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_string_contains(COMMENTS_QUERY))
        .respond_with(ok(comments_data(json!([
            comment(5000, &started(OTHER, &[]), true),
            comment(5001, &started(MERGE, &[]), true)
        ]))))
        .with_priority(1)
        .mount(&w.gh.server)
        .await;
    let out = trigger(
        &w,
        &event(&trigger_body(), "maintainer", "created"),
        &opts(),
    )
    .await
    .unwrap();
    let TriggerOutcome::Started { comment: c, .. } = out else {
        panic!("{out:?}")
    };
    assert_eq!(c, gh_core::comments::Upserted::Updated(5000));
    w.gh.assert_writes(&[
        &format!("POST {R}/git/refs"),
        &format!("POST {R}/issues/comments/{COMMENT_ID}/reactions"),
        &format!("POST {R}/issues/1/comments"),
        &format!("DELETE {R}/issues/comments/5001"),
        &format!("PATCH {R}/issues/comments/5000"),
    ])
    .await;

    // The earlier writer (its comment is the oldest) keeps it and writes nothing more.
    let w = World::new().await;
    w.happy().await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_string_contains(COMMENTS_QUERY))
        .respond_with(ok(comments_data(json!([
            comment(5000, &started(MERGE, &[]), true),
            comment(5001, &started(OTHER, &[]), true)
        ]))))
        .with_priority(1)
        .mount(&w.gh.server)
        .await;
    trigger(
        &w,
        &event(&trigger_body(), "maintainer", "created"),
        &opts(),
    )
    .await
    .unwrap();
    w.gh.assert_writes(&[
        &format!("POST {R}/git/refs"),
        &format!("POST {R}/issues/comments/{COMMENT_ID}/reactions"),
        &format!("POST {R}/issues/1/comments"),
    ])
    .await;
}

#[tokio::test]
async fn with_an_app_installation_token_its_own_comment_is_found_without_knowing_its_login() {
    // GH_TOKEN from actions/create-github-app-token (`ghs_`): the status comment written by
    // the App (`my-app[bot]`, not `github-actions[bot]`) is recognised by viewerDidAuthor and
    // updated, never duplicated; a look-alike by someone else is ignored. No identity call.
    let w = World::new().await;
    w.happy().await;
    let mut p = pull("MERGEABLE", "OPEN", HEAD);
    p["comments"] = conn(json!([
        comment(4000, &started(OTHER, &[]), false),
        comment(5000, &started(OTHER, &[]), true)
    ]));
    w.pr_prio(p, Some(OTHER), 1).await;
    let c = client_with(&w.gh, false, "ghs_installationTOKEN0123456789").await;
    pr_bridge::trigger(
        &c,
        &repo(),
        &event(&trigger_body(), "maintainer", "created"),
        &opts(),
    )
    .await
    .unwrap();
    w.gh.assert_writes(&[
        &format!("PATCH {R}/git/refs/heads/test-this-pr/1"),
        &format!("POST {R}/issues/comments/{COMMENT_ID}/reactions"),
        &format!("PATCH {R}/issues/comments/5000"),
    ])
    .await;
    assert!(
        !w.lines()
            .await
            .iter()
            .any(|l| l.contains("/user") || l.contains("/app"))
    );
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
    trigger(
        &w,
        &event(&trigger_body(), "maintainer", "created"),
        &opts(),
    )
    .await
    .unwrap();
    let perm = w
        .lines()
        .await
        .iter()
        .filter(|l| l.contains("/permission"))
        .count();
    assert_eq!(perm, 2);
}

#[tokio::test]
async fn prs_changing_workflows_warn_or_are_refused_however_many_files_they_change() {
    // The merge commit's `.github/workflows` tree differs from the base's: exact, with no
    // file list (the files API stops at 3,000 files, which let a huge PR hide a workflow
    // change).
    let changed = || {
        let mut p = pull("MERGEABLE", "OPEN", HEAD);
        p["potentialMergeCommit"]["file"] = json!({"oid": OTHER});
        p
    };
    let w = World::new().await;
    w.happy().await;
    w.pr_prio(changed(), None, 1).await;
    trigger(
        &w,
        &event(&trigger_body(), "maintainer", "created"),
        &opts(),
    )
    .await
    .unwrap();
    assert!(!w.lines().await.iter().any(|l| l.contains("/files")));
    let _g = insta_settings(None).bind_to_scope();
    insta::assert_snapshot!("status_started_workflow_warning", w.comment_body().await);

    // Refused: workflows added where the base has none, or changed.
    for p in [
        {
            let mut p = pull("MERGEABLE", "OPEN", HEAD);
            p["potentialMergeCommit"]["parents"]["nodes"][0]["file"] = Value::Null;
            p
        },
        changed(),
    ] {
        let w = World::new().await;
        w.happy().await;
        w.own(json!([])).await;
        w.pr_prio(p, None, 1).await;
        let o = Options {
            refuse_workflow_changes: true,
            ..opts()
        };
        let e = trigger(&w, &event(&trigger_body(), "maintainer", "created"), &o)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("workflow"), "{e}");
        w.gh.assert_writes(&[&format!("POST {R}/issues/1/comments")])
            .await;
    }
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
    w.own(json!([])).await;
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
async fn dry_run_performs_only_reads() {
    let w = World::new().await;
    w.happy().await;
    let c = client(&w.gh, true).await;
    let out = pr_bridge::trigger(
        &c,
        &repo(),
        &event(&trigger_body(), "maintainer", "created"),
        &opts(),
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
    Mock::given(method("POST"))
        .and(path("/graphql"))
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
    trigger(
        &w,
        &event(&trigger_body(), "maintainer", "created"),
        &opts(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn deliveries_for_one_pr_are_serialised_others_are_not() {
    let a = pr_bridge::lock_pr(&repo(), 1).await;
    // Another PR, or another repository, is not held up.
    let _b = pr_bridge::lock_pr(&repo(), 2).await;
    let _c = pr_bridge::lock_pr(&"other/Hello-World".parse().unwrap(), 1).await;
    // The same PR (case-insensitive repository) waits until the first is released: polled
    // now, it is pending (a free lock is taken on the first poll, as the two above were).
    let same: RepoRef = "codertocat/hello-world".parse().unwrap();
    let mut waiting = Box::pin(pr_bridge::lock_pr(&same, 1));
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    assert!(
        waiting.as_mut().poll(&mut cx).is_pending(),
        "a second delivery for PR 1 ran concurrently"
    );
    drop(a);
    let _g = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("released");
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
    w.own(json!([
        comment(4999, &body, false),
        comment(5000, &body, true)
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
        let out = pr_bridge::report(&c, &repo(), 1, &o, wait()).await.unwrap();
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

/// mybinder reports from a job of the very run the test branch's push started: that run is
/// `in_progress` for as long as the reporting job runs, so waiting for it never ends.
#[tokio::test]
async fn report_from_inside_the_tested_run_takes_its_result_and_waits_only_for_the_others() {
    let _g = insta_settings(None).bind_to_scope();
    let run = |id: u64, status: &str, conclusion: Option<&str>| {
        json!({"id": id, "name": "Continuous Deployment",
               "html_url": format!("https://github.com/Codertocat/Hello-World/actions/runs/{id}"),
               "status": status, "conclusion": conclusion})
    };
    for (own_result, other, verdict) in [
        ("success", Some("success"), Verdict::Passed),
        ("failure", Some("success"), Verdict::Failed),
        ("success", Some("failure"), Verdict::Failed),
        ("cancelled", None, Verdict::Failed),
        ("success", None, Verdict::Passed),
    ] {
        let w = World::new().await;
        with_state_comment(&w, MERGE).await;
        w.writes_ok().await;
        w.branch_at("test-this-pr/1", Some(MERGE)).await;
        // Run 88 is the reporting job's own (in progress); run 77 another workflow's.
        let mut runs = vec![run(88, "in_progress", None)];
        if let Some(c) = other {
            runs.push(run(77, "completed", Some(c)));
        }
        w.runs(Value::Array(runs)).await;
        let c = client(&w.gh, false).await;
        let this = ThisRun {
            id: 88,
            result: Some(own_result.to_owned()),
        };
        let out = tokio::time::timeout(
            Duration::from_secs(2),
            pr_bridge::report_in_run(&c, &repo(), 1, &opts(), wait(), Some(&this), &|_| {}),
        )
        .await
        .expect("must not wait for its own run")
        .unwrap();
        assert_eq!(out.verdict, Some(verdict), "{own_result} {other:?}");
        let own = out.runs.iter().find(|r| r.id == 88).unwrap();
        assert_eq!(
            (own.status.as_deref(), own.conclusion.as_deref()),
            (Some("completed"), Some(own_result))
        );
        // Exactly: the comments and runs reads, then the branch delete and the comment.
        let lines = w.lines().await;
        assert_eq!(
            lines,
            [
                "GRAPHQL comments".to_owned(),
                format!(
                    "GET {R}/actions/runs?branch=test-this-pr%2F1&head_sha={MERGE}&per_page=100"
                ),
                format!("GET {R}/git/ref/heads/test-this-pr/1"),
                format!("DELETE {R}/git/refs/heads/test-this-pr/1"),
                "GRAPHQL comments".to_owned(),
                format!("PATCH {R}/issues/comments/5000"),
            ]
        );
        if own_result == "failure" {
            insta::assert_snapshot!("report_in_run_failed", w.comment_body().await);
        }
    }
}

#[tokio::test]
async fn report_from_inside_the_tested_run_without_its_result_is_refused_at_once() {
    let w = World::new().await;
    with_state_comment(&w, MERGE).await;
    w.writes_ok().await;
    w.runs(json!([{"id": 88, "status": "in_progress"}, {"id": 77, "status": "completed", "conclusion": "success"}]))
        .await;
    let c = client(&w.gh, false).await;
    let this = ThisRun {
        id: 88,
        result: None,
    };
    let e = tokio::time::timeout(
        Duration::from_secs(2),
        pr_bridge::report_in_run(&c, &repo(), 1, &opts(), wait(), Some(&this), &|_| {}),
    )
    .await
    .expect("refused without waiting")
    .unwrap_err();
    assert_eq!(e.exit_code(), gh_core::ExitCode::Usage);
    let m = e.to_string();
    assert!(
        m.contains("run 88") && m.contains("--this-run-result") && m.contains("workflow_run"),
        "{m}"
    );
    w.gh.assert_no_writes().await;
    // A result that is not a job result is refused too.
    let this = ThisRun {
        id: 88,
        result: Some("green".into()),
    };
    let e = pr_bridge::report_in_run(&c, &repo(), 1, &opts(), wait(), Some(&this), &|_| {})
        .await
        .unwrap_err();
    assert!(e.to_string().contains("green"), "{e}");
    w.gh.assert_no_writes().await;
}

#[tokio::test]
async fn report_from_a_run_that_is_not_a_tested_one_reports_the_runs_as_before() {
    // report.yml's case: a workflow_run (or any other) run on the default branch.
    let w = World::new().await;
    with_state_comment(&w, MERGE).await;
    w.writes_ok().await;
    w.branch_at("test-this-pr/1", Some(MERGE)).await;
    w.runs(json!([{"id": 77, "status": "completed", "conclusion": "failure"}]))
        .await;
    let c = client(&w.gh, false).await;
    let this = ThisRun {
        id: 99,
        result: None,
    };
    let out = pr_bridge::report_in_run(&c, &repo(), 1, &opts(), wait(), Some(&this), &|_| {})
        .await
        .unwrap();
    assert_eq!(out.verdict, Some(Verdict::Failed));
    assert_eq!(out.runs.len(), 1);
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
    let out = pr_bridge::report(&c, &repo(), 1, &opts(), wait())
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
    w.get("/pulls/1", rest_pull(1, "closed", "2026-01-01T00:00:00Z"))
        .await;
    w.writes_ok().await;
    w.branch_at("test-this-pr/1", Some(MERGE)).await;
    // The comment vouches for another SHA (a newer trigger re-pointed the branch): refused.
    with_state_comment(&w, OTHER).await;
    let c = client(&w.gh, false).await;
    let items = pr_bridge::cleanup(&c, &repo(), &opts(), Duration::from_secs(7 * 86400))
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
    w.get("/pulls/1", rest_pull(1, "closed", "2026-01-01T00:00:00Z"))
        .await;
    w.writes_ok().await;
    w.branch_at("test-this-pr/1", Some(MERGE)).await;
    with_state_comment(&w, MERGE).await;
    let c = client(&w.gh, false).await;
    let items = pr_bridge::cleanup(&c, &repo(), &opts(), Duration::from_secs(7 * 86400))
        .await
        .unwrap();
    assert_eq!(items[0].action, "deleted", "{items:?}");
    w.gh.assert_writes(&[&format!("DELETE {R}/git/refs/heads/test-this-pr/1")])
        .await;
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
    w.assert_lines(&["GRAPHQL comments"]).await;
}

#[tokio::test]
async fn workflow_run_completed_waits_for_the_last_run_then_reports_once() {
    // Another run for the merge commit is still going: nothing is written.
    let w = World::new().await;
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
    w.assert_lines(&[
        "GRAPHQL comments",
        &format!("GET {R}/actions/runs?branch=test-this-pr%2F1&head_sha={MERGE}&per_page=100"),
        &format!("GET {R}/git/ref/heads/test-this-pr/1"),
        &format!("DELETE {R}/git/refs/heads/test-this-pr/1"),
        // Re-read: has a newer trigger taken the status comment over meanwhile? The same
        // read finds the comment to update.
        "GRAPHQL comments",
        &format!("PATCH {R}/issues/comments/5000"),
    ])
    .await;
    let _g = insta_settings(None).bind_to_scope();
    insta::assert_snapshot!("workflow_run_reported_cancelled", w.comment_body().await);
}

#[tokio::test]
async fn a_repeated_workflow_run_delivery_writes_nothing() {
    let w = World::new().await;
    let st = pr_bridge::render::State {
        branch: "test-this-pr/1".into(),
        head_sha: HEAD.into(),
        merge_sha: MERGE.into(),
        base: "main".into(),
    };
    let runs: Vec<pr_bridge::render::RunLink> =
        serde_json::from_value(json!([run77("completed", Some("success"))])).unwrap();
    let done = pr_bridge::render::reported(&st, Verdict::Passed, &runs, true);
    w.own(json!([comment(5000, &done, true)])).await;
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
    let out = pr_bridge::report(&c, &repo(), 1, &opts(), wait())
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
        w.get("/pulls/2", rest_pull(2, "open", "2026-01-01T00:00:00Z"))
            .await;
        w.get("/pulls/3", rest_pull(3, "open", &now)).await;
        let st = pr_bridge::render::State {
            branch: "test-this-pr/2".into(),
            head_sha: HEAD.into(),
            merge_sha: MERGE.into(),
            base: "main".into(),
        };
        w.own(json!([comment(
            6000,
            &pr_bridge::render::started(&st, "maintainer", &[], &[]),
            true
        )]))
        .await;
        w.branch_at("test-this-pr/2", Some(MERGE)).await;
        Mock::given(method("DELETE"))
            .and(path(format!("{R}/git/refs/heads/test-this-pr/2")))
            .respond_with(ResponseTemplate::new(204))
            .mount(&w.gh.server)
            .await;
        let c = client(&w.gh, dry_run).await;
        let items = pr_bridge::cleanup(&c, &repo(), &opts(), Duration::from_secs(7 * 86400))
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
    let body = |merge: &str| pr_bridge::render::started(&state(merge), "maintainer", &[], &[]);
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(ok(comments_data(json!([comment(
            5000,
            &body(MERGE),
            true
        )]))))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&w.gh.server)
        .await;
    w.own(json!([comment(5000, &body(OTHER), true)])).await;
    w.writes_ok().await;
    w.branch_at("test-this-pr/1", Some(OTHER)).await;
    w.runs(json!([run77("completed", Some("success"))])).await;
    let c = client(&w.gh, false).await;
    let o = Options {
        commit_status: true,
        ..opts()
    };
    let out = pr_bridge::report(&c, &repo(), 1, &o, wait()).await.unwrap();
    assert!(!out.branch_deleted);
    assert!(out.message.contains("superseded"), "{out:?}");
    w.gh.assert_no_writes().await;
}

#[tokio::test]
async fn a_planted_state_line_never_names_another_branch_or_a_short_sha() {
    // A status comment by ghops's own identity whose state names `main` (issue 19: it deleted
    // refs/heads/main), a prefix SHA, or sits below another writer's marker: nothing to
    // report, nothing deleted or written.
    let planted = |branch: &str, merge: &str| {
        format!(
            "<!-- ghops:pr-bridge -->\n<!-- ghops:pr-bridge-state {{\"branch\":\"{branch}\",\"head_sha\":\"{HEAD}\",\"merge_sha\":\"{merge}\",\"base\":\"main\"}} -->\nx"
        )
    };
    for body in [
        planted("main", MERGE),
        planted("test-this-pr/1", "9049f12"),
        planted("test-this-pr/1/../../main", MERGE),
        format!("<!-- ghops:deployment-plan -->\n{}", started(MERGE, &[])),
    ] {
        let w = World::new().await;
        w.own(json!([comment(5000, &body, true)])).await;
        w.writes_ok().await;
        w.branch_at("main", Some(MERGE)).await;
        w.branch_at("test-this-pr/1", Some(MERGE)).await;
        w.runs(json!([run77("completed", Some("success"))])).await;
        let c = client(&w.gh, false).await;
        let out = pr_bridge::report(&c, &repo(), 1, &opts(), wait())
            .await
            .unwrap();
        assert_eq!(out.verdict, None, "{body}");
        w.gh.assert_no_writes().await;
        let ev = run_event("test-this-pr/1", MERGE, "completed", Some("success"));
        let out = pr_bridge::on_workflow_run(&c, &repo(), &ev, &opts())
            .await
            .unwrap();
        assert!(matches!(out, RunOutcome::Ignored { .. }), "{out:?}");
        w.gh.assert_no_writes().await;
    }
}

/// The report's checks are paced by `Wait::schedule`: the poll interval, doubling each
/// time; only the last wait, cut at the deadline, is shorter.
#[tokio::test]
async fn report_poll_interval_doubles_until_the_deadline() {
    let w = World::new().await;
    with_state_comment(&w, MERGE).await;
    w.runs(json!([run77("in_progress", None)])).await;
    let c = client(&w.gh, false).await;
    let wait = Wait {
        timeout: Duration::from_millis(200),
        no_run_timeout: Duration::from_secs(600),
        poll: Duration::from_millis(2),
    };
    let next_polls = std::sync::Mutex::new(Vec::new());
    let e = pr_bridge::report_in_run(&c, &repo(), 1, &opts(), wait, None, &|p| {
        next_polls.lock().unwrap().push(p.next_poll);
    })
    .await
    .unwrap_err();
    assert!(matches!(e, BridgeError::Timeout(_)), "{e}");
    let next_polls = next_polls.into_inner().unwrap();
    let (last, doubling) = next_polls.split_last().unwrap();
    let expected: Vec<Duration> = (0..doubling.len())
        .map(|i| Duration::from_millis(2 << i))
        .collect();
    assert_eq!(doubling, expected.as_slice(), "{next_polls:?}");
    assert!(
        *last <= Duration::from_millis(2 << doubling.len()),
        "{next_polls:?}"
    );
    w.gh.assert_no_writes().await;
}

/// A wait never sleeps past its deadline: with a 30 s poll interval, `timeout` 300 ms
/// returns a timeout after about 300 ms (it returned at the first poll after it: 30 s), and
/// the progress callback is told the shortened wait. A bound, not a performance figure.
#[tokio::test]
async fn report_honours_a_timeout_shorter_than_the_poll() {
    let w = World::new().await;
    with_state_comment(&w, MERGE).await;
    w.runs(json!([run77("in_progress", None)])).await;
    let c = client(&w.gh, false).await;
    let wait = Wait {
        timeout: Duration::from_millis(300),
        no_run_timeout: Duration::from_secs(600),
        poll: Duration::from_secs(30),
    };
    let next_polls = std::sync::Mutex::new(Vec::new());
    let start = std::time::Instant::now();
    let e = pr_bridge::report_in_run(&c, &repo(), 1, &opts(), wait, None, &|p| {
        next_polls.lock().unwrap().push(p.next_poll);
    })
    .await
    .unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert!(matches!(e, BridgeError::Timeout(_)), "{e}");
    assert!(
        e.to_string().ends_with("did not complete within 300ms"),
        "{e}"
    );
    let next_polls = next_polls.into_inner().unwrap();
    assert!(
        !next_polls.is_empty() && next_polls.iter().all(|d| *d <= Duration::from_millis(300)),
        "{next_polls:?}"
    );
    w.gh.assert_no_writes().await;
}
