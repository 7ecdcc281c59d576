//! The GitHub reads release-flow needs: every release (no 1,000 cap), tag reachability, and
//! the PRs merged between a baseline tag and a branch.

use std::collections::{BTreeMap, HashSet};

use gh_core::repo::encode_ref;
use gh_core::{GitHub, RepoRef};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::changelog::MergedPr;
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
struct Compare {
    status: String,
}

/// Is `tag` reachable from `branch` (the tag's commit is an ancestor of, or equal to, the
/// branch head)?
pub async fn reachable(
    gh: &GitHub,
    repo: &RepoRef,
    tag: &str,
    branch: &str,
) -> Result<bool, ReleaseError> {
    let c: Option<Compare> = gh
        .get_opt(&format!(
            "{}/compare/{}...{}?per_page=1",
            repo.api_path(),
            encode_ref(tag),
            encode_ref(branch)
        ))
        .await?;
    Ok(c.is_some_and(|c| c.status == "ahead" || c.status == "identical"))
}

const PR_FIELDS: &str = "number title url body merged mergedAt baseRefName mergeCommit { oid } author { login } labels(first: 50) { nodes { name } }";

fn compare_query() -> String {
    format!(
        "query($owner: String!, $name: String!, $base: String!, $head: String!, $first: Int!, $after: String) {{ repository(owner: $owner, name: $name) {{ ref(qualifiedName: $base) {{ compare(headRef: $head) {{ commits(first: $first, after: $after) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ oid author {{ name user {{ login }} }} associatedPullRequests(first: 5) {{ nodes {{ {PR_FIELDS} }} }} }} }} }} }} }} }}"
    )
}

fn history_query() -> String {
    format!(
        "query($owner: String!, $name: String!, $head: String!, $first: Int!, $after: String) {{ repository(owner: $owner, name: $name) {{ ref(qualifiedName: $head) {{ target {{ ... on Commit {{ history(first: $first, after: $after) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ oid author {{ name user {{ login }} }} associatedPullRequests(first: 5) {{ nodes {{ {PR_FIELDS} }} }} }} }} }} }} }} }} }}"
    )
}

fn pr_from_graphql(n: &Value) -> Option<MergedPr> {
    if n["merged"].as_bool() != Some(true) {
        return None;
    }
    Some(MergedPr {
        number: n["number"].as_u64()?,
        title: n["title"].as_str().unwrap_or_default().to_owned(),
        author: n["author"]["login"].as_str().unwrap_or("ghost").to_owned(),
        body: n["body"].as_str().unwrap_or_default().to_owned(),
        url: n["url"].as_str().unwrap_or_default().to_owned(),
        labels: n["labels"]["nodes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|l| l["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        merge_commit_sha: n["mergeCommit"]["oid"].as_str().map(str::to_owned),
        merged_at: n["mergedAt"].as_str().map(str::to_owned),
    })
}

/// The commits between `base_tag` (exclusive; the whole history when `None`) and `branch`,
/// with the merged PRs into `branch` associated with them. GraphQL pages shrink by half on
/// 502/504 (down to 5) before giving up.
async fn graphql_commits(
    gh: &GitHub,
    repo: &RepoRef,
    base_tag: Option<&str>,
    branch: &str,
) -> Result<(HashSet<String>, Vec<MergedPr>, Vec<String>), ReleaseError> {
    let mut first: u64 = 100;
    let mut after: Option<String> = None;
    let mut oids = HashSet::new();
    let mut prs = Vec::new();
    let mut authors = Vec::new();
    loop {
        let (query, vars) = match base_tag {
            Some(t) => (
                compare_query(),
                json!({"owner": repo.owner, "name": repo.name, "base": format!("refs/tags/{t}"), "head": format!("refs/heads/{branch}"), "first": first, "after": after}),
            ),
            None => (
                history_query(),
                json!({"owner": repo.owner, "name": repo.name, "head": format!("refs/heads/{branch}"), "first": first, "after": after}),
            ),
        };
        let data: Value = match gh.graphql(&query, vars).await {
            Ok(d) => d,
            Err(e) if (e.is_status(502) || e.is_status(504)) && first > 5 => {
                first = (first / 2).max(5);
                tracing::warn!(first, "GraphQL compare timed out; halving the page size");
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let conn = match base_tag {
            Some(_) => &data["repository"]["ref"]["compare"]["commits"],
            None => &data["repository"]["ref"]["target"]["history"],
        };
        if conn.is_null() {
            return Err(ReleaseError::Config(format!(
                "cannot compare {} with {branch}: a ref is missing",
                base_tag.unwrap_or("the start of history")
            )));
        }
        for c in conn["nodes"].as_array().into_iter().flatten() {
            if let Some(oid) = c["oid"].as_str() {
                oids.insert(oid.to_owned());
            }
            add_author(
                &mut authors,
                c["author"]["user"]["login"].as_str(),
                c["author"]["name"].as_str(),
            );
            for p in c["associatedPullRequests"]["nodes"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if p["baseRefName"].as_str() == Some(branch)
                    && let Some(pr) = pr_from_graphql(p)
                {
                    prs.push(pr);
                }
            }
        }
        if conn["pageInfo"]["hasNextPage"].as_bool() == Some(true) {
            after = conn["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        } else {
            break;
        }
    }
    // Associated through one of its commits, but merged outside the range (e.g. before the
    // baseline): not part of this release.
    prs.retain(|p| p.merge_commit_sha.as_ref().is_none_or(|s| oids.contains(s)));
    Ok((oids, prs, authors))
}

/// A commit's author as `$CONTRIBUTORS` names them: `@login` when GitHub links the commit to
/// an account, else the git author name; each once, in order of appearance.
fn add_author(authors: &mut Vec<String>, login: Option<&str>, name: Option<&str>) {
    let who = match (login, name) {
        (Some(l), _) if !l.is_empty() => format!("@{l}"),
        (_, Some(n)) if !n.trim().is_empty() => n.trim().to_owned(),
        _ => return,
    };
    if !authors.contains(&who) {
        authors.push(who);
    }
}

/// What a release range holds.
#[derive(Debug, Clone)]
pub struct Merged {
    /// The PRs merged into the branch in the range, by number.
    pub prs: Vec<MergedPr>,
    /// The range's commit authors (`@login`, or the git name of an unlinked author), in
    /// order of appearance.
    pub commit_authors: Vec<String>,
}

#[derive(Deserialize)]
struct RestPull {
    number: u64,
    title: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    merged_at: Option<String>,
    #[serde(default)]
    merge_commit_sha: Option<String>,
    #[serde(default)]
    labels: Vec<gh_core::events::Label>,
    user: gh_core::events::User,
}

impl From<RestPull> for MergedPr {
    fn from(p: RestPull) -> Self {
        MergedPr {
            number: p.number,
            title: p.title,
            author: p.user.login,
            body: p.body.unwrap_or_default(),
            url: p.html_url.unwrap_or_default(),
            labels: p.labels.into_iter().map(|l| l.name).collect(),
            merge_commit_sha: p.merge_commit_sha,
            merged_at: p.merged_at,
        }
    }
}

/// PRs merged into `branch` since `base_tag`: the GraphQL compare with associated PRs, plus
/// the most recently merged PRs into `branch` whose merge commit is in the range (GitHub's
/// association index lags behind merges), de-duplicated by number; and the range's commit
/// authors.
pub async fn merged_prs(
    gh: &GitHub,
    repo: &RepoRef,
    base_tag: Option<&str>,
    branch: &str,
) -> Result<Merged, ReleaseError> {
    let (oids, prs, commit_authors, pages) = match graphql_commits(gh, repo, base_tag, branch).await
    {
        Ok((oids, prs, authors)) => (oids, prs, authors, 1),
        Err(ReleaseError::GitHub(e)) if falls_back(&e) => {
            tracing::warn!(error = %e, "GraphQL compare failed; falling back to the REST compare");
            let (oids, authors) = rest_commits(gh, repo, base_tag, branch).await?;
            (oids, Vec::new(), authors, REST_PULL_PAGES)
        }
        Err(e) => return Err(e),
    };
    let mut by_number: BTreeMap<u64, MergedPr> = prs.into_iter().map(|p| (p.number, p)).collect();
    let mut pager = gh.pages(
        &format!(
            "{}/pulls?state=closed&base={}&sort=updated&direction=desc&per_page={}",
            repo.api_path(),
            gh_core::repo::encode_query(branch),
            if pages == 1 { 50 } else { 100 }
        ),
        None,
    );
    for _ in 0..pages {
        let Some(recent) = pager.next_page::<RestPull>().await? else {
            break;
        };
        for p in recent {
            if p.merged_at.is_some()
                && p.merge_commit_sha
                    .as_ref()
                    .is_some_and(|s| oids.contains(s))
            {
                by_number.entry(p.number).or_insert_with(|| p.into());
            }
        }
    }
    Ok(Merged {
        prs: by_number.into_values().collect(),
        commit_authors,
    })
}

/// How many pages of 100 closed PRs the REST fallback scans for merge commits in range.
pub const REST_PULL_PAGES: usize = 10;

/// How many pages of 100 commits the REST fallback reads at most.
pub const REST_COMMIT_PAGES: usize = 100;

/// GraphQL failures worth retrying through REST: server errors, timeouts, GraphQL-level
/// errors (a 200 with `errors`), and a 404 of the GraphQL endpoint itself (GitHub Enterprise
/// Server serves GraphQL beside, not under, its `/api/v3` REST base, which the client cannot
/// reach yet); never authentication or permission answers.
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
) -> Result<(HashSet<String>, Vec<String>), ReleaseError> {
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
    let mut authors = Vec::new();
    for _ in 0..REST_COMMIT_PAGES {
        let Some(page) = pager.next_page::<RestCommit>().await? else {
            return Ok((oids, authors));
        };
        for c in page {
            add_author(
                &mut authors,
                c.author.as_ref().map(|a| a.login.as_str()),
                c.commit.author.as_ref().and_then(|a| a.name.as_deref()),
            );
            oids.insert(c.sha);
        }
    }
    tracing::warn!(
        commits = oids.len(),
        "REST compare stopped after {REST_COMMIT_PAGES} pages; older PRs may be missing"
    );
    Ok((oids, authors))
}
