//! gh-core against a wiremock GitHub: retries, rate limits, pagination, conditional GETs,
//! App tokens, permission policies, comment upsert and dry-run. Each test asserts the exact
//! requests received.

use std::time::Duration;

use gh_core::auth::{Credentials, SecretString, TokenSource};
use gh_core::client::installations::perms;
use gh_core::client::{ClientConfig, Conditional, GitHub, InstallationTarget, Installations};
use gh_core::comments::{Upserted, marker, upsert_comment};
use gh_core::permission::{Permission, Policy, Team};
use gh_core::retry::{Idempotency, RetryPolicy};
use gh_core::{Error, RepoRef};
use ghops_test_support::{MockGitHub, TEST_APP_KEY};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

fn token_creds() -> Credentials {
    Credentials::Token {
        token: SecretString::from("ghp_testtoken".to_owned()),
        source: TokenSource::Flag,
    }
}

async fn client(mock: &MockGitHub) -> GitHub {
    client_with(mock, RetryPolicy::fast(), false).await
}

async fn client_with(mock: &MockGitHub, retry: RetryPolicy, dry_run: bool) -> GitHub {
    GitHub::connect(ClientConfig {
        api_url: mock.uri(),
        retry,
        dry_run,
        ..ClientConfig::new(token_creds())
    })
    .await
    .unwrap()
}

fn repo() -> RepoRef {
    "o/r".parse().unwrap()
}

// ---------------------------------------------------------------- retries

#[tokio::test]
async fn get_retries_5xx_then_succeeds() {
    let gh = MockGitHub::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/o/r"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(2)
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/o/r"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 1})))
        .mount(&gh.server)
        .await;
    let c = client(&gh).await;
    let v: Value = c.get("/repos/o/r").await.unwrap();
    assert_eq!(v["id"], 1);
    gh.assert_lines(&["GET /repos/o/r", "GET /repos/o/r", "GET /repos/o/r"])
        .await;
}

#[tokio::test]
async fn gives_up_after_the_attempt_bound() {
    let gh = MockGitHub::start().await;
    Mock::given(method("GET"))
        .and(path("/x"))
        .respond_with(ResponseTemplate::new(503).set_body_json(json!({"message": "unavailable"})))
        .mount(&gh.server)
        .await;
    let c = client(&gh).await;
    let e = c.get::<Value>("/x").await.unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert_eq!(e.exit_code(), gh_core::ExitCode::Api);
    assert_eq!(
        gh.lines().await.len(),
        RetryPolicy::fast().max_attempts as usize
    );
}

#[tokio::test]
async fn secondary_rate_limit_honours_retry_after_even_for_post() {
    let gh = MockGitHub::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/o/r/issues/1/comments"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("retry-after", "1")
                .set_body_json(json!({"message": "You have exceeded a secondary rate limit"})),
        )
        .up_to_n_times(1)
        .mount(&gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/o/r/issues/1/comments"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 5})))
        .mount(&gh.server)
        .await;
    let c = client(&gh).await;
    let t = std::time::Instant::now();
    let v: Option<Value> = c
        .post(
            "/repos/o/r/issues/1/comments",
            &json!({"body": "x"}),
            Idempotency::NonIdempotent,
        )
        .await
        .unwrap();
    assert_eq!(v.unwrap()["id"], 5);
    assert!(
        t.elapsed() >= Duration::from_millis(950),
        "waited {:?}",
        t.elapsed()
    );
    gh.assert_writes(&[
        "POST /repos/o/r/issues/1/comments",
        "POST /repos/o/r/issues/1/comments",
    ])
    .await;
}

#[tokio::test]
async fn primary_rate_limit_waits_for_reset() {
    let gh = MockGitHub::start().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    Mock::given(method("GET"))
        .and(path("/x"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-limit", "5000")
                .insert_header("x-ratelimit-reset", now.to_string().as_str())
                .set_body_json(json!({"message": "API rate limit exceeded"})),
        )
        .up_to_n_times(1)
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/x"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-ratelimit-remaining", "4999")
                .insert_header("x-ratelimit-limit", "5000")
                .insert_header("x-ratelimit-reset", (now + 3600).to_string().as_str())
                .set_body_json(json!({})),
        )
        .mount(&gh.server)
        .await;
    let c = client(&gh).await;
    c.get::<Value>("/x").await.unwrap();
    assert_eq!(c.rate_limit().unwrap().remaining, 4999);
    assert_eq!(gh.lines().await, ["GET /x", "GET /x"]);
}

#[tokio::test]
async fn rate_limit_wait_beyond_the_total_bound_gives_up() {
    let gh = MockGitHub::start().await;
    Mock::given(method("GET"))
        .and(path("/x"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3600"))
        .mount(&gh.server)
        .await;
    let c = client(&gh).await;
    let t = std::time::Instant::now();
    let e = c.get::<Value>("/x").await.unwrap_err();
    assert_eq!(e.status(), Some(429));
    assert!(t.elapsed() < Duration::from_secs(2));
    assert_eq!(gh.lines().await, ["GET /x"]);
}

#[tokio::test]
async fn non_idempotent_post_is_not_resent_after_502() {
    let gh = MockGitHub::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/o/r/issues/1/comments"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&gh.server)
        .await;
    let c = client(&gh).await;
    let e = c
        .post::<Value>(
            "/repos/o/r/issues/1/comments",
            &json!({"body": "x"}),
            Idempotency::NonIdempotent,
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(502));
    gh.assert_writes(&["POST /repos/o/r/issues/1/comments"])
        .await;
}

#[tokio::test]
async fn idempotent_post_is_retried_after_502() {
    let gh = MockGitHub::start().await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .mount(&gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": {"viewer": {"login": "me"}}})),
        )
        .mount(&gh.server)
        .await;
    let c = client(&gh).await;
    let v: Value = c
        .graphql("query { viewer { login } }", json!({}))
        .await
        .unwrap();
    assert_eq!(v["viewer"]["login"], "me");
    assert_eq!(gh.lines().await, ["POST /graphql", "POST /graphql"]);
}

// ---------------------------------------------------------------- pagination, ETags

#[tokio::test]
async fn pagination_follows_link_headers() {
    let gh = MockGitHub::start().await;
    let base = gh.uri();
    Mock::given(method("GET"))
        .and(path("/repos/o/r/issues/1/comments"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"id": 3}])))
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/o/r/issues/1/comments"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "link",
                    format!(
                        "<{base}/repos/o/r/issues/1/comments?per_page=100&page=2>; rel=\"next\", <{base}/repos/o/r/issues/1/comments?per_page=100&page=2>; rel=\"last\""
                    )
                    .as_str(),
                )
                .set_body_json(json!([{"id": 1}, {"id": 2}])),
        )
        .mount(&gh.server)
        .await;
    let c = client(&gh).await;
    let all: Vec<Value> = c
        .get_all("/repos/o/r/issues/1/comments", None)
        .await
        .unwrap();
    assert_eq!(
        all.iter()
            .map(|v| v["id"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    gh.assert_lines(&[
        "GET /repos/o/r/issues/1/comments?per_page=100",
        "GET /repos/o/r/issues/1/comments?per_page=100&page=2",
    ])
    .await;
}

#[tokio::test]
async fn pagination_of_wrapped_lists_and_foreign_links() {
    let gh = MockGitHub::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/o/r/actions/runs"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("link", "<https://evil.example/steal?page=2>; rel=\"next\"")
                .set_body_json(json!({"total_count": 1, "workflow_runs": [{"id": 9}]})),
        )
        .mount(&gh.server)
        .await;
    let c = client(&gh).await;
    let e = c
        .get_all::<Value>("/repos/o/r/actions/runs?branch=x", Some("workflow_runs"))
        .await
        .unwrap_err();
    // The link to another host is not followed, and page 1 is not passed off as the list.
    let msg = e.to_string();
    assert!(msg.contains("https://evil.example"), "{msg}");
    assert!(msg.contains("refusing to return a partial list"), "{msg}");
    assert!(!msg.contains("steal"), "only the origin is named: {msg}");
    gh.assert_lines(&["GET /repos/o/r/actions/runs?branch=x&per_page=100"])
        .await;
}

// ---------------------------------------------------------------- GitHub Enterprise Server

#[tokio::test]
async fn ghes_graphql_goes_to_api_graphql_with_the_token() {
    let gh = MockGitHub::start_ghes().await;
    Mock::given(method("POST"))
        .and(path("/api/graphql"))
        .and(header("authorization", "Bearer ghp_testtoken"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": {"viewer": {"login": "me"}}})),
        )
        .mount(&gh.server)
        .await;
    let c = client(&gh).await;
    assert_eq!(c.graphql_path(), "/api/graphql");
    let v: Value = c
        .graphql("query { viewer { login } }", json!({"a": 1}))
        .await
        .unwrap();
    assert_eq!(v["viewer"]["login"], "me");
    gh.assert_lines(&["POST /api/graphql"]).await;
    let seen = gh.seen().await;
    assert_eq!(
        seen[0].body,
        json!({"query": "query { viewer { login } }", "variables": {"a": 1}})
    );
    gh.assert_only_ghes_paths().await;
}

#[tokio::test]
async fn ghes_graphql_with_an_app_installation_uses_the_installation_token() {
    let gh = MockGitHub::start_ghes().await;
    Mock::given(method("GET"))
        .and(path("/api/v3/repos/o/r/installation"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 42, "app_slug": "ghops-ci", "permissions": {"contents": "write"}
        })))
        .mount(&gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v3/app/installations/42/access_tokens"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "token": "ghs_minted", "expires_at": "2999-01-01T00:00:00Z",
            "permissions": {"contents": "write"}
        })))
        .expect(1)
        .mount(&gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/graphql"))
        .and(header("authorization", "Bearer ghs_minted"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"n": 1}})))
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v3/repos/o/r"))
        .and(header("authorization", "Bearer ghs_minted"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 1})))
        .mount(&gh.server)
        .await;
    let c = app_client(&gh).await;
    let v: Value = c.graphql("query { n }", json!({})).await.unwrap();
    assert_eq!(v["n"], 1);
    c.get::<Value>("/repos/o/r").await.unwrap();
    let v: Value = c.graphql("query { n }", json!({})).await.unwrap();
    assert_eq!(v["n"], 1);
    // One token, minted once, serves REST and GraphQL.
    gh.assert_lines(&[
        "GET /api/v3/repos/o/r/installation",
        "POST /api/v3/app/installations/42/access_tokens",
        "POST /api/graphql",
        "GET /api/v3/repos/o/r",
        "POST /api/graphql",
    ])
    .await;
    gh.assert_only_ghes_paths().await;
}

#[tokio::test]
async fn ghes_pagination_follows_links_naming_the_servers_own_hostname() {
    let gh = MockGitHub::start_ghes().await;
    // GHES reached by IP (the mock's 127.0.0.1) reports its configured hostname in links.
    Mock::given(method("GET"))
        .and(path("/api/v3/repos/o/r/issues/1/comments"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"id": 3}])))
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v3/repos/o/r/issues/1/comments"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "link",
                    "<https://ghe.internal/api/v3/repos/o/r/issues/1/comments?per_page=100&page=2>; rel=\"next\"",
                )
                .set_body_json(json!([{"id": 1}, {"id": 2}])),
        )
        .mount(&gh.server)
        .await;
    let c = client(&gh).await;
    let all: Vec<Value> = c
        .get_all("/repos/o/r/issues/1/comments", None)
        .await
        .unwrap();
    assert_eq!(all.len(), 3, "the whole list, not page 1");
    gh.assert_lines(&[
        "GET /api/v3/repos/o/r/issues/1/comments?per_page=100",
        "GET /api/v3/repos/o/r/issues/1/comments?per_page=100&page=2",
    ])
    .await;
    gh.assert_only_ghes_paths().await;
}

#[tokio::test]
async fn the_ghes_front_forwards_ghes_paths_and_reports_strays() {
    // The front that GHOPS_TEST_GHES=1 puts before every test's mock: mocks are written for
    // github.com paths; GHES paths reach them, anything else is a STRAY in `seen()`.
    let gh = MockGitHub::start_behind_ghes_front().await;
    Mock::given(method("GET"))
        .and(path("/repos/o/r"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"e1\"")
                .set_body_json(json!({"id": 1})),
        )
        .mount(&gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_json(json!({"query": "query { n }", "variables": {}})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"n": 2}})))
        .mount(&gh.server)
        .await;
    assert!(gh.uri().ends_with("/api/v3"));
    assert_eq!(gh.base_path(), "/api/v3");
    let c = client(&gh).await;
    match c
        .get_conditional::<Value>("/repos/o/r", None)
        .await
        .unwrap()
    {
        Conditional::Modified { value, etag } => {
            assert_eq!(value["id"], 1);
            assert_eq!(
                etag.as_deref(),
                Some("\"e1\""),
                "response headers pass through"
            );
        }
        Conditional::NotModified => panic!("expected a body"),
    }
    let v: Value = c.graphql("query { n }", json!({})).await.unwrap();
    assert_eq!(v["n"], 2);
    gh.assert_lines(&["GET /repos/o/r", "POST /graphql"]).await;

    // A client that skips the /api/v3 base is refused, loudly, and the test sees it.
    let wrong = GitHub::connect(ClientConfig {
        api_url: gh.uri().trim_end_matches("/api/v3").to_owned(),
        retry: RetryPolicy::fast(),
        ..ClientConfig::new(token_creds())
    })
    .await
    .unwrap();
    let e = wrong.get::<Value>("/repos/o/r").await.unwrap_err();
    assert_eq!(e.status(), Some(ghops_test_support::NOT_GHES_STATUS));
    assert_eq!(
        gh.lines().await,
        ["STRAY GET /repos/o/r", "GET /repos/o/r", "POST /graphql"]
    );
}

#[tokio::test]
async fn ghes_link_outside_the_api_base_fails_the_read() {
    let gh = MockGitHub::start_ghes().await;
    Mock::given(method("GET"))
        .and(path("/api/v3/repos/o/r/issues/1/comments"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "link",
                    "<https://ghe.internal/elsewhere?page=2>; rel=\"next\"",
                )
                .set_body_json(json!([{"id": 1}])),
        )
        .mount(&gh.server)
        .await;
    let c = client(&gh).await;
    let e = c
        .get_all::<Value>("/repos/o/r/issues/1/comments", None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("partial list"), "{e}");
    gh.assert_lines(&["GET /api/v3/repos/o/r/issues/1/comments?per_page=100"])
        .await;
}

#[tokio::test]
async fn conditional_get_sends_etag_and_handles_304() {
    let gh = MockGitHub::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/o/r/deployments"))
        .and(header("if-none-match", "\"abc\""))
        .respond_with(ResponseTemplate::new(304))
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/o/r/deployments"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"abc\"")
                .set_body_json(json!([])),
        )
        .mount(&gh.server)
        .await;
    let c = client(&gh).await;
    let first: Conditional<Value> = c
        .get_conditional("/repos/o/r/deployments", None)
        .await
        .unwrap();
    let etag = match first {
        Conditional::Modified { etag, .. } => etag.unwrap(),
        Conditional::NotModified => panic!("first read must be a 200"),
    };
    let second: Conditional<Value> = c
        .get_conditional("/repos/o/r/deployments", Some(&etag))
        .await
        .unwrap();
    assert_eq!(second, Conditional::NotModified);
    let reqs = gh.server.received_requests().await.unwrap();
    assert!(reqs[0].headers.get("if-none-match").is_none());
    assert_eq!(reqs[1].headers.get("if-none-match").unwrap(), "\"abc\"");
}

/// One pagination loop for conditional lists: the first page sent with `If-None-Match`, a 304
/// ends the walk (or leaves it before the first page, read unconditionally on demand), a 200
/// carries the new ETag and its `Link` leads to the next pages.
#[tokio::test]
async fn a_conditional_walk_sends_the_etag_on_the_first_page_only() {
    let gh = MockGitHub::start().await;
    let base = gh.uri();
    Mock::given(method("GET"))
        .and(path("/repos/o/r/deployments"))
        .and(header("if-none-match", "\"v1\""))
        .respond_with(ResponseTemplate::new(304))
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/o/r/deployments"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"id": 1}])))
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/o/r/deployments"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"v2\"")
                .insert_header(
                    "link",
                    format!("<{base}/repos/o/r/deployments?per_page=100&page=2>; rel=\"next\"")
                        .as_str(),
                )
                .set_body_json(json!([{"id": 3}, {"id": 2}])),
        )
        .mount(&gh.server)
        .await;
    let c = client(&gh).await;
    let ids = |v: &[Value]| {
        v.iter()
            .map(|d| d["id"].as_u64().unwrap())
            .collect::<Vec<_>>()
    };

    // Unchanged: one request, nothing more to read unless asked; asked, the first page again
    // (unconditionally), then the next by its link.
    let mut p = c.pages("/repos/o/r/deployments", None);
    let a = p
        .first_page_if_none_match::<Value>(Some("\"v1\""))
        .await
        .unwrap();
    assert_eq!(a, Conditional::NotModified);
    assert!(p.has_next());
    assert_eq!(ids(&p.next_page::<Value>().await.unwrap().unwrap()), [3, 2]);
    assert_eq!(ids(&p.next_page::<Value>().await.unwrap().unwrap()), [1]);
    assert_eq!(p.next_page::<Value>().await.unwrap(), None);

    // Changed: the page and its new ETag; the link leads on, without the ETag.
    let mut p = c.pages("/repos/o/r/deployments", None);
    match p
        .first_page_if_none_match::<Value>(Some("\"v0\""))
        .await
        .unwrap()
    {
        Conditional::Modified { value, etag } => {
            assert_eq!((ids(&value), etag.as_deref()), (vec![3, 2], Some("\"v2\"")));
        }
        Conditional::NotModified => panic!("the ETag changed"),
    }
    assert_eq!(ids(&p.next_page::<Value>().await.unwrap().unwrap()), [1]);
    assert!(!p.has_next());

    gh.assert_lines(&[
        "GET /repos/o/r/deployments?per_page=100",
        "GET /repos/o/r/deployments?per_page=100",
        "GET /repos/o/r/deployments?per_page=100&page=2",
        "GET /repos/o/r/deployments?per_page=100",
        "GET /repos/o/r/deployments?per_page=100&page=2",
    ])
    .await;
    let reqs = gh.server.received_requests().await.unwrap();
    let sent: Vec<Option<&str>> = reqs
        .iter()
        .map(|r| r.headers.get("if-none-match").map(|v| v.to_str().unwrap()))
        .collect();
    assert_eq!(sent, [Some("\"v1\""), None, None, Some("\"v0\""), None]);
}

// ---------------------------------------------------------------- GitHub App

async fn mount_installation(gh: &MockGitHub, expires_at: &str, expect_mints: u64) {
    Mock::given(method("GET"))
        .and(path("/repos/o/r/installation"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 42, "app_slug": "ghops-ci", "permissions": {"contents": "write"}
        })))
        .expect(1)
        .mount(&gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/app/installations/42/access_tokens"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "token": "ghs_minted", "expires_at": expires_at, "permissions": {"contents": "write"}
        })))
        .expect(expect_mints)
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/o/r"))
        .and(header("authorization", "Bearer ghs_minted"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 1})))
        .mount(&gh.server)
        .await;
}

async fn app_client(gh: &MockGitHub) -> GitHub {
    GitHub::connect(ClientConfig {
        api_url: gh.uri(),
        retry: RetryPolicy::fast(),
        installation: Some(InstallationTarget::Repo(repo())),
        ..ClientConfig::new(Credentials::App {
            app_id: 7,
            private_key: SecretString::from(TEST_APP_KEY.to_owned()),
        })
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn app_token_is_minted_once_and_cached() {
    let gh = MockGitHub::start().await;
    mount_installation(&gh, "2999-01-01T00:00:00Z", 1).await;
    let c = app_client(&gh).await;
    assert_eq!(c.installation_id(), Some(42));
    for _ in 0..3 {
        c.get::<Value>("/repos/o/r").await.unwrap();
    }
    gh.assert_lines(&[
        "GET /repos/o/r/installation",
        "POST /app/installations/42/access_tokens",
        "GET /repos/o/r",
        "GET /repos/o/r",
        "GET /repos/o/r",
    ])
    .await;
}

#[tokio::test]
async fn app_token_near_expiry_is_refreshed() {
    let gh = MockGitHub::start().await;
    // Expires in 10 s: inside the refresh margin, so every request mints a fresh one.
    let soon = (chrono_now() + 10).to_string();
    let soon = unix_to_rfc3339(soon.parse().unwrap());
    mount_installation(&gh, &soon, 2).await;
    let c = app_client(&gh).await;
    c.get::<Value>("/repos/o/r").await.unwrap();
    c.get::<Value>("/repos/o/r").await.unwrap();
    gh.assert_lines(&[
        "GET /repos/o/r/installation",
        "POST /app/installations/42/access_tokens",
        "GET /repos/o/r",
        "POST /app/installations/42/access_tokens",
        "GET /repos/o/r",
    ])
    .await;
}

fn chrono_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn unix_to_rfc3339(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap()
        .to_rfc3339()
}

// ---------------------------------------------------------------- permissions

async fn mount_permission(gh: &MockGitHub, user: &str, role: &str, legacy: &str) {
    Mock::given(method("GET"))
        .and(path(format!("/repos/o/r/collaborators/{user}/permission")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "permission": legacy, "role_name": role, "user": {"login": user}
        })))
        .mount(&gh.server)
        .await;
}

#[tokio::test]
async fn permission_policy_each_level() {
    let gh = MockGitHub::start().await;
    for (user, role, legacy) in [
        ("adm", "admin", "admin"),
        ("mnt", "maintain", "write"),
        ("wrt", "write", "write"),
        ("tri", "triage", "read"),
        ("rea", "read", "read"),
        ("non", "none", "none"),
    ] {
        mount_permission(&gh, user, role, legacy).await;
    }
    let c = client(&gh).await;
    let policy = |min| Policy {
        min_permission: Some(min),
        ..Policy::default()
    };
    let allowed = |min| {
        let c = c.clone();
        async move {
            let mut out = Vec::new();
            for u in ["adm", "mnt", "wrt", "tri", "rea", "non"] {
                if policy(min)
                    .authorize(&c, &repo(), u, Some("User"))
                    .await
                    .allowed
                {
                    out.push(u);
                }
            }
            out
        }
    };
    assert_eq!(allowed(Permission::Write).await, ["adm", "mnt", "wrt"]);
    assert_eq!(
        allowed(Permission::Maintain).await,
        ["adm", "mnt"],
        "maintain is not write"
    );
    assert_eq!(
        allowed(Permission::Triage).await,
        ["adm", "mnt", "wrt", "tri"],
        "triage is not read"
    );
    assert_eq!(allowed(Permission::Admin).await, ["adm"]);
    gh.assert_no_writes().await;
}

#[tokio::test]
async fn api_error_means_not_authorised() {
    let gh = MockGitHub::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/o/r/collaborators/x/permission"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/o/r/collaborators/y/permission"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .mount(&gh.server)
        .await;
    let c = client(&gh).await;
    // An outage: refused, flagged as a check that could not be made (worth a retry).
    let d = Policy::default().authorize(&c, &repo(), "x", None).await;
    assert!(!d.allowed && d.check_failed, "{d:?}");
    // No such user: a plain refusal.
    let d = Policy::default().authorize(&c, &repo(), "y", None).await;
    assert!(!d.allowed && !d.check_failed, "{d:?}");
}

#[tokio::test]
async fn team_membership_deny_allow_and_bots() {
    let gh = MockGitHub::start().await;
    mount_permission(&gh, "alice", "read", "read").await;
    mount_permission(&gh, "bob", "read", "read").await;
    mount_permission(&gh, "carol", "read", "read").await;
    Mock::given(method("GET"))
        .and(path("/orgs/org/teams/deployers/memberships/alice"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"state": "active", "role": "member"})),
        )
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/orgs/org/teams/deployers/memberships/bob"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"state": "pending", "role": "member"})),
        )
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/orgs/org/teams/deployers/memberships/carol"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&gh.server)
        .await;
    let c = client(&gh).await;
    let p = Policy {
        teams: vec!["org/deployers".parse::<Team>().unwrap()],
        deny: vec!["Mallory".into()],
        allow: vec!["trusted".into()],
        ..Policy::default()
    };
    assert!(p.authorize(&c, &repo(), "alice", None).await.allowed);
    assert!(
        !p.authorize(&c, &repo(), "bob", None).await.allowed,
        "pending is not active"
    );
    assert!(!p.authorize(&c, &repo(), "carol", None).await.allowed);
    let before = gh.lines().await.len();
    assert!(!p.authorize(&c, &repo(), "mallory", None).await.allowed);
    assert!(p.authorize(&c, &repo(), "trusted", None).await.allowed);
    assert!(
        !p.authorize(&c, &repo(), "dependabot[bot]", Some("Bot"))
            .await
            .allowed
    );
    assert_eq!(
        gh.lines().await.len(),
        before,
        "deny/allow/bot decisions need no API call"
    );
}

// ---------------------------------------------------------------- comments

fn comment(id: u64, login: &str, body: &str) -> Value {
    json!({"id": id, "body": body, "user": {"login": login, "id": 1, "type": "User"}})
}

async fn mount_comments(gh: &MockGitHub, comments: Value) {
    Mock::given(method("GET"))
        .and(path("/repos/o/r/issues/7/comments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(comments))
        .mount(&gh.server)
        .await;
}

#[tokio::test]
async fn upsert_creates_when_absent_ignoring_lookalikes() {
    let gh = MockGitHub::start().await;
    let m = marker("plan");
    // Someone else quoted our marker: it is not ours.
    mount_comments(
        &gh,
        json!([comment(1, "mallory", &format!("{m}\nfake plan"))]),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/repos/o/r/issues/7/comments"))
        .and(body_json(json!({"body": format!("{m}\nthe plan")})))
        .respond_with(ResponseTemplate::new(201).set_body_json(comment(2, "ghops[bot]", "x")))
        .mount(&gh.server)
        .await;
    let c = client(&gh).await;
    let r = upsert_comment(&c, &repo(), 7, &m, "the plan", "ghops[bot]")
        .await
        .unwrap();
    assert_eq!(r, Upserted::Created(2));
    gh.assert_writes(&["POST /repos/o/r/issues/7/comments"])
        .await;
}

#[tokio::test]
async fn upsert_updates_own_comment_and_is_a_noop_when_unchanged() {
    let gh = MockGitHub::start().await;
    let m = marker("plan");
    mount_comments(
        &gh,
        json!([
            comment(1, "other", "hi"),
            comment(5, "ghops[bot]", &format!("{m}\nold plan"))
        ]),
    )
    .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/o/r/issues/comments/5"))
        .and(body_json(json!({"body": format!("{m}\nnew plan")})))
        .respond_with(ResponseTemplate::new(200).set_body_json(comment(5, "ghops[bot]", "x")))
        .mount(&gh.server)
        .await;
    let c = client(&gh).await;
    assert_eq!(
        upsert_comment(&c, &repo(), 7, &m, "new plan", "ghops[bot]")
            .await
            .unwrap(),
        Upserted::Updated(5)
    );
    assert_eq!(
        upsert_comment(&c, &repo(), 7, &m, "old plan", "ghops[bot]")
            .await
            .unwrap(),
        Upserted::Unchanged(5)
    );
    gh.assert_writes(&["PATCH /repos/o/r/issues/comments/5"])
        .await;
}

#[tokio::test]
async fn upsert_never_leaves_two() {
    let gh = MockGitHub::start().await;
    let m = marker("plan");
    mount_comments(
        &gh,
        json!([
            comment(5, "ghops[bot]", &format!("{m}\nplan")),
            comment(6, "ghops[bot]", &format!("{m}\nplan (dup from a race)"))
        ]),
    )
    .await;
    Mock::given(method("DELETE"))
        .and(path("/repos/o/r/issues/comments/6"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&gh.server)
        .await;
    let c = client(&gh).await;
    assert_eq!(
        upsert_comment(&c, &repo(), 7, &m, "plan", "ghops[bot]")
            .await
            .unwrap(),
        Upserted::Unchanged(5)
    );
    gh.assert_writes(&["DELETE /repos/o/r/issues/comments/6"])
        .await;
}

#[tokio::test]
async fn upsert_after_502_on_create_relists_and_does_not_duplicate() {
    let gh = MockGitHub::start().await;
    let m = marker("status");
    // First listing: nothing. The POST 502s but GitHub did create the comment; the second
    // listing shows it, so no second POST is sent.
    Mock::given(method("GET"))
        .and(path("/repos/o/r/issues/7/comments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .up_to_n_times(1)
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/o/r/issues/7/comments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([comment(
            9,
            "me",
            &format!("{m}\nbody")
        )])))
        .mount(&gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/o/r/issues/7/comments"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&gh.server)
        .await;
    let c = client(&gh).await;
    assert_eq!(
        upsert_comment(&c, &repo(), 7, &m, "body", "me")
            .await
            .unwrap(),
        Upserted::Unchanged(9)
    );
    gh.assert_writes(&["POST /repos/o/r/issues/7/comments"])
        .await;
}

// ---------------------------------------------------------------- dry-run

#[tokio::test]
async fn dry_run_performs_only_gets() {
    let gh = MockGitHub::start().await;
    mount_comments(&gh, json!([])).await;
    let c = client_with(&gh, RetryPolicy::fast(), true).await;
    let r = upsert_comment(&c, &repo(), 7, &marker("plan"), "p", "me")
        .await
        .unwrap();
    assert_eq!(r, Upserted::DryRun);
    c.delete("/repos/o/r/git/refs/heads/x").await.unwrap();
    gh.assert_no_writes().await;
    let planned = c.planned_writes();
    assert_eq!(planned.len(), 2);
    assert_eq!(planned[0].method, "POST");
    assert_eq!(planned[0].path, "/repos/o/r/issues/7/comments");
    assert_eq!(
        planned[0].body,
        Some(json!({"body": "<!-- ghops:plan -->\np"}))
    );
    assert_eq!(planned[1].to_string(), "DELETE /repos/o/r/git/refs/heads/x");
}

#[tokio::test]
async fn api_errors_carry_githubs_message_and_no_token() {
    let gh = MockGitHub::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/o/r/git/refs"))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "message": "Reference already exists", "documentation_url": "x"
        })))
        .mount(&gh.server)
        .await;
    let c = client(&gh).await;
    let e = c
        .post::<Value>(
            "/repos/o/r/git/refs",
            &json!({"ref": "refs/heads/a", "sha": "1"}),
            Idempotency::NonIdempotent,
        )
        .await
        .unwrap_err();
    let shown = format!("{e} {e:?}");
    assert!(matches!(e, Error::Api { status: 422, .. }));
    assert!(shown.contains("Reference already exists"));
    assert!(!shown.contains("ghp_testtoken"));
    assert!(!format!("{c:?}").contains("ghp_testtoken"));
}

// ---------------------------------------------------------------- webhooks and events

#[test]
fn every_real_fixture_parses_and_verifies() {
    use gh_core::events::Event;
    use gh_core::webhook::{SignatureError, verify};
    let dir = ghops_test_support::repo_root().join("testdata/webhooks");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_owned();
        if !name.ends_with(".json") {
            continue;
        }
        let event = name.split('.').next().unwrap();
        let body = std::fs::read(&p).unwrap();
        let parsed = Event::parse(event, &body).unwrap_or_else(|e| panic!("{name}: {e}"));
        // check_suite is not an event ghops handles; every other one must be modelled.
        assert_eq!(
            matches!(parsed, Event::Other(_)),
            event == "check_suite",
            "{name}: {parsed:?}"
        );
        let secret = b"s3cret";
        let sig = ghops_test_support::sign(secret, &body);
        assert_eq!(verify(secret, &body, Some(&sig)), Ok(()), "{name}");
        let mut tampered = body.clone();
        tampered[10] ^= 1;
        assert_eq!(
            verify(secret, &tampered, Some(&sig)),
            Err(SignatureError::Mismatch)
        );
        n += 1;
    }
    assert!(n >= 30, "only {n} fixtures");
}

#[test]
fn installation_and_pr_facts_from_real_payloads() {
    use gh_core::events::{Event, IssueCommentEvent, decode};
    let e: IssueCommentEvent = decode(
        "issue_comment.created.on-pr.derived.json",
        &ghops_test_support::fixture_bytes("issue_comment.created.on-pr.derived.json"),
    )
    .unwrap();
    assert!(e.issue.is_pull_request());
    let plain: IssueCommentEvent = decode(
        "issue_comment.created.json",
        &ghops_test_support::fixture_bytes("issue_comment.created.json"),
    )
    .unwrap();
    assert!(!plain.issue.is_pull_request());
    let ev = Event::parse(
        "workflow_job",
        &ghops_test_support::fixture_bytes("workflow_job.queued.self-hosted.json"),
    )
    .unwrap();
    match &ev {
        Event::WorkflowJob(j) => assert_eq!(j.workflow_job.labels, ["self-hosted", "k8s"]),
        other => panic!("{other:?}"),
    }
    assert!(ev.installation_id().is_some());
}

// ---------------------------------------------------------------- git refs

/// A create that races another writer ("Reference already exists") is settled by reading
/// the ref again: same commit → unchanged; another commit → kept (and reported) or moved.
#[tokio::test]
async fn ensure_ref_settles_a_raced_create() {
    use gh_core::git::{OnOther, RefWrite, ensure_ref};
    for (raced_to, on_other, expect, writes) in [
        (
            "c1",
            OnOther::Keep,
            RefWrite::Unchanged,
            vec!["POST /repos/o/r/git/refs"],
        ),
        (
            "c9",
            OnOther::Keep,
            RefWrite::Elsewhere("c9".into()),
            vec!["POST /repos/o/r/git/refs"],
        ),
        (
            "c9",
            OnOther::Move,
            RefWrite::Moved,
            vec![
                "POST /repos/o/r/git/refs",
                "PATCH /repos/o/r/git/refs/heads/release/1.0.0",
            ],
        ),
    ] {
        let gh = MockGitHub::start().await;
        Mock::given(method("GET"))
            .and(path("/repos/o/r/git/ref/heads/release/1.0.0"))
            .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
            .up_to_n_times(1)
            .mount(&gh.server)
            .await;
        Mock::given(method("GET"))
            .and(path("/repos/o/r/git/ref/heads/release/1.0.0"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"object": {"sha": raced_to, "type": "commit"}})),
            )
            .mount(&gh.server)
            .await;
        Mock::given(method("POST"))
            .and(path("/repos/o/r/git/refs"))
            .and(body_json(
                json!({"ref": "refs/heads/release/1.0.0", "sha": "c1"}),
            ))
            .respond_with(
                ResponseTemplate::new(422)
                    .set_body_json(json!({"message": "Reference already exists"})),
            )
            .mount(&gh.server)
            .await;
        Mock::given(method("PATCH"))
            .and(path("/repos/o/r/git/refs/heads/release/1.0.0"))
            .and(body_json(json!({"sha": "c1", "force": true})))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
            .mount(&gh.server)
            .await;
        let c = client(&gh).await;
        let got = ensure_ref(&c, &repo(), "heads/release/1.0.0", "c1", on_other)
            .await
            .unwrap();
        assert_eq!(got, expect);
        gh.assert_writes(&writes).await;
    }
}

#[tokio::test]
async fn an_installation_token_in_gh_token_asks_graphql_who_it_is() {
    // An App installation token handed over as GH_TOKEN (actions/create-github-app-token):
    // the App acts as `my-app[bot]`, which must not be guessed as `github-actions[bot]`.
    // Installation tokens cannot read /user or /app; GraphQL's viewer answers.
    let gh = MockGitHub::start().await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_json(
            json!({"query": "query { viewer { login } }", "variables": {}}),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": {"viewer": {"login": "my-app[bot]"}}})),
        )
        .expect(1)
        .mount(&gh.server)
        .await;
    let c = GitHub::connect(ClientConfig {
        api_url: gh.uri(),
        retry: RetryPolicy::fast(),
        ..ClientConfig::new(Credentials::Token {
            token: SecretString::from("ghs_installationTOKEN0123456789".to_owned()),
            source: TokenSource::GhToken,
        })
    })
    .await
    .unwrap();
    if std::env::var_os("GHOPS_APP_SLUG").is_none() {
        assert_eq!(c.login().await.unwrap(), "my-app[bot]");
        assert_eq!(gh.lines().await, ["POST /graphql"]);
    }
}

#[tokio::test]
async fn concurrent_creates_converge_the_later_writer_deletes_its_duplicate() {
    // Both writers listed no comment and created one; this writer's is 8, another writer's 6.
    // The listing after the create shows both: the later writer (8) deletes its own and
    // writes its body into 6.
    let gh = MockGitHub::start().await;
    let m = marker("plan");
    Mock::given(method("GET"))
        .and(path("/repos/o/r/issues/7/comments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .up_to_n_times(1)
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/o/r/issues/7/comments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            comment(6, "ghops[bot]", &format!("{m}\nother plan")),
            comment(8, "ghops[bot]", &format!("{m}\nmy plan"))
        ])))
        .mount(&gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/o/r/issues/7/comments"))
        .respond_with(ResponseTemplate::new(201).set_body_json(comment(8, "ghops[bot]", "x")))
        .mount(&gh.server)
        .await;
    for (m, p) in [
        ("DELETE", "/repos/o/r/issues/comments/8"),
        ("PATCH", "/repos/o/r/issues/comments/6"),
    ] {
        Mock::given(method(m))
            .and(path(p))
            .respond_with(ResponseTemplate::new(200).set_body_json(comment(6, "ghops[bot]", "x")))
            .mount(&gh.server)
            .await;
    }
    let c = client(&gh).await;
    let r = upsert_comment(&c, &repo(), 7, &m, "my plan", "ghops[bot]")
        .await
        .unwrap();
    assert_eq!(r, Upserted::Updated(6));
    gh.assert_writes(&[
        "POST /repos/o/r/issues/7/comments",
        "DELETE /repos/o/r/issues/comments/8",
        "PATCH /repos/o/r/issues/comments/6",
    ])
    .await;
    let w = gh.writes().await;
    assert_eq!(w[2].body, json!({"body": format!("{m}\nmy plan")}));
}

// ---------------------------------------------------------------- error hints

/// The error for one GET of `p` answered by `resp`, shown as users see it.
async fn error_shown(p: &str, resp: ResponseTemplate) -> String {
    let gh = MockGitHub::start().await;
    Mock::given(method("GET"))
        .and(path(p))
        .respond_with(resp)
        .expect(1)
        .mount(&gh.server)
        .await;
    let c = client_with(&gh, RetryPolicy::none(), false).await;
    let e = c.get::<Value>(p).await.unwrap_err();
    assert_eq!(e.exit_code(), gh_core::ExitCode::Api);
    gh.assert_no_writes().await;
    e.to_string()
}

#[tokio::test]
async fn api_errors_name_the_likely_cause() {
    let msg = |m: &str| json!({"message": m, "documentation_url": "https://docs.github.com"});
    let shown = [
        error_shown(
            "/user",
            ResponseTemplate::new(401).set_body_json(msg("Bad credentials")),
        )
        .await,
        error_shown(
            "/repos/o/r/actions/runs",
            ResponseTemplate::new(403)
                .insert_header("x-accepted-github-permissions", "actions=read")
                .set_body_json(msg("Resource not accessible by integration")),
        )
        .await,
        error_shown(
            "/repos/o/r/projects",
            ResponseTemplate::new(403)
                .insert_header(
                    "x-accepted-github-permissions",
                    "repository_projects=write; organization_projects=admin",
                )
                .set_body_json(msg("Resource not accessible by personal access token")),
        )
        .await,
        error_shown(
            "/repos/o/r/hooks",
            ResponseTemplate::new(403)
                .insert_header("x-accepted-oauth-scopes", "admin:repo_hook, repo")
                .insert_header("x-oauth-scopes", "read:org")
                .set_body_json(msg("Must have admin rights to Repository.")),
        )
        .await,
        error_shown(
            "/repos/o/r",
            ResponseTemplate::new(403)
                .insert_header(
                    "x-github-sso",
                    "required; url=https://github.com/orgs/o/sso?authorization_request=X",
                )
                .set_body_json(msg("Resource protected by organization SAML enforcement.")),
        )
        .await,
        error_shown(
            "/repos/o/r/pulls",
            ResponseTemplate::new(403)
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", "1")
                .set_body_json(msg("API rate limit exceeded for user ID 1.")),
        )
        .await,
        error_shown(
            "/repos/o/nope",
            ResponseTemplate::new(404).set_body_json(msg("Not Found")),
        )
        .await,
        error_shown(
            "/repos/o/r/pulls/1",
            ResponseTemplate::new(422).set_body_json(msg("Validation Failed")),
        )
        .await,
    ];
    insta::assert_snapshot!(shown.join("\n"), @r"
    GitHub API GET /user failed with 401: Bad credentials (the credentials are invalid, expired or revoked: check GH_TOKEN / GITHUB_TOKEN / --token, or the GitHub App id and key)
    GitHub API GET /repos/o/r/actions/runs failed with 403: Resource not accessible by integration (the credentials lack a permission for this on o/r; it needs the permission actions=read)
    GitHub API GET /repos/o/r/projects failed with 403: Resource not accessible by personal access token (the credentials lack a permission for this on o/r; it needs the permission repository_projects=write or organization_projects=admin)
    GitHub API GET /repos/o/r/hooks failed with 403: Must have admin rights to Repository. (the credentials lack a permission for this on o/r; it accepts the scopes admin:repo_hook, repo, the token has read:org)
    GitHub API GET /repos/o/r failed with 403: Resource protected by organization SAML enforcement. (the organisation uses SAML single sign-on: authorise this token for it at https://github.com/orgs/o/sso?authorization_request=X)
    GitHub API GET /repos/o/r/pulls failed with 403: API rate limit exceeded for user ID 1. (the rate limit is used up; `ghops auth status` shows the budget)
    GitHub API GET /repos/o/nope failed with 404: Not Found (wrong repository (o/nope) or resource, or the credentials cannot see it; check --repo and the token's or App installation's access to o/nope)
    GitHub API GET /repos/o/r/pulls/1 failed with 422: Validation Failed
    ");
}

/// A connection that never gets an answer names the host and the cause, not octocrab's
/// `Service Error: client error (Connect)`.
#[tokio::test]
async fn connection_errors_name_host_and_cause() {
    // A port nothing listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = GitHub::connect(ClientConfig {
        api_url: format!("http://127.0.0.1:{port}"),
        retry: RetryPolicy::none(),
        ..ClientConfig::new(token_creds())
    })
    .await
    .unwrap();
    let e = c.get::<Value>("/user").await.unwrap_err();
    let shown = e.to_string();
    assert!(matches!(e, Error::Transport { .. }), "{e:?}");
    assert!(
        shown.starts_with(&format!(
            "GitHub API GET /user could not be sent: no answer from http://127.0.0.1:{port} (tcp connect error: Connection refused"
        )),
        "{shown}"
    );
    assert!(!shown.contains("Service Error"), "{shown}");
}

// ------------------------------------------------------- Installations (the one factory)

fn app_config(gh: &MockGitHub) -> ClientConfig {
    ClientConfig {
        api_url: gh.uri(),
        retry: RetryPolicy::fast(),
        ..ClientConfig::new(Credentials::App {
            app_id: 7,
            private_key: SecretString::from(TEST_APP_KEY.to_owned()),
        })
    }
}

#[tokio::test]
async fn installations_resolve_a_target_once_for_concurrent_callers() {
    let gh = MockGitHub::start().await;
    // `expect(1)` on the installation GET and on the mint.
    mount_installation(&gh, "2999-01-01T00:00:00Z", 1).await;
    let inst = Installations::new(app_config(&gh));
    let target = || InstallationTarget::Repo(repo());
    let (a, b) = tokio::join!(inst.for_target(target()), inst.for_target(target()));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.installation_id(), Some(42));
    a.get::<Value>("/repos/o/r").await.unwrap();
    b.get::<Value>("/repos/o/r").await.unwrap();
    let c = inst.for_target(target()).await.unwrap();
    c.get::<Value>("/repos/o/r").await.unwrap();
    gh.assert_lines(&[
        "GET /repos/o/r/installation",
        "POST /app/installations/42/access_tokens",
        "GET /repos/o/r",
        "GET /repos/o/r",
        "GET /repos/o/r",
    ])
    .await;
    let shown = format!("{inst:?}");
    assert!(
        !shown.contains("PRIVATE KEY") && !shown.contains("ghs_"),
        "{shown}"
    );
}

#[tokio::test]
async fn installations_mint_narrowed_tokens_once_per_permission_set() {
    let gh = MockGitHub::start().await;
    Mock::given(method("GET"))
        .and(path("/app/installations/42"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 42, "app_slug": "ghops-ci",
            "permissions": {"contents": "read", "issues": "write", "metadata": "read"}
        })))
        .expect(1)
        .mount(&gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/app/installations/42/access_tokens"))
        .and(body_json(
            json!({"permissions": {"contents": "read", "issues": "write"}}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "token": "ghs_narrow", "expires_at": "2999-01-01T00:00:00Z"
        })))
        .expect(1)
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/o/r"))
        .and(header("authorization", "Bearer ghs_narrow"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 1})))
        .expect(2)
        .mount(&gh.server)
        .await;
    let inst = Installations::new(app_config(&gh));
    // More than granted (contents), and not granted at all (members): asked at most as granted.
    let wanted = perms(&[
        ("contents", "write"),
        ("issues", "write"),
        ("members", "read"),
    ]);
    for _ in 0..2 {
        let c = inst.client_with(Some(42), &wanted).await.unwrap();
        assert_eq!(c.known_login(), Some("ghops-ci[bot]"));
        c.get::<Value>("/repos/o/r").await.unwrap();
    }
    gh.assert_lines(&[
        "GET /app/installations/42",
        "POST /app/installations/42/access_tokens",
        "GET /repos/o/r",
        "GET /repos/o/r",
    ])
    .await;
}

#[tokio::test]
async fn installations_with_a_token_share_its_one_client_and_send_nothing() {
    let gh = MockGitHub::start().await;
    let inst = Installations::new(ClientConfig {
        api_url: gh.uri(),
        ..ClientConfig::new(token_creds())
    });
    assert!(!inst.is_app());
    inst.for_target(InstallationTarget::Org("o".into()))
        .await
        .unwrap();
    inst.client_with(Some(42), &perms(&[("contents", "read")]))
        .await
        .unwrap();
    inst.client(None).await.unwrap();
    gh.assert_lines(&[]).await;
}

#[tokio::test]
async fn installations_limit_minted_tokens_to_repositories() {
    let gh = MockGitHub::start().await;
    Mock::given(method("GET"))
        .and(path("/app/installations/42"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 42, "permissions": {"contents": "write"}
        })))
        .expect(2)
        .mount(&gh.server)
        .await;
    for (body, token) in [
        (
            json!({"permissions": {"contents": "read"}, "repositories": ["r"]}),
            "ghs_r",
        ),
        // No permission set: the installation's own, only the repositories limited.
        (json!({"repositories": ["r", "s"]}), "ghs_rs"),
    ] {
        Mock::given(method("POST"))
            .and(path("/app/installations/42/access_tokens"))
            .and(body_json(body))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({
                "token": token, "expires_at": "2999-01-01T00:00:00Z"
            })))
            .expect(1)
            .mount(&gh.server)
            .await;
    }
    let inst = Installations::new(app_config(&gh));
    let read = perms(&[("contents", "read")]);
    let r = ["r".to_owned()];
    let rs = ["r".to_owned(), "s".to_owned()];
    for _ in 0..2 {
        inst.client_for_repos(Some(42), &read, &r).await.unwrap();
    }
    inst.client_for_repos(Some(42), &perms(&[]), &rs)
        .await
        .unwrap();
    gh.assert_lines(&[
        "GET /app/installations/42",
        "POST /app/installations/42/access_tokens",
        "GET /app/installations/42",
        "POST /app/installations/42/access_tokens",
    ])
    .await;
}
