//! `ghops release` as the real binary.

use ghops_test_support::MockGitHub;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::util::{ghops, run, stderr, stdout};

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
        "version-resolver:\n  minor: {labels: [feature]}\ntemplate: |\n  $CHANGES\nautolabeler: []\n",
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
    .env("GH_TOKEN", "ghp_release_e2e");
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["version"], "1.5.0");
    assert_eq!(v["prs"], json!([9]));
    assert_eq!(v["result"], json!({"outcome": "dry_run"}));
    assert!(
        stderr(&out).contains("unknown key `autolabeler`"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("dry-run: would POST /repos/octo/app/releases"),
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
