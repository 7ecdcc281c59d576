//! `ghops auth status` against wiremock: tokens, GitHub Apps, and the token-leak checks.

use ghops_test_support::{MockGitHub, TEST_APP_KEY};
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::util::{ghops, run, stderr, stdout, valid_json};

const TOKEN: &str = "ghp_0123456789abcdefSECRETTOKENVALUE42";

async fn mount_rate_limit(gh: &MockGitHub) {
    Mock::given(method("GET"))
        .and(path("/rate_limit"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "resources": {"core": {"limit": 5000, "remaining": 4999, "reset": 1900000000, "used": 1}},
            "rate": {"limit": 5000, "remaining": 4999, "reset": 1900000000, "used": 1}
        })))
        .mount(&gh.server)
        .await;
}

#[tokio::test]
async fn status_with_a_user_token() {
    let gh = MockGitHub::start().await;
    Mock::given(method("GET"))
        .and(path("/user"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-oauth-scopes", "repo, workflow")
                .set_body_json(json!({"login": "octocat", "id": 1, "type": "User"})),
        )
        .mount(&gh.server)
        .await;
    mount_rate_limit(&gh).await;
    let mut c = ghops();
    c.args([
        "auth",
        "status",
        "--json",
        "--repo",
        "o/r",
        "--api-url",
        &gh.uri(),
    ])
    .env("GH_TOKEN", TOKEN);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let v = valid_json("auth-status", &out);
    assert_eq!(v["identity"]["login"], "octocat");
    assert_eq!(v["identity"]["kind"], "user");
    assert_eq!(v["identity"]["token_kind"], "classic_pat");
    assert_eq!(v["identity"]["scopes"], json!(["repo", "workflow"]));
    assert_eq!(v["identity"]["rate_limit"]["remaining"], 4999);
    // RFC 3339, not Unix seconds (issue 18).
    assert_eq!(v["identity"]["rate_limit"]["reset"], "2030-03-17T17:46:40Z");
    gh.assert_lines(&["GET /user", "GET /rate_limit"]).await;
}

/// The human lines: the token kind in words (it printed the Rust name `ClassicPat`).
#[tokio::test]
async fn status_human_output() {
    let gh = MockGitHub::start().await;
    Mock::given(method("GET"))
        .and(path("/user"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-oauth-scopes", "repo, workflow")
                .set_body_json(json!({"login": "octocat", "id": 1, "type": "User"})),
        )
        .mount(&gh.server)
        .await;
    mount_rate_limit(&gh).await;
    let mut c = ghops();
    c.args(["auth", "status", "--repo", "o/r", "--api-url", &gh.uri()])
        .env("GH_TOKEN", TOKEN);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    insta::assert_snapshot!(stdout(&out).replace(&gh.uri(), "http://MOCK"), @r"
    API:          http://MOCK
    Logged in as: octocat (user)
    Token kind:   classic personal access token (ghp_)
    Scopes:       repo, workflow
    Rate limit:   4999/5000 remaining, resets at 2030-03-17T17:46:40Z
    ");
}

#[tokio::test]
async fn status_as_a_github_app_installation() {
    let gh = MockGitHub::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/o/r/installation"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 77, "app_id": 12, "app_slug": "ghops-test",
            "permissions": {"contents": "write", "pull_requests": "write"}
        })))
        .mount(&gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/app/installations/77/access_tokens"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "token": "ghs_installationTOKENsecret", "expires_at": "2999-01-01T00:00:00Z",
            "permissions": {"contents": "write"}
        })))
        .mount(&gh.server)
        .await;
    mount_rate_limit(&gh).await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("app.pem");
    std::fs::write(&key, TEST_APP_KEY).unwrap();
    let mut c = ghops();
    c.args([
        "auth",
        "status",
        "--json",
        "--repo",
        "o/r",
        "--api-url",
        &gh.uri(),
        "--app-id",
        "12",
    ])
    .arg("--app-key")
    .arg(&key);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let v = valid_json("auth-status", &out);
    assert_eq!(v["identity"]["login"], "ghops-test[bot]");
    assert_eq!(v["identity"]["kind"], "app_installation");
    assert_eq!(v["identity"]["installation_id"], 77);
    assert_eq!(v["identity"]["permissions"]["contents"], "write");
    gh.assert_lines(&[
        "GET /repos/o/r/installation",
        "POST /app/installations/77/access_tokens",
        "GET /rate_limit",
    ])
    .await;
    // The JWT is used for the installation lookup, the installation token after.
    let reqs = gh.server.received_requests().await.unwrap();
    let auth = |i: usize| {
        reqs[i]
            .headers
            .get("authorization")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert!(auth(0).starts_with("Bearer ey"), "JWT expected");
    assert_eq!(auth(2), "Bearer ghs_installationTOKENsecret");
    assert!(!stdout(&out).contains("ghs_installationTOKENsecret"));
    assert!(!stderr(&out).contains("ghs_installationTOKENsecret"));
}

#[tokio::test]
async fn missing_token_is_a_usage_error() {
    let mut c = ghops();
    c.args([
        "auth",
        "status",
        "--repo",
        "o/r",
        "--api-url",
        "http://127.0.0.1:9",
    ]);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("GH_TOKEN"), "{}", stderr(&out));
}

/// With trace logging on, a 401 and a 500 (retried) path: the token appears nowhere.
#[tokio::test]
async fn token_never_leaks_on_401_or_500() {
    for status in [401u16, 500] {
        let gh = MockGitHub::start().await;
        Mock::given(method("GET"))
            .and(path("/user"))
            .respond_with(ResponseTemplate::new(status).set_body_json(json!({
                "message": if status == 401 { "Bad credentials" } else { "Server Error" },
                "documentation_url": "https://docs.github.com/rest"
            })))
            .mount(&gh.server)
            .await;
        for via_flag in [false, true] {
            let mut c = ghops();
            c.args([
                "-vv",
                "auth",
                "status",
                "--repo",
                "o/r",
                "--api-url",
                &gh.uri(),
            ])
            .env("RUST_LOG", "trace")
            .env("GHOPS_RETRY_MAX_ATTEMPTS", "2");
            if via_flag {
                c.args(["--token", TOKEN]);
            } else {
                c.env("GITHUB_TOKEN", TOKEN);
            }
            let out = run(c).await;
            assert_eq!(
                out.status.code(),
                Some(4),
                "status {status}: {}",
                stderr(&out)
            );
            let all = format!("{}{}", stdout(&out), stderr(&out));
            assert!(
                all.contains(&status.to_string()),
                "error names the status: {all}"
            );
            assert!(!all.contains(TOKEN), "token leaked with status {status}");
            assert!(
                !all.contains("SECRETTOKEN"),
                "token fragment leaked with status {status}"
            );
        }
        // 500 on a GET is retried (2 attempts per run), 401 is not.
        let per_run = if status == 500 { 2 } else { 1 };
        assert_eq!(gh.lines().await.len(), 2 * per_run);
    }
}

#[tokio::test]
async fn help_lists_every_group_and_completions_work() {
    let mut c = ghops();
    c.arg("--help");
    let out = run(c).await;
    assert!(out.status.success());
    let help = stdout(&out);
    for g in [
        "auth",
        "pr-bridge",
        "plan",
        "release",
        "env",
        "gate",
        "init",
        "agent",
        "runners",
        "serve",
        "completions",
    ] {
        assert!(
            help.contains(&format!("\n  {g} ")),
            "{g} missing from --help:\n{help}"
        );
    }
    let mut c = ghops();
    c.args(["completions", "bash"]);
    let out = run(c).await;
    assert!(out.status.success());
    assert!(stdout(&out).contains("_ghops()"));
}

#[tokio::test]
async fn status_never_prints_credentials_in_the_api_url() {
    // Issue 19 #15: `auth status` printed the userinfo of the API URL.
    let gh = MockGitHub::start().await;
    let url = gh.uri().replace("http://", "http://admin:urlPASSWORD42@");
    for json in [false, true] {
        let mut c = ghops();
        c.args(["auth", "status", "--repo", "o/r", "--api-url", &url])
            .env("GH_TOKEN", TOKEN);
        if json {
            c.arg("--json");
        }
        let out = run(c).await;
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(
            !all.contains("urlPASSWORD42") && !all.contains("admin"),
            "{all}"
        );
        assert!(all.contains("credentials in the URL"), "{all}");
    }
    gh.assert_lines(&[]).await;
}
