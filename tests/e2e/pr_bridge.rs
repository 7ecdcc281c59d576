//! `ghops pr-bridge` as the real binary: exit codes, ignored events, refusals, dry-run.

use ghops_test_support::{MockGitHub, Seen, fixture_json};
use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::util::{ghops, run, stderr, stdout, valid_json};

pub(crate) const R: &str = "/repos/Codertocat/Hello-World";
pub(crate) const HEAD: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
const BASE: &str = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e";
pub(crate) const MERGE: &str = "9049f1265b7d61be4a8904a9a27120d2064dab3b";
const WF: &str = "1111111111111111111111111111111111111111";

/// The trigger's GraphQL read: an open, mergeable fork PR whose test merge commit joins the
/// base's tip and the head, with the base's workflows; no test branch yet; `comments` are
/// ghops's own (`viewerDidAuthor`) comment bodies.
pub(crate) fn pr_data(comments: &[&str]) -> Value {
    json!({"data": {"repository": {"ref": null, "pullRequest": {
        "state": "OPEN", "headRefOid": HEAD, "baseRefOid": BASE, "baseRefName": "main",
        "isCrossRepository": true, "headRepository": {"nameWithOwner": "forker/Hello-World"},
        "mergeable": "MERGEABLE",
        "potentialMergeCommit": {"oid": MERGE, "file": {"oid": WF}, "parents": {"nodes": [
            {"oid": BASE, "file": {"oid": WF}}, {"oid": HEAD, "file": {"oid": WF}}]}},
        "comments": comments_conn(comments)
    }}}})
}

fn comments_conn(bodies: &[&str]) -> Value {
    let nodes: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| json!({"fullDatabaseId": (5000 + i).to_string(), "viewerDidAuthor": true, "body": b}))
        .collect();
    json!({"pageInfo": {"hasPreviousPage": false, "startCursor": null}, "nodes": nodes})
}

pub(crate) fn comments_data(bodies: &[&str]) -> Value {
    json!({"data": {"repository": {"pullRequest": {"comments": comments_conn(bodies)}}}})
}

/// Mounts the answer to pr-bridge's GraphQL query of kind `kind` (`pr` or `comments`).
pub(crate) async fn graphql(gh: &MockGitHub, kind: &str, data: Value, times: Option<u64>) {
    let m = Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_string_contains(if kind == "pr" {
            "qualifiedName"
        } else {
            "$number: Int!, $before: String)"
        }));
    let m = m.respond_with(ResponseTemplate::new(200).set_body_json(data));
    match times {
        Some(n) => m.up_to_n_times(n).mount(&gh.server).await,
        None => m.mount(&gh.server).await,
    }
}

/// Request lines, GraphQL reads named by their query.
fn line(s: &Seen) -> String {
    if s.path == "/graphql" {
        if s.body["query"]
            .as_str()
            .unwrap_or_default()
            .contains("qualifiedName")
        {
            "GRAPHQL pr".into()
        } else {
            "GRAPHQL comments".into()
        }
    } else {
        s.line()
    }
}

pub(crate) fn event_file(dir: &tempfile::TempDir, body: &str, user: &str) -> std::path::PathBuf {
    let mut v = fixture_json("issue_comment.created.on-pr.derived.json");
    v["comment"]["body"] = json!(body);
    v["comment"]["user"]["login"] = json!(user);
    let p = dir.path().join("event.json");
    std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
    p
}

pub(crate) fn config(dir: &tempfile::TempDir) -> std::path::PathBuf {
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
    let ev = event_file(&d, &format!("/test-this-pr sha={HEAD}"), "reader");
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

/// A maintainer's pinned trigger, run with `--dry-run --json` against a mock that answers the
/// trigger's reads; `env` sets the credentials. Returns the mock and the output.
async fn dry_run_trigger(env: &[(&str, &str)]) -> (MockGitHub, std::process::Output) {
    dry_run_trigger_as(env, "--json").await
}

/// [`dry_run_trigger`] with `output` as the output flag (`--json`, or `--color=never` for the
/// human lines).
async fn dry_run_trigger_as(
    env: &[(&str, &str)],
    output: &str,
) -> (MockGitHub, std::process::Output) {
    let gh = MockGitHub::start().await;
    let ok = |v: Value| ResponseTemplate::new(200).set_body_json(v);
    Mock::given(method("GET"))
        .and(path(format!("{R}/collaborators/maintainer/permission")))
        .respond_with(ok(json!({"permission": "admin", "role_name": "admin"})))
        .mount(&gh.server)
        .await;
    graphql(&gh, "pr", pr_data(&[]), None).await;
    let d = tempfile::tempdir().unwrap();
    let ev = event_file(&d, &format!("/test-this-pr sha={HEAD}"), "maintainer");
    let mut c = ghops();
    c.args(["pr-bridge", "trigger", "--dry-run", output, "--event"])
        .arg(&ev)
        .arg("--config")
        .arg(config(&d))
        .args(["--api-url", &gh.uri()])
        .envs(env.iter().copied());
    let out = run(c).await;
    (gh, out)
}

#[tokio::test]
async fn dry_run_prints_the_writes_and_sends_none() {
    let (gh, out) = dry_run_trigger(&[("GH_TOKEN", "ghp_e2e_bridge_token")]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let v = valid_json("pr-bridge-trigger", &out);
    assert_eq!(v["outcome"], "started");
    assert_eq!(v["branch_action"], "dry_run");
    let e = stderr(&out);
    assert!(e.contains(&format!("dry-run: would POST {}{R}/git/refs {{\"ref\":\"refs/heads/test-this-pr/1\",\"sha\":\"{MERGE}\"}}", gh.base_path())), "{e}");
    gh.assert_no_writes().await;
}

/// The human line names the branch action in words, not as a Rust `Debug` name (`(DryRun)`).
#[tokio::test]
async fn dry_run_human_output_has_no_debug_names() {
    let (gh, out) =
        dry_run_trigger_as(&[("GH_TOKEN", "ghp_e2e_bridge_token")], "--color=never").await;
    assert!(out.status.success(), "{}", stderr(&out));
    insta::assert_snapshot!(stdout(&out), @"PR #1: test-this-pr/1 at 9049f1265b7d61be4a8904a9a27120d2064dab3b, branch not written (dry run)");
    gh.assert_no_writes().await;
}

/// Under Actions with the workflow's GITHUB_TOKEN, the "triggers no workflows" warning and its
/// annotation go to stderr: stdout stays the `--json` document (it was corrupted by an
/// annotation printed to stdout).
#[tokio::test]
async fn actions_token_warning_never_corrupts_json_stdout() {
    let (gh, out) = dry_run_trigger(&[
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_TOKEN", "ghs_e2e_actions_workflow_token"),
    ])
    .await;
    let (o, e) = (stdout(&out), stderr(&out));
    assert!(out.status.success(), "{e}");
    let v: Value = serde_json::from_str(&o).unwrap_or_else(|err| panic!("{err}: {o}"));
    assert_eq!(v["outcome"], "started");
    assert!(e.contains("trigger no further workflows"), "{e}");
    assert!(e.contains("::warning::"), "{e}");
    assert!(!o.contains("::"), "{o}");
    gh.assert_no_writes().await;
}

fn run_event_file(dir: &tempfile::TempDir, branch: &str, conclusion: &str) -> std::path::PathBuf {
    let mut v = fixture_json("workflow_run.completed.json");
    v["repository"]["full_name"] = json!("Codertocat/Hello-World");
    v["workflow_run"]["head_branch"] = json!(branch);
    v["workflow_run"]["head_sha"] = json!(MERGE);
    v["workflow_run"]["conclusion"] = json!(conclusion);
    v["workflow_run"]["head_repository"]["full_name"] = json!("Codertocat/Hello-World");
    let p = dir.path().join("run.json");
    std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
    p
}

#[tokio::test]
async fn report_on_a_workflow_run_event_reports_failure_as_exit_1_and_ignores_other_branches() {
    let d = tempfile::tempdir().unwrap();
    // Not one of ours: exit 0, no token needed, no call.
    let mut c = ghops();
    c.args(["pr-bridge", "report", "--event"])
        .arg(run_event_file(&d, "master", "success"));
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "ignored: run 289782451 on \"master\", not a test-this-pr/<pr> branch"
    );

    let gh =
        report_mock(json!([{"id": 289782451, "status": "completed", "conclusion": "failure"}]))
            .await;
    let mut c = ghops();
    c.args(["pr-bridge", "report", "--event"])
        .arg(run_event_file(&d, "test-this-pr/1", "failure"))
        .args(["--api-url", &gh.uri()])
        .env("GH_TOKEN", "ghp_e2e_bridge_token");
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "PR #1: tests with secrets failed");
    gh.assert_writes(&[
        &format!("DELETE {R}/git/refs/heads/test-this-pr/1"),
        &format!("PATCH {R}/issues/comments/5000"),
    ])
    .await; // The same report with --json: the outcome, as `ghops schema pr-bridge-report` says.
    let mut c = ghops();
    c.args(["pr-bridge", "report", "--json", "--event"])
        .arg(run_event_file(&d, "test-this-pr/1", "failure"))
        .args(["--api-url", &gh.uri()])
        .env("GH_TOKEN", "ghp_e2e_bridge_token");
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = valid_json("pr-bridge-report", &out);
    assert_eq!(v["verdict"], "failed", "{v}");
    assert_eq!(v["branch_deleted"], true, "{v}");
}

/// mybinder's habit: the report is the last job of the tested run itself.
#[tokio::test]
async fn report_from_the_last_job_of_the_tested_run_takes_that_jobs_result() {
    let gh = report_mock(json!([{"id": 4242, "status": "in_progress"}])).await;
    let report = |extra: &[&str]| {
        let mut c = ghops();
        c.args(["pr-bridge", "report", "--branch", "test-this-pr/1"])
            .args(["--repo", "Codertocat/Hello-World", "--api-url", &gh.uri()])
            .args(["--timeout", "20s"])
            .args(extra)
            .env("GH_TOKEN", "ghp_e2e_bridge_token")
            .env("GITHUB_RUN_ID", "4242");
        c
    };
    // Without the jobs' result: refused at once (exit 2), saying what to pass; no write.
    let out = run(report(&[])).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--this-run-result ${{ needs.<job>.result }}"),
        "{}",
        stderr(&out)
    );
    gh.assert_no_writes().await;
    // With it: reported at once, without waiting for its own run.
    let out = run(report(&["--this-run-result", "success"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "PR #1: tests with secrets passed");
    gh.assert_writes(&[
        &format!("DELETE {R}/git/refs/heads/test-this-pr/1"),
        &format!("PATCH {R}/issues/comments/5000"),
    ])
    .await;
}

/// The full trigger happy path (fork PR, authorised maintainer, branch created, status
/// comment, pending commit status) and then the report of its completed run (branch deleted,
/// comment updated, final commit status), through the library against wiremock. Returns every
/// request made, in order, for the contract test to replay against GitHub's OpenAPI
/// description (REST) and GraphQL schema.
pub(crate) async fn happy_path_requests() -> Vec<Seen> {
    use gh_core::auth::{Credentials, SecretString, TokenSource};
    use gh_core::client::{ClientConfig, GitHub};
    use gh_core::retry::RetryPolicy;

    let gh = MockGitHub::start().await;
    let ok = |v: Value| ResponseTemplate::new(200).set_body_json(v);
    let run = json!({"id": 77, "name": "CI", "html_url": "https://github.com/Codertocat/Hello-World/actions/runs/77", "status": "completed", "conclusion": "success"});
    for (p, v) in [
        (
            format!("{R}/collaborators/maintainer/permission"),
            json!({"permission": "write", "role_name": "write"}),
        ),
        (
            format!("{R}/actions/runs"),
            json!({"total_count": 1, "workflow_runs": [run]}),
        ),
        (
            format!("{R}/git/ref/heads/test-this-pr/1"),
            json!({"ref": "refs/heads/test-this-pr/1", "object": {"sha": MERGE}}),
        ),
    ] {
        Mock::given(method("GET"))
            .and(path(p))
            .respond_with(ok(v))
            .mount(&gh.server)
            .await;
    }
    let body = started_comment();
    // No comment yet when the trigger reads; from then on, the status comment it wrote.
    graphql(&gh, "pr", pr_data(&[]), None).await;
    graphql(&gh, "comments", comments_data(&[&body]), None).await;
    for (m, p, status) in [
        (
            "POST",
            format!("{R}/issues/comments/492700400/reactions"),
            201,
        ),
        ("POST", format!("{R}/git/refs"), 201),
        ("POST", format!("{R}/statuses/{HEAD}"), 201),
        ("POST", format!("{R}/issues/1/comments"), 201),
        ("PATCH", format!("{R}/issues/comments/5000"), 200),
        ("DELETE", format!("{R}/git/refs/heads/test-this-pr/1"), 204),
    ] {
        Mock::given(method(m))
            .and(path(p))
            .respond_with(ResponseTemplate::new(status).set_body_json(json!({
                "id": 5000, "body": "x", "user": {"login": "ghops-bot", "id": 3},
                "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
            })))
            .mount(&gh.server)
            .await;
    }
    let mut cfg = ClientConfig::new(Credentials::Token {
        token: SecretString::from("ghp_e2e_bridge_token".to_owned()),
        source: TokenSource::Flag,
    });
    cfg.api_url = gh.uri();
    cfg.retry = RetryPolicy::none();
    let c = GitHub::connect(cfg).await.unwrap();
    let repo: gh_core::RepoRef = "Codertocat/Hello-World".parse().unwrap();
    let opts = pr_bridge::Options {
        commit_status: true,
        ..pr_bridge::Options::default()
    };
    let mut ev = fixture_json("issue_comment.created.on-pr.derived.json");
    ev["comment"]["body"] = json!(format!("/test-this-pr sha={HEAD}"));
    ev["comment"]["user"]["login"] = json!("maintainer");
    let ev: gh_core::events::IssueCommentEvent = serde_json::from_value(ev).unwrap();
    let out = pr_bridge::on_issue_comment(&c, &repo, &ev, &opts)
        .await
        .unwrap();
    assert!(
        matches!(out, pr_bridge::TriggerOutcome::Started { .. }),
        "{out:?}"
    );
    let mut run_ev = fixture_json("workflow_run.completed.json");
    run_ev["repository"]["full_name"] = json!("Codertocat/Hello-World");
    run_ev["workflow_run"]["id"] = json!(77);
    run_ev["workflow_run"]["head_branch"] = json!("test-this-pr/1");
    run_ev["workflow_run"]["head_sha"] = json!(MERGE);
    run_ev["workflow_run"]["head_repository"]["full_name"] = json!("Codertocat/Hello-World");
    let run_ev: gh_core::events::WorkflowRunEvent = serde_json::from_value(run_ev).unwrap();
    let out = pr_bridge::on_workflow_run(&c, &repo, &run_ev, &opts)
        .await
        .unwrap();
    assert!(
        matches!(&out, pr_bridge::RunOutcome::Reported(r) if r.branch_deleted),
        "{out:?}"
    );
    let seen = gh.seen().await;
    let lines: Vec<String> = seen.iter().map(line).collect();
    assert_eq!(
        lines,
        [
            // The trigger: 6 calls (+1 for --commit-status), no identity lookup.
            format!("GET {R}/collaborators/maintainer/permission"),
            "GRAPHQL pr".to_owned(),
            format!("POST {R}/git/refs"),
            format!("POST {R}/issues/comments/492700400/reactions"),
            format!("POST {R}/issues/1/comments"),
            "GRAPHQL comments".to_owned(),
            format!("POST {R}/statuses/{HEAD}"),
            // on_workflow_run: ghops's own comments (no login needed), the runs, the branch.
            "GRAPHQL comments".to_owned(),
            format!("GET {R}/actions/runs?branch=test-this-pr%2F1&head_sha={MERGE}&per_page=100"),
            format!("GET {R}/git/ref/heads/test-this-pr/1"),
            format!("DELETE {R}/git/refs/heads/test-this-pr/1"),
            "GRAPHQL comments".to_owned(),
            format!("PATCH {R}/issues/comments/5000"),
            format!("POST {R}/statuses/{HEAD}"),
        ]
    );
    seen
}

#[tokio::test]
async fn the_library_happy_path_and_its_report_make_exactly_these_requests() {
    let seen = happy_path_requests().await;
    assert_eq!(seen.iter().filter(|s| s.is_write()).count(), 7);
}

/// `report --pr` while a run is still in progress, stderr not a terminal: one progress line
/// when the wait starts (then one per change or per minute; none repeats within the 1 s
/// wait), the timeout honoured (1 s with a 30 s poll; exit 5), nothing written. With
/// `GHOPS_LOG_FORMAT=json` the same progress is a JSON event.
#[tokio::test]
async fn report_prints_progress_when_stderr_is_not_a_terminal() {
    let gh = MockGitHub::start().await;
    let body = started_comment();
    graphql(&gh, "comments", comments_data(&[&body]), None).await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/actions/runs")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"total_count": 1,
            "workflow_runs": [{"id": 7, "name": "CI", "status": "in_progress", "conclusion": null,
                "repository": {"full_name": "Codertocat/Hello-World"}}]})),
        )
        .mount(&gh.server)
        .await;
    let report = |json_logs: bool| {
        let mut c = ghops();
        c.args([
            "pr-bridge",
            "report",
            "--pr",
            "1",
            "--repo",
            "Codertocat/Hello-World",
        ])
        .args(["--timeout", "1s", "--poll", "30s", "--api-url", &gh.uri()])
        .env("GH_TOKEN", "ghp_e2e_bridge_token");
        if json_logs {
            c.env("GHOPS_LOG_FORMAT", "json");
        }
        c
    };
    let out = run(report(false)).await;
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let e = stderr(&out);
    let progress: Vec<&str> = e.lines().filter(|l| l.starts_with("PR #1: ")).collect();
    assert_eq!(progress.len(), 1, "{e}");
    assert!(
        progress[0]
            .starts_with("PR #1: 0/1 runs completed (CI in_progress); waited 0s, next check in "),
        "{e}"
    );
    assert!(!e.contains('\r'), "{e}");
    assert!(
        e.contains("timed out: runs for test-this-pr/1 at") && e.contains("within 1s"),
        "{e}"
    );

    let out = run(report(true)).await;
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let events: Vec<Value> = stderr(&out)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["target"] == "ghops::progress")
        .collect();
    assert_eq!(events.len(), 1, "{}", stderr(&out));
    assert_eq!(
        events[0]["fields"]["state"],
        "0/1 runs completed (CI in_progress)"
    );
    gh.assert_no_writes().await;
}

/// The status comment pr-bridge wrote when it started testing PR #1 (the merge of `HEAD`
/// into main on `test-this-pr/1`, triggered by `maintainer`).
pub(crate) fn started_comment() -> String {
    let st = pr_bridge::render::State {
        branch: "test-this-pr/1".into(),
        head_sha: HEAD.into(),
        merge_sha: MERGE.into(),
        base: "main".into(),
    };
    pr_bridge::render::started(&st, "maintainer", &[], &[])
}

/// GitHub as a report on PR #1 finds it: the status comment, the test branch at `MERGE`
/// with its workflow runs `runs`, and the report's writes answered (delete the branch, edit
/// the comment).
pub(crate) async fn report_mock(runs: Value) -> MockGitHub {
    let gh = MockGitHub::start().await;
    let ok = |v: Value| ResponseTemplate::new(200).set_body_json(v);
    graphql(&gh, "comments", comments_data(&[&started_comment()]), None).await;
    let n = runs.as_array().map_or(0, Vec::len);
    for (p, v) in [
        (
            format!("{R}/actions/runs"),
            json!({"total_count": n, "workflow_runs": runs}),
        ),
        (
            format!("{R}/git/ref/heads/test-this-pr/1"),
            json!({"ref": "refs/heads/test-this-pr/1", "object": {"sha": MERGE}}),
        ),
    ] {
        Mock::given(method("GET"))
            .and(path(p))
            .respond_with(ok(v))
            .mount(&gh.server)
            .await;
    }
    Mock::given(method("DELETE"))
        .and(path(format!("{R}/git/refs/heads/test-this-pr/1")))
        .respond_with(ResponseTemplate::new(204))
        .mount(&gh.server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("{R}/issues/comments/5000")))
        .respond_with(ok(json!({"id": 5000})))
        .mount(&gh.server)
        .await;
    gh
}
