//! `env sync`: label → environment plans, close, QA hand-over.

use ghops_test_support::fake::FakeGitHub;
use ghops_test_support::{MockGitHub, insta_settings};
use proptest::prelude::*;
use release_flow::env::{EnvConfig, on_pull_request, plan_open, sync};
use serde_json::json;

use crate::*;

fn envs(v: &[release_flow::env::EnvTarget]) -> Vec<&str> {
    v.iter().map(|t| t.environment.as_str()).collect()
}

#[tokio::test]
async fn preview_deploy_by_label_makes_no_request() {
    let gh = MockGitHub::start().await;
    let c = client(&gh, false).await;
    let ev = pr_event(
        "octo/app",
        7,
        "feature/Login-Page",
        &sha('a'),
        &["deploy", "bug"],
        "labeled",
        Some("deploy"),
    );
    let plan = on_pull_request(&c, &EnvConfig::default(), &ev)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(envs(&plan.deploy), ["preview-feature-login-page"]);
    assert!(plan.undeploy.is_empty());
    assert!(gh.lines().await.is_empty());
    insta_settings(None).bind(|| {
        insta::assert_json_snapshot!("sync_preview_deploy", plan);
        insta::assert_debug_snapshot!("sync_preview_outputs", plan.outputs());
    });
}

#[tokio::test]
async fn preview_undeploy_when_label_removed() {
    let gh = MockGitHub::start().await;
    let c = client(&gh, false).await;
    let ev = pr_event(
        "octo/app",
        7,
        "feature/x",
        &sha('a'),
        &["bug"],
        "unlabeled",
        Some("deploy"),
    );
    // PR 7's preview is deployed (a success, still active).
    get(
        &gh,
        "/repos/octo/app/deployments",
        json!([deployment(11, "preview-feature-x", 7, &sha('a'))]),
    )
    .await;
    get(
        &gh,
        "/repos/octo/app/deployments/11/statuses",
        json!([{"id": 641, "state": "success"}, {"id": 642, "state": "in_progress"}]),
    )
    .await;
    let plan = sync(&c, &repo("octo/app"), &EnvConfig::default(), &ev)
        .await
        .unwrap();
    assert!(plan.deploy.is_empty());
    assert_eq!(envs(&plan.undeploy), ["preview-feature-x"]);
    gh.assert_no_writes().await;
}

#[tokio::test]
async fn qa_label_removed_undeploys_that_slot() {
    let gh = MockGitHub::start().await;
    let c = client(&gh, false).await;
    let ev = pr_event(
        "octo/app",
        7,
        "feature/x",
        &sha('a'),
        &["deploy"],
        "unlabeled",
        Some("deploy/qa2"),
    );
    get(
        &gh,
        "/repos/octo/app/deployments",
        json!([deployment(12, "qa2", 7, &sha('a'))]),
    )
    .await;
    get(
        &gh,
        "/repos/octo/app/deployments/12/statuses",
        json!([{"id": 971, "state": "success"}]),
    )
    .await;
    let plan = sync(&c, &repo("octo/app"), &EnvConfig::default(), &ev)
        .await
        .unwrap();
    assert_eq!(envs(&plan.deploy), ["preview-feature-x"]);
    assert_eq!(envs(&plan.undeploy), ["qa2"]);
    gh.assert_lines(&[
        "GET /repos/octo/app/deployments?environment=qa2&per_page=100",
        "GET /repos/octo/app/deployments/12/statuses?per_page=100",
    ])
    .await;
}

/// Issue 23 #2: removing a slot label from a PR that never held the slot (its deployment
/// there was replaced: inactive) undeploys nothing; before, it ran the undeploy of the
/// environment another PR holds.
#[tokio::test]
async fn unlabel_of_a_slot_never_held_undeploys_nothing() {
    let gh = MockGitHub::start().await;
    let c = client(&gh, false).await;
    let ev = pr_event(
        "octo/app",
        7,
        "feature/x",
        &sha('a'),
        &[],
        "unlabeled",
        Some("deploy/qa2"),
    );
    get_q(
        &gh,
        "/repos/octo/app/deployments",
        "environment",
        "qa2",
        json!([
            deployment(13, "qa2", 8, &sha('b')),
            deployment(12, "qa2", 7, &sha('a'))
        ]),
    )
    .await;
    get_q(
        &gh,
        "/repos/octo/app/deployments",
        "environment",
        "preview-feature-x",
        json!([]),
    )
    .await;
    get(
        &gh,
        "/repos/octo/app/deployments/12/statuses",
        json!([{"id": 1501, "state": "inactive"}, {"id": 1502, "state": "success"}]),
    )
    .await;
    let plan = sync(&c, &repo("octo/app"), &EnvConfig::default(), &ev)
        .await
        .unwrap();
    assert!(
        plan.deploy.is_empty() && plan.undeploy.is_empty(),
        "{plan:?}"
    );
    gh.assert_no_writes().await;
}

/// A push to a PR holding its slot deploys both environments and writes nothing.
#[tokio::test]
async fn two_labels_two_environments() {
    let gh = FakeGitHub::start("octo/app").await;
    let c = client(&gh, false).await;
    gh.set_permission("maintainer", "write");
    gh.add_pull(7, "feature/x", &sha('a'), "dev");
    gh.label(7, "deploy", "maintainer");
    gh.label(7, "deploy/qa3", "maintainer");
    let ev: gh_core::events::PullRequestEvent =
        serde_json::from_value(gh.pull_request_event(7, "synchronize", None, "dev")).unwrap();
    let plan = sync(&c, &repo("octo/app"), &EnvConfig::default(), &ev)
        .await
        .unwrap();
    assert_eq!(envs(&plan.deploy), ["preview-feature-x", "qa3"]);
    assert!(plan.undeploy.is_empty());
    assert!(plan.handovers.is_empty());
    gh.assert_no_writes().await;
    gh.assert_no_unrouted();
}

#[tokio::test]
async fn unrelated_label_changes_nothing() {
    let gh = MockGitHub::start().await;
    let c = client(&gh, false).await;
    let ev = pr_event(
        "octo/app",
        7,
        "x",
        &sha('a'),
        &["deploy", "bug"],
        "labeled",
        Some("bug"),
    );
    let plan = sync(&c, &repo("octo/app"), &EnvConfig::default(), &ev)
        .await
        .unwrap();
    assert!(
        plan.deploy.is_empty() && plan.undeploy.is_empty(),
        "{plan:?}"
    );
    assert!(gh.lines().await.is_empty());
}

#[tokio::test]
async fn ignored_actions_give_none() {
    let gh = MockGitHub::start().await;
    let c = client(&gh, false).await;
    let ev = pr_event("octo/app", 7, "x", &sha('a'), &["deploy"], "edited", None);
    assert!(
        on_pull_request(&c, &EnvConfig::default(), &ev)
            .await
            .unwrap()
            .is_none()
    );
    assert!(gh.lines().await.is_empty());
}

#[tokio::test]
async fn fork_prs_are_not_deployed() {
    let gh = MockGitHub::start().await;
    let c = client(&gh, false).await;
    let mut ev = pr_event(
        "octo/app",
        7,
        "x",
        &sha('a'),
        &["deploy"],
        "labeled",
        Some("deploy"),
    );
    ev.pull_request.head.repo.as_mut().unwrap().full_name = "evil/app".into();
    let plan = sync(&c, &repo("octo/app"), &EnvConfig::default(), &ev)
        .await
        .unwrap();
    assert!(plan.deploy.is_empty());
    assert_eq!(plan.skipped.len(), 1, "{plan:?}");
    assert!(gh.lines().await.is_empty());
}

/// Same branch in two repositories: same namespace; closing the PR in `octo/a` undeploys
/// only `octo/a`'s environment (its own successful deployment), nothing of `octo/b`.
#[tokio::test]
async fn same_branch_two_repos_share_namespace_close_undeploys_own() {
    let gh = MockGitHub::start().await;
    let c = client(&gh, false).await;
    let cfg = EnvConfig::default();
    let open_b = pr_event(
        "octo/b",
        3,
        "feature/x",
        &sha('b'),
        &["deploy"],
        "labeled",
        Some("deploy"),
    );
    let plan_b = sync(&c, &repo("octo/b"), &cfg, &open_b).await.unwrap();
    get(
        &gh,
        "/repos/octo/a/deployments",
        json!([deployment(11, "preview-feature-x", 5, &sha('a'))]),
    )
    .await;
    get(
        &gh,
        "/repos/octo/a/deployments/11/statuses",
        json!([{"id": 2691, "state": "success"}, {"id": 2692, "state": "in_progress"}]),
    )
    .await;
    let closed_a = pr_event(
        "octo/a",
        5,
        "feature/x",
        &sha('a'),
        &["deploy"],
        "closed",
        None,
    );
    let plan_a = sync(&c, &repo("octo/a"), &cfg, &closed_a).await.unwrap();
    assert_eq!(plan_a.undeploy[0].namespace, plan_b.deploy[0].namespace);
    assert_eq!(envs(&plan_a.undeploy), ["preview-feature-x"]);
    assert!(plan_a.deploy.is_empty());
    gh.assert_lines(&[
        "GET /repos/octo/a/deployments?environment=preview-feature-x&per_page=100",
        "GET /repos/octo/a/deployments/11/statuses?per_page=100",
    ])
    .await;
}

#[tokio::test]
async fn close_without_successful_deploy_undeploys_nothing() {
    let gh = MockGitHub::start().await;
    let c = client(&gh, false).await;
    // PR 5 only failed in preview; qa1's deployment belongs to PR 9.
    get_q(
        &gh,
        "/repos/octo/a/deployments",
        "environment",
        "preview-feature-x",
        json!([deployment(11, "preview-feature-x", 5, &sha('a'))]),
    )
    .await;
    get_q(
        &gh,
        "/repos/octo/a/deployments",
        "environment",
        "qa1",
        json!([deployment(12, "qa1", 9, &sha('c'))]),
    )
    .await;
    get(
        &gh,
        "/repos/octo/a/deployments/11/statuses",
        json!([{"id": 3161, "state": "failure"}, {"id": 3162, "state": "in_progress"}]),
    )
    .await;
    let closed = pr_event(
        "octo/a",
        5,
        "feature/x",
        &sha('a'),
        &["deploy", "deploy/qa1"],
        "closed",
        None,
    );
    let plan = sync(&c, &repo("octo/a"), &EnvConfig::default(), &closed)
        .await
        .unwrap();
    assert!(plan.undeploy.is_empty(), "{plan:?}");
    assert!(plan.deploy.is_empty());
    gh.assert_lines(&[
        "GET /repos/octo/a/deployments?environment=preview-feature-x&per_page=100",
        "GET /repos/octo/a/deployments/11/statuses?per_page=100",
        "GET /repos/octo/a/deployments?environment=qa1&per_page=100",
    ])
    .await;
}

/// Mounts PR `n`'s issue events: `deploy/qa1` added at each of `times`, with unrelated
/// events around (the shape of `GET /repos/{o}/{r}/issues/{n}/events`).
async fn qa1_labeled_at(gh: &MockGitHub, n: u64, times: &[&str]) {
    let mut events = vec![json!({
        "id": 1, "event": "labeled", "label": {"name": "bug", "color": "d73a4a"},
        "actor": {"login": "carol"}, "created_at": "2026-12-04T11:00:00Z"
    })];
    for (i, t) in times.iter().enumerate() {
        events.push(json!({
            "id": 10 + i, "event": "labeled", "label": {"name": "deploy/qa1", "color": "0e8a16"},
            "actor": {"login": "maintainer"}, "created_at": t
        }));
        events.push(json!({
            "id": 20 + i, "event": "unlabeled", "label": {"name": "deploy/qa1", "color": "0e8a16"},
            "actor": {"login": "maintainer"}, "created_at": "2026-12-04T11:30:00Z"
        }));
    }
    events.pop();
    events.push(
        json!({"id": 99, "event": "head_ref_force_pushed", "actor": {"login": "bob"},
        "created_at": "2026-12-04T12:00:00Z"}),
    );
    get(
        gh,
        &format!("/repos/octo/app/issues/{n}/events"),
        json!(events),
    )
    .await;
}

async fn qa1_held_by_10_and_11(gh: &MockGitHub) {
    permission(gh, "octo/app", "maintainer", "write").await;
    get(
        gh,
        "/repos/octo/app/issues",
        json!([
            {"number": 10, "user": {"login": "alice"}, "pull_request": {}},
            {"number": 11, "user": {"login": "bob"}, "pull_request": {}},
        ]),
    )
    .await;
}

/// PR #11 takes `deploy/qa1` from PR #10: #10's deployment becomes inactive, its label is
/// removed and its author is told why, once.
#[tokio::test]
async fn qa_slot_hand_over() {
    let gh = MockGitHub::start().await;
    let c = client(&gh, false).await;
    qa1_held_by_10_and_11(&gh).await;
    // #10 got it yesterday (and once before); #11 just now.
    qa1_labeled_at(&gh, 10, &["2026-12-01T09:00:00Z", "2026-12-03T09:00:00Z"]).await;
    qa1_labeled_at(&gh, 11, &["2026-12-04T10:00:00Z"]).await;
    get(
        &gh,
        "/repos/octo/app/deployments",
        json!([
            deployment(101, "qa1", 10, &sha('d')),
            deployment(100, "qa1", 10, &sha('c')),
            deployment(99, "qa1", 9, &sha('9')),
        ]),
    )
    .await;
    get(
        &gh,
        "/repos/octo/app/deployments/101/statuses",
        json!([{"id": 4071, "state": "success"}]),
    )
    .await;
    get(
        &gh,
        "/repos/octo/app/deployments/100/statuses",
        json!([{"id": 4131, "state": "inactive"}]),
    )
    .await;
    write(
        &gh,
        "POST",
        "/repos/octo/app/deployments/101/statuses",
        201,
        json!({"id": 1, "state": "inactive"}),
    )
    .await;
    write(
        &gh,
        "DELETE",
        "/repos/octo/app/issues/10/labels/deploy%2Fqa1",
        200,
        json!([]),
    )
    .await;
    get(&gh, "/user", json!({"login": "ghops-bot", "type": "User"})).await;
    get(&gh, "/repos/octo/app/issues/10/comments", json!([])).await;
    write(
        &gh,
        "POST",
        "/repos/octo/app/issues/10/comments",
        201,
        json!({"id": 5, "user": {"login": "ghops-bot"}, "body": "x"}),
    )
    .await;
    let ev = pr_event(
        "octo/app",
        11,
        "feature/y",
        &sha('e'),
        &["deploy/qa1"],
        "labeled",
        Some("deploy/qa1"),
    );
    let plan = sync(&c, &repo("octo/app"), &EnvConfig::default(), &ev)
        .await
        .unwrap();
    assert_eq!(envs(&plan.deploy), ["qa1"]);
    assert_eq!(plan.handovers.len(), 1);
    assert_eq!(plan.handovers[0].from_pr, 10);
    assert_eq!(plan.handovers[0].deactivated, [101]);
    gh.assert_writes(&[
        "POST /repos/octo/app/deployments/101/statuses",
        "POST /repos/octo/app/issues/10/comments",
        "DELETE /repos/octo/app/issues/10/labels/deploy%2Fqa1",
    ])
    .await;
    let w = gh.writes().await;
    assert_eq!(
        w[0].body,
        json!({"state": "inactive", "description": "undeployed by ghops"})
    );
    insta_settings(None)
        .bind(|| insta::assert_snapshot!("handover_comment", w[1].body["body"].as_str().unwrap()));
}

/// #10 and #11 got `deploy/qa1` at nearly the same time and each run sees both holders: the
/// run for #10 (labelled earlier) yields to #11 without deploying or evicting anyone, so only
/// #11's run evicts (see `qa_slot_hand_over`), instead of each evicting the other.
#[tokio::test]
async fn simultaneous_takes_the_newer_label_wins() {
    let gh = MockGitHub::start().await;
    let c = client(&gh, false).await;
    qa1_held_by_10_and_11(&gh).await;
    qa1_labeled_at(&gh, 10, &["2026-12-04T10:00:00Z"]).await;
    qa1_labeled_at(&gh, 11, &["2026-12-04T10:00:01Z"]).await;
    get(&gh, "/repos/octo/app/deployments", json!([])).await;
    let ev = pr_event(
        "octo/app",
        10,
        "feature/x",
        &sha('d'),
        &["deploy/qa1"],
        "labeled",
        Some("deploy/qa1"),
    );
    let plan = sync(&c, &repo("octo/app"), &EnvConfig::default(), &ev)
        .await
        .unwrap();
    assert!(plan.deploy.is_empty(), "{:?}", plan.deploy);
    assert!(plan.handovers.is_empty());
    assert_eq!(
        plan.skipped,
        ["`deploy/qa1` was also just given to #11, later: #11 takes qa1 (the newest label wins)"]
    );
    gh.assert_no_writes().await;
    // The labeller (the sender) is authorised first; then the recorded holder (none), the
    // open PRs with the label, each one's label time and its labeller; then the preview,
    // never deployed, needs no undeploy.
    gh.assert_lines(&[
        "GET /repos/octo/app/collaborators/maintainer/permission",
        "GET /repos/octo/app/issues/10/events?per_page=100",
        "GET /repos/octo/app/deployments?environment=qa1&per_page=100",
        "GET /repos/octo/app/issues?state=open&labels=deploy%2Fqa1&per_page=100",
        "GET /repos/octo/app/issues/11/events?per_page=100",
        "GET /repos/octo/app/collaborators/maintainer/permission",
        "GET /repos/octo/app/deployments?environment=preview-feature-x&per_page=100",
    ])
    .await;
}

#[tokio::test]
async fn read_only_labeler_cannot_take_a_slot() {
    let gh = MockGitHub::start().await;
    let c = client(&gh, false).await;
    permission(&gh, "octo/app", "maintainer", "read").await;
    let ev = pr_event(
        "octo/app",
        11,
        "feature/y",
        &sha('e'),
        &["deploy/qa1"],
        "labeled",
        Some("deploy/qa1"),
    );
    let e = sync(&c, &repo("octo/app"), &EnvConfig::default(), &ev)
        .await
        .unwrap_err();
    assert_eq!(
        gh_core::ExitStatus::exit_code(&e),
        gh_core::ExitCode::Refused
    );
    gh.assert_no_writes().await;
}

proptest! {
    /// Whatever the labels, no environment is both deployed and undeployed, every deployed
    /// environment comes from a present label, and names are `[a-z0-9-]`.
    #[test]
    fn deploy_and_undeploy_are_disjoint(
        labels in proptest::collection::vec(prop_oneof![
            Just("deploy".to_owned()), "deploy/qa[0-9]{1,2}", "[a-z/]{1,8}"
        ], 0..5),
        removed in proptest::option::of(prop_oneof![Just("deploy".to_owned()), "deploy/qa[0-9]"]),
        branch in "\\PC{0,60}",
    ) {
        let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
        let action = if removed.is_some() { "unlabeled" } else { "synchronize" };
        let ev = pr_event("octo/app", 1, &branch, &sha('a'), &refs, action, removed.as_deref());
        let (d, u) = plan_open(&EnvConfig::default(), &ev);
        for t in &d {
            prop_assert!(!u.iter().any(|x| x.environment == t.environment));
            prop_assert!(labels.contains(&t.label));
            prop_assert!(t.environment.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
        }
        prop_assert!(d.len() + u.len() >= 1);
    }

    /// Any branch name gives a DNS-label-safe branch part: `[a-z0-9-]`, 1..=40 characters, no
    /// leading or trailing `-`; the same name always gives the same one; and the namespace is
    /// always `preview-` and that (never a bare branch name such as `kube-system`).
    #[test]
    fn namespaces_are_safe(branch in "\\PC{0,120}") {
        let n = release_flow::env::sanitise_branch(&branch);
        prop_assert!(!n.is_empty() && n.len() <= 40, "{n}");
        prop_assert!(n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
        prop_assert!(!n.starts_with('-') && !n.ends_with('-'));
        prop_assert_eq!(&n, &release_flow::env::sanitise_branch(&branch));
        prop_assert_eq!(release_flow::env::preview_namespace(&branch), format!("preview-{n}"));
    }
}

/// The real payloads, unedited: every one decodes and gives the expected plan.
#[tokio::test]
async fn real_payloads() {
    let gh = MockGitHub::start().await;
    let c = client(&gh, false).await;
    let cfg = EnvConfig::default();
    let load = |n: &str| -> gh_core::events::PullRequestEvent {
        gh_core::events::decode(n, &ghops_test_support::fixture_bytes(n)).unwrap()
    };
    get(&gh, "/repos/Codertocat/Hello-World/deployments", json!([])).await;
    let p = on_pull_request(&c, &cfg, &load("pull_request.synchronize.json"))
        .await
        .unwrap()
        .unwrap();
    // Open PR without a deploy label, never deployed: nothing to undeploy (before: an
    // undeploy of a preview that never existed on every push).
    assert!(p.deploy.is_empty() && p.undeploy.is_empty(), "{p:?}");
    // Unlabeling `bug` changes nothing.
    let p = on_pull_request(&c, &cfg, &load("pull_request.unlabeled.json"))
        .await
        .unwrap()
        .unwrap();
    assert!(p.deploy.is_empty() && p.undeploy.is_empty());
    // A fork PR: nothing either way.
    let p = on_pull_request(
        &c,
        &cfg,
        &load("pull_request.opened.from-fork.derived.json"),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(p.deploy.is_empty() && p.undeploy.is_empty() && p.skipped.len() == 1);
    // Closed, never deployed: one read, nothing undeployed.
    let p = on_pull_request(&c, &cfg, &load("pull_request.closed.json"))
        .await
        .unwrap()
        .unwrap();
    assert!(p.undeploy.is_empty());
    gh.assert_lines(&[
        "GET /repos/Codertocat/Hello-World/deployments?environment=preview-changes&per_page=100",
        "GET /repos/Codertocat/Hello-World/deployments?environment=preview-changes&per_page=100",
    ])
    .await;
}
