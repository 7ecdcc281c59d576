//! Contract tests: ghops against Prism serving GitHub's official OpenAPI description with
//! request validation on. Any request the description rejects (4xx with `sl-violations`)
//! fails the test. One Prism for the whole run (start-up costs 10-15 s), so the checks are
//! steps of one test; the guard stops Prism even when a step panics.

use gh_core::auth::{Credentials, SecretString, TokenSource};
use gh_core::client::{ClientConfig, GitHub};
use gh_core::comments::{Upserted, marker, upsert_comment};
use gh_core::permission::Policy;
use gh_core::retry::{Idempotency, RetryPolicy};
use serde_json::{Value, json};

use crate::prism::Prism;
use crate::util::{ghops, run, stderr, stdout};

async fn client(url: &str) -> GitHub {
    GitHub::connect(ClientConfig {
        api_url: url.to_owned(),
        retry: RetryPolicy::none(),
        ..ClientConfig::new(Credentials::Token {
            token: SecretString::from("ghp_contracttoken".to_owned()),
            source: TokenSource::Flag,
        })
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn github_contract() {
    let prism = Prism::start().await;
    // Prism answers list endpoints with the description's example `Link` header, which names
    // pages (`/repositories/1300192/issues?page=4` on api.github.com) that Prism does not
    // serve; ghops rightly refuses to treat page 1 as the whole list when it cannot follow a
    // link. The front passes every request and answer through unchanged but that header.
    let prism_addr = prism
        .url
        .trim_start_matches("http://")
        .parse()
        .expect("Prism's address");
    let url = ghops_test_support::start_forwarder(prism_addr, &["link"]);

    // 0. The harness really validates: a malformed body is rejected.
    let gh = client(&url).await;
    let bad = gh
        .post::<Value>(
            "/repos/octo/hello/git/refs",
            &json!({"ref": 5}),
            Idempotency::NonIdempotent,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(bad.status(), Some(400) | Some(422)),
        "an invalid body must be rejected by the contract server: {bad}"
    );

    // 1. `ghops auth status` (the binary): GET /user, GET /rate_limit.
    let mut c = ghops();
    c.args([
        "auth",
        "status",
        "--json",
        "--repo",
        "octo/hello",
        "--api-url",
        &url,
    ])
    .env("GH_TOKEN", "ghp_contracttoken");
    let out = run(c).await;
    assert!(
        out.status.success(),
        "auth status against Prism: {}\n{}",
        stderr(&out),
        prism.log_tail()
    );
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(v["identity"]["login"].is_string(), "{v}");
    assert!(v["identity"]["rate_limit"]["limit"].is_u64(), "{v}");

    // 2. Comment upsert: list (paginated) then create, shapes per the description.
    let repo = "octo/hello".parse().unwrap();
    let r = upsert_comment(
        &gh,
        &repo,
        1347,
        &marker("contract"),
        "hello",
        "ghops-contract[bot]",
    )
    .await
    .unwrap_or_else(|e| panic!("upsert against Prism: {e}\n{}", prism.log_tail()));
    assert!(matches!(r, Upserted::Created(_)), "{r:?}");

    // 3. Permission check shape.
    let d = Policy::default()
        .authorize(&gh, &repo, "octocat", Some("User"))
        .await;
    assert!(
        !d.reason.contains("failed"),
        "permission read rejected: {}",
        d.reason
    );

    // 4. Workflow contract steps are appended by each workflow below.
    crate::pr_bridge_contract_steps(&url).await;

    drop(prism);
}
