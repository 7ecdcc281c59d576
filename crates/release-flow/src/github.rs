//! The GitHub reads release-flow needs: every release (no 1,000 cap), tag reachability, and
//! the PRs merged between a baseline tag and a branch.

use std::collections::HashSet;

use gh_core::events::User;
use gh_core::pulls::PullRequest;
use gh_core::repo::encode_ref;
use gh_core::{GitHub, RepoRef};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::changelog::{CommitAuthor, MergedPr, RangeCommit};
use crate::error::ReleaseError;

/// A release as the API (and the `release` webhook) carries it.
pub use gh_core::events::Release;

/// Every release, all pages (GitHub lists releases newest first; there is no cap here).
pub async fn list_releases(gh: &GitHub, repo: &RepoRef) -> Result<Vec<Release>, ReleaseError> {
    Ok(gh
        .get_all(&format!("{}/releases?per_page=100", repo.api_path()), None)
        .await?)
}

#[derive(Deserialize)]
struct RepoInfo {
    default_branch: String,
}

/// The repository's default branch (one read).
pub async fn default_branch(gh: &GitHub, repo: &RepoRef) -> Result<String, ReleaseError> {
    Ok(gh.get::<RepoInfo>(&repo.api_path()).await?.default_branch)
}

/// How a head relates to a base (`GET /compare/{base}...{head}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareStatus {
    /// The head has commits the base lacks, and every commit of the base.
    Ahead,
    /// The base has commits the head lacks, and every commit of the head.
    Behind,
    /// The same commit.
    Identical,
    /// Each has commits the other lacks.
    Diverged,
    /// A status this version does not know.
    #[serde(other)]
    Unknown,
}

impl CompareStatus {
    /// The base is an ancestor of, or equal to, the head.
    pub fn contains_base(self) -> bool {
        matches!(self, CompareStatus::Ahead | CompareStatus::Identical)
    }
}

#[derive(Deserialize)]
struct Compare {
    status: CompareStatus,
}

/// How `head` relates to `base` (tags or branches); `None` when GitHub knows either not (404).
pub async fn compare(
    gh: &GitHub,
    repo: &RepoRef,
    base: &str,
    head: &str,
) -> Result<Option<CompareStatus>, ReleaseError> {
    let c: Option<Compare> = gh
        .get_opt(&format!(
            "{}/compare/{}...{}?per_page=1",
            repo.api_path(),
            encode_ref(base),
            encode_ref(head)
        ))
        .await?;
    Ok(c.map(|c| c.status))
}

/// Is `tag` reachable from `branch` (the tag's commit is an ancestor of, or equal to, the
/// branch head)?
pub async fn reachable(
    gh: &GitHub,
    repo: &RepoRef,
    tag: &str,
    branch: &str,
) -> Result<bool, ReleaseError> {
    Ok(compare(gh, repo, tag, branch)
        .await?
        .is_some_and(CompareStatus::contains_base))
}

/// What to read about the PRs of a range.
#[derive(Debug, Clone)]
pub struct Fetch {
    /// Only PRs into this branch (hotfixes: a release line's own PRs; drafts never set it —
    /// release-drafter's `filter-by-commitish` filters releases, not PRs).
    pub base_branch: Option<String>,
    /// Read each PR's changed files (a category matches on paths).
    pub files: bool,
    /// PRs listed per commit (`pull-request-limit`).
    pub pr_limit: u64,
}

impl Default for Fetch {
    fn default() -> Self {
        Self {
            base_branch: None,
            files: false,
            pr_limit: 5,
        }
    }
}

fn pr_fields(f: &Fetch) -> String {
    format!(
        "number title url body merged mergedAt baseRefName headRefName baseRepository {{ nameWithOwner }} mergeCommit {{ oid }} author {{ __typename login url }} labels(first: 100) {{ nodes {{ name }} }}{}",
        if f.files {
            " files(first: 100) { nodes { path } }"
        } else {
            ""
        }
    )
}

fn commit_fields(f: &Fetch) -> String {
    format!(
        "nodes {{ oid author {{ name user {{ login }} }} authors(first: 10) {{ nodes {{ name user {{ login }} }} }} associatedPullRequests(first: {}) {{ nodes {{ {} }} }} }}",
        f.pr_limit,
        pr_fields(f)
    )
}

fn compare_query(f: &Fetch) -> String {
    format!(
        "query($owner: String!, $name: String!, $base: String!, $head: String!, $first: Int!, $after: String) {{ repository(owner: $owner, name: $name) {{ ref(qualifiedName: $base) {{ compare(headRef: $head) {{ commits(first: $first, after: $after) {{ pageInfo {{ hasNextPage endCursor }} {} }} }} }} }} }}",
        commit_fields(f)
    )
}

fn history_query(f: &Fetch) -> String {
    format!(
        "query($owner: String!, $name: String!, $head: String!, $first: Int!, $after: String) {{ repository(owner: $owner, name: $name) {{ ref(qualifiedName: $head) {{ target {{ ... on Commit {{ history(first: $first, after: $after) {{ pageInfo {{ hasNextPage endCursor }} {} }} }} }} }} }} }}",
        commit_fields(f)
    )
}

fn pr_from_graphql(n: &Value) -> Option<MergedPr> {
    if n["merged"].as_bool() != Some(true) {
        return None;
    }
    let strs = |v: &Value, key: &str| -> Vec<String> {
        v["nodes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|l| l[key].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    Some(MergedPr {
        number: n["number"].as_u64()?,
        title: n["title"].as_str().unwrap_or_default().to_owned(),
        author: n["author"]["login"].as_str().unwrap_or("ghost").to_owned(),
        author_is_bot: n["author"]["__typename"].as_str() == Some("Bot"),
        author_url: n["author"]["url"].as_str().unwrap_or_default().to_owned(),
        body: n["body"].as_str().unwrap_or_default().to_owned(),
        url: n["url"].as_str().unwrap_or_default().to_owned(),
        labels: strs(&n["labels"], "name"),
        merge_commit_sha: n["mergeCommit"]["oid"].as_str().map(str::to_owned),
        merged_at: n["mergedAt"].as_str().map(str::to_owned),
        base_ref: n["baseRefName"].as_str().unwrap_or_default().to_owned(),
        head_ref: n["headRefName"].as_str().unwrap_or_default().to_owned(),
        files: strs(&n["files"], "path"),
    })
}

fn same_repo(n: &Value, repo: &RepoRef) -> bool {
    n["baseRepository"]["nameWithOwner"]
        .as_str()
        .is_some_and(|s| s.eq_ignore_ascii_case(&format!("{}/{}", repo.owner, repo.name)))
}

fn commit_author(v: &Value) -> Option<CommitAuthor> {
    let login = v["user"]["login"]
        .as_str()
        .filter(|l| !l.is_empty())
        .map(str::to_owned);
    let name = v["name"].as_str().unwrap_or_default().trim().to_owned();
    (login.is_some() || !name.is_empty()).then_some(CommitAuthor { login, name })
}

/// The commits between `base_tag` (exclusive; the whole history when `None`) and `branch`,
/// newest first, with this repository's merged PRs associated with them (PRs of other
/// repositories of the fork network never count). GraphQL pages shrink by half on 502/504
/// (down to 5) before giving up.
async fn graphql_commits(
    gh: &GitHub,
    repo: &RepoRef,
    base_tag: Option<&str>,
    branch: &str,
    fetch: &Fetch,
) -> Result<(HashSet<String>, Vec<MergedPr>, Vec<RangeCommit>), ReleaseError> {
    let mut first: u64 = 100;
    let mut after: Option<String> = None;
    let mut oids = HashSet::new();
    let mut nodes: Vec<Value> = Vec::new();
    loop {
        let (query, vars) = match base_tag {
            Some(t) => (
                compare_query(fetch),
                json!({"owner": repo.owner, "name": repo.name, "base": format!("refs/tags/{t}"), "head": format!("refs/heads/{branch}"), "first": first, "after": after}),
            ),
            None => (
                history_query(fetch),
                json!({"owner": repo.owner, "name": repo.name, "head": format!("refs/heads/{branch}"), "first": first, "after": after}),
            ),
        };
        let mut data: Value = match gh.graphql(&query, vars).await {
            Ok(d) => d,
            Err(e) if (e.is_status(502) || e.is_status(504)) && first > 5 => {
                first = (first / 2).max(5);
                tracing::warn!(first, "GraphQL compare timed out; halving the page size");
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let conn = match base_tag {
            Some(_) => data["repository"]["ref"]["compare"]["commits"].take(),
            None => data["repository"]["ref"]["target"]["history"].take(),
        };
        if conn.is_null() {
            return Err(ReleaseError::Config(format!(
                "cannot compare {} with {branch}: a ref is missing",
                base_tag.unwrap_or("the start of history")
            )));
        }
        let more = conn["pageInfo"]["hasNextPage"].as_bool() == Some(true);
        after = conn["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        if let Value::Array(a) = &conn["nodes"] {
            nodes.extend(a.iter().cloned());
        }
        if !more {
            break;
        }
    }
    // The compare lists oldest first; release-drafter walks the history newest first.
    if base_tag.is_some() {
        nodes.reverse();
    }
    let mut prs: Vec<MergedPr> = Vec::new();
    let mut commits = Vec::new();
    for c in &nodes {
        let Some(oid) = c["oid"].as_str() else {
            continue;
        };
        oids.insert(oid.to_owned());
        let mut authors: Vec<CommitAuthor> = c["authors"]["nodes"]
            .as_array()
            .map(|a| a.iter().filter_map(commit_author).collect())
            .unwrap_or_default();
        if authors.is_empty() {
            authors.extend(commit_author(&c["author"]));
        }
        let mut numbers = Vec::new();
        for p in c["associatedPullRequests"]["nodes"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if !same_repo(p, repo) {
                continue;
            }
            if let Some(n) = p["number"].as_u64() {
                numbers.push(n);
            }
            if fetch
                .base_branch
                .as_deref()
                .is_some_and(|b| p["baseRefName"].as_str() != Some(b))
            {
                continue;
            }
            if let Some(pr) = pr_from_graphql(p)
                && !prs.iter().any(|x| x.number == pr.number)
            {
                prs.push(pr);
            }
        }
        commits.push(RangeCommit {
            oid: oid.to_owned(),
            authors,
            prs: numbers,
        });
    }
    // Associated through one of its commits, but merged outside the range (e.g. before the
    // baseline): not part of this release.
    prs.retain(|p| p.merge_commit_sha.as_ref().is_none_or(|s| oids.contains(s)));
    Ok((oids, prs, commits))
}

/// What a release range holds.
#[derive(Debug, Clone)]
pub struct Merged {
    /// This repository's PRs merged in the range, in the order the history was walked
    /// (newest commit first).
    pub prs: Vec<MergedPr>,
    /// The range's commits, newest first.
    pub commits: Vec<RangeCommit>,
}

/// A PR from `GET pulls`. A deleted author (`user: null`) is GitHub's `ghost`, as the GraphQL
/// path renders it.
impl From<PullRequest> for MergedPr {
    fn from(p: PullRequest) -> Self {
        let user = p.user.unwrap_or_else(|| User {
            login: "ghost".into(),
            id: 0,
            user_type: None,
            avatar_url: None,
            html_url: None,
        });
        let bot = user.user_type.as_deref() == Some("Bot");
        MergedPr {
            number: p.number,
            title: p.title,
            author: if bot {
                user.login.trim_end_matches("[bot]").to_owned()
            } else {
                user.login
            },
            author_is_bot: bot,
            author_url: user.html_url.unwrap_or_default(),
            body: p.body.unwrap_or_default(),
            url: p.html_url.unwrap_or_default(),
            labels: p.labels.into_iter().map(|l| l.name).collect(),
            merge_commit_sha: p.merge_commit_sha,
            merged_at: p.merged_at,
            base_ref: p.base.ref_name,
            head_ref: p.head.ref_name,
            files: Vec::new(),
        }
    }
}

/// PRs merged into `branch` since `base_tag` (hotfixes: only PRs into `branch`).
pub async fn merged_prs(
    gh: &GitHub,
    repo: &RepoRef,
    base_tag: Option<&str>,
    branch: &str,
) -> Result<Merged, ReleaseError> {
    let fetch = Fetch {
        base_branch: Some(branch.to_owned()),
        ..Fetch::default()
    };
    merged_prs_with(gh, repo, base_tag, branch, &fetch).await
}

/// This repository's merged PRs associated with the commits of `base_tag..branch` (the GraphQL
/// compare), plus the most recently merged PRs into `branch` whose merge commit is in the
/// range (GitHub's association index lags behind merges), each once; and the range's commits.
pub async fn merged_prs_with(
    gh: &GitHub,
    repo: &RepoRef,
    base_tag: Option<&str>,
    branch: &str,
    fetch: &Fetch,
) -> Result<Merged, ReleaseError> {
    let (oids, mut prs, commits, pages) = match graphql_commits(gh, repo, base_tag, branch, fetch)
        .await
    {
        Ok((oids, prs, commits)) => (oids, prs, commits, 1),
        Err(ReleaseError::GitHub(e)) if falls_back(&e) => {
            tracing::warn!(error = %e, "GraphQL compare failed; falling back to the REST compare");
            let (oids, commits) = rest_commits(gh, repo, base_tag, branch).await?;
            (oids, Vec::new(), commits, REST_PULL_PAGES)
        }
        Err(e) => return Err(e),
    };
    let mut pager = gh.pages(
        &format!(
            "{}/pulls?state=closed&base={}&sort=updated&direction=desc&per_page={}",
            repo.api_path(),
            gh_core::repo::encode_query(branch),
            if pages == 1 { 50 } else { 100 }
        ),
        None,
    );
    let mut late: Vec<MergedPr> = Vec::new();
    for _ in 0..pages {
        let Some(recent) = pager.next_page::<PullRequest>().await? else {
            break;
        };
        for p in recent {
            if p.merged_at.is_some()
                && p.merge_commit_sha
                    .as_ref()
                    .is_some_and(|s| oids.contains(s))
                && !prs.iter().chain(late.iter()).any(|x| x.number == p.number)
            {
                late.push(p.into());
            }
        }
    }
    // Place each late PR where its merge commit is in the walk.
    for p in late {
        let at = commits
            .iter()
            .position(|c| Some(&c.oid) == p.merge_commit_sha.as_ref())
            .unwrap_or(commits.len());
        let idx = prs
            .iter()
            .position(|x| {
                x.merge_commit_sha
                    .as_ref()
                    .and_then(|s| commits.iter().position(|c| &c.oid == s))
                    .is_some_and(|i| i > at)
            })
            .unwrap_or(prs.len());
        prs.insert(idx, p);
    }
    Ok(Merged { prs, commits })
}

/// How many pages of 100 closed PRs the REST fallback scans for merge commits in range.
pub const REST_PULL_PAGES: usize = 10;

/// How many pages of 100 commits the REST fallback reads at most.
pub const REST_COMMIT_PAGES: usize = 100;

/// GraphQL failures worth retrying through REST: server errors, timeouts, GraphQL-level
/// errors (a 200 with `errors`), and a 404 of the GraphQL endpoint itself (a proxy or mirror
/// that serves REST only; GitHub Enterprise Server's `/api/graphql` is reached directly, see
/// `gh_core::client::graphql_url`); never authentication or permission answers.
fn falls_back(e: &gh_core::Error) -> bool {
    match e.status() {
        Some(s) => s >= 500 || s == 200 || s == 404,
        None => matches!(
            e,
            gh_core::Error::Timeout(_) | gh_core::Error::Transport { .. }
        ),
    }
}

#[derive(Deserialize)]
struct RestCommit {
    sha: String,
    /// The linked GitHub account (`null` when the author's email maps to none).
    #[serde(default)]
    author: Option<gh_core::events::User>,
    #[serde(default)]
    commit: RestGitCommit,
}

#[derive(Deserialize, Default)]
struct RestGitCommit {
    #[serde(default)]
    author: Option<RestGitAuthor>,
}

#[derive(Deserialize)]
struct RestGitAuthor {
    #[serde(default)]
    name: Option<String>,
}

/// The commit SHAs and authors of `base_tag..branch` through the REST compare (paginated), or
/// of the branch's history when there is no baseline.
async fn rest_commits(
    gh: &GitHub,
    repo: &RepoRef,
    base_tag: Option<&str>,
    branch: &str,
) -> Result<(HashSet<String>, Vec<RangeCommit>), ReleaseError> {
    let mut pager = match base_tag {
        Some(t) => gh.pages(
            &format!(
                "{}/compare/{}...{}?per_page=100",
                repo.api_path(),
                encode_ref(t),
                encode_ref(branch)
            ),
            Some("commits"),
        ),
        None => gh.pages(
            &format!(
                "{}/commits?sha={}&per_page=100",
                repo.api_path(),
                gh_core::repo::encode_query(branch)
            ),
            None,
        ),
    };
    let mut oids = HashSet::new();
    let mut commits = Vec::new();
    let mut complete = false;
    for _ in 0..REST_COMMIT_PAGES {
        let Some(page) = pager.next_page::<RestCommit>().await? else {
            complete = true;
            break;
        };
        for c in page {
            let login = c.author.as_ref().map(|a| a.login.clone());
            let name = c
                .commit
                .author
                .as_ref()
                .and_then(|a| a.name.clone())
                .unwrap_or_default();
            oids.insert(c.sha.clone());
            commits.push(RangeCommit {
                oid: c.sha,
                authors: vec![CommitAuthor { login, name }],
                prs: Vec::new(),
            });
        }
    }
    if !complete {
        tracing::warn!(
            commits = oids.len(),
            "REST compare stopped after {REST_COMMIT_PAGES} pages; older PRs may be missing"
        );
    }
    // The compare lists oldest first; the history newest first.
    if base_tag.is_some() {
        commits.reverse();
    }
    Ok((oids, commits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_statuses() {
        let s = |v: &str| serde_json::from_value::<CompareStatus>(json!(v)).unwrap();
        assert!(s("ahead").contains_base() && s("identical").contains_base());
        assert!(!s("behind").contains_base() && !s("diverged").contains_base());
        assert_eq!(s("sideways"), CompareStatus::Unknown);
        assert!(!CompareStatus::Unknown.contains_base());
    }

    #[test]
    fn a_listed_pr_of_a_deleted_author_is_ghosts() {
        // `GET pulls` answers `pull-request-simple`, whose `user` is nullable.
        let p: PullRequest = serde_json::from_value(json!({
            "number": 5, "state": "closed", "title": "t", "user": null,
            "head": {"ref": "topic", "sha": "h"}, "base": {"ref": "main", "sha": "b"},
            "merged_at": "2026-11-01T10:00:00Z", "merge_commit_sha": "m"
        }))
        .unwrap();
        let m = MergedPr::from(p);
        assert_eq!((m.author.as_str(), m.author_is_bot), ("ghost", false));
        assert_eq!(
            (m.base_ref.as_str(), m.head_ref.as_str()),
            ("main", "topic")
        );
    }
}
