//! release-flow drafts and hotfixes against a wiremock GitHub (exact requests, snapshots).

use gh_core::auth::{Credentials, SecretString, TokenSource};
use gh_core::client::ClientConfig;
use gh_core::retry::RetryPolicy;
use gh_core::{GitHub, RepoRef};
use ghops_test_support::{MockGitHub, insta_settings};
use release_flow::config::DrafterConfig;
use release_flow::draft::{DraftOutcome, draft};
use release_flow::hotfix::{hotfix, publish_hook};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

mod story;
mod table;

const R: &str = "/repos/octo/app";

fn repo() -> RepoRef {
    "octo/app".parse().unwrap()
}

async fn client(gh: &MockGitHub, dry_run: bool) -> GitHub {
    let mut c = ClientConfig::new(Credentials::Token {
        token: SecretString::from("ghp_release_test".to_owned()),
        source: TokenSource::Flag,
    });
    c.api_url = gh.uri();
    c.retry = RetryPolicy::fast();
    c.dry_run = dry_run;
    GitHub::connect(c).await.unwrap()
}

fn config() -> DrafterConfig {
    DrafterConfig::from_yaml(
        r#"
escape-mentions: true
draft-marker: true
name-template: 'v$RESOLVED_VERSION'
tag-template: 'v$RESOLVED_VERSION'
change-template: '- $TITLE (#$NUMBER) @$AUTHOR'
change-title-escapes: '\<*_&'
exclude-labels: [skip-changelog]
categories:
  - title: 'Features'
    labels: [feature, enhancement]
  - title: 'Bug Fixes'
    label: bug
    collapse-after: 2
version-resolver:
  major: {labels: [major, breaking]}
  minor: {labels: [minor, feature]}
  patch: {labels: [patch, bug]}
  default: minor
template: |
  ## Changes since $PREVIOUS_TAG

  $CHANGES

  Thanks to $CONTRIBUTORS
"#,
        "release-drafter.yml",
    )
    .unwrap()
    .0
}

fn rel(id: u64, tag: &str, draft: bool, body: &str) -> Value {
    json!({"id": id, "tag_name": tag, "name": tag, "body": body, "draft": draft, "prerelease": tag.contains("-rc"), "target_commitish": "main"})
}

fn pr(n: u64, title: &str, labels: &[&str], base: &str) -> Value {
    json!({
        "number": n, "title": title, "url": format!("https://github.com/octo/app/pull/{n}"), "body": "",
        "merged": true, "mergedAt": format!("2026-11-{:02}T10:00:00Z", n % 28 + 1), "baseRefName": base,
        "baseRepository": {"nameWithOwner": "octo/app"},
        "mergeCommit": {"oid": format!("{n:040x}")}, "author": {"login": format!("dev{n}")},
        "labels": {"nodes": labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>()}
    })
}

/// A PR of another repository of the fork network, associated with a commit of ours.
fn fork_pr(n: u64, title: &str, labels: &[&str]) -> Value {
    let mut p = pr(n, title, labels, "main");
    p["baseRepository"] = json!({"nameWithOwner": "someone/app"});
    p
}

fn commits(prs: &[Value]) -> Value {
    let nodes: Vec<Value> = prs
        .iter()
        .map(|p| json!({"oid": p["mergeCommit"]["oid"], "associatedPullRequests": {"nodes": [p]}}))
        .collect();
    json!({"pageInfo": {"hasNextPage": false, "endCursor": null}, "nodes": nodes})
}

struct W {
    gh: MockGitHub,
}

impl W {
    async fn new() -> Self {
        Self {
            gh: MockGitHub::start().await,
        }
    }

    async fn releases(&self, list: Value) {
        Mock::given(method("GET"))
            .and(path(format!("{R}/releases")))
            .respond_with(ResponseTemplate::new(200).set_body_json(list))
            .mount(&self.gh.server)
            .await;
    }

    async fn compare(&self, base: &str, head: &str, status: &str) {
        Mock::given(method("GET"))
            .and(path(format!("{R}/compare/{base}...{head}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": status})))
            .mount(&self.gh.server)
            .await;
    }

    async fn graphql_compare(&self, base: &str, head: &str, prs: &[Value]) {
        Mock::given(method("POST"))
            .and(path("/graphql"))
            .and(body_partial_json(json!({"variables": {"base": format!("refs/tags/{base}"), "head": format!("refs/heads/{head}")}})))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"data": {"repository": {"ref": {"compare": {"commits": commits(prs)}}}}}),
            ))
            .mount(&self.gh.server)
            .await;
    }

    async fn graphql_history(&self, head: &str, prs: &[Value]) {
        Mock::given(method("POST"))
            .and(path("/graphql"))
            .and(body_partial_json(
                json!({"variables": {"head": format!("refs/heads/{head}")}}),
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"data": {"repository": {"ref": {"target": {"history": commits(prs)}}}}}),
            ))
            .mount(&self.gh.server)
            .await;
    }

    /// `GET pulls?state=closed&base=…` answers `pulls`, each completed with the fields GitHub
    /// always sends that the test leaves out (`state`, `head`, `base`).
    async fn recent(&self, base: &str, mut pulls: Value) {
        for p in pulls.as_array_mut().unwrap() {
            let n = p["number"].as_u64().unwrap();
            let o = p.as_object_mut().unwrap();
            o.entry("state").or_insert(json!("closed"));
            o.entry("head")
                .or_insert(json!({"ref": format!("topic-{n}"), "sha": format!("{n:039x}f")}));
            o.entry("base")
                .or_insert(json!({"ref": base, "sha": "b".repeat(40)}));
        }
        Mock::given(method("GET"))
            .and(path(format!("{R}/pulls")))
            .and(query_param("base", base))
            .and(query_param("state", "closed"))
            .respond_with(ResponseTemplate::new(200).set_body_json(pulls))
            .mount(&self.gh.server)
            .await;
    }

    async fn writes_ok(&self) {
        Mock::given(method("POST"))
            .and(path(format!("{R}/releases")))
            .respond_with(ResponseTemplate::new(201).set_body_json(rel(900, "v0.0.0", true, "")))
            .mount(&self.gh.server)
            .await;
        for m in ["PATCH", "DELETE"] {
            Mock::given(method(m))
                .and(wiremock::matchers::path_regex(format!(
                    "^{R}/releases/[0-9]+$"
                )))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 1})))
                .mount(&self.gh.server)
                .await;
        }
    }

    async fn body_of(&self, m: &str) -> Value {
        let w = self.gh.writes().await;
        w.into_iter()
            .find(|s| s.method == m && s.path.contains("/releases"))
            .unwrap_or_else(|| panic!("no {m}"))
            .body
    }
}

#[tokio::test]
async fn first_release_ever_is_0_1_0_with_default_minor() {
    let w = W::new().await;
    w.releases(json!([])).await;
    w.graphql_history(
        "main",
        &[
            pr(1, "Initial import", &[], "main"),
            pr(2, "Add CI", &[], "main"),
        ],
    )
    .await;
    w.recent("main", json!([])).await;
    w.writes_ok().await;
    let c = client(&w.gh, false).await;
    let (plan, out) = draft(&c, &repo(), &config(), "main").await.unwrap();
    assert_eq!(plan.version, "0.1.0");
    assert_eq!(plan.tag, "v0.1.0");
    assert!(matches!(out, DraftOutcome::Created(_)));
    w.gh.assert_lines(&[
        &format!("GET {R}/releases?per_page=100"),
        "POST /graphql",
        &format!("GET {R}/pulls?state=closed&base=main&sort=updated&direction=desc&per_page=50"),
        &format!("POST {R}/releases"),
        &format!("GET {R}/releases?per_page=100"),
    ])
    .await;
    let b = w.body_of("POST").await;
    assert_eq!(b["tag_name"], "v0.1.0");
    assert_eq!(b["draft"], true);
    assert_eq!(b["target_commitish"], "main");
    let _g = insta_settings(None).bind_to_scope();
    insta::assert_snapshot!("first_release_body", b["body"].as_str().unwrap());
}

#[tokio::test]
async fn highest_label_wins_excluded_prs_do_not_bump_and_categories_render() {
    let w = W::new().await;
    w.releases(json!([
        rel(5, "v1.3.0", false, ""),
        rel(6, "v1.4.0", false, "")
    ]))
    .await;
    w.compare("v1.4.0", "main", "ahead").await;
    w.graphql_compare(
        "v1.4.0",
        "main",
        &[
            pr(10, "Fix crash on empty input", &["bug"], "main"),
            pr(11, "Add dark mode", &["feature"], "main"),
            pr(
                12,
                "Drop Python 2 (breaking)",
                &["breaking", "skip-changelog"],
                "main",
            ),
            pr(
                13,
                "Ping @everyone about #4 <script>alert(1)</script> *now*",
                &[],
                "main",
            ),
            pr(14, "Fix typo", &["bug"], "main"),
            pr(15, "Fix leak", &["bug"], "main"),
            pr(16, "Into another branch", &["major"], "release/1.3.0"),
        ],
    )
    .await;
    // A PR merged moments ago: its commit is in the range, but not yet associated with it.
    let lagging = format!("{:040x}", 17);
    let mut c = commits(&[
        pr(10, "Fix crash on empty input", &["bug"], "main"),
        pr(11, "Add dark mode", &["feature"], "main"),
        pr(
            12,
            "Drop Python 2 (breaking)",
            &["breaking", "skip-changelog"],
            "main",
        ),
        pr(
            13,
            "Ping @everyone about #4 <script>alert(1)</script> *now*",
            &[],
            "main",
        ),
        pr(14, "Fix typo", &["bug"], "main"),
        pr(15, "Fix leak", &["bug"], "main"),
        fork_pr(16, "From a fork's own repository", &["major"]),
    ]);
    c["nodes"]
        .as_array_mut()
        .unwrap()
        .push(json!({"oid": lagging, "associatedPullRequests": {"nodes": []}}));
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"data": {"repository": {"ref": {"compare": {"commits": c}}}}}),
            ),
        )
        .with_priority(1)
        .mount(&w.gh.server)
        .await;
    w.recent(
        "main",
        json!([
            {"number": 17, "title": "Lagging PR", "merged_at": "2026-11-20T00:00:00Z", "merge_commit_sha": lagging, "labels": [], "user": {"login": "dev17"}, "html_url": "u"},
            {"number": 18, "title": "Closed unmerged", "merged_at": null, "merge_commit_sha": null, "labels": [], "user": {"login": "dev18"}}
        ]),
    )
    .await;
    w.writes_ok().await;
    let c = client(&w.gh, false).await;
    let (plan, _) = draft(&c, &repo(), &config(), "main").await.unwrap();
    // `breaking` is on an excluded PR, `major` on a PR of another repository of the fork
    // network (same number space, never counted): minor wins.
    assert_eq!(plan.version, "1.5.0");
    assert_eq!(plan.previous_tag.as_deref(), Some("v1.4.0"));
    let numbers: Vec<u64> = plan.prs.iter().map(|p| p.number).collect();
    assert!(!numbers.contains(&12) && !numbers.contains(&16) && !numbers.contains(&18));
    assert!(
        numbers.contains(&17),
        "the lagging PR is found: {numbers:?}"
    );
    let _g = insta_settings(None).bind_to_scope();
    insta::assert_snapshot!("categorised_body", plan.body);
    assert!(!plan.body.contains("@everyone"));
    assert!(!plan.body.contains("<script>"));
}

#[tokio::test]
async fn two_concurrent_drafts_collapse_to_one() {
    let w = W::new().await;
    let marker = "<!-- ghops:release-draft target=main -->";
    w.releases(json!([
        rel(21, "v1.5.0", true, &format!("old\n\n{marker}")),
        rel(20, "v1.5.0", true, &format!("older\n\n{marker}")),
        rel(19, "v9.9.9", true, "someone else's draft, no marker"),
        rel(6, "v1.4.0", false, ""),
    ]))
    .await;
    w.compare("v1.4.0", "main", "ahead").await;
    w.graphql_compare(
        "v1.4.0",
        "main",
        &[pr(11, "Add dark mode", &["feature"], "main")],
    )
    .await;
    w.recent("main", json!([])).await;
    w.writes_ok().await;
    let c = client(&w.gh, false).await;
    let (_, out) = draft(&c, &repo(), &config(), "main").await.unwrap();
    assert_eq!(out, DraftOutcome::Updated(21));
    w.gh.assert_writes(&[
        &format!("DELETE {R}/releases/20"),
        &format!("PATCH {R}/releases/21"),
    ])
    .await;
}

#[tokio::test]
async fn an_unchanged_draft_is_not_rewritten_and_dry_run_sends_nothing() {
    let w = W::new().await;
    w.releases(json!([rel(6, "v1.4.0", false, "")])).await;
    w.compare("v1.4.0", "main", "ahead").await;
    w.graphql_compare(
        "v1.4.0",
        "main",
        &[pr(11, "Add dark mode", &["feature"], "main")],
    )
    .await;
    w.recent("main", json!([])).await;
    w.writes_ok().await;
    let c = client(&w.gh, true).await;
    let (plan, out) = draft(&c, &repo(), &config(), "main").await.unwrap();
    assert_eq!(out, DraftOutcome::DryRun);
    w.gh.assert_no_writes().await;

    let w2 = W::new().await;
    w2.releases(json!([
        rel(30, &plan.tag, true, &plan.body),
        rel(6, "v1.4.0", false, "")
    ]))
    .await;
    w2.compare("v1.4.0", "main", "ahead").await;
    w2.graphql_compare(
        "v1.4.0",
        "main",
        &[pr(11, "Add dark mode", &["feature"], "main")],
    )
    .await;
    w2.recent("main", json!([])).await;
    let c = client(&w2.gh, false).await;
    let (_, out) = draft(&c, &repo(), &config(), "main").await.unwrap();
    assert_eq!(out, DraftOutcome::Unchanged(30));
    w2.gh.assert_no_writes().await;
}

#[tokio::test]
async fn hotfix_tags_never_become_mains_baseline() {
    // v1.4.1 was published from release/1.4.0: not reachable from main.
    let w = W::new().await;
    w.releases(json!([
        rel(7, "v1.4.1", false, ""),
        rel(6, "v1.4.0", false, "")
    ]))
    .await;
    w.compare("v1.4.1", "main", "diverged").await;
    w.compare("v1.4.0", "main", "ahead").await;
    w.graphql_compare(
        "v1.4.0",
        "main",
        &[
            pr(11, "Add dark mode", &["feature"], "main"),
            pr(10, "Early fix", &["bug"], "main"),
        ],
    )
    .await;
    w.recent("main", json!([])).await;
    w.writes_ok().await;
    let c = client(&w.gh, false).await;
    let (plan, _) = draft(&c, &repo(), &config(), "main").await.unwrap();
    assert_eq!(plan.version, "1.5.0");
    assert_eq!(plan.previous_tag.as_deref(), Some("v1.4.0"));
    assert_eq!(plan.prs.len(), 2, "every PR since 1.4.0 is kept");
}

/// A prerelease draft counts published prereleases as the last release and moves only their
/// counter (release-drafter v7: `1.2.3-rc.2` → `1.2.3-rc.3`, the first one being `-rc.0`).
#[tokio::test]
async fn a_prerelease_draft_continues_the_last_prereleases_counter() {
    let mut cfg = config();
    cfg.prerelease = true;
    cfg.prerelease_identifier = "rc".into();
    let w = W::new().await;
    w.releases(json!([
        rel(3, "v10.0.3", false, ""),
        rel(4, "v10.0.4-rc.1", false, ""),
        rel(5, "v10.0.4-rc.2", false, "")
    ]))
    .await;
    w.compare("v10.0.4-rc.2", "main", "ahead").await;
    w.graphql_compare("v10.0.4-rc.2", "main", &[pr(3, "Tweak", &[], "main")])
        .await;
    w.recent("main", json!([])).await;
    w.writes_ok().await;
    let c = client(&w.gh, false).await;
    let (plan, _) = draft(&c, &repo(), &cfg, "main").await.unwrap();
    assert_eq!(plan.version, "10.0.4-rc.3");
    assert_eq!(plan.tag, "v10.0.4-rc.3");
    assert!(plan.prerelease);
}

#[tokio::test]
async fn tag_prefix_is_honoured() {
    let mut cfg = config();
    cfg.tag_prefix = "app-v".into();
    cfg.tag_template = "app-v$RESOLVED_VERSION".into();
    let w = W::new().await;
    w.releases(json!([
        rel(6, "app-v2.0.0", false, ""),
        rel(7, "other-v9.0.0", false, "")
    ]))
    .await;
    w.compare("app-v2.0.0", "main", "ahead").await;
    w.graphql_compare("app-v2.0.0", "main", &[pr(3, "Fix", &["bug"], "main")])
        .await;
    w.recent("main", json!([])).await;
    w.writes_ok().await;
    let c = client(&w.gh, false).await;
    let (plan, _) = draft(&c, &repo(), &cfg, "main").await.unwrap();
    assert_eq!(plan.tag, "app-v2.0.1");
}

/// `$CONTRIBUTORS` names the counted PRs' authors and the authors of their commits, like
/// release-drafter v7: commits pushed directly (no PR of the release) add nobody.
#[tokio::test]
async fn contributors_are_the_authors_of_the_releases_prs() {
    let mut cfg = config();
    cfg.exclude_contributors = vec!["renovate[bot]".into(), "Build Robot".into()];
    let w = W::new().await;
    w.releases(json!([rel(6, "v1.4.0", false, "")])).await;
    w.compare("v1.4.0", "main", "ahead").await;
    let p3 = pr(3, "Fix", &["bug"], "main");
    let commit = |oid: String, login: Option<&str>, name: &str, prs: Vec<Value>| {
        json!({"oid": oid, "author": {"name": name, "user": login.map(|l| json!({"login": l}))},
               "associatedPullRequests": {"nodes": prs}})
    };
    let nodes = json!([
        commit(
            format!("{:040x}", 0xa1),
            Some("maintainer"),
            "Mae Maintainer",
            vec![]
        ),
        commit(format!("{:040x}", 0xa2), None, "Ann Example", vec![]),
        commit(
            format!("{:040x}", 0xa3),
            Some("renovate[bot]"),
            "renovate[bot]",
            vec![]
        ),
        commit(format!("{:040x}", 0xa4), None, "Build Robot", vec![]),
        commit(format!("{:040x}", 3), Some("dev3"), "Dev Three", vec![p3]),
        commit(
            format!("{:040x}", 0xa5),
            Some("maintainer"),
            "Mae Maintainer",
            vec![]
        ),
    ]);
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"repository": {"ref": {
            "compare": {"commits": {"pageInfo": {"hasNextPage": false, "endCursor": null}, "nodes": nodes}}
        }}}})))
        .mount(&w.gh.server)
        .await;
    w.recent("main", json!([])).await;
    w.writes_ok().await;
    let c = client(&w.gh, false).await;
    let (plan, _) = draft(&c, &repo(), &cfg, "main").await.unwrap();
    assert!(plan.body.contains("Thanks to @dev3\n"), "{}", plan.body);
    // The query asks for each commit's author.
    let q =
        w.gh.seen()
            .await
            .into_iter()
            .find(|s| s.path == "/graphql")
            .unwrap();
    assert!(
        q.body["query"].as_str().unwrap().contains(
            "nodes { oid author { name user { login } } authors(first: 10) { nodes { name user { login } } } associatedPullRequests(first: 5)"
        ),
        "{}",
        q.body["query"]
    );
}

#[tokio::test]
async fn graphql_502_halves_the_page_size() {
    let w = W::new().await;
    w.releases(json!([rel(6, "v1.4.0", false, "")])).await;
    w.compare("v1.4.0", "main", "ahead").await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_partial_json(json!({"variables": {"first": 100}})))
        .respond_with(ResponseTemplate::new(502))
        .with_priority(1)
        .mount(&w.gh.server)
        .await;
    w.graphql_compare(
        "v1.4.0",
        "main",
        &[pr(11, "Add dark mode", &["feature"], "main")],
    )
    .await;
    w.recent("main", json!([])).await;
    w.writes_ok().await;
    let c = client(&w.gh, false).await;
    let (plan, _) = draft(&c, &repo(), &config(), "main").await.unwrap();
    assert_eq!(plan.prs.len(), 1);
    let firsts: Vec<u64> =
        w.gh.seen()
            .await
            .iter()
            .filter(|s| s.path == "/graphql")
            .map(|s| s.body["variables"]["first"].as_u64().unwrap())
            .collect();
    assert_eq!(*firsts.last().unwrap(), 50, "{firsts:?}");
    assert!(firsts.contains(&100));
}

#[tokio::test]
async fn more_than_1000_releases_are_all_read() {
    let w = W::new().await;
    let base = w.gh.uri();
    for page in 1..=11u64 {
        let list: Vec<Value> = (0..100)
            .map(|i| {
                let n = (page - 1) * 100 + i;
                rel(10_000 - n, &format!("v0.{}.0", 1100 - n), false, "")
            })
            .collect();
        let mut t = ResponseTemplate::new(200).set_body_json(list);
        if page < 11 {
            t = t.insert_header(
                "link",
                format!(
                    "<{base}{R}/releases?per_page=100&page={}>; rel=\"next\"",
                    page + 1
                )
                .as_str(),
            );
        }
        let m = Mock::given(method("GET")).and(path(format!("{R}/releases")));
        let m = if page == 1 {
            m.and(wiremock::matchers::query_param_is_missing("page"))
        } else {
            m.and(query_param("page", page.to_string()))
        };
        m.respond_with(t).mount(&w.gh.server).await;
    }
    let c = client(&w.gh, false).await;
    let all = release_flow::github::list_releases(&c, &repo())
        .await
        .unwrap();
    assert_eq!(all.len(), 1100);
}

#[tokio::test]
async fn hotfix_publishes_1_4_1_then_1_4_2_and_keeps_one_reintegration_pr() {
    let _g = insta_settings(None).bind_to_scope();
    for (published, expect, open_pr) in [
        (json!([rel(6, "v1.4.0", false, "")]), "v1.4.1", None),
        (
            json!([rel(7, "v1.4.1", false, ""), rel(6, "v1.4.0", false, "")]),
            "v1.4.2",
            Some(77),
        ),
    ] {
        let prev = if expect == "v1.4.1" {
            "v1.4.0"
        } else {
            "v1.4.1"
        };
        let w = W::new().await;
        w.releases(published).await;
        w.compare(prev, "release/1.4.0", "ahead").await;
        Mock::given(method("GET"))
            .and(path(format!("{R}/git/ref/heads/release/1.4.0")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"object": {"sha": "abc123", "type": "commit"}})),
            )
            .mount(&w.gh.server)
            .await;
        w.graphql_compare(
            prev,
            "release/1.4.0",
            &[pr(40, "Hotfix the crash", &["bug"], "release/1.4.0")],
        )
        .await;
        w.recent("release/1.4.0", json!([])).await;
        w.writes_ok().await;
        Mock::given(method("GET"))
            .and(path(format!("{R}/pulls")))
            .and(query_param("state", "open"))
            .respond_with(ResponseTemplate::new(200).set_body_json(match open_pr {
                Some(n) => json!([open_pull(
                    n,
                    "release/1.4.0",
                    &["release:reintegration"],
                    "Reintegrate release/1.4.0 (v1.4.0) into main",
                    ""
                )]),
                None => json!([]),
            }))
            .mount(&w.gh.server)
            .await;
        for (m, p) in [
            ("POST", format!("{R}/pulls")),
            ("PATCH", format!("{R}/pulls/77")),
            ("POST", format!("{R}/issues/78/labels")),
        ] {
            Mock::given(method(m))
                .and(path(p))
                .respond_with(ResponseTemplate::new(201).set_body_json(created_pull(78)))
                .mount(&w.gh.server)
                .await;
        }
        let c = client(&w.gh, false).await;
        let r = hotfix(
            &c,
            &repo(),
            &config(),
            "release/1.4.0",
            "main",
            "release:reintegration",
        )
        .await
        .unwrap();
        assert_eq!(r.tag.as_deref(), Some(expect));
        let writes: Vec<String> = w.gh.writes().await.iter().map(|s| s.line()).collect();
        match open_pr {
            None => assert_eq!(
                writes,
                [
                    format!("POST {R}/releases"),
                    format!("POST {R}/pulls"),
                    format!("POST {R}/issues/78/labels"),
                ]
            ),
            Some(_) => assert_eq!(
                writes,
                [format!("POST {R}/releases"), format!("PATCH {R}/pulls/77")]
            ),
        }
        let release = w.body_of("POST").await;
        assert_eq!(release["target_commitish"], "abc123");
        assert_eq!(release["draft"], false);
        if open_pr.is_none() {
            insta::assert_snapshot!("hotfix_release_body", release["body"].as_str().unwrap());
        }
    }
}

#[tokio::test]
async fn publish_hook_peels_annotated_tags_and_is_idempotent() {
    let w = W::new().await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/git/ref/tags/v1.4.0")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"object": {"sha": "tagobj", "type": "tag"}})),
        )
        .mount(&w.gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/git/tags/tagobj")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"object": {"sha": "commit140", "type": "commit"}})),
        )
        .mount(&w.gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/git/ref/heads/release/1.4.0")))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .mount(&w.gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{R}/git/refs")))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"ref": "refs/heads/release/1.4.0"})),
        )
        .mount(&w.gh.server)
        .await;
    let c = client(&w.gh, false).await;
    let r = publish_hook(&c, &repo(), &config(), "v1.4.0")
        .await
        .unwrap();
    assert_eq!(r.action, "created");
    let writes = w.gh.writes().await;
    assert_eq!(writes.len(), 1);
    assert_eq!(
        writes[0].body,
        json!({"ref": "refs/heads/release/1.4.0", "sha": "commit140"})
    );
}

fn push_event(file: &str) -> gh_core::events::PushEvent {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(file);
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

#[tokio::test]
async fn graphql_failing_at_every_page_size_falls_back_to_the_rest_compare() {
    let w = W::new().await;
    let base = w.gh.uri();
    w.releases(json!([rel(6, "v1.4.0", false, "")])).await;
    w.compare("v1.4.0", "main", "ahead").await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&w.gh.server)
        .await;
    // The REST compare, two pages.
    Mock::given(method("GET"))
        .and(path(format!("{R}/compare/v1.4.0...main")))
        .and(query_param("per_page", "100"))
        .and(wiremock::matchers::query_param_is_missing("page"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"status": "ahead", "commits": [{
                    "sha": format!("{:040x}", 11), "author": {"login": "dev11"},
                    "commit": {"author": {"name": "Dev Eleven", "email": "dev11@example.com"}}
                }]}))
                .insert_header(
                    "link",
                    format!("<{base}{R}/compare/v1.4.0...main?per_page=100&page=2>; rel=\"next\"")
                        .as_str(),
                ),
        )
        .with_priority(1)
        .mount(&w.gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/compare/v1.4.0...main")))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"status": "ahead", "commits": [
                {"sha": format!("{:040x}", 12), "author": {"login": "dev12"},
                 "commit": {"author": {"name": "Dev Twelve", "email": "dev12@example.com"}}},
                // Pushed directly, by an author whose email GitHub links to no account.
                {"sha": format!("{:040x}", 0x99), "author": null,
                 "commit": {"author": {"name": "Ann Example", "email": "ann@example.org"}}},
            ]}),
        ))
        .with_priority(1)
        .mount(&w.gh.server)
        .await;
    let rest = |n: u64, merged: bool, labels: &[&str]| {
        json!({"number": n, "title": format!("PR {n}"), "user": {"login": format!("dev{n}")},
               "merged_at": merged.then(|| format!("2026-11-{:02}T10:00:00Z", n)),
               "merge_commit_sha": format!("{n:040x}"),
               "labels": labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>()})
    };
    // 13 was merged before the baseline (not in range), 14 was closed unmerged.
    w.recent(
        "main",
        json!([
            rest(12, true, &["feature"]),
            rest(11, true, &["bug"]),
            rest(13, true, &["major"]),
            rest(14, false, &["major"])
        ]),
    )
    .await;
    w.writes_ok().await;
    let c = client(&w.gh, false).await;
    let (plan, _) = draft(&c, &repo(), &config(), "main").await.unwrap();
    let numbers: Vec<u64> = plan.prs.iter().map(|p| p.number).collect();
    assert_eq!(numbers, [12, 11]);
    assert_eq!(plan.tag, "v1.5.0");
    assert!(
        plan.body.contains("Thanks to @dev11 and @dev12\n"),
        "{}",
        plan.body
    );
    let seen = w.gh.seen().await;
    let mut firsts: Vec<u64> = seen
        .iter()
        .filter(|s| s.path == "/graphql")
        .map(|s| s.body["variables"]["first"].as_u64().unwrap())
        .collect();
    firsts.dedup();
    assert_eq!(firsts, [100, 50, 25, 12, 6, 5]);
    let pulls: Vec<&str> = seen
        .iter()
        .filter(|s| s.path.starts_with(&format!("{R}/pulls?")))
        .map(|s| s.path.as_str())
        .collect();
    assert_eq!(pulls.len(), 1, "{pulls:?}");
    assert!(pulls[0].contains("per_page=100"), "{pulls:?}");
    assert_eq!(
        w.gh.writes()
            .await
            .iter()
            .map(|s| s.line())
            .collect::<Vec<_>>(),
        [format!("POST {R}/releases")]
    );
}

#[tokio::test]
async fn push_to_main_refreshes_the_draft_and_a_tag_push_is_ignored() {
    use release_flow::push::{PushOutcome, on_push};
    let w = W::new().await;
    w.releases(json!([rel(6, "v1.4.0", false, "")])).await;
    w.compare("v1.4.0", "main", "ahead").await;
    // #5 shares a commit with the range but was merged before the baseline: left out (it
    // would otherwise bump major).
    let mut c = commits(&[pr(11, "Add dark mode", &["feature"], "main")]);
    c["nodes"].as_array_mut().unwrap().push(json!({
        "oid": "c0ffee", "associatedPullRequests": {"nodes": [pr(5, "Old", &["major"], "main")]}
    }));
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"data": {"repository": {"ref": {"compare": {"commits": c}}}}}),
            ),
        )
        .mount(&w.gh.server)
        .await;
    w.recent("main", json!([])).await;
    w.writes_ok().await;
    let c = client(&w.gh, false).await;

    let ignored = on_push(
        &c,
        &config(),
        &push_event("testdata/webhooks/push.tag-deleted.json"),
    )
    .await
    .unwrap();
    assert!(
        matches!(ignored, PushOutcome::Ignored { .. }),
        "{ignored:?}"
    );
    assert!(w.gh.seen().await.is_empty());

    let out = on_push(
        &c,
        &config(),
        &push_event("testdata/release/push.main.json"),
    )
    .await
    .unwrap();
    let PushOutcome::Draft(d) = out else {
        panic!("{out:?}")
    };
    assert_eq!((d.target.as_str(), d.tag.as_str()), ("main", "v1.5.0"));
    assert_eq!(d.prs, [11]);
    assert_eq!(d.result, DraftOutcome::Created(900));
    assert_eq!(
        w.gh.writes()
            .await
            .iter()
            .map(|s| s.line())
            .collect::<Vec<_>>(),
        [format!("POST {R}/releases")]
    );
}

#[tokio::test]
async fn push_to_a_release_branch_publishes_the_hotfix_and_keeps_mains_draft_at_1_5_0() {
    use release_flow::push::{PushOutcome, on_push};
    let w = W::new().await;
    w.releases(json!([rel(6, "v1.4.0", false, "")])).await;
    w.compare("v1.4.0", "release/1.4.0", "ahead").await;
    w.compare("v1.4.0", "main", "ahead").await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/git/ref/heads/release/1.4.0")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"object": {"sha": "abc123", "type": "commit"}})),
        )
        .mount(&w.gh.server)
        .await;
    w.graphql_compare(
        "v1.4.0",
        "release/1.4.0",
        &[pr(40, "Hotfix the crash", &["bug"], "release/1.4.0")],
    )
    .await;
    w.graphql_compare(
        "v1.4.0",
        "main",
        &[
            pr(11, "Add dark mode", &["feature"], "main"),
            pr(12, "Fix typo", &["bug"], "main"),
        ],
    )
    .await;
    w.recent("release/1.4.0", json!([])).await;
    w.recent("main", json!([])).await;
    w.writes_ok().await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/pulls")))
        .and(query_param("state", "open"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&w.gh.server)
        .await;
    for p in [format!("{R}/pulls"), format!("{R}/issues/78/labels")] {
        Mock::given(method("POST"))
            .and(path(p))
            .respond_with(ResponseTemplate::new(201).set_body_json(created_pull(78)))
            .mount(&w.gh.server)
            .await;
    }
    let c = client(&w.gh, false).await;
    let out = on_push(
        &c,
        &config(),
        &push_event("testdata/release/push.release-1.4.0.json"),
    )
    .await
    .unwrap();
    let PushOutcome::Hotfix {
        hotfix,
        main_draft,
        note,
    } = out
    else {
        panic!("{out:?}")
    };
    assert_eq!(hotfix.tag.as_deref(), Some("v1.4.1"));
    assert_eq!(hotfix.reintegration_pr, Some(78));
    assert_eq!(note, None);
    let d = main_draft.unwrap();
    assert_eq!(d.tag, "v1.5.0");
    assert_eq!(d.prs, [12, 11]);
    let writes = w.gh.writes().await;
    assert_eq!(
        writes.iter().map(|s| s.line()).collect::<Vec<_>>(),
        [
            format!("POST {R}/releases"),
            format!("POST {R}/pulls"),
            format!("POST {R}/issues/78/labels"),
            format!("POST {R}/releases"),
        ]
    );
    assert_eq!(
        writes[1].body,
        json!({"title": "Reintegrate release/1.4.0 (v1.4.1) into main", "head": "release/1.4.0",
               "base": "main", "body": writes[1].body["body"]})
    );
    assert_eq!(writes[2].body, json!({"labels": ["release:reintegration"]}));
    assert_eq!(writes[3].body["tag_name"], "v1.5.0");
    assert_eq!(writes[3].body["draft"], true);
    assert!(
        !writes[3].body["body"]
            .as_str()
            .unwrap()
            .contains("#<!---->40")
    );
}

mod rules {
    use proptest::prelude::*;
    use release_flow::config::DrafterConfig;
    use release_flow::template::fill_with;
    use release_flow::version::{Increment, next_hotfix, release_version, version_info};
    use semver::{Prerelease, Version};

    fn versions() -> impl Strategy<Value = Vec<Version>> {
        prop::collection::vec((0u64..3, 0u64..4, 0u64..6), 0..20).prop_map(|v| {
            v.into_iter()
                .map(|(a, b, c)| Version::new(a, b, c))
                .collect()
        })
    }

    fn increment() -> impl Strategy<Value = Increment> {
        prop_oneof![
            Just(Increment::Major),
            Just(Increment::Minor),
            Just(Increment::Patch),
            Just(Increment::Premajor),
            Just(Increment::Preminor),
            Just(Increment::Prepatch),
            Just(Increment::Prerelease),
        ]
    }

    proptest! {
        /// Whatever the config and the last release, the tag ghops drafts reads back as the
        /// version it resolved, so once published it is a valid baseline, and the next run
        /// drafts a higher version from it.
        #[test]
        fn a_published_drafts_tag_is_the_next_runs_baseline(
            last in proptest::option::of((0u64..5, 0u64..5, 0u64..5, proptest::option::of((0usize..3, 0u64..4)))),
            inc in increment(),
            id in prop_oneof![Just(""), Just("rc"), Just("beta"), Just("alpha")],
            tags in (0usize..4),
            version_template in prop_oneof![Just("$MAJOR.$MINOR.$PATCH$PRERELEASE"), Just("$COMPLETE")],
            next_inc in increment(),
        ) {
            let (tag_template, prefix) = [
                ("v$RESOLVED_VERSION", ""),
                ("$RESOLVED_VERSION", ""),
                ("app-v$RESOLVED_VERSION", "app-v"),
                ("release-$RESOLVED_VERSION", "release-"),
            ][tags];
            let cfg = DrafterConfig {
                tag_template: tag_template.into(),
                tag_prefix: prefix.into(),
                version_template: version_template.into(),
                prerelease_identifier: id.into(),
                ..DrafterConfig::default()
            };
            let last = last.map(|(a, b, c, pre)| {
                let mut v = Version::new(a, b, c);
                if let Some((i, n)) = pre {
                    v.pre = Prerelease::new(&format!("{}.{n}", ["rc", "beta", "alpha"][i])).unwrap();
                }
                v
            });
            let info = version_info(&cfg, last.as_ref(), None, inc);
            let tag = fill_with(&cfg.tag_template, |k| info.get(k));
            let read = release_version(&tag, None, prefix);
            prop_assert_eq!(read.as_ref(), Some(&info.resolved), "tag {}", tag);
            // (node-semver goes down when the identifier changes, `1.0.0-rc.0` → `1.0.0-beta.0`:
            // release-drafter does the same, so only a same-identifier history must go up.)
            if let Some(l) = last.as_ref().filter(|l| l.pre.is_empty() || l.pre.as_str().starts_with(id) && !id.is_empty()) {
                prop_assert!(info.resolved > *l, "{} after {}", info.resolved, l);
            }
            let next = version_info(&cfg, read.as_ref(), None, next_inc);
            prop_assert!(next.resolved > info.resolved, "{} after {}", next.resolved, info.resolved);
        }

        #[test]
        fn hotfixes_stay_on_their_line_and_never_clash(
            mut published in versions(),
            line in (0u64..3, 0u64..4),
            runs in 1usize..5,
        ) {
            for _ in 0..runs {
                let v = next_hotfix(line, &published);
                prop_assert_eq!((v.major, v.minor), line);
                prop_assert!(v.patch >= 1);
                prop_assert!(!published.contains(&v));
                published.push(v);
            }
        }
    }
}

#[tokio::test]
async fn a_hotfix_raced_by_a_concurrent_run_is_refused_and_opens_no_pr() {
    let w = W::new().await;
    w.releases(json!([rel(6, "v1.4.0", false, "")])).await;
    w.compare("v1.4.0", "release/1.4.0", "ahead").await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/git/ref/heads/release/1.4.0")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"object": {"sha": "abc123", "type": "commit"}})),
        )
        .mount(&w.gh.server)
        .await;
    w.graphql_compare(
        "v1.4.0",
        "release/1.4.0",
        &[pr(40, "Hotfix the crash", &["bug"], "release/1.4.0")],
    )
    .await;
    w.recent("release/1.4.0", json!([])).await;
    Mock::given(method("POST"))
        .and(path(format!("{R}/releases")))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "message": "Validation Failed",
            "errors": [{"resource": "Release", "code": "already_exists", "field": "tag_name"}]
        })))
        .mount(&w.gh.server)
        .await;
    let c = client(&w.gh, false).await;
    let e = hotfix(
        &c,
        &repo(),
        &config(),
        "release/1.4.0",
        "main",
        "release:reintegration",
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&e, release_flow::ReleaseError::Refused(m) if m.contains("v1.4.1")),
        "{e}"
    );
    w.gh.assert_writes(&[&format!("POST {R}/releases")]).await;
}

#[tokio::test]
async fn filter_by_commitish_only_considers_releases_of_the_target() {
    let w = W::new().await;
    let mut other = rel(7, "v2.0.0", false, "");
    other["target_commitish"] = json!("next");
    let mut main = rel(6, "v1.4.0", false, "");
    main["target_commitish"] = json!("refs/heads/main");
    w.releases(json!([other, main])).await;
    w.compare("v1.4.0", "main", "ahead").await;
    w.graphql_compare(
        "v1.4.0",
        "main",
        &[pr(11, "Add dark mode", &["feature"], "main")],
    )
    .await;
    w.recent("main", json!([])).await;
    let mut cfg = config();
    cfg.filter_by_commitish = true;
    let c = client(&w.gh, true).await;
    let (plan, outcome) = draft(&c, &repo(), &cfg, "main").await.unwrap();
    assert_eq!(outcome, DraftOutcome::DryRun);
    assert_eq!(plan.previous_tag.as_deref(), Some("v1.4.0"));
    assert_eq!(plan.tag, "v1.5.0");
    // v2.0.0 (another branch's) was never even checked for reachability.
    assert!(
        !w.gh
            .seen()
            .await
            .iter()
            .any(|s| s.path.contains("/compare/v2.0.0"))
    );
    w.gh.assert_no_writes().await;
}

#[tokio::test]
async fn a_published_release_event_creates_its_branch_and_a_prerelease_is_ignored() {
    use release_flow::push::on_release;
    let w = W::new().await;
    let hw = "/repos/Codertocat/Hello-World";
    Mock::given(method("GET"))
        .and(path(format!("{hw}/git/ref/tags/0.0.1")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"object": {"sha": "c001", "type": "commit"}})),
        )
        .mount(&w.gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{hw}/git/matching-refs/heads/release/0.0.")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&w.gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{hw}/git/ref/heads/release/0.0.1")))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .mount(&w.gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{hw}/git/refs")))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({})))
        .mount(&w.gh.server)
        .await;
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/webhooks/release.published.json"),
    )
    .unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    let c = client(&w.gh, false).await;

    v["release"]["prerelease"] = json!(true);
    let pre: gh_core::events::ReleaseEvent = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(on_release(&c, &config(), &pre).await.unwrap(), None);
    assert!(w.gh.seen().await.is_empty());

    v["release"]["prerelease"] = json!(false);
    let ev: gh_core::events::ReleaseEvent = serde_json::from_value(v).unwrap();
    let r = on_release(&c, &config(), &ev).await.unwrap().unwrap();
    assert_eq!(
        (r.branch.as_str(), r.action.as_str()),
        ("release/0.0.1", "created")
    );
    let writes = w.gh.writes().await;
    assert_eq!(writes.len(), 1);
    assert_eq!(
        (writes[0].line(), &writes[0].body),
        (
            format!("POST {hw}/git/refs"),
            &json!({"ref": "refs/heads/release/0.0.1", "sha": "c001"})
        )
    );
}

async fn release_branch_head(w: &W) {
    Mock::given(method("GET"))
        .and(path(format!("{R}/git/ref/heads/release/1.4.0")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"object": {"sha": "abc123", "type": "commit"}})),
        )
        .mount(&w.gh.server)
        .await;
}

#[tokio::test]
async fn a_replay_after_a_failed_pr_opens_the_missing_reintegration_pr_and_publishes_nothing() {
    let w = W::new().await;
    w.releases(json!([
        rel(7, "v1.4.1", false, ""),
        rel(6, "v1.4.0", false, "")
    ]))
    .await;
    w.compare("v1.4.1", "release/1.4.0", "identical").await;
    w.compare("main", "release/1.4.0", "ahead").await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/pulls")))
        .and(query_param("state", "open"))
        .and(query_param("base", "main"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&w.gh.server)
        .await;
    for p in [format!("{R}/pulls"), format!("{R}/issues/78/labels")] {
        Mock::given(method("POST"))
            .and(path(p))
            .respond_with(ResponseTemplate::new(201).set_body_json(created_pull(78)))
            .mount(&w.gh.server)
            .await;
    }
    let c = client(&w.gh, false).await;
    let r = hotfix(
        &c,
        &repo(),
        &config(),
        "release/1.4.0",
        "main",
        "release:reintegration",
    )
    .await
    .unwrap();
    assert_eq!(r.tag, None);
    assert_eq!(r.reintegration_pr, Some(78));
    // Every request, reads included: one compare finds the baseline, one asks whether the
    // branch has commits main lacks.
    w.gh.assert_lines(&[
        &format!("GET {R}/releases?per_page=100"),
        &format!("GET {R}/compare/v1.4.1...release/1.4.0?per_page=1"),
        &format!("GET {R}/compare/main...release/1.4.0?per_page=1"),
        &format!("GET {R}/pulls?state=open&base=main&sort=created&direction=asc&per_page=100"),
        &format!("POST {R}/pulls"),
        &format!("POST {R}/issues/78/labels"),
    ])
    .await;
    w.gh.assert_writes(&[
        &format!("POST {R}/pulls"),
        &format!("POST {R}/issues/78/labels"),
    ])
    .await;
    let writes = w.gh.writes().await;
    assert_eq!(
        writes[0].body["title"],
        "Reintegrate release/1.4.0 (v1.4.1) into main"
    );
}

#[tokio::test]
async fn a_reintegration_pr_opened_concurrently_is_reused_not_duplicated() {
    let w = W::new().await;
    w.releases(json!([rel(6, "v1.4.0", false, "")])).await;
    w.compare("v1.4.0", "release/1.4.0", "ahead").await;
    release_branch_head(&w).await;
    w.graphql_compare(
        "v1.4.0",
        "release/1.4.0",
        &[pr(40, "Hotfix the crash", &["bug"], "release/1.4.0")],
    )
    .await;
    w.recent("release/1.4.0", json!([])).await;
    w.writes_ok().await;
    // Our list sees nothing; by the time we create, the other run's PR #81 exists.
    Mock::given(method("GET"))
        .and(path(format!("{R}/pulls")))
        .and(query_param("state", "open"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&w.gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/pulls")))
        .and(query_param("state", "open"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([open_pull(
            81,
            "release/1.4.0",
            &["release:reintegration"],
            "Reintegrate release/1.4.0 (v1.4.1) into main",
            ""
        )])))
        .with_priority(2)
        .mount(&w.gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{R}/pulls")))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "message": "Validation Failed",
            "errors": [{"resource": "PullRequest", "code": "custom",
                        "message": "A pull request already exists for octo:release/1.4.0."}]
        })))
        .mount(&w.gh.server)
        .await;
    let c = client(&w.gh, false).await;
    let r = hotfix(
        &c,
        &repo(),
        &config(),
        "release/1.4.0",
        "main",
        "release:reintegration",
    )
    .await
    .unwrap();
    assert_eq!(r.tag.as_deref(), Some("v1.4.1"));
    assert_eq!(
        (r.reintegration_pr, r.pr_action.as_deref()),
        (Some(81), Some("unchanged"))
    );
    w.gh.assert_writes(&[&format!("POST {R}/releases"), &format!("POST {R}/pulls")])
        .await;
}

#[tokio::test]
async fn a_patch_of_the_line_published_elsewhere_is_not_the_branchs_baseline_but_is_not_reused() {
    // v1.4.1 was published from main (default: patch); release/1.4.0 only contains v1.4.0.
    let w = W::new().await;
    w.releases(json!([
        rel(7, "v1.4.1", false, ""),
        rel(6, "v1.4.0", false, "")
    ]))
    .await;
    w.compare("v1.4.1", "release/1.4.0", "diverged").await;
    w.compare("v1.4.0", "release/1.4.0", "ahead").await;
    release_branch_head(&w).await;
    w.graphql_compare(
        "v1.4.0",
        "release/1.4.0",
        &[pr(40, "Hotfix the crash", &["bug"], "release/1.4.0")],
    )
    .await;
    w.recent("release/1.4.0", json!([])).await;
    w.writes_ok().await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/pulls")))
        .and(query_param("state", "open"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([open_pull(
            77,
            "release/1.4.0",
            &["release:reintegration"],
            "Reintegrate release/1.4.0 (v1.4.1) into main",
            ""
        )])))
        .mount(&w.gh.server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("{R}/pulls/77")))
        .respond_with(ResponseTemplate::new(200).set_body_json(created_pull(77)))
        .mount(&w.gh.server)
        .await;
    let c = client(&w.gh, false).await;
    let r = hotfix(
        &c,
        &repo(),
        &config(),
        "release/1.4.0",
        "main",
        "release:reintegration",
    )
    .await
    .unwrap();
    assert_eq!(r.tag.as_deref(), Some("v1.4.2"));
    let release = w.body_of("POST").await;
    let body = release["body"].as_str().unwrap();
    assert!(body.starts_with("## Changes since v1.4.0"), "{body}");
    assert!(body.contains("Hotfix the crash (#40)"), "{body}");
    // The line's tags are compared newest first until one is reachable.
    let compares: Vec<String> =
        w.gh.lines()
            .await
            .into_iter()
            .filter(|l| l.contains("/compare/"))
            .collect();
    assert_eq!(
        compares,
        [
            format!("GET {R}/compare/v1.4.1...release/1.4.0?per_page=1"),
            format!("GET {R}/compare/v1.4.0...release/1.4.0?per_page=1"),
        ]
    );
    w.gh.assert_writes(&[
        &format!("POST {R}/releases"),
        &format!("PATCH {R}/pulls/77"),
    ])
    .await;
}

/// GitHub Enterprise Server: GraphQL lives beside `/api/v3`, so the client's `/graphql`
/// answers 404; the draft comes from the REST compare after one GraphQL attempt.
#[tokio::test]
async fn graphql_endpoint_missing_falls_back_to_rest_at_once() {
    let w = W::new().await;
    w.releases(json!([rel(6, "v1.4.0", false, "")])).await;
    w.compare("v1.4.0", "main", "ahead").await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .mount(&w.gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/compare/v1.4.0...main")))
        .and(query_param("per_page", "100"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"status": "ahead", "commits": [{"sha": format!("{:040x}", 21)}]}),
        ))
        .with_priority(1)
        .mount(&w.gh.server)
        .await;
    w.recent(
        "main",
        json!([{"number": 21, "title": "PR 21", "user": {"login": "dev21"},
                "merged_at": "2026-11-21T10:00:00Z", "merge_commit_sha": format!("{:040x}", 21),
                "labels": [{"name": "feature"}]}]),
    )
    .await;
    w.writes_ok().await;
    let c = client(&w.gh, false).await;
    let (plan, _) = draft(&c, &repo(), &config(), "main").await.unwrap();
    assert_eq!(plan.prs.iter().map(|p| p.number).collect::<Vec<_>>(), [21]);
    assert_eq!(plan.tag, "v1.5.0");
    let graphql =
        w.gh.seen()
            .await
            .iter()
            .filter(|s| s.path == "/graphql")
            .count();
    assert_eq!(graphql, 1);
}

/// An open PR as `GET pulls` lists it.
fn open_pull(n: u64, head: &str, labels: &[&str], title: &str, body: &str) -> Value {
    json!({
        "number": n, "state": "open", "title": title, "body": body,
        "head": {"ref": head, "sha": format!("{n:040x}"), "repo": {"name": "app", "full_name": "octo/app", "owner": {"login": "octo"}}},
        "base": {"ref": "main", "sha": "b".repeat(40)},
        "labels": labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>()
    })
}

/// The answer to `POST pulls` (and, where a test shares it, to other writes): the PR created.
fn created_pull(n: u64) -> Value {
    open_pull(n, "release/1.4.0", &[], "", "")
}

/// The open PRs into main, answered as GitHub does: filtered by `head` when it is given.
async fn open_pulls(w: &W, all: Value) {
    let list = all.as_array().unwrap().clone();
    for p in &list {
        let head = format!("octo:{}", p["head"]["ref"].as_str().unwrap());
        Mock::given(method("GET"))
            .and(path(format!("{R}/pulls")))
            .and(query_param("state", "open"))
            .and(query_param("head", head.as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([p])))
            .with_priority(1)
            .mount(&w.gh.server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path(format!("{R}/pulls")))
        .and(query_param("state", "open"))
        .and(wiremock::matchers::query_param_is_missing("head"))
        .respond_with(ResponseTemplate::new(200).set_body_json(all))
        .with_priority(2)
        .mount(&w.gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/pulls")))
        .and(query_param("state", "open"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .with_priority(3)
        .mount(&w.gh.server)
        .await;
}

/// Issue #23 item 3: v1.4.1, published from `release/1.4.0` by `hotfix` with an App token,
/// fires `release: published`; it is a patch cut from the line's branch and gets no branch.
#[tokio::test]
async fn a_hotfix_release_cut_from_a_release_branch_gets_no_branch_of_its_own() {
    let w = W::new().await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/git/ref/tags/v1.4.1")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"object": {"sha": "c141", "type": "commit"}})),
        )
        .mount(&w.gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/git/matching-refs/heads/release/1.4.")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"ref": "refs/heads/release/1.4.0", "object": {"sha": "c141", "type": "commit"}}
        ])))
        .mount(&w.gh.server)
        .await;
    w.compare("v1.4.1", "release/1.4.0", "identical").await;
    for p in ["release/1.4.1", "release/1.4.0"] {
        Mock::given(method("GET"))
            .and(path(format!("{R}/git/ref/heads/{p}")))
            .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
            .mount(&w.gh.server)
            .await;
    }
    Mock::given(method("POST"))
        .and(path(format!("{R}/git/refs")))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({})))
        .mount(&w.gh.server)
        .await;
    let c = client(&w.gh, false).await;
    let r = publish_hook(&c, &repo(), &config(), "v1.4.1")
        .await
        .unwrap();
    assert_eq!(
        (r.branch.as_str(), r.action.as_str()),
        ("release/1.4.1", "skipped")
    );
    assert_eq!(r.cut_from.as_deref(), Some("release/1.4.0"));
    w.gh.assert_no_writes().await;
}

/// A patch release published from main (no release branch of its line holds it) still gets
/// its branch, and a minor release never looks for one.
#[tokio::test]
async fn a_patch_release_from_main_still_gets_its_branch() {
    let w = W::new().await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/git/ref/tags/v1.4.1")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"object": {"sha": "m141", "type": "commit"}})),
        )
        .mount(&w.gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/git/matching-refs/heads/release/1.4.")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"ref": "refs/heads/release/1.4.0", "object": {"sha": "c140", "type": "commit"}},
            {"ref": "refs/heads/release/1.4.0-rc", "object": {"sha": "c140", "type": "commit"}}
        ])))
        .mount(&w.gh.server)
        .await;
    w.compare("v1.4.1", "release/1.4.0", "diverged").await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/git/ref/heads/release/1.4.1")))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .mount(&w.gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{R}/git/refs")))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({})))
        .mount(&w.gh.server)
        .await;
    let c = client(&w.gh, false).await;
    let r = publish_hook(&c, &repo(), &config(), "v1.4.1")
        .await
        .unwrap();
    assert_eq!(r.action, "created");
    assert_eq!(r.cut_from, None);
    let reads: Vec<String> = w.gh.lines().await;
    assert!(
        !reads.iter().any(|l| l.contains("release/1.4.0-rc")),
        "{reads:#?}"
    );
    let writes = w.gh.writes().await;
    assert_eq!(
        (writes.len(), &writes[0].body),
        (
            1,
            &json!({"ref": "refs/heads/release/1.4.1", "sha": "m141"})
        )
    );
}

/// Issue #23 item 3: a `release/1.4.1` branch (made by an older ghops) is pushed for the first
/// time while `release/1.4.0`'s reintegration PR is open: the line already has its one PR, so
/// no second one is opened and the other branch's PR is not retitled.
#[tokio::test]
async fn a_second_branch_of_a_line_opens_no_second_reintegration_pr() {
    let w = W::new().await;
    w.releases(json!([
        rel(7, "v1.4.1", false, ""),
        rel(6, "v1.4.0", false, "")
    ]))
    .await;
    w.compare("v1.4.1", "release/1.4.1", "identical").await;
    w.compare("main", "release/1.4.1", "ahead").await;
    open_pulls(
        &w,
        json!([
            open_pull(12, "feature-x", &[], "Feature X", ""),
            open_pull(
                77,
                "release/1.4.0",
                &["release:reintegration"],
                "Reintegrate release/1.4.0 (v1.4.1) into main",
                "whatever"
            )
        ]),
    )
    .await;
    Mock::given(method("POST"))
        .and(path(format!("{R}/pulls")))
        .respond_with(ResponseTemplate::new(201).set_body_json(created_pull(78)))
        .mount(&w.gh.server)
        .await;
    let c = client(&w.gh, false).await;
    let r = hotfix(
        &c,
        &repo(),
        &config(),
        "release/1.4.1",
        "main",
        "release:reintegration",
    )
    .await
    .unwrap();
    assert_eq!(r.tag, None);
    assert_eq!(
        (r.reintegration_pr, r.pr_action.as_deref()),
        (Some(77), Some("unchanged"))
    );
    w.gh.assert_no_writes().await;
}

/// The recovery path of `release/1.4.0` after v1.4.1: nothing new to publish, main lacks the
/// branch's commits.
async fn recovery_after_1_4_1(w: &W) {
    w.releases(json!([
        rel(7, "v1.4.1", false, ""),
        rel(6, "v1.4.0", false, "")
    ]))
    .await;
    w.compare("v1.4.1", "release/1.4.0", "identical").await;
    w.compare("main", "release/1.4.0", "ahead").await;
}

async fn run_hotfix(w: &W) -> release_flow::hotfix::HotfixResult {
    let c = client(&w.gh, false).await;
    hotfix(
        &c,
        &repo(),
        &config(),
        "release/1.4.0",
        "main",
        "release:reintegration",
    )
    .await
    .unwrap()
}

/// Issue #23 item 5: GitHub creates the reintegration PR but the answer is lost (502 after
/// the write): the run finds the PR it created and labels it, opening no second one.
#[tokio::test]
async fn a_lost_answer_to_the_prs_creation_adopts_and_labels_the_pr() {
    let w = W::new().await;
    recovery_after_1_4_1(&w).await;
    let (title, body) = release_flow::hotfix::reintegration_text(
        "release/1.4.0",
        "main",
        "v1.4.1",
        "release:reintegration",
    );
    Mock::given(method("GET"))
        .and(path(format!("{R}/pulls")))
        .and(query_param("state", "open"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&w.gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/pulls")))
        .and(query_param("state", "open"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([open_pull(
            78,
            "release/1.4.0",
            &[],
            &title,
            &body
        )])))
        .with_priority(2)
        .mount(&w.gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{R}/pulls")))
        .respond_with(ResponseTemplate::new(502).set_body_string("Bad Gateway"))
        .mount(&w.gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{R}/issues/78/labels")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&w.gh.server)
        .await;
    let r = run_hotfix(&w).await;
    assert_eq!(
        (r.reintegration_pr, r.pr_action.as_deref(), r.labelled),
        (Some(78), Some("unchanged"), true)
    );
    w.gh.assert_writes(&[
        &format!("POST {R}/pulls"),
        &format!("POST {R}/issues/78/labels"),
    ])
    .await;
    let writes = w.gh.writes().await;
    assert_eq!(writes[1].body, json!({"labels": ["release:reintegration"]}));
}

/// Issue #23 item 5: a re-run after a run that opened the PR and died before labelling it
/// adds the label and sends no PATCH (title and body are current); a replay with nothing new
/// writes nothing at all.
#[tokio::test]
async fn a_rerun_adds_a_missing_label_and_a_replay_writes_nothing() {
    let (title, body) = release_flow::hotfix::reintegration_text(
        "release/1.4.0",
        "main",
        "v1.4.1",
        "release:reintegration",
    );
    for (labels, expected) in [
        (vec![], vec![format!("POST {R}/issues/78/labels")]),
        (vec!["release:reintegration"], vec![]),
    ] {
        let w = W::new().await;
        recovery_after_1_4_1(&w).await;
        Mock::given(method("GET"))
            .and(path(format!("{R}/pulls")))
            .and(query_param("state", "open"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([open_pull(
                78,
                "release/1.4.0",
                &labels,
                &title,
                &body
            )])))
            .mount(&w.gh.server)
            .await;
        Mock::given(method("POST"))
            .and(path(format!("{R}/issues/78/labels")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
            .mount(&w.gh.server)
            .await;
        let r = run_hotfix(&w).await;
        assert_eq!(
            (r.reintegration_pr, r.pr_action.as_deref(), r.labelled),
            (Some(78), Some("unchanged"), labels.is_empty())
        );
        let writes: Vec<String> = w.gh.writes().await.iter().map(|s| s.line()).collect();
        assert_eq!(writes, expected);
    }
}

/// Issue #23 item 6: main drafts patches (`v1.4.1`); `release/1.4.0` published v1.4.1 and the
/// run stopped before refreshing main's draft. The re-run publishes nothing and still
/// refreshes main's draft, which moves off the now-published tag.
#[tokio::test]
async fn a_replay_that_publishes_nothing_still_moves_mains_draft_off_a_published_tag() {
    use release_flow::push::{PushOutcome, hotfix_then_draft};
    let w = W::new().await;
    let marker = release_flow::draft::draft_marker("main");
    w.releases(json!([
        rel(9, "v1.4.1", true, &format!("old\n\n{marker}")),
        rel(7, "v1.4.1", false, ""),
        rel(6, "v1.4.0", false, "")
    ]))
    .await;
    w.compare("v1.4.1", "release/1.4.0", "identical").await;
    w.compare("main", "release/1.4.0", "ahead").await;
    w.compare("v1.4.1", "main", "diverged").await;
    w.compare("v1.4.0", "main", "ahead").await;
    w.graphql_compare("v1.4.0", "main", &[pr(12, "Fix typo", &["bug"], "main")])
        .await;
    w.recent("main", json!([])).await;
    w.writes_ok().await;
    let (title, body) = release_flow::hotfix::reintegration_text(
        "release/1.4.0",
        "main",
        "v1.4.1",
        "release:reintegration",
    );
    Mock::given(method("GET"))
        .and(path(format!("{R}/pulls")))
        .and(query_param("state", "open"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([open_pull(
            78,
            "release/1.4.0",
            &["release:reintegration"],
            &title,
            &body
        )])))
        .mount(&w.gh.server)
        .await;
    let c = client(&w.gh, false).await;
    let out = hotfix_then_draft(&c, &repo(), &config(), "release/1.4.0", "main")
        .await
        .unwrap();
    let PushOutcome::Hotfix {
        hotfix, main_draft, ..
    } = out
    else {
        panic!("{out:?}")
    };
    assert_eq!(hotfix.tag, None);
    assert_eq!(main_draft.unwrap().tag, "v1.4.2");
    w.gh.assert_writes(&[&format!("PATCH {R}/releases/9")])
        .await;
    assert_eq!(w.body_of("PATCH").await["tag_name"], "v1.4.2");
}

/// A fork's PR whose head is also named `release/1.4.0` is never taken for the line's
/// reintegration PR: it is not retitled nor labelled (the label would drop its changes
/// from main's changelog); ghops opens its own.
#[tokio::test]
async fn a_forks_pr_named_like_the_release_branch_is_not_the_reintegration_pr() {
    let w = W::new().await;
    recovery_after_1_4_1(&w).await;
    let mut fork = open_pull(90, "release/1.4.0", &[], "Totally a hotfix", "");
    fork["head"]["repo"]["full_name"] = json!("evil/app");
    Mock::given(method("GET"))
        .and(path(format!("{R}/pulls")))
        .and(query_param("state", "open"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([fork])))
        .mount(&w.gh.server)
        .await;
    for p in [format!("{R}/pulls"), format!("{R}/issues/91/labels")] {
        Mock::given(method("POST"))
            .and(path(p))
            .respond_with(ResponseTemplate::new(201).set_body_json(created_pull(91)))
            .mount(&w.gh.server)
            .await;
    }
    let r = run_hotfix(&w).await;
    assert_eq!(
        (r.reintegration_pr, r.pr_action.as_deref()),
        (Some(91), Some("created"))
    );
    w.gh.assert_writes(&[
        &format!("POST {R}/pulls"),
        &format!("POST {R}/issues/91/labels"),
    ])
    .await;
}

/// A local release-drafter file with `_extends`: the base is read once through GraphQL, the
/// local keys win, and warnings already shown for the local file are not returned again.
#[tokio::test]
async fn extends_is_resolved_once_and_warns_once() {
    let gh = MockGitHub::start().await;
    let c = client(&gh, false).await;
    let base = "template: base $CHANGES\ntag-template: 'b$RESOLVED_VERSION'\nzzz-base-only: 1\n";
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_partial_json(json!({"variables": {
            "owner": "octo", "name": ".github", "expr": "HEAD:.github/release-drafter.yml"
        }})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": {"repository": {"object": {"text": base}}}})),
        )
        .expect(1)
        .mount(&gh.server)
        .await;
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("drafter.yml");
    std::fs::write(
        &f,
        "_extends: .github\ntemplate: local $CHANGES\nfrobnicate: 1\n",
    )
    .unwrap();
    let mut local = release_flow::resolve::LocalConfig::read(Some(&f), || {
        Err::<gh_core::config::ConfigFile, release_flow::ReleaseError>(
            release_flow::ReleaseError::Config("ghops.toml must not be read".into()),
        )
    })
    .unwrap();
    assert_eq!(local.source, release_flow::config::Source::ReleaseDrafter);
    assert_eq!(local.warnings.len(), 1, "{:?}", local.warnings);
    assert!(local.warnings[0].contains("frobnicate"));
    let new = local.resolve_extends(&c, &repo()).await.unwrap();
    assert_eq!(new.len(), 1, "{new:?}");
    assert!(new[0].contains("zzz-base-only"), "{new:?}");
    assert_eq!(local.warnings.len(), 2);
    assert_eq!(local.config.template, "local $CHANGES");
    assert_eq!(local.config.tag_template, "b$RESOLVED_VERSION");
    // Resolved: a second call sends nothing.
    assert!(local.resolve_extends(&c, &repo()).await.unwrap().is_empty());
    gh.assert_no_writes().await;
}
