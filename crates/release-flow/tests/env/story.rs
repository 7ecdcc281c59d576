//! Whole-workflow stories against the stateful fake GitHub: what runs where after a sequence
//! of events, with faults injected around every write.

use ghops_test_support::fake::{FakeGitHub, Fault};
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

/// Who holds `qa1` (PRs with an active deployment there); never more than one.
fn qa1(gh: &FakeGitHub) -> Option<u64> {
    let holders: Vec<Option<u64>> = gh
        .active()
        .into_iter()
        .filter(|(e, _, _)| e == "qa1")
        .map(|(_, pr, _)| pr)
        .collect();
    assert!(holders.len() <= 1, "two PRs in qa1: {holders:?}");
    holders.first().copied().flatten()
}

fn undeploys(p: &SyncPlan) -> Vec<&str> {
    p.undeploy.iter().map(|t| t.environment.as_str()).collect()
}

fn deploys(p: &SyncPlan) -> Vec<&str> {
    p.deploy.iter().map(|t| t.environment.as_str()).collect()
}

/// Issue 23 #1 and #2: two PRs contend for `qa1` across labels, pushes, a refused label,
/// close, reopen and unlabel; the slot never has two holders, a refused label never deploys,
/// and only what a PR deployed is undeployed.
#[tokio::test]
async fn two_prs_contend_for_a_qa_slot() {
    let gh = FakeGitHub::start("octo/app").await;
    let c = fake_client(&gh).await;
    gh.set_permission("maintainer", "write");
    gh.set_permission("reader", "read");
    gh.add_pull(10, "feature/a", &sha('a'), "alice");
    gh.add_pull(11, "feature/b", &sha('b'), "bob");
    gh.add_pull(12, "feature/c", &sha('c'), "carol");

    // #10 takes the free slot.
    gh.label(10, "deploy/qa1", "maintainer");
    let p = step(&gh, &c, 10, "labeled", Some("deploy/qa1"), "maintainer")
        .await
        .unwrap();
    assert_eq!(deploys(&p), ["qa1"]);
    assert_eq!(qa1(&gh), Some(10));

    // #11 takes it from #10: evicted, label removed, told once.
    gh.label(11, "deploy/qa1", "maintainer");
    let p = step(&gh, &c, 11, "labeled", Some("deploy/qa1"), "maintainer")
        .await
        .unwrap();
    assert_eq!(deploys(&p), ["qa1"]);
    assert_eq!(p.handovers.len(), 1);
    assert_eq!(qa1(&gh), Some(11));
    assert!(gh.labels(10).is_empty());
    assert_eq!(gh.comments(10).len(), 1);

    // #10 pushes: it no longer holds qa1 and never had a preview: nothing to undeploy
    // (before: an undeploy of the preview that never existed).
    gh.set_head(10, &sha('d'));
    let p = step(&gh, &c, 10, "synchronize", None, "alice")
        .await
        .unwrap();
    assert!(p.deploy.is_empty() && p.undeploy.is_empty(), "{p:?}");
    // #11 pushes: it keeps its slot, evicting nobody.
    let before = gh.write_count();
    gh.set_head(11, &sha('e'));
    let p = step(&gh, &c, 11, "synchronize", None, "bob").await.unwrap();
    assert_eq!(deploys(&p), ["qa1"]);
    assert!(p.handovers.is_empty());
    assert_eq!(qa1(&gh), Some(11));
    assert_eq!(
        gh.write_count() - before,
        3,
        "a deployment and two statuses"
    );

    // A read-only user's label is refused and writes nothing; the author's next push does
    // not deploy it either (before: deployed qa1 with no check, a second PR in the slot).
    gh.label(12, "deploy/qa1", "reader");
    let before = gh.write_count();
    let e = step(&gh, &c, 12, "labeled", Some("deploy/qa1"), "reader")
        .await
        .unwrap_err();
    assert_eq!(
        gh_core::ExitStatus::exit_code(&e),
        gh_core::ExitCode::Refused
    );
    assert_eq!(gh.write_count(), before);
    let p = step(&gh, &c, 12, "synchronize", None, "carol")
        .await
        .unwrap();
    assert!(p.deploy.is_empty(), "{p:?}");
    assert!(
        p.skipped[0].contains("added to #12 by reader"),
        "{:?}",
        p.skipped
    );
    assert_eq!(qa1(&gh), Some(11));
    // The unauthorised label does not block #11's pushes.
    let p = step(&gh, &c, 11, "synchronize", None, "bob").await.unwrap();
    assert_eq!(deploys(&p), ["qa1"]);

    // #11 closes: its slot is undeployed; its label stays on the closed PR.
    gh.set_open(11, false, "bob");
    let p = step(&gh, &c, 11, "closed", None, "bob").await.unwrap();
    assert_eq!(undeploys(&p), ["qa1"]);
    assert_eq!(qa1(&gh), None);
    // #10 takes the free slot again (#12's refused label is evicted with it).
    gh.label(10, "deploy/qa1", "maintainer");
    let p = step(&gh, &c, 10, "labeled", Some("deploy/qa1"), "maintainer")
        .await
        .unwrap();
    assert_eq!(deploys(&p), ["qa1"]);
    assert_eq!(qa1(&gh), Some(10));
    // #11 reopens with its older label: it does not deploy (before: two PRs in qa1).
    gh.set_open(11, true, "bob");
    let p = step(&gh, &c, 11, "reopened", None, "bob").await.unwrap();
    assert!(p.deploy.is_empty(), "{p:?}");
    assert_eq!(qa1(&gh), Some(10));

    // Unlabelling a slot #11 does not hold undeploys nothing (before: ran the undeploy of
    // #10's environment).
    gh.unlabel(11, "deploy/qa1", "maintainer");
    let p = step(&gh, &c, 11, "unlabeled", Some("deploy/qa1"), "maintainer")
        .await
        .unwrap();
    assert!(p.undeploy.is_empty(), "{p:?}");
    assert_eq!(qa1(&gh), Some(10));
    // Unlabelling the holder undeploys it.
    gh.unlabel(10, "deploy/qa1", "maintainer");
    let p = step(&gh, &c, 10, "unlabeled", Some("deploy/qa1"), "maintainer")
        .await
        .unwrap();
    assert_eq!(undeploys(&p), ["qa1"]);
    assert_eq!(qa1(&gh), None);
    gh.assert_no_unrouted();
}

/// No deployment recorded twice for one (environment, SHA), no two identical statuses in a
/// row on one deployment.
pub(crate) fn assert_no_duplicates(gh: &FakeGitHub) {
    let deps = gh.deployments();
    let mut keys: Vec<(String, String)> = deps
        .iter()
        .map(|d| {
            (
                d["environment"].as_str().unwrap().to_owned(),
                d["sha"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let n = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), n, "a deployment recorded twice: {deps:#?}");
    for d in &deps {
        let st = gh.statuses(d["id"].as_u64().unwrap());
        for w in st.windows(2) {
            assert!(
                w[0]["state"] != w[1]["state"]
                    || w[0]["environment_url"] != w[1]["environment_url"],
                "a status recorded twice on {}: {st:#?}",
                d["id"]
            );
        }
    }
}

/// #10 holds qa1 and #11 is labelled: the state just before #11's `labeled` run.
async fn contended(gh: &FakeGitHub, c: &gh_core::GitHub) {
    gh.set_permission("maintainer", "write");
    gh.add_pull(10, "feature/a", &sha('a'), "alice");
    gh.add_pull(11, "feature/b", &sha('b'), "bob");
    gh.label(10, "deploy/qa1", "maintainer");
    step(gh, c, 10, "labeled", Some("deploy/qa1"), "maintainer")
        .await
        .unwrap();
    gh.label(11, "deploy/qa1", "maintainer");
}

/// A 502 before or after each write of the hand-over run (sync, then the deploy job), then a
/// re-run: the same end state as without faults, nothing doubled, nothing missing.
#[tokio::test]
async fn slot_hand_over_survives_a_502_around_every_write() {
    let clean = FakeGitHub::start("octo/app").await;
    let c = fake_client(&clean).await;
    contended(&clean, &c).await;
    let before = clean.write_count();
    step(&clean, &c, 11, "labeled", Some("deploy/qa1"), "maintainer")
        .await
        .unwrap();
    let writes = clean.write_count() - before;
    assert_eq!(
        writes, 6,
        "inactive, comment, label, deployment, 2 statuses"
    );
    for k in 1..=writes {
        for fault in [Fault::Before, Fault::After] {
            let gh = FakeGitHub::start("octo/app").await;
            let c = fake_client(&gh).await;
            contended(&gh, &c).await;
            gh.fail_write(k, fault);
            let _ = step(&gh, &c, 11, "labeled", Some("deploy/qa1"), "maintainer").await;
            step(&gh, &c, 11, "labeled", Some("deploy/qa1"), "maintainer")
                .await
                .unwrap_or_else(|e| panic!("re-run after {fault:?} write {k}: {e}"));
            assert_eq!(qa1(&gh), Some(11), "{fault:?} write {k}");
            assert!(gh.labels(10).is_empty(), "{fault:?} write {k}");
            assert_eq!(gh.comments(10).len(), 1, "{fault:?} write {k}");
            assert_no_duplicates(&gh);
        }
    }
}

fn deploy_req(env: &str, sha: &str, state: DeployState) -> RecordRequest {
    RecordRequest {
        environment: env.into(),
        state,
        sha: sha.into(),
        git_ref: "main".into(),
        pr: None,
        actor: "dev".into(),
        transient: false,
        url: None,
        log_url: None,
    }
}

/// Issue 23 #7: s2 → s3 → back to s2 in staging: `env status` shows s2 (before: s3, as the
/// redeploy of s2 reused s2's old deployment and s3's stayed the newest).
#[tokio::test]
async fn status_is_right_after_a_rollback() {
    let gh = FakeGitHub::start("octo/app").await;
    let c = fake_client(&gh).await;
    let r = repo("octo/app");
    let s2 = gh.push("main", "alice", "s2");
    let s3 = gh.push("main", "bob", "s3");
    for s in [&s2, &s3, &s2] {
        for state in [DeployState::InProgress, DeployState::Success] {
            record(&c, &r, &deploy_req("staging", s, state))
                .await
                .unwrap();
        }
        // The job re-run: nothing more.
        let again = record(&c, &r, &deploy_req("staging", s, DeployState::Success))
            .await
            .unwrap();
        assert!(!again.created && !again.status_added);
    }
    assert_eq!(gh.deployments().len(), 3, "one deployment per deploy");
    let rows = release_flow::env::status(&c, &r).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].sha.as_deref(), Some(s2.as_str()));
    assert_eq!(rows[0].state, "success");
    // GitHub's auto_inactive left exactly one active deployment: the last deploy of s2.
    assert_eq!(gh.active().len(), 1);
    assert_no_duplicates_per_deploy(&gh);
    gh.assert_no_unrouted();
}

/// No two identical statuses in a row on one deployment.
fn assert_no_duplicates_per_deploy(gh: &FakeGitHub) {
    for d in gh.deployments() {
        let st = gh.statuses(d["id"].as_u64().unwrap());
        for w in st.windows(2) {
            assert!(w[0]["state"] != w[1]["state"], "{st:#?}");
        }
    }
}

fn gate_req(sha: &str, git_ref: &str, actor: &str, run: u64) -> release_flow::gate::GateRequest {
    let mut r = release_flow::gate::GateRequest::now("production", sha, git_ref, actor);
    r.run_id = Some(run);
    r
}

fn refused(r: Result<release_flow::gate::GateOutcome, release_flow::ReleaseError>) -> String {
    let e = r.unwrap_err();
    assert_eq!(
        gh_core::ExitStatus::exit_code(&e),
        gh_core::ExitCode::Refused,
        "{e}"
    );
    e.to_string()
}

/// Issue 23 #9, issue 22 (Cloud Posse gate): promotion through gates with the two-person
/// rule. Production takes only a released commit that succeeded in staging; the approver is
/// neither the requester nor an author of the promoted commits; a payload's `approved_by`
/// counts for nothing; re-runs write nothing.
#[tokio::test]
async fn promotion_through_gates_with_two_person_rule() {
    let gh = FakeGitHub::start("octo/app").await;
    let c = fake_client(&gh).await;
    let r = repo("octo/app");
    let policy = EnvConfig::default().gate;
    let rules = release_flow::gate::Promotion {
        two_person: true,
        ..Default::default()
    };
    for who in ["alice", "bob", "carol"] {
        gh.set_permission(who, "maintain");
    }
    gh.set_permission("dave", "write");
    let s1 = gh.push("main", "alice", "feature by alice");
    gh.add_release("v1.0.0", &s1, false);
    let check = |req: release_flow::gate::GateRequest| {
        let (c, r, policy, rules) = (&c, &r, &policy, &rules);
        async move { release_flow::gate::check(c, r, policy, rules, &req).await }
    };

    // Not yet in staging: refused, nothing written.
    gh.add_run(100, "bob", &s1);
    let w = gh.write_count();
    let m = refused(check(gate_req(&s1, "v1.0.0", "bob", 100)).await);
    assert!(m.contains("has not succeeded in staging"), "{m}");
    assert_eq!(gh.write_count(), w);
    for state in [DeployState::InProgress, DeployState::Success] {
        record(&c, &r, &deploy_req("staging", &s1, state))
            .await
            .unwrap();
    }

    // bob asks: recorded as the request (once), refused until someone else approves.
    let m = refused(check(gate_req(&s1, "v1.0.0", "bob", 100)).await);
    assert!(m.contains("two-person rule: bob requested"), "{m}");
    let w = gh.write_count();
    gh.add_run(101, "bob", &s1);
    refused(check(gate_req(&s1, "v1.0.0", "bob", 101)).await);
    assert_eq!(
        gh.write_count(),
        w,
        "a second ask by bob records nothing new"
    );

    // alice wrote the promoted commit: she may not approve.
    gh.add_run(102, "alice", &s1);
    let m = refused(check(gate_req(&s1, "v1.0.0", "alice", 102)).await);
    assert!(m.contains("alice wrote commit"), "{m}");
    assert_eq!(gh.write_count(), w);
    // dave lacks the permission.
    refused(check(gate_req(&s1, "v1.0.0", "dave", 103)).await);

    // carol approves bob's request; the deploy job then continues the same deployment.
    gh.add_run(104, "carol", &s1);
    let o = check(gate_req(&s1, "v1.0.0", "carol", 104)).await.unwrap();
    assert_eq!(o.approved_by, "carol");
    assert_eq!(o.requested_by.as_deref(), Some("bob"));
    assert_eq!(o.release.as_deref(), Some("v1.0.0"));
    assert_eq!(o.succeeded_in.as_deref(), Some("staging"));
    assert!(o.recorded && !o.created);
    let w = gh.write_count();
    let again = check(gate_req(&s1, "v1.0.0", "carol", 104)).await.unwrap();
    assert!(!again.recorded);
    assert_eq!(gh.write_count(), w, "a re-run writes nothing");
    for state in [DeployState::InProgress, DeployState::Success] {
        let out = record(&c, &r, &deploy_req("production", &s1, state))
            .await
            .unwrap();
        assert_eq!(out.deployment_id, o.deployment_id);
    }

    // A commit that is not a release is refused for production.
    let s2 = gh.push("main", "bob", "fix by bob");
    for state in [DeployState::InProgress, DeployState::Success] {
        record(&c, &r, &deploy_req("staging", &s2, state))
            .await
            .unwrap();
    }
    gh.add_run(105, "carol", &s2);
    let m = refused(check(gate_req(&s2, "main", "carol", 105)).await);
    assert!(m.contains("not the commit of a published release"), "{m}");

    // Released; a forged approval in a payload and a forged request naming a run of another
    // commit count for nothing: carol's run is only a request.
    gh.add_release("v1.0.1", &s2, false);
    let forged = gh.add_deployment(
        "production",
        &s2,
        serde_json::json!({"approved_by": "alice", "requested_by": "alice"}),
    );
    let now = gh.now();
    gh.state().statuses.entry(forged).or_default().push(serde_json::json!({
        "id": 9999, "state": "queued", "description": "promotion requested by @alice in run 102",
        "environment_url": "", "log_url": "", "created_at": now,
    }));
    let m = refused(check(gate_req(&s2, "v1.0.1", "carol", 105)).await);
    assert!(m.contains("carol requested"), "{m}");
    // bob wrote s2: he may not approve carol's request; alice (who did not) may.
    gh.add_run(106, "bob", &s2);
    let m = refused(check(gate_req(&s2, "v1.0.1", "bob", 106)).await);
    assert!(m.contains("bob wrote commit"), "{m}");
    gh.add_run(107, "alice", &s2);
    let o = check(gate_req(&s2, "v1.0.1", "alice", 107)).await.unwrap();
    assert_eq!(o.requested_by.as_deref(), Some("carol"));
    assert_eq!(o.deployment_id, Some(forged));
    gh.assert_no_unrouted();
}

/// A 502 before and after each write of a two-person request and of its approval, then a
/// re-run: one deployment, one request, one approval.
#[tokio::test]
async fn gate_survives_a_502_around_every_write() {
    let rules = release_flow::gate::Promotion {
        two_person: true,
        ..Default::default()
    };
    let policy = EnvConfig::default().gate;
    for (k, fault) in [
        (1, Fault::Before),
        (1, Fault::After),
        (2, Fault::Before),
        (2, Fault::After),
        (3, Fault::Before),
        (3, Fault::After),
    ] {
        let gh = FakeGitHub::start("octo/app").await;
        let c = fake_client(&gh).await;
        let r = repo("octo/app");
        gh.set_permission("bob", "maintain");
        gh.set_permission("carol", "maintain");
        let s1 = gh.push("main", "alice", "feature");
        gh.add_release("v1.0.0", &s1, false);
        for state in [DeployState::InProgress, DeployState::Success] {
            record(&c, &r, &deploy_req("staging", &s1, state))
                .await
                .unwrap();
        }
        gh.add_run(100, "bob", &s1);
        gh.add_run(101, "carol", &s1);
        // Writes: 1 the deployment, 2 the request, 3 the approval.
        gh.fail_write(k, fault);
        for _ in 0..2 {
            let _ = release_flow::gate::check(
                &c,
                &r,
                &policy,
                &rules,
                &gate_req(&s1, "v1.0.0", "bob", 100),
            )
            .await;
        }
        let mut o = release_flow::gate::check(
            &c,
            &r,
            &policy,
            &rules,
            &gate_req(&s1, "v1.0.0", "carol", 101),
        )
        .await;
        if o.is_err() {
            o = release_flow::gate::check(
                &c,
                &r,
                &policy,
                &rules,
                &gate_req(&s1, "v1.0.0", "carol", 101),
            )
            .await;
        }
        let o = o.unwrap_or_else(|e| panic!("{fault:?} write {k}: {e}"));
        assert_eq!(
            o.requested_by.as_deref(),
            Some("bob"),
            "{fault:?} write {k}"
        );
        let prod: Vec<_> = gh
            .deployments()
            .into_iter()
            .filter(|d| d["environment"] == "production")
            .collect();
        assert_eq!(prod.len(), 1, "{fault:?} write {k}");
        let descs: Vec<String> = gh
            .statuses(prod[0]["id"].as_u64().unwrap())
            .iter()
            .map(|s| s["description"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            descs,
            [
                "promotion requested by @bob in run 100",
                "approved by @carol"
            ],
            "{fault:?} write {k}"
        );
    }
}

/// Issue 23 #10: taking a slot from two PRs looks ghops's identity up once (before: two
/// calls, `/user` and `/rate_limit`, per evicted PR).
#[tokio::test]
async fn evicting_two_prs_looks_identity_up_once() {
    let gh = FakeGitHub::start("octo/app").await;
    let c = fake_client(&gh).await;
    gh.set_permission("maintainer", "write");
    for (n, b, s) in [
        (10, "feature/a", 'a'),
        (11, "feature/b", 'b'),
        (12, "feature/c", 'c'),
    ] {
        gh.add_pull(n, b, &sha(s), "dev");
    }
    gh.label(10, "deploy/qa1", "maintainer");
    step(&gh, &c, 10, "labeled", Some("deploy/qa1"), "maintainer")
        .await
        .unwrap();
    // #11 reopened with an old label never deployed; #12 takes the slot from both.
    gh.label(11, "deploy/qa1", "maintainer");
    gh.label(12, "deploy/qa1", "maintainer");
    let p = step(&gh, &c, 12, "labeled", Some("deploy/qa1"), "maintainer")
        .await
        .unwrap();
    assert_eq!(p.handovers.len(), 2, "{p:?}");
    let lines = gh.lines().await;
    assert_eq!(
        lines.iter().filter(|l| *l == "GET /user").count(),
        1,
        "{lines:#?}"
    );
    assert!(!lines.iter().any(|l| l.starts_with("GET /rate_limit")));
    assert_eq!(qa1(&gh), Some(12));
    assert!(gh.labels(10).is_empty() && gh.labels(11).is_empty());
}

/// One thing a person does to one of three PRs.
#[derive(Debug, Clone)]
enum Act {
    Label(u64, bool),
    Unlabel(u64),
    Push(u64),
    Close(u64),
    Reopen(u64),
}

fn act() -> impl proptest::strategy::Strategy<Value = Act> {
    use proptest::prelude::*;
    let pr = 10u64..13;
    prop_oneof![
        (pr.clone(), any::<bool>()).prop_map(|(n, m)| Act::Label(n, m)),
        pr.clone().prop_map(Act::Unlabel),
        pr.clone().prop_map(Act::Push),
        pr.clone().prop_map(Act::Close),
        pr.prop_map(Act::Reopen),
    ]
}

/// Plays `acts` (skipping those GitHub would send no event for) through `env sync` and the
/// jobs; after each, at most one PR holds qa1, and it is open, carries the label, and got it
/// from someone authorised.
async fn play(acts: Vec<Act>) {
    let gh = FakeGitHub::start("octo/app").await;
    let c = fake_client(&gh).await;
    gh.set_permission("maintainer", "write");
    gh.set_permission("reader", "read");
    for n in 10..13u64 {
        gh.add_pull(n, &format!("feature/{n}"), &sha('a'), "dev");
    }
    let label = "deploy/qa1";
    let mut pushes = 0u64;
    for a in acts {
        let open = |n: u64| gh.state().issues[&n].state == "open";
        let has = |n: u64| gh.labels(n).iter().any(|l| l == label);
        let r = match a {
            Act::Label(n, m) if open(n) && !has(n) => {
                let who = if m { "maintainer" } else { "reader" };
                gh.label(n, label, who);
                match step(&gh, &c, n, "labeled", Some(label), who).await {
                    Err(e) if !m => {
                        assert_eq!(
                            gh_core::ExitStatus::exit_code(&e),
                            gh_core::ExitCode::Refused
                        );
                        Ok(())
                    }
                    r => r.map(|_| ()),
                }
            }
            Act::Unlabel(n) if open(n) && has(n) => {
                gh.unlabel(n, label, "maintainer");
                step(&gh, &c, n, "unlabeled", Some(label), "maintainer")
                    .await
                    .map(|_| ())
            }
            Act::Push(n) if open(n) => {
                pushes += 1;
                let s = format!("{:040x}", 0xabc0_0000 + pushes);
                gh.set_head(n, &s);
                step(&gh, &c, n, "synchronize", None, "dev")
                    .await
                    .map(|_| ())
            }
            Act::Close(n) if open(n) => {
                gh.set_open(n, false, "dev");
                step(&gh, &c, n, "closed", None, "dev").await.map(|_| ())
            }
            Act::Reopen(n) if !open(n) => {
                gh.set_open(n, true, "dev");
                step(&gh, &c, n, "reopened", None, "dev").await.map(|_| ())
            }
            _ => continue,
        };
        r.unwrap_or_else(|e| panic!("{e}"));
        if let Some(h) = qa1(&gh) {
            let s = gh.state();
            let i = &s.issues[&h];
            assert_eq!(i.state, "open", "#{h} holds qa1 closed");
            assert!(
                i.labels.iter().any(|l| l == label),
                "#{h} holds qa1 without the label"
            );
            let by = i
                .events
                .iter()
                .rev()
                .find(|e| e["event"] == "labeled" && e["label"]["name"] == label)
                .map(|e| e["actor"]["login"].as_str().unwrap_or("").to_owned());
            assert_eq!(
                by.as_deref(),
                Some("maintainer"),
                "#{h} holds qa1 by a refused label"
            );
        }
        assert_no_duplicates_per_deploy(&gh);
    }
    gh.assert_no_unrouted();
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
    /// Whatever the order of labels (authorised or not), unlabels, pushes, closes and reopens
    /// over three PRs, qa1 never has two holders, and its holder is open, labelled, and
    /// labelled by someone authorised.
    #[test]
    fn qa_slot_invariants_hold_for_any_sequence(acts in proptest::collection::vec(act(), 1..14)) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(play(acts));
    }
}

/// The fake pages like GitHub (`per_page`, `Link: rel="next"`): deactivation finds all 150
/// deployments of an environment, and a second pass writes nothing.
#[tokio::test]
async fn the_fake_pages_like_github() {
    let gh = FakeGitHub::start("octo/app").await;
    let c = fake_client(&gh).await;
    for i in 0..150u64 {
        let id = gh.add_deployment("qa1", &sha('a'), serde_json::json!({"pr": 7 + i % 2}));
        gh.add_status(id, "in_progress");
    }
    let r = repo("octo/app");
    let done = release_flow::env::deactivate(&c, &r, "qa1", Some(7))
        .await
        .unwrap();
    assert_eq!(done.len(), 75);
    let lines = gh.lines().await;
    assert!(
        lines.iter().any(|l| l.ends_with("&page=2")),
        "{:?}",
        &lines[..3]
    );
    let before = gh.write_count();
    assert!(
        release_flow::env::deactivate(&c, &r, "qa1", Some(7))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(gh.write_count(), before);
}
