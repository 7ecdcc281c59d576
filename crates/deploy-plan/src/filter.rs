//! `ghops plan filter`: drop the staging and prod jobs of clusters whose support or staging
//! job failed, matching cluster names exactly (a failed `2i2c-uk` never blocks `2i2c`).

use std::collections::BTreeSet;
use std::path::Path;

#[cfg(feature = "github")]
use gh_core::{GitHub, RepoRef};
#[cfg(feature = "github")]
use serde::Deserialize;
use serde_json::Value;

use crate::error::PlanError;

/// Cluster names from a `--failed` file: a JSON array of strings, or one name per line.
pub fn parse_failed(text: &str, origin: &str) -> Result<BTreeSet<String>, PlanError> {
    let t = text.trim();
    if t.starts_with('[') {
        let v: Vec<String> = serde_json::from_str(t)
            .map_err(|e| PlanError::input(origin, format!("not a JSON array of strings: {e}")))?;
        return Ok(v
            .into_iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect());
    }
    Ok(t.lines()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect())
}

/// Cluster names from the `--failed` file at `path` ([`parse_failed`]).
pub fn read_failed(path: &Path) -> Result<BTreeSet<String>, PlanError> {
    let text = crate::input::read_arg(&path.to_string_lossy(), "--failed")?;
    parse_failed(&text, &path.display().to_string())
}

/// The jobs to filter: JSON text from `--jobs` (`origin`, the file or `-`, names it in
/// errors); [`filter_jobs`] checks the shape.
pub fn parse_jobs(text: &str, origin: &str) -> Result<Value, PlanError> {
    serde_json::from_str(text.trim())
        .map_err(|e| PlanError::Args(format!("--jobs {origin}: not JSON: {e}")))
}

/// The line telling why a dropped job is skipped: its cluster and hub, escaped for a log
/// line (both come from the PR).
pub fn skip_note(job: &Value) -> String {
    let field =
        |k: &str| crate::render::log_escape(job.get(k).and_then(Value::as_str).unwrap_or_default());
    format!(
        "skipping {} {}: a support or staging job of this cluster failed",
        field("cluster_name"),
        field("hub_name")
    )
}

/// The jobs kept and dropped. `jobs` is a JSON array of objects with `cluster_name` (ghops's
/// rows or 2i2c's); anything else is an input error naming the index.
pub fn filter_jobs(
    jobs: &Value,
    failed: &BTreeSet<String>,
    origin: &str,
) -> Result<(Vec<Value>, Vec<Value>), PlanError> {
    let arr = jobs
        .as_array()
        .ok_or_else(|| PlanError::input(origin, "expected a JSON array of jobs"))?;
    let mut keep = Vec::new();
    let mut drop = Vec::new();
    for (i, j) in arr.iter().enumerate() {
        let c = j
            .get("cluster_name")
            .and_then(Value::as_str)
            .ok_or_else(|| PlanError::input(origin, format!("[{i}].cluster_name is missing")))?;
        if failed.contains(c) {
            drop.push(j.clone());
        } else {
            keep.push(j.clone());
        }
    }
    Ok((keep, drop))
}

#[cfg(feature = "github")]
#[derive(Deserialize)]
struct RunJob {
    name: String,
    #[serde(default)]
    conclusion: Option<String>,
}

/// The job-name convention of ghops's workflows: support and staging jobs are named
/// `support: <cluster>` and `staging: <cluster>/<hub>` (or `staging: <cluster>`). Returns the
/// cluster of a support/staging job name.
pub fn cluster_of_job_name(name: &str) -> Option<&str> {
    // A matrix job's name may be prefixed by its caller's (`deploy / staging: c/h`).
    let name = name.rsplit(" / ").next().unwrap_or(name);
    let rest = name
        .strip_prefix("support: ")
        .or_else(|| name.strip_prefix("staging: "))?;
    let cluster = rest.split('/').next()?.trim();
    (!cluster.is_empty()).then_some(cluster)
}

/// Clusters whose support or staging job in run `run_id` concluded in failure, cancellation
/// or timeout (latest attempt; all pages).
#[cfg(feature = "github")]
pub async fn failed_from_run(
    gh: &GitHub,
    repo: &RepoRef,
    run_id: u64,
) -> Result<BTreeSet<String>, PlanError> {
    let jobs: Vec<RunJob> = gh
        .get_all(
            &format!(
                "{}/actions/runs/{run_id}/jobs?filter=latest&per_page=100",
                repo.api_path()
            ),
            Some("jobs"),
        )
        .await?;
    Ok(jobs
        .iter()
        .filter(|j| {
            matches!(
                j.conclusion.as_deref(),
                Some("failure" | "cancelled" | "timed_out" | "startup_failure" | "action_required")
            )
        })
        .filter_map(|j| cluster_of_job_name(&j.name).map(str::to_owned))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn exact_cluster_match() {
        let jobs = json!([
            {"cluster_name": "2i2c", "hub_name": "a"},
            {"cluster_name": "2i2c-uk", "hub_name": "b"},
        ]);
        let failed = parse_failed("2i2c-uk\n", "x").unwrap();
        let (keep, drop) = filter_jobs(&jobs, &failed, "x").unwrap();
        assert_eq!(keep, vec![json!({"cluster_name": "2i2c", "hub_name": "a"})]);
        assert_eq!(drop.len(), 1);
        assert_eq!(
            skip_note(&drop[0]),
            "skipping 2i2c-uk b: a support or staging job of this cluster failed"
        );
        assert!(filter_jobs(&json!([{"x": 1}]), &failed, "--jobs").is_err());
        let e = parse_jobs("{", "jobs.json").unwrap_err();
        assert!(
            e.to_string().starts_with("--jobs jobs.json: not JSON: "),
            "{e}"
        );
    }

    #[test]
    fn job_names() {
        assert_eq!(
            cluster_of_job_name("staging: 2i2c-uk/staging"),
            Some("2i2c-uk")
        );
        assert_eq!(
            cluster_of_job_name("deploy / support: gcp-a"),
            Some("gcp-a")
        );
        assert_eq!(cluster_of_job_name("prod: a/b"), None);
        assert_eq!(cluster_of_job_name("staging: "), None);
    }
}
