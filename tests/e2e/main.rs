//! End-to-end tests: the real `ghops` binary against wiremock GitHub (exact requests) and the
//! Prism contract server (GitHub's official OpenAPI description). One test binary; one module
//! per workflow.

mod prism;
mod util;

mod agent;
mod auth;
mod contract;
mod env;
mod plan;
mod pr_bridge;
mod release;
mod runners;
mod serve;
mod ship;

/// The pr-bridge trigger against the contract server: every request it makes (permission,
/// reactions, PR, merge commit, comments) must satisfy GitHub's OpenAPI description. Prism
/// answers with the description's examples, so the trigger may stop at a check (the example
/// merge commit has one parent); any API error (a rejected request) fails.
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
    let repo: gh_core::RepoRef = "octo/hello".parse().unwrap();
    let pull: serde_json::Value = gh.get("/repos/octo/hello/pulls/1347").await.unwrap();
    let head = pull["head"]["sha"]
        .as_str()
        .unwrap_or("6dcb09b5b57875f334f61aebed695e2e4193db5e");
    let mut ev = ghops_test_support::fixture_json("issue_comment.created.on-pr.derived.json");
    ev["comment"]["body"] = serde_json::json!(format!("/test-this-pr sha={}", &head[..7]));
    ev["comment"]["user"]["login"] = serde_json::json!("octocat");
    ev["issue"]["number"] = serde_json::json!(1347);
    let ev: gh_core::events::IssueCommentEvent = serde_json::from_value(ev).unwrap();
    let opts = ::pr_bridge::Options {
        mergeable_delay_ms: 1,
        run_wait_secs: 0,
        allow_same_repo: true,
        ..::pr_bridge::Options::default()
    };
    match ::pr_bridge::trigger(
        &gh,
        &repo,
        &ev,
        &opts,
        &::pr_bridge::Me::known("ghops-contract[bot]"),
    )
    .await
    {
        Ok(_)
        | Err(::pr_bridge::BridgeError::Refused(_))
        | Err(::pr_bridge::BridgeError::Timeout(_))
        | Err(::pr_bridge::BridgeError::Input(_)) => {}
        Err(e) => panic!("pr-bridge trigger against the contract server: {e}"),
    }
    // Every request of the full happy path (trigger, then the report of its run), recorded
    // against wiremock, replayed with its exact method, path, query and body: each must be
    // accepted by the description (Prism rejects violations with 4xx).
    let seen = crate::pr_bridge::happy_path_requests().await;
    assert!(seen.len() >= 20, "{seen:?}");
    for s in seen {
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
}
