//! GitHub Enterprise Server: every request at the GHES paths (`/api/v3`, `/api/graphql`), the
//! API base taken from a GHES `origin` remote, and no token sent to a host nobody chose.

use std::process::Command as StdCommand;

use ghops_test_support::MockGitHub;
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::util::{ghops, run, stderr, stdout, valid_json};

const TOKEN: &str = "ghp_0123456789abcdefGHESTOKENVALUE0042";

/// A git repository whose `origin` is `url`.
fn clone_with_origin(url: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for args in [vec!["init", "-q"], vec!["remote", "add", "origin", url]] {
        let ok = StdCommand::new("git")
            .args(&args)
            .current_dir(dir.path())
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    }
    dir
}

#[tokio::test]
async fn auth_status_on_ghes_with_rate_limiting_off() {
    let gh = MockGitHub::start_ghes().await;
    Mock::given(method("GET"))
        .and(path("/api/v3/user"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"login": "octocat", "id": 1, "type": "User"})),
        )
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v3/rate_limit"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"message": "Rate limiting is not enabled."})),
        )
        .mount(&gh.server)
        .await;
    let mut c = ghops();
    c.args(["auth", "status", "--repo", "o/r", "--api-url", &gh.uri()])
        .env("GH_TOKEN", TOKEN);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let o = stdout(&out);
    assert!(
        o.contains("Rate limit:   off (the server does not limit requests)"),
        "{o}"
    );
    gh.assert_lines(&["GET /api/v3/user", "GET /api/v3/rate_limit"])
        .await;
    gh.assert_only_ghes_paths().await;
}

#[tokio::test]
async fn a_ghes_origin_remote_sends_the_token_to_that_host_not_api_github_com() {
    // `.invalid` never resolves: the request fails, and the error names the host it went to.
    let repo = clone_with_origin("https://ghe.example.invalid/octo/app.git");
    let mut c = ghops();
    c.args(["auth", "status"])
        .current_dir(repo.path())
        .env("GH_TOKEN", TOKEN)
        .env("GHOPS_RETRY_MAX_ATTEMPTS", "1");
    let out = run(c).await;
    let e = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{e}");
    assert!(
        e.contains("no answer from https://ghe.example.invalid"),
        "{e}"
    );
    assert!(!e.contains("api.github.com"), "{e}");
    assert!(!e.contains(TOKEN), "token leaked: {e}");
}

#[tokio::test]
async fn an_ssh_alias_origin_is_refused_with_a_hint() {
    let repo = clone_with_origin("git@github-work:octo/app.git");
    let mut c = ghops();
    c.args(["auth", "status"])
        .current_dir(repo.path())
        .env("GH_TOKEN", TOKEN);
    let out = run(c).await;
    let e = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert!(e.contains("github-work") && e.contains("--api-url"), "{e}");
}

#[tokio::test]
async fn an_explicit_api_url_wins_over_the_remote() {
    let gh = MockGitHub::start_ghes().await;
    Mock::given(method("GET"))
        .and(path("/api/v3/user"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"login": "octocat", "id": 1, "type": "User"})),
        )
        .mount(&gh.server)
        .await;
    let repo = clone_with_origin("git@other-ghe.example.invalid:octo/app.git");
    let mut c = ghops();
    c.args(["auth", "status", "--json", "--api-url", &gh.uri()])
        .current_dir(repo.path())
        .env("GH_TOKEN", TOKEN);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let v = valid_json("auth-status", &out);
    assert_eq!(v["api_url"], gh.uri());
    gh.assert_only_ghes_paths().await;
}

#[tokio::test]
async fn init_for_ghes_says_what_the_generated_workflows_need() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = ghops();
    c.args([
        "init",
        "pipeline",
        "--dry-run",
        "--api-url",
        "https://ghe.example.invalid/api/v3",
    ])
    .current_dir(dir.path());
    let out = run(c).await;
    let e = stderr(&out);
    assert!(out.status.success(), "{e}");
    assert!(
        e.contains("GitHub Enterprise Server") && e.contains("GitHub Connect"),
        "{e}"
    );
    // github.com: no such note.
    let mut c = ghops();
    c.args(["init", "pipeline", "--dry-run"])
        .current_dir(dir.path());
    let out = run(c).await;
    assert!(!stderr(&out).contains("GitHub Enterprise Server"));
}
