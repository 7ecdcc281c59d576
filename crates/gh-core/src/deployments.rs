//! Deployments and their statuses: one type each for every place ghops reads one, whether
//! from the REST API (`GET`/`POST deployments` answer GitHub's `deployment` schema,
//! `GET`/`POST deployments/{id}/statuses` its `deployment-status`) or from a `deployment` /
//! `deployment_status` webhook (the same objects).
//!
//! What both the REST schemas and the webhook payloads always carry is required (a
//! deployment's `id`, `sha`, `ref` and `environment`; a status's `id` and `state`), so a
//! truncated answer is an error naming the missing field. The rest is optional:
//!
//! - `task`, `description`, `created_at`, `creator` are required by the schemas but
//!   `description` and `creator` are nullable (`null` for a deleted account), and ghops
//!   never needs the others to act, so a payload trimmed by a proxy or a GHES version still
//!   decodes;
//! - `payload` is any JSON: an object for deployments made by ghops, a JSON *string* for
//!   some other tools, `null` in `deployment_status` webhooks ([`Deployment::payload_object`]
//!   reads all three);
//! - `transient_environment` / `production_environment` are absent from older GHES answers;
//! - a status's `environment_url` and `log_url` are absent or `""` when never given, and its
//!   `environment` is absent from older answers.
//!
//! The types, [`NewDeployment`] and the request paths are pure serde: usable without
//! gh-core's `client` feature. The API calls on them ([`list`], [`list_of_sha`], [`newest`], [`create`],
//! [`statuses`], [`latest_status`], [`all_statuses`], [`create_status`]) need it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::events::User;
use crate::repo::{RepoRef, encode_query};
#[cfg(feature = "client")]
use crate::{GitHub, Result, retry::Idempotency};

/// A deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    /// Id.
    pub id: u64,
    /// Commit deployed (the ref resolved at creation).
    pub sha: String,
    /// Ref given at creation (branch, tag or SHA).
    #[serde(rename = "ref")]
    pub ref_name: String,
    /// Task (`deploy` unless the creator chose another).
    #[serde(default)]
    pub task: Option<String>,
    /// Environment.
    pub environment: String,
    /// Payload (any JSON; other tools may have stored a JSON string, webhooks may send `null`).
    #[serde(default)]
    pub payload: Value,
    /// Creator (`null` for a deleted account).
    #[serde(default)]
    pub creator: Option<User>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Transient environment?
    #[serde(default)]
    pub transient_environment: Option<bool>,
    /// Production environment?
    #[serde(default)]
    pub production_environment: Option<bool>,
    /// Creation time (RFC 3339).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Last update (RFC 3339).
    #[serde(default)]
    pub updated_at: Option<String>,
    /// API URL.
    #[serde(default)]
    pub url: Option<String>,
}

impl Deployment {
    /// The payload as an object: a string payload is parsed (`Null` when it is not JSON).
    pub fn payload_object(&self) -> Value {
        match &self.payload {
            Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
            v => v.clone(),
        }
    }
}

/// A deployment status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeploymentStatus {
    /// Id.
    pub id: u64,
    /// `queued`, `pending`, `in_progress`, `success`, `failure`, `error`, `inactive`.
    pub state: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Environment (absent from older answers).
    #[serde(default)]
    pub environment: Option<String>,
    /// Environment URL (`""` or absent when never given).
    #[serde(default)]
    pub environment_url: Option<String>,
    /// Log URL (`""` or absent when never given).
    #[serde(default)]
    pub log_url: Option<String>,
    /// Creator (`null` for a deleted account).
    #[serde(default)]
    pub creator: Option<User>,
    /// Creation time (RFC 3339).
    #[serde(default)]
    pub created_at: Option<String>,
}

/// States after which a deployment is finished (no status will follow but `inactive`).
pub const TERMINAL_STATES: &[&str] = &["success", "failure", "error", "inactive"];

/// Is `state` one of [`TERMINAL_STATES`]?
pub fn is_terminal(state: &str) -> bool {
    TERMINAL_STATES.contains(&state)
}

/// The body of `POST deployments` (GitHub's defaults apply to what is `None`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewDeployment {
    /// Ref to deploy (branch, tag or SHA).
    #[serde(rename = "ref")]
    pub ref_name: String,
    /// Environment.
    pub environment: String,
    /// Task (`None`: GitHub's `deploy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// Merge the default branch into the ref first? (GitHub's default: yes.)
    pub auto_merge: bool,
    /// Status contexts that must have passed (`None`: GitHub's default, all of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_contexts: Option<Vec<String>>,
    /// Transient environment.
    pub transient_environment: bool,
    /// Production environment.
    pub production_environment: bool,
    /// Payload.
    pub payload: Value,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `deployments?environment={environment}&per_page={per_page}` (1 to 100): the
/// environment's deployments, newest first.
pub fn list_path(repo: &RepoRef, environment: &str, per_page: usize) -> String {
    format!(
        "{}/deployments?environment={}&per_page={}",
        repo.api_path(),
        encode_query(environment),
        per_page.clamp(1, 100)
    )
}

/// `deployments/{id}/statuses?per_page={per_page}` (1 to 100): deployment `id`'s statuses,
/// newest first.
pub fn statuses_path(repo: &RepoRef, id: u64, per_page: usize) -> String {
    format!(
        "{}/deployments/{id}/statuses?per_page={}",
        repo.api_path(),
        per_page.clamp(1, 100)
    )
}

/// Every deployment of `environment`, newest first (all pages of 100).
#[cfg(feature = "client")]
pub async fn list(gh: &GitHub, repo: &RepoRef, environment: &str) -> Result<Vec<Deployment>> {
    gh.get_all(&list_path(repo, environment, 100), None).await
}

/// Every deployment of `sha` in `environment`, newest first (all pages of 100):
/// `deployments?environment={environment}&sha={sha}&per_page=100`.
#[cfg(feature = "client")]
pub async fn list_of_sha(
    gh: &GitHub,
    repo: &RepoRef,
    environment: &str,
    sha: &str,
) -> Result<Vec<Deployment>> {
    let path = format!(
        "{}/deployments?environment={}&sha={}&per_page=100",
        repo.api_path(),
        encode_query(environment),
        encode_query(sha)
    );
    gh.get_all(&path, None).await
}

/// The `n` (1 to 100) newest deployments of `environment` (one request).
#[cfg(feature = "client")]
pub async fn newest(
    gh: &GitHub,
    repo: &RepoRef,
    environment: &str,
    n: usize,
) -> Result<Vec<Deployment>> {
    gh.get(&list_path(repo, environment, n)).await
}

/// Creates a deployment (not idempotent: never retried blindly). `None` under `--dry-run`.
#[cfg(feature = "client")]
pub async fn create(
    gh: &GitHub,
    repo: &RepoRef,
    new: &NewDeployment,
) -> Result<Option<Deployment>> {
    let body = serde_json::to_value(new).map_err(|e| crate::Error::InvalidInput {
        source_name: "deployment".into(),
        message: e.to_string(),
    })?;
    gh.post(
        &format!("{}/deployments", repo.api_path()),
        &body,
        Idempotency::NonIdempotent,
    )
    .await
}

/// The `n` (1 to 100) newest statuses of deployment `id` (one request).
#[cfg(feature = "client")]
pub async fn statuses(
    gh: &GitHub,
    repo: &RepoRef,
    id: u64,
    n: usize,
) -> Result<Vec<DeploymentStatus>> {
    gh.get(&statuses_path(repo, id, n)).await
}

/// The latest status of deployment `id` (`None`: no status yet).
#[cfg(feature = "client")]
pub async fn latest_status(
    gh: &GitHub,
    repo: &RepoRef,
    id: u64,
) -> Result<Option<DeploymentStatus>> {
    Ok(statuses(gh, repo, id, 1).await?.into_iter().next())
}

/// Every status of deployment `id`, newest first (all pages of 100).
#[cfg(feature = "client")]
pub async fn all_statuses(gh: &GitHub, repo: &RepoRef, id: u64) -> Result<Vec<DeploymentStatus>> {
    gh.get_all(&statuses_path(repo, id, 100), None).await
}

/// Posts `body` (`state`, `description`, `environment_url`, `log_url`, `auto_inactive`, ...)
/// as a status of deployment `id`, once: a status is not idempotent (a repeat is a second
/// status), so this never retries; callers that must survive a lost answer read the
/// statuses back ([`statuses`]) before posting again. `None` under `--dry-run`.
#[cfg(feature = "client")]
pub async fn create_status(
    gh: &GitHub,
    repo: &RepoRef,
    id: u64,
    body: &Value,
) -> Result<Option<DeploymentStatus>> {
    gh.post(
        &format!("{}/deployments/{id}/statuses", repo.api_path()),
        body,
        Idempotency::NonIdempotent,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::decode;

    #[test]
    fn a_rest_answer_and_a_webhook_object_decode_alike() {
        // REST `deployment` (payload an object) and a `deployment_status` webhook's
        // `deployment` (payload null, no flags).
        let rest: Deployment = decode(
            "deployments",
            br#"{"id":1,"node_id":"n","sha":"abc","ref":"main","task":"deploy",
                "environment":"production","payload":{"pr":4},"description":null,
                "creator":{"login":"octocat","id":1,"type":"User"},
                "transient_environment":false,"production_environment":true,
                "created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z",
                "statuses_url":"s","repository_url":"r","url":"u"}"#,
        )
        .unwrap();
        assert_eq!(rest.payload_object()["pr"], 4);
        assert_eq!(rest.production_environment, Some(true));
        let hook: Deployment = decode(
            "deployment_status",
            br#"{"id":2,"sha":"abc","ref":"v1","task":"deploy","environment":"qa",
                "payload":null,"creator":null}"#,
        )
        .unwrap();
        assert_eq!(hook.payload_object(), Value::Null);
        assert_eq!(hook.creator, None);
    }

    #[test]
    fn a_string_payload_is_read_as_an_object() {
        let d: Deployment = decode(
            "deployments",
            br#"{"id":3,"sha":"a","ref":"a","environment":"e","payload":"{\"pr\":9}"}"#,
        )
        .unwrap();
        assert_eq!(d.payload_object()["pr"], 9);
        let bad = Deployment {
            payload: Value::String("not json".into()),
            ..d
        };
        assert_eq!(bad.payload_object(), Value::Null);
    }

    #[test]
    fn a_truncated_answer_names_the_missing_field() {
        let e = decode::<Deployment>("deployments", br#"{"id":7,"ref":"main","environment":"e"}"#)
            .unwrap_err();
        assert!(e.to_string().contains("sha"), "{e}");
        let e = decode::<DeploymentStatus>("statuses", br#"{"id":7}"#).unwrap_err();
        assert!(e.to_string().contains("state"), "{e}");
    }

    #[test]
    fn a_status_with_empty_urls_decodes() {
        let s: DeploymentStatus = decode(
            "statuses",
            br#"{"id":5,"state":"success","description":"","environment":"qa",
                "environment_url":"","log_url":"","target_url":"","creator":null}"#,
        )
        .unwrap();
        assert!(is_terminal(&s.state));
        assert_eq!(s.environment_url.as_deref(), Some(""));
    }
    #[test]
    fn a_new_deployment_sends_only_what_is_chosen() {
        let mut new = NewDeployment {
            ref_name: "abc".into(),
            environment: "qa".into(),
            task: None,
            auto_merge: false,
            required_contexts: None,
            transient_environment: true,
            production_environment: false,
            payload: serde_json::json!({"pr": 1}),
            description: None,
        };
        assert_eq!(
            serde_json::to_value(&new).unwrap(),
            serde_json::json!({"ref": "abc", "environment": "qa", "auto_merge": false,
                "transient_environment": true, "production_environment": false,
                "payload": {"pr": 1}})
        );
        new.required_contexts = Some(Vec::new());
        new.task = Some("migrate".into());
        let v = serde_json::to_value(&new).unwrap();
        assert_eq!(
            (v["required_contexts"].clone(), v["task"].clone()),
            (serde_json::json!([]), serde_json::json!("migrate"))
        );
    }

    #[test]
    fn paths_encode_the_environment_and_bound_the_page() {
        let repo: RepoRef = "o/r".parse().unwrap();
        assert_eq!(
            list_path(&repo, "preview/a b", 0),
            "/repos/o/r/deployments?environment=preview%2Fa%20b&per_page=1"
        );
        assert_eq!(
            statuses_path(&repo, 7, 500),
            "/repos/o/r/deployments/7/statuses?per_page=100"
        );
    }
}
