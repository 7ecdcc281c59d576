//! `ghops release` as the real binary.

use ghops_test_support::MockGitHub;
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::util::{ghops, run, stderr, stdout, valid_json};

#[tokio::test]
async fn draft_dry_run_prints_version_and_body_and_sends_nothing() {
    let gh = MockGitHub::start().await;
    let ok = |v: Value| ResponseTemplate::new(200).set_body_json(v);
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/releases"))
        .respond_with(ok(
            json!([{"id": 6, "tag_name": "v1.4.0", "draft": false, "prerelease": false}]),
        ))
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/compare/v1.4.0...main"))
        .respond_with(ok(json!({"status": "ahead"})))
        .mount(&gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(ok(
            json!({"data": {"repository": {"ref": {"compare": {"commits": {
                "pageInfo": {"hasNextPage": false},
                "nodes": [{"oid": "a1", "associatedPullRequests": {"nodes": [{
                    "number": 9, "title": "Add export", "merged": true, "baseRefName": "main",
                    "baseRepository": {"nameWithOwner": "octo/app"},
                    "author": {"login": "dev"}, "labels": {"nodes": [{"name": "feature"}]}
                }]}}]
            }}}}}}),
        ))
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/pulls"))
        .respond_with(ok(json!([])))
        .mount(&gh.server)
        .await;
    let d = tempfile::tempdir().unwrap();
    let cfg = d.path().join("release-drafter.yml");
    std::fs::write(
        &cfg,
        "version-resolver:\n  minor: {labels: [feature]}\ntemplate: |\n  $CHANGES\nautolabeler: [{label: chore, files: ['*.md']}]\nfrobnicate: 1\n",
    )
    .unwrap();
    let mut c = ghops();
    c.args([
        "release",
        "draft",
        "--target",
        "main",
        "--dry-run",
        "--json",
        "--repo",
        "octo/app",
    ])
    .arg("--drafter-config")
    .arg(&cfg)
    .args(["--api-url", &gh.uri()])
    .env("GH_TOKEN", "ghp_release_e2e")
    .env("GITHUB_OUTPUT", d.path().join("output"))
    .env("GITHUB_STEP_SUMMARY", d.path().join("summary"));
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let v = valid_json("release-draft", &out);
    assert_eq!(v["version"], "1.5.0");
    // release-drafter's outputs (no id or URLs: nothing was written).
    let outputs = std::fs::read_to_string(d.path().join("output")).unwrap();
    let names: Vec<&str> = outputs
        .lines()
        .filter_map(|l| l.split_once("<<").map(|(n, _)| n))
        .collect();
    assert_eq!(
        names,
        [
            "resolved_version",
            "major_version",
            "minor_version",
            "patch_version",
            "body"
        ]
    );
    assert!(outputs.contains("resolved_version<<") && outputs.contains("\n1.5.0\n"));
    assert!(outputs.contains("* Add export (#9) @dev\n"), "{outputs}");
    let summary = std::fs::read_to_string(d.path().join("summary")).unwrap();
    assert!(
        summary.starts_with("## Release draft dry run, not written: 1.5.0"),
        "{summary}"
    );
    assert!(
        stderr(&out).contains("`autolabeler` is not applied by `ghops release draft`"),
        "{}",
        stderr(&out)
    );
    assert_eq!(v["prs"], json!([9]));
    assert_eq!(v["result"], json!({"outcome": "dry_run"}));
    assert!(
        stderr(&out).contains("unknown key `frobnicate`"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains(&format!(
            "dry-run: would POST {}/repos/octo/app/releases",
            gh.base_path()
        )),
        "{}",
        stderr(&out)
    );
    gh.assert_no_writes().await;
}

#[tokio::test]
async fn invalid_drafter_config_is_exit_2_naming_the_file() {
    let d = tempfile::tempdir().unwrap();
    let cfg = d.path().join("release-drafter.yml");
    std::fs::write(&cfg, "categories: {not: [a list\n").unwrap();
    let mut c = ghops();
    c.args(["release", "draft", "--repo", "octo/app", "--drafter-config"])
        .arg(&cfg)
        .env("GH_TOKEN", "ghp_release_e2e");
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("release-drafter.yml:"),
        "{}",
        stderr(&out)
    );
}

/// A `[release]` warning of `ghops.toml` is a warning like a release-drafter file's: under
/// Actions also a `::warning` annotation (it was a plain stderr line only), with a
/// did-you-mean for the usual `tag_prefix`-for-`tag-prefix` slip. The warnings come before
/// any API call (here the command then stops for want of credentials).
#[tokio::test]
async fn ghops_toml_release_warnings_are_annotations_under_actions() {
    let d = tempfile::tempdir().unwrap();
    let cfg = d.path().join("ghops.toml");
    std::fs::write(&cfg, "[release]\ntag_prefix = \"v\"\n").unwrap();
    let mut c = ghops();
    c.args(["release", "draft", "--repo", "octo/app", "--config"])
        .arg(&cfg)
        .current_dir(d.path())
        .env("GITHUB_ACTIONS", "true");
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let warning =
        "ghops.toml [release]: unknown key `tag_prefix` ignored (did you mean `tag-prefix`?)";
    let err = stderr(&out);
    assert!(err.contains(&format!("warning: {warning}\n")), "{err}");
    assert!(err.contains(&format!("::warning::{warning}\n")), "{err}");
}

#[tokio::test]
async fn hotfix_from_a_push_event_publishes_reintegrates_refreshes_main_and_warns_about_github_token()
 {
    let gh = MockGitHub::start().await;
    let ok = |v: Value| ResponseTemplate::new(200).set_body_json(v);
    let get = |p: &str| Mock::given(method("GET")).and(path(format!("/repos/octo/app{p}")));
    get("/releases")
        .respond_with(ok(json!([
            {"id": 6, "tag_name": "v1.4.0", "draft": false, "prerelease": false}
        ])))
        .mount(&gh.server)
        .await;
    for head in ["release/1.4.0", "main"] {
        get(&format!("/compare/v1.4.0...{head}"))
            .respond_with(ok(json!({"status": "ahead"})))
            .mount(&gh.server)
            .await;
    }
    get("/git/ref/heads/release/1.4.0")
        .respond_with(ok(json!({"object": {"sha": "abc123", "type": "commit"}})))
        .mount(&gh.server)
        .await;
    let pr = |n: u64, base: &str, label: &str| {
        json!({"oid": format!("{n:040x}"), "associatedPullRequests": {"nodes": [{
            "number": n, "title": format!("Change {n}"), "merged": true, "baseRefName": base,
            "baseRepository": {"nameWithOwner": "octo/app"}, "mergedAt": "2026-11-20T10:00:00Z", "author": {"login": "dev"},
            "labels": {"nodes": [{"name": label}]}
        }]}})
    };
    for (head, node) in [
        ("release/1.4.0", pr(40, "release/1.4.0", "bug")),
        ("main", pr(11, "main", "feature")),
    ] {
        Mock::given(method("POST"))
            .and(path("/graphql"))
            .and(body_partial_json(
                json!({"variables": {"head": format!("refs/heads/{head}")}}),
            ))
            .respond_with(ok(
                json!({"data": {"repository": {"ref": {"compare": {"commits": {
                    "pageInfo": {"hasNextPage": false}, "nodes": [node]
                }}}}}}),
            ))
            .mount(&gh.server)
            .await;
    }
    get("/pulls")
        .respond_with(ok(json!([])))
        .mount(&gh.server)
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
        Mock::given(method(m))
            .and(path(format!("/repos/octo/app{p}")))
            .respond_with(ResponseTemplate::new(201).set_body_json(v))
            .mount(&gh.server)
            .await;
    }
    let d = tempfile::tempdir().unwrap();
    let toml = d.path().join("ghops.toml");
    std::fs::write(
        &toml,
        "[release]\nsort-by = 'title'\nfrobnicate = 1\n[release.version-resolver]\ndefault = 'minor'\n",
    )
    .unwrap();
    let event = ghops_test_support::repo_root().join("testdata/release/push.release-1.4.0.json");
    let token = "ghs_actionsTokenForReleaseE2e0000000000";
    let mut c = ghops();
    c.args(["release", "hotfix", "--json", "--config"])
        .arg(&toml)
        .arg("--event")
        .arg(&event)
        .args(["--api-url", &gh.uri()])
        .env("GITHUB_TOKEN", token)
        .env("GITHUB_ACTIONS", "true");
    let out = run(c).await;
    let (o, e) = (stdout(&out), stderr(&out));
    assert!(out.status.success(), "{e}");
    let v = valid_json("release-hotfix", &out);
    assert_eq!(v["kind"], "hotfix");
    assert_eq!(v["hotfix"]["tag"], "v1.4.1");
    assert_eq!(v["hotfix"]["reintegration_pr"], 78);
    assert_eq!(v["main_draft"]["tag"], "v1.5.0");
    assert_eq!(v["main_draft"]["prs"], json!([11]));
    assert!(e.contains("unknown key `frobnicate`"), "{e}");
    assert!(e.contains("trigger no further workflows"), "{e}");
    assert!(e.contains("::warning"), "{e}");
    assert!(!o.contains(token) && !e.contains(token));
    gh.assert_writes(&[
        "POST /repos/octo/app/releases",
        "POST /repos/octo/app/pulls",
        "POST /repos/octo/app/issues/78/labels",
        "POST /repos/octo/app/releases",
    ])
    .await;
}

/// Under Actions, with no `--target` and no `commitish`, the draft is for the branch the
/// workflow runs for (release-drafter's default), not the default branch; release-drafter's
/// action inputs override the file.
#[tokio::test]
async fn draft_under_actions_targets_the_branch_of_github_ref() {
    let gh = MockGitHub::start().await;
    let ok = |v: Value| ResponseTemplate::new(200).set_body_json(v);
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/releases"))
        .respond_with(ok(json!([])))
        .mount(&gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_partial_json(
            json!({"variables": {"head": "refs/heads/develop"}}),
        ))
        .respond_with(ok(
            json!({"data": {"repository": {"ref": {"target": {"history": {
                "pageInfo": {"hasNextPage": false}, "nodes": []
            }}}}}}),
        ))
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/pulls"))
        .respond_with(ok(json!([])))
        .mount(&gh.server)
        .await;
    let d = tempfile::tempdir().unwrap();
    let cfg = d.path().join("release-drafter.yml");
    std::fs::write(&cfg, "template: $CHANGES\n").unwrap();
    let mut c = ghops();
    c.args([
        "release",
        "draft",
        "--dry-run",
        "--json",
        "--repo",
        "octo/app",
    ])
    .args(["--prerelease-identifier", "rc", "--latest", "false"])
    .arg("--drafter-config")
    .arg(&cfg)
    .args(["--api-url", &gh.uri()])
    .env("GH_TOKEN", "ghp_release_e2e")
    .env("GITHUB_ACTIONS", "true")
    .env("GITHUB_REF", "refs/heads/develop");
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let v = valid_json("release-draft", &out);
    assert_eq!(v["body"], "* No changes");
    // release-drafter's inputs override the file: a prerelease, not marked latest.
    assert_eq!(v["version"], "0.0.1-rc.0");
    assert_eq!(v["prerelease"], true);
    assert_eq!(v["make_latest"], "false");
    gh.assert_no_writes().await;
    // No repository lookup for the default branch was needed.
    assert!(!gh.seen().await.iter().any(|s| s.path == "/repos/octo/app"));
}

/// `publish-hook --event` and `hotfix --event` follow the library's event rules (the ones
/// `ghops serve` uses): a published prerelease or draft gets no branch, a deleted
/// `release/*` branch publishes nothing. Each is answered "ignored" without an API call.
#[tokio::test]
async fn event_paths_skip_prereleases_drafts_and_deleted_branches() {
    let gh = MockGitHub::start().await;
    let d = tempfile::tempdir().unwrap();
    let toml = d.path().join("ghops.toml");
    std::fs::write(&toml, "[release]\n").unwrap();
    let release = |draft: bool, prerelease: bool, tag: &str| {
        let mut v = ghops_test_support::fixture_json("release.published.json");
        v["release"]["draft"] = json!(draft);
        v["release"]["prerelease"] = json!(prerelease);
        v["release"]["tag_name"] = json!(tag);
        v
    };
    let mut push = serde_json::from_slice::<Value>(
        &std::fs::read(
            ghops_test_support::repo_root().join("testdata/release/push.release-1.4.0.json"),
        )
        .unwrap(),
    )
    .unwrap();
    push["deleted"] = json!(true);
    push["after"] = json!("0000000000000000000000000000000000000000");
    for (cmd, event, why) in [
        (
            "publish-hook",
            release(false, true, "v2.0.0-rc.1"),
            "prerelease",
        ),
        ("publish-hook", release(false, true, "v2.0.0"), "prerelease"),
        ("publish-hook", release(true, false, "v2.0.0"), "draft"),
        ("hotfix", push.clone(), "deleted"),
    ] {
        let f = d.path().join("event.json");
        std::fs::write(&f, serde_json::to_vec(&event).unwrap()).unwrap();
        let mut c = ghops();
        c.args(["release", cmd, "--config"])
            .arg(&toml)
            .arg("--event")
            .arg(&f)
            .args(["--api-url", &gh.uri()])
            .env("GH_TOKEN", "ghp_e2e_release_events");
        let out = run(c).await;
        let (o, e) = (stdout(&out), stderr(&out));
        assert_eq!(out.status.code(), Some(0), "{cmd} {why}: {o}{e}");
        assert!(
            o.starts_with("ignored:") && o.contains(why),
            "{cmd} {why}: {o}"
        );
    }
    gh.assert_lines(&[]).await;
}
