//! release-flow environments and gates against a wiremock GitHub: label-driven deploy /
//! undeploy, QA slot hand-over, idempotent deployment records, gates (exact requests).

mod gate;
mod init;
mod record;
mod story;
mod sync;

use gh_core::auth::{Credentials, SecretString, TokenSource};
use gh_core::client::ClientConfig;
use gh_core::events::PullRequestEvent;
use gh_core::retry::RetryPolicy;
use gh_core::{GitHub, RepoRef};
use ghops_test_support::{MockGitHub, fixture_json};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

/// A 40-hex SHA made of one repeated digit.
pub(crate) fn sha(c: char) -> String {
    c.to_string().repeat(40)
}

pub(crate) fn repo(s: &str) -> RepoRef {
    s.parse().unwrap()
}

pub(crate) async fn client(gh: &MockGitHub, dry_run: bool) -> GitHub {
    let mut c = ClientConfig::new(Credentials::Token {
        token: SecretString::from("ghp_env_test".to_owned()),
        source: TokenSource::Flag,
    });
    c.api_url = gh.uri();
    c.retry = RetryPolicy::fast();
    c.dry_run = dry_run;
    GitHub::connect(c).await.unwrap()
}

/// A real `pull_request` payload edited: repository `full`, PR `number`, head `branch` at
/// `sha`, `labels`, `action` and the event's `label`.
pub(crate) fn pr_event(
    full: &str,
    number: u64,
    branch: &str,
    sha: &str,
    labels: &[&str],
    action: &str,
    label: Option<&str>,
) -> PullRequestEvent {
    let mut v = fixture_json("pull_request.labeled.json");
    let (owner, name) = full.split_once('/').unwrap();
    v["action"] = json!(action);
    v["number"] = json!(number);
    v["repository"]["full_name"] = json!(full);
    v["repository"]["name"] = json!(name);
    v["repository"]["owner"]["login"] = json!(owner);
    let pr = &mut v["pull_request"];
    pr["number"] = json!(number);
    pr["state"] = json!(if action == "closed" { "closed" } else { "open" });
    pr["head"]["ref"] = json!(branch);
    pr["head"]["sha"] = json!(sha);
    pr["head"]["repo"]["full_name"] = json!(full);
    pr["labels"] = json!(
        labels
            .iter()
            .map(|l| json!({"name": l}))
            .collect::<Vec<_>>()
    );
    v["label"] = match label {
        Some(l) => json!({"name": l}),
        None => Value::Null,
    };
    v["sender"]["login"] = json!("maintainer");
    serde_json::from_value(v).unwrap()
}

/// Mounts GET `p` (any query) answering `body`.
pub(crate) async fn get(gh: &MockGitHub, p: &str, body: Value) {
    Mock::given(method("GET"))
        .and(path(p))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&gh.server)
        .await;
}

/// Mounts GET `p` with `key=value` in the query answering `body`.
pub(crate) async fn get_q(gh: &MockGitHub, p: &str, key: &str, value: &str, body: Value) {
    Mock::given(method("GET"))
        .and(path(p))
        .and(query_param(key, value))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&gh.server)
        .await;
}

/// Mounts `m p` answering `status` with `body`.
pub(crate) async fn write(gh: &MockGitHub, m: &str, p: &str, status: u16, body: Value) {
    Mock::given(method(m))
        .and(path(p))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(&gh.server)
        .await;
}

/// A deployment of PR `pr`.
pub(crate) fn deployment(id: u64, env: &str, pr: u64, sha: &str) -> Value {
    json!({
        "id": id, "sha": sha, "ref": sha, "environment": env,
        "payload": {"pr": pr, "sha": sha, "ref": "feature/x", "actor": "dev"},
        "created_at": "2026-01-01T00:00:00Z",
    })
}

/// Mounts the permission of `user` on `full` (`admin`, `maintain`, `write`, `read`, ...).
pub(crate) async fn permission(gh: &MockGitHub, full: &str, user: &str, level: &str) {
    let perms = json!({
        "admin": level == "admin",
        "maintain": matches!(level, "admin" | "maintain"),
        "push": matches!(level, "admin" | "maintain" | "write"),
        "triage": level != "read" && level != "none",
        "pull": level != "none",
    });
    get(
        gh,
        &format!("/repos/{full}/collaborators/{user}/permission"),
        json!({"permission": level, "role_name": level, "user": {"login": user, "permissions": perms}}),
    )
    .await;
}
