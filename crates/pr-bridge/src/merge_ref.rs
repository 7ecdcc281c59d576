//! Merge-ref branch creation, the two steps [`crate::trigger()`] composes and another tool can
//! reuse: [`verify_pinned_merge`] decides, without an API call, whether GitHub's test merge
//! commit of a PR is the one a reviewer approved (open PR, head at the pinned SHA, mergeable,
//! a merge commit joining exactly the base's tip and that head); [`push_test_branch`] points
//! the test branch at it, idempotently.
//!
//! ```
//! use pr_bridge::merge_ref::{MergeProblem, PinnedMerge, verify_pinned_merge};
//!
//! let (base, head, merge) = ("b".repeat(40), "c".repeat(40), "d".repeat(40));
//! let pr = PinnedMerge {
//!     head: &head,
//!     base: &base,
//!     pin: Some(&head),
//!     require_pin: true,
//!     mergeable: Some("MERGEABLE"),
//!     merge: Some(&merge),
//!     parents: &[&base, &head],
//! };
//! assert_eq!(verify_pinned_merge(&pr).unwrap().merge_sha, merge);
//!
//! // A commit pushed after the review: refused, nothing is pushed.
//! let newer = "e".repeat(40);
//! let moved = PinnedMerge { head: &newer, parents: &[&base, &newer], ..pr };
//! assert!(matches!(verify_pinned_merge(&moved), Err(MergeProblem::PinMismatch { .. })));
//! ```
//!
//! Then, with a client (the merge commit and the branch's current SHA come from the same PR
//! read, see [`crate::github`]):
//!
//! ```no_run
//! # async fn push(gh: &gh_core::GitHub, merge_sha: &str) -> Result<(), gh_core::Error> {
//! let repo: gh_core::RepoRef = "octo-org/hello".parse()?;
//! let action = pr_bridge::merge_ref::push_test_branch(gh, &repo, "test-this-pr/7", merge_sha, None)
//!     .await?;
//! assert_eq!(action, pr_bridge::BranchAction::Created);
//! # Ok(()) }
//! ```

use gh_core::repo::encode_ref;
use gh_core::retry::Idempotency;
use gh_core::{GitHub, RepoRef, git};
use serde_json::{Value, json};

use crate::trigger::{BranchAction, is_full_sha};

/// What a PR read says about the PR's test merge commit, and what the reviewer pinned.
#[derive(Debug, Clone, Copy)]
pub struct PinnedMerge<'a> {
    /// The PR's head SHA now.
    pub head: &'a str,
    /// The base branch's tip the merge commit was computed against.
    pub base: &'a str,
    /// The head SHA the reviewer pinned (`sha=`), lowercase; `None` when not pinned.
    pub pin: Option<&'a str>,
    /// Whether a pin is required (`Options::require_sha`).
    pub require_pin: bool,
    /// GitHub's `mergeable` (`MERGEABLE`, `CONFLICTING`, `UNKNOWN`).
    pub mergeable: Option<&'a str>,
    /// The test merge commit's SHA, when GitHub has one.
    pub merge: Option<&'a str>,
    /// The merge commit's parents, in order.
    pub parents: &'a [&'a str],
}

/// A merge commit that joins the base's tip and the approved head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedMerge {
    /// The approved head, lowercase.
    pub head: String,
    /// The merge commit to test, lowercase.
    pub merge_sha: String,
}

/// Why the PR's merge commit is not the one to test (checked in this order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeProblem {
    /// The head moved after the review.
    PinMismatch {
        /// The pinned SHA.
        pin: String,
        /// The head now, lowercase.
        head: String,
    },
    /// No pin, and one is required.
    PinMissing {
        /// The head now, lowercase (the SHA to pin after reviewing it).
        head: String,
    },
    /// The PR conflicts with its base.
    Conflicting,
    /// GitHub has not finished computing mergeability.
    MergeableUnknown,
    /// GitHub reports no merge commit.
    NoMergeCommit,
    /// The merge commit does not join `[base, head]` (the PR or its base changed meanwhile),
    /// or its SHA is not a full SHA.
    Unjoined {
        /// The merge commit, lowercase.
        merge: String,
        /// Its parents.
        parents: Vec<String>,
    },
}

/// Decides whether the PR's test merge commit is the one to test: no API call, no I/O.
pub fn verify_pinned_merge(m: &PinnedMerge<'_>) -> Result<VerifiedMerge, MergeProblem> {
    let head = m.head.to_ascii_lowercase();
    match m.pin {
        Some(pin) if pin != head => {
            return Err(MergeProblem::PinMismatch {
                pin: pin.to_owned(),
                head,
            });
        }
        None if m.require_pin => return Err(MergeProblem::PinMissing { head }),
        _ => {}
    }
    match m.mergeable {
        Some("MERGEABLE") => {}
        Some("CONFLICTING") => return Err(MergeProblem::Conflicting),
        _ => return Err(MergeProblem::MergeableUnknown),
    }
    let Some(merge) = m.merge else {
        return Err(MergeProblem::NoMergeCommit);
    };
    let merge_sha = merge.to_ascii_lowercase();
    let p = m.parents;
    if p.len() != 2
        || !p[1].eq_ignore_ascii_case(&head)
        || !p[0].eq_ignore_ascii_case(m.base)
        || !is_full_sha(&merge_sha)
    {
        return Err(MergeProblem::Unjoined {
            merge: merge_sha,
            parents: p.iter().map(|s| (*s).to_owned()).collect(),
        });
    }
    Ok(VerifiedMerge { head, merge_sha })
}

/// Points `branch` at `sha`, knowing where it pointed when the PR was read (`current`):
/// absent → created (a create that races another writer, "Reference already exists", reads
/// the ref and settles); at `sha` → nothing written; elsewhere → force-moved (a newer approval
/// supersedes). Under `--dry-run` nothing is written ([`BranchAction::DryRun`]).
///
/// API calls: one write at most (`POST /git/refs` or `PATCH /git/refs/heads/<branch>`), plus
/// one ref read when a create races.
pub async fn push_test_branch(
    gh: &GitHub,
    repo: &RepoRef,
    branch: &str,
    sha: &str,
    current: Option<&str>,
) -> Result<BranchAction, gh_core::Error> {
    let name = format!("heads/{branch}");
    let settle = |existing: Option<String>| async move {
        match existing {
            Some(e) if e.eq_ignore_ascii_case(sha) => Ok(BranchAction::Unchanged),
            _ => Ok(
                match gh
                    .patch::<Value>(
                        &format!("{}/git/refs/{}", repo.api_path(), encode_ref(&name)),
                        &json!({"sha": sha, "force": true}),
                    )
                    .await?
                {
                    Some(_) => BranchAction::Updated,
                    None => BranchAction::DryRun,
                },
            ),
        }
    };
    if current.is_some() {
        return settle(current.map(str::to_owned)).await;
    }
    match gh
        .post::<Value>(
            &format!("{}/git/refs", repo.api_path()),
            &json!({"ref": format!("refs/heads/{branch}"), "sha": sha}),
            Idempotency::Idempotent,
        )
        .await
    {
        Ok(Some(_)) => Ok(BranchAction::Created),
        Ok(None) => Ok(BranchAction::DryRun),
        Err(e) if e.is_status(422) && e.to_string().contains("already exists") => {
            match git::get_ref(gh, repo, &format!("heads/{branch}")).await? {
                Some(existing) => settle(Some(existing.sha)).await,
                None => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const H: &str = "cccccccccccccccccccccccccccccccccccccccc";
    const M: &str = "dddddddddddddddddddddddddddddddddddddddd";

    fn ok() -> PinnedMerge<'static> {
        PinnedMerge {
            head: H,
            base: B,
            pin: Some(H),
            require_pin: true,
            mergeable: Some("MERGEABLE"),
            merge: Some(M),
            parents: &[B, H],
        }
    }

    #[test]
    fn each_check_refuses_in_order() {
        assert_eq!(
            verify_pinned_merge(&ok()),
            Ok(VerifiedMerge {
                head: H.into(),
                merge_sha: M.into()
            })
        );
        // Each input breaks one check; the variant named is the refusal.
        let cases = [
            (
                PinnedMerge {
                    pin: Some(M),
                    ..ok()
                },
                "PinMismatch",
            ),
            (PinnedMerge { pin: None, ..ok() }, "PinMissing"),
            (
                PinnedMerge {
                    mergeable: Some("CONFLICTING"),
                    ..ok()
                },
                "Conflicting",
            ),
            (
                PinnedMerge {
                    mergeable: None,
                    ..ok()
                },
                "MergeableUnknown",
            ),
            (
                PinnedMerge {
                    merge: None,
                    ..ok()
                },
                "NoMergeCommit",
            ),
            (
                PinnedMerge {
                    parents: &[H, B],
                    ..ok()
                },
                "Unjoined",
            ),
            (
                PinnedMerge {
                    merge: Some("d"),
                    ..ok()
                },
                "Unjoined",
            ),
        ];
        for (input, variant) in cases {
            let got = verify_pinned_merge(&input).unwrap_err();
            assert!(
                format!("{got:?}").starts_with(variant),
                "{input:?}: {got:?}"
            );
        }
        // No pin and none required: the head as it is.
        assert!(
            verify_pinned_merge(&PinnedMerge {
                pin: None,
                require_pin: false,
                ..ok()
            })
            .is_ok()
        );
    }
}
