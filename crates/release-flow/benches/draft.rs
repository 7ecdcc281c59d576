//! Benchmark (not a test): `cargo bench -p release-flow --bench draft`.
//!
//! Prints the median time of (1) rendering a release body for 500 and 5,000 merged PRs with
//! categories, escapes and collapsing, (2) resolving the next version against 10,000 published
//! versions, and (3) a whole `draft` run against an in-process fake GitHub holding 2,500
//! releases (25 pages) and 3,000 commits with their PRs since the baseline (GraphQL pages of
//! 100), with the number of requests it took.

use std::time::{Duration, Instant};

use gh_core::auth::{Credentials, SecretString, TokenSource};
use gh_core::client::ClientConfig;
use gh_core::{GitHub, RepoRef};
use release_flow::changelog::{self, BodyVars, MergedPr};
use release_flow::config::DrafterConfig;
use release_flow::version::{Bump, next_version};
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
            body: String::new(),
            url: format!("https://github.com/o/r/pull/{i}"),
            labels: vec![LABELS[(i % 6) as usize].to_owned()],
            merge_commit_sha: Some(format!("{i:040x}")),
            merged_at: Some(format!("2026-11-{:02}T10:00:00Z", i % 28 + 1)),
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

fn main() {
    let (cfg, _) = DrafterConfig::from_yaml(CONFIG, "bench.yml").expect("config");
    for n in [500u64, 5_000] {
        let all = prs(n);
        let (t, len) = median(
            || {
                let counted = changelog::counted(&cfg, &all);
                changelog::body(
                    &cfg,
                    &BodyVars {
                        prs: &counted,
                        commit_authors: &[],
                        previous_tag: Some("v1.4.0"),
                        version: &Version::new(1, 5, 0),
                        baseline: Some(&Version::new(1, 4, 0)),
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
            next_version(
                Some(&Version::new(9, 99, 0)),
                Bump::Patch,
                &published,
                Some("rc"),
            )
            .patch as usize
        },
        101,
    );
    println!("next version against 10,000 published versions: median {t:?}");
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(whole_draft());
}
