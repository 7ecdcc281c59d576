//! The pull request: one type for every place ghops reads one, whether from the REST API
//! (`GET pulls/{n}` and `POST`/`PATCH pulls` answer GitHub's `pull-request` schema,
//! `GET pulls` lists its `pull-request-simple` projection) or from a `pull_request` webhook.
//!
//! What every one of those carries is required (`number`, `state`, `head` and `base` with
//! their `ref` and `sha`), so a truncated answer is an error naming the missing field. What
//! only some carry is optional:
//!
//! - `user` is `nullable-simple-user` in `GET pulls` and in some webhook actions (`labeled`):
//!   `None` for a deleted account;
//! - `merged`, `mergeable` and `changed_files` are only in the full object (`GET pulls/{n}`,
//!   webhooks), never in a list;
//! - `draft`, `body`, `merged_at`, `merge_commit_sha` are absent or `null` depending on the
//!   endpoint and the PR's state;
//! - `head.repo` is `null` once a fork's repository was deleted.
//!
//! Pure serde: usable without gh-core's `client` feature.

use serde::{Deserialize, Serialize};

use crate::events::{Label, Repository, User};

/// A branch tip of a pull request (`head` or `base`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GitRef {
    /// Branch name.
    #[serde(rename = "ref")]
    pub ref_name: String,
    /// Commit SHA.
    pub sha: String,
    /// Repository (`null` when a fork was deleted).
    #[serde(default)]
    pub repo: Option<Repository>,
    /// `owner:branch`.
    #[serde(default)]
    pub label: Option<String>,
}

/// A pull request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullRequest {
    /// Number.
    pub number: u64,
    /// `open` / `closed`.
    pub state: String,
    /// Title.
    #[serde(default)]
    pub title: String,
    /// Body (`null` when empty).
    #[serde(default)]
    pub body: Option<String>,
    /// Author (`null` in lists and some webhooks when the account was deleted).
    #[serde(default)]
    pub user: Option<User>,
    /// Head.
    pub head: GitRef,
    /// Base.
    pub base: GitRef,
    /// Labels.
    #[serde(default)]
    pub labels: Vec<Label>,
    /// Draft?
    #[serde(default)]
    pub draft: Option<bool>,
    /// Merged? (Full object only.)
    #[serde(default)]
    pub merged: Option<bool>,
    /// `null` while GitHub computes it. (Full object only.)
    #[serde(default)]
    pub mergeable: Option<bool>,
    /// How many files the PR changes. (Full object only.)
    #[serde(default)]
    pub changed_files: Option<u64>,
    /// The merge commit once merged; the test-merge commit while open.
    #[serde(default)]
    pub merge_commit_sha: Option<String>,
    /// When it was merged (RFC 3339), `null` if it was not.
    #[serde(default)]
    pub merged_at: Option<String>,
    /// Web URL.
    #[serde(default)]
    pub html_url: Option<String>,
    /// Last update (RFC 3339).
    #[serde(default)]
    pub updated_at: Option<String>,
}

impl PullRequest {
    /// Label names, in GitHub's order.
    pub fn label_names(&self) -> impl Iterator<Item = &str> {
        self.labels.iter().map(|l| l.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::decode;

    #[test]
    fn a_list_item_with_a_deleted_author_decodes() {
        // `GET pulls` (pull-request-simple): `user` is nullable, no `merged`/`changed_files`.
        let p: PullRequest = decode(
            "pulls",
            br#"{"number":3,"state":"closed","title":"t","user":null,"body":null,
                "head":{"ref":"f","sha":"h","repo":null},"base":{"ref":"main","sha":"b"},
                "merged_at":"2026-01-01T00:00:00Z","merge_commit_sha":"m"}"#,
        )
        .unwrap();
        assert_eq!(p.user, None);
        assert_eq!(p.merged, None);
        assert_eq!(p.head.repo, None);
        assert_eq!(p.merged_at.as_deref(), Some("2026-01-01T00:00:00Z"));
    }

    #[test]
    fn a_truncated_answer_names_the_missing_field() {
        let e = decode::<PullRequest>(
            "pulls/7",
            br#"{"number":7,"state":"open","head":{"ref":"f"},"base":{"ref":"main","sha":"b"}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("head") && e.contains("sha"), "{e}");
    }
}
