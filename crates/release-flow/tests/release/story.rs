//! The release story against the stateful fake GitHub (issue #23): draft → publish → release
//! branch → two hotfixes (each release firing `release: published`) → the reintegration PR
//! merged → a third hotfix with a new reintegration PR, run
//! clean and then with a 502 before and after each write (then a re-run of the step): never a
//! duplicate, never a missing label, branch or draft.

use ghops_test_support::fake::{FakeGitHub, Fault};
use release_flow::config::DrafterConfig;
use release_flow::draft::draft;
use release_flow::hotfix::publish_hook;
use release_flow::push::hotfix_then_draft;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::client;

/// The `[release]` table `ghops init pipeline` writes (default bump minor).
fn pipeline_config() -> DrafterConfig {
    let chosen = release_flow::init::select(&["pipeline".into()]).unwrap();
    let text = release_flow::init::config_scaffold(&chosen);
    let f = gh_core::config::ConfigFile::parse(&text, Some("ghops.toml".into())).unwrap();
    DrafterConfig::from_ghops_toml(&f).unwrap().0
}

async fn fake() -> FakeGitHub {
    let gh = FakeGitHub::start("octo/app").await;
    // The fake serves REST only: GraphQL answers 404 and ghops reads the REST compare.
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .mount(&gh.server)
        .await;
    // A first release, v0.1.0, at the root commit (the story starts from a baseline).
    let mut s = gh.state();
    let root = s.refs["heads/main"].clone();
    s.refs.insert("tags/v0.1.0".into(), root);
    s.next_id += 1;
    let id = s.next_id;
    s.releases.push(json!({
        "id": id, "tag_name": "v0.1.0", "name": "v0.1.0", "body": "", "draft": false,
        "prerelease": false, "target_commitish": "main",
        "created_at": "2026-01-01T00:00:00Z", "published_at": "2026-01-01T00:00:00Z"
    }));
    drop(s);
    gh
}

/// A maintainer publishes main's draft (the harness writes the state, not ghops); returns
/// its tag.
fn publish_the_draft(gh: &FakeGitHub) -> String {
    let now = gh.now();
    let mut s = gh.state();
    let pos = s
        .releases
        .iter()
        .position(|r| r["draft"] == json!(true))
        .expect("a draft to publish");
    s.releases[pos]["draft"] = json!(false);
    s.releases[pos]["published_at"] = json!(now);
    let tag = s.releases[pos]["tag_name"].as_str().unwrap().to_owned();
    let target = s.releases[pos]["target_commitish"]
        .as_str()
        .unwrap()
        .to_owned();
    let sha = s.resolve(&target).unwrap();
    s.refs.insert(format!("tags/{tag}"), sha);
    tag
}

/// Runs a step; when it fails (an injected 502), runs it again, as a workflow re-run would.
macro_rules! step {
    ($e:expr) => {
        match $e.await {
            Ok(v) => v,
            Err(first) => $e.await.unwrap_or_else(|e| {
                panic!("failed, then failed again on the re-run: {first} / {e}")
            }),
        }
    };
}

/// The whole story; returns the number of ghops's writes.
async fn story(gh: &FakeGitHub) -> usize {
    let c = client(gh, false).await;
    let r: gh_core::RepoRef = "octo/app".parse().unwrap();
    let cfg = pipeline_config();
    let main = "main";
    gh.push(main, "dev", "Add the API");
    step!(draft(&c, &r, &cfg, main));
    let tag = publish_the_draft(gh);
    assert_eq!(tag, "v0.2.0");
    let b = step!(publish_hook(&c, &r, &cfg, &tag));
    assert_eq!(b.branch, "release/0.2.0");
    // The branch's creation push: nothing to publish, no PR (main holds everything).
    step!(hotfix_then_draft(&c, &r, &cfg, "release/0.2.0", main));
    gh.push(main, "dev", "Add search");
    step!(draft(&c, &r, &cfg, main));
    for (n, fix) in [(1, "Fix the crash"), (2, "Fix the leak")] {
        gh.push("release/0.2.0", "dev", fix);
        let out = step!(hotfix_then_draft(&c, &r, &cfg, "release/0.2.0", main));
        let release_flow::push::PushOutcome::Hotfix { hotfix, .. } = out else {
            panic!("{out:?}")
        };
        let published = format!("v0.2.{n}");
        assert!(hotfix.reintegration_pr.is_some(), "{hotfix:?}");
        // The hotfix release (App token) fires `release: published`.
        let b = step!(publish_hook(&c, &r, &cfg, &published));
        assert_eq!(b.action, "skipped", "{b:?}");
        // A replay of the push changes nothing.
        step!(hotfix_then_draft(&c, &r, &cfg, "release/0.2.0", main));
    }
    // A maintainer merges the reintegration PR; the next hotfix opens a new one.
    merge_the_reintegration(gh);
    step!(draft(&c, &r, &cfg, main));
    gh.push("release/0.2.0", "dev", "Fix the race");
    step!(hotfix_then_draft(&c, &r, &cfg, "release/0.2.0", main));
    let b = step!(publish_hook(&c, &r, &cfg, "v0.2.3"));
    assert_eq!(b.action, "skipped", "{b:?}");
    gh.write_count()
}

/// The harness merges the open reintegration PR into main (a merge commit).
fn merge_the_reintegration(gh: &FakeGitHub) {
    let (n, head, main) = {
        let s = gh.state();
        let n = *s
            .issues
            .iter()
            .find(|(_, i)| i.state == "open" && i.pull.as_ref().is_some_and(|p| p.base == "main"))
            .expect("an open reintegration PR")
            .0;
        (
            n,
            s.refs["heads/release/0.2.0"].clone(),
            s.refs["heads/main"].clone(),
        )
    };
    let merge = gh.commit(&[&main, &head], "maintainer", "Merge the reintegration");
    gh.set_ref("heads/main", &merge);
    let mut s = gh.state();
    let i = s.issues.get_mut(&n).unwrap();
    i.state = "closed".into();
    i.pull.as_mut().unwrap().merged = true;
}

/// What must hold after the story, whatever failed on the way.
fn assert_outcome(gh: &FakeGitHub, what: &str) {
    let s = gh.state();
    let mut published: Vec<&str> = s
        .releases
        .iter()
        .filter(|r| r["draft"] == json!(false))
        .map(|r| r["tag_name"].as_str().unwrap())
        .collect();
    published.sort();
    assert_eq!(
        published,
        ["v0.1.0", "v0.2.0", "v0.2.1", "v0.2.2", "v0.2.3"],
        "{what}"
    );
    let drafts: Vec<&str> = s
        .releases
        .iter()
        .filter(|r| r["draft"] == json!(true))
        .map(|r| r["tag_name"].as_str().unwrap())
        .collect();
    assert_eq!(drafts, ["v0.3.0"], "{what}: main's one draft");
    let branches: Vec<&String> = s
        .refs
        .keys()
        .filter(|k| k.starts_with("heads/release/"))
        .collect();
    assert_eq!(branches, ["heads/release/0.2.0"], "{what}");
    let prs: Vec<_> = s
        .issues
        .values()
        .filter(|i| i.state == "open" && i.pull.as_ref().is_some_and(|p| p.base == "main"))
        .collect();
    assert_eq!(prs.len(), 1, "{what}: one reintegration PR");
    assert_eq!(
        prs[0].pull.as_ref().unwrap().head,
        "release/0.2.0",
        "{what}"
    );
    assert_eq!(prs[0].labels, ["release:reintegration"], "{what}");
    assert!(prs[0].title.contains("v0.2.3"), "{what}: {}", prs[0].title);
    let merged = s
        .issues
        .values()
        .filter(|i| i.pull.as_ref().is_some_and(|p| p.merged))
        .count();
    assert_eq!(merged, 1, "{what}: the first reintegration PR, merged");
    let unrouted: Vec<_> = s.unrouted.iter().map(|u| u.line()).collect();
    assert!(unrouted.is_empty(), "{what}: {unrouted:#?}");
}

#[tokio::test]
async fn the_release_story_survives_a_502_before_and_after_every_write() {
    let gh = fake().await;
    let writes = story(&gh).await;
    assert_outcome(&gh, "no fault");
    assert!(writes >= 8, "{writes}");
    for k in 1..=writes {
        for fault in [Fault::Before, Fault::After] {
            let gh = fake().await;
            gh.fail_write(k, fault);
            story(&gh).await;
            assert_outcome(&gh, &format!("502 {fault:?} write {k}"));
        }
    }
}

/// What a generated deploy/undeploy job records for a plan (`env record`).
async fn run_env_jobs(c: &gh_core::GitHub, plan: &release_flow::env::SyncPlan) {
    use release_flow::env::{DeployState, RecordRequest, record};
    let r: gh_core::RepoRef = plan.repo.parse().unwrap();
    let jobs = plan
        .deploy
        .iter()
        .map(|t| (t, vec![DeployState::InProgress, DeployState::Success]))
        .chain(
            plan.undeploy
                .iter()
                .map(|t| (t, vec![DeployState::Inactive])),
        );
    for (t, states) in jobs {
        for state in states {
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
                    url: None,
                    log_url: None,
                },
            )
            .await
            .unwrap();
        }
    }
}

/// Issue #22 (Cloud Posse): hotfix PRs share the `hotfix` environment by label, one at a
/// time, with the `[env]` `ghops init hotfix-pr` writes. A push to an unlabelled hotfix PR
/// deploys nothing, and closing it tears nothing down while another PR holds `hotfix`.
#[tokio::test]
async fn closing_one_hotfix_pr_leaves_the_hotfix_environment_to_the_pr_holding_it() {
    use release_flow::env::{EnvConfig, sync};
    let chosen = release_flow::init::select(&["hotfix-pr".into()]).unwrap();
    let text = release_flow::init::config_scaffold(&chosen);
    let cfg = EnvConfig::load(
        &gh_core::config::ConfigFile::parse(&text, Some("ghops.toml".into())).unwrap(),
    )
    .unwrap();
    let gh = fake().await;
    let c = client(&gh, false).await;
    let r: gh_core::RepoRef = "octo/app".parse().unwrap();
    gh.set_permission("maintainer", "write");
    for (n, head, author) in [(11, "fix/crash", "alice"), (12, "fix/leak", "bob")] {
        let sha = gh.push(head, author, head);
        gh.add_pull(n, head, &sha, author);
        let mut s = gh.state();
        s.issues.get_mut(&n).unwrap().pull.as_mut().unwrap().base = "release/0.2.0".into();
    }
    let ev = |n: u64, action: &str, label: Option<&str>, sender: &str| {
        serde_json::from_value::<gh_core::events::PullRequestEvent>(
            gh.pull_request_event(n, action, label, sender),
        )
        .unwrap()
    };
    gh.label(11, "deploy/hotfix", "maintainer");
    let plan = sync(
        &c,
        &r,
        &cfg,
        &ev(11, "labeled", Some("deploy/hotfix"), "maintainer"),
    )
    .await
    .unwrap();
    assert_eq!(
        plan.deploy
            .iter()
            .map(|t| t.environment.as_str())
            .collect::<Vec<_>>(),
        ["hotfix"]
    );
    run_env_jobs(&c, &plan).await;
    // PR 12 (no label): a push deploys nothing, closing it undeploys nothing.
    let sha = gh.push("fix/leak", "bob", "more");
    gh.set_head(12, &sha);
    for (action, open) in [("synchronize", true), ("closed", false)] {
        gh.set_open(12, open, "bob");
        let plan = sync(&c, &r, &cfg, &ev(12, action, None, "bob"))
            .await
            .unwrap();
        assert!(
            plan.deploy.is_empty() && plan.undeploy.is_empty(),
            "{action}: {plan:?}"
        );
    }
    assert_eq!(
        gh.active(),
        [("hotfix".to_owned(), Some(11), "success".to_owned())]
    );
    // Closing the holder tears it down.
    gh.set_open(11, false, "alice");
    let plan = sync(&c, &r, &cfg, &ev(11, "closed", None, "alice"))
        .await
        .unwrap();
    assert_eq!(
        plan.undeploy
            .iter()
            .map(|t| t.environment.as_str())
            .collect::<Vec<_>>(),
        ["hotfix"]
    );
    run_env_jobs(&c, &plan).await;
    assert!(gh.active().is_empty());
}
