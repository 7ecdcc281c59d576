//! `env record`, deactivation and `env status`.

use ghops_test_support::{MockGitHub, insta_settings};
use release_flow::env::{DeployState, RecordRequest, deactivate, record, render_table, status};
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use crate::*;

fn req(state: DeployState) -> RecordRequest {
    RecordRequest {
        environment: "preview-feature-x".into(),
        state,
        sha: sha('a'),
        git_ref: "feature/x".into(),
        pr: Some(7),
        actor: "dev".into(),
        transient: true,
        url: Some("https://feature-x.preview.example.com".into()),
        log_url: None,
    }
}

#[tokio::test]
async fn first_record_creates_the_deployment_and_its_status() {
    let gh = MockGitHub::start().await;
    let c = client(&gh, false).await;
    get(&gh, "/repos/octo/app/deployments", json!([])).await;
    write(
        &gh,
        "POST",
        "/repos/octo/app/deployments",
        201,
        deployment(42, "preview-feature-x", 7, &sha('a')),
    )
    .await;
    write(
        &gh,
        "POST",
        "/repos/octo/app/deployments/42/statuses",
        201,
        json!({"id": 1, "state": "in_progress"}),
    )
    .await;
    let out = record(&c, &repo("octo/app"), &req(DeployState::InProgress))
        .await
        .unwrap();
    assert!(out.created && out.status_added);
    assert_eq!(out.deployment_id, Some(42));
    gh.assert_lines(&[
        "GET /repos/octo/app/deployments?environment=preview-feature-x&per_page=1",
        "POST /repos/octo/app/deployments",
        "POST /repos/octo/app/deployments/42/statuses",
    ])
    .await;
    let w = gh.writes().await;
    assert_eq!(
        w[0].body,
        json!({
            "ref": sha('a'), "environment": "preview-feature-x", "auto_merge": false,
            "required_contexts": [], "transient_environment": true,
            "production_environment": false, "description": "ghops",
            "payload": {"pr": 7, "sha": sha('a'), "ref": "feature/x", "actor": "dev"},
        })
    );
    assert_eq!(
        w[1].body,
        json!({"state": "in_progress", "auto_inactive": false, "environment_url": "https://feature-x.preview.example.com"})
    );
}

#[tokio::test]
async fn record_is_idempotent_per_environment_and_sha() {
    let gh = MockGitHub::start().await;
    let c = client(&gh, false).await;
    get(
        &gh,
        "/repos/octo/app/deployments",
        json!([deployment(42, "preview-feature-x", 7, &sha('a'))]),
    )
    .await;
    get(&gh, "/repos/octo/app/deployments/42/statuses", json!([
        {"id": 2, "state": "success", "environment_url": "https://feature-x.preview.example.com"}
    ])).await;
    write(
        &gh,
        "POST",
        "/repos/octo/app/deployments/42/statuses",
        201,
        json!({"id": 3, "state": "failure"}),
    )
    .await;
    // Same state again: nothing written.
    let out = record(&c, &repo("octo/app"), &req(DeployState::Success))
        .await
        .unwrap();
    assert!(!out.created && !out.status_added);
    gh.assert_no_writes().await;
    // A new state on the same (environment, SHA): a status on the same deployment.
    let out = record(&c, &repo("octo/app"), &req(DeployState::Failure))
        .await
        .unwrap();
    assert!(!out.created && out.status_added);
    gh.assert_writes(&["POST /repos/octo/app/deployments/42/statuses"])
        .await;
}

#[tokio::test]
async fn dry_run_records_nothing() {
    let gh = MockGitHub::start().await;
    let c = client(&gh, true).await;
    get(&gh, "/repos/octo/app/deployments", json!([])).await;
    let out = record(&c, &repo("octo/app"), &req(DeployState::Success))
        .await
        .unwrap();
    assert!(out.created && out.deployment_id.is_none());
    gh.assert_no_writes().await;
    assert_eq!(c.planned_writes().len(), 1);
}

#[tokio::test]
async fn hostile_inputs_are_refused_before_any_request() {
    let gh = MockGitHub::start().await;
    let c = client(&gh, false).await;
    let mut r = req(DeployState::Success);
    r.sha = "main; rm -rf /".into();
    assert!(
        record(&c, &repo("octo/app"), &r)
            .await
            .unwrap_err()
            .to_string()
            .contains("--sha")
    );
    let mut r = req(DeployState::Success);
    r.url = Some("javascript:alert(1)".into());
    assert!(
        record(&c, &repo("octo/app"), &r)
            .await
            .unwrap_err()
            .to_string()
            .contains("--url")
    );
    assert!(gh.lines().await.is_empty());
}

/// 150 deployments over two pages, every other one already inactive: 75 status writes,
/// each to a deployment that was not inactive.
#[tokio::test]
async fn deactivation_pages_through_150_deployments() {
    let gh = MockGitHub::start().await;
    let c = client(&gh, false).await;
    let base = gh.uri();
    let all: Vec<_> = (1..=150u64)
        .rev()
        .map(|i| deployment(i, "qa1", 7, &sha('a')))
        .collect();
    get_q(
        &gh,
        "/repos/octo/app/deployments",
        "page",
        "2",
        json!(all[100..]),
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/deployments"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "link",
                    format!("<{base}/repos/octo/app/deployments?environment=qa1&per_page=100&page=2>; rel=\"next\"").as_str(),
                )
                .set_body_json(json!(all[..100])),
        )
        .mount(&gh.server)
        .await;
    for i in 1..=150u64 {
        let state = if i % 2 == 0 { "inactive" } else { "success" };
        Mock::given(method("GET"))
            .and(path(format!("/repos/octo/app/deployments/{i}/statuses")))
            .and(query_param("per_page", "1"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!([{"id": 1831, "state": state}])),
            )
            .mount(&gh.server)
            .await;
    }
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"id": 1, "state": "inactive"})),
        )
        .mount(&gh.server)
        .await;
    let done = deactivate(&c, &repo("octo/app"), "qa1", None)
        .await
        .unwrap();
    assert_eq!(done.len(), 75);
    assert!(done.iter().all(|i| i % 2 == 1));
    let writes = gh.writes().await;
    assert_eq!(writes.len(), 75);
    assert!(
        writes
            .iter()
            .all(|w| w.body == json!({"state": "inactive", "description": "undeployed by ghops"}))
    );
    let expected: Vec<String> = (1..=150u64)
        .rev()
        .filter(|i| i % 2 == 1)
        .map(|i| format!("POST /repos/octo/app/deployments/{i}/statuses"))
        .collect();
    let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    gh.assert_writes(&expected).await;
}

#[tokio::test]
async fn record_inactive_deactivates_only_this_prs_deployments() {
    let gh = MockGitHub::start().await;
    let c = client(&gh, false).await;
    get(
        &gh,
        "/repos/octo/app/deployments",
        json!([
            deployment(3, "preview-feature-x", 8, &sha('b')),
            deployment(2, "preview-feature-x", 7, &sha('a')),
        ]),
    )
    .await;
    get(
        &gh,
        "/repos/octo/app/deployments/2/statuses",
        json!([{"id": 2281, "state": "success"}]),
    )
    .await;
    write(
        &gh,
        "POST",
        "/repos/octo/app/deployments/2/statuses",
        201,
        json!({"id": 9, "state": "inactive"}),
    )
    .await;
    let out = record(&c, &repo("octo/app"), &req(DeployState::Inactive))
        .await
        .unwrap();
    assert_eq!(out.deactivated, [2]);
    gh.assert_writes(&["POST /repos/octo/app/deployments/2/statuses"])
        .await;
}

#[tokio::test]
async fn status_table_and_json() {
    let gh = MockGitHub::start().await;
    let c = client(&gh, false).await;
    get(
        &gh,
        "/repos/octo/app/environments",
        json!({"total_count": 3, "environments": [
            {"name": "preview-feature-x"}, {"name": "qa1"}, {"name": "production"}
        ]}),
    )
    .await;
    get_q(
        &gh,
        "/repos/octo/app/deployments",
        "environment",
        "preview-feature-x",
        json!([deployment(2, "preview-feature-x", 7, &sha('a'))]),
    )
    .await;
    get_q(
        &gh,
        "/repos/octo/app/deployments",
        "environment",
        "qa1",
        json!([deployment(5, "qa1", 11, &sha('e'))]),
    )
    .await;
    get_q(
        &gh,
        "/repos/octo/app/deployments",
        "environment",
        "production",
        json!([]),
    )
    .await;
    get(&gh, "/repos/octo/app/deployments/2/statuses", json!([
        {"id": 2841, "state": "success", "environment_url": "https://feature-x.preview.example.com", "created_at": "2026-01-01T21:00:00Z"}
    ])).await;
    get(&gh, "/repos/octo/app/deployments/5/statuses", json!([])).await;
    let now = chrono::DateTime::parse_from_rfc3339("2026-01-02T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let rows = status(&c, &repo("octo/app")).await.unwrap();
    gh.assert_no_writes().await;
    insta_settings(None).bind(|| {
        insta::assert_snapshot!("status_table", render_table(&rows, now));
        insta::assert_json_snapshot!("status_json", rows);
    });
}

/// Issue 23 #10: GitHub answers `environment_url: ""` and `log_url: ""` for URLs never given;
/// a re-run without `--url` compared them with "no URL" and added a duplicate status.
#[tokio::test]
async fn rerun_without_url_adds_no_status() {
    let gh = MockGitHub::start().await;
    let c = client(&gh, false).await;
    get(
        &gh,
        "/repos/octo/app/deployments",
        json!([deployment(42, "qa1", 7, &sha('a'))]),
    )
    .await;
    get(
        &gh,
        "/repos/octo/app/deployments/42/statuses",
        json!([
            {"id": 2, "state": "success", "environment_url": "", "log_url": "", "target_url": ""}
        ]),
    )
    .await;
    let mut r = req(DeployState::Success);
    r.environment = "qa1".into();
    r.url = None;
    let out = record(&c, &repo("octo/app"), &r).await.unwrap();
    assert!(!out.created && !out.status_added);
    gh.assert_no_writes().await;
}
