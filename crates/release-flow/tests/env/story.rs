//! Whole-workflow stories against the stateful fake GitHub: what runs where after a sequence
//! of events, with faults injected around every write.

use ghops_test_support::fake::FakeGitHub;
use release_flow::env::{DeployState, EnvConfig, RecordRequest, SyncPlan, record, sync};

use crate::*;

pub(crate) async fn fake_client(gh: &FakeGitHub) -> gh_core::GitHub {
    client(gh, false).await
}

/// The `pull_request` event GitHub would send now for PR `n`.
pub(crate) fn event(
    gh: &FakeGitHub,
    n: u64,
    action: &str,
    label: Option<&str>,
    sender: &str,
) -> gh_core::events::PullRequestEvent {
    serde_json::from_value(gh.pull_request_event(n, action, label, sender)).unwrap()
}

/// What the generated workflow does with a plan: each deploy job records `in_progress` then
/// `success`; each undeploy job records `inactive` for the PR.
pub(crate) async fn run_jobs(
    c: &gh_core::GitHub,
    plan: &SyncPlan,
) -> Result<(), release_flow::ReleaseError> {
    let r = repo(&plan.repo);
    for t in &plan.deploy {
        for state in [DeployState::InProgress, DeployState::Success] {
            record(
                c,
                &r,
                &RecordRequest {
                    environment: t.environment.clone(),
                    state,
                    sha: t.sha.clone(),
                    git_ref: t.git_ref.clone(),
                    pr: Some(t.pr),
                    actor: "dev".into(),
                    transient: t.transient,
                    url: Some(format!("https://{}.example.com", t.environment)),
                    log_url: None,
                },
            )
            .await?;
        }
    }
    for t in &plan.undeploy {
        record(
            c,
            &r,
            &RecordRequest {
                environment: t.environment.clone(),
                state: DeployState::Inactive,
                sha: t.sha.clone(),
                git_ref: t.git_ref.clone(),
                pr: Some(t.pr),
                actor: "dev".into(),
                transient: t.transient,
                url: None,
                log_url: None,
            },
        )
        .await?;
    }
    Ok(())
}

/// One event through `env sync` and the jobs its plan starts.
pub(crate) async fn step(
    gh: &FakeGitHub,
    c: &gh_core::GitHub,
    n: u64,
    action: &str,
    label: Option<&str>,
    sender: &str,
) -> Result<SyncPlan, release_flow::ReleaseError> {
    let ev = event(gh, n, action, label, sender);
    let plan = sync(c, &repo("octo/app"), &EnvConfig::default(), &ev).await?;
    run_jobs(c, &plan).await?;
    Ok(plan)
}

/// The fake serves what `env sync` and `env record` need: a preview deployed by label and
/// undeployed on close, recorded once however often the jobs re-run.
#[tokio::test]
async fn preview_lifecycle_on_the_fake() {
    let gh = FakeGitHub::start("octo/app").await;
    let c = fake_client(&gh).await;
    gh.set_permission("maintainer", "write");
    gh.add_pull(7, "feature/x", &sha('a'), "alice");
    gh.label(7, "deploy", "maintainer");
    let plan = step(&gh, &c, 7, "labeled", Some("deploy"), "maintainer")
        .await
        .unwrap();
    assert_eq!(plan.deploy.len(), 1);
    // The deploy job's last step re-run writes nothing.
    let before = gh.write_count();
    let t = &plan.deploy[0];
    let again = RecordRequest {
        environment: t.environment.clone(),
        state: DeployState::Success,
        sha: t.sha.clone(),
        git_ref: t.git_ref.clone(),
        pr: Some(7),
        actor: "dev".into(),
        transient: true,
        url: Some(format!("https://{}.example.com", t.environment)),
        log_url: None,
    };
    assert!(
        !record(&c, &repo("octo/app"), &again)
            .await
            .unwrap()
            .status_added
    );
    assert_eq!(gh.write_count(), before);
    assert_eq!(
        gh.active(),
        [(
            "preview-feature-x".to_owned(),
            Some(7),
            "success".to_owned()
        )]
    );
    gh.set_open(7, false, "alice");
    let plan = step(&gh, &c, 7, "closed", None, "alice").await.unwrap();
    assert_eq!(plan.undeploy.len(), 1);
    assert!(gh.active().is_empty());
    gh.assert_no_unrouted();
}
