//! End-to-end tests: the real `ghops` binary against wiremock GitHub (exact requests) and the
//! Prism contract server (GitHub's official OpenAPI description). One test binary; one module
//! per workflow.

mod prism;
mod util;

mod agent;
mod auth;
mod contract;
mod docs;
mod env;
mod ghes;
mod hardening;
mod parity;
mod plan;
mod pr_bridge;
mod release;
mod runners;
mod serve;
mod ship;

/// pr-bridge against the contract: every request of the full happy path (trigger, then the
/// report of its run), recorded against wiremock, replayed with its exact method, path, query
/// and body. REST requests go to Prism, which rejects any the OpenAPI description does not
/// allow (4xx); GraphQL documents (Prism serves no GraphQL) are validated against GitHub's
/// public GraphQL schema (`@octokit/graphql-schema`, pinned in `contract/package.json`).
async fn pr_bridge_contract_steps(prism_url: &str) {
    use gh_core::auth::{Credentials, SecretString, TokenSource};
    use gh_core::client::{ClientConfig, GitHub};
    use gh_core::retry::{Idempotency, RetryPolicy};
    let mut cfg = ClientConfig::new(Credentials::Token {
        token: SecretString::from("ghp_contracttoken".to_owned()),
        source: TokenSource::Flag,
    });
    cfg.api_url = prism_url.to_owned();
    cfg.retry = RetryPolicy::none();
    let gh = GitHub::connect(cfg).await.unwrap();
    let seen = crate::pr_bridge::happy_path_requests().await;
    assert!(seen.len() >= 14, "{seen:?}");
    let mut graphql = Vec::new();
    for s in seen {
        if s.path == "/graphql" {
            graphql.push(s.body["query"].as_str().unwrap().to_owned());
            continue;
        }
        let p = s
            .path
            .replace("/repos/Codertocat/Hello-World/", "/repos/octo/hello/")
            // GitHub takes `git/ref{,s}/heads/<branch>` with the branch's slashes as they are;
            // Prism matches the description's `{ref}` as one segment, so only here the
            // branch's slash is percent-encoded.
            .replace("heads/test-this-pr/", "heads%2Ftest-this-pr%2F");
        let r = match s.method.as_str() {
            "GET" => gh.get::<serde_json::Value>(&p).await.map(drop),
            "POST" => gh
                .post::<serde_json::Value>(&p, &s.body, Idempotency::NonIdempotent)
                .await
                .map(drop),
            "PATCH" => gh.patch::<serde_json::Value>(&p, &s.body).await.map(drop),
            "DELETE" => gh.delete(&p).await,
            m => panic!("unexpected method {m}"),
        };
        if let Err(e) = r {
            panic!(
                "pr-bridge request {} {p} {} rejected by the contract server: {e}",
                s.method, s.body
            );
        }
    }
    graphql.sort();
    graphql.dedup();
    assert_eq!(graphql.len(), 2, "the PR query and the comments query");
    validate_graphql(&graphql);
}

/// Validates GraphQL documents against GitHub's public schema (`contract/validate-graphql.mjs`).
fn validate_graphql(docs: &[String]) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let dir = ghops_test_support::repo_root().join("contract");
    assert!(
        dir.join("node_modules/@octokit/graphql-schema").exists(),
        "the contract harness is not installed: run `cd contract && npm ci` (./scripts/test does)"
    );
    let mut child = Command::new("node")
        .arg("validate-graphql.mjs")
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run node");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&serde_json::to_vec(docs).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "GraphQL rejected by GitHub's schema:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
