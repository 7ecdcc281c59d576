//! `gate check` and `gate approve`.

use ghops_test_support::MockGitHub;
use release_flow::env::EnvConfig;
use release_flow::gate::{GateRequest, Promotion, approve, check, summary};
use serde_json::json;

use crate::*;

fn req(actor: &str) -> GateRequest {
    GateRequest {
        environment: "production".into(),
        sha: sha('f'),
        git_ref: "release/1.4.0".into(),
        actor: actor.into(),
        actor_type: None,
        now: chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&chrono::Utc),
        run_id: None,
    }
}

/// Only the approver's permission (no release, previous-environment or two-person rule):
/// what these tests are about; the rules have their story on the fake.
fn plain() -> Promotion {
    Promotion {
        two_person: false,
        after: Default::default(),
        releases_only: Vec::new(),
    }
}

#[tokio::test]
async fn read_only_actor_is_refused_with_zero_writes() {
    let gh = MockGitHub::start().await;
    let c = client(&gh, false).await;
    permission(&gh, "octo/app", "reader", "read").await;
    let r = check(
        &c,
        &repo("octo/app"),
        &EnvConfig::default().gate,
        &plain(),
        &req("reader"),
    )
    .await;
    let e = r.as_ref().unwrap_err();
    assert_eq!(
        gh_core::ExitStatus::exit_code(e),
        gh_core::ExitCode::Refused
    );
    assert!(summary("production", &r).contains("refused"));
    gh.assert_lines(&["GET /repos/octo/app/collaborators/reader/permission"])
        .await;
}

#[tokio::test]
async fn writer_is_refused_by_the_default_maintain_gate() {
    let gh = MockGitHub::start().await;
    let c = client(&gh, false).await;
    permission(&gh, "octo/app", "dev", "write").await;
    assert!(
        check(
            &c,
            &repo("octo/app"),
            &EnvConfig::default().gate,
            &plain(),
            &req("dev")
        )
        .await
        .is_err()
    );
    gh.assert_no_writes().await;
}

#[tokio::test]
async fn maintainer_is_approved_and_recorded() {
    let gh = MockGitHub::start().await;
    let c = client(&gh, false).await;
    permission(&gh, "octo/app", "lead", "maintain").await;
    get(&gh, "/repos/octo/app/deployments", json!([])).await;
    write(
        &gh,
        "POST",
        "/repos/octo/app/deployments",
        201,
        // GitHub answers the whole deployment (`ref` is the SHA ghops creates it with).
        json!({"id": 77, "sha": sha('f'), "ref": sha('f'), "environment": "production"}),
    )
    .await;
    write(
        &gh,
        "POST",
        "/repos/octo/app/deployments/77/statuses",
        201,
        json!({"id": 1, "state": "queued"}),
    )
    .await;
    let o = check(
        &c,
        &repo("octo/app"),
        &EnvConfig::default().gate,
        &plain(),
        &req("lead"),
    )
    .await
    .unwrap();
    assert_eq!(o.deployment_id, Some(77));
    assert_eq!(o.approved_at, "2026-01-02T03:04:05Z");
    assert!(o.created && o.recorded);
    gh.assert_lines(&[
        "GET /repos/octo/app/collaborators/lead/permission",
        "GET /repos/octo/app/deployments?environment=production&per_page=1",
        "POST /repos/octo/app/deployments",
        "POST /repos/octo/app/deployments/77/statuses",
    ])
    .await;
    let w = gh.writes().await;
    // No approval in the payload: anyone with deployments write could write one.
    assert_eq!(
        w[0].body["payload"],
        json!({"sha": sha('f'), "ref": "release/1.4.0", "actor": "lead"})
    );
    assert_eq!(w[0].body["production_environment"], json!(true));
    assert_eq!(
        w[1].body,
        json!({"state": "queued", "description": "approved by @lead"})
    );
}

/// Issue 23 #9: `approved_by` in a payload is not trusted (anyone with deployments write can
/// write one): the actor of this run is authorised, and a writer is not.
#[tokio::test]
async fn payload_approval_is_not_trusted() {
    let gh = MockGitHub::start().await;
    let c = client(&gh, false).await;
    permission(&gh, "octo/app", "dev", "write").await;
    get(&gh, "/repos/octo/app/deployments", json!([{"id": 77, "sha": sha('f'), "ref": sha('f'), "environment": "production", "payload": {"approved_by": "lead", "approved_at": "2026-01-01T00:00:00Z"}}])).await;
    let e = check(
        &c,
        &repo("octo/app"),
        &EnvConfig::default().gate,
        &plain(),
        &req("dev"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        gh_core::ExitStatus::exit_code(&e),
        gh_core::ExitCode::Refused
    );
    gh.assert_no_writes().await;
}

/// Issue 23 #9: re-running `gate check` on a deployment this approver already approved
/// writes nothing (before: a `queued` status each time).
#[tokio::test]
async fn rerun_on_an_approved_deployment_writes_nothing() {
    let gh = MockGitHub::start().await;
    let c = client(&gh, false).await;
    permission(&gh, "octo/app", "lead", "admin").await;
    get(
        &gh,
        "/repos/octo/app/deployments",
        json!([{"id": 77, "sha": sha('f'), "ref": sha('f'), "environment": "production", "payload": {}}]),
    )
    .await;
    get(&gh, "/repos/octo/app/deployments/77/statuses", json!([
        {"id": 3, "state": "success", "description": ""},
        {"id": 2, "state": "queued", "description": "approved by @lead", "created_at": "2026-01-01T10:00:00Z"},
    ])).await;
    let o = check(
        &c,
        &repo("octo/app"),
        &EnvConfig::default().gate,
        &plain(),
        &req("lead"),
    )
    .await
    .unwrap();
    assert_eq!(
        (o.approved_by.as_str(), o.created, o.recorded),
        ("lead", false, false)
    );
    assert_eq!(o.approved_at, "2026-01-01T10:00:00Z");
    gh.assert_no_writes().await;
}

#[tokio::test]
async fn approve_pending_deployment() {
    let gh = MockGitHub::start().await;
    let c = client(&gh, false).await;
    permission(&gh, "octo/app", "lead", "maintain").await;
    get(
        &gh,
        "/repos/octo/app/actions/runs/555/pending_deployments",
        json!([
            {"environment": {"id": 1, "name": "staging"}, "current_user_can_approve": true},
            {"environment": {"id": 2, "name": "production"}, "current_user_can_approve": true},
        ]),
    )
    .await;
    write(
        &gh,
        "POST",
        "/repos/octo/app/actions/runs/555/pending_deployments",
        200,
        json!([]),
    )
    .await;
    let o = approve(
        &c,
        &repo("octo/app"),
        &EnvConfig::default().gate,
        555,
        "production",
        true,
        "lead",
        "ship it",
    )
    .await
    .unwrap();
    assert_eq!(o.result, "approved");
    gh.assert_writes(&["POST /repos/octo/app/actions/runs/555/pending_deployments"])
        .await;
    assert_eq!(
        gh.writes().await[0].body,
        json!({"environment_ids": [2], "state": "approved", "comment": "ship it (by @lead via ghops)"})
    );
}

/// `ghops gate approve` without `--comment` (an empty comment): the recorded comment names who
/// decided, with no leading space (it was " (by @lead via ghops)").
#[tokio::test]
async fn approve_without_a_comment_records_who_decided() {
    let gh = MockGitHub::start().await;
    let c = client(&gh, false).await;
    permission(&gh, "octo/app", "lead", "maintain").await;
    get(
        &gh,
        "/repos/octo/app/actions/runs/555/pending_deployments",
        json!([{"environment": {"id": 2, "name": "production"}, "current_user_can_approve": true}]),
    )
    .await;
    write(
        &gh,
        "POST",
        "/repos/octo/app/actions/runs/555/pending_deployments",
        200,
        json!([]),
    )
    .await;
    let gate = EnvConfig::default().gate;
    for (comment, approve_it) in [("", false), ("  ", true)] {
        approve(
            &c,
            &repo("octo/app"),
            &gate,
            555,
            "production",
            approve_it,
            "lead",
            comment,
        )
        .await
        .unwrap();
    }
    let bodies: Vec<_> = gh.writes().await.into_iter().map(|w| w.body).collect();
    assert_eq!(
        bodies,
        [
            json!({"environment_ids": [2], "state": "rejected", "comment": "by @lead via ghops"}),
            json!({"environment_ids": [2], "state": "approved", "comment": "by @lead via ghops"}),
        ]
    );
    gh.assert_writes(&[
        "POST /repos/octo/app/actions/runs/555/pending_deployments",
        "POST /repos/octo/app/actions/runs/555/pending_deployments",
    ])
    .await;
}

#[tokio::test]
async fn approve_refuses_unauthorised_caller_and_tolerates_nothing_pending() {
    let gh = MockGitHub::start().await;
    let c = client(&gh, false).await;
    permission(&gh, "octo/app", "dev", "write").await;
    permission(&gh, "octo/app", "lead", "maintain").await;
    get(
        &gh,
        "/repos/octo/app/actions/runs/555/pending_deployments",
        json!([]),
    )
    .await;
    let gate = EnvConfig::default().gate;
    assert!(
        approve(
            &c,
            &repo("octo/app"),
            &gate,
            555,
            "production",
            true,
            "dev",
            ""
        )
        .await
        .is_err()
    );
    let o = approve(
        &c,
        &repo("octo/app"),
        &gate,
        555,
        "production",
        false,
        "lead",
        "",
    )
    .await
    .unwrap();
    assert_eq!(o.result, "nothing pending");
    gh.assert_no_writes().await;
}

#[tokio::test]
async fn dry_run_gate_authorises_and_writes_nothing() {
    let gh = MockGitHub::start().await;
    let c = client(&gh, true).await;
    permission(&gh, "octo/app", "lead", "maintain").await;
    get(&gh, "/repos/octo/app/deployments", json!([])).await;
    let o = check(
        &c,
        &repo("octo/app"),
        &EnvConfig::default().gate,
        &plain(),
        &req("lead"),
    )
    .await
    .unwrap();
    assert!(o.created && o.deployment_id.is_none());
    gh.assert_no_writes().await;
    assert_eq!(c.planned_writes().len(), 1);
    assert_eq!(c.planned_writes()[0].path, "/repos/octo/app/deployments");
}
