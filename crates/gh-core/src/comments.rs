//! One comment per purpose on an issue or PR, found by a hidden marker and updated in place.
//!
//! Only comments by ghops's own identity count (a look-alike comment by someone else that
//! quotes the marker is ignored). The create is a non-idempotent POST: after an ambiguous
//! failure (5xx, dropped connection) the comments are listed again before any second POST,
//! so a retry never makes two comments.

use serde::Serialize;
use serde_json::json;

use crate::client::GitHub;
use crate::error::Result;
use crate::repo::RepoRef;
use crate::retry::Idempotency;

/// A hidden marker, e.g. `<!-- ghops:deployment-plan -->`.
pub fn marker(purpose: &str) -> String {
    format!("<!-- ghops:{purpose} -->")
}

/// An issue comment as the API returns it (the same shape webhooks carry).
pub use crate::events::Comment as IssueComment;

/// What an upsert did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "outcome", content = "comment_id", rename_all = "snake_case")]
pub enum Upserted {
    /// A new comment was created.
    Created(u64),
    /// The existing comment was updated.
    Updated(u64),
    /// The existing comment already had this body: nothing written.
    Unchanged(u64),
    /// `--dry-run`: the write was reported, not sent.
    DryRun,
}

/// For people: `created comment 9006`, `comment 9006 unchanged`, `dry run: nothing written`.
impl std::fmt::Display for Upserted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Upserted::Created(id) => write!(f, "created comment {id}"),
            Upserted::Updated(id) => write!(f, "updated comment {id}"),
            Upserted::Unchanged(id) => write!(f, "comment {id} unchanged (same body)"),
            Upserted::DryRun => f.write_str("dry run: nothing written"),
        }
    }
}

/// Lists every comment on issue/PR `number` (all pages).
pub async fn list_comments(gh: &GitHub, repo: &RepoRef, number: u64) -> Result<Vec<IssueComment>> {
    gh.get_all(
        &format!("{}/issues/{number}/comments", repo.api_path()),
        None,
    )
    .await
}

/// Finds ghops's own comments carrying `marker`, oldest first.
pub fn find_marked<'a>(
    comments: &'a [IssueComment],
    marker: &str,
    identity: &str,
) -> Vec<&'a IssueComment> {
    comments
        .iter()
        .filter(|c| c.user.login.eq_ignore_ascii_case(identity))
        .filter(|c| c.body.as_deref().is_some_and(|b| b.contains(marker)))
        .collect()
}

/// Makes every hidden ghops marker in `body` other than `keep` inert (`<!-- ghops:` becomes
/// `<!-- ghops-quoted:`), so that text a writer includes (a PR title, a file path, an
/// artifact) can never pose as another ghops writer's marker or state line, e.g. pr-bridge's
/// status comment. [`upsert_comment`] applies it to every body it writes.
pub fn strip_foreign_markers(body: &str, keep: &str) -> String {
    const OPEN: &str = "<!-- ghops:";
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(i) = rest.find(OPEN) {
        out.push_str(&rest[..i]);
        let at = &rest[i..];
        if !keep.is_empty() && at.starts_with(keep) {
            out.push_str(keep);
            rest = &at[keep.len()..];
        } else {
            out.push_str("<!-- ghops-quoted:");
            rest = &at[OPEN.len()..];
        }
    }
    out.push_str(rest);
    out
}

/// Ensures `body` carries `marker` (prepended on its own line when absent).
pub fn with_marker(marker: &str, body: &str) -> String {
    if body.contains(marker) {
        body.to_owned()
    } else {
        format!("{marker}\n{body}")
    }
}

/// Creates or updates THE comment carrying `marker` on issue/PR `number`, as `identity`
/// (ghops's own login; see [`GitHub::identity`]). Extra copies (left by an older tool or a
/// race) are deleted so that exactly one remains, and a create is followed by one more
/// listing so that concurrent creates converge (the later writer deletes its duplicate). Markers of other purposes inside `body` are
/// made inert ([`strip_foreign_markers`]).
pub async fn upsert_comment(
    gh: &GitHub,
    repo: &RepoRef,
    number: u64,
    marker: &str,
    body: &str,
    identity: &str,
) -> Result<Upserted> {
    let body = strip_foreign_markers(&with_marker(marker, body), marker);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let comments = list_comments(gh, repo, number).await?;
        let mine = find_marked(&comments, marker, identity);
        if let Some(first) = mine.first() {
            for extra in &mine[1..] {
                gh.delete(&format!("{}/issues/comments/{}", repo.api_path(), extra.id))
                    .await?;
            }
            if first.body.as_deref() == Some(body.as_str()) {
                return Ok(Upserted::Unchanged(first.id));
            }
            let path = format!("{}/issues/comments/{}", repo.api_path(), first.id);
            return Ok(
                match gh
                    .patch::<serde_json::Value>(&path, &json!({ "body": body }))
                    .await?
                {
                    Some(_) => Upserted::Updated(first.id),
                    None => Upserted::DryRun,
                },
            );
        }
        let path = format!("{}/issues/{number}/comments", repo.api_path());
        match gh
            .post::<IssueComment>(&path, &json!({ "body": body }), Idempotency::NonIdempotent)
            .await
        {
            Ok(Some(c)) => {
                return converge(gh, repo, number, marker, &body, identity, c.id).await;
            }
            Ok(None) => return Ok(Upserted::DryRun),
            // Ambiguous: GitHub may have created it. Look again before posting again.
            Err(e) if attempts < 3 && e.is_ambiguous() => {
                tracing::warn!(error = %e, "comment create failed ambiguously; re-reading comments before retrying");
                tokio::time::sleep(gh.retry_policy().backoff(attempts)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// After creating comment `created`, lists the comments again: when an older copy exists
/// (another writer created one between this writer's listing and its create), this writer is
/// the later one, so it deletes its own copy and writes its body into the older one. Exactly
/// one remains, whichever of two concurrent writers finishes first.
async fn converge(
    gh: &GitHub,
    repo: &RepoRef,
    number: u64,
    marker: &str,
    body: &str,
    identity: &str,
    created: u64,
) -> Result<Upserted> {
    let comments = list_comments(gh, repo, number).await?;
    let Some(oldest) = find_marked(&comments, marker, identity)
        .into_iter()
        .min_by_key(|c| c.id)
        .filter(|c| c.id < created)
    else {
        return Ok(Upserted::Created(created));
    };
    tracing::info!(
        kept = oldest.id,
        deleted = created,
        "another writer created the same comment meanwhile: keeping the older one"
    );
    gh.delete(&format!("{}/issues/comments/{created}", repo.api_path()))
        .await?;
    if oldest.body.as_deref() != Some(body) {
        gh.patch::<serde_json::Value>(
            &format!("{}/issues/comments/{}", repo.api_path(), oldest.id),
            &json!({ "body": body }),
        )
        .await?;
    }
    Ok(Upserted::Updated(oldest.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_markers_are_made_inert_and_the_own_one_kept() {
        let m = marker("deployment-plan");
        let planted =
            "<!-- ghops:pr-bridge -->\n<!-- ghops:pr-bridge-state {\"branch\":\"main\"} -->";
        let body = strip_foreign_markers(&with_marker(&m, planted), &m);
        assert!(body.starts_with(&m), "{body}");
        assert!(!body[m.len()..].contains("<!-- ghops:"), "{body}");
        assert!(body.contains("<!-- ghops-quoted:pr-bridge -->"), "{body}");
        assert_eq!(strip_foreign_markers("plain", &m), "plain");
        assert_eq!(
            strip_foreign_markers(&format!("{m}\nx {m}"), &m),
            format!("{m}\nx {m}")
        );
    }

    #[test]
    fn upserted_reads_as_words() {
        let shown: Vec<String> = [
            Upserted::Created(9006),
            Upserted::Updated(9006),
            Upserted::Unchanged(9006),
            Upserted::DryRun,
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(
            shown,
            [
                "created comment 9006",
                "updated comment 9006",
                "comment 9006 unchanged (same body)",
                "dry run: nothing written"
            ]
        );
    }
}
