//! pr-bridge's reads through GitHub's GraphQL API and its own comments.
//!
//! One query answers everything a trigger needs to decide (the PR's state, head, base,
//! mergeability, test merge commit with its parents and the `.github/workflows` tree of it and
//! of the base, the test branch, and ghops's own comments), so a trigger costs one read besides
//! the permission check. ghops's own comments are recognised by GraphQL's `viewerDidAuthor`:
//! whatever the token (a user's, an App installation's, the Actions `GITHUB_TOKEN`), no login
//! has to be known or looked up.

use gh_core::comments::Upserted;
use gh_core::retry::Idempotency;
use gh_core::{GitHub, RepoRef};
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

use crate::error::BridgeError;

/// Where the workflows live; the merge commit's tree there is compared with the base's.
pub const WORKFLOWS_DIR: &str = ".github/workflows";

const COMMENT_FIELDS: &str = "comments(last: 100, before: $before) { pageInfo { hasPreviousPage startCursor } nodes { fullDatabaseId viewerDidAuthor body } }";

/// The trigger's one read (see the module docs).
pub fn pr_query() -> String {
    format!(
        "query($owner: String!, $name: String!, $number: Int!, $branch: String!, $before: String) {{ \
repository(owner: $owner, name: $name) {{ \
ref(qualifiedName: $branch) {{ target {{ oid }} }} \
pullRequest(number: $number) {{ \
state headRefOid baseRefOid baseRefName isCrossRepository headRepository {{ nameWithOwner }} mergeable \
potentialMergeCommit {{ oid file(path: \"{WORKFLOWS_DIR}\") {{ oid }} parents(first: 3) {{ nodes {{ oid file(path: \"{WORKFLOWS_DIR}\") {{ oid }} }} }} }} \
{COMMENT_FIELDS} }} }} }}"
    )
}

/// ghops's own comments on a PR (a refusal, the converge step, `report`).
pub fn comments_query() -> String {
    format!(
        "query($owner: String!, $name: String!, $number: Int!, $before: String) {{ \
repository(owner: $owner, name: $name) {{ pullRequest(number: $number) {{ {COMMENT_FIELDS} }} }} }}"
    )
}

#[derive(Debug, Deserialize)]
pub(crate) struct PrData {
    pub repository: Option<PrRepo>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PrRepo {
    #[serde(rename = "ref", default)]
    pub branch: Option<RefNode>,
    pub pull_request: Option<Pr>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RefNode {
    pub target: Option<Oid>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Oid {
    pub oid: String,
}

/// The pull request as the trigger's one GraphQL query reads it, not
/// [`gh_core::pulls::PullRequest`] (the REST and webhook object): GraphQL names and shapes
/// differ (`headRefOid`, `MERGEABLE`/`CONFLICTING`, the potential merge commit with its
/// workflow files, the comments page) and the query reads all of it in one call.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Pr {
    /// `OPEN`, `CLOSED`, `MERGED`.
    pub state: String,
    pub head_ref_oid: String,
    pub base_ref_oid: String,
    pub base_ref_name: String,
    #[serde(default)]
    pub is_cross_repository: bool,
    #[serde(default)]
    pub head_repository: Option<NameWithOwner>,
    /// `MERGEABLE`, `CONFLICTING`, `UNKNOWN`.
    #[serde(default)]
    pub mergeable: Option<String>,
    #[serde(default)]
    pub potential_merge_commit: Option<MergeCommit>,
    pub comments: CommentsConn,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NameWithOwner {
    pub name_with_owner: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct MergeCommit {
    pub oid: String,
    #[serde(default)]
    pub file: Option<Oid>,
    pub parents: Nodes<CommitTree>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CommitTree {
    pub oid: String,
    #[serde(default)]
    pub file: Option<Oid>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Nodes<T> {
    pub nodes: Vec<T>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CommentsConn {
    pub page_info: PageInfo,
    pub nodes: Vec<CommentNode>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PageInfo {
    pub has_previous_page: bool,
    #[serde(default)]
    pub start_cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CommentNode {
    #[serde(deserialize_with = "big_int")]
    pub full_database_id: u64,
    pub viewer_did_author: bool,
    #[serde(default)]
    pub body: String,
}

/// GraphQL `BigInt` is a string; accept a number too.
fn big_int<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => s.parse().map_err(serde::de::Error::custom),
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| serde::de::Error::custom("not a u64")),
        v => Err(serde::de::Error::custom(format!("not an id: {v}"))),
    }
}

/// One of ghops's own comments (authored by the token's identity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnComment {
    /// The comment id (REST).
    pub id: u64,
    /// Its Markdown.
    pub body: String,
}

/// ghops's own comments read so far (oldest first), and the cursor of the older ones not read.
#[derive(Debug, Default)]
pub(crate) struct Own {
    pub comments: Vec<OwnComment>,
    pub before: Option<String>,
}

impl Own {
    pub(crate) fn from_conn(c: CommentsConn) -> Self {
        let mut o = Own::default();
        o.add(c);
        o
    }

    fn add(&mut self, c: CommentsConn) {
        let older: Vec<OwnComment> = c
            .nodes
            .into_iter()
            .filter(|n| n.viewer_did_author)
            .map(|n| OwnComment {
                id: n.full_database_id,
                body: n.body,
            })
            .collect();
        self.comments.splice(0..0, older);
        self.before = if c.page_info.has_previous_page {
            c.page_info.start_cursor
        } else {
            None
        };
    }

    /// The comments that START with `marker` (a comment quoting a marker elsewhere in its
    /// body, e.g. another ghops writer's comment carrying user text, is not ours), oldest
    /// first.
    pub(crate) fn marked(&self, marker: &str) -> Vec<&OwnComment> {
        let mut v: Vec<&OwnComment> = self
            .comments
            .iter()
            .filter(|c| c.body.starts_with(marker))
            .collect();
        v.sort_by_key(|c| c.id);
        v
    }
}

fn vars(repo: &RepoRef, pr: u64) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("owner".into(), json!(repo.owner));
    m.insert("name".into(), json!(repo.name));
    m.insert("number".into(), json!(pr));
    m.insert("before".into(), Value::Null);
    m
}

fn gone(pr: u64) -> BridgeError {
    BridgeError::Input(format!("#{pr} is not a pull request of this repository"))
}

/// The trigger's read: the PR and the test branch `branch` (`refs/heads/...`).
pub(crate) async fn read_pr(
    gh: &GitHub,
    repo: &RepoRef,
    pr: u64,
    branch: &str,
) -> Result<(Pr, Option<String>), BridgeError> {
    let mut v = vars(repo, pr);
    v.insert("branch".into(), json!(format!("refs/heads/{branch}")));
    let d: PrData = gh.graphql(&pr_query(), Value::Object(v)).await?;
    let r = d.repository.ok_or_else(|| gone(pr))?;
    let p = r.pull_request.ok_or_else(|| gone(pr))?;
    Ok((p, r.branch.and_then(|b| b.target).map(|t| t.oid)))
}

#[derive(Deserialize)]
struct CommentsData {
    repository: Option<CommentsRepo>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommentsRepo {
    pull_request: Option<CommentsPr>,
}

#[derive(Deserialize)]
struct CommentsPr {
    comments: CommentsConn,
}

async fn comments_page(
    gh: &GitHub,
    repo: &RepoRef,
    pr: u64,
    before: Option<&str>,
) -> Result<CommentsConn, BridgeError> {
    let mut v = vars(repo, pr);
    v.insert("before".into(), json!(before));
    let d: CommentsData = gh.graphql(&comments_query(), Value::Object(v)).await?;
    Ok(d.repository
        .and_then(|r| r.pull_request)
        .ok_or_else(|| gone(pr))?
        .comments)
}

/// ghops's own comments on PR `pr`: the newest 100 comments' (one call), then older pages
/// only while no comment starts with `marker`.
pub(crate) async fn own_comments(
    gh: &GitHub,
    repo: &RepoRef,
    pr: u64,
    marker: &str,
) -> Result<Own, BridgeError> {
    let mut own = Own::from_conn(comments_page(gh, repo, pr, None).await?);
    older_until(gh, repo, pr, &mut own, marker).await?;
    Ok(own)
}

/// Reads older pages into `own` while none of its comments starts with `marker`.
pub(crate) async fn older_until(
    gh: &GitHub,
    repo: &RepoRef,
    pr: u64,
    own: &mut Own,
    marker: &str,
) -> Result<(), BridgeError> {
    while own.marked(marker).is_empty()
        && let Some(before) = own.before.take()
    {
        let page = comments_page(gh, repo, pr, Some(&before)).await?;
        own.add(page);
    }
    Ok(())
}

#[derive(Deserialize)]
struct Created {
    id: u64,
}

/// Creates or updates THE comment starting with `marker` on PR `pr`, given ghops's own
/// comments already read (`own`, with older pages read as needed).
///
/// Converges under concurrent writers: after creating a comment, ghops's comments are read
/// again, and when an older copy exists (another delivery created one meanwhile) the later
/// writer deletes its own and writes its body into the older one, so exactly one remains. An
/// ambiguous create failure (5xx, dropped connection) is followed by a re-read, never a blind
/// second POST. Extra copies found before writing are deleted.
pub(crate) async fn upsert(
    gh: &GitHub,
    repo: &RepoRef,
    pr: u64,
    marker: &str,
    body: &str,
    mut own: Own,
) -> Result<Upserted, BridgeError> {
    debug_assert!(body.starts_with(marker));
    let comment_path = |id: u64| format!("{}/issues/comments/{id}", repo.api_path());
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        older_until(gh, repo, pr, &mut own, marker).await?;
        let marked = own.marked(marker);
        if let Some(first) = marked.first() {
            for extra in &marked[1..] {
                gh.delete(&comment_path(extra.id)).await?;
            }
            if first.body == body {
                return Ok(Upserted::Unchanged(first.id));
            }
            return Ok(
                match gh
                    .patch::<Value>(&comment_path(first.id), &json!({ "body": body }))
                    .await?
                {
                    Some(_) => Upserted::Updated(first.id),
                    None => Upserted::DryRun,
                },
            );
        }
        let created = gh
            .post::<Created>(
                &format!("{}/issues/{pr}/comments", repo.api_path()),
                &json!({ "body": body }),
                Idempotency::NonIdempotent,
            )
            .await;
        match created {
            Ok(None) => return Ok(Upserted::DryRun),
            Ok(Some(c)) => return converge(gh, repo, pr, marker, body, c.id).await,
            Err(e) if attempts < 3 && e.is_ambiguous() => {
                tracing::warn!(error = %e, "comment create failed ambiguously; re-reading comments before retrying");
                tokio::time::sleep(gh.retry_policy().backoff(attempts)).await;
                own = own_comments(gh, repo, pr, marker).await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// After creating comment `created`: if an older copy exists, this writer is the later one:
/// it deletes its own copy and makes the older one carry `body`.
async fn converge(
    gh: &GitHub,
    repo: &RepoRef,
    pr: u64,
    marker: &str,
    body: &str,
    created: u64,
) -> Result<Upserted, BridgeError> {
    let own = Own::from_conn(comments_page(gh, repo, pr, None).await?);
    let marked = own.marked(marker);
    let Some(first) = marked.first().filter(|f| f.id < created) else {
        return Ok(Upserted::Created(created));
    };
    tracing::info!(
        kept = first.id,
        deleted = created,
        "another writer created the same comment meanwhile: keeping the older one"
    );
    gh.delete(&format!("{}/issues/comments/{created}", repo.api_path()))
        .await?;
    if first.body != body {
        gh.patch::<Value>(
            &format!("{}/issues/comments/{}", repo.api_path(), first.id),
            &json!({ "body": body }),
        )
        .await?;
    }
    Ok(Upserted::Updated(first.id))
}
