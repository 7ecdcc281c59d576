//! Snapshots of the human output (stdout and stderr, not a terminal, no colour) of every command
//! that runs offline or against the fake GitHub (or, for pr-bridge's GraphQL reads, a mock
//! answering them) and whose output is not snapshot-tested elsewhere. Volatile values (the
//! fake's port, temporary paths, times) are redacted.
//!
//! Elsewhere: `init --list` (env.rs), `agent manifests` (hardening.rs), the plan's tables alone
//! (cli.rs; here as the README's main job prints them), JSON, Markdown and matrices
//! (deploy-plan), the `env status` table and JSON, the `init` files, release bodies
//! (release-flow), pr-bridge comments (pr-bridge), runner manifests and status (runner-orch;
//! here as the CLI prints them too).

use std::path::Path;
use std::process::{Command, Output};

use ghops_test_support::fake::FakeGitHub;
use ghops_test_support::{MockGitHub, insta_settings, repo_root};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::util::{ghops, run, stderr, stdout};

const TOKEN: &str = "ghp_humanOutput0123456789SECRET";

/// `ghops ARGS` in `dir`, as a local user with a token for `gh` (when given: the fake GitHub,
/// or a bare mock with the routes a test mounts).
fn cmd(gh: Option<&MockGitHub>, dir: &Path, args: &[&str]) -> Command {
    let mut c = ghops();
    for k in [
        "GITHUB_ACTOR",
        "GITHUB_TRIGGERING_ACTOR",
        "GITHUB_SHA",
        "GITHUB_HEAD_REF",
        "GITHUB_REF",
        "GITHUB_REF_NAME",
        "GITHUB_EVENT_NAME",
        "GITHUB_SERVER_URL",
        "GITHUB_WORKSPACE",
        "CI",
    ] {
        c.env_remove(k);
    }
    if let Some(gh) = gh {
        c.env("GH_TOKEN", TOKEN).env("GITHUB_API_URL", gh.uri());
    }
    c.current_dir(dir).args(args);
    c
}

/// Runs `ghops ARGS` and snapshots its exit code, stdout and stderr as `name`.
async fn snap(name: &str, gh: Option<&MockGitHub>, dir: &Path, args: &[&str], exit: i32) {
    let mock = gh.map(|g| (g.uri(), g.base_path()));
    snap_cmd(name, mock, &[], dir, cmd(gh, dir, args), args, exit).await;
}

/// Like [`snap`], for a command built by the caller: `mock` is the GitHub mock's (URI, API
/// base path), `filters` other (regex, replacement) redactions.
async fn snap_cmd(
    name: &str,
    mock: Option<(String, &'static str)>,
    filters: &[(String, &str)],
    dir: &Path,
    c: Command,
    args: &[&str],
    exit: i32,
) -> Output {
    let out = run(c).await;
    let (o, e) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(exit), "{name}:\n{o}\n{e}");
    assert!(
        !o.contains(TOKEN) && !e.contains(TOKEN),
        "{name}: token printed"
    );
    assert!(
        !o.contains('\x1b') && !e.contains('\x1b'),
        "{name}: escape codes"
    );
    let text = format!(
        "$ ghops {}\nexit: {exit}\n--- stdout\n{o}--- stderr\n{e}",
        args.join(" ")
    );
    let mut s = insta_settings(mock.as_ref().map(|m| m.0.as_str()));
    for (re, by) in filters {
        s.add_filter(re, *by);
    }
    s.set_snapshot_path("snapshots/human_output");
    s.add_filter(&regex_escape(&dir.display().to_string()), "[DIR]");
    if let Ok(canon) = dir.canonicalize() {
        s.add_filter(&regex_escape(&canon.display().to_string()), "[DIR]");
    }
    // Behind the GHES front (GHOPS_TEST_GHES=1) dry-run lines show the API base path first.
    if let Some(base) = mock.map(|m| m.1).filter(|b| !b.is_empty()) {
        s.add_filter(&format!(" {}/", regex_escape(base)), " /");
    }
    s.add_filter(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)",
        "[TIME]",
    );
    // The image of the running version (a release bumps it).
    s.add_filter(
        &regex_escape(&format!("ghops:{}", env!("CARGO_PKG_VERSION"))),
        "ghops:[VERSION]",
    );
    s.bind(|| insta::assert_snapshot!(name, text));
    out
}

fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[tokio::test]
async fn auth_status() {
    let gh = FakeGitHub::start("octo/hello").await;
    let d = tempfile::tempdir().unwrap();
    snap(
        "auth_status",
        Some(&gh),
        d.path(),
        &["auth", "status", "--repo", "octo/hello"],
        0,
    )
    .await;
    gh.assert_no_unrouted();
}

#[tokio::test]
async fn plan_filter_offline() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("prod.json"),
        r#"[{"cluster_name": "2i2c", "hub_name": "a"}, {"cluster_name": "2i2c-uk", "hub_name": "b"}]"#,
    )
    .unwrap();
    std::fs::write(d.path().join("failed.txt"), "2i2c-uk\n").unwrap();
    snap(
        "plan_filter",
        None,
        d.path(),
        &[
            "plan",
            "filter",
            "--jobs",
            "prod.json",
            "--failed",
            "failed.txt",
        ],
        0,
    )
    .await;
}

#[tokio::test]
async fn plan_comment_dry_run() {
    let gh = FakeGitHub::start("octo/hello").await;
    gh.add_pull(7, "feature-x", &"a".repeat(40), "alice");
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("plan.md"),
        "<!-- deployment-plan -->\n## Deployment plan\n\nNothing to deploy.\n",
    )
    .unwrap();
    snap(
        "plan_comment_dry_run",
        Some(&gh),
        d.path(),
        &[
            "plan",
            "comment",
            "--repo",
            "octo/hello",
            "--pr",
            "7",
            "--body",
            "plan.md",
            "--dry-run",
        ],
        0,
    )
    .await;
    assert_eq!(gh.write_count(), 0);
    gh.assert_no_unrouted();
}

#[tokio::test]
async fn env_sync_record_and_gates() {
    let gh = FakeGitHub::start("octo/hello").await;
    let d = tempfile::tempdir().unwrap();
    gh.set_permission("maintainer", "maintain");
    gh.set_permission("reader", "read");
    gh.add_environment("production");
    let sha = "a".repeat(40);
    gh.add_pull(7, "feature-x", &sha, "alice");
    gh.label(7, "deploy", "maintainer");
    let event = gh.pull_request_event(7, "labeled", Some("deploy"), "maintainer");
    std::fs::write(d.path().join("event.json"), event.to_string()).unwrap();
    snap(
        "env_sync",
        Some(&gh),
        d.path(),
        &[
            "env",
            "sync",
            "--repo",
            "octo/hello",
            "--event",
            "event.json",
        ],
        0,
    )
    .await;
    // A dry run of the first record: the deployment it would create, with its status (it
    // said "deployment (dry-run) created, status unchanged").
    snap(
        "env_record_dry_run",
        Some(&gh),
        d.path(),
        &[
            "env",
            "record",
            "--repo",
            "octo/hello",
            "--environment",
            "preview-feature-x",
            "--state",
            "in_progress",
            "--pr",
            "7",
            "--sha",
            &sha,
            "--actor",
            "maintainer",
            "--transient",
            "--dry-run",
        ],
        0,
    )
    .await;
    for (name, state) in [
        ("env_record_in_progress", "in_progress"),
        ("env_record_success", "success"),
    ] {
        snap(
            name,
            Some(&gh),
            d.path(),
            &[
                "env",
                "record",
                "--repo",
                "octo/hello",
                "--environment",
                "preview-feature-x",
                "--state",
                state,
                "--pr",
                "7",
                "--sha",
                &sha,
                "--actor",
                "maintainer",
                "--url",
                "https://feature-x.preview.example.com",
                "--transient",
            ],
            0,
        )
        .await;
    }
    snap(
        "env_record_inactive",
        Some(&gh),
        d.path(),
        &[
            "env",
            "record",
            "--repo",
            "octo/hello",
            "--environment",
            "preview-feature-x",
            "--state",
            "inactive",
            "--pr",
            "7",
            "--sha",
            &sha,
            "--actor",
            "maintainer",
        ],
        0,
    )
    .await;
    let main = gh.state().refs["heads/main"].clone();
    // Production takes a published release that succeeded in staging (`[env.promote]`).
    gh.add_release_staged("v1.0.0", &main);
    snap(
        "gate_check_approved",
        Some(&gh),
        d.path(),
        &[
            "gate",
            "check",
            "--repo",
            "octo/hello",
            "--environment",
            "production",
            "--sha",
            &main,
            "--actor",
            "maintainer",
        ],
        0,
    )
    .await;
    snap(
        "gate_check_refused",
        Some(&gh),
        d.path(),
        &[
            "gate",
            "check",
            "--repo",
            "octo/hello",
            "--environment",
            "production",
            "--sha",
            &main,
            "--actor",
            "reader",
        ],
        3,
    )
    .await;
    gh.add_pending(123_456, "production", true);
    for (name, extra) in [
        ("gate_approve", &[][..]),
        ("gate_approve_nothing_pending", &["--reject"][..]),
    ] {
        let mut args = vec![
            "gate",
            "approve",
            "--repo",
            "octo/hello",
            "--run-id",
            "123456",
            "--environment",
            "production",
            "--actor",
            "maintainer",
        ];
        args.extend(extra);
        snap(name, Some(&gh), d.path(), &args, 0).await;
    }
    gh.assert_no_unrouted();
}

#[tokio::test]
async fn init_writes_then_keeps() {
    let d = tempfile::tempdir().unwrap();
    snap("init_pipeline", None, d.path(), &["init", "pipeline"], 0).await;
    std::fs::write(d.path().join(".github/workflows/main.yml"), "# mine\n").unwrap();
    snap(
        "init_pipeline_again",
        None,
        d.path(),
        &["init", "pipeline"],
        1,
    )
    .await;
}

#[tokio::test]
async fn agent_create_and_status() {
    let gh = FakeGitHub::start("org/app").await;
    let d = tempfile::tempdir().unwrap();
    gh.add_environment("production");
    let main = gh.state().refs["heads/main"].clone();
    gh.set_ref("tags/v1.2.0", &main);
    snap(
        "agent_create",
        Some(&gh),
        d.path(),
        &[
            "agent",
            "create",
            "--repo",
            "org/app",
            "--ref",
            "v1.2.0",
            "--environment",
            "production",
            "--payload",
            r#"{"replicas": 3}"#,
        ],
        0,
    )
    .await;
    snap(
        "agent_status",
        Some(&gh),
        d.path(),
        &[
            "agent",
            "status",
            "--repo",
            "org/app",
            "--environment",
            "production",
        ],
        0,
    )
    .await;
    gh.assert_no_unrouted();
}

#[tokio::test]
async fn serve_manifests_offline() {
    let d = tempfile::tempdir().unwrap();
    snap(
        "serve_manifests",
        None,
        d.path(),
        &["serve", "manifests", "--namespace", "ghops"],
        0,
    )
    .await;
}

#[tokio::test]
async fn pr_bridge_cleanup_dry_run() {
    let gh = FakeGitHub::start("octo/hello").await;
    let d = tempfile::tempdir().unwrap();
    snap(
        "pr_bridge_cleanup_dry_run",
        Some(&gh),
        d.path(),
        &[
            "pr-bridge",
            "cleanup",
            "--repo",
            "octo/hello",
            "--older-than",
            "7d",
            "--dry-run",
        ],
        0,
    )
    .await;
    gh.assert_no_unrouted();
}

/// GraphQL (not served by the fake): the commits of `base...head` with one merged PR each.
async fn graphql_compare(gh: &FakeGitHub, head: &str, prs: &[(u64, &str, &str, &str)]) {
    use wiremock::matchers::{body_partial_json, method, path};
    let nodes: Vec<serde_json::Value> = prs
        .iter()
        .map(|(n, title, base, label)| {
            serde_json::json!({"oid": format!("{n:040x}"), "associatedPullRequests": {"nodes": [{
                "number": n, "title": title, "merged": true, "baseRefName": base,
                "baseRepository": {"nameWithOwner": "octo/hello"},
                "mergedAt": "2026-01-01T00:00:00Z", "author": {"login": "dev"},
                "labels": {"nodes": [{"name": label}]}
            }]}})
        })
        .collect();
    wiremock::Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_partial_json(
            serde_json::json!({"variables": {"head": format!("refs/heads/{head}")}}),
        ))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"data": {"repository": {"ref": {"compare": {"commits": {
                "pageInfo": {"hasNextPage": false}, "nodes": nodes
            }}}}}}),
        ))
        .mount(&gh.server)
        .await;
}

/// The release workflow: a draft (dry run, created, already current; a key ghops does not
/// honour warned about), the release branch of a published release, a hotfix on it
/// (published, reintegration PR, main's draft kept), and a replay of each.
#[tokio::test]
async fn release_draft_publish_hook_and_hotfix() {
    let gh = FakeGitHub::start("octo/hello").await;
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join(".github")).unwrap();
    std::fs::write(
        d.path().join(".github/release-drafter.yml"),
        "name-template: 'v$RESOLVED_VERSION'\ntag-template: 'v$RESOLVED_VERSION'\ncategories:\n  - title: Features\n    labels: [feature]\n  - title: Fixes\n    labels: [bug]\nversion-resolver:\n  minor: {labels: [feature]}\n  default: patch\ntemplate: |\n  ## Changes\n\n  $CHANGES\nfrobnicate: 1\n",
    )
    .unwrap();
    let v1 = gh.state().refs["heads/main"].clone();
    gh.add_release("v1.0.0", &v1, false);
    gh.push("main", "dev", "Add export (#9)");
    graphql_compare(&gh, "main", &[(9, "Add export", "main", "feature")]).await;
    let draft = [
        "release",
        "draft",
        "--repo",
        "octo/hello",
        "--target",
        "main",
    ];
    let dry: Vec<&str> = draft.iter().copied().chain(["--dry-run"]).collect();
    snap("release_draft_dry_run", Some(&gh), d.path(), &dry, 0).await;
    assert_eq!(gh.write_count(), 0);
    snap("release_draft_created", Some(&gh), d.path(), &draft, 0).await;
    snap("release_draft_current", Some(&gh), d.path(), &draft, 0).await;
    snap(
        "release_publish_hook",
        Some(&gh),
        d.path(),
        &[
            "release",
            "publish-hook",
            "--repo",
            "octo/hello",
            "--tag",
            "v1.0.0",
        ],
        0,
    )
    .await;
    gh.push("release/1.0.0", "dev", "Fix the crash (#12)");
    graphql_compare(
        &gh,
        "release/1.0.0",
        &[(12, "Fix the crash", "release/1.0.0", "bug")],
    )
    .await;
    let hotfix = [
        "release",
        "hotfix",
        "--repo",
        "octo/hello",
        "--branch",
        "release/1.0.0",
        "--main",
        "main",
    ];
    snap("release_hotfix", Some(&gh), d.path(), &hotfix, 0).await;
    snap("release_hotfix_again", Some(&gh), d.path(), &hotfix, 0).await;
    // The hotfix release gets no branch of its own; a branch that is no release line is refused.
    snap(
        "release_publish_hook_hotfix",
        Some(&gh),
        d.path(),
        &[
            "release",
            "publish-hook",
            "--repo",
            "octo/hello",
            "--tag",
            "v1.0.1",
        ],
        0,
    )
    .await;
    snap(
        "release_hotfix_not_a_release_branch",
        Some(&gh),
        d.path(),
        &[
            "release",
            "hotfix",
            "--repo",
            "octo/hello",
            "--branch",
            "feature-x",
            "--main",
            "main",
        ],
        2,
    )
    .await;
    gh.assert_no_unrouted();
}

/// `ghops plan` on the bundled example, as the README's main job runs it: the three tables on
/// stdout, the notes on stderr.
#[tokio::test]
async fn plan_example_tables() {
    let root = repo_root();
    snap(
        "plan_example",
        None,
        &root,
        &[
            "plan",
            "--config-root",
            "examples/infrastructure",
            "--changed-files",
            "examples/infrastructure/changed-files.txt",
        ],
        0,
    )
    .await;
}

/// A mock answering pr-bridge's reads of PR #1 of Codertocat/Hello-World (the webhook
/// fixtures' repository) and accepting the writes of a trigger; `permission` is the
/// commenter's.
async fn bridge_mock(permission: &str) -> MockGitHub {
    use crate::pr_bridge::{R, comments_data, graphql, pr_data};
    let gh = MockGitHub::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/collaborators/maintainer/permission")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"permission": permission, "role_name": permission})),
        )
        .mount(&gh.server)
        .await;
    graphql(&gh, "pr", pr_data(&[]), None).await;
    graphql(&gh, "comments", comments_data(&[]), None).await;
    for p in [
        format!("{R}/git/refs"),
        format!("{R}/issues/comments/492700400/reactions"),
        format!("{R}/issues/1/comments"),
    ] {
        Mock::given(method("POST"))
            .and(path(p))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({
                "id": 5000, "body": "x", "user": {"login": "ghops-bot", "id": 3},
                "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
            })))
            .mount(&gh.server)
            .await;
    }
    gh
}

/// `pr-bridge trigger` on a maintainer's pinned `/test-this-pr`, and on the same comment by a
/// reader (refused, exit 3, with a reply).
#[tokio::test]
async fn pr_bridge_trigger_authorised_and_refused() {
    use crate::pr_bridge::{HEAD, R, config, event_file};
    let d = tempfile::tempdir().unwrap();
    let ev = event_file(&d, &format!("/test-this-pr sha={HEAD}"), "maintainer");
    let (ev, cfg) = (ev.display().to_string(), config(&d).display().to_string());
    let args = ["pr-bridge", "trigger", "--event", &ev, "--config", &cfg];

    let gh = bridge_mock("write").await;
    snap("pr_bridge_trigger", Some(&gh), d.path(), &args, 0).await;
    gh.assert_writes(&[
        &format!("POST {R}/git/refs"),
        &format!("POST {R}/issues/comments/492700400/reactions"),
        &format!("POST {R}/issues/1/comments"),
    ])
    .await;

    let gh = bridge_mock("read").await;
    snap("pr_bridge_trigger_refused", Some(&gh), d.path(), &args, 3).await;
    gh.assert_writes(&[&format!("POST {R}/issues/1/comments")])
        .await;
}

/// `pr-bridge report --pr 1` once the test branch's run completed with `conclusion`.
async fn report(name: &str, conclusion: &str, exit: i32) {
    use crate::pr_bridge::{R, report_mock};
    let gh = report_mock(json!([{"id": 77, "name": "CI",
        "html_url": "https://github.com/Codertocat/Hello-World/actions/runs/77",
        "status": "completed", "conclusion": conclusion}]))
    .await;
    let d = tempfile::tempdir().unwrap();
    let args = [
        "pr-bridge",
        "report",
        "--pr",
        "1",
        "--repo",
        "Codertocat/Hello-World",
    ];
    snap(name, Some(&gh), d.path(), &args, exit).await;
    gh.assert_writes(&[
        &format!("DELETE {R}/git/refs/heads/test-this-pr/1"),
        &format!("PATCH {R}/issues/comments/5000"),
    ])
    .await;
}

#[tokio::test]
async fn pr_bridge_report_passed() {
    report("pr_bridge_report_passed", "success", 0).await;
}

#[tokio::test]
async fn pr_bridge_report_failed() {
    report("pr_bridge_report_failed", "failure", 1).await;
}

/// `runners manifests` (offline), `runners handle --dry-run` with a queued `workflow_job`
/// event, `runners reconcile --dry-run` and `runners status` against wiremock GitHub (one
/// queued job) and Kubernetes (no Jobs).
#[tokio::test]
async fn runners_manifests_handle_reconcile_status() {
    let d = tempfile::tempdir().unwrap();
    crate::runners::write_config(d.path());
    snap(
        "runners_manifests",
        None,
        d.path(),
        &["runners", "manifests", "--config", "ghops.toml"],
        0,
    )
    .await;
    // `handle`: the event's job (attempt 1) is still queued.
    let one = ghops_test_support::MockGitHub::start().await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path(
            "/repos/lineville/elastic-machines-testing/actions/jobs/12877621891",
        ))
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "id": 12877621891u64, "run_id": 1, "run_attempt": 1, "status": "queued",
                "labels": ["self-hosted", "k8s"],
            })),
        )
        .mount(&one.server)
        .await;
    // `reconcile` and `status`: one queued job (attempt 2), no runners.
    let gh = crate::runners::one_queued_job().await;
    let k = crate::runners::kube().await;
    let event = ghops_test_support::fixture_path("workflow_job.queued.self-hosted.json");
    let event = event.to_str().unwrap();
    let filters = [
        (regex_escape(&k.uri()), "http://mock-kube"),
        (
            regex_escape(event),
            "[FIXTURES]/workflow_job.queued.self-hosted.json",
        ),
    ];
    let k_uri = k.uri();
    let runs: [(&str, &ghops_test_support::MockGitHub, Vec<&str>); 3] = [
        (
            "runners_handle_dry_run",
            &one,
            vec!["runners", "handle", "--dry-run", "--event", event],
        ),
        (
            "runners_reconcile_dry_run",
            &gh,
            vec!["runners", "reconcile", "--dry-run"],
        ),
        ("runners_status", &gh, vec!["runners", "status"]),
    ];
    for (name, gh, mut args) in runs {
        args.extend(["--config", "ghops.toml", "--kube-url", &k_uri]);
        let mut c = cmd(None, d.path(), &args);
        c.env("GH_TOKEN", TOKEN).env("GITHUB_API_URL", gh.uri());
        let mock = Some((gh.uri(), gh.base_path()));
        snap_cmd(name, mock, &filters, d.path(), c, &args, 0).await;
    }
    one.assert_no_writes().await;
    gh.assert_no_writes().await;
    let kube = k.received_requests().await.unwrap();
    assert!(
        kube.iter().all(|r| r.method.as_str() == "GET"),
        "no Kubernetes writes"
    );
}
