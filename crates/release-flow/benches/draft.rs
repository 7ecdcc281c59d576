//! Benchmark (not a test): `cargo bench -p ghops-release-flow --bench draft`.
//!
//! Prints the median time of (1) rendering a release body for 500 and 5,000 merged PRs with
//! categories, escapes and collapsing, (2) resolving the next version against 10,000 published
//! versions, and (3) a whole `draft` run against an in-process fake GitHub holding 2,500
//! releases (25 pages) and 3,000 commits with their PRs since the baseline (GraphQL pages of
//! 100), with the number of requests it took, and (4) the API cost of a draft on a typical
//! repository (30 releases, 40 commits since the last one): creating the draft, updating it,
//! and a run on an unchanged draft (requests, and writes among them).

use std::time::{Duration, Instant};

use gh_core::auth::{Credentials, SecretString, TokenSource};
use gh_core::client::ClientConfig;
use gh_core::{GitHub, RepoRef};
use release_flow::changelog::{self, BodyVars, MergedPr};
use release_flow::config::DrafterConfig;
use release_flow::version::{Increment, past_published, version_info};
use semver::Version;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const CONFIG: &str = r#"
change-template: '- $TITLE (#$NUMBER) @$AUTHOR'
change-title-escapes: '\<*_&'
exclude-labels: [skip-changelog]
categories:
  - {title: Features, labels: [feature, enhancement]}
  - {title: Fixes, label: bug, collapse-after: 20}
  - {title: Docs, label: docs}
version-resolver:
  major: {labels: [breaking]}
  minor: {labels: [feature]}
  default: patch
template: |
  ## Since $PREVIOUS_TAG
  $CHANGES
  Thanks to $CONTRIBUTORS
"#;

const LABELS: [&str; 6] = [
    "feature",
    "bug",
    "docs",
    "skip-changelog",
    "chore",
    "enhancement",
];

fn prs(n: u64) -> Vec<MergedPr> {
    (1..=n)
        .map(|i| MergedPr {
            number: i,
            title: format!("Change {i}: fix `a_b` for @team and #{} <b>*x*</b>", i / 2),
            author: format!("dev{}", i % 97),
            url: format!("https://github.com/o/r/pull/{i}"),
            labels: vec![LABELS[(i % 6) as usize].to_owned()],
            merge_commit_sha: Some(format!("{i:040x}")),
            merged_at: Some(format!("2026-11-{:02}T10:00:00Z", i % 28 + 1)),
            ..MergedPr::default()
        })
        .collect()
}

fn median(f: impl FnMut() -> usize, runs: usize) -> (Duration, usize) {
    ghops_test_support::median_time(runs, f)
}

struct Releases {
    base: String,
    pages: u64,
}

impl Respond for Releases {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let page: u64 = req
            .url
            .query_pairs()
            .find(|(k, _)| k == "page")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(1);
        let list: Vec<Value> = (0..100)
            .map(|i| {
                let n = (page - 1) * 100 + i;
                // 1.0.0 .. 25.99.0, newest first; the newest is the baseline.
                let (maj, min) = (25 - n / 100, 99 - n % 100);
                json!({"id": 100_000 - n, "tag_name": format!("v{maj}.{min}.0"), "draft": false,
                       "prerelease": false, "target_commitish": "main"})
            })
            .collect();
        let mut t = ResponseTemplate::new(200).set_body_json(list);
        if page < self.pages {
            t = t.insert_header(
                "link",
                format!(
                    "<{}/repos/o/r/releases?per_page=100&page={}>; rel=\"next\"",
                    self.base,
                    page + 1
                )
                .as_str(),
            );
        }
        t
    }
}

struct Commits {
    total: u64,
}

impl Respond for Commits {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let v: Value = serde_json::from_slice(&req.body).unwrap_or_default();
        let first = v["variables"]["first"].as_u64().unwrap_or(100);
        let start: u64 = v["variables"]["after"]
            .as_str()
            .and_then(|c| c.trim_start_matches('c').parse().ok())
            .unwrap_or(0);
        let end = (start + first).min(self.total);
        let nodes: Vec<Value> = (start..end)
            .map(|i| {
                let n = i + 1;
                json!({"oid": format!("{n:040x}"), "associatedPullRequests": {"nodes": [{
                    "number": n, "title": format!("Change {n} for @team"), "merged": true,
                    "mergedAt": "2026-11-20T10:00:00Z", "baseRefName": "main",
                    "baseRepository": {"nameWithOwner": "o/r"},
                    "mergeCommit": {"oid": format!("{n:040x}")}, "author": {"login": format!("dev{}", n % 97)},
                    "labels": {"nodes": [{"name": LABELS[(n % 6) as usize]}]}
                }]}})
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(
            json!({"data": {"repository": {"ref": {"compare": {"commits": {
                "pageInfo": {"hasNextPage": end < self.total, "endCursor": format!("c{end}")},
                "nodes": nodes
            }}}}}}),
        )
    }
}

async fn whole_draft() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/o/r/releases"))
        .respond_with(Releases {
            base: server.uri(),
            pages: 25,
        })
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/o/r/compare/v25.99.0...main"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "ahead"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(Commits { total: 3_000 })
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/o/r/pulls"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    let mut c = ClientConfig::new(Credentials::Token {
        token: SecretString::from("ghp_bench".to_owned()),
        source: TokenSource::Flag,
    });
    c.api_url = server.uri();
    c.dry_run = true;
    let gh = GitHub::connect(c).await.expect("client");
    let repo: RepoRef = "o/r".parse().expect("repo");
    let (cfg, _) = DrafterConfig::from_yaml(CONFIG, "bench.yml").expect("config");
    let mut times = Vec::new();
    let mut shown = None;
    for _ in 0..5 {
        let before = server.received_requests().await.map_or(0, |r| r.len());
        let t = Instant::now();
        let (plan, _) = release_flow::draft::draft(&gh, &repo, &cfg, "main")
            .await
            .expect("draft");
        times.push(t.elapsed());
        let requests = server.received_requests().await.map_or(0, |r| r.len()) - before;
        shown = Some((plan.tag, plan.prs.len(), plan.body.len(), requests));
    }
    times.sort();
    let (tag, n, bytes, requests) = shown.expect("ran");
    println!(
        "draft, 2,500 releases + 3,000 commits/PRs since the baseline: median {:?} ({requests} requests, {tag}, {n} PRs, body {bytes} bytes)",
        times[2]
    );
}

/// A typical repository: 30 releases (one page), 40 commits with their PRs since the last
/// one (one GraphQL page), no draft yet; then the same with the draft in place (stale, then
/// current). Counts the requests and the writes of each run.
async fn typical_cost() {
    let server = MockServer::start().await;
    let mut releases: Vec<Value> = (0..30u64)
        .map(|i| {
            json!({"id": 1_000 - i, "tag_name": format!("v1.{}.0", 29 - i), "name": format!("v1.{}.0", 29 - i),
                   "draft": false, "prerelease": false, "target_commitish": "main"})
        })
        .collect();
    let (cfg, _) = DrafterConfig::from_yaml(CONFIG, "bench.yml").expect("config");
    let mut c = ClientConfig::new(Credentials::Token {
        token: SecretString::from("ghp_bench".to_owned()),
        source: TokenSource::Flag,
    });
    c.api_url = server.uri();
    let gh = GitHub::connect(c).await.expect("client");
    let repo: RepoRef = "o/r".parse().expect("repo");
    let mut report = Vec::new();
    for round in ["create", "update", "unchanged"] {
        server.reset().await;
        Mock::given(method("GET"))
            .and(path("/repos/o/r/releases"))
            .respond_with(ResponseTemplate::new(200).set_body_json(Value::Array(releases.clone())))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/repos/o/r/compare/v1.29.0...main"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "ahead"})))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/graphql"))
            .respond_with(Commits { total: 40 })
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/repos/o/r/pulls"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/repos/o/r/releases"))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 5_000})))
            .mount(&server)
            .await;
        Mock::given(method("PATCH"))
            .and(path("/repos/o/r/releases/5000"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 5_000})))
            .mount(&server)
            .await;
        let (plan, outcome) = release_flow::draft::draft(&gh, &repo, &cfg, "main")
            .await
            .expect("draft");
        let seen = server.received_requests().await.unwrap_or_default();
        let writes = seen
            .iter()
            .filter(|r| r.method.as_str() != "GET" && r.url.path() != "/graphql")
            .count();
        report.push(format!(
            "{round}: {} requests, {writes} writes ({outcome:?})",
            seen.len()
        ));
        // The next round sees the draft as this run left it (stale for "update").
        let body = if round == "create" {
            "stale".to_owned()
        } else {
            plan.body.clone()
        };
        releases.retain(|r| r["id"] != 5_000);
        releases.insert(
            0,
            json!({"id": 5_000, "tag_name": plan.tag, "name": plan.name, "body": body,
                   "draft": true, "prerelease": false, "target_commitish": "main"}),
        );
    }
    println!(
        "typical repository (30 releases, 40 PRs since the last): {}",
        report.join("; ")
    );
}

fn main() {
    let (cfg, _) = DrafterConfig::from_yaml(CONFIG, "bench.yml").expect("config");
    let info = version_info(&cfg, Some(&Version::new(1, 4, 0)), None, Increment::Minor);
    for n in [500u64, 5_000] {
        let all = prs(n);
        let (t, len) = median(
            || {
                let counted = changelog::counted(&cfg, &all);
                changelog::body(
                    &cfg,
                    &BodyVars {
                        prs: &counted,
                        commits: &[],
                        previous_tag: Some("v1.4.0"),
                        info: &info,
                        owner: "o",
                        repository: "r",
                    },
                )
                .len()
            },
            21,
        );
        println!("body for {n} PRs: median {t:?} ({len} bytes)");
    }
    let published: Vec<Version> = (0..10_000u64)
        .map(|i| Version::new(i / 1_000, (i / 10) % 100, i % 10))
        .collect();
    let (t, _) = median(
        || {
            let info = version_info(&cfg, Some(&Version::new(9, 99, 0)), None, Increment::Patch);
            past_published(info.resolved, &published).patch as usize
        },
        101,
    );
    println!("next version against 10,000 published versions: median {t:?}");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(whole_draft());
    rt.block_on(typical_cost());
}
