//! `ghops agent create`: a deployment, with GitHub's 202 (required contexts still pending)
//! retried a bounded number of times, 409 and a missing ref explained, and `--wait` following
//! it to the end.

use std::time::Duration;

use gh_core::retry::{Backoff, Idempotency, Pacer};
use gh_core::{GitHub, RepoRef};
use serde::Serialize;
use serde_json::Value;

use crate::error::AgentError;

/// What to create: `ghops agent create`'s request. Not `gh_core::deployments::NewDeployment`
/// (the `POST deployments` body the workflows send through `gh_core::deployments::create`)
/// because `agent create` always names a task, sends no description, and posts through the
/// raw request to tell GitHub's 202 (contexts pending, retried) and 409 apart.
#[derive(Debug, Clone, Serialize)]
pub struct NewDeployment {
    /// Ref (branch, tag or SHA).
    #[serde(rename = "ref")]
    pub ref_name: String,
    /// Environment.
    pub environment: String,
    /// Task.
    pub task: String,
    /// Payload.
    pub payload: Value,
    /// Transient environment.
    pub transient_environment: bool,
    /// Production environment.
    pub production_environment: bool,
    /// Required status contexts (`None`: GitHub's default, all of them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required_contexts: Option<Vec<String>>,
    /// Never auto-merge the default branch into the ref.
    pub auto_merge: bool,
}

/// `--payload`: JSON, or `@file` holding JSON.
pub fn payload_arg(arg: Option<&str>) -> Result<Value, AgentError> {
    let Some(p) = arg else {
        return Ok(serde_json::json!({}));
    };
    let text = match p.strip_prefix('@') {
        Some(f) => std::fs::read_to_string(f)
            .map_err(|e| AgentError::Config(format!("--payload @{f}: {e}")))?,
        None => p.to_owned(),
    };
    serde_json::from_str(&text).map_err(|e| AgentError::Config(format!("--payload: not JSON: {e}")))
}

/// `--required-contexts a,b`: the names (empty: none).
pub fn contexts_arg(arg: &str) -> Vec<String> {
    arg.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `ghops agent create --json`: the deployment, and with `--wait` its final state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Created {
    /// Deployment id.
    pub id: u64,
    /// With `--wait`: the final state (`success`, `failure`, `error`, `inactive`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// Creates a deployment; returns its id. A task the agent would refuse (a lifecycle hook
/// name, an invalid name) is refused here, before any request.
pub async fn create(
    gh: &GitHub,
    repo: &RepoRef,
    d: &NewDeployment,
    attempts: u32,
    delay: Duration,
) -> Result<Option<u64>, AgentError> {
    if let Some(why) = crate::hooks::task_refusal(&d.task) {
        return Err(AgentError::Config(format!("--task {:?}: {why}", d.task)));
    }
    let path = format!("{}/deployments", repo.api_path());
    let body = serde_json::to_value(d)?;
    // On a 202 (required contexts pending) GitHub is asked again after `delay`, `2 × delay`…
    let pacing = Backoff::linear(delay);
    for attempt in 1..=attempts.max(1) {
        let r = gh
            .request(
                http::Method::POST,
                &path,
                Some(&body),
                &http::HeaderMap::new(),
                Idempotency::NonIdempotent,
            )
            .await?;
        if r.status == 0 {
            return Ok(None); // --dry-run
        }
        match r.status {
            201 => {
                let v: Value = r.json(&http::Method::POST, &path)?;
                return Ok(v["id"].as_u64());
            }
            202 if attempt < attempts => {
                tracing::info!(attempt, "deployment pending required contexts; retrying");
                tokio::time::sleep(pacing.delay(attempt)).await;
            }
            202 => {
                let v: Value = r.json(&http::Method::POST, &path).unwrap_or_default();
                return Err(AgentError::Timeout(format!(
                    "GitHub did not create the deployment: {} (required status checks still pending; pass --required-contexts to choose them)",
                    v["message"].as_str().unwrap_or("contexts pending")
                )));
            }
            409 => {
                let v: Value = r.json(&http::Method::POST, &path).unwrap_or_default();
                return Err(AgentError::Failed(format!(
                    "conflict creating the deployment: {} (the ref could not be merged with the default branch, or required contexts failed)",
                    v["message"].as_str().unwrap_or("409")
                )));
            }
            // GitHub's answer to a ref the repository does not have: the input is wrong,
            // not the API (other 422s, e.g. an invalid environment name, stay API errors).
            422 if r
                .json::<Value>(&http::Method::POST, &path)
                .is_ok_and(|v| is_missing_ref(&v)) =>
            {
                let v: Value = r.json(&http::Method::POST, &path).unwrap_or_default();
                return Err(AgentError::Config(format!(
                    "--ref {}: no such branch, tag or commit in {repo} (GitHub: {})",
                    d.ref_name,
                    v["message"].as_str().unwrap_or_default()
                )));
            }
            _ => {
                GitHub::check(&http::Method::POST, &path, r)?;
            }
        }
    }
    Ok(None)
}

/// A create-deployment 422 whose message says the ref does not exist ("No ref found for: X").
fn is_missing_ref(body: &Value) -> bool {
    body["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("No ref found"))
}

/// Follows deployment `id` to a terminal status (bounded); `Ok(state)`.
pub async fn wait(
    gh: &GitHub,
    repo: &RepoRef,
    id: u64,
    timeout: Duration,
    poll: Duration,
) -> Result<String, AgentError> {
    wait_with_progress(gh, repo, id, timeout, poll, &|_| {}).await
}

/// Where a [`wait_with_progress`] stands after each check (for a progress line).
#[derive(Debug, Clone, Copy)]
pub struct WaitProgress<'a> {
    /// The deployment.
    pub id: u64,
    /// Its latest status (`None`: no status yet).
    pub state: Option<&'a str>,
    /// That status's description, when it has one.
    pub description: Option<&'a str>,
    /// Time waited so far.
    pub waited: Duration,
    /// Time until the next check (never past the deadline).
    pub next_poll: Duration,
}

/// [`wait`], calling `progress` after every check that does not end the wait.
pub async fn wait_with_progress(
    gh: &GitHub,
    repo: &RepoRef,
    id: u64,
    timeout: Duration,
    poll: Duration,
    progress: &(dyn Fn(&WaitProgress<'_>) + Sync),
) -> Result<String, AgentError> {
    let start = tokio::time::Instant::now();
    let mut pacer = Pacer::new(Backoff::fixed(poll), Some(timeout));
    loop {
        let latest = gh_core::deployments::latest_status(gh, repo, id).await?;
        let state = latest.as_ref().map(|s| s.state.as_str());
        if let Some(state) = state
            && matches!(state, "success" | "failure" | "error" | "inactive")
        {
            return Ok(state.to_owned());
        }
        let waited = start.elapsed();
        // Never sleep past the deadline; `None` once it is reached.
        let Some(next_poll) = pacer.next_wait(waited) else {
            return Err(AgentError::Timeout(format!(
                "deployment {id} did not finish within {}",
                gh_core::config::format_duration(timeout)
            )));
        };
        progress(&WaitProgress {
            id,
            state,
            description: latest
                .as_ref()
                .and_then(|s| s.description.as_deref())
                .filter(|d| !d.is_empty()),
            waited,
            next_poll,
        });
        tokio::time::sleep(next_poll).await;
    }
}
